#include "api/secrets/secrets_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "store/sqlite_store.h"

namespace stageline::secretsapi {
namespace {

namespace json = boost::json;

class SecretsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok());
    store_ = std::move(*opened);
    secrets::ParameterStoreOptions p;
    p.now_ms = [this] { return now_; };
    parameters_ = std::make_unique<secrets::ParameterStore>(*store_, sealer_, p);
    secrets::SecretStoreOptions s;
    s.now_ms = [this] { return now_; };
    s.new_id = [this] { return "11111111-2222-3333-4444-00000000000" + std::to_string(++ids_); };
    s.random_suffix = [] { return std::string("XyZ789"); };
    secret_store_ = std::make_unique<secrets::SecretStore>(*store_, sealer_, s);
    ssm_ = std::make_unique<SsmApi>(*parameters_);
    sm_ = std::make_unique<SecretsManagerApi>(*secret_store_, SecretsManagerApi::Options{1});
  }

  wire::Outcome<json::value> call(const wire::ServiceModel& model, const std::string& op,
                                  const std::string& body) {
    wire::Dispatcher dispatcher(model);
    const std::string target = model.metadata().target_prefix + "." + op;
    wire::Request request{target, std::string_view("application/x-amz-json-1.1"), body};
    auto decoded = dispatcher.dispatch(request);
    if (!decoded) return decoded.error();
    auto out = &model == &ssm_model() ? ssm_->call(*decoded, "arn:aws:iam::111122223333:user/a")
                                      : sm_->call(*decoded);
    if (out) {
      auto encoded = wire::encode_output(*decoded->operation, *out, wire::OutputCheck::kAlways);
      EXPECT_TRUE(encoded.ok()) << encoded.status().message();
    }
    return out;
  }
  json::object ssm(const std::string& op, const std::string& body) {
    auto out = call(ssm_model(), op, body);
    EXPECT_TRUE(out.ok()) << op << ": " << (out.ok() ? "" : out.error().message);
    return out.ok() ? out->as_object() : json::object();
  }
  json::object sm(const std::string& op, const std::string& body) {
    auto out = call(secretsmanager_model(), op, body);
    EXPECT_TRUE(out.ok()) << op << ": " << (out.ok() ? "" : out.error().message);
    return out.ok() ? out->as_object() : json::object();
  }
  std::string ssm_error(const std::string& op, const std::string& body) {
    auto out = call(ssm_model(), op, body);
    return out.ok() ? "ok" : out.error().type;
  }
  std::string sm_error(const std::string& op, const std::string& body) {
    auto out = call(secretsmanager_model(), op, body);
    return out.ok() ? "ok" : out.error().type + ": " + out.error().message;
  }

  int64_t now_ = 1'700'000'000'000;
  int ids_ = 0;
  secrets::FileKeySealer sealer_{std::array<unsigned char, 32>{}};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<secrets::ParameterStore> parameters_;
  std::unique_ptr<secrets::SecretStore> secret_store_;
  std::unique_ptr<SsmApi> ssm_;
  std::unique_ptr<SecretsManagerApi> sm_;
};

TEST_F(SecretsApiTest, PutParameterAndGetItBackWithAndWithoutDecryption) {
  auto put = ssm("PutParameter", R"({"Name":"/ci/pw","Value":"hunter2","Type":"SecureString"})");
  EXPECT_EQ(put["Version"].as_int64(), 1);
  auto plain = ssm("GetParameter", R"({"Name":"/ci/pw"})");
  EXPECT_NE(plain["Parameter"].at("Value").as_string(), "hunter2");
  auto clear = ssm("GetParameter", R"({"Name":"/ci/pw","WithDecryption":true})");
  EXPECT_EQ(clear["Parameter"].at("Value").as_string(), "hunter2");
  EXPECT_EQ(clear["Parameter"].at("Type").as_string(), "SecureString");
  EXPECT_EQ(ssm_error("PutParameter", R"({"Name":"/ci/pw","Value":"x"})"),
            "ParameterAlreadyExists");
  auto v2 = ssm("PutParameter", R"({"Name":"/ci/pw","Value":"x","Overwrite":true})");
  EXPECT_EQ(v2["Version"].as_int64(), 2);
  auto old = ssm("GetParameter", R"({"Name":"/ci/pw:1","WithDecryption":true})");
  EXPECT_EQ(old["Parameter"].at("Value").as_string(), "hunter2");
  EXPECT_EQ(old["Parameter"].at("Selector").as_string(), ":1");
  EXPECT_EQ(ssm_error("GetParameter", R"({"Name":"/ci/pw:9"})"), "ParameterVersionNotFound");
  EXPECT_EQ(ssm_error("GetParameter", R"({"Name":"/ci/none"})"), "ParameterNotFound");
  EXPECT_EQ(ssm_error("PutParameter", R"({"Name":"awsx","Value":"x","Type":"String"})"),
            "ValidationException");
}

TEST_F(SecretsApiTest, GetParametersListsTheMissingAsInvalid) {
  ssm("PutParameter", R"({"Name":"a","Value":"1","Type":"String"})");
  auto out = ssm("GetParameters", R"({"Names":["a","b"]})");
  ASSERT_EQ(out["Parameters"].as_array().size(), 1u);
  EXPECT_EQ(out["InvalidParameters"].as_array(), json::array{"b"});
  ssm("DeleteParameter", R"({"Name":"a"})");
  EXPECT_EQ(ssm_error("DeleteParameter", R"({"Name":"a"})"), "ParameterNotFound");
}

TEST_F(SecretsApiTest, SecretLifecycleThroughTheApi) {
  auto made = sm("CreateSecret", R"({"Name":"db","SecretString":"{\"password\":\"p1\"}",
      "ClientRequestToken":"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"})");
  EXPECT_EQ(made["ARN"].as_string(),
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-XyZ789");
  EXPECT_EQ(made["VersionId"].as_string(), "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa");
  EXPECT_EQ(sm_error("CreateSecret", R"({"Name":"db","SecretString":"x"})").substr(0, 23),
            "ResourceExistsException");
  auto put = sm("PutSecretValue", R"({"SecretId":"db","SecretBinary":"AAEC"})");
  EXPECT_EQ(put["VersionStages"].as_array(), json::array{"AWSCURRENT"});
  auto cur = sm("GetSecretValue",
                R"({"SecretId":"arn:aws:secretsmanager:us-east-1:111122223333:secret:db-XyZ789"})");
  EXPECT_EQ(cur["SecretBinary"].as_string(), "AAEC");
  EXPECT_FALSE(cur.contains("SecretString"));
  auto prev = sm("GetSecretValue", R"({"SecretId":"db","VersionStage":"AWSPREVIOUS"})");
  EXPECT_EQ(prev["SecretString"].as_string(), R"({"password":"p1"})");
  sm("CreateSecret", R"({"Name":"other","SecretString":"x"})");
  auto page = sm("ListSecrets", "{}");
  ASSERT_EQ(page["SecretList"].as_array().size(), 1u);
  EXPECT_EQ(page["NextToken"].as_string(), "1");
  auto filtered = sm("ListSecrets", R"({"Filters":[{"Key":"name","Values":["oth"]}]})");
  ASSERT_EQ(filtered["SecretList"].as_array().size(), 1u);
  EXPECT_EQ(filtered["SecretList"].as_array()[0].at("Name").as_string(), "other");

  auto deleted = sm("DeleteSecret", R"({"SecretId":"db","RecoveryWindowInDays":7})");
  EXPECT_DOUBLE_EQ(deleted["DeletionDate"].to_number<double>(), 1'700'000'000.0 + 7 * 86400);
  std::string refused = sm_error("GetSecretValue", R"({"SecretId":"db"})");
  EXPECT_EQ(refused.substr(0, 23), "InvalidRequestException");
  EXPECT_NE(refused.find("marked for deletion"), std::string::npos);
  EXPECT_EQ(sm_error("DeleteSecret", R"({"SecretId":"other","RecoveryWindowInDays":7,
      "ForceDeleteWithoutRecovery":true})")
                .substr(0, 25),
            "InvalidParameterException");
  sm("DeleteSecret", R"({"SecretId":"other","ForceDeleteWithoutRecovery":true})");
  EXPECT_EQ(sm_error("GetSecretValue", R"({"SecretId":"other"})").substr(0, 25),
            "ResourceNotFoundException");
  EXPECT_EQ(sm_error("RotateSecret", R"({"SecretId":"db"})").substr(0, 23),
            "InvalidRequestException");
}

}  // namespace
}  // namespace stageline::secretsapi
