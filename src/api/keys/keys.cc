#include "api/keys/keys.h"

#include <system_error>
#include <utility>
#include <vector>

#include "base/strings.h"

namespace stageline::keys {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kArnPrefix = "arn:aws:iam::";
constexpr std::string_view kUserInfix = ":user/";

bool is_user_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("+=,.@_-").find(c) != std::string_view::npos;
}

sigv4::Key to_key(const store::AccessKeyRecord& record) {
  return sigv4::Key{record.access_key_id, record.secret, record.principal, record.enabled};
}

}  // namespace

TimestampMs system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status validate_account_id(std::string_view account_id) {
  bool ok = account_id.size() == 12;
  for (char c : account_id) ok = ok && c >= '0' && c <= '9';
  if (!ok)
    return Status::invalid("account id " + quote(account_id) +
                           " is not valid: it must be 12 digits");
  return {};
}

Status validate_user_name(std::string_view name) {
  constexpr std::string_view kRule = "use 1 to 64 of A-Z a-z 0-9 + = , . @ _ -";
  if (name.empty()) return Status::invalid("the IAM user name is empty; " + std::string(kRule));
  if (name.size() > 64)
    return Status::invalid("IAM user name " + quote(name, 80) + " is not valid: it is " +
                           std::to_string(name.size()) + " characters long; " + std::string(kRule));
  for (size_t i = 0; i < name.size(); ++i) {
    if (!is_user_name_char(name[i]))
      return Status::invalid("IAM user name " + quote(name) + " is not valid: character " +
                             std::to_string(i + 1) + " (" + quote(name.substr(i, 1)) +
                             ") is not allowed; " + std::string(kRule));
  }
  return {};
}

Result<std::string> user_arn(std::string_view account_id, std::string_view user_name) {
  if (Status s = validate_account_id(account_id); !s.ok()) return s;
  if (Status s = validate_user_name(user_name); !s.ok()) return s;
  return std::string(kArnPrefix) + std::string(account_id) + std::string(kUserInfix) +
         std::string(user_name);
}

std::optional<UserArn> parse_user_arn(std::string_view principal) {
  if (!principal.starts_with(kArnPrefix)) return std::nullopt;
  std::string_view rest = principal.substr(kArnPrefix.size());
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  UserArn arn{std::string(rest.substr(0, colon)), ""};
  rest = rest.substr(colon);
  if (!rest.starts_with(kUserInfix)) return std::nullopt;
  arn.user_name = std::string(rest.substr(kUserInfix.size()));
  if (!validate_account_id(arn.account_id).ok() || !validate_user_name(arn.user_name).ok())
    return std::nullopt;
  return arn;
}

bool is_admin_principal(std::string_view principal) {
  auto arn = parse_user_arn(principal);
  return arn && arn->user_name == kAdminUserName;
}

// ---- StoreKeySource --------------------------------------------------------------

StoreKeySource::StoreKeySource(store::Store& store) : StoreKeySource(store, Options()) {}

StoreKeySource::StoreKeySource(store::Store& store, Options options)
    : store_(store), options_(std::move(options)) {}

std::optional<sigv4::Key> StoreKeySource::find(std::string_view access_key_id) {
  auto record = store_.get_access_key(std::string(access_key_id));
  if (record.ok()) return to_key(*record);
  if (record.status().code() != StatusCode::kNotFound && options_.on_error)
    options_.on_error(record.status());
  return std::nullopt;
}

Status StoreKeySource::record_use(std::string_view access_key_id, TimestampMs now_ms) {
  {
    std::lock_guard lock(mu_);
    auto it = written_.find(access_key_id);
    // A clock that went back (now_ms < written) also skips the write: the
    // store keeps the later time anyway.
    if (it != written_.end() && now_ms - it->second < options_.touch_interval.count()) return {};
    written_.insert_or_assign(std::string(access_key_id), now_ms);
  }
  // The write is made outside mu_, so one slow write does not hold up the
  // other keys' lookups of written_.
  Status touched = store_.touch_access_key(std::string(access_key_id), now_ms);
  if (!touched.ok()) {
    // Forget the key: a deleted one must not stay in the map, and after a
    // failed write the next use tries again.
    std::lock_guard lock(mu_);
    auto it = written_.find(access_key_id);
    if (it != written_.end()) written_.erase(it);
  }
  return touched;
}

// ---- ensure_admin_key -------------------------------------------------------------

Result<sigv4::Key> ensure_admin_key(store::Store& store, const fs::path& data_dir,
                                    std::string account_id, TimestampMs now_ms) {
  auto principal = user_arn(account_id, kAdminUserName);
  if (!principal.ok())
    return principal.status().with_context("set up the administrator's access key");
  const std::string context = "set up the access key of " + *principal;

  std::optional<store::AccessKeyRecord> admin;
  bool created = false;
  Status stored = store.write([&](store::StoreWriter& w) -> Status {
    auto keys = w.list_access_keys();
    if (!keys.ok()) return keys.status();
    std::vector<std::string> disabled;
    for (auto& k : *keys) {
      if (k.principal != *principal) continue;
      if (!k.enabled) {
        disabled.push_back(k.access_key_id);
        continue;
      }
      admin = std::move(k);  // the list is in creation order: the oldest wins
      return {};
    }
    // Keys that were all disabled on purpose are not replaced behind the
    // operator's back; a new key would also silently change the credentials
    // in use.
    if (!disabled.empty())
      return Status(StatusCode::kFailedPrecondition,
                    "every access key of the administrator is disabled (" + join(disabled, ", ") +
                        "); enable one with `stageline keys enable " + disabled.front() + "`");
    auto key = sigv4::generate_key(*principal);
    if (!key.ok()) return key.status();
    store::AccessKeyRecord record{key->access_key_id, key->secret, key->principal, true, now_ms,
                                  std::nullopt};
    if (Status inserted = w.insert_access_key(record); !inserted.ok()) return inserted;
    admin = std::move(record);
    created = true;
    return {};
  });
  if (!stored.ok()) return stored.with_context(context);

  const fs::path file = data_dir / kCredentialsFileName;
  bool write_file = created;
  if (!created) {
    std::error_code ec;
    const bool exists = fs::exists(file, ec);
    if (ec)
      return Status::io("check " + quote(file.string()) + ": " + ec.message())
          .with_context(context);
    write_file = !exists;
  }
  if (write_file) {
    Status written = sigv4::write_credentials_file(file.string(), to_key(*admin), "default");
    if (!written.ok()) return written.with_context(context);
  }
  return to_key(*admin);
}

}  // namespace stageline::keys
