// model/pipeline_json: the JSON codec of the pipeline declaration, with the
// API's exact member names and enum strings (Boost.JSON). Decoding never
// throws and never stops at the first error: every problem is collected with
// its path, and whatever could be read is kept, so that validation can report
// all problems at once. Encoding writes only present members, as AWS does.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "model/pipeline.h"

namespace stageline::model {

struct DecodeError {
  enum class Kind {
    kMissing,        // a required member is absent (ValidationException: must not be null)
    kEnum,           // a string outside the enum (ValidationException)
    kType,           // the wrong JSON type (SerializationException)
    kUnknownMember,  // a member the shape does not have (SerializationException)
  };
  Kind kind;
  std::string path;     // stages[1].actions[0].runOrder
  std::string message;  // full sentence, AWS's style for kMissing and kEnum
  std::string fix;
};

template <typename T>
struct Decoded {
  T value{};
  std::vector<DecodeError> errors;
  bool ok() const { return errors.empty(); }
};

// `path` is where `json` sits in the document; "" for the declaration itself.
Decoded<PipelineDeclaration> decode_pipeline(const boost::json::value& json,
                                             const std::string& path = "");
Decoded<std::vector<Tag>> decode_tags(const boost::json::value& json, const std::string& path);

boost::json::value encode_pipeline(const PipelineDeclaration& pipeline);
boost::json::value encode_tags(const std::vector<Tag>& tags);

// The members each decoder accepts, keyed by the botocore shape name
// ("ActionDeclaration" -> {"name", "actionTypeId", ...}). The same table the
// decoder checks unknown members against; the model-coverage test compares it
// with the botocore model.
const std::map<std::string, std::vector<std::string>>& decoded_shapes();

// AWS's ("Coral") spelling of a path for validation messages: 1-based list
// indexes with ".member": stages[1].actions[0].name ->
// pipeline.stages.2.member.actions.1.member.name (with `root` "pipeline").
std::string coral_path(std::string_view path, std::string_view root = "pipeline");

}  // namespace stageline::model
