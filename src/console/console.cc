#include "console/console.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "api/sigv4/canonical.h"
#include "base/strings.h"

namespace stageline::console {

namespace {

constexpr std::string_view kRoot = "/console";
constexpr int kTailBatch = 1000;

// Headers on every answer under /console: no sniffing, no framing, and a
// policy that lets the page load only its own scripts and talk only to its
// own server.
void add_security_headers(http::Response& r) {
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "same-origin");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self' "
                         "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                         "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
}

http::Response no_store(http::Response r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

http::Response json_answer(int status, const boost::json::value& v) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = boost::json::serialize(v);
  return no_store(std::move(r));
}

http::Response not_signed_in() {
  return no_store(http::json_error(401, "NotSignedIn", "Sign in to the console first"));
}

http::Response method_not_allowed(std::string_view method, std::string_view path,
                                  std::string_view allowed) {
  http::Response r =
      http::json_error(405, "MethodNotAllowed",
                       std::string(method) + " is not allowed on " + std::string(path) + " (use " +
                           std::string(allowed) + ")");
  r.headers.emplace_back("Allow", std::string(allowed));
  return r;
}

// The decoded value of `key` in a query string, or nullopt.
std::optional<std::string> query_value(std::string_view query, std::string_view key) {
  for (std::string_view rest = query; !rest.empty();) {
    std::string_view pair = rest.substr(0, rest.find('&'));
    rest = pair.size() < rest.size() ? rest.substr(pair.size() + 1) : std::string_view();
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return eq == std::string_view::npos ? std::string()
                                          : api::sigv4::uri_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

// An integer query parameter of at least `min`, `fallback` when absent;
// nullopt when present and not such an integer.
std::optional<int64_t> int_param(std::string_view query, std::string_view key, int64_t fallback,
                                 int64_t min) {
  auto v = query_value(query, key);
  if (!v) return fallback;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < min) return std::nullopt;
  return n;
}

// The client's address without its port: "127.0.0.1:5300" -> "127.0.0.1",
// "[::1]:5300" -> "[::1]".
std::string_view peer_address(std::string_view peer) {
  auto colon = peer.rfind(':');
  if (colon == std::string_view::npos ||
      (peer.find(']') != std::string_view::npos && colon < peer.find(']')))
    return peer;
  return peer.substr(0, colon);
}

bool over_https(const http::Request& req) {
  std::string_view proto = req.header("X-Forwarded-Proto");
  return proto == "https" || proto == "HTTPS";
}

std::string set_cookie(std::string_view value, bool secure, bool clear) {
  std::string c =
      std::string(kCookieName) + "=" + std::string(value) + "; HttpOnly; SameSite=Strict";
  if (clear) c += "; Max-Age=0";
  if (secure) c += "; Secure";
  return c;
}

boost::json::object session_json(const Session& s, const std::string& region,
                                 const std::string& account_id) {
  return {{"accessKeyId", s.access_key_id},
          {"principal", s.principal},
          {"csrfToken", s.csrf_token},
          {"region", region},
          {"accountId", account_id}};
}

boost::json::object lines_json(const std::vector<LogLine>& lines, int64_t next_seq) {
  boost::json::array out;
  for (const auto& l : lines)
    out.push_back(boost::json::object{{"seq", l.seq}, {"time", l.time_ms}, {"text", l.text}});
  return {{"lines", std::move(out)}, {"nextSeq", next_seq}};
}

}  // namespace

http::Response answer_log_request(const std::string& id, std::string_view query,
                                  const ReadLog& read,
                                  const std::function<void(const std::string&)>& log) {
  // Sequence numbers start at 1; from=0 also means "from the first line".
  auto from = int_param(query, "from", 1, 0);
  auto limit = int_param(query, "limit", 1000, 1);
  if (!from || !limit)
    return http::json_error(400, "ValidationException",
                            "from must be a whole number and limit a positive one");
  auto page = read(id, *from, static_cast<int>(std::min<int64_t>(*limit, 10000)));
  if (!page.ok()) {
    if (page.status().code() == StatusCode::kNotFound)
      return http::json_error(404, "ActionExecutionNotFoundException",
                              "Action execution " + id + " does not exist");
    if (log) log("log of " + id + ": " + page.status().message());
    return http::json_error(500, "InternalFailure", "Internal failure");
  }
  boost::json::object o = lines_json(page->lines, page->next_seq);
  o["actionExecutionId"] = id;
  o["status"] = page->status;
  http::Response r;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = boost::json::serialize(o);
  return r;
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  for (std::string_view rest = header; !rest.empty();) {
    std::string_view pair = rest.substr(0, rest.find(';'));
    rest = pair.size() < rest.size() ? rest.substr(pair.size() + 1) : std::string_view();
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view value = pair.substr(eq + 1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      return value;
    }
  }
  return {};
}

Console::Console(api::sigv4::KeySource& keys, Options options)
    : options_(std::move(options)), assets_(options_.dir), sessions_(keys, options_.sessions) {}

bool Console::accepts(const http::Request& request) {
  std::string_view path = request.path();
  return path == kRoot || path.starts_with("/console/");
}

bool Console::is_stream(const http::Request& request) {
  if (request.method != "GET") return false;
  std::string_view path = request.path();
  if (path == "/console/events") return true;
  return path.starts_with("/console/logs/") && query_value(request.query(), "follow") == "1";
}

std::optional<Session> Console::signed_in(const http::Request& request) {
  std::string_view token = cookie_value(request.header("Cookie"), kCookieName);
  if (token.empty()) return std::nullopt;
  return sessions_.find(token);
}

http::Response Console::handle(const http::Request& request) {
  http::Response r;
  std::string_view path = request.path();
  if (path == kRoot) {
    r.status = 301;
    r.headers.emplace_back("Location", "console/");
  } else {
    std::string_view rest = path.substr(kRoot.size() + 1);
    if (rest == "session") {
      r = session(request);
    } else if (rest == "api") {
      if (request.method != "POST") {
        r = method_not_allowed(request.method, path, "POST");
      } else if (auto s = signed_in(request)) {
        r = api(request, *s);
      } else {
        r = not_signed_in();
      }
    } else if (rest.starts_with("logs/")) {
      if (request.method != "GET") {
        r = method_not_allowed(request.method, path, "GET");
      } else if (signed_in(request)) {
        r = logs(request, rest.substr(5));
      } else {
        r = not_signed_in();
      }
    } else if (rest == "events") {
      r = method_not_allowed(request.method, path, "GET");
    } else if (request.method == "GET" || request.method == "HEAD") {
      r = assets_.get(api::sigv4::uri_decode(rest), request.header("If-None-Match"));
    } else {
      r = method_not_allowed(request.method, path, "GET");
    }
  }
  add_security_headers(r);
  return r;
}

http::Response Console::session(const http::Request& request) {
  if (request.method == "POST") return sign_in(request);
  if (request.method == "GET") {
    auto s = signed_in(request);
    if (!s) return not_signed_in();
    return json_answer(200, session_json(*s, options_.region, options_.account_id));
  }
  if (request.method == "DELETE") {
    auto s = signed_in(request);
    if (!s) return not_signed_in();
    if (!tokens_equal(request.header("X-CSRF-Token"), s->csrf_token))
      return no_store(http::json_error(403, "InvalidCsrfToken",
                                       "The X-CSRF-Token header is missing or not this "
                                       "session's; reload the console"));
    sessions_.sign_out(s->token);
    http::Response r;
    r.status = 204;
    r.headers.emplace_back("Set-Cookie", set_cookie("", over_https(request), true));
    return no_store(std::move(r));
  }
  return method_not_allowed(request.method, request.path(), "GET, POST, DELETE");
}

http::Response Console::sign_in(const http::Request& request) {
  // Only JSON: a form on another site cannot send it without asking first.
  if (!request.header("Content-Type").starts_with("application/json"))
    return no_store(http::json_error(415, "UnsupportedMediaType",
                                     "Sign in with Content-Type: application/json"));
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(request.body, ec);
  if (ec || !body.is_object())
    return no_store(http::json_error(400, "ValidationException",
                                     "The sign-in body must be a JSON object with accessKeyId "
                                     "and secretAccessKey"));
  std::string id, secret;
  for (const auto& [key, value] : body.as_object()) {
    if (key != "accessKeyId" && key != "secretAccessKey")
      return no_store(http::json_error(400, "ValidationException",
                                       "Unknown field '" + std::string(key) +
                                           "' (sign in with accessKeyId and secretAccessKey)"));
    if (!value.is_string())
      return no_store(
          http::json_error(400, "ValidationException", std::string(key) + " must be a string"));
    (key == "accessKeyId" ? id : secret) = std::string(value.as_string());
  }
  if (id.empty() || secret.empty())
    return no_store(http::json_error(400, "ValidationException",
                                     "accessKeyId and secretAccessKey are both required"));
  auto s = sessions_.sign_in(id, secret, peer_address(request.peer));
  if (!s.ok()) {
    if (options_.log)
      options_.log("console sign-in from " + request.peer + " refused: " + s.status().message());
    if (s.status().code() == StatusCode::kFailedPrecondition)
      return no_store(http::json_error(429, "ThrottlingException", s.status().message()));
    if (s.status().code() == StatusCode::kInvalidArgument)
      return no_store(http::json_error(401, "InvalidSignIn", s.status().message()));
    return no_store(http::json_error(500, "InternalFailure", s.status().message()));
  }
  http::Response r = json_answer(200, session_json(*s, options_.region, options_.account_id));
  r.headers.emplace_back("Set-Cookie", set_cookie(s->token, over_https(request), false));
  return r;
}

http::Response Console::api(const http::Request& request, const Session& session) {
  if (!tokens_equal(request.header("X-CSRF-Token"), session.csrf_token))
    return no_store(http::json_error(
        403, "InvalidCsrfToken",
        "The X-CSRF-Token header is missing or not this session's; reload the console"));
  http::Request inner;
  inner.method = "POST";
  inner.target = "/";
  inner.peer = request.peer;
  inner.request_id = request.request_id;
  for (const auto& [name, value] : request.headers)
    if (iequals(name, "X-Amz-Target") || iequals(name, "Content-Type"))
      inner.headers.emplace_back(name, value);
  inner.body = request.body;
  return no_store(options_.call(inner, session.principal, session.access_key_id));
}

http::Response Console::logs(const http::Request& request, std::string_view id) {
  return no_store(
      answer_log_request(std::string(id), request.query(), options_.read_log, options_.log));
}

std::optional<http::Response> Console::handle_stream(const http::Request& request,
                                                     std::shared_ptr<http::EventStream> stream) {
  if (!signed_in(request)) return not_signed_in();
  std::string_view path = request.path();
  if (path == "/console/events") return options_.subscribe_events(request, std::move(stream));
  std::string id(path.substr(std::string_view("/console/logs/").size()));
  auto from = int_param(request.query(), "from", 1, 0);
  if (!from)
    return no_store(http::json_error(400, "ValidationException", "from must be a whole number"));
  // An unknown id is answered before the stream opens.
  auto first = options_.read_log(id, *from, 1);
  if (!first.ok()) {
    if (first.status().code() == StatusCode::kNotFound)
      return no_store(http::json_error(404, "ActionExecutionNotFoundException",
                                       "Action execution " + id + " does not exist"));
    return no_store(http::json_error(500, "InternalFailure", first.status().message()));
  }
  followers_.push_back({std::move(stream), id, *from});
  tail();
  return std::nullopt;
}

void Console::tail() {
  std::erase_if(followers_, [this](Follower& f) {
    for (;;) {
      if (f.stream->closed()) return true;
      auto page = options_.read_log(f.id, f.next_seq, kTailBatch);
      if (!page.ok()) {
        f.stream->send("error", boost::json::serialize(
                                    boost::json::object{{"message", page.status().message()}}));
        f.stream->close();
        return true;
      }
      if (!page->lines.empty()) {
        f.next_seq = page->next_seq;
        if (!f.stream->send("lines",
                            boost::json::serialize(lines_json(page->lines, page->next_seq))))
          return true;
      }
      if (static_cast<int>(page->lines.size()) == kTailBatch) continue;  // more are waiting
      if (page->ended) {
        f.stream->send("end", boost::json::serialize(boost::json::object{{"status", page->status},
                                                                         {"nextSeq", f.next_seq}}));
        f.stream->close();
        return true;
      }
      return false;
    }
  });
  if (!followers_.empty() && !tail_scheduled_ && options_.after) {
    tail_scheduled_ = true;
    options_.after(options_.tail_interval, [this] {
      tail_scheduled_ = false;
      tail();
    });
  }
}

}  // namespace stageline::console
