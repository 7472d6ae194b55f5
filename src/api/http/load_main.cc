// stageline_http_load: a keep-alive load client for the transport (or any
// HTTP/1.1 server answering with Content-Length). Each thread owns one
// connection and sends one small AWS-JSON-shaped POST at a time.
//   stageline_http_load PORT [CONNECTIONS=4] [SECONDS=5]
// Prints requests per second. Plain POSIX sockets; no libraries.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

// Sends requests until `stop`; returns how many were answered with 200.
long hammer(int port, const std::atomic<bool>& stop) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    return 0;
  }
  const std::string request =
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "X-Amz-Target: CodePipeline_20150709.ListPipelines\r\n"
      "Content-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{}";
  std::string buf;
  char tmp[8192];
  long done = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      break;
    }
    // Read one response: header, then Content-Length bytes.
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) goto out;
      buf.append(tmp, static_cast<size_t>(n));
    }
    {
      size_t cl = buf.find("Content-Length: ");
      size_t length = cl < end ? std::strtoul(buf.c_str() + cl + 16, nullptr, 10) : 0;
      while (buf.size() < end + 4 + length) {
        ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) goto out;
        buf.append(tmp, static_cast<size_t>(n));
      }
      if (buf.compare(9, 3, "200") == 0) ++done;
      buf.erase(0, end + 4 + length);
    }
  }
out:
  ::close(fd);
  return done;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: stageline_http_load PORT [CONNECTIONS] [SECONDS]\n");
    return 2;
  }
  int port = std::atoi(argv[1]);
  int connections = argc > 2 ? std::atoi(argv[2]) : 4;
  int seconds = argc > 3 ? std::atoi(argv[3]) : 5;
  std::atomic<bool> stop{false};
  std::vector<long> counts(static_cast<size_t>(connections), 0);
  std::vector<std::thread> threads;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back([&, i] { counts[static_cast<size_t>(i)] = hammer(port, stop); });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long total = 0;
  for (long c : counts) total += c;
  std::printf("%ld requests in %.2f s over %d connections: %.0f requests/s\n", total, elapsed,
              connections, static_cast<double>(total) / elapsed);
  return 0;
}
