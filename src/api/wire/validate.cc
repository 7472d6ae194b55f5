#include "api/wire/validate.h"

#include <boost/json.hpp>
#include <climits>
#include <cmath>
#include <cstdio>
#include <optional>

#include "base/strings.h"

namespace stageline::wire {

namespace json = boost::json;

namespace {

// ---------------------------------------------------------------------------
// Deserialization. The messages are those of AWS's Coral JSON deserializer
// as recorded by dynalite's and kinesalite's test suites, which run against
// the real DynamoDB and Kinesis (see wire.h).

constexpr const char* kStartOfList = "Start of list found where not expected";
constexpr const char* kStartOfStructure = "Start of structure or map found where not expected.";

// The Java class Coral's parser made of a JSON number.
std::string java_number_class(const json::value& v) {
  if (v.is_double()) return "java.lang.Double";
  if (v.is_uint64()) return "java.math.BigInteger";
  const int64_t i = v.as_int64();
  if (i >= SHRT_MIN && i <= SHRT_MAX) return "java.lang.Short";
  if (i >= INT_MIN && i <= INT_MAX) return "java.lang.Integer";
  return "java.lang.Long";
}

std::string java_class(const json::value& v) {
  if (v.is_bool()) return "java.lang.Boolean";
  if (v.is_string()) return "java.lang.String";
  return java_number_class(v);
}

std::string cannot_convert(const json::value& v, std::string_view to) {
  return "class " + java_class(v) + " can not be converted to " + std::string(to);
}

std::string_view member_wire_name(const Member& m) {
  return m.location_name.empty() ? std::string_view(m.name) : std::string_view(m.location_name);
}

bool is_base64(std::string_view s, std::string* why) {
  if (s.size() % 4 != 0) {
    *why = "Base64 encoded length is expected a multiple of 4 bytes but found: " +
           std::to_string(s.size());
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum || c == '+' || c == '/') continue;
    // '=' only as padding, in the last two places.
    if (c == '=' && i >= s.size() - 2 && (i == s.size() - 1 || s[s.size() - 1] == '=')) continue;
    *why = std::string("Invalid Base64 character: '") + c + "'";
    return false;
  }
  return true;
}

struct Decoder {
  std::vector<std::string> warnings;

  static std::string child(const std::string& path, std::string_view name) {
    return path.empty() ? std::string(name) : path + "." + std::string(name);
  }

  // Returns the SerializationException message, or nullopt when `v` fits.
  std::optional<std::string> decode(const Shape& shape, json::value& v, const std::string& path,
                                    int depth) {
    if (depth > 64) return std::string(kStartOfStructure);  // unreachable: parse depth is 64
    switch (shape.type) {
      case ShapeType::kStructure: {
        if (v.is_array()) return std::string(kStartOfList);
        if (!v.is_object()) return std::string("Expected null");
        json::object& o = v.as_object();
        for (auto it = o.begin(); it != o.end();) {
          const Member* member = nullptr;
          for (const Member& m : shape.members) {
            if (member_wire_name(m) == it->key()) member = &m;
          }
          if (!member) {
            warnings.push_back("ignored unknown member '" + child(path, it->key()) + "'");
            it = o.erase(it);
            continue;
          }
          if (it->value().is_null()) {
            it = o.erase(it);
            continue;
          }
          if (auto err = decode(*member->shape, it->value(), child(path, it->key()), depth + 1)) {
            return err;
          }
          ++it;
        }
        return std::nullopt;
      }
      case ShapeType::kList: {
        if (v.is_object()) return std::string(kStartOfStructure);
        if (!v.is_array()) return std::string("Expected list or null");
        json::array& a = v.as_array();
        for (size_t i = 0; i < a.size(); ++i) {
          if (a[i].is_null()) continue;  // reported by the validator
          const std::string p = path + "[" + std::to_string(i) + "]";
          if (auto err = decode(*shape.list_member, a[i], p, depth + 1)) return err;
        }
        return std::nullopt;
      }
      case ShapeType::kMap: {
        if (v.is_array()) return std::string(kStartOfList);
        if (!v.is_object()) return std::string("Expected map or null");
        for (auto& [key, value] : v.as_object()) {
          if (value.is_null()) continue;  // reported by the validator
          if (auto err = decode(*shape.map_value, value, child(path, key), depth + 1)) return err;
        }
        return std::nullopt;
      }
      case ShapeType::kDocument:
        return std::nullopt;
      default:
        break;
    }
    // Scalars.
    if (v.is_array()) return std::string(kStartOfList);
    if (v.is_object()) return std::string(kStartOfStructure);
    switch (shape.type) {
      case ShapeType::kString:
        if (v.is_string()) return std::nullopt;
        return cannot_convert(v, "an String");
      case ShapeType::kInteger:
      case ShapeType::kLong: {
        const bool is_int = shape.type == ShapeType::kInteger;
        const char* target = is_int ? "an Integer" : "an Long";
        if (v.is_string() || v.is_bool()) return cannot_convert(v, target);
        // Coral truncates a fraction (dynalite: Math.floor); the range
        // messages are assumed (no capture found).
        if (v.is_double()) {
          const double d = std::floor(v.as_double());
          if (!std::isfinite(d) || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18) {
            return cannot_convert(v, target);
          }
          v = static_cast<int64_t>(d);
        }
        if (v.is_uint64()) return cannot_convert(v, target);
        const int64_t i = v.as_int64();
        if (is_int && (i < INT_MIN || i > INT_MAX)) return cannot_convert(v, target);
        return std::nullopt;
      }
      case ShapeType::kFloat:
      case ShapeType::kDouble:
        if (v.is_number()) return std::nullopt;
        return cannot_convert(v, shape.type == ShapeType::kFloat ? "an Float" : "an Double");
      case ShapeType::kBoolean: {
        if (v.is_bool()) return std::nullopt;
        if (v.is_string()) {
          // Coral reads "true"/"false" in any case; anything else is echoed
          // upper-cased (dynalite).
          const std::string upper = [&] {
            std::string s(v.as_string());
            for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            return s;
          }();
          if (upper == "TRUE" || upper == "FALSE") {
            v = upper == "TRUE";
            return std::nullopt;
          }
          return "'" + upper + "' can not be converted to an Boolean";
        }
        return cannot_convert(v, "an Boolean");
      }
      case ShapeType::kTimestamp:
        // AWS JSON timestamps are epoch seconds; botocore always sends a
        // number. A string is refused (message assumed).
        if (v.is_number()) return std::nullopt;
        return cannot_convert(v, "a Date");
      case ShapeType::kBlob: {
        if (!v.is_string()) return cannot_convert(v, "a Blob");
        std::string why;
        if (!is_base64(v.as_string(), &why)) {
          return "'" + std::string(v.as_string()) + "' can not be converted to a Blob: " + why;
        }
        return std::nullopt;
      }
      default:
        return std::nullopt;
    }
  }
};

// ---------------------------------------------------------------------------
// Validation.

std::string lower_first(std::string_view s) {
  std::string out(s);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

std::string render_double(double d) {
  Bound b;
  b.integral = false;
  b.d = d;
  return b.to_string();
}

// Java's toString of the value Coral built: strings bare, lists [a, b], maps
// and structures {k=v, k2=v2}.
void render(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      out += std::to_string(v.get_int64());
      return;
    case json::kind::uint64:
      out += std::to_string(v.get_uint64());
      return;
    case json::kind::double_:
      out += render_double(v.get_double());
      return;
    case json::kind::string:
      out += std::string_view(v.get_string());
      return;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const json::value& e : v.get_array()) {
        if (!first) out += ", ";
        first = false;
        render(e, out);
      }
      out.push_back(']');
      return;
    }
    case json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.get_object()) {
        if (!first) out += ", ";
        first = false;
        out += std::string_view(k);
        out.push_back('=');
        render(e, out);
      }
      out.push_back('}');
      return;
    }
  }
}

bool redacted(const Shape& shape) {
  if (shape.sensitive) return true;
  if (shape.list_member && shape.list_member->sensitive) return true;
  if (shape.map_key && shape.map_key->sensitive) return true;
  if (shape.map_value && shape.map_value->sensitive) return true;
  return false;
}

// The constraints of a scalar shape, as AWS lists them inside "Member must
// satisfy constraint: [...]": max, min, pattern, enum (order seen in AWS
// messages quoted in wire.h).
std::vector<std::string> describe_constraints(const Shape& shape) {
  std::vector<std::string> out;
  const bool numeric = shape.type == ShapeType::kInteger || shape.type == ShapeType::kLong ||
                       shape.type == ShapeType::kFloat || shape.type == ShapeType::kDouble;
  const char* what = numeric ? "value" : "length";
  if (shape.max) {
    out.push_back(std::string("Member must have ") + what + " less than or equal to " +
                  shape.max->to_string());
  }
  if (shape.min) {
    out.push_back(std::string("Member must have ") + what + " greater than or equal to " +
                  shape.min->to_string());
  }
  if (shape.pattern) {
    out.push_back("Member must satisfy regular expression pattern: " + shape.pattern->source());
  }
  if (!shape.enum_values.empty()) {
    out.push_back("Member must satisfy enum value set: [" + join(shape.enum_values, ", ") + "]");
  }
  return out;
}

size_t blob_length(std::string_view b64) {
  size_t n = b64.size() / 4 * 3;
  if (!b64.empty() && b64.back() == '=') --n;
  if (b64.size() > 1 && b64[b64.size() - 2] == '=') --n;
  return n;
}

// The failed constraints of a scalar value, in AWS's order: length or
// range, pattern, enum.
std::vector<std::string> scalar_failures(const Shape& shape, const json::value& v) {
  std::vector<std::string> out;
  if (v.is_null()) {
    out.push_back("Member must not be null");
    return out;
  }
  switch (shape.type) {
    case ShapeType::kString:
    case ShapeType::kBlob: {
      if (!v.is_string()) return out;
      const std::string_view s = v.as_string();
      const int64_t len =
          static_cast<int64_t>(shape.type == ShapeType::kString ? utf8_length(s) : blob_length(s));
      if (shape.min && len < shape.min->i) {
        out.push_back("Member must have length greater than or equal to " + shape.min->to_string());
      }
      if (shape.max && len > shape.max->i) {
        out.push_back("Member must have length less than or equal to " + shape.max->to_string());
      }
      if (shape.type == ShapeType::kString && shape.pattern && !shape.pattern->matches(s)) {
        out.push_back("Member must satisfy regular expression pattern: " + shape.pattern->source());
      }
      if (shape.type == ShapeType::kString && !shape.enum_values.empty() &&
          std::find(shape.enum_values.begin(), shape.enum_values.end(), s) ==
              shape.enum_values.end()) {
        out.push_back("Member must satisfy enum value set: [" + join(shape.enum_values, ", ") +
                      "]");
      }
      return out;
    }
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kFloat:
    case ShapeType::kDouble: {
      if (!v.is_number()) return out;
      const double d = v.to_number<double>();
      if (shape.min && d < shape.min->as_double()) {
        out.push_back("Member must have value greater than or equal to " + shape.min->to_string());
      }
      if (shape.max && d > shape.max->as_double()) {
        out.push_back("Member must have value less than or equal to " + shape.max->to_string());
      }
      return out;
    }
    default:
      return out;
  }
}

struct Validator {
  std::vector<std::string> errors;

  bool full() const { return errors.size() >= kMaxValidationErrors; }

  void add(const Shape& shape, const json::value* v, const std::string& path,
           const std::string& constraint) {
    if (full()) return;
    std::string value;
    if (!v || v->is_null()) {
      value = "Value null";
    } else if (redacted(shape)) {
      value = "Value";
    } else {
      value = "Value '";
      render(*v, value);
      value += "'";
    }
    errors.push_back(value + " at '" + path + "' failed to satisfy constraint: " + constraint);
  }

  static std::string child(const std::string& path, std::string_view segment) {
    return path.empty() ? std::string(segment) : path + "." + std::string(segment);
  }

  void structure(const Shape& shape, const json::object& o, const std::string& path) {
    for (const Member& m : shape.members) {
      if (full()) return;
      const std::string p = child(path, lower_first(m.name));
      const json::value* v = o.if_contains(member_wire_name(m));
      if (!v || v->is_null()) {
        if (m.required) add(*m.shape, nullptr, p, "Member must not be null");
        continue;
      }
      value(*m.shape, *v, p);
    }
  }

  void length(const Shape& shape, const json::value& v, size_t n, const std::string& path) {
    const auto len = static_cast<int64_t>(n);
    if (shape.min && len < shape.min->i) {
      add(shape, &v, path,
          "Member must have length greater than or equal to " + shape.min->to_string());
    }
    if (shape.max && len > shape.max->i) {
      add(shape, &v, path,
          "Member must have length less than or equal to " + shape.max->to_string());
    }
  }

  void value(const Shape& shape, const json::value& v, const std::string& path) {
    if (full()) return;
    switch (shape.type) {
      case ShapeType::kStructure:
        if (v.is_object()) structure(shape, v.as_object(), path);
        return;
      case ShapeType::kList: {
        if (!v.is_array()) return;
        const json::array& a = v.as_array();
        length(shape, v, a.size(), path);
        const Shape& member = *shape.list_member;
        if (member.is_scalar()) {
          // One message for the whole list, naming every constraint of the
          // member shape, however many elements break them.
          bool failed = false;
          for (const json::value& e : a) failed = failed || !scalar_failures(member, e).empty();
          if (failed) {
            add(shape, &v, path,
                "Member must satisfy constraint: [" + join(describe_constraints(member), ", ") +
                    "]");
          }
          return;
        }
        for (size_t i = 0; i < a.size() && !full(); ++i) {
          const std::string p = path + "." + std::to_string(i + 1) + ".member";
          if (a[i].is_null()) {
            add(member, nullptr, p, "Member must not be null");
          } else {
            value(member, a[i], p);
          }
        }
        return;
      }
      case ShapeType::kMap: {
        if (!v.is_object()) return;
        const json::object& o = v.as_object();
        length(shape, v, o.size(), path);
        const Shape& key_shape = *shape.map_key;
        bool key_failed = false;
        for (const auto& [k, e] : o) {
          key_failed = key_failed || !scalar_failures(key_shape, json::value(k)).empty();
        }
        if (key_failed) {
          add(shape, &v, path,
              "Map keys must satisfy constraint: [" + join(describe_constraints(key_shape), ", ") +
                  "]");
        }
        const Shape& value_shape = *shape.map_value;
        if (value_shape.is_scalar()) {
          bool failed = false;
          for (const auto& [k, e] : o) failed = failed || !scalar_failures(value_shape, e).empty();
          if (failed) {
            add(shape, &v, path,
                "Map value must satisfy constraint: [" +
                    join(describe_constraints(value_shape), ", ") + "]");
          }
          return;
        }
        for (const auto& [k, e] : o) {
          if (full()) return;
          const std::string p = path + "." + std::string(k) + ".member";
          if (e.is_null()) {
            add(value_shape, nullptr, p, "Member must not be null");
          } else {
            value(value_shape, e, p);
          }
        }
        return;
      }
      case ShapeType::kDocument:
        return;
      default:
        for (const std::string& f : scalar_failures(shape, v)) add(shape, &v, path, f);
        return;
    }
  }
};

// ---------------------------------------------------------------------------
// Output checking.

struct OutputChecker {
  std::vector<std::string> problems;
  static constexpr size_t kMaxProblems = 50;

  void problem(const std::string& path, const std::string& what) {
    if (problems.size() < kMaxProblems)
      problems.push_back((path.empty() ? "(root)" : path) + ": " + what);
  }

  static std::string child(const std::string& path, std::string_view name) {
    return path.empty() ? std::string(name) : path + "." + std::string(name);
  }

  void check(const Shape& shape, const json::value& v, const std::string& path) {
    if (v.is_null()) {
      problem(path, "null (omit an absent member instead)");
      return;
    }
    switch (shape.type) {
      case ShapeType::kStructure: {
        if (!v.is_object()) {
          problem(path, std::string("expected an object for ") + shape.name);
          return;
        }
        const json::object& o = v.as_object();
        std::vector<std::string> names;
        for (const Member& m : shape.members) names.emplace_back(member_wire_name(m));
        for (const auto& [k, e] : o) {
          const Member* member = nullptr;
          for (const Member& m : shape.members) {
            if (member_wire_name(m) == k) member = &m;
          }
          if (!member) {
            std::string what = "not a member of " + shape.name;
            const std::string suggestion = closest_match(k, names);
            if (!suggestion.empty()) what += " (did you mean '" + suggestion + "'?)";
            problem(child(path, k), what);
            continue;
          }
          check(*member->shape, e, child(path, k));
        }
        for (const Member& m : shape.members) {
          if (m.required && !o.contains(member_wire_name(m))) {
            problem(child(path, member_wire_name(m)), "required member missing");
          }
        }
        return;
      }
      case ShapeType::kList: {
        if (!v.is_array()) {
          problem(path, "expected an array for " + shape.name);
          return;
        }
        const json::array& a = v.as_array();
        for (size_t i = 0; i < a.size(); ++i) {
          check(*shape.list_member, a[i], path + "[" + std::to_string(i) + "]");
        }
        return;
      }
      case ShapeType::kMap: {
        if (!v.is_object()) {
          problem(path, "expected an object (map) for " + shape.name);
          return;
        }
        for (const auto& [k, e] : v.as_object()) check(*shape.map_value, e, child(path, k));
        return;
      }
      case ShapeType::kDocument:
        return;
      case ShapeType::kString:
        if (!v.is_string()) {
          problem(path, "expected a string");
        } else if (!shape.enum_values.empty() &&
                   std::find(shape.enum_values.begin(), shape.enum_values.end(),
                             std::string_view(v.as_string())) == shape.enum_values.end()) {
          problem(path, "'" + std::string(v.as_string()) + "' is not one of " + shape.name + " [" +
                            join(shape.enum_values, ", ") + "]");
        }
        return;
      case ShapeType::kInteger:
      case ShapeType::kLong:
        if (!v.is_int64() && !v.is_uint64()) problem(path, "expected an integer");
        return;
      case ShapeType::kFloat:
      case ShapeType::kDouble:
        if (!v.is_number()) problem(path, "expected a number");
        return;
      case ShapeType::kBoolean:
        if (!v.is_bool()) problem(path, "expected true or false");
        return;
      case ShapeType::kTimestamp:
        if (shape.timestamp_format.empty() || shape.timestamp_format == "unixTimestamp") {
          if (!v.is_number()) problem(path, "timestamp must be a number of epoch seconds");
        } else if (!v.is_string()) {
          problem(path, "timestamp must be a " + shape.timestamp_format + " string");
        }
        return;
      case ShapeType::kBlob: {
        std::string why;
        if (!v.is_string() || !is_base64(v.as_string(), &why)) problem(path, "expected base64");
        return;
      }
    }
  }
};

}  // namespace

Outcome<DecodedInput> decode_input(const Shape* shape, json::value body) {
  Decoder decoder;
  DecodedInput out;
  if (!shape) {
    if (body.is_array()) return common_error(CommonError::kSerialization, kStartOfList);
    if (!body.is_object()) return common_error(CommonError::kSerialization, "Expected null");
    for (const auto& [k, v] : body.as_object()) {
      out.warnings.push_back("ignored unknown member '" + std::string(k) + "'");
    }
    return out;
  }
  if (auto err = decoder.decode(*shape, body, "", 0)) {
    return common_error(CommonError::kSerialization, *err);
  }
  if (!body.is_object()) return common_error(CommonError::kSerialization, "Expected null");
  out.input = std::move(body.as_object());
  out.warnings = std::move(decoder.warnings);
  return out;
}

std::vector<std::string> validate_input(const Shape* shape, const json::object& input) {
  if (!shape) return {};
  Validator v;
  v.structure(*shape, input, "");
  return std::move(v.errors);
}

std::string validation_message(const std::vector<std::string>& messages) {
  STAGELINE_CHECK(!messages.empty());
  const size_t n = std::min(messages.size(), kMaxValidationErrors);
  std::string out = std::to_string(n) +
                    (n == 1 ? " validation error detected: " : " validation errors detected: ");
  for (size_t i = 0; i < n; ++i) {
    if (i) out += "; ";
    out += messages[i];
  }
  return out;
}

std::vector<std::string> check_output(const Shape* shape, const json::value& value) {
  OutputChecker checker;
  if (!shape) {
    if (!value.is_object() || !value.as_object().empty()) {
      checker.problem("", "the operation has no output; expected {}");
    }
    return checker.problems;
  }
  checker.check(*shape, value, "");
  return std::move(checker.problems);
}

}  // namespace stageline::wire
