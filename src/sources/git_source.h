// sources/git_source: what the CodeCommit and CodeStarSourceConnection
// providers share once each has a local repository to read: choose the
// commit (the branch tip, or the COMMIT_ID StartPipelineExecution pinned),
// build the output artifact in the requested OutputArtifactFormat, store it,
// and describe the revision. Thread-safe (no shared state).
#pragma once

#include <filesystem>
#include <string>

#include "engine/engine.h"
#include "jobs/provider.h"
#include "sources/git.h"

namespace stageline::sources {

// OutputArtifactFormat (reference §4.5).
enum class OutputFormat {
  kCodeZip,            // CODE_ZIP: the commit's files (git_archive.h)
  kCodebuildCloneRef,  // CODEBUILD_CLONE_REF: a full clone with .git (docs/sources.md)
};

// CODE_ZIP when absent or empty; kInvalidArgument naming the value otherwise.
Result<OutputFormat> parse_output_format(const model::ActionDeclaration& action);

using jobs::config_value;  // a configuration value, or "" when absent

struct GitSourceRequest {
  std::filesystem::path repository;  // a local repository, bare or not
  std::string branch;
  OutputFormat format = OutputFormat::kCodeZip;
  // How the repository is named in messages ("repository 'my-repo'").
  std::string description;
};

struct GitSourceResult {
  CommitInfo commit;
  model::ArtifactRecord artifact;
};

// Picks the commit (the branch tip, or context.start's COMMIT_ID pin, which
// must exist in the repository; another revision type is refused), builds
// and stores the action's one output artifact, and logs each step through
// context.output. The Status's code says whose fault a failure is:
// kInvalidArgument / kNotFound for the configuration (no such branch, bad
// pin type), kFailedPrecondition for a pinned commit that is not there
// (RevisionUnavailable), anything else for the system.
Result<GitSourceResult> build_git_source(const jobs::ProviderContext& context,
                                         const GitSourceRequest& request);

// The failed outcome for `status` from build_git_source or a provider's
// own checks: error code ConfigurationError, RevisionUnavailable or
// JobFailed (see above), the message as given.
engine::ActionOutcome git_source_failure(const Status& status);

}  // namespace stageline::sources
