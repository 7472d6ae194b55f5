// Pipelines, their versions and their stage transitions.

#include "base/strings.h"
#include "store/record_json.h"
#include "store/sqlite_writer.h"

namespace stageline::store {
namespace {

// Columns 0-4 of every pipeline query, joined to the version wanted.
constexpr const char* kPipelineColumns =
    "v.version, v.declaration_json, v.created_at_ms, p.tags_json, p.created_at_ms";

constexpr const char* kExistsPipeline = "SELECT 1 FROM pipelines WHERE name = ?";

Result<model::PipelineRecord> read_pipeline(sqlite::Statement& st) {
  model::PipelineRecord record;
  const int64_t version = st.column_int64(0);
  auto declaration = decode_declaration_json(st.column_text(1));
  if (!declaration.ok()) return declaration.status();
  record.declaration = std::move(*declaration);
  record.declaration.version = static_cast<int>(version);
  record.updated_ms = st.column_int64(2);
  auto tags = decode_tags_json(st.column_text(3));
  if (!tags.ok()) return tags.status();
  record.tags = std::move(*tags);
  record.created_ms = st.column_int64(4);
  if (!st.column_status().ok()) return st.column_status();
  return record;
}

// Runs a query of kPipelineColumns expected to give at most one row.
Result<std::optional<model::PipelineRecord>> query_one_pipeline(sqlite::Statement& st) {
  auto row = st.next();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<model::PipelineRecord>();
  auto record = read_pipeline(st);
  if (!record.ok()) return record.status();
  return std::optional<model::PipelineRecord>(std::move(*record));
}

Status pipeline_not_found() { return Status::not_found("no pipeline has this name"); }

}  // namespace

Result<model::PipelineRecord> SqliteWriter::get_pipeline(const std::string& name) {
  const std::string context = "get pipeline " + quote(name);
  static const std::string sql = std::string("SELECT ") + kPipelineColumns +
                                 " FROM pipelines p JOIN pipeline_versions v"
                                 " ON v.pipeline_name = p.name AND v.version = p.current_version"
                                 " WHERE p.name = ?";
  auto st = db_.prepare(sql);
  if (!st.ok()) return st.status().with_context(context);
  st->bind(1, name);
  auto record = query_one_pipeline(*st);
  if (!record.ok()) return record.status().with_context(context);
  if (!*record) return pipeline_not_found().with_context(context);
  return std::move(**record);
}

Result<model::PipelineRecord> SqliteWriter::get_pipeline_version(const std::string& name,
                                                                 int version) {
  const std::string context =
      "get version " + std::to_string(version) + " of pipeline " + quote(name);
  static const std::string sql = std::string("SELECT ") + kPipelineColumns +
                                 " FROM pipelines p JOIN pipeline_versions v"
                                 " ON v.pipeline_name = p.name"
                                 " WHERE p.name = ? AND v.version = ?";
  {
    auto st = db_.prepare(sql);
    if (!st.ok()) return st.status().with_context(context);
    st->bind_all(name, int64_t{version});
    auto record = query_one_pipeline(*st);
    if (!record.ok()) return record.status().with_context(context);
    if (*record) return std::move(**record);
  }
  auto pipeline_exists = exists(kExistsPipeline, name);
  if (!pipeline_exists.ok()) return pipeline_exists.status().with_context(context);
  if (!*pipeline_exists) return pipeline_not_found().with_context(context);
  return Status::not_found("the pipeline has no such version").with_context(context);
}

Result<Page<model::PipelineRecord>> SqliteWriter::list_pipelines(int limit,
                                                                 const std::string& after_key) {
  STAGELINE_CHECK(limit >= 1);
  const std::string context = "list pipelines";
  static const std::string sql = std::string("SELECT ") + kPipelineColumns +
                                 " FROM pipelines p JOIN pipeline_versions v"
                                 " ON v.pipeline_name = p.name AND v.version = p.current_version"
                                 " WHERE p.name > ? ORDER BY p.name LIMIT ?";
  auto st = db_.prepare(sql);
  if (!st.ok()) return st.status().with_context(context);
  // One row more than asked says whether there is another page.
  st->bind_all(after_key, int64_t{limit} + 1);
  auto page = collect_page<model::PipelineRecord>(
      *st, limit, read_pipeline,
      [](const model::PipelineRecord& p, sqlite::Statement&) { return p.declaration.name; });
  if (!page.ok()) return page.status().with_context(context);
  return page;
}

Result<model::PipelineRecord> SqliteWriter::create_pipeline(const model::PipelineRecord& pipeline) {
  const std::string& name = pipeline.declaration.name;
  STAGELINE_CHECK(!name.empty());
  const std::string context = "create pipeline " + quote(name);
  auto taken = exists(kExistsPipeline, name);
  if (!taken.ok()) return taken.status().with_context(context);
  if (*taken)
    return Status(StatusCode::kAlreadyExists, "a pipeline with this name exists")
        .with_context(context);

  model::PipelineRecord stored = pipeline;
  stored.declaration.version = 1;
  {
    auto st = db_.prepare(
        "INSERT INTO pipelines (name, current_version, tags_json, created_at_ms)"
        " VALUES (?, 1, ?, ?)");
    if (!st.ok()) return st.status().with_context(context);
    auto inserted = st->bind_all(name, encode_tags_json(stored.tags), stored.created_ms).run();
    if (!inserted.ok()) return inserted.status().with_context(context);
  }
  auto st = db_.prepare(
      "INSERT INTO pipeline_versions (pipeline_name, version, declaration_json, created_at_ms)"
      " VALUES (?, 1, ?, ?)");
  if (!st.ok()) return st.status().with_context(context);
  auto inserted =
      st->bind_all(name, encode_declaration_json(stored.declaration), stored.updated_ms).run();
  if (!inserted.ok()) return inserted.status().with_context(context);
  return stored;
}

Result<model::PipelineRecord> SqliteWriter::update_pipeline(
    const model::PipelineDeclaration& declaration, TimestampMs now_ms) {
  const std::string context = "update pipeline " + quote(declaration.name);
  model::PipelineRecord stored;
  {
    auto st = db_.prepare(
        "UPDATE pipelines SET current_version = current_version + 1 WHERE name = ?"
        " RETURNING current_version, tags_json, created_at_ms");
    if (!st.ok()) return st.status().with_context(context);
    auto row = st->bind(1, declaration.name).next();
    if (!row.ok()) return row.status().with_context(context);
    if (!*row) return pipeline_not_found().with_context(context);
    stored.declaration = declaration;
    stored.declaration.version = static_cast<int>(st->column_int64(0));
    auto tags = decode_tags_json(st->column_text(1));
    if (!tags.ok()) return tags.status().with_context(context);
    stored.tags = std::move(*tags);
    stored.created_ms = st->column_int64(2);
    stored.updated_ms = now_ms;
    if (!st->column_status().ok()) return st->column_status().with_context(context);
    auto done = st->run();
    if (!done.ok()) return done.status().with_context(context);
  }
  auto st = db_.prepare(
      "INSERT INTO pipeline_versions (pipeline_name, version, declaration_json, created_at_ms)"
      " VALUES (?, ?, ?, ?)");
  if (!st.ok()) return st.status().with_context(context);
  auto inserted = st->bind_all(declaration.name, int64_t{*stored.declaration.version},
                               encode_declaration_json(stored.declaration), now_ms)
                      .run();
  if (!inserted.ok()) return inserted.status().with_context(context);
  return stored;
}

Status SqliteWriter::set_pipeline_tags(const std::string& name,
                                       const std::vector<model::Tag>& tags) {
  const std::string context = "set tags of pipeline " + quote(name);
  auto st = db_.prepare("UPDATE pipelines SET tags_json = ? WHERE name = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind_all(encode_tags_json(tags), name).run();
  if (!changed.ok()) return changed.status().with_context(context);
  if (*changed == 0) return pipeline_not_found().with_context(context);
  return {};
}

Status SqliteWriter::delete_pipeline(const std::string& name) {
  const std::string context = "delete pipeline " + quote(name);
  // Versions and transitions go with it (ON DELETE CASCADE); executions have
  // no foreign key to pipelines and stay as history.
  auto st = db_.prepare("DELETE FROM pipelines WHERE name = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind(1, name).run();
  if (!changed.ok()) return changed.status().with_context(context);
  if (*changed == 0) return pipeline_not_found().with_context(context);
  return {};
}

Result<std::vector<model::TransitionRecord>> SqliteWriter::list_transitions(
    const std::string& pipeline_name) {
  const std::string context = "list transitions of pipeline " + quote(pipeline_name);
  auto st = db_.prepare(
      "SELECT stage_name, enabled, disabled_reason, last_changed_by, last_changed_at_ms"
      " FROM stage_transitions WHERE pipeline_name = ? ORDER BY stage_name");
  if (!st.ok()) return st.status().with_context(context);
  st->bind(1, pipeline_name);
  std::vector<model::TransitionRecord> out;
  for (;;) {
    auto row = st->next();
    if (!row.ok()) return row.status().with_context(context);
    if (!*row) break;
    model::TransitionRecord t;
    t.pipeline_name = pipeline_name;
    t.stage_name = st->column_text(0);
    t.enabled = st->column_int64(1) != 0;
    t.disabled_reason = st->column_text(2);
    t.last_changed_by = st->column_text(3);
    t.last_changed_ms = st->column_int64(4);
    if (!st->column_status().ok()) return st->column_status().with_context(context);
    out.push_back(std::move(t));
  }
  return out;
}

Status SqliteWriter::set_transition(const model::TransitionRecord& transition) {
  const std::string context = "set transition into stage " + quote(transition.stage_name) +
                              " of pipeline " + quote(transition.pipeline_name);
  auto pipeline_exists = exists(kExistsPipeline, transition.pipeline_name);
  if (!pipeline_exists.ok()) return pipeline_exists.status().with_context(context);
  if (!*pipeline_exists) return pipeline_not_found().with_context(context);
  auto st = db_.prepare(
      "INSERT INTO stage_transitions (pipeline_name, stage_name, enabled, disabled_reason,"
      " last_changed_by, last_changed_at_ms) VALUES (?, ?, ?, ?, ?, ?)"
      " ON CONFLICT (pipeline_name, stage_name) DO UPDATE SET enabled = excluded.enabled,"
      " disabled_reason = excluded.disabled_reason, last_changed_by = excluded.last_changed_by,"
      " last_changed_at_ms = excluded.last_changed_at_ms");
  if (!st.ok()) return st.status().with_context(context);
  auto stored = st->bind_all(transition.pipeline_name, transition.stage_name,
                             int64_t{transition.enabled ? 1 : 0}, transition.disabled_reason,
                             transition.last_changed_by, transition.last_changed_ms)
                    .run();
  if (!stored.ok()) return stored.status().with_context(context);
  return {};
}

}  // namespace stageline::store
