#include "deploy/codedeploy_action.h"

#include <boost/json.hpp>

namespace stageline::deploy {

namespace json = boost::json;

namespace {

engine::ActionOutcome failure(std::string code, std::string message) {
  engine::ActionOutcome o;
  o.succeeded = false;
  o.error_code = std::move(code);
  o.summary = message;
  o.error_message = std::move(message);
  return o;
}

}  // namespace

engine::ActionOutcome CodeDeployAction::run(const jobs::ProviderContext& context) {
  const engine::ActionStart& start = context.start;
  static const model::StringMap kEmpty;
  const model::StringMap& config =
      start.action.configuration ? *start.action.configuration : kEmpty;
  auto get = [&](const std::string& key) {
    auto it = config.find(key);
    return it == config.end() ? std::string() : it->second;
  };
  DeploymentRequest request;
  request.application_name = get("ApplicationName");
  request.deployment_group_name = get("DeploymentGroupName");
  if (request.application_name.empty() || request.deployment_group_name.empty())
    return failure("ConfigurationError",
                   "The CodeDeploy action needs ApplicationName and DeploymentGroupName");
  if (context.inputs.size() != 1)
    return failure("ConfigurationError",
                   "The CodeDeploy action takes exactly one input artifact (the revision with "
                   "appspec.yml at its root)");
  request.bundle_dir = context.inputs.front().second;
  if (!start.inputs.empty()) {
    const model::ArtifactLocation& location = start.inputs.front().second;
    request.revision = json::object{
        {"revisionType", "S3"},
        {"s3Location",
         json::object{{"bucket", location.bucket}, {"key", location.key}, {"bundleType", "zip"}}}};
    request.extra_environment = {{"BUNDLE_BUCKET", location.bucket}, {"BUNDLE_KEY", location.key}};
  }
  request.description = "Deployed by pipeline " + start.pipeline_name + ", execution " +
                        start.execution_id + ", action " + start.action.name;
  request.creator = "user";
  request.on_line = [&](std::string_view line) {
    if (context.output) context.output(std::string(line) + "\n");
  };
  request.cancelled = context.cancelled;

  auto ran = service_.run_deployment(request);
  if (!ran.ok()) {
    if (ran.status().code() == StatusCode::kNotFound)
      return failure("ConfigurationError", ran.status().message());
    return failure("JobFailed", "CodeDeploy deployment could not start: " + ran.status().message());
  }
  // What ListDeployActionExecutionTargets shows for this action; a failure
  // to record it is said in the log, never the action's.
  if (Status s = service_.record_pipeline_targets(ran->deployment_id, start.action_execution_id);
      !s.ok() && context.output)
    context.output("Could not record the deploy targets: " + s.message() + "\n");
  engine::ActionOutcome o;
  o.external_execution_id = ran->deployment_id;
  if (ran->status == "Succeeded") {
    o.succeeded = true;
    o.summary = "Deployment " + ran->deployment_id + " succeeded";
    return o;
  }
  std::string message =
      "Deployment " + ran->deployment_id + " " + ran->status + ": " + ran->message;
  if (!ran->rollback_deployment_id.empty()) {
    message += ". Rolled back in deployment " + ran->rollback_deployment_id + " (" +
               ran->rollback_status + ")";
    if (!ran->rollback_message.empty()) message += ": " + ran->rollback_message;
  } else if (!ran->rollback_message.empty()) {
    message += ". No rollback: " + ran->rollback_message;
  }
  engine::ActionOutcome f = failure("JobFailed", message);
  f.external_execution_id = ran->deployment_id;
  return f;
}

}  // namespace stageline::deploy
