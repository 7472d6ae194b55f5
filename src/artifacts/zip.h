// artifacts/zip: an artifact's files to and from a zip archive (libzip).
// Creating keeps unix modes and internal symlinks and streams each file from
// disk while libzip deflates it, so memory does not grow with the tree.
// Extracting treats the archive as hostile: nothing is ever written outside
// the target directory (zip slip), and size, count and ratio limits stop zip
// bombs. The rules are in docs/artifact-store.md ("Zip slip defences").
// Every function is thread-safe (no shared state); concurrent calls must use
// different output paths.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "artifacts/unique_fd.h"
#include "base/status.h"

namespace stageline::artifacts {

struct CreateZipResult {
  uint64_t files = 0;
  uint64_t directories = 0;
  uint64_t symlinks = 0;
  uint64_t uncompressed_bytes = 0;
  // Matched paths that were left out, each as "path: reason": symlinks whose
  // target is outside the tree, sockets, fifos and devices.
  std::vector<std::string> skipped;
};

// Packs the entries of `source_dir` selected by `globs` (glob.h) into a new
// zip at `out_file`, replacing it. Entries are in byte order of their paths;
// files are deflated at level 6 and keep their permission bits; directories
// appear only when a directory pattern selects them; a symlink is stored as a
// symlink when its target resolves inside `source_dir` (an absolute target
// inside the tree is made relative) and skipped otherwise; symlinked
// directories are never descended into. libzip writes a temporary file next
// to `out_file` and renames it, so `out_file` is never half written.
//
// Fails with kInvalidArgument for a bad glob or an empty pattern list,
// kNotFound when `source_dir` is missing, kFailedPrecondition when no path
// matches (libzip cannot write an empty archive, and CodeBuild fails the
// same way), kIo when a file cannot be read (naming it) or changed size while
// it was being packed.
Result<CreateZipResult> create_zip(const std::filesystem::path& source_dir,
                                   const std::filesystem::path& out_file,
                                   const std::vector<std::string>& globs);

struct ExtractLimits {
  // Sum of the uncompressed sizes, declared and actually written.
  uint64_t max_total_bytes = uint64_t{8} << 30;
  // Entries of any kind; reference §13: at most 100 000 files in an artifact.
  uint64_t max_entries = 100000;
  // Uncompressed / compressed size of one entry. Deflate cannot exceed about
  // 1032:1, so the limit only means something below that.
  uint64_t max_compression_ratio = 200;
  // Entries smaller than this are not ratio-checked (small runs of zeros
  // compress very well and are harmless).
  uint64_t ratio_exempt_bytes = uint64_t{1} << 20;
};

struct ExtractResult {
  uint64_t files = 0;
  uint64_t directories = 0;
  uint64_t symlinks = 0;
  uint64_t bytes = 0;
};

// Extracts `zip_file` into `target_dir`, which must be an empty directory or
// not exist (it is created). Refuses, naming the entry: absolute paths, ".."
// segments, symlinks whose target is absolute or resolves outside the target
// (checked on the names and again on the finished tree), entries below a
// symlink entry, duplicate entries, encrypted entries, unsupported
// compression methods and file types other than file, directory and symlink;
// and archives over `limits`. Regular files get mode 0755 when the archive
// gave them any exec bit, 0644 otherwise; directories 0755. Every path is
// opened with O_NOFOLLOW below the target's own descriptor, so nothing is
// written through a symlink.
//
// On failure nothing it wrote is left: the target's contents (and the target,
// if this call created it) are removed. Errors: kInvalidArgument for a
// refused entry or a corrupt archive ("extract zip F: entry 'E': why"),
// kFailedPrecondition for a non-empty target, kIo for system-call failures.
Result<ExtractResult> extract_zip(const std::filesystem::path& zip_file,
                                  const std::filesystem::path& target_dir,
                                  const ExtractLimits& limits);

// The same, reading the archive from `zip` (seekable, read from offset 0);
// `description` names it in errors.
Result<ExtractResult> extract_zip_fd(UniqueFd zip, const std::string& description,
                                     const std::filesystem::path& target_dir,
                                     const ExtractLimits& limits);

}  // namespace stageline::artifacts
