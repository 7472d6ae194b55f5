#include "builds/codebuild_action.h"

#include <boost/json.hpp>
#include <chrono>

namespace stageline::builds {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

engine::ActionOutcome configuration_error(std::string message) {
  engine::ActionOutcome o;
  o.succeeded = false;
  o.error_code = "ConfigurationError";
  o.summary = message;
  o.error_message = std::move(message);
  return o;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

engine::ActionOutcome CodeBuildAction::run(const jobs::ProviderContext& context) {
  const engine::ActionStart& start = context.start;
  const model::ActionDeclaration& action = start.action;
  static const model::StringMap kEmpty;
  const model::StringMap& config = action.configuration ? *action.configuration : kEmpty;
  auto get = [&](const std::string& key) {
    auto it = config.find(key);
    return it == config.end() ? std::string() : it->second;
  };

  ActionBuildRequest request;
  request.project_name = get("ProjectName");
  if (request.project_name.empty())
    return configuration_error("The CodeBuild action needs ProjectName");
  if (get("BatchEnabled") == "true")
    return configuration_error(
        "BatchEnabled is true: batch builds are not supported by Stageline; remove BatchEnabled "
        "or set it to false");
  auto project = service_.project(request.project_name);
  if (!project.ok()) {
    if (project.status().code() == StatusCode::kNotFound)
      return configuration_error("CodeBuild project " + request.project_name +
                                 " does not exist (create it with aws codebuild create-project)");
    engine::ActionOutcome o = configuration_error(project.status().message());
    o.error_code = "JobFailed";
    return o;
  }

  // Inputs: the primary first (reference §17.1).
  request.inputs = context.inputs;
  const std::string primary = get("PrimarySource");
  if (context.inputs.size() > 1 && primary.empty())
    return configuration_error(
        "The CodeBuild action has several input artifacts: set PrimarySource to the one that "
        "becomes CODEBUILD_SRC_DIR");
  if (!primary.empty()) {
    auto it = std::find_if(request.inputs.begin(), request.inputs.end(),
                           [&](const auto& in) { return in.first == primary; });
    if (it == request.inputs.end())
      return configuration_error("PrimarySource " + primary +
                                 " is not an input artifact of the action");
    std::rotate(request.inputs.begin(), it, it + 1);
  }
  if (!start.inputs.empty()) {
    for (const auto& [name, location] : start.inputs) {
      if (name == request.inputs.front().first)
        request.source_version = "arn:aws:s3:::" + location.bucket + "/" + location.key;
    }
  }

  if (std::string vars = get("EnvironmentVariables"); !vars.empty()) {
    boost::system::error_code ec;
    json::value parsed = json::parse(vars, ec);
    if (ec)
      return configuration_error(
          "EnvironmentVariables must be a JSON list of "
          "{\"name\",\"value\",\"type\"}: " +
          ec.message());
    auto list = parse_environment_variables(parsed, "EnvironmentVariables");
    if (!list.ok()) return configuration_error(list.status().message());
    if (!service_.resolves_secrets()) {
      auto plain = plaintext_variables(*list, "EnvironmentVariables:");
      if (!plain.ok()) return configuration_error(plain.status().message());
    }
    request.environment_overrides = std::move(*list);
  }
  request.buildspec_override = get("BuildspecOverride");
  request.pipeline_name = start.pipeline_name;
  request.workspace = context.workspace;
  request.timeout = start.timeout;
  if (action.output_artifacts)
    for (const auto& o : *action.output_artifacts) request.outputs.push_back(o.name);
  request.store_output = [&](const std::string& name,
                             const fs::path& dir) -> Result<model::ArtifactRecord> {
    auto stored = context.artifacts.put_artifact(start.artifact_bucket, start.pipeline_name, name,
                                                 dir, {"**/*"}, start.artifact_encryption_key);
    if (!stored.ok()) return stored.status();
    model::ArtifactRecord r;
    r.execution_id = start.execution_id;
    r.name = name;
    r.location = stored->location;
    r.produced_by_stage = start.stage_name;
    r.produced_by_action = action.name;
    r.size_bytes = static_cast<int64_t>(stored->size_bytes);
    r.created_ms = wall_ms();
    return r;
  };
  request.on_line = [&](std::string_view line) {
    if (context.output) context.output(std::string(line) + "\n");
  };
  request.cancelled = context.cancelled;

  auto ran = service_.run_action_build(request);
  if (!ran.ok()) {
    engine::ActionOutcome o;
    o.error_code =
        ran.status().code() == StatusCode::kInvalidArgument ? "ConfigurationError" : "JobFailed";
    o.summary = "CodeBuild build of project " + request.project_name +
                " could not start: " + ran.status().message();
    o.error_message = o.summary;
    return o;
  }
  engine::ActionOutcome o;
  o.external_execution_id = ran->build_id;
  o.artifacts = ran->artifacts;
  if (ran->build.succeeded()) {
    o.succeeded = true;
    o.summary = "Build " + ran->build_id + " succeeded";
    o.output_variables = ran->build.exported_variables;
    return o;
  }
  o.error_code = "JobFailed";
  o.summary = "Build " + ran->build_id + " " + ran->build.status + ". " + ran->build.message;
  o.error_message = o.summary;
  return o;
}

}  // namespace stageline::builds
