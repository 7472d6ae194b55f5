#include "api/http/message.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "base/strings.h"

namespace stageline::http {

namespace {

std::string_view find_header(const Headers& headers, std::string_view name, bool* found) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) {
      *found = true;
      return v;
    }
  }
  *found = false;
  return {};
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  bool found = false;
  return find_header(headers, name, &found);
}

bool Request::has_header(std::string_view name) const {
  bool found = false;
  (void)find_header(headers, name, &found);
  return found;
}

std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Request::query() const {
  std::string_view t = target;
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

FileBody::~FileBody() {
  if (fd_ >= 0) ::close(fd_);
}

Response json_error(int status, std::string_view type, std::string_view message) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/x-amz-json-1.1");
  r.body = "{\"__type\":\"" + detail::json_escape(type) + "\",\"message\":\"" +
           detail::json_escape(message) + "\"}";
  return r;
}

namespace detail {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
  }
  return "Unknown";
}

std::string http_date(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

namespace {

bool header_is_safe(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == ':') return false;
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool has(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (iequals(h.first, name)) return true;
  }
  return false;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// The headers every response gets unless the handler set them.
void append_common(std::string& out, const Headers& set_by_handler, const ResponseContext& c) {
  if (!has(set_by_handler, "x-amzn-RequestId"))
    append_header(out, "x-amzn-RequestId", c.request_id);
  if (!has(set_by_handler, "Date")) append_header(out, "Date", c.date);
  if (!has(set_by_handler, "Server") && !c.server.empty()) append_header(out, "Server", c.server);
  if (!c.keep_alive) {
    append_header(out, "Connection", "close");
  } else if (c.http10) {
    append_header(out, "Connection", "keep-alive");
  }
}

}  // namespace

std::string serialize_response(const Response& response, const ResponseContext& context) {
  if (response.status < 200 || response.status > 599) {
    Response bad =
        json_error(500, "InternalFailure",
                   "the handler answered with HTTP status " + std::to_string(response.status));
    return serialize_response(bad, context);
  }
  const bool bodiless = response.status == 204 || response.status == 304;
  std::string out;
  out.reserve(256 + response.body.size());
  out.append("HTTP/1.1 ");
  out.append(std::to_string(response.status));
  out.push_back(' ');
  out.append(reason_phrase(response.status));
  out.append("\r\n");
  Headers kept;
  for (const auto& [name, value] : response.headers) {
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
        iequals(name, "Connection") || !header_is_safe(name, value)) {
      continue;
    }
    append_header(out, name, value);
    kept.emplace_back(name, value);
  }
  append_common(out, kept, context);
  const uint64_t length = response.file ? response.file->length() : response.body.size();
  if (!bodiless) append_header(out, "Content-Length", std::to_string(length));
  out.append("\r\n");
  if (!bodiless && !context.head && !response.file) out.append(response.body);
  return out;
}

std::string stream_header(const ResponseContext& context) {
  std::string out = "HTTP/1.1 200 OK\r\n";
  append_header(out, "Content-Type", "text/event-stream");
  append_header(out, "Cache-Control", "no-cache");
  append_header(out, "Transfer-Encoding", "chunked");
  append_common(out, {}, context);
  out.append("\r\n");
  return out;
}

namespace {

// One line of an SSE field: CR and LF would end the field early.
void append_field(std::string& out, std::string_view field, std::string_view value) {
  out.append(field);
  out.append(": ");
  for (char c : value) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  out.push_back('\n');
}

}  // namespace

std::string format_event(std::string_view event, std::string_view data, std::string_view id) {
  std::string out;
  out.reserve(data.size() + event.size() + id.size() + 32);
  if (!id.empty()) append_field(out, "id", id);
  if (!event.empty()) append_field(out, "event", event);
  // Every line ending the SSE grammar knows (CRLF, LF, CR) starts a new data: line.
  size_t start = 0;
  for (size_t i = 0; i <= data.size(); ++i) {
    if (i == data.size() || data[i] == '\n' || data[i] == '\r') {
      out.append("data: ");
      out.append(data.substr(start, i - start));
      out.push_back('\n');
      if (i + 1 < data.size() && data[i] == '\r' && data[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  out.push_back('\n');
  return out;
}

std::string chunk(std::string_view payload) {
  char size[24];
  std::snprintf(size, sizeof size, "%zx\r\n", payload.size());
  std::string out = size;
  out.append(payload);
  out.append("\r\n");
  return out;
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
  auto fail = [&](std::string why) {
    return Status::invalid("listen address " + quote(text) + ": " + why +
                           " (expected 127.0.0.1:7300, [::1]:7300 or localhost:7300)");
  };
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return fail("no ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail("no ':port' after ']'");
    port = text.substr(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
      return fail("not an IPv6 literal");
    }
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("no ':port'");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return fail("an IPv6 address needs [brackets]");
    if (host == "localhost") host = "127.0.0.1";
    in_addr a4{};
    if (inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) {
      return fail("not an IPv4 literal");
    }
  }
  if (port.empty() || port.size() > 5) return fail("the port must be a number 0..65535");
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return fail("the port must be a number 0..65535");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return fail("the port must be a number 0..65535");
  return ListenAddress{std::string(host), static_cast<uint16_t>(value)};
}

}  // namespace detail
}  // namespace stageline::http
