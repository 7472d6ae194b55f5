#include "model/pipeline_json.h"

#include <boost/json.hpp>
#include <cctype>
#include <tuple>
#include <type_traits>

#include "base/status.h"
#include "base/strings.h"

namespace stageline::model {

namespace json = boost::json;

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
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "a list";
    case json::kind::object:
      return "an object";
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
    auto shape_it = decoded_shapes().find(shape);
    STAGELINE_CHECK(shape_it != decoded_shapes().end());  // every Shape<> is registered
    const auto& known = shape_it->second;
    const json::object& o = v.get_object();
    for (const auto& kv : o) {
      std::string key(kv.key());
      bool found = false;
      for (const auto& k : known) found = found || k == key;
      if (found) continue;
      std::vector<std::string> names(known.begin(), known.end());
      std::string near = closest_match(key, names);
      errors.push_back(
          {DecodeError::Kind::kUnknownMember, join_path(path, key),
           "unknown member " + quote(key) + " in " + shape + " (members: " + join(names, ", ") +
               ")",
           near.empty() ? "remove " + quote(key) : "did you mean " + quote(near) + "? rename it"});
    }
    return &o;
  }
};

// Scalars.
void decode_into(Ctx& c, const json::value& v, const std::string& p, std::string& out) {
  if (v.is_string()) {
    out = std::string(v.get_string());
  } else {
    c.type_error(p, "a string", v,
                 v.is_primitive() ? "write it as a string: \"" + json::serialize(v) + "\"" : "");
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
                      near.empty()
                          ? "use one of " + join(names, ", ")
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
      c.type_error(
          child, "a string", kv.value(),
          kv.value().is_primitive()
              ? "configuration values are strings: write \"" + json::serialize(kv.value()) + "\""
              : "configuration values are strings: encode it as a JSON string");
      continue;
    }
    out[key] = std::string(kv.value().get_string());
  }
}

// --- Structures -----------------------------------------------------------
//
// Each structure is described once, as a table of (API member name, C++
// member); decoding, encoding and the list of known members all come from
// that table, so they cannot disagree. A member is required unless its C++
// type is std::optional. `shape` names the botocore shape when one C++ type
// serves several (GitFilterCriteria).

template <typename S, typename T>
struct Member {
  std::string_view name;
  T S::*ptr;
  std::string_view shape = {};
};

template <typename S, typename T>
constexpr Member<S, T> m(std::string_view name, T S::*ptr, std::string_view shape = {}) {
  return {name, ptr, shape};
}

template <typename T>
struct Shape;

#define STAGELINE_SHAPE(T, ...)                                    \
  template <>                                                      \
  struct Shape<T> {                                                \
    static constexpr std::string_view kName = #T;                  \
    static constexpr auto kMembers = std::make_tuple(__VA_ARGS__); \
  };

using PDecl = PipelineDeclaration;
STAGELINE_SHAPE(EncryptionKey, m("id", &EncryptionKey::id), m("type", &EncryptionKey::type))
STAGELINE_SHAPE(ArtifactStore, m("type", &ArtifactStore::type),
                m("location", &ArtifactStore::location),
                m("encryptionKey", &ArtifactStore::encryption_key))
STAGELINE_SHAPE(ActionTypeId, m("category", &ActionTypeId::category),
                m("owner", &ActionTypeId::owner), m("provider", &ActionTypeId::provider),
                m("version", &ActionTypeId::version))
STAGELINE_SHAPE(InputArtifact, m("name", &InputArtifact::name))
STAGELINE_SHAPE(OutputArtifact, m("name", &OutputArtifact::name),
                m("files", &OutputArtifact::files))
STAGELINE_SHAPE(EnvironmentVariable, m("name", &EnvironmentVariable::name),
                m("value", &EnvironmentVariable::value), m("type", &EnvironmentVariable::type))
STAGELINE_SHAPE(ActionDeclaration, m("name", &ActionDeclaration::name),
                m("actionTypeId", &ActionDeclaration::action_type_id),
                m("runOrder", &ActionDeclaration::run_order),
                m("configuration", &ActionDeclaration::configuration),
                m("commands", &ActionDeclaration::commands),
                m("outputArtifacts", &ActionDeclaration::output_artifacts),
                m("inputArtifacts", &ActionDeclaration::input_artifacts),
                m("outputVariables", &ActionDeclaration::output_variables),
                m("roleArn", &ActionDeclaration::role_arn), m("region", &ActionDeclaration::region),
                m("namespace", &ActionDeclaration::namespace_),
                m("timeoutInMinutes", &ActionDeclaration::timeout_in_minutes),
                m("environmentVariables", &ActionDeclaration::environment_variables))
STAGELINE_SHAPE(BlockerDeclaration, m("name", &BlockerDeclaration::name),
                m("type", &BlockerDeclaration::type))
STAGELINE_SHAPE(RuleTypeId, m("category", &RuleTypeId::category), m("owner", &RuleTypeId::owner),
                m("provider", &RuleTypeId::provider), m("version", &RuleTypeId::version))
STAGELINE_SHAPE(RuleDeclaration, m("name", &RuleDeclaration::name),
                m("ruleTypeId", &RuleDeclaration::rule_type_id),
                m("configuration", &RuleDeclaration::configuration),
                m("commands", &RuleDeclaration::commands),
                m("inputArtifacts", &RuleDeclaration::input_artifacts),
                m("roleArn", &RuleDeclaration::role_arn), m("region", &RuleDeclaration::region),
                m("timeoutInMinutes", &RuleDeclaration::timeout_in_minutes))
STAGELINE_SHAPE(Condition, m("result", &Condition::result), m("rules", &Condition::rules))
STAGELINE_SHAPE(RetryConfiguration, m("retryMode", &RetryConfiguration::retry_mode))
STAGELINE_SHAPE(FailureConditions, m("result", &FailureConditions::result),
                m("retryConfiguration", &FailureConditions::retry_configuration),
                m("conditions", &FailureConditions::conditions))
STAGELINE_SHAPE(SuccessConditions, m("conditions", &SuccessConditions::conditions))
STAGELINE_SHAPE(BeforeEntryConditions, m("conditions", &BeforeEntryConditions::conditions))
STAGELINE_SHAPE(StageDeclaration, m("name", &StageDeclaration::name),
                m("blockers", &StageDeclaration::blockers),
                m("actions", &StageDeclaration::actions),
                m("onFailure", &StageDeclaration::on_failure),
                m("onSuccess", &StageDeclaration::on_success),
                m("beforeEntry", &StageDeclaration::before_entry))
STAGELINE_SHAPE(PipelineVariableDeclaration, m("name", &PipelineVariableDeclaration::name),
                m("defaultValue", &PipelineVariableDeclaration::default_value),
                m("description", &PipelineVariableDeclaration::description))
STAGELINE_SHAPE(GitFilterCriteria, m("includes", &GitFilterCriteria::includes),
                m("excludes", &GitFilterCriteria::excludes))
STAGELINE_SHAPE(GitPushFilter, m("tags", &GitPushFilter::tags, "GitTagFilterCriteria"),
                m("branches", &GitPushFilter::branches, "GitBranchFilterCriteria"),
                m("filePaths", &GitPushFilter::file_paths, "GitFilePathFilterCriteria"))
STAGELINE_SHAPE(GitPullRequestFilter, m("events", &GitPullRequestFilter::events),
                m("branches", &GitPullRequestFilter::branches, "GitBranchFilterCriteria"),
                m("filePaths", &GitPullRequestFilter::file_paths, "GitFilePathFilterCriteria"))
STAGELINE_SHAPE(GitConfiguration, m("sourceActionName", &GitConfiguration::source_action_name),
                m("push", &GitConfiguration::push),
                m("pullRequest", &GitConfiguration::pull_request))
STAGELINE_SHAPE(PipelineTriggerDeclaration,
                m("providerType", &PipelineTriggerDeclaration::provider_type),
                m("gitConfiguration", &PipelineTriggerDeclaration::git_configuration))
STAGELINE_SHAPE(PipelineDeclaration, m("name", &PDecl::name), m("roleArn", &PDecl::role_arn),
                m("artifactStore", &PDecl::artifact_store),
                m("artifactStores", &PDecl::artifact_stores), m("stages", &PDecl::stages),
                m("version", &PDecl::version), m("executionMode", &PDecl::execution_mode),
                m("pipelineType", &PDecl::pipeline_type), m("variables", &PDecl::variables),
                m("triggers", &PDecl::triggers))
STAGELINE_SHAPE(Tag, m("key", &Tag::key), m("value", &Tag::value))
#undef STAGELINE_SHAPE

template <typename T>
concept Structure = requires {
  Shape<T>::kMembers;
};

template <typename T>
struct Unwrap {
  using type = T;
};
template <typename T>
struct Unwrap<std::optional<T>> {
  using type = typename Unwrap<T>::type;
};
template <typename T>
struct Unwrap<std::vector<T>> {
  using type = typename Unwrap<T>::type;
};
template <typename K, typename T>
struct Unwrap<std::map<K, T>> {
  using type = typename Unwrap<T>::type;
};
template <typename T>
inline constexpr bool kIsOptional = false;
template <typename T>
inline constexpr bool kIsOptional<std::optional<T>> = true;

template <Structure S>
void decode_into(Ctx& c, const json::value& v, const std::string& p, S& out,
                 std::string_view shape = Shape<S>::kName);

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

// Decodes `value` as the member's type; a structure gets its botocore shape name.
template <typename T>
void decode_member(Ctx& c, const json::value& v, const std::string& p, T& out,
                   std::string_view shape) {
  if constexpr (Structure<T>) {
    decode_into(c, v, p, out, shape.empty() ? Shape<T>::kName : shape);
  } else {
    decode_into(c, v, p, out);
  }
}

template <Structure S>
void decode_into(Ctx& c, const json::value& v, const std::string& p, S& out,
                 std::string_view shape) {
  const json::object* o = c.object(v, p, std::string(shape));
  if (!o) return;
  std::apply(
      [&](const auto&... member) {
        (
            [&] {
              const json::value* mv = o->if_contains(member.name);
              std::string child = join_path(p, member.name);
              auto& field = out.*member.ptr;
              using F = std::remove_reference_t<decltype(field)>;
              if (!mv || mv->is_null()) {
                // Null is absent, as AWS reads it.
                if constexpr (!kIsOptional<F>)
                  c.errors.push_back({DecodeError::Kind::kMissing, child,
                                      "Value null at '" + coral_path(child) +
                                          "' failed to satisfy constraint: Member must not be null",
                                      "add " + quote(member.name)});
                return;
              }
              if constexpr (kIsOptional<F>) {
                field.emplace();
                decode_member(c, *mv, child, *field, member.shape);
              } else {
                decode_member(c, *mv, child, field, member.shape);
              }
            }(),
            ...);
      },
      Shape<S>::kMembers);
}

// --- Encoding -------------------------------------------------------------

json::value enc(const std::string& s) { return json::value(s); }
json::value enc(int i) { return json::value(i); }
template <typename E>
requires std::is_enum_v<E> json::value enc(E e) { return json::value(to_string(e)); }
json::value enc(const StringMap& map) {
  json::object o;
  for (const auto& [k, v] : map) o[k] = v;
  return o;
}
template <Structure S>
json::value enc(const S& s);
template <typename T>
json::value enc(const std::vector<T>& v) {
  json::array a;
  a.reserve(v.size());
  for (const auto& x : v) a.push_back(enc(x));
  return a;
}
json::value enc(const std::map<std::string, ArtifactStore>& map) {
  json::object o;
  for (const auto& [k, v] : map) o[k] = enc(v);
  return o;
}
template <Structure S>
json::value enc(const S& s) {
  json::object o;
  std::apply(
      [&](const auto&... member) {
        (
            [&] {
              const auto& field = s.*member.ptr;
              using F = std::remove_cvref_t<decltype(field)>;
              if constexpr (kIsOptional<F>) {
                if (field) o[member.name] = enc(*field);
              } else {
                o[member.name] = enc(field);
              }
            }(),
            ...);
      },
      Shape<S>::kMembers);
  return o;
}

// --- The table of known members, from the shapes ----------------------------

using ShapeTable = std::map<std::string, std::vector<std::string>>;

template <typename T>
void register_shape(ShapeTable& table, std::string_view name) {
  std::vector<std::string> names;
  std::apply([&](const auto&... member) { (names.emplace_back(member.name), ...); },
             Shape<T>::kMembers);
  if (!table.emplace(std::string(name), std::move(names)).second) return;
  std::apply(
      [&](const auto&... member) {
        (
            [&] {
              using F = std::remove_cvref_t<decltype(std::declval<T>().*member.ptr)>;
              using Inner = typename Unwrap<F>::type;
              if constexpr (Structure<Inner>)
                register_shape<Inner>(table,
                                      member.shape.empty() ? Shape<Inner>::kName : member.shape);
            }(),
            ...);
      },
      Shape<T>::kMembers);
}

ShapeTable build_shape_table() {
  ShapeTable table;
  register_shape<PipelineDeclaration>(table, Shape<PipelineDeclaration>::kName);
  register_shape<Tag>(table, Shape<Tag>::kName);
  return table;
}

}  // namespace

const std::map<std::string, std::vector<std::string>>& decoded_shapes() {
  static const ShapeTable kTable = build_shape_table();
  return kTable;
}

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

json::value encode_pipeline(const PipelineDeclaration& pipeline) { return enc(pipeline); }

json::value encode_tags(const std::vector<Tag>& tags) { return enc(tags); }

}  // namespace stageline::model
