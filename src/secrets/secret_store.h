// secrets/secret_store: Secrets Manager's secrets (docs/secrets.md). Each
// secret has versions (a VersionId, a SecretString or a SecretBinary, sealed)
// and staging labels: AWSCURRENT on the newest version put without explicit
// stages, AWSPREVIOUS on the one it replaced. DeleteSecret schedules the
// deletion (RecoveryWindowInDays, 7..30, default 30) or, forced, deletes at
// once; a secret scheduled for deletion refuses its value, and is gone once
// its date passes (checked when it is next looked up).
//
// Status codes, mapped by the API module onto AWS errors:
//   kNotFound            ResourceNotFoundException
//   kAlreadyExists       ResourceExistsException
//   kFailedPrecondition  InvalidRequestException (marked for deletion, ...)
//   kInvalidArgument     InvalidParameterException
//   kIo, kInternal       InternalServiceError
// Thread-safe (the store serializes writes).
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

inline constexpr const char* kSecretsService = "secretsmanager";
inline constexpr const char* kSecretKind = "secret";
inline constexpr const char* kCurrent = "AWSCURRENT";
inline constexpr const char* kPrevious = "AWSPREVIOUS";

struct SecretStoreOptions {
  std::string region = "us-east-1";
  std::string account_id = "111122223333";
  std::function<int64_t()> now_ms;             // REQUIRED
  std::function<std::string()> new_id;         // REQUIRED: version ids (a UUID)
  std::function<std::string()> random_suffix;  // REQUIRED: the ARN's 6 characters
};

// A secret value (SecretString or SecretBinary) as it is put.
struct SecretPayload {
  std::optional<std::string> string_value;
  std::optional<std::string> binary_value;  // raw bytes
};

struct SecretVersionInfo {
  std::string version_id;
  std::vector<std::string> stages;
  int64_t created_ms = 0;
};

// DescribeSecret / ListSecrets entry.
struct SecretInfo {
  std::string arn;
  std::string name;
  std::string description;
  std::string kms_key_id;  // "" for the default key
  int64_t created_ms = 0;
  int64_t last_changed_ms = 0;
  std::optional<int64_t> deleted_ms;  // the planned deletion date
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<SecretVersionInfo> versions;  // those with stages
};

// GetSecretValue's answer.
struct SecretValue {
  std::string arn;
  std::string name;
  std::string version_id;
  std::vector<std::string> stages;
  int64_t created_ms = 0;
  SecretPayload payload;
};

struct CreateSecretRequest {
  std::string name;
  std::string description;
  std::string kms_key_id;
  std::string client_request_token;  // the first version's id; "" makes one
  SecretPayload payload;             // both empty: a secret with no version yet
  std::vector<std::pair<std::string, std::string>> tags;
};

struct PutSecretValueRequest {
  std::string secret_id;  // name or ARN
  std::string client_request_token;
  SecretPayload payload;
  std::vector<std::string> stages;  // empty: AWSCURRENT
};

class SecretStore {
 public:
  // Borrows both; they must outlive it. REQUIRES: the options' functions.
  SecretStore(store::Store& store, ValueSealer& sealer, SecretStoreOptions options);

  // CreateSecret: returns the secret and, when a value was given, its version.
  Result<SecretValue> create(const CreateSecretRequest& request);
  // PutSecretValue: returns the new (or, same token and value, the existing) version.
  Result<SecretValue> put_value(const PutSecretValueRequest& request);
  // GetSecretValue by name or ARN; by `version_id` and/or `version_stage`
  // (neither: AWSCURRENT).
  Result<SecretValue> get_value(const std::string& secret_id, const std::string& version_id,
                                const std::string& version_stage);
  // DeleteSecret: returns the secret with deleted_ms set (now when forced).
  Result<SecretInfo> remove(const std::string& secret_id, std::optional<int64_t> recovery_days,
                            bool force);
  // RestoreSecret: cancels a scheduled deletion.
  Result<SecretInfo> restore(const std::string& secret_id);
  Result<SecretInfo> describe(const std::string& secret_id);
  // ListSecrets: every secret in name order; scheduled ones only when asked.
  Result<std::vector<SecretInfo>> list(bool include_planned_deletion);

 private:
  struct Found;
  Result<Found> find(const std::string& secret_id);

  store::Store& store_;
  ValueSealer& sealer_;
  SecretStoreOptions options_;
};

// A random 6-character suffix of letters and digits, as AWS's.
std::string random_secret_suffix();

}  // namespace stageline::secrets
