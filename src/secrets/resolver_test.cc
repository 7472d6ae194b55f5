#include "secrets/resolver.h"

#include <gtest/gtest.h>

#include "secrets/test_util.h"

namespace stageline::secrets {
namespace {

class ResolverTest : public testing::StoresFixture {
 protected:
  void SetUp() override {
    StoresFixture::SetUp();
    resolver_ = std::make_unique<StoreResolver>(*parameters_, *secrets_);
  }
  std::unique_ptr<StoreResolver> resolver_;
};

TEST(SecretReference, ReadsEveryOptionalPartAndKeepsAnArnWhole) {
  auto r = parse_secret_reference("db");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->secret_id, "db");
  EXPECT_EQ(r->json_key, "");
  r = parse_secret_reference("db:password:AWSPREVIOUS:v1");
  EXPECT_EQ(r->json_key, "password");
  EXPECT_EQ(r->version_stage, "AWSPREVIOUS");
  EXPECT_EQ(r->version_id, "v1");
  r = parse_secret_reference(
      "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbC123::"
      "AWSCURRENT");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->secret_id, "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbC123");
  EXPECT_EQ(r->json_key, "");
  EXPECT_EQ(r->version_stage, "AWSCURRENT");
  EXPECT_FALSE(parse_secret_reference(":key").ok());
  EXPECT_FALSE(parse_secret_reference("a:b:c:d:e").ok());
  EXPECT_FALSE(parse_secret_reference("arn:aws:secretsmanager:x").ok());
}

TEST_F(ResolverTest, ResolvesADecryptedParameter) {
  PutParameterRequest p;
  p.name = "/ci/token";
  p.value = "tok-123";
  p.type = "SecureString";
  ASSERT_TRUE(parameters_->put(p).ok());
  EXPECT_EQ(*resolver_->parameter("/ci/token"), "tok-123");
  EXPECT_EQ(*resolver_->parameter("/ci/token:1"), "tok-123");
  auto missing = resolver_->parameter("/ci/none");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "parameter does not exist: /ci/none");
}

TEST_F(ResolverTest, PicksAJsonKeyAndAStage) {
  CreateSecretRequest c;
  c.name = "db";
  c.payload.string_value = R"({"user":"admin","password":"old","port":5432})";
  ASSERT_TRUE(secrets_->create(c).ok());
  PutSecretValueRequest put{"db", "", {R"({"user":"admin","password":"new"})", std::nullopt}, {}};
  ASSERT_TRUE(secrets_->put_value(put).ok());
  EXPECT_EQ(*resolver_->secret("db:password"), "new");
  EXPECT_EQ(*resolver_->secret("db:password:AWSPREVIOUS"), "old");
  EXPECT_EQ(*resolver_->secret("db:port:AWSPREVIOUS"), "5432");
  EXPECT_EQ(*resolver_->secret("db"), R"({"user":"admin","password":"new"})");
  auto nokey = resolver_->secret("db:nope");
  EXPECT_EQ(nokey.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(nokey.status().message().find("nope"), std::string::npos);
  auto missing = resolver_->secret("ghost:password");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("ghost"), std::string::npos);
}

TEST_F(ResolverTest, JsonKeyOfAPlainStringIsAnError) {
  CreateSecretRequest c;
  c.name = "plain";
  c.payload.string_value = "just text";
  ASSERT_TRUE(secrets_->create(c).ok());
  EXPECT_EQ(*resolver_->secret("plain"), "just text");
  EXPECT_EQ(resolver_->secret("plain:key").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace stageline::secrets
