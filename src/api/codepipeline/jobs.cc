// The job worker protocol (reference §11): PollForJobs, AcknowledgeJob,
// GetJobDetails, PutJobSuccessResult, PutJobFailureResult, their third-party
// variants (§11.3); and ListRuleTypes (docs/api.md). The action types are in
// action_types.cc.
#include <algorithm>

#include "api/codepipeline/codepipeline_api.h"
#include "api/codepipeline/render.h"
#include "model/pipeline_json.h"

namespace stageline::api {

namespace json = boost::json;

namespace {

// FNV-1a: a hash that is the same in every build, so a key computed before a
// restart is computed again after it.
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

json::object job_artifact(const std::string& name, const model::ArtifactLocation& loc) {
  return {{"name", name},
          {"location", json::object{{"type", "S3"},
                                    {"s3Location", json::object{{"bucketName", loc.bucket},
                                                                {"objectKey", loc.key}}}}}};
}

}  // namespace

model::ArtifactLocation CodePipelineApi::output_location(
    const std::string& bucket, const std::string& pipeline, const std::string& artifact,
    const std::string& action_execution_id) const {
  // <pipeline[:20]>/<artifact[:10]>/<7 alphanumerics> (reference §13), the
  // 7 characters derived from the action execution, so every call that
  // shows the job shows the same key.
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t h = fnv1a(action_execution_id + "/" + artifact);
  std::string suffix;
  for (int i = 0; i < 7; ++i) {
    suffix += kAlphabet[h % kAlphabet.size()];
    h /= kAlphabet.size();
  }
  model::ArtifactLocation loc;
  loc.bucket = bucket;
  loc.key = pipeline.substr(0, 20) + "/" + artifact.substr(0, 10) + "/" + suffix;
  return loc;
}

wire::Outcome<json::value> CodePipelineApi::job_data(const model::JobRecord& job,
                                                     const Caller& caller) {
  auto action = store_.get_action_execution(job.action_execution_id);
  if (!action.ok()) return from_status(action.status());
  auto exec = store_.get_pipeline_execution(job.execution_id);
  if (!exec.ok()) return from_status(exec.status());
  json::object data{
      {"actionTypeId", encode_action_type_id(job.action_type_id)},
      {"actionConfiguration",
       json::object{{"configuration", encode_string_map(action->resolved_configuration)}}},
      {"pipelineContext", json::object{{"pipelineName", job.pipeline_name},
                                       {"stage", json::object{{"name", job.stage_name}}},
                                       {"action", json::object{{"name", job.action_name},
                                                               {"actionExecutionId", action->id}}},
                                       {"pipelineArn", pipeline_arn(job.pipeline_name)},
                                       {"pipelineExecutionId", job.execution_id}}}};
  json::array inputs, outputs;
  const model::PipelineDeclaration* decl = declaration(job.pipeline_name, exec->pipeline_version);
  std::string bucket;
  const model::ActionDeclaration* declared = nullptr;
  if (decl != nullptr) {
    if (decl->artifact_store)
      bucket = decl->artifact_store->location;
    else if (decl->artifact_stores && !decl->artifact_stores->empty())
      bucket = decl->artifact_stores->begin()->second.location;
    for (const auto& s : decl->stages)
      if (s.name == job.stage_name)
        for (const auto& a : s.actions)
          if (a.name == job.action_name) declared = &a;
    if (decl->artifact_store && decl->artifact_store->encryption_key)
      data["encryptionKey"] =
          json::object{{"id", decl->artifact_store->encryption_key->id},
                       {"type", model::to_string(decl->artifact_store->encryption_key->type)}};
  }
  if (declared != nullptr) {
    if (declared->input_artifacts)
      for (const auto& in : *declared->input_artifacts) {
        auto art = store_.get_artifact(exec->id, in.name);
        if (!art.ok() && !exec->rollback_target_execution_id.empty())
          art = store_.get_artifact(exec->rollback_target_execution_id, in.name);
        if (!art.ok()) {
          if (art.status().code() != StatusCode::kNotFound) return from_status(art.status());
          continue;
        }
        inputs.push_back(job_artifact(in.name, art->location));
      }
    if (declared->output_artifacts)
      for (const auto& out : *declared->output_artifacts)
        outputs.push_back(job_artifact(
            out.name, output_location(bucket, job.pipeline_name, out.name, action->id)));
  }
  data["inputArtifacts"] = std::move(inputs);
  data["outputArtifacts"] = std::move(outputs);
  // The worker signs its S3 calls with its own key: the server never sees
  // its secret and hands out no other (docs/api.md).
  data["artifactCredentials"] = json::object{
      {"accessKeyId", caller.access_key_id}, {"secretAccessKey", ""}, {"sessionToken", ""}};
  put_nonempty(data, "continuationToken", job.continuation_token);
  return json::value(std::move(data));
}

CodePipelineApi::Out CodePipelineApi::poll_for_jobs(const In& in, const Caller& caller) {
  const json::object* type_json = obj(in, "actionTypeId");
  STAGELINE_CHECK(type_json != nullptr);  // required; the wire layer checked it
  auto decoded = decode_action_type_id(*type_json);
  if (!decoded) return error("ValidationException", "actionTypeId is not a valid action type id");
  const model::ActionTypeId type = *decoded;
  const std::string described =
      "ActionType (Category: '" + std::string(model::to_string(type.category)) + "', Provider: '" +
      type.provider + "', Owner: '" + std::string(model::to_string(type.owner)) + "', Version: '" +
      type.version + "')";
  const CustomType* custom =
      type.owner == model::ActionOwner::kCustom ? custom_type(type) : nullptr;
  if (custom == nullptr)
    return error("ActionTypeNotFoundException",
                 described + " is not a custom action type of account '" + options_.account_id +
                     "'; PollForJobs is only for custom action types");
  if (custom->record.deleted())
    return error("ActionTypeNotFoundException",
                 described +
                     " was deleted (DeleteCustomActionType); its jobs are no longer "
                     "handed out");
  int max = 1;
  if (const json::value* v = in.if_contains("maxBatchSize"); v && v->is_int64())
    max = static_cast<int>(std::clamp<int64_t>(v->as_int64(), 1, 100));

  // queryParam (reference §11.2): a type with a queryable property is polled
  // for one value of it; one without takes none.
  std::optional<store::ConfigurationMatch> match;
  if (const json::object* q = obj(in, "queryParam"); q != nullptr && !q->empty()) {
    STAGELINE_CHECK(q->size() == 1);  // the model's QueryParamMap has at most one entry
    const auto& [key, value] = *q->begin();
    if (custom->queryable.empty())
      return error("ValidationException", described +
                                              " has no queryable configuration property, so "
                                              "queryParam must be empty");
    if (key != custom->queryable)
      return error("ValidationException", "queryParam names '" + std::string(key) + "', but " +
                                              described + "'s queryable property is '" +
                                              custom->queryable + "'");
    STAGELINE_CHECK(value.is_string());  // QueryParamMap values are strings
    match = store::ConfigurationMatch{std::string(key), std::string(value.as_string())};
  } else if (!custom->queryable.empty()) {
    return error("ValidationException", described + " has the queryable property '" +
                                            custom->queryable +
                                            "': PollForJobs must give its value in queryParam");
  }
  auto claimed =
      match ? store_.claim_matching_jobs(type, *match, caller.principal, max, options_.now_ms())
            : store_.claim_jobs({type}, caller.principal, max, options_.now_ms());
  if (!claimed.ok()) return from_status(claimed.status());
  json::array jobs;
  for (const auto& job : *claimed) {
    auto data = job_data(job, caller);
    if (!data.ok()) return data.error();
    jobs.push_back(json::object{{"id", job.id},
                                {"data", std::move(*data)},
                                {"nonce", job.nonce},
                                {"accountId", options_.account_id}});
  }
  return json::value(json::object{{"jobs", std::move(jobs)}});
}

CodePipelineApi::Out CodePipelineApi::acknowledge_job(const In& in) {
  return acknowledge(str(in, "jobId"), str(in, "nonce"));
}

CodePipelineApi::Out CodePipelineApi::acknowledge(const std::string& id, const std::string& nonce) {
  auto job = store_.acknowledge_job(id, nonce, options_.now_ms());
  if (job.ok()) return json::value(json::object{{"status", model::to_string(job->status)}});
  switch (job.status().code()) {
    case StatusCode::kNotFound:
      return error("JobNotFoundException", "The job " + id + " was not found");
    case StatusCode::kInvalidArgument:
      return error("InvalidNonceException", "The nonce is not valid for job " + id);
    case StatusCode::kFailedPrecondition: {
      // A finished job: AcknowledgeJob reports its status. One never
      // dispatched has no nonce a worker could know.
      auto current = store_.get_job(id);
      if (!current.ok()) return from_status(current.status());
      if (current->status == model::JobStatus::kSucceeded ||
          current->status == model::JobStatus::kFailed ||
          current->status == model::JobStatus::kTimedOut)
        return json::value(json::object{{"status", model::to_string(current->status)}});
      return error("InvalidNonceException",
                   "The nonce is not valid for job " + id + ": the job was not dispatched");
    }
    default:
      return from_status(job.status());
  }
}

CodePipelineApi::Out CodePipelineApi::get_job_details(const In& in, const Caller& caller) {
  const std::string id = str(in, "jobId");
  auto job = store_.get_job(id);
  if (!job.ok()) {
    if (job.status().code() == StatusCode::kNotFound)
      return error("JobNotFoundException", "The job " + id + " was not found");
    return from_status(job.status());
  }
  auto data = job_data(*job, caller);
  if (!data.ok()) return data.error();
  return json::value(
      json::object{{"jobDetails", json::object{{"id", job->id},
                                               {"data", std::move(*data)},
                                               {"accountId", options_.account_id}}}});
}

CodePipelineApi::Out CodePipelineApi::put_job_success_result(const In& in) {
  const std::string id = str(in, "jobId");
  engine::JobSuccess result;
  result.continuation_token = str(in, "continuationToken");
  if (const json::object* d = obj(in, "executionDetails")) {
    result.summary = str(*d, "summary");
    result.external_execution_id = str(*d, "externalExecutionId");
  }
  if (const json::object* vars = obj(in, "outputVariables")) {
    if (!result.continuation_token.empty())
      return error("ValidationException",
                   "outputVariables can only be sent with a result that has no continuationToken");
    for (const auto& [k, v] : *vars)
      if (v.is_string()) result.output_variables[std::string(k)] = std::string(v.as_string());
  }
  auto job = store_.get_job(id);
  if (!job.ok()) {
    if (job.status().code() == StatusCode::kNotFound)
      return error("JobNotFoundException", "The job " + id + " was not found");
    return from_status(job.status());
  }
  // The worker uploaded its outputs to the keys PollForJobs gave it; the
  // engine records them with the action's success, in one transaction.
  if (result.continuation_token.empty() && job->status == model::JobStatus::kInProgress) {
    auto action = store_.get_action_execution(job->action_execution_id);
    auto exec = store_.get_pipeline_execution(job->execution_id);
    if (!action.ok()) return from_status(action.status());
    if (!exec.ok()) return from_status(exec.status());
    const model::PipelineDeclaration* decl =
        declaration(job->pipeline_name, exec->pipeline_version);
    if (decl != nullptr && action->status == model::ActionExecutionStatus::kInProgress) {
      std::string bucket = decl->artifact_store ? decl->artifact_store->location : "";
      if (bucket.empty() && decl->artifact_stores && !decl->artifact_stores->empty())
        bucket = decl->artifact_stores->begin()->second.location;
      for (const auto& s : decl->stages)
        for (const auto& a : s.actions)
          if (s.name == job->stage_name && a.name == job->action_name && a.output_artifacts)
            for (const auto& out : *a.output_artifacts) {
              model::ArtifactRecord art;
              art.execution_id = job->execution_id;
              art.name = out.name;
              art.location = output_location(bucket, job->pipeline_name, out.name, action->id);
              art.produced_by_stage = s.name;
              art.produced_by_action = a.name;
              art.created_ms = options_.now_ms();
              result.artifacts.push_back(std::move(art));
            }
    }
  }
  if (Status s = engine_.job_succeeded(id, result); !s.ok()) return from_status(s);
  return json::value(json::object());
}

CodePipelineApi::Out CodePipelineApi::put_job_failure_result(const In& in) {
  const json::object* details = obj(in, "failureDetails");
  STAGELINE_CHECK(details != nullptr);  // required
  auto type = model::parse_enum<model::FailureType>(str(*details, "type"));
  STAGELINE_CHECK(type.has_value());
  Status s = engine_.job_failed(str(in, "jobId"), *type, str(*details, "message"),
                                str(*details, "externalExecutionId"));
  if (!s.ok()) return from_status(s);
  return json::value(json::object());
}

// ---- Third-party jobs (reference §11.3) ------------------------------------
//
// A registered ThirdParty action type's jobs are queued by the engine like a
// custom type's. The partner's worker claims them with PollForThirdPartyJobs,
// which hands out only {clientId, jobId}: the clientId is new with every
// claim (the store sets jobs.client_id), and every later call must show it
// as clientToken, so only the claimant reads the job's data and reports its
// result. From there the calls are the custom ones, shared with them.

CodePipelineApi::Out CodePipelineApi::poll_for_third_party_jobs(const In& in,
                                                                const Caller& caller) {
  const json::object* type_json = obj(in, "actionTypeId");
  STAGELINE_CHECK(type_json != nullptr);  // required; the wire layer checked it
  auto type = decode_action_type_id(*type_json);
  if (!type) return error("ValidationException", "actionTypeId is not a valid action type id");
  if (type->owner != model::ActionOwner::kThirdParty || registered_type(*type) == nullptr)
    return error("ActionTypeNotFoundException",
                 "ActionType (Category: '" + std::string(model::to_string(type->category)) +
                     "', Provider: '" + type->provider + "', Owner: '" +
                     std::string(model::to_string(type->owner)) + "', Version: '" + type->version +
                     "') is not a registered third-party action type of this server; "
                     "PollForThirdPartyJobs is only for those (stageline action-types register)");
  int max = 1;
  if (const json::value* v = in.if_contains("maxBatchSize"); v && v->is_int64())
    max = static_cast<int>(std::clamp<int64_t>(v->as_int64(), 1, 100));
  auto claimed = store_.claim_jobs({*type}, caller.principal, max, options_.now_ms());
  if (!claimed.ok()) return from_status(claimed.status());
  json::array jobs;
  for (const auto& job : *claimed) {
    STAGELINE_CHECK(!job.client_id.empty());  // the store gives every third-party claim one
    jobs.push_back(json::object{{"clientId", job.client_id}, {"jobId", job.id}});
  }
  return json::value(json::object{{"jobs", std::move(jobs)}});
}

wire::Outcome<model::JobRecord> CodePipelineApi::third_party_job(const In& in,
                                                                 bool invalid_job_modeled) {
  const std::string id = str(in, "jobId");
  auto job = store_.get_job(id);
  if (!job.ok()) {
    if (job.status().code() == StatusCode::kNotFound)
      return error("JobNotFoundException", "The job " + id + " was not found");
    return from_status(job.status());
  }
  if (job->action_type_id.owner != model::ActionOwner::kThirdParty)
    return error(invalid_job_modeled ? "InvalidJobException" : "JobNotFoundException",
                 "The job " + id +
                     " is not a third-party job; use the job calls without ThirdParty "
                     "(GetJobDetails, AcknowledgeJob, PutJobSuccessResult, ...)");
  if (job->client_id.empty() || job->client_id != str(in, "clientToken"))
    return error("InvalidClientTokenException",
                 "The client token is not valid for job " + id +
                     ": it must be the clientId PollForThirdPartyJobs returned with the job's "
                     "current claim");
  return std::move(*job);
}

CodePipelineApi::Out CodePipelineApi::get_third_party_job_details(const In& in,
                                                                  const Caller& caller) {
  auto job = third_party_job(in, true);
  if (!job.ok()) return job.error();
  auto data = job_data(*job, caller);
  if (!data.ok()) return data.error();
  // ThirdPartyJobData's pipeline context names no pipeline ARN or execution
  // (reference §11.2): partners see only what their action needs.
  json::object& context = data->as_object()["pipelineContext"].as_object();
  context.erase("pipelineArn");
  context.erase("pipelineExecutionId");
  return json::value(json::object{
      {"jobDetails",
       json::object{{"id", job->id}, {"data", std::move(*data)}, {"nonce", job->nonce}}}});
}

CodePipelineApi::Out CodePipelineApi::acknowledge_third_party_job(const In& in) {
  auto job = third_party_job(in, false);
  if (!job.ok()) return job.error();
  return acknowledge(job->id, str(in, "nonce"));
}

CodePipelineApi::Out CodePipelineApi::put_third_party_job_success_result(const In& in) {
  auto job = third_party_job(in, false);
  if (!job.ok()) return job.error();
  // The same result as a custom job's; the input has no outputVariables.
  return put_job_success_result(in);
}

CodePipelineApi::Out CodePipelineApi::put_third_party_job_failure_result(const In& in) {
  auto job = third_party_job(in, false);
  if (!job.ok()) return job.error();
  return put_job_failure_result(in);
}

CodePipelineApi::Out CodePipelineApi::list_rule_types(const In&) {
  json::array types;
  for (const auto& r : definitions::Catalogue::builtin().rule_types()) {
    if (!r.supported) continue;
    json::array properties;
    for (const auto& k : r.required_config)
      properties.push_back(
          json::object{{"name", k}, {"required", true}, {"key", true}, {"secret", false}});
    for (const auto& k : r.optional_config)
      properties.push_back(
          json::object{{"name", k}, {"required", false}, {"key", false}, {"secret", false}});
    json::object t{
        {"id",
         json::object{
             {"category", "Rule"}, {"owner", "AWS"}, {"provider", r.provider}, {"version", "1"}}}};
    if (!properties.empty()) t["ruleConfigurationProperties"] = std::move(properties);
    t["inputArtifactDetails"] =
        json::object{{"minimumCount", 0}, {"maximumCount", r.uses_commands ? 1 : 0}};
    types.push_back(std::move(t));
  }
  return json::value(json::object{{"ruleTypes", std::move(types)}});
}

}  // namespace stageline::api
