// sources/test_util: helpers for the sources tests only: the artifacts
// tests' temporary directory and file helpers, and a shell that runs the real git CLI with a fixed
// identity and clock, so the repositories the tests make are reproducible.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "artifacts/test_util.h"

namespace stageline::sources::testing {

namespace fs = std::filesystem;

// The temporary directory and whole-file helpers of the artifacts tests.
using artifacts::testing::read_file;
using artifacts::testing::TempDir;
using artifacts::testing::write_file;

struct ShellResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `script` with /bin/sh in `dir`, git configured by environment only
// (no user or system config) with a fixed author, committer and date.
inline ShellResult sh(const fs::path& dir, const std::string& script) {
  std::string cmd = "cd '" + dir.string() + "' && export GIT_CONFIG_NOSYSTEM=1 HOME='" +
                    dir.string() +
                    "' GIT_AUTHOR_NAME='Ada Lovelace' GIT_AUTHOR_EMAIL=ada@example.com "
                    "GIT_COMMITTER_NAME='Charles Babbage' GIT_COMMITTER_EMAIL=cb@example.com "
                    "GIT_AUTHOR_DATE='2024-05-01T12:00:00Z' "
                    "GIT_COMMITTER_DATE='2024-05-02T08:30:00Z' LC_ALL=C.UTF-8 TZ=UTC && (" +
                    script + ") 2>&1";
  ShellResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A repository at `dir` (made) with branch main: an executable, a symlink,
// a subdirectory two levels deep, a non-ASCII name, a submodule entry
// (gitlink) and two commits. Returns the commits' ids, oldest first, as
// "<first> <second>".
inline std::string make_sample_repository(const fs::path& dir) {
  fs::create_directories(dir);
  auto r = sh(dir,
              "git init -q -b main . && "
              "printf 'hello\\n' > README.md && "
              "mkdir -p src/lib && printf 'int main() { return 0; }\\n' > src/main.c && "
              "printf 'deep\\n' > src/lib/deep.txt && "
              "printf '#!/bin/sh\\necho built\\n' > build.sh && chmod 755 build.sh && "
              "ln -s src/main.c main-link.c && "
              "printf 'caf\\303\\251\\n' > \"$(printf 'caf\\303\\251.txt')\" && "
              "git add -A && git commit -q -m 'First commit' -m 'With a body.' && "
              "git update-index --add --cacheinfo "
              "160000,1111111111111111111111111111111111111111,vendor/sub && "
              "printf 'two\\n' >> README.md && git add README.md && "
              "git commit -q -m 'Second commit' && "
              "echo $(git rev-parse HEAD~1) $(git rev-parse HEAD)");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::string out = r.output;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace stageline::sources::testing
