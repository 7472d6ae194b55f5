// api/client/test_server: a real HTTP listener on 127.0.0.1:<ephemeral> for
// the client's tests. Each connection it accepts, in order, gets the next
// scripted answer (raw bytes, a reset, or a held-open stream; each on its own
// thread), so a test sees
// the client's real sockets, retries and reconnections; nothing is mocked.
// Test-only.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace stageline::api::client::testing {

class ScriptedServer {
 public:
  // Handles one accepted connection: `fd` is the socket, `request` the
  // request read from it (headers and Content-Length body). `stop` becomes
  // readable when the server is being destroyed.
  using Answer = std::function<void(int fd, const std::string& request, int stop)>;

  explicit ScriptedServer(std::vector<Answer> answers) : answers_(std::move(answers)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof a;
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
    EXPECT_EQ(::pipe2(stop_, O_CLOEXEC), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    char c = 'x';
    EXPECT_EQ(::write(stop_[1], &c, 1), 1);
    thread_.join();
    ::close(fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  // The requests received so far, in order.
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

  // Writes `raw` and closes.
  static Answer reply(std::string raw) {
    return [raw](int fd, const std::string&, int) { write_all(fd, raw); };
  }
  // Closes with a TCP reset instead of an answer.
  static Answer reset() {
    return [](int fd, const std::string&, int) {
      linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    };
  }
  // Writes `raw`, then keeps the connection open until the server is
  // destroyed or the client goes away.
  static Answer reply_and_hold(std::string raw) {
    return [raw](int fd, const std::string&, int stop) {
      write_all(fd, raw);
      pollfd p[2] = {{fd, POLLIN, 0}, {stop, POLLIN, 0}};
      ::poll(p, 2, 30'000);
    };
  }

  static void write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

 private:
  // Accepts a connection per answer, in order; each is answered on its own
  // thread, so a held stream does not stop the connections after it.
  void serve() {
    std::vector<std::thread> handlers;
    for (auto& answer : answers_) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(p, 2, 30'000) <= 0 || (p[1].revents & POLLIN)) break;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) break;
      std::string request = read_request(c);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(request);
      }
      handlers.emplace_back([this, c, request, &answer] {
        answer(c, request, stop_[0]);
        ::close(c);
      });
    }
    for (auto& t : handlers) t.join();
  }

  static std::string read_request(int c) {
    std::string request;
    char buf[4096];
    for (;;) {
      auto head = request.find("\r\n\r\n");
      if (head != std::string::npos) {
        auto cl = request.find("Content-Length: ");
        size_t length = cl == std::string::npos ? 0 : std::strtoul(&request[cl + 16], nullptr, 10);
        if (request.size() >= head + 4 + length) break;
      }
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    return request;
  }

  std::vector<Answer> answers_;
  int fd_ = -1;
  int stop_[2] = {-1, -1};
  uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace stageline::api::client::testing
