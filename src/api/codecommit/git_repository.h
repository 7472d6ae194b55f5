// api/codecommit/git_repository: the bare git repositories behind CodeCommit,
// read and changed with libgit2 (the only translation unit that includes it).
// Branches are refs/heads/*; the default branch is what HEAD names.
//
// Errors are Status values: kNotFound for a missing repository, branch,
// commit or file; kAlreadyExists for a branch that exists; kInvalidArgument
// for a malformed name or id; kIo with libgit2's reason for anything else.
// Thread-compatible: one thread at a time per GitRepository (libgit2 allows
// separate repositories on separate threads).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

struct git_repository;

namespace stageline::codecommit {

// A git signature: who, and when in their time zone.
struct GitSignature {
  std::string name;
  std::string email;
  int64_t time_s = 0;      // seconds since the epoch
  int offset_minutes = 0;  // east of UTC
};

struct GitCommit {
  std::string id;  // 40 hex digits
  std::string tree_id;
  std::vector<std::string> parents;
  std::string message;
  GitSignature author;
  GitSignature committer;
};

enum class GitFileMode { kNormal, kExecutable, kSymlink };

struct GitFile {
  std::string blob_id;
  GitFileMode mode = GitFileMode::kNormal;
  std::string content;
};

// True when `name` is a valid branch name (git check-ref-format of
// refs/heads/<name>: no "..", no spaces or control characters, no "~^:?*[\",
// not ending in ".lock" or "/", ...).
bool valid_branch_name(std::string_view name);

// True when `id` is a full object id: 40 hexadecimal digits.
bool valid_object_id(std::string_view id);

// Creates an empty bare repository at `dir` whose HEAD names
// refs/heads/<initial_branch> (unborn until that branch is pushed).
// Missing parent directories are created. kAlreadyExists if `dir` exists.
Status init_bare_repository(const std::filesystem::path& dir, std::string_view initial_branch);

class GitRepository {
 public:
  // kNotFound when `dir` is not a git repository.
  static Result<GitRepository> open(const std::filesystem::path& dir);

  GitRepository(GitRepository&& other) noexcept;
  GitRepository& operator=(GitRepository&& other) noexcept;
  GitRepository(const GitRepository&) = delete;
  GitRepository& operator=(const GitRepository&) = delete;
  ~GitRepository();

  // Every branch name, in byte order.
  Result<std::vector<std::string>> branches();

  // Every branch and tag ("refs/heads/main", "refs/tags/v1") and the commit
  // it points to (annotated tags peeled); refs that name no commit are left
  // out.
  Result<std::map<std::string, std::string>> refs();

  // The paths ('/'-separated) whose content or mode differs between the
  // trees of two commits, each once, in byte order (a rename gives both
  // paths). kNotFound when a commit does not exist.
  Result<std::vector<std::string>> changed_files(std::string_view old_commit_id,
                                                 std::string_view new_commit_id);

  // The commit id branch `name` points to; kNotFound when there is no such
  // branch.
  Result<std::string> branch_commit(std::string_view name);

  // Makes branch `name` point at `commit_id`. kInvalidArgument for a bad
  // name or id, kAlreadyExists when the branch exists, kNotFound when the
  // commit does not.
  Status create_branch(std::string_view name, std::string_view commit_id);

  // The branch HEAD names, if that branch exists (an empty repository has
  // none).
  Result<std::optional<std::string>> default_branch();

  // When HEAD names a branch that does not exist, points HEAD at `branch`
  // (which must exist): CodeCommit makes the first branch pushed the
  // default. Does nothing otherwise.
  Status adopt_default_branch(std::string_view branch);

  // The commit `id` names. kInvalidArgument unless valid_object_id(id);
  // kNotFound when there is no such commit.
  Result<GitCommit> commit(std::string_view id);

  // The commit a specifier names: a branch, a tag, or a commit id (full or
  // abbreviated), as git rev-parse reads it; "" means the default branch.
  // kNotFound when it names nothing or not a commit.
  Result<std::string> resolve_commit(std::string_view specifier);

  // The file at `path` ("dir/file.txt", a leading '/' allowed) in commit
  // `commit_id`. kNotFound when there is no such file (or it is a
  // directory); kFailedPrecondition when it is larger than `max_bytes`.
  Result<GitFile> file(std::string_view commit_id, std::string_view path, size_t max_bytes);

 private:
  explicit GitRepository(git_repository* repo) : repo_(repo) {}
  git_repository* repo_ = nullptr;
};

}  // namespace stageline::codecommit
