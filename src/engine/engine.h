// engine/engine: the shell around PipelineMachine. It owns one machine per
// pipeline, commits every batch of the machine's effects to the store in one
// transaction before acting on it, resolves variables and input artifacts of
// each action that starts, asks the Authorizer, and makes each action (except
// a manual approval) a job (reference §11): jobs of built-in providers are
// claimed at once by the in-process ActionRunner, jobs of Custom and
// ThirdParty action types wait in the store for a job worker (PollForJobs,
// AcknowledgeJob, then job_succeeded / job_failed here). A result and every
// decision that follows from it are committed in one transaction.
//
// Errors meant for API callers carry AWS's exception name in front of the
// message ("StageNotFoundException: ..."); api_error() splits them.
//
// Not thread-safe: one control thread calls it; runners report from their
// own threads through a queue the control thread drains. If a commit fails
// (disk full, I/O error) the engine's memory is ahead of the store: the
// caller must stop and let recover() rebuild from the store on restart.
//
// Depends on model, store, and its own machine, variables, authorizer.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"
#include "engine/authorizer.h"
#include "engine/machine.h"
#include "engine/variables.h"
#include "model/execution.h"
#include "store/store.h"

namespace stageline::engine {

// Everything a runner needs to start one action.
struct ActionStart {
  std::string pipeline_name;
  std::string execution_id;
  std::string action_execution_id;
  std::string stage_name;
  int attempt = 1;
  model::ActionDeclaration action;  // configuration, commands and environment resolved
  // Input artifacts in declared order.
  std::vector<std::pair<std::string, model::ArtifactLocation>> inputs;
  std::string artifact_bucket;
  // artifactStore.encryptionKey.id (a KMS key id, ARN or alias) when the
  // pipeline names one; empty for the bucket's default (or no) encryption.
  std::string artifact_encryption_key;
  std::string job_id;  // the job the runner claimed
  bool rule = false;   // a Commands rule of a stage condition, not an action
  // A revision StartPipelineExecution asked this source action to use
  // (sourceRevisions): type (COMMIT_ID, IMAGE_DIGEST, S3_OBJECT_VERSION_ID,
  // S3_OBJECT_KEY) and value; empty when the provider picks the latest.
  std::string revision_type;
  std::string revision_value;
  // How long the runner lets it run before failing it (reference §15).
  std::chrono::minutes timeout{60};
};

struct ActionOutcome {
  bool succeeded = false;
  std::string summary;
  std::string error_code;  // JobFailed, ConfigurationError, ... when failed
  std::string error_message;
  std::map<std::string, std::string> output_variables;
  std::vector<model::ArtifactRecord> artifacts;  // the outputs it stored
  std::string external_execution_id;             // e.g. a build id
  std::string external_execution_url;
  std::vector<model::SourceRevision> revisions;  // what a source action fetched
  std::string updated_by;                        // who answered an approval (an ARN)
};

// A job worker's PutJobSuccessResult (reference §11.2). A continuation token
// keeps the action in progress and queues a new job that carries it.
struct JobSuccess {
  std::string continuation_token;
  std::string summary;
  std::string external_execution_id;
  std::map<std::string, std::string> output_variables;
  // The output artifacts the worker stored (at the locations its job gave);
  // recorded with the action's success. Ignored with a continuation token.
  std::vector<model::ArtifactRecord> artifacts;
};

// An AWS exception name and message, split from an engine Status.
struct ApiError {
  std::string type;
  std::string message;
};
ApiError api_error(const Status& status);

// sourceRevisions of StartPipelineExecution.
struct SourceRevisionOverride {
  std::string action_name;
  std::string revision_type;
  std::string revision_value;
};

class ActionRunner {
 public:
  virtual ~ActionRunner() = default;
  // Starts the action; the result must come back through
  // Engine::action_finished exactly once (on the control thread).
  virtual void start(const ActionStart& start) = 0;
};

// What the engine tells the rest of the server (the console's live events,
// `stageline run`'s progress) after each committed change, on the control
// thread. Every method has an empty default.
class EngineEvents {
 public:
  virtual ~EngineEvents() = default;
  virtual void execution_changed(const model::PipelineExecutionRecord&) {}
  virtual void stage_changed(const model::StageExecutionRecord&) {}
  virtual void action_changed(const model::ActionExecutionRecord&) {}
  virtual void condition_changed(const model::ConditionExecutionRecord&) {}
  virtual void rule_changed(const model::RuleExecutionRecord&) {}
};

class Engine {
 public:
  struct Options {
    std::function<model::TimestampMs()> now_ms;
    std::function<std::string()> new_id;  // lower-case UUIDs
    // Told about every committed change; may be nullptr.
    EngineEvents* events = nullptr;
    // Asked before each action is dispatched; nullptr allows everything.
    Authorizer* authorizer = nullptr;
    std::string account_id = "111122223333";  // in AWS's messages
    // True (the server): a manual approval waits, InProgress with a token,
    // for put_approval_result or its timeout (reference §10). False
    // (`stageline run`): it goes to the runner, which answers it at once.
    bool wait_for_approvals = false;
  };

  Engine(store::Store& store, ActionRunner& runner, Options options);

  // Starts an execution of the stored pipeline. `variables` override the
  // declared defaults; a declared variable without a default is required.
  // A non-empty `client_request_token` makes the start idempotent: the same
  // token for the same pipeline returns the execution it started the first
  // time (StartPipelineExecution's clientRequestToken).
  Result<std::string> start_execution(
      const std::string& pipeline_name,
      const std::vector<std::pair<std::string, std::string>>& variables, model::TriggerType trigger,
      const std::string& trigger_detail = "", const std::string& client_request_token = "",
      const std::vector<SourceRevisionOverride>& source_revisions = {});

  // CreatePipeline: stores version 1. The declaration must have passed
  // validation. Stages' transitions start enabled.
  Status create_pipeline(const model::PipelineRecord& pipeline);
  // UpdatePipeline: stores the next version and applies §5.6 to executions
  // in progress. Returns the stored record (with its new version).
  Result<model::PipelineRecord> update_pipeline(const model::PipelineDeclaration& declaration);
  // DeletePipeline: executions in progress are stopped and abandoned first.
  Status delete_pipeline(const std::string& name);

  // StopPipelineExecution (reference §6.1).
  Status stop_execution(const std::string& pipeline, const std::string& execution_id, bool abandon,
                        const std::string& reason);
  // RetryStageExecution (reference §6.2).
  Status retry_stage(const std::string& pipeline, const std::string& stage,
                     const std::string& execution_id, model::StageRetryMode mode);
  // EnableStageTransition / DisableStageTransition (inbound only). Stored,
  // with the reason, who and when, and applied again after a restart.
  Status set_transition(const std::string& pipeline, const std::string& stage, bool enabled,
                        const std::string& reason, const std::string& changed_by);

  // RollbackStage (reference §6.3): a new ROLLBACK execution that runs
  // `stage` again on the artifacts, variables and source revisions of
  // `target_execution_id`, which must have succeeded in that stage on the
  // current pipeline version and not be a rollback itself. Returns its id.
  Result<std::string> rollback_stage(const std::string& pipeline, const std::string& stage,
                                     const std::string& target_execution_id,
                                     const std::string& requested_by);
  // PutApprovalResult (reference §10): answers the manual approval `action`
  // of `stage` waiting with `token`. Approved: it succeeds and the stage goes
  // on; rejected: it fails, and so does the stage. `summary` and `by` (the
  // caller's ARN) are recorded as the action's summary and lastUpdatedBy.
  // Returns when it was answered. Errors: InvalidApprovalTokenException (no
  // approval of that action waits with this token, or it expired),
  // ApprovalAlreadyCompletedException (that approval was answered already).
  // The caller checks that the pipeline, stage and action exist.
  Result<model::TimestampMs> put_approval_result(const std::string& pipeline,
                                                 const std::string& stage,
                                                 const std::string& action,
                                                 const std::string& token, bool approved,
                                                 const std::string& summary, const std::string& by);
  // OverrideStageCondition (reference §6.4).
  Status override_condition(const std::string& pipeline, const std::string& stage,
                            const std::string& execution_id, model::ConditionType condition);

  // A job worker's result. JobNotFoundException for an unknown job,
  // InvalidJobStateException unless the job is InProgress (acknowledged).
  // Repeating the result a job already has is accepted and changes nothing.
  Status job_succeeded(const std::string& job_id, const JobSuccess& result);
  Status job_failed(const std::string& job_id, model::FailureType type, const std::string& message,
                    const std::string& external_execution_id);
  // Fails the jobs of job workers, and the waiting approvals, that ran past
  // their action's timeout. The server calls it every few seconds.
  Status expire_jobs();

  // After a restart: rebuilds every execution the store says is InProgress
  // or Stopping and continues it. Actions that were in flight are recorded as
  // Failed ("interrupted by a restart") and start again as new attempts;
  // finished actions never run again. Returns the ids of the executions it
  // continued. Call once, before anything else.
  Result<std::vector<std::string>> recover();

  // A runner's result. Unknown or already finished action executions are
  // ignored (at-least-once delivery).
  Status action_finished(const std::string& action_execution_id, const ActionOutcome& outcome);

  // The machine's view of an execution (nullptr when unknown).
  const ExecutionState* execution(const std::string& pipeline, const std::string& id) const;

 private:
  struct InFlight {
    std::string pipeline;
    std::string execution_id;
    int stage;
    std::string action;
    std::string job_id;     // empty for a manual approval
    bool external = false;  // a job worker's job, or a waiting approval: not the runner's
    model::TimestampMs deadline_ms = 0;
  };
  // What a committed batch leaves to do once the transaction is over.
  struct AfterCommit {
    std::vector<ActionStart> starts;
    // The records changed, in the order they changed, for EngineEvents.
    std::vector<std::variant<model::PipelineExecutionRecord, model::StageExecutionRecord,
                             model::ActionExecutionRecord, model::ConditionExecutionRecord,
                             model::RuleExecutionRecord>>
        changed;
  };
  struct Pipeline {
    std::unique_ptr<PipelineMachine> machine;
    std::map<int, model::PipelineDeclaration> versions;
  };

  Result<Pipeline*> load(const std::string& name);
  // Commits `effects`, then starts the actions they name.
  Status apply(const std::string& pipeline, Effects effects);
  // Writes `effects` with `w`, inside the caller's transaction. Actions that
  // fail before they start (an unresolvable variable, a missing artifact, a
  // denied permission) are failed at once and what follows is written too.
  Status commit(store::StoreWriter& w, const std::string& pipeline, Effects effects,
                AfterCommit& after);
  void dispatch(AfterCommit& after);
  // Records an action's end and everything that follows, in one transaction.
  Status finish_action(const std::string& action_execution_id, const ActionOutcome& outcome,
                       model::JobStatus job_status);
  struct Failure {
    std::string code;  // ConfigurationError, PermissionError
    std::string message;
  };
  Result<ActionStart> prepare(store::StoreReader& reader, const std::string& pipeline,
                              const model::PipelineDeclaration& decl,
                              const model::PipelineExecutionRecord& execution, const Effect& e,
                              Failure& failure);
  // One condition's rules being evaluated, in order, for one execution.
  struct Evaluation {
    std::string pipeline;
    std::string execution_id;
    int stage = 0;
    model::ConditionType condition = model::ConditionType::kBeforeEntry;
    int attempt = 1;
    size_t next_rule = 0;
    std::string rule_in_flight;  // a Commands rule the runner is running
  };
  // Evaluates rules from ev.next_rule on until one has to wait for the
  // runner or the condition is decided; returns the machine's effects then.
  Result<Effects> run_rules(store::StoreWriter& w, Evaluation& ev, AfterCommit& after);
  Status rule_finished(const std::string& rule_execution_id, const ActionOutcome& outcome);
  Status end_evaluation(store::StoreWriter& w, const std::string& execution_id,
                        model::RuleExecutionStatus status);
  // Creates a ROLLBACK execution of `stage` on `target` (in `w`); its first
  // effects go to `effects`.
  Result<std::string> create_rollback(store::StoreWriter& w, const std::string& pipeline,
                                      const std::string& stage,
                                      const model::PipelineExecutionRecord& target,
                                      model::TriggerType trigger, const std::string& by,
                                      Effects& effects);
  // The newest standard execution on the current version, other than
  // `exclude`, that succeeded in `stage`.
  Result<std::optional<model::PipelineExecutionRecord>> rollback_target(store::StoreReader& reader,
                                                                        const std::string& pipeline,
                                                                        const std::string& stage,
                                                                        const std::string& exclude);
  // Makes the machine know an execution that ended before a restart.
  Status ensure_known(Pipeline& p, const std::string& pipeline, const std::string& execution_id);
  Result<const VisibleVariables*> visible_for(store::StoreReader& reader,
                                              const model::PipelineDeclaration& decl,
                                              const model::PipelineExecutionRecord& execution);
  Result<model::ArtifactRecord> artifact_for(store::StoreReader& reader,
                                             const model::PipelineExecutionRecord& execution,
                                             const std::string& name);
  // Applies `effects` to machine state changed by an API call and commits.
  Status apply_api(const std::string& pipeline, std::variant<Effects, MachineFailure> result,
                   const std::function<Status(store::StoreWriter&)>& also = {});

  store::Store& store_;
  ActionRunner& runner_;
  Options options_;
  AllowAll allow_all_;
  Authorizer* authorizer_;
  std::map<std::string, Pipeline> pipelines_;
  std::map<std::string, model::PipelineExecutionRecord> executions_;
  std::map<std::string, InFlight> in_flight_;
  // What each active execution's actions may reference, kept up to date as
  // actions succeed so starting an action does not re-read the execution's
  // history (built from the store on first use, e.g. after recover()).
  std::map<std::string, VisibleVariables> visible_;
  std::map<std::string, Evaluation> evaluations_;       // by execution id
  std::map<std::string, std::string> rules_in_flight_;  // rule execution id -> execution id
};

}  // namespace stageline::engine
