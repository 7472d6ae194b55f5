#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "base/strings.h"
#include "store/migrations.h"
#include "store/sqlite_connection.h"
#include "store/sqlite_writer.h"

namespace stageline::store {
namespace {

Result<std::string> query_text(sqlite::Connection& connection, const char* sql) {
  auto st = connection.prepare(sql);
  if (!st.ok()) return st.status();
  auto row = st->next();
  if (!row.ok()) return row.status();
  if (!*row) return Status::internal(std::string("no row from: ") + sql);
  std::string text = st->column_text(0);
  if (!st->column_status().ok()) return st->column_status();
  return text;
}

// Sets and checks the connection's pragmas. Each is read back: SQLite
// ignores some settings silently (foreign_keys inside a transaction, WAL on
// a file system without shared memory).
Status configure(sqlite::Connection& connection, const SqliteStore::Options& options,
                 bool in_memory) {
  const auto timeout_ms = std::clamp<int64_t>(options.busy_timeout.count(), 0, INT_MAX);
  auto status = connection.set_busy_timeout(static_cast<int>(timeout_ms));
  if (!status.ok()) return status.with_context("set busy timeout");

  // The first statement that reads the file: a file that is not a database
  // fails here, with SQLite's "file is not a database".
  auto mode = query_text(connection, "PRAGMA journal_mode = WAL");
  if (!mode.ok()) return mode.status().with_context("set journal_mode=WAL");
  const std::string expected_mode = in_memory ? "memory" : "wal";
  if (*mode != expected_mode)
    return Status::io("set journal_mode=WAL: SQLite kept journal_mode=" + *mode);

  const bool full = options.synchronous == SqliteStore::Synchronous::kFull;
  status = connection.exec(full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  if (!status.ok()) return status.with_context("set synchronous");
  auto synchronous = query_text(connection, "PRAGMA synchronous");
  if (!synchronous.ok()) return synchronous.status().with_context("read synchronous");
  if (*synchronous != (full ? "2" : "1"))
    return Status::io("set synchronous: SQLite kept synchronous=" + *synchronous);

  status = connection.exec("PRAGMA foreign_keys = ON");
  if (!status.ok()) return status.with_context("enable foreign keys");
  auto foreign_keys = query_text(connection, "PRAGMA foreign_keys");
  if (!foreign_keys.ok()) return foreign_keys.status().with_context("read foreign_keys");
  if (*foreign_keys != "1") return Status::io("enable foreign keys: SQLite kept them off");
  return {};
}

// Creates the database file with mode 0600 if it does not exist yet. SQLite
// would create it 0644 (less the umask), and the file holds the secrets of
// the access keys. SQLite gives the -wal and -shm files the mode of the
// database file, so they are 0600 too. An existing file keeps its mode: the
// operator may have chosen it.
Status create_private_file(const std::string& path) {
  if (path.empty() || path == ":memory:") return {};
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return {};
    return Status::io(std::string("create the database file: ") + std::strerror(errno));
  }
  // open() applied the umask; 0600 is wanted whatever it is.
  const int chmod_errno = ::fchmod(fd, 0600) == 0 ? 0 : errno;
  const int close_errno = ::close(fd) == 0 ? 0 : errno;
  if (chmod_errno != 0)
    return Status::io(std::string("make the database file private: ") + std::strerror(chmod_errno));
  if (close_errno != 0)
    return Status::io(std::string("create the database file: ") + std::strerror(close_errno));
  return {};
}

const Status& status_of(const Status& status) { return status; }
template <typename T>
const Status& status_of(const Result<T>& result) {
  return result.status();
}

}  // namespace

// Holds the store's mutex. A call from inside write()'s callback, on the
// thread that already holds it, would deadlock; it aborts instead.
class SqliteStore::Lock {
 public:
  explicit Lock(SqliteStore& store) : store_(store) {
    const bool store_called_from_inside_its_write_callback =
        store_.holder_.load() == std::this_thread::get_id();
    STAGELINE_CHECK(!store_called_from_inside_its_write_callback);
    store_.mutex_.lock();
    store_.holder_.store(std::this_thread::get_id());
  }
  ~Lock() {
    store_.holder_.store(std::thread::id());
    store_.mutex_.unlock();
  }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  SqliteStore& store_;
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       const Options& options) {
  const std::string context = "open store " + quote(path);
  auto created = create_private_file(path);
  if (!created.ok()) return created.with_context(context);
  auto connection = sqlite::Connection::open(path);
  if (!connection.ok()) return connection.status().with_context(context);
  auto configured = configure(**connection, options, path == ":memory:");
  if (!configured.ok()) return configured.with_context(context);
  auto migrated = migrate(**connection);
  if (!migrated.ok()) return migrated.with_context(context);
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(*connection)));
}

SqliteStore::SqliteStore(std::unique_ptr<sqlite::Connection> connection)
    : connection_(std::move(connection)), writer_(std::make_unique<SqliteWriter>(*connection_)) {}

// writer_ refers to connection_; it is declared after it, so it goes first.
SqliteStore::~SqliteStore() = default;

int SqliteStore::latest_schema_version() { return store::latest_schema_version(); }

Result<int> SqliteStore::schema_version() {
  Lock lock(*this);
  return read_schema_version(*connection_);
}

template <typename Op>
auto SqliteStore::read(Op&& op) {
  Lock lock(*this);
  return op(*writer_);
}

template <typename Context, typename Op>
auto SqliteStore::write_one(Context&& context, Op&& op) {
  using R = decltype(op(*writer_));
  Lock lock(*this);
  auto tx = sqlite::WriteTransaction::begin(*connection_);
  if (!tx.ok()) return R(tx.status().with_context(context()));
  R result = op(*writer_);
  if (!result.ok()) {
    auto rolled_back = tx->rollback();
    if (!rolled_back.ok()) {
      const Status& failed = status_of(result);
      return R(Status(failed.code(), failed.message() + "; then " + rolled_back.message()));
    }
    return result;
  }
  auto committed = tx->commit();
  if (!committed.ok()) return R(committed.with_context(context()));
  return result;
}

Status SqliteStore::write(const std::function<Status(StoreWriter&)>& fn) {
  return write_one([] { return std::string("write transaction"); },
                   [&](SqliteWriter& writer) { return fn(writer); });
}

// ---- Reads -------------------------------------------------------------------

Result<model::PipelineRecord> SqliteStore::get_pipeline(const std::string& name) {
  return read([&](SqliteWriter& w) { return w.get_pipeline(name); });
}

Result<model::PipelineRecord> SqliteStore::get_pipeline_version(const std::string& name,
                                                                int version) {
  return read([&](SqliteWriter& w) { return w.get_pipeline_version(name, version); });
}

Result<Page<model::PipelineRecord>> SqliteStore::list_pipelines(int limit,
                                                                const std::string& after_key) {
  return read([&](SqliteWriter& w) { return w.list_pipelines(limit, after_key); });
}

Result<model::PipelineExecutionRecord> SqliteStore::get_pipeline_execution(
    const std::string& execution_id) {
  return read([&](SqliteWriter& w) { return w.get_pipeline_execution(execution_id); });
}

Result<Page<model::PipelineExecutionRecord>> SqliteStore::list_pipeline_executions(
    const std::string& pipeline_name, int limit, const std::string& after_key) {
  return read(
      [&](SqliteWriter& w) { return w.list_pipeline_executions(pipeline_name, limit, after_key); });
}

Result<std::optional<model::PipelineExecutionRecord>> SqliteStore::find_pipeline_execution_by_token(
    const std::string& pipeline_name, const std::string& client_request_token) {
  return read([&](SqliteWriter& w) {
    return w.find_pipeline_execution_by_token(pipeline_name, client_request_token);
  });
}

Result<std::vector<model::PipelineExecutionRecord>> SqliteStore::list_pipeline_executions_by_status(
    const std::vector<model::PipelineExecutionStatus>& statuses) {
  return read([&](SqliteWriter& w) { return w.list_pipeline_executions_by_status(statuses); });
}

Result<std::vector<model::StageExecutionRecord>> SqliteStore::list_stage_executions(
    const std::string& execution_id) {
  return read([&](SqliteWriter& w) { return w.list_stage_executions(execution_id); });
}

Result<model::ActionExecutionRecord> SqliteStore::get_action_execution(
    const std::string& action_execution_id) {
  return read([&](SqliteWriter& w) { return w.get_action_execution(action_execution_id); });
}

Result<std::vector<model::ActionExecutionRecord>> SqliteStore::list_action_executions(
    const std::string& execution_id) {
  return read([&](SqliteWriter& w) { return w.list_action_executions(execution_id); });
}

Result<Page<model::ActionExecutionRecord>> SqliteStore::list_action_executions_by_pipeline(
    const std::string& pipeline_name, int limit, const std::string& after_key) {
  return read([&](SqliteWriter& w) {
    return w.list_action_executions_by_pipeline(pipeline_name, limit, after_key);
  });
}

Result<std::vector<model::ConditionExecutionRecord>> SqliteStore::list_condition_executions(
    const std::string& execution_id) {
  return read([&](SqliteWriter& w) { return w.list_condition_executions(execution_id); });
}

Result<model::RuleExecutionRecord> SqliteStore::get_rule_execution(
    const std::string& rule_execution_id) {
  return read([&](SqliteWriter& w) { return w.get_rule_execution(rule_execution_id); });
}

Result<std::vector<model::RuleExecutionRecord>> SqliteStore::list_rule_executions(
    const std::string& execution_id) {
  return read([&](SqliteWriter& w) { return w.list_rule_executions(execution_id); });
}

Result<Page<model::RuleExecutionRecord>> SqliteStore::list_rule_executions_by_pipeline(
    const std::string& pipeline_name, int limit, const std::string& after_key) {
  return read([&](SqliteWriter& w) {
    return w.list_rule_executions_by_pipeline(pipeline_name, limit, after_key);
  });
}

Result<model::JobRecord> SqliteStore::get_job(const std::string& job_id) {
  return read([&](SqliteWriter& w) { return w.get_job(job_id); });
}

Result<std::vector<model::JobRecord>> SqliteStore::list_jobs_by_status(
    const std::vector<model::JobStatus>& statuses) {
  return read([&](SqliteWriter& w) { return w.list_jobs_by_status(statuses); });
}

Result<model::ArtifactRecord> SqliteStore::get_artifact(const std::string& execution_id,
                                                        const std::string& name) {
  return read([&](SqliteWriter& w) { return w.get_artifact(execution_id, name); });
}

Result<std::vector<model::ArtifactRecord>> SqliteStore::list_artifacts(
    const std::string& execution_id) {
  return read([&](SqliteWriter& w) { return w.list_artifacts(execution_id); });
}

Result<std::vector<model::TransitionRecord>> SqliteStore::list_transitions(
    const std::string& pipeline_name) {
  return read([&](SqliteWriter& w) { return w.list_transitions(pipeline_name); });
}

Result<std::vector<model::LogLine>> SqliteStore::read_logs(const std::string& action_execution_id,
                                                           int64_t from_seq, int limit) {
  return read([&](SqliteWriter& w) { return w.read_logs(action_execution_id, from_seq, limit); });
}

Result<AccessKeyRecord> SqliteStore::get_access_key(const std::string& access_key_id) {
  return read([&](SqliteWriter& w) { return w.get_access_key(access_key_id); });
}

Result<std::vector<AccessKeyRecord>> SqliteStore::list_access_keys() {
  return read([](SqliteWriter& w) { return w.list_access_keys(); });
}

Result<CustomActionTypeRecord> SqliteStore::get_custom_action_type(const model::ActionTypeId& id) {
  return read([&](SqliteWriter& w) { return w.get_custom_action_type(id); });
}

Result<std::vector<CustomActionTypeRecord>> SqliteStore::list_custom_action_types() {
  return read([](SqliteWriter& w) { return w.list_custom_action_types(); });
}

// ---- Writes, each in its own transaction ---------------------------------------

Result<model::PipelineRecord> SqliteStore::create_pipeline(const model::PipelineRecord& pipeline) {
  return write_one([&] { return "create pipeline " + quote(pipeline.declaration.name); },
                   [&](SqliteWriter& w) { return w.create_pipeline(pipeline); });
}

Result<model::PipelineRecord> SqliteStore::update_pipeline(
    const model::PipelineDeclaration& declaration, TimestampMs now_ms) {
  return write_one([&] { return "update pipeline " + quote(declaration.name); },
                   [&](SqliteWriter& w) { return w.update_pipeline(declaration, now_ms); });
}

Status SqliteStore::set_pipeline_tags(const std::string& name,
                                      const std::vector<model::Tag>& tags) {
  return write_one([&] { return "set tags of pipeline " + quote(name); },
                   [&](SqliteWriter& w) { return w.set_pipeline_tags(name, tags); });
}

Status SqliteStore::delete_pipeline(const std::string& name) {
  return write_one([&] { return "delete pipeline " + quote(name); },
                   [&](SqliteWriter& w) { return w.delete_pipeline(name); });
}

Status SqliteStore::insert_pipeline_execution(const model::PipelineExecutionRecord& execution) {
  return write_one([&] { return "insert pipeline execution " + execution.id; },
                   [&](SqliteWriter& w) { return w.insert_pipeline_execution(execution); });
}

Status SqliteStore::update_pipeline_execution(const model::PipelineExecutionRecord& execution) {
  return write_one([&] { return "update pipeline execution " + execution.id; },
                   [&](SqliteWriter& w) { return w.update_pipeline_execution(execution); });
}

Status SqliteStore::upsert_stage_execution(const model::StageExecutionRecord& stage) {
  return write_one(
      [&] {
        return "store stage execution " + quote(stage.stage_name) + " of pipeline execution " +
               stage.execution_id;
      },
      [&](SqliteWriter& w) { return w.upsert_stage_execution(stage); });
}

Status SqliteStore::insert_action_execution(const model::ActionExecutionRecord& action) {
  return write_one([&] { return "insert action execution " + action.id; },
                   [&](SqliteWriter& w) { return w.insert_action_execution(action); });
}

Status SqliteStore::update_action_execution(const model::ActionExecutionRecord& action) {
  return write_one([&] { return "update action execution " + action.id; },
                   [&](SqliteWriter& w) { return w.update_action_execution(action); });
}

Status SqliteStore::upsert_condition_execution(const model::ConditionExecutionRecord& condition) {
  return write_one(
      [&] {
        return "store " + std::string(model::to_string(condition.type)) +
               " condition execution of stage " + quote(condition.stage_name) +
               " of pipeline execution " + condition.execution_id;
      },
      [&](SqliteWriter& w) { return w.upsert_condition_execution(condition); });
}

Status SqliteStore::insert_rule_execution(const model::RuleExecutionRecord& rule) {
  return write_one([&] { return "insert rule execution " + rule.id; },
                   [&](SqliteWriter& w) { return w.insert_rule_execution(rule); });
}

Status SqliteStore::update_rule_execution(const model::RuleExecutionRecord& rule) {
  return write_one([&] { return "update rule execution " + rule.id; },
                   [&](SqliteWriter& w) { return w.update_rule_execution(rule); });
}

Status SqliteStore::insert_job(const model::JobRecord& job) {
  return write_one([&] { return "insert job " + job.id; },
                   [&](SqliteWriter& w) { return w.insert_job(job); });
}

Result<std::vector<model::JobRecord>> SqliteStore::claim_jobs(
    const std::vector<model::ActionTypeId>& action_types, const std::string& claimed_by,
    int max_jobs, TimestampMs now_ms) {
  return write_one(
      [&] { return "claim jobs for " + quote(claimed_by); },
      [&](SqliteWriter& w) { return w.claim_jobs(action_types, claimed_by, max_jobs, now_ms); });
}

Result<model::JobRecord> SqliteStore::acknowledge_job(const std::string& job_id,
                                                      const std::string& nonce,
                                                      TimestampMs now_ms) {
  return write_one([&] { return "acknowledge job " + job_id; },
                   [&](SqliteWriter& w) { return w.acknowledge_job(job_id, nonce, now_ms); });
}

Result<model::JobRecord> SqliteStore::complete_job(const std::string& job_id,
                                                   model::JobStatus outcome, TimestampMs now_ms) {
  return write_one([&] { return "complete job " + job_id; },
                   [&](SqliteWriter& w) { return w.complete_job(job_id, outcome, now_ms); });
}

Status SqliteStore::put_artifact(const model::ArtifactRecord& artifact) {
  return write_one(
      [&] {
        return "store artifact " + quote(artifact.name) + " of pipeline execution " +
               artifact.execution_id;
      },
      [&](SqliteWriter& w) { return w.put_artifact(artifact); });
}

Status SqliteStore::set_transition(const model::TransitionRecord& transition) {
  return write_one(
      [&] {
        return "set transition into stage " + quote(transition.stage_name) + " of pipeline " +
               quote(transition.pipeline_name);
      },
      [&](SqliteWriter& w) { return w.set_transition(transition); });
}

Result<std::vector<EventRecord>> SqliteStore::read_events(int64_t after_seq,
                                                          const std::string& pipeline_name,
                                                          int limit) {
  return read([&](SqliteWriter& w) { return w.read_events(after_seq, pipeline_name, limit); });
}

Result<int64_t> SqliteStore::last_event_seq() {
  return read([](SqliteWriter& w) { return w.last_event_seq(); });
}

Result<int64_t> SqliteStore::append_event(const EventRecord& event) {
  return write_one([&] { return "append an event of pipeline " + quote(event.pipeline_name); },
                   [&](SqliteWriter& w) { return w.append_event(event); });
}

Result<int64_t> SqliteStore::prune_events(TimestampMs older_than_ms, int64_t keep_rows) {
  return write_one([] { return std::string("prune the event log"); },
                   [&](SqliteWriter& w) { return w.prune_events(older_than_ms, keep_rows); });
}

Result<int64_t> SqliteStore::append_logs(const std::string& action_execution_id,
                                         const std::vector<model::LogLine>& lines) {
  return write_one([&] { return "append log lines to action execution " + action_execution_id; },
                   [&](SqliteWriter& w) { return w.append_logs(action_execution_id, lines); });
}

Status SqliteStore::insert_access_key(const AccessKeyRecord& key) {
  return write_one([&] { return "insert access key " + quote(key.access_key_id); },
                   [&](SqliteWriter& w) { return w.insert_access_key(key); });
}

Status SqliteStore::set_access_key_enabled(const std::string& access_key_id, bool enabled) {
  return write_one(
      [&] {
        return std::string(enabled ? "enable" : "disable") + " access key " + quote(access_key_id);
      },
      [&](SqliteWriter& w) { return w.set_access_key_enabled(access_key_id, enabled); });
}

Status SqliteStore::delete_access_key(const std::string& access_key_id) {
  return write_one([&] { return "delete access key " + quote(access_key_id); },
                   [&](SqliteWriter& w) { return w.delete_access_key(access_key_id); });
}

Status SqliteStore::touch_access_key(const std::string& access_key_id, TimestampMs now_ms) {
  return write_one([&] { return "record the use of access key " + quote(access_key_id); },
                   [&](SqliteWriter& w) { return w.touch_access_key(access_key_id, now_ms); });
}

Result<CustomActionTypeRecord> SqliteStore::put_custom_action_type(
    const CustomActionTypeRecord& type) {
  return write_one(
      [&] {
        return "create custom action type " + std::string(model::to_string(type.id.category)) +
               "/" + type.id.provider + "/" + type.id.version;
      },
      [&](SqliteWriter& w) { return w.put_custom_action_type(type); });
}

Status SqliteStore::mark_custom_action_type_deleted(const model::ActionTypeId& id,
                                                    TimestampMs now_ms) {
  return write_one(
      [&] {
        return "delete custom action type " + std::string(model::to_string(id.category)) + "/" +
               id.provider + "/" + id.version;
      },
      [&](SqliteWriter& w) { return w.mark_custom_action_type_deleted(id, now_ms); });
}

Result<ResourceRecord> SqliteStore::get_resource(const std::string& service,
                                                 const std::string& kind, const std::string& name) {
  return read([&](SqliteWriter& w) { return w.get_resource(service, kind, name); });
}

Result<Page<ResourceRecord>> SqliteStore::list_resources(const std::string& service,
                                                         const std::string& kind, int limit,
                                                         const std::string& after_key) {
  return read([&](SqliteWriter& w) { return w.list_resources(service, kind, limit, after_key); });
}

Status SqliteStore::insert_resource(const ResourceRecord& resource) {
  return write_one(
      [&] {
        return "create " + resource.service + " " + resource.kind + " " + quote(resource.name);
      },
      [&](SqliteWriter& w) { return w.insert_resource(resource); });
}

Status SqliteStore::update_resource(const ResourceRecord& resource) {
  return write_one(
      [&] {
        return "update " + resource.service + " " + resource.kind + " " + quote(resource.name);
      },
      [&](SqliteWriter& w) { return w.update_resource(resource); });
}

Status SqliteStore::delete_resource(const std::string& service, const std::string& kind,
                                    const std::string& name) {
  return write_one([&] { return "delete " + service + " " + kind + " " + quote(name); },
                   [&](SqliteWriter& w) { return w.delete_resource(service, kind, name); });
}

Result<std::vector<model::JobRecord>> SqliteStore::claim_matching_jobs(
    const model::ActionTypeId& action_type, const ConfigurationMatch& match,
    const std::string& claimed_by, int max_jobs, TimestampMs now_ms) {
  return write_one([&] { return "claim jobs for " + quote(claimed_by); },
                   [&](SqliteWriter& w) {
                     return w.claim_matching_jobs(action_type, match, claimed_by, max_jobs, now_ms);
                   });
}

}  // namespace stageline::store
