#include "api/sns/delivery.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

namespace stageline::sns {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = Deliverer::Clock;

const SigningKey& shared_key() {
  static std::unique_ptr<SigningKey> key = [] {
    auto k = SigningKey::generate("sns.test");
    EXPECT_TRUE(k.ok()) << k.status().message();
    return std::move(k.value());
  }();
  return *key;
}

// Answers each send from a script of outcomes (then ok), and keeps what it got.
class FakeTransport final : public Transport {
 public:
  std::vector<Status> script;
  std::vector<Delivery> sent;
  Status send(const Delivery& d) override {
    sent.push_back(d);
    if (sent.size() <= script.size()) return script[sent.size() - 1];
    return Status();
  }
};

Delivery delivery(std::string endpoint) {
  Delivery d;
  d.subscription_arn = "arn:aws:sns:us-east-1:1:t:sub";
  d.protocol = "http";
  d.endpoint = std::move(endpoint);
  d.message.type = MessageType::kNotification;
  d.message.message_id = "m-1";
  d.message.topic_arn = "arn:aws:sns:us-east-1:1:t";
  d.message.message = "hello";
  d.message.timestamp = "2024-01-01T00:00:00.000Z";
  return d;
}

struct FakeClock {
  Clock::time_point t{};
  std::function<Clock::time_point()> fn() {
    return [this] { return t; };
  }
};

TEST(SnsRetrySchedule, EachFailedAttemptWaitsItsDelayAndThenTheScheduleEnds) {
  std::vector<std::chrono::milliseconds> delays = {2s, 10s};
  EXPECT_EQ(retry_delay(delays, 1), 2s);
  EXPECT_EQ(retry_delay(delays, 2), 10s);
  EXPECT_EQ(retry_delay(delays, 3), std::nullopt);
  EXPECT_EQ(retry_delay({}, 1), std::nullopt);
}

TEST(SnsDeliverer, ADeliveryIsSignedAndSentOnceWhenTheEndpointTakesIt) {
  FakeTransport transport;
  FakeClock clock;
  Deliverer::Options options;
  options.now = clock.fn();
  Deliverer deliverer(shared_key(), transport, options);
  ASSERT_TRUE(deliverer.enqueue({delivery("http://a/")}).ok());
  EXPECT_EQ(deliverer.pending(), 1u);
  EXPECT_EQ(deliverer.run_due(clock.t), 1);
  EXPECT_EQ(deliverer.pending(), 0u);
  ASSERT_EQ(transport.sent.size(), 1u);
  const Message& m = transport.sent[0].message;
  auto verified = verify_signature(shared_key().certificate_pem(), string_to_sign(m), m.signature);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(*verified);
}

TEST(SnsDeliverer, AFailedDeliveryIsRetriedOnTheScheduleThenGivenUpAndLogged) {
  FakeTransport transport;
  transport.script = {Status::io("refused"), Status::io("refused"), Status::io("refused")};
  FakeClock clock;
  std::vector<std::string> log;
  Deliverer::Options options;
  options.now = clock.fn();
  options.retry_delays = {1s, 5s};
  options.log = [&log](const std::string& line) { log.push_back(line); };
  Deliverer deliverer(shared_key(), transport, options);
  ASSERT_TRUE(deliverer.enqueue({delivery("http://a/")}).ok());
  EXPECT_EQ(deliverer.run_due(clock.t), 1);
  EXPECT_EQ(deliverer.run_due(clock.t + 999ms), 0);  // not due yet
  EXPECT_EQ(deliverer.run_due(clock.t + 1s), 1);
  EXPECT_EQ(deliverer.run_due(clock.t + 5s), 0);  // 5 s after the second attempt
  EXPECT_EQ(deliverer.run_due(clock.t + 6s), 1);
  EXPECT_EQ(deliverer.pending(), 0u);
  EXPECT_EQ(transport.sent.size(), 3u);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_NE(log[0].find("attempt 1 failed: refused; retrying in 1000 ms"), std::string::npos)
      << log[0];
  EXPECT_NE(log[2].find("attempt 3 failed: refused; giving up"), std::string::npos) << log[2];
  // Every attempt sent the same signed message.
  EXPECT_EQ(transport.sent[0].message.signature, transport.sent[2].message.signature);
}

TEST(SnsDeliverer, ARetrySucceedingIsLoggedWithItsAttempt) {
  FakeTransport transport;
  transport.script = {Status::io("503")};
  FakeClock clock;
  std::vector<std::string> log;
  Deliverer::Options options;
  options.now = clock.fn();
  options.retry_delays = {1s};
  options.log = [&log](const std::string& line) { log.push_back(line); };
  Deliverer deliverer(shared_key(), transport, options);
  ASSERT_TRUE(deliverer.enqueue({delivery("http://a/")}).ok());
  deliverer.run_due(clock.t);
  deliverer.run_due(clock.t + 1s);
  EXPECT_EQ(transport.sent.size(), 2u);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_NE(log[1].find("delivered on attempt 2"), std::string::npos) << log[1];
}

TEST(SnsDeliverer, AFullQueueRefusesTheWholeBatch) {
  FakeTransport transport;
  Deliverer::Options options;
  options.queue_limit = 2;
  Deliverer deliverer(shared_key(), transport, options);
  ASSERT_TRUE(deliverer.enqueue({delivery("http://a/")}).ok());
  Status s = deliverer.enqueue({delivery("http://b/"), delivery("http://c/")});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(deliverer.pending(), 1u);
}

TEST(SnsDeliverer, TheDeliveryThreadDeliversWithoutBeingAsked) {
  FakeTransport transport;
  Deliverer deliverer(shared_key(), transport, {});
  deliverer.start();
  ASSERT_TRUE(deliverer.enqueue({delivery("http://a/")}).ok());
  for (int i = 0; i < 500 && deliverer.pending() > 0; ++i) std::this_thread::sleep_for(10ms);
  deliverer.stop();
  EXPECT_EQ(transport.sent.size(), 1u);
}

class SnsTransportTest : public ::testing::Test {
 protected:
  SnsTransportTest() {
    dir_ = fs::temp_directory_path() / ("sns_transport_test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  ~SnsTransportTest() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SnsTransportTest, AFileSubscriptionGetsOneJsonLinePerMessage) {
  SystemTransport transport({});
  Delivery d = delivery((dir_ / "messages.jsonl").string());
  d.protocol = std::string(kFileProtocol);
  ASSERT_TRUE(transport.send(d).ok());
  d.message.message = "second\nline";
  ASSERT_TRUE(transport.send(d).ok());
  std::ifstream in(dir_ / "messages.jsonl");
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(boost::json::parse(lines[1]).at("Message").as_string(), "second\nline");
  d.endpoint = (dir_ / "missing" / "x").string();
  EXPECT_EQ(transport.send(d).code(), StatusCode::kIo);
}

TEST_F(SnsTransportTest, AProgramGetsTheMessageOnStdinAndItsExitCodeDecides) {
  SystemTransport transport({});
  Delivery d = delivery("cat > " + (dir_ / "got").string() + "; echo \"$SNS_TOPIC_ARN\" > " +
                        (dir_ / "env").string());
  d.protocol = std::string(kProgramProtocol);
  d.raw = true;
  ASSERT_TRUE(transport.send(d).ok());
  std::stringstream got, env;
  got << std::ifstream(dir_ / "got").rdbuf();
  env << std::ifstream(dir_ / "env").rdbuf();
  EXPECT_EQ(got.str(), "hello");
  EXPECT_EQ(env.str(), "arn:aws:sns:us-east-1:1:t\n");
  d.endpoint = "exit 3";
  Status failed = transport.send(d);
  EXPECT_EQ(failed.code(), StatusCode::kIo);
  EXPECT_NE(failed.message().find("exit code 3"), std::string::npos) << failed.message();
}

TEST_F(SnsTransportTest, AProgramThatRunsTooLongIsKilled) {
  SystemTransport::Options options;
  options.program_timeout = 200ms;
  SystemTransport transport(options);
  Delivery d = delivery("exec sleep 30");
  d.protocol = std::string(kProgramProtocol);
  auto start = std::chrono::steady_clock::now();
  Status s = transport.send(d);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_NE(s.message().find("timed out"), std::string::npos) << s.message();
}

TEST_F(SnsTransportTest, AProgramThatIgnoresItsStdinDoesNotHurtTheServer) {
  SystemTransport transport({});
  Delivery d = delivery("true");
  d.protocol = std::string(kProgramProtocol);
  d.message.message = std::string(200000, 'x');  // more than a pipe holds
  EXPECT_TRUE(transport.send(d).ok());
}

// One HTTP exchange on a loopback socket: records the request, answers
// with `status`.
class OneShotServer {
 public:
  explicit OneShotServer(int status) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, status] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      for (;;) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<size_t>(n));
        size_t end = request_.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        size_t cl = request_.find("Content-Length: ");
        size_t want = cl == std::string::npos ? 0 : std::stoul(request_.substr(cl + 16));
        if (request_.size() >= end + 4 + want) break;
      }
      std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n";
      (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string request() {
    thread_.join();
    return request_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::string request_;
  std::thread thread_;
};

TEST(SnsHttpTransport, AnHttpEndpointGetsAPostWithTheSnsHeaders) {
  OneShotServer server(200);
  SystemTransport transport({});
  Delivery d = delivery("http://127.0.0.1:" + std::to_string(server.port()) + "/hook?x=1");
  ASSERT_TRUE(sign(d.message, shared_key()).ok());
  ASSERT_TRUE(transport.send(d).ok());
  std::string request = server.request();
  EXPECT_TRUE(request.starts_with("POST /hook?x=1 HTTP/1.1\r\n")) << request;
  EXPECT_NE(request.find("x-amz-sns-message-type: Notification\r\n"), std::string::npos);
  EXPECT_NE(request.find("x-amz-sns-subscription-arn: arn:aws:sns:us-east-1:1:t:sub\r\n"),
            std::string::npos);
  EXPECT_NE(request.find("\"Type\":\"Notification\""), std::string::npos);
}

TEST(SnsHttpTransport, ANon2xxAnswerOrNobodyListeningIsAFailure) {
  OneShotServer server(500);
  SystemTransport transport({});
  Status s = transport.send(delivery("http://127.0.0.1:" + std::to_string(server.port()) + "/"));
  EXPECT_NE(s.message().find("HTTP 500"), std::string::npos) << s.message();
  (void)server.request();
  EXPECT_FALSE(transport.send(delivery("http://127.0.0.1:1/")).ok());
  EXPECT_EQ(transport.send(delivery("ftp://x/")).code(), StatusCode::kInvalidArgument);
}

TEST(SnsHttpTransport, AnHttpsEndpointThatDoesNotSpeakTlsFailsTheHandshakeWithinTheTimeout) {
  OneShotServer server(200);
  SystemTransport::Options options;
  options.http_timeout = 300ms;
  SystemTransport transport(options);
  Status s = transport.send(delivery("https://127.0.0.1:" + std::to_string(server.port()) + "/"));
  EXPECT_EQ(s.code(), StatusCode::kIo);
  EXPECT_NE(s.message().find("TLS handshake with 127.0.0.1:"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace stageline::sns
