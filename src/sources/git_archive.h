// sources/git_archive: the zip of one commit's tree, as `git archive
// --format=zip` makes it, read straight from the object database (no
// checkout) and streamed into libzip. Measured design: docs/sources.md and
// /work/shared/docs/stack.md §3.
//
//   - Every blob is opened only while libzip reads it (a lazy
//     zip_source_function) and freed after, so memory is bounded by the
//     largest single file, whatever the repository's size.
//   - Files keep their mode (0644, or 0755 for executables) and symlinks are
//     stored as symlinks (the target as content, unix mode 0120777), as git
//     archive does; every entry's mtime is the commit time.
//   - Directories get their own entries; a submodule (gitlink) becomes an
//     empty directory, as in git archive (its content is not in this
//     repository).
//   - Deflate level 6 (git's and zip's usual level; libzip's default is 9).
//   - .gitattributes (export-ignore, export-subst) are not applied.
//
// Thread-safe: each call opens its own repository handle.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

#include "base/status.h"
#include "sources/git.h"

namespace stageline::sources {

struct ArchiveStats {
  uint64_t files = 0;
  uint64_t directories = 0;  // submodules included
  uint64_t symlinks = 0;
  uint64_t submodules = 0;
  uint64_t uncompressed_bytes = 0;  // of files and symlink targets
};

struct ArchiveOptions {
  // Deflate level 1..9.
  int compression_level = 6;
  // Polled before each blob is read; returning true abandons the archive
  // (kFailedPrecondition "cancelled").
  std::function<bool()> cancelled;
};

// Writes the tree of commit `commit_id` (40 hex digits) of `repository` as a
// zip at `out_file`, replacing it; libzip writes a temporary file beside it
// and renames it, so `out_file` is never half written. A commit whose tree
// is empty gives kFailedPrecondition (an empty zip cannot be written by
// libzip; CodePipeline cannot build an artifact of nothing either).
// Otherwise fails with kNotFound for an unknown commit, kIo naming the blob
// or the file when reading the repository or writing the zip fails.
Result<ArchiveStats> write_commit_zip(const GitRepository& repository, std::string_view commit_id,
                                      const std::filesystem::path& out_file,
                                      const ArchiveOptions& options = {});

}  // namespace stageline::sources
