// kms/test_util: what the kms tests share: a temporary directory (the
// artifacts tests') and a key ring over an in-memory SQLite store with a
// settable clock.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "artifacts/test_util.h"
#include "base/ids.h"
#include "kms/key_ring.h"
#include "store/sqlite_store.h"

namespace stageline::kms::testing {

namespace fs = std::filesystem;

using artifacts::testing::TempDir;  // kms links artifacts

// A key ring in DIR/kms over a fresh in-memory store; the clock starts at
// 2024-01-01 and moves only when a test sets `now`.
class KeyRingFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    KeyRingOptions options;
    options.dir = dir_ / "kms";
    options.now_ms = [this] { return now_.load(); };
    options.new_id = [] { return new_uuid(); };
    keys_ = std::make_unique<KeyRing>(*store_, options);
  }

  KeyMetadata make_key(const std::string& description = "test key") {
    auto key = keys_->create_key(description);
    EXPECT_TRUE(key.ok()) << key.status().message();
    return key.ok() ? *key : KeyMetadata{};
  }

  TempDir dir_;
  std::atomic<int64_t> now_{1704067200000};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<KeyRing> keys_;
};

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace stageline::kms::testing
