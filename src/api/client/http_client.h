// api/client: a small blocking client for Stageline's CodePipeline API, used by
// the `stageline` command line (client verbs, watch). Three layers:
//   http_client.h  one HTTP/1.1 request and its response over a plain POSIX
//                  socket (no TLS, no Asio/Beast: a client TU stays cheap to
//                  compile); endpoint URLs; the response parser.
//   api_client.h   AWS JSON 1.1 calls signed with SigV4, retried as the aws
//                  CLI's standard retry mode retries them, error bodies mapped
//                  to the service's error type, and where the local server is
//                  (its data directory's credentials and server.json).
//   event_stream.h a streaming GET of server-sent events (GET /events): the
//                  incremental text/event-stream parser and a connection that
//                  hands out events one by one and reports a dropped stream.
// Depends on base, api/sigv4 (signing, credentials file) and Boost.JSON only;
// never on the engine, the store or the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/sigv4/sigv4.h"
#include "base/status.h"

namespace stageline::api::client {

// Where an HTTP server listens, from a URL such as http://127.0.0.1:7300,
// http://[::1]:7300/ or http://ci.example:80. Only plain http is supported.
struct Endpoint {
  std::string host;  // as in the URL, without brackets for IPv6 literals
  uint16_t port = 80;

  // The Host header's value: host, bracketed when IPv6, ":port" unless 80.
  std::string host_header() const;
  // host:port for messages ("[::1]:7300" for IPv6).
  std::string display() const;
};

// Parses an endpoint URL. Errors (kInvalidArgument, naming the URL): a scheme
// other than http (https is not supported yet), no host, a port that is not
// 1..65535, a path other than "/" or a query.
Result<Endpoint> parse_endpoint(std::string_view url);

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::vector<sigv4::Header> headers;  // names as received
  std::string body;

  // The first header named `name` (case-insensitive), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

// Parses a response's status line and headers: `head` is everything before
// the blank line that ends them. Errors (kIo "malformed HTTP response: ..."):
// a bad status line or header line.
Result<HttpResponse> parse_http_head(std::string_view head);

// Parses a complete or partial HTTP/1.1 response held in `buffer`. Returns
// nullopt when more bytes are needed, the response when `buffer` holds all of
// it (headers and a Content-Length, chunked, or, when `eof`, a close-delimited
// body). Errors (kIo "malformed HTTP response: ..."): a bad status line or
// header, a bad Content-Length or chunk size, a body cut short by EOF, a
// response larger than `max_bytes`.
Result<std::optional<HttpResponse>> parse_http_response(std::string_view buffer, bool eof,
                                                        size_t max_bytes = 64u << 20);

struct HttpOptions {
  // Connect, then the whole exchange, must each finish within this.
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
};

// Why an exchange got no answer, for callers that decide whether to retry.
enum class TransportFailure {
  kNone,            // an answer arrived (whatever its status)
  kResolve,         // the host name does not resolve
  kRefused,         // nobody listens at the address
  kConnectTimeout,  // the connection was not set up in time
  kReset,           // the connection was reset or closed before a whole answer
  kTimeout,         // sending the request or reading the answer took too long
  kMalformed,       // the answer is not HTTP/1.1
  kOther,           // any other socket error
};

// One exchange: the response, or the error with its kind.
struct HttpExchange {
  Result<HttpResponse> response;
  TransportFailure failure = TransportFailure::kNone;  // kNone exactly when response.ok()
};

// Sends `request` (its method, target, headers and body as they are, plus
// Content-Length and "Connection: close") to `endpoint` over a new TCP
// connection and reads the response. Every address getaddrinfo gives is tried
// in order. Errors (kIo): the name does not resolve; nobody listens ("no
// Stageline server at HOST:PORT: connection refused; start one with
// `stageline server`"); a timeout; a malformed response. Thread-safe (no
// shared state).
Result<HttpResponse> send_http(const Endpoint& endpoint, const sigv4::HttpRequest& request,
                               const HttpOptions& options = {});

// As send_http, also saying what kind of failure an error was.
HttpExchange exchange_http(const Endpoint& endpoint, const sigv4::HttpRequest& request,
                           const HttpOptions& options = {});

}  // namespace stageline::api::client
