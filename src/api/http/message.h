// api/http/message: the byte-level pieces of the transport that need no
// sockets: response serialization, SSE event framing, HTTP dates, listen
// address parsing. Kept out of the Beast translation unit so they are cheap
// to compile and to test (message_test.cc). Internal to the http module.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/http/http.h"
#include "base/status.h"

namespace stageline::http::detail {

// The reason phrase for `status` ("Not Found"); "Unknown" for codes without one.
std::string_view reason_phrase(int status);

// An IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::chrono::system_clock::time_point t);

// What the server adds to a handler's response.
struct ResponseContext {
  std::string_view request_id;
  std::string_view date;    // http_date(now)
  std::string_view server;  // Options::server_header
  bool head = false;        // a HEAD request: Content-Length, but no body bytes
  bool keep_alive = true;   // false: "Connection: close"
  bool http10 = false;      // an HTTP/1.0 client that asked for keep-alive
};

// The complete HTTP/1.1 response: status line, the handler's headers (minus
// Content-Length, Transfer-Encoding, Connection and any with CR/LF/NUL), the
// added ones, a blank line, the body. A status outside 200..599 (or 1xx) is
// turned into a 500 InternalFailure, since it cannot be a final response;
// 204 and 304 are sent without a body or Content-Length. With response.file
// only the header block is returned (Content-Length is the file range's);
// the caller writes the file's bytes after it.
std::string serialize_response(const Response& response, const ResponseContext& context);

// The header block opening an event stream: 200, text/event-stream, chunked,
// no caching, plus the handler-independent headers of ResponseContext.
std::string stream_header(const ResponseContext& context);

// One SSE event as the text the client reads (see EventStream::send).
std::string format_event(std::string_view event, std::string_view data, std::string_view id);

// `payload` framed as one chunk of chunked transfer coding ("1a\r\n...\r\n").
std::string chunk(std::string_view payload);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// JSON string escaping (quotes not included).
std::string json_escape(std::string_view s);

// A listen address split into a host literal and a port. `host` is an IPv4 or
// IPv6 literal without brackets ("localhost" becomes 127.0.0.1).
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
// Parses "1.2.3.4:80", "[::1]:80", "localhost:80". Errors (kInvalidArgument)
// name the text and what was expected. The literal itself is checked with
// inet_pton.
Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace stageline::http::detail
