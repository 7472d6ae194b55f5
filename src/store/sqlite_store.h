// store/sqlite_store: the Store on an embedded SQLite database, the default
// for a single machine. One file (plus its -wal and -shm files while open) in
// the data directory; the schema, its migrations and the reasons for WAL +
// synchronous=NORMAL are in docs/store-schema.md.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/store.h"

namespace stageline::store {

namespace sqlite {
class Connection;
}
class SqliteWriter;

// A Store on one SQLite connection.
//
// Thread safety: one connection behind one mutex. Every call, from any
// thread, takes the mutex for its duration, and write() holds it for the
// whole transaction; so calls are serialized, and a read made while the
// engine's write() runs waits for the commit (microseconds: stack.md
// measured 13 us per one-row transaction). Other processes may open the same
// file: writers are serialized by SQLite's write lock (BEGIN IMMEDIATE,
// waiting up to busy_timeout), readers are not blocked (WAL).
// Owned by the composition root; destroy it after every user is done.
class SqliteStore final : public Store {
 public:
  enum class Synchronous {
    // Commits survive a crash of the process; the last ones may be lost on
    // power loss, but the database is never corrupted (about 13 us each).
    kNormal,
    // Each commit is also fsynced: survives power loss (about 160 us each).
    kFull,
  };

  struct Options {
    Synchronous synchronous = Synchronous::kNormal;
    // How long a write waits for another process's write lock before
    // failing with "database is locked".
    std::chrono::milliseconds busy_timeout{5000};
  };

  // Opens the database at `path`, creating it if absent, or a private
  // in-memory database for ":memory:" (tests). A new file is created with
  // mode 0600 whatever the umask (it holds access key secrets; the -wal and
  // -shm files get the same mode); an existing file keeps its mode. Sets
  // WAL mode (not for :memory:), `options.synchronous`, foreign keys on and
  // the busy timeout, then applies every migration the database lacks, each
  // in its own transaction. Errors, each prefixed with "open store <path>":
  //   kIo                 the file cannot be created ("create the database
  //                       file: No such file or directory"), or SQLite
  //                       cannot open or read it ("file is not a database")
  //   kFailedPrecondition the file is another application's SQLite
  //                       database, or its schema version is newer than
  //                       this build's (nothing is changed then)
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, const Options& options);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // The schema version of the open database (latest_schema_version() after a
  // successful open).
  Result<int> schema_version();

  // The highest schema version this build knows.
  static int latest_schema_version();

  Status write(const std::function<Status(StoreWriter&)>& fn) override;

  // StoreReader
  Result<model::PipelineRecord> get_pipeline(const std::string& name) override;
  Result<model::PipelineRecord> get_pipeline_version(const std::string& name, int version) override;
  Result<Page<model::PipelineRecord>> list_pipelines(int limit,
                                                     const std::string& after_key) override;
  Result<model::PipelineExecutionRecord> get_pipeline_execution(
      const std::string& execution_id) override;
  Result<Page<model::PipelineExecutionRecord>> list_pipeline_executions(
      const std::string& pipeline_name, int limit, const std::string& after_key) override;
  Result<std::optional<model::PipelineExecutionRecord>> find_pipeline_execution_by_token(
      const std::string& pipeline_name, const std::string& client_request_token) override;
  Result<std::vector<model::PipelineExecutionRecord>> list_pipeline_executions_by_status(
      const std::vector<model::PipelineExecutionStatus>& statuses) override;
  Result<std::vector<model::StageExecutionRecord>> list_stage_executions(
      const std::string& execution_id) override;
  Result<model::ActionExecutionRecord> get_action_execution(
      const std::string& action_execution_id) override;
  Result<std::vector<model::ActionExecutionRecord>> list_action_executions(
      const std::string& execution_id) override;
  Result<Page<model::ActionExecutionRecord>> list_action_executions_by_pipeline(
      const std::string& pipeline_name, int limit, const std::string& after_key) override;
  Result<std::vector<model::ConditionExecutionRecord>> list_condition_executions(
      const std::string& execution_id) override;
  Result<model::RuleExecutionRecord> get_rule_execution(
      const std::string& rule_execution_id) override;
  Result<std::vector<model::RuleExecutionRecord>> list_rule_executions(
      const std::string& execution_id) override;
  Result<Page<model::RuleExecutionRecord>> list_rule_executions_by_pipeline(
      const std::string& pipeline_name, int limit, const std::string& after_key) override;
  Result<model::JobRecord> get_job(const std::string& job_id) override;
  Result<std::vector<model::JobRecord>> list_jobs_by_status(
      const std::vector<model::JobStatus>& statuses) override;
  Result<model::ArtifactRecord> get_artifact(const std::string& execution_id,
                                             const std::string& name) override;
  Result<std::vector<model::ArtifactRecord>> list_artifacts(
      const std::string& execution_id) override;
  Result<std::vector<model::TransitionRecord>> list_transitions(
      const std::string& pipeline_name) override;
  Result<std::vector<model::LogLine>> read_logs(const std::string& action_execution_id,
                                                int64_t from_seq, int limit) override;
  Result<AccessKeyRecord> get_access_key(const std::string& access_key_id) override;
  Result<std::vector<AccessKeyRecord>> list_access_keys() override;
  Result<CustomActionTypeRecord> get_custom_action_type(const model::ActionTypeId& id) override;
  Result<std::vector<CustomActionTypeRecord>> list_custom_action_types() override;
  Result<std::vector<EventRecord>> read_events(int64_t after_seq, const std::string& pipeline_name,
                                               int limit) override;
  Result<int64_t> last_event_seq() override;
  Result<ResourceRecord> get_resource(const std::string& service, const std::string& kind,
                                      const std::string& name) override;
  Result<Page<ResourceRecord>> list_resources(const std::string& service, const std::string& kind,
                                              int limit, const std::string& after_key) override;

  // StoreWriter: each call is its own transaction.
  Result<model::PipelineRecord> create_pipeline(const model::PipelineRecord& pipeline) override;
  Result<model::PipelineRecord> update_pipeline(const model::PipelineDeclaration& declaration,
                                                TimestampMs now_ms) override;
  Status set_pipeline_tags(const std::string& name, const std::vector<model::Tag>& tags) override;
  Status delete_pipeline(const std::string& name) override;
  Status insert_pipeline_execution(const model::PipelineExecutionRecord& execution) override;
  Status update_pipeline_execution(const model::PipelineExecutionRecord& execution) override;
  Status upsert_stage_execution(const model::StageExecutionRecord& stage) override;
  Status insert_action_execution(const model::ActionExecutionRecord& action) override;
  Status update_action_execution(const model::ActionExecutionRecord& action) override;
  Status upsert_condition_execution(const model::ConditionExecutionRecord& condition) override;
  Status insert_rule_execution(const model::RuleExecutionRecord& rule) override;
  Status update_rule_execution(const model::RuleExecutionRecord& rule) override;
  Status insert_job(const model::JobRecord& job) override;
  Result<std::vector<model::JobRecord>> claim_jobs(
      const std::vector<model::ActionTypeId>& action_types, const std::string& claimed_by,
      int max_jobs, TimestampMs now_ms) override;
  Result<model::JobRecord> acknowledge_job(const std::string& job_id, const std::string& nonce,
                                           TimestampMs now_ms) override;
  Result<model::JobRecord> complete_job(const std::string& job_id, model::JobStatus outcome,
                                        TimestampMs now_ms) override;
  Status put_artifact(const model::ArtifactRecord& artifact) override;
  Status set_transition(const model::TransitionRecord& transition) override;
  Result<int64_t> append_logs(const std::string& action_execution_id,
                              const std::vector<model::LogLine>& lines) override;
  Status insert_access_key(const AccessKeyRecord& key) override;
  Status set_access_key_enabled(const std::string& access_key_id, bool enabled) override;
  Status delete_access_key(const std::string& access_key_id) override;
  Status touch_access_key(const std::string& access_key_id, TimestampMs now_ms) override;
  Result<CustomActionTypeRecord> put_custom_action_type(
      const CustomActionTypeRecord& type) override;
  Status insert_resource(const ResourceRecord& resource) override;
  Status update_resource(const ResourceRecord& resource) override;
  Status delete_resource(const std::string& service, const std::string& kind,
                         const std::string& name) override;
  Status mark_custom_action_type_deleted(const model::ActionTypeId& id,
                                         TimestampMs now_ms) override;
  Result<std::vector<model::JobRecord>> claim_matching_jobs(const model::ActionTypeId& action_type,
                                                            const ConfigurationMatch& match,
                                                            const std::string& claimed_by,
                                                            int max_jobs,
                                                            TimestampMs now_ms) override;
  Result<int64_t> append_event(const EventRecord& event) override;
  Result<int64_t> prune_events(TimestampMs older_than_ms, int64_t keep_rows) override;

 private:
  class Lock;

  explicit SqliteStore(std::unique_ptr<sqlite::Connection> connection);

  // Runs `op` on the writer under the mutex, without a transaction.
  template <typename Op>
  auto read(Op&& op);
  // Runs `op` on the writer under the mutex in its own write transaction;
  // `context` names the operation for a begin or commit failure.
  template <typename Context, typename Op>
  auto write_one(Context&& context, Op&& op);

  std::mutex mutex_;
  // The thread holding mutex_, to catch a call from inside write()'s `fn`
  // (which would otherwise deadlock).
  std::atomic<std::thread::id> holder_;
  std::unique_ptr<sqlite::Connection> connection_;
  std::unique_ptr<SqliteWriter> writer_;
};

}  // namespace stageline::store
