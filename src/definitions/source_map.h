// definitions/source_map: a JSON value together with the source line of each
// of its members, so that a problem found on the decoded model can point back
// into the file it came from (JSON, YAML or a CloudFormation template).
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <unordered_map>

namespace stageline::definitions {

// Path syntax, shared by problems and source maps: members joined with '.',
// list items as [i] (0-based), and map keys that are not plain words as
// ["key"]: stages[1].actions[0].configuration.ProjectName.
std::string path_member(std::string_view parent, std::string_view key);
std::string path_index(std::string_view parent, size_t index);

class SourceMap {
 public:
  void set(std::string path, int line) { lines_[std::move(path)] = line; }

  // The line of `path`, or of its nearest recorded ancestor; 0 when none.
  int line_of(std::string_view path) const;

  // Copies every entry under `from` (inclusive) to the same relative path under `to`.
  void copy_subtree(const SourceMap& source, std::string_view from, std::string_view to);

  // Records `line` for `path` unless it already has one.
  void set_if_absent(const std::string& path, int line) { lines_.emplace(path, line); }

  bool empty() const { return lines_.empty(); }
  size_t size() const { return lines_.size(); }

 private:
  std::unordered_map<std::string, int> lines_;
};

struct LocatedJson {
  boost::json::value value;
  SourceMap lines;
};

}  // namespace stageline::definitions
