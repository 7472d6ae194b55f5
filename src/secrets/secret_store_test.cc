#include "secrets/secret_store.h"

#include <gtest/gtest.h>

#include "secrets/test_util.h"

namespace stageline::secrets {
namespace {

using SecretStoreTest = testing::StoresFixture;

CreateSecretRequest create(std::string name, std::string value) {
  CreateSecretRequest r;
  r.name = std::move(name);
  r.payload.string_value = std::move(value);
  return r;
}

TEST_F(SecretStoreTest, CreateGivesAnArnWithSixCharacterSuffixAndACurrentVersion) {
  auto made = secrets_->create(create("prod/db", "hunter2"));
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(made->arn, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123");
  EXPECT_FALSE(made->version_id.empty());
  auto got = secrets_->get_value("prod/db", "", "");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->payload.string_value, "hunter2");
  EXPECT_EQ(got->stages, std::vector<std::string>{"AWSCURRENT"});
  auto by_arn = secrets_->get_value(made->arn, "", "");
  ASSERT_TRUE(by_arn.ok()) << by_arn.status().message();
  EXPECT_EQ(by_arn->version_id, made->version_id);
  EXPECT_EQ(
      secrets_->get_value(made->arn.substr(0, made->arn.size() - 1) + "X", "", "").status().code(),
      StatusCode::kNotFound);
  auto stored = store_->get_resource("secretsmanager", "secret", "prod/db");
  EXPECT_EQ(stored->document_json.find("hunter2"), std::string::npos);
}

TEST_F(SecretStoreTest, PutSecretValueMovesCurrentAndPrevious) {
  auto v1 = secrets_->create(create("s", "one"));
  PutSecretValueRequest put{"s", "", {std::string("two"), std::nullopt}, {}};
  auto v2 = secrets_->put_value(put);
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  put.payload.string_value = "three";
  auto v3 = secrets_->put_value(put);
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(secrets_->get_value("s", "", "")->payload.string_value, "three");
  EXPECT_EQ(secrets_->get_value("s", "", "AWSPREVIOUS")->payload.string_value, "two");
  EXPECT_EQ(secrets_->get_value("s", v1->version_id, "")->payload.string_value, "one");
  EXPECT_TRUE(secrets_->get_value("s", v1->version_id, "")->stages.empty());
  EXPECT_EQ(secrets_->get_value("s", "", "AWSPENDING").status().code(), StatusCode::kNotFound);
  auto info = secrets_->describe("s");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->versions.size(), 2u);
}

TEST_F(SecretStoreTest, ARetriedTokenIsIdempotentButNotWithAnotherValue) {
  ASSERT_TRUE(secrets_->create(create("s", "one")).ok());
  PutSecretValueRequest put{"s", "token-0000000000000000000000000001", {"two", std::nullopt}, {}};
  auto first = secrets_->put_value(put);
  auto again = secrets_->put_value(put);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version_id, first->version_id);
  put.payload.string_value = "other";
  EXPECT_EQ(secrets_->put_value(put).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(SecretStoreTest, KeepsBinarySecretsAsBytes) {
  CreateSecretRequest r;
  r.name = "bin";
  r.payload.binary_value = std::string("\0\x01\xff", 3);
  ASSERT_TRUE(secrets_->create(r).ok());
  auto got = secrets_->get_value("bin", "", "");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->payload.string_value);
  EXPECT_EQ(got->payload.binary_value, std::string("\0\x01\xff", 3));
  r.payload.string_value = "both";
  r.name = "both";
  EXPECT_EQ(secrets_->create(r).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SecretStoreTest, ExistingNameIsRefused) {
  ASSERT_TRUE(secrets_->create(create("s", "one")).ok());
  EXPECT_EQ(secrets_->create(create("s", "two")).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(SecretStoreTest, ScheduledDeletionRefusesTheValueUntilRestoredAndEndsAfterTheWindow) {
  ASSERT_TRUE(secrets_->create(create("s", "one")).ok());
  auto deleted = secrets_->remove("s", 7, false);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->deleted_ms, now_ + 7LL * 24 * 3600 * 1000);
  auto refused = secrets_->get_value("s", "", "");
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("marked for deletion"), std::string::npos);
  EXPECT_EQ(secrets_->create(create("s", "x")).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(secrets_->list(false)->empty());
  EXPECT_EQ(secrets_->list(true)->size(), 1u);
  ASSERT_TRUE(secrets_->restore("s").ok());
  EXPECT_EQ(secrets_->get_value("s", "", "")->payload.string_value, "one");
  ASSERT_TRUE(secrets_->remove("s", std::nullopt, false).ok());
  now_ += 31LL * 24 * 3600 * 1000;
  EXPECT_EQ(secrets_->describe("s").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(secrets_->create(create("s", "new")).ok());
}

TEST_F(SecretStoreTest, ForcedDeletionIsImmediateAndExclusiveWithAWindow) {
  ASSERT_TRUE(secrets_->create(create("s", "one")).ok());
  EXPECT_EQ(secrets_->remove("s", 7, true).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(secrets_->remove("s", 6, false).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(secrets_->remove("s", 31, false).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(secrets_->remove("s", std::nullopt, true).ok());
  EXPECT_EQ(secrets_->get_value("s", "", "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(secrets_->remove("s", std::nullopt, true).status().code(), StatusCode::kNotFound);
}

TEST_F(SecretStoreTest, ListIsInNameOrder) {
  ASSERT_TRUE(secrets_->create(create("b", "1")).ok());
  ASSERT_TRUE(secrets_->create(create("a", "2")).ok());
  auto all = secrets_->list(false);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "a");
  EXPECT_EQ((*all)[1].versions.size(), 1u);
}

}  // namespace
}  // namespace stageline::secrets
