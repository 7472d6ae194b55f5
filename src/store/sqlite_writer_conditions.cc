// Condition executions and rule executions: the evaluations of a stage's
// beforeEntry, onSuccess and onFailure conditions (reference section 7).

#include "base/strings.h"
#include "store/record_json.h"
#include "store/sqlite_writer.h"

namespace stageline::store {
namespace {

Status execution_not_found() { return Status::not_found("no pipeline execution has this id"); }

Status rule_not_found() { return Status::not_found("no rule execution has this id"); }

// ---- Condition executions --------------------------------------------------------

#define CONDITION_COLUMNS                                                                     \
  "execution_id, stage_name, condition_type, stage_attempt, status, summary, started_at_ms, " \
  "updated_at_ms"

Result<model::ConditionExecutionRecord> read_condition(sqlite::Statement& st) {
  model::ConditionExecutionRecord c;
  c.execution_id = st.column_text(0);
  c.stage_name = st.column_text(1);
  const std::string type_text = st.column_text(2);
  const auto context = [&] {
    return "read " + type_text + " condition execution of stage " + quote(c.stage_name) +
           " of pipeline execution " + c.execution_id;
  };
  auto type = decode_enum_column<model::ConditionType>(type_text);
  if (!type.ok()) return type.status().with_context(context());
  c.type = *type;
  c.stage_attempt = static_cast<int>(st.column_int64(3));
  auto status = decode_enum_column<model::ConditionExecutionStatus>(st.column_text(4));
  if (!status.ok()) return status.status().with_context(context());
  c.status = *status;
  c.summary = st.column_text(5);
  c.started_ms = st.column_int64(6);
  c.updated_ms = st.column_int64(7);
  if (!st.column_status().ok()) return st.column_status().with_context(context());
  return c;
}

// ---- Rule executions -------------------------------------------------------------

// Columns 0-18 are the record's; 19 is seq, for continuation keys.
#define RULE_COLUMNS                                                                        \
  "id, execution_id, pipeline_name, stage_name, condition_type, stage_attempt, rule_name, " \
  "rule_category, rule_owner, rule_provider, rule_version, status, summary, "               \
  "external_execution_id, resolved_configuration_json, error_code, error_message, "         \
  "started_at_ms, updated_at_ms, seq"

Result<model::RuleExecutionRecord> read_rule(sqlite::Statement& st) {
  model::RuleExecutionRecord r;
  r.id = st.column_text(0);
  const auto context = [&] { return "read rule execution " + r.id; };
  r.execution_id = st.column_text(1);
  r.pipeline_name = st.column_text(2);
  r.stage_name = st.column_text(3);
  auto type = decode_enum_column<model::ConditionType>(st.column_text(4));
  if (!type.ok()) return type.status().with_context(context());
  r.condition_type = *type;
  r.stage_attempt = static_cast<int>(st.column_int64(5));
  r.rule_name = st.column_text(6);
  auto category = decode_enum_column<model::RuleCategory>(st.column_text(7));
  if (!category.ok()) return category.status().with_context(context());
  r.rule_type_id.category = *category;
  // The declaration may leave owner and version out; "" stands for absent.
  const std::string owner = st.column_text(8);
  if (!owner.empty()) {
    auto parsed = decode_enum_column<model::RuleOwner>(owner);
    if (!parsed.ok()) return parsed.status().with_context(context());
    r.rule_type_id.owner = *parsed;
  }
  r.rule_type_id.provider = st.column_text(9);
  std::string version = st.column_text(10);
  if (!version.empty()) r.rule_type_id.version = std::move(version);
  auto status = decode_enum_column<model::RuleExecutionStatus>(st.column_text(11));
  if (!status.ok()) return status.status().with_context(context());
  r.status = *status;
  r.summary = st.column_text(12);
  r.external_execution_id = st.column_text(13);
  auto configuration = decode_string_map_json(st.column_text(14));
  if (!configuration.ok()) return configuration.status().with_context(context());
  r.resolved_configuration = std::move(*configuration);
  r.error_code = st.column_text(15);
  r.error_message = st.column_text(16);
  r.started_ms = st.column_int64(17);
  r.updated_ms = st.column_int64(18);
  if (!st.column_status().ok()) return st.column_status().with_context(context());
  return r;
}

std::string rule_key(const model::RuleExecutionRecord& r, sqlite::Statement& st) {
  return encode_time_seq_key({r.started_ms, st.column_int64(19)});
}

}  // namespace

// ---- Condition executions --------------------------------------------------------

Result<std::vector<model::ConditionExecutionRecord>> SqliteWriter::list_condition_executions(
    const std::string& execution_id) {
  const std::string context = "list condition executions of pipeline execution " + execution_id;
  auto st = db_.prepare("SELECT " CONDITION_COLUMNS
                        " FROM condition_executions WHERE execution_id = ? ORDER BY seq");
  if (!st.ok()) return st.status().with_context(context);
  st->bind(1, execution_id);
  auto rows = collect_rows<model::ConditionExecutionRecord>(*st, read_condition);
  if (!rows.ok()) return rows.status().with_context(context);
  return rows;
}

Status SqliteWriter::upsert_condition_execution(const model::ConditionExecutionRecord& c) {
  const std::string context = "store " + std::string(model::to_string(c.type)) +
                              " condition execution of stage " + quote(c.stage_name) +
                              " (attempt " + std::to_string(c.stage_attempt) +
                              ") of pipeline execution " + c.execution_id;
  auto found = exists("SELECT 1 FROM pipeline_executions WHERE id = ?", c.execution_id);
  if (!found.ok()) return found.status().with_context(context);
  if (!*found) return execution_not_found().with_context(context);
  // ON CONFLICT keeps the row, and so its seq: a re-evaluation does not move
  // the condition in the listing.
  auto st = db_.prepare(
      "INSERT INTO condition_executions (" CONDITION_COLUMNS
      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
      " ON CONFLICT (execution_id, stage_name, condition_type, stage_attempt) DO UPDATE SET"
      " status = excluded.status, summary = excluded.summary,"
      " started_at_ms = excluded.started_at_ms, updated_at_ms = excluded.updated_at_ms");
  if (!st.ok()) return st.status().with_context(context);
  auto stored =
      st->bind_all(c.execution_id, c.stage_name, model::to_string(c.type), int64_t{c.stage_attempt},
                   model::to_string(c.status), c.summary, c.started_ms, c.updated_ms)
          .run();
  if (!stored.ok()) return stored.status().with_context(context);
  return {};
}

// ---- Rule executions -------------------------------------------------------------

Result<model::RuleExecutionRecord> SqliteWriter::get_rule_execution(
    const std::string& rule_execution_id) {
  const std::string context = "get rule execution " + rule_execution_id;
  auto st = db_.prepare("SELECT " RULE_COLUMNS " FROM rule_executions WHERE id = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto row = st->bind(1, rule_execution_id).next();
  if (!row.ok()) return row.status().with_context(context);
  if (!*row) return rule_not_found().with_context(context);
  return read_rule(*st);
}

Result<std::vector<model::RuleExecutionRecord>> SqliteWriter::list_rule_executions(
    const std::string& execution_id) {
  const std::string context = "list rule executions of pipeline execution " + execution_id;
  auto st = db_.prepare("SELECT " RULE_COLUMNS
                        " FROM rule_executions WHERE execution_id = ? ORDER BY seq");
  if (!st.ok()) return st.status().with_context(context);
  st->bind(1, execution_id);
  auto rows = collect_rows<model::RuleExecutionRecord>(*st, read_rule);
  if (!rows.ok()) return rows.status().with_context(context);
  return rows;
}

Result<Page<model::RuleExecutionRecord>> SqliteWriter::list_rule_executions_by_pipeline(
    const std::string& pipeline_name, int limit, const std::string& after_key) {
  STAGELINE_CHECK(limit >= 1);
  const std::string context = "list rule executions of pipeline " + quote(pipeline_name);
  auto after = descending_start_key(after_key);
  if (!after.ok()) return after.status().with_context(context);
  auto st = db_.prepare("SELECT " RULE_COLUMNS
                        " FROM rule_executions"
                        " WHERE pipeline_name = ? AND (started_at_ms, seq) < (?, ?)"
                        " ORDER BY started_at_ms DESC, seq DESC LIMIT ?");
  if (!st.ok()) return st.status().with_context(context);
  st->bind_all(pipeline_name, after->time_ms, after->seq, int64_t{limit} + 1);
  auto page = collect_page<model::RuleExecutionRecord>(*st, limit, read_rule, rule_key);
  if (!page.ok()) return page.status().with_context(context);
  return page;
}

Status SqliteWriter::insert_rule_execution(const model::RuleExecutionRecord& r) {
  const std::string context = "insert rule execution " + r.id + " (rule " + quote(r.rule_name) +
                              " of stage " + quote(r.stage_name) + " of pipeline execution " +
                              r.execution_id + ")";
  // The pipeline name is denormalized for listing by pipeline without a
  // join, so it must agree with the execution's: a rule execution filed
  // under another pipeline would show up in the wrong ListRuleExecutions.
  auto parent = db_.prepare("SELECT pipeline_name FROM pipeline_executions WHERE id = ?");
  if (!parent.ok()) return parent.status().with_context(context);
  auto row = parent->bind(1, r.execution_id).next();
  if (!row.ok()) return row.status().with_context(context);
  if (!*row) return execution_not_found().with_context(context);
  const std::string execution_pipeline = parent->column_text(0);
  if (!parent->column_status().ok()) return parent->column_status().with_context(context);
  if (r.pipeline_name != execution_pipeline)
    return Status::invalid("the record names pipeline " + quote(r.pipeline_name) +
                           ", but the execution is of pipeline " + quote(execution_pipeline))
        .with_context(context);

  auto st = db_.prepare(
      "INSERT INTO rule_executions (id, execution_id, pipeline_name, stage_name, condition_type,"
      " stage_attempt, rule_name, rule_category, rule_owner, rule_provider, rule_version, status,"
      " summary, external_execution_id, resolved_configuration_json, error_code, error_message,"
      " started_at_ms, updated_at_ms)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return st.status().with_context(context);
  const model::RuleTypeId& type = r.rule_type_id;
  const std::string owner_text = type.owner ? std::string(model::to_string(*type.owner)) : "";
  auto inserted =
      st->bind_all(r.id, r.execution_id, r.pipeline_name, r.stage_name,
                   model::to_string(r.condition_type), int64_t{r.stage_attempt}, r.rule_name,
                   model::to_string(type.category), owner_text, type.provider,
                   type.version.value_or(""), model::to_string(r.status), r.summary,
                   r.external_execution_id, encode_string_map_json(r.resolved_configuration),
                   r.error_code, r.error_message, r.started_ms, r.updated_ms)
          .run();
  if (!inserted.ok()) return inserted.status().with_context(context);
  return {};
}

Status SqliteWriter::update_rule_execution(const model::RuleExecutionRecord& r) {
  const std::string context = "update rule execution " + r.id;
  auto st = db_.prepare(
      "UPDATE rule_executions SET status = ?, summary = ?, external_execution_id = ?,"
      " resolved_configuration_json = ?, error_code = ?, error_message = ?, updated_at_ms = ?"
      " WHERE id = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind_all(model::to_string(r.status), r.summary, r.external_execution_id,
                              encode_string_map_json(r.resolved_configuration), r.error_code,
                              r.error_message, r.updated_ms, r.id)
                     .run();
  if (!changed.ok()) return changed.status().with_context(context);
  if (*changed == 0) return rule_not_found().with_context(context);
  return {};
}

}  // namespace stageline::store
