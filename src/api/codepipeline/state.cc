// GetPipelineState (docs/api.md): per stage, the latest execution that
// entered it, the executions waiting at its entry, its inbound transition,
// its actions' latest executions and its conditions' latest evaluations.
#include <algorithm>

#include "api/codepipeline/codepipeline_api.h"
#include "api/codepipeline/render.h"

namespace stageline::api {

namespace json = boost::json;

namespace {

// How many executions, newest first, are searched for the latest execution
// of each stage: a stage none of them entered shows no latestExecution.
constexpr int kExecutionsSearched = 200;

json::object stage_execution(const std::string& id, std::string_view status,
                             model::ExecutionType type) {
  return {{"pipelineExecutionId", id}, {"status", status}, {"type", model::to_string(type)}};
}

}  // namespace

CodePipelineApi::Out CodePipelineApi::get_pipeline_state(const In& in) {
  const std::string name = str(in, "name");
  auto record = pipeline(name);
  if (!record.ok()) return record.error();
  const model::PipelineDeclaration& decl = record->declaration;
  const size_t n = decl.stages.size();

  // The newest execution that has a record of each stage.
  struct Latest {
    model::PipelineExecutionRecord execution;
    model::StageExecutionRecord stage;
  };
  std::vector<std::optional<Latest>> latest(n);
  size_t found = 0;
  std::string key;
  int searched = 0;
  while (found < n && searched < kExecutionsSearched) {
    auto page = store_.list_pipeline_executions(name, 50, key);
    if (!page.ok()) return from_status(page.status());
    for (const auto& e : page->items) {
      ++searched;
      auto stages = store_.list_stage_executions(e.id);
      if (!stages.ok()) return from_status(stages.status());
      for (const auto& s : *stages)
        for (size_t i = 0; i < n; ++i)
          if (decl.stages[i].name == s.stage_name && !latest[i]) {
            latest[i] = Latest{e, s};
            ++found;
          }
    }
    key = page->next_key;
    if (key.empty()) break;
  }

  // Executions waiting at each stage's entry, oldest first (the engine's
  // view: the store keeps no waiting rows).
  std::vector<std::vector<model::PipelineExecutionRecord>> inbound(n);
  auto active =
      store_.list_pipeline_executions_by_status({model::PipelineExecutionStatus::kInProgress});
  if (!active.ok()) return from_status(active.status());
  for (const auto& e : *active) {
    if (e.pipeline_name != name) continue;
    const engine::ExecutionState* state = engine_.execution(name, e.id);
    if (state == nullptr || state->waiting_at < 0 || static_cast<size_t>(state->waiting_at) >= n)
      continue;
    inbound[static_cast<size_t>(state->waiting_at)].push_back(e);
  }

  auto transitions = store_.list_transitions(name);
  if (!transitions.ok()) return from_status(transitions.status());

  json::array stage_states;
  for (size_t i = 0; i < n; ++i) {
    const model::StageDeclaration& stage = decl.stages[i];
    json::object st{{"stageName", stage.name}};
    if (!inbound[i].empty()) {
      const auto& newest = inbound[i].back();
      st["inboundExecution"] = stage_execution(newest.id, "InProgress", newest.execution_type);
      json::array all;
      for (const auto& e : inbound[i])
        all.push_back(stage_execution(e.id, "InProgress", e.execution_type));
      st["inboundExecutions"] = std::move(all);
    }
    json::object transition{{"enabled", true}};
    for (const auto& t : *transitions)
      if (t.stage_name == stage.name) {
        transition["enabled"] = t.enabled;
        put_nonempty(transition, "lastChangedBy", t.last_changed_by);
        if (t.last_changed_ms > 0) transition["lastChangedAt"] = ts(t.last_changed_ms);
        if (!t.enabled) put_nonempty(transition, "disabledReason", t.disabled_reason, 300);
      }
    st["inboundTransitionState"] = std::move(transition);

    std::vector<model::ActionExecutionRecord> actions;
    std::vector<model::ConditionExecutionRecord> conditions;
    std::vector<model::RuleExecutionRecord> rules;
    if (latest[i]) {
      const std::string& id = latest[i]->execution.id;
      auto a = store_.list_action_executions(id);
      if (!a.ok()) return from_status(a.status());
      actions = std::move(*a);
      auto c = store_.list_condition_executions(id);
      if (!c.ok()) return from_status(c.status());
      conditions = std::move(*c);
      auto r = store_.list_rule_executions(id);
      if (!r.ok()) return from_status(r.status());
      rules = std::move(*r);
    }

    json::array action_states;
    for (const auto& action : stage.actions) {
      json::object as{{"actionName", action.name}};
      const model::ActionExecutionRecord* last = nullptr;
      for (const auto& r : actions)
        if (r.stage_name == stage.name && r.action_name == action.name) last = &r;
      if (last != nullptr) {
        json::object le{{"actionExecutionId", last->id},
                        {"status", model::to_string(last->status)},
                        {"lastStatusChange", ts(last->updated_ms)}};
        put_nonempty(le, "summary", last->summary, 2048);
        // A waiting approval's token; PARALLEL pipelines have none here, as
        // in AWS: ListActionExecutions' externalExecutionId holds it.
        if (last->status == model::ActionExecutionStatus::kInProgress &&
            decl.effective_mode() != model::ExecutionMode::kParallel)
          put_nonempty(le, "token", last->approval_token);
        put_nonempty(le, "lastUpdatedBy", last->updated_by);
        put_nonempty(le, "externalExecutionId", last->external_execution_id, 1500);
        put_nonempty(le, "externalExecutionUrl", last->external_execution_url, 2048);
        if (last->status == model::ActionExecutionStatus::kFailed)
          le["errorDetails"] = error_details(last->error_code, last->error_message);
        as["latestExecution"] = std::move(le);
        for (const auto& r : latest[i]->execution.source_revisions)
          if (r.action_name == action.name && !r.revision_id.empty())
            as["currentRevision"] = json::object{{"revisionId", clip(r.revision_id, 1500)},
                                                 {"revisionChangeId", clip(r.revision_id, 100)},
                                                 {"created", ts(last->updated_ms)}};
      }
      action_states.push_back(std::move(as));
    }
    st["actionStates"] = std::move(action_states);

    if (latest[i]) {
      const Latest& l = *latest[i];
      st["latestExecution"] = stage_execution(l.execution.id, model::to_string(l.stage.status),
                                              l.execution.execution_type);
      auto condition_state = [&](model::ConditionType type,
                                 const std::vector<model::Condition>* declared) {
        const model::ConditionExecutionRecord* c = nullptr;
        for (const auto& r : conditions)
          if (r.stage_name == stage.name && r.type == type &&
              (c == nullptr || r.stage_attempt >= c->stage_attempt))
            c = &r;
        if (c == nullptr) return;
        json::object latest_exec{{"status", model::to_string(c->status)}};
        put_nonempty(latest_exec, "summary", c->summary, 2048);
        json::object state{{"latestExecution", latest_exec}};
        json::array condition_states;
        if (declared)
          for (const auto& condition : *declared) {
            json::object cs;
            json::object ce{{"status", model::to_string(c->status)},
                            {"lastStatusChange", ts(c->updated_ms)}};
            put_nonempty(ce, "summary", c->summary, 2048);
            cs["latestExecution"] = std::move(ce);
            json::array rule_states;
            if (condition.rules)
              for (const auto& rule : *condition.rules) {
                json::object rs{{"ruleName", rule.name}};
                const model::RuleExecutionRecord* last = nullptr;
                for (const auto& r : rules)
                  if (r.stage_name == stage.name && r.condition_type == type &&
                      r.stage_attempt == c->stage_attempt && r.rule_name == rule.name)
                    last = &r;
                if (last != nullptr) {
                  json::object re{{"ruleExecutionId", last->id},
                                  {"status", model::to_string(last->status)},
                                  {"lastStatusChange", ts(last->updated_ms)}};
                  put_nonempty(re, "summary", last->summary, 2048);
                  put_nonempty(re, "externalExecutionId", last->external_execution_id, 1500);
                  if (last->status == model::RuleExecutionStatus::kFailed)
                    re["errorDetails"] = error_details(last->error_code, last->error_message);
                  rs["latestExecution"] = std::move(re);
                }
                rule_states.push_back(std::move(rs));
              }
            cs["ruleStates"] = std::move(rule_states);
            condition_states.push_back(std::move(cs));
          }
        state["conditionStates"] = std::move(condition_states);
        const char* member = type == model::ConditionType::kBeforeEntry
                                 ? "beforeEntryConditionState"
                             : type == model::ConditionType::kOnSuccess ? "onSuccessConditionState"
                                                                        : "onFailureConditionState";
        st[member] = std::move(state);
      };
      condition_state(model::ConditionType::kBeforeEntry,
                      stage.before_entry ? &stage.before_entry->conditions : nullptr);
      condition_state(model::ConditionType::kOnSuccess,
                      stage.on_success ? &stage.on_success->conditions : nullptr);
      condition_state(model::ConditionType::kOnFailure,
                      stage.on_failure && stage.on_failure->conditions
                          ? &*stage.on_failure->conditions
                          : nullptr);
    }
    stage_states.push_back(std::move(st));
  }
  return json::value(json::object{{"pipelineName", name},
                                  {"pipelineVersion", decl.version.value_or(1)},
                                  {"stageStates", std::move(stage_states)},
                                  {"created", ts(record->created_ms)},
                                  {"updated", ts(record->updated_ms)}});
}

}  // namespace stageline::api
