// api/client/socket: the POSIX socket plumbing that http_client.cc and
// event_stream.cc share (a connection with a deadline, sending a request,
// waiting for readiness). Internal to the module: not for other modules.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "api/client/http_client.h"
#include "api/sigv4/sigv4.h"
#include "base/status.h"

namespace stageline::api::client::detail {

using Clock = std::chrono::steady_clock;

// Owns one file descriptor; closes it when destroyed. Movable.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset();

 private:
  int fd_ = -1;
};

// A failed step: its kind and the message for the user. ok() when kind is
// kNone.
struct Failure {
  TransportFailure kind = TransportFailure::kNone;
  Status status;
  bool ok() const { return kind == TransportFailure::kNone; }
};

// A connected, non-blocking TCP socket, or why there is none.
struct Connected {
  Fd fd;
  Failure failure;
};

// Resolves `endpoint` and connects to the first address that accepts within
// `timeout` (every address getaddrinfo gives is tried in order). Refused:
// "no Stageline server at HOST:PORT: connection refused; start one with
// `stageline server`".
Connected connect_endpoint(const Endpoint& endpoint, std::chrono::milliseconds timeout);

// Waits until `fd` is ready for `events` or the deadline passes. Returns 1
// ready, 0 timed out, -1 error (errno set).
int wait_for(int fd, short events, Clock::time_point deadline);

// The request on the wire: its method, target, headers and body as they are,
// plus Content-Length, and "Connection: close" when `close`.
std::string serialize_request(const sigv4::HttpRequest& request, bool close);

// Sends all of `wire` before `deadline`. `where` and `timeout` are for messages.
Failure send_all(int fd, std::string_view wire, Clock::time_point deadline,
                 const std::string& where, std::chrono::milliseconds timeout);

// The kind of a failed send or recv's errno.
TransportFailure classify_errno(int err);

}  // namespace stageline::api::client::detail
