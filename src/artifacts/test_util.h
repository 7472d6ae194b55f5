// artifacts/test_util: helpers for the artifacts tests only: a temporary
// directory, files written and read whole, and a snapshot of a tree to
// compare like `diff -r` (types, contents, exec bits, symlink targets).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "base/temp_dir.h"

namespace stageline::artifacts::testing {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir : public stageline::TempDir {
 public:
  TempDir() : stageline::TempDir("stageline-artifacts") {}
};

inline void write_file(const fs::path& path, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  ASSERT_TRUE(out) << "write " << path;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What `md5sum` prints for the file: the reference for ETags.
inline std::string md5sum_of(const fs::path& path) {
  std::string cmd = "md5sum '" + path.string() + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed";
  char buf[64] = {};
  size_t n = std::fread(buf, 1, 32, p);
  ::pclose(p);
  return std::string(buf, n);
}

// One node of a tree: "f <exec> <content>", "d", or "l <target>".
using Tree = std::map<std::string, std::string>;

inline Tree snapshot(const fs::path& root) {
  Tree tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = it->path().lexically_relative(root).string();
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) {
      tree[rel] = "?";
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      tree[rel] = "l " + fs::read_symlink(it->path()).string();
    } else if (S_ISDIR(st.st_mode)) {
      tree[rel] = "d";
    } else {
      tree[rel] = std::string("f ") + ((st.st_mode & 0111) ? "x " : "- ") + read_file(it->path());
    }
  }
  return tree;
}

inline size_t count_entries(const fs::path& dir) {
  size_t n = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

}  // namespace stageline::artifacts::testing
