#include "definitions/cloudformation.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.h"
#include "definitions/intrinsics.h"

namespace stageline::definitions {

namespace json = boost::json;

namespace {

std::optional<bool> boolean_of(const json::value& v) {
  if (v.is_bool()) return v.get_bool();
  if (v.is_string()) {
    if (iequals(v.get_string(), "true")) return true;
    if (iequals(v.get_string(), "false")) return false;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// AWS::CodePipeline::Pipeline: CloudFormation's property shapes and the API
// member each one becomes. Fields are listed in the API's member order
// (botocore), which is the order the declaration is written in.

enum class Kind {
  kString,         // a string; numbers and booleans are turned into strings
  kInteger,        // a whole number; "2" becomes 2
  kStrings,        // a list of strings
  kShape,          // an object of another shape
  kShapeList,      // a list of objects of another shape
  kConfiguration,  // an object whose values become strings (keys kept verbatim)
};

struct Shape;

struct Field {
  std::string_view cfn;  // CloudFormation property name
  std::string_view api;  // CodePipeline API member name
  Kind kind;
  const Shape* shape = nullptr;
};

struct Shape {
  std::string_view name;  // CloudFormation's name for the property type
  std::vector<Field> fields;

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& f : fields) out.emplace_back(f.cfn);
    return out;
  }
  const Field* find(std::string_view cfn) const {
    for (const auto& f : fields)
      if (f.cfn == cfn) return &f;
    return nullptr;
  }
};

// The shapes are built once, in dependency order, and never destroyed.
struct Shapes {
  Shape type_id{"ActionTypeId",
                {{"Category", "category", Kind::kString},
                 {"Owner", "owner", Kind::kString},
                 {"Provider", "provider", Kind::kString},
                 {"Version", "version", Kind::kString}}};
  Shape rule_type_id{"RuleTypeId", type_id.fields};
  Shape input_artifact{"InputArtifact", {{"Name", "name", Kind::kString}}};
  Shape output_artifact{"OutputArtifact",
                        {{"Name", "name", Kind::kString}, {"Files", "files", Kind::kStrings}}};
  Shape environment_variable{"EnvironmentVariable",
                             {{"Name", "name", Kind::kString},
                              {"Value", "value", Kind::kString},
                              {"Type", "type", Kind::kString}}};
  Shape action{
      "ActionDeclaration",
      {{"Name", "name", Kind::kString},
       {"ActionTypeId", "actionTypeId", Kind::kShape, &type_id},
       {"RunOrder", "runOrder", Kind::kInteger},
       {"Configuration", "configuration", Kind::kConfiguration},
       {"Commands", "commands", Kind::kStrings},
       {"OutputArtifacts", "outputArtifacts", Kind::kShapeList, &output_artifact},
       {"InputArtifacts", "inputArtifacts", Kind::kShapeList, &input_artifact},
       {"OutputVariables", "outputVariables", Kind::kStrings},
       {"RoleArn", "roleArn", Kind::kString},
       {"Region", "region", Kind::kString},
       {"Namespace", "namespace", Kind::kString},
       {"TimeoutInMinutes", "timeoutInMinutes", Kind::kInteger},
       {"EnvironmentVariables", "environmentVariables", Kind::kShapeList, &environment_variable}}};
  // CloudFormation's RuleDeclaration has no TimeoutInMinutes (the API's has).
  Shape rule{"RuleDeclaration",
             {{"Name", "name", Kind::kString},
              {"RuleTypeId", "ruleTypeId", Kind::kShape, &rule_type_id},
              {"Configuration", "configuration", Kind::kConfiguration},
              {"Commands", "commands", Kind::kStrings},
              {"InputArtifacts", "inputArtifacts", Kind::kShapeList, &input_artifact},
              {"RoleArn", "roleArn", Kind::kString},
              {"Region", "region", Kind::kString}}};
  Shape condition{
      "Condition",
      {{"Result", "result", Kind::kString}, {"Rules", "rules", Kind::kShapeList, &rule}}};
  Shape retry{"RetryConfiguration", {{"RetryMode", "retryMode", Kind::kString}}};
  Shape on_failure{"FailureConditions",
                   {{"Result", "result", Kind::kString},
                    {"RetryConfiguration", "retryConfiguration", Kind::kShape, &retry},
                    {"Conditions", "conditions", Kind::kShapeList, &condition}}};
  Shape on_success{"SuccessConditions",
                   {{"Conditions", "conditions", Kind::kShapeList, &condition}}};
  Shape before_entry{"BeforeEntryConditions",
                     {{"Conditions", "conditions", Kind::kShapeList, &condition}}};
  Shape blocker{"BlockerDeclaration",
                {{"Name", "name", Kind::kString}, {"Type", "type", Kind::kString}}};
  Shape stage{"StageDeclaration",
              {{"Name", "name", Kind::kString},
               {"Blockers", "blockers", Kind::kShapeList, &blocker},
               {"Actions", "actions", Kind::kShapeList, &action},
               {"OnFailure", "onFailure", Kind::kShape, &on_failure},
               {"OnSuccess", "onSuccess", Kind::kShape, &on_success},
               {"BeforeEntry", "beforeEntry", Kind::kShape, &before_entry}}};
  Shape encryption_key{"EncryptionKey",
                       {{"Id", "id", Kind::kString}, {"Type", "type", Kind::kString}}};
  Shape artifact_store{"ArtifactStore",
                       {{"Type", "type", Kind::kString},
                        {"Location", "location", Kind::kString},
                        {"EncryptionKey", "encryptionKey", Kind::kShape, &encryption_key}}};
  Shape variable{"VariableDeclaration",
                 {{"Name", "name", Kind::kString},
                  {"DefaultValue", "defaultValue", Kind::kString},
                  {"Description", "description", Kind::kString}}};
  Shape tag_filter{
      "GitTagFilterCriteria",
      {{"Includes", "includes", Kind::kStrings}, {"Excludes", "excludes", Kind::kStrings}}};
  Shape branch_filter{"GitBranchFilterCriteria", tag_filter.fields};
  Shape file_path_filter{"GitFilePathFilterCriteria", tag_filter.fields};
  Shape push{"GitPushFilter",
             {{"Tags", "tags", Kind::kShape, &tag_filter},
              {"Branches", "branches", Kind::kShape, &branch_filter},
              {"FilePaths", "filePaths", Kind::kShape, &file_path_filter}}};
  Shape pull_request{"GitPullRequestFilter",
                     {{"Events", "events", Kind::kStrings},
                      {"Branches", "branches", Kind::kShape, &branch_filter},
                      {"FilePaths", "filePaths", Kind::kShape, &file_path_filter}}};
  Shape git_configuration{"GitConfiguration",
                          {{"SourceActionName", "sourceActionName", Kind::kString},
                           {"Push", "push", Kind::kShapeList, &push},
                           {"PullRequest", "pullRequest", Kind::kShapeList, &pull_request}}};
  Shape trigger{"PipelineTriggerDeclaration",
                {{"ProviderType", "providerType", Kind::kString},
                 {"GitConfiguration", "gitConfiguration", Kind::kShape, &git_configuration}}};
  Shape artifact_store_map{
      "ArtifactStoreMap",
      {{"Region", "", Kind::kString}, {"ArtifactStore", "", Kind::kShape, &artifact_store}}};
  Shape tag{"Tag", {{"Key", "key", Kind::kString}, {"Value", "value", Kind::kString}}};
  Shape stage_transition{"StageTransition",
                         {{"StageName", "", Kind::kString}, {"Reason", "", Kind::kString}}};
  // The resource's own properties; those with no API member ("") are not part
  // of the declaration and are read separately.
  Shape pipeline{"AWS::CodePipeline::Pipeline",
                 {{"Name", "name", Kind::kString},
                  {"RoleArn", "roleArn", Kind::kString},
                  {"ArtifactStore", "artifactStore", Kind::kShape, &artifact_store},
                  {"ArtifactStores", "", Kind::kShapeList, &artifact_store_map},
                  {"Stages", "stages", Kind::kShapeList, &stage},
                  {"ExecutionMode", "executionMode", Kind::kString},
                  {"PipelineType", "pipelineType", Kind::kString},
                  {"Variables", "variables", Kind::kShapeList, &variable},
                  {"Triggers", "triggers", Kind::kShapeList, &trigger},
                  {"Tags", "", Kind::kShapeList, &tag},
                  {"DisableInboundStageTransitions", "", Kind::kShapeList, &stage_transition},
                  {"RestartExecutionOnUpdate", "", Kind::kString}}};
};

const Shapes& shapes() {
  static const Shapes* s = new Shapes();
  return *s;
}

// Turns resolved CloudFormation properties (PascalCase, paths in the template)
// into API members (camelCase, paths in the declaration), carrying lines
// across and reporting unknown property names and values of the wrong type.
class ShapeMapper {
 public:
  ShapeMapper(TemplateEvaluator& evaluator, const SourceMap& source_lines, SourceMap& out_lines,
              std::string what)
      : evaluator_(evaluator),
        source_lines_(source_lines),
        out_lines_(out_lines),
        what_(std::move(what)) {}

  // Maps object `src` (at template path `path`) of shape `shape` to an API
  // object at declaration path `api`. Members with no API name are skipped.
  json::object map_object(const json::object& src, const Shape& shape, const std::string& path,
                          const std::string& api) {
    check_known(src, shape, path);
    json::object out;
    for (const Field& f : shape.fields) {
      if (f.api.empty()) continue;
      const json::value* v = src.if_contains(f.cfn);
      if (v == nullptr) continue;
      std::string child = path_member(path, f.cfn);
      std::string api_child = path_member(api, f.api);
      std::optional<json::value> mapped = map_value(*v, f, child, api_child);
      if (mapped) out.emplace(f.api, std::move(*mapped));
    }
    return out;
  }

  std::optional<json::value> map_value(const json::value& v, const Field& f,
                                       const std::string& path, const std::string& api) {
    out_lines_.set(api, line(path));
    switch (f.kind) {
      case Kind::kString: {
        auto s = scalar_to_string(v);
        if (!s) return wrong_type(path, f, "a string", v);
        return json::value(json::string(*s));
      }
      case Kind::kInteger: {
        auto n = whole_number(v);
        if (!n) return wrong_type(path, f, "a whole number", v);
        return json::value(*n);
      }
      case Kind::kStrings: {
        if (!v.is_array()) return wrong_type(path, f, "a list of strings", v);
        json::array out;
        size_t i = 0;
        for (const auto& item : v.get_array()) {
          std::string item_path = path_index(path, i);
          auto s = scalar_to_string(item);
          if (!s) {
            wrong_type(item_path, f, "a string", item);
          } else {
            out_lines_.set(path_index(api, out.size()), line(item_path));
            out.emplace_back(*s);
          }
          ++i;
        }
        return json::value(std::move(out));
      }
      case Kind::kShape:
        if (!v.is_object()) return wrong_type(path, f, "an object", v);
        return json::value(map_object(v.get_object(), *f.shape, path, api));
      case Kind::kShapeList: {
        if (!v.is_array()) return wrong_type(path, f, "a list", v);
        json::array out;
        size_t i = 0;
        for (const auto& item : v.get_array()) {
          std::string item_path = path_index(path, i++);
          if (!item.is_object()) {
            wrong_type(item_path, f, "an object", item);
            continue;
          }
          std::string api_item = path_index(api, out.size());
          out_lines_.set(api_item, line(item_path));
          out.push_back(map_object(item.get_object(), *f.shape, item_path, api_item));
        }
        return json::value(std::move(out));
      }
      case Kind::kConfiguration: {
        if (!v.is_object()) return wrong_type(path, f, "an object", v);
        json::object out;
        for (const auto& kv : v.get_object()) {
          std::string key(kv.key());
          std::string item_path = path_member(path, key);
          out_lines_.set(path_member(api, key), line(item_path));
          // CloudFormation passes Configuration on as a map of strings:
          // scalars as text, nested objects and lists as compact JSON.
          std::optional<std::string> s = scalar_to_string(kv.value());
          if (!s) s = kv.value().is_null() ? std::string() : json::serialize(kv.value());
          out.emplace(key, std::move(*s));
        }
        return json::value(std::move(out));
      }
    }
    return std::nullopt;
  }

  void check_known(const json::object& src, const Shape& shape, const std::string& path) {
    for (const auto& kv : src) {
      if (shape.find(kv.key()) != nullptr) continue;
      std::string key(kv.key());
      std::string child = path_member(path, key);
      evaluator_.report(
          "template.unknown-property", child,
          what_ + ": " + std::string(shape.name) + " has no property " + quote(key) +
              "; it is ignored",
          did_you_mean(key, shape.names(), "remove it (valid: " + join(shape.names(), ", ") + ")"),
          Severity::kError, ErrorType::kSerializationException, line(child));
    }
  }

  int line(const std::string& path) const { return source_lines_.line_of(path); }

 private:
  std::nullopt_t wrong_type(const std::string& path, const Field& f, std::string_view expected,
                            const json::value& got) {
    evaluator_.report("template.property-type", path,
                      what_ + ": " + std::string(f.cfn) + " must be " + std::string(expected) +
                          ", not " + kind_phrase(got) + "; it is ignored",
                      "", Severity::kError, ErrorType::kTemplateError, line(path));
    return std::nullopt;
  }

  TemplateEvaluator& evaluator_;
  const SourceMap& source_lines_;
  SourceMap& out_lines_;
  std::string what_;
};

// Evaluates the Properties of `r` (an empty object when absent), recording
// the lines of the resolved values by their resolved template paths.
struct ResolvedProperties {
  json::object properties;
  SourceMap lines;
  std::string path;      // "Resources.<id>.Properties"
  bool partial = false;  // a value inside failed to evaluate (and was reported)
};

ResolvedProperties resolve_properties(TemplateEvaluator& evaluator, const TemplateResource& r) {
  ResolvedProperties out;
  out.path = path_member(r.path, "Properties");
  out.lines.set(out.path, evaluator.line_of(r.path));
  if (r.properties == nullptr) return out;
  Evaluated e = evaluator.evaluate(r.declaration->at("Properties"), out.path, &out.lines, out.path);
  out.partial = e.partial || e.kind == Evaluated::Kind::kFailed;
  if (e.has_value() && e.value.is_object()) out.properties = std::move(e.value.get_object());
  return out;
}

void read_pipeline(TemplateEvaluator& evaluator, const TemplateResource& r,
                   TemplateResult& result) {
  const Shapes& s = shapes();
  ResolvedProperties props = resolve_properties(evaluator, r);
  TemplatePipeline p;
  p.logical_id = r.logical_id;
  SourceMap& lines = p.declaration.lines;
  std::string what = "AWS::CodePipeline::Pipeline " + quote(r.logical_id);
  ShapeMapper mapper(evaluator, props.lines, lines, what);
  const std::string& base = props.path;
  lines.set("", evaluator.line_of(r.path));

  json::object decl = mapper.map_object(props.properties, s.pipeline, base, "");
  // Name absent: the name Ref gives, <stack>-<LogicalId>.
  if (!decl.contains("name") && !props.properties.contains("Name")) {
    if (const PhysicalResource* phys = evaluator.physical(r.logical_id, r.path)) {
      decl["name"] = phys->ref;
      lines.set("name", evaluator.line_of(r.path));
    }
  }
  // ArtifactStores: a list of {Region, ArtifactStore} in CloudFormation, a
  // map from region to artifact store in the API.
  if (const json::value* stores = props.properties.if_contains("ArtifactStores")) {
    std::string path = path_member(base, "ArtifactStores");
    lines.set("artifactStores", mapper.line(path));
    if (!stores->is_array()) {
      evaluator.report("template.property-type", path,
                       what + ": ArtifactStores must be a list of {Region, ArtifactStore}, not " +
                           kind_phrase(*stores),
                       "", Severity::kError, ErrorType::kTemplateError, mapper.line(path));
    } else {
      json::object map;
      size_t i = 0;
      for (const auto& item : stores->get_array()) {
        std::string item_path = path_index(path, i++);
        if (!item.is_object()) {
          evaluator.report("template.property-type", item_path,
                           what + ": each ArtifactStores item must be {Region, ArtifactStore}", "",
                           Severity::kError, ErrorType::kTemplateError, mapper.line(item_path));
          continue;
        }
        const json::object& o = item.get_object();
        mapper.check_known(o, s.artifact_store_map, item_path);
        const json::value* region = o.if_contains("Region");
        const json::value* store = o.if_contains("ArtifactStore");
        std::optional<std::string> region_name = region ? scalar_to_string(*region) : std::nullopt;
        if (!region_name || store == nullptr || !store->is_object()) {
          evaluator.report("template.property-type", item_path,
                           what +
                               ": each ArtifactStores item needs a Region and an ArtifactStore "
                               "object",
                           "", Severity::kError, ErrorType::kTemplateError, mapper.line(item_path));
          continue;
        }
        std::string api = path_member("artifactStores", *region_name);
        if (map.contains(*region_name)) {
          evaluator.report("template.duplicate-region", path_member(item_path, "Region"),
                           what + ": ArtifactStores names region " + quote(*region_name) + " twice",
                           "keep one artifact store per region", Severity::kError,
                           ErrorType::kTemplateError,
                           mapper.line(path_member(item_path, "Region")));
          continue;
        }
        lines.set(api, mapper.line(item_path));
        map.emplace(*region_name, mapper.map_object(store->get_object(), s.artifact_store,
                                                    path_member(item_path, "ArtifactStore"), api));
      }
      decl.emplace("artifactStores", std::move(map));
    }
  }
  // The API's member order (botocore), whatever order the template used.
  json::object ordered;
  for (const char* key : {"name", "roleArn", "artifactStore", "artifactStores", "stages",
                          "executionMode", "pipelineType", "variables", "triggers"}) {
    if (json::value* v = decl.if_contains(key)) ordered.emplace(key, std::move(*v));
  }
  decl = std::move(ordered);
  p.declaration.value = std::move(decl);

  // Tags, DisableInboundStageTransitions, RestartExecutionOnUpdate: not part
  // of the declaration.
  if (const json::value* tags = props.properties.if_contains("Tags")) {
    const Field tags_field{"Tags", "tags", Kind::kShapeList, &s.tag};
    if (auto mapped = mapper.map_value(*tags, tags_field, path_member(base, "Tags"), "tags")) {
      p.tags = std::move(mapped->get_array());
    }
  }
  if (const json::value* t = props.properties.if_contains("DisableInboundStageTransitions")) {
    std::string path = path_member(base, "DisableInboundStageTransitions");
    if (!t->is_array()) {
      evaluator.report("template.property-type", path,
                       what +
                           ": DisableInboundStageTransitions must be a list of "
                           "{StageName, Reason}, not " +
                           kind_phrase(*t),
                       "", Severity::kError, ErrorType::kTemplateError, mapper.line(path));
    } else {
      size_t i = 0;
      for (const auto& item : t->get_array()) {
        std::string item_path = path_index(path, i++);
        const json::object* o = item.if_object();
        std::optional<std::string> stage, reason;
        if (o != nullptr) {
          mapper.check_known(*o, s.stage_transition, item_path);
          if (const json::value* v = o->if_contains("StageName")) stage = scalar_to_string(*v);
          if (const json::value* v = o->if_contains("Reason")) reason = scalar_to_string(*v);
        }
        if (!stage || !reason) {
          evaluator.report("template.property-type", item_path,
                           what +
                               ": each DisableInboundStageTransitions item needs a StageName "
                               "and a Reason",
                           "", Severity::kError, ErrorType::kTemplateError, mapper.line(item_path));
          continue;
        }
        p.disabled_inbound_transitions.emplace_back(*stage, *reason);
      }
    }
  }
  if (const json::value* restart = props.properties.if_contains("RestartExecutionOnUpdate")) {
    std::string path = path_member(base, "RestartExecutionOnUpdate");
    p.restart_execution_on_update = boolean_of(*restart);
    if (!p.restart_execution_on_update) {
      evaluator.report(
          "template.property-type", path,
          what + ": RestartExecutionOnUpdate must be true or false, not " + kind_phrase(*restart),
          "", Severity::kError, ErrorType::kTemplateError, mapper.line(path));
    }
  }
  result.pipelines.push_back(std::move(p));
}

// ---------------------------------------------------------------------------
// Typed records of the other managed resources.

// Reads typed values out of a resolved properties object, reporting missing
// required properties and values of the wrong type with their lines.
class Props {
 public:
  // `partial`: some value failed to evaluate (already reported), so a missing
  // required property may be that value and is not reported again.
  Props(TemplateEvaluator& evaluator, const json::object& object, std::string path,
        const SourceMap& lines, std::string what, bool partial)
      : evaluator_(evaluator),
        object_(object),
        path_(std::move(path)),
        lines_(lines),
        what_(std::move(what)),
        partial_(partial) {}

  Props sub(const json::object& object, const std::string& path) const {
    return Props(evaluator_, object, path, lines_, what_, partial_);
  }
  const json::object& object() const { return object_; }
  const std::string& path() const { return path_; }

  // Reports every property not in `known` (CloudFormation's list for the type).
  void check_known(const std::vector<std::string>& known) const {
    for (const auto& kv : object_) {
      std::string key(kv.key());
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string child = path_member(path_, key);
      evaluator_.report("template.unknown-property", child,
                        what_ + " has no property " + quote(key) + "; it is ignored",
                        did_you_mean(key, known, "remove it"), Severity::kError,
                        ErrorType::kSerializationException, lines_.line_of(child));
    }
  }

  const json::value* get(std::string_view key, bool required) const {
    const json::value* v = object_.if_contains(key);
    if (v == nullptr && required && !partial_) {
      evaluator_.report("template.required-property", path_,
                        what_ + " needs the property " + std::string(key),
                        "add " + std::string(key), Severity::kError, ErrorType::kTemplateError,
                        lines_.line_of(path_));
    }
    return v;
  }

  std::optional<std::string> string(std::string_view key, bool required = false) const {
    const json::value* v = get(key, required);
    if (v == nullptr) return std::nullopt;
    auto s = scalar_to_string(*v);
    if (!s) wrong(key, "a string", *v);
    return s;
  }
  std::optional<int64_t> integer(std::string_view key, bool required = false) const {
    const json::value* v = get(key, required);
    if (v == nullptr) return std::nullopt;
    auto n = whole_number(*v);
    if (!n) wrong(key, "a whole number", *v);
    return n;
  }
  std::optional<bool> boolean(std::string_view key, bool required = false) const {
    const json::value* v = get(key, required);
    if (v == nullptr) return std::nullopt;
    auto b = boolean_of(*v);
    if (!b) wrong(key, "true or false", *v);
    return b;
  }
  const json::object* object(std::string_view key, bool required = false) const {
    const json::value* v = get(key, required);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) wrong(key, "an object", *v);
    return v->if_object();
  }
  const json::array* array(std::string_view key, bool required = false) const {
    const json::value* v = get(key, required);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) wrong(key, "a list", *v);
    return v->if_array();
  }
  std::vector<std::string> strings(std::string_view key) const {
    std::vector<std::string> out;
    const json::array* a = array(key);
    if (a == nullptr) return out;
    for (const auto& item : *a) {
      if (auto s = scalar_to_string(item)) out.push_back(*s);
    }
    return out;
  }
  // Each object of list `key`, with its path.
  std::vector<Props> objects(std::string_view key, bool required = false) const {
    std::vector<Props> out;
    const json::array* a = array(key, required);
    if (a == nullptr) return out;
    std::string list_path = path_member(path_, key);
    for (size_t i = 0; i < a->size(); ++i) {
      std::string item_path = path_index(list_path, i);
      if (!(*a)[i].is_object()) {
        evaluator_.report("template.property-type", item_path,
                          what_ + ": each " + std::string(key) + " item must be an object", "",
                          Severity::kError, ErrorType::kTemplateError, lines_.line_of(item_path));
        continue;
      }
      out.push_back(sub((*a)[i].get_object(), item_path));
    }
    return out;
  }
  std::optional<Props> nested(std::string_view key, bool required = false) const {
    const json::object* o = object(key, required);
    if (o == nullptr) return std::nullopt;
    return sub(*o, path_member(path_, key));
  }

 private:
  void wrong(std::string_view key, std::string_view expected, const json::value& got) const {
    std::string child = path_member(path_, key);
    evaluator_.report("template.property-type", child,
                      what_ + ": " + std::string(key) + " must be " + std::string(expected) +
                          ", not " + kind_phrase(got),
                      "", Severity::kError, ErrorType::kTemplateError, lines_.line_of(child));
  }

  TemplateEvaluator& evaluator_;
  const json::object& object_;
  std::string path_;
  const SourceMap& lines_;
  std::string what_;
  bool partial_;
};

const std::vector<std::string>& known_properties(std::string_view type) {
  static const std::map<std::string, std::vector<std::string>, std::less<>> kKnown = {
      {"AWS::CodeBuild::Project",
       {"Artifacts",
        "AutoRetryLimit",
        "BadgeEnabled",
        "BuildBatchConfig",
        "Cache",
        "ConcurrentBuildLimit",
        "Description",
        "EncryptionKey",
        "Environment",
        "FileSystemLocations",
        "LogsConfig",
        "Name",
        "QueuedTimeoutInMinutes",
        "ResourceAccessRole",
        "SecondaryArtifacts",
        "SecondarySourceVersions",
        "SecondarySources",
        "ServiceRole",
        "Source",
        "SourceVersion",
        "Tags",
        "TimeoutInMinutes",
        "Triggers",
        "Visibility",
        "VpcConfig"}},
      {"AWS::IAM::Role",
       {"AssumeRolePolicyDocument", "Description", "ManagedPolicyArns", "MaxSessionDuration",
        "Path", "PermissionsBoundary", "Policies", "RoleName", "Tags"}},
      {"AWS::IAM::Policy", {"Groups", "PolicyDocument", "PolicyName", "Roles", "Users"}},
      {"AWS::IAM::ManagedPolicy",
       {"Description", "Groups", "ManagedPolicyName", "Path", "PolicyDocument", "Roles", "Users"}},
      {"AWS::S3::Bucket",
       {"AbacStatus",
        "AccelerateConfiguration",
        "AccessControl",
        "AnalyticsConfigurations",
        "BucketEncryption",
        "BucketName",
        "BucketNamePrefix",
        "BucketNamespace",
        "CorsConfiguration",
        "IntelligentTieringConfigurations",
        "InventoryConfigurations",
        "LifecycleConfiguration",
        "LoggingConfiguration",
        "MetadataConfiguration",
        "MetadataTableConfiguration",
        "MetricsConfigurations",
        "NotificationConfiguration",
        "ObjectLockConfiguration",
        "ObjectLockEnabled",
        "OwnershipControls",
        "PublicAccessBlockConfiguration",
        "ReplicationConfiguration",
        "Tags",
        "VersioningConfiguration",
        "WebsiteConfiguration"}},
      {"AWS::KMS::Key",
       {"BypassPolicyLockoutSafetyCheck", "Description", "EnableKeyRotation", "Enabled",
        "KeyPolicy", "KeySpec", "KeyUsage", "MultiRegion", "Origin", "PendingWindowInDays",
        "RotationPeriodInDays", "Tags"}},
      {"AWS::KMS::Alias", {"AliasName", "TargetKeyId"}},
      {"AWS::SNS::Topic",
       {"ArchivePolicy", "ContentBasedDeduplication", "DataProtectionPolicy",
        "DeliveryStatusLogging", "DisplayName", "FifoThroughputScope", "FifoTopic",
        "KmsMasterKeyId", "MaximumMessageSize", "SignatureVersion", "Subscription", "Tags",
        "TopicName", "TracingConfig"}},
      {"AWS::CodeCommit::Repository",
       {"Code", "KmsKeyId", "RepositoryDescription", "RepositoryName", "Tags", "Triggers"}},
      {"AWS::CodeStarConnections::Connection",
       {"ConnectionName", "HostArn", "ProviderType", "Tags"}},
      {"AWS::CodePipeline::Webhook",
       {"Authentication", "AuthenticationConfiguration", "Filters", "Name",
        "RegisterWithThirdParty", "Tags", "TargetAction", "TargetPipeline",
        "TargetPipelineVersion"}},
      {"AWS::CodePipeline::CustomActionType",
       {"Category", "ConfigurationProperties", "InputArtifactDetails", "OutputArtifactDetails",
        "Provider", "Settings", "Tags", "Version"}},
  };
  static const std::vector<std::string> kNone;
  auto it = kKnown.find(type);
  return it == kKnown.end() ? kNone : it->second;
}

template <typename Record>
Record base_record(TemplateEvaluator& evaluator, const TemplateResource& r,
                   ResolvedProperties& props) {
  Record record;
  record.logical_id = r.logical_id;
  record.line = evaluator.line_of(r.path);
  record.properties = props.properties;
  return record;
}

bool read_managed(TemplateEvaluator& evaluator, const TemplateResource& r, Resources& out) {
  const std::string& t = r.type;
  const std::vector<std::string>& known = known_properties(t);
  if (known.empty()) return false;
  ResolvedProperties resolved = resolve_properties(evaluator, r);
  Props props(evaluator, resolved.properties, resolved.path, resolved.lines,
              t + " " + quote(r.logical_id), resolved.partial);
  props.check_known(known);
  const PhysicalResource* phys = evaluator.physical(r.logical_id, r.path);
  PhysicalResource none;
  const PhysicalResource& p = phys != nullptr ? *phys : none;
  auto attribute = [&](const char* name) {
    auto it = p.attributes.find(name);
    return it == p.attributes.end() ? std::string() : it->second;
  };

  if (t == "AWS::CodeBuild::Project") {
    auto rec = base_record<BuildProjectResource>(evaluator, r, resolved);
    rec.name = p.name;
    rec.arn = attribute("Arn");
    if (auto source = props.nested("Source", true)) {
      rec.source_type = source->string("Type", true).value_or("");
      rec.buildspec = source->string("BuildSpec").value_or("");
    }
    if (auto env = props.nested("Environment", true)) {
      rec.environment_type = env->string("Type", true).value_or("");
      rec.image = env->string("Image", true).value_or("");
      rec.compute_type = env->string("ComputeType", true).value_or("");
      for (const Props& v : env->objects("EnvironmentVariables")) {
        rec.environment_variables.push_back({v.string("Name", true).value_or(""),
                                             v.string("Value", true).value_or(""),
                                             v.string("Type").value_or("PLAINTEXT")});
      }
    }
    if (auto artifacts = props.nested("Artifacts", true)) {
      rec.artifacts_type = artifacts->string("Type", true).value_or("");
    }
    rec.service_role = props.string("ServiceRole", true).value_or("");
    rec.timeout_in_minutes = static_cast<int>(props.integer("TimeoutInMinutes").value_or(60));
    rec.encryption_key = props.string("EncryptionKey").value_or("");
    out.build_projects.push_back(std::move(rec));
  } else if (t == "AWS::IAM::Role") {
    auto rec = base_record<RoleResource>(evaluator, r, resolved);
    rec.name = p.name;
    rec.arn = attribute("Arn");
    rec.role_id = attribute("RoleId");
    rec.path = props.string("Path").value_or("/");
    if (const json::value* doc = props.get("AssumeRolePolicyDocument", true)) {
      rec.assume_role_policy_document = *doc;
    }
    rec.managed_policy_arns = props.strings("ManagedPolicyArns");
    for (const Props& policy : props.objects("Policies")) {
      InlinePolicy ip;
      ip.name = policy.string("PolicyName", true).value_or("");
      if (const json::value* doc = policy.get("PolicyDocument", true)) ip.document = *doc;
      rec.policies.push_back(std::move(ip));
    }
    out.roles.push_back(std::move(rec));
  } else if (t == "AWS::IAM::Policy") {
    auto rec = base_record<PolicyResource>(evaluator, r, resolved);
    rec.name = props.string("PolicyName", true).value_or(p.name);
    if (const json::value* doc = props.get("PolicyDocument", true)) rec.document = *doc;
    rec.roles = props.strings("Roles");
    out.policies.push_back(std::move(rec));
  } else if (t == "AWS::IAM::ManagedPolicy") {
    auto rec = base_record<ManagedPolicyResource>(evaluator, r, resolved);
    rec.name = p.name;
    rec.arn = p.ref;
    if (const json::value* doc = props.get("PolicyDocument", true)) rec.document = *doc;
    rec.roles = props.strings("Roles");
    out.managed_policies.push_back(std::move(rec));
  } else if (t == "AWS::S3::Bucket") {
    auto rec = base_record<BucketResource>(evaluator, r, resolved);
    rec.name = p.name;
    rec.arn = attribute("Arn");
    if (auto versioning = props.nested("VersioningConfiguration")) {
      rec.versioning_status = versioning->string("Status", true).value_or("");
    }
    if (auto encryption = props.nested("BucketEncryption")) {
      std::vector<Props> rules = encryption->objects("ServerSideEncryptionConfiguration", true);
      if (!rules.empty()) {
        if (auto by_default = rules[0].nested("ServerSideEncryptionByDefault")) {
          rec.sse_algorithm = by_default->string("SSEAlgorithm", true).value_or("");
          rec.kms_key_id = by_default->string("KMSMasterKeyID").value_or("");
        }
      }
    }
    if (auto lifecycle = props.nested("LifecycleConfiguration")) {
      for (const Props& rule : lifecycle->objects("Rules", true)) {
        LifecycleRule lr;
        lr.id = rule.string("Id").value_or("");
        lr.status = rule.string("Status", true).value_or("");
        lr.prefix = rule.string("Prefix").value_or("");
        if (auto days = rule.integer("ExpirationInDays"))
          lr.expiration_days = static_cast<int>(*days);
        if (auto days = rule.integer("NoncurrentVersionExpirationInDays")) {
          lr.noncurrent_expiration_days = static_cast<int>(*days);
        }
        if (auto nve = rule.nested("NoncurrentVersionExpiration")) {
          if (auto days = nve->integer("NoncurrentDays", true)) {
            lr.noncurrent_expiration_days = static_cast<int>(*days);
          }
        }
        rec.lifecycle_rules.push_back(std::move(lr));
      }
    }
    out.buckets.push_back(std::move(rec));
  } else if (t == "AWS::KMS::Key") {
    auto rec = base_record<KeyResource>(evaluator, r, resolved);
    rec.key_id = attribute("KeyId");
    rec.arn = attribute("Arn");
    rec.description = props.string("Description").value_or("");
    if (const json::value* policy = props.get("KeyPolicy", false)) rec.key_policy = *policy;
    rec.enable_key_rotation = props.boolean("EnableKeyRotation").value_or(false);
    out.keys.push_back(std::move(rec));
  } else if (t == "AWS::KMS::Alias") {
    auto rec = base_record<KeyAliasResource>(evaluator, r, resolved);
    rec.alias_name = props.string("AliasName", true).value_or("");
    if (!rec.alias_name.empty() && !starts_with(rec.alias_name, "alias/")) {
      std::string path = path_member(resolved.path, "AliasName");
      evaluator.report("template.alias-name", path,
                       "AWS::KMS::Alias " + quote(r.logical_id) + ": AliasName " +
                           quote(rec.alias_name) + " must start with alias/",
                       "write alias/" + rec.alias_name, Severity::kError, ErrorType::kTemplateError,
                       resolved.lines.line_of(path));
    }
    rec.target_key_id = props.string("TargetKeyId", true).value_or("");
    out.key_aliases.push_back(std::move(rec));
  } else if (t == "AWS::SNS::Topic") {
    auto rec = base_record<TopicResource>(evaluator, r, resolved);
    rec.name = p.name;
    rec.arn = attribute("TopicArn");
    for (const Props& sub : props.objects("Subscription")) {
      rec.subscriptions.push_back(
          {sub.string("Protocol", true).value_or(""), sub.string("Endpoint", true).value_or("")});
    }
    out.topics.push_back(std::move(rec));
  } else if (t == "AWS::CodeCommit::Repository") {
    auto rec = base_record<RepositoryResource>(evaluator, r, resolved);
    props.string("RepositoryName", true);
    rec.name = p.name;
    rec.description = props.string("RepositoryDescription").value_or("");
    rec.repository_id = attribute("RepositoryId");
    rec.arn = attribute("Arn");
    rec.clone_url_http = attribute("CloneUrlHttp");
    rec.clone_url_ssh = attribute("CloneUrlSsh");
    out.repositories.push_back(std::move(rec));
  } else if (t == "AWS::CodeStarConnections::Connection") {
    auto rec = base_record<ConnectionResource>(evaluator, r, resolved);
    props.string("ConnectionName", true);
    rec.name = p.name;
    rec.arn = attribute("ConnectionArn");
    rec.provider_type = props.string("ProviderType").value_or("");
    rec.host_arn = props.string("HostArn").value_or("");
    if (rec.provider_type.empty() && rec.host_arn.empty()) {
      evaluator.report("template.required-property", resolved.path,
                       "AWS::CodeStarConnections::Connection " + quote(r.logical_id) +
                           " needs a ProviderType (GitHub, Bitbucket, GitLab, ...) or a HostArn",
                       "add ProviderType: GitHub", Severity::kError, ErrorType::kTemplateError,
                       resolved.lines.line_of(resolved.path));
    }
    out.connections.push_back(std::move(rec));
  } else if (t == "AWS::CodePipeline::Webhook") {
    auto rec = base_record<WebhookResource>(evaluator, r, resolved);
    rec.name = p.name;
    rec.url = attribute("Url");
    rec.authentication = props.string("Authentication", true).value_or("");
    if (const json::object* config = props.object("AuthenticationConfiguration", true)) {
      rec.authentication_configuration = *config;
    }
    for (const Props& filter : props.objects("Filters", true)) {
      rec.filters.emplace_back(filter.string("JsonPath", true).value_or(""),
                               filter.string("MatchEquals").value_or(""));
    }
    rec.target_pipeline = props.string("TargetPipeline", true).value_or("");
    rec.target_action = props.string("TargetAction", true).value_or("");
    if (auto version = props.integer("TargetPipelineVersion")) {
      rec.target_pipeline_version = static_cast<int>(*version);
    }
    rec.register_with_third_party = props.boolean("RegisterWithThirdParty").value_or(false);
    out.webhooks.push_back(std::move(rec));
  } else if (t == "AWS::CodePipeline::CustomActionType") {
    auto rec = base_record<CustomActionTypeResource>(evaluator, r, resolved);
    rec.id = p.ref;
    rec.category = props.string("Category", true).value_or("");
    rec.provider = props.string("Provider", true).value_or("");
    rec.version = props.string("Version", true).value_or("");
    if (const json::object* settings = props.object("Settings")) rec.settings = *settings;
    for (const Props& cp : props.objects("ConfigurationProperties")) {
      ConfigurationProperty c;
      c.name = cp.string("Name", true).value_or("");
      c.description = cp.string("Description").value_or("");
      c.type = cp.string("Type").value_or("");
      c.required = cp.boolean("Required", true).value_or(false);
      c.key = cp.boolean("Key", true).value_or(false);
      c.secret = cp.boolean("Secret", true).value_or(false);
      c.queryable = cp.boolean("Queryable").value_or(false);
      rec.configuration_properties.push_back(std::move(c));
    }
    auto details = [&](const char* key, ArtifactDetails& d) {
      if (auto n = props.nested(key, true)) {
        d.minimum_count = static_cast<int>(n->integer("MinimumCount", true).value_or(0));
        d.maximum_count = static_cast<int>(n->integer("MaximumCount", true).value_or(0));
      }
    };
    details("InputArtifactDetails", rec.input_artifact_details);
    details("OutputArtifactDetails", rec.output_artifact_details);
    out.custom_action_types.push_back(std::move(rec));
  }
  return true;
}

void read_outputs(TemplateEvaluator& evaluator, const json::object& root) {
  const json::value* outputs = root.if_contains("Outputs");
  if (outputs == nullptr) return;
  evaluator.set_notes_only(true);
  if (!outputs->is_object()) {
    evaluator.report("template.outputs-not-object", "Outputs",
                     "Outputs must be an object of outputs, not " + kind_phrase(*outputs));
  } else {
    for (const auto& kv : outputs->get_object()) {
      std::string path = path_member("Outputs", kv.key());
      const json::object* o = kv.value().if_object();
      if (o == nullptr || !o->contains("Value")) {
        evaluator.report("template.output", path, "output " + quote(kv.key()) + " needs a Value");
        continue;
      }
      if (const json::value* c = o->if_contains("Condition"); c != nullptr && c->is_string()) {
        auto included =
            evaluator.condition(std::string(c->get_string()), path_member(path, "Condition"));
        if (!included.value_or(false)) continue;
      }
      (void)evaluator.evaluate(o->at("Value"), path_member(path, "Value"));
      if (const json::value* e = o->if_contains("Export"); e != nullptr && e->is_object()) {
        if (const json::value* name = e->get_object().if_contains("Name")) {
          (void)evaluator.evaluate(*name, path_member(path_member(path, "Export"), "Name"));
        }
      }
    }
  }
  evaluator.set_notes_only(false);
}

}  // namespace

bool looks_like_cloudformation(const json::value& doc) {
  const json::object* o = doc.if_object();
  if (o == nullptr) return false;
  if (o->contains("AWSTemplateFormatVersion")) return true;
  const json::value* resources = o->if_contains("Resources");
  return resources != nullptr && resources->is_object();
}

TemplateResult read_cloudformation(const LocatedJson& doc, const TemplateOptions& options) {
  TemplateResult result;
  try {
    if (!doc.value.is_object()) {
      result.problems.push_back(
          {Severity::kError, ErrorType::kTemplateError, "template.not-object", "",
           "a CloudFormation template must be an object, not " + kind_phrase(doc.value), "",
           doc.lines.line_of("")});
      return result;
    }
    const json::object& root = doc.value.get_object();
    TemplateEvaluator evaluator(doc, options, result.problems);

    static const std::vector<std::string> kSections = {"AWSTemplateFormatVersion",
                                                       "Description",
                                                       "Metadata",
                                                       "Parameters",
                                                       "Rules",
                                                       "Mappings",
                                                       "Conditions",
                                                       "Transform",
                                                       "Resources",
                                                       "Outputs",
                                                       "Hooks"};
    for (const auto& kv : root) {
      std::string key(kv.key());
      if (std::find(kSections.begin(), kSections.end(), key) != kSections.end()) continue;
      evaluator.report("template.unknown-section", key,
                       "the template has an unknown top-level section " + quote(key),
                       did_you_mean(key, kSections, "remove it"), Severity::kError,
                       ErrorType::kSerializationException);
    }
    if (const json::value* version = root.if_contains("AWSTemplateFormatVersion")) {
      if (!version->is_string() || version->get_string() != "2010-09-09") {
        evaluator.report("template.format-version", "AWSTemplateFormatVersion",
                         "AWSTemplateFormatVersion must be '2010-09-09', the only version "
                         "CloudFormation defines",
                         "write AWSTemplateFormatVersion: '2010-09-09'");
      }
    }
    if (const json::value* transform = root.if_contains("Transform")) {
      std::string names = transform->is_string() ? std::string(transform->get_string())
                                                 : json::serialize(*transform);
      evaluator.report("template.transform", "Transform",
                       "Transform " + names +
                           " is not supported: Stageline evaluates templates without running "
                           "macros or transforms",
                       "deploy the processed template instead (sam build output, or aws "
                       "cloudformation get-template --template-stage Processed)");
    }

    evaluator.load();
    for (const TemplateResource& r : evaluator.resources()) {
      if (!evaluator.included(r)) {
        auto c = evaluator.condition(*r.condition, path_member(r.path, "Condition"));
        if (c.has_value()) {
          evaluator.report("template.condition-false", r.path,
                           "resource " + quote(r.logical_id) + " is skipped: its condition " +
                               quote(*r.condition) + " is false",
                           "", Severity::kNote);
        }
        continue;
      }
      if (r.type == "AWS::CodePipeline::Pipeline") {
        read_pipeline(evaluator, r, result);
      } else if (!read_managed(evaluator, r, result.resources)) {
        result.resources.unmanaged.push_back({r.logical_id, r.type, evaluator.line_of(r.path)});
      }
    }
    read_outputs(evaluator, root);
  } catch (const std::exception& e) {
    // A bug, not bad input: keep it visible without taking the caller down.
    result.problems.push_back({Severity::kError, ErrorType::kTemplateError, "template.internal", "",
                               std::string("internal error reading the template: ") + e.what(), "",
                               0});
  }
  return result;
}

namespace {

// A template's PascalCase members as the API's camelCase ones.
boost::json::value api_shape(const boost::json::value& v) {
  if (v.is_array()) {
    boost::json::array out;
    for (const auto& e : v.as_array()) out.push_back(api_shape(e));
    return out;
  }
  if (!v.is_object()) return v;
  boost::json::object out;
  for (const auto& [key, value] : v.as_object()) {
    std::string name(key);
    if (name == "BuildSpec") {
      name = "buildspec";
    } else if (!name.empty()) {
      name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
    }
    out[name] = api_shape(value);
  }
  return out;
}

}  // namespace

boost::json::object codebuild_project_input(const BuildProjectResource& r) {
  boost::json::object in = api_shape(boost::json::value(r.properties)).as_object();
  in["name"] = r.name;
  if (!r.service_role.empty()) in["serviceRole"] = r.service_role;
  return in;
}

}  // namespace stageline::definitions
