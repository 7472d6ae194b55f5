#include "sources/git_source.h"

#include <chrono>

#include "sources/git_archive.h"

namespace stageline::sources {

namespace fs = std::filesystem;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Any failure of building or storing the artifact is the system's (JobFailed),
// whatever code the step used.
Status as_job_failure(const Status& s) {
  if (s.ok() || s.code() == StatusCode::kIo || s.code() == StatusCode::kInternal) return s;
  return Status::io(s.message());
}

}  // namespace

Result<OutputFormat> parse_output_format(const model::ActionDeclaration& action) {
  const std::string value = config_value(action, "OutputArtifactFormat");
  if (value.empty() || value == "CODE_ZIP") return OutputFormat::kCodeZip;
  if (value == "CODEBUILD_CLONE_REF") return OutputFormat::kCodebuildCloneRef;
  return Status::invalid("OutputArtifactFormat '" + value +
                         "' is not CODE_ZIP or CODEBUILD_CLONE_REF");
}

Result<GitSourceResult> build_git_source(const jobs::ProviderContext& context,
                                         const GitSourceRequest& request) {
  const engine::ActionStart& start = context.start;
  if (!start.action.output_artifacts || start.action.output_artifacts->size() != 1)
    return Status::invalid("a source action has exactly one output artifact");
  const std::string artifact_name = (*start.action.output_artifacts)[0].name;

  auto repo = GitRepository::open(request.repository);
  if (!repo.ok()) return repo.status().with_context("read " + request.description);

  std::string commit_id;
  if (!start.revision_type.empty()) {
    if (start.revision_type != "COMMIT_ID")
      return Status::invalid("source revision type " + start.revision_type +
                             " does not apply to a git source (use COMMIT_ID)");
    commit_id = start.revision_value;
    auto pinned = repo->commit(commit_id);
    if (!pinned.ok())
      return Status(StatusCode::kFailedPrecondition,
                    "the pinned revision " + commit_id + " is not available in " +
                        request.description + ": " + pinned.status().message());
    context.output("Using commit " + commit_id + " (pinned by sourceRevisions)\n");
  } else {
    auto tip = repo->branch_commit(request.branch);
    if (!tip.ok()) return tip.status().with_context(request.description);
    commit_id = *tip;
    context.output("Branch " + request.branch + " is at commit " + commit_id + "\n");
  }
  auto info = repo->commit(commit_id);
  if (!info.ok()) return info.status().with_context(request.description);

  Result<artifacts::StoredArtifact> stored = Status::internal("not stored");
  if (request.format == OutputFormat::kCodeZip) {
    const fs::path zip = context.workspace / "source.zip";
    ArchiveOptions options;
    options.cancelled = context.cancelled;
    auto stats = write_commit_zip(*repo, commit_id, zip, options);
    if (!stats.ok()) return as_job_failure(stats.status());
    context.output("Zipped " + std::to_string(stats->files) + " files, " +
                   std::to_string(stats->symlinks) + " symlinks, " +
                   std::to_string(stats->uncompressed_bytes) + " bytes\n");
    stored = context.artifacts.put_artifact_file(start.artifact_bucket, start.pipeline_name,
                                                 artifact_name, zip, start.artifact_encryption_key);
  } else {
    // CODEBUILD_CLONE_REF: CodePipeline hands CodeBuild a reference it
    // clones from; here the artifact is the clone itself, .git included,
    // so any later action has the history (docs/sources.md).
    const fs::path clone = context.workspace / "clone";
    if (Status s = clone_at(request.repository.string(), request.branch, commit_id, clone); !s.ok())
      return as_job_failure(s);
    context.output("Cloned " + request.description + " with its history at " + commit_id + "\n");
    stored =
        context.artifacts.put_artifact(start.artifact_bucket, start.pipeline_name, artifact_name,
                                       clone, {"**/*", "**/"}, start.artifact_encryption_key);
  }
  if (!stored.ok()) return as_job_failure(stored.status());

  GitSourceResult result;
  result.commit = std::move(*info);
  model::ArtifactRecord& r = result.artifact;
  r.execution_id = start.execution_id;
  r.name = artifact_name;
  r.location = stored->location;
  r.produced_by_stage = start.stage_name;
  r.produced_by_action = start.action.name;
  r.size_bytes = static_cast<int64_t>(stored->size_bytes);
  r.created_ms = now_ms();
  context.output("Stored artifact " + artifact_name + " at s3://" + r.location.bucket + "/" +
                 r.location.key + "\n");
  return result;
}

engine::ActionOutcome git_source_failure(const Status& status) {
  engine::ActionOutcome o;
  o.succeeded = false;
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
      o.error_code = "ConfigurationError";
      break;
    case StatusCode::kFailedPrecondition:
      o.error_code = "RevisionUnavailable";
      break;
    case StatusCode::kOk:
    case StatusCode::kIo:
    case StatusCode::kInternal:
      o.error_code = "JobFailed";
      break;
  }
  o.error_message = status.message();
  o.summary = status.message();
  return o;
}

}  // namespace stageline::sources
