// sources/git_archive: the zip of one commit's tree, as `git archive
// --format=zip` makes it, read straight from the object database (no
// checkout). Measured design: docs/sources.md, bench/RESULTS.md ("The
// source zip").
//
//   - The calling thread walks the tree, reads each blob with libgit2 and
//     writes the zip (zip_writer.h) in tree order; worker threads deflate
//     the blobs meanwhile. At most `window_bytes` of blobs wait between
//     reading and writing (each with its deflated form, at most as large),
//     and a blob of `large_blob_bytes` or more is deflated by the calling
//     thread straight into the file once the entries before it are written,
//     so memory is bounded by the window and the largest single file,
//     whatever the repository's size. Only the list of paths and object ids
//     (and the zip's central directory) grows with the tree.
//   - Files keep their mode (0644, or 0755 for executables) and symlinks are
//     stored as symlinks (the target as content, unix mode 0120777), as git
//     archive does; every entry's mtime is the commit time.
//   - Directories get their own entries; a submodule (gitlink) becomes an
//     empty directory, as in git archive (its content is not in this
//     repository).
//   - Deflate level 6 (git's and zip's usual level); a file that deflating
//     does not make smaller is stored, as git archive does.
//   - ZIP64 when the archive needs it (65,535 entries or more, or 4 GiB).
//   - .gitattributes (export-ignore, export-subst) are not applied.
//
// Thread-safe: each call uses its own repository objects; libgit2 is only
// called from the calling thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

#include "base/status.h"
#include "sources/git.h"
#include "sources/zip_writer.h"

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
  // Threads that deflate besides the calling thread: -1 for one per CPU,
  // 0 to deflate on the calling thread only.
  int deflate_threads = -1;
  // At most this many bytes of blobs are read ahead of the file, waiting to
  // be deflated or written (plus their deflated forms, at most as large).
  uint64_t window_bytes = uint64_t{4} << 20;
  // A blob at least this large is deflated by the calling thread straight
  // into the file, in pieces, instead of by a worker into memory.
  uint64_t large_blob_bytes = uint64_t{2} << 20;
  // Check each blob's hash as it is read (libgit2's strict hash
  // verification, when it is on). Off by default, as in git archive: zlib's
  // checksums still catch a damaged object (see read_blob in the .cc).
  bool verify_hashes = false;
  // Where ZIP64 takes over; tests lower it.
  ZipLimits zip_limits;
};

// Writes the tree of commit `commit_id` (40 hex digits) of `repository` as a
// zip at `out_file`, replacing it; the zip is written to a temporary file
// beside it and renamed, so `out_file` is never half written. A commit whose
// tree is empty gives kFailedPrecondition (CodePipeline cannot build an
// artifact of nothing). Otherwise fails with kInvalidArgument for a bad
// option or id, kNotFound for an unknown commit, kIo naming the path when a
// blob cannot be read or the zip cannot be written. Every worker thread has
// ended when it returns, whatever the outcome.
Result<ArchiveStats> write_commit_zip(const GitRepository& repository, std::string_view commit_id,
                                      const std::filesystem::path& out_file,
                                      const ArchiveOptions& options = {});

}  // namespace stageline::sources
