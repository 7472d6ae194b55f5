// PutActionRevision and ListDeployActionExecutionTargets (docs/api.md).
#include <algorithm>
#include <boost/json/parse.hpp>

#include "api/codepipeline/codepipeline_api.h"
#include "api/codepipeline/render.h"

namespace stageline::api {

namespace json = boost::json;

namespace {

// The revision type StartPipelineExecution's sourceRevisions would give a
// revision of this source provider (reference §5.2), or "" when the engine
// cannot pin the provider to a revision.
std::string revision_type_of(const model::ActionTypeId& id) {
  if (id.owner == model::ActionOwner::kAws) {
    if (id.provider == "S3") return "S3_OBJECT_VERSION_ID";
    if (id.provider == "ECR") return "IMAGE_DIGEST";
    if (id.provider == "CodeCommit" || id.provider == "CodeStarSourceConnection")
      return "COMMIT_ID";
  }
  if (id.owner == model::ActionOwner::kThirdParty && id.provider == "GitHub") return "COMMIT_ID";
  return "";
}

}  // namespace

CodePipelineApi::Out CodePipelineApi::put_action_revision(const In& in, const Caller& caller) {
  const std::string name = str(in, "pipelineName");
  const std::string stage_name = str(in, "stageName");
  const std::string action_name = str(in, "actionName");
  const json::object* revision = obj(in, "actionRevision");
  STAGELINE_CHECK(revision != nullptr);  // required; the wire layer checked it
  const std::string revision_id = str(*revision, "revisionId");

  auto p = pipeline(name);
  if (!p.ok()) return p.error();
  const model::StageDeclaration* stage = nullptr;
  for (const auto& s : p->declaration.stages)
    if (s.name == stage_name) stage = &s;
  if (stage == nullptr)
    return error("StageNotFoundException",
                 "Stage '" + stage_name + "' does not exist in pipeline '" + name + "'");
  const model::ActionDeclaration* action = nullptr;
  for (const auto& a : stage->actions)
    if (a.name == action_name) action = &a;
  if (action == nullptr)
    return error("ActionNotFoundException", "Action '" + action_name +
                                                "' does not exist in stage '" + stage_name +
                                                "' of pipeline '" + name + "'");
  if (action->action_type_id.category != model::ActionCategory::kSource)
    return error("ValidationException", "Action '" + action_name +
                                            "' is not a source action: PutActionRevision "
                                            "gives a new revision to a source action");
  const std::string type = revision_type_of(action->action_type_id);
  if (type.empty())
    return error("ValidationException",
                 "Stageline cannot make the " + action->action_type_id.provider +
                     " source action '" + action_name +
                     "' fetch a given revision (only S3, ECR, CodeCommit, "
                     "CodeStarSourceConnection and GitHub sources can be pinned)");

  // A revision is new unless an execution of the pipeline already used it
  // for this action, or was started to use it (a requested revision is
  // recorded when the execution starts, so two calls in a row start one
  // execution).
  for (std::string after;;) {
    auto page = store_.list_pipeline_executions(name, 100, after);
    if (!page.ok()) return from_status(page.status());
    for (const auto& e : page->items)
      for (const auto& r : e.source_revisions)
        if (r.action_name == action_name && r.revision_id == revision_id)
          return json::value(json::object{{"newRevision", false}, {"pipelineExecutionId", e.id}});
    if (page->next_key.empty()) break;
    after = page->next_key;
  }
  auto id = engine_.start_execution(name, {}, model::TriggerType::kPutActionRevision,
                                    caller.principal, "", {{action_name, type, revision_id}});
  if (!id.ok()) return from_status(id.status());
  return json::value(json::object{{"newRevision", true}, {"pipelineExecutionId", *id}});
}

CodePipelineApi::Out CodePipelineApi::list_deploy_action_execution_targets(const In& in) {
  const std::string id = str(in, "actionExecutionId");
  const std::string name = str(in, "pipelineName");
  if (!name.empty()) {
    auto p = pipeline(name);
    if (!p.ok()) return p.error();
  }
  auto not_found = [&] {
    return error("ActionExecutionNotFoundException",
                 "Action execution '" + id + "' does not exist" +
                     (name.empty() ? std::string() : " in pipeline '" + name + "'"));
  };
  auto action = store_.get_action_execution(id);
  if (!action.ok()) {
    if (action.status().code() == StatusCode::kNotFound) return not_found();
    return from_status(action.status());
  }
  if (!name.empty()) {
    auto exec = store_.get_pipeline_execution(action->execution_id);
    if (!exec.ok()) return from_status(exec.status());
    if (exec->pipeline_name != name) return not_found();
  }

  // Only TARGET_STATUS filters exist (the model's enum); a target passes
  // when its status is one of each filter's values.
  std::vector<std::vector<std::string>> filters;
  if (const json::value* f = in.if_contains("filters"); f != nullptr && f->is_array())
    for (const auto& item : f->as_array()) {
      std::vector<std::string> values;
      if (const json::value* v = item.as_object().if_contains("values"); v && v->is_array())
        for (const auto& s : v->as_array())
          if (s.is_string()) values.emplace_back(s.as_string());
      filters.push_back(std::move(values));
    }
  int64_t limit = 100;
  if (const json::value* v = in.if_contains("maxResults"); v && v->is_int64())
    limit = v->as_int64();
  int64_t start = 0;
  if (auto token = opt_str(in, "nextToken")) {
    auto position = tokens_.redeem("ListDeployActionExecutionTargets", id, *token);
    if (!position.ok()) return position.error();
    if (!position->is_int64() || position->as_int64() < 0)
      return error("InvalidNextTokenException", "Invalid token");
    start = position->as_int64();
  }

  // Targets are recorded by deploy providers as a resource (kind
  // "deploy-targets", named after the action execution; docs/api.md); none
  // recorded means none.
  json::array targets;
  auto recorded = store_.get_resource("codepipeline", "deploy-targets", id);
  if (recorded.ok()) {
    boost::system::error_code ec;
    json::value doc = json::parse(recorded->document_json, ec);
    const json::value* list =
        !ec && doc.is_object() ? doc.as_object().if_contains("targets") : nullptr;
    if (list == nullptr || !list->is_array())
      return from_status(Status::internal("read the deploy targets of action execution " + id +
                                          ": the stored document has no targets array"));
    for (const auto& t : list->as_array()) {
      if (!t.is_object()) continue;
      const std::string status = str(t.as_object(), "status");
      bool pass = std::all_of(filters.begin(), filters.end(), [&](const auto& values) {
        return std::find(values.begin(), values.end(), status) != values.end();
      });
      if (pass) targets.push_back(t);
    }
  } else if (recorded.status().code() != StatusCode::kNotFound) {
    return from_status(recorded.status());
  }

  json::array page;
  for (int64_t i = start;
       i < static_cast<int64_t>(targets.size()) && static_cast<int64_t>(page.size()) < limit; ++i)
    page.push_back(targets[i]);
  json::object out{{"targets", std::move(page)}};
  const int64_t next = start + limit;
  if (next < static_cast<int64_t>(targets.size()))
    out["nextToken"] = tokens_.issue("ListDeployActionExecutionTargets", id, json::value(next));
  return json::value(std::move(out));
}

}  // namespace stageline::api
