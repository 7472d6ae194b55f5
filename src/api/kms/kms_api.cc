#include "api/kms/kms_api.h"

#include <boost/json.hpp>

#include "api/wire/embedded.h"
#include "base/strings.h"
#include "kms/crypto.h"

namespace stageline::kms {

namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool has(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && !v->is_null();
}

int64_t integer(const json::object& o, std::string_view key, int64_t fallback) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : fallback;
}

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

EncryptionContext context_of(const json::object& in) {
  EncryptionContext context;
  const json::value* v = in.if_contains("EncryptionContext");
  if (v && v->is_object())
    for (const auto& [k, val] : v->as_object())
      if (val.is_string()) context[std::string(k)] = std::string(val.as_string());
  return context;
}

wire::Error validation(const std::string& message) {
  return wire::common_error(wire::CommonError::kValidation, message);
}

// A blob member the model validated as base64.
Result<std::string> blob(const json::object& in, std::string_view key) {
  return base64_decode(str(in, key));
}

constexpr char kAlgorithm[] = "SYMMETRIC_DEFAULT";

}  // namespace

const wire::ServiceModel& kms_model() { return wire::embedded_service_model("kms"); }

KmsApi::KmsApi(KeyRing& keys, KmsApiOptions options)
    : keys_(keys), options_(std::move(options)), model_(kms_model()) {
  STAGELINE_CHECK(options_.default_limit >= 1 && options_.default_limit <= 1000);
}

wire::Error KmsApi::error(const Status& status) const {
  std::string_view type = error_type(status);
  if (type == "ValidationException") return validation(error_message(status));
  if (!type.empty()) return wire::modeled_error(model_, type, error_message(status));
  wire::Error e = wire::common_error(wire::CommonError::kInternalFailure, "Internal failure");
  e.detail = status.message();
  return e;
}

json::object KmsApi::metadata(const KeyMetadata& key) const {
  json::object m{{"AWSAccountId", options_.account_id},
                 {"KeyId", key.key_id},
                 {"Arn", key.arn},
                 {"CreationDate", seconds(key.created_ms)},
                 {"Enabled", key.state == KeyState::kEnabled},
                 {"Description", key.description},
                 {"KeyUsage", "ENCRYPT_DECRYPT"},
                 {"KeyState", to_string(key.state)},
                 {"Origin", "AWS_KMS"},
                 {"KeyManager", to_string(key.manager)},
                 {"CustomerMasterKeySpec", kAlgorithm},
                 {"KeySpec", kAlgorithm},
                 {"EncryptionAlgorithms", json::array{kAlgorithm}},
                 {"MultiRegion", false}};
  if (key.state == KeyState::kPendingDeletion) {
    m["DeletionDate"] = seconds(key.deletion_ms);
    m["PendingDeletionWindowInDays"] = key.pending_window_days;
  }
  return m;
}

wire::Outcome<json::value> KmsApi::call(const wire::Call& call) {
  const std::string& op = call.operation->name;
  const In& in = call.input;
  if (op == "CreateKey") return create_key(in);
  if (op == "DescribeKey") return describe_key(in);
  if (op == "ListKeys") return list_keys(in);
  if (op == "EnableKey") return set_enabled(in, true);
  if (op == "DisableKey") return set_enabled(in, false);
  if (op == "ScheduleKeyDeletion") return schedule_key_deletion(in);
  if (op == "CancelKeyDeletion") return cancel_key_deletion(in);
  if (op == "CreateAlias") return create_alias(in);
  if (op == "DeleteAlias") return delete_alias(in);
  if (op == "ListAliases") return list_aliases(in);
  if (op == "Encrypt") return encrypt(in);
  if (op == "Decrypt") return decrypt(in);
  if (op == "GenerateDataKey") return generate_data_key(in, true);
  if (op == "GenerateDataKeyWithoutPlaintext") return generate_data_key(in, false);
  return wire::modeled_error(
      model_, "UnsupportedOperationException",
      "Stageline does not implement KMS " + op +
          " (it answers CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, "
          "ScheduleKeyDeletion, CancelKeyDeletion, CreateAlias, DeleteAlias, ListAliases, "
          "Encrypt, Decrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext)");
}

wire::Outcome<json::value> KmsApi::create_key(const In& in) {
  for (const char* member : {"KeySpec", "CustomerMasterKeySpec"})
    if (has(in, member) && str(in, member) != kAlgorithm)
      return wire::modeled_error(model_, "UnsupportedOperationException",
                                 member + std::string(" ") + str(in, member) +
                                     " is not supported: Stageline makes SYMMETRIC_DEFAULT keys");
  if (has(in, "KeyUsage") && str(in, "KeyUsage") != "ENCRYPT_DECRYPT")
    return wire::modeled_error(model_, "UnsupportedOperationException",
                               "KeyUsage " + str(in, "KeyUsage") +
                                   " is not supported: Stageline makes ENCRYPT_DECRYPT keys");
  if (has(in, "Origin") && str(in, "Origin") != "AWS_KMS")
    return wire::modeled_error(
        model_, "UnsupportedOperationException",
        "Origin " + str(in, "Origin") + " is not supported: Stageline makes AWS_KMS keys");
  auto key = keys_.create_key(str(in, "Description"));
  if (!key.ok()) return error(key.status());
  return json::value(json::object{{"KeyMetadata", metadata(*key)}});
}

wire::Outcome<json::value> KmsApi::describe_key(const In& in) {
  auto key = keys_.describe_key(str(in, "KeyId"));
  if (!key.ok()) return error(key.status());
  return json::value(json::object{{"KeyMetadata", metadata(*key)}});
}

wire::Outcome<json::value> KmsApi::list_keys(const In& in) {
  auto page = keys_.list_keys(static_cast<int>(integer(in, "Limit", options_.default_limit)),
                              str(in, "Marker"));
  if (!page.ok()) return error(page.status());
  json::array keys;
  for (const auto& k : page->keys)
    keys.push_back(json::object{{"KeyId", k.key_id}, {"KeyArn", k.arn}});
  json::object out{{"Keys", std::move(keys)}, {"Truncated", !page->next_marker.empty()}};
  if (!page->next_marker.empty()) out["NextMarker"] = page->next_marker;
  return json::value(std::move(out));
}

wire::Outcome<json::value> KmsApi::set_enabled(const In& in, bool enabled) {
  auto key = keys_.set_enabled(str(in, "KeyId"), enabled);
  if (!key.ok()) return error(key.status());
  return json::value(json::object{});
}

wire::Outcome<json::value> KmsApi::schedule_key_deletion(const In& in) {
  auto key = keys_.schedule_deletion(str(in, "KeyId"),
                                     static_cast<int>(integer(in, "PendingWindowInDays", 30)));
  if (!key.ok()) return error(key.status());
  return json::value(json::object{{"KeyId", key->arn},
                                  {"DeletionDate", seconds(key->deletion_ms)},
                                  {"KeyState", to_string(key->state)},
                                  {"PendingWindowInDays", key->pending_window_days}});
}

wire::Outcome<json::value> KmsApi::cancel_key_deletion(const In& in) {
  auto key = keys_.cancel_deletion(str(in, "KeyId"));
  if (!key.ok()) return error(key.status());
  return json::value(json::object{{"KeyId", key->arn}});
}

wire::Outcome<json::value> KmsApi::create_alias(const In& in) {
  Status s = keys_.create_alias(str(in, "AliasName"), str(in, "TargetKeyId"));
  if (!s.ok()) return error(s);
  return json::value(json::object{});
}

wire::Outcome<json::value> KmsApi::delete_alias(const In& in) {
  Status s = keys_.delete_alias(str(in, "AliasName"));
  if (!s.ok()) return error(s);
  return json::value(json::object{});
}

wire::Outcome<json::value> KmsApi::list_aliases(const In& in) {
  auto page = keys_.list_aliases(str(in, "KeyId"),
                                 static_cast<int>(integer(in, "Limit", options_.default_limit)),
                                 str(in, "Marker"));
  if (!page.ok()) return error(page.status());
  json::array aliases;
  for (const auto& a : page->aliases)
    aliases.push_back(json::object{{"AliasName", a.name},
                                   {"AliasArn", a.arn},
                                   {"TargetKeyId", a.target_key_id},
                                   {"CreationDate", seconds(a.created_ms)},
                                   {"LastUpdatedDate", seconds(a.updated_ms)}});
  json::object out{{"Aliases", std::move(aliases)}, {"Truncated", !page->next_marker.empty()}};
  if (!page->next_marker.empty()) out["NextMarker"] = page->next_marker;
  return json::value(std::move(out));
}

wire::Outcome<json::value> KmsApi::encrypt(const In& in) {
  if (has(in, "EncryptionAlgorithm") && str(in, "EncryptionAlgorithm") != kAlgorithm)
    return wire::modeled_error(model_, "InvalidKeyUsageException",
                               "EncryptionAlgorithm " + str(in, "EncryptionAlgorithm") +
                                   " is not compatible with a SYMMETRIC_DEFAULT key");
  auto plaintext = blob(in, "Plaintext");
  if (!plaintext.ok()) return validation("Plaintext: " + plaintext.status().message());
  auto encrypted = keys_.encrypt(str(in, "KeyId"), *plaintext, context_of(in));
  wipe(*plaintext);
  if (!encrypted.ok()) return error(encrypted.status());
  return json::value(json::object{{"CiphertextBlob", base64_encode(encrypted->blob)},
                                  {"KeyId", encrypted->key_arn},
                                  {"EncryptionAlgorithm", kAlgorithm}});
}

wire::Outcome<json::value> KmsApi::decrypt(const In& in) {
  if (!has(in, "CiphertextBlob"))
    return validation(
        "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy "
        "constraint: Member must not be null");
  if (has(in, "Recipient"))
    return wire::modeled_error(model_, "UnsupportedOperationException",
                               "Recipient (Nitro Enclaves attestation) is not supported");
  if (has(in, "EncryptionAlgorithm") && str(in, "EncryptionAlgorithm") != kAlgorithm)
    return wire::modeled_error(model_, "InvalidKeyUsageException",
                               "EncryptionAlgorithm " + str(in, "EncryptionAlgorithm") +
                                   " is not compatible with a SYMMETRIC_DEFAULT key");
  auto ciphertext = blob(in, "CiphertextBlob");
  if (!ciphertext.ok()) return validation("CiphertextBlob: " + ciphertext.status().message());
  auto decrypted = keys_.decrypt(*ciphertext, context_of(in), str(in, "KeyId"));
  if (!decrypted.ok()) return error(decrypted.status());
  json::object out{{"KeyId", decrypted->key_arn},
                   {"Plaintext", base64_encode(decrypted->plaintext)},
                   {"EncryptionAlgorithm", kAlgorithm}};
  wipe(decrypted->plaintext);
  return json::value(std::move(out));
}

wire::Outcome<json::value> KmsApi::generate_data_key(const In& in, bool with_plaintext) {
  const bool by_bytes = has(in, "NumberOfBytes");
  const bool by_spec = has(in, "KeySpec");
  if (by_bytes == by_spec) return validation("Please specify either number of bytes or key spec.");
  if (with_plaintext && has(in, "Recipient"))
    return wire::modeled_error(model_, "UnsupportedOperationException",
                               "Recipient (Nitro Enclaves attestation) is not supported");
  size_t bytes = by_bytes ? static_cast<size_t>(integer(in, "NumberOfBytes", 0))
                          : (str(in, "KeySpec") == "AES_128" ? 16 : 32);
  auto data_key = keys_.generate_data_key(str(in, "KeyId"), bytes, context_of(in));
  if (!data_key.ok()) return error(data_key.status());
  json::object out{{"CiphertextBlob", base64_encode(data_key->blob)}, {"KeyId", data_key->key_arn}};
  if (with_plaintext) out["Plaintext"] = base64_encode(data_key->plaintext);
  wipe(data_key->plaintext);
  return json::value(std::move(out));
}

}  // namespace stageline::kms
