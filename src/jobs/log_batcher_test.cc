#include "jobs/log_batcher.h"

#include <gtest/gtest.h>

#include <atomic>

namespace stageline::jobs {
namespace {

using namespace std::chrono_literals;

// Collects the batches the sink is given.
struct Batches {
  std::mutex mu;
  std::vector<std::vector<std::string>> got;
  LogBatcher::Sink sink() {
    return [this](std::vector<model::LogLine> lines) {
      std::lock_guard lock(mu);
      std::vector<std::string> texts;
      for (auto& l : lines) texts.push_back(l.text);
      got.push_back(std::move(texts));
    };
  }
  std::vector<std::vector<std::string>> snapshot() {
    std::lock_guard lock(mu);
    return got;
  }
  // Waits up to `limit` for a first batch.
  bool wait_for_one(std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (!snapshot().empty()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
};

LogBatcher::Options options(std::chrono::milliseconds interval = 50ms) {
  return {interval, 256, 64 * 1024, [] { return int64_t{42}; }};
}

TEST(LogBatcher, LinesFollowedBySilenceAreHandedOverWithinTheInterval) {
  Batches b;
  LogBatcher batcher(b.sink(), options(50ms));
  batcher.write("compiling\nlinking");
  // The action now prints nothing for a long time: the complete line still
  // reaches the sink, the partial one waits for its end of line.
  ASSERT_TRUE(b.wait_for_one(2s)) << "the line stayed pending while the action was quiet";
  EXPECT_EQ(b.snapshot(), (std::vector<std::vector<std::string>>{{"compiling"}}));
  batcher.write(" done\n");
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE([&] {
    for (int i = 0; i < 400 && b.snapshot().size() < 2; ++i) std::this_thread::sleep_for(5ms);
    return b.snapshot().size() == 2;
  }());
  EXPECT_EQ(b.snapshot()[1], std::vector<std::string>{"linking done"});
}

TEST(LogBatcher, LinesWrittenCloseTogetherGoInOneBatch) {
  Batches b;
  {
    LogBatcher batcher(b.sink(), options(10s));
    for (int i = 0; i < 10; ++i) batcher.write("line " + std::to_string(i) + "\n");
    EXPECT_TRUE(b.snapshot().empty()) << "nothing before the interval or a full batch";
  }
  ASSERT_EQ(b.snapshot().size(), 1u);
  EXPECT_EQ(b.snapshot()[0].size(), 10u);
}

TEST(LogBatcher, AFullBatchGoesAtOnce) {
  Batches b;
  LogBatcher::Options o = options(10s);
  o.max_batch = 3;
  LogBatcher batcher(b.sink(), o);
  batcher.write("a\nb\n");
  EXPECT_TRUE(b.snapshot().empty());
  batcher.write("c\nd");
  EXPECT_EQ(b.snapshot(), (std::vector<std::vector<std::string>>{{"a", "b", "c"}}));
}

TEST(LogBatcher, TheEndHandsOverThePartialLineAndTheRest) {
  Batches b;
  {
    LogBatcher batcher(b.sink(), options(10s));
    batcher.write("one\ntwo without newline");
  }
  EXPECT_EQ(b.snapshot(), (std::vector<std::vector<std::string>>{{"one", "two without newline"}}));
}

TEST(LogBatcher, AVeryLongLineIsCutIntoPiecesOfTheLimit) {
  Batches b;
  {
    LogBatcher::Options o = options(10s);
    o.max_line = 4;
    LogBatcher batcher(b.sink(), o);
    batcher.write("abcdefghij");
  }
  EXPECT_EQ(b.snapshot(), (std::vector<std::vector<std::string>>{{"abcd", "efgh", "ij"}}));
}

TEST(LogBatcher, NothingWrittenMeansNoBatch) {
  Batches b;
  { LogBatcher batcher(b.sink(), options(1ms)); }
  EXPECT_TRUE(b.snapshot().empty());
}

TEST(LogBatcher, WritesFromManyThreadsLoseNoLine) {
  Batches b;
  {
    LogBatcher batcher(b.sink(), options(1ms));
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
      writers.emplace_back([&batcher] {
        for (int i = 0; i < 500; ++i) batcher.write("x\n");
      });
    for (auto& w : writers) w.join();
  }
  size_t lines = 0;
  for (const auto& batch : b.snapshot()) lines += batch.size();
  EXPECT_EQ(lines, 2000u);
}

}  // namespace
}  // namespace stageline::jobs
