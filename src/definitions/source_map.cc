#include "definitions/source_map.h"

#include <cctype>

namespace stageline::definitions {

namespace {
bool plain_word(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '_' && c != '-' && c != '@' && c != ':') return false;
  }
  return true;
}
}  // namespace

std::string path_member(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (plain_word(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += "[\"";
    for (char c : key) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"]";
  }
  return out;
}

std::string path_index(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

int SourceMap::line_of(std::string_view path) const {
  std::string p(path);
  while (true) {
    auto it = lines_.find(p);
    if (it != lines_.end()) return it->second;
    if (p.empty()) return 0;
    // Strip the last component: a trailing [..] or .member.
    size_t cut = std::string::npos;
    if (p.back() == ']') {
      cut = p.rfind('[');
      // ["key"] may itself contain '['; good enough for lines.
    } else {
      size_t dot = p.rfind('.');
      size_t br = p.rfind(']');
      if (dot != std::string::npos && (br == std::string::npos || dot > br))
        cut = dot;
      else if (br != std::string::npos)
        cut = br + 1;
      else
        cut = 0;
    }
    if (cut == std::string::npos) cut = 0;
    p.resize(cut);
  }
}

void SourceMap::copy_subtree(const SourceMap& source, std::string_view from, std::string_view to) {
  for (const auto& [path, line] : source.lines_) {
    if (path.compare(0, from.size(), from) != 0) continue;
    std::string_view rest = std::string_view(path).substr(from.size());
    if (!rest.empty() && rest[0] != '.' && rest[0] != '[') continue;
    std::string dst(to);
    if (dst.empty() && !rest.empty() && rest[0] == '.') rest.remove_prefix(1);
    dst += rest;
    lines_[dst] = line;
  }
}

}  // namespace stageline::definitions
