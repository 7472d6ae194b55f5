// sources/connection_source: the CodeStarSourceConnection source action
// (Source/AWS/CodeStarSourceConnection, reference §4.5): a branch of a
// repository on a git server reached through a connection (api/connections).
//
// Configuration: ConnectionArn, FullRepositoryId ("owner/repo") and
// BranchName (required), OutputArtifactFormat CODE_ZIP (default) or
// CODEBUILD_CLONE_REF, DetectChanges (accepted; change detection is not
// this provider's job). Each run asks the connection where the repository
// lives (a URL libgit2 fetches: file, http(s), ssh), fetches the branch
// into the server's mirror of that URL (mirror.h), and builds the artifact
// from the mirror. A COMMIT_ID pin is honoured if the mirror has it after
// the fetch. Output variables (§9.4): AuthorDate, AuthorDisplayName,
// AuthorEmail, AuthorId (the author's e-mail: there is no provider user id),
// BranchName, CommitId, CommitMessage, ConnectionArn, FullRepositoryName,
// ProviderType. Revision: id = commit, summary = {"ProviderType":...,
// "CommitMessage":...} as CodePipeline shows it.
//
// Failures: an unknown connection or a bad FullRepositoryId is
// ConfigurationError; an unreachable remote is JobFailed with the URL and
// libgit2's reason; a missing branch ConfigurationError; a pinned commit
// that is not there RevisionUnavailable.
//
// Thread-safe (the mirrors serialize fetches of one URL).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "jobs/provider.h"
#include "sources/mirror.h"

namespace stageline::sources {

// Where a connection's repository is, as the connections API resolves it.
struct ConnectionRemote {
  std::string url;            // what libgit2 fetches
  std::string provider_type;  // "GitHub", "GitLabSelfManaged", ...
};

// Resolves (ConnectionArn, FullRepositoryId) to a remote; kNotFound for an
// unknown connection, kInvalidArgument for a bad repository id. Called on
// runner worker threads: must be thread-safe.
using ResolveConnection = std::function<Result<ConnectionRemote>(
    const std::string& connection_arn, const std::string& full_repository_id)>;

class ConnectionSource final : public jobs::ActionProvider {
 public:
  // `mirrors_root`: DATA_DIR/git/mirrors.
  ConnectionSource(std::filesystem::path mirrors_root, ResolveConnection resolve)
      : mirrors_(std::move(mirrors_root)), resolve_(std::move(resolve)) {}

  engine::ActionOutcome run(const jobs::ProviderContext& context) override;

  // Its mirrors, which change detection fetches too (one lock per URL).
  Mirrors& mirrors() { return mirrors_; }

 private:
  Mirrors mirrors_;
  ResolveConnection resolve_;
};

}  // namespace stageline::sources
