// api/codecommit/layout: where a CodeCommit repository lives, a contract
// shared with the CodeCommit source action (which reads these repositories
// with libgit2 and their metadata from the store). README.md in this folder
// describes the same layout in prose.
//
//   DATA_DIR/git/codecommit/<repositoryName>.git   a bare git repository
//   store resources row ("codecommit", "repository", <repositoryName>)
//     document_json: {"repositoryId": "<uuid>", "repositoryName": "<name>",
//                     "repositoryDescription": "<text>" (absent if none),
//                     "accountId": "<12 digits>", "region": "<region>",
//                     "arn": "arn:aws:codecommit:<region>:<account>:<name>",
//                     "tags": {"<key>": "<value>", ...}}
//     created_ms / updated_ms: creationDate / lastModifiedDate
//
// The repository's default branch is its HEAD (set to the first branch
// pushed, as in CodeCommit); branches are refs/heads/*. A row exists exactly
// while the directory does: CreateRepository makes the directory before the
// row, DeleteRepository removes the row before the directory.
//
// Header-only; depends on the standard library only.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace stageline::codecommit {

inline constexpr std::string_view kService = "codecommit";  // resources.service
inline constexpr std::string_view kKind = "repository";     // resources.kind

// The directory holding every repository: DATA_DIR/git/codecommit.
inline std::filesystem::path repositories_root(const std::filesystem::path& data_dir) {
  return data_dir / "git" / "codecommit";
}

// The bare repository of `name`: DATA_DIR/git/codecommit/<name>.git.
// REQUIRES: `name` is a valid repository name (valid_repository_name in
// codecommit_api.h), so it cannot climb out of the root.
inline std::filesystem::path repository_dir(const std::filesystem::path& data_dir,
                                            std::string_view name) {
  return repositories_root(data_dir) / (std::string(name) + ".git");
}

}  // namespace stageline::codecommit
