#include "providers/s3_source/s3_source.h"

#include <chrono>

#include "base/strings.h"

namespace stageline::providers {

namespace fs = std::filesystem;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using jobs::config_value;
engine::ActionOutcome failure(std::string code, std::string message) {
  return jobs::action_failure(std::move(code), std::move(message));
}

// The outcome of a store failure: what the user can fix is a configuration
// error, a pinned version that is gone is an unavailable revision, the rest
// is the system's.
engine::ActionOutcome store_failure(const Status& s) {
  if (s.message().find("NoSuchVersion") != std::string::npos)
    return failure("RevisionUnavailable", s.message());
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
      return failure("ConfigurationError", s.message());
    case StatusCode::kOk:
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kIo:
    case StatusCode::kInternal:
      break;
  }
  return failure("JobFailed", s.message());
}

}  // namespace

engine::ActionOutcome S3Source::run(const jobs::ProviderContext& context) {
  const engine::ActionStart& start = context.start;
  const model::ActionDeclaration& action = start.action;
  const std::string bucket = config_value(action, "S3Bucket");
  std::string key = config_value(action, "S3ObjectKey");
  if (bucket.empty() || key.empty())
    return failure("ConfigurationError", "the S3 source needs S3Bucket and S3ObjectKey");
  if (!action.output_artifacts || action.output_artifacts->size() != 1)
    return failure("ConfigurationError", "a source action has exactly one output artifact");
  const std::string artifact_name = (*action.output_artifacts)[0].name;

  std::string version;
  if (start.revision_type == "S3_OBJECT_VERSION_ID") {
    version = start.revision_value;
    context.output("Using version " + version + " (pinned by sourceRevisions)\n");
  } else if (start.revision_type == "S3_OBJECT_KEY") {
    if (config_value(action, "AllowOverrideForS3ObjectKey") != "true")
      return failure("ConfigurationError",
                     "a sourceRevisions pin of type S3_OBJECT_KEY needs the action's "
                     "AllowOverrideForS3ObjectKey set to true");
    key = start.revision_value;
    context.output("Using key " + key + " (pinned by sourceRevisions)\n");
  } else if (!start.revision_type.empty()) {
    return failure("ConfigurationError", "source revision type " + start.revision_type +
                                             " does not apply to an S3 source (use "
                                             "S3_OBJECT_VERSION_ID or S3_OBJECT_KEY)");
  }

  const std::string where = "s3://" + bucket + "/" + key;
  const fs::path object_file = context.workspace / "source.zip";
  auto info = objects_.get_object_to_file(bucket, key, version, object_file);
  if (!info.ok()) return store_failure(info.status().with_context("read the S3 source " + where));
  context.output("Read " + where + " version " + info->version_id + " (" +
                 std::to_string(info->size) + " bytes, ETag " + info->etag + ")\n");
  auto stored =
      context.artifacts.put_artifact_file(start.artifact_bucket, start.pipeline_name, artifact_name,
                                          object_file, start.artifact_encryption_key);
  if (!stored.ok()) {
    // Whatever step failed, storing the artifact is the system's job.
    return failure("JobFailed", stored.status().message());
  }

  engine::ActionOutcome o;
  o.succeeded = true;
  std::string summary;
  for (const auto& [name, value] : info->metadata)
    if (name == "codepipeline-artifact-revision-summary") summary = value;
  o.summary = summary.empty() ? "Amazon S3 version id: " + info->version_id : summary;
  model::ArtifactRecord r;
  r.execution_id = start.execution_id;
  r.name = artifact_name;
  r.location = stored->location;
  r.produced_by_stage = start.stage_name;
  r.produced_by_action = action.name;
  r.size_bytes = static_cast<int64_t>(stored->size_bytes);
  r.created_ms = now_ms();
  o.artifacts.push_back(std::move(r));
  o.output_variables = {{"ETag", info->etag}, {"VersionId", info->version_id}};
  model::SourceRevision revision;
  revision.action_name = action.name;
  revision.revision_id = info->version_id;
  revision.revision_summary = o.summary;
  revision.revision_url = where + "?versionId=" + info->version_id;
  revision.revision_type = "S3_OBJECT_VERSION_ID";
  o.revisions.push_back(std::move(revision));
  context.output("Stored artifact " + artifact_name + " at s3://" + o.artifacts[0].location.bucket +
                 "/" + o.artifacts[0].location.key + "\n");
  return o;
}

}  // namespace stageline::providers
