// api/sns/https: one HTTPS POST for deliveries to https endpoints, over
// OpenSSL (the api/client module speaks plain http only). The server's
// certificate must chain to the system's CA store and name the host.
// Thread-safe (no shared state). OpenSSL is included by https.cc only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "api/sigv4/sigv4.h"
#include "base/status.h"

namespace stageline::sns {

// Sends `request` (plus Content-Length and Connection: close) to host:port
// over TLS and returns the answer's HTTP status. Connecting, the handshake
// and the exchange must each finish within `timeout`. Errors (kIo): the
// name does not resolve, the connection or handshake fails (an untrusted
// certificate included), a timeout, a malformed answer.
Result<int> https_post(const std::string& host, uint16_t port,
                       const api::sigv4::HttpRequest& request, std::chrono::milliseconds timeout);

}  // namespace stageline::sns
