// Action types (reference §11.1, §11.3): CreateCustomActionType,
// DeleteCustomActionType, ListActionTypes, GetActionType, UpdateActionType,
// the /action-types extension that registers ThirdParty types, and the
// cache of custom and registered types the other operations read
// (docs/api.md).
//
// The store keeps each custom type's definition as the ActionType JSON this
// file renders, with its members in a fixed order whatever order the request
// used. That text is what the store compares when a deleted type is created
// again: AWS restores it only from an identical definition.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "api/codepipeline/codepipeline_api.h"
#include "api/codepipeline/render.h"
#include "api/wire/wire.h"
#include "model/pipeline_json.h"

namespace stageline::api {

namespace json = boost::json;

namespace {

constexpr size_t kMaxCustomTypes = 50;  // live custom action types per region (reference §15)
// ListActionTypes has no maxResults; AWS pages it anyway, and so do we (the
// aws CLI follows nextToken).
constexpr size_t kActionTypesPerPage = 50;

bool flag(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

int64_t count(const json::object* details, std::string_view key) {
  if (details == nullptr) return 0;
  const json::value* v = details->if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

std::string describe(const model::ActionTypeId& id) {
  return "ActionType (Category: '" + std::string(model::to_string(id.category)) + "', Provider: '" +
         id.provider + "', Owner: '" + std::string(model::to_string(id.owner)) + "', Version: '" +
         id.version + "')";
}

// The ActionType of a built-in type (ListActionTypes).
json::object builtin_action_type(const definitions::ActionTypeInfo& t) {
  auto secret = [&](const std::string& k) {
    return std::find(t.secret_config.begin(), t.secret_config.end(), k) != t.secret_config.end();
  };
  json::array properties;
  for (const auto& k : t.required_config)
    properties.push_back(
        json::object{{"name", k}, {"required", true}, {"key", true}, {"secret", secret(k)}});
  for (const auto& k : t.optional_config)
    properties.push_back(
        json::object{{"name", k}, {"required", false}, {"key", false}, {"secret", secret(k)}});
  json::object o{{"id", encode_action_type_id({t.category, t.owner, t.provider, t.version})}};
  if (!properties.empty()) o["actionConfigurationProperties"] = std::move(properties);
  o["inputArtifactDetails"] =
      json::object{{"minimumCount", t.input.min}, {"maximumCount", t.input.max}};
  o["outputArtifactDetails"] =
      json::object{{"minimumCount", t.output.min}, {"maximumCount", t.output.max}};
  return o;
}

// The ActionTypeDeclaration of a built-in type (GetActionType). Stageline
// runs built-in types itself, in the server; neither of the model's
// executor types (JobWorker, Lambda) is literally true, so it says
// JobWorker with no polling accounts or principals: nobody outside polls
// for these jobs.
json::object builtin_declaration(const definitions::ActionTypeInfo& t) {
  auto secret = [&](const std::string& k) {
    return std::find(t.secret_config.begin(), t.secret_config.end(), k) != t.secret_config.end();
  };
  json::array properties;
  for (const auto& k : t.required_config)
    properties.push_back(
        json::object{{"name", k}, {"optional", false}, {"key", true}, {"noEcho", secret(k)}});
  for (const auto& k : t.optional_config)
    properties.push_back(
        json::object{{"name", k}, {"optional", true}, {"key", false}, {"noEcho", secret(k)}});
  json::object o{
      {"executor", json::object{{"configuration",
                                 json::object{{"jobWorkerExecutorConfiguration", json::object()}}},
                                {"type", "JobWorker"}}},
      {"id", encode_action_type_id({t.category, t.owner, t.provider, t.version})},
      {"inputArtifactDetails",
       json::object{{"minimumCount", t.input.min}, {"maximumCount", t.input.max}}},
      {"outputArtifactDetails",
       json::object{{"minimumCount", t.output.min}, {"maximumCount", t.output.max}}}};
  if (!t.runnable && !t.not_runnable.empty()) o["description"] = clip(t.not_runnable, 1024);
  if (!properties.empty()) o["properties"] = std::move(properties);
  return o;
}

// CreateCustomActionType's input as the stored definition (the ActionType
// output shape), members in a fixed order.
json::object custom_definition(const model::ActionTypeId& id, const json::object& in) {
  json::object type{{"id", encode_action_type_id(id)}};
  if (const json::object* settings = obj(in, "settings")) {
    json::object s;
    for (std::string_view k : {"thirdPartyConfigurationUrl", "entityUrlTemplate",
                               "executionUrlTemplate", "revisionUrlTemplate"})
      if (const json::value* v = settings->if_contains(k)) s[k] = *v;
    if (!s.empty()) type["settings"] = std::move(s);
  }
  if (const json::value* props = in.if_contains("configurationProperties");
      props != nullptr && props->is_array() && !props->as_array().empty()) {
    json::array out;
    for (const auto& p : props->as_array()) {
      if (!p.is_object()) continue;
      const json::object& o = p.as_object();
      json::object q;
      for (std::string_view k :
           {"name", "required", "key", "secret", "queryable", "description", "type"})
        if (const json::value* v = o.if_contains(k)) q[k] = *v;
      out.push_back(std::move(q));
    }
    type["actionConfigurationProperties"] = std::move(out);
  }
  for (std::string_view k : {"inputArtifactDetails", "outputArtifactDetails"}) {
    const json::object* d = obj(in, k);
    type[k] = json::object{{"minimumCount", count(d, "minimumCount")},
                           {"maximumCount", count(d, "maximumCount")}};
  }
  return type;
}

// Every problem of a custom type's definition (reference §11.1), each a
// sentence; empty when it is valid.
std::vector<std::string> definition_problems(const json::object& def) {
  std::vector<std::string> problems;
  for (std::string_view k : {"inputArtifactDetails", "outputArtifactDetails"}) {
    const json::object* d = obj(def, k);
    if (count(d, "minimumCount") > count(d, "maximumCount"))
      problems.push_back(std::string(k) + ".minimumCount must not be greater than maximumCount");
  }
  std::set<std::string> names, usable_in_urls;
  int queryable = 0;
  if (const json::value* props = def.if_contains("actionConfigurationProperties");
      props != nullptr && props->is_array()) {
    for (const auto& p : props->as_array()) {
      const json::object& o = p.as_object();
      const std::string name = str(o, "name");
      if (!names.insert(name).second)
        problems.push_back("configurationProperties names '" + name + "' more than once");
      if (flag(o, "required") && !flag(o, "secret")) usable_in_urls.insert(name);
      if (flag(o, "queryable")) {
        if (++queryable == 2)
          problems.push_back("at most one configuration property may be queryable");
        if (!flag(o, "required") || flag(o, "secret"))
          problems.push_back("the queryable configuration property '" + name +
                             "' must be required and not secret");
      }
    }
  }
  // URL templates may show {Config:<name>} of required, non-secret
  // properties only: they are shown to everyone who can see the pipeline.
  if (const json::object* settings = obj(def, "settings")) {
    for (std::string_view k :
         {"entityUrlTemplate", "executionUrlTemplate", "revisionUrlTemplate"}) {
      const std::string url = str(*settings, k);
      constexpr std::string_view kConfig = "{Config:";
      for (size_t at = url.find(kConfig); at != std::string::npos; at = url.find(kConfig, at + 1)) {
        size_t end = url.find('}', at);
        if (end == std::string::npos) {
          problems.push_back("settings." + std::string(k) + " has an unclosed {Config:");
          break;
        }
        std::string name = url.substr(at + kConfig.size(), end - at - kConfig.size());
        if (!usable_in_urls.contains(name))
          problems.push_back("settings." + std::string(k) + " uses {Config:" + name +
                             "}, which is not a required, non-secret configuration property");
      }
    }
  }
  return problems;
}

// The catalogue entry of a stored custom type, and its queryable property.
void describe_custom(const model::ActionTypeId& id, const json::object& def,
                     definitions::ActionTypeInfo& info, std::string& queryable) {
  info.category = id.category;
  info.owner = model::ActionOwner::kCustom;
  info.provider = id.provider;
  info.version = id.version;
  const json::object* in = obj(def, "inputArtifactDetails");
  const json::object* out = obj(def, "outputArtifactDetails");
  info.input = {static_cast<int>(count(in, "minimumCount")),
                static_cast<int>(count(in, "maximumCount"))};
  info.output = {static_cast<int>(count(out, "minimumCount")),
                 static_cast<int>(count(out, "maximumCount"))};
  if (const json::value* props = def.if_contains("actionConfigurationProperties");
      props != nullptr && props->is_array())
    for (const auto& p : props->as_array()) {
      if (!p.is_object()) continue;
      const json::object& o = p.as_object();
      const std::string name = str(o, "name");
      (flag(o, "required") ? info.required_config : info.optional_config).push_back(name);
      if (flag(o, "secret")) info.secret_config.push_back(name);
      if (flag(o, "queryable")) queryable = name;
    }
  info.config_keys_known = true;
  info.dynamic_output_variables = true;  // PutJobSuccessResult.outputVariables
  info.runnable = true;                  // by job workers
}

constexpr std::string_view kService = "codepipeline";
constexpr std::string_view kActionTypeKind = "action-type";

// The resource name of a registered type.
std::string registered_name(const model::ActionTypeId& id) {
  return std::string(model::to_string(id.category)) + "/" + id.provider + "/" + id.version;
}

// The catalogue entry of a registered ThirdParty type's declaration.
definitions::ActionTypeInfo describe_registered(const model::ActionTypeId& id,
                                                const json::object& decl) {
  definitions::ActionTypeInfo info{};
  info.category = id.category;
  info.owner = model::ActionOwner::kThirdParty;
  info.provider = id.provider;
  info.version = id.version;
  const json::object* in = obj(decl, "inputArtifactDetails");
  const json::object* out = obj(decl, "outputArtifactDetails");
  info.input = {static_cast<int>(count(in, "minimumCount")),
                static_cast<int>(count(in, "maximumCount"))};
  info.output = {static_cast<int>(count(out, "minimumCount")),
                 static_cast<int>(count(out, "maximumCount"))};
  if (const json::value* props = decl.if_contains("properties");
      props != nullptr && props->is_array())
    for (const auto& p : props->as_array()) {
      if (!p.is_object()) continue;
      const json::object& o = p.as_object();
      const std::string name = str(o, "name");
      (flag(o, "optional") ? info.optional_config : info.required_config).push_back(name);
      if (flag(o, "noEcho")) info.secret_config.push_back(name);
    }
  info.config_keys_known = true;
  info.runnable = true;  // by the partner's job worker
  return info;
}

// A registered declaration as ListActionTypes' ActionType shape.
json::object registered_action_type(const model::ActionTypeId& id, const json::object& decl) {
  json::object o{{"id", encode_action_type_id(id)}};
  if (const json::object* urls = obj(decl, "urls")) {
    json::object settings;
    if (const json::value* v = urls->if_contains("configurationUrl"))
      settings["thirdPartyConfigurationUrl"] = *v;
    for (std::string_view k : {"entityUrlTemplate", "executionUrlTemplate", "revisionUrlTemplate"})
      if (const json::value* v = urls->if_contains(k)) settings[k] = *v;
    if (!settings.empty()) o["settings"] = std::move(settings);
  }
  if (const json::value* props = decl.if_contains("properties");
      props != nullptr && props->is_array() && !props->as_array().empty()) {
    json::array out;
    for (const auto& p : props->as_array()) {
      const json::object& q = p.as_object();
      json::object property{{"name", str(q, "name")},
                            {"required", !flag(q, "optional")},
                            {"key", flag(q, "key")},
                            {"secret", flag(q, "noEcho")}};
      if (flag(q, "queryable")) property["queryable"] = true;
      // ActionConfigurationProperty's description is shorter (160) than
      // ActionTypeProperty's (250).
      put_nonempty(property, "description", str(q, "description"), 160);
      out.push_back(std::move(property));
    }
    o["actionConfigurationProperties"] = std::move(out);
  }
  for (std::string_view k : {"inputArtifactDetails", "outputArtifactDetails"}) {
    const json::object* d = obj(decl, k);
    o[k] = json::object{{"minimumCount", count(d, "minimumCount")},
                        {"maximumCount", count(d, "maximumCount")}};
  }
  return o;
}

}  // namespace

Status CodePipelineApi::load_custom_types() {
  auto records = store_.list_custom_action_types();
  if (!records.ok()) return records.status().with_context("load custom action types");
  std::vector<CustomType> loaded;
  std::vector<definitions::ActionTypeInfo> actions =
      definitions::Catalogue::builtin().action_types();
  std::vector<definitions::ActionTypeInfo> every = actions;
  for (auto& record : *records) {
    CustomType c;
    boost::system::error_code ec;
    json::value def = json::parse(record.definition_json, ec);
    if (ec || !def.is_object())
      return Status::internal("load custom action type " +
                              std::string(model::to_string(record.id.category)) + "/" +
                              record.id.provider + "/" + record.id.version +
                              ": the stored definition is not a JSON object");
    c.definition = std::move(def.as_object());
    describe_custom(record.id, c.definition, c.info, c.queryable);
    if (!record.deleted()) actions.push_back(c.info);
    every.push_back(c.info);
    c.record = std::move(record);
    loaded.push_back(std::move(c));
  }
  std::vector<RegisteredType> registered;
  for (std::string after;;) {
    auto page =
        store_.list_resources(std::string(kService), std::string(kActionTypeKind), 100, after);
    if (!page.ok()) return page.status().with_context("load registered action types");
    for (auto& r : page->items) {
      boost::system::error_code ec;
      json::value decl = json::parse(r.document_json, ec);
      const json::object* id_json = !ec && decl.is_object() ? obj(decl.as_object(), "id") : nullptr;
      auto id = id_json != nullptr ? decode_action_type_id(*id_json) : std::nullopt;
      if (!id || id->owner != model::ActionOwner::kThirdParty)
        return Status::internal("load registered action type " + r.name +
                                ": the stored declaration is not a ThirdParty "
                                "ActionTypeDeclaration");
      RegisteredType t;
      t.id = *id;
      t.declaration = std::move(decl.as_object());
      t.info = describe_registered(t.id, t.declaration);
      actions.push_back(t.info);
      every.push_back(t.info);
      registered.push_back(std::move(t));
    }
    if (page->next_key.empty()) break;
    after = page->next_key;
  }
  custom_types_ = std::move(loaded);
  registered_types_ = std::move(registered);
  catalogue_ =
      definitions::Catalogue(std::move(actions), definitions::Catalogue::builtin().rule_types());
  every_type_ =
      definitions::Catalogue(std::move(every), definitions::Catalogue::builtin().rule_types());
  custom_types_loaded_ = true;
  return {};
}

const CodePipelineApi::CustomType* CodePipelineApi::custom_type(
    const model::ActionTypeId& id) const {
  for (const auto& c : custom_types_)
    if (c.record.id.category == id.category && c.record.id.provider == id.provider &&
        c.record.id.version == id.version)
      return &c;
  return nullptr;
}

const CodePipelineApi::RegisteredType* CodePipelineApi::registered_type(
    const model::ActionTypeId& id) const {
  for (const auto& t : registered_types_)
    if (t.id == id) return &t;
  return nullptr;
}

std::optional<wire::Error> CodePipelineApi::check_queryable_values(
    const model::PipelineDeclaration& decl) const {
  for (const auto& stage : decl.stages)
    for (const auto& action : stage.actions) {
      if (action.action_type_id.owner != model::ActionOwner::kCustom) continue;
      const CustomType* c = custom_type(action.action_type_id);
      if (c == nullptr || c->queryable.empty() || !action.configuration) continue;
      auto it = action.configuration->find(c->queryable);
      if (it == action.configuration->end()) continue;  // validation reports the missing key
      const std::string& v = it->second;
      if (v.find("#{") != std::string::npos) continue;  // a variable: its value is known later
      bool ok = !v.empty() && v.size() <= 20 && std::all_of(v.begin(), v.end(), [](char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
               ch == '_' || ch == '-';
      });
      if (!ok)
        return error("InvalidActionDeclarationException",
                     "The value of queryable configuration property '" + c->queryable +
                         "' of action '" + action.name + "' in stage '" + stage.name +
                         "' must be 1 to 20 characters of A-Z, a-z, 0-9, _ and -, so that a job "
                         "worker can poll for it");
    }
  return std::nullopt;
}

CodePipelineApi::Out CodePipelineApi::create_custom_action_type(const In& in) {
  auto decoded = decode_action_type_id(in);
  if (!decoded) return error("ValidationException", "category is not an action category");
  model::ActionTypeId id = *decoded;
  id.owner = model::ActionOwner::kCustom;  // never the caller's choice (reference §11.1)
  const std::string what = "Action type (Category: '" + std::string(model::to_string(id.category)) +
                           "', Provider: '" + id.provider + "', Version: '" + id.version + "')";
  json::object definition = custom_definition(id, in);
  std::vector<std::string> problems = definition_problems(definition);
  if (!problems.empty()) {
    std::string message = std::to_string(problems.size()) + " validation error" +
                          (problems.size() == 1 ? "" : "s") + " in " + what + ": ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return error("ValidationException", message);
  }
  auto tags = read_tags(in, model_);
  if (!tags.ok()) return tags.error();

  const CustomType* existing = custom_type(id);
  if (existing != nullptr && !existing->record.deleted())
    return error("ValidationException", what + " already exists");
  size_t live = std::count_if(custom_types_.begin(), custom_types_.end(),
                              [](const CustomType& c) { return !c.record.deleted(); });
  if (live >= kMaxCustomTypes)
    return error("LimitExceededException",
                 "The number of custom action types in this region has reached its limit (" +
                     std::to_string(kMaxCustomTypes) +
                     "); delete one (DeleteCustomActionType) first");

  store::CustomActionTypeRecord record;
  record.id = id;
  record.definition_json = json::serialize(definition);
  record.tags = *tags;
  record.created_ms = options_.now_ms();
  auto stored = store_.put_custom_action_type(record);
  if (!stored.ok()) {
    switch (stored.status().code()) {
      case StatusCode::kAlreadyExists:  // created by another process meanwhile
        return error("ValidationException", what + " already exists");
      case StatusCode::kFailedPrecondition:
        return error("ValidationException",
                     what +
                         " was deleted, and its version string cannot be used for another "
                         "definition: use a version string never used before, or the identical "
                         "definition to restore it");
      default:
        return from_status(stored.status());
    }
  }
  if (Status s = load_custom_types(); !s.ok()) return from_status(s);
  json::object out{{"actionType", std::move(definition)}};
  if (!stored->tags.empty()) out["tags"] = model::encode_tags(stored->tags);
  return json::value(std::move(out));
}

CodePipelineApi::Out CodePipelineApi::delete_custom_action_type(const In& in) {
  auto decoded = decode_action_type_id(in);
  if (!decoded) return error("ValidationException", "category is not an action category");
  model::ActionTypeId id = *decoded;
  id.owner = model::ActionOwner::kCustom;
  Status s = store_.mark_custom_action_type_deleted(id, options_.now_ms());
  if (s.code() == StatusCode::kNotFound)
    return error("ValidationException", "Action type (Category: '" +
                                            std::string(model::to_string(id.category)) +
                                            "', Provider: '" + id.provider + "', Version: '" +
                                            id.version + "') does not exist");
  if (!s.ok()) return from_status(s);
  if (Status loaded = load_custom_types(); !loaded.ok()) return from_status(loaded);
  return json::value(json::object());
}

CodePipelineApi::Out CodePipelineApi::list_action_types(const In& in) {
  std::optional<model::ActionOwner> owner;
  if (auto f = opt_str(in, "actionOwnerFilter")) owner = model::parse_enum<model::ActionOwner>(*f);
  const std::string region = str(in, "regionFilter");
  // The token is bound to the filters it was issued for.
  const std::string scope = str(in, "actionOwnerFilter") + "/" + region;
  std::string after;
  if (auto token = opt_str(in, "nextToken")) {
    auto position = tokens_.redeem("ListActionTypes", scope, *token);
    if (!position.ok()) return position.error();
    if (!position->is_string()) return error("InvalidNextTokenException", "Invalid token");
    after = std::string(position->as_string());
  }
  // Every type of this server is in its one region.
  std::vector<std::pair<std::string, json::object>> types;
  if (region.empty() || region == options_.region) {
    auto key = [](const model::ActionTypeId& id) {
      return std::string(model::to_string(id.owner)) + "/" +
             std::string(model::to_string(id.category)) + "/" + id.provider + "/" + id.version;
    };
    for (const auto& t : definitions::Catalogue::builtin().action_types())
      if (!owner || t.owner == *owner)
        types.emplace_back(key({t.category, t.owner, t.provider, t.version}),
                           builtin_action_type(t));
    if (!owner || *owner == model::ActionOwner::kCustom)
      for (const auto& c : custom_types_)
        if (!c.record.deleted()) types.emplace_back(key(c.record.id), c.definition);
    if (!owner || *owner == model::ActionOwner::kThirdParty)
      for (const auto& t : registered_types_)
        types.emplace_back(key(t.id), registered_action_type(t.id, t.declaration));
  }
  std::sort(types.begin(), types.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  auto it =
      std::upper_bound(types.begin(), types.end(), after,
                       [](const std::string& k, const auto& entry) { return k < entry.first; });
  if (after.empty()) it = types.begin();
  json::array page;
  std::string last;
  for (; it != types.end() && page.size() < kActionTypesPerPage; ++it) {
    page.push_back(it->second);
    last = it->first;
  }
  json::object out{{"actionTypes", std::move(page)}};
  if (it != types.end())
    out["nextToken"] = tokens_.issue("ListActionTypes", scope, json::value(last));
  return json::value(std::move(out));
}

CodePipelineApi::Out CodePipelineApi::get_action_type(const In& in) {
  auto id = decode_action_type_id(in);
  if (!id) return error("ValidationException", "category or owner is not valid");
  // The model's ActionTypeIdentifier allows owner AWS or ThirdParty only, so
  // the wire layer refuses Custom; custom types are read with ListActionTypes.
  if (const RegisteredType* registered = registered_type(*id))
    return json::value(json::object{{"actionType", registered->declaration}});
  const definitions::ActionTypeInfo* info = id->owner == model::ActionOwner::kCustom
                                                ? nullptr
                                                : definitions::Catalogue::builtin().find(*id);
  if (info == nullptr)
    return error("ActionTypeNotFoundException",
                 describe(*id) + " does not exist in region '" + options_.region + "'");
  return json::value(json::object{{"actionType", builtin_declaration(*info)}});
}

CodePipelineApi::Out CodePipelineApi::update_action_type(const In& in) {
  const json::object* declaration = obj(in, "actionType");
  STAGELINE_CHECK(declaration != nullptr);  // required; the wire layer checked it
  const json::object* id_json = obj(*declaration, "id");
  STAGELINE_CHECK(id_json != nullptr);  // required
  auto id = decode_action_type_id(*id_json);
  if (!id) return error("ValidationException", "actionType.id is not a valid action type id");
  if (const RegisteredType* registered = registered_type(*id)) {
    auto checked = registration(*declaration);
    if (!checked.ok()) return checked.error();
    store::ResourceRecord r;
    r.service = kService;
    r.kind = kActionTypeKind;
    r.name = registered_name(registered->id);
    r.document_json = json::serialize(*checked);
    r.updated_ms = options_.now_ms();
    Status s = store_.update_resource(r);
    if (!s.ok()) return from_status(s);
    if (Status loaded = load_custom_types(); !loaded.ok()) return from_status(loaded);
    return json::value(json::object());
  }
  // Only types of the owners AWS and ThirdParty can be named here (the
  // model's pattern); the others of this server are built in.
  if (id->owner == model::ActionOwner::kCustom ||
      definitions::Catalogue::builtin().find(*id) == nullptr)
    return error("ActionTypeNotFoundException",
                 describe(*id) + " does not exist in region '" + options_.region +
                     "'; a third-party action type is registered first (stageline "
                     "action-types register)");
  return error("ValidationException",
               describe(*id) +
                   " is built into Stageline and cannot be updated; a custom action type is "
                   "changed by creating it with a new version (CreateCustomActionType)");
}

wire::Outcome<json::object> CodePipelineApi::registration(const json::object& declaration) {
  const json::object* id_json = obj(declaration, "id");
  STAGELINE_CHECK(id_json != nullptr);  // required by the shape
  auto id = decode_action_type_id(*id_json);
  if (!id) return error("ValidationException", "actionType.id is not a valid action type id");
  std::vector<std::string> problems;
  if (id->owner != model::ActionOwner::kThirdParty)
    problems.push_back(
        "id.owner must be ThirdParty: AWS-owned action types are built into "
        "Stageline, and custom ones are made with CreateCustomActionType");
  else if (definitions::Catalogue::builtin().find(*id) != nullptr)
    problems.push_back(describe(*id) + " is built into Stageline");
  const json::object* executor = obj(declaration, "executor");
  STAGELINE_CHECK(executor != nullptr);  // required by the shape
  if (str(*executor, "type") != "JobWorker")
    problems.push_back(
        "executor.type must be JobWorker: Stageline invokes no Lambda function; "
        "a job worker polls for the jobs (PollForThirdPartyJobs)");
  if (const json::object* config = obj(*executor, "configuration");
      config != nullptr && config->contains("lambdaExecutorConfiguration"))
    problems.push_back(
        "executor.configuration.lambdaExecutorConfiguration cannot be used with a JobWorker");
  for (std::string_view k : {"inputArtifactDetails", "outputArtifactDetails"}) {
    const json::object* d = obj(declaration, k);
    if (count(d, "minimumCount") > count(d, "maximumCount"))
      problems.push_back(std::string(k) + ".minimumCount must not be greater than maximumCount");
    // ListActionTypes shows the counts as ArtifactDetails, whose maximum is 5.
    if (count(d, "maximumCount") > 5)
      problems.push_back(std::string(k) + ".maximumCount must be at most 5 in Stageline");
  }
  std::set<std::string> names;
  int queryable = 0;
  if (const json::value* props = declaration.if_contains("properties");
      props != nullptr && props->is_array())
    for (const auto& p : props->as_array()) {
      const json::object& o = p.as_object();
      const std::string name = str(o, "name");
      if (!names.insert(name).second)
        problems.push_back("properties names '" + name + "' more than once");
      if (flag(o, "queryable")) {
        if (++queryable == 2) problems.push_back("at most one property may be queryable");
        if (flag(o, "optional") || flag(o, "noEcho"))
          problems.push_back("the queryable property '" + name +
                             "' must be neither optional nor noEcho");
      }
    }
  if (!problems.empty()) {
    std::string message = std::to_string(problems.size()) + " validation error" +
                          (problems.size() == 1 ? "" : "s") + " in action type " +
                          registered_name(*id) + ": ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return error("ValidationException", message);
  }
  return declaration;
}

CodePipelineApi::Out CodePipelineApi::register_action_type(const In& in) {
  const json::object* declaration = obj(in, "actionType");
  STAGELINE_CHECK(declaration != nullptr);  // required by the shape
  auto checked = registration(*declaration);
  if (!checked.ok()) return checked.error();
  auto id = decode_action_type_id(*obj(*checked, "id"));
  STAGELINE_CHECK(id.has_value());  // registration() read it
  store::ResourceRecord r;
  r.service = kService;
  r.kind = kActionTypeKind;
  r.name = registered_name(*id);
  r.document_json = json::serialize(*checked);
  r.created_ms = r.updated_ms = options_.now_ms();
  Status s = store_.insert_resource(r);
  if (s.code() == StatusCode::kAlreadyExists)
    return error("ValidationException", describe(*id) +
                                            " is already registered; change it with "
                                            "UpdateActionType (aws codepipeline "
                                            "update-action-type)");
  if (!s.ok()) return from_status(s);
  if (Status loaded = load_custom_types(); !loaded.ok()) return from_status(loaded);
  return json::value(json::object{{"actionType", std::move(*checked)}});
}

wire::Response CodePipelineApi::action_types_extension(std::string_view method,
                                                       std::string_view body) {
  auto answer = [](const Out& out) {
    if (!out.ok()) return wire::encode_error(out.error());
    wire::Response r;
    r.content_type = "application/json";
    r.body = json::serialize(*out);
    return r;
  };
  if (!custom_types_loaded_)
    if (Status s = load_custom_types(); !s.ok()) return answer(from_status(s));
  if (method == "GET") {
    json::array types;
    for (const auto& t : registered_types_) types.push_back(t.declaration);
    return answer(json::value(json::object{{"actionTypes", std::move(types)}}));
  }
  if (method != "POST") {
    wire::Error e =
        error("ValidationException",
              "/action-types answers GET (list) and POST (register), not " + std::string(method));
    wire::Response r = wire::encode_error(e);
    r.http_status = 405;
    return r;
  }
  // The body is UpdateActionType's input, checked as a request of that
  // operation would be.
  const wire::Operation* op = model_.find_operation("UpdateActionType");
  STAGELINE_CHECK(op != nullptr);
  boost::system::error_code ec;
  json::value parsed = json::parse(body.empty() ? std::string_view("{}") : body, ec);
  if (ec || !parsed.is_object())
    return answer(error("ValidationException",
                        "the body must be a JSON object {\"actionType\": "
                        "ActionTypeDeclaration}"));
  wire::Dispatcher dispatcher(model_);
  auto call = dispatcher.decode(wire::Routed{op, std::move(parsed)});
  if (!call.ok()) return answer(call.error());
  return answer(register_action_type(call->input));
}

}  // namespace stageline::api
