// api/sns/delivery: how SNS messages reach subscribers. A Deliverer owns a
// bounded queue and one delivery thread; the API enqueues from the control
// thread and never waits for an endpoint. Each delivery is signed once (on
// the delivery thread) and tried until it succeeds or the retry schedule
// runs out; every failure and every give-up is logged. Pending deliveries
// are kept in memory only: a stop or a crash loses them (docs/sns.md).
//
// Endpoints by protocol (what Transport::send does with them):
//   http, https       a POST of the JSON document (or the bare message with
//                     RawMessageDelivery), with the x-amz-sns-* headers; any
//                     2xx answer is success. https checks the server's
//                     certificate against the system's CA store.
//   stageline-file    the absolute path of a file; the document is appended
//                     as one line (JSON Lines).
//   stageline-program a shell command (/bin/sh -c); the document is its
//                     stdin; success is exit code 0 within the timeout, after
//                     which its process group is killed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/sns/message.h"
#include "api/sns/signing.h"
#include "base/status.h"

namespace stageline::sns {

inline constexpr std::string_view kFileProtocol = "stageline-file";
inline constexpr std::string_view kProgramProtocol = "stageline-program";

// One message for one subscription.
struct Delivery {
  std::string subscription_arn;  // "" for a confirmation sent before one exists
  std::string protocol;          // http, https, stageline-file, stageline-program
  std::string endpoint;
  bool raw = false;  // RawMessageDelivery: the message alone, not the document
  Message message;   // unsigned; the Deliverer signs it
};

// What a delivery carries once signed: the body to send.
std::string delivery_body(const Delivery& delivery);

// Sends one delivery once. Implementations are called on the delivery thread
// only.
class Transport {
 public:
  virtual ~Transport() = default;
  // Ok when the endpoint took it. Errors say why, for the log (kIo).
  virtual Status send(const Delivery& delivery) = 0;
};

// The real endpoints (see the header comment).
class SystemTransport final : public Transport {
 public:
  struct Options {
    std::chrono::milliseconds http_timeout = std::chrono::seconds(5);
    std::chrono::milliseconds program_timeout = std::chrono::seconds(30);
    std::string path_env = "/usr/local/bin:/usr/bin:/bin";  // a program's PATH
  };
  explicit SystemTransport(Options options) : options_(std::move(options)) {}
  Status send(const Delivery& delivery) override;

 private:
  Status send_http(const Delivery& delivery);
  Status send_file(const Delivery& delivery);
  Status send_program(const Delivery& delivery);
  Options options_;
};

// The wait before attempt `failed_attempts` + 1, or nullopt when the
// schedule is used up: retry_delays[failed_attempts - 1].
// REQUIRES: failed_attempts >= 1.
std::optional<std::chrono::milliseconds> retry_delay(
    const std::vector<std::chrono::milliseconds>& retry_delays, int failed_attempts);

class Deliverer {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    // The waits before the second, third, ... attempt: with the defaults, 4
    // attempts within about 45 seconds.
    std::vector<std::chrono::milliseconds> retry_delays = {
        std::chrono::seconds(2), std::chrono::seconds(10), std::chrono::seconds(30)};
    size_t queue_limit = 10000;  // deliveries waiting, retries included
    // Told about each failed attempt and each give-up, on the delivery
    // thread (the server posts it to the control thread).
    std::function<void(const std::string&)> log;
    // Empty: Clock::now. Tests give a fake and call run_due themselves.
    std::function<Clock::time_point()> now;
  };

  // `key` and `transport` are borrowed and must outlive the Deliverer.
  Deliverer(const SigningKey& key, Transport& transport, Options options);
  // Stops the thread (see stop()).
  ~Deliverer();
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  // Starts the delivery thread. REQUIRES: not started.
  void start();
  // Stops and joins the delivery thread; an attempt in progress finishes
  // first. Deliveries still queued are dropped (and counted in the log).
  void stop();

  // Queues every one of `deliveries` to be tried now, or none of them.
  // Errors (kFailedPrecondition): the queue would grow past queue_limit.
  // Thread-safe.
  Status enqueue(std::vector<Delivery> deliveries);

  // Tries every delivery due at `now`, in the order they became due, and
  // schedules the retries of those that failed. Returns how many attempts it
  // made. Called by the delivery thread; tests call it directly without
  // start().
  int run_due(Clock::time_point now);

  // Deliveries queued (retries included). Thread-safe.
  size_t pending() const;

 private:
  struct Item {
    Clock::time_point due;
    int failed_attempts = 0;
    bool signed_ = false;
    Delivery delivery;
  };
  Clock::time_point now() const;
  void loop();
  void log(const std::string& line) const;

  const SigningKey& key_;
  Transport& transport_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;  // ordered by due
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace stageline::sns
