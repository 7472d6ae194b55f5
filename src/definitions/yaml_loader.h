// definitions/yaml_loader: reads one YAML document (a CloudFormation template,
// a buildspec) into Boost.JSON, with the source line of every value, the
// CloudFormation short-form tags turned into their long form, and limits that
// keep hostile input from exhausting memory or the stack.
#pragma once

#include <cstddef>
#include <string_view>

#include "base/status.h"
#include "definitions/source_map.h"

namespace stageline::definitions {

// Bounds on what load_yaml accepts. The defaults fit any real template
// (CloudFormation itself stops at 1 MB) with a wide margin.
struct YamlLimits {
  size_t max_bytes = 5 * 1024 * 1024;          // input size
  int max_depth = 64;                          // nesting of collections
  size_t max_nodes = 1'000'000;                // values produced, aliases expanded
  size_t max_output_bytes = 64 * 1024 * 1024;  // scalar bytes produced, aliases expanded
};

// Converts the single YAML document in `text` to JSON. The SourceMap gives the
// 1-based line of every value by path, rooted at "" ("Resources",
// "Resources.Pipeline.Properties.Stages[1].Actions[0].Name"); a mapping member
// has the line of its key.
//
// - Short-form tags become long form: `!Ref X` -> {"Ref": "X"}, `!GetAtt A.B`
//   and `!GetAtt [A, B]` -> {"Fn::GetAtt": ["A", "B"]}, `!Sub`, `!Join`, ...
//   -> {"Fn::Sub": ...}, `!Condition X` -> {"Condition": "X"}.
// - Plain scalars resolve as CloudFormation's YAML 1.1 parser does: true/false
//   (also yes/no/on/off, any of the three usual casings) are booleans,
//   null/~/empty are null, decimal integers that fit int64 and decimal floats
//   are numbers; anything else (0123, 1_000, 0x1F, .inf) stays a string.
//   Quoted and block scalars are always strings. `!!str` and friends apply.
// - `<<` merge keys are applied (keys already present win). Anchors and
//   aliases work; aliases are expanded, so a document cannot reference itself.
//
// Errors (kInvalidArgument) carry "line N, column M: <reason>" where the
// position is known: input over limits.max_bytes, bytes that are not UTF-8 or
// are control characters, a tab used for indentation, nesting deeper than
// limits.max_depth, more than limits.max_nodes values or limits.max_output_bytes
// of scalars once aliases are expanded, more than one document, duplicate keys,
// non-scalar keys, unknown `!Tag`s, and every syntax error yaml-cpp reports.
// Never throws. Thread-safe (no shared state).
Result<LocatedJson> load_yaml(std::string_view text, const YamlLimits& limits = {});

}  // namespace stageline::definitions
