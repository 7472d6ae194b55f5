// definitions/json_reader: strict JSON (RFC 8259, as the AWS API takes it)
// into a LocatedJson: the value plus the line of every member, so problems
// found later point at the file. Duplicate member names, which JSON parsers
// silently resolve, are reported as problems.
#pragma once

#include <string_view>

#include "base/status.h"
#include "definitions/problem.h"
#include "definitions/source_map.h"

namespace stageline::definitions {

constexpr size_t kMaxDefinitionBytes = 5 * 1024 * 1024;
constexpr unsigned kMaxJsonDepth = 64;

struct JsonDocument {
  LocatedJson json;
  Problems problems;  // duplicate keys
};

// Fails (kInvalidArgument) with "line L, column C: reason" on a syntax error,
// input over kMaxDefinitionBytes or nesting deeper than kMaxJsonDepth.
Result<JsonDocument> load_json(std::string_view text);

}  // namespace stageline::definitions
