#include "model/pipeline_json.h"

#include <boost/json.hpp>
#include <cctype>

#include "base/strings.h"

namespace stageline::model {

namespace json = boost::json;

const std::map<std::string, std::vector<std::string>>& decoded_shapes() {
  static const std::map<std::string, std::vector<std::string>> kShapes = {
      {"PipelineDeclaration",
       {"name", "roleArn", "artifactStore", "artifactStores", "stages", "version",
        "executionMode", "pipelineType", "variables", "triggers"}},
      {"ArtifactStore", {"type", "location", "encryptionKey"}},
      {"EncryptionKey", {"id", "type"}},
      {"StageDeclaration", {"name", "blockers", "actions", "onFailure", "onSuccess", "beforeEntry"}},
      {"BlockerDeclaration", {"name", "type"}},
      {"ActionDeclaration",
       {"name", "actionTypeId", "runOrder", "configuration", "commands", "outputArtifacts",
        "inputArtifacts", "outputVariables", "roleArn", "region", "namespace", "timeoutInMinutes",
        "environmentVariables"}},
      {"ActionTypeId", {"category", "owner", "provider", "version"}},
      {"OutputArtifact", {"name", "files"}},
      {"InputArtifact", {"name"}},
      {"EnvironmentVariable", {"name", "value", "type"}},
      {"FailureConditions", {"result", "retryConfiguration", "conditions"}},
      {"RetryConfiguration", {"retryMode"}},
      {"Condition", {"result", "rules"}},
      {"RuleDeclaration",
       {"name", "ruleTypeId", "configuration", "commands", "inputArtifacts", "roleArn", "region",
        "timeoutInMinutes"}},
      {"RuleTypeId", {"category", "owner", "provider", "version"}},
      {"SuccessConditions", {"conditions"}},
      {"BeforeEntryConditions", {"conditions"}},
      {"PipelineVariableDeclaration", {"name", "defaultValue", "description"}},
      {"PipelineTriggerDeclaration", {"providerType", "gitConfiguration"}},
      {"GitConfiguration", {"sourceActionName", "push", "pullRequest"}},
      {"GitPushFilter", {"tags", "branches", "filePaths"}},
      {"GitTagFilterCriteria", {"includes", "excludes"}},
      {"GitBranchFilterCriteria", {"includes", "excludes"}},
      {"GitFilePathFilterCriteria", {"includes", "excludes"}},
      {"GitPullRequestFilter", {"events", "branches", "filePaths"}},
      {"Tag", {"key", "value"}},
  };
  return kShapes;
}

std::string coral_path(std::string_view path, std::string_view root) {
  std::string out(root);
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
      continue;
    }
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string_view::npos) break;
      std::string_view inner = path.substr(i + 1, close - i - 1);
      if (!inner.empty() && std::isdigit(static_cast<unsigned char>(inner[0]))) {
        out += "." + std::to_string(std::stoul(std::string(inner)) + 1) + ".member";
      } else {
        // A quoted map key: Coral reports the map itself.
      }
      i = close + 1;
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    if (end == std::string_view::npos) end = path.size();
    if (!out.empty()) out += '.';
    out += path.substr(i, end - i);
    i = end;
  }
  return out;
}

namespace {

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "a list";
    case json::kind::object: return "an object";
  }
  return "a value";
}

std::string show(const json::value& v) {
  if (v.is_string()) return quote(v.get_string());
  std::string s = json::serialize(v);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// Collects errors while decoding; every decode function records what it
// cannot read and goes on with the next member.
class Ctx {
 public:
  std::vector<DecodeError> errors;

  void type_error(const std::string& path, std::string_view expected, const json::value& v,
                  std::string fix = "") {
    errors.push_back({DecodeError::Kind::kType, path,
                      "expected " + std::string(expected) + " but found " +
                          std::string(kind_name(v)) + " " + show(v),
                      std::move(fix)});
  }

  // Checks that `v` is an object of the botocore shape `shape`, reports
  // unknown members (with the closest known name), and returns it.
  const json::object* object(const json::value& v, const std::string& path,
                             const std::string& shape) {
    if (!v.is_object()) {
      type_error(path, "an object (" + shape + ")", v);
      return nullptr;
    }
    const auto& known = decoded_shapes().at(shape);
    const json::object& o = v.get_object();
    for (const auto& kv : o) {
      std::string key(kv.key());
      bool found = false;
      for (const auto& k : known) found = found || k == key;
      if (found) continue;
      std::vector<std::string> names(known.begin(), known.end());
      std::string near = closest_match(key, names);
      errors.push_back({DecodeError::Kind::kUnknownMember, join_path(path, key),
                        "unknown member " + quote(key) + " in " + shape + " (members: " +
                            join(names, ", ") + ")",
                        near.empty() ? "remove " + quote(key)
                                     : "did you mean " + quote(near) + "? rename it"});
    }
    return &o;
  }
};

// Scalars.
void decode_into(Ctx& c, const json::value& v, const std::string& p, std::string& out) {
  if (v.is_string()) {
    out = std::string(v.get_string());
  } else {
    c.type_error(p, "a string", v, v.is_primitive() ? "write it as a string: \"" +
                                                          json::serialize(v) + "\""
                                                    : "");
  }
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, int& out) {
  if (v.is_int64() && v.get_int64() >= INT32_MIN && v.get_int64() <= INT32_MAX) {
    out = static_cast<int>(v.get_int64());
  } else if (v.is_uint64() && v.get_uint64() <= INT32_MAX) {
    out = static_cast<int>(v.get_uint64());
  } else if (v.is_int64() || v.is_uint64()) {
    c.type_error(p, "an integer that fits 32 bits", v);
  } else {
    std::string fix;
    if (v.is_string()) fix = "write it as a number, without quotes";
    c.type_error(p, "an integer", v, fix);
  }
}

template <typename E>
  requires std::is_enum_v<E>
void decode_into(Ctx& c, const json::value& v, const std::string& p, E& out) {
  if (!v.is_string()) {
    c.type_error(p, "a string (" + std::string(EnumTraits<E>::kShape) + ")", v);
    return;
  }
  std::string_view s = v.get_string();
  if (auto e = parse_enum<E>(s)) {
    out = *e;
    return;
  }
  auto names = enum_names<E>();
  std::string near = closest_match(s, names);
  c.errors.push_back({DecodeError::Kind::kEnum, p,
                      "Value " + quote(s) + " at '" + coral_path(p) +
                          "' failed to satisfy constraint: Member must satisfy enum value set: [" +
                          join(names, ", ") + "]",
                      near.empty() ? "use one of " + join(names, ", ")
                                   : "did you mean " + quote(near) + "? values are case-sensitive"});
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, StringMap& out) {
  if (!v.is_object()) {
    c.type_error(p, "an object of string values", v);
    return;
  }
  for (const auto& kv : v.get_object()) {
    std::string key(kv.key());
    std::string child = p + "." + key;
    if (!kv.value().is_string()) {
      c.type_error(child, "a string", kv.value(),
                   kv.value().is_primitive()
                       ? "configuration values are strings: write \"" +
                             json::serialize(kv.value()) + "\""
                       : "configuration values are strings: encode it as a JSON string");
      continue;
    }
    out[key] = std::string(kv.value().get_string());
  }
}

// Structures (defined below).
void decode_into(Ctx&, const json::value&, const std::string&, EncryptionKey&);
void decode_into(Ctx&, const json::value&, const std::string&, ArtifactStore&);
void decode_into(Ctx&, const json::value&, const std::string&, ActionTypeId&);
void decode_into(Ctx&, const json::value&, const std::string&, InputArtifact&);
void decode_into(Ctx&, const json::value&, const std::string&, OutputArtifact&);
void decode_into(Ctx&, const json::value&, const std::string&, EnvironmentVariable&);
void decode_into(Ctx&, const json::value&, const std::string&, ActionDeclaration&);
void decode_into(Ctx&, const json::value&, const std::string&, BlockerDeclaration&);
void decode_into(Ctx&, const json::value&, const std::string&, RuleTypeId&);
void decode_into(Ctx&, const json::value&, const std::string&, RuleDeclaration&);
void decode_into(Ctx&, const json::value&, const std::string&, Condition&);
void decode_into(Ctx&, const json::value&, const std::string&, RetryConfiguration&);
void decode_into(Ctx&, const json::value&, const std::string&, FailureConditions&);
void decode_into(Ctx&, const json::value&, const std::string&, SuccessConditions&);
void decode_into(Ctx&, const json::value&, const std::string&, BeforeEntryConditions&);
void decode_into(Ctx&, const json::value&, const std::string&, StageDeclaration&);
void decode_into(Ctx&, const json::value&, const std::string&, PipelineVariableDeclaration&);
void decode_into(Ctx&, const json::value&, const std::string&, GitPushFilter&);
void decode_into(Ctx&, const json::value&, const std::string&, GitPullRequestFilter&);
void decode_into(Ctx&, const json::value&, const std::string&, GitConfiguration&);
void decode_into(Ctx&, const json::value&, const std::string&, PipelineTriggerDeclaration&);
void decode_into(Ctx&, const json::value&, const std::string&, PipelineDeclaration&);
void decode_into(Ctx&, const json::value&, const std::string&, Tag&);

template <typename T>
void decode_into(Ctx& c, const json::value& v, const std::string& p, std::vector<T>& out) {
  if (!v.is_array()) {
    c.type_error(p, "a list", v, v.is_object() ? "wrap it in [ ]" : "");
    return;
  }
  const auto& a = v.get_array();
  out.resize(a.size());
  for (size_t i = 0; i < a.size(); ++i)
    decode_into(c, a[i], p + "[" + std::to_string(i) + "]", out[i]);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p,
                 std::map<std::string, ArtifactStore>& out) {
  if (!v.is_object()) {
    c.type_error(p, "an object of region -> artifact store", v);
    return;
  }
  for (const auto& kv : v.get_object())
    decode_into(c, kv.value(), p + "." + std::string(kv.key()), out[std::string(kv.key())]);
}

// A member the shape requires: absent (or null) is AWS's "must not be null".
template <typename T>
void req(Ctx& c, const json::object& o, const std::string& p, std::string_view key, T& out) {
  std::string child = join_path(p, key);
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) {
    c.errors.push_back({DecodeError::Kind::kMissing, child,
                        "Value null at '" + coral_path(child) +
                            "' failed to satisfy constraint: Member must not be null",
                        "add " + quote(key)});
    return;
  }
  decode_into(c, *v, child, out);
}

// An optional member: absent or null leaves it std::nullopt.
template <typename T>
void opt(Ctx& c, const json::object& o, const std::string& p, std::string_view key,
         std::optional<T>& out) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return;
  out.emplace();
  decode_into(c, *v, join_path(p, key), *out);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, EncryptionKey& out) {
  auto* o = c.object(v, p, "EncryptionKey");
  if (!o) return;
  req(c, *o, p, "id", out.id);
  req(c, *o, p, "type", out.type);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, ArtifactStore& out) {
  auto* o = c.object(v, p, "ArtifactStore");
  if (!o) return;
  req(c, *o, p, "type", out.type);
  req(c, *o, p, "location", out.location);
  opt(c, *o, p, "encryptionKey", out.encryption_key);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, ActionTypeId& out) {
  auto* o = c.object(v, p, "ActionTypeId");
  if (!o) return;
  req(c, *o, p, "category", out.category);
  req(c, *o, p, "owner", out.owner);
  req(c, *o, p, "provider", out.provider);
  req(c, *o, p, "version", out.version);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, InputArtifact& out) {
  auto* o = c.object(v, p, "InputArtifact");
  if (!o) return;
  req(c, *o, p, "name", out.name);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, OutputArtifact& out) {
  auto* o = c.object(v, p, "OutputArtifact");
  if (!o) return;
  req(c, *o, p, "name", out.name);
  opt(c, *o, p, "files", out.files);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, EnvironmentVariable& out) {
  auto* o = c.object(v, p, "EnvironmentVariable");
  if (!o) return;
  req(c, *o, p, "name", out.name);
  req(c, *o, p, "value", out.value);
  opt(c, *o, p, "type", out.type);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, ActionDeclaration& out) {
  auto* o = c.object(v, p, "ActionDeclaration");
  if (!o) return;
  req(c, *o, p, "name", out.name);
  req(c, *o, p, "actionTypeId", out.action_type_id);
  opt(c, *o, p, "runOrder", out.run_order);
  opt(c, *o, p, "configuration", out.configuration);
  opt(c, *o, p, "commands", out.commands);
  opt(c, *o, p, "outputArtifacts", out.output_artifacts);
  opt(c, *o, p, "inputArtifacts", out.input_artifacts);
  opt(c, *o, p, "outputVariables", out.output_variables);
  opt(c, *o, p, "roleArn", out.role_arn);
  opt(c, *o, p, "region", out.region);
  opt(c, *o, p, "namespace", out.namespace_);
  opt(c, *o, p, "timeoutInMinutes", out.timeout_in_minutes);
  opt(c, *o, p, "environmentVariables", out.environment_variables);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, BlockerDeclaration& out) {
  auto* o = c.object(v, p, "BlockerDeclaration");
  if (!o) return;
  req(c, *o, p, "name", out.name);
  req(c, *o, p, "type", out.type);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, RuleTypeId& out) {
  auto* o = c.object(v, p, "RuleTypeId");
  if (!o) return;
  req(c, *o, p, "category", out.category);
  opt(c, *o, p, "owner", out.owner);
  req(c, *o, p, "provider", out.provider);
  opt(c, *o, p, "version", out.version);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, RuleDeclaration& out) {
  auto* o = c.object(v, p, "RuleDeclaration");
  if (!o) return;
  req(c, *o, p, "name", out.name);
  req(c, *o, p, "ruleTypeId", out.rule_type_id);
  opt(c, *o, p, "configuration", out.configuration);
  opt(c, *o, p, "commands", out.commands);
  opt(c, *o, p, "inputArtifacts", out.input_artifacts);
  opt(c, *o, p, "roleArn", out.role_arn);
  opt(c, *o, p, "region", out.region);
  opt(c, *o, p, "timeoutInMinutes", out.timeout_in_minutes);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, Condition& out) {
  auto* o = c.object(v, p, "Condition");
  if (!o) return;
  opt(c, *o, p, "result", out.result);
  opt(c, *o, p, "rules", out.rules);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, RetryConfiguration& out) {
  auto* o = c.object(v, p, "RetryConfiguration");
  if (!o) return;
  opt(c, *o, p, "retryMode", out.retry_mode);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, FailureConditions& out) {
  auto* o = c.object(v, p, "FailureConditions");
  if (!o) return;
  opt(c, *o, p, "result", out.result);
  opt(c, *o, p, "retryConfiguration", out.retry_configuration);
  opt(c, *o, p, "conditions", out.conditions);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, SuccessConditions& out) {
  auto* o = c.object(v, p, "SuccessConditions");
  if (!o) return;
  req(c, *o, p, "conditions", out.conditions);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, BeforeEntryConditions& out) {
  auto* o = c.object(v, p, "BeforeEntryConditions");
  if (!o) return;
  req(c, *o, p, "conditions", out.conditions);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, StageDeclaration& out) {
  auto* o = c.object(v, p, "StageDeclaration");
  if (!o) return;
  req(c, *o, p, "name", out.name);
  opt(c, *o, p, "blockers", out.blockers);
  req(c, *o, p, "actions", out.actions);
  opt(c, *o, p, "onFailure", out.on_failure);
  opt(c, *o, p, "onSuccess", out.on_success);
  opt(c, *o, p, "beforeEntry", out.before_entry);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p,
                 PipelineVariableDeclaration& out) {
  auto* o = c.object(v, p, "PipelineVariableDeclaration");
  if (!o) return;
  req(c, *o, p, "name", out.name);
  opt(c, *o, p, "defaultValue", out.default_value);
  opt(c, *o, p, "description", out.description);
}

void decode_criteria(Ctx& c, const json::object& parent, const std::string& p,
                     std::string_view key, const std::string& shape,
                     std::optional<GitFilterCriteria>& out) {
  const json::value* v = parent.if_contains(key);
  if (!v || v->is_null()) return;
  std::string child = join_path(p, key);
  auto* o = c.object(*v, child, shape);
  out.emplace();
  if (!o) return;
  opt(c, *o, child, "includes", out->includes);
  opt(c, *o, child, "excludes", out->excludes);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, GitPushFilter& out) {
  auto* o = c.object(v, p, "GitPushFilter");
  if (!o) return;
  decode_criteria(c, *o, p, "tags", "GitTagFilterCriteria", out.tags);
  decode_criteria(c, *o, p, "branches", "GitBranchFilterCriteria", out.branches);
  decode_criteria(c, *o, p, "filePaths", "GitFilePathFilterCriteria", out.file_paths);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, GitPullRequestFilter& out) {
  auto* o = c.object(v, p, "GitPullRequestFilter");
  if (!o) return;
  opt(c, *o, p, "events", out.events);
  decode_criteria(c, *o, p, "branches", "GitBranchFilterCriteria", out.branches);
  decode_criteria(c, *o, p, "filePaths", "GitFilePathFilterCriteria", out.file_paths);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, GitConfiguration& out) {
  auto* o = c.object(v, p, "GitConfiguration");
  if (!o) return;
  req(c, *o, p, "sourceActionName", out.source_action_name);
  opt(c, *o, p, "push", out.push);
  opt(c, *o, p, "pullRequest", out.pull_request);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p,
                 PipelineTriggerDeclaration& out) {
  auto* o = c.object(v, p, "PipelineTriggerDeclaration");
  if (!o) return;
  req(c, *o, p, "providerType", out.provider_type);
  req(c, *o, p, "gitConfiguration", out.git_configuration);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, PipelineDeclaration& out) {
  auto* o = c.object(v, p, "PipelineDeclaration");
  if (!o) return;
  req(c, *o, p, "name", out.name);
  req(c, *o, p, "roleArn", out.role_arn);
  opt(c, *o, p, "artifactStore", out.artifact_store);
  opt(c, *o, p, "artifactStores", out.artifact_stores);
  req(c, *o, p, "stages", out.stages);
  opt(c, *o, p, "version", out.version);
  opt(c, *o, p, "executionMode", out.execution_mode);
  opt(c, *o, p, "pipelineType", out.pipeline_type);
  opt(c, *o, p, "variables", out.variables);
  opt(c, *o, p, "triggers", out.triggers);
}

void decode_into(Ctx& c, const json::value& v, const std::string& p, Tag& out) {
  auto* o = c.object(v, p, "Tag");
  if (!o) return;
  req(c, *o, p, "key", out.key);
  req(c, *o, p, "value", out.value);
}

// Encoding.
json::value enc(const std::string& s) { return json::value(s); }
json::value enc(int i) { return json::value(i); }
template <typename E>
  requires std::is_enum_v<E>
json::value enc(E e) {
  return json::value(to_string(e));
}
json::value enc(const StringMap& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}
json::value enc(const EncryptionKey&);
json::value enc(const ArtifactStore&);
json::value enc(const ActionTypeId&);
json::value enc(const InputArtifact&);
json::value enc(const OutputArtifact&);
json::value enc(const EnvironmentVariable&);
json::value enc(const ActionDeclaration&);
json::value enc(const BlockerDeclaration&);
json::value enc(const RuleTypeId&);
json::value enc(const RuleDeclaration&);
json::value enc(const Condition&);
json::value enc(const RetryConfiguration&);
json::value enc(const FailureConditions&);
json::value enc(const SuccessConditions&);
json::value enc(const BeforeEntryConditions&);
json::value enc(const StageDeclaration&);
json::value enc(const PipelineVariableDeclaration&);
json::value enc(const GitFilterCriteria&);
json::value enc(const GitPushFilter&);
json::value enc(const GitPullRequestFilter&);
json::value enc(const GitConfiguration&);
json::value enc(const PipelineTriggerDeclaration&);
json::value enc(const Tag&);

template <typename T>
json::value enc(const std::vector<T>& v) {
  json::array a;
  a.reserve(v.size());
  for (const auto& x : v) a.push_back(enc(x));
  return a;
}
json::value enc(const std::map<std::string, ArtifactStore>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = enc(v);
  return o;
}
template <typename T>
void put(json::object& o, std::string_view key, const T& v) {
  o[key] = enc(v);
}
template <typename T>
void put(json::object& o, std::string_view key, const std::optional<T>& v) {
  if (v) o[key] = enc(*v);
}

json::value enc(const EncryptionKey& x) {
  json::object o;
  put(o, "id", x.id);
  put(o, "type", x.type);
  return o;
}
json::value enc(const ArtifactStore& x) {
  json::object o;
  put(o, "type", x.type);
  put(o, "location", x.location);
  put(o, "encryptionKey", x.encryption_key);
  return o;
}
json::value enc(const ActionTypeId& x) {
  json::object o;
  put(o, "category", x.category);
  put(o, "owner", x.owner);
  put(o, "provider", x.provider);
  put(o, "version", x.version);
  return o;
}
json::value enc(const InputArtifact& x) {
  json::object o;
  put(o, "name", x.name);
  return o;
}
json::value enc(const OutputArtifact& x) {
  json::object o;
  put(o, "name", x.name);
  put(o, "files", x.files);
  return o;
}
json::value enc(const EnvironmentVariable& x) {
  json::object o;
  put(o, "name", x.name);
  put(o, "value", x.value);
  put(o, "type", x.type);
  return o;
}
json::value enc(const ActionDeclaration& x) {
  json::object o;
  put(o, "name", x.name);
  put(o, "actionTypeId", x.action_type_id);
  put(o, "runOrder", x.run_order);
  put(o, "configuration", x.configuration);
  put(o, "commands", x.commands);
  put(o, "outputArtifacts", x.output_artifacts);
  put(o, "inputArtifacts", x.input_artifacts);
  put(o, "outputVariables", x.output_variables);
  put(o, "roleArn", x.role_arn);
  put(o, "region", x.region);
  put(o, "namespace", x.namespace_);
  put(o, "timeoutInMinutes", x.timeout_in_minutes);
  put(o, "environmentVariables", x.environment_variables);
  return o;
}
json::value enc(const BlockerDeclaration& x) {
  json::object o;
  put(o, "name", x.name);
  put(o, "type", x.type);
  return o;
}
json::value enc(const RuleTypeId& x) {
  json::object o;
  put(o, "category", x.category);
  put(o, "owner", x.owner);
  put(o, "provider", x.provider);
  put(o, "version", x.version);
  return o;
}
json::value enc(const RuleDeclaration& x) {
  json::object o;
  put(o, "name", x.name);
  put(o, "ruleTypeId", x.rule_type_id);
  put(o, "configuration", x.configuration);
  put(o, "commands", x.commands);
  put(o, "inputArtifacts", x.input_artifacts);
  put(o, "roleArn", x.role_arn);
  put(o, "region", x.region);
  put(o, "timeoutInMinutes", x.timeout_in_minutes);
  return o;
}
json::value enc(const Condition& x) {
  json::object o;
  put(o, "result", x.result);
  put(o, "rules", x.rules);
  return o;
}
json::value enc(const RetryConfiguration& x) {
  json::object o;
  put(o, "retryMode", x.retry_mode);
  return o;
}
json::value enc(const FailureConditions& x) {
  json::object o;
  put(o, "result", x.result);
  put(o, "retryConfiguration", x.retry_configuration);
  put(o, "conditions", x.conditions);
  return o;
}
json::value enc(const SuccessConditions& x) {
  json::object o;
  put(o, "conditions", x.conditions);
  return o;
}
json::value enc(const BeforeEntryConditions& x) {
  json::object o;
  put(o, "conditions", x.conditions);
  return o;
}
json::value enc(const StageDeclaration& x) {
  json::object o;
  put(o, "name", x.name);
  put(o, "blockers", x.blockers);
  put(o, "actions", x.actions);
  put(o, "onFailure", x.on_failure);
  put(o, "onSuccess", x.on_success);
  put(o, "beforeEntry", x.before_entry);
  return o;
}
json::value enc(const PipelineVariableDeclaration& x) {
  json::object o;
  put(o, "name", x.name);
  put(o, "defaultValue", x.default_value);
  put(o, "description", x.description);
  return o;
}
json::value enc(const GitFilterCriteria& x) {
  json::object o;
  put(o, "includes", x.includes);
  put(o, "excludes", x.excludes);
  return o;
}
json::value enc(const GitPushFilter& x) {
  json::object o;
  put(o, "tags", x.tags);
  put(o, "branches", x.branches);
  put(o, "filePaths", x.file_paths);
  return o;
}
json::value enc(const GitPullRequestFilter& x) {
  json::object o;
  put(o, "events", x.events);
  put(o, "branches", x.branches);
  put(o, "filePaths", x.file_paths);
  return o;
}
json::value enc(const GitConfiguration& x) {
  json::object o;
  put(o, "sourceActionName", x.source_action_name);
  put(o, "push", x.push);
  put(o, "pullRequest", x.pull_request);
  return o;
}
json::value enc(const PipelineTriggerDeclaration& x) {
  json::object o;
  put(o, "providerType", x.provider_type);
  put(o, "gitConfiguration", x.git_configuration);
  return o;
}
json::value enc(const Tag& x) {
  json::object o;
  put(o, "key", x.key);
  put(o, "value", x.value);
  return o;
}

}  // namespace

Decoded<PipelineDeclaration> decode_pipeline(const json::value& v, const std::string& path) {
  Ctx c;
  Decoded<PipelineDeclaration> out;
  decode_into(c, v, path, out.value);
  out.errors = std::move(c.errors);
  return out;
}

Decoded<std::vector<Tag>> decode_tags(const json::value& v, const std::string& path) {
  Ctx c;
  Decoded<std::vector<Tag>> out;
  decode_into(c, v, path, out.value);
  out.errors = std::move(c.errors);
  return out;
}

json::value encode_pipeline(const PipelineDeclaration& pipeline) {
  json::object o;
  put(o, "name", pipeline.name);
  put(o, "roleArn", pipeline.role_arn);
  put(o, "artifactStore", pipeline.artifact_store);
  put(o, "artifactStores", pipeline.artifact_stores);
  put(o, "stages", pipeline.stages);
  put(o, "version", pipeline.version);
  put(o, "executionMode", pipeline.execution_mode);
  put(o, "pipelineType", pipeline.pipeline_type);
  put(o, "variables", pipeline.variables);
  put(o, "triggers", pipeline.triggers);
  return o;
}

json::value encode_tags(const std::vector<Tag>& tags) { return enc(tags); }

}  // namespace stageline::model
