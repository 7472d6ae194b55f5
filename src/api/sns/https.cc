#include "api/sns/https.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "api/client/http_client.h"

namespace stageline::sns {

namespace {

using Clock = std::chrono::steady_clock;

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
struct AddrFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

std::string tls_error() {
  unsigned long e = ERR_get_error();
  char buf[256] = {};
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return e != 0 ? std::string(buf) : std::string(std::strerror(errno));
}

// Waits for what SSL_get_error asks for; false when the deadline passed.
bool wait_tls(int fd, SSL* ssl, int ret, Clock::time_point deadline) {
  int err = SSL_get_error(ssl, ret);
  short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
  if (events == 0) return false;
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, ms_left(deadline));
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

}  // namespace

Result<int> https_post(const std::string& host, uint16_t port,
                       const api::sigv4::HttpRequest& request, std::chrono::milliseconds timeout) {
  const std::string where = host + ":" + std::to_string(port);
  auto deadline = Clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return Status::io("resolve " + host + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, AddrFree> addrs(found);
  Socket sock;
  std::string connect_error = "no address";
  for (addrinfo* a = addrs.get(); a != nullptr && sock.fd < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    Socket candidate{fd};
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        connect_error = std::strerror(errno);
        continue;
      }
      pollfd p{fd, POLLOUT, 0};
      int r;
      do {
        r = ::poll(&p, 1, ms_left(deadline));
      } while (r < 0 && errno == EINTR);
      int err = 0;
      socklen_t len = sizeof err;
      if (r <= 0) {
        connect_error = "connection timed out";
        continue;
      }
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        connect_error = std::strerror(err != 0 ? err : errno);
        continue;
      }
    }
    sock.fd = candidate.fd;
    candidate.fd = -1;
  }
  if (sock.fd < 0) return Status::io("connect to " + where + ": " + connect_error);

  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx || SSL_CTX_set_default_verify_paths(ctx.get()) != 1)
    return Status::io("TLS setup: " + tls_error());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), sock.fd) != 1) return Status::io("TLS setup: " + tls_error());
  // An IP literal is checked against the certificate's IP addresses and
  // sent without SNI; a name against its DNS names, and sent as SNI.
  unsigned char ip[sizeof(in6_addr)];
  const bool literal =
      inet_pton(AF_INET, host.c_str(), ip) == 1 || inet_pton(AF_INET6, host.c_str(), ip) == 1;
  bool named = literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str()) == 1
                       : SSL_set_tlsext_host_name(ssl.get(), host.c_str()) == 1 &&
                             SSL_set1_host(ssl.get(), host.c_str()) == 1;
  if (!named) return Status::io("TLS setup: " + tls_error());
  for (;;) {
    int r = SSL_connect(ssl.get());
    if (r == 1) break;
    if (!wait_tls(sock.fd, ssl.get(), r, deadline)) {
      long verify = SSL_get_verify_result(ssl.get());
      if (verify != X509_V_OK)
        return Status::io("TLS handshake with " + where +
                          ": certificate not trusted: " + X509_verify_cert_error_string(verify));
      return Status::io("TLS handshake with " + where + ": " + tls_error());
    }
  }
  std::string wire = request.method + " " + request.target + " HTTP/1.1\r\n";
  for (const auto& [name, value] : request.headers) wire += name + ": " + value + "\r\n";
  wire +=
      "Content-Length: " + std::to_string(request.body.size()) + "\r\nConnection: close\r\n\r\n";
  wire += request.body;
  for (size_t done = 0; done < wire.size();) {
    size_t n = 0;
    int r = SSL_write_ex(ssl.get(), wire.data() + done, wire.size() - done, &n);
    if (r == 1) {
      done += n;
      continue;
    }
    if (!wait_tls(sock.fd, ssl.get(), r, deadline))
      return Status::io("send to " + where + ": " + tls_error());
  }
  std::string buffer;
  char chunk[16384];
  for (;;) {
    size_t n = 0;
    int r = SSL_read_ex(ssl.get(), chunk, sizeof chunk, &n);
    bool eof = false;
    if (r == 1) {
      buffer.append(chunk, n);
    } else {
      int err = SSL_get_error(ssl.get(), r);
      if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL) {
        eof = true;
        ERR_clear_error();
      } else if (!wait_tls(sock.fd, ssl.get(), r, deadline)) {
        return Status::io("read from " + where + ": " + tls_error());
      }
    }
    auto parsed = api::client::parse_http_response(buffer, eof, 1 << 20);
    if (!parsed.ok()) return Status::io("read from " + where + ": " + parsed.status().message());
    if (parsed->has_value()) return (*parsed)->status;
    if (eof) return Status::io("read from " + where + ": the connection closed early");
  }
}

}  // namespace stageline::sns
