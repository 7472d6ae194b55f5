#include "api/kms/kms_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "kms/crypto.h"
#include "kms/test_util.h"

namespace stageline::kms {
namespace {

namespace json = boost::json;

class KmsApiTest : public testing::KeyRingFixture {
 protected:
  void SetUp() override {
    KeyRingFixture::SetUp();
    api_ = std::make_unique<KmsApi>(*keys_, KmsApiOptions{});
  }

  wire::Outcome<json::value> call(const std::string& op, const std::string& body) {
    const wire::ServiceModel& model = kms_model();
    wire::Dispatcher dispatcher(model);
    const std::string target = model.metadata().target_prefix + "." + op;
    wire::Request request{target, std::string_view("application/x-amz-json-1.1"), body};
    auto decoded = dispatcher.dispatch(request);
    if (!decoded) return decoded.error();
    auto out = api_->call(*decoded);
    if (out) {
      auto encoded = wire::encode_output(*decoded->operation, *out, wire::OutputCheck::kAlways);
      EXPECT_TRUE(encoded.ok()) << encoded.status().message();
    }
    return out;
  }

  // The call's output as an object; fails the test if it failed.
  json::object ok(const std::string& op, const std::string& body) {
    auto out = call(op, body);
    EXPECT_TRUE(out.ok()) << op << ": "
                          << (out.ok() ? "" : out.error().type + " " + out.error().message);
    return out.ok() ? out->as_object() : json::object();
  }

  std::string error_of(const std::string& op, const std::string& body) {
    auto out = call(op, body);
    EXPECT_FALSE(out.ok()) << op << " succeeded";
    return out.ok() ? "" : out.error().type;
  }

  std::string new_key_id() {
    auto made = ok("CreateKey", R"({"Description":"k"})");
    return std::string(made["KeyMetadata"].as_object()["KeyId"].as_string());
  }

  std::unique_ptr<KmsApi> api_;
};

std::string s(const json::value& v) { return std::string(v.as_string()); }

TEST_F(KmsApiTest, CreateKeyAnswersTheMetadataDescribeKeyFindsByAlias) {
  auto made =
      ok("CreateKey", R"({"Description":"pipeline artifacts","KeySpec":"SYMMETRIC_DEFAULT"})");
  const json::object& m = made["KeyMetadata"].as_object();
  EXPECT_EQ(s(m.at("KeyState")), "Enabled");
  EXPECT_EQ(m.at("Enabled").as_bool(), true);
  EXPECT_EQ(s(m.at("KeyUsage")), "ENCRYPT_DECRYPT");
  EXPECT_EQ(s(m.at("KeyManager")), "CUSTOMER");
  EXPECT_EQ(s(m.at("Description")), "pipeline artifacts");
  const std::string id = s(m.at("KeyId"));
  EXPECT_EQ(s(m.at("Arn")), "arn:aws:kms:us-east-1:111122223333:key/" + id);

  ok("CreateAlias", R"({"AliasName":"alias/artifacts","TargetKeyId":")" + id + "\"}");
  auto described = ok("DescribeKey", R"({"KeyId":"alias/artifacts"})");
  EXPECT_EQ(s(described["KeyMetadata"].as_object().at("KeyId")), id);
}

TEST_F(KmsApiTest, EncryptThenDecryptWithoutKeyIdRoundTripsUnderTheSameContext) {
  const std::string id = new_key_id();
  const std::string plain = base64_encode("hello, world");
  auto enc = ok("Encrypt", R"({"KeyId":")" + id + R"(","Plaintext":")" + plain +
                               R"(","EncryptionContext":{"stage":"build","app":"x"}})");
  EXPECT_EQ(s(enc["KeyId"]), "arn:aws:kms:us-east-1:111122223333:key/" + id);
  EXPECT_EQ(s(enc["EncryptionAlgorithm"]), "SYMMETRIC_DEFAULT");
  const std::string blob = s(enc["CiphertextBlob"]);
  auto dec = ok("Decrypt", R"({"CiphertextBlob":")" + blob +
                               R"(","EncryptionContext":{"app":"x","stage":"build"}})");
  EXPECT_EQ(s(dec["Plaintext"]), plain);
  EXPECT_EQ(s(dec["KeyId"]), s(enc["KeyId"]));

  EXPECT_EQ(error_of("Decrypt", R"({"CiphertextBlob":")" + blob + R"("})"),
            "InvalidCiphertextException");
  EXPECT_EQ(error_of("Decrypt", R"({"CiphertextBlob":")" + base64_encode("not ours") + R"("})"),
            "InvalidCiphertextException");
  const std::string other = new_key_id();
  EXPECT_EQ(error_of("Decrypt", R"({"CiphertextBlob":")" + blob + R"(","KeyId":")" + other +
                                    R"(","EncryptionContext":{"app":"x","stage":"build"}})"),
            "IncorrectKeyException");
}

TEST_F(KmsApiTest, ErrorsAreTheOnesAwsNames) {
  EXPECT_EQ(error_of("DescribeKey", R"({"KeyId":"alias/none"})"), "NotFoundException");
  EXPECT_EQ(error_of("DescribeKey", R"({"KeyId":"0b8e3f4c-1234-4abc-8def-0123456789ab"})"),
            "NotFoundException");
  const std::string id = new_key_id();
  ok("CreateAlias", R"({"AliasName":"alias/a","TargetKeyId":")" + id + "\"}");
  EXPECT_EQ(error_of("CreateAlias", R"({"AliasName":"alias/a","TargetKeyId":")" + id + "\"}"),
            "AlreadyExistsException");
  EXPECT_EQ(
      error_of("CreateAlias", R"({"AliasName":"alias/aws/mine","TargetKeyId":")" + id + "\"}"),
      "InvalidAliasNameException");
  EXPECT_EQ(error_of("CreateKey", R"({"KeySpec":"RSA_2048"})"), "UnsupportedOperationException");
  EXPECT_EQ(error_of("CreateKey", R"({"KeyUsage":"SIGN_VERIFY"})"),
            "UnsupportedOperationException");
  EXPECT_EQ(error_of("ListKeys", R"({"Marker":"junk"})"), "InvalidMarkerException");
  EXPECT_EQ(error_of("GenerateDataKey", R"({"KeyId":")" + id + "\"}"), "ValidationException");
  EXPECT_EQ(error_of("GenerateDataKey",
                     R"({"KeyId":")" + id + R"(","KeySpec":"AES_256","NumberOfBytes":32})"),
            "ValidationException");
  EXPECT_EQ(error_of("GenerateRandom", R"({"NumberOfBytes":8})"), "UnsupportedOperationException");
  EXPECT_EQ(error_of("Encrypt", R"({"KeyId":")" + id + R"(","Plaintext":"eA==",)" +
                                    R"("EncryptionAlgorithm":"RSAES_OAEP_SHA_1"})"),
            "InvalidKeyUsageException");

  ok("DisableKey", R"({"KeyId":")" + id + "\"}");
  EXPECT_EQ(error_of("Encrypt", R"({"KeyId":"alias/a","Plaintext":"eA=="})"), "DisabledException");
  ok("EnableKey", R"({"KeyId":")" + id + "\"}");
  ok("Encrypt", R"({"KeyId":"alias/a","Plaintext":"eA=="})");
}

TEST_F(KmsApiTest, ScheduleKeyDeletionLeavesTheKeyPendingAndUnusable) {
  const std::string id = new_key_id();
  auto scheduled =
      ok("ScheduleKeyDeletion", R"({"KeyId":")" + id + R"(","PendingWindowInDays":7})");
  EXPECT_EQ(s(scheduled["KeyState"]), "PendingDeletion");
  EXPECT_EQ(scheduled["PendingWindowInDays"].as_int64(), 7);
  EXPECT_DOUBLE_EQ(scheduled["DeletionDate"].as_double(),
                   static_cast<double>(now_.load() + 7 * 86400000LL) / 1000.0);
  auto described = ok("DescribeKey", R"({"KeyId":")" + id + "\"}");
  EXPECT_EQ(s(described["KeyMetadata"].as_object()["KeyState"]), "PendingDeletion");
  EXPECT_EQ(described["KeyMetadata"].as_object()["Enabled"].as_bool(), false);
  EXPECT_EQ(error_of("Encrypt", R"({"KeyId":")" + id + R"(","Plaintext":"eA=="})"),
            "KMSInvalidStateException");
  EXPECT_EQ(error_of("ScheduleKeyDeletion", R"({"KeyId":")" + id + "\"}"),
            "KMSInvalidStateException");
  ok("CancelKeyDeletion", R"({"KeyId":")" + id + "\"}");
  auto cancelled = ok("DescribeKey", R"({"KeyId":")" + id + "\"}");
  EXPECT_EQ(s(cancelled["KeyMetadata"].as_object()["KeyState"]), "Disabled");
}

TEST_F(KmsApiTest, GenerateDataKeyGivesAKeyThatDecryptReturns) {
  const std::string id = new_key_id();
  auto dk = ok("GenerateDataKey", R"({"KeyId":")" + id + R"(","KeySpec":"AES_128"})");
  auto plain = base64_decode(s(dk["Plaintext"]));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->size(), 16u);
  auto dec = ok("Decrypt", R"({"CiphertextBlob":")" + s(dk["CiphertextBlob"]) + R"("})");
  EXPECT_EQ(s(dec["Plaintext"]), s(dk["Plaintext"]));
  auto bare =
      ok("GenerateDataKeyWithoutPlaintext", R"({"KeyId":")" + id + R"(","NumberOfBytes":64})");
  EXPECT_FALSE(bare.contains("Plaintext"));
  auto back = ok("Decrypt", R"({"CiphertextBlob":")" + s(bare["CiphertextBlob"]) + R"("})");
  EXPECT_EQ(base64_decode(s(back["Plaintext"]))->size(), 64u);
}

TEST_F(KmsApiTest, ListKeysAndListAliasesPageWithMarkerAndTruncated) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(new_key_id());
  std::sort(ids.begin(), ids.end());
  auto first = ok("ListKeys", R"({"Limit":2})");
  ASSERT_EQ(first["Keys"].as_array().size(), 2u);
  EXPECT_EQ(first["Truncated"].as_bool(), true);
  EXPECT_EQ(s(first["Keys"].as_array()[0].as_object()["KeyId"]), ids[0]);
  auto second = ok("ListKeys", R"({"Limit":2,"Marker":")" + s(first["NextMarker"]) + "\"}");
  ASSERT_EQ(second["Keys"].as_array().size(), 1u);
  EXPECT_EQ(s(second["Keys"].as_array()[0].as_object()["KeyId"]), ids[2]);
  EXPECT_EQ(second["Truncated"].as_bool(), false);
  EXPECT_FALSE(second.contains("NextMarker"));

  for (const char* a : {"alias/x", "alias/y", "alias/z"})
    ok("CreateAlias",
       R"({"AliasName":")" + std::string(a) + R"(","TargetKeyId":")" + ids[1] + "\"}");
  auto aliases = ok("ListAliases", R"({"Limit":2})");
  ASSERT_EQ(aliases["Aliases"].as_array().size(), 2u);
  EXPECT_EQ(aliases["Truncated"].as_bool(), true);
  const json::object& a0 = aliases["Aliases"].as_array()[0].as_object();
  EXPECT_EQ(s(a0.at("AliasName")), "alias/x");
  EXPECT_EQ(s(a0.at("AliasArn")), "arn:aws:kms:us-east-1:111122223333:alias/x");
  EXPECT_EQ(s(a0.at("TargetKeyId")), ids[1]);
  auto rest = ok("ListAliases", R"({"Marker":")" + s(aliases["NextMarker"]) + "\"}");
  ASSERT_EQ(rest["Aliases"].as_array().size(), 1u);
  auto of_other = ok("ListAliases", R"({"KeyId":")" + ids[0] + "\"}");
  EXPECT_TRUE(of_other["Aliases"].as_array().empty());
  ok("DeleteAlias", R"({"AliasName":"alias/y"})");
  EXPECT_EQ(error_of("DeleteAlias", R"({"AliasName":"alias/y"})"), "NotFoundException");
}

}  // namespace
}  // namespace stageline::kms
