// sources/codecommit_source: the CodeCommit source action (Source/AWS/
// CodeCommit, reference §4.5) over the repositories the server hosts:
// DATA_DIR/git/codecommit/<RepositoryName>.git (api/codecommit/layout.h).
//
// Configuration: RepositoryName and BranchName (required),
// OutputArtifactFormat CODE_ZIP (default) or CODEBUILD_CLONE_REF,
// PollForSourceChanges (accepted; change detection is not this provider's
// job). A COMMIT_ID pin from StartPipelineExecution's sourceRevisions is
// honoured. Output variables (§9.4): AuthorDate, BranchName, CommitId,
// CommitMessage, CommitterDate, RepositoryName. The revision recorded is
// the commit: revisionId = id, revisionSummary = message, revisionUrl = the
// repository's file:// clone URL with the commit as fragment.
//
// Failures: a missing repository or branch is ConfigurationError ("The
// repository 'x' does not exist ..."), a pinned commit the repository does
// not have is RevisionUnavailable, anything else JobFailed.
//
// Thread-safe: run() keeps no state between calls.
#pragma once

#include <filesystem>

#include "jobs/provider.h"

namespace stageline::sources {

class CodeCommitSource final : public jobs::ActionProvider {
 public:
  // `data_dir`: the server's data directory.
  explicit CodeCommitSource(std::filesystem::path data_dir) : data_dir_(std::move(data_dir)) {}

  engine::ActionOutcome run(const jobs::ProviderContext& context) override;

  // Whether `name` is a CodeCommit repository name (1-100 of [A-Za-z0-9._-],
  // not "." or ".."; no ".git" suffix), so it is safe as a path component.
  static bool valid_repository_name(std::string_view name);

 private:
  std::filesystem::path data_dir_;
};

}  // namespace stageline::sources
