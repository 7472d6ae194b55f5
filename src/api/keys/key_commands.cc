#include "api/keys/key_commands.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <string>
#include <vector>

#include "base/strings.h"

namespace stageline::keys {
namespace {

// "2026-11-27T03:18:28Z" (whole seconds, UTC).
std::string format_time(TimestampMs ms) {
  // Floor division, so a time before 1970 is not rounded towards zero.
  std::time_t seconds = static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  std::array<char, 32> text{};
  if (gmtime_r(&seconds, &tm) == nullptr ||
      std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return std::to_string(ms) + " ms";  // beyond what the calendar functions handle
  return text.data();
}

Status flushed(std::ostream& out, const std::string& context) {
  out.flush();
  if (!out) return Status::io(context + ": writing the output failed");
  return {};
}

enum class Change { kDelete, kDisable, kEnable };

std::string_view verb(Change change) {
  switch (change) {
    case Change::kDelete:
      return "delete";
    case Change::kDisable:
      return "disable";
    case Change::kEnable:
      return "enable";
  }
  return "change";
}

std::string_view past(Change change) {
  switch (change) {
    case Change::kDelete:
      return "Deleted";
    case Change::kDisable:
      return "Disabled";
    case Change::kEnable:
      return "Enabled";
  }
  return "Changed";
}

// Deletes, disables or enables one key, refusing to remove the last enabled
// key of an administrator. Reading the keys and changing one is one write
// transaction, so two operators removing the last two admin keys at once
// cannot both succeed.
Status change_key(store::Store& store, std::string_view access_key_id, Change change,
                  std::ostream& out) {
  const std::string id(access_key_id);
  const std::string context = std::string(verb(change)) + " access key " + quote(id);
  std::string principal;
  Status changed = store.write([&](store::StoreWriter& w) -> Status {
    auto key = w.get_access_key(id);
    if (!key.ok()) {
      if (key.status().code() == StatusCode::kNotFound)
        return Status::not_found(context + ": no access key has this id");
      return key.status().with_context(context);
    }
    principal = key->principal;
    if (change != Change::kEnable && key->enabled && is_admin_principal(key->principal)) {
      auto keys = w.list_access_keys();
      if (!keys.ok()) return keys.status().with_context(context);
      const bool another = std::any_of(keys->begin(), keys->end(), [&](const auto& k) {
        return k.enabled && k.principal == key->principal && k.access_key_id != id;
      });
      if (!another)
        return Status(StatusCode::kFailedPrecondition,
                      "refusing to " + context + ": it is the last enabled access key of " +
                          key->principal +
                          ", the administrator, who could not call the server without it; "
                          "create another first with `stageline keys create " +
                          std::string(kAdminUserName) + "`");
    }
    switch (change) {
      case Change::kDelete:
        return w.delete_access_key(id);
      case Change::kDisable:
        return w.set_access_key_enabled(id, false);
      case Change::kEnable:
        return w.set_access_key_enabled(id, true);
    }
    return Status::internal(context + ": unknown change");
  });
  if (!changed.ok()) return changed;
  out << past(change) << " access key " << id << " of " << principal << "\n";
  return flushed(out, context);
}

}  // namespace

Result<sigv4::Key> keys_create(store::Store& store, std::string_view account_id,
                               std::string_view user_name, std::ostream& out, TimestampMs now_ms) {
  auto principal = user_arn(account_id, user_name);
  if (!principal.ok()) return principal.status().with_context("create access key");
  const std::string context = "create access key for " + *principal;
  auto key = sigv4::generate_key(*principal);
  if (!key.ok()) return key.status().with_context(context);
  store::AccessKeyRecord record{key->access_key_id, key->secret, key->principal, true, now_ms,
                                std::nullopt};
  if (Status inserted = store.insert_access_key(record); !inserted.ok())
    return inserted.with_context(context);

  out << "Created access key " << key->access_key_id << " for " << key->principal << "\n"
      << "aws_access_key_id = " << key->access_key_id << "\n"
      << "aws_secret_access_key = " << key->secret << "\n"
      << "The secret is shown only this once. Put both lines under a profile of an AWS "
         "credentials file, or export them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.\n";
  if (Status printed = flushed(out, context); !printed.ok()) {
    // Nobody saw the secret, so nobody can use the key: remove it rather than
    // leave a live credential behind.
    Status deleted = store.delete_access_key(key->access_key_id);
    return Status::io(printed.message() + "; the key was deleted again" +
                      (deleted.ok() ? "" : ", but that failed too: " + deleted.message()));
  }
  return std::move(*key);
}

Status keys_list(store::StoreReader& store, std::ostream& out) {
  auto keys = store.list_access_keys();
  if (!keys.ok()) return keys.status();
  if (keys->empty()) {
    out << "No access keys.\n";
    return flushed(out, "list access keys");
  }

  using Row = std::array<std::string, 5>;
  std::vector<Row> rows = {{"ACCESS KEY ID", "STATUS", "CREATED", "LAST USED", "PRINCIPAL"}};
  for (const auto& k : *keys)
    rows.push_back({k.access_key_id, k.enabled ? "Active" : "Inactive", format_time(k.created_ms),
                    k.last_used_ms ? format_time(*k.last_used_ms) : "never", k.principal});
  std::array<size_t, 5> width{};
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      out << row[c];
      if (c + 1 < row.size()) out << std::string(width[c] - row[c].size() + 2, ' ');
    }
    out << "\n";
  }
  return flushed(out, "list access keys");
}

Status keys_delete(store::Store& store, std::string_view access_key_id, std::ostream& out) {
  return change_key(store, access_key_id, Change::kDelete, out);
}

Status keys_disable(store::Store& store, std::string_view access_key_id, std::ostream& out) {
  return change_key(store, access_key_id, Change::kDisable, out);
}

Status keys_enable(store::Store& store, std::string_view access_key_id, std::ostream& out) {
  return change_key(store, access_key_id, Change::kEnable, out);
}

}  // namespace stageline::keys
