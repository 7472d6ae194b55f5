// Custom action types: CreateCustomActionType's definitions (reference
// section 11.1), kept after deletion.

#include "base/strings.h"
#include "store/record_json.h"
#include "store/sqlite_writer.h"

namespace stageline::store {
namespace {

#define ACTION_TYPE_COLUMNS \
  "category, provider, version, definition_json, tags_json, created_at_ms, deleted_at_ms"

std::string describe(const model::ActionTypeId& id) {
  return "custom action type " + std::string(model::to_string(id.category)) + "/" + id.provider +
         "/" + id.version;
}

Result<CustomActionTypeRecord> read_action_type(sqlite::Statement& st) {
  CustomActionTypeRecord t;
  t.id.owner = model::ActionOwner::kCustom;
  t.id.provider = st.column_text(1);
  t.id.version = st.column_text(2);
  const std::string category_text = st.column_text(0);
  const auto context = [&] {
    return "read custom action type " + category_text + "/" + t.id.provider + "/" + t.id.version;
  };
  auto category = decode_enum_column<model::ActionCategory>(category_text);
  if (!category.ok()) return category.status().with_context(context());
  t.id.category = *category;
  t.definition_json = st.column_text(3);
  auto tags = decode_tags_json(st.column_text(4));
  if (!tags.ok()) return tags.status().with_context(context());
  t.tags = std::move(*tags);
  t.created_ms = st.column_int64(5);
  if (!st.column_is_null(6)) t.deleted_ms = st.column_int64(6);
  if (!st.column_status().ok()) return st.column_status().with_context(context());
  return t;
}

}  // namespace

Result<CustomActionTypeRecord> SqliteWriter::get_custom_action_type(const model::ActionTypeId& id) {
  const std::string context = "get " + describe(id);
  auto st = db_.prepare("SELECT " ACTION_TYPE_COLUMNS
                        " FROM custom_action_types"
                        " WHERE category = ? AND provider = ? AND version = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto row = st->bind_all(model::to_string(id.category), id.provider, id.version).next();
  if (!row.ok()) return row.status().with_context(context);
  if (!*row)
    return Status::not_found("no custom action type has this category, provider and version")
        .with_context(context);
  return read_action_type(*st);
}

Result<std::vector<CustomActionTypeRecord>> SqliteWriter::list_custom_action_types() {
  const std::string context = "list custom action types";
  auto st = db_.prepare("SELECT " ACTION_TYPE_COLUMNS
                        " FROM custom_action_types ORDER BY category, provider, version");
  if (!st.ok()) return st.status().with_context(context);
  auto rows = collect_rows<CustomActionTypeRecord>(*st, read_action_type);
  if (!rows.ok()) return rows.status().with_context(context);
  return rows;
}

Result<CustomActionTypeRecord> SqliteWriter::put_custom_action_type(
    const CustomActionTypeRecord& type) {
  const std::string context = "create " + describe(type.id);
  auto existing = get_custom_action_type(type.id);
  if (existing.ok()) {
    if (!existing->deleted())
      return Status(StatusCode::kAlreadyExists,
                    "a custom action type with this category, provider and version exists")
          .with_context(context);
    if (existing->definition_json != type.definition_json)
      return Status(StatusCode::kFailedPrecondition,
                    "a deleted custom action type had this version with another definition; use a "
                    "version string never used before, or the identical definition to restore it")
          .with_context(context);
    auto st = db_.prepare(
        "UPDATE custom_action_types SET deleted_at_ms = NULL, tags_json = ?"
        " WHERE category = ? AND provider = ? AND version = ? AND deleted_at_ms IS NOT NULL");
    if (!st.ok()) return st.status().with_context(context);
    auto changed = st->bind_all(encode_tags_json(type.tags), model::to_string(type.id.category),
                                type.id.provider, type.id.version)
                       .run();
    if (!changed.ok()) return changed.status().with_context(context);
    STAGELINE_CHECK(*changed == 1);  // read and written in one transaction
    existing->deleted_ms.reset();
    existing->tags = type.tags;
    return existing;
  }
  if (existing.status().code() != StatusCode::kNotFound)
    return existing.status().with_context(context);

  auto st = db_.prepare("INSERT INTO custom_action_types (" ACTION_TYPE_COLUMNS
                        ") VALUES (?, ?, ?, ?, ?, ?, NULL)");
  if (!st.ok()) return st.status().with_context(context);
  auto inserted =
      st->bind_all(model::to_string(type.id.category), type.id.provider, type.id.version,
                   type.definition_json, encode_tags_json(type.tags), type.created_ms)
          .run();
  if (!inserted.ok()) return inserted.status().with_context(context);
  CustomActionTypeRecord stored = type;
  stored.id.owner = model::ActionOwner::kCustom;
  stored.deleted_ms.reset();
  return stored;
}

Status SqliteWriter::mark_custom_action_type_deleted(const model::ActionTypeId& id,
                                                     TimestampMs now_ms) {
  const std::string context = "delete " + describe(id);
  auto st = db_.prepare(
      "UPDATE custom_action_types SET deleted_at_ms = ?"
      " WHERE category = ? AND provider = ? AND version = ? AND deleted_at_ms IS NULL");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind_all(now_ms, model::to_string(id.category), id.provider, id.version).run();
  if (!changed.ok()) return changed.status().with_context(context);
  if (*changed == 0)
    return Status::not_found("no live custom action type has this category, provider and version")
        .with_context(context);
  return {};
}

}  // namespace stageline::store
