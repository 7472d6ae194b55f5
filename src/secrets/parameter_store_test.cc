#include "secrets/parameter_store.h"

#include <gtest/gtest.h>

#include "secrets/test_util.h"

namespace stageline::secrets {
namespace {

using ParameterStoreTest = testing::StoresFixture;

PutParameterRequest put(std::string name, std::string value, std::string type = "String") {
  PutParameterRequest r;
  r.name = std::move(name);
  r.value = std::move(value);
  r.type = std::move(type);
  return r;
}

TEST_F(ParameterStoreTest, PutThenGetReturnsVersionOneWithItsArn) {
  auto v = parameters_->put(put("/app/url", "https://example.com"));
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, 1);
  auto p = parameters_->get("/app/url", std::nullopt, false);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->value, "https://example.com");
  EXPECT_EQ(p->type, "String");
  EXPECT_EQ(p->version, 1);
  EXPECT_EQ(p->arn, "arn:aws:ssm:eu-west-1:123456789012:parameter/app/url");
  EXPECT_EQ(parameters_->arn("plain"), "arn:aws:ssm:eu-west-1:123456789012:parameter/plain");
}

TEST_F(ParameterStoreTest, ValuesAreNeverStoredInTheClear) {
  ASSERT_TRUE(parameters_->put(put("/db/password", "hunter2-plain", "SecureString")).ok());
  ASSERT_TRUE(parameters_->put(put("/db/host", "db.internal-plain")).ok());
  for (const char* name : {"/db/password", "/db/host"}) {
    auto r = store_->get_resource("ssm", "parameter", name);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->document_json.find("-plain"), std::string::npos) << r->document_json;
  }
}

TEST_F(ParameterStoreTest, SecureStringIsCiphertextUnlessDecryptionIsAsked) {
  ASSERT_TRUE(parameters_->put(put("/db/password", "hunter2", "SecureString")).ok());
  auto hidden = parameters_->get("/db/password", std::nullopt, false);
  ASSERT_TRUE(hidden.ok());
  EXPECT_NE(hidden->value, "hunter2");
  EXPECT_TRUE(base64_decode(hidden->value).ok());
  EXPECT_EQ(hidden->key_id, "alias/aws/ssm");
  auto shown = parameters_->get("/db/password", std::nullopt, true);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->value, "hunter2");
}

TEST_F(ParameterStoreTest, OverwriteIncrementsTheVersionAndKeepsOldOnes) {
  ASSERT_TRUE(parameters_->put(put("name", "one")).ok());
  auto again = parameters_->put(put("name", "two"));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  PutParameterRequest r = put("name", "two", "");
  r.overwrite = true;
  auto v = parameters_->put(r);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, 2);
  EXPECT_EQ(parameters_->get("name", std::nullopt, true)->value, "two");
  EXPECT_EQ(parameters_->get("name", 1, true)->value, "one");
  EXPECT_EQ(parameters_->get("name", 2, true)->type, "String");
  EXPECT_EQ(parameters_->get("name", 3, true).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(ParameterStoreTest, MissingParameterIsNotFoundAndDeleteRemovesIt) {
  EXPECT_EQ(parameters_->get("/nope", std::nullopt, true).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(parameters_->remove("/nope").code(), StatusCode::kNotFound);
  ASSERT_TRUE(parameters_->put(put("/yes", "v")).ok());
  EXPECT_TRUE(parameters_->remove("/yes").ok());
  EXPECT_EQ(parameters_->get("/yes", std::nullopt, true).status().code(), StatusCode::kNotFound);
}

TEST_F(ParameterStoreTest, RejectsBadNamesTypesAndANewParameterWithoutType) {
  EXPECT_EQ(parameters_->put(put("aws-thing", "v")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parameters_->put(put("/SSM/x", "v")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parameters_->put(put("a/b", "v")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parameters_->put(put("a b", "v")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parameters_->put(put("ok", "v", "Number")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(parameters_->put(put("ok", "", "String")).status().code(),
            StatusCode::kInvalidArgument);
  auto untyped = parameters_->put(put("ok", "v", ""));
  EXPECT_EQ(untyped.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(untyped.status().message().find("type is required"), std::string::npos);
  PutParameterRequest keyed = put("ok", "v", "String");
  keyed.key_id = "alias/mine";
  EXPECT_EQ(parameters_->put(keyed).status().code(), StatusCode::kInvalidArgument);
}

TEST(ParameterSelector, SplitsVersionsLabelsAndArns) {
  auto s = parse_parameter_selector("/a/b:3");
  EXPECT_EQ(s.name, "/a/b");
  EXPECT_EQ(s.version, 3);
  s = parse_parameter_selector("name:prod");
  EXPECT_EQ(s.name, "name");
  EXPECT_EQ(s.label, "prod");
  s = parse_parameter_selector("arn:aws:ssm:us-east-1:111122223333:parameter/a/b");
  EXPECT_EQ(s.name, "/a/b");
  EXPECT_FALSE(s.version);
  s = parse_parameter_selector("arn:aws:ssm:us-east-1:111122223333:parameter/top:2");
  EXPECT_EQ(s.name, "top");
  EXPECT_EQ(s.version, 2);
}

}  // namespace
}  // namespace stageline::secrets
