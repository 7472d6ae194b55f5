#include "engine/engine.h"

#include <algorithm>

#include "engine/timeouts.h"
#include "engine/variables.h"

namespace stageline::engine {

using model::ActionExecutionStatus;
using model::PipelineExecutionStatus;

Engine::Engine(store::Store& store, ActionRunner& runner, Options options)
    : store_(store), runner_(runner), options_(std::move(options)) {}

const ExecutionState* Engine::execution(const std::string& pipeline, const std::string& id) const {
  auto it = pipelines_.find(pipeline);
  return it == pipelines_.end() ? nullptr : it->second.machine->execution(id);
}

Result<Engine::Pipeline*> Engine::load(const std::string& name) {
  auto record = store_.get_pipeline(name);
  if (!record.ok()) return record.status();
  const auto& decl = record->declaration;
  int version = decl.version.value_or(1);
  auto it = pipelines_.find(name);
  if (it == pipelines_.end()) {
    Pipeline p;
    p.machine = std::make_unique<PipelineMachine>(decl);
    p.versions[version] = decl;
    it = pipelines_.emplace(name, std::move(p)).first;
  } else if (!it->second.versions.count(version)) {
    // Updated since: the machine cancels what §5.6 says; those effects are
    // applied by the caller that changed the pipeline (UpdatePipeline).
    it->second.versions[version] = decl;
    Effects effects = it->second.machine->update(decl);
    if (Status s = apply(name, std::move(effects)); !s.ok()) return s;
  }
  return &it->second;
}

Result<std::string> Engine::start_execution(
    const std::string& pipeline_name,
    const std::vector<std::pair<std::string, std::string>>& variables, model::TriggerType trigger,
    const std::string& trigger_detail, const std::string& client_request_token) {
  if (!client_request_token.empty()) {
    auto earlier = store_.find_pipeline_execution_by_token(pipeline_name, client_request_token);
    if (!earlier.ok()) return earlier.status().with_context("start pipeline " + pipeline_name);
    if (earlier->has_value()) return (*earlier)->id;
  }
  auto loaded = load(pipeline_name);
  if (!loaded.ok()) return loaded.status().with_context("start pipeline " + pipeline_name);
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

  exec.id = options_.new_id();
  exec.pipeline_name = pipeline_name;
  exec.pipeline_version = decl.version.value_or(1);
  exec.execution_mode = decl.effective_mode();
  exec.trigger_type = trigger;
  exec.trigger_detail = trigger_detail;
  exec.client_request_token = client_request_token;
  exec.created_ms = exec.updated_ms = options_.now_ms();
  auto started = p.machine->start(exec.id);
  if (auto* failure = std::get_if<MachineFailure>(&started))
    return Status(StatusCode::kFailedPrecondition,
                  std::string(to_string(failure->error)) + ": " + failure->message);
  Status inserted =
      store_.write([&](store::StoreWriter& w) { return w.insert_pipeline_execution(exec); });
  if (!inserted.ok()) return inserted.with_context("start pipeline " + pipeline_name);
  executions_[exec.id] = exec;
  if (Status s = apply(pipeline_name, std::get<Effects>(std::move(started))); !s.ok()) return s;
  return exec.id;
}

Result<ActionStart> Engine::prepare(store::StoreReader& reader, const std::string& pipeline,
                                    const model::PipelineDeclaration& decl,
                                    const model::PipelineExecutionRecord& exec, const Effect& e,
                                    std::string& failure) {
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
  } else if (decl.artifact_stores && !decl.artifact_stores->empty()) {
    start.artifact_bucket = decl.artifact_stores->begin()->second.location;
  }

  // What this action may see: reference §9.1.
  auto cached = visible_.find(exec.id);
  if (cached == visible_.end()) {
    VisibleVariables built;
    built["codepipeline"]["PipelineExecutionId"] = exec.id;
    for (const auto& v : exec.variables) built["variables"][v.name] = v.resolved_value;
    auto earlier = reader.list_action_executions(exec.id);
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
    cached = visible_.emplace(exec.id, std::move(built)).first;
  }
  const VisibleVariables& visible = cached->second;
  auto resolve = [&](std::string& text, const std::string& where) {
    if (!failure.empty()) return;
    auto r = resolve_variables(text, visible);
    if (r.ok()) {
      text = std::move(*r);
    } else {
      failure = where + ": " + r.status().message();
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
      auto artifact = reader.get_artifact(exec.id, in.name);
      if (artifact.ok()) {
        start.inputs.emplace_back(in.name, artifact->location);
        continue;
      }
      if (artifact.status().code() != StatusCode::kNotFound) return artifact.status();
      if (failure.empty()) {
        std::string producer;
        for (const auto& s : decl.stages)
          for (const auto& a : s.actions)
            if (a.output_artifacts)
              for (const auto& o : *a.output_artifacts)
                if (o.name == in.name)
                  producer = "action '" + a.name + "' in stage '" + s.name + "'";
        failure = "input artifact '" + in.name + "' does not exist in this execution" +
                  (producer.empty() ? std::string(": no action produces it")
                                    : ": " + producer + " should have produced it");
      }
    }
  }
  return start;
}

Status Engine::apply(const std::string& pipeline, Effects effects) {
  Pipeline& p = pipelines_.at(pipeline);
  std::vector<ActionStart> starts;
  std::vector<std::pair<std::string, std::string>> failed_now;  // action execution id, why
  std::vector<model::ActionExecutionRecord> changed;
  model::TimestampMs now = options_.now_ms();
  Status committed = store_.write([&](store::StoreWriter& w) -> Status {
    for (const Effect& e : effects) {
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
          break;
        }
        case Effect::Kind::kStageStatus: {
          model::StageExecutionRecord st{
              exec.id, decl.stages[e.stage].name, e.stage_status, e.attempt, now, now};
          if (Status s = w.upsert_stage_execution(st); !s.ok()) return s;
          break;
        }
        case Effect::Kind::kWaiting:
          break;  // derived: the execution's last stage record says where it is
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
            changed.push_back(*record);
            in_flight_.erase(it);
            break;
          }
          break;
        }
        case Effect::Kind::kStartAction: {
          std::string failure;
          auto start = prepare(w, pipeline, decl, exec, e, failure);
          if (!start.ok()) return start.status();
          start->action_execution_id = options_.new_id();
          model::ActionExecutionRecord r;
          r.id = start->action_execution_id;
          r.execution_id = exec.id;
          r.stage_name = start->stage_name;
          r.action_name = e.action;
          r.attempt = e.attempt;
          r.resolved_configuration = start->action.configuration.value_or(model::StringMap{});
          r.started_ms = r.updated_ms = now;
          if (!failure.empty()) {
            r.status = ActionExecutionStatus::kFailed;
            r.error_code = "ConfigurationError";
            r.error_message = failure;
            r.summary = failure;
          }
          if (Status s = w.insert_action_execution(r); !s.ok()) return s;
          changed.push_back(r);
          in_flight_[r.id] = {pipeline, exec.id, e.stage, e.action};
          if (failure.empty()) {
            starts.push_back(std::move(*start));
          } else {
            failed_now.emplace_back(r.id, failure);
          }
          break;
        }
      }
    }
    return Status();
  });
  if (!committed.ok()) return committed.with_context("commit state of pipeline " + pipeline);
  if (options_.on_action)
    for (const auto& r : changed) options_.on_action(r);
  for (const ActionStart& s : starts) runner_.start(s);
  for (const auto& [id, why] : failed_now) {
    InFlight f = in_flight_.at(id);
    in_flight_.erase(id);
    Effects next = p.machine->action_finished(f.execution_id, f.stage, f.action,
                                              ActionExecutionStatus::kFailed);
    if (Status s = apply(pipeline, std::move(next)); !s.ok()) return s;
  }
  return Status();
}

Result<std::vector<std::string>> Engine::recover() {
  auto active = store_.list_pipeline_executions_by_status(
      {PipelineExecutionStatus::kInProgress, PipelineExecutionStatus::kStopping});
  if (!active.ok()) return active.status().with_context("recover executions");
  std::vector<model::PipelineExecutionRecord> execs = std::move(*active);
  std::sort(execs.begin(), execs.end(), [](const auto& a, const auto& b) {
    return a.created_ms != b.created_ms ? a.created_ms < b.created_ms : a.id < b.id;
  });
  std::vector<std::string> resumed;
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

    ExecutionState state;
    state.id = exec.id;
    state.version = exec.pipeline_version;
    state.mode = exec.execution_mode;
    state.status = exec.status;
    state.stop_requested = exec.status == PipelineExecutionStatus::kStopping;
    for (size_t i = 0; i < decl.stages.size(); ++i) {
      StageState st;
      for (const auto& a : decl.stages[i].actions)
        st.actions.push_back({a.name, a.effective_run_order(), 0, {}});
      for (const auto& r : *stages)
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
        for (const auto& r : *actions)
          if (r.stage_name == decl.stages[i].name && r.action_name == a.name &&
              r.attempt >= a.attempt) {
            a.attempt = r.attempt;
            a.status = r.status;
          }
        if (i < state.stage) a.status = ActionExecutionStatus::kSucceeded;
      }
    }
    executions_[exec.id] = exec;
    p.machine->restore(std::move(state));
    resumed.push_back(exec.id);
  }
  // Close the attempts that died with the process, then let each execution go on.
  model::TimestampMs now = options_.now_ms();
  for (const auto& exec : execs) {
    auto actions = store_.list_action_executions(exec.id);
    if (!actions.ok()) return actions.status().with_context("recover execution " + exec.id);
    std::vector<model::ActionExecutionRecord> interrupted;
    Status closed = store_.write([&](store::StoreWriter& w) -> Status {
      for (auto r : *actions) {
        if (r.status != ActionExecutionStatus::kInProgress) continue;
        // A stop under way abandons what was running; otherwise the attempt
        // failed and runs again.
        bool stopping = exec.status == PipelineExecutionStatus::kStopping;
        r.status = stopping ? ActionExecutionStatus::kAbandoned : ActionExecutionStatus::kFailed;
        r.error_code = stopping ? "" : "JobFailed";
        r.summary = r.error_message =
            "interrupted: Stageline stopped while this attempt was running";
        r.updated_ms = now;
        if (Status s = w.update_action_execution(r); !s.ok()) return s;
        interrupted.push_back(r);
      }
      return Status();
    });
    if (!closed.ok()) return closed.with_context("recover execution " + exec.id);
    if (options_.on_action)
      for (const auto& r : interrupted) options_.on_action(r);
    Effects effects = pipelines_.at(exec.pipeline_name).machine->resume(exec.id);
    if (Status s = apply(exec.pipeline_name, std::move(effects)); !s.ok()) return s;
  }
  return resumed;
}

Status Engine::action_finished(const std::string& action_execution_id,
                               const ActionOutcome& outcome) {
  auto it = in_flight_.find(action_execution_id);
  if (it == in_flight_.end()) return Status();  // late, duplicated or abandoned
  InFlight f = it->second;
  in_flight_.erase(it);
  auto status =
      outcome.succeeded ? ActionExecutionStatus::kSucceeded : ActionExecutionStatus::kFailed;
  model::ActionExecutionRecord updated;
  Status recorded = store_.write([&](store::StoreWriter& w) -> Status {
    auto record = w.get_action_execution(action_execution_id);
    if (!record.ok()) return record.status();
    record->status = status;
    record->summary = outcome.summary;
    record->error_code =
        outcome.succeeded ? "" : (outcome.error_code.empty() ? "JobFailed" : outcome.error_code);
    record->error_message = outcome.error_message;
    record->output_variables = outcome.output_variables;
    record->updated_ms = options_.now_ms();
    if (Status s = w.update_action_execution(*record); !s.ok()) return s;
    updated = *record;
    for (const auto& a : outcome.artifacts)
      if (Status s = w.put_artifact(a); !s.ok()) return s;
    return Status();
  });
  if (!recorded.ok())
    return recorded.with_context("record result of action execution " + action_execution_id);
  if (options_.on_action) options_.on_action(updated);
  auto cached = visible_.find(f.execution_id);
  if (outcome.succeeded && cached != visible_.end()) {
    const auto& exec = executions_.at(f.execution_id);
    const auto& decl = pipelines_.at(f.pipeline).versions.at(exec.pipeline_version);
    for (const auto& a : decl.stages[f.stage].actions)
      if (a.name == f.action && a.namespace_)
        for (const auto& [k, v] : outcome.output_variables) cached->second[*a.namespace_][k] = v;
  }
  Effects effects =
      pipelines_.at(f.pipeline).machine->action_finished(f.execution_id, f.stage, f.action, status);
  return apply(f.pipeline, std::move(effects));
}

}  // namespace stageline::engine
