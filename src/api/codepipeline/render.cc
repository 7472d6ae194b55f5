#include "api/codepipeline/render.h"

#include <chrono>

#include "api/wire/json_text.h"

namespace stageline::api {

namespace json = boost::json;

std::string str(const json::object& in, std::string_view key) {
  const json::value* v = in.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<std::string> opt_str(const json::object& in, std::string_view key) {
  const json::value* v = in.if_contains(key);
  if (v && v->is_string()) return std::string(v->as_string());
  return std::nullopt;
}

const json::object* obj(const json::object& in, std::string_view key) {
  const json::value* v = in.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

json::value ts(model::TimestampMs ms) {
  return wire::epoch_seconds(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

std::string clip(std::string_view s, size_t max) {
  size_t points = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (points == max) return std::string(s.substr(0, i));
    ++points;
  }
  return std::string(s);
}

void put_nonempty(json::object& out, std::string_view key, std::string_view s, size_t max) {
  if (s.empty()) return;
  out[key] = max ? clip(s, max) : std::string(s);
}

json::object encode_action_type_id(const model::ActionTypeId& id) {
  return {{"category", model::to_string(id.category)},
          {"owner", model::to_string(id.owner)},
          {"provider", id.provider},
          {"version", id.version}};
}

std::optional<model::ActionTypeId> decode_action_type_id(const json::object& in) {
  auto category = model::parse_enum<model::ActionCategory>(str(in, "category"));
  std::optional<model::ActionOwner> owner = model::ActionOwner::kCustom;
  if (in.contains("owner")) owner = model::parse_enum<model::ActionOwner>(str(in, "owner"));
  if (!category || !owner) return std::nullopt;
  model::ActionTypeId id;
  id.category = *category;
  id.owner = *owner;
  id.provider = str(in, "provider");
  id.version = str(in, "version");
  return id;
}

json::object encode_string_map(const model::StringMap& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

json::object error_details(const std::string& code, const std::string& message) {
  json::object o;
  put_nonempty(o, "code", code);
  put_nonempty(o, "message", message, 5000);
  return o;
}

}  // namespace stageline::api
