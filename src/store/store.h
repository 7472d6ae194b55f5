// store: the only place with SQL. It persists what CodePipeline declares and
// records (pipelines with their version history, pipeline, stage, action,
// condition and rule executions, jobs, artifacts, transitions, action logs,
// custom action types), plus the access keys requests are signed with, and
// nothing else: it decides no state transition, reads no clock for records
// and spawns nothing. The engine commits every state transition here before
// acting on it.
//
// This header is the interface; sqlite_store.h is the embedded
// implementation, and a PostgreSQL one can implement the same classes later.
// The tables and their keys are documented in docs/store-schema.md.
// Depends on model and base only.
//
// Errors: every operation returns Status or Result<T>, never throws, and every
// message says what was being done, then why:
// "insert pipeline execution 4f2a...: database is locked". Codes:
//   kNotFound           the named row (or the parent it needs) does not exist
//   kAlreadyExists      a row with the same key exists
//   kInvalidArgument    a bad argument (a continuation key this store did not
//                       issue, a job nonce that does not match)
//   kFailedPrecondition the row is in a state that forbids the change (a job
//                       that is not dispatched), or the database file is not
//                       one this build can use (a newer schema version)
//   kIo                 the database failed (locked, disk full, corrupt file)
//   kInternal           a stored value this build cannot read back
//
// Time: the store never reads the clock for records. Every timestamp is given
// by the caller (`now_ms` arguments and the records' *_ms fields), so the
// engine's fake clock reaches the database unchanged.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/execution.h"
#include "model/pipeline.h"

namespace stageline::store {

using model::TimestampMs;

// An access key (reference section 2): what a SigV4 request is signed with,
// and whom it authenticates. Stored in table access_keys
// (docs/store-schema.md). The secret is stored as given, in clear: SigV4
// verification needs it, not a hash of it; the database file is created
// with mode 0600 for that reason (SqliteStore::open).
struct AccessKeyRecord {
  std::string access_key_id;  // "AKIA..." (api/sigv4 generate_key)
  std::string secret;
  std::string principal;  // an ARN, e.g. arn:aws:iam::111122223333:user/admin
  bool enabled = true;    // a disabled key is kept, but every request signed with it is refused
  TimestampMs created_ms = 0;
  std::optional<TimestampMs> last_used_ms;  // nullopt: never used

  bool operator==(const AccessKeyRecord&) const = default;
};

// A custom action type (reference section 11.1), keyed by (category,
// provider, version); its owner is always Custom. Stored in table
// custom_action_types (docs/store-schema.md). DeleteCustomActionType only
// marks it deleted: AWS never lets a deleted type's version string be used
// for another definition, and the identical definition restores it.
struct CustomActionTypeRecord {
  model::ActionTypeId id;  // owner is kCustom
  // The definition as the api module renders it (the API's ActionType JSON:
  // settings, actionConfigurationProperties, input and output artifact
  // details). Opaque to the store, which keeps and compares it as text.
  std::string definition_json;
  std::vector<model::Tag> tags;
  TimestampMs created_ms = 0;
  std::optional<TimestampMs> deleted_ms;  // set once the type is deleted

  bool deleted() const { return deleted_ms.has_value(); }
  bool operator==(const CustomActionTypeRecord&) const = default;
};

// A resource of an AWS service other than CodePipeline (a CodeCommit
// repository, a connection, a webhook, ...), kept in table resources
// (docs/store-schema.md) as a JSON document that the service's API module
// defines; the store never reads it. `name` is unique within (service, kind).
struct ResourceRecord {
  std::string service;  // "codecommit": the owning API module's service name
  std::string kind;     // "repository"
  std::string name;     // "my-repo"
  std::string document_json;
  TimestampMs created_ms = 0;
  TimestampMs updated_ms = 0;

  bool operator==(const ResourceRecord&) const = default;
};

// One state-change event in the event log (reference section 14; the
// api/events module makes and reads them). Stored in table events
// (docs/store-schema.md). `seq` is assigned by the store when the event is
// appended: it only grows, and is never reused, even after old events are
// pruned, so a client can resume after the last seq it saw.
struct EventRecord {
  int64_t seq = 0;
  TimestampMs time_ms = 0;
  std::string pipeline_name;
  std::string json;  // the EventBridge-shaped event, opaque to the store

  bool operator==(const EventRecord&) const = default;
};

// What PollForJobs' queryParam asks of a job: its action execution's resolved
// configuration has `key` with exactly `value`.
struct ConfigurationMatch {
  std::string key;
  std::string value;
};

// One page of a listing. `next_key` is empty on the last page; otherwise pass
// it back as `after_key` to get the next page. Keys are opaque strings that
// only the store that issued them understands (the API wraps them in its
// nextToken).
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_key;
};

// The read operations. The api module gets a StoreReader& and nothing more.
// Implementations are safe to call from any thread (see Store).
class StoreReader {
 public:
  virtual ~StoreReader() = default;

  // ---- Pipelines -------------------------------------------------------

  // The current version of pipeline `name`: its declaration (with
  // declaration.version set), its tags, when it was created (created_ms) and
  // when its current version was stored (updated_ms). kNotFound if absent.
  virtual Result<model::PipelineRecord> get_pipeline(const std::string& name) = 0;

  // Version `version` of pipeline `name`, as it was stored. Tags and
  // created_ms are the pipeline's current ones; updated_ms is when that
  // version was stored. kNotFound if the pipeline or the version is absent.
  virtual Result<model::PipelineRecord> get_pipeline_version(const std::string& name,
                                                             int version) = 0;

  // Current versions of pipelines in name order (byte order), at most `limit`,
  // starting after `after_key` ("" for the first page).
  // REQUIRES: limit >= 1.
  virtual Result<Page<model::PipelineRecord>> list_pipelines(int limit,
                                                             const std::string& after_key) = 0;

  // ---- Pipeline executions --------------------------------------------

  // kNotFound if no execution has id `execution_id`.
  virtual Result<model::PipelineExecutionRecord> get_pipeline_execution(
      const std::string& execution_id) = 0;

  // The executions of pipeline `pipeline_name`, newest first (by created_ms,
  // then by insertion order), at most `limit`, after `after_key`. Executions
  // of a deleted pipeline stay listed under its name.
  // REQUIRES: limit >= 1.
  virtual Result<Page<model::PipelineExecutionRecord>> list_pipeline_executions(
      const std::string& pipeline_name, int limit, const std::string& after_key) = 0;

  // The execution of `pipeline_name` started with `client_request_token`, or
  // nullopt: StartPipelineExecution with a token it has seen returns that
  // execution instead of starting another.
  // REQUIRES: client_request_token is not empty.
  virtual Result<std::optional<model::PipelineExecutionRecord>> find_pipeline_execution_by_token(
      const std::string& pipeline_name, const std::string& client_request_token) = 0;

  // Every execution, of every pipeline, whose status is one of `statuses`,
  // oldest first. Used on start-up to resume InProgress and Stopping ones.
  virtual Result<std::vector<model::PipelineExecutionRecord>> list_pipeline_executions_by_status(
      const std::vector<model::PipelineExecutionStatus>& statuses) = 0;

  // ---- Stage executions -----------------------------------------------

  // The stage executions of one pipeline execution, in the order their rows
  // were first written. Empty if there are none (or no such execution).
  virtual Result<std::vector<model::StageExecutionRecord>> list_stage_executions(
      const std::string& execution_id) = 0;

  // ---- Action executions ----------------------------------------------

  // kNotFound if no action execution has id `action_execution_id`.
  virtual Result<model::ActionExecutionRecord> get_action_execution(
      const std::string& action_execution_id) = 0;

  // Every action execution of one pipeline execution, every attempt, in the
  // order they were inserted.
  virtual Result<std::vector<model::ActionExecutionRecord>> list_action_executions(
      const std::string& execution_id) = 0;

  // The action executions of every execution of `pipeline_name`, newest first
  // (by started_ms, then insertion order), at most `limit`, after `after_key`.
  // REQUIRES: limit >= 1.
  virtual Result<Page<model::ActionExecutionRecord>> list_action_executions_by_pipeline(
      const std::string& pipeline_name, int limit, const std::string& after_key) = 0;

  // ---- Condition and rule executions (reference section 7) ---------------

  // The condition executions of one pipeline execution, every stage attempt,
  // in the order their rows were first written. Empty if there are none (or
  // no such execution).
  virtual Result<std::vector<model::ConditionExecutionRecord>> list_condition_executions(
      const std::string& execution_id) = 0;

  // kNotFound if no rule execution has id `rule_execution_id`.
  virtual Result<model::RuleExecutionRecord> get_rule_execution(
      const std::string& rule_execution_id) = 0;

  // Every rule execution of one pipeline execution, every stage attempt, in
  // the order they were inserted.
  virtual Result<std::vector<model::RuleExecutionRecord>> list_rule_executions(
      const std::string& execution_id) = 0;

  // The rule executions of every execution of `pipeline_name`, newest first
  // (by started_ms, then insertion order), at most `limit`, after `after_key`
  // (ListRuleExecutions). Those of a deleted pipeline stay listed under its
  // name.
  // REQUIRES: limit >= 1.
  virtual Result<Page<model::RuleExecutionRecord>> list_rule_executions_by_pipeline(
      const std::string& pipeline_name, int limit, const std::string& after_key) = 0;

  // ---- Jobs ---------------------------------------------------------------

  // kNotFound if no job has id `job_id`.
  virtual Result<model::JobRecord> get_job(const std::string& job_id) = 0;

  // Every job whose status is one of `statuses`, oldest first.
  virtual Result<std::vector<model::JobRecord>> list_jobs_by_status(
      const std::vector<model::JobStatus>& statuses) = 0;

  // ---- Artifacts ----------------------------------------------------------

  // The artifact `name` of execution `execution_id`; kNotFound if absent.
  virtual Result<model::ArtifactRecord> get_artifact(const std::string& execution_id,
                                                     const std::string& name) = 0;

  // The artifacts of one execution, in name order.
  virtual Result<std::vector<model::ArtifactRecord>> list_artifacts(
      const std::string& execution_id) = 0;

  // ---- Transitions --------------------------------------------------------

  // The stored inbound transitions of `pipeline_name`, in stage name order.
  // A stage without a row is enabled: only stages whose transition was ever
  // set have one. Empty for an unknown pipeline.
  virtual Result<std::vector<model::TransitionRecord>> list_transitions(
      const std::string& pipeline_name) = 0;

  // ---- Logs ---------------------------------------------------------------

  // At most `limit` log lines of action execution `action_execution_id` with
  // seq >= `from_seq`, in seq order. Empty when there are none (yet).
  // REQUIRES: limit >= 1.
  virtual Result<std::vector<model::LogLine>> read_logs(const std::string& action_execution_id,
                                                        int64_t from_seq, int limit) = 0;

  // ---- Access keys ----------------------------------------------------------

  // The key with id `access_key_id`, secret included. kNotFound if absent.
  virtual Result<AccessKeyRecord> get_access_key(const std::string& access_key_id) = 0;

  // Every key, enabled or not, in creation order (created_ms, then insertion
  // order). Few rows: there is no paging.
  virtual Result<std::vector<AccessKeyRecord>> list_access_keys() = 0;

  // ---- Custom action types (reference section 11.1) -------------------------

  // The type with this category, provider and version (id.owner is ignored),
  // deleted or not. kNotFound if it was never created.
  virtual Result<CustomActionTypeRecord> get_custom_action_type(const model::ActionTypeId& id) = 0;

  // Every custom action type, deleted ones included (deleted_ms set), in
  // (category, provider, version) byte order. At most 50 are live; there is
  // no paging.
  virtual Result<std::vector<CustomActionTypeRecord>> list_custom_action_types() = 0;

  // ---- Service resources ------------------------------------------------------

  // The resource (service, kind, name). kNotFound if there is none.
  virtual Result<ResourceRecord> get_resource(const std::string& service, const std::string& kind,
                                              const std::string& name) = 0;

  // At most `limit` resources of (service, kind) whose name sorts after
  // `after_key` (empty: from the first), in name byte order.
  // REQUIRES: limit >= 1.
  virtual Result<Page<ResourceRecord>> list_resources(const std::string& service,
                                                      const std::string& kind, int limit,
                                                      const std::string& after_key) = 0;

  // ---- Event log (api/events) -------------------------------------------------

  // At most `limit` events with seq > `after_seq`, in seq order; only those
  // of pipeline `pipeline_name` unless it is empty. Empty when there are none.
  // REQUIRES: limit >= 1.
  virtual Result<std::vector<EventRecord>> read_events(int64_t after_seq,
                                                       const std::string& pipeline_name,
                                                       int limit) = 0;

  // The highest seq ever given to an event (0 if none ever was), pruned
  // events included.
  virtual Result<int64_t> last_event_seq() = 0;
};

// The writes, plus every read. Inside Store::write() the reads see the
// transaction's own uncommitted writes. Called on Store directly, each write
// is its own transaction.
class StoreWriter : public StoreReader {
 public:
  // ---- Pipelines -------------------------------------------------------

  // Stores `pipeline` as version 1 of a new pipeline named
  // pipeline.declaration.name (declaration.version is ignored), with its tags,
  // created_ms, and updated_ms as the time of version 1. Returns the record as
  // stored. kAlreadyExists if a pipeline of that name exists.
  // REQUIRES: pipeline.declaration.name is not empty.
  virtual Result<model::PipelineRecord> create_pipeline(const model::PipelineRecord& pipeline) = 0;

  // Stores `declaration` as the next version (current + 1) of pipeline
  // declaration.name, stored at `now_ms`, and keeps every older version.
  // declaration.version is ignored. Returns the record as stored. kNotFound if
  // the pipeline does not exist.
  virtual Result<model::PipelineRecord> update_pipeline(
      const model::PipelineDeclaration& declaration, TimestampMs now_ms) = 0;

  // Replaces the tags of pipeline `name` (TagResource / UntagResource); tags
  // are not versioned. kNotFound if the pipeline does not exist.
  virtual Status set_pipeline_tags(const std::string& name,
                                   const std::vector<model::Tag>& tags) = 0;

  // Deletes pipeline `name`, every version of it and its transitions. Its
  // executions, stage, action, condition and rule executions, jobs, artifacts
  // and logs stay as history.
  // kNotFound if the pipeline does not exist.
  virtual Status delete_pipeline(const std::string& name) = 0;

  // ---- Pipeline executions --------------------------------------------

  // kAlreadyExists if the id is taken, or if another execution of the same
  // pipeline has the same non-empty client_request_token.
  virtual Status insert_pipeline_execution(const model::PipelineExecutionRecord& execution) = 0;

  // Stores the fields of `execution` that change during a run: status,
  // status_summary, source_revisions, stop_reason and updated_ms. The others
  // are fixed at insert and ignored here. kNotFound if the id is absent.
  virtual Status update_pipeline_execution(const model::PipelineExecutionRecord& execution) = 0;

  // ---- Stage executions -----------------------------------------------

  // Inserts or replaces the row of (stage.execution_id, stage.stage_name).
  // kNotFound if the pipeline execution does not exist.
  virtual Status upsert_stage_execution(const model::StageExecutionRecord& stage) = 0;

  // ---- Action executions ----------------------------------------------

  // Each attempt is its own row with its own id. kAlreadyExists if the id is
  // taken; kNotFound if the pipeline execution does not exist.
  virtual Status insert_action_execution(const model::ActionExecutionRecord& action) = 0;

  // Stores every field of `action` except the fixed ones (execution_id,
  // stage_name, action_name, attempt, started_ms). kNotFound if the id is
  // absent.
  virtual Status update_action_execution(const model::ActionExecutionRecord& action) = 0;

  // ---- Condition and rule executions (reference section 7) ---------------

  // Inserts or replaces the row of (execution_id, stage_name, type,
  // stage_attempt); a replaced row keeps its place in
  // list_condition_executions(). kNotFound if the pipeline execution does not
  // exist.
  virtual Status upsert_condition_execution(const model::ConditionExecutionRecord& condition) = 0;

  // Each evaluation of a rule is its own row with its own id. The rule type's
  // absent owner or version reads back as nullopt (an empty one does too).
  // kAlreadyExists if the id is taken; kNotFound if the pipeline execution
  // does not exist; kInvalidArgument if rule.pipeline_name is not the
  // execution's pipeline.
  virtual Status insert_rule_execution(const model::RuleExecutionRecord& rule) = 0;

  // Stores the fields of `rule` that change during an evaluation: status,
  // summary, external_execution_id, resolved_configuration, error_code,
  // error_message and updated_ms. The others are fixed at insert and ignored
  // here. kNotFound if the id is absent.
  virtual Status update_rule_execution(const model::RuleExecutionRecord& rule) = 0;

  // ---- Jobs (reference section 11) ----------------------------------------

  // Stores a new job as given (usually status kQueued, empty nonce and
  // claimed_by). kAlreadyExists if the id is taken; kNotFound if its action
  // execution does not exist.
  virtual Status insert_job(const model::JobRecord& job) = 0;

  // Claims up to `max_jobs` of the oldest kQueued jobs whose action type is
  // one of `action_types`: each becomes kDispatched with a fresh random nonce,
  // claimed_by = `claimed_by` and updated_ms = `now_ms`. Atomic: two callers,
  // in this process or another, never claim the same job. Returns the claimed
  // jobs, oldest first; empty when none is waiting.
  // REQUIRES: max_jobs >= 1.
  virtual Result<std::vector<model::JobRecord>> claim_jobs(
      const std::vector<model::ActionTypeId>& action_types, const std::string& claimed_by,
      int max_jobs, TimestampMs now_ms) = 0;

  // AcknowledgeJob: a kDispatched job whose nonce is `nonce` becomes
  // kInProgress. Repeating it on the kInProgress job with the same nonce
  // returns the job unchanged. kNotFound for an unknown id; kInvalidArgument
  // if the nonce does not match (InvalidNonceException); kFailedPrecondition
  // if the job was never dispatched or has finished.
  virtual Result<model::JobRecord> acknowledge_job(const std::string& job_id,
                                                   const std::string& nonce,
                                                   TimestampMs now_ms) = 0;

  // Ends a job with `outcome`: kSucceeded or kFailed (PutJobSuccessResult /
  // PutJobFailureResult) from kInProgress; kTimedOut from any unfinished state.
  // Repeating a completion with the job's current outcome returns the job
  // unchanged. kFailedPrecondition if the job is in another state (not yet
  // acknowledged, or finished with another outcome: InvalidJobStateException);
  // kNotFound for an unknown id.
  // REQUIRES: outcome is kSucceeded, kFailed or kTimedOut.
  virtual Result<model::JobRecord> complete_job(const std::string& job_id, model::JobStatus outcome,
                                                TimestampMs now_ms) = 0;

  // ---- Artifacts ----------------------------------------------------------

  // Stores the artifact keyed by (execution_id, name); a retry that produces
  // it again overwrites it. kNotFound if the execution does not exist.
  virtual Status put_artifact(const model::ArtifactRecord& artifact) = 0;

  // ---- Transitions --------------------------------------------------------

  // Stores the inbound transition of (pipeline_name, stage_name), enabled or
  // disabled, with reason, who and when. kNotFound if the pipeline does not
  // exist (the caller checks that the stage exists).
  virtual Status set_transition(const model::TransitionRecord& transition) = 0;

  // ---- Logs ---------------------------------------------------------------

  // Appends `lines` to the log of action execution `action_execution_id` in
  // one transaction. The store assigns each line its seq (1, 2, ... across
  // every batch); the lines' own action_execution_id and seq are ignored.
  // Returns the seq of the last line of the log (0 if the log is empty).
  // kNotFound if the action execution does not exist.
  virtual Result<int64_t> append_logs(const std::string& action_execution_id,
                                      const std::vector<model::LogLine>& lines) = 0;

  // ---- Access keys ----------------------------------------------------------

  // Stores `key` as given (the secret in clear, see AccessKeyRecord).
  // kAlreadyExists if a key with the same id exists.
  // REQUIRES: key.access_key_id is not empty.
  virtual Status insert_access_key(const AccessKeyRecord& key) = 0;

  // Enables or disables key `access_key_id`; setting the state it already
  // has is ok. kNotFound if absent.
  virtual Status set_access_key_enabled(const std::string& access_key_id, bool enabled) = 0;

  // Deletes key `access_key_id`: requests signed with it are refused as
  // signed with an unknown key from then on. kNotFound if absent.
  virtual Status delete_access_key(const std::string& access_key_id) = 0;

  // Records that key `access_key_id` signed a request at `now_ms`. The
  // stored time never goes back: an earlier `now_ms` (another process's
  // clock) leaves the later one. kNotFound if absent.
  virtual Status touch_access_key(const std::string& access_key_id, TimestampMs now_ms) = 0;

  // ---- Custom action types (reference section 11.1) -------------------------

  // Stores `type` (its deleted_ms is ignored; id.owner is stored as Custom)
  // and returns it as stored. When a deleted type has the same key and the
  // same definition_json, it is restored instead: live again, with its
  // original created_ms and the tags of `type`. Errors:
  //   kAlreadyExists      a live type has the same key
  //   kFailedPrecondition a deleted type has the same key and another
  //                       definition (its version string cannot be reused)
  virtual Result<CustomActionTypeRecord> put_custom_action_type(
      const CustomActionTypeRecord& type) = 0;

  // Marks the type deleted at `now_ms`; it stays readable with deleted_ms
  // set. kNotFound if no live type has this key (never created, or already
  // deleted).
  virtual Status mark_custom_action_type_deleted(const model::ActionTypeId& id,
                                                 TimestampMs now_ms) = 0;

  // Like claim_jobs() for one action type, but claims only the queued jobs
  // whose action execution's resolved configuration has `match.key` equal to
  // `match.value` (PollForJobs' queryParam). The others are not touched:
  // they stay queued for a poll that matches them.
  // REQUIRES: max_jobs >= 1.
  virtual Result<std::vector<model::JobRecord>> claim_matching_jobs(
      const model::ActionTypeId& action_type, const ConfigurationMatch& match,
      const std::string& claimed_by, int max_jobs, TimestampMs now_ms) = 0;

  // ---- Service resources ------------------------------------------------------

  // Stores a new resource as given. kAlreadyExists if (service, kind, name)
  // is taken.
  virtual Status insert_resource(const ResourceRecord& resource) = 0;

  // Replaces the document and updated_ms of an existing resource (its
  // created_ms is kept). kNotFound if there is none.
  virtual Status update_resource(const ResourceRecord& resource) = 0;

  // Removes the resource. kNotFound if there is none.
  virtual Status delete_resource(const std::string& service, const std::string& kind,
                                 const std::string& name) = 0;

  // ---- Event log (api/events) -------------------------------------------------

  // Appends `event` (its seq is ignored) and returns the seq the store gave
  // it: greater than every seq given before.
  virtual Result<int64_t> append_event(const EventRecord& event) = 0;

  // Deletes the events with time_ms < `older_than_ms`, and then the oldest
  // ones beyond the newest `keep_rows`. Returns how many it deleted.
  // REQUIRES: keep_rows >= 0.
  virtual Result<int64_t> prune_events(TimestampMs older_than_ms, int64_t keep_rows) = 0;
};

// A store: everything above, plus transactions that group several writes.
//
// Thread safety: every member may be called from any thread. The engine
// writes from its one control thread; the api and the job runner read from
// theirs. A call made while write() runs on another thread waits for that
// transaction to end (SqliteStore: one connection behind one mutex).
// Owned by the composition root (server); modules receive a reference.
class Store : public StoreWriter {
 public:
  // Runs `fn` inside one write transaction and commits if `fn` returns ok.
  // If `fn` returns an error, or the commit fails, nothing `fn` wrote is kept
  // and that error is returned. Use it to commit a state transition that
  // touches several rows (an execution, its stage and its action) at once.
  // REQUIRES: `fn` uses only the writer it is given. Calling this Store from
  // inside `fn` is a bug (SqliteStore aborts with a message saying so);
  // transactions do not nest.
  virtual Status write(const std::function<Status(StoreWriter&)>& fn) = 0;
};

}  // namespace stageline::store
