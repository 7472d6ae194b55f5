// sources/mirror: the server's mirrors of remote repositories, one bare
// repository per remote URL under DATA_DIR/git/mirrors/, fetched with
// libgit2 (git_remote_fetch) when a CodeStarSourceConnection action starts.
// Only the branch asked for is fetched ("+refs/heads/B:refs/heads/B", with
// pruning, so a branch deleted upstream is gone here too). Layout and
// naming: docs/sources.md.
//
// Thread-safe: fetches of the same URL are serialized by a per-URL mutex;
// different URLs fetch in parallel.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stageline::sources {

class Mirrors {
 public:
  // `root`: DATA_DIR/git/mirrors (created on the first fetch).
  explicit Mirrors(std::filesystem::path root) : root_(std::move(root)) {}

  // The mirror directory of `url`: <root>/<last two path segments of the
  // URL, sanitized>-<16 hex digits of the URL's FNV-1a hash>.git, stable
  // across restarts.
  std::filesystem::path mirror_path(const std::string& url) const;

  // Creates the mirror if needed and fetches `branch` from `url` into it.
  // Returns the mirror's path; the branch is then refs/heads/<branch> there
  // (absent when the remote has no such branch). Fails with kIo "fetch
  // branch B from URL: <libgit2's message>" when the remote cannot be
  // reached or refuses, kFailedPrecondition when `cancelled` returns true
  // during the transfer, kInvalidArgument for a branch name git refuses.
  Result<std::filesystem::path> fetch(const std::string& url, std::string_view branch,
                                      const std::function<bool()>& cancelled = {});

 private:
  std::mutex& lock_for(const std::string& url);

  std::filesystem::path root_;
  std::mutex mu_;  // guards locks_
  std::map<std::string, std::unique_ptr<std::mutex>> locks_;
};

}  // namespace stageline::sources
