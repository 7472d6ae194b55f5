#include "api/sns/delivery.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>

#include "api/client/http_client.h"
#include "api/sns/https.h"
#include "base/strings.h"
#include "jobs/process.h"

extern char** environ;

namespace stageline::sns {

namespace {

using std::chrono::milliseconds;

// Closes a descriptor once.
struct FdCloser {
  int fd = -1;
  ~FdCloser() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// A URL of an http or https endpoint, split.
struct Url {
  bool tls = false;
  std::string host;  // without brackets
  uint16_t port = 80;
  std::string target;  // path?query, "/" at least
  std::string host_header;
};

Result<Url> parse_url(std::string_view url) {
  Url u;
  if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else if (url.starts_with("https://")) {
    url.remove_prefix(8);
    u.tls = true;
    u.port = 443;
  } else {
    return Status::invalid("not an http or https URL");
  }
  size_t slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (u.target.front() == '?') u.target = "/" + u.target;
  if (authority.find('@') != std::string_view::npos)
    return Status::invalid("user information in the URL is not supported");
  u.host_header = std::string(authority);
  std::string_view port;
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::invalid("unterminated IPv6 literal");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Status::invalid("junk after the IPv6 literal");
      port = rest.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return Status::invalid("no host");
  if (!port.empty()) {
    int p = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || p > 65535) return Status::invalid("bad port");
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535) return Status::invalid("bad port");
    u.port = static_cast<uint16_t>(p);
  }
  return u;
}

}  // namespace

std::string delivery_body(const Delivery& d) {
  if (d.raw && d.message.type == MessageType::kNotification) return d.message.message;
  return to_json(d.message);
}

Status SystemTransport::send(const Delivery& delivery) {
  if (delivery.protocol == "http" || delivery.protocol == "https") return send_http(delivery);
  if (delivery.protocol == kFileProtocol) return send_file(delivery);
  if (delivery.protocol == kProgramProtocol) return send_program(delivery);
  return Status::invalid("protocol " + delivery.protocol + " cannot be delivered to");
}

Status SystemTransport::send_http(const Delivery& d) {
  auto url = parse_url(d.endpoint);
  if (!url.ok()) return url.status().with_context("POST " + d.endpoint);
  api::sigv4::HttpRequest request;
  request.method = "POST";
  request.target = url->target;
  request.headers = {
      {"Host", url->host_header},
      {"Content-Type", "text/plain; charset=UTF-8"},
      {"User-Agent", "Amazon Simple Notification Service Agent"},
      {"x-amz-sns-message-type", std::string(to_string(d.message.type))},
      {"x-amz-sns-message-id", d.message.message_id},
      {"x-amz-sns-topic-arn", d.message.topic_arn},
  };
  if (d.message.type == MessageType::kNotification) {
    request.headers.emplace_back("x-amz-sns-subscription-arn", d.subscription_arn);
    if (d.raw) request.headers.emplace_back("x-amz-sns-rawdelivery", "true");
  }
  request.body = delivery_body(d);
  int status = 0;
  if (url->tls) {
    auto answered = https_post(url->host, url->port, request, options_.http_timeout);
    if (!answered.ok()) return answered.status().with_context("POST " + d.endpoint);
    status = *answered;
  } else {
    api::client::Endpoint endpoint;
    endpoint.host = url->host;
    endpoint.port = url->port;
    api::client::HttpOptions options;
    options.timeout = options_.http_timeout;
    auto exchange = api::client::exchange_http(endpoint, request, options);
    if (!exchange.response.ok()) {
      // The client's own wording for a refused connection speaks of a
      // Stageline server; here it is the subscriber's.
      std::string why = exchange.failure == api::client::TransportFailure::kRefused
                            ? "connection refused"
                            : exchange.response.status().message();
      return Status::io("POST " + d.endpoint + ": " + why);
    }
    status = exchange.response->status;
  }
  if (status < 200 || status > 299)
    return Status::io("POST " + d.endpoint + ": the endpoint answered HTTP " +
                      std::to_string(status));
  return Status();
}

Status SystemTransport::send_file(const Delivery& d) {
  if (!d.endpoint.starts_with("/")) return Status::invalid(d.endpoint + " is not an absolute path");
  std::string line = delivery_body(d);
  // JSON documents never hold a raw newline; a raw message might, and would
  // then span lines.
  line += '\n';
  FdCloser fd{::open(d.endpoint.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)};
  if (fd.fd < 0) return Status::io("open " + d.endpoint + ": " + std::strerror(errno));
  // One write of the whole line: with O_APPEND, concurrent writers do not
  // interleave within it on a local file system.
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd.fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::io("append to " + d.endpoint + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  if (::close(fd.fd) != 0) {
    fd.fd = -1;
    return Status::io("append to " + d.endpoint + ": " + std::strerror(errno));
  }
  fd.fd = -1;
  return Status();
}

Status SystemTransport::send_program(const Delivery& d) {
  const std::string what = "program " + quote(d.endpoint, 80);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Status::io(what + ": pipe: " + std::strerror(errno));
  FdCloser read_end{pipefd[0]}, write_end{pipefd[1]};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, read_end.fd, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  std::vector<std::string> env_strings = {
      "PATH=" + options_.path_env,
      "LANG=C.UTF-8",
      "SNS_MESSAGE_TYPE=" + std::string(to_string(d.message.type)),
      "SNS_MESSAGE_ID=" + d.message.message_id,
      "SNS_TOPIC_ARN=" + d.message.topic_arn,
      "SNS_SUBSCRIPTION_ARN=" + d.subscription_arn,
      "SNS_SUBJECT=" + d.message.subject,
  };
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", command = d.endpoint;
  char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::io(what + ": spawn /bin/sh: " + std::strerror(rc));
  read_end.reset();

  const auto deadline = std::chrono::steady_clock::now() + options_.program_timeout;
  auto remaining_ms = [&deadline] {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  };
  // A program that exits without reading its stdin must not kill the
  // server with SIGPIPE: the write gets EPIPE instead, with SIGPIPE blocked
  // on this thread and any pending one taken before it is unblocked.
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  const std::string body = delivery_body(d);
  std::string failure;
  int flags = ::fcntl(write_end.fd, F_GETFL);
  ::fcntl(write_end.fd, F_SETFL, flags | O_NONBLOCK);
  for (size_t done = 0; done < body.size();) {
    pollfd p{write_end.fd, POLLOUT, 0};
    int ready = ::poll(&p, 1, remaining_ms());
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      failure = "timed out writing its stdin";
      break;
    }
    ssize_t n = ::write(write_end.fd, body.data() + done, body.size() - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) break;  // EPIPE: it closed stdin; its exit status says the rest
    done += static_cast<size_t>(n);
  }
  write_end.reset();
  timespec zero{0, 0};
  while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);

  int wstatus = 0;
  bool reaped = false;
  while (failure.empty()) {
    pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) {
      reaped = true;
      break;
    }
    if (r < 0 && errno != EINTR) {
      failure = std::string("waitpid: ") + std::strerror(errno);
      break;
    }
    if (remaining_ms() == 0) {
      failure = "timed out after " + std::to_string(options_.program_timeout.count()) + " ms";
      break;
    }
    ::poll(nullptr, 0, std::min(remaining_ms(), 10));
  }
  if (!reaped) {
    // SIGTERM to its group, SIGKILL after a short grace.
    ::kill(-pid, SIGTERM);
    for (int i = 0; i < 100 && !reaped; ++i) {
      if (::waitpid(pid, &wstatus, WNOHANG) == pid) reaped = true;
      if (!reaped) ::poll(nullptr, 0, 10);
    }
    if (!reaped) {
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
      }
    }
    return Status::io(what + ": " + failure);
  }
  jobs::ExitStatus exit = jobs::decode_wait_status(wstatus);
  if (!exit.success()) return Status::io(what + ": " + exit.describe());
  return Status();
}

std::optional<milliseconds> retry_delay(const std::vector<milliseconds>& retry_delays,
                                        int failed_attempts) {
  STAGELINE_CHECK(failed_attempts >= 1);
  if (static_cast<size_t>(failed_attempts) > retry_delays.size()) return std::nullopt;
  return retry_delays[static_cast<size_t>(failed_attempts) - 1];
}

Deliverer::Deliverer(const SigningKey& key, Transport& transport, Options options)
    : key_(key), transport_(transport), options_(std::move(options)) {}

Deliverer::~Deliverer() { stop(); }

Deliverer::Clock::time_point Deliverer::now() const {
  return options_.now ? options_.now() : Clock::now();
}

void Deliverer::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

void Deliverer::start() {
  STAGELINE_CHECK(!thread_.joinable());
  thread_ = std::thread([this] { loop(); });
}

void Deliverer::stop() {
  size_t dropped = 0;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped = items_.size();
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    if (dropped > 0)
      log("sns: stopping with " + std::to_string(dropped) + " deliveries not made (they are lost)");
  }
}

Status Deliverer::enqueue(std::vector<Delivery> deliveries) {
  if (deliveries.empty()) return Status();
  const auto t = now();
  {
    std::lock_guard lock(mu_);
    if (items_.size() + deliveries.size() > options_.queue_limit)
      return {StatusCode::kFailedPrecondition,
              "the delivery queue is full (" + std::to_string(items_.size()) + " waiting)"};
    // New items are due now: after every item already due, before retries
    // due later.
    auto pos = items_.begin();
    while (pos != items_.end() && pos->due <= t) ++pos;
    std::vector<Item> fresh;
    for (auto& d : deliveries) fresh.push_back(Item{t, 0, false, std::move(d)});
    items_.insert(pos, std::make_move_iterator(fresh.begin()),
                  std::make_move_iterator(fresh.end()));
  }
  cv_.notify_all();
  return Status();
}

size_t Deliverer::pending() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

int Deliverer::run_due(Clock::time_point t) {
  std::vector<Item> due;
  {
    std::lock_guard lock(mu_);
    while (!items_.empty() && items_.front().due <= t) {
      due.push_back(std::move(items_.front()));
      items_.pop_front();
    }
  }
  int attempts = 0;
  std::vector<Item> retries;
  for (auto& item : due) {
    const Delivery& d = item.delivery;
    const std::string what = std::string(to_string(d.message.type)) + " " + d.message.message_id +
                             " to " + d.protocol + " " + d.endpoint;
    if (!item.signed_) {
      if (Status s = sign(item.delivery.message, key_); !s.ok()) {
        log("sns: " + what + ": " + s.message() + "; dropped");
        continue;
      }
      item.signed_ = true;
    }
    ++attempts;
    Status sent = transport_.send(item.delivery);
    if (sent.ok()) {
      if (item.failed_attempts > 0)
        log("sns: " + what + ": delivered on attempt " + std::to_string(item.failed_attempts + 1));
      continue;
    }
    ++item.failed_attempts;
    auto delay = retry_delay(options_.retry_delays, item.failed_attempts);
    if (!delay) {
      log("sns: " + what + ": attempt " + std::to_string(item.failed_attempts) +
          " failed: " + sent.message() + "; giving up");
      continue;
    }
    log("sns: " + what + ": attempt " + std::to_string(item.failed_attempts) +
        " failed: " + sent.message() + "; retrying in " + std::to_string(delay->count()) + " ms");
    item.due = t + *delay;
    retries.push_back(std::move(item));
  }
  if (!retries.empty()) {
    std::lock_guard lock(mu_);
    for (auto& r : retries) {
      auto pos = items_.begin();
      while (pos != items_.end() && pos->due <= r.due) ++pos;
      items_.insert(pos, std::move(r));
    }
  }
  return attempts;
}

void Deliverer::loop() {
  // SIGPIPE from a subscriber that hangs up is an EPIPE on this thread.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (items_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto due = items_.front().due;
    if (due > now()) {
      cv_.wait_until(lock, due);
      continue;
    }
    lock.unlock();
    run_due(now());
    lock.lock();
  }
}

}  // namespace stageline::sns
