#include "api/client/http_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "api/client/socket.h"
#include "base/strings.h"

namespace stageline::api::client {
namespace {

using detail::Clock;

Status malformed(const std::string& why) { return Status::io("malformed HTTP response: " + why); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_decimal(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string Endpoint::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != 80) h += ":" + std::to_string(port);
  return h;
}

std::string Endpoint::display() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return Status::invalid("endpoint URL " + quote(url) + ": " + why);
  };
  std::string_view rest = url;
  if (auto p = rest.find("://"); p != std::string_view::npos) {
    std::string scheme = to_lower(rest.substr(0, p));
    if (scheme == "https") return bad("https is not supported; use http://");
    if (scheme != "http") return bad("the scheme must be http");
    rest.remove_prefix(p + 3);
  } else {
    return bad("expected http://HOST:PORT");
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  std::string_view tail = rest.substr(authority.size());
  if (!tail.empty() && tail != "/") return bad("a path or query is not supported");
  Endpoint e;
  std::string_view port_text;
  if (starts_with(authority, "[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    e.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected characters after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    auto colon = authority.rfind(':');
    e.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
    if (e.host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets");
  }
  if (e.host.empty()) return bad("no host");
  if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");
  if (!port_text.empty()) {
    uint64_t port = 0;
    if (!parse_decimal(port_text, port) || port == 0 || port > 65535)
      return bad("the port must be 1..65535");
    e.port = static_cast<uint16_t>(port);
  }
  return e;
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return std::nullopt;
}

Result<HttpResponse> parse_http_head(std::string_view head) {
  HttpResponse r;
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK": version, a three-digit code, an optional reason.
  if (!starts_with(status_line, "HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ')
    return malformed("bad status line " + quote(status_line));
  uint64_t code = 0;
  if (!parse_decimal(status_line.substr(9, 3), code) || code < 100 ||
      (status_line.size() > 12 && status_line[12] != ' '))
    return malformed("bad status code in " + quote(status_line));
  r.status = static_cast<int>(code);
  if (status_line.size() > 13) r.reason = std::string(status_line.substr(13));

  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view line = rest.substr(0, e);
    rest = e == std::string_view::npos ? "" : rest.substr(e + 2);
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        trim(line.substr(0, colon)).size() != colon)
      return malformed("bad header line " + quote(line));
    r.headers.emplace_back(std::string(line.substr(0, colon)),
                           std::string(trim(line.substr(colon + 1))));
  }
  return r;
}

Result<std::optional<HttpResponse>> parse_http_response(std::string_view buffer, bool eof,
                                                        size_t max_bytes) {
  using Parsed = std::optional<HttpResponse>;
  if (buffer.size() > max_bytes)
    return malformed("larger than " + std::to_string(max_bytes) + " bytes");
  const size_t head_end = buffer.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (eof)
      return malformed(buffer.empty() ? "the server closed the connection without answering"
                                      : "the connection closed inside the headers");
    return Parsed();
  }
  auto parsed_head = parse_http_head(buffer.substr(0, head_end));
  if (!parsed_head.ok()) return parsed_head.status();
  HttpResponse r = std::move(*parsed_head);

  std::string_view body = buffer.substr(head_end + 4);
  const bool no_body = r.status == 204 || r.status == 304 || r.status < 200;
  auto te = r.header("Transfer-Encoding");
  auto cl = r.header("Content-Length");
  if (no_body) return Parsed(std::move(r));
  if (te && !iequals(*te, "identity")) {
    if (!iequals(*te, "chunked")) return malformed("unsupported Transfer-Encoding " + quote(*te));
    // Chunks: hex size [;ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF.
    std::string out;
    std::string_view p = body;
    for (;;) {
      size_t e = p.find("\r\n");
      if (e == std::string_view::npos) break;
      std::string_view size_text = trim(p.substr(0, std::min(e, p.find(';'))));
      uint64_t size = 0;
      auto [end, ec] =
          std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
      if (size_text.empty() || ec != std::errc() || end != size_text.data() + size_text.size() ||
          size > max_bytes)
        return malformed("bad chunk size " + quote(size_text));
      p.remove_prefix(e + 2);
      if (size == 0) {
        // Trailers end with an empty line.
        if (starts_with(p, "\r\n")) {
          r.body = std::move(out);
          return Parsed(std::move(r));
        }
        if (p.find("\r\n\r\n") != std::string_view::npos) {
          r.body = std::move(out);
          return Parsed(std::move(r));
        }
        break;
      }
      if (p.size() < size + 2) break;
      if (p.substr(size, 2) != "\r\n") return malformed("a chunk is not followed by CRLF");
      out.append(p.substr(0, size));
      p.remove_prefix(size + 2);
    }
    if (eof) return malformed("the connection closed inside a chunked body");
    return Parsed();
  }
  if (cl) {
    uint64_t length = 0;
    if (!parse_decimal(*cl, length)) return malformed("bad Content-Length " + quote(*cl));
    if (length > max_bytes) return malformed("Content-Length " + *cl + " is too large");
    if (body.size() < length) {
      if (eof)
        return malformed("the body ended after " + std::to_string(body.size()) + " of " +
                         std::to_string(length) + " bytes");
      return Parsed();
    }
    r.body = std::string(body.substr(0, length));
    return Parsed(std::move(r));
  }
  if (!eof) return Parsed();
  r.body = std::string(body);
  return Parsed(std::move(r));
}

Result<HttpResponse> send_http(const Endpoint& endpoint, const sigv4::HttpRequest& request,
                               const HttpOptions& options) {
  return exchange_http(endpoint, request, options).response;
}

HttpExchange exchange_http(const Endpoint& endpoint, const sigv4::HttpRequest& request,
                           const HttpOptions& options) {
  auto failed = [](detail::Failure f) { return HttpExchange{std::move(f.status), f.kind}; };
  const std::string where = endpoint.display();
  detail::Connected connected = detail::connect_endpoint(endpoint, options.timeout);
  if (!connected.failure.ok()) return failed(std::move(connected.failure));
  const int fd = connected.fd.get();

  // The deadline for the exchange starts once connected.
  const Clock::time_point deadline = Clock::now() + options.timeout;
  if (detail::Failure f = detail::send_all(fd, detail::serialize_request(request, /*close=*/true),
                                           deadline, where, options.timeout);
      !f.ok())
    return failed(std::move(f));

  std::string buffer;
  char chunk[16384];
  for (;;) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int ready = detail::wait_for(fd, POLLIN, deadline);
      if (ready == 0)
        return failed({TransportFailure::kTimeout,
                       Status::io("read from " + where + ": timed out after " +
                                  std::to_string(options.timeout.count()) + " ms")});
      if (ready < 0)
        return failed({detail::classify_errno(errno),
                       Status::io("read from " + where + ": " + std::strerror(errno))});
      continue;
    }
    // A reset after a complete response is harmless; before one it is an error.
    const bool eof = n <= 0;
    const bool reset = n < 0 && errno == ECONNRESET;
    if (n < 0 && !reset)
      return failed({detail::classify_errno(errno),
                     Status::io("read from " + where + ": " + std::strerror(errno))});
    if (n > 0) buffer.append(chunk, static_cast<size_t>(n));
    auto parsed = parse_http_response(buffer, eof);
    if (!parsed.ok()) {
      // An answer the peer cut short by going away (it was well-formed so
      // far) is a dropped connection, worth a retry; anything else is a
      // malformed answer.
      auto so_far = parse_http_response(buffer, /*eof=*/false);
      const bool cut = eof && so_far.ok() && !so_far->has_value();
      return failed({cut ? TransportFailure::kReset : TransportFailure::kMalformed,
                     parsed.status().with_context("call " + where)});
    }
    if (parsed->has_value()) return HttpExchange{std::move(**parsed), TransportFailure::kNone};
  }
}

}  // namespace stageline::api::client
