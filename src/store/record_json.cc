#include "store/record_json.h"

#include <boost/json.hpp>

#include "model/pipeline_json.h"

namespace stageline::store {
namespace {

namespace json = boost::json;

Result<json::value> parse(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value value = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return Status::internal("stored " + std::string(what) + " is not JSON: " + ec.message());
  return value;
}

Status not_shaped(std::string_view what, std::string_view expected) {
  return Status::internal("stored " + std::string(what) + " is not " + std::string(expected));
}

// The string member `key` of `object`, or nullptr if absent or not a string.
const json::string* string_member(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(json::string_view(key.data(), key.size()));
  return v != nullptr ? v->if_string() : nullptr;
}

std::string to_std(const json::string& s) { return std::string(s.data(), s.size()); }

// Reads `text` as an array of objects with the string members `keys`, and
// makes each element with `fill` (the members' values, in `keys` order). A
// key ending in '?' is optional: "" when absent (rows written before it).
template <typename T, typename Fill>
Result<std::vector<T>> decode_array_of_string_objects(std::string_view text, std::string_view what,
                                                      const std::vector<std::string_view>& keys,
                                                      Fill fill) {
  auto value = parse(text, what);
  if (!value.ok()) return value.status();
  const json::array* array = value->if_array();
  if (array == nullptr) return not_shaped(what, "an array");
  std::vector<T> out;
  out.reserve(array->size());
  for (const json::value& element : *array) {
    const json::object* object = element.if_object();
    if (object == nullptr) return not_shaped(what, "an array of objects");
    std::vector<std::string> fields;
    for (std::string_view key : keys) {
      bool optional = key.ends_with('?');
      if (optional) key.remove_suffix(1);
      const json::string* s = string_member(*object, key);
      if (s == nullptr && optional) {
        fields.emplace_back();
        continue;
      }
      if (s == nullptr) return not_shaped(what, "complete: '" + std::string(key) + "' is missing");
      fields.push_back(to_std(*s));
    }
    out.push_back(fill(std::move(fields)));
  }
  return out;
}

std::string first_error(const std::vector<model::DecodeError>& errors) {
  const auto& e = errors.front();
  return (e.path.empty() ? std::string("(top)") : e.path) + ": " + e.message;
}

}  // namespace

std::string encode_declaration_json(const model::PipelineDeclaration& declaration) {
  return json::serialize(model::encode_pipeline(declaration));
}

Result<model::PipelineDeclaration> decode_declaration_json(std::string_view text) {
  auto value = parse(text, "pipeline declaration");
  if (!value.ok()) return value.status();
  auto decoded = model::decode_pipeline(*value);
  if (!decoded.ok())
    return Status::internal("stored pipeline declaration does not decode: " +
                            first_error(decoded.errors));
  return std::move(decoded.value);
}

std::string encode_tags_json(const std::vector<model::Tag>& tags) {
  return json::serialize(model::encode_tags(tags));
}

Result<std::vector<model::Tag>> decode_tags_json(std::string_view text) {
  auto value = parse(text, "tags");
  if (!value.ok()) return value.status();
  auto decoded = model::decode_tags(*value, "tags");
  if (!decoded.ok())
    return Status::internal("stored tags do not decode: " + first_error(decoded.errors));
  return std::move(decoded.value);
}

std::string encode_variables_json(const std::vector<model::ResolvedVariable>& variables) {
  json::array array;
  for (const auto& v : variables)
    array.push_back(json::object{{"name", v.name}, {"resolvedValue", v.resolved_value}});
  return json::serialize(array);
}

Result<std::vector<model::ResolvedVariable>> decode_variables_json(std::string_view text) {
  return decode_array_of_string_objects<model::ResolvedVariable>(
      text, "variables", {"name", "resolvedValue"}, [](std::vector<std::string> f) {
        return model::ResolvedVariable{std::move(f[0]), std::move(f[1])};
      });
}

std::string encode_source_revisions_json(const std::vector<model::SourceRevision>& revisions) {
  json::array array;
  for (const auto& r : revisions) {
    json::object o{{"actionName", r.action_name},
                   {"revisionId", r.revision_id},
                   {"revisionSummary", r.revision_summary},
                   {"revisionUrl", r.revision_url}};
    if (!r.revision_type.empty()) o["revisionType"] = r.revision_type;
    array.push_back(std::move(o));
  }
  return json::serialize(array);
}

Result<std::vector<model::SourceRevision>> decode_source_revisions_json(std::string_view text) {
  return decode_array_of_string_objects<model::SourceRevision>(
      text, "source revisions",
      {"actionName", "revisionId", "revisionSummary", "revisionUrl", "revisionType?"},
      [](std::vector<std::string> f) {
        return model::SourceRevision{std::move(f[0]), std::move(f[1]), std::move(f[2]),
                                     std::move(f[3]), std::move(f[4])};
      });
}

std::string encode_string_array_json(const std::vector<std::string>& values) {
  json::array array;
  for (const auto& v : values) array.emplace_back(v);
  return json::serialize(array);
}

std::string encode_string_map_json(const std::map<std::string, std::string>& map) {
  json::object object;
  for (const auto& [key, value] : map) object[key] = value;
  return json::serialize(object);
}

Result<std::map<std::string, std::string>> decode_string_map_json(std::string_view text) {
  auto value = parse(text, "map");
  if (!value.ok()) return value.status();
  const json::object* object = value->if_object();
  if (object == nullptr) return not_shaped("map", "an object");
  std::map<std::string, std::string> out;
  for (const auto& member : *object) {
    const json::string* s = member.value().if_string();
    if (s == nullptr) return not_shaped("map", "an object of strings");
    out.emplace(std::string(member.key()), to_std(*s));
  }
  return out;
}

}  // namespace stageline::store
