// artifacts/glob: the path patterns that choose which files go into an
// artifact (buildspec `artifacts.files`, the Commands action's output `files`).
// Syntax of reference §8.3 (java.nio glob) with CodeBuild's reading of `**/`:
//
//   *      zero or more characters of one path segment (never '/')
//   ?      one character other than '/'
//   [...]  one character of a set: ranges a-z, '!' first negates, '-' first or
//          last is literal; '*', '?' and '\' are literal inside; never '/'
//   {a,b}  one of the alternatives (not nested)
//   \c     the character c
//   **     zero or more characters, '/' included
//   **/    at the start or after '/': zero or more whole directories, so
//          `**/*` is every file and `dist/**/*` every file under dist/
//
// A pattern that ends with '/' selects directories: the directory itself (so
// an empty directory is kept) and everything under it; `**/` is the whole
// tree. Any other pattern selects files and symlinks, never directories.
// A leading "./" is ignored. Paths are relative, '/'-separated, without a
// trailing '/'. Immutable after parse; safe to share between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stageline::artifacts {

class Glob {
 public:
  // kInvalidArgument for an empty pattern, an absolute one, an unclosed '['
  // or '{', a nested '{', a trailing '\', or one with more than 1024 brace
  // expansions.
  static Result<Glob> parse(std::string_view pattern);

  const std::string& pattern() const { return pattern_; }
  bool selects_directories() const { return directory_; }

  // REQUIRES: !selects_directories(). Whether the file or symlink at `path` matches.
  bool matches_file(std::string_view path) const;
  // REQUIRES: selects_directories(). Whether the directory at `path` matches.
  bool matches_directory(std::string_view path) const;

  // One piece of a compiled pattern (public for the compiler in glob.cc).
  struct Token {
    enum class Kind { kLiteral, kAnyChar, kSet, kStar, kDoubleStar, kDirectories };
    Kind kind = Kind::kLiteral;
    char c = 0;                                 // kLiteral
    bool negated = false;                       // kSet
    std::vector<std::pair<char, char>> ranges;  // kSet, inclusive
  };

 private:
  bool match(std::string_view path) const;

  std::string pattern_;
  bool directory_ = false;
  std::vector<std::vector<Token>> alternatives_;  // brace expansion; any may match
};

// Parses every pattern; the errors of all bad ones in one Status.
Result<std::vector<Glob>> parse_globs(const std::vector<std::string>& patterns);

}  // namespace stageline::artifacts
