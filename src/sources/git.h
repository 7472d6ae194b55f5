// sources: the git source actions (CodeCommit and CodeStarSourceConnection)
// and what they share: reading repositories with libgit2 (this file), the
// zip of a commit's tree (git_archive.h), mirrors of remote repositories
// (mirror.h) and the two providers (codecommit_source.h,
// connection_source.h). Formats and layouts: docs/sources.md.
//
// May depend on base, model, artifacts and jobs/provider.h (the provider
// interface, with engine's ActionStart and ActionOutcome), plus libgit2 and
// zlib. It knows nothing of the API modules, the store or HTTP: where a
// connection's repositories live is asked through a function the composition
// root gives (connection_source.h).
//
// libgit2 objects are not shared between threads: every call opens what it
// needs, so every function here is thread-safe.
#pragma once

#include <git2.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stageline::sources {

// Initializes libgit2 once per process (thread-safe, idempotent).
void ensure_libgit2();

// "what: <libgit2's last error message>" with kIo, or kNotFound when `error`
// is GIT_ENOTFOUND.
Status git_status(std::string_view what, int error);

// The parts of a commit the source actions report (reference §9.4).
struct CommitInfo {
  std::string id;       // 40 hex digits
  std::string message;  // the full message, without its trailing newline
  std::string summary;  // its first paragraph on one line
  std::string author_name;
  std::string author_email;
  std::string author_date;  // ISO 8601 UTC, e.g. 2024-05-01T12:00:00Z
  std::string committer_name;
  std::string committer_email;
  std::string committer_date;
  int64_t commit_time = 0;  // committer time, seconds since the epoch
};

// An open repository (bare or with a working tree). Move-only; owns the
// libgit2 handle. Not thread-safe: one thread at a time.
class GitRepository {
 public:
  // Opens the repository at `path` exactly (no search upwards). kNotFound
  // when there is no repository there.
  static Result<GitRepository> open(const std::filesystem::path& path);

  // The commit refs/heads/<branch> points to (peeled), as 40 hex digits.
  // kNotFound naming the branch when there is none; kInvalidArgument for a
  // name git refuses.
  Result<std::string> branch_commit(std::string_view branch) const;

  // The commit `id` (40 hex digits). kInvalidArgument when `id` is not a
  // full hex object id, kNotFound when the repository has no such commit.
  Result<CommitInfo> commit(std::string_view id) const;

  git_repository* get() const { return repo_.get(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Free {
    void operator()(git_repository* r) const { git_repository_free(r); }
  };
  GitRepository(git_repository* repo, std::filesystem::path path)
      : repo_(repo), path_(std::move(path)) {}
  std::unique_ptr<git_repository, Free> repo_;
  std::filesystem::path path_;
};

// Clones `repository` (a path or URL libgit2 can fetch) into `target` (must
// not exist) with its whole history and every branch, checks out `commit_id`
// in the working tree (HEAD detached at it when it is not the tip of
// `branch`, else on `branch`), and leaves a full .git directory: what
// OutputArtifactFormat CODEBUILD_CLONE_REF gives a later build. Errors name
// the repository and the step.
Status clone_at(const std::string& repository, std::string_view branch, std::string_view commit_id,
                const std::filesystem::path& target);

}  // namespace stageline::sources
