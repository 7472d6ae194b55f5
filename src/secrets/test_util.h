// Test helpers of src/secrets: a store in memory, a fixed key, a clock.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "secrets/parameter_store.h"
#include "secrets/secret_store.h"
#include "store/sqlite_store.h"

namespace stageline::secrets::testing {

inline std::array<unsigned char, 32> test_key(unsigned char fill = 7) {
  std::array<unsigned char, 32> k{};
  k.fill(fill);
  return k;
}

class StoresFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    ParameterStoreOptions p;
    p.region = "eu-west-1";
    p.account_id = "123456789012";
    p.now_ms = [this] { return now_; };
    parameters_ = std::make_unique<ParameterStore>(*store_, sealer_, p);
    SecretStoreOptions s;
    s.region = "eu-west-1";
    s.account_id = "123456789012";
    s.now_ms = [this] { return now_; };
    s.new_id = [this] { return "00000000-0000-0000-0000-00000000000" + std::to_string(++ids_); };
    s.random_suffix = [] { return std::string("AbC123"); };
    secrets_ = std::make_unique<SecretStore>(*store_, sealer_, s);
  }

  int64_t now_ = 1'700'000'000'000;
  int ids_ = 0;
  FileKeySealer sealer_{test_key()};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<ParameterStore> parameters_;
  std::unique_ptr<SecretStore> secrets_;
};

}  // namespace stageline::secrets::testing
