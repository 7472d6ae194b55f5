#include "api/wire/model.h"

#include <algorithm>
#include <boost/json.hpp>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace stageline::wire {

namespace json = boost::json;

std::string_view to_string(ShapeType type) {
  switch (type) {
    case ShapeType::kStructure:
      return "structure";
    case ShapeType::kList:
      return "list";
    case ShapeType::kMap:
      return "map";
    case ShapeType::kString:
      return "string";
    case ShapeType::kInteger:
      return "integer";
    case ShapeType::kLong:
      return "long";
    case ShapeType::kFloat:
      return "float";
    case ShapeType::kDouble:
      return "double";
    case ShapeType::kBoolean:
      return "boolean";
    case ShapeType::kTimestamp:
      return "timestamp";
    case ShapeType::kBlob:
      return "blob";
    case ShapeType::kDocument:
      return "document";
  }
  return "?";
}

std::string Bound::to_string() const {
  if (integral) return std::to_string(i);
  // Java's Double.toString for the values models use: "1.0", "0.5".
  char buf[64];
  if (d == std::floor(d) && std::fabs(d) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.1f", d);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", d);
    // Shortest form that reads back the same.
    for (int precision = 1; precision <= 17; ++precision) {
      char shorter[64];
      std::snprintf(shorter, sizeof shorter, "%.*g", precision, d);
      if (std::strtod(shorter, nullptr) == d) {
        return shorter;
      }
    }
  }
  return buf;
}

const Member* Shape::find_member(std::string_view n) const {
  for (const Member& m : members) {
    if (m.name == n) return &m;
  }
  return nullptr;
}

bool Shape::is_scalar() const {
  return type != ShapeType::kStructure && type != ShapeType::kList && type != ShapeType::kMap &&
         type != ShapeType::kDocument;
}

namespace {

std::string string_or(const json::object& o, std::string_view key, std::string fallback = "") {
  const json::value* v = o.if_contains(key);
  if (v && v->is_string()) return std::string(v->as_string());
  return fallback;
}

bool bool_or(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

std::optional<Bound> bound(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return std::nullopt;
  Bound b;
  if (v->is_int64()) {
    b.i = v->as_int64();
  } else if (v->is_uint64()) {
    b.i = static_cast<int64_t>(std::min<uint64_t>(v->as_uint64(), INT64_MAX));
  } else if (v->is_double()) {
    b.integral = false;
    b.d = v->as_double();
  } else {
    return std::nullopt;
  }
  return b;
}

std::optional<ShapeType> shape_type(std::string_view t) {
  if (t == "structure") return ShapeType::kStructure;
  if (t == "list") return ShapeType::kList;
  if (t == "map") return ShapeType::kMap;
  if (t == "string") return ShapeType::kString;
  if (t == "integer") return ShapeType::kInteger;
  if (t == "long") return ShapeType::kLong;
  if (t == "float") return ShapeType::kFloat;
  if (t == "double") return ShapeType::kDouble;
  if (t == "boolean") return ShapeType::kBoolean;
  if (t == "timestamp") return ShapeType::kTimestamp;
  if (t == "blob") return ShapeType::kBlob;
  return std::nullopt;
}

}  // namespace

Result<ServiceModel> ServiceModel::parse(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  json::value root = json::parse(text, ec, {}, options);
  if (ec) return Status::invalid("parse service model: " + ec.message());
  if (!root.is_object()) return Status::invalid("parse service model: not a JSON object");
  const json::object& top = root.as_object();
  const json::value* meta = top.if_contains("metadata");
  const json::value* shapes = top.if_contains("shapes");
  const json::value* operations = top.if_contains("operations");
  if (!meta || !meta->is_object() || !shapes || !shapes->is_object() || !operations ||
      !operations->is_object()) {
    return Status::invalid("parse service model: metadata, shapes and operations are required");
  }

  ServiceModel model;
  const json::object& m = meta->as_object();
  model.metadata_.service_id = string_or(m, "serviceId");
  model.metadata_.endpoint_prefix = string_or(m, "endpointPrefix");
  model.metadata_.signing_name = string_or(m, "signingName", model.metadata_.endpoint_prefix);
  model.metadata_.api_version = string_or(m, "apiVersion");
  model.metadata_.protocol = string_or(m, "protocol");
  model.metadata_.json_version = string_or(m, "jsonVersion", "1.0");
  model.metadata_.target_prefix = string_or(m, "targetPrefix");
  if (model.metadata_.protocol != "json") {
    return Status::invalid("parse service model " + model.metadata_.service_id + ": protocol '" +
                           model.metadata_.protocol + "' is not json");
  }
  if (model.metadata_.target_prefix.empty()) {
    return Status::invalid("parse service model " + model.metadata_.service_id +
                           ": no targetPrefix");
  }

  // Two passes: create every shape, then resolve references between them.
  for (const auto& [name, value] : shapes->as_object()) {
    if (!value.is_object())
      return Status::invalid("shape " + std::string(name) + ": not an object");
    auto shape = std::make_unique<Shape>();
    shape->name = std::string(name);
    model.shapes_.emplace(shape->name, std::move(shape));
  }
  auto resolve = [&](const json::value* ref, const std::string& where) -> Result<const Shape*> {
    if (!ref || !ref->is_object()) return Status::invalid(where + ": missing shape reference");
    const json::value* target = ref->as_object().if_contains("shape");
    if (!target || !target->is_string()) return Status::invalid(where + ": missing shape name");
    auto it = model.shapes_.find(std::string_view(target->as_string()));
    if (it == model.shapes_.end()) {
      return Status::invalid(where + ": unknown shape '" + std::string(target->as_string()) + "'");
    }
    return static_cast<const Shape*>(it->second.get());
  };

  for (const auto& [name, value] : shapes->as_object()) {
    const json::object& o = value.as_object();
    Shape& shape = *model.shapes_.find(std::string_view(name))->second;
    const std::string where = "shape " + shape.name;
    const std::string type = string_or(o, "type");
    if (bool_or(o, "document")) {
      shape.type = ShapeType::kDocument;
    } else if (auto t = shape_type(type)) {
      shape.type = *t;
    } else {
      return Status::invalid(where + ": unknown type '" + type + "'");
    }
    shape.min = bound(o, "min");
    shape.max = bound(o, "max");
    if (const json::value* p = o.if_contains("pattern"); p && p->is_string()) {
      shape.pattern = Pattern::compile(p->as_string());
    }
    if (const json::value* e = o.if_contains("enum"); e && e->is_array()) {
      for (const json::value& v : e->as_array()) {
        if (v.is_string()) shape.enum_values.emplace_back(v.as_string());
      }
    }
    shape.timestamp_format = string_or(o, "timestampFormat");
    shape.sensitive = bool_or(o, "sensitive");
    shape.is_union = bool_or(o, "union");
    shape.exception = bool_or(o, "exception");
    shape.fault = bool_or(o, "fault");
    shape.documentation = string_or(o, "documentation");
    if (const json::value* err = o.if_contains("error"); err && err->is_object()) {
      const json::object& eo = err->as_object();
      if (const json::value* s = eo.if_contains("httpStatusCode"); s && s->is_int64()) {
        shape.http_status = static_cast<int>(s->as_int64());
      }
      shape.error_code = string_or(eo, "code");
    }

    if (shape.type == ShapeType::kStructure) {
      std::vector<std::string> required;
      if (const json::value* r = o.if_contains("required"); r && r->is_array()) {
        for (const json::value& v : r->as_array()) {
          if (v.is_string()) required.emplace_back(v.as_string());
        }
      }
      if (const json::value* members = o.if_contains("members"); members && members->is_object()) {
        for (const auto& [member_name, ref] : members->as_object()) {
          Member member;
          member.name = std::string(member_name);
          auto target = resolve(&ref, where + " member " + member.name);
          if (!target.ok()) return target.status();
          member.shape = *target;
          member.required =
              std::find(required.begin(), required.end(), member.name) != required.end();
          member.location_name = string_or(ref.as_object(), "locationName");
          member.idempotency_token = bool_or(ref.as_object(), "idempotencyToken");
          shape.members.push_back(std::move(member));
        }
      }
      for (const std::string& r : required) {
        if (!shape.find_member(r)) {
          return Status::invalid(where + ": required member '" + r + "' is not a member");
        }
      }
    } else if (shape.type == ShapeType::kList) {
      auto member = resolve(o.if_contains("member"), where + " member");
      if (!member.ok()) return member.status();
      shape.list_member = *member;
    } else if (shape.type == ShapeType::kMap) {
      auto key = resolve(o.if_contains("key"), where + " key");
      if (!key.ok()) return key.status();
      auto val = resolve(o.if_contains("value"), where + " value");
      if (!val.ok()) return val.status();
      shape.map_key = *key;
      shape.map_value = *val;
    }
  }

  for (const auto& [name, value] : operations->as_object()) {
    if (!value.is_object()) {
      return Status::invalid("operation " + std::string(name) + ": not an object");
    }
    const json::object& o = value.as_object();
    auto op = std::make_unique<Operation>();
    op->name = std::string(name);
    const std::string where = "operation " + op->name;
    if (o.contains("input")) {
      auto in = resolve(o.if_contains("input"), where + " input");
      if (!in.ok()) return in.status();
      op->input = *in;
    }
    if (o.contains("output")) {
      auto out = resolve(o.if_contains("output"), where + " output");
      if (!out.ok()) return out.status();
      op->output = *out;
    }
    if (const json::value* errors = o.if_contains("errors"); errors && errors->is_array()) {
      for (const json::value& ref : errors->as_array()) {
        auto err = resolve(&ref, where + " error");
        if (!err.ok()) return err.status();
        op->errors.push_back(*err);
      }
    }
    model.operations_.emplace(op->name, std::move(op));
  }
  return model;
}

const Operation* ServiceModel::find_operation(std::string_view name) const {
  auto it = operations_.find(name);
  return it == operations_.end() ? nullptr : it->second.get();
}

const Shape* ServiceModel::find_shape(std::string_view name) const {
  auto it = shapes_.find(name);
  return it == shapes_.end() ? nullptr : it->second.get();
}

std::vector<const Operation*> ServiceModel::operations() const {
  std::vector<const Operation*> out;
  for (const auto& [name, op] : operations_) out.push_back(op.get());
  return out;
}

std::vector<const Shape*> ServiceModel::shapes() const {
  std::vector<const Shape*> out;
  for (const auto& [name, shape] : shapes_) out.push_back(shape.get());
  return out;
}

void ServiceModel::mark_sensitive(std::string_view shape) {
  auto it = shapes_.find(shape);
  STAGELINE_CHECK(it != shapes_.end());
  it->second->sensitive = true;
}

}  // namespace stageline::wire
