// Drives the real server over real loopback sockets with a small blocking
// client written on POSIX sockets (no Beast here, so this TU stays cheap).
// Timeouts are shortened so the slow-client tests take fractions of a second;
// every wait is bounded, none is a fixed sleep standing in for an event.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "api/http/http.h"
#include "base/strings.h"

namespace stageline::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Reply {
  int status = 0;
  Headers headers;
  std::string body;
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (iequals(k, name)) return v;
    }
    return "";
  }
  bool has_length() const {
    for (const auto& h : headers) {
      if (iequals(h.first, "Content-Length")) return true;
    }
    return false;
  }
};

// A blocking HTTP/1.1 client over one TCP connection; just enough HTTP to
// check the server: Content-Length and chunked responses, interim 100s.
class Client {
 public:
  explicit Client(int port, const char* host = "127.0.0.1", int rcvbuf = 0) {
    bool v6 = std::string_view(host).find(':') != std::string_view::npos;
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc;
    if (v6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET6, host, &a.sin6_addr);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET, host, &a.sin_addr);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    connected_ = rc == 0;
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads more bytes into the buffer; false on EOF, error or timeout.
  bool fill(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  // The status line and headers of the next response (body left unread).
  std::optional<Reply> read_head(std::chrono::milliseconds timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    Reply r;
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos <= head.size()) {
      size_t nl = head.find("\r\n", pos);
      if (nl == std::string::npos) nl = head.size();
      lines.push_back(head.substr(pos, nl - pos));
      pos = nl + 2;
    }
    if (lines.empty() || lines[0].size() < 12) return std::nullopt;
    r.status = std::stoi(lines[0].substr(9, 3));
    for (size_t i = 1; i < lines.size(); ++i) {
      size_t colon = lines[i].find(':');
      if (colon == std::string::npos) continue;
      std::string value = lines[i].substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace_back(lines[i].substr(0, colon), value);
    }
    return r;
  }

  // One chunk of a chunked body; "" for the last chunk, nullopt on EOF/timeout.
  std::optional<std::string> read_chunk(std::chrono::milliseconds timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    size_t nl;
    while ((nl = buf_.find("\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    size_t size = std::stoul(buf_.substr(0, nl), nullptr, 16);
    while (buf_.size() < nl + 2 + size + 2) {
      if (!fill(deadline)) return std::nullopt;
    }
    std::string payload = buf_.substr(nl + 2, size);
    buf_.erase(0, nl + 2 + size + 2);
    return payload;
  }

  // A whole response; interim 1xx responses are returned like any other.
  std::optional<Reply> read_response(std::chrono::milliseconds timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    auto r = read_head(timeout);
    if (!r || r->status / 100 == 1) return r;
    if (iequals(r->header("Transfer-Encoding"), "chunked")) {
      for (;;) {
        auto c = read_chunk(
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
        if (!c) return std::nullopt;
        if (c->empty()) return r;
        r->body += *c;
      }
    }
    size_t length = r->has_length() ? std::stoul(r->header("Content-Length")) : 0;
    while (buf_.size() < length) {
      if (!fill(deadline)) return std::nullopt;
    }
    r->body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // True when the server closes the connection (EOF or reset) within
  // `timeout`; bytes arriving meanwhile are kept.
  bool closed_within(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return true;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string post_request(std::string_view body, std::string_view target = "/",
                         std::string_view extra = "") {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         "X-Amz-Target: CodePipeline_20150709.ListPipelines\r\n"
         "Content-Type: application/x-amz-json-1.1\r\n" +
         std::string(extra) + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

// Starts a server on 127.0.0.1:0 whose handler echoes the body and reports
// what it saw; run() runs on `control_`.
class ServerTest : public ::testing::Test {
 protected:
  void start(Server::Options options = {}, Server::StreamRoute streams = {}) {
    options.listen = listen_;
    options.log = [this](const std::string& m) { logged_.push_back(m); };
    server_ = std::make_unique<Server>(
        options, [this](const Request& r) { return handle(r); }, std::move(streams));
    Status s = server_->start();
    ASSERT_TRUE(s.ok()) << s.message();
    port_ = server_->port();
    ASSERT_GT(port_, 0);
    control_ = std::thread([this] {
      control_id_ = std::this_thread::get_id();
      server_->run();
      returned_ = true;
    });
  }

  void TearDown() override { stop_and_join(); }

  void stop_and_join() {
    if (!server_) return;
    server_->stop();
    if (control_.joinable()) control_.join();
  }

  Response handle(const Request& r) {
    ++handled_;  // control thread only
    if (custom_handler_) return custom_handler_(r);
    if (r.path() == "/throw") throw std::runtime_error("boom");
    Response res;
    res.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                   {"X-Echo-Request-Id", r.request_id},
                   {"X-Echo-Target", r.target},
                   {"X-Echo-Method", r.method},
                   {"X-Echo-Amz-Target", std::string(r.header("x-amz-target"))},
                   {"X-Echo-On-Control", std::this_thread::get_id() == control_id_ ? "1" : "0"}};
    res.body = r.body;
    return res;
  }

  // Runs `fn` on the control thread and returns its result.
  template <typename F>
  auto on_control(F fn) -> decltype(fn()) {
    std::promise<decltype(fn())> done;
    server_->post([&] {
      if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        done.set_value();
      } else {
        done.set_value(fn());
      }
    });
    auto f = done.get_future();
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    return f.get();
  }

  std::string listen_ = "127.0.0.1:0";
  std::unique_ptr<Server> server_;
  std::thread control_;
  std::thread::id control_id_;
  std::atomic<bool> returned_{false};
  int port_ = 0;
  int handled_ = 0;                                         // control thread only
  std::vector<std::string> logged_;                         // control thread only
  std::function<Response(const Request&)> custom_handler_;  // set before start()
};

Server::Options fast_options() {
  Server::Options o;
  o.header_timeout = 300ms;
  o.body_timeout = 300ms;
  o.idle_timeout = 500ms;
  o.write_timeout = 1s;
  o.shutdown_grace = 2s;
  return o;
}

// ---------------------------------------------------------------------------
// Requests and responses

TEST_F(ServerTest, AnswersAJsonPostWithTheRequestIdTheHandlerSaw) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send(post_request("{}")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{}");
  EXPECT_EQ(r->header("x-amzn-RequestId").size(), 36u);
  EXPECT_EQ(r->header("x-amzn-RequestId"), r->header("X-Echo-Request-Id"));
  EXPECT_EQ(r->header("X-Echo-Amz-Target"), "CodePipeline_20150709.ListPipelines");
  EXPECT_EQ(r->header("X-Echo-On-Control"), "1");
  EXPECT_EQ(r->header("Content-Length"), "2");
  EXPECT_EQ(r->header("Server"), "Stageline");
  EXPECT_TRUE(r->header("Date").ends_with(" GMT")) << r->header("Date");
  EXPECT_EQ(r->header("Connection"), "");
}

TEST_F(ServerTest, GivesEveryRequestAFreshRequestId) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send(post_request("{}")));
  auto a = c.read_response();
  ASSERT_TRUE(c.send(post_request("{}")));
  auto b = c.read_response();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->header("x-amzn-RequestId"), b->header("x-amzn-RequestId"));
}

TEST_F(ServerTest, ServesAHundredRequestsOnOneKeepAliveConnection) {
  start();
  Client c(port_);
  for (int i = 0; i < 100; ++i) {
    std::string body = "{\"i\":" + std::to_string(i) + "}";
    ASSERT_TRUE(c.send(post_request(body)));
    auto r = c.read_response();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->body, body);
  }
  EXPECT_EQ(on_control([&] { return handled_; }), 100);
}

TEST_F(ServerTest, AnswersPipelinedRequestsInOrder) {
  start();
  Client c(port_);
  std::string all;
  for (int i = 0; i < 20; ++i) all += post_request(std::to_string(i), "/r" + std::to_string(i));
  all +=
      "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n";
  all += "GET /last HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c.send(all));
  for (int i = 0; i < 20; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->header("X-Echo-Target"), "/r" + std::to_string(i));
    EXPECT_EQ(r->body, std::to_string(i));
  }
  auto chunked = c.read_response();
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->body, "abc");
  auto last = c.read_response();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->header("X-Echo-Target"), "/last");
  EXPECT_EQ(last->header("X-Echo-Method"), "GET");
}

TEST_F(ServerTest, DecodesAChunkedRequestBodyWithExtensionsAndTrailers) {
  start();
  Client c(port_);
  ASSERT_TRUE(
      c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
}

TEST_F(ServerTest, Answers100ContinueBeforeReadingTheBody) {
  start();
  Client c(port_);
  ASSERT_TRUE(
      c.send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("body"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "body");
}

TEST_F(ServerTest, ClosesAfterAnsweringAClientThatAskedForClose) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send(post_request("{}", "/", "Connection: close\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(ServerTest, ClosesAnHttp10ConnectionUnlessAskedToKeepItAlive) {
  start();
  Client a(port_);
  ASSERT_TRUE(a.send("GET / HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(a.read_response());
  EXPECT_TRUE(a.closed_within(2s));
  Client b(port_);
  ASSERT_TRUE(b.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = b.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "keep-alive");
  ASSERT_TRUE(b.send("GET /again HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(b.read_response());
}

TEST_F(ServerTest, TurnsAHandlerExceptionInto500AndKeepsServing) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send(post_request("{}", "/throw")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("\"__type\":\"InternalFailure\""), std::string::npos);
  ASSERT_TRUE(c.send(post_request("{}")));
  auto ok = c.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  auto logged = on_control([&] { return logged_; });
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("boom"), std::string::npos);
}

TEST_F(ServerTest, HoldsTwoHundredConcurrentConnections) {
  start();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 200; ++i) {
    clients.push_back(std::make_unique<Client>(port_));
    ASSERT_TRUE(clients.back()->connected());
  }
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(clients[static_cast<size_t>(i)]->send(post_request(std::to_string(i))));
  }
  for (int i = 0; i < 200; ++i) {
    auto r = clients[static_cast<size_t>(i)]->read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, std::to_string(i));
  }
}

// ---------------------------------------------------------------------------
// Limits and hostile clients

TEST_F(ServerTest, Answers413AtOnceForAnOversizedBodyAndKeepsServingOthers) {
  Server::Options o;
  o.body_limit = 1024;
  start(o);
  Client c(port_);
  auto t0 = Clock::now();
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n"));
  ASSERT_TRUE(c.send(std::string(4096, 'x')));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_LT(Clock::now() - t0, 2s);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_NE(r->body.find("\"__type\":\"RequestEntityTooLargeException\""), std::string::npos);
  EXPECT_NE(r->body.find("1024 bytes"), std::string::npos);
  EXPECT_TRUE(c.closed_within(3s));

  Client other(port_);
  ASSERT_TRUE(other.send(post_request(std::string(1024, 'y'))));
  auto ok = other.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body.size(), 1024u);
  EXPECT_EQ(on_control([&] { return handled_; }), 1);
}

// ---------------------------------------------------------------------------
// Large bodies: a per-request limit, spooling to a file, file responses

class LargeBodyTest : public ServerTest {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/http-spool-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    spool_ = tmpl;
    custom_handler_ = [this](const Request& r) {
      Response res;
      seen_file_ = r.body_file;
      if (!r.body_file.empty()) {
        FILE* f = std::fopen(r.body_file.c_str(), "rb");
        std::string content;
        char buf[65536];
        size_t n;
        while (f && (n = std::fread(buf, 1, sizeof buf, f)) > 0) content.append(buf, n);
        if (f) std::fclose(f);
        res.headers.emplace_back("X-Spooled", "1");
        res.body = std::to_string(content.size()) + ":" + content.substr(0, 16);
      } else {
        res.body = std::to_string(r.body.size()) + ":" + r.body.substr(0, 16);
      }
      return res;
    };
  }
  void TearDown() override {
    ServerTest::TearDown();
    std::string cmd = "rm -rf " + spool_;
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }
  Server::Options options() {
    Server::Options o;
    o.body_limit = 1024;
    o.spool_dir = spool_;
    o.spool_threshold = 4096;
    o.body_limit_for = [](const Request& head) -> std::optional<uint64_t> {
      if (head.method == "PUT") return 1 << 24;
      return std::nullopt;
    };
    return o;
  }
  size_t spool_entries() {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(spool_)) {
      (void)e;
      ++n;
    }
    return n;
  }

  std::string spool_;
  std::string seen_file_;  // control thread only
};

TEST_F(LargeBodyTest, ARouteWithALargerLimitGetsItsBodySpooledToAFileRemovedAfterwards) {
  start(options());
  Client c(port_);
  std::string body(3 << 20, 'q');
  body[0] = 'A';
  ASSERT_TRUE(c.send("PUT /bucket/key HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n"));
  ASSERT_TRUE(c.send(body));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("X-Spooled"), "1");
  EXPECT_EQ(r->body, std::to_string(body.size()) + ":" + body.substr(0, 16));
  std::string file = on_control([&] { return seen_file_; });
  EXPECT_EQ(file.rfind(spool_, 0), 0u) << file;
  EXPECT_EQ(spool_entries(), 0u);  // removed once the handler returned
}

TEST_F(LargeBodyTest, AChunkedBodyOfUnknownLengthIsSpooledToo) {
  start(options());
  Client c(port_);
  std::string chunk(5000, 'c');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  ASSERT_TRUE(c.send("PUT /k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     std::string(size) + "\r\n" + chunk + "\r\n" + std::string(size) + "\r\n" +
                     chunk + "\r\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Spooled"), "1");
  EXPECT_EQ(r->body, "10000:" + chunk.substr(0, 16));
}

TEST_F(LargeBodyTest, SmallBodiesStayInMemoryAndOtherRoutesKeepTheDefaultLimit) {
  start(options());
  Client c(port_);
  ASSERT_TRUE(c.send("PUT /k HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" +
                     std::string(2000, 's')));
  auto small = c.read_response();
  ASSERT_TRUE(small);
  EXPECT_EQ(small->header("X-Spooled"), "");
  EXPECT_EQ(small->body.substr(0, 5), "2000:");

  Client post(port_);
  ASSERT_TRUE(post.send(post_request(std::string(2000, 'p'))));
  auto refused = post.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413);

  Client huge(port_);
  ASSERT_TRUE(huge.send("PUT /k HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n"));
  auto too_big = huge.read_response();
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_NE(too_big->body.find(std::to_string(1 << 24)), std::string::npos) << too_big->body;
}

TEST_F(LargeBodyTest, AFileBodyIsStreamedFromItsOffsetAndHeadOnlyAnnouncesItsLength) {
  std::string path = spool_ + "/served";
  std::string content;
  for (int i = 0; i < 400000; ++i) content += static_cast<char>('a' + i % 26);
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
  }
  custom_handler_ = [&](const Request& r) {
    Response res;
    int fd = r.method == "HEAD" ? -1 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    res.file = std::make_shared<FileBody>(fd, 10, content.size() - 10);
    return res;
  };
  start(options());
  Client c(port_);
  ASSERT_TRUE(c.send("GET /f HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Length"), std::to_string(content.size() - 10));
  EXPECT_TRUE(r->body == content.substr(10));
  ASSERT_TRUE(c.send("HEAD /f HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("Content-Length"), std::to_string(content.size() - 10));
  // Nothing follows the HEAD answer: the next request on the connection works.
  ASSERT_TRUE(c.send("GET /f HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto again = c.read_response();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->body == content.substr(10));
}

TEST_F(ServerTest, Answers413InsteadOf100ContinueForAnOversizedBody) {
  Server::Options o;
  o.body_limit = 1024;
  start(o);
  Client c(port_);
  ASSERT_TRUE(
      c.send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
             "Content-Length: 2048\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(ServerTest, Answers413WhenAChunkedBodyOutgrowsTheLimit) {
  Server::Options o;
  o.body_limit = 1024;
  start(o);
  Client c(port_);
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string piece(512, 'z');
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.send("200\r\n" + piece + "\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(on_control([&] { return handled_; }), 0);
}

TEST_F(ServerTest, Answers431ForOversizedHeaders) {
  Server::Options o;
  o.header_limit = 4096;
  start(o);
  Client c(port_);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.closed_within(3s));
}

TEST_F(ServerTest, Answers400ToGarbageAndCloses) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send(std::string("\x01\x02\xff garbage \x7f\r\n\r\n", 17)));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("MalformedHttpRequestException"), std::string::npos);
  EXPECT_TRUE(c.closed_within(3s));
}

TEST_F(ServerTest, Answers400ToConflictingLengths) {
  start();
  Client c(port_);
  ASSERT_TRUE(
      c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
             "Content-Length: 4\r\n\r\nabcd"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(ServerTest, SurvivesRandomBytesAndStillAnswers) {
  start(fast_options());
  std::mt19937 gen(42);
  for (int i = 0; i < 200; ++i) {
    Client c(port_);
    std::string junk;
    size_t n = gen() % 300;
    // Half the cases start like a real request so the parser goes deeper.
    if (i % 2 == 0) junk = "POST / HTTP/1.1\r\n";
    for (size_t k = 0; k < n; ++k) junk.push_back(static_cast<char>(gen() % 256));
    if (i % 3 == 0) junk += "\r\n\r\n";
    c.send(junk);
    // Whatever came back, the connection must end (answer, timeout or close).
    EXPECT_TRUE(c.closed_within(3s)) << "case " << i;
  }
  Client ok(port_);
  ASSERT_TRUE(ok.send(post_request("{}")));
  auto r = ok.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, DisconnectsAClientThatSendsHalfAHeaderAndStalls) {
  start(fast_options());
  Client c(port_);
  auto t0 = Clock::now();
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\n"));
  // Keep dribbling bytes: a per-read timeout would never fire; ours is per header.
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(100ms);
    c.send("X");
  }
  EXPECT_TRUE(c.closed_within(3s));
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
}

TEST_F(ServerTest, DisconnectsAClientThatConnectsAndSendsNothing) {
  start(fast_options());
  Client c(port_);
  EXPECT_TRUE(c.closed_within(3s));
}

TEST_F(ServerTest, DisconnectsAClientThatStallsMidBody) {
  start(fast_options());
  Client c(port_);
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(c.closed_within(3s));
  EXPECT_EQ(on_control([&] { return handled_; }), 0);
}

TEST_F(ServerTest, ClosesAnIdleKeepAliveConnectionAfterTheIdleTimeout) {
  start(fast_options());
  Client c(port_);
  ASSERT_TRUE(c.send(post_request("{}")));
  ASSERT_TRUE(c.read_response());
  auto t0 = Clock::now();
  EXPECT_TRUE(c.closed_within(3s));
  EXPECT_GE(Clock::now() - t0, 400ms);  // idle_timeout (500 ms), not header_timeout
}

TEST_F(ServerTest, ForgetsAClientThatDisconnectsMidBody) {
  start();
  {
    Client c(port_);
    ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"));
  }
  Client ok(port_);
  ASSERT_TRUE(ok.send(post_request("{}")));
  ASSERT_TRUE(ok.read_response());
  EXPECT_EQ(on_control([&] { return handled_; }), 1);
}

TEST_F(ServerTest, RefusesConnectionsBeyondTheLimitWith503) {
  Server::Options o;
  o.max_connections = 4;
  start(o);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<Client>(port_));
    ASSERT_TRUE(held.back()->send(post_request("{}")));
    ASSERT_TRUE(held.back()->read_response());  // now surely accepted and counted
  }
  Client extra(port_);
  auto r = extra.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("ServiceUnavailable"), std::string::npos);
  EXPECT_TRUE(extra.closed_within(3s));

  held.pop_back();  // frees a place once the server notices
  auto deadline = Clock::now() + 5s;
  bool served = false;
  while (!served && Clock::now() < deadline) {
    Client again(port_);
    again.send(post_request("{}"));
    auto a = again.read_response();
    served = a && a->status == 200;
  }
  EXPECT_TRUE(served);
}

// ---------------------------------------------------------------------------
// The control thread: post, timers, signals

TEST_F(ServerTest, RunsEveryPostedFunctionOnceOnTheControlThread) {
  start();
  constexpr int kThreads = 8, kEach = 10'000;
  long count = 0;  // touched on the control thread only, so no atomic
  std::atomic<int> off_thread{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        server_->post([&] {
          if (std::this_thread::get_id() != control_id_) ++off_thread;
          ++count;
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  // FIFO: this runs after all of them.
  EXPECT_EQ(on_control([&] { return count; }), long{kThreads} * kEach);
  EXPECT_EQ(off_thread.load(), 0);
}

TEST_F(ServerTest, FiresTimersInDeadlineOrderAndNotCancelledOnes) {
  start();
  std::promise<std::vector<std::string>> done;
  auto order = std::make_shared<std::vector<std::string>>();
  on_control([&] {
    server_->after(60ms, [order] { order->push_back("late"); });
    server_->after(20ms, [order] { order->push_back("early"); });
    TimerId doomed = server_->after(40ms, [order] { order->push_back("cancelled"); });
    server_->cancel(doomed);
    server_->cancel(doomed);          // twice is harmless
    server_->cancel(TimerId{99999});  // unknown is harmless
    server_->after(150ms, [&, order] { done.set_value(*order); });
  });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), (std::vector<std::string>{"early", "late"}));
}

TEST_F(ServerTest, DeliversSigtermOnTheControlThread) {
  std::promise<std::pair<int, bool>> got;
  Server::Options o;
  o.listen = listen_;
  server_ = std::make_unique<Server>(o, [](const Request&) { return Response{}; });
  ASSERT_TRUE(server_->start().ok());
  server_->on_signal([&](int sig) {
    got.set_value({sig, std::this_thread::get_id() == control_id_});
    server_->stop();
  });
  control_ = std::thread([this] {
    control_id_ = std::this_thread::get_id();
    server_->run();
  });
  on_control([] {});  // run() is up
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto [sig, on_control_thread] = f.get();
  EXPECT_EQ(sig, SIGTERM);
  EXPECT_TRUE(on_control_thread);
  control_.join();  // the handler stopped the server
}

// ---------------------------------------------------------------------------
// Event streams

class StreamTest : public ServerTest {
 protected:
  void start_streams(Server::Options o = {}) {
    Server::StreamRoute route;
    route.accepts = [](const Request& r) { return r.path().starts_with("/events"); };
    route.handler = [this](const Request& r,
                           std::shared_ptr<EventStream> s) -> std::optional<Response> {
      if (r.path() == "/events/none") return json_error(404, "NotFound", "no such stream");
      streams_.push_back(std::move(s));
      return std::nullopt;
    };
    start(o, std::move(route));
  }

  // Opens a stream and waits until the handler has it.
  std::optional<Reply> open(Client& c) {
    if (!c.send("GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")) {
      return std::nullopt;
    }
    return c.read_head();
  }

  std::vector<std::shared_ptr<EventStream>> streams_;  // control thread only
};

TEST_F(StreamTest, SendsEventsInOrderAsChunkedTextEventStream) {
  start_streams();
  Client c(port_);
  auto head = open(c);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Type"), "text/event-stream");
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(head->header("x-amzn-RequestId").size(), 36u);
  ASSERT_TRUE(on_control([&] {
    bool ok = streams_.size() == 1;
    for (int i = 0; ok && i < 100; ++i) {
      ok = streams_[0]->send("tick", "{\"n\":" + std::to_string(i) + "}", std::to_string(i));
    }
    return ok;
  }));
  std::string text;
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    expected +=
        "id: " + std::to_string(i) + "\nevent: tick\ndata: {\"n\":" + std::to_string(i) + "}\n\n";
  }
  while (text.size() < expected.size()) {
    auto chunk = c.read_chunk();
    ASSERT_TRUE(chunk);
    text += *chunk;
  }
  EXPECT_EQ(text, expected);
}

TEST_F(StreamTest, SendsAHeartbeatCommentWhenNothingHappens) {
  Server::Options o;
  o.heartbeat_interval = 100ms;
  start_streams(o);
  Client c(port_);
  ASSERT_TRUE(open(c));
  auto chunk = c.read_chunk(3s);
  ASSERT_TRUE(chunk);
  EXPECT_EQ(*chunk, ": heartbeat\n\n");
}

TEST_F(StreamTest, NoticesTheClientGoingAway) {
  start_streams();
  {
    Client c(port_);
    ASSERT_TRUE(open(c));
    ASSERT_EQ(on_control([&] { return streams_.size(); }), 1u);
    EXPECT_FALSE(on_control([&] { return streams_[0]->closed(); }));
  }
  auto deadline = Clock::now() + 5s;
  bool closed = false;
  while (!closed && Clock::now() < deadline) {
    closed = on_control([&] { return streams_[0]->closed(); });
    if (!closed) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_FALSE(on_control([&] { return streams_[0]->send("x", "y"); }));
}

TEST_F(StreamTest, CutsOffAStalledReaderInsteadOfQueueingWithoutBound) {
  Server::Options o;
  o.stream_queue_limit = 64 * 1024;
  start_streams(o);
  Client c(port_, "127.0.0.1", 4096);  // small receive buffer; never reads events
  ASSERT_TRUE(open(c));
  ASSERT_EQ(on_control([&] { return streams_.size(); }), 1u);
  const std::string payload(1000, 'p');
  size_t sent_bytes = 0, max_queued = 0;
  bool cut = false;
  auto deadline = Clock::now() + 20s;
  while (!cut && Clock::now() < deadline) {
    on_control([&] {
      for (int i = 0; i < 50 && !cut; ++i) {
        if (!streams_[0]->send("e", payload)) {
          cut = true;
        } else {
          sent_bytes += payload.size();
        }
        max_queued = std::max(max_queued, streams_[0]->queued_bytes());
      }
    });
  }
  ASSERT_TRUE(cut) << "the stream was never closed; sent " << sent_bytes;
  EXPECT_LE(max_queued, o.stream_queue_limit);
  EXPECT_TRUE(on_control([&] { return streams_[0]->closed(); }));
  EXPECT_EQ(on_control([&] { return streams_[0]->queued_bytes(); }), 0u);
  // What left the queue sits in socket buffers; nothing near unbounded.
  EXPECT_LT(sent_bytes, size_t{64} << 20);
  EXPECT_TRUE(c.closed_within(5s));
}

TEST_F(StreamTest, KeepsAReaderThatKeepsUpLongPastTheQueueLimitInTotal) {
  Server::Options o;
  o.stream_queue_limit = 16 * 1024;
  start_streams(o);
  Client c(port_);
  ASSERT_TRUE(open(c));
  ASSERT_EQ(on_control([&] { return streams_.size(); }), 1u);
  constexpr int kEvents = 2000;  // 2 MB in all, 128 times the queue limit
  const std::string payload(1000, 'q');
  std::string received;
  std::thread reader([&] {
    size_t want = kEvents * (payload.size() + 8);  // "data: " + payload + "\n\n"
    while (received.size() < want) {
      auto chunk = c.read_chunk(10s);
      if (!chunk) return;
      received += *chunk;
    }
  });
  int accepted = 0;
  for (int i = 0; i < kEvents; ++i) {
    // One event per trip through the loop: a paced producer, as the engine is.
    bool ok = on_control([&] { return streams_[0]->send("", payload); });
    if (!ok) break;
    ++accepted;
  }
  reader.join();
  EXPECT_EQ(accepted, kEvents);
  EXPECT_EQ(received.size(), size_t{kEvents} * (payload.size() + 8));
  EXPECT_FALSE(on_control([&] { return streams_[0]->closed(); }));
}

TEST_F(StreamTest, LetsTheHandlerRefuseAStream) {
  start_streams();
  Client c(port_);
  ASSERT_TRUE(c.send("GET /events/none HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->header("Connection"), "close");
}

TEST_F(StreamTest, EndsTheStreamWhenTheOwnerClosesIt) {
  start_streams();
  Client c(port_);
  ASSERT_TRUE(open(c));
  on_control([&] {
    streams_[0]->send("last", "bye");
    streams_[0]->close();
  });
  auto a = c.read_chunk();
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, "event: last\ndata: bye\n\n");
  auto end = c.read_chunk();
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, "");
  EXPECT_TRUE(c.closed_within(3s));
}

// ---------------------------------------------------------------------------
// Stopping

TEST_F(ServerTest, StopLetsARequestInFlightFinishAndClosesIdleConnections) {
  start();
  Client idle(port_);
  ASSERT_TRUE(idle.send(post_request("{}")));
  ASSERT_TRUE(idle.read_response());
  Client busy(port_);
  ASSERT_TRUE(busy.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234"));
  // A second connection's answer shows the loop went round after `busy`
  // sent, so the server is reading its body (not waiting for it to start).
  {
    Client probe(port_);
    ASSERT_TRUE(probe.send(post_request("{}")));
    ASSERT_TRUE(probe.read_response());
  }
  server_->stop();
  EXPECT_TRUE(idle.closed_within(3s));
  ASSERT_TRUE(busy.send("56789"));
  auto r = busy.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "0123456789");
  EXPECT_EQ(r->header("Connection"), "close");
  control_.join();
  EXPECT_TRUE(returned_);
  Client late(port_);
  EXPECT_FALSE(late.connected() && late.send(post_request("{}")) && late.read_response(1s));
}

TEST_F(ServerTest, StopCutsRequestsThatOutlastTheGracePeriod) {
  Server::Options o;
  o.body_timeout = 30s;
  o.shutdown_grace = 300ms;
  start(o);
  Client stuck(port_);
  ASSERT_TRUE(stuck.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0"));
  {
    Client probe(port_);
    ASSERT_TRUE(probe.send(post_request("{}")));
    ASSERT_TRUE(probe.read_response());
  }
  auto t0 = Clock::now();
  server_->stop();
  control_.join();
  EXPECT_LT(Clock::now() - t0, 3s);
  EXPECT_TRUE(stuck.closed_within(1s));
}

TEST_F(StreamTest, StopEndsOpenStreams) {
  start_streams();
  Client c(port_);
  ASSERT_TRUE(open(c));
  ASSERT_EQ(on_control([&] { return streams_.size(); }), 1u);
  server_->stop();
  auto end = c.read_chunk();
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, "");
  control_.join();
  EXPECT_TRUE(streams_[0]->closed());  // safe: the control thread has ended
  EXPECT_FALSE(streams_[0]->send("x", "y"));
}

TEST_F(ServerTest, StopBeforeAnyConnectionReturnsFromRun) {
  start();
  server_->stop();
  control_.join();
  EXPECT_TRUE(returned_);
}

// ---------------------------------------------------------------------------
// Listening

TEST_F(ServerTest, SaysWhichAddressIsInUse) {
  start();
  Server::Options o;
  o.listen = "127.0.0.1:" + std::to_string(port_);
  Server second(o, [](const Request&) { return Response{}; });
  Status s = second.start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIo);
  EXPECT_EQ(s.message(), "address 127.0.0.1:" + std::to_string(port_) + " is in use");
}

TEST(ServerListen, CanBeDestroyedAfterStartWithoutEverRunning) {
  bool ran = false;
  {
    Server::Options o;
    o.listen = "127.0.0.1:0";
    Server s(o, [](const Request&) { return Response{}; });
    ASSERT_TRUE(s.start().ok());
    s.post([&] { ran = true; });
    s.after(std::chrono::milliseconds(0), [&] { ran = true; });
  }
  EXPECT_FALSE(ran);
}

TEST(ServerListen, RejectsAMalformedListenAddress) {
  Server::Options o;
  o.listen = "nowhere";
  Server s(o, [](const Request&) { return Response{}; });
  Status st = s.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("'nowhere'"), std::string::npos);
}

TEST_F(ServerTest, ListensOnTheIpv6Loopback) {
  int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool has_v6 = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (probe >= 0) ::close(probe);
  if (!has_v6) GTEST_SKIP() << "no IPv6 loopback here";
  listen_ = "[::1]:0";
  start();
  Client c(port_, "::1");
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(post_request("{}")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace stageline::http
