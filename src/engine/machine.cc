#include "engine/machine.h"

#include <algorithm>

namespace stageline::engine {

using model::ActionExecutionStatus;
using model::ExecutionMode;
using model::PipelineExecutionStatus;
using model::StageExecutionStatus;

std::string_view to_string(MachineError e) {
  switch (e) {
    case MachineError::kConcurrentPipelineExecutionsLimitExceeded:
      return "ConcurrentPipelineExecutionsLimitExceededException";
    case MachineError::kPipelineExecutionNotFound:
      return "PipelineExecutionNotFoundException";
    case MachineError::kPipelineExecutionNotStoppable:
      return "PipelineExecutionNotStoppableException";
    case MachineError::kDuplicatedStopRequest:
      return "DuplicatedStopRequestException";
    case MachineError::kStageNotFound:
      return "StageNotFoundException";
    case MachineError::kStageNotRetryable:
      return "StageNotRetryableException";
    case MachineError::kNotLatestPipelineExecution:
      return "NotLatestPipelineExecutionException";
    case MachineError::kConditionNotOverridable:
      return "ConditionNotOverridableException";
    case MachineError::kConflict:
      return "ConflictException";
    case MachineError::kUnableToRollbackStage:
      return "UnableToRollbackStageException";
  }
  return "?";
}

namespace {

Effect make_effect(Effect::Kind kind, const std::string& execution_id) {
  Effect e;
  e.kind = kind;
  e.execution_id = execution_id;
  return e;
}

Effect execution_effect(const std::string& id, PipelineExecutionStatus s,
                        std::string summary = "") {
  Effect e = make_effect(Effect::Kind::kExecutionStatus, id);
  e.execution_status = s;
  e.summary = std::move(summary);
  return e;
}

Effect stage_effect(const std::string& id, int stage, StageExecutionStatus s, int attempt) {
  Effect e = make_effect(Effect::Kind::kStageStatus, id);
  e.stage = stage;
  e.stage_status = s;
  e.attempt = attempt;
  return e;
}

Effect condition_effect(const std::string& id, int stage, model::ConditionType c,
                        model::ConditionExecutionStatus status, std::string summary = "") {
  Effect e = make_effect(Effect::Kind::kConditionStatus, id);
  e.stage = stage;
  e.condition = c;
  e.condition_status = status;
  e.summary = std::move(summary);
  return e;
}

const model::Condition* first_condition(const model::StageDeclaration& s,
                                        model::ConditionType type) {
  const std::vector<model::Condition>* list = nullptr;
  switch (type) {
    case model::ConditionType::kBeforeEntry:
      if (s.before_entry) list = &s.before_entry->conditions;
      break;
    case model::ConditionType::kOnSuccess:
      if (s.on_success) list = &s.on_success->conditions;
      break;
    case model::ConditionType::kOnFailure:
      if (s.on_failure && s.on_failure->conditions) list = &*s.on_failure->conditions;
      break;
  }
  return list && !list->empty() ? &list->front() : nullptr;
}

}  // namespace

PipelineMachine::PipelineMachine(model::PipelineDeclaration declaration)
    : current_(std::make_shared<const model::PipelineDeclaration>(std::move(declaration))) {
  versions_[current_->version.value_or(1)] = current_;
  size_t n = current_->stages.size();
  locks_.assign(n, "");
  waiting_.assign(n, {});
  transitions_.assign(n, true);
  latest_in_stage_.assign(n, "");
}

ExecutionState* PipelineMachine::find(const std::string& id) {
  auto it = executions_.find(id);
  return it == executions_.end() ? nullptr : &it->second;
}

const ExecutionState* PipelineMachine::execution(const std::string& id) const {
  auto it = executions_.find(id);
  return it == executions_.end() ? nullptr : &it->second;
}

const model::PipelineDeclaration& PipelineMachine::decl_of(const ExecutionState& e) const {
  return *versions_.at(e.version);
}

bool PipelineMachine::active(const ExecutionState& e) const {
  return e.status == PipelineExecutionStatus::kInProgress ||
         e.status == PipelineExecutionStatus::kStopping;
}

int PipelineMachine::in_flight(const ExecutionState& e, int stage) const {
  int n = 0;
  for (const auto& a : e.stages[stage].actions) n += a.status == ActionExecutionStatus::kInProgress;
  return n;
}

int PipelineMachine::stage_index(const std::string& name) const {
  for (size_t i = 0; i < current_->stages.size(); ++i)
    if (current_->stages[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<std::string> PipelineMachine::inbound(int stage) const {
  return {waiting_[stage].begin(), waiting_[stage].end()};
}

std::string PipelineMachine::lock_holder(int stage) const { return locks_[stage]; }

bool PipelineMachine::transition_enabled(int stage) const { return transitions_[stage]; }

std::variant<Effects, MachineFailure> PipelineMachine::start(const std::string& id) {
  ExecutionMode mode = current_->effective_mode();
  if (mode != ExecutionMode::kSuperseded)
    if (auto full = over_active_limit()) return *full;
  return begin(id, 0, -1);
}

std::optional<MachineFailure> PipelineMachine::over_active_limit() const {
  int active_count = 0;
  for (const auto& [_, e] : executions_) active_count += active(e);
  if (active_count < kMaxActiveExecutions) return std::nullopt;
  return MachineFailure{MachineError::kConcurrentPipelineExecutionsLimitExceeded,
                        "The pipeline has " + std::to_string(active_count) +
                            " executions in progress; the limit is " +
                            std::to_string(kMaxActiveExecutions)};
}

// A new execution on the current version that starts by entering `first`
// (and, with last_stage >= 0, ends after that stage: a rollback).
Effects PipelineMachine::begin(const std::string& id, int first, int last_stage) {
  ExecutionState e;
  e.id = id;
  e.version = current_->version.value_or(1);
  e.mode = current_->effective_mode();
  e.order = next_order_++;
  e.rollback = last_stage >= 0;
  e.last_stage = last_stage;
  for (const auto& s : current_->stages) {
    StageState st;
    for (const auto& a : s.actions)
      st.actions.push_back({a.name, a.effective_run_order(), 0, {}, false});
    e.stages.push_back(std::move(st));
  }
  auto& stored = executions_[id] = std::move(e);
  Effects out;
  out.push_back(execution_effect(id, PipelineExecutionStatus::kInProgress));
  try_enter(stored, first, out);
  return out;
}

// Enters `stage` now if its transition is enabled and (outside PARALLEL) it is
// not locked; otherwise waits at its entry.
void PipelineMachine::try_enter(ExecutionState& e, int stage, Effects& out) {
  if (!on_current(e)) {
    // A PARALLEL execution still running on an older version: the stages of
    // the new version's locks and transitions are not its stages.
    enter(e, stage, out);
    return;
  }
  bool locked =
      e.mode != ExecutionMode::kParallel && !locks_[stage].empty() && locks_[stage] != e.id;
  if (!transitions_[stage] || locked) {
    wait(e, stage, out);
  } else {
    enter(e, stage, out);
  }
}

void PipelineMachine::wait(ExecutionState& e, int stage, Effects& out) {
  auto& queue = waiting_[stage];
  if (e.mode == ExecutionMode::kSuperseded) {
    // One waiting execution per stage entry: the newer arrival supersedes it.
    for (const auto& older_id : queue) {
      ExecutionState* older = find(older_id);
      older->waiting_at = -1;
      older->status = PipelineExecutionStatus::kSuperseded;
      out.push_back(execution_effect(older_id, PipelineExecutionStatus::kSuperseded,
                                     "Superseded by execution " + e.id));
    }
    queue.clear();
  }
  queue.push_back(e.id);
  e.waiting_at = stage;
  Effect w = make_effect(Effect::Kind::kWaiting, e.id);
  w.stage = stage;
  out.push_back(w);
}

void PipelineMachine::enter(ExecutionState& e, int stage, Effects& out) {
  remove_waiting(e);
  if (on_current(e)) {
    if (e.mode != ExecutionMode::kParallel) locks_[stage] = e.id;
    latest_in_stage_[stage] = e.id;
  }
  e.stage = stage;
  auto& st = e.stages[stage];
  st.status = StageExecutionStatus::kInProgress;
  st.attempt = 1;
  st.failed_condition.reset();
  st.on_success_passed = st.on_failure_evaluated = false;
  for (auto& a : st.actions) a.status.reset();
  out.push_back(stage_effect(e.id, stage, StageExecutionStatus::kInProgress, st.attempt));
  if (first_condition(decl_of(e).stages[stage], model::ConditionType::kBeforeEntry)) {
    evaluate(e, model::ConditionType::kBeforeEntry, out);
    return;
  }
  start_ready(e, out);
  settle(e, out);
}

void PipelineMachine::evaluate(ExecutionState& e, model::ConditionType condition, Effects& out) {
  auto& st = e.stages[e.stage];
  st.evaluating = condition;
  Effect ev = make_effect(Effect::Kind::kEvaluateCondition, e.id);
  ev.stage = e.stage;
  ev.condition = condition;
  ev.attempt = st.attempt;
  out.push_back(ev);
}

int PipelineMachine::last_stage(const ExecutionState& e) const {
  return e.last_stage >= 0 ? e.last_stage : static_cast<int>(e.stages.size()) - 1;
}

// Starts the actions of the lowest unfinished runOrder group that are not
// running yet, up to the PARALLEL-mode cap.
void PipelineMachine::start_ready(ExecutionState& e, Effects& out) {
  if (e.stop_requested || e.cancel_requested) return;
  auto& st = e.stages[e.stage];
  std::optional<int> group;
  for (const auto& a : st.actions) {
    if (a.status == ActionExecutionStatus::kSucceeded) continue;
    if (!group || a.run_order < *group) group = a.run_order;
  }
  if (!group) return;
  // A failure in the group stops anything new from starting.
  for (const auto& a : st.actions)
    if (a.run_order == *group && (a.status == ActionExecutionStatus::kFailed ||
                                  a.status == ActionExecutionStatus::kAbandoned))
      return;
  int running = in_flight(e, e.stage);
  for (auto& a : st.actions) {
    if (a.run_order != *group || a.status) continue;
    if (e.mode == ExecutionMode::kParallel && running >= kMaxParallelActions) break;
    a.status = ActionExecutionStatus::kInProgress;
    ++a.attempt;
    ++running;
    Effect s = make_effect(Effect::Kind::kStartAction, e.id);
    s.stage = e.stage;
    s.action = a.name;
    s.attempt = a.attempt;
    out.push_back(s);
  }
}

// Decides what follows once nothing more can start in the current stage.
void PipelineMachine::settle(ExecutionState& e, Effects& out) {
  if (!active(e) || e.waiting_at >= 0 || e.stage < 0) return;
  auto& st = e.stages[e.stage];
  if (st.status != StageExecutionStatus::kInProgress &&
      st.status != StageExecutionStatus::kStopping)
    return;
  if (in_flight(e, e.stage) > 0 || st.evaluating) return;
  if (e.cancel_requested) {
    finish(e, PipelineExecutionStatus::kCancelled, StageExecutionStatus::kCancelled,
           "The pipeline was updated; this execution was cancelled", out);
    return;
  }
  if (e.stop_requested) {
    finish(e, PipelineExecutionStatus::kStopped, StageExecutionStatus::kStopped, "", out);
    return;
  }
  bool failed = false, pending = false;
  for (const auto& a : st.actions) {
    failed = failed || a.status == ActionExecutionStatus::kFailed;
    pending = pending || a.status != ActionExecutionStatus::kSucceeded;
  }
  const model::StageDeclaration& sd = decl_of(e).stages[e.stage];
  if (failed) {
    std::string which;
    for (const auto& a : st.actions)
      if (a.status == ActionExecutionStatus::kFailed) which += (which.empty() ? "" : ", ") + a.name;
    std::string summary = "Stage " + sd.name + " failed: action(s) " + which + " failed";
    if (sd.on_failure) {
      const model::FailureConditions& of = *sd.on_failure;
      if (first_condition(sd, model::ConditionType::kOnFailure)) {
        if (!st.on_failure_evaluated) {
          evaluate(e, model::ConditionType::kOnFailure, out);
          return;
        }
      } else if (of.result == model::ConditionResult::kRetry && st.automatic_retries < 1) {
        // One automatic retry per stage execution (reference §6.2).
        ++st.automatic_retries;
        auto mode = of.retry_configuration && of.retry_configuration->retry_mode
                        ? *of.retry_configuration->retry_mode
                        : model::StageRetryMode::kFailedActions;
        rerun(e, e.stage, mode, out);
        return;
      } else if (of.result == model::ConditionResult::kRollback) {
        fail_stage(e, summary, true, out);
        return;
      }
    }
    fail_stage(e, summary, false, out);
    return;
  }
  if (pending) return;  // the next group has started (or waits for the PARALLEL cap)
  if (!st.on_success_passed && first_condition(sd, model::ConditionType::kOnSuccess)) {
    evaluate(e, model::ConditionType::kOnSuccess, out);
    return;
  }
  pass_stage(e, StageExecutionStatus::kSucceeded, out);
}

void PipelineMachine::pass_stage(ExecutionState& e, StageExecutionStatus status, Effects& out) {
  auto& st = e.stages[e.stage];
  st.status = status;
  out.push_back(stage_effect(e.id, e.stage, status, st.attempt));
  int done = e.stage;
  bool current = on_current(e);
  release(e, done, out);
  if (done < last_stage(e)) {
    try_enter(e, done + 1, out);
  } else {
    e.status = PipelineExecutionStatus::kSucceeded;
    out.push_back(execution_effect(e.id, PipelineExecutionStatus::kSucceeded));
  }
  if (current) admit(done, out);
}

void PipelineMachine::fail_stage(ExecutionState& e, const std::string& summary, bool rollback,
                                 Effects& out) {
  // A rollback execution is never rolled back, and PARALLEL pipelines have
  // no rollback (reference §6.3).
  bool can = rollback && !e.rollback && e.mode != ExecutionMode::kParallel && on_current(e);
  int stage = e.stage;
  finish(e, PipelineExecutionStatus::kFailed, StageExecutionStatus::kFailed,
         summary + (can ? "; rolling back" : ""), out, !can);
  if (can) {
    Effect r = make_effect(Effect::Kind::kStartRollback, e.id);
    r.stage = stage;
    out.push_back(r);
  }
}

void PipelineMachine::finish(ExecutionState& e, PipelineExecutionStatus status,
                             StageExecutionStatus stage_status, const std::string& summary,
                             Effects& out, bool admit_next) {
  int stage = e.stage;
  if (stage >= 0 && e.waiting_at < 0) {
    e.stages[stage].status = stage_status;
    out.push_back(stage_effect(e.id, stage, stage_status, e.stages[stage].attempt));
  }
  remove_waiting(e);
  e.status = status;
  out.push_back(execution_effect(e.id, status, summary));
  if (stage >= 0 && on_current(e) && locks_[stage] == e.id) {
    release(e, stage, out);
    if (admit_next) admit(stage, out);
  }
}

void PipelineMachine::release(ExecutionState& e, int stage, Effects&) {
  if (on_current(e) && locks_[stage] == e.id) locks_[stage].clear();
}

bool PipelineMachine::on_current(const ExecutionState& e) const {
  return e.version == current_->version.value_or(1);
}

// Lets waiting executions into a stage whose lock was released or whose
// transition was enabled: the newest one in SUPERSEDED mode (there is at most
// one), the head of the queue in QUEUED mode, all of them in PARALLEL mode.
void PipelineMachine::admit(int stage, Effects& out) {
  while (transitions_[stage] && !waiting_[stage].empty() && locks_[stage].empty()) {
    ExecutionState* next = find(waiting_[stage].front());
    enter(*next, stage, out);
    if (next->mode != ExecutionMode::kParallel) break;
  }
}

void PipelineMachine::remove_waiting(ExecutionState& e) {
  if (e.waiting_at < 0) return;
  auto& q = waiting_[e.waiting_at];
  q.erase(std::remove(q.begin(), q.end(), e.id), q.end());
  e.waiting_at = -1;
}

Effects PipelineMachine::action_finished(const std::string& id, int stage,
                                         const std::string& action, ActionExecutionStatus status) {
  Effects out;
  ExecutionState* e = find(id);
  if (!e || !active(*e) || stage != e->stage || e->waiting_at >= 0) return out;
  for (auto& a : e->stages[stage].actions) {
    if (a.name != action || a.status != ActionExecutionStatus::kInProgress) continue;
    a.status = status;
    a.external = false;
    start_ready(*e, out);
    settle(*e, out);
    return out;
  }
  return out;
}

std::variant<Effects, MachineFailure> PipelineMachine::stop(const std::string& id, bool abandon,
                                                            const std::string& reason) {
  ExecutionState* e = find(id);
  if (!e)
    return MachineFailure{MachineError::kPipelineExecutionNotFound,
                          "Pipeline execution " + id + " does not exist"};
  if (!active(*e))
    return MachineFailure{MachineError::kPipelineExecutionNotStoppable,
                          "Pipeline execution " + id + " is " +
                              std::string(model::to_string(e->status)) + " and cannot be stopped"};
  if (e->stop_requested && (!abandon || e->abandon_requested))
    return MachineFailure{MachineError::kDuplicatedStopRequest,
                          "Pipeline execution " + id + " is already being stopped"};
  Effects out;
  e->stop_requested = true;
  e->abandon_requested = abandon;
  if (e->waiting_at >= 0 || e->stage < 0) {
    // An inbound execution holds no stage: it stops at once.
    remove_waiting(*e);
    e->status = PipelineExecutionStatus::kStopped;
    out.push_back(execution_effect(id, PipelineExecutionStatus::kStopped, reason));
    return out;
  }
  auto& st = e->stages[e->stage];
  if (st.evaluating) {
    out.push_back(condition_effect(id, e->stage, *st.evaluating,
                                   model::ConditionExecutionStatus::kAbandoned,
                                   "Abandoned by StopPipelineExecution"));
    st.evaluating.reset();
  }
  if (abandon) {
    for (auto& a : st.actions)
      if (a.status == ActionExecutionStatus::kInProgress) {
        a.status = ActionExecutionStatus::kAbandoned;
        Effect ab = make_effect(Effect::Kind::kActionStatus, id);
        ab.stage = e->stage;
        ab.action = a.name;
        ab.attempt = a.attempt;
        ab.action_status = ActionExecutionStatus::kAbandoned;
        out.push_back(ab);
      }
  }
  if (in_flight(*e, e->stage) > 0) {
    e->status = PipelineExecutionStatus::kStopping;
    st.status = StageExecutionStatus::kStopping;
    out.push_back(execution_effect(id, PipelineExecutionStatus::kStopping, reason));
    out.push_back(stage_effect(id, e->stage, StageExecutionStatus::kStopping, st.attempt));
  } else {
    finish(*e, PipelineExecutionStatus::kStopped, StageExecutionStatus::kStopped, reason, out);
  }
  return out;
}

std::variant<Effects, MachineFailure> PipelineMachine::retry(const std::string& id,
                                                             const std::string& stage_name,
                                                             model::StageRetryMode mode) {
  ExecutionState* e = find(id);
  if (!e)
    return MachineFailure{MachineError::kPipelineExecutionNotFound,
                          "Pipeline execution " + id + " does not exist"};
  int stage = stage_index(stage_name);
  if (stage < 0)
    return MachineFailure{MachineError::kStageNotFound, "Stage " + stage_name + " does not exist"};
  const char* kNotRetryable =
      "Unable to retry. The pipeline structure or stage state might have changed while actions "
      "awaited retry, or the stage contains no failed actions.";
  bool stage_failed = stage == e->stage && e->waiting_at < 0 &&
                      (e->stages[stage].status == StageExecutionStatus::kFailed ||
                       e->stages[stage].status == StageExecutionStatus::kStopped);
  if (e->version != current_->version.value_or(1) || !stage_failed ||
      (e->status != PipelineExecutionStatus::kFailed &&
       e->status != PipelineExecutionStatus::kStopped))
    return MachineFailure{MachineError::kStageNotRetryable, kNotRetryable};
  if (latest_in_stage_[stage] != id)
    return MachineFailure{MachineError::kNotLatestPipelineExecution,
                          "The stage has failed in a later run of the pipeline and the "
                          "pipelineExecutionId associated with the request is out of date"};
  if (e->mode != ExecutionMode::kParallel && !locks_[stage].empty() && locks_[stage] != id)
    return MachineFailure{MachineError::kNotLatestPipelineExecution,
                          "Execution " + locks_[stage] + " holds stage " + stage_name};
  Effects out;
  e->status = PipelineExecutionStatus::kInProgress;
  e->stop_requested = e->abandon_requested = false;
  if (e->mode != ExecutionMode::kParallel) locks_[stage] = id;
  out.push_back(execution_effect(id, PipelineExecutionStatus::kInProgress));
  rerun(*e, stage, mode, out);
  return out;
}

// Runs a stage again as its next attempt: the failed actions, or all.
void PipelineMachine::rerun(ExecutionState& e, int stage, model::StageRetryMode mode,
                            Effects& out) {
  auto& st = e.stages[stage];
  for (auto& a : st.actions) {
    bool again =
        mode == model::StageRetryMode::kAllActions || a.status != ActionExecutionStatus::kSucceeded;
    if (again) a.status.reset();
  }
  st.status = StageExecutionStatus::kInProgress;
  st.failed_condition.reset();
  st.on_success_passed = st.on_failure_evaluated = false;
  ++st.attempt;
  out.push_back(stage_effect(e.id, stage, StageExecutionStatus::kInProgress, st.attempt));
  start_ready(e, out);
  settle(e, out);
}

std::variant<Effects, MachineFailure> PipelineMachine::start_rollback(
    const std::string& id, const std::string& stage_name) {
  int stage = stage_index(stage_name);
  if (stage < 0)
    return MachineFailure{MachineError::kStageNotFound, "Stage " + stage_name + " does not exist"};
  ExecutionMode mode = current_->effective_mode();
  if (mode == ExecutionMode::kParallel)
    return MachineFailure{MachineError::kUnableToRollbackStage,
                          "Rollback is not available for pipelines in PARALLEL execution mode"};
  if (!locks_[stage].empty())
    return MachineFailure{MachineError::kUnableToRollbackStage,
                          "Stage " + stage_name + " is in progress in execution " + locks_[stage] +
                              "; it cannot be rolled back while it runs"};
  if (mode == ExecutionMode::kQueued)
    if (auto full = over_active_limit()) return *full;
  return begin(id, stage, stage);
}

Effects PipelineMachine::admit_waiting(int stage) {
  Effects out;
  if (stage >= 0 && stage < static_cast<int>(waiting_.size())) admit(stage, out);
  return out;
}

Effects PipelineMachine::condition_finished(const std::string& id, int stage,
                                            model::ConditionType condition, bool met,
                                            const std::string& summary) {
  Effects out;
  ExecutionState* e = find(id);
  if (!e || !active(*e) || stage != e->stage || e->waiting_at >= 0) return out;
  auto& st = e->stages[stage];
  if (st.evaluating != condition) return out;
  st.evaluating.reset();
  out.push_back(condition_effect(
      id, stage, condition,
      met ? model::ConditionExecutionStatus::kSucceeded : model::ConditionExecutionStatus::kFailed,
      summary));
  if (e->stop_requested || e->cancel_requested) {
    settle(*e, out);
    return out;
  }
  const model::StageDeclaration& sd = decl_of(*e).stages[stage];
  const model::Condition* c = first_condition(sd, condition);
  auto result = c && c->result ? *c->result : model::ConditionResult::kFail;
  std::string why = summary.empty() ? "" : ": " + summary;
  switch (condition) {
    case model::ConditionType::kBeforeEntry:
      if (met) {
        start_ready(*e, out);
        settle(*e, out);
      } else if (result == model::ConditionResult::kSkip) {
        pass_stage(*e, StageExecutionStatus::kSkipped, out);
      } else {
        st.failed_condition = condition;
        fail_stage(*e, "Stage " + sd.name + " was not entered: its entry condition failed" + why,
                   false, out);
      }
      break;
    case model::ConditionType::kOnSuccess:
      if (met) {
        st.on_success_passed = true;
        settle(*e, out);
      } else {
        st.failed_condition = condition;
        fail_stage(*e, "Stage " + sd.name + " failed its on-success condition" + why,
                   result == model::ConditionResult::kRollback, out);
      }
      break;
    case model::ConditionType::kOnFailure: {
      // The rules check whether the failure calls for the condition's result
      // (a rollback): met means roll back (reference §7.1).
      st.on_failure_evaluated = true;
      std::string which;
      for (const auto& a : st.actions)
        if (a.status == ActionExecutionStatus::kFailed)
          which += (which.empty() ? "" : ", ") + a.name;
      fail_stage(*e, "Stage " + sd.name + " failed: action(s) " + which + " failed",
                 met && result == model::ConditionResult::kRollback, out);
      break;
    }
  }
  return out;
}

std::variant<Effects, MachineFailure> PipelineMachine::override_condition(
    const std::string& id, const std::string& stage_name, model::ConditionType condition) {
  ExecutionState* e = find(id);
  if (!e)
    return MachineFailure{MachineError::kPipelineExecutionNotFound,
                          "Pipeline execution " + id + " does not exist"};
  int stage = stage_index(stage_name);
  if (stage < 0)
    return MachineFailure{MachineError::kStageNotFound, "Stage " + stage_name + " does not exist"};
  auto& st = e->stages[stage];
  if (e->status != PipelineExecutionStatus::kFailed || e->stage != stage ||
      st.status != StageExecutionStatus::kFailed || st.failed_condition != condition ||
      condition == model::ConditionType::kOnFailure || !on_current(*e))
    return MachineFailure{MachineError::kConditionNotOverridable,
                          "The " + std::string(model::to_string(condition)) +
                              " condition of stage " + stage_name + " in execution " + id +
                              " has not failed the stage, so there is nothing to override"};
  if (latest_in_stage_[stage] != id)
    return MachineFailure{MachineError::kNotLatestPipelineExecution,
                          "A later execution has entered stage " + stage_name};
  if (e->mode != ExecutionMode::kParallel && !locks_[stage].empty() && locks_[stage] != id)
    return MachineFailure{MachineError::kConflict,
                          "Stage " + stage_name + " is in use by execution " + locks_[stage]};
  Effects out;
  e->status = PipelineExecutionStatus::kInProgress;
  if (e->mode != ExecutionMode::kParallel) locks_[stage] = id;
  st.failed_condition.reset();
  st.status = StageExecutionStatus::kInProgress;
  out.push_back(execution_effect(id, PipelineExecutionStatus::kInProgress));
  out.push_back(condition_effect(id, stage, condition, model::ConditionExecutionStatus::kOverridden,
                                 "Overridden by OverrideStageCondition"));
  out.push_back(stage_effect(id, stage, StageExecutionStatus::kInProgress, st.attempt));
  if (condition == model::ConditionType::kOnSuccess) st.on_success_passed = true;
  start_ready(*e, out);
  settle(*e, out);
  return out;
}

std::variant<Effects, MachineFailure> PipelineMachine::set_transition(const std::string& stage_name,
                                                                      bool enabled) {
  int stage = stage_index(stage_name);
  if (stage < 0)
    return MachineFailure{MachineError::kStageNotFound, "Stage " + stage_name + " does not exist"};
  Effects out;
  transitions_[stage] = enabled;
  if (enabled) admit(stage, out);
  return out;
}

Effects PipelineMachine::update(model::PipelineDeclaration declaration) {
  Effects out;
  ExecutionMode old_mode = current_->effective_mode();
  auto next = std::make_shared<const model::PipelineDeclaration>(std::move(declaration));
  // Transitions are kept by stage name; locks and queues are rebuilt below.
  std::vector<bool> transitions(next->stages.size(), true);
  for (size_t i = 0; i < next->stages.size(); ++i)
    for (size_t j = 0; j < current_->stages.size(); ++j)
      if (current_->stages[j].name == next->stages[i].name) transitions[i] = transitions_[j];
  current_ = next;
  versions_[current_->version.value_or(1)] = current_;
  if (old_mode != ExecutionMode::kParallel) {
    // SUPERSEDED and QUEUED executions end as Cancelled: waiting ones now,
    // active ones once their in-progress actions complete (reference §5.6).
    std::vector<ExecutionState*> order;
    for (auto& [_, e] : executions_)
      if (active(e)) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->order < b->order; });
    for (ExecutionState* e : order) {
      e->cancel_requested = true;
      if (e->stage >= 0 && e->waiting_at < 0 && e->stages[e->stage].evaluating) {
        out.push_back(condition_effect(e->id, e->stage, *e->stages[e->stage].evaluating,
                                       model::ConditionExecutionStatus::kCancelled,
                                       "The pipeline was updated"));
        e->stages[e->stage].evaluating.reset();
      }
      if (e->waiting_at >= 0 || e->stage < 0 || in_flight(*e, e->stage) == 0) {
        e->stop_requested = false;
        remove_waiting(*e);
        if (e->stage >= 0 && e->waiting_at < 0 &&
            e->stages[e->stage].status == StageExecutionStatus::kInProgress) {
          e->stages[e->stage].status = StageExecutionStatus::kCancelled;
          out.push_back(stage_effect(e->id, e->stage, StageExecutionStatus::kCancelled,
                                     e->stages[e->stage].attempt));
        }
        e->status = PipelineExecutionStatus::kCancelled;
        out.push_back(execution_effect(e->id, PipelineExecutionStatus::kCancelled,
                                       "The pipeline was updated; this execution was cancelled"));
      }
    }
  }
  // Executions still finishing on the old version keep their own stage
  // indexes; they hold no locks in the new structure.
  locks_.assign(current_->stages.size(), "");
  waiting_.assign(current_->stages.size(), {});
  latest_in_stage_.assign(current_->stages.size(), "");
  transitions_ = transitions;
  return out;
}

void PipelineMachine::add_version(model::PipelineDeclaration declaration) {
  int version = declaration.version.value_or(1);
  if (!versions_.count(version))
    versions_[version] = std::make_shared<const model::PipelineDeclaration>(std::move(declaration));
}

void PipelineMachine::restore(ExecutionState state) {
  state.order = next_order_++;
  state.waiting_at = -1;
  const std::string id = state.id;
  ExecutionState& e = executions_[id] = std::move(state);
  if (!on_current(e) || e.stage < 0) return;
  latest_in_stage_[e.stage] = id;
  auto status = e.stages[e.stage].status;
  bool inside =
      status == StageExecutionStatus::kInProgress || status == StageExecutionStatus::kStopping;
  if (inside && e.mode != ExecutionMode::kParallel) locks_[e.stage] = id;
}

void PipelineMachine::restore_ended(ExecutionState state) {
  state.order = next_order_++;
  state.waiting_at = -1;
  const std::string id = state.id;
  executions_[id] = std::move(state);
}

void PipelineMachine::set_latest_in_stage(int stage, const std::string& execution_id) {
  if (stage >= 0 && stage < static_cast<int>(latest_in_stage_.size()))
    latest_in_stage_[stage] = execution_id;
}

Effects PipelineMachine::resume(const std::string& id) {
  Effects out;
  ExecutionState* e = find(id);
  if (!e || !active(*e)) return out;
  if (e->stage < 0) {
    try_enter(*e, e->rollback && e->last_stage >= 0 ? e->last_stage : 0, out);
    return out;
  }
  auto& st = e->stages[e->stage];
  if (st.status == StageExecutionStatus::kSucceeded ||
      st.status == StageExecutionStatus::kSkipped) {
    // The stage's end was committed; what follows it was not.
    int done = e->stage;
    if (done < last_stage(*e)) {
      try_enter(*e, done + 1, out);
    } else {
      e->status = PipelineExecutionStatus::kSucceeded;
      out.push_back(execution_effect(e->id, PipelineExecutionStatus::kSucceeded));
    }
    return out;
  }
  if (e->stop_requested) {
    // A stop was under way: what was in flight died with the process.
    for (auto& a : st.actions)
      if (a.status == ActionExecutionStatus::kInProgress && !a.external)
        a.status = ActionExecutionStatus::kAbandoned;
    settle(*e, out);
    return out;
  }
  if (st.evaluating) {
    // The rules were being evaluated when the process died: again.
    evaluate(*e, *st.evaluating, out);
    return out;
  }
  for (auto& a : st.actions) {
    if (a.status != ActionExecutionStatus::kInProgress || a.external) continue;
    ++a.attempt;
    Effect s = make_effect(Effect::Kind::kStartAction, e->id);
    s.stage = e->stage;
    s.action = a.name;
    s.attempt = a.attempt;
    out.push_back(s);
  }
  start_ready(*e, out);
  settle(*e, out);
  return out;
}

}  // namespace stageline::engine
