#include "engine/engine.h"

#include <algorithm>
#include <deque>
#include <regex>

#include "base/strings.h"
#include "engine/timeouts.h"
#include "engine/variables.h"

namespace stageline::engine {

using model::ActionExecutionStatus;
using model::PipelineExecutionStatus;

namespace {

constexpr const char* kLocalClaimant = "stageline";

Status api(std::string_view type, const std::string& message) {
  StatusCode code = StatusCode::kFailedPrecondition;
  if (type.ends_with("NotFoundException")) code = StatusCode::kNotFound;
  if (type == "ValidationException") code = StatusCode::kInvalidArgument;
  return Status(code, std::string(type) + ": " + message);
}

Status api(const MachineFailure& f) { return api(to_string(f.error), f.message); }

// Jobs of AWS-owned providers run in this process; Custom and ThirdParty
// action types are run by job workers that poll for them.
bool external_owner(const model::ActionTypeId& type) {
  return type.owner != model::ActionOwner::kAws;
}

bool is_approval(const model::ActionTypeId& type) {
  return type.category == model::ActionCategory::kApproval;
}

// Which revision types a source provider can be pinned to (reference §5.2).
bool revision_type_fits(const std::string& provider, const std::string& type) {
  if (type == "COMMIT_ID")
    return provider == "CodeCommit" || provider == "CodeStarSourceConnection" ||
           provider == "GitHub";
  if (type == "IMAGE_DIGEST") return provider == "ECR";
  if (type == "S3_OBJECT_VERSION_ID" || type == "S3_OBJECT_KEY") return provider == "S3";
  return false;
}

}  // namespace

ApiError api_error(const Status& status) {
  const std::string& m = status.message();
  size_t colon = m.find(": ");
  if (colon != std::string::npos && colon > 0 && m.find(' ') > colon &&
      (m.compare(0, colon, "ValidationException") == 0 ||
       std::string_view(m).substr(0, colon).ends_with("Exception")))
    return {m.substr(0, colon), m.substr(colon + 2)};
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return {"ValidationException", m};
    case StatusCode::kNotFound:
      return {"ResourceNotFoundException", m};
    default:
      return {"InternalFailure", m};
  }
}

Engine::Engine(store::Store& store, ActionRunner& runner, Options options)
    : store_(store),
      runner_(runner),
      options_(std::move(options)),
      authorizer_(options_.authorizer ? options_.authorizer : &allow_all_) {}

const ExecutionState* Engine::execution(const std::string& pipeline, const std::string& id) const {
  auto it = pipelines_.find(pipeline);
  return it == pipelines_.end() ? nullptr : it->second.machine->execution(id);
}

Result<Engine::Pipeline*> Engine::load(const std::string& name) {
  auto record = store_.get_pipeline(name);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound)
      return api("PipelineNotFoundException", "Account '" + options_.account_id +
                                                  "' does not have a pipeline with name '" + name +
                                                  "'");
    return record.status();
  }
  const auto& decl = record->declaration;
  int version = decl.version.value_or(1);
  auto it = pipelines_.find(name);
  if (it == pipelines_.end()) {
    Pipeline p;
    p.machine = std::make_unique<PipelineMachine>(decl);
    p.versions[version] = decl;
    // Transitions disabled before a restart stay disabled.
    auto transitions = store_.list_transitions(name);
    if (!transitions.ok()) return transitions.status().with_context("load pipeline " + name);
    for (const auto& t : *transitions)
      if (!t.enabled) (void)p.machine->set_transition(t.stage_name, false);
    it = pipelines_.emplace(name, std::move(p)).first;
  } else if (!it->second.versions.count(version)) {
    // Updated by another writer since: apply §5.6 as UpdatePipeline would.
    it->second.versions[version] = decl;
    Effects effects = it->second.machine->update(decl);
    if (Status s = apply(name, std::move(effects)); !s.ok()) return s;
  }
  return &it->second;
}

Result<std::string> Engine::start_execution(
    const std::string& pipeline_name,
    const std::vector<std::pair<std::string, std::string>>& variables, model::TriggerType trigger,
    const std::string& trigger_detail, const std::string& client_request_token,
    const std::vector<SourceRevisionOverride>& source_revisions) {
  if (!client_request_token.empty()) {
    auto earlier = store_.find_pipeline_execution_by_token(pipeline_name, client_request_token);
    if (!earlier.ok()) return earlier.status().with_context("start pipeline " + pipeline_name);
    if (earlier->has_value()) return (*earlier)->id;
  }
  auto loaded = load(pipeline_name);
  if (!loaded.ok()) return loaded.status();
  Pipeline& p = **loaded;
  const model::PipelineDeclaration& decl = p.machine->declaration();

  // Pipeline-level variables: start-time values over defaults; no default
  // means required (reference §9.3).
  std::map<std::string, std::string> given(variables.begin(), variables.end());
  model::PipelineExecutionRecord exec;
  if (decl.variables) {
    for (const auto& v : *decl.variables) {
      auto it = given.find(v.name);
      if (it != given.end()) {
        exec.variables.push_back({v.name, it->second});
        given.erase(it);
      } else if (v.default_value) {
        exec.variables.push_back({v.name, *v.default_value});
      } else {
        return Status::invalid("start pipeline " + pipeline_name + ": pipeline variable '" +
                               v.name + "' has no default value and was not given a value");
      }
    }
  }
  if (!given.empty())
    return Status::invalid("start pipeline " + pipeline_name + ": variable '" +
                           given.begin()->first + "' is not declared by the pipeline");

  // sourceRevisions: each names a source action of this pipeline once, with
  // a revision type its provider can be pinned to.
  for (const auto& r : source_revisions) {
    const model::ActionDeclaration* found = nullptr;
    for (const auto& st : decl.stages)
      for (const auto& a : st.actions)
        if (a.name == r.action_name) found = &a;
    if (found == nullptr || found->action_type_id.category != model::ActionCategory::kSource)
      return api("ValidationException", "sourceRevisions: '" + r.action_name +
                                            "' is not a source action of pipeline " +
                                            pipeline_name);
    if (!revision_type_fits(found->action_type_id.provider, r.revision_type))
      return api("ValidationException",
                 "sourceRevisions: revision type " + r.revision_type + " cannot be used with the " +
                     found->action_type_id.provider + " action '" + r.action_name + "'");
    if (r.revision_value.empty())
      return api("ValidationException",
                 "sourceRevisions: the revision value for '" + r.action_name + "' is empty");
    for (const auto& earlier : exec.source_revisions)
      if (earlier.action_name == r.action_name)
        return api("ValidationException",
                   "sourceRevisions: action '" + r.action_name + "' is given more than once");
    model::SourceRevision requested;
    requested.action_name = r.action_name;
    requested.revision_id = r.revision_value;
    requested.revision_type = r.revision_type;
    exec.source_revisions.push_back(std::move(requested));
  }

  exec.id = options_.new_id();
  exec.pipeline_name = pipeline_name;
  exec.pipeline_version = decl.version.value_or(1);
  exec.execution_mode = decl.effective_mode();
  exec.trigger_type = trigger;
  exec.trigger_detail = trigger_detail;
  exec.client_request_token = client_request_token;
  exec.created_ms = exec.updated_ms = options_.now_ms();
  auto started = p.machine->start(exec.id);
  if (auto* failure = std::get_if<MachineFailure>(&started)) return api(*failure);
  executions_[exec.id] = exec;
  AfterCommit after;
  Status committed = store_.write([&](store::StoreWriter& w) -> Status {
    if (Status s = w.insert_pipeline_execution(exec); !s.ok()) return s;
    return commit(w, pipeline_name, std::get<Effects>(std::move(started)), after);
  });
  if (!committed.ok()) return committed.with_context("start pipeline " + pipeline_name);
  dispatch(after);
  return exec.id;
}

Result<const VisibleVariables*> Engine::visible_for(store::StoreReader& reader,
                                                    const model::PipelineDeclaration& decl,
                                                    const model::PipelineExecutionRecord& exec) {
  // What an action may see: reference §9.1. A rollback execution sees what
  // its target execution's earlier stages produced.
  auto cached = visible_.find(exec.id);
  if (cached != visible_.end()) return &cached->second;
  VisibleVariables built;
  built["codepipeline"]["PipelineExecutionId"] = exec.id;
  for (const auto& v : exec.variables) built["variables"][v.name] = v.resolved_value;
  std::vector<std::string> sources;
  if (!exec.rollback_target_execution_id.empty())
    sources.push_back(exec.rollback_target_execution_id);
  sources.push_back(exec.id);
  for (const auto& source : sources) {
    auto earlier = reader.list_action_executions(source);
    if (!earlier.ok()) return earlier.status();
    for (const auto& r : *earlier) {
      if (r.status != ActionExecutionStatus::kSucceeded) continue;
      for (const auto& s : decl.stages) {
        if (s.name != r.stage_name) continue;
        for (const auto& a : s.actions)
          if (a.name == r.action_name && a.namespace_)
            for (const auto& [k, v] : r.output_variables) built[*a.namespace_][k] = v;
      }
    }
  }
  return &visible_.emplace(exec.id, std::move(built)).first->second;
}

Result<model::ArtifactRecord> Engine::artifact_for(store::StoreReader& reader,
                                                   const model::PipelineExecutionRecord& exec,
                                                   const std::string& name) {
  auto own = reader.get_artifact(exec.id, name);
  if (own.ok() || own.status().code() != StatusCode::kNotFound ||
      exec.rollback_target_execution_id.empty())
    return own;
  // A rollback execution runs on its target's artifacts (reference §6.3).
  return reader.get_artifact(exec.rollback_target_execution_id, name);
}

Result<ActionStart> Engine::prepare(store::StoreReader& reader, const std::string& pipeline,
                                    const model::PipelineDeclaration& decl,
                                    const model::PipelineExecutionRecord& exec, const Effect& e,
                                    Failure& failure) {
  const model::StageDeclaration& stage = decl.stages[e.stage];
  const model::ActionDeclaration* action = nullptr;
  for (const auto& a : stage.actions)
    if (a.name == e.action) action = &a;
  STAGELINE_CHECK(action != nullptr);
  ActionStart start;
  start.pipeline_name = pipeline;
  start.execution_id = exec.id;
  start.stage_name = stage.name;
  start.attempt = e.attempt;
  start.action = *action;
  start.timeout = action_timeout(*action);
  if (decl.artifact_store) {
    start.artifact_bucket = decl.artifact_store->location;
    if (decl.artifact_store->encryption_key)
      start.artifact_encryption_key = decl.artifact_store->encryption_key->id;
  } else if (decl.artifact_stores && !decl.artifact_stores->empty()) {
    const auto& store = decl.artifact_stores->begin()->second;
    start.artifact_bucket = store.location;
    if (store.encryption_key) start.artifact_encryption_key = store.encryption_key->id;
  }

  auto seen = visible_for(reader, decl, exec);
  if (!seen.ok()) return seen.status();
  const VisibleVariables& visible = **seen;
  auto resolve = [&](std::string& text, const std::string& where) {
    if (!failure.message.empty()) return;
    auto r = resolve_variables(text, visible);
    if (r.ok()) {
      text = std::move(*r);
    } else {
      failure = {"ConfigurationError", where + ": " + r.status().message()};
    }
  };
  if (start.action.configuration)
    for (auto& [k, v] : *start.action.configuration) resolve(v, "configuration " + k);
  if (start.action.commands)
    for (auto& c : *start.action.commands) resolve(c, "command");
  if (start.action.environment_variables)
    for (auto& ev : *start.action.environment_variables)
      resolve(ev.value, "environment variable " + ev.name);

  if (action->input_artifacts) {
    for (const auto& in : *action->input_artifacts) {
      auto artifact = artifact_for(reader, exec, in.name);
      if (artifact.ok()) {
        start.inputs.emplace_back(in.name, artifact->location);
        continue;
      }
      if (artifact.status().code() != StatusCode::kNotFound) return artifact.status();
      if (failure.message.empty()) {
        std::string producer;
        for (const auto& s : decl.stages)
          for (const auto& a : s.actions)
            if (a.output_artifacts)
              for (const auto& o : *a.output_artifacts)
                if (o.name == in.name)
                  producer = "action '" + a.name + "' in stage '" + s.name + "'";
        failure = {"ConfigurationError",
                   "input artifact '" + in.name + "' does not exist in this execution" +
                       (producer.empty() ? std::string(": no action produces it")
                                         : ": " + producer + " should have produced it")};
      }
    }
  }
  for (const auto& r : exec.source_revisions)
    if (r.action_name == action->name && !r.revision_type.empty()) {
      start.revision_type = r.revision_type;
      start.revision_value = r.revision_id;
    }

  if (failure.message.empty()) {
    AuthorizationRequest ask;
    ask.pipeline_name = pipeline;
    ask.role_arn = action->role_arn.value_or(decl.role_arn);
    ask.stage_name = stage.name;
    ask.action_name = action->name;
    ask.action_type = action->action_type_id;
    ask.region = action->region.value_or("");
    ask.artifact_bucket = start.artifact_bucket;
    if (action->input_artifacts)
      for (const auto& in : *action->input_artifacts) ask.input_artifacts.push_back(in.name);
    if (action->output_artifacts)
      for (const auto& out : *action->output_artifacts) ask.output_artifacts.push_back(out.name);
    if (Status allowed = authorizer_->authorize(ask); !allowed.ok())
      failure = {"PermissionError", allowed.message()};
  }
  return start;
}

Status Engine::apply(const std::string& pipeline, Effects effects) {
  AfterCommit after;
  Status committed = store_.write(
      [&](store::StoreWriter& w) { return commit(w, pipeline, std::move(effects), after); });
  if (!committed.ok()) return committed.with_context("commit state of pipeline " + pipeline);
  dispatch(after);
  return Status();
}

void Engine::dispatch(AfterCommit& after) {
  if (EngineEvents* events = options_.events) {
    for (const auto& changed : after.changed) {
      struct Tell {
        EngineEvents* events;
        void operator()(const model::PipelineExecutionRecord& r) { events->execution_changed(r); }
        void operator()(const model::StageExecutionRecord& r) { events->stage_changed(r); }
        void operator()(const model::ActionExecutionRecord& r) { events->action_changed(r); }
        void operator()(const model::ConditionExecutionRecord& r) { events->condition_changed(r); }
        void operator()(const model::RuleExecutionRecord& r) { events->rule_changed(r); }
      };
      std::visit(Tell{events}, changed);
    }
  }
  for (const ActionStart& s : after.starts) runner_.start(s);
}

Status Engine::commit(store::StoreWriter& w, const std::string& pipeline, Effects effects,
                      AfterCommit& after) {
  Pipeline& p = pipelines_.at(pipeline);
  model::TimestampMs now = options_.now_ms();
  std::deque<Effect> queue(std::make_move_iterator(effects.begin()),
                           std::make_move_iterator(effects.end()));
  while (!queue.empty()) {
    Effect e = std::move(queue.front());
    queue.pop_front();
    model::PipelineExecutionRecord& exec = executions_.at(e.execution_id);
    const model::PipelineDeclaration& decl = p.versions.at(exec.pipeline_version);
    switch (e.kind) {
      case Effect::Kind::kExecutionStatus: {
        exec.status = e.execution_status;
        if (e.execution_status != PipelineExecutionStatus::kInProgress &&
            e.execution_status != PipelineExecutionStatus::kStopping)
          visible_.erase(exec.id);  // a retry rebuilds it from the store
        if (!e.summary.empty()) exec.status_summary = e.summary;
        exec.updated_ms = now;
        if (Status s = w.update_pipeline_execution(exec); !s.ok()) return s;
        after.changed.push_back(exec);
        break;
      }
      case Effect::Kind::kStageStatus: {
        model::StageExecutionRecord st{
            exec.id, decl.stages[e.stage].name, e.stage_status, e.attempt, now, now};
        if (Status s = w.upsert_stage_execution(st); !s.ok()) return s;
        after.changed.push_back(st);
        break;
      }
      case Effect::Kind::kWaiting:
        break;  // derived: the execution's last stage record says where it is
      case Effect::Kind::kEvaluateCondition: {
        model::ConditionExecutionRecord c;
        c.execution_id = exec.id;
        c.stage_name = decl.stages[e.stage].name;
        c.type = e.condition;
        c.stage_attempt = e.attempt;
        c.status = model::ConditionExecutionStatus::kInProgress;
        c.started_ms = c.updated_ms = now;
        if (Status s = w.upsert_condition_execution(c); !s.ok()) return s;
        after.changed.push_back(c);
        Evaluation& ev =
            evaluations_[exec.id] = {pipeline, exec.id, e.stage, e.condition, e.attempt, 0, ""};
        auto decided = run_rules(w, ev, after);
        if (!decided.ok()) return decided.status();
        for (auto& n : *decided) queue.push_back(std::move(n));
        break;
      }
      case Effect::Kind::kConditionStatus: {
        const ExecutionState* state = p.machine->execution(exec.id);
        model::ConditionExecutionRecord c;
        c.execution_id = exec.id;
        c.stage_name = decl.stages[e.stage].name;
        c.type = e.condition;
        c.stage_attempt = state ? state->stages[e.stage].attempt : 1;
        c.status = e.condition_status;
        c.summary = e.summary;
        c.started_ms = c.updated_ms = now;
        auto earlier = w.list_condition_executions(exec.id);
        if (!earlier.ok()) return earlier.status();
        for (const auto& x : *earlier)
          if (x.stage_name == c.stage_name && x.type == c.type &&
              x.stage_attempt == c.stage_attempt)
            c.started_ms = x.started_ms;
        if (Status s = w.upsert_condition_execution(c); !s.ok()) return s;
        after.changed.push_back(c);
        if (e.condition_status == model::ConditionExecutionStatus::kAbandoned ||
            e.condition_status == model::ConditionExecutionStatus::kCancelled)
          if (Status s = end_evaluation(w, exec.id, model::RuleExecutionStatus::kAbandoned);
              !s.ok())
            return s;
        break;
      }
      case Effect::Kind::kStartRollback: {
        const std::string& stage_name = decl.stages[e.stage].name;
        auto target = rollback_target(w, pipeline, stage_name, exec.id);
        if (!target.ok()) return target.status();
        Effects next;
        std::string why;
        if (!target->has_value()) {
          why = "no earlier execution succeeded in stage " + stage_name + " on pipeline version " +
                std::to_string(exec.pipeline_version);
        } else {
          auto created = create_rollback(w, pipeline, stage_name, **target,
                                         model::TriggerType::kAutomatedRollback, "", next);
          if (created.ok()) {
            exec.status_summary +=
                " (rollback execution " + *created + " to " + (*target)->id + ")";
          } else if (created.status().code() == StatusCode::kFailedPrecondition) {
            why = api_error(created.status()).message;
          } else {
            return created.status();
          }
        }
        if (!why.empty()) {
          const std::string asked = "; rolling back";
          if (exec.status_summary.ends_with(asked))
            exec.status_summary.resize(exec.status_summary.size() - asked.size());
          exec.status_summary += " (no automatic rollback: " + why + ")";
          next = p.machine->admit_waiting(e.stage);
        }
        exec.updated_ms = now;
        if (Status s = w.update_pipeline_execution(exec); !s.ok()) return s;
        for (auto& n : next) queue.push_back(std::move(n));
        break;
      }
      case Effect::Kind::kActionStatus: {
        for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
          const InFlight& f = it->second;
          if (f.execution_id != e.execution_id || f.stage != e.stage || f.action != e.action)
            continue;
          auto record = w.get_action_execution(it->first);
          if (!record.ok()) return record.status();
          record->status = e.action_status;
          record->summary = "Abandoned by StopPipelineExecution";
          record->updated_ms = now;
          if (Status s = w.update_action_execution(*record); !s.ok()) return s;
          // The job ends too; a worker's late result then changes nothing.
          if (!f.job_id.empty()) {
            auto ended = w.complete_job(f.job_id, model::JobStatus::kFailed, now);
            if (!ended.ok() && ended.status().code() == StatusCode::kFailedPrecondition)
              ended = w.complete_job(f.job_id, model::JobStatus::kTimedOut, now);
            if (!ended.ok()) return ended.status();
          }
          after.changed.push_back(*record);
          in_flight_.erase(it);
          break;
        }
        break;
      }
      case Effect::Kind::kStartAction: {
        Failure failure;
        auto start = prepare(w, pipeline, decl, exec, e, failure);
        if (!start.ok()) return start.status();
        start->action_execution_id = options_.new_id();
        const model::ActionTypeId& type = start->action.action_type_id;
        bool external = external_owner(type);
        model::ActionExecutionRecord r;
        r.id = start->action_execution_id;
        r.execution_id = exec.id;
        r.stage_name = start->stage_name;
        r.action_name = e.action;
        r.attempt = e.attempt;
        r.resolved_configuration = start->action.configuration.value_or(model::StringMap{});
        r.started_ms = r.updated_ms = now;
        if (!failure.message.empty()) {
          r.status = ActionExecutionStatus::kFailed;
          r.error_code = failure.code;
          r.error_message = failure.message;
          r.summary = failure.message;
        } else if (!is_approval(type)) {
          r.job_id = start->job_id = options_.new_id();
        } else if (options_.wait_for_approvals) {
          // The token is also its external execution id: what
          // ListActionExecutions shows PARALLEL pipelines (reference §10).
          r.approval_token = r.external_execution_id = options_.new_id();
          external = true;  // it waits for a person, not for the runner
        }
        if (Status s = w.insert_action_execution(r); !s.ok()) return s;
        after.changed.push_back(r);
        if (!failure.message.empty()) {
          // Failed before it started: the machine decides what follows now.
          Effects next = p.machine->action_finished(exec.id, e.stage, e.action,
                                                    ActionExecutionStatus::kFailed);
          for (auto& n : next) queue.push_back(std::move(n));
          break;
        }
        if (!r.job_id.empty()) {
          // Reference §11: every action but an approval is a job. The
          // in-process runner claims built-in providers' jobs now; the
          // others wait for a job worker's PollForJobs.
          model::JobRecord job;
          job.id = r.job_id;
          job.action_execution_id = r.id;
          job.execution_id = exec.id;
          job.pipeline_name = pipeline;
          job.stage_name = r.stage_name;
          job.action_name = r.action_name;
          job.action_type_id = type;
          job.status = external ? model::JobStatus::kQueued : model::JobStatus::kInProgress;
          if (!external) {
            job.nonce = options_.new_id();
            job.claimed_by = kLocalClaimant;
          }
          job.created_ms = job.updated_ms = now;
          if (Status s = w.insert_job(job); !s.ok()) return s;
        }
        in_flight_[r.id] = {
            pipeline,
            exec.id,
            e.stage,
            e.action,
            r.job_id,
            external,
            now + std::chrono::duration_cast<std::chrono::milliseconds>(start->timeout).count()};
        if (!external) after.starts.push_back(std::move(*start));
        break;
      }
    }
  }
  return Status();
}

namespace {

// Rebuilds where an execution stands from its records, as PipelineMachine
// restore() and restore_ended() take it.
ExecutionState rebuild_state(const model::PipelineExecutionRecord& exec,
                             const model::PipelineDeclaration& decl,
                             const std::vector<model::StageExecutionRecord>& stages,
                             const std::vector<model::ActionExecutionRecord>& actions,
                             const std::vector<model::ConditionExecutionRecord>& conditions) {
  ExecutionState state;
  state.id = exec.id;
  state.version = exec.pipeline_version;
  state.mode = exec.execution_mode;
  state.status = exec.status;
  state.stop_requested = exec.status == PipelineExecutionStatus::kStopping;
  if (exec.execution_type == model::ExecutionType::kRollback) {
    state.rollback = true;
    for (size_t i = 0; i < decl.stages.size(); ++i)
      if (decl.stages[i].name == exec.rollback_stage_name) state.last_stage = static_cast<int>(i);
  }
  for (size_t i = 0; i < decl.stages.size(); ++i) {
    StageState st;
    for (const auto& a : decl.stages[i].actions)
      st.actions.push_back({a.name, a.effective_run_order(), 0, {}, false});
    for (const auto& r : stages)
      if (r.stage_name == decl.stages[i].name) {
        st.status = r.status;
        st.attempt = r.attempt;
        state.stage = static_cast<int>(i);
      }
    state.stages.push_back(std::move(st));
  }
  for (int i = 0; i <= state.stage; ++i) {
    for (auto& a : state.stages[i].actions) {
      // The latest attempt of each action decides where it stands.
      for (const auto& r : actions)
        if (r.stage_name == decl.stages[i].name && r.action_name == a.name &&
            r.attempt >= a.attempt) {
          a.attempt = r.attempt;
          a.status = r.status;
        }
      if (i < state.stage) a.status = ActionExecutionStatus::kSucceeded;
    }
  }
  if (state.stage >= 0) {
    // Where the current stage's conditions stood in its latest attempt.
    StageState& st = state.stages[state.stage];
    for (const auto& c : conditions) {
      if (c.stage_name != decl.stages[state.stage].name || c.stage_attempt != st.attempt) continue;
      using CS = model::ConditionExecutionStatus;
      if (c.status == CS::kInProgress) st.evaluating = c.type;
      if (c.type == model::ConditionType::kOnSuccess &&
          (c.status == CS::kSucceeded || c.status == CS::kOverridden))
        st.on_success_passed = true;
      if (c.type == model::ConditionType::kOnFailure && c.status != CS::kInProgress)
        st.on_failure_evaluated = true;
      if (c.status == CS::kFailed && c.type != model::ConditionType::kOnFailure &&
          st.status == model::StageExecutionStatus::kFailed)
        st.failed_condition = c.type;
    }
    // At most one automatic retry per stage execution; a restart cannot tell
    // an automatic retry from a manual one, so any retry counts.
    st.automatic_retries = st.attempt > 1 ? 1 : 0;
  }
  return state;
}

}  // namespace

Result<std::vector<std::string>> Engine::recover() {
  auto active = store_.list_pipeline_executions_by_status(
      {PipelineExecutionStatus::kInProgress, PipelineExecutionStatus::kStopping});
  if (!active.ok()) return active.status().with_context("recover executions");
  std::vector<model::PipelineExecutionRecord> execs = std::move(*active);
  std::sort(execs.begin(), execs.end(), [](const auto& a, const auto& b) {
    return a.created_ms != b.created_ms ? a.created_ms < b.created_ms : a.id < b.id;
  });
  std::vector<std::string> resumed;
  // Jobs still waiting for or held by a job worker survive the restart.
  std::map<std::string, model::JobRecord> open_jobs;
  auto jobs = store_.list_jobs_by_status(
      {model::JobStatus::kQueued, model::JobStatus::kDispatched, model::JobStatus::kInProgress});
  if (!jobs.ok()) return jobs.status().with_context("recover jobs");
  for (auto& j : *jobs) open_jobs[j.action_execution_id] = std::move(j);

  std::map<std::string, std::vector<model::ActionExecutionRecord>> records;
  // Rebuild every machine first, so that locks and queues are complete
  // before any execution moves.
  for (const auto& exec : execs) {
    auto loaded = load(exec.pipeline_name);
    if (!loaded.ok()) return loaded.status().with_context("recover execution " + exec.id);
    Pipeline& p = **loaded;
    if (!p.versions.count(exec.pipeline_version)) {
      auto old = store_.get_pipeline_version(exec.pipeline_name, exec.pipeline_version);
      if (!old.ok()) return old.status().with_context("recover execution " + exec.id);
      p.versions[exec.pipeline_version] = old->declaration;
      p.machine->add_version(old->declaration);
    }
    const model::PipelineDeclaration& decl = p.versions.at(exec.pipeline_version);
    auto stages = store_.list_stage_executions(exec.id);
    if (!stages.ok()) return stages.status().with_context("recover execution " + exec.id);
    auto actions = store_.list_action_executions(exec.id);
    if (!actions.ok()) return actions.status().with_context("recover execution " + exec.id);
    auto conditions = store_.list_condition_executions(exec.id);
    if (!conditions.ok()) return conditions.status().with_context("recover execution " + exec.id);
    ExecutionState state = rebuild_state(exec, decl, *stages, *actions, *conditions);
    if (state.stage >= 0) {
      for (auto& a : state.stages[state.stage].actions) {
        if (a.status != ActionExecutionStatus::kInProgress) continue;
        for (const auto& r : *actions) {
          if (r.stage_name != decl.stages[state.stage].name || r.action_name != a.name ||
              r.attempt != a.attempt)
            continue;
          auto job = open_jobs.find(r.id);
          // Job workers' jobs and waiting approvals go on waiting.
          bool waiting_approval = !r.approval_token.empty() && r.job_id.empty();
          if (!waiting_approval &&
              (job == open_jobs.end() || !external_owner(job->second.action_type_id)))
            continue;
          a.external = true;
          model::TimestampMs deadline = r.started_ms;
          for (const auto& d : decl.stages[state.stage].actions)
            if (d.name == a.name)
              deadline +=
                  std::chrono::duration_cast<std::chrono::milliseconds>(action_timeout(d)).count();
          in_flight_[r.id] = {exec.pipeline_name, exec.id, state.stage, a.name,
                              r.job_id,           true,    deadline};
        }
      }
    }
    executions_[exec.id] = exec;
    p.machine->restore(std::move(state));
    records[exec.id] = std::move(*actions);
    resumed.push_back(exec.id);
  }
  // Close the attempts that died with the process, then let each execution go on.
  model::TimestampMs now = options_.now_ms();
  for (const auto& exec : execs) {
    Effects effects = pipelines_.at(exec.pipeline_name).machine->resume(exec.id);
    AfterCommit after;
    Status closed = store_.write([&](store::StoreWriter& w) -> Status {
      for (auto r : records[exec.id]) {
        if (r.status != ActionExecutionStatus::kInProgress || in_flight_.count(r.id)) continue;
        // A stop under way abandons what was running; otherwise the attempt
        // failed and runs again.
        bool stopping = exec.status == PipelineExecutionStatus::kStopping;
        r.status = stopping ? ActionExecutionStatus::kAbandoned : ActionExecutionStatus::kFailed;
        r.error_code = stopping ? "" : "JobFailed";
        r.summary = r.error_message =
            "interrupted: Stageline stopped while this attempt was running";
        r.updated_ms = now;
        if (Status s = w.update_action_execution(r); !s.ok()) return s;
        if (!r.job_id.empty()) {
          auto ended = w.complete_job(r.job_id, model::JobStatus::kTimedOut, now);
          if (!ended.ok() && ended.status().code() != StatusCode::kFailedPrecondition)
            return ended.status();
        }
        after.changed.push_back(r);
      }
      // Rules being evaluated when the process died are evaluated again.
      auto rules = w.list_rule_executions(exec.id);
      if (!rules.ok()) return rules.status();
      for (auto r : *rules) {
        if (r.status != model::RuleExecutionStatus::kInProgress) continue;
        r.status = model::RuleExecutionStatus::kAbandoned;
        r.summary = "interrupted: Stageline stopped while this rule was evaluated";
        r.updated_ms = now;
        if (Status s = w.update_rule_execution(r); !s.ok()) return s;
      }
      return commit(w, exec.pipeline_name, std::move(effects), after);
    });
    if (!closed.ok()) return closed.with_context("recover execution " + exec.id);
    dispatch(after);
  }
  return resumed;
}

Status Engine::action_finished(const std::string& action_execution_id,
                               const ActionOutcome& outcome) {
  return finish_action(
      action_execution_id, outcome,
      outcome.succeeded ? model::JobStatus::kSucceeded : model::JobStatus::kFailed);
}

Status Engine::finish_action(const std::string& action_execution_id, const ActionOutcome& outcome,
                             model::JobStatus job_status) {
  if (rules_in_flight_.count(action_execution_id))
    return rule_finished(action_execution_id, outcome);
  auto it = in_flight_.find(action_execution_id);
  if (it == in_flight_.end()) return Status();  // late, duplicated or abandoned
  InFlight f = it->second;
  in_flight_.erase(it);
  auto status =
      outcome.succeeded ? ActionExecutionStatus::kSucceeded : ActionExecutionStatus::kFailed;
  model::PipelineExecutionRecord& exec = executions_.at(f.execution_id);
  const model::PipelineDeclaration& decl =
      pipelines_.at(f.pipeline).versions.at(exec.pipeline_version);
  auto cached = visible_.find(f.execution_id);
  if (outcome.succeeded && cached != visible_.end()) {
    for (const auto& a : decl.stages[f.stage].actions)
      if (a.name == f.action && a.namespace_)
        for (const auto& [k, v] : outcome.output_variables) cached->second[*a.namespace_][k] = v;
  }
  Effects effects =
      pipelines_.at(f.pipeline).machine->action_finished(f.execution_id, f.stage, f.action, status);
  AfterCommit after;
  model::TimestampMs now = options_.now_ms();
  Status recorded = store_.write([&](store::StoreWriter& w) -> Status {
    auto record = w.get_action_execution(action_execution_id);
    if (!record.ok()) return record.status();
    record->status = status;
    record->summary = outcome.summary;
    record->error_code =
        outcome.succeeded ? "" : (outcome.error_code.empty() ? "JobFailed" : outcome.error_code);
    record->error_message = outcome.error_message;
    record->output_variables = outcome.output_variables;
    if (!outcome.external_execution_id.empty())
      record->external_execution_id = outcome.external_execution_id;
    if (!outcome.external_execution_url.empty())
      record->external_execution_url = outcome.external_execution_url;
    if (!outcome.updated_by.empty()) record->updated_by = outcome.updated_by;
    record->updated_ms = now;
    if (Status s = w.update_action_execution(*record); !s.ok()) return s;
    after.changed.push_back(*record);
    for (const auto& a : outcome.artifacts)
      if (Status s = w.put_artifact(a); !s.ok()) return s;
    if (!f.job_id.empty()) {
      auto ended = w.complete_job(f.job_id, job_status, now);
      if (!ended.ok()) return ended.status();
    }
    if (!outcome.revisions.empty()) {
      // What the source action used replaces what was asked for.
      auto& revs = exec.source_revisions;
      for (const auto& r : outcome.revisions) {
        revs.erase(std::remove_if(revs.begin(), revs.end(),
                                  [&](const auto& x) { return x.action_name == r.action_name; }),
                   revs.end());
        revs.push_back(r);
      }
      exec.updated_ms = now;
      if (Status s = w.update_pipeline_execution(exec); !s.ok()) return s;
    }
    return commit(w, f.pipeline, std::move(effects), after);
  });
  if (!recorded.ok())
    return recorded.with_context("record result of action execution " + action_execution_id);
  dispatch(after);
  return Status();
}

// ---- Manual approvals (reference §10) ------------------------------------------

Result<model::TimestampMs> Engine::put_approval_result(
    const std::string& pipeline, const std::string& stage, const std::string& action,
    const std::string& token, bool approved, const std::string& summary, const std::string& by) {
  // The approval of this action that waits now, if any.
  std::string waiting;
  for (const auto& [id, f] : in_flight_) {
    if (f.pipeline != pipeline || f.action != action || !f.job_id.empty() || !f.external) continue;
    const model::PipelineExecutionRecord& exec = executions_.at(f.execution_id);
    const model::PipelineDeclaration& decl =
        pipelines_.at(f.pipeline).versions.at(exec.pipeline_version);
    if (decl.stages[f.stage].name == stage) waiting = id;
  }
  if (!waiting.empty()) {
    auto record = store_.get_action_execution(waiting);
    if (!record.ok()) return record.status();
    if (record->approval_token == token) {
      ActionOutcome outcome;
      outcome.succeeded = approved;
      outcome.updated_by = by;
      outcome.summary = summary;
      if (!approved) {
        outcome.error_code = "JobFailed";
        outcome.error_message =
            "Rejected by " + by + (summary.empty() ? std::string() : ": " + summary);
      }
      model::TimestampMs now = options_.now_ms();
      if (Status s = finish_action(waiting, outcome, model::JobStatus::kSucceeded); !s.ok())
        return s;
      return now;
    }
  }
  // Not the waiting one: a token of an approval of this action that was
  // answered already, or none at all.
  auto page = store_.list_action_executions_by_pipeline(pipeline, 1000, "");
  if (!page.ok()) return page.status();
  for (const auto& r : page->items)
    if (r.stage_name == stage && r.action_name == action && r.approval_token == token &&
        !token.empty()) {
      if (r.status == ActionExecutionStatus::kSucceeded ||
          (r.status == ActionExecutionStatus::kFailed && !r.updated_by.empty()))
        return api("ApprovalAlreadyCompletedException",
                   "The approval action " + action + " in stage " + stage + " of pipeline " +
                       pipeline + " was already " +
                       (r.status == ActionExecutionStatus::kSucceeded ? "approved" : "rejected") +
                       " by " + r.updated_by);
      break;
    }
  return api("InvalidApprovalTokenException",
             "The approval token for action " + action + " in stage " + stage + " of pipeline " +
                 pipeline +
                 " is not valid: the approval already received a response or has "
                 "expired, or no approval with this token is waiting");
}

// ---- Job workers (reference §11.2) ---------------------------------------------

Status Engine::job_succeeded(const std::string& job_id, const JobSuccess& result) {
  auto job = store_.get_job(job_id);
  if (!job.ok()) {
    if (job.status().code() == StatusCode::kNotFound)
      return api("JobNotFoundException", "The job " + job_id + " was not found");
    return job.status();
  }
  if (job->status == model::JobStatus::kSucceeded) return Status();  // a repeated result
  if (job->status != model::JobStatus::kInProgress)
    return api("InvalidJobStateException",
               "The job " + job_id + " is " + std::string(model::to_string(job->status)) +
                   "; only an acknowledged (InProgress) job takes a result");
  auto it = in_flight_.find(job->action_execution_id);
  model::TimestampMs now = options_.now_ms();
  if (it == in_flight_.end() || it->second.job_id != job_id) {
    // The action was abandoned or has ended: record the job's end only.
    auto ended = store_.complete_job(job_id, model::JobStatus::kSucceeded, now);
    return ended.ok() ? Status() : ended.status();
  }
  if (!result.continuation_token.empty()) {
    // The action goes on: a new job carries the token (reference §11.2).
    model::JobRecord next = *job;
    next.id = options_.new_id();
    next.nonce.clear();
    next.claimed_by.clear();
    next.status = model::JobStatus::kQueued;
    next.continuation_token = result.continuation_token;
    next.created_ms = next.updated_ms = now;
    Status s = store_.write([&](store::StoreWriter& w) -> Status {
      auto ended = w.complete_job(job_id, model::JobStatus::kSucceeded, now);
      if (!ended.ok()) return ended.status();
      if (Status st = w.insert_job(next); !st.ok()) return st;
      auto record = w.get_action_execution(job->action_execution_id);
      if (!record.ok()) return record.status();
      record->job_id = next.id;
      if (!result.summary.empty()) record->summary = result.summary;
      if (!result.external_execution_id.empty())
        record->external_execution_id = result.external_execution_id;
      record->updated_ms = now;
      return w.update_action_execution(*record);
    });
    if (!s.ok()) return s.with_context("continue job " + job_id);
    it->second.job_id = next.id;
    return Status();
  }
  ActionOutcome outcome;
  outcome.succeeded = true;
  outcome.summary = result.summary;
  outcome.output_variables = result.output_variables;
  outcome.external_execution_id = result.external_execution_id;
  outcome.artifacts = result.artifacts;
  return finish_action(job->action_execution_id, outcome, model::JobStatus::kSucceeded);
}

Status Engine::job_failed(const std::string& job_id, model::FailureType type,
                          const std::string& message, const std::string& external_execution_id) {
  auto job = store_.get_job(job_id);
  if (!job.ok()) {
    if (job.status().code() == StatusCode::kNotFound)
      return api("JobNotFoundException", "The job " + job_id + " was not found");
    return job.status();
  }
  if (job->status == model::JobStatus::kFailed) return Status();
  if (job->status != model::JobStatus::kInProgress)
    return api("InvalidJobStateException",
               "The job " + job_id + " is " + std::string(model::to_string(job->status)) +
                   "; only an acknowledged (InProgress) job takes a result");
  auto it = in_flight_.find(job->action_execution_id);
  if (it == in_flight_.end() || it->second.job_id != job_id) {
    auto ended = store_.complete_job(job_id, model::JobStatus::kFailed, options_.now_ms());
    return ended.ok() ? Status() : ended.status();
  }
  ActionOutcome outcome;
  outcome.succeeded = false;
  outcome.summary = message;
  outcome.error_code = std::string(model::to_string(type));
  outcome.error_message = message;
  outcome.external_execution_id = external_execution_id;
  return finish_action(job->action_execution_id, outcome, model::JobStatus::kFailed);
}

Status Engine::expire_jobs() {
  model::TimestampMs now = options_.now_ms();
  std::vector<std::string> expired;
  for (const auto& [id, f] : in_flight_)
    if (f.external && f.deadline_ms > 0 && now >= f.deadline_ms) expired.push_back(id);
  for (const auto& id : expired) {
    ActionOutcome outcome;
    outcome.succeeded = false;
    outcome.error_code = "JobFailed";
    outcome.summary = outcome.error_message =
        in_flight_.at(id).job_id.empty()
            ? "The approval timed out: nobody approved or rejected it in time"
            : "The action timed out: no job worker reported a result in time";
    if (Status s = finish_action(id, outcome, model::JobStatus::kTimedOut); !s.ok()) return s;
  }
  return Status();
}

// ---- Operations on pipelines and executions -------------------------------------

Status Engine::apply_api(const std::string& pipeline, std::variant<Effects, MachineFailure> result,
                         const std::function<Status(store::StoreWriter&)>& also) {
  if (auto* failure = std::get_if<MachineFailure>(&result)) return api(*failure);
  AfterCommit after;
  Status committed = store_.write([&](store::StoreWriter& w) -> Status {
    if (also)
      if (Status s = also(w); !s.ok()) return s;
    return commit(w, pipeline, std::get<Effects>(std::move(result)), after);
  });
  if (!committed.ok()) return committed.with_context("commit state of pipeline " + pipeline);
  dispatch(after);
  return Status();
}

Status Engine::create_pipeline(const model::PipelineRecord& pipeline) {
  auto created = store_.create_pipeline(pipeline);
  if (!created.ok()) {
    if (created.status().code() == StatusCode::kAlreadyExists)
      return api("PipelineNameInUseException",
                 "A pipeline with the name '" + pipeline.declaration.name + "' already exists");
    return created.status();
  }
  return Status();
}

Result<model::PipelineRecord> Engine::update_pipeline(
    const model::PipelineDeclaration& declaration) {
  auto loaded = load(declaration.name);
  if (!loaded.ok()) return loaded.status();
  Pipeline& p = **loaded;
  model::PipelineRecord stored;
  AfterCommit after;
  Status committed = store_.write([&](store::StoreWriter& w) -> Status {
    auto updated = w.update_pipeline(declaration, options_.now_ms());
    if (!updated.ok()) return updated.status();
    stored = *updated;
    p.versions[stored.declaration.version.value_or(1)] = stored.declaration;
    return commit(w, declaration.name, p.machine->update(stored.declaration), after);
  });
  if (!committed.ok()) return committed.with_context("update pipeline " + declaration.name);
  dispatch(after);
  return stored;
}

Status Engine::delete_pipeline(const std::string& name) {
  auto loaded = load(name);
  if (!loaded.ok()) return loaded.status();
  PipelineMachine& m = *(*loaded)->machine;
  for (const auto& [id, exec] : executions_) {
    if (exec.pipeline_name != name) continue;
    const ExecutionState* e = m.execution(id);
    if (e == nullptr || (e->status != PipelineExecutionStatus::kInProgress &&
                         e->status != PipelineExecutionStatus::kStopping))
      continue;
    if (Status s = apply_api(name, m.stop(id, true, "The pipeline was deleted")); !s.ok()) return s;
  }
  Status deleted = store_.delete_pipeline(name);
  if (!deleted.ok()) return deleted.with_context("delete pipeline " + name);
  pipelines_.erase(name);
  return Status();
}

Status Engine::stop_execution(const std::string& pipeline, const std::string& execution_id,
                              bool abandon, const std::string& reason) {
  auto loaded = load(pipeline);
  if (!loaded.ok()) return loaded.status();
  PipelineMachine& m = *(*loaded)->machine;
  if (m.execution(execution_id) == nullptr) {
    auto stored = store_.get_pipeline_execution(execution_id);
    if (stored.ok() && stored->pipeline_name == pipeline)
      return api("PipelineExecutionNotStoppableException",
                 "Pipeline execution " + execution_id + " is " +
                     std::string(model::to_string(stored->status)) + " and cannot be stopped");
    return api("PipelineExecutionNotFoundException",
               "Pipeline execution " + execution_id + " does not exist in pipeline " + pipeline);
  }
  auto result = m.stop(execution_id, abandon, reason);
  return apply_api(pipeline, std::move(result), [&](store::StoreWriter&) {
    executions_.at(execution_id).stop_reason = reason;  // written with the status effect
    return Status();
  });
}

Status Engine::retry_stage(const std::string& pipeline, const std::string& stage,
                           const std::string& execution_id, model::StageRetryMode mode) {
  auto loaded = load(pipeline);
  if (!loaded.ok()) return loaded.status();
  Pipeline& p = **loaded;
  if (Status s = ensure_known(p, pipeline, execution_id); !s.ok()) return s;
  return apply_api(pipeline, p.machine->retry(execution_id, stage, mode));
}

Status Engine::set_transition(const std::string& pipeline, const std::string& stage, bool enabled,
                              const std::string& reason, const std::string& changed_by) {
  auto loaded = load(pipeline);
  if (!loaded.ok()) return loaded.status();
  auto result = (*loaded)->machine->set_transition(stage, enabled);
  return apply_api(pipeline, std::move(result), [&](store::StoreWriter& w) {
    model::TransitionRecord t;
    t.pipeline_name = pipeline;
    t.stage_name = stage;
    t.enabled = enabled;
    t.disabled_reason = enabled ? "" : reason;
    t.last_changed_by = changed_by;
    t.last_changed_ms = options_.now_ms();
    return w.set_transition(t);
  });
}

// ---- Stage conditions and rules (reference §7) ---------------------------------

namespace {

const model::Condition* condition_of(const model::StageDeclaration& s, model::ConditionType type) {
  const std::vector<model::Condition>* list = nullptr;
  if (type == model::ConditionType::kBeforeEntry && s.before_entry)
    list = &s.before_entry->conditions;
  if (type == model::ConditionType::kOnSuccess && s.on_success) list = &s.on_success->conditions;
  if (type == model::ConditionType::kOnFailure && s.on_failure && s.on_failure->conditions)
    list = &*s.on_failure->conditions;
  return list && !list->empty() ? &list->front() : nullptr;
}

// A VariableCheck rule (reference §7.2): Variable (already resolved),
// Operator EQ, NE, CONTAINS or MATCHES, Value.
std::pair<bool, std::string> variable_check(const model::StringMap& config) {
  auto get = [&](const char* k) {
    auto it = config.find(k);
    return it == config.end() ? std::string() : it->second;
  };
  std::string variable = get("Variable"), op = get("Operator"), value = get("Value");
  bool passed = false;
  if (op == "EQ") {
    passed = variable == value;
  } else if (op == "NE") {
    passed = variable != value;
  } else if (op == "CONTAINS") {
    passed = variable.find(value) != std::string::npos;
  } else if (op == "MATCHES") {
    try {
      passed = std::regex_search(variable, std::regex(value, std::regex::ECMAScript));
    } catch (const std::regex_error& e) {
      return {false, "Value " + quote(value) + " is not a regular expression: " + e.what()};
    }
  } else {
    return {false, "Operator " + quote(op) + " is not one of EQ, NE, CONTAINS, MATCHES"};
  }
  std::string verdict =
      quote(variable) + " " + op + " " + quote(value) + (passed ? " is true" : " is false");
  return {passed, verdict};
}

}  // namespace

Result<Effects> Engine::run_rules(store::StoreWriter& w, Evaluation& ev, AfterCommit& after) {
  Pipeline& p = pipelines_.at(ev.pipeline);
  model::PipelineExecutionRecord& exec = executions_.at(ev.execution_id);
  const model::PipelineDeclaration& decl = p.versions.at(exec.pipeline_version);
  const model::StageDeclaration& sd = decl.stages[ev.stage];
  const model::Condition* c = condition_of(sd, ev.condition);
  const std::vector<model::RuleDeclaration> none;
  const auto& rules = c && c->rules ? *c->rules : none;
  model::TimestampMs now = options_.now_ms();
  auto decide = [&](bool met, const std::string& summary) {
    const std::string id = ev.execution_id;
    const int stage = ev.stage;
    const model::ConditionType condition = ev.condition;
    evaluations_.erase(id);  // `ev` dies here
    return p.machine->condition_finished(id, stage, condition, met, summary);
  };
  while (ev.next_rule < rules.size()) {
    const model::RuleDeclaration& rule = rules[ev.next_rule];
    model::RuleExecutionRecord r;
    r.id = options_.new_id();
    r.execution_id = exec.id;
    r.pipeline_name = ev.pipeline;
    r.stage_name = sd.name;
    r.condition_type = ev.condition;
    r.stage_attempt = ev.attempt;
    r.rule_name = rule.name;
    r.rule_type_id = rule.rule_type_id;
    r.started_ms = r.updated_ms = now;
    // Variables resolve as for an action of this stage.
    auto seen = visible_for(w, decl, exec);
    if (!seen.ok()) return seen.status();
    std::string unresolved;
    auto resolve = [&](std::string& text, const std::string& where) {
      if (!unresolved.empty()) return;
      auto resolved = resolve_variables(text, **seen);
      if (resolved.ok()) {
        text = std::move(*resolved);
      } else {
        unresolved = where + ": " + resolved.status().message();
      }
    };
    model::RuleDeclaration resolved_rule = rule;
    if (resolved_rule.configuration)
      for (auto& [k, v] : *resolved_rule.configuration) resolve(v, "configuration " + k);
    if (resolved_rule.commands)
      for (auto& cmd : *resolved_rule.commands) resolve(cmd, "command");
    r.resolved_configuration = resolved_rule.configuration.value_or(model::StringMap{});
    const std::string& provider = rule.rule_type_id.provider;
    std::optional<std::pair<bool, std::string>> verdict;
    if (!unresolved.empty()) {
      verdict = {false, unresolved};
      r.error_code = "ConfigurationError";
    } else if (provider == "VariableCheck") {
      verdict = variable_check(r.resolved_configuration);
    } else if (provider != "Commands") {
      verdict = {false, "rule type " + provider +
                            " cannot be evaluated by Stageline (it evaluates VariableCheck and "
                            "Commands rules)"};
      r.error_code = "ConfigurationError";
    }
    if (verdict) {
      r.status = verdict->first ? model::RuleExecutionStatus::kSucceeded
                                : model::RuleExecutionStatus::kFailed;
      r.summary = verdict->second;
      if (!verdict->first) r.error_message = verdict->second;
      if (Status s = w.insert_rule_execution(r); !s.ok()) return s;
      after.changed.push_back(r);
      if (!verdict->first)
        return decide(false, "Rule " + rule.name + " failed: " + verdict->second);
      ++ev.next_rule;
      continue;
    }
    // A Commands rule runs like a Commands action, on the in-process runner.
    if (Status s = w.insert_rule_execution(r); !s.ok()) return s;
    after.changed.push_back(r);
    ActionStart start;
    start.pipeline_name = ev.pipeline;
    start.execution_id = exec.id;
    start.action_execution_id = r.id;
    start.stage_name = sd.name;
    start.attempt = ev.attempt;
    start.rule = true;
    start.action.name = rule.name;
    start.action.action_type_id = {model::ActionCategory::kCompute, model::ActionOwner::kAws,
                                   "Commands", "1"};
    start.action.commands = resolved_rule.commands;
    start.action.configuration = resolved_rule.configuration;
    start.action.input_artifacts = rule.input_artifacts;
    start.timeout = std::chrono::minutes(rule.timeout_in_minutes.value_or(55));
    if (decl.artifact_store) {
      start.artifact_bucket = decl.artifact_store->location;
      if (decl.artifact_store->encryption_key)
        start.artifact_encryption_key = decl.artifact_store->encryption_key->id;
    }
    if (rule.input_artifacts) {
      for (const auto& in : *rule.input_artifacts) {
        auto artifact = artifact_for(w, exec, in.name);
        if (!artifact.ok()) {
          if (artifact.status().code() != StatusCode::kNotFound) return artifact.status();
          r.status = model::RuleExecutionStatus::kFailed;
          r.error_code = "ConfigurationError";
          r.summary = r.error_message =
              "input artifact '" + in.name + "' does not exist in this execution";
          if (Status s = w.update_rule_execution(r); !s.ok()) return s;
          after.changed.push_back(r);
          return decide(false, "Rule " + rule.name + " failed: " + r.summary);
        }
        start.inputs.emplace_back(in.name, artifact->location);
      }
    }
    ev.rule_in_flight = r.id;
    rules_in_flight_[r.id] = exec.id;
    after.starts.push_back(std::move(start));
    return Effects{};
  }
  return decide(true, rules.size() == 1 ? "The rule succeeded" : "All rules succeeded");
}

Status Engine::rule_finished(const std::string& rule_execution_id, const ActionOutcome& outcome) {
  std::string execution_id = rules_in_flight_.at(rule_execution_id);
  rules_in_flight_.erase(rule_execution_id);
  auto it = evaluations_.find(execution_id);
  if (it == evaluations_.end() || it->second.rule_in_flight != rule_execution_id)
    return Status();  // abandoned meanwhile
  Evaluation& ev = it->second;
  ev.rule_in_flight.clear();
  std::string pipeline = ev.pipeline;
  AfterCommit after;
  Status committed = store_.write([&](store::StoreWriter& w) -> Status {
    auto r = w.get_rule_execution(rule_execution_id);
    if (!r.ok()) return r.status();
    r->status = outcome.succeeded ? model::RuleExecutionStatus::kSucceeded
                                  : model::RuleExecutionStatus::kFailed;
    r->summary = outcome.succeeded
                     ? "The commands succeeded"
                     : (outcome.summary.empty() ? outcome.error_message : outcome.summary);
    r->error_code = outcome.succeeded ? "" : outcome.error_code;
    r->error_message = outcome.error_message;
    r->updated_ms = options_.now_ms();
    if (Status s = w.update_rule_execution(*r); !s.ok()) return s;
    after.changed.push_back(*r);
    Effects effects;
    if (outcome.succeeded) {
      ++ev.next_rule;
      auto decided = run_rules(w, ev, after);
      if (!decided.ok()) return decided.status();
      effects = std::move(*decided);
    } else {
      int stage = ev.stage;
      model::ConditionType condition = ev.condition;
      evaluations_.erase(it);
      effects = pipelines_.at(pipeline).machine->condition_finished(
          execution_id, stage, condition, false, "Rule " + r->rule_name + " failed: " + r->summary);
    }
    return commit(w, pipeline, std::move(effects), after);
  });
  if (!committed.ok())
    return committed.with_context("record result of rule execution " + rule_execution_id);
  dispatch(after);
  return Status();
}

Status Engine::end_evaluation(store::StoreWriter& w, const std::string& execution_id,
                              model::RuleExecutionStatus status) {
  auto it = evaluations_.find(execution_id);
  if (it == evaluations_.end()) return Status();
  std::string running = it->second.rule_in_flight;
  evaluations_.erase(it);
  if (running.empty()) return Status();
  rules_in_flight_.erase(running);
  auto r = w.get_rule_execution(running);
  if (!r.ok()) return r.status();
  r->status = status;
  r->summary = "Abandoned: the execution was stopped or cancelled";
  r->updated_ms = options_.now_ms();
  return w.update_rule_execution(*r);
}

// ---- Rollback (reference §6.3) ---------------------------------------------------

Result<std::optional<model::PipelineExecutionRecord>> Engine::rollback_target(
    store::StoreReader& reader, const std::string& pipeline, const std::string& stage,
    const std::string& exclude) {
  int current = pipelines_.at(pipeline).machine->declaration().version.value_or(1);
  std::string after_key;
  for (int scanned = 0; scanned < 1000;) {
    auto page = reader.list_pipeline_executions(pipeline, 100, after_key);
    if (!page.ok()) return page.status();
    for (const auto& e : page->items) {
      ++scanned;
      if (e.id == exclude || e.pipeline_version != current ||
          e.execution_type == model::ExecutionType::kRollback)
        continue;
      auto stages = reader.list_stage_executions(e.id);
      if (!stages.ok()) return stages.status();
      for (const auto& st : *stages)
        if (st.stage_name == stage && st.status == model::StageExecutionStatus::kSucceeded)
          return std::optional<model::PipelineExecutionRecord>(e);
    }
    if (page->next_key.empty()) break;
    after_key = page->next_key;
  }
  return std::optional<model::PipelineExecutionRecord>();
}

Result<std::string> Engine::create_rollback(store::StoreWriter& w, const std::string& pipeline,
                                            const std::string& stage,
                                            const model::PipelineExecutionRecord& target,
                                            model::TriggerType trigger, const std::string& by,
                                            Effects& effects) {
  Pipeline& p = pipelines_.at(pipeline);
  model::PipelineExecutionRecord exec;
  exec.id = options_.new_id();
  auto started = p.machine->start_rollback(exec.id, stage);
  if (auto* failure = std::get_if<MachineFailure>(&started)) return api(*failure);
  const model::PipelineDeclaration& decl = p.machine->declaration();
  exec.pipeline_name = pipeline;
  exec.pipeline_version = decl.version.value_or(1);
  exec.execution_mode = decl.effective_mode();
  exec.execution_type = model::ExecutionType::kRollback;
  exec.trigger_type = trigger;
  exec.trigger_detail = by;
  exec.variables = target.variables;
  exec.source_revisions = target.source_revisions;
  exec.rollback_target_execution_id = target.id;
  exec.rollback_stage_name = stage;
  exec.created_ms = exec.updated_ms = options_.now_ms();
  executions_[exec.id] = exec;
  if (Status s = w.insert_pipeline_execution(exec); !s.ok()) return s;
  for (auto& e : std::get<Effects>(started)) effects.push_back(std::move(e));
  return exec.id;
}

Result<std::string> Engine::rollback_stage(const std::string& pipeline, const std::string& stage,
                                           const std::string& target_execution_id,
                                           const std::string& requested_by) {
  auto loaded = load(pipeline);
  if (!loaded.ok()) return loaded.status();
  const model::PipelineDeclaration& decl = (*loaded)->machine->declaration();
  const model::StageDeclaration* sd = nullptr;
  for (const auto& s : decl.stages)
    if (s.name == stage) sd = &s;
  if (sd == nullptr)
    return api("StageNotFoundException", "Stage " + stage + " does not exist in " + pipeline);
  for (const auto& a : sd->actions)
    if (a.action_type_id.category == model::ActionCategory::kSource)
      return api("UnableToRollbackStageException",
                 "Stage " + stage + " has source actions; a source stage cannot be rolled back");
  auto target = store_.get_pipeline_execution(target_execution_id);
  if (!target.ok() || target->pipeline_name != pipeline)
    return api("PipelineExecutionNotFoundException",
               "Pipeline execution " + target_execution_id + " does not exist in " + pipeline);
  if (target->execution_type == model::ExecutionType::kRollback)
    return api("UnableToRollbackStageException",
               "Pipeline execution " + target_execution_id +
                   " is a rollback execution; choose the execution it rolled back to");
  if (target->pipeline_version != decl.version.value_or(1))
    return api("PipelineExecutionOutdatedException",
               "Pipeline execution " + target_execution_id + " ran on pipeline version " +
                   std::to_string(target->pipeline_version) + "; the pipeline is at version " +
                   std::to_string(decl.version.value_or(1)));
  auto stages = store_.list_stage_executions(target_execution_id);
  if (!stages.ok()) return stages.status();
  bool succeeded = std::any_of(stages->begin(), stages->end(), [&](const auto& s) {
    return s.stage_name == stage && s.status == model::StageExecutionStatus::kSucceeded;
  });
  if (!succeeded)
    return api("UnableToRollbackStageException",
               "Pipeline execution " + target_execution_id + " did not succeed in stage " + stage);
  std::string id;
  AfterCommit after;
  Status committed = store_.write([&](store::StoreWriter& w) -> Status {
    Effects effects;
    auto created = create_rollback(w, pipeline, stage, *target, model::TriggerType::kManualRollback,
                                   requested_by, effects);
    if (!created.ok()) return created.status();
    id = *created;
    return commit(w, pipeline, std::move(effects), after);
  });
  if (!committed.ok()) {
    if (committed.message().find("Exception: ") != std::string::npos) return committed;
    return committed.with_context("roll back stage " + stage + " of " + pipeline);
  }
  dispatch(after);
  return id;
}

Status Engine::override_condition(const std::string& pipeline, const std::string& stage,
                                  const std::string& execution_id, model::ConditionType condition) {
  auto loaded = load(pipeline);
  if (!loaded.ok()) return loaded.status();
  Pipeline& p = **loaded;
  if (Status s = ensure_known(p, pipeline, execution_id); !s.ok()) return s;
  return apply_api(pipeline, p.machine->override_condition(execution_id, stage, condition));
}

Status Engine::ensure_known(Pipeline& p, const std::string& pipeline,
                            const std::string& execution_id) {
  if (p.machine->execution(execution_id) != nullptr) return Status();
  // An execution that ended before a restart: put it back so it can go on.
  auto exec = store_.get_pipeline_execution(execution_id);
  if (!exec.ok() || exec->pipeline_name != pipeline)
    return api("PipelineExecutionNotFoundException",
               "Pipeline execution " + execution_id + " does not exist in pipeline " + pipeline);
  if (!p.versions.count(exec->pipeline_version)) {
    auto old = store_.get_pipeline_version(pipeline, exec->pipeline_version);
    if (!old.ok()) return old.status();
    p.versions[exec->pipeline_version] = old->declaration;
    p.machine->add_version(old->declaration);
  }
  auto stages = store_.list_stage_executions(execution_id);
  if (!stages.ok()) return stages.status();
  auto actions = store_.list_action_executions(execution_id);
  if (!actions.ok()) return actions.status();
  auto conditions = store_.list_condition_executions(execution_id);
  if (!conditions.ok()) return conditions.status();
  // Which execution entered each stage last: only that one may retry it.
  const auto& decl = p.machine->declaration();
  std::vector<bool> found(decl.stages.size(), false);
  auto newest = store_.list_pipeline_executions(pipeline, 50, "");
  if (!newest.ok()) return newest.status();
  for (const auto& other : newest->items) {
    auto other_stages = store_.list_stage_executions(other.id);
    if (!other_stages.ok()) return other_stages.status();
    for (size_t i = 0; i < decl.stages.size(); ++i) {
      if (found[i]) continue;
      for (const auto& s : *other_stages)
        if (s.stage_name == decl.stages[i].name) {
          found[i] = true;
          p.machine->set_latest_in_stage(static_cast<int>(i), other.id);
        }
    }
  }
  executions_[execution_id] = *exec;
  p.machine->restore_ended(
      rebuild_state(*exec, p.versions.at(exec->pipeline_version), *stages, *actions, *conditions));
  return Status();
}

}  // namespace stageline::engine
