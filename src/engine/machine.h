// engine: runs pipeline executions with CodePipeline's semantics. This header
// is its pure half: PipelineMachine decides, for one pipeline, what happens to
// its executions when something occurs (an execution starts, an action ends,
// a stop, a retry, a transition, an update), and returns the decisions as
// Effects. It owns no processes, files, sockets or clocks and never blocks, so
// every rule is testable with plain calls (machine_test.cc). The driver (a
// later part of this module) commits each batch of Effects to the store
// before acting on it: starting the actions it names.
//
// Semantics follow docs/engine.md and reference §5 and §6: stages in order;
// inside a stage runOrder groups ascending, each group in parallel; a failed
// action fails the stage once its in-flight peers end; stage locks and the
// execution modes SUPERSEDED, QUEUED and PARALLEL; inbound transitions; stop
// (wait or abandon); retry (failed or all actions); update (Cancelled);
// stage conditions (§7: beforeEntry FAIL/SKIP, onSuccess FAIL/ROLLBACK,
// onFailure RETRY/ROLLBACK, with or without rules), their override, and
// rollback executions of one stage (§6.3).
//
// Depends on base and model only. Not thread-safe: the engine thread only.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"
#include "model/execution.h"
#include "model/pipeline.h"

namespace stageline::engine {

// The API errors the machine can answer with; the api layer maps them onto
// AWS's exception names (one switch).
enum class MachineError {
  kConcurrentPipelineExecutionsLimitExceeded,
  kPipelineExecutionNotFound,
  kPipelineExecutionNotStoppable,
  kDuplicatedStopRequest,
  kStageNotFound,
  kStageNotRetryable,
  kNotLatestPipelineExecution,
  kConditionNotOverridable,
  kConflict,
  kUnableToRollbackStage,
};
std::string_view to_string(MachineError e);

struct MachineFailure {
  MachineError error;
  std::string message;
};

// One decision. The driver applies them in order, in one transaction.
struct Effect {
  enum class Kind {
    kExecutionStatus,  // execution_status (+ summary)
    kStageStatus,      // stage, stage_status (+ attempt)
    kStartAction,      // stage, action, attempt: create the action execution and dispatch it
    kActionStatus,     // stage, action, action_status: only kAbandoned comes from the machine
    kWaiting,          // the execution waits to enter `stage` (inbound execution)
    // Evaluate the rules of `stage`'s `condition` (attempt: the stage's) and
    // report with condition_finished().
    kEvaluateCondition,
    kConditionStatus,  // stage, condition, condition_status (+ summary)
    // `stage` failed and asks for an automatic rollback: the driver finds the
    // newest execution that succeeded in it and calls start_rollback(), or
    // admit() when there is none.
    kStartRollback,
  };
  Kind kind = Kind::kExecutionStatus;
  std::string execution_id;
  int stage = -1;  // index into the declaration's stages
  std::string action;
  int attempt = 0;
  model::PipelineExecutionStatus execution_status = model::PipelineExecutionStatus::kInProgress;
  model::StageExecutionStatus stage_status = model::StageExecutionStatus::kInProgress;
  model::ActionExecutionStatus action_status = model::ActionExecutionStatus::kInProgress;
  model::ConditionType condition = model::ConditionType::kBeforeEntry;
  model::ConditionExecutionStatus condition_status = model::ConditionExecutionStatus::kInProgress;
  std::string summary;
};
using Effects = std::vector<Effect>;

// Where one execution stands, as the machine sees it.
struct ActionState {
  std::string name;
  int run_order = 1;
  int attempt = 0;                                     // 0: never started
  std::optional<model::ActionExecutionStatus> status;  // absent: not started in this attempt
  // Runs outside this process (a job worker's job): a restart does not
  // interrupt it, so resume() leaves it running.
  bool external = false;
};

struct StageState {
  std::optional<model::StageExecutionStatus> status;  // absent: not entered
  int attempt = 0;
  std::vector<ActionState> actions;
  // A condition whose rules are being evaluated: nothing else moves.
  std::optional<model::ConditionType> evaluating;
  // The condition that failed the stage (for OverrideStageCondition).
  std::optional<model::ConditionType> failed_condition;
  bool on_success_passed = false;     // in this attempt
  bool on_failure_evaluated = false;  // in this attempt
  int automatic_retries = 0;          // onFailure RETRY: one per stage execution
};

struct ExecutionState {
  std::string id;
  int version = 1;
  model::ExecutionMode mode = model::ExecutionMode::kSuperseded;
  model::PipelineExecutionStatus status = model::PipelineExecutionStatus::kInProgress;
  int stage = -1;       // the stage it is in, or last was in; -1 before the first
  int waiting_at = -1;  // the stage whose entry it waits at, or -1
  bool stop_requested = false;
  bool abandon_requested = false;
  bool cancel_requested = false;  // the pipeline was updated: end as Cancelled
  int64_t order = 0;              // start order, for "latest" and FIFO
  // A ROLLBACK execution runs one stage (reference §6.3); -1: to the end.
  int last_stage = -1;
  bool rollback = false;
  std::vector<StageState> stages;
};

class PipelineMachine {
 public:
  // REQUIRES: `declaration` passed validation and has its version set.
  explicit PipelineMachine(model::PipelineDeclaration declaration);

  // Starts a new execution on the current version. Fails with
  // ConcurrentPipelineExecutionsLimitExceeded when 50 are already active in
  // QUEUED or PARALLEL mode.
  std::variant<Effects, MachineFailure> start(const std::string& execution_id);

  // An action of the current attempt ended (Succeeded or Failed). Ignored
  // (empty Effects) for an action that is not in flight: a late or
  // duplicated result must not change history.
  Effects action_finished(const std::string& execution_id, int stage, const std::string& action,
                          model::ActionExecutionStatus status);

  std::variant<Effects, MachineFailure> stop(const std::string& execution_id, bool abandon,
                                             const std::string& reason);

  std::variant<Effects, MachineFailure> retry(const std::string& execution_id,
                                              const std::string& stage_name,
                                              model::StageRetryMode mode);

  // Enables or disables the inbound transition of a stage. Enabling admits
  // the execution(s) waiting there.
  std::variant<Effects, MachineFailure> set_transition(const std::string& stage_name, bool enabled);

  // A ROLLBACK execution `execution_id` that runs stage `stage_name` only
  // (RollbackStage, or an automatic rollback). The driver chose the target
  // execution and provides its artifacts and variables. Not in PARALLEL
  // mode; not while an execution is in that stage.
  std::variant<Effects, MachineFailure> start_rollback(const std::string& execution_id,
                                                       const std::string& stage_name);

  // The rules of a condition asked for by kEvaluateCondition have run:
  // `met` when every rule succeeded. Ignored unless that evaluation is
  // still awaited (a stop or an update may have ended the execution).
  Effects condition_finished(const std::string& execution_id, int stage,
                             model::ConditionType condition, bool met, const std::string& summary);

  // OverrideStageCondition (reference §6.4): a stage failed by its
  // BEFORE_ENTRY (result FAIL) or ON_SUCCESS (result FAIL) condition goes on
  // as if the condition had been met.
  std::variant<Effects, MachineFailure> override_condition(const std::string& execution_id,
                                                           const std::string& stage_name,
                                                           model::ConditionType condition);

  // Lets the executions waiting at `stage` in (after a kStartRollback for
  // which there was nothing to roll back to).
  Effects admit_waiting(int stage);

  // A new version of the declaration (reference §5.6).
  Effects update(model::PipelineDeclaration declaration);

  // --- Recovery after a restart (see docs/engine.md, "Crash recovery") ---

  // Makes an older version known, for executions that started on it.
  void add_version(model::PipelineDeclaration declaration);

  // Puts back an execution rebuilt from the store: `state.stage` is the last
  // stage it entered (-1 if none), with that stage's status and each of its
  // actions' latest attempt and status; earlier stages succeeded. Actions
  // recorded InProgress were in flight when the process died. Takes the
  // stage lock it held. REQUIRES: restore executions in start order, then
  // call resume() for each.
  void restore(ExecutionState state);

  // Continues a restored execution: actions that were in flight start again
  // as new attempts (the driver records why), and whatever the machine had
  // decided but not yet done when the process died (the next group, the next
  // stage, the end) happens now.
  Effects resume(const std::string& execution_id);

  // Puts back an execution that has ended (Failed, Stopped, ...), so that a
  // retry can act on it after a restart. Takes no lock.
  void restore_ended(ExecutionState state);
  // After a restart: the newest execution that entered `stage`, which only
  // that one may retry.
  void set_latest_in_stage(int stage, const std::string& execution_id);

  const ExecutionState* execution(const std::string& id) const;
  const model::PipelineDeclaration& declaration() const { return *current_; }
  // The executions waiting at a stage's entry, oldest first.
  std::vector<std::string> inbound(int stage) const;
  // The execution holding a stage's lock, or "".
  std::string lock_holder(int stage) const;
  bool transition_enabled(int stage) const;

  static constexpr int kMaxActiveExecutions = 50;
  static constexpr int kMaxParallelActions = 5;  // per execution in PARALLEL mode

 private:
  using Decl = std::shared_ptr<const model::PipelineDeclaration>;

  ExecutionState* find(const std::string& id);
  std::optional<MachineFailure> over_active_limit() const;
  Effects begin(const std::string& id, int first, int last_stage);
  const model::PipelineDeclaration& decl_of(const ExecutionState& e) const;
  bool active(const ExecutionState& e) const;
  bool on_current(const ExecutionState& e) const;
  int in_flight(const ExecutionState& e, int stage) const;

  void try_enter(ExecutionState& e, int stage, Effects& out);
  void enter(ExecutionState& e, int stage, Effects& out);
  void wait(ExecutionState& e, int stage, Effects& out);
  void start_ready(ExecutionState& e, Effects& out);
  void settle(ExecutionState& e, Effects& out);
  void finish(ExecutionState& e, model::PipelineExecutionStatus status,
              model::StageExecutionStatus stage_status, const std::string& summary, Effects& out,
              bool admit_next = true);
  // The stage ended well (Succeeded, or Skipped by its entry condition):
  // on to the next stage, or the end of the execution.
  void pass_stage(ExecutionState& e, model::StageExecutionStatus status, Effects& out);
  // The stage failed; with `rollback`, an automatic rollback is asked for.
  void fail_stage(ExecutionState& e, const std::string& summary, bool rollback, Effects& out);
  void evaluate(ExecutionState& e, model::ConditionType condition, Effects& out);
  void rerun(ExecutionState& e, int stage, model::StageRetryMode mode, Effects& out);
  int last_stage(const ExecutionState& e) const;
  void release(ExecutionState& e, int stage, Effects& out);
  void admit(int stage, Effects& out);
  void remove_waiting(ExecutionState& e);
  int stage_index(const std::string& name) const;

  Decl current_;
  std::map<int, Decl> versions_;
  std::map<std::string, ExecutionState> executions_;
  std::vector<std::string> locks_;                // per stage: holder or ""
  std::vector<std::deque<std::string>> waiting_;  // per stage, oldest first
  std::vector<bool> transitions_;                 // per stage: inbound enabled
  // The newest execution that entered each stage, for NotLatestPipelineExecution.
  std::vector<std::string> latest_in_stage_;
  int64_t next_order_ = 0;
};

}  // namespace stageline::engine
