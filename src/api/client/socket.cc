#include "api/client/socket.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/strings.h"

namespace stageline::api::client::detail {
namespace {

// Connects to one address without blocking past the deadline. Returns the fd,
// or -1 with errno set (ETIMEDOUT when the deadline passed).
int connect_one(const addrinfo* ai, Clock::time_point deadline) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0) return -1;
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
  if (errno != EINPROGRESS) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  int ready = wait_for(fd, POLLOUT, deadline);
  int err = 0;
  if (ready == 0) {
    err = ETIMEDOUT;
  } else if (ready < 0) {
    err = errno;
  } else {
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  }
  if (err == 0) return fd;
  ::close(fd);
  errno = err;
  return -1;
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    // Rounded up, so that a wait never ends just before its deadline.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n > 0) return 1;
  }
}

TransportFailure classify_errno(int err) {
  switch (err) {
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
      return TransportFailure::kReset;
    case ECONNREFUSED:
      return TransportFailure::kRefused;
    case ETIMEDOUT:
      return TransportFailure::kTimeout;
    default:
      return TransportFailure::kOther;
  }
}

Connected connect_endpoint(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
  Connected c;
  const std::string where = endpoint.display();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(endpoint.port);
  if (int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    c.failure = {TransportFailure::kResolve,
                 Status::io("resolve " + quote(endpoint.host) + ": " +
                            (rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc)))};
    return c;
  }
  const Clock::time_point deadline = Clock::now() + timeout;
  int fd = -1;
  int last_errno = 0;
  for (const addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = connect_one(ai, deadline);
    if (fd < 0) last_errno = errno;
  }
  ::freeaddrinfo(found);
  if (fd >= 0) {
    c.fd = Fd(fd);
    return c;
  }
  if (last_errno == ECONNREFUSED) {
    c.failure = {TransportFailure::kRefused,
                 Status::io("no Stageline server at " + where +
                            ": connection refused; start one with `stageline server`")};
  } else if (last_errno == ETIMEDOUT) {
    c.failure = {TransportFailure::kConnectTimeout,
                 Status::io("connect to " + where + ": timed out after " +
                            std::to_string(timeout.count()) + " ms")};
  } else {
    c.failure = {TransportFailure::kOther,
                 Status::io("connect to " + where + ": " + std::strerror(last_errno))};
  }
  return c;
}

std::string serialize_request(const sigv4::HttpRequest& request, bool close) {
  std::string wire = request.method + " " + request.target + " HTTP/1.1\r\n";
  for (const auto& [name, value] : request.headers) {
    if (iequals(name, "Content-Length") || iequals(name, "Connection")) continue;
    wire += name + ": " + value + "\r\n";
  }
  wire += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  if (close) wire += "Connection: close\r\n";
  wire += "\r\n";
  wire += request.body;
  return wire;
}

Failure send_all(int fd, std::string_view wire, Clock::time_point deadline,
                 const std::string& where, std::chrono::milliseconds timeout) {
  size_t sent = 0;
  while (sent < wire.size()) {
    ssize_t n = ::send(fd, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int ready = wait_for(fd, POLLOUT, deadline);
      if (ready == 0)
        return {TransportFailure::kTimeout, Status::io("send to " + where + ": timed out after " +
                                                       std::to_string(timeout.count()) + " ms")};
      if (ready < 0)
        return {classify_errno(errno),
                Status::io("send to " + where + ": " + std::strerror(errno))};
      continue;
    }
    return {classify_errno(errno), Status::io("send to " + where + ": " + std::strerror(errno))};
  }
  return {};
}

}  // namespace stageline::api::client::detail
