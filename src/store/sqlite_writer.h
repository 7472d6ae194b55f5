// store/sqlite_writer: the SQL of every StoreWriter operation, run on one
// connection with no locking and no transaction of its own. Private to the
// store module: SqliteStore owns one, wraps each direct call in its mutex and
// a transaction, and hands it to write()'s callback inside one transaction.
// Not thread-safe. Implemented in sqlite_writer_*.cc, grouped by noun.
#pragma once

#include <string>
#include <vector>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace stageline::store {

class SqliteWriter final : public StoreWriter {
 public:
  explicit SqliteWriter(sqlite::Connection& connection) : db_(connection) {}

  // sqlite_writer_pipelines.cc
  Result<model::PipelineRecord> get_pipeline(const std::string& name) override;
  Result<model::PipelineRecord> get_pipeline_version(const std::string& name, int version) override;
  Result<Page<model::PipelineRecord>> list_pipelines(int limit,
                                                     const std::string& after_key) override;
  Result<model::PipelineRecord> create_pipeline(const model::PipelineRecord& pipeline) override;
  Result<model::PipelineRecord> update_pipeline(const model::PipelineDeclaration& declaration,
                                                TimestampMs now_ms) override;
  Status set_pipeline_tags(const std::string& name, const std::vector<model::Tag>& tags) override;
  Status delete_pipeline(const std::string& name) override;
  Result<std::vector<model::TransitionRecord>> list_transitions(
      const std::string& pipeline_name) override;
  Status set_transition(const model::TransitionRecord& transition) override;

  // sqlite_writer_executions.cc
  Result<model::PipelineExecutionRecord> get_pipeline_execution(
      const std::string& execution_id) override;
  Result<Page<model::PipelineExecutionRecord>> list_pipeline_executions(
      const std::string& pipeline_name, int limit, const std::string& after_key) override;
  Result<std::optional<model::PipelineExecutionRecord>> find_pipeline_execution_by_token(
      const std::string& pipeline_name, const std::string& client_request_token) override;
  Result<std::vector<model::PipelineExecutionRecord>> list_pipeline_executions_by_status(
      const std::vector<model::PipelineExecutionStatus>& statuses) override;
  Status insert_pipeline_execution(const model::PipelineExecutionRecord& execution) override;
  Status update_pipeline_execution(const model::PipelineExecutionRecord& execution) override;
  Result<std::vector<model::StageExecutionRecord>> list_stage_executions(
      const std::string& execution_id) override;
  Status upsert_stage_execution(const model::StageExecutionRecord& stage) override;
  Result<model::ActionExecutionRecord> get_action_execution(
      const std::string& action_execution_id) override;
  Result<std::vector<model::ActionExecutionRecord>> list_action_executions(
      const std::string& execution_id) override;
  Result<Page<model::ActionExecutionRecord>> list_action_executions_by_pipeline(
      const std::string& pipeline_name, int limit, const std::string& after_key) override;
  Status insert_action_execution(const model::ActionExecutionRecord& action) override;
  Status update_action_execution(const model::ActionExecutionRecord& action) override;
  Result<model::ArtifactRecord> get_artifact(const std::string& execution_id,
                                             const std::string& name) override;
  Result<std::vector<model::ArtifactRecord>> list_artifacts(
      const std::string& execution_id) override;
  Status put_artifact(const model::ArtifactRecord& artifact) override;

  // sqlite_writer_conditions.cc
  Result<std::vector<model::ConditionExecutionRecord>> list_condition_executions(
      const std::string& execution_id) override;
  Status upsert_condition_execution(const model::ConditionExecutionRecord& condition) override;
  Result<model::RuleExecutionRecord> get_rule_execution(
      const std::string& rule_execution_id) override;
  Result<std::vector<model::RuleExecutionRecord>> list_rule_executions(
      const std::string& execution_id) override;
  Result<Page<model::RuleExecutionRecord>> list_rule_executions_by_pipeline(
      const std::string& pipeline_name, int limit, const std::string& after_key) override;
  Status insert_rule_execution(const model::RuleExecutionRecord& rule) override;
  Status update_rule_execution(const model::RuleExecutionRecord& rule) override;

  // sqlite_writer_jobs.cc
  Result<model::JobRecord> get_job(const std::string& job_id) override;
  Result<std::vector<model::JobRecord>> list_jobs_by_status(
      const std::vector<model::JobStatus>& statuses) override;
  Status insert_job(const model::JobRecord& job) override;
  Result<std::vector<model::JobRecord>> claim_jobs(
      const std::vector<model::ActionTypeId>& action_types, const std::string& claimed_by,
      int max_jobs, TimestampMs now_ms) override;
  Result<model::JobRecord> acknowledge_job(const std::string& job_id, const std::string& nonce,
                                           TimestampMs now_ms) override;
  Result<model::JobRecord> complete_job(const std::string& job_id, model::JobStatus outcome,
                                        TimestampMs now_ms) override;

  // sqlite_writer_logs.cc
  Result<std::vector<model::LogLine>> read_logs(const std::string& action_execution_id,
                                                int64_t from_seq, int limit) override;
  Result<int64_t> append_logs(const std::string& action_execution_id,
                              const std::vector<model::LogLine>& lines) override;

  // sqlite_writer_access_keys.cc
  Result<AccessKeyRecord> get_access_key(const std::string& access_key_id) override;
  Result<std::vector<AccessKeyRecord>> list_access_keys() override;
  Status insert_access_key(const AccessKeyRecord& key) override;
  Status set_access_key_enabled(const std::string& access_key_id, bool enabled) override;
  Status delete_access_key(const std::string& access_key_id) override;
  Status touch_access_key(const std::string& access_key_id, TimestampMs now_ms) override;

  // sqlite_writer_action_types.cc
  Result<CustomActionTypeRecord> get_custom_action_type(const model::ActionTypeId& id) override;
  Result<std::vector<CustomActionTypeRecord>> list_custom_action_types() override;
  Result<CustomActionTypeRecord> put_custom_action_type(
      const CustomActionTypeRecord& type) override;
  Status mark_custom_action_type_deleted(const model::ActionTypeId& id,
                                         TimestampMs now_ms) override;

  // sqlite_writer_jobs.cc
  Result<std::vector<model::JobRecord>> claim_matching_jobs(const model::ActionTypeId& action_type,
                                                            const ConfigurationMatch& match,
                                                            const std::string& claimed_by,
                                                            int max_jobs,
                                                            TimestampMs now_ms) override;

  // sqlite_writer_resources.cc
  Result<ResourceRecord> get_resource(const std::string& service, const std::string& kind,
                                      const std::string& name) override;
  Result<Page<ResourceRecord>> list_resources(const std::string& service, const std::string& kind,
                                              int limit, const std::string& after_key) override;
  Status insert_resource(const ResourceRecord& resource) override;
  Status update_resource(const ResourceRecord& resource) override;
  Status delete_resource(const std::string& service, const std::string& kind,
                         const std::string& name) override;

  // sqlite_writer_events.cc
  Result<std::vector<EventRecord>> read_events(int64_t after_seq, const std::string& pipeline_name,
                                               int limit) override;
  Result<int64_t> last_event_seq() override;
  Result<int64_t> append_event(const EventRecord& event) override;
  Result<int64_t> prune_events(TimestampMs older_than_ms, int64_t keep_rows) override;

 private:
  // The jobs claim_jobs() and claim_matching_jobs() take, `match` or not.
  Result<std::vector<model::JobRecord>> claim(const std::vector<model::ActionTypeId>& action_types,
                                              const ConfigurationMatch* match,
                                              const std::string& claimed_by, int max_jobs,
                                              TimestampMs now_ms);

  // Whether the query `sql`, with `value` bound to its one parameter,
  // returns a row.
  Result<bool> exists(const char* sql, std::string_view value);

  sqlite::Connection& db_;
};

// Steps `st` to the end, reading each row with `read` (Statement& ->
// Result<T>).
template <typename T, typename Read>
Result<std::vector<T>> collect_rows(sqlite::Statement& st, Read read) {
  std::vector<T> out;
  for (;;) {
    auto row = st.next();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    Result<T> value = read(st);
    if (!value.ok()) return value.status();
    out.push_back(std::move(*value));
  }
}

// Reads at most `limit` rows of `st`, which was asked for limit + 1, into a
// page; `key_of` (const T&, Statement& -> std::string) gives the continuation
// key of the last item kept when the extra row shows there is more.
template <typename T, typename Read, typename KeyOf>
Result<Page<T>> collect_page(sqlite::Statement& st, int limit, Read read, KeyOf key_of) {
  Page<T> page;
  std::string last_key;
  for (;;) {
    auto row = st.next();
    if (!row.ok()) return row.status();
    if (!*row) return page;
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_key = std::move(last_key);
      return page;
    }
    Result<T> value = read(st);
    if (!value.ok()) return value.status();
    last_key = key_of(*value, st);
    page.items.push_back(std::move(*value));
  }
}

// A continuation key made of a timestamp and a row's seq, "<ms>.<seq>", for
// listings in (timestamp, seq) order.
struct TimeSeqKey {
  int64_t time_ms = 0;
  int64_t seq = 0;
};
std::string encode_time_seq_key(const TimeSeqKey& key);
// kInvalidArgument if `key` is not one encode_time_seq_key made.
Result<TimeSeqKey> decode_time_seq_key(const std::string& key);
// The key a newest-first listing continues after: `after_key` decoded, or,
// for "" (the first page), a key past every row.
Result<TimeSeqKey> descending_start_key(const std::string& after_key);

}  // namespace stageline::store
