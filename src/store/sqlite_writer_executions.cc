// Pipeline executions, stage executions, action executions and artifacts.

#include "base/strings.h"
#include "store/record_json.h"
#include "store/sqlite_writer.h"

namespace stageline::store {
namespace {

constexpr const char* kExistsExecution = "SELECT 1 FROM pipeline_executions WHERE id = ?";

Status execution_not_found() { return Status::not_found("no pipeline execution has this id"); }

// ---- Pipeline executions -------------------------------------------------------

// Columns 0-15 and 17 are the record's; 16 is seq, for continuation keys.
#define EXECUTION_COLUMNS                                                                         \
  "id, pipeline_name, pipeline_version, status, status_summary, execution_mode, execution_type, " \
  "trigger_type, trigger_detail, client_request_token, variables_json, source_revisions_json, "   \
  "rollback_target_execution_id, stop_reason, created_at_ms, updated_at_ms, seq, "                \
  "rollback_stage_name"

Result<model::PipelineExecutionRecord> read_execution(sqlite::Statement& st) {
  model::PipelineExecutionRecord e;
  e.id = st.column_text(0);
  const auto context = [&] { return "read pipeline execution " + e.id; };
  e.pipeline_name = st.column_text(1);
  e.pipeline_version = static_cast<int>(st.column_int64(2));
  auto status = decode_enum_column<model::PipelineExecutionStatus>(st.column_text(3));
  if (!status.ok()) return status.status().with_context(context());
  e.status = *status;
  e.status_summary = st.column_text(4);
  auto mode = decode_enum_column<model::ExecutionMode>(st.column_text(5));
  if (!mode.ok()) return mode.status().with_context(context());
  e.execution_mode = *mode;
  auto type = decode_enum_column<model::ExecutionType>(st.column_text(6));
  if (!type.ok()) return type.status().with_context(context());
  e.execution_type = *type;
  auto trigger = decode_enum_column<model::TriggerType>(st.column_text(7));
  if (!trigger.ok()) return trigger.status().with_context(context());
  e.trigger_type = *trigger;
  e.trigger_detail = st.column_text(8);
  e.client_request_token = st.column_text(9);
  auto variables = decode_variables_json(st.column_text(10));
  if (!variables.ok()) return variables.status().with_context(context());
  e.variables = std::move(*variables);
  auto revisions = decode_source_revisions_json(st.column_text(11));
  if (!revisions.ok()) return revisions.status().with_context(context());
  e.source_revisions = std::move(*revisions);
  e.rollback_target_execution_id = st.column_text(12);
  e.stop_reason = st.column_text(13);
  e.created_ms = st.column_int64(14);
  e.updated_ms = st.column_int64(15);
  e.rollback_stage_name = st.column_text(17);
  if (!st.column_status().ok()) return st.column_status().with_context(context());
  return e;
}

std::string execution_key(const model::PipelineExecutionRecord& e, sqlite::Statement& st) {
  return encode_time_seq_key({e.created_ms, st.column_int64(16)});
}

// ---- Action executions ---------------------------------------------------------

// Columns 0-17 are the record's; 18 is seq, for continuation keys.
#define ACTION_COLUMNS                                                                       \
  "id, execution_id, stage_name, action_name, attempt, status, summary, "                    \
  "external_execution_id, external_execution_url, resolved_configuration_json, "             \
  "output_variables_json, error_code, error_message, job_id, started_at_ms, updated_at_ms, " \
  "approval_token, updated_by, seq"

Result<model::ActionExecutionRecord> read_action(sqlite::Statement& st) {
  model::ActionExecutionRecord a;
  a.id = st.column_text(0);
  const auto context = [&] { return "read action execution " + a.id; };
  a.execution_id = st.column_text(1);
  a.stage_name = st.column_text(2);
  a.action_name = st.column_text(3);
  a.attempt = static_cast<int>(st.column_int64(4));
  auto status = decode_enum_column<model::ActionExecutionStatus>(st.column_text(5));
  if (!status.ok()) return status.status().with_context(context());
  a.status = *status;
  a.summary = st.column_text(6);
  a.external_execution_id = st.column_text(7);
  a.external_execution_url = st.column_text(8);
  auto configuration = decode_string_map_json(st.column_text(9));
  if (!configuration.ok()) return configuration.status().with_context(context());
  a.resolved_configuration = std::move(*configuration);
  auto outputs = decode_string_map_json(st.column_text(10));
  if (!outputs.ok()) return outputs.status().with_context(context());
  a.output_variables = std::move(*outputs);
  a.error_code = st.column_text(11);
  a.error_message = st.column_text(12);
  a.job_id = st.column_text(13);
  a.started_ms = st.column_int64(14);
  a.updated_ms = st.column_int64(15);
  a.approval_token = st.column_text(16);
  a.updated_by = st.column_text(17);
  if (!st.column_status().ok()) return st.column_status().with_context(context());
  return a;
}

std::string action_key(const model::ActionExecutionRecord& a, sqlite::Statement& st) {
  return encode_time_seq_key({a.started_ms, st.column_int64(18)});
}

// ---- Stage executions and artifacts --------------------------------------------

Result<model::StageExecutionRecord> read_stage(sqlite::Statement& st) {
  model::StageExecutionRecord s;
  s.execution_id = st.column_text(0);
  s.stage_name = st.column_text(1);
  auto status = decode_enum_column<model::StageExecutionStatus>(st.column_text(2));
  if (!status.ok())
    return status.status().with_context("read stage execution " + s.execution_id + "/" +
                                        s.stage_name);
  s.status = *status;
  s.attempt = static_cast<int>(st.column_int64(3));
  s.started_ms = st.column_int64(4);
  s.updated_ms = st.column_int64(5);
  if (!st.column_status().ok()) return st.column_status();
  return s;
}

#define ARTIFACT_COLUMNS                                                          \
  "execution_id, name, bucket, object_key, version_id, etag, produced_by_stage, " \
  "produced_by_action, size_bytes, created_at_ms"

Result<model::ArtifactRecord> read_artifact(sqlite::Statement& st) {
  model::ArtifactRecord a;
  a.execution_id = st.column_text(0);
  a.name = st.column_text(1);
  a.location.bucket = st.column_text(2);
  a.location.key = st.column_text(3);
  a.location.version_id = st.column_text(4);
  a.location.etag = st.column_text(5);
  a.produced_by_stage = st.column_text(6);
  a.produced_by_action = st.column_text(7);
  a.size_bytes = st.column_int64(8);
  a.created_ms = st.column_int64(9);
  if (!st.column_status().ok()) return st.column_status();
  return a;
}

}  // namespace

// ---- Pipeline executions -------------------------------------------------------

Result<model::PipelineExecutionRecord> SqliteWriter::get_pipeline_execution(
    const std::string& execution_id) {
  const std::string context = "get pipeline execution " + execution_id;
  auto st = db_.prepare("SELECT " EXECUTION_COLUMNS " FROM pipeline_executions WHERE id = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto row = st->bind(1, execution_id).next();
  if (!row.ok()) return row.status().with_context(context);
  if (!*row) return execution_not_found().with_context(context);
  return read_execution(*st);
}

Result<Page<model::PipelineExecutionRecord>> SqliteWriter::list_pipeline_executions(
    const std::string& pipeline_name, int limit, const std::string& after_key) {
  STAGELINE_CHECK(limit >= 1);
  const std::string context = "list executions of pipeline " + quote(pipeline_name);
  auto after = descending_start_key(after_key);
  if (!after.ok()) return after.status().with_context(context);
  auto st = db_.prepare("SELECT " EXECUTION_COLUMNS
                        " FROM pipeline_executions"
                        " WHERE pipeline_name = ? AND (created_at_ms, seq) < (?, ?)"
                        " ORDER BY created_at_ms DESC, seq DESC LIMIT ?");
  if (!st.ok()) return st.status().with_context(context);
  st->bind_all(pipeline_name, after->time_ms, after->seq, int64_t{limit} + 1);
  auto page =
      collect_page<model::PipelineExecutionRecord>(*st, limit, read_execution, execution_key);
  if (!page.ok()) return page.status().with_context(context);
  return page;
}

Result<std::optional<model::PipelineExecutionRecord>>
SqliteWriter::find_pipeline_execution_by_token(const std::string& pipeline_name,
                                               const std::string& client_request_token) {
  STAGELINE_CHECK(!client_request_token.empty());
  const std::string context = "find the execution of pipeline " + quote(pipeline_name) +
                              " with client request token " + quote(client_request_token);
  auto st = db_.prepare("SELECT " EXECUTION_COLUMNS
                        " FROM pipeline_executions"
                        " WHERE pipeline_name = ? AND client_request_token = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto row = st->bind_all(pipeline_name, client_request_token).next();
  if (!row.ok()) return row.status().with_context(context);
  if (!*row) return std::optional<model::PipelineExecutionRecord>();
  auto execution = read_execution(*st);
  if (!execution.ok()) return execution.status().with_context(context);
  return std::optional<model::PipelineExecutionRecord>(std::move(*execution));
}

Result<std::vector<model::PipelineExecutionRecord>>
SqliteWriter::list_pipeline_executions_by_status(
    const std::vector<model::PipelineExecutionStatus>& statuses) {
  std::vector<std::string> names;
  for (auto status : statuses) names.emplace_back(model::to_string(status));
  const std::string context = "list pipeline executions in status " + join(names, ", ");
  auto st = db_.prepare("SELECT " EXECUTION_COLUMNS
                        " FROM pipeline_executions"
                        " WHERE status IN (SELECT value FROM json_each(?)) ORDER BY seq");
  if (!st.ok()) return st.status().with_context(context);
  st->bind(1, encode_string_array_json(names));
  auto rows = collect_rows<model::PipelineExecutionRecord>(*st, read_execution);
  if (!rows.ok()) return rows.status().with_context(context);
  return rows;
}

Status SqliteWriter::insert_pipeline_execution(const model::PipelineExecutionRecord& e) {
  const std::string context = "insert pipeline execution " + e.id;
  auto st = db_.prepare(
      "INSERT INTO pipeline_executions (id, pipeline_name, pipeline_version, status,"
      " status_summary, execution_mode, execution_type, trigger_type, trigger_detail,"
      " client_request_token, variables_json, source_revisions_json,"
      " rollback_target_execution_id, stop_reason, created_at_ms, updated_at_ms,"
      " rollback_stage_name)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return st.status().with_context(context);
  st->bind_all(e.id, e.pipeline_name, int64_t{e.pipeline_version}, model::to_string(e.status),
               e.status_summary, model::to_string(e.execution_mode),
               model::to_string(e.execution_type), model::to_string(e.trigger_type),
               e.trigger_detail, e.client_request_token, encode_variables_json(e.variables),
               encode_source_revisions_json(e.source_revisions), e.rollback_target_execution_id,
               e.stop_reason, e.created_ms, e.updated_ms, e.rollback_stage_name);
  // NULL, not "", when there is no token: the unique index skips NULLs.
  st->bind_or_null(10, e.client_request_token);
  auto inserted = st->run();
  if (!inserted.ok()) return inserted.status().with_context(context);
  return {};
}

Status SqliteWriter::update_pipeline_execution(const model::PipelineExecutionRecord& e) {
  const std::string context = "update pipeline execution " + e.id;
  auto st = db_.prepare(
      "UPDATE pipeline_executions SET status = ?, status_summary = ?, source_revisions_json = ?,"
      " stop_reason = ?, updated_at_ms = ? WHERE id = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind_all(model::to_string(e.status), e.status_summary,
                              encode_source_revisions_json(e.source_revisions), e.stop_reason,
                              e.updated_ms, e.id)
                     .run();
  if (!changed.ok()) return changed.status().with_context(context);
  if (*changed == 0) return execution_not_found().with_context(context);
  return {};
}

// ---- Stage executions ----------------------------------------------------------

Result<std::vector<model::StageExecutionRecord>> SqliteWriter::list_stage_executions(
    const std::string& execution_id) {
  const std::string context = "list stage executions of pipeline execution " + execution_id;
  auto st = db_.prepare(
      "SELECT execution_id, stage_name, status, attempt, started_at_ms, updated_at_ms"
      " FROM stage_executions WHERE execution_id = ? ORDER BY seq");
  if (!st.ok()) return st.status().with_context(context);
  st->bind(1, execution_id);
  auto rows = collect_rows<model::StageExecutionRecord>(*st, read_stage);
  if (!rows.ok()) return rows.status().with_context(context);
  return rows;
}

Status SqliteWriter::upsert_stage_execution(const model::StageExecutionRecord& s) {
  const std::string context =
      "store stage execution " + quote(s.stage_name) + " of pipeline execution " + s.execution_id;
  auto found = exists(kExistsExecution, s.execution_id);
  if (!found.ok()) return found.status().with_context(context);
  if (!*found) return execution_not_found().with_context(context);
  auto st = db_.prepare(
      "INSERT INTO stage_executions (execution_id, stage_name, status, attempt, started_at_ms,"
      " updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)"
      " ON CONFLICT (execution_id, stage_name) DO UPDATE SET status = excluded.status,"
      " attempt = excluded.attempt, started_at_ms = excluded.started_at_ms,"
      " updated_at_ms = excluded.updated_at_ms");
  if (!st.ok()) return st.status().with_context(context);
  auto stored = st->bind_all(s.execution_id, s.stage_name, model::to_string(s.status),
                             int64_t{s.attempt}, s.started_ms, s.updated_ms)
                    .run();
  if (!stored.ok()) return stored.status().with_context(context);
  return {};
}

// ---- Action executions ---------------------------------------------------------

Result<model::ActionExecutionRecord> SqliteWriter::get_action_execution(
    const std::string& action_execution_id) {
  const std::string context = "get action execution " + action_execution_id;
  auto st = db_.prepare("SELECT " ACTION_COLUMNS " FROM action_executions WHERE id = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto row = st->bind(1, action_execution_id).next();
  if (!row.ok()) return row.status().with_context(context);
  if (!*row) return Status::not_found("no action execution has this id").with_context(context);
  return read_action(*st);
}

Result<std::vector<model::ActionExecutionRecord>> SqliteWriter::list_action_executions(
    const std::string& execution_id) {
  const std::string context = "list action executions of pipeline execution " + execution_id;
  auto st = db_.prepare("SELECT " ACTION_COLUMNS
                        " FROM action_executions WHERE execution_id = ? ORDER BY seq");
  if (!st.ok()) return st.status().with_context(context);
  st->bind(1, execution_id);
  auto rows = collect_rows<model::ActionExecutionRecord>(*st, read_action);
  if (!rows.ok()) return rows.status().with_context(context);
  return rows;
}

Result<Page<model::ActionExecutionRecord>> SqliteWriter::list_action_executions_by_pipeline(
    const std::string& pipeline_name, int limit, const std::string& after_key) {
  STAGELINE_CHECK(limit >= 1);
  const std::string context = "list action executions of pipeline " + quote(pipeline_name);
  auto after = descending_start_key(after_key);
  if (!after.ok()) return after.status().with_context(context);
  auto st = db_.prepare("SELECT " ACTION_COLUMNS
                        " FROM action_executions"
                        " WHERE pipeline_name = ? AND (started_at_ms, seq) < (?, ?)"
                        " ORDER BY started_at_ms DESC, seq DESC LIMIT ?");
  if (!st.ok()) return st.status().with_context(context);
  st->bind_all(pipeline_name, after->time_ms, after->seq, int64_t{limit} + 1);
  auto page = collect_page<model::ActionExecutionRecord>(*st, limit, read_action, action_key);
  if (!page.ok()) return page.status().with_context(context);
  return page;
}

Status SqliteWriter::insert_action_execution(const model::ActionExecutionRecord& a) {
  const std::string context = "insert action execution " + a.id + " (action " +
                              quote(a.action_name) + " of pipeline execution " + a.execution_id +
                              ")";
  // pipeline_name is copied from the execution so that listing by pipeline
  // needs no join; no row is inserted when the execution is absent.
  auto st = db_.prepare(
      "INSERT INTO action_executions (id, execution_id, pipeline_name, stage_name, action_name,"
      " attempt, status, summary, external_execution_id, external_execution_url,"
      " resolved_configuration_json, output_variables_json, error_code, error_message, job_id,"
      " started_at_ms, updated_at_ms, approval_token, updated_by)"
      " SELECT ?1, ?2, e.pipeline_name, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
      " ?16, ?17, ?18 FROM pipeline_executions e WHERE e.id = ?2");
  if (!st.ok()) return st.status().with_context(context);
  auto inserted =
      st->bind_all(a.id, a.execution_id, a.stage_name, a.action_name, int64_t{a.attempt},
                   model::to_string(a.status), a.summary, a.external_execution_id,
                   a.external_execution_url, encode_string_map_json(a.resolved_configuration),
                   encode_string_map_json(a.output_variables), a.error_code, a.error_message,
                   a.job_id, a.started_ms, a.updated_ms, a.approval_token, a.updated_by)
          .run();
  if (!inserted.ok()) return inserted.status().with_context(context);
  if (*inserted == 0) return execution_not_found().with_context(context);
  return {};
}

Status SqliteWriter::update_action_execution(const model::ActionExecutionRecord& a) {
  const std::string context = "update action execution " + a.id;
  auto st = db_.prepare(
      "UPDATE action_executions SET status = ?, summary = ?, external_execution_id = ?,"
      " external_execution_url = ?, resolved_configuration_json = ?, output_variables_json = ?,"
      " error_code = ?, error_message = ?, job_id = ?, updated_at_ms = ?, approval_token = ?,"
      " updated_by = ? WHERE id = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto changed =
      st->bind_all(model::to_string(a.status), a.summary, a.external_execution_id,
                   a.external_execution_url, encode_string_map_json(a.resolved_configuration),
                   encode_string_map_json(a.output_variables), a.error_code, a.error_message,
                   a.job_id, a.updated_ms, a.approval_token, a.updated_by, a.id)
          .run();
  if (!changed.ok()) return changed.status().with_context(context);
  if (*changed == 0)
    return Status::not_found("no action execution has this id").with_context(context);
  return {};
}

// ---- Artifacts -----------------------------------------------------------------

Result<model::ArtifactRecord> SqliteWriter::get_artifact(const std::string& execution_id,
                                                         const std::string& name) {
  const std::string context =
      "get artifact " + quote(name) + " of pipeline execution " + execution_id;
  auto st =
      db_.prepare("SELECT " ARTIFACT_COLUMNS " FROM artifacts WHERE execution_id = ? AND name = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto row = st->bind_all(execution_id, name).next();
  if (!row.ok()) return row.status().with_context(context);
  if (!*row)
    return Status::not_found("the execution has no artifact of this name").with_context(context);
  auto artifact = read_artifact(*st);
  if (!artifact.ok()) return artifact.status().with_context(context);
  return artifact;
}

Result<std::vector<model::ArtifactRecord>> SqliteWriter::list_artifacts(
    const std::string& execution_id) {
  const std::string context = "list artifacts of pipeline execution " + execution_id;
  auto st = db_.prepare("SELECT " ARTIFACT_COLUMNS
                        " FROM artifacts WHERE execution_id = ? ORDER BY name");
  if (!st.ok()) return st.status().with_context(context);
  st->bind(1, execution_id);
  auto rows = collect_rows<model::ArtifactRecord>(*st, read_artifact);
  if (!rows.ok()) return rows.status().with_context(context);
  return rows;
}

Status SqliteWriter::put_artifact(const model::ArtifactRecord& a) {
  const std::string context =
      "store artifact " + quote(a.name) + " of pipeline execution " + a.execution_id;
  auto found = exists(kExistsExecution, a.execution_id);
  if (!found.ok()) return found.status().with_context(context);
  if (!*found) return execution_not_found().with_context(context);
  auto st =
      db_.prepare("INSERT INTO artifacts (" ARTIFACT_COLUMNS
                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                  " ON CONFLICT (execution_id, name) DO UPDATE SET bucket = excluded.bucket,"
                  " object_key = excluded.object_key, version_id = excluded.version_id,"
                  " etag = excluded.etag, produced_by_stage = excluded.produced_by_stage,"
                  " produced_by_action = excluded.produced_by_action,"
                  " size_bytes = excluded.size_bytes, created_at_ms = excluded.created_at_ms");
  if (!st.ok()) return st.status().with_context(context);
  auto stored = st->bind_all(a.execution_id, a.name, a.location.bucket, a.location.key,
                             a.location.version_id, a.location.etag, a.produced_by_stage,
                             a.produced_by_action, a.size_bytes, a.created_ms)
                    .run();
  if (!stored.ok()) return stored.status().with_context(context);
  return {};
}

}  // namespace stageline::store
