// Access keys: what SigV4 requests are signed with (reference section 2).

#include "base/strings.h"
#include "store/sqlite_writer.h"

namespace stageline::store {
namespace {

Status key_not_found() { return Status::not_found("no access key has this id"); }

#define ACCESS_KEY_COLUMNS \
  "access_key_id, secret, principal, enabled, created_at_ms, last_used_at_ms"

Result<AccessKeyRecord> read_access_key(sqlite::Statement& st) {
  AccessKeyRecord k;
  k.access_key_id = st.column_text(0);
  k.secret = st.column_text(1);
  k.principal = st.column_text(2);
  k.enabled = st.column_int64(3) != 0;
  k.created_ms = st.column_int64(4);
  if (!st.column_is_null(5)) k.last_used_ms = st.column_int64(5);
  if (!st.column_status().ok())
    return st.column_status().with_context("read access key " + k.access_key_id);
  return k;
}

}  // namespace

Result<AccessKeyRecord> SqliteWriter::get_access_key(const std::string& access_key_id) {
  const std::string context = "get access key " + quote(access_key_id);
  auto st = db_.prepare("SELECT " ACCESS_KEY_COLUMNS " FROM access_keys WHERE access_key_id = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto row = st->bind(1, access_key_id).next();
  if (!row.ok()) return row.status().with_context(context);
  if (!*row) return key_not_found().with_context(context);
  return read_access_key(*st);
}

Result<std::vector<AccessKeyRecord>> SqliteWriter::list_access_keys() {
  const std::string context = "list access keys";
  auto st =
      db_.prepare("SELECT " ACCESS_KEY_COLUMNS " FROM access_keys ORDER BY created_at_ms, rowid");
  if (!st.ok()) return st.status().with_context(context);
  auto rows = collect_rows<AccessKeyRecord>(*st, read_access_key);
  if (!rows.ok()) return rows.status().with_context(context);
  return rows;
}

Status SqliteWriter::insert_access_key(const AccessKeyRecord& key) {
  STAGELINE_CHECK(!key.access_key_id.empty());
  const std::string context = "insert access key " + quote(key.access_key_id);
  auto st =
      db_.prepare("INSERT INTO access_keys (" ACCESS_KEY_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return st.status().with_context(context);
  st->bind_all(key.access_key_id, key.secret, key.principal, int64_t{key.enabled ? 1 : 0},
               key.created_ms);
  if (key.last_used_ms)
    st->bind(6, *key.last_used_ms);
  else
    st->bind_null(6);
  auto inserted = st->run();
  if (inserted.ok()) return {};
  if (inserted.status().code() == StatusCode::kAlreadyExists)
    return Status(StatusCode::kAlreadyExists, "an access key with this id exists")
        .with_context(context);
  return inserted.status().with_context(context);
}

Status SqliteWriter::set_access_key_enabled(const std::string& access_key_id, bool enabled) {
  const std::string context =
      std::string(enabled ? "enable" : "disable") + " access key " + quote(access_key_id);
  auto st = db_.prepare("UPDATE access_keys SET enabled = ? WHERE access_key_id = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind_all(int64_t{enabled ? 1 : 0}, access_key_id).run();
  if (!changed.ok()) return changed.status().with_context(context);
  if (*changed == 0) return key_not_found().with_context(context);
  return {};
}

Status SqliteWriter::delete_access_key(const std::string& access_key_id) {
  const std::string context = "delete access key " + quote(access_key_id);
  auto st = db_.prepare("DELETE FROM access_keys WHERE access_key_id = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind(1, access_key_id).run();
  if (!changed.ok()) return changed.status().with_context(context);
  if (*changed == 0) return key_not_found().with_context(context);
  return {};
}

Status SqliteWriter::touch_access_key(const std::string& access_key_id, TimestampMs now_ms) {
  const std::string context = "record the use of access key " + quote(access_key_id);
  // max() keeps the latest use when processes with skewed clocks share the
  // file; a NULL (never used) loses to any time.
  auto st = db_.prepare(
      "UPDATE access_keys SET last_used_at_ms = max(coalesce(last_used_at_ms, ?1), ?1)"
      " WHERE access_key_id = ?2");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind_all(now_ms, access_key_id).run();
  if (!changed.ok()) return changed.status().with_context(context);
  if (*changed == 0) return key_not_found().with_context(context);
  return {};
}

}  // namespace stageline::store
