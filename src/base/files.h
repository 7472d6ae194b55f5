// base/files: a small file written or read whole (scripts, exported-variable
// files, ...). Not for artifacts or the store, which have their own
// durability rules (fsync, atomic rename).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "base/status.h"

namespace stageline {

// Writes `content` to `path`, replacing it. kIo naming the path on failure.
Status write_file(const std::filesystem::path& path, const std::string& content);

// The whole file, or nullopt when it does not exist or cannot be read.
std::optional<std::string> read_file(const std::filesystem::path& path);

}  // namespace stageline
