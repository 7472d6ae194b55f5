// api/codepipeline/render: small helpers shared by the operation files:
// reading members of a validated input and writing AWS's output values.
// Internal to this module.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/wire/errors.h"
#include "api/wire/model.h"
#include "model/execution.h"
#include "model/pipeline.h"

namespace stageline::api {

// A string member of a validated input, or "" when absent.
std::string str(const boost::json::object& in, std::string_view key);
std::optional<std::string> opt_str(const boost::json::object& in, std::string_view key);
// An object member, or nullptr.
const boost::json::object* obj(const boost::json::object& in, std::string_view key);

// A timestamp member: epoch seconds with milliseconds (wire::epoch_seconds).
boost::json::value ts(model::TimestampMs ms);

// `s` cut to at most `max` code points at a UTF-8 boundary (output shapes
// such as ExecutionSummary have a maximum length).
std::string clip(std::string_view s, size_t max);

// Sets out[key] = s only when s is not empty (absent optional members are
// omitted, never null; most of these shapes have a minimum length of 1).
void put_nonempty(boost::json::object& out, std::string_view key, std::string_view s,
                  size_t max = 0);

boost::json::object encode_action_type_id(const model::ActionTypeId& id);
// {category, owner, provider, version} of a validated input (ActionTypeId,
// ActionTypeIdentifier, GetActionType's input); owner Custom when absent
// (CreateCustomActionType has none). nullopt if category or owner is not one
// of the enum's values.
std::optional<model::ActionTypeId> decode_action_type_id(const boost::json::object& in);

// The `tags` member of CreatePipeline or CreateCustomActionType, decoded and
// validated (none when absent), or the error to answer with
// (InvalidTagsException, TooManyTagsException, ValidationException).
// Defined in pipelines.cc.
wire::Outcome<std::vector<model::Tag>> read_tags(const boost::json::object& in,
                                                 const wire::ServiceModel& model);
boost::json::object encode_string_map(const model::StringMap& m);
boost::json::object error_details(const std::string& code, const std::string& message);

}  // namespace stageline::api
