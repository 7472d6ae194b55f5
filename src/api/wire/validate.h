// api/wire/validate: the two passes AWS makes over a request body, and the
// check our own responses go through.
//
//   decode_input    JSON types against the input shape (AWS's
//                   deserializer): a wrong type is a SerializationException
//                   and stops there. Normalizes on the way: members that are
//                   null are dropped, unknown members are dropped with a
//                   warning, fractional numbers for integers are floored,
//                   "true"/"false" strings for booleans become booleans.
//   validate_input  constraints (AWS's validator): required, length, value
//                   range, pattern, enum, collection members; every problem
//                   with its path, in model order, at most
//                   kMaxValidationErrors, in AWS's words.
//   check_output    a response value against the output shape: member
//                   names exact (catches nextToken vs NextToken), types,
//                   timestamps as numbers, required members, enum values, no
//                   nulls.
//
// Pure functions of the model and the JSON; thread-safe.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "api/wire/errors.h"
#include "api/wire/model.h"

namespace stageline::wire {

// AWS lists at most this many problems in one ValidationException (see
// wire.h for the evidence).
inline constexpr size_t kMaxValidationErrors = 10;

struct DecodedInput {
  boost::json::object input;          // normalized
  std::vector<std::string> warnings;  // e.g. "ignored unknown member 'pipeline.foo'"
};

// `shape` may be null (an operation without input): any object decodes to
// {} with a warning per member. REQUIRES: nothing; `body` may be any JSON.
Outcome<DecodedInput> decode_input(const Shape* shape, boost::json::value body);

// The constraint messages for a decoded input, e.g. "Value 'x y' at
// 'pipeline.stages.1.member.name' failed to satisfy constraint: Member must
// satisfy regular expression pattern: [A-Za-z0-9.@\-_]+". Empty when valid.
// REQUIRES: `input` came from decode_input with the same shape.
std::vector<std::string> validate_input(const Shape* shape, const boost::json::object& input);

// "1 validation error detected: ..." / "N validation errors detected: a; b".
// REQUIRES: !messages.empty().
std::string validation_message(const std::vector<std::string>& messages);

// Every way `value` departs from `shape` (null shape: must be an empty
// object), with JSON paths like "pipelines[0].created". Empty when it fits.
std::vector<std::string> check_output(const Shape* shape, const boost::json::value& value);

}  // namespace stageline::wire
