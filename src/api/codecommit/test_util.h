// Helpers of the codecommit tests: a temporary directory, and real git
// commands (the tests build repositories with the git CLI, as users do).
#pragma once

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "base/temp_dir.h"
namespace stageline::codecommit::testing {

class TempDir : public stageline::TempDir {
 public:
  TempDir() : stageline::TempDir("stageline-codecommit") {}
};

// Runs `command` with /bin/sh and returns its standard output; fails the
// test when it exits non-zero. Commits get a fixed author and date.
inline std::string sh(const std::string& command) {
  std::string full =
      "export GIT_AUTHOR_NAME='Ada Lovelace' GIT_AUTHOR_EMAIL=ada@example.com "
      "GIT_AUTHOR_DATE='1700000000 +0130' GIT_COMMITTER_NAME='Ada Lovelace' "
      "GIT_COMMITTER_EMAIL=ada@example.com GIT_COMMITTER_DATE='1700000000 +0130' "
      "GIT_CONFIG_NOSYSTEM=1 HOME=/nonexistent; " +
      command;
  FILE* p = popen(full.c_str(), "r");
  EXPECT_NE(p, nullptr);
  if (!p) return "";
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  EXPECT_EQ(status, 0) << command;
  return out;
}

inline void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

// A non-bare work repository at `dir` with one commit on `branch` holding
// `files` (name -> content). Returns the commit id.
inline std::string make_work_repo(const std::filesystem::path& dir, const std::string& branch,
                                  const std::map<std::string, std::string>& files) {
  sh("git init -q -b " + branch + " '" + dir.string() + "'");
  for (const auto& [name, content] : files) write_file(dir / name, content);
  sh("cd '" + dir.string() + "' && git add -A && git commit -q -m 'First commit' -m 'Body line'");
  std::string id = sh("git -C '" + dir.string() + "' rev-parse HEAD");
  while (!id.empty() && id.back() == '\n') id.pop_back();
  return id;
}

}  // namespace stageline::codecommit::testing
