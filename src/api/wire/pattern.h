// api/wire/pattern: botocore "pattern" constraints, which are Java regular
// expressions (AWS services validate with java.util.regex), translated to
// std::wregex (ECMAScript) over UTF-32 and compiled once.
//
// Matching is whole-string (Pattern.matches), as AWS does: the cfn-lint issue
// quoted in reference §1.4 shows 'x y' rejected by [A-Za-z0-9.@\-_]+ although
// 'x' alone would match somewhere inside it.
//
// Translation (pattern.cc has the details):
//   exact        character classes with nested classes, && intersection and
//                negation are computed as code point sets; \d \w \s \h \v and
//                their negations with Java's ASCII meaning; . without line
//                terminators; \x \u \Q..\E escapes; \A \z; POSIX \p{Alpha}..;
//                (?: (?= (?! (?<name> groups; a leading (?i).
//   approximate  (accepts a superset of what Java accepts) Unicode categories
//                \p{L} \p{N} \p{Z} \p{M} \p{P} \p{S} and their subcategories
//                use range tables that are exact for ASCII and Latin-1 and
//                cover the main scripts beyond; possessive quantifiers and
//                atomic groups become greedy ones; lookbehind is dropped.
//   unenforced   anything else (inline flags other than a leading (?i), \R,
//                \G, \X, back references to named groups, or a pattern
//                std::regex refuses): never crashes, matches everything, and
//                is listed by the pattern test so it cannot go unnoticed.
#pragma once

#include <memory>
#include <regex>
#include <string>
#include <string_view>

namespace stageline::wire {

enum class PatternFidelity { kExact, kApproximate, kUnenforced };

class Pattern {
 public:
  // Translates and compiles `java_pattern` (UTF-8). Never throws.
  static Pattern compile(std::string_view java_pattern);

  // The pattern as the model spells it, for messages.
  const std::string& source() const { return source_; }
  PatternFidelity fidelity() const { return fidelity_; }
  // Why the pattern is approximate or unenforced; "" when exact.
  const std::string& note() const { return note_; }
  // The ECMAScript translation (UTF-8), for tests and diagnostics.
  std::string translation() const;

  // Whether the whole of `value` (UTF-8) matches. Invalid UTF-8 never
  // matches. An unenforced pattern matches everything. Values longer than
  // kMaxMatchLength code points are not matched at all (true): libstdc++'s
  // regex recurses per character and would exhaust the stack; every string
  // shape with a pattern in the embedded models has a smaller max length,
  // which is checked first.
  bool matches(std::string_view value) const;

  static constexpr size_t kMaxMatchLength = 10000;

 private:
  std::string source_;
  PatternFidelity fidelity_ = PatternFidelity::kUnenforced;
  std::string note_;
  std::wstring ecmascript_;
  std::shared_ptr<const std::wregex> regex_;
};

// UTF-8 to UTF-32; false on invalid UTF-8 (overlong forms, surrogates, or
// code points past U+10FFFF included).
bool decode_utf8(std::string_view in, std::u32string* out);
// Number of code points in valid UTF-8 (bytes that do not start a code point
// are not counted).
size_t utf8_length(std::string_view s);

}  // namespace stageline::wire
