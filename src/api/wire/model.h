// api/wire/model: a botocore service model (service-2.json) parsed once into
// shapes and operations the dispatcher, the validator and the output checker
// walk. Only what the JSON 1.1 wire needs is kept: shape types, members in
// model order, required, min/max, pattern, enum, list member, map key/value,
// timestampFormat, locationName, sensitive, and the error traits of exception
// shapes. Documentation is kept for the pattern examples in tests only.
//
// Immutable after parse(): safe to share between threads. Shapes and
// operations live as long as the ServiceModel; the pointers between them
// stay valid when the model is moved.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire/pattern.h"
#include "base/status.h"

namespace stageline::wire {

enum class ShapeType {
  kStructure,
  kList,
  kMap,
  kString,
  kInteger,  // 32-bit
  kLong,     // 64-bit
  kFloat,
  kDouble,
  kBoolean,
  kTimestamp,
  kBlob,      // base64 on the wire
  kDocument,  // any JSON (structure with "document": true)
};

std::string_view to_string(ShapeType type);

// A bound from the model's "min"/"max": an integer, or a real number for
// float/double shapes. Rendered in messages the way AWS does ("1", "1.0").
struct Bound {
  bool integral = true;
  int64_t i = 0;
  double d = 0;

  double as_double() const { return integral ? static_cast<double>(i) : d; }
  std::string to_string() const;
};

struct Shape;

struct Member {
  std::string name;  // the member name, exactly as on the wire
  const Shape* shape = nullptr;
  bool required = false;
  std::string location_name;  // botocore "locationName" when present
  bool idempotency_token = false;
};

struct Shape {
  std::string name;
  ShapeType type = ShapeType::kString;
  std::vector<Member> members;  // structures, in model order
  const Shape* list_member = nullptr;
  const Shape* map_key = nullptr;
  const Shape* map_value = nullptr;
  // Length for strings, blobs, lists and maps; value for numbers.
  std::optional<Bound> min;
  std::optional<Bound> max;
  std::optional<Pattern> pattern;
  std::vector<std::string> enum_values;
  std::string timestamp_format;  // "" (the protocol default), "iso8601", ...
  bool sensitive = false;
  bool is_union = false;
  bool exception = false;
  bool fault = false;
  std::optional<int> http_status;  // "error": {"httpStatusCode": ...}
  std::string error_code;          // "error": {"code": ...} when it differs
  std::string documentation;

  const Member* find_member(std::string_view name) const;
  bool is_scalar() const;
};

struct Operation {
  std::string name;
  const Shape* input = nullptr;   // null: the operation takes no input
  const Shape* output = nullptr;  // null: the operation returns nothing
  std::vector<const Shape*> errors;
};

struct ServiceMetadata {
  std::string service_id;       // "CodePipeline"
  std::string endpoint_prefix;  // "codepipeline" (also the SigV4 name)
  std::string signing_name;     // "signingName", else endpoint_prefix
  std::string api_version;      // "2015-07-09"
  std::string protocol;         // "json"
  std::string json_version;     // "1.1"
  std::string target_prefix;    // "CodePipeline_20150709"
};

class ServiceModel {
 public:
  // Parses botocore's service-2.json. Fails with kInvalidArgument naming the
  // shape or operation when the model is malformed (a dangling shape
  // reference, an unknown type, a non-json protocol). Patterns that cannot be
  // translated do not fail the parse: see Pattern::fidelity().
  static Result<ServiceModel> parse(std::string_view json);

  ServiceModel(ServiceModel&&) = default;
  ServiceModel& operator=(ServiceModel&&) = default;

  const ServiceMetadata& metadata() const { return metadata_; }
  const Operation* find_operation(std::string_view name) const;
  const Shape* find_shape(std::string_view name) const;
  // Operations in name order.
  std::vector<const Operation*> operations() const;
  // Every shape in name order.
  std::vector<const Shape*> shapes() const;

  // Treats `shape` as sensitive: its values are never echoed in validation
  // messages. For shapes AWS redacts although botocore does not mark them
  // (see codepipeline_model() in embedded.h). REQUIRES: the shape exists.
  void mark_sensitive(std::string_view shape);

 private:
  ServiceModel() = default;

  ServiceMetadata metadata_;
  std::map<std::string, std::unique_ptr<Shape>, std::less<>> shapes_;
  std::map<std::string, std::unique_ptr<Operation>, std::less<>> operations_;
};

}  // namespace stageline::wire
