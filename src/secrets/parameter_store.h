// secrets: the SSM Parameter Store and the Secrets Manager of this server,
// and what builds need from them (docs/secrets.md).
//
//   sealer.h           values are encrypted before they are stored
//   parameter_store.h  parameters: String, StringList, SecureString, versions
//   secret_store.h     secrets: versions, staging labels, scheduled deletion
//   resolver.h         a build's PARAMETER_STORE / SECRETS_MANAGER references
//   masker.h           secret values replaced by *** in build logs
//
// Parameters and secrets are documents in the store's resources table
// (service "ssm" kind "parameter", service "secretsmanager" kind "secret";
// docs/store-schema.md); every value in them is sealed (sealer.h) and
// base64-encoded. The API modules (src/api/ssm, src/api/secretsmanager) map
// these classes' Status codes onto AWS errors.
// Depends on base, store and OpenSSL; never on HTTP, the wire layer or builds.
//
// parameter_store: the parameters. Thread-safe (the store serializes writes).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "secrets/sealer.h"
#include "store/store.h"

namespace stageline::secrets {

inline constexpr const char* kSsmService = "ssm";
inline constexpr const char* kParameterKind = "parameter";
inline constexpr size_t kMaxParameterVersions = 100;  // AWS keeps the last 100

struct ParameterStoreOptions {
  std::string region = "us-east-1";
  std::string account_id = "111122223333";
  std::function<int64_t()> now_ms;  // REQUIRED
};

// One version of a parameter as GetParameter shows it.
struct Parameter {
  std::string name;
  std::string type;   // String, StringList, SecureString
  std::string value;  // plaintext; for SecureString without decryption the sealed blob, base64
  int64_t version = 0;
  int64_t last_modified_ms = 0;
  std::string data_type = "text";
  std::string arn;
  std::string key_id;  // SecureString: the KeyId asked for ("alias/aws/ssm" by default)
  std::string description;
};

struct PutParameterRequest {
  std::string name;
  std::string value;
  std::string type;  // "" keeps the existing type on overwrite, else String
  std::string key_id;
  std::string description;
  std::string data_type;  // "" is "text"
  bool overwrite = false;
  std::string user;  // LastModifiedUser, the caller's ARN
};

class ParameterStore {
 public:
  // Borrows both; they must outlive it. REQUIRES: options.now_ms is set.
  ParameterStore(store::Store& store, ValueSealer& sealer, ParameterStoreOptions options);

  // PutParameter: returns the new version (1 for a new parameter).
  // Errors: kInvalidArgument for a bad name, type or value (the message
  // says which, as AWS's ValidationException does); kAlreadyExists when the
  // parameter exists and overwrite is false; kIo when the store or sealer fails.
  Result<int64_t> put(const PutParameterRequest& request);

  // GetParameter: the latest version, or `version`. SecureString values are
  // opened only when `with_decryption`. Errors: kNotFound for a parameter
  // that does not exist, kFailedPrecondition for a version it does not have.
  Result<Parameter> get(const std::string& name, std::optional<int64_t> version,
                        bool with_decryption);

  // DeleteParameter. kNotFound when there is no such parameter.
  Status remove(const std::string& name);

  std::string arn(const std::string& name) const;

 private:
  store::Store& store_;
  ValueSealer& sealer_;
  ParameterStoreOptions options_;
};

// Whether `name` is a valid parameter name; the AWS-worded problem otherwise.
std::optional<std::string> parameter_name_problem(const std::string& name);

// Splits "name:selector" (a version number or a label) of GetParameter.
struct ParameterSelector {
  std::string name;
  std::optional<int64_t> version;
  std::string label;  // labels are not supported; non-empty means one was asked for
};
ParameterSelector parse_parameter_selector(const std::string& text);

}  // namespace stageline::secrets
