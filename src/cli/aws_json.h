// cli/aws_json: JSON text exactly as the aws CLI (v1, default settings) prints
// an operation's output, so that `stageline get-pipeline ...` and `aws
// codepipeline get-pipeline ...` print the same bytes. The aws CLI runs
// Python's json.dump(output, indent=4, ensure_ascii=False) and adds a newline;
// its default cli_timestamp_format "none" leaves timestamps as the numbers the
// service sent, so numbers print as Python prints int and float.
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "api/wire/model.h"

namespace stageline::cli {

// `value` as Python's json.dumps(value, indent=4, ensure_ascii=False): members
// in the object's order, ", " never at line ends, ": " after keys, empty
// containers as {} and [], strings with only '"', '\\' and control characters
// escaped (\n, \t, ... or \u00XX), doubles as Python's repr. No final newline.
std::string format_aws_json(const boost::json::value& value);

// A double as Python's repr(float): the shortest digits that read back the same,
// fixed notation for exponents -4..15 (always with a fractional part, "5.0"),
// otherwise "1e+16" / "1.5e-05". Infinity and NaN as json.dumps writes them.
std::string python_float_repr(double d);

// `value` as Python's json.dumps(value) with default arguments (compact
// separators ", " and ": ", ASCII only): the form botocore base64-encodes in
// pagination tokens.
std::string python_compact_json(const boost::json::value& value);

// `value` as botocore's parser hands it to the aws CLI: the members of every
// structure in the model's order (not the order the server sent), members the
// model does not know dropped, lists and maps walked into. `shape` null: the
// value unchanged.
boost::json::value order_like_botocore(const wire::Shape* shape, boost::json::value value);

}  // namespace stageline::cli
