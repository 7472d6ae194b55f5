#include "jobs/log_batcher.h"

namespace stageline::jobs {

LogBatcher::LogBatcher(Sink sink, Options options)
    : sink_(std::move(sink)), options_(std::move(options)) {
  timer_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (pending_.empty()) {
        wake_.wait(lock);
      } else if (wake_.wait_until(lock, first_pending_ + options_.interval) ==
                     std::cv_status::timeout &&
                 !pending_.empty() &&
                 std::chrono::steady_clock::now() >= first_pending_ + options_.interval) {
        flush_locked();
      }
    }
  });
}

LogBatcher::~LogBatcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  timer_.join();
  std::lock_guard lock(mu_);
  if (!partial_.empty()) pending_.push_back({"", 0, now(), std::move(partial_)});
  flush_locked();
}

int64_t LogBatcher::now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void LogBatcher::write(std::string_view chunk) {
  std::lock_guard lock(mu_);
  const bool was_empty = pending_.empty();
  partial_.append(chunk);
  size_t nl;
  while ((nl = partial_.find('\n')) != std::string::npos) {
    pending_.push_back({"", 0, now(), partial_.substr(0, nl)});
    partial_.erase(0, nl + 1);
  }
  while (partial_.size() > options_.max_line) {  // a very long line is cut, not held forever
    pending_.push_back({"", 0, now(), partial_.substr(0, options_.max_line)});
    partial_.erase(0, options_.max_line);
  }
  if (pending_.size() >= options_.max_batch) {
    flush_locked();
  } else if (was_empty && !pending_.empty()) {
    first_pending_ = std::chrono::steady_clock::now();
    wake_.notify_all();  // the timer starts counting for this batch
  }
}

void LogBatcher::flush_locked() {
  if (pending_.empty()) return;
  std::vector<model::LogLine> batch;
  batch.swap(pending_);
  sink_(std::move(batch));
}

}  // namespace stageline::jobs
