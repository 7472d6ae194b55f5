// builds/artifact_files: which files of a build an artifact holds
// (buildspec `artifacts` and `secondary-artifacts`, reference §17.3):
// `files` globs (artifacts/glob.h, CodeBuild's `**/` reading) relative to
// `base-directory` (itself a path or a glob matching one directory under the
// source directory), minus `exclude-paths`, flattened by `discard-paths`.
// Pure file-system work on the calling thread.
#pragma once

#include <filesystem>

#include "base/status.h"
#include "builds/buildspec.h"

namespace stageline::builds {

// Copies the files `spec` selects under `source_dir` into `stage_dir`
// (created; must not exist or be empty), keeping their paths relative to the
// base directory (or only their names with discard-paths; a later file of
// the same name wins). Symlinks are copied as links with enable-symlinks,
// else as the files they point to. Returns how many files were copied.
// Errors: kInvalidArgument for a bad glob or a base-directory that matches
// nothing; kNotFound "no matching artifact paths found" when nothing is
// selected; kIo when a file cannot be read or written.
Result<size_t> stage_artifact_files(const ArtifactSpec& spec,
                                    const std::filesystem::path& source_dir,
                                    const std::filesystem::path& stage_dir);

}  // namespace stageline::builds
