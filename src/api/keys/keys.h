// api/keys: the access keys the server accepts, kept in the store. It gives
// the SigV4 verifier its KeySource (StoreKeySource), makes sure the local
// administrator has a key and a credentials file on the first start
// (ensure_admin_key, issue #4), and holds the logic of `stageline keys
// create|list|delete|disable|enable` (key_commands.h).
//
// Principals are IAM user ARNs, arn:aws:iam::<account>:user/<name>
// (reference §3.1); the administrator is user "admin". Keys are made by
// api/sigv4's generate_key and stored with their secret in clear (the store
// file is 0600: docs/store-schema.md, table access_keys).
//
// Depends on store (the Store interface only), api/sigv4 (Key, KeySource,
// generate_key, the credentials file) and base. No HTTP, no engine.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "api/sigv4/keys.h"
#include "base/status.h"
#include "store/store.h"

namespace stageline::keys {

namespace sigv4 = api::sigv4;
using store::TimestampMs;

// The IAM user name of the local administrator.
inline constexpr std::string_view kAdminUserName = "admin";

// The name of the credentials file ensure_admin_key writes in the data
// directory.
inline constexpr std::string_view kCredentialsFileName = "credentials";

// Milliseconds since the Unix epoch by the system clock.
TimestampMs system_now_ms();

// kInvalidArgument unless `account_id` is 12 decimal digits (an AWS account
// id, reference §3.1).
Status validate_account_id(std::string_view account_id);

// kInvalidArgument unless `name` is a valid IAM user name: 1 to 64 of
// A-Z a-z 0-9 and + = , . @ _ -  The message names the first bad character.
Status validate_user_name(std::string_view name);

// arn:aws:iam::<account_id>:user/<user_name>, after validating both
// (kInvalidArgument).
Result<std::string> user_arn(std::string_view account_id, std::string_view user_name);

// The account and user name of a user ARN made by user_arn, or nullopt for
// any other principal.
struct UserArn {
  std::string account_id;
  std::string user_name;
};
std::optional<UserArn> parse_user_arn(std::string_view principal);

// True when `principal` is the administrator of some account
// (arn:aws:iam::<account>:user/admin).
bool is_admin_principal(std::string_view principal);

// The verifier's KeySource over the store: find() reads the access_keys row
// on every call, so a key created, disabled or deleted by `stageline keys`
// (even from another process on the same store file) takes effect on the
// next request. Thread-safe, as the Store is. The store is not owned and
// must outlive this.
class StoreKeySource final : public sigv4::KeySource {
 public:
  struct Options {
    // Called with a store failure other than "not found" (the database is
    // locked, corrupt, ...). find() then answers nullopt, so the request is
    // refused (fail closed); this is how the server gets to log why.
    std::function<void(const Status&)> on_error;
    // record_use writes a key's last use at most once per this interval.
    std::chrono::milliseconds touch_interval = std::chrono::seconds(60);
  };

  explicit StoreKeySource(store::Store& store);
  StoreKeySource(store::Store& store, Options options);

  // The key with this id, enabled or not (the verifier refuses a disabled
  // one), or nullopt when there is none or the store failed.
  std::optional<sigv4::Key> find(std::string_view access_key_id) override;

  // Records that `access_key_id` signed a request accepted at `now_ms`
  // (call it after Verifier::verify succeeds). To keep a write off most
  // requests, the store's last_used_at_ms is written on a key's first use
  // through this source and then only when it is `touch_interval` older than
  // `now_ms`; so `stageline keys list` shows the last use to within that
  // interval. Errors are the store's (kNotFound for a key deleted meanwhile).
  Status record_use(std::string_view access_key_id, TimestampMs now_ms);

 private:
  store::Store& store_;
  Options options_;
  std::mutex mu_;
  // The last use written per key id, by record_use.
  std::map<std::string, TimestampMs, std::less<>> written_;
};

// Makes sure the local administrator can call the server, on every start:
//   - the first time (no key of arn:aws:iam::<account_id>:user/admin in the
//     store), generates a key for that principal, stores it, and writes it as
//     profile "default" of `data_dir`/credentials (AWS shared credentials
//     format, mode 0600, other profiles of an existing file kept);
//   - later, returns the oldest enabled key of that principal, and writes
//     the credentials file only if it is missing (a file the operator edited
//     is left alone).
// Checking for the key and storing a new one is one write transaction, so two
// processes starting on one store at once make one key.
// Errors: kInvalidArgument for a bad account id; kFailedPrecondition when the
// administrator has keys but every one is disabled (the message says how to
// enable one); the store's errors; kIo and others from writing the file
// (the key is stored by then, so the next start writes the file again).
Result<sigv4::Key> ensure_admin_key(store::Store& store, const std::filesystem::path& data_dir,
                                    std::string account_id, TimestampMs now_ms = system_now_ms());

}  // namespace stageline::keys
