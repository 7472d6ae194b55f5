// api_bench: GetPipelineState latency against a real `stageline server`
// (issue #4), side by side with the floor (ListPipelines, maxResults 1).
//   api_bench PATH_TO_STAGELINE [--pipelines 1000] [--rate 500] [--seconds 10]
//             [--connections 8]
// Starts the server as a child on 127.0.0.1:0 with a fresh data directory,
// creates N pipelines from examples/v2-pipeline.json (bench-0001...), waits
// for their first executions to end, records the idle RSS, then runs an
// open-loop load: request i is due at t0 + i/R; C keep-alive connections (one
// thread each) take the next due request, sleep until it is due, sign it
// (SigV4, fresh each time) and send it. A request's latency runs from its due
// time to its response, so a slow server is charged for the requests it made
// wait (no coordinated omission). The client's own send_http closes its
// connection after each request, so this file keeps its own keep-alive
// sockets and reuses the client's signer and response parser.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/client/api_client.h"
#include "api/client/http_client.h"
#include "api/sigv4/keys.h"
#include "api/sigv4/sigv4.h"
#include "base/status.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace stageline;
namespace sigv4 = stageline::api::sigv4;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string stageline;
  int pipelines = 1000;
  int rate = 500;
  int seconds = 10;
  int connections = 8;
  std::string example = STAGELINE_EXAMPLE_PIPELINE;
};

// The child server: its pid, port and region.
struct Server {
  pid_t pid = -1;
  uint16_t port = 0;
  std::string region;
};

Result<Server> start_server(const std::string& exe, const fs::path& data) {
  int out[2];
  if (pipe(out) != 0) return Status::io("pipe failed");
  const std::string log = (data / "server.log").string();
  pid_t pid = fork();
  if (pid < 0) return Status::io("fork failed");
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    FILE* f = std::fopen(log.c_str(), "w");
    if (f != nullptr) dup2(fileno(f), STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    const std::string dir = data.string();
    execl(exe.c_str(), exe.c_str(), "server", "--data-dir", dir.c_str(), "--listen", "127.0.0.1:0",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  // Read lines until the listening line; afterwards a thread drains stdout so
  // the server never blocks on a full pipe.
  std::string buf;
  char tmp[4096];
  const std::string marker = "Stageline is listening on http://127.0.0.1:";
  Server server{.pid = pid, .port = 0, .region = "us-east-1"};
  for (;;) {
    size_t at = buf.find(marker);
    size_t eol = at == std::string::npos ? std::string::npos : buf.find('\n', at);
    if (eol != std::string::npos) {
      std::string line = buf.substr(at + marker.size(), eol - at - marker.size());
      server.port = static_cast<uint16_t>(std::atoi(line.c_str()));
      size_t r = line.find("(region ");
      if (r != std::string::npos) {
        size_t end = line.find_first_of(",)", r + 8);
        server.region = line.substr(r + 8, end - r - 8);
      }
      break;
    }
    ssize_t n = read(out[0], tmp, sizeof tmp);
    if (n <= 0) {
      close(out[0]);
      int st = 0;
      waitpid(pid, &st, 0);  // the data directory stays, for its server.log
      return Status::io("the server exited before listening; see " + log);
    }
    buf.append(tmp, static_cast<size_t>(n));
  }
  std::thread([fd = out[0]] {
    char sink[4096];
    while (read(fd, sink, sizeof sink) > 0) {
    }
    close(fd);
  }).detach();
  if (server.port == 0) return Status::io("could not read the server's port");
  return server;
}

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// One keep-alive connection that sends signed AWS JSON 1.1 requests.
class Connection {
 public:
  Connection(uint16_t port, sigv4::Key key, std::string region)
      : port_(port), key_(std::move(key)), region_(std::move(region)) {}
  ~Connection() { close_fd(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one operation; the HTTP status and body, or a transport error.
  Result<api::client::HttpResponse> call(std::string_view operation, const std::string& body) {
    sigv4::HttpRequest request;
    request.method = "POST";
    request.target = "/";
    request.headers = {
        {"Host", "127.0.0.1:" + std::to_string(port_)},
        {"X-Amz-Target",
         std::string(api::client::kCodePipelineTargetPrefix) + "." + std::string(operation)},
        {"Content-Type", "application/x-amz-json-1.1"},
    };
    request.body = body;
    if (Status s =
            sigv4::sign(request, key_, region_, "codepipeline", std::chrono::system_clock::now());
        !s.ok())
      return s;
    std::string wire = "POST / HTTP/1.1\r\n";
    for (const auto& [name, value] : request.headers) wire += name + ": " + value + "\r\n";
    wire += "Content-Length: " + std::to_string(request.body.size()) + "\r\n\r\n" + request.body;
    // One retry on a fresh connection when a kept-alive one was closed.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = fd_ >= 0;
      if (fd_ < 0)
        if (Status s = connect_fd(); !s.ok()) return s;
      auto r = exchange(wire);
      if (r.ok()) return r;
      close_fd();
      if (!reused) return r;
    }
    return Status::io("unreachable");
  }

 private:
  Status connect_fd() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return Status::io("socket failed");
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close_fd();
      return Status::io("connect failed");
    }
    return Status();
  }

  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  Result<api::client::HttpResponse> exchange(const std::string& wire) {
    size_t sent = 0;
    while (sent < wire.size()) {
      ssize_t n = ::send(fd_, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return Status::io("send failed");
      sent += static_cast<size_t>(n);
    }
    std::string buf;
    char tmp[16384];
    for (;;) {
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      const bool eof = n == 0;
      if (n < 0) return Status::io("recv failed or timed out");
      buf.append(tmp, static_cast<size_t>(n));
      auto parsed = api::client::parse_http_response(buf, eof);
      if (!parsed.ok()) return parsed.status();
      if (parsed->has_value()) {
        api::client::HttpResponse response = std::move(**parsed);
        auto connection = response.header("Connection");
        if (eof || (connection && *connection == "close")) close_fd();
        return response;
      }
      if (eof) return Status::io("connection closed mid-response");
    }
  }

  uint16_t port_;
  sigv4::Key key_;
  std::string region_;
  int fd_ = -1;
};

struct Figures {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;  // ms
  long ok = 0, errors = 0;
  double achieved = 0;  // responses per second
  long rss_after_kib = 0;
  std::string first_error;
};

// Open-loop load of `make_body` requests of `operation`.
Figures run_load(const Options& opt, const Server& server, const sigv4::Key& key,
                 std::string_view operation,
                 const std::function<std::string(std::mt19937&)>& make_body) {
  const long total = static_cast<long>(opt.rate) * opt.seconds;
  std::vector<double> latency_ms(static_cast<size_t>(total), -1);
  std::vector<char> failed(static_cast<size_t>(total), 0);
  std::atomic<long> next{0};
  std::mutex error_mu;
  std::string first_error;
  const auto t0 = Clock::now() + std::chrono::milliseconds(50);
  const auto interval = std::chrono::nanoseconds(1'000'000'000LL / opt.rate);
  std::atomic<int64_t> last_done_ns{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < opt.connections; ++c) {
    threads.emplace_back([&, c] {
      Connection conn(server.port, key, server.region);
      std::mt19937 rng(static_cast<unsigned>(c) * 7919u + 1u);
      for (;;) {
        long i = next.fetch_add(1);
        if (i >= total) return;
        const auto due = t0 + interval * i;
        std::this_thread::sleep_until(due);
        auto r = conn.call(operation, make_body(rng));
        const auto done = Clock::now();
        latency_ms[static_cast<size_t>(i)] =
            std::chrono::duration<double, std::milli>(done - due).count();
        const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(done - t0).count();
        int64_t prev = last_done_ns.load();
        while (ns > prev && !last_done_ns.compare_exchange_weak(prev, ns)) {
        }
        std::string err;
        if (!r.ok())
          err = r.status().message();
        else if (r->status != 200)
          err = "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200);
        if (!err.empty()) {
          failed[static_cast<size_t>(i)] = 1;
          std::lock_guard lock(error_mu);
          if (first_error.empty()) first_error = err;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  Figures f;
  std::vector<double> all = latency_ms;
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    size_t k = static_cast<size_t>(p * static_cast<double>(all.size() - 1) + 0.5);
    return all[std::min(k, all.size() - 1)];
  };
  f.p50 = pct(0.50);
  f.p90 = pct(0.90);
  f.p99 = pct(0.99);
  f.max = all.back();
  for (char x : failed) (x ? f.errors : f.ok)++;
  f.achieved = static_cast<double>(total) / (static_cast<double>(last_done_ns.load()) / 1e9);
  f.rss_after_kib = rss_kib(server.pid);
  f.first_error = first_error;
  return f;
}

std::string pipeline_name(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "bench-%04d", i);
  return name;
}

Status run(const Options& opt) {
  std::ifstream example_file(opt.example);
  std::stringstream ss;
  ss << example_file.rdbuf();
  json::error_code ec;
  json::value declaration = json::parse(ss.str(), ec);
  if (ec || !declaration.is_object())
    return Status::invalid("cannot read the example declaration " + opt.example);

  char templ[] = "/tmp/stageline-apibench-XXXXXX";
  if (mkdtemp(templ) == nullptr) return Status::io("mkdtemp failed");
  const fs::path data = templ;
  auto server = start_server(opt.stageline, data);
  if (!server.ok()) return server.status();
  struct Reaper {
    pid_t pid;
    fs::path data;
    ~Reaper() {
      kill(pid, SIGTERM);
      int st = 0;
      waitpid(pid, &st, 0);
      std::error_code e;
      fs::remove_all(data, e);
    }
  } reaper{server->pid, data};
  auto key = sigv4::read_credentials_file((data / "credentials").string());
  if (!key.ok()) return key.status();
  std::printf("server pid %d on 127.0.0.1:%u (region %s), data %s\n", server->pid, server->port,
              server->region.c_str(), data.c_str());

  // Create the pipelines.
  Connection conn(server->port, *key, server->region);
  const auto c0 = Clock::now();
  for (int i = 1; i <= opt.pipelines; ++i) {
    declaration.as_object()["name"] = pipeline_name(i);
    json::object input{{"pipeline", declaration}};
    auto r = conn.call("CreatePipeline", json::serialize(input));
    if (!r.ok()) return r.status().with_context("CreatePipeline " + pipeline_name(i));
    if (r->status != 200)
      return Status::internal("CreatePipeline " + pipeline_name(i) + ": HTTP " +
                              std::to_string(r->status) + " " + r->body);
  }
  const double create_s = std::chrono::duration<double>(Clock::now() - c0).count();
  std::printf("created %d pipelines in %.2f s\n", opt.pipelines, create_s);

  // Wait for every pipeline's executions to end.
  const auto w0 = Clock::now();
  int pending = opt.pipelines;
  std::vector<char> ended(static_cast<size_t>(opt.pipelines) + 1, 0);
  std::map<std::string, int> final_status;  // of each pipeline's latest execution
  while (pending > 0) {
    if (Clock::now() - w0 > std::chrono::seconds(300))
      return Status::internal(std::to_string(pending) + " pipelines still running after 300 s");
    for (int i = 1; i <= opt.pipelines; ++i) {
      if (ended[static_cast<size_t>(i)]) continue;
      json::object input{{"pipelineName", pipeline_name(i)}};
      auto r = conn.call("ListPipelineExecutions", json::serialize(input));
      if (!r.ok()) return r.status();
      json::value v = json::parse(r->body, ec);
      if (ec || !v.is_object()) return Status::internal("ListPipelineExecutions: " + r->body);
      const json::value* list = v.as_object().if_contains("pipelineExecutionSummaries");
      bool running = list == nullptr || !list->is_array() || list->as_array().empty();
      if (!running)
        for (const auto& e : list->as_array()) {
          const json::value* st = e.as_object().if_contains("status");
          if (st != nullptr && st->is_string() &&
              (st->as_string() == "InProgress" || st->as_string() == "Stopping"))
            running = true;
        }
      if (!running) {
        const json::value* st = list->as_array().front().as_object().if_contains("status");
        ++final_status[st != nullptr && st->is_string() ? std::string(st->as_string()) : "?"];
        ended[static_cast<size_t>(i)] = 1;
        --pending;
      }
    }
    if (pending > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const double wait_s = std::chrono::duration<double>(Clock::now() - w0).count();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long idle_rss = rss_kib(server->pid);
  std::printf("executions ended after %.2f s more; idle RSS %.1f MiB; latest executions:", wait_s,
              static_cast<double>(idle_rss) / 1024.0);
  for (const auto& [status, count] : final_status) std::printf(" %d %s", count, status.c_str());
  std::printf("\n");

  // A sample answer, so the reader sees what GetPipelineState returned.
  {
    auto r =
        conn.call("GetPipelineState", json::serialize(json::object{{"name", pipeline_name(1)}}));
    if (!r.ok()) return r.status();
    std::printf("GetPipelineState %s: HTTP %d, %zu bytes\n", pipeline_name(1).c_str(), r->status,
                r->body.size());
  }

  const int n = opt.pipelines;
  Figures state = run_load(opt, *server, *key, "GetPipelineState", [n](std::mt19937& rng) {
    std::uniform_int_distribution<int> pick(1, n);
    return json::serialize(json::object{{"name", pipeline_name(pick(rng))}});
  });
  Figures floor = run_load(opt, *server, *key, "ListPipelines",
                           [](std::mt19937&) { return std::string(R"({"maxResults":1})"); });

  std::printf(
      "\n%d pipelines, %d requests/s for %d s each, %d keep-alive connections, signed "
      "requests\n",
      opt.pipelines, opt.rate, opt.seconds, opt.connections);
  std::printf("| %-34s | %8s | %8s | %8s | %8s | %6s | %6s | %10s | %9s |\n", "Operation", "p50 ms",
              "p90 ms", "p99 ms", "max ms", "ok", "errors", "achieved/s", "RSS after");
  auto row = [](const char* name, const Figures& f) {
    std::printf("| %-34s | %8.3f | %8.3f | %8.3f | %8.3f | %6ld | %6ld | %10.1f | %5.1f MiB |\n",
                name, f.p50, f.p90, f.p99, f.max, f.ok, f.errors, f.achieved,
                static_cast<double>(f.rss_after_kib) / 1024.0);
    if (!f.first_error.empty()) std::printf("  first error: %s\n", f.first_error.c_str());
  };
  row("GetPipelineState (random pipeline)", state);
  row("ListPipelines maxResults 1 (floor)", floor);
  std::printf("idle RSS after creating %d pipelines: %.1f MiB\n", opt.pipelines,
              static_cast<double>(idle_rss) / 1024.0);
  std::printf("target p99 < 5 ms for GetPipelineState: %s\n",
              state.p99 < 5.0 && state.errors == 0 ? "MET" : "NOT MET");
  return Status();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: api_bench PATH_TO_STAGELINE [--pipelines N] [--rate R] [--seconds S] "
                 "[--connections C] [--example FILE]\n");
    return 2;
  }
  Options opt;
  opt.stageline = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "api_bench: %s needs a value\n", a.c_str());
      return 2;
    }
    std::string v = argv[++i];
    int n = std::atoi(v.c_str());
    if (a == "--example") {
      opt.example = v;
      continue;
    }
    if (n <= 0) {
      std::fprintf(stderr, "api_bench: %s wants a positive number, not %s\n", a.c_str(), v.c_str());
      return 2;
    }
    if (a == "--pipelines")
      opt.pipelines = n;
    else if (a == "--rate")
      opt.rate = n;
    else if (a == "--seconds")
      opt.seconds = n;
    else if (a == "--connections")
      opt.connections = n;
    else {
      std::fprintf(stderr, "api_bench: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  Status s = run(opt);
  if (!s.ok()) {
    std::fprintf(stderr, "api_bench: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}
