#include "store/migrations.h"

#include <string>

namespace stageline::store {
namespace {

// Migration 1. Enum columns hold the API's strings ("InProgress") and have no
// CHECK: SQLite cannot alter a CHECK without rebuilding the table, and the
// store rejects a value it cannot parse when it reads it back.
constexpr const char* kInitialSchema = R"sql(
CREATE TABLE schema_version (
  version INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at_ms INTEGER NOT NULL
);

CREATE TABLE pipelines (
  name TEXT PRIMARY KEY,
  current_version INTEGER NOT NULL CHECK (current_version >= 1),
  tags_json TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);

CREATE TABLE pipeline_versions (
  pipeline_name TEXT NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,
  version INTEGER NOT NULL CHECK (version >= 1),
  declaration_json TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (pipeline_name, version)
);

CREATE TABLE stage_transitions (
  pipeline_name TEXT NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,
  stage_name TEXT NOT NULL,
  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  disabled_reason TEXT NOT NULL,
  last_changed_by TEXT NOT NULL,
  last_changed_at_ms INTEGER NOT NULL,
  PRIMARY KEY (pipeline_name, stage_name)
);

CREATE TABLE pipeline_executions (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  pipeline_name TEXT NOT NULL,
  pipeline_version INTEGER NOT NULL,
  status TEXT NOT NULL,
  status_summary TEXT NOT NULL,
  execution_mode TEXT NOT NULL,
  execution_type TEXT NOT NULL,
  trigger_type TEXT NOT NULL,
  trigger_detail TEXT NOT NULL,
  client_request_token TEXT,
  variables_json TEXT NOT NULL,
  source_revisions_json TEXT NOT NULL,
  rollback_target_execution_id TEXT NOT NULL,
  stop_reason TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX pipeline_executions_by_pipeline
  ON pipeline_executions (pipeline_name, created_at_ms);
CREATE INDEX pipeline_executions_by_status ON pipeline_executions (status);
CREATE UNIQUE INDEX pipeline_executions_by_token
  ON pipeline_executions (pipeline_name, client_request_token)
  WHERE client_request_token IS NOT NULL;

CREATE TABLE stage_executions (
  seq INTEGER PRIMARY KEY,
  execution_id TEXT NOT NULL REFERENCES pipeline_executions (id) ON DELETE CASCADE,
  stage_name TEXT NOT NULL,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  UNIQUE (execution_id, stage_name)
);

CREATE TABLE action_executions (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  execution_id TEXT NOT NULL REFERENCES pipeline_executions (id) ON DELETE CASCADE,
  pipeline_name TEXT NOT NULL,
  stage_name TEXT NOT NULL,
  action_name TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  summary TEXT NOT NULL,
  external_execution_id TEXT NOT NULL,
  external_execution_url TEXT NOT NULL,
  resolved_configuration_json TEXT NOT NULL,
  output_variables_json TEXT NOT NULL,
  error_code TEXT NOT NULL,
  error_message TEXT NOT NULL,
  job_id TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX action_executions_by_execution ON action_executions (execution_id);
CREATE INDEX action_executions_by_pipeline ON action_executions (pipeline_name, started_at_ms);

CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  nonce TEXT NOT NULL,
  action_execution_id TEXT NOT NULL REFERENCES action_executions (id) ON DELETE CASCADE,
  execution_id TEXT NOT NULL,
  pipeline_name TEXT NOT NULL,
  stage_name TEXT NOT NULL,
  action_name TEXT NOT NULL,
  action_category TEXT NOT NULL,
  action_owner TEXT NOT NULL,
  action_provider TEXT NOT NULL,
  action_version TEXT NOT NULL,
  status TEXT NOT NULL,
  claimed_by TEXT NOT NULL,
  continuation_token TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX jobs_by_status_and_type
  ON jobs (status, action_category, action_owner, action_provider, action_version, created_at_ms);
CREATE INDEX jobs_by_action_execution ON jobs (action_execution_id);

CREATE TABLE artifacts (
  execution_id TEXT NOT NULL REFERENCES pipeline_executions (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  bucket TEXT NOT NULL,
  object_key TEXT NOT NULL,
  version_id TEXT NOT NULL,
  etag TEXT NOT NULL,
  produced_by_stage TEXT NOT NULL,
  produced_by_action TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (execution_id, name)
);

CREATE TABLE action_logs (
  action_execution_id TEXT NOT NULL REFERENCES action_executions (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL CHECK (seq >= 1),
  logged_at_ms INTEGER NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (action_execution_id, seq)
) WITHOUT ROWID;
)sql";

// Migration 2: stage conditions and their rules (reference section 7).
// condition_types are the ConditionType strings (BEFORE_ENTRY, ON_SUCCESS,
// ON_FAILURE); a retried stage evaluates its conditions again, so the stage
// attempt is part of a condition execution's key.
constexpr const char* kConditionsSchema = R"sql(
CREATE TABLE condition_executions (
  seq INTEGER PRIMARY KEY,
  execution_id TEXT NOT NULL REFERENCES pipeline_executions (id) ON DELETE CASCADE,
  stage_name TEXT NOT NULL,
  condition_type TEXT NOT NULL,
  stage_attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  summary TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  UNIQUE (execution_id, stage_name, condition_type, stage_attempt)
);

CREATE TABLE rule_executions (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  execution_id TEXT NOT NULL REFERENCES pipeline_executions (id) ON DELETE CASCADE,
  pipeline_name TEXT NOT NULL,
  stage_name TEXT NOT NULL,
  condition_type TEXT NOT NULL,
  stage_attempt INTEGER NOT NULL,
  rule_name TEXT NOT NULL,
  rule_category TEXT NOT NULL,
  rule_owner TEXT NOT NULL,
  rule_provider TEXT NOT NULL,
  rule_version TEXT NOT NULL,
  status TEXT NOT NULL,
  summary TEXT NOT NULL,
  external_execution_id TEXT NOT NULL,
  resolved_configuration_json TEXT NOT NULL,
  error_code TEXT NOT NULL,
  error_message TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX rule_executions_by_execution ON rule_executions (execution_id);
CREATE INDEX rule_executions_by_pipeline ON rule_executions (pipeline_name, started_at_ms);
)sql";

// Migration 3: the one stage a ROLLBACK execution runs, so that one that
// was waiting to enter it when the process died goes back to wait there.
constexpr const char* kRollbackStageSchema = R"sql(
ALTER TABLE pipeline_executions ADD COLUMN rollback_stage_name TEXT NOT NULL DEFAULT '';
)sql";

// Migration 4: access keys (reference section 2). The secret is in clear
// because verifying a SigV4 signature needs it; the file is 0600. The rowid
// breaks ties in creation order.
constexpr const char* kAccessKeysSchema = R"sql(
CREATE TABLE access_keys (
  access_key_id TEXT PRIMARY KEY,
  secret TEXT NOT NULL,
  principal TEXT NOT NULL,
  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  created_at_ms INTEGER NOT NULL,
  last_used_at_ms INTEGER
);
)sql";

// Migration 5: custom action types (reference section 11.1). A deleted type
// keeps its row (deleted_at_ms set): AWS never lets its version string be
// used for another definition. The definition is the API's ActionType JSON,
// opaque to the store.
constexpr const char* kCustomActionTypesSchema = R"sql(
CREATE TABLE custom_action_types (
  category TEXT NOT NULL,
  provider TEXT NOT NULL,
  version TEXT NOT NULL,
  definition_json TEXT NOT NULL,
  tags_json TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  deleted_at_ms INTEGER,
  PRIMARY KEY (category, provider, version)
);
)sql";

// Migration 6: the event log of api/events (reference section 14). seq is
// AUTOINCREMENT so a seq is never given twice, even once every older row has
// been pruned: clients resume after the last seq they saw. time_at_ms is
// indexed for pruning by age, (pipeline_name, seq) for a filtered replay.
constexpr const char* kEventsSchema = R"sql(
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time_at_ms INTEGER NOT NULL,
  pipeline_name TEXT NOT NULL,
  event_json TEXT NOT NULL
);
CREATE INDEX events_by_time ON events (time_at_ms);
CREATE INDEX events_by_pipeline ON events (pipeline_name, seq);
)sql";

// Migration 7: the resources of the AWS services the server answers besides
// CodePipeline (CodeCommit repositories, connections and hosts, registered
// action types, webhooks, and later build projects, parameters, secrets,
// keys, topics), each a JSON document its API module owns, keyed by
// (service, kind, name); and the client id PollForThirdPartyJobs hands out
// with each third-party job (reference section 11.3).
constexpr const char* kResourcesSchema = R"sql(
CREATE TABLE resources (
  service TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  document_json TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (service, kind, name)
) WITHOUT ROWID;
ALTER TABLE jobs ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
)sql";

// Migration 8: manual approvals that wait (reference section 10): the token
// of a waiting approval and who answered it.
constexpr const char* kApprovalsSchema = R"sql(
ALTER TABLE action_executions ADD COLUMN approval_token TEXT NOT NULL DEFAULT '';
ALTER TABLE action_executions ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
)sql";

constexpr Migration kMigrations[] = {
    {1, "initial schema", kInitialSchema},
    {2, "condition and rule executions", kConditionsSchema},
    {3, "rollback stage of an execution", kRollbackStageSchema},
    {4, "access keys", kAccessKeysSchema},
    {5, "custom action types", kCustomActionTypesSchema},
    {6, "event log", kEventsSchema},
    {7, "service resources and third-party job clients", kResourcesSchema},
    {8, "manual approvals", kApprovalsSchema},
};

Result<int64_t> query_int(sqlite::Connection& connection, const char* sql) {
  auto st = connection.prepare(sql);
  if (!st.ok()) return st.status();
  auto row = st->next();
  if (!row.ok()) return row.status();
  if (!*row) return Status::internal(std::string("no row from: ") + sql);
  return st->column_int64(0);
}

// Applies `migration` if the database is still below its version, in one
// transaction that re-reads the version under the write lock, so two
// processes opening the same new file do not both apply it.
Status apply(sqlite::Connection& connection, const Migration& migration) {
  const std::string context =
      "apply migration " + std::to_string(migration.version) + " (" + migration.description + ")";
  auto tx = sqlite::WriteTransaction::begin(connection);
  if (!tx.ok()) return tx.status().with_context(context);
  auto current = read_schema_version(connection);
  if (!current.ok()) return current.status().with_context(context);
  if (*current >= migration.version) return tx->rollback();
  STAGELINE_CHECK(*current == migration.version - 1);  // migrations() has no gaps

  auto applied = connection.exec(migration.sql);
  if (!applied.ok()) return applied.with_context(context);
  if (migration.version == 1) {
    const std::string pragma = "PRAGMA application_id = " + std::to_string(kApplicationId);
    auto marked = connection.exec(pragma.c_str());
    if (!marked.ok()) return marked.with_context(context + ": set application_id");
  }
  auto st = connection.prepare(
      "INSERT INTO schema_version (version, description, applied_at_ms) "
      "VALUES (?, ?, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))");
  if (!st.ok()) return st.status().with_context(context);
  auto inserted = st->bind_all(int64_t{migration.version}, migration.description).run();
  if (!inserted.ok()) return inserted.status().with_context(context);
  auto committed = tx->commit();
  if (!committed.ok()) return committed.with_context(context);
  return {};
}

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

int latest_schema_version() { return migrations().back().version; }

Result<int> read_schema_version(sqlite::Connection& connection) {
  auto exists = query_int(connection,
                          "SELECT count(*) FROM sqlite_master "
                          "WHERE type = 'table' AND name = 'schema_version'");
  if (!exists.ok()) return exists.status().with_context("read schema version");
  if (*exists == 0) return 0;
  auto version = query_int(connection, "SELECT coalesce(max(version), 0) FROM schema_version");
  if (!version.ok()) return version.status().with_context("read schema version");
  return static_cast<int>(*version);
}

Status migrate(sqlite::Connection& connection) {
  auto application_id = query_int(connection, "PRAGMA application_id");
  if (!application_id.ok()) return application_id.status().with_context("read application_id");
  if (*application_id != 0 && *application_id != kApplicationId)
    return {StatusCode::kFailedPrecondition,
            "not a Stageline database: its application_id is " + std::to_string(*application_id) +
                ", Stageline's is " + std::to_string(kApplicationId)};

  auto current = read_schema_version(connection);
  if (!current.ok()) return current.status();
  if (*current > latest_schema_version())
    return {StatusCode::kFailedPrecondition,
            "the database has schema version " + std::to_string(*current) +
                ", newer than this build of Stageline knows (" +
                std::to_string(latest_schema_version()) +
                "); run a newer Stageline, or restore a backup made by this one"};
  if (*current == 0) {
    auto tables = query_int(connection,
                            "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
    if (!tables.ok()) return tables.status().with_context("list tables");
    if (*tables != 0)
      return {StatusCode::kFailedPrecondition,
              "not a Stageline database: it has tables but no schema_version table"};
  }

  for (const Migration& migration : migrations()) {
    if (migration.version <= *current) continue;
    auto applied = apply(connection, migration);
    if (!applied.ok()) return applied;
  }
  return {};
}

}  // namespace stageline::store
