// base/strings: small string utilities shared by every module.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stageline {

// Levenshtein distance between `a` and `b`, compared case-insensitively when
// `ignore_case`. O(|a|*|b|) time, O(|b|) memory.
size_t edit_distance(std::string_view a, std::string_view b, bool ignore_case = false);

// The candidate closest to `word` (case-insensitive match first, then the
// smallest edit distance), or "" when none is close enough to be a useful
// suggestion (distance more than a third of the longer word, at least 2).
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
bool starts_with(std::string_view s, std::string_view prefix);
std::vector<std::string> split(std::string_view s, char sep);

// Quotes `s` for a message: 'value', with control characters escaped and
// anything past `max` bytes elided, so hostile input cannot garble output.
std::string quote(std::string_view s, size_t max = 200);

}  // namespace stageline
