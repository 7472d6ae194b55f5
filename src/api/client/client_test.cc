#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "api/client/api_client.h"
#include "api/client/http_client.h"
#include "api/client/test_server.h"
#include "api/sigv4/sigv4.h"
#include "gtest/gtest.h"

namespace stageline::api::client {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

// A one-shot HTTP server on 127.0.0.1:<ephemeral>: accepts one connection,
// reads one request (headers and Content-Length body), answers `reply` (or
// nothing, when `answer` is false, holding the connection until destroyed).
class TinyServer {
 public:
  explicit TinyServer(std::string reply, bool answer = true) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof a;
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
    EXPECT_EQ(::pipe(stop_), 0);
    thread_ = std::thread([this, answer] { serve(answer); });
  }
  ~TinyServer() {
    char c = 'x';
    EXPECT_EQ(::write(stop_[1], &c, 1), 1);
    thread_.join();
    ::close(fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The raw request received (valid after the client's call returned).
  const std::string& request() const { return request_; }

 private:
  void serve(bool answer) {
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    char buf[4096];
    for (;;) {
      auto head = request_.find("\r\n\r\n");
      if (head != std::string::npos) {
        auto cl = request_.find("Content-Length: ");
        size_t length = cl == std::string::npos ? 0 : std::strtoul(&request_[cl + 16], nullptr, 10);
        if (request_.size() >= head + 4 + length) break;
      }
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      request_.append(buf, static_cast<size_t>(n));
    }
    if (answer) {
      size_t sent = 0;
      while (sent < reply_.size()) {
        ssize_t n = ::write(c, reply_.data() + sent, reply_.size() - sent);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
    } else {
      ssize_t held = ::read(stop_[0], buf, 1);  // hold the connection open until the test ends
      (void)held;
    }
    ::close(c);
  }

  std::string reply_;
  int fd_ = -1;
  int stop_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::string request_;
  std::thread thread_;
};

std::string json_reply(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

sigv4::Key test_key() {
  return sigv4::Key{.access_key_id = "AKIAIOSFODNN7EXAMPLE",
                    .secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    .principal = "arn:aws:iam::111122223333:user/admin",
                    .enabled = true};
}

ApiClient client_for(const std::string& url) {
  auto c = ApiClient::create(
      ServerLocation{.endpoint_url = url, .region = "us-east-1", .key = test_key()},
      ClientOptions{.timeout = std::chrono::seconds(10),
                    .service = "codepipeline",
                    .clock = [] { return std::chrono::system_clock::now(); },
                    .retry = RetryOptions{.max_attempts = 1,
                                          .base = std::chrono::seconds(1),
                                          .max_backoff = std::chrono::seconds(20),
                                          .sleep = {},
                                          .random = {}}});
  EXPECT_TRUE(c.ok()) << c.status().message();
  return std::move(*c);
}

// --- HTTP response parsing -------------------------------------------------

TEST(HttpResponseParser, ReadsAContentLengthBodyAndStopsAtItsEnd) {
  auto r =
      parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b \r\n\r\n{}junk", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->status, 200);
  EXPECT_EQ((*r)->reason, "OK");
  EXPECT_EQ((*r)->body, "{}");
  EXPECT_EQ((*r)->header("x-a").value_or(""), "b");
}

TEST(HttpResponseParser, AsksForMoreUntilTheWholeBodyHasArrived) {
  auto r = parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\":", false);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  auto headers_only = parse_http_response("HTTP/1.1 200 OK\r\nContent-Len", false);
  ASSERT_TRUE(headers_only.ok());
  EXPECT_FALSE(headers_only->has_value());
}

TEST(HttpResponseParser, RejectsABodyCutShortByTheConnectionClosing) {
  auto r = parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\":", true);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ended after 5 of 10 bytes"), std::string::npos);
}

TEST(HttpResponseParser, DecodesAChunkedBody) {
  auto r = parse_http_response(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\n{\"a\r\n5;x=y\r\n\":1}\n\r\n0\r\n\r\n",
      false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->body, "{\"a\":1}\n");
}

TEST(HttpResponseParser, ReadsABodyWithoutLengthUntilTheConnectionCloses) {
  auto open = parse_http_response("HTTP/1.1 200 OK\r\n\r\nabc", false);
  ASSERT_TRUE(open.ok());
  EXPECT_FALSE(open->has_value());
  auto closed = parse_http_response("HTTP/1.1 200 OK\r\n\r\nabc", true);
  ASSERT_TRUE(closed.ok());
  ASSERT_TRUE(closed->has_value());
  EXPECT_EQ((*closed)->body, "abc");
}

TEST(HttpResponseParser, RejectsMalformedStatusLinesHeadersAndLengths) {
  for (const char* bad :
       {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "SMTP 220\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"}) {
    auto r = parse_http_response(bad, true);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("malformed HTTP response"), std::string::npos);
    }
  }
}

TEST(HttpResponseParser, RejectsAResponseLargerThanTheLimit) {
  auto r = parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", false, 50);
  EXPECT_FALSE(r.ok());
}

TEST(HttpResponseParser, SaysWhenTheServerClosedWithoutAnswering) {
  auto r = parse_http_response("", true);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("closed the connection without answering"),
            std::string::npos);
}

// --- Endpoints ---------------------------------------------------------------

TEST(Endpoint, ParsesIPv4IPv6AndHostNamesWithOrWithoutAPort) {
  auto a = parse_endpoint("http://127.0.0.1:7300");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7300);
  EXPECT_EQ(a->host_header(), "127.0.0.1:7300");
  auto b = parse_endpoint("http://[::1]:8080/");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->host_header(), "[::1]:8080");
  EXPECT_EQ(b->display(), "[::1]:8080");
  auto c = parse_endpoint("HTTP://ci.example");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 80);
  EXPECT_EQ(c->host_header(), "ci.example");
}

TEST(Endpoint, RejectsHttpsPathsBadPortsAndMissingHosts) {
  for (const char* bad :
       {"https://x:1", "127.0.0.1:7300", "http://:7300", "http://h:0", "http://h:70000",
        "http://h:1/api", "http://h:1?x=1", "http://::1:80", "http://h:", "ftp://h"}) {
    EXPECT_FALSE(parse_endpoint(bad).ok()) << bad;
  }
  EXPECT_NE(parse_endpoint("https://x").status().message().find("https is not supported"),
            std::string::npos);
}

// --- Calls over a real socket ---------------------------------------------------

TEST(ApiClient, SendsASignedRequestTheServerSideVerifierAccepts) {
  TinyServer server(json_reply(200, R"({"pipelines":[{"name":"p"}]})"));
  ApiClient client = client_for(server.url());
  auto out = client.call(kCodePipelineTargetPrefix, "ListPipelines", json::object{});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(json::serialize(*out), R"({"pipelines":[{"name":"p"}]})");

  // Re-read the captured request and verify it with the server's verifier.
  auto parsed = parse_http_response(
      "HTTP/1.1 200 OK" + server.request().substr(server.request().find("\r\n")), true);
  ASSERT_TRUE(parsed.ok() && parsed->has_value()) << server.request();
  const std::string& raw = server.request();
  EXPECT_EQ(raw.substr(0, raw.find("\r\n")), "POST / HTTP/1.1");
  sigv4::HttpRequest request{
      .method = "POST", .target = "/", .headers = (*parsed)->headers, .body = (*parsed)->body};
  EXPECT_EQ(request.body, "{}");
  EXPECT_EQ((*parsed)->header("X-Amz-Target").value_or(""), "CodePipeline_20150709.ListPipelines");
  EXPECT_EQ((*parsed)->header("Content-Type").value_or(""), "application/x-amz-json-1.1");
  sigv4::InMemoryKeySource keys;
  keys.put(test_key());
  sigv4::Verifier verifier(sigv4::VerifierOptions{}, keys);
  auto auth = verifier.verify(request.view());
  EXPECT_TRUE(auth.ok()) << auth.status().message();
}

TEST(ApiClient, MapsAnErrorBodyToAStatusNamingTheTypeAndMessage) {
  TinyServer server(
      json_reply(400, R"({"__type":"PipelineNotFoundException","message":"no pipeline 'x'"})"));
  ApiClient client = client_for(server.url());
  auto out = client.call(kCodePipelineTargetPrefix, "GetPipeline", json::object{{"name", "x"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(out.status().message(), "PipelineNotFoundException: no pipeline 'x'");
}

TEST(ApiClient, KeepsTheServiceErrorTypeAndStatusApartInSend) {
  TinyServer server(json_reply(
      500, R"({"__type":"com.amazonaws.codepipeline#InternalFailure:http://x","Message":"boom"})"));
  ApiClient client = client_for(server.url());
  auto reply = client.send(kCodePipelineTargetPrefix, "ListPipelines", json::object{});
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  ASSERT_TRUE(reply->error.has_value());
  EXPECT_EQ(reply->error->type, "InternalFailure");
  EXPECT_EQ(reply->error->message, "boom");
  EXPECT_EQ(reply->error->http_status, 500);
}

TEST(ApiClient, UsesTheHttpStatusAsTheTypeWhenTheBodyHasNone) {
  ServiceError e = parse_service_error(503, "<html>busy</html>");
  EXPECT_EQ(e.type, "503");
  EXPECT_EQ(e.message, "");
}

TEST(ApiClient, ReadsAnEmptySuccessfulBodyAsAnEmptyObject) {
  TinyServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ApiClient client = client_for(server.url());
  auto out = client.call(kCodePipelineTargetPrefix, "DeletePipeline", json::object{{"name", "p"}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(json::serialize(*out), "{}");
}

TEST(ApiClient, RejectsASuccessfulBodyThatIsNotAJsonObject) {
  TinyServer server(json_reply(200, "[1,2]"));
  ApiClient client = client_for(server.url());
  auto out = client.call(kCodePipelineTargetPrefix, "ListPipelines", json::object{});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("not a JSON object"), std::string::npos);
}

TEST(ApiClient, SaysHowToStartAServerWhenTheConnectionIsRefused) {
  // A port that was just free: bind, read it, close.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  ApiClient client = client_for("http://127.0.0.1:" + std::to_string(port));
  auto out = client.call(kCodePipelineTargetPrefix, "ListPipelines", json::object{});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kIo);
  EXPECT_EQ(out.status().message(), "no Stageline server at 127.0.0.1:" + std::to_string(port) +
                                        ": connection refused; start one with `stageline server`");
}

TEST(ApiClient, GivesUpWhenTheServerDoesNotAnswerInTime) {
  TinyServer server("", /*answer=*/false);
  auto c = ApiClient::create(
      ServerLocation{.endpoint_url = server.url(), .region = "us-east-1", .key = test_key()},
      ClientOptions{.timeout = std::chrono::milliseconds(200),
                    .service = "codepipeline",
                    .clock = [] { return std::chrono::system_clock::now(); },
                    .retry = RetryOptions{.max_attempts = 1,
                                          .base = std::chrono::seconds(1),
                                          .max_backoff = std::chrono::seconds(20),
                                          .sleep = {},
                                          .random = {}}});
  ASSERT_TRUE(c.ok());
  auto out = c->call(kCodePipelineTargetPrefix, "ListPipelines", json::object{});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("timed out after 200 ms"), std::string::npos)
      << out.status().message();
}

// --- Retries (the aws CLI's standard mode) ------------------------------------

using std::chrono::milliseconds;
using testing::ScriptedServer;

// A client with the standard retry options, whose back-off waits are recorded
// instead of slept, with the jitter fixed at 0.5.
struct RetryingClient {
  explicit RetryingClient(const std::string& url) {
    auto c = ApiClient::create(
        ServerLocation{.endpoint_url = url, .region = "us-east-1", .key = test_key()},
        ClientOptions{.timeout = std::chrono::seconds(10),
                      .service = "codepipeline",
                      .clock = [] { return std::chrono::system_clock::now(); },
                      .retry = RetryOptions{.max_attempts = 3,
                                            .base = std::chrono::seconds(1),
                                            .max_backoff = std::chrono::seconds(20),
                                            .sleep = [this](milliseconds d) { waits.push_back(d); },
                                            .random = [] { return 0.5; }}});
    EXPECT_TRUE(c.ok()) << c.status().message();
    client.emplace(std::move(*c));
  }
  std::vector<milliseconds> waits;
  std::optional<ApiClient> client;
};

TEST(ApiClientRetries, RetriesA503AndReturnsTheAnswerThatFollows) {
  ScriptedServer server(
      {ScriptedServer::reply(json_reply(503, R"({"__type":"ServiceUnavailableException"})")),
       ScriptedServer::reply(json_reply(200, R"({"pipelines":[]})"))});
  RetryingClient c(server.url());
  auto reply = c.client->send(kCodePipelineTargetPrefix, "ListPipelines", json::object{});
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_FALSE(reply->error.has_value());
  EXPECT_EQ(json::serialize(reply->output), R"({"pipelines":[]})");
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(c.waits, std::vector<milliseconds>{milliseconds(500)});
  // Each attempt is signed afresh, with the same body.
  auto body = [](const std::string& raw) { return raw.substr(raw.find("\r\n\r\n") + 4); };
  EXPECT_EQ(body(server.requests()[0]), "{}");
  EXPECT_EQ(body(server.requests()[1]), "{}");
}

TEST(ApiClientRetries, GivesUpAfterThreeAttemptsAndSaysTheRetriesRanOut) {
  const std::string boom = json_reply(500, R"({"__type":"InternalFailure","message":"boom"})");
  ScriptedServer server({ScriptedServer::reply(boom), ScriptedServer::reply(boom),
                         ScriptedServer::reply(boom), ScriptedServer::reply(boom)});
  RetryingClient c(server.url());
  auto reply = c.client->send(kCodePipelineTargetPrefix, "ListPipelines", json::object{});
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  ASSERT_TRUE(reply->error.has_value());
  EXPECT_EQ(reply->error->type, "InternalFailure");
  EXPECT_EQ(reply->error->retry_attempts, 2);
  EXPECT_TRUE(reply->error->max_attempts_reached);
  EXPECT_EQ(server.requests().size(), 3u);
  // rand * 1 s, then rand * 2 s.
  EXPECT_EQ(c.waits, (std::vector<milliseconds>{milliseconds(500), milliseconds(1000)}));
}

TEST(ApiClientRetries, RetriesThrottlingButNoOther4xx) {
  ScriptedServer server(
      {ScriptedServer::reply(json_reply(400, R"({"__type":"ThrottlingException"})")),
       ScriptedServer::reply(json_reply(400, R"({"__type":"LimitExceededException"})")),
       ScriptedServer::reply(json_reply(400, R"({"__type":"ThrottlingException"})"))});
  RetryingClient c(server.url());
  auto reply = c.client->send(kCodePipelineTargetPrefix, "CreatePipeline", json::object{});
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(reply->error.has_value());
  EXPECT_EQ(server.requests().size(), 3u);

  ScriptedServer other(
      {ScriptedServer::reply(json_reply(400, R"({"__type":"PipelineNotFoundException"})")),
       ScriptedServer::reply(json_reply(200, "{}"))});
  RetryingClient d(other.url());
  auto not_found = d.client->send(kCodePipelineTargetPrefix, "GetPipeline", json::object{});
  ASSERT_TRUE(not_found.ok());
  ASSERT_TRUE(not_found->error.has_value());
  EXPECT_EQ(not_found->error->type, "PipelineNotFoundException");
  EXPECT_EQ(not_found->error->retry_attempts, 0);
  EXPECT_FALSE(not_found->error->max_attempts_reached);
  EXPECT_EQ(other.requests().size(), 1u);
  EXPECT_TRUE(d.waits.empty());
}

TEST(ApiClientRetries, RetriesAConnectionResetBeforeAnAnswer) {
  ScriptedServer server({ScriptedServer::reset(), ScriptedServer::reply("HTTP/1.1 200 OK\r\n"),
                         ScriptedServer::reply(json_reply(200, R"({"ok":1})"))});
  RetryingClient c(server.url());
  auto reply = c.client->send(kCodePipelineTargetPrefix, "ListPipelines", json::object{});
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ(json::serialize(reply->output), R"({"ok":1})");
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(c.waits.size(), 2u);
}

TEST(ApiClientRetries, RetriesARefusedConnectionThreeTimesThenSaysSo) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  RetryingClient c("http://127.0.0.1:" + std::to_string(port));
  auto reply = c.client->send(kCodePipelineTargetPrefix, "ListPipelines", json::object{});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().message(),
            "no Stageline server at 127.0.0.1:" + std::to_string(port) +
                ": connection refused; start one with `stageline server` (after 3 attempts)");
  EXPECT_EQ(c.waits.size(), 2u);
}

TEST(ApiClientRetries, DoesNotRetryAMalformedAnswer) {
  ScriptedServer server(
      {ScriptedServer::reply("SMTP ready\r\n\r\n"), ScriptedServer::reply(json_reply(200, "{}"))});
  RetryingClient c(server.url());
  auto reply = c.client->send(kCodePipelineTargetPrefix, "ListPipelines", json::object{});
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.status().message().find("malformed HTTP response"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(RetryPolicy, BacksOffExponentiallyWithFullJitterUpToTwentySeconds) {
  RetryOptions o;
  EXPECT_EQ(retry_delay(1, 0.5, o), milliseconds(500));
  EXPECT_EQ(retry_delay(2, 0.5, o), milliseconds(1000));
  EXPECT_EQ(retry_delay(3, 1.0, o), milliseconds(4000));
  EXPECT_EQ(retry_delay(40, 1.0, o), milliseconds(20000));
  EXPECT_EQ(retry_delay(2, 0.0, o), milliseconds(0));
}

TEST(RetryPolicy, RetriesWhatTheStandardModeRetries) {
  auto err = [](int status, std::string type) {
    return ServiceError{.type = std::move(type),
                        .message = "",
                        .http_status = status,
                        .retry_attempts = 0,
                        .max_attempts_reached = false};
  };
  for (int status : {500, 502, 503, 504, 429})
    EXPECT_TRUE(is_retryable_error(err(status, "X"))) << status;
  for (const char* type : {"ThrottlingException", "Throttling", "ThrottledException",
                           "RequestThrottledException", "LimitExceededException", "RequestTimeout",
                           "RequestTimeoutException", "PriorRequestNotComplete"})
    EXPECT_TRUE(is_retryable_error(err(400, type))) << type;
  for (int status : {400, 403, 404, 409, 501})
    EXPECT_FALSE(is_retryable_error(err(status, "ValidationException"))) << status;
  EXPECT_TRUE(is_retryable_failure(TransportFailure::kRefused));
  EXPECT_TRUE(is_retryable_failure(TransportFailure::kReset));
  EXPECT_TRUE(is_retryable_failure(TransportFailure::kConnectTimeout));
  EXPECT_FALSE(is_retryable_failure(TransportFailure::kTimeout));
  EXPECT_FALSE(is_retryable_failure(TransportFailure::kMalformed));
  EXPECT_FALSE(is_retryable_failure(TransportFailure::kResolve));
}

// --- Finding the local server ------------------------------------------------

// LocateOptions with every member set (designated initializers that leave
// members out are an error under -Wmissing-field-initializers).
LocateOptions locate_options(fs::path data_dir, fs::path default_dir,
                             std::optional<fs::path> env_file = std::nullopt,
                             std::string endpoint_url = "", std::string region = "") {
  LocateOptions o;
  o.endpoint_url = std::move(endpoint_url);
  o.region = std::move(region);
  o.data_dir = std::move(data_dir);
  o.default_data_dir = std::move(default_dir);
  o.shared_credentials_file = std::move(env_file);
  return o;
}

class LocateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "client-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void write_key(const fs::path& p, const std::string& id) {
    sigv4::Key k = test_key();
    k.access_key_id = id;
    ASSERT_TRUE(sigv4::write_credentials_file(p.string(), k).ok());
  }
  fs::path dir_;
};

TEST_F(LocateTest, ReadsEndpointRegionAndKeyFromTheDataDirectory) {
  write(dir_ / "data" / "server.json",
        R"({"endpoint":"http://127.0.0.1:9999","region":"eu-west-1","accountId":"1","pid":1})");
  write_key(dir_ / "data" / "credentials", "AKIADATADIR000000000");
  auto where = locate_server(locate_options(dir_ / "data", dir_ / "default", dir_ / "env-creds"));
  ASSERT_TRUE(where.ok()) << where.status().message();
  EXPECT_EQ(where->endpoint_url, "http://127.0.0.1:9999");
  EXPECT_EQ(where->region, "eu-west-1");
  EXPECT_EQ(where->key.access_key_id, "AKIADATADIR000000000");
}

TEST_F(LocateTest, FlagsWinOverServerJsonAndDefaultsApplyWithoutIt) {
  write(dir_ / "default" / "server.json", R"({"endpoint":"http://127.0.0.1:9999"})");
  write_key(dir_ / "default" / "credentials", "AKIADEFAULT000000000");
  auto flagged = locate_server(
      locate_options("", dir_ / "default", std::nullopt, "http://[::1]:1234", "ap-south-1"));
  ASSERT_TRUE(flagged.ok()) << flagged.status().message();
  EXPECT_EQ(flagged->endpoint_url, "http://[::1]:1234");
  EXPECT_EQ(flagged->region, "ap-south-1");
  fs::remove(dir_ / "default" / "server.json");
  auto plain = locate_server(locate_options("", dir_ / "default"));
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(plain->endpoint_url, "http://127.0.0.1:7300");
  EXPECT_EQ(plain->region, "us-east-1");
}

TEST_F(LocateTest, HonoursTheSharedCredentialsFileVariableUnlessADataDirIsGiven) {
  write_key(dir_ / "default" / "credentials", "AKIADEFAULT000000000");
  write_key(dir_ / "env-creds", "AKIAENVIRONMENT00000");
  write_key(dir_ / "data" / "credentials", "AKIADATADIR000000000");
  LocateOptions o = locate_options("", dir_ / "default", dir_ / "env-creds");
  auto env = locate_server(o);
  ASSERT_TRUE(env.ok()) << env.status().message();
  EXPECT_EQ(env->key.access_key_id, "AKIAENVIRONMENT00000");
  o.data_dir = dir_ / "data";
  auto data = locate_server(o);
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(data->key.access_key_id, "AKIADATADIR000000000");
}

TEST_F(LocateTest, ExplainsAMissingCredentialsFile) {
  auto where = locate_server(locate_options("", dir_ / "nothing"));
  ASSERT_FALSE(where.ok());
  EXPECT_NE(where.status().message().find("stageline server"), std::string::npos)
      << where.status().message();
  EXPECT_NE(where.status().message().find((dir_ / "nothing" / "credentials").string()),
            std::string::npos)
      << where.status().message();
}

TEST_F(LocateTest, RejectsAServerJsonThatIsNotAnObjectOfStrings) {
  write_key(dir_ / "d" / "credentials", "AKIADEFAULT000000000");
  write(dir_ / "d" / "server.json", "[1]");
  EXPECT_FALSE(locate_server(locate_options(dir_ / "d", dir_ / "default")).ok());
  write(dir_ / "d" / "server.json", R"({"endpoint":7})");
  EXPECT_FALSE(locate_server(locate_options(dir_ / "d", dir_ / "default")).ok());
  write(dir_ / "d" / "server.json", R"({"endpoint":"https://x"})");
  EXPECT_FALSE(locate_server(locate_options(dir_ / "d", dir_ / "default")).ok());
}

}  // namespace
}  // namespace stageline::api::client

namespace stageline::api::client {
namespace {

TEST(ApiClientRequest, SendsOneSignedRequestToAnExtensionPathAndReturnsAnyAnswer) {
  ScriptedServer server({ScriptedServer::reply(json_reply(404, R"({"__type":"Nope"})"))});
  RetryingClient c(server.url());
  auto answer = c.client->request("POST", "/action-types", "application/json", R"({"a":1})");
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  EXPECT_EQ(answer->status, 404) << "not retried, not turned into an error";
  ASSERT_EQ(server.requests().size(), 1u);
  const std::string raw = server.requests()[0];  // requests() returns a copy
  EXPECT_TRUE(raw.starts_with("POST /action-types HTTP/1.1\r\n")) << raw;
  EXPECT_NE(raw.find("Content-Type: application/json\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Authorization: AWS4-HMAC-SHA256 Credential="), std::string::npos) << raw;
  EXPECT_NE(raw.find("/codepipeline/aws4_request"), std::string::npos) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\n{\"a\":1}")) << raw;
}

}  // namespace
}  // namespace stageline::api::client
