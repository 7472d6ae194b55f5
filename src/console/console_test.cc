#include "console/console.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace stageline::console {
namespace {

constexpr const char* kId = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr const char* kPrincipal = "arn:aws:iam::111122223333:user/ada";

std::string header(const http::Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

http::Request request(std::string method, std::string target, std::string body = "",
                      http::Headers headers = {}) {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.peer = "127.0.0.1:50000";
  r.request_id = "req-1";
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

// An event stream that keeps what is sent to it.
class RecordingStream final : public http::EventStream {
 public:
  bool send(std::string_view event, std::string_view data, std::string_view) override {
    if (closed_) return false;
    events.emplace_back(event, data);
    return true;
  }
  bool closed() const override { return closed_; }
  void close() override { closed_ = true; }
  size_t queued_bytes() const override { return 0; }
  std::vector<std::pair<std::string, std::string>> events;
  bool closed_ = false;
};

struct Fixture {
  api::sigv4::InMemoryKeySource keys;
  // What the API saw.
  std::vector<http::Request> calls;
  std::vector<std::string> principals;
  // The log of action "a-1": lines are added by the test.
  std::vector<LogLine> log;
  bool ended = false;
  std::function<void()> timer;  // the one pending tail timer
  std::vector<std::string> logged;
  std::unique_ptr<Console> console;

  Fixture() {
    keys.put({kId, kSecret, kPrincipal, true});
    Console::Options o;
    o.region = "eu-west-1";
    o.account_id = "111122223333";
    o.sessions.now_ms = [] { return int64_t{1000}; };
    o.call = [this](const http::Request& r, const std::string& principal, const std::string&) {
      calls.push_back(r);
      principals.push_back(principal);
      http::Response out;
      out.headers.emplace_back("Content-Type", "application/x-amz-json-1.1");
      out.body = R"({"pipelines":[]})";
      return out;
    };
    o.subscribe_events = [](const http::Request&,
                            std::shared_ptr<http::EventStream> s) -> std::optional<http::Response> {
      s->send("CodePipeline Pipeline Execution State Change", "{}", "7");
      return std::nullopt;
    };
    o.read_log = [this](const std::string& id, int64_t from, int limit) -> Result<LogPage> {
      if (id == "broken") return Status::io("disk I/O error");
      if (id != "a-1") return Status::not_found("no " + id);
      LogPage page;
      page.next_seq = from;
      for (const auto& l : log)
        if (l.seq >= from && static_cast<int>(page.lines.size()) < limit) {
          page.lines.push_back(l);
          page.next_seq = l.seq + 1;
        }
      page.ended = ended;
      page.status = ended ? "Succeeded" : "InProgress";
      return page;
    };
    o.log = [this](const std::string& line) { logged.push_back(line); };
    o.after = [this](std::chrono::milliseconds, std::function<void()> fn) {
      timer = std::move(fn);
    };
    console = std::make_unique<Console>(keys, o);
  }

  // Signs in; returns {cookie header value, csrf token}.
  std::pair<std::string, std::string> sign_in() {
    http::Response r = console->handle(request(
        "POST", "/console/session",
        R"({"accessKeyId":")" + std::string(kId) + R"(","secretAccessKey":")" + kSecret + R"("})",
        {{"Content-Type", "application/json"}}));
    EXPECT_EQ(r.status, 200) << r.body;
    std::string cookie = header(r, "Set-Cookie");
    cookie = cookie.substr(0, cookie.find(';'));
    auto body = boost::json::parse(r.body).as_object();
    return {cookie, std::string(body.at("csrfToken").as_string())};
  }
};

TEST(Console, TheBareRootRedirectsRelativelySoAProxyPrefixIsKept) {
  Fixture f;
  http::Response r = f.console->handle(request("GET", "/console"));
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "console/");
}

TEST(Console, SigningInSetsAnHttpOnlySameSiteStrictCookieWithoutAPath) {
  Fixture f;
  http::Response r = f.console->handle(request(
      "POST", "/console/session",
      R"({"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":")" + std::string(kSecret) + "\"}",
      {{"Content-Type", "application/json"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  std::string cookie = header(r, "Set-Cookie");
  EXPECT_TRUE(cookie.starts_with("stageline_session=")) << cookie;
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos);
  EXPECT_EQ(cookie.find("Path="), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  auto body = boost::json::parse(r.body).as_object();
  EXPECT_EQ(body.at("principal").as_string(), kPrincipal);
  EXPECT_EQ(body.at("region").as_string(), "eu-west-1");
  EXPECT_EQ(body.at("csrfToken").as_string().size(), 43u);
  EXPECT_FALSE(body.contains("secretAccessKey"));
}

TEST(Console, BehindHttpsTheCookieIsSecure) {
  Fixture f;
  http::Response r = f.console->handle(request(
      "POST", "/console/session",
      R"({"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":")" + std::string(kSecret) + "\"}",
      {{"Content-Type", "application/json"}, {"X-Forwarded-Proto", "https"}}));
  EXPECT_NE(header(r, "Set-Cookie").find("; Secure"), std::string::npos);
}

TEST(Console, AWrongKeyCannotSignIn) {
  Fixture f;
  http::Response r = f.console->handle(
      request("POST", "/console/session",
              R"({"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"guess"})",
              {{"Content-Type", "application/json"}}));
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("InvalidSignIn"), std::string::npos);
  EXPECT_EQ(header(r, "Set-Cookie"), "");
}

TEST(Console, SignInBodiesThatAreNotTheTwoFieldsAreRefusedClearly) {
  Fixture f;
  auto post = [&](std::string body, std::string type = "application/json") {
    return f.console->handle(
        request("POST", "/console/session", std::move(body), {{"Content-Type", type}}));
  };
  EXPECT_EQ(post("accessKeyId=a&secretAccessKey=b", "application/x-www-form-urlencoded").status,
            415);
  EXPECT_EQ(post("{not json").status, 400);
  EXPECT_EQ(post("[]").status, 400);
  EXPECT_EQ(post(R"({"accessKeyId":"a"})").status, 400);
  EXPECT_EQ(post(R"({"accessKeyId":1,"secretAccessKey":"b"})").status, 400);
  http::Response extra = post(R"({"accessKeyId":"a","secretAccessKey":"b","admin":true})");
  EXPECT_EQ(extra.status, 400);
  EXPECT_NE(extra.body.find("Unknown field 'admin'"), std::string::npos);
}

TEST(Console, TheSessionAnswersWhoIsSignedIn) {
  Fixture f;
  EXPECT_EQ(f.console->handle(request("GET", "/console/session")).status, 401);
  auto [cookie, csrf] = f.sign_in();
  http::Response r =
      f.console->handle(request("GET", "/console/session", "", {{"Cookie", "a=b; " + cookie}}));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(boost::json::parse(r.body).at("csrfToken").as_string(), csrf);
}

TEST(Console, AnApiCallNeedsASessionAndItsCsrfToken) {
  Fixture f;
  auto [cookie, csrf] = f.sign_in();
  http::Headers base = {{"X-Amz-Target", "CodePipeline_20150709.ListPipelines"},
                        {"Content-Type", "application/x-amz-json-1.1"}};
  auto call = [&](http::Headers extra) {
    http::Headers h = base;
    h.insert(h.end(), extra.begin(), extra.end());
    return f.console->handle(request("POST", "/console/api", "{}", h));
  };
  EXPECT_EQ(call({{"X-CSRF-Token", csrf}}).status, 401) << "no cookie";
  http::Response no_token = call({{"Cookie", cookie}});
  EXPECT_EQ(no_token.status, 403);
  EXPECT_NE(no_token.body.find("InvalidCsrfToken"), std::string::npos);
  EXPECT_EQ(call({{"Cookie", cookie}, {"X-CSRF-Token", csrf + "x"}}).status, 403);
  EXPECT_TRUE(f.calls.empty()) << "refused calls never reach the API";
  http::Response ok =
      call({{"Cookie", cookie}, {"X-CSRF-Token", csrf}, {"Authorization", "AWS4 forged"}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"pipelines":[]})");
  EXPECT_EQ(header(ok, "Cache-Control"), "no-store");
  ASSERT_EQ(f.calls.size(), 1u);
  EXPECT_EQ(f.principals[0], kPrincipal);
  const http::Request& inner = f.calls[0];
  EXPECT_EQ(inner.method, "POST");
  EXPECT_EQ(inner.target, "/");
  EXPECT_EQ(inner.body, "{}");
  EXPECT_EQ(inner.header("X-Amz-Target"), "CodePipeline_20150709.ListPipelines");
  EXPECT_FALSE(inner.has_header("Cookie"));
  EXPECT_FALSE(inner.has_header("Authorization"));
  EXPECT_FALSE(inner.has_header("X-CSRF-Token"));
  EXPECT_EQ(f.console->handle(request("GET", "/console/api", "", {{"Cookie", cookie}})).status,
            405);
}

TEST(Console, SigningOutNeedsTheCsrfTokenAndEndsTheSession) {
  Fixture f;
  auto [cookie, csrf] = f.sign_in();
  EXPECT_EQ(
      f.console->handle(request("DELETE", "/console/session", "", {{"Cookie", cookie}})).status,
      403);
  http::Response out = f.console->handle(
      request("DELETE", "/console/session", "", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}));
  EXPECT_EQ(out.status, 204);
  EXPECT_NE(header(out, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(f.console->handle(request("GET", "/console/session", "", {{"Cookie", cookie}})).status,
            401);
}

TEST(Console, EveryAnswerCarriesTheSecurityHeaders) {
  Fixture f;
  for (const char* target : {"/console", "/console/nothing-here.js", "/console/session"}) {
    http::Response r = f.console->handle(request("GET", target));
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff") << target;
    EXPECT_EQ(header(r, "X-Frame-Options"), "DENY") << target;
    EXPECT_NE(header(r, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  }
}

TEST(Console, LogsAnswerPagesToASignedInSessionOnly) {
  Fixture f;
  f.log = {{1, 10, "one"}, {2, 11, "two"}, {3, 12, "three"}};
  EXPECT_EQ(f.console->handle(request("GET", "/console/logs/a-1")).status, 401);
  auto [cookie, csrf] = f.sign_in();
  http::Response r = f.console->handle(
      request("GET", "/console/logs/a-1?from=2&limit=1", "", {{"Cookie", cookie}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = boost::json::parse(r.body).as_object();
  EXPECT_EQ(body.at("actionExecutionId").as_string(), "a-1");
  ASSERT_EQ(body.at("lines").as_array().size(), 1u);
  EXPECT_EQ(body.at("lines").as_array()[0].at("text").as_string(), "two");
  EXPECT_EQ(body.at("nextSeq").as_int64(), 3);
  EXPECT_EQ(
      f.console->handle(request("GET", "/console/logs/nope", "", {{"Cookie", cookie}})).status,
      404);
  http::Response broken =
      f.console->handle(request("GET", "/console/logs/broken", "", {{"Cookie", cookie}}));
  EXPECT_EQ(broken.status, 500);
  EXPECT_EQ(broken.body.find("disk"), std::string::npos) << "the cause is logged, not sent";
  ASSERT_FALSE(f.logged.empty());
  EXPECT_NE(f.logged.back().find("disk I/O error"), std::string::npos);
  http::Response all =
      f.console->handle(request("GET", "/console/logs/a-1?from=0", "", {{"Cookie", cookie}}));
  EXPECT_EQ(boost::json::parse(all.body).at("lines").as_array().size(), 3u);
  EXPECT_EQ(f.console->handle(request("GET", "/console/logs/a-1?from=-1", "", {{"Cookie", cookie}}))
                .status,
            400);
}

TEST(Console, StreamsAreTheEventsAndTheFollowedLogs) {
  EXPECT_TRUE(Console::is_stream(request("GET", "/console/events?pipeline=p")));
  EXPECT_TRUE(Console::is_stream(request("GET", "/console/logs/a-1?follow=1&from=3")));
  EXPECT_FALSE(Console::is_stream(request("GET", "/console/logs/a-1")));
  EXPECT_FALSE(Console::is_stream(request("POST", "/console/events")));
  EXPECT_FALSE(Console::is_stream(request("GET", "/events")));
}

TEST(Console, TheEventStreamNeedsASession) {
  Fixture f;
  auto stream = std::make_shared<RecordingStream>();
  auto refused = f.console->handle_stream(request("GET", "/console/events"), stream);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);
  EXPECT_TRUE(stream->events.empty());
  auto [cookie, csrf] = f.sign_in();
  EXPECT_FALSE(
      f.console->handle_stream(request("GET", "/console/events", "", {{"Cookie", cookie}}), stream)
          .has_value());
  EXPECT_EQ(stream->events.size(), 1u);
}

TEST(Console, AFollowedLogSendsLinesAsTheyAreWrittenThenEnds) {
  Fixture f;
  auto [cookie, csrf] = f.sign_in();
  f.log = {{1, 10, "one"}};
  auto stream = std::make_shared<RecordingStream>();
  auto unknown = f.console->handle_stream(
      request("GET", "/console/logs/zzz?follow=1", "", {{"Cookie", cookie}}), stream);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->status, 404);
  ASSERT_FALSE(
      f.console
          ->handle_stream(request("GET", "/console/logs/a-1?follow=1", "", {{"Cookie", cookie}}),
                          stream)
          .has_value());
  ASSERT_EQ(stream->events.size(), 1u);
  EXPECT_EQ(stream->events[0].first, "lines");
  EXPECT_NE(stream->events[0].second.find("\"one\""), std::string::npos);
  ASSERT_TRUE(f.timer) << "a running action's log is read again later";
  // Nothing new: nothing sent.
  auto tick = std::move(f.timer);
  tick();
  EXPECT_EQ(stream->events.size(), 1u);
  f.log.push_back({2, 20, "two"});
  f.log.push_back({3, 30, "three"});
  tick = std::move(f.timer);
  tick();
  ASSERT_EQ(stream->events.size(), 2u);
  auto sent = boost::json::parse(stream->events[1].second).as_object();
  EXPECT_EQ(sent.at("lines").as_array().size(), 2u);
  EXPECT_EQ(sent.at("nextSeq").as_int64(), 4);
  f.ended = true;
  tick = std::move(f.timer);
  tick();
  ASSERT_EQ(stream->events.size(), 3u);
  EXPECT_EQ(stream->events[2].first, "end");
  EXPECT_NE(stream->events[2].second.find("Succeeded"), std::string::npos);
  EXPECT_TRUE(stream->closed());
  EXPECT_FALSE(f.timer) << "no timer once nobody follows";
}

TEST(Console, AClientThatLeavesStopsBeingFollowed) {
  Fixture f;
  auto [cookie, csrf] = f.sign_in();
  auto stream = std::make_shared<RecordingStream>();
  ASSERT_FALSE(
      f.console
          ->handle_stream(request("GET", "/console/logs/a-1?follow=1", "", {{"Cookie", cookie}}),
                          stream)
          .has_value());
  stream->close();
  auto tick = std::move(f.timer);
  tick();
  EXPECT_FALSE(f.timer);
}

TEST(Console, CookieValuesAreFoundAmongOthers) {
  EXPECT_EQ(cookie_value("a=1; stageline_session=abc; b=2", "stageline_session"), "abc");
  EXPECT_EQ(cookie_value("stageline_session=abc", "stageline_session"), "abc");
  EXPECT_EQ(cookie_value("xstageline_session=abc", "stageline_session"), "");
  EXPECT_EQ(cookie_value("", "stageline_session"), "");
}

}  // namespace
}  // namespace stageline::console
