#include "definitions/intrinsics.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>

#include "base/strings.h"

namespace stageline::definitions {

namespace json = boost::json;

namespace {

// Evaluation recursion: nested values plus nested functions. The YAML loader
// stops documents at 64 levels; intrinsic functions add a few.
constexpr int kMaxEvalDepth = 128;
// How many resources (or conditions) deep a chain of references may go while
// names are computed: Role -> Bucket -> Key -> ...
constexpr int kMaxReferenceDepth = 32;
// Text produced by Fn::Sub, Fn::Join, Fn::Base64 ... for the whole template.
constexpr size_t kMaxProducedBytes = 64 * 1024 * 1024;

bool is_function_name(std::string_view key) { return key == "Ref" || starts_with(key, "Fn::"); }

std::string partition_of(std::string_view region) {
  if (starts_with(region, "cn-")) return "aws-cn";
  if (starts_with(region, "us-gov-")) return "aws-us-gov";
  return "aws";
}

std::string url_suffix_of(std::string_view region) {
  return starts_with(region, "cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

uint64_t fnv1a(std::string_view text, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// 32 hex digits derived from `seed`, the same on every machine and run.
std::string hex128(std::string_view seed) {
  char out[33];
  std::snprintf(out, sizeof out, "%016llx%016llx",
                static_cast<unsigned long long>(fnv1a(seed, 0x9e3779b97f4a7c15ull)),
                static_cast<unsigned long long>(fnv1a(seed, 0xc2b2ae3d27d4eb4full)));
  return out;
}

// A UUID-shaped (version 4 layout) id derived from `seed`.
std::string deterministic_uuid(std::string_view seed) {
  std::string h = hex128(seed);
  h[12] = '4';
  h[16] = "89ab"[(h[16] - '0') & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

// An IAM unique id: a 4-letter prefix and 17 upper-case letters and digits.
std::string iam_unique_id(std::string_view prefix, std::string_view seed) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string id(prefix);
  uint64_t a = fnv1a(seed, 1), b = fnv1a(seed, 2);
  for (int i = 0; i < 17; ++i) {
    uint64_t& src = i < 12 ? a : b;
    id += kAlphabet[src & 31];
    src >>= 5;
  }
  return id;
}

std::string base64(std::string_view in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += kTable[(n >> 6) & 63];
    out += kTable[n & 63];
  }
  if (i < in.size()) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += i + 1 < in.size() ? kTable[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// A bucket name from `<stack>-<LogicalId>`: lower case, [a-z0-9.-], 3..63
// characters, starting and ending with a letter or digit.
std::string bucket_name(std::string_view raw) {
  std::string name;
  for (char c : raw) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '.' || l == '-';
    name += ok ? l : '-';
  }
  if (name.size() > 63) name.resize(63);
  auto edge = [](char c) { return c == '-' || c == '.'; };
  while (!name.empty() && edge(name.back())) name.pop_back();
  size_t start = 0;
  while (start < name.size() && edge(name[start])) ++start;
  name.erase(0, start);
  while (name.size() < 3) name += '0';
  return name;
}

std::string truncated(std::string s, size_t max) {
  if (s.size() > max) s.resize(max);
  return s;
}

// What Stageline knows about a managed resource type: the property that names
// it, the longest name CloudFormation would generate, and its attributes.
struct TypeSpec {
  std::string_view type;
  std::string_view name_property;
  size_t max_name;
};

const TypeSpec* find_type(std::string_view type) {
  static const TypeSpec kTypes[] = {
      {"AWS::CodePipeline::Pipeline", "Name", 100},
      {"AWS::CodePipeline::Webhook", "Name", 100},
      {"AWS::CodePipeline::CustomActionType", "", 0},
      {"AWS::CodeBuild::Project", "Name", 150},
      {"AWS::IAM::Role", "RoleName", 64},
      {"AWS::IAM::Policy", "PolicyName", 128},
      {"AWS::IAM::ManagedPolicy", "ManagedPolicyName", 128},
      {"AWS::S3::Bucket", "BucketName", 63},
      {"AWS::KMS::Key", "", 0},
      {"AWS::KMS::Alias", "AliasName", 256},
      {"AWS::SNS::Topic", "TopicName", 256},
      {"AWS::CodeCommit::Repository", "RepositoryName", 100},
      {"AWS::CodeStarConnections::Connection", "ConnectionName", 32},
  };
  for (const auto& t : kTypes)
    if (t.type == type) return &t;
  return nullptr;
}

// The service part of a type name for placeholder ARNs: AWS::Lambda::Function -> lambda.
std::string service_of(std::string_view type) {
  if (!starts_with(type, "AWS::")) return "cloudformation";  // Custom::..., Alexa::...
  std::string_view rest = type.substr(5);
  return to_lower(rest.substr(0, rest.find("::")));
}

bool all_alphanumeric(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\n");
  return std::string(s.substr(b, e - b + 1));
}

bool equal_values(const json::value& a, const json::value& b) {
  auto sa = scalar_to_string(a), sb = scalar_to_string(b);
  if (sa && sb) return *sa == *sb;
  if (a.is_array() && b.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!equal_values(x[i], y[i])) return false;
    return true;
  }
  return a == b;
}

}  // namespace

std::optional<std::string> scalar_to_string(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    case json::kind::double_: {
      char buf[64];
      auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
      if (ec != std::errc()) return std::nullopt;
      return std::string(buf, ptr);
    }
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> whole_number(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= INT64_MAX) return static_cast<int64_t>(v.get_uint64());
  if (v.is_double()) {
    double d = v.get_double();
    if (d >= -9.2e18 && d <= 9.2e18 && d == static_cast<double>(static_cast<int64_t>(d))) {
      return static_cast<int64_t>(d);
    }
    return std::nullopt;
  }
  if (v.is_string()) {
    const json::string& s = v.get_string();
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size()) return n;
  }
  return std::nullopt;
}

std::string kind_phrase(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      return "an object";
    case json::kind::array:
      return "a list";
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::string:
      return "a string";
    default:
      return "a number";
  }
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates,
                         const std::string& otherwise) {
  std::string near = closest_match(word, candidates);
  return near.empty() ? otherwise : "did you mean " + quote(near) + "?";
}

TemplateEvaluator::TemplateEvaluator(const LocatedJson& doc, const TemplateOptions& options,
                                     Problems& problems)
    : doc_(doc), options_(options), problems_(problems) {}

void TemplateEvaluator::report(const std::string& rule, const std::string& path,
                               const std::string& message, const std::string& fix,
                               Severity severity, ErrorType type, int line) {
  if (!reported_.emplace(path, message).second) return;
  if (notes_only_) severity = Severity::kNote;
  problems_.push_back(
      Problem{severity, type, rule, path, message, fix, line != 0 ? line : line_of(path)});
}

Evaluated TemplateEvaluator::fail(const std::string& rule, const std::string& path,
                                  const std::string& message, const std::string& fix) {
  report(rule, path, message, fix);
  return {Evaluated::Kind::kFailed, nullptr, false};
}

bool TemplateEvaluator::spend(size_t bytes, const std::string& path) {
  bytes_produced_ += bytes;
  if (bytes_produced_ <= kMaxProducedBytes) return true;
  report("template.too-large", path,
         "the template's functions produce more than " + std::to_string(kMaxProducedBytes) +
             " bytes of text; Stageline stops evaluating it");
  return false;
}

// ---------------------------------------------------------------------------
// Sections.

void TemplateEvaluator::load() {
  load_parameters();
  load_mappings();
  load_conditions();
  load_resources();
  // CloudFormation evaluates every condition, used or not.
  for (auto& [name, c] : conditions_) condition(name, c.path);
}

void TemplateEvaluator::load_parameters() {
  const json::object& root = doc_.value.get_object();
  const json::value* section = root.if_contains("Parameters");
  if (section != nullptr && !section->is_object()) {
    report("template.parameters-not-object", "Parameters",
           "Parameters must be an object of parameter declarations, not " + kind_phrase(*section));
    section = nullptr;
  }
  if (section != nullptr) {
    for (const auto& kv : section->get_object()) {
      std::string name(kv.key());
      load_parameter(name, kv.value(), path_member("Parameters", name));
    }
  }
  std::vector<std::string> names;
  for (const auto& [name, _] : parameters_) names.push_back(name);
  for (const auto& [name, value] : options_.parameter_overrides) {
    if (parameters_.count(name)) continue;
    report("template.override-unknown", "Parameters",
           "the parameter override " + quote(name + "=" + value) +
               " names no parameter of the template",
           did_you_mean(name, names, "remove it from --parameter-overrides"));
  }
}

void TemplateEvaluator::load_parameter(const std::string& name, const json::value& declaration,
                                       const std::string& path) {
  if (!declaration.is_object()) {
    report("template.parameter-not-object", path,
           "parameter " + quote(name) + " must be an object with a Type, not " +
               kind_phrase(declaration));
    return;
  }
  const json::object& d = declaration.get_object();
  static const std::vector<std::string> kAttributes = {
      "Type",        "Default",   "AllowedValues", "AllowedPattern", "ConstraintDescription",
      "Description", "MaxLength", "MaxValue",      "MinLength",      "MinValue",
      "NoEcho"};
  for (const auto& kv : d) {
    std::string key(kv.key());
    if (std::find(kAttributes.begin(), kAttributes.end(), key) != kAttributes.end()) continue;
    report("template.unknown-property", path_member(path, key),
           "parameter " + quote(name) + " has an unknown attribute " + quote(key),
           did_you_mean(key, kAttributes, "remove it"), Severity::kError,
           ErrorType::kSerializationException);
  }
  Parameter p;
  p.path = path;
  const json::value* type = d.if_contains("Type");
  if (type == nullptr || !type->is_string()) {
    report("template.parameter-type", path,
           "parameter " + quote(name) + " needs a Type (String, Number, CommaDelimitedList, ...)",
           "add Type: String");
    parameters_[name] = p;
    return;
  }
  p.type = std::string(type->get_string());
  const std::string& t = p.type;
  bool ssm = starts_with(t, "AWS::SSM::Parameter::Value<") && t.back() == '>';
  std::string inner = ssm ? t.substr(27, t.size() - 28) : t;
  bool list = starts_with(inner, "List<") || inner == "CommaDelimitedList";
  bool number = inner == "Number" || inner == "List<Number>";
  bool known = t == "String" || t == "Number" || t == "List<Number>" || t == "CommaDelimitedList" ||
               starts_with(t, "AWS::") || (starts_with(t, "List<AWS::") && t.back() == '>');
  if (!known) {
    report("template.parameter-type", path_member(path, "Type"),
           "parameter " + quote(name) + " has the unknown type " + quote(t),
           did_you_mean(t, {"String", "Number", "List<Number>", "CommaDelimitedList"},
                        "use String, Number, List<Number>, CommaDelimitedList or an AWS-specific "
                        "type"));
  }

  std::optional<std::string> text;
  std::string source_path = path;
  auto override_it = options_.parameter_overrides.find(name);
  if (override_it != options_.parameter_overrides.end()) {
    text = override_it->second;
  } else if (const json::value* def = d.if_contains("Default")) {
    source_path = path_member(path, "Default");
    if (def->is_array()) {
      std::vector<std::string> parts;
      for (const auto& item : def->get_array()) {
        auto s = scalar_to_string(item);
        if (s) parts.push_back(*s);
      }
      text = join(parts, ",");
    } else {
      text = scalar_to_string(*def);
      if (!text) {
        report("template.parameter-default", source_path,
               "the Default of parameter " + quote(name) + " must be a string, not " +
                   kind_phrase(*def));
      }
    }
  }
  if (!text) {
    report("template.parameter-missing", path,
           "parameter " + quote(name) + " has no Default and no value was given",
           "pass --parameter-overrides " + name + "=<value>, or give it a Default");
    parameters_[name] = p;
    return;
  }
  if (ssm) {
    report("template.parameter-ssm", path,
           "parameter " + quote(name) + " has type " + t +
               ": Stageline does not read Systems Manager, so its value is " + quote(*text) +
               " as given",
           "pass the real value with --parameter-overrides " + name + "=<value> if it matters",
           Severity::kNote);
  }

  std::vector<std::string> values = list ? split(*text, ',') : std::vector<std::string>{*text};
  if (list && text->empty()) values.clear();
  bool ok = true;
  if (const json::value* allowed = d.if_contains("AllowedValues")) {
    std::vector<std::string> allowed_values;
    if (allowed->is_array()) {
      for (const auto& a : allowed->get_array())
        if (auto s = scalar_to_string(a)) allowed_values.push_back(*s);
    }
    for (const auto& v : values) {
      if (std::find(allowed_values.begin(), allowed_values.end(), v) != allowed_values.end()) {
        continue;
      }
      report("template.parameter-not-allowed", source_path,
             "parameter " + quote(name) + " is " + quote(v) + ", which is not one of its " +
                 "AllowedValues (" + join(allowed_values, ", ") + ")",
             did_you_mean(v, allowed_values, "use one of " + join(allowed_values, ", ")));
      ok = false;
    }
  }
  auto limit = [&](const char* key) -> std::optional<double> {
    const json::value* v = d.if_contains(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_number()) return v->to_number<double>();
    if (auto s = scalar_to_string(*v)) {
      double x = 0;
      auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), x);
      if (ec == std::errc() && ptr == s->data() + s->size()) return x;
    }
    return std::nullopt;
  };
  for (const auto& v : values) {
    if (number) {
      double x = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
      if (ec != std::errc() || ptr != v.data() + v.size() || v.empty()) {
        report("template.parameter-not-number", source_path,
               "parameter " + quote(name) + " has type " + t + " but its value " + quote(v) +
                   " is not a number");
        ok = false;
        continue;
      }
      if (auto min = limit("MinValue"); min && x < *min) {
        report("template.parameter-range", source_path,
               "parameter " + quote(name) + " is " + v + ", below its MinValue");
        ok = false;
      }
      if (auto max = limit("MaxValue"); max && x > *max) {
        report("template.parameter-range", source_path,
               "parameter " + quote(name) + " is " + v + ", above its MaxValue");
        ok = false;
      }
    } else if (!list) {
      if (auto min = limit("MinLength"); min && static_cast<double>(v.size()) < *min) {
        report("template.parameter-length", source_path,
               "parameter " + quote(name) + " is shorter than its MinLength");
        ok = false;
      }
      if (auto max = limit("MaxLength"); max && static_cast<double>(v.size()) > *max) {
        report("template.parameter-length", source_path,
               "parameter " + quote(name) + " is longer than its MaxLength");
        ok = false;
      }
    }
  }
  if (ok) {
    if (list) {
      json::array a;
      for (auto& v : values) a.emplace_back(v);
      p.value = std::move(a);
    } else {
      p.value = json::string(*text);
    }
  }
  parameters_[name] = std::move(p);
}

void TemplateEvaluator::load_mappings() {
  const json::object& root = doc_.value.get_object();
  const json::value* section = root.if_contains("Mappings");
  if (section == nullptr) return;
  if (!section->is_object()) {
    report("template.mappings-not-object", "Mappings",
           "Mappings must be an object of mappings, not " + kind_phrase(*section));
    return;
  }
  mappings_ = &section->get_object();
  for (const auto& m : *mappings_) {
    std::string path = path_member("Mappings", m.key());
    if (!m.value().is_object()) {
      report("template.mapping-not-object", path,
             "mapping " + quote(m.key()) + " must be an object of keys, not " +
                 kind_phrase(m.value()));
      continue;
    }
    for (const auto& top : m.value().get_object()) {
      if (!top.value().is_object()) {
        report("template.mapping-not-object", path_member(path, top.key()),
               "mapping key " + quote(top.key()) + " must hold an object of second-level keys");
      }
    }
  }
}

void TemplateEvaluator::load_conditions() {
  const json::object& root = doc_.value.get_object();
  const json::value* section = root.if_contains("Conditions");
  if (section == nullptr) return;
  if (!section->is_object()) {
    report("template.conditions-not-object", "Conditions",
           "Conditions must be an object of condition declarations, not " + kind_phrase(*section));
    return;
  }
  for (const auto& kv : section->get_object()) {
    std::string name(kv.key());
    conditions_[name] = Condition{&kv.value(), path_member("Conditions", name)};
  }
}

void TemplateEvaluator::load_resources() {
  const json::object& root = doc_.value.get_object();
  const json::value* section = root.if_contains("Resources");
  if (section == nullptr) {
    report("template.no-resources", "", "the template has no Resources section",
           "declare at least one resource under Resources");
    return;
  }
  if (!section->is_object()) {
    report("template.resources-not-object", "Resources",
           "Resources must be an object of resource declarations, not " + kind_phrase(*section));
    return;
  }
  if (section->get_object().empty()) {
    report("template.no-resources", "Resources", "Resources declares no resource",
           "declare at least one resource");
  }
  static const std::vector<std::string> kAttributes = {
      "Type",           "Properties",          "Condition",      "DependsOn",   "Metadata",
      "DeletionPolicy", "UpdateReplacePolicy", "CreationPolicy", "UpdatePolicy"};
  for (const auto& kv : section->get_object()) {
    std::string id(kv.key());
    std::string path = path_member("Resources", id);
    if (!all_alphanumeric(id)) {
      report("template.logical-id", path,
             "the logical id " + quote(id) + " must contain only letters and digits (A-Za-z0-9)");
    }
    if (parameters_.count(id)) {
      report("template.logical-id", path,
             "resource " + quote(id) + " has the same name as a parameter",
             "rename the resource or the parameter");
    }
    if (!kv.value().is_object()) {
      report("template.resource-not-object", path,
             "resource " + quote(id) + " must be an object with a Type, not " +
                 kind_phrase(kv.value()));
      continue;
    }
    const json::object& d = kv.value().get_object();
    for (const auto& a : d) {
      std::string key(a.key());
      if (std::find(kAttributes.begin(), kAttributes.end(), key) != kAttributes.end()) continue;
      report("template.unknown-property", path_member(path, key),
             "resource " + quote(id) + " has an unknown attribute " + quote(key),
             did_you_mean(key, kAttributes, "remove it, or move it under Properties"),
             Severity::kError, ErrorType::kSerializationException);
    }
    const json::value* type = d.if_contains("Type");
    if (type == nullptr || !type->is_string() || type->get_string().empty()) {
      report("template.resource-type", path, "resource " + quote(id) + " needs a Type",
             "add Type, e.g. Type: AWS::CodePipeline::Pipeline");
      continue;
    }
    TemplateResource r{id, std::string(type->get_string()), path, &d, nullptr, std::nullopt};
    if (const json::value* props = d.if_contains("Properties")) {
      if (props->is_object()) {
        r.properties = &props->get_object();
      } else if (!props->is_null()) {
        report("template.properties-not-object", path_member(path, "Properties"),
               "the Properties of resource " + quote(id) + " must be an object, not " +
                   kind_phrase(*props));
      }
    }
    if (const json::value* c = d.if_contains("Condition")) {
      if (c->is_string()) {
        r.condition = std::string(c->get_string());
      } else {
        report("template.resource-condition", path_member(path, "Condition"),
               "the Condition of resource " + quote(id) + " must name a condition");
      }
    }
    resource_index_[id] = resources_.size();
    resources_.push_back(std::move(r));
  }

  std::vector<std::string> ids;
  for (const auto& r : resources_) ids.push_back(r.logical_id);
  for (const auto& r : resources_) {
    if (r.condition) condition(*r.condition, path_member(r.path, "Condition"));
    if (const json::value* deps = r.declaration->if_contains("DependsOn")) {
      std::string dpath = path_member(r.path, "DependsOn");
      std::vector<std::pair<const json::value*, std::string>> items;
      if (deps->is_array()) {
        size_t i = 0;
        for (const auto& d : deps->get_array()) items.emplace_back(&d, path_index(dpath, i++));
      } else {
        items.emplace_back(deps, dpath);
      }
      for (const auto& [d, p] : items) {
        if (!d->is_string()) {
          report("template.depends-on", p,
                 "DependsOn of " + quote(r.logical_id) + " must list logical ids of resources");
          continue;
        }
        std::string target(d->get_string());
        if (target == r.logical_id) {
          report("template.depends-on", p, "resource " + quote(target) + " depends on itself",
                 "remove it from DependsOn");
        } else if (!resource_index_.count(target)) {
          report("template.depends-on", p,
                 "DependsOn of " + quote(r.logical_id) + " names " + quote(target) +
                     ", which is not a resource of the template",
                 did_you_mean(target, ids, "remove it"));
        }
      }
    }
    for (const char* policy : {"DeletionPolicy", "UpdateReplacePolicy"}) {
      const json::value* v = r.declaration->if_contains(policy);
      if (v == nullptr) continue;
      std::string ppath = path_member(r.path, policy);
      Evaluated e = evaluate(*v, ppath);
      if (!e.has_value()) continue;
      std::vector<std::string> allowed = {"Delete", "Retain", "Snapshot"};
      if (std::string_view(policy) == "DeletionPolicy") allowed.push_back("RetainExceptOnCreate");
      auto s = scalar_to_string(e.value);
      if (!s || std::find(allowed.begin(), allowed.end(), *s) == allowed.end()) {
        report("template.policy-value", ppath,
               std::string(policy) + " of " + quote(r.logical_id) + " must be one of " +
                   join(allowed, ", "),
               s ? did_you_mean(*s, allowed) : "");
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Evaluation.

Evaluated TemplateEvaluator::evaluate(const json::value& value, const std::string& path,
                                      SourceMap* lines, const std::string& out_path) {
  return eval(value, path, lines, out_path, 0);
}

Evaluated TemplateEvaluator::eval(const json::value& v, const std::string& path, SourceMap* lines,
                                  const std::string& out_path, int depth) {
  if (depth > kMaxEvalDepth) {
    return fail("template.too-deep", path,
                "values and functions nest more than " + std::to_string(kMaxEvalDepth) +
                    " levels deep here; Stageline stops evaluating");
  }
  if (lines != nullptr) lines->set(out_path, line_of(path));
  if (v.is_object()) {
    const json::object& o = v.get_object();
    if (o.size() == 1 && is_function_name(o.begin()->key())) {
      std::string name(o.begin()->key());
      return eval_function(name, o.begin()->value(), path_member(path, name), lines, out_path,
                           depth + 1);
    }
    for (const auto& kv : o) {
      if (!is_function_name(kv.key())) continue;
      return fail("template.function-not-alone", path_member(path, kv.key()),
                  "the object holding " + std::string(kv.key()) +
                      " has other keys; an intrinsic function must be the only key of its object",
                  "move the other keys out of this object");
    }
    json::object out;
    out.reserve(o.size());
    bool partial = false;
    for (const auto& kv : o) {
      std::string key(kv.key());
      Evaluated r =
          eval(kv.value(), path_member(path, key), lines, path_member(out_path, key), depth + 1);
      if (r.kind == Evaluated::Kind::kNoValue) continue;
      if (r.kind == Evaluated::Kind::kFailed) {
        partial = true;
        continue;
      }
      partial = partial || r.partial;
      out.emplace(key, std::move(r.value));
    }
    return {Evaluated::Kind::kValue, std::move(out), partial};
  }
  if (v.is_array()) {
    const json::array& a = v.get_array();
    json::array out;
    out.reserve(a.size());
    bool partial = false;
    for (size_t i = 0; i < a.size(); ++i) {
      Evaluated r =
          eval(a[i], path_index(path, i), lines, path_index(out_path, out.size()), depth + 1);
      if (r.kind == Evaluated::Kind::kNoValue) continue;
      if (r.kind == Evaluated::Kind::kFailed) {
        partial = true;
        continue;
      }
      partial = partial || r.partial;
      out.push_back(std::move(r.value));
    }
    return {Evaluated::Kind::kValue, std::move(out), partial};
  }
  return {Evaluated::Kind::kValue, v, false};
}

Evaluated TemplateEvaluator::eval_function(const std::string& name, const json::value& args,
                                           const std::string& path, SourceMap* lines,
                                           const std::string& out_path, int depth) {
  if (name == "Ref") return fn_ref(args, path);
  if (name == "Fn::GetAtt") return fn_get_att(args, path, depth);
  if (name == "Fn::Sub") return fn_sub(args, path, depth);
  if (name == "Fn::Join") return fn_join(args, path, depth);
  if (name == "Fn::Select") return fn_select(args, path, depth);
  if (name == "Fn::Split") return fn_split(args, path, depth);
  if (name == "Fn::If") return fn_if(args, path, lines, out_path, depth);
  if (name == "Fn::FindInMap") return fn_find_in_map(args, path, depth);
  if (name == "Fn::Base64") return fn_base64(args, path, depth);
  if (name == "Fn::GetAZs") return fn_get_azs(args, path, depth);
  if (name == "Fn::Equals" || name == "Fn::Not" || name == "Fn::And" || name == "Fn::Or") {
    return fn_condition(name, args, path, depth);
  }
  if (name == "Fn::ImportValue") {
    return fail("template.import-value", path,
                "Fn::ImportValue reads an output exported by another stack, which cannot be "
                "resolved locally",
                "replace it with a parameter and pass the value with --parameter-overrides "
                "Name=<value>");
  }
  if (name == "Fn::Cidr") {
    return fail("template.unsupported-function", path, "Fn::Cidr is not supported by Stageline",
                "write the CIDR blocks out");
  }
  if (name == "Fn::Transform" || name == "Fn::Length" || name == "Fn::ToJsonString" ||
      starts_with(name, "Fn::ForEach")) {
    return fail("template.unsupported-function", path,
                name +
                    " needs a transform (AWS::LanguageExtensions or a macro), which Stageline "
                    "does not run",
                "deploy the processed template instead (aws cloudformation get-template "
                "--template-stage Processed)");
  }
  if (name == "Fn::Contains" || name == "Fn::EachMemberEquals" || name == "Fn::EachMemberIn" ||
      name == "Fn::RefAll" || name == "Fn::ValueOf" || name == "Fn::ValueOfAll") {
    return fail("template.rules-function", path,
                name + " is a Rules function; it can only be used in the Rules section");
  }
  static const std::vector<std::string> kFunctions = {
      "Ref",        "Fn::GetAtt", "Fn::Sub",       "Fn::Join",   "Fn::Select",
      "Fn::Split",  "Fn::If",     "Fn::FindInMap", "Fn::Base64", "Fn::GetAZs",
      "Fn::Equals", "Fn::Not",    "Fn::And",       "Fn::Or",     "Fn::ImportValue"};
  return fail("template.unknown-function", path, "unknown intrinsic function " + quote(name),
              did_you_mean(name, kFunctions));
}

std::vector<std::string> TemplateEvaluator::reference_names() const {
  std::vector<std::string> names = {"AWS::AccountId", "AWS::Region",          "AWS::StackName",
                                    "AWS::StackId",   "AWS::Partition",       "AWS::URLSuffix",
                                    "AWS::NoValue",   "AWS::NotificationARNs"};
  for (const auto& [name, _] : parameters_) names.push_back(name);
  for (const auto& r : resources_) names.push_back(r.logical_id);
  return names;
}

Evaluated TemplateEvaluator::fn_ref(const json::value& args, const std::string& path) {
  if (!args.is_string()) {
    return fail(
        "template.ref", path,
        "Ref needs the name of a parameter or resource as a string, not " + kind_phrase(args),
        "write Ref: Name (or !Ref Name)");
  }
  return reference(std::string(args.get_string()), path);
}

Evaluated TemplateEvaluator::reference(const std::string& name, const std::string& path) {
  const std::string& region = options_.region;
  auto value = [](std::string s) { return Evaluated{Evaluated::Kind::kValue, json::string(s)}; };
  if (starts_with(name, "AWS::")) {
    if (name == "AWS::NoValue") return {Evaluated::Kind::kNoValue, nullptr};
    if (name == "AWS::AccountId") return value(options_.account_id);
    if (name == "AWS::Region") return value(region);
    if (name == "AWS::StackName") return value(options_.stack_name);
    if (name == "AWS::Partition") return value(partition_of(region));
    if (name == "AWS::URLSuffix") return value(url_suffix_of(region));
    if (name == "AWS::NotificationARNs") return {Evaluated::Kind::kValue, json::array()};
    if (name == "AWS::StackId") {
      return value("arn:" + partition_of(region) + ":cloudformation:" + region + ":" +
                   options_.account_id + ":stack/" + options_.stack_name + "/" +
                   deterministic_uuid("stack/" + options_.stack_name));
    }
  }
  if (auto it = parameters_.find(name); it != parameters_.end()) {
    if (!it->second.value) return {Evaluated::Kind::kFailed, nullptr};  // reported at load
    return {Evaluated::Kind::kValue, *it->second.value};
  }
  if (resource_index_.count(name)) {
    if (in_condition_ > 0) {
      return fail(
          "template.condition-resource", path,
          "a condition can refer to parameters and mappings only, not to resource " + quote(name));
    }
    const PhysicalResource* p = physical(name, path);
    if (p == nullptr) return {Evaluated::Kind::kFailed, nullptr};
    return value(p->ref);
  }
  return fail(
      "template.unresolved-reference", path,
      "Ref to " + quote(name) + ": no parameter, resource or pseudo parameter has that name",
      did_you_mean(name, reference_names(),
                   "declare it under Parameters or Resources, or fix the name"));
}

std::optional<bool> TemplateEvaluator::condition(const std::string& name, const std::string& path) {
  auto it = conditions_.find(name);
  if (it == conditions_.end()) {
    std::vector<std::string> names;
    for (const auto& [n, _] : conditions_) names.push_back(n);
    report("template.unknown-condition", path, "there is no condition named " + quote(name),
           did_you_mean(name, names, "declare it under Conditions"));
    return std::nullopt;
  }
  Condition& c = it->second;
  switch (c.state) {
    case Condition::State::kDone:
      return c.value;
    case Condition::State::kFailed:
      return std::nullopt;
    case Condition::State::kEvaluating:
      report("template.condition-cycle", path, "condition " + quote(name) + " depends on itself");
      return std::nullopt;
    case Condition::State::kPending:
      break;
  }
  if (reference_depth_ >= kMaxReferenceDepth) {
    report(
        "template.reference-depth", path,
        "conditions refer to each other more than " + std::to_string(kMaxReferenceDepth) + " deep");
    return std::nullopt;
  }
  c.state = Condition::State::kEvaluating;
  ++reference_depth_;
  ++in_condition_;
  std::optional<bool> v = condition_operand(*c.expression, c.path, 0);
  --in_condition_;
  --reference_depth_;
  // `c` stays valid: conditions_ is a std::map and nothing is erased.
  c.state = v ? Condition::State::kDone : Condition::State::kFailed;
  c.value = v.value_or(false);
  return v;
}

std::optional<bool> TemplateEvaluator::condition_operand(const json::value& operand,
                                                         const std::string& path, int depth) {
  if (operand.is_object() && operand.get_object().size() == 1) {
    const auto& kv = *operand.get_object().begin();
    if (kv.key() == "Condition") {
      if (!kv.value().is_string()) {
        report("template.condition", path_member(path, "Condition"),
               "Condition must name a condition");
        return std::nullopt;
      }
      return condition(std::string(kv.value().get_string()), path_member(path, "Condition"));
    }
  }
  Evaluated r = eval(operand, path, nullptr, "", depth + 1);
  if (r.kind == Evaluated::Kind::kFailed) return std::nullopt;
  if (r.kind == Evaluated::Kind::kValue) {
    if (r.value.is_bool()) return r.value.get_bool();
    if (r.value.is_string()) {
      if (iequals(r.value.get_string(), "true")) return true;
      if (iequals(r.value.get_string(), "false")) return false;
    }
  }
  report("template.condition", path,
         "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or {Condition: Name}, "
         "giving true or false",
         "wrap the value in Fn::Equals");
  return std::nullopt;
}

bool TemplateEvaluator::included(const TemplateResource& resource) {
  if (!resource.condition) return true;
  return condition(*resource.condition, path_member(resource.path, "Condition")).value_or(false);
}

const PhysicalResource* TemplateEvaluator::physical(const std::string& logical_id,
                                                    const std::string& path) {
  auto index = resource_index_.find(logical_id);
  if (index == resource_index_.end()) {
    std::vector<std::string> ids;
    for (const auto& r : resources_) ids.push_back(r.logical_id);
    report("template.unresolved-reference", path, "there is no resource named " + quote(logical_id),
           did_you_mean(logical_id, ids));
    return nullptr;
  }
  const TemplateResource& r = resources_[index->second];
  if (!included(r)) {
    report("template.excluded-resource", path,
           "resource " + quote(logical_id) + " is not created because its condition " +
               quote(*r.condition) + " is false (or failed)",
           "guard this reference with Fn::If [" + *r.condition + ", ..., !Ref AWS::NoValue]");
    return nullptr;
  }
  ResourceState& s = resource_states_[logical_id];
  switch (s.state) {
    case ResourceState::State::kDone:
      return &s.physical;
    case ResourceState::State::kFailed:
      return nullptr;
    case ResourceState::State::kComputing:
      report("template.reference-cycle", path,
             "the name of resource " + quote(logical_id) +
                 " depends on itself through Ref, Fn::GetAtt or Fn::Sub",
             "give one of the resources in the cycle a literal name");
      return nullptr;
    case ResourceState::State::kPending:
      break;
  }
  if (reference_depth_ >= kMaxReferenceDepth) {
    report("template.reference-depth", path,
           "resource names refer to each other more than " + std::to_string(kMaxReferenceDepth) +
               " resources deep");
    return nullptr;
  }
  s.state = ResourceState::State::kComputing;
  ++reference_depth_;
  std::optional<PhysicalResource> p = compute_physical(r);
  --reference_depth_;
  // `s` stays valid: resource_states_ is a std::map and nothing is erased.
  if (!p) {
    s.state = ResourceState::State::kFailed;
    return nullptr;
  }
  s.physical = std::move(*p);
  s.state = ResourceState::State::kDone;
  if (!s.physical.managed && !s.noted) {
    s.noted = true;
    report("template.unmanaged-reference", path,
           "resource " + quote(logical_id) + " is a " + r.type +
               ", which Stageline does not manage; Ref gives the placeholder " +
               quote(s.physical.ref) + " and Fn::GetAtt placeholder ARNs",
           "", Severity::kNote);
  }
  return &s.physical;
}

std::optional<PhysicalResource> TemplateEvaluator::compute_physical(const TemplateResource& r) {
  const std::string& region = options_.region;
  const std::string& account = options_.account_id;
  const std::string partition = partition_of(region);
  const std::string suffix = url_suffix_of(region);
  const std::string seed = options_.stack_name + "/" + r.logical_id;
  PhysicalResource p;
  const TypeSpec* spec = find_type(r.type);
  std::string fallback = options_.stack_name + "-" + r.logical_id;
  if (spec == nullptr) {
    p.managed = false;
    p.ref = fallback;
    return p;
  }
  // A string property of the resource, evaluated; nullopt when absent; fails
  // the whole computation when present but not a string.
  bool failed = false;
  auto property = [&](std::string_view key) -> std::optional<std::string> {
    if (r.properties == nullptr) return std::nullopt;
    const json::value* v = r.properties->if_contains(key);
    if (v == nullptr) return std::nullopt;
    std::string ppath = path_member(path_member(r.path, "Properties"), key);
    Evaluated e = evaluate(*v, ppath);
    if (e.kind == Evaluated::Kind::kNoValue) return std::nullopt;
    if (e.kind == Evaluated::Kind::kFailed) {
      failed = true;
      return std::nullopt;
    }
    auto s = scalar_to_string(e.value);
    if (!s) {
      report("template.property-type", ppath,
             std::string(key) + " of " + quote(r.logical_id) + " must be a string, not " +
                 kind_phrase(e.value));
      failed = true;
    }
    return s;
  };
  std::string name;
  if (!spec->name_property.empty()) {
    auto given = property(spec->name_property);
    if (failed) return std::nullopt;
    if (given) {
      name = *given;
    } else if (r.type == "AWS::S3::Bucket") {
      name = bucket_name(fallback);
    } else if (r.type == "AWS::KMS::Alias") {
      name = truncated("alias/" + fallback, spec->max_name);
    } else {
      name = truncated(fallback, spec->max_name);
    }
  }
  p.name = name;
  auto arn = [&](std::string_view service, std::string_view resource, bool regional = true) {
    return "arn:" + partition + ":" + std::string(service) + ":" + (regional ? region : "") + ":" +
           account + ":" + std::string(resource);
  };
  const std::string& t = r.type;
  if (t == "AWS::IAM::Role" || t == "AWS::IAM::ManagedPolicy") {
    std::string iam_path = property("Path").value_or("/");
    if (failed) return std::nullopt;
    bool role = t == "AWS::IAM::Role";
    std::string a = "arn:" + partition + ":iam::" + account + ":" + (role ? "role" : "policy") +
                    iam_path + name;
    if (role) {
      p.ref = name;
      p.attributes = {{"Arn", a}, {"RoleId", iam_unique_id("AROA", seed)}};
    } else {
      p.ref = a;
      p.attributes = {{"PolicyArn", a},
                      {"PolicyId", iam_unique_id("ANPA", seed)},
                      {"DefaultVersionId", "v1"},
                      {"IsAttachable", "true"},
                      {"AttachmentCount", "0"},
                      {"PermissionsBoundaryUsageCount", "0"},
                      {"CreateDate", "1970-01-01T00:00:00Z"},
                      {"UpdateDate", "1970-01-01T00:00:00Z"}};
    }
  } else if (t == "AWS::IAM::Policy") {
    p.ref = name;
    p.attributes = {{"Id", name}};
  } else if (t == "AWS::S3::Bucket") {
    p.ref = name;
    p.attributes = {{"Arn", "arn:" + partition + ":s3:::" + name},
                    {"DomainName", name + ".s3." + suffix},
                    {"RegionalDomainName", name + ".s3." + region + "." + suffix},
                    {"DualStackDomainName", name + ".s3.dualstack." + region + "." + suffix},
                    {"WebsiteURL", "http://" + name + ".s3-website-" + region + "." + suffix}};
  } else if (t == "AWS::KMS::Key") {
    std::string id = deterministic_uuid("kms-key/" + seed);
    p.ref = id;
    p.attributes = {{"Arn", arn("kms", "key/" + id)}, {"KeyId", id}};
  } else if (t == "AWS::KMS::Alias") {
    p.ref = name;
  } else if (t == "AWS::CodeBuild::Project") {
    p.ref = name;
    p.attributes = {{"Arn", arn("codebuild", "project/" + name)}};
  } else if (t == "AWS::SNS::Topic") {
    std::string a = arn("sns", name);
    p.ref = a;
    p.attributes = {{"TopicArn", a}, {"TopicName", name}};
  } else if (t == "AWS::CodeCommit::Repository") {
    std::string id = deterministic_uuid("codecommit/" + seed);
    std::string host = "git-codecommit." + region + "." + suffix;
    p.ref = id;
    p.attributes = {{"Arn", arn("codecommit", name)},
                    {"Name", name},
                    {"RepositoryId", id},
                    {"CloneUrlHttp", "https://" + host + "/v1/repos/" + name},
                    {"CloneUrlSsh", "ssh://" + host + "/v1/repos/" + name}};
  } else if (t == "AWS::CodeStarConnections::Connection") {
    std::string a =
        arn("codestar-connections", "connection/" + deterministic_uuid("connection/" + seed));
    p.ref = a;
    p.attributes = {
        {"ConnectionArn", a}, {"ConnectionStatus", "AVAILABLE"}, {"OwnerAccountId", account}};
  } else if (t == "AWS::CodePipeline::Pipeline") {
    p.ref = name;
    p.attributes = {{"Version", "1"}, {"Arn", arn("codepipeline", name)}};
  } else if (t == "AWS::CodePipeline::Webhook") {
    p.ref = name;
    p.attributes = {{"Id", name},
                    {"Url", "https://" + region +
                                ".webhooks.aws/trigger?t=" + hex128("webhook/" + seed) + "&v=1"}};
  } else if (t == "AWS::CodePipeline::CustomActionType") {
    std::string category = property("Category").value_or("");
    std::string provider = property("Provider").value_or("");
    std::string version = property("Version").value_or("");
    if (failed) return std::nullopt;
    p.ref = category + "|Custom|" + provider + "|" + version;
    p.attributes = {{"Id", p.ref}};
  }
  return p;
}

Evaluated TemplateEvaluator::attribute(const std::string& logical_id, const std::string& attr,
                                       const std::string& path) {
  if (parameters_.count(logical_id)) {
    return fail("template.get-att", path,
                "Fn::GetAtt reads resources; " + quote(logical_id) + " is a parameter",
                "use Ref " + logical_id);
  }
  if (!resource_index_.count(logical_id)) {
    std::vector<std::string> ids;
    for (const auto& r : resources_) ids.push_back(r.logical_id);
    return fail("template.unresolved-reference", path,
                "Fn::GetAtt of " + quote(logical_id + "." + attr) + ": there is no resource " +
                    quote(logical_id),
                did_you_mean(logical_id, ids));
  }
  if (in_condition_ > 0) {
    return fail("template.condition-resource", path,
                "a condition can refer to parameters and mappings only, not to resource " +
                    quote(logical_id));
  }
  const PhysicalResource* p = physical(logical_id, path);
  if (p == nullptr) return {Evaluated::Kind::kFailed, nullptr};
  if (!p->managed) {
    const TemplateResource& r = resources_[resource_index_[logical_id]];
    return {
        Evaluated::Kind::kValue,
        json::string("arn:" + partition_of(options_.region) + ":" + service_of(r.type) + ":" +
                     options_.region + ":" + options_.account_id + ":" + logical_id + "/" + attr)};
  }
  auto it = p->attributes.find(attr);
  if (it == p->attributes.end()) {
    const TemplateResource& r = resources_[resource_index_[logical_id]];
    std::vector<std::string> names;
    for (const auto& [n, _] : p->attributes) names.push_back(n);
    return fail(
        "template.unknown-attribute", path,
        "resource " + quote(logical_id) + " (" + r.type + ") has no attribute " + quote(attr),
        names.empty() ? "it has no attributes; use Ref " + logical_id
                      : did_you_mean(attr, names, "use one of " + join(names, ", ")));
  }
  return {Evaluated::Kind::kValue, json::string(it->second)};
}

Evaluated TemplateEvaluator::fn_get_att(const json::value& args, const std::string& path,
                                        int depth) {
  std::string logical_id, attr;
  if (args.is_string()) {
    std::string s(args.get_string());
    size_t dot = s.find('.');
    if (dot == std::string::npos) {
      return fail(
          "template.get-att", path,
          "Fn::GetAtt needs LogicalId.Attribute or [LogicalId, Attribute], not " + quote(s));
    }
    logical_id = s.substr(0, dot);
    attr = s.substr(dot + 1);
  } else if (args.is_array() && args.get_array().size() == 2 && args.get_array()[0].is_string()) {
    logical_id = std::string(args.get_array()[0].get_string());
    const json::value& a = args.get_array()[1];
    if (a.is_string()) {
      attr = std::string(a.get_string());
    } else {
      auto s = string_arg(a, path_index(path, 1), depth, "the attribute name of Fn::GetAtt");
      if (!s) return {Evaluated::Kind::kFailed, nullptr};
      attr = *s;
    }
  } else {
    return fail("template.get-att", path,
                "Fn::GetAtt needs [LogicalId, Attribute] or \"LogicalId.Attribute\"",
                "write Fn::GetAtt: [Role, Arn] (or !GetAtt Role.Arn)");
  }
  return attribute(logical_id, attr, path);
}

std::optional<std::string> TemplateEvaluator::string_arg(const json::value& args,
                                                         const std::string& path, int depth,
                                                         std::string_view what) {
  Evaluated e = eval(args, path, nullptr, "", depth + 1);
  if (e.kind == Evaluated::Kind::kFailed) return std::nullopt;
  if (e.kind == Evaluated::Kind::kValue) {
    if (auto s = scalar_to_string(e.value)) return s;
  }
  report("template.argument-type", path,
         std::string(what) + " must be a string, not " +
             (e.kind == Evaluated::Kind::kNoValue ? std::string("AWS::NoValue")
                                                  : kind_phrase(e.value)));
  return std::nullopt;
}

Evaluated TemplateEvaluator::fn_sub(const json::value& args, const std::string& path, int depth) {
  std::string text;
  const json::object* variables = nullptr;
  std::string vars_path;
  if (args.is_string()) {
    text = std::string(args.get_string());
  } else if (args.is_array() && args.get_array().size() == 2 && args.get_array()[0].is_string() &&
             args.get_array()[1].is_object()) {
    text = std::string(args.get_array()[0].get_string());
    variables = &args.get_array()[1].get_object();
    vars_path = path_index(path, 1);
  } else {
    return fail("template.sub", path, "Fn::Sub needs a string, or [string, {Name: value, ...}]",
                "write Fn::Sub: 'text ${Name}' (or !Sub 'text ${Name}')");
  }
  std::string out;
  size_t i = 0;
  bool failed = false;
  while (i < text.size()) {
    size_t open = text.find("${", i);
    if (open == std::string::npos) {
      out.append(text, i);
      break;
    }
    out.append(text, i, open - i);
    if (open + 2 < text.size() && text[open + 2] == '!') {  // ${!Literal} -> ${Literal}
      out += "${";
      i = open + 3;
      continue;
    }
    size_t close = text.find('}', open + 2);
    if (close == std::string::npos) {
      out.append(text, open);
      break;
    }
    std::string name = trim(std::string_view(text).substr(open + 2, close - open - 2));
    i = close + 1;
    Evaluated v;
    if (variables != nullptr && variables->contains(name)) {
      v = eval(variables->at(name), path_member(vars_path, name), nullptr, "", depth + 1);
    } else if (size_t dot = name.find('.'); dot != std::string::npos) {
      v = attribute(name.substr(0, dot), name.substr(dot + 1), path);
    } else {
      v = reference(name, path);
    }
    if (v.kind == Evaluated::Kind::kFailed) {
      failed = true;
      continue;
    }
    std::optional<std::string> s;
    if (v.kind == Evaluated::Kind::kValue) s = scalar_to_string(v.value);
    if (!s) {
      report("template.sub", path,
             "${" + name + "} in Fn::Sub is " +
                 (v.kind == Evaluated::Kind::kNoValue ? std::string("AWS::NoValue")
                                                      : kind_phrase(v.value)) +
                 "; Fn::Sub can insert strings only",
             v.value.is_array() ? "use Fn::Join to turn the list into a string first" : "");
      failed = true;
      continue;
    }
    out += *s;
    if (out.size() > kMaxProducedBytes) break;
  }
  if (failed) return {Evaluated::Kind::kFailed, nullptr};
  if (!spend(out.size(), path)) return {Evaluated::Kind::kFailed, nullptr};
  return {Evaluated::Kind::kValue, json::string(out)};
}

Evaluated TemplateEvaluator::fn_join(const json::value& args, const std::string& path, int depth) {
  if (!args.is_array() || args.get_array().size() != 2) {
    return fail("template.join", path, "Fn::Join needs [delimiter, [values, ...]]");
  }
  auto delimiter =
      string_arg(args.get_array()[0], path_index(path, 0), depth, "the delimiter of Fn::Join");
  Evaluated list = eval(args.get_array()[1], path_index(path, 1), nullptr, "", depth + 1);
  if (!delimiter || list.kind == Evaluated::Kind::kFailed)
    return {Evaluated::Kind::kFailed, nullptr};
  if (list.partial) return {Evaluated::Kind::kFailed, nullptr};
  if (list.kind != Evaluated::Kind::kValue || !list.value.is_array()) {
    return fail("template.join", path_index(path, 1),
                "the second item of Fn::Join must be a list, not " + kind_phrase(list.value));
  }
  std::string out;
  size_t i = 0;
  for (const auto& item : list.value.get_array()) {
    auto s = scalar_to_string(item);
    if (!s) {
      return fail(
          "template.join", path_index(path_index(path, 1), i),
          "Fn::Join can join strings only; item " + std::to_string(i) + " is " + kind_phrase(item));
    }
    if (i++ > 0) out += *delimiter;
    out += *s;
    if (out.size() > kMaxProducedBytes) break;
  }
  if (!spend(out.size(), path)) return {Evaluated::Kind::kFailed, nullptr};
  return {Evaluated::Kind::kValue, json::string(out)};
}

Evaluated TemplateEvaluator::fn_select(const json::value& args, const std::string& path,
                                       int depth) {
  if (!args.is_array() || args.get_array().size() != 2) {
    return fail("template.select", path, "Fn::Select needs [index, [values, ...]]");
  }
  Evaluated index = eval(args.get_array()[0], path_index(path, 0), nullptr, "", depth + 1);
  Evaluated list = eval(args.get_array()[1], path_index(path, 1), nullptr, "", depth + 1);
  if (index.kind == Evaluated::Kind::kFailed || list.kind == Evaluated::Kind::kFailed ||
      list.partial) {
    return {Evaluated::Kind::kFailed, nullptr};
  }
  std::optional<int64_t> n;
  if (index.has_value()) n = whole_number(index.value);
  if (!n) {
    return fail("template.select", path_index(path, 0),
                "the index of Fn::Select must be a whole number");
  }
  if (!list.has_value() || !list.value.is_array()) {
    return fail("template.select", path_index(path, 1),
                "the second item of Fn::Select must be a list, not " + kind_phrase(list.value));
  }
  const json::array& a = list.value.get_array();
  if (*n < 0 || static_cast<size_t>(*n) >= a.size()) {
    return fail("template.select", path,
                "Fn::Select index " + std::to_string(*n) + " is out of range: the list has " +
                    std::to_string(a.size()) + " items");
  }
  return {Evaluated::Kind::kValue, a[static_cast<size_t>(*n)]};
}

Evaluated TemplateEvaluator::fn_split(const json::value& args, const std::string& path, int depth) {
  if (!args.is_array() || args.get_array().size() != 2) {
    return fail("template.split", path, "Fn::Split needs [delimiter, string]");
  }
  auto delimiter =
      string_arg(args.get_array()[0], path_index(path, 0), depth, "the delimiter of Fn::Split");
  auto source =
      string_arg(args.get_array()[1], path_index(path, 1), depth, "the source of Fn::Split");
  if (!delimiter || !source) return {Evaluated::Kind::kFailed, nullptr};
  if (delimiter->empty()) {
    return fail("template.split", path_index(path, 0), "the delimiter of Fn::Split is empty");
  }
  json::array out;
  size_t start = 0;
  while (true) {
    size_t at = source->find(*delimiter, start);
    out.emplace_back(
        source->substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + delimiter->size();
  }
  if (!spend(source->size() + out.size() * 16, path)) return {Evaluated::Kind::kFailed, nullptr};
  return {Evaluated::Kind::kValue, std::move(out)};
}

Evaluated TemplateEvaluator::fn_if(const json::value& args, const std::string& path,
                                   SourceMap* lines, const std::string& out_path, int depth) {
  if (!args.is_array() || args.get_array().size() != 3 || !args.get_array()[0].is_string()) {
    return fail("template.if", path, "Fn::If needs [ConditionName, value if true, value if false]");
  }
  const json::array& a = args.get_array();
  auto c = condition(std::string(a[0].get_string()), path_index(path, 0));
  if (!c) return {Evaluated::Kind::kFailed, nullptr};
  size_t branch = *c ? 1 : 2;
  return eval(a[branch], path_index(path, branch), lines, out_path, depth + 1);
}

Evaluated TemplateEvaluator::fn_find_in_map(const json::value& args, const std::string& path,
                                            int depth) {
  if (!args.is_array() || args.get_array().size() != 3) {
    return fail("template.find-in-map", path,
                "Fn::FindInMap needs [MapName, TopLevelKey, SecondLevelKey]");
  }
  std::string keys[3];
  const char* what[3] = {"the map name of Fn::FindInMap", "the top-level key of Fn::FindInMap",
                         "the second-level key of Fn::FindInMap"};
  for (size_t i = 0; i < 3; ++i) {
    auto s = string_arg(args.get_array()[i], path_index(path, i), depth, what[i]);
    if (!s) return {Evaluated::Kind::kFailed, nullptr};
    keys[i] = *s;
  }
  auto names_of = [](const json::object& o) {
    std::vector<std::string> names;
    for (const auto& kv : o) names.emplace_back(kv.key());
    return names;
  };
  const json::value* map = mappings_ ? mappings_->if_contains(keys[0]) : nullptr;
  if (map == nullptr || !map->is_object()) {
    return fail(
        "template.find-in-map", path_index(path, 0), "there is no mapping named " + quote(keys[0]),
        mappings_ ? did_you_mean(keys[0], names_of(*mappings_)) : "declare it under Mappings");
  }
  const json::value* top = map->get_object().if_contains(keys[1]);
  if (top == nullptr || !top->is_object()) {
    return fail("template.find-in-map", path_index(path, 1),
                "mapping " + quote(keys[0]) + " has no key " + quote(keys[1]),
                did_you_mean(keys[1], names_of(map->get_object())));
  }
  const json::value* value = top->get_object().if_contains(keys[2]);
  if (value == nullptr) {
    return fail("template.find-in-map", path_index(path, 2),
                "mapping " + quote(keys[0]) + " has no key " + quote(keys[1] + "." + keys[2]),
                did_you_mean(keys[2], names_of(top->get_object())));
  }
  return {Evaluated::Kind::kValue, *value};
}

Evaluated TemplateEvaluator::fn_base64(const json::value& args, const std::string& path,
                                       int depth) {
  auto s = string_arg(args, path, depth, "the value of Fn::Base64");
  if (!s) return {Evaluated::Kind::kFailed, nullptr};
  std::string out = base64(*s);
  if (!spend(out.size(), path)) return {Evaluated::Kind::kFailed, nullptr};
  return {Evaluated::Kind::kValue, json::string(out)};
}

Evaluated TemplateEvaluator::fn_get_azs(const json::value& args, const std::string& path,
                                        int depth) {
  auto s = string_arg(args, path, depth, "the region of Fn::GetAZs");
  if (!s) return {Evaluated::Kind::kFailed, nullptr};
  std::string region = s->empty() ? options_.region : *s;
  return {Evaluated::Kind::kValue,
          json::array{json::string(region + "a"), json::string(region + "b"),
                      json::string(region + "c")}};
}

Evaluated TemplateEvaluator::fn_condition(const std::string& name, const json::value& args,
                                          const std::string& path, int depth) {
  if (!args.is_array()) {
    return fail("template.condition-function", path, name + " needs a list of operands");
  }
  const json::array& a = args.get_array();
  auto boolean = [](bool b) { return Evaluated{Evaluated::Kind::kValue, b}; };
  if (name == "Fn::Equals") {
    if (a.size() != 2) {
      return fail("template.condition-function", path, "Fn::Equals needs [value, value]");
    }
    Evaluated x = eval(a[0], path_index(path, 0), nullptr, "", depth + 1);
    Evaluated y = eval(a[1], path_index(path, 1), nullptr, "", depth + 1);
    if (!x.has_value() || !y.has_value() || x.partial || y.partial) {
      return {Evaluated::Kind::kFailed, nullptr};
    }
    return boolean(equal_values(x.value, y.value));
  }
  if (name == "Fn::Not") {
    if (a.size() != 1) {
      return fail("template.condition-function", path, "Fn::Not needs [condition]");
    }
    auto c = condition_operand(a[0], path_index(path, 0), depth);
    if (!c) return {Evaluated::Kind::kFailed, nullptr};
    return boolean(!*c);
  }
  if (a.size() < 2 || a.size() > 10) {
    return fail("template.condition-function", path,
                name + " needs between 2 and 10 conditions, not " + std::to_string(a.size()));
  }
  bool is_and = name == "Fn::And";
  bool result = is_and;
  bool failed = false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto c = condition_operand(a[i], path_index(path, i), depth);
    if (!c) {
      failed = true;
      continue;
    }
    result = is_and ? (result && *c) : (result || *c);
  }
  if (failed) return {Evaluated::Kind::kFailed, nullptr};
  return boolean(result);
}

}  // namespace stageline::definitions
