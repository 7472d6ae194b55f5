// The execution operations: start, get, list, stop, retry, rollback,
// override, transitions, and the action and rule execution listings
// (docs/api.md). Every change goes through the engine.
#include <algorithm>
#include <set>

#include "api/codepipeline/codepipeline_api.h"
#include "api/codepipeline/render.h"

namespace stageline::api {

namespace json = boost::json;

namespace {

json::object trigger_of(const model::PipelineExecutionRecord& e) {
  json::object t{{"triggerType", model::to_string(e.trigger_type)}};
  t["triggerDetail"] = clip(e.trigger_detail, 1024);
  return t;
}

void put_rollback(json::object& out, const model::PipelineExecutionRecord& e) {
  if (e.execution_type == model::ExecutionType::kRollback &&
      !e.rollback_target_execution_id.empty())
    out["rollbackMetadata"] =
        json::object{{"rollbackTargetPipelineExecutionId", e.rollback_target_execution_id}};
}

// Source revisions that an action has fetched (not the requested overrides,
// which have only a type and a value until the action runs).
bool fetched(const model::SourceRevision& r) {
  return !r.revision_id.empty() && !r.action_name.empty();
}

}  // namespace

CodePipelineApi::Out CodePipelineApi::start_pipeline_execution(const In& in, const Caller& caller) {
  const std::string name = str(in, "name");
  std::vector<std::pair<std::string, std::string>> variables;
  if (const json::value* v = in.if_contains("variables"); v && v->is_array())
    for (const auto& item : v->as_array())
      if (item.is_object())
        variables.emplace_back(str(item.as_object(), "name"), str(item.as_object(), "value"));
  std::vector<engine::SourceRevisionOverride> revisions;
  if (const json::value* v = in.if_contains("sourceRevisions"); v && v->is_array())
    for (const auto& item : v->as_array())
      if (item.is_object()) {
        const auto& o = item.as_object();
        revisions.push_back(
            {str(o, "actionName"), str(o, "revisionType"), str(o, "revisionValue")});
      }
  auto id = engine_.start_execution(name, variables, model::TriggerType::kStartPipelineExecution,
                                    caller.principal, str(in, "clientRequestToken"), revisions);
  if (!id.ok()) return from_status(id.status());
  return json::value(json::object{{"pipelineExecutionId", *id}});
}

CodePipelineApi::Out CodePipelineApi::get_pipeline_execution(const In& in) {
  const std::string name = str(in, "pipelineName");
  auto p = pipeline(name);
  if (!p.ok()) return p.error();
  auto e = execution(name, str(in, "pipelineExecutionId"));
  if (!e.ok()) return e.error();
  json::object out{{"pipelineName", e->pipeline_name},
                   {"pipelineVersion", e->pipeline_version},
                   {"pipelineExecutionId", e->id},
                   {"status", model::to_string(e->status)}};
  put_nonempty(out, "statusSummary", e->status_summary);
  // artifactRevisions: one per source action's output artifact, with the
  // revision that action fetched.
  json::array revisions;
  const model::PipelineDeclaration* decl = declaration(name, e->pipeline_version);
  for (const auto& r : e->source_revisions) {
    if (!fetched(r)) continue;
    std::string artifact = r.action_name;
    if (decl != nullptr)
      for (const auto& s : decl->stages)
        for (const auto& a : s.actions)
          if (a.name == r.action_name && a.output_artifacts && !a.output_artifacts->empty())
            artifact = a.output_artifacts->front().name;
    json::object rev{{"name", artifact}, {"revisionId", clip(r.revision_id, 1500)}};
    put_nonempty(rev, "revisionChangeIdentifier", r.revision_id, 100);
    put_nonempty(rev, "revisionSummary", r.revision_summary, 2048);
    put_nonempty(rev, "revisionUrl", r.revision_url, 2048);
    revisions.push_back(std::move(rev));
  }
  out["artifactRevisions"] = std::move(revisions);
  json::array variables;
  for (const auto& v : e->variables)
    variables.push_back(json::object{{"name", v.name}, {"resolvedValue", v.resolved_value}});
  if (!variables.empty()) out["variables"] = std::move(variables);
  out["trigger"] = trigger_of(*e);
  out["executionMode"] = model::to_string(e->execution_mode);
  out["executionType"] = model::to_string(e->execution_type);
  put_rollback(out, *e);
  return json::value(json::object{{"pipelineExecution", std::move(out)}});
}

CodePipelineApi::Out CodePipelineApi::list_pipeline_executions(const wire::Operation& op,
                                                               const In& in) {
  const std::string name = str(in, "pipelineName");
  auto p = pipeline(name);
  if (!p.ok()) return p.error();
  const int limit = static_cast<int>(wire::page_size(op, in, "maxResults", 100));
  std::string stage_filter;
  if (const json::object* f = obj(in, "filter"))
    if (const json::object* s = obj(*f, "succeededInStage")) stage_filter = str(*s, "stageName");
  std::string key;
  if (auto token = opt_str(in, "nextToken")) {
    auto position = tokens_.redeem(op.name, name + "\n" + stage_filter, *token);
    if (!position.ok()) return position.error();
    if (!position->is_string()) return error("InvalidNextTokenException", "Invalid token");
    key = std::string(position->as_string());
  }
  // With a filter, each store page asks only for as many as are still
  // missing, so the page never holds more than `limit` and its key resumes
  // exactly after the last execution looked at.
  json::array summaries;
  do {
    auto page =
        store_.list_pipeline_executions(name, limit - static_cast<int>(summaries.size()), key);
    if (!page.ok()) return from_status(page.status());
    key = page->next_key;
    for (const auto& e : page->items) {
      if (!stage_filter.empty()) {
        auto stages = store_.list_stage_executions(e.id);
        if (!stages.ok()) return from_status(stages.status());
        bool ok = std::any_of(stages->begin(), stages->end(), [&](const auto& s) {
          return s.stage_name == stage_filter &&
                 s.status == model::StageExecutionStatus::kSucceeded;
        });
        if (!ok) continue;
      }
      json::object s{{"pipelineExecutionId", e.id},
                     {"status", model::to_string(e.status)},
                     {"startTime", ts(e.created_ms)},
                     {"lastUpdateTime", ts(e.updated_ms)}};
      put_nonempty(s, "statusSummary", e.status_summary);
      json::array revisions;
      for (const auto& r : e.source_revisions) {
        if (!fetched(r)) continue;
        json::object rev{{"actionName", r.action_name}, {"revisionId", clip(r.revision_id, 1500)}};
        put_nonempty(rev, "revisionSummary", r.revision_summary, 2048);
        put_nonempty(rev, "revisionUrl", r.revision_url, 2048);
        revisions.push_back(std::move(rev));
      }
      s["sourceRevisions"] = std::move(revisions);
      s["trigger"] = trigger_of(e);
      if (!e.stop_reason.empty() || e.status == model::PipelineExecutionStatus::kStopped ||
          e.status == model::PipelineExecutionStatus::kStopping) {
        json::object stop;
        put_nonempty(stop, "reason", e.stop_reason, 200);
        s["stopTrigger"] = std::move(stop);
      }
      s["executionMode"] = model::to_string(e.execution_mode);
      s["executionType"] = model::to_string(e.execution_type);
      put_rollback(s, e);
      summaries.push_back(std::move(s));
    }
  } while (!stage_filter.empty() && !key.empty() && static_cast<int>(summaries.size()) < limit);
  json::object out{{"pipelineExecutionSummaries", std::move(summaries)}};
  if (!key.empty())
    out["nextToken"] = tokens_.issue(op.name, name + "\n" + stage_filter, json::value(key));
  return json::value(std::move(out));
}

CodePipelineApi::Out CodePipelineApi::stop_pipeline_execution(const In& in) {
  const std::string name = str(in, "pipelineName");
  const std::string id = str(in, "pipelineExecutionId");
  auto p = pipeline(name);
  if (!p.ok()) return p.error();
  auto e = execution(name, id);
  if (!e.ok()) return e.error();
  const json::value* abandon = in.if_contains("abandon");
  Status s = engine_.stop_execution(name, id, abandon && abandon->is_bool() && abandon->as_bool(),
                                    str(in, "reason"));
  if (!s.ok()) return from_status(s);
  return json::value(json::object{{"pipelineExecutionId", id}});
}

CodePipelineApi::Out CodePipelineApi::retry_stage_execution(const In& in) {
  const std::string name = str(in, "pipelineName");
  const std::string id = str(in, "pipelineExecutionId");
  auto p = pipeline(name);
  if (!p.ok()) return p.error();
  auto mode = model::parse_enum<model::StageRetryMode>(str(in, "retryMode"));
  STAGELINE_CHECK(mode.has_value());  // the wire layer checked the enum
  Status s = engine_.retry_stage(name, str(in, "stageName"), id, *mode);
  if (!s.ok()) return from_status(s);
  return json::value(json::object{{"pipelineExecutionId", id}});
}

CodePipelineApi::Out CodePipelineApi::rollback_stage(const In& in, const Caller& caller) {
  const std::string name = str(in, "pipelineName");
  auto p = pipeline(name);
  if (!p.ok()) return p.error();
  auto id = engine_.rollback_stage(name, str(in, "stageName"), str(in, "targetPipelineExecutionId"),
                                   caller.principal);
  if (!id.ok()) return from_status(id.status());
  return json::value(json::object{{"pipelineExecutionId", *id}});
}

CodePipelineApi::Out CodePipelineApi::override_stage_condition(const In& in) {
  const std::string name = str(in, "pipelineName");
  auto p = pipeline(name);
  if (!p.ok()) return p.error();
  auto type = model::parse_enum<model::ConditionType>(str(in, "conditionType"));
  STAGELINE_CHECK(type.has_value());
  Status s =
      engine_.override_condition(name, str(in, "stageName"), str(in, "pipelineExecutionId"), *type);
  if (!s.ok()) return from_status(s);
  return json::value(json::object());
}

CodePipelineApi::Out CodePipelineApi::set_stage_transition(const In& in, bool enabled,
                                                           const Caller& caller) {
  const std::string name = str(in, "pipelineName");
  auto p = pipeline(name);
  if (!p.ok()) return p.error();
  std::string stage = str(in, "stageName");
  const auto& stages = p->declaration.stages;
  auto it =
      std::find_if(stages.begin(), stages.end(), [&](const auto& s) { return s.name == stage; });
  if (it == stages.end())
    return error("StageNotFoundException",
                 "Stage '" + stage + "' was not found in pipeline '" + name + "'");
  // Outbound: the engine has inbound transitions only; an outbound
  // transition of stage N is the inbound one of stage N+1 (reference §5.5).
  if (str(in, "transitionType") == "Outbound") {
    if (it + 1 == stages.end())
      return error("ValidationException", "Stage '" + stage + "' is the last stage of pipeline '" +
                                              name + "': it has no outbound transition");
    stage = (it + 1)->name;
  }
  Status s = engine_.set_transition(name, stage, enabled, enabled ? "" : str(in, "reason"),
                                    caller.principal);
  if (!s.ok()) return from_status(s);
  return json::value(json::object());
}

// ---- PutApprovalResult (reference §10) -------------------------------------------

CodePipelineApi::Out CodePipelineApi::put_approval_result(const In& in, const Caller& caller) {
  const std::string name = str(in, "pipelineName");
  auto p = pipeline(name);
  if (!p.ok()) return p.error();
  const std::string stage = str(in, "stageName"), action = str(in, "actionName");
  const auto& stages = p->declaration.stages;
  auto s =
      std::find_if(stages.begin(), stages.end(), [&](const auto& x) { return x.name == stage; });
  if (s == stages.end())
    return error("StageNotFoundException",
                 "Stage '" + stage + "' was not found in pipeline '" + name + "'");
  auto a = std::find_if(s->actions.begin(), s->actions.end(),
                        [&](const auto& x) { return x.name == action; });
  if (a == s->actions.end())
    return error("ActionNotFoundException", "Action '" + action + "' was not found in stage '" +
                                                stage + "' of pipeline '" + name + "'");
  if (a->action_type_id.category != model::ActionCategory::kApproval)
    return error("InvalidApprovalTokenException",
                 "Action '" + action + "' in stage '" + stage + "' is not a manual approval");
  const json::object* result = obj(in, "result");
  STAGELINE_CHECK(result != nullptr);  // required; the wire layer checked it
  auto answered = engine_.put_approval_result(name, stage, action, str(in, "token"),
                                              str(*result, "status") == "Approved",
                                              str(*result, "summary"), caller.principal);
  if (!answered.ok()) return from_status(answered.status());
  return json::value(json::object{{"approvedAt", ts(*answered)}});
}

// ---- ListActionExecutions and ListRuleExecutions --------------------------------

namespace {

// An in-memory page of `items` after offset `from`; returns the next offset
// or -1 at the end.
template <typename T>
int64_t slice(std::vector<T>& items, int64_t from, int64_t limit) {
  if (from > static_cast<int64_t>(items.size())) from = static_cast<int64_t>(items.size());
  items.erase(items.begin(), items.begin() + from);
  if (static_cast<int64_t>(items.size()) <= limit) return -1;
  items.resize(static_cast<size_t>(limit));
  return from + limit;
}

json::object artifact_detail(const model::ArtifactRecord& a) {
  json::object d{{"name", a.name}};
  json::object loc;
  put_nonempty(loc, "bucket", a.location.bucket);
  put_nonempty(loc, "key", a.location.key, 100);
  d["s3location"] = std::move(loc);
  return d;
}

}  // namespace

wire::Outcome<CodePipelineApi::ExecutionListing> CodePipelineApi::execution_listing(
    const wire::Operation& op, const In& in) {
  ExecutionListing l;
  l.name = str(in, "pipelineName");
  auto p = pipeline(l.name);
  if (!p.ok()) return p.error();
  l.limit = wire::page_size(op, in, "maxResults", 100);
  if (const json::object* f = obj(in, "filter")) {
    l.execution_filter = str(*f, "pipelineExecutionId");
    if (const json::object* latest = obj(*f, "latestInPipelineExecution")) {
      l.execution_filter = str(*latest, "pipelineExecutionId");
      l.latest_only = true;
    }
  }
  l.scope = l.name + "\n" + l.execution_filter + (l.latest_only ? "\nlatest" : "");
  if (auto token = opt_str(in, "nextToken")) {
    auto redeemed = tokens_.redeem(op.name, l.scope, *token);
    if (!redeemed.ok()) return redeemed.error();
    l.position = *redeemed;
  }
  return l;
}

CodePipelineApi::Out CodePipelineApi::list_action_executions(const wire::Operation& op,
                                                             const In& in) {
  auto listing = execution_listing(op, in);
  if (!listing.ok()) return listing.error();
  const auto& [name, limit, execution_filter, latest_only, scope, position] = *listing;
  std::vector<model::ActionExecutionRecord> records;
  json::value next;
  if (!execution_filter.empty()) {
    auto e = execution(name, execution_filter);
    if (!e.ok()) return e.error();
    auto all = store_.list_action_executions(execution_filter);
    if (!all.ok()) return from_status(all.status());
    records = std::move(*all);
    // Newest first, like the unfiltered listing.
    std::reverse(records.begin(), records.end());
    if (latest_only) {
      std::set<std::pair<std::string, std::string>> seen;
      std::erase_if(records, [&](const auto& r) {
        return !seen.insert({r.stage_name, r.action_name}).second;
      });
    }
    int64_t from = position.is_int64() ? position.as_int64() : 0;
    int64_t after = slice(records, from, limit);
    if (after >= 0) next = after;
  } else {
    std::string key = position.is_string() ? std::string(position.as_string()) : "";
    auto page = store_.list_action_executions_by_pipeline(name, static_cast<int>(limit), key);
    if (!page.ok()) return from_status(page.status());
    records = std::move(page->items);
    if (!page->next_key.empty()) next = page->next_key;
  }
  std::map<std::string, model::PipelineExecutionRecord> executions;
  json::array details;
  for (const auto& r : records) {
    auto it = executions.find(r.execution_id);
    if (it == executions.end()) {
      auto e = store_.get_pipeline_execution(r.execution_id);
      if (!e.ok()) return from_status(e.status());
      it = executions.emplace(r.execution_id, std::move(*e)).first;
    }
    const model::PipelineExecutionRecord& e = it->second;
    json::object d{{"pipelineExecutionId", r.execution_id}, {"actionExecutionId", r.id},
                   {"pipelineVersion", e.pipeline_version}, {"stageName", r.stage_name},
                   {"actionName", r.action_name},           {"startTime", ts(r.started_ms)},
                   {"lastUpdateTime", ts(r.updated_ms)},    {"status", model::to_string(r.status)}};
    put_nonempty(d, "updatedBy", r.updated_by);
    json::object input;
    json::object output;
    const model::ActionDeclaration* action = nullptr;
    if (const model::PipelineDeclaration* decl = declaration(name, e.pipeline_version))
      for (const auto& s : decl->stages)
        if (s.name == r.stage_name)
          for (const auto& a : s.actions)
            if (a.name == r.action_name) action = &a;
    if (action != nullptr) {
      input["actionTypeId"] = encode_action_type_id(action->action_type_id);
      if (action->configuration) {
        model::StringMap shown = *action->configuration;
        if (const auto* info = every_type_.find(action->action_type_id))
          for (const auto& k : info->secret_config)
            if (auto s = shown.find(k); s != shown.end()) s->second = "****";
        input["configuration"] = encode_string_map(shown);
      }
    }
    // Secrets are hidden everywhere but in a job's data (reference §11.1),
    // resolved values too.
    model::StringMap resolved = r.resolved_configuration;
    if (action != nullptr)
      if (const auto* info = every_type_.find(action->action_type_id))
        for (const auto& k : info->secret_config)
          if (auto s = resolved.find(k); s != resolved.end()) s->second = "****";
    input["resolvedConfiguration"] = encode_string_map(resolved);
    if (action != nullptr) {
      if (action->role_arn) input["roleArn"] = *action->role_arn;
      input["region"] = action->region.value_or(options_.region);
      json::array ins;
      if (action->input_artifacts)
        for (const auto& a : *action->input_artifacts) {
          auto art = store_.get_artifact(r.execution_id, a.name);
          if (!art.ok() && !e.rollback_target_execution_id.empty())
            art = store_.get_artifact(e.rollback_target_execution_id, a.name);
          if (art.ok())
            ins.push_back(artifact_detail(*art));
          else
            ins.push_back(json::object{{"name", a.name}});
        }
      input["inputArtifacts"] = std::move(ins);
      if (action->namespace_) input["namespace"] = *action->namespace_;
      json::array outs;
      if (action->output_artifacts && r.status == model::ActionExecutionStatus::kSucceeded)
        for (const auto& a : *action->output_artifacts) {
          auto art = store_.get_artifact(r.execution_id, a.name);
          if (art.ok() && art->produced_by_action == r.action_name)
            outs.push_back(artifact_detail(*art));
        }
      output["outputArtifacts"] = std::move(outs);
    }
    json::object result;
    put_nonempty(result, "externalExecutionId", r.external_execution_id);
    put_nonempty(result, "externalExecutionSummary", r.summary);
    put_nonempty(result, "externalExecutionUrl", r.external_execution_url, 2048);
    if (r.status == model::ActionExecutionStatus::kFailed)
      result["errorDetails"] = error_details(r.error_code, r.error_message);
    output["executionResult"] = std::move(result);
    if (!r.output_variables.empty()) {
      json::object vars;
      for (const auto& [k, v] : r.output_variables) vars[k] = v;
      output["outputVariables"] = std::move(vars);
    }
    d["input"] = std::move(input);
    d["output"] = std::move(output);
    details.push_back(std::move(d));
  }
  json::object out{{"actionExecutionDetails", std::move(details)}};
  if (!next.is_null()) out["nextToken"] = tokens_.issue(op.name, scope, next);
  return json::value(std::move(out));
}

CodePipelineApi::Out CodePipelineApi::list_rule_executions(const wire::Operation& op,
                                                           const In& in) {
  auto listing = execution_listing(op, in);
  if (!listing.ok()) return listing.error();
  const auto& [name, limit, execution_filter, latest_only, scope, position] = *listing;
  std::vector<model::RuleExecutionRecord> records;
  json::value next;
  if (!execution_filter.empty()) {
    auto e = execution(name, execution_filter);
    if (!e.ok()) return e.error();
    auto all = store_.list_rule_executions(execution_filter);
    if (!all.ok()) return from_status(all.status());
    records = std::move(*all);
    std::reverse(records.begin(), records.end());
    if (latest_only) {
      std::set<std::tuple<std::string, int, std::string>> seen;
      std::erase_if(records, [&](const auto& r) {
        return !seen.insert({r.stage_name, static_cast<int>(r.condition_type), r.rule_name}).second;
      });
    }
    int64_t from = position.is_int64() ? position.as_int64() : 0;
    int64_t after = slice(records, from, limit);
    if (after >= 0) next = after;
  } else {
    std::string key = position.is_string() ? std::string(position.as_string()) : "";
    auto page = store_.list_rule_executions_by_pipeline(name, static_cast<int>(limit), key);
    if (!page.ok()) return from_status(page.status());
    records = std::move(page->items);
    if (!page->next_key.empty()) next = page->next_key;
  }
  std::map<std::string, int> versions;
  json::array details;
  for (const auto& r : records) {
    auto it = versions.find(r.execution_id);
    if (it == versions.end()) {
      auto e = store_.get_pipeline_execution(r.execution_id);
      if (!e.ok()) return from_status(e.status());
      it = versions.emplace(r.execution_id, e->pipeline_version).first;
    }
    json::object d{{"pipelineExecutionId", r.execution_id},
                   {"ruleExecutionId", r.id},
                   {"pipelineVersion", it->second},
                   {"stageName", r.stage_name},
                   {"ruleName", r.rule_name},
                   {"startTime", ts(r.started_ms)},
                   {"lastUpdateTime", ts(r.updated_ms)},
                   {"status", model::to_string(r.status)}};
    json::object type{{"category", model::to_string(r.rule_type_id.category)},
                      {"provider", r.rule_type_id.provider}};
    if (r.rule_type_id.owner) type["owner"] = model::to_string(*r.rule_type_id.owner);
    if (r.rule_type_id.version) type["version"] = *r.rule_type_id.version;
    json::object input{{"ruleTypeId", std::move(type)}};
    // The declared rule: the condition of its type in its stage.
    const model::RuleDeclaration* rule = nullptr;
    if (const model::PipelineDeclaration* decl = declaration(name, it->second))
      for (const auto& s : decl->stages) {
        if (s.name != r.stage_name) continue;
        const std::vector<model::Condition>* conditions = nullptr;
        if (r.condition_type == model::ConditionType::kBeforeEntry && s.before_entry)
          conditions = &s.before_entry->conditions;
        if (r.condition_type == model::ConditionType::kOnSuccess && s.on_success)
          conditions = &s.on_success->conditions;
        if (r.condition_type == model::ConditionType::kOnFailure && s.on_failure &&
            s.on_failure->conditions)
          conditions = &*s.on_failure->conditions;
        if (conditions)
          for (const auto& c : *conditions)
            if (c.rules)
              for (const auto& rd : *c.rules)
                if (rd.name == r.rule_name) rule = &rd;
      }
    if (rule && rule->configuration)
      input["configuration"] = encode_string_map(*rule->configuration);
    input["resolvedConfiguration"] = encode_string_map(r.resolved_configuration);
    if (rule && rule->role_arn) input["roleArn"] = *rule->role_arn;
    input["region"] = rule && rule->region ? *rule->region : options_.region;
    if (rule && rule->input_artifacts) {
      json::array ins;
      for (const auto& a : *rule->input_artifacts) {
        auto art = store_.get_artifact(r.execution_id, a.name);
        if (art.ok())
          ins.push_back(artifact_detail(*art));
        else
          ins.push_back(json::object{{"name", a.name}});
      }
      input["inputArtifacts"] = std::move(ins);
    }
    json::object result;
    put_nonempty(result, "externalExecutionId", r.external_execution_id);
    put_nonempty(result, "externalExecutionSummary", r.summary);
    if (r.status == model::RuleExecutionStatus::kFailed)
      result["errorDetails"] = error_details(r.error_code, r.error_message);
    d["input"] = std::move(input);
    d["output"] = json::object{{"executionResult", std::move(result)}};
    details.push_back(std::move(d));
  }
  json::object out{{"ruleExecutionDetails", std::move(details)}};
  if (!next.is_null()) out["nextToken"] = tokens_.issue(op.name, scope, next);
  return json::value(std::move(out));
}

}  // namespace stageline::api
