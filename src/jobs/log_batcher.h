// jobs/log_batcher: an action's output cut into log lines and handed to a
// sink in batches (a store transaction per line would cost more than the
// commands that print them). A batch goes out when it reaches max_batch
// lines, and otherwise at most `interval` after its first line even when the
// action then prints nothing more (a compile that works silently, a sleep):
// a timer thread sees to that, so a live tail is never more than about one
// interval behind. A partial line waits for its '\n' (or the end); a line
// longer than max_line is cut. The destructor hands over what is left.
//
// Thread-safe: write() may be called from any thread; the sink is called with
// the batcher's lock held, from the writing thread or the timer thread, one
// call at a time. Part of stageline_runner; depends on base and model.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "model/execution.h"

namespace stageline::jobs {

class LogBatcher {
 public:
  struct Options {
    std::chrono::milliseconds interval = std::chrono::milliseconds(100);
    size_t max_batch = 256;
    size_t max_line = 64 * 1024;
    std::function<int64_t()> now_ms;  // the lines' times; the system clock when empty
  };
  using Sink = std::function<void(std::vector<model::LogLine>)>;

  LogBatcher(Sink sink, Options options);
  ~LogBatcher();  // hands over the partial line and the pending lines
  LogBatcher(const LogBatcher&) = delete;
  LogBatcher& operator=(const LogBatcher&) = delete;

  void write(std::string_view chunk);

 private:
  void flush_locked();
  int64_t now() const;

  Sink sink_;
  Options options_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<model::LogLine> pending_;
  std::string partial_;
  std::chrono::steady_clock::time_point first_pending_{};
  std::thread timer_;
};

}  // namespace stageline::jobs
