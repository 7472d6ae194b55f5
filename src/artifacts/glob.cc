#include "artifacts/glob.h"

#include "base/strings.h"

namespace stageline::artifacts {

namespace {

using Token = Glob::Token;
using Kind = Token::Kind;
using Tokens = std::vector<Token>;

constexpr size_t kMaxExpansions = 1024;

Token literal(char c) {
  Token t;
  t.c = c;
  return t;
}

Token of_kind(Kind kind) {
  Token t;
  t.kind = kind;
  return t;
}

// Parses "[...]" starting at pattern[i] == '['; leaves i on the closing ']'.
Result<Token> parse_set(std::string_view pattern, size_t& i) {
  Token t = of_kind(Kind::kSet);
  size_t j = i + 1;
  if (j < pattern.size() && pattern[j] == '!') {
    t.negated = true;
    ++j;
  }
  for (; j < pattern.size() && pattern[j] != ']'; ++j) {
    char lo = pattern[j];
    // '-' is literal first or last; otherwise it makes a range.
    if (j + 2 < pattern.size() && pattern[j + 1] == '-' && pattern[j + 2] != ']') {
      char hi = pattern[j + 2];
      if (hi < lo) {
        return Status::invalid("glob " + quote(pattern) + ": the range " +
                               quote(std::string{lo, '-', hi}) + " is reversed");
      }
      t.ranges.emplace_back(lo, hi);
      j += 2;
    } else {
      t.ranges.emplace_back(lo, lo);
    }
  }
  if (j >= pattern.size()) return Status::invalid("glob " + quote(pattern) + ": '[' is not closed");
  if (t.ranges.empty()) return Status::invalid("glob " + quote(pattern) + ": '[]' is an empty set");
  i = j;
  return t;
}

// After brace expansion: "**" directly after the start or a '/' and directly
// before a '/' is the "zero or more directories" token, which takes the '/'.
Tokens mark_directory_stars(Tokens tokens) {
  Tokens out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    bool at_segment_start =
        out.empty() || (out.back().kind == Kind::kLiteral && out.back().c == '/');
    if (tokens[i].kind == Kind::kDoubleStar && at_segment_start && i + 1 < tokens.size() &&
        tokens[i + 1].kind == Kind::kLiteral && tokens[i + 1].c == '/') {
      out.push_back(of_kind(Kind::kDirectories));
      ++i;
      continue;
    }
    out.push_back(tokens[i]);
  }
  return out;
}

bool in_set(const Token& t, char c) {
  bool found = false;
  for (auto [lo, hi] : t.ranges) {
    if (c >= lo && c <= hi) found = true;
  }
  return found != t.negated;
}

// dp over (token, position), from the last token back: O(tokens * |path|).
bool match_tokens(const Tokens& tokens, std::string_view path) {
  size_t n = path.size();
  std::vector<char> next(n + 1, 0), cur(n + 1, 0);
  next[n] = 1;  // no tokens left matches only the end of the path
  for (size_t ti = tokens.size(); ti-- > 0;) {
    const Token& t = tokens[ti];
    std::fill(cur.begin(), cur.end(), 0);
    switch (t.kind) {
      case Kind::kLiteral:
        for (size_t j = 0; j < n; ++j) cur[j] = path[j] == t.c && next[j + 1];
        break;
      case Kind::kAnyChar:
        for (size_t j = 0; j < n; ++j) cur[j] = path[j] != '/' && next[j + 1];
        break;
      case Kind::kSet:
        for (size_t j = 0; j < n; ++j) cur[j] = path[j] != '/' && in_set(t, path[j]) && next[j + 1];
        break;
      case Kind::kStar:
        cur[n] = next[n];
        for (size_t j = n; j-- > 0;) cur[j] = next[j] || (path[j] != '/' && cur[j + 1]);
        break;
      case Kind::kDoubleStar:
        cur[n] = next[n];
        for (size_t j = n; j-- > 0;) cur[j] = next[j] || cur[j + 1];
        break;
      case Kind::kDirectories: {
        // Empty, or any run of characters that ends with '/'.
        bool ends_at_slash_later = false;  // some k > j with path[k-1] == '/' && next[k]
        cur[n] = next[n];
        for (size_t j = n; j-- > 0;) {
          if (path[j] == '/' && next[j + 1]) ends_at_slash_later = true;
          cur[j] = next[j] || ends_at_slash_later;
        }
        break;
      }
    }
    std::swap(cur, next);
  }
  return next[0];
}

}  // namespace

Result<Glob> Glob::parse(std::string_view pattern) {
  Glob glob;
  glob.pattern_ = std::string(pattern);
  std::string_view p = pattern;
  while (starts_with(p, "./")) p.remove_prefix(2);
  if (p.empty()) return Status::invalid("glob " + quote(pattern) + " is empty");
  if (p.front() == '/') {
    return Status::invalid("glob " + quote(pattern) +
                           " is absolute; patterns are relative to the artifact's directory");
  }
  if (p.back() == '/' && !(p.size() >= 2 && p[p.size() - 2] == '\\')) {
    glob.directory_ = true;
  }

  // Sequence of pieces: each piece is a list of alternatives (one for plain
  // tokens). Expanded into a product at the end.
  std::vector<std::vector<Tokens>> pieces;
  auto add = [&](Token t) { pieces.push_back({Tokens{std::move(t)}}); };
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 == p.size()) return Status::invalid("glob " + quote(pattern) + " ends with '\\'");
      add(literal(p[++i]));
    } else if (c == '*') {
      if (i + 1 < p.size() && p[i + 1] == '*') {
        ++i;
        while (i + 1 < p.size() && p[i + 1] == '*') ++i;  // "***" is "**"
        add(of_kind(Kind::kDoubleStar));
      } else {
        add(of_kind(Kind::kStar));
      }
    } else if (c == '?') {
      add(of_kind(Kind::kAnyChar));
    } else if (c == '[') {
      auto set = parse_set(p, i);
      if (!set.ok()) return set.status();
      add(std::move(*set));
    } else if (c == '{') {
      std::vector<Tokens> alternatives(1);
      size_t j = i + 1;
      for (; j < p.size() && p[j] != '}'; ++j) {
        if (p[j] == '{') {
          return Status::invalid("glob " + quote(pattern) + ": '{' groups cannot nest");
        }
        if (p[j] == ',') {
          alternatives.emplace_back();
        } else if (p[j] == '\\' && j + 1 < p.size()) {
          alternatives.back().push_back(literal(p[++j]));
        } else if (p[j] == '*') {
          if (j + 1 < p.size() && p[j + 1] == '*') {
            ++j;
            alternatives.back().push_back(of_kind(Kind::kDoubleStar));
          } else {
            alternatives.back().push_back(of_kind(Kind::kStar));
          }
        } else if (p[j] == '?') {
          alternatives.back().push_back(of_kind(Kind::kAnyChar));
        } else if (p[j] == '[') {
          auto set = parse_set(p, j);
          if (!set.ok()) return set.status();
          alternatives.back().push_back(std::move(*set));
        } else {
          alternatives.back().push_back(literal(p[j]));
        }
      }
      if (j >= p.size()) return Status::invalid("glob " + quote(pattern) + ": '{' is not closed");
      pieces.push_back(std::move(alternatives));
      i = j;
    } else {
      add(literal(c));
    }
  }

  std::vector<Tokens> expanded(1);
  for (const auto& piece : pieces) {
    if (expanded.size() * piece.size() > kMaxExpansions) {
      return Status::invalid("glob " + quote(pattern) + " expands to more than " +
                             std::to_string(kMaxExpansions) + " alternatives");
    }
    std::vector<Tokens> grown;
    for (const auto& prefix : expanded) {
      for (const auto& alternative : piece) {
        Tokens t = prefix;
        t.insert(t.end(), alternative.begin(), alternative.end());
        grown.push_back(std::move(t));
      }
    }
    expanded = std::move(grown);
  }
  for (auto& tokens : expanded)
    glob.alternatives_.push_back(mark_directory_stars(std::move(tokens)));
  return glob;
}

bool Glob::match(std::string_view path) const {
  for (const auto& tokens : alternatives_) {
    if (match_tokens(tokens, path)) return true;
  }
  return false;
}

bool Glob::matches_file(std::string_view path) const {
  STAGELINE_CHECK(!directory_);
  return match(path);
}

bool Glob::matches_directory(std::string_view path) const {
  STAGELINE_CHECK(directory_);
  return match(std::string(path) + "/");
}

Result<std::vector<Glob>> parse_globs(const std::vector<std::string>& patterns) {
  std::vector<Glob> out;
  std::vector<std::string> errors;
  for (const auto& pattern : patterns) {
    auto glob = Glob::parse(pattern);
    if (glob.ok()) {
      out.push_back(std::move(*glob));
    } else {
      errors.push_back(glob.status().message());
    }
  }
  if (!errors.empty()) return Status::invalid(join(errors, "; "));
  if (out.empty()) return Status::invalid("no glob patterns: at least one is needed, e.g. '**/*'");
  return out;
}

}  // namespace stageline::artifacts
