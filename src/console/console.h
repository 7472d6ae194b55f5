// console/console: the web console's server side, under /console/ on the API
// port (docs/console.md). The page is static (web/, console/assets.h); what it
// shows and does goes through the same API operations a signed client calls,
// authorized as the key the person signed in with (console/sessions.h):
//
//   GET    /console                 301 to console/ (relative, so a path prefix
//                                   added by a reverse proxy is kept)
//   GET    /console/<file>          a file of web/ ("" is index.html), ETag
//   GET    /console/session         who is signed in, and the CSRF token
//   POST   /console/session         sign in: {"accessKeyId","secretAccessKey"}
//   DELETE /console/session         sign out (X-CSRF-Token)
//   POST   /console/api             an AWS JSON call: X-Amz-Target and body as
//                                   the service takes them (X-CSRF-Token)
//   GET    /console/events          the live event stream of GET /events
//   GET    /console/logs/ID         an action's log, as GET /logs/ID
//   GET    /console/logs/ID?follow=1  the log as a stream: "lines" events as
//                                   lines are written, "end" when it ended
//
// Every path but the files and sign-in needs the session cookie (401
// NotSignedIn); every request that acts needs the session's CSRF token
// (403 InvalidCsrfToken). Answers about the session and the API are never
// cached. The cookie is HttpOnly and SameSite=Strict, has no Path (so it is
// scoped to wherever the proxy put /console), and is Secure when the request
// came over HTTPS (X-Forwarded-Proto: https).
//
// Not thread-safe: the control thread's. Depends on base, api/http and
// api/sigv4; the server wires it to the API, the event log and the logs
// through Options.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http/http.h"
#include "api/sigv4/keys.h"
#include "base/status.h"
#include "console/assets.h"
#include "console/sessions.h"

namespace stageline::console {

struct LogLine {
  int64_t seq = 0;
  int64_t time_ms = 0;
  std::string text;
};

// Lines of one action execution's log from some sequence number on.
struct LogPage {
  std::vector<LogLine> lines;
  int64_t next_seq = 1;  // the first sequence number not in `lines`
  std::string status;    // the action execution's, e.g. "InProgress"
  bool ended = false;    // the action has ended: its log is complete
};

// At most `limit` lines of an action execution's log from `from`; kNotFound
// for an unknown id.
using ReadLog = std::function<Result<LogPage>(const std::string& id, int64_t from, int limit)>;

// Answers GET /logs/ID?from=SEQ&limit=N (the signed route and the console's):
// {"actionExecutionId","status","lines","nextSeq"}; from=0 is the first line,
// limit is at most 10,000 (1,000 by default). 400 for a bad from or limit, 404
// ActionExecutionNotFoundException, 500 with the cause given to `log`.
http::Response answer_log_request(const std::string& id, std::string_view query,
                                  const ReadLog& read,
                                  const std::function<void(const std::string&)>& log);

// The name of the session cookie.
inline constexpr std::string_view kCookieName = "stageline_session";

class Console {
 public:
  struct Options {
    std::string dir;  // serve these files instead of the embedded web/ ("")
    std::string region;
    std::string account_id;
    Sessions::Options sessions;
    // Answers an AWS JSON request (POST /, X-Amz-Target, Content-Type,
    // body) as if the key `access_key_id` of `principal` had signed it.
    std::function<http::Response(const http::Request&, const std::string& principal,
                                 const std::string& access_key_id)>
        call;
    // Subscribes `stream` to the event log as GET /events does with this
    // request's query and Last-Event-ID; an answer when it cannot.
    std::function<std::optional<http::Response>(const http::Request&,
                                                std::shared_ptr<http::EventStream>)>
        subscribe_events;
    ReadLog read_log;
    // Runs `fn` on the control thread after `delay` (the live tail's clock).
    std::function<void(std::chrono::milliseconds delay, std::function<void()> fn)> after;
    // How often a followed log is read for new lines.
    std::chrono::milliseconds tail_interval = std::chrono::milliseconds(250);
    std::function<void(const std::string&)> log;  // one line per refused sign-in
  };

  // `keys` is borrowed and must outlive this.
  Console(api::sigv4::KeySource& keys, Options options);

  // True for /console and every path under /console/.
  static bool accepts(const http::Request& request);
  // True for the requests handle_stream answers: GET /console/events and
  // GET /console/logs/ID?follow=1.
  static bool is_stream(const http::Request& request);

  http::Response handle(const http::Request& request);
  // Answers a stream request: nullopt once `stream` is subscribed, else the
  // error to send instead.
  std::optional<http::Response> handle_stream(const http::Request& request,
                                              std::shared_ptr<http::EventStream> stream);

  Sessions& sessions() { return sessions_; }

 private:
  struct Follower {
    std::shared_ptr<http::EventStream> stream;
    std::string id;
    int64_t next_seq = 1;
  };

  http::Response session(const http::Request& request);
  http::Response sign_in(const http::Request& request);
  http::Response api(const http::Request& request, const Session& session);
  http::Response logs(const http::Request& request, std::string_view id);
  // The session of the request's cookie, or the 401 to answer.
  std::optional<Session> signed_in(const http::Request& request);
  void tail();

  Options options_;
  Assets assets_;
  Sessions sessions_;
  std::vector<Follower> followers_;
  bool tail_scheduled_ = false;
};

// The value of cookie `name` in a Cookie header, or "".
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace stageline::console
