#include "api/codedeploy/codedeploy_api.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <set>

#include "api/wire/embedded.h"
#include "deploy/deployment_service.h"
#include "deploy/records.h"

namespace stageline::codedeploy {

namespace json = boost::json;
using deploy::kService;

namespace {

using deploy::parse_doc;
using deploy::seconds;
using deploy::str;

wire::Error internal(const Status& s) {
  wire::Error e = wire::common_error(wire::CommonError::kInternalFailure, "Internal failure");
  e.detail = s.message();
  return e;
}

std::vector<std::string> strings(const json::object& in, std::string_view key) {
  std::vector<std::string> out;
  if (const json::value* v = in.if_contains(key); v && v->is_array())
    for (const json::value& s : v->as_array())
      if (s.is_string()) out.emplace_back(s.as_string());
  return out;
}

const std::set<std::string>& deployment_configs() {
  static const std::set<std::string> kConfigs = {"CodeDeployDefault.OneAtATime",
                                                 "CodeDeployDefault.HalfAtATime",
                                                 "CodeDeployDefault.AllAtOnce"};
  return kConfigs;
}

}  // namespace

const wire::ServiceModel& codedeploy_model() { return wire::embedded_service_model("codedeploy"); }

CodeDeployApi::CodeDeployApi(store::Store& store, CodeDeployOptions options)
    : store_(store), options_(std::move(options)), model_(codedeploy_model()) {
  STAGELINE_CHECK(options_.now_ms != nullptr);
  STAGELINE_CHECK(options_.new_id != nullptr);
  STAGELINE_CHECK(options_.page_size >= 1);
}

wire::Error CodeDeployApi::error(const char* type, std::string message) const {
  return wire::modeled_error(model_, type, std::move(message));
}

wire::Outcome<json::object> CodeDeployApi::load(const char* kind, const std::string& name,
                                                const char* missing_type,
                                                const std::string& missing_message) const {
  auto r = store_.get_resource(kService, kind, name);
  if (r.status().code() == StatusCode::kNotFound) return error(missing_type, missing_message);
  if (!r.ok()) return internal(r.status());
  return parse_doc(r->document_json);
}

wire::Outcome<json::value> CodeDeployApi::page(json::array all, const In& in,
                                               const char* member) const {
  const std::string token = str(in, "nextToken");
  size_t offset = 0;
  if (!token.empty()) {
    auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), offset);
    if (ec != std::errc() || end != token.data() + token.size() || offset > all.size())
      return error("InvalidNextTokenException", "The next token is not valid");
  }
  json::array items;
  size_t i = offset;
  for (; i < all.size() && items.size() < static_cast<size_t>(options_.page_size); ++i)
    items.push_back(all[i]);
  json::object out{{member, std::move(items)}};
  if (i < all.size()) out["nextToken"] = std::to_string(i);
  return json::value(std::move(out));
}

wire::Outcome<json::value> CodeDeployApi::call(const wire::Call& call) {
  const std::string& op = call.operation->name;
  const In& in = call.input;
  if (op == "CreateApplication") return create_application(in);
  if (op == "GetApplication") return get_application(in);
  if (op == "BatchGetApplications") return batch_get_applications(in);
  if (op == "ListApplications") return list_applications(in);
  if (op == "DeleteApplication") return delete_application(in);
  if (op == "CreateDeploymentGroup") return create_deployment_group(in);
  if (op == "GetDeploymentGroup") return get_deployment_group(in);
  if (op == "BatchGetDeploymentGroups") return batch_get_deployment_groups(in);
  if (op == "ListDeploymentGroups") return list_deployment_groups(in);
  if (op == "DeleteDeploymentGroup") return delete_deployment_group(in);
  if (op == "RegisterOnPremisesInstance") return register_instance(in);
  if (op == "DeregisterOnPremisesInstance") return deregister_instance(in);
  if (op == "AddTagsToOnPremisesInstances") return change_instance_tags(in, true);
  if (op == "RemoveTagsFromOnPremisesInstances") return change_instance_tags(in, false);
  if (op == "GetOnPremisesInstance") return get_instance(in);
  if (op == "BatchGetOnPremisesInstances") return batch_get_instances(in);
  if (op == "ListOnPremisesInstances") return list_instances(in);
  if (op == "GetDeployment") return get_deployment(in);
  if (op == "BatchGetDeployments") return batch_get_deployments(in);
  if (op == "ListDeployments") return list_deployments(in);
  if (op == "ListDeploymentTargets") return list_deployment_targets(in, "targetIds");
  if (op == "ListDeploymentInstances") return list_deployment_targets(in, "instancesList");
  if (op == "BatchGetDeploymentTargets") return batch_get_deployment_targets(in);
  if (op == "GetDeploymentTarget") return get_deployment_target(in);
  if (op == "GetDeploymentInstance") return get_deployment_instance(in);
  return error("InvalidInputException",
               "Stageline does not implement CodeDeploy " + op +
                   " (it answers applications, deployment groups, on-premises instances and the "
                   "deployments the pipeline CodeDeploy action makes; see docs/codedeploy.md)");
}

// ---- Applications -------------------------------------------------------------

wire::Outcome<json::value> CodeDeployApi::create_application(const In& in) {
  const std::string name = str(in, "applicationName");
  if (name.find('/') != std::string::npos)
    return error("InvalidApplicationNameException",
                 "The application name contains '/', which Stageline does not allow: " + name);
  const std::string platform = str(in, "computePlatform");
  if (!platform.empty() && platform != "Server")
    return error("InvalidComputePlatformException",
                 "Stageline deploys to on-premises instances only: computePlatform must be "
                 "Server, not " +
                     platform);
  const int64_t now = options_.now_ms();
  const std::string id = options_.new_id();
  json::object app{{"applicationId", id},
                   {"applicationName", name},
                   {"createTime", seconds(now)},
                   {"linkedToGitHub", false},
                   {"computePlatform", "Server"}};
  json::object doc = app;
  doc["tags"] = in.contains("tags") ? in.at("tags") : json::array();
  Status s = store_.insert_resource(
      {kService, deploy::kApplicationKind, name, json::serialize(doc), now, now});
  if (s.code() == StatusCode::kAlreadyExists)
    return error("ApplicationAlreadyExistsException",
                 "An application with the name " + name + " already exists");
  if (!s.ok()) return internal(s);
  return json::value(json::object{{"applicationId", id}});
}

namespace {
json::object application_info(json::object doc) {
  doc.erase("tags");
  return doc;
}
}  // namespace

wire::Outcome<json::value> CodeDeployApi::get_application(const In& in) {
  const std::string name = str(in, "applicationName");
  auto doc = load(deploy::kApplicationKind, name, "ApplicationDoesNotExistException",
                  "No application found for name: " + name);
  if (!doc) return doc.error();
  return json::value(json::object{{"application", application_info(std::move(doc.value()))}});
}

wire::Outcome<json::value> CodeDeployApi::batch_get_applications(const In& in) {
  json::array infos;
  for (const std::string& name : strings(in, "applicationNames")) {
    auto doc = load(deploy::kApplicationKind, name, "ApplicationDoesNotExistException",
                    "No application found for name: " + name);
    if (!doc) return doc.error();
    infos.push_back(application_info(std::move(doc.value())));
  }
  return json::value(json::object{{"applicationsInfo", std::move(infos)}});
}

wire::Outcome<json::value> CodeDeployApi::list_applications(const In& in) {
  auto all = deploy::list_records(store_, deploy::kApplicationKind);
  if (!all.ok()) return internal(all.status());
  json::array names;
  for (const auto& r : *all) names.push_back(json::value(r.name));
  return page(std::move(names), in, "applications");
}

wire::Outcome<json::value> CodeDeployApi::delete_application(const In& in) {
  // AWS answers success for an application that does not exist; its
  // deployment groups go with it.
  const std::string name = str(in, "applicationName");
  auto groups = deploy::list_records(store_, deploy::kDeploymentGroupKind, name + "/");
  if (!groups.ok()) return internal(groups.status());
  for (const auto& g : *groups) {
    Status s = store_.delete_resource(kService, deploy::kDeploymentGroupKind, g.name);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return internal(s);
  }
  Status s = store_.delete_resource(kService, deploy::kApplicationKind, name);
  if (!s.ok() && s.code() != StatusCode::kNotFound) return internal(s);
  return json::value(json::object{});
}

// ---- Deployment groups ----------------------------------------------------------

wire::Outcome<json::value> CodeDeployApi::create_deployment_group(const In& in) {
  const std::string app = str(in, "applicationName");
  const std::string name = str(in, "deploymentGroupName");
  auto application = load(deploy::kApplicationKind, app, "ApplicationDoesNotExistException",
                          "No application found for name: " + app);
  if (!application) return application.error();
  for (const char* unsupported :
       {"ec2TagFilters", "ec2TagSet", "autoScalingGroups", "loadBalancerInfo",
        "blueGreenDeploymentConfiguration", "ecsServices"}) {
    if (in.contains(unsupported))
      return error("InvalidInputException",
                   std::string(unsupported) +
                       " is not supported: Stageline deploys to on-premises instances only "
                       "(onPremisesInstanceTagFilters or onPremisesTagSet)");
  }
  if (in.contains("onPremisesInstanceTagFilters") && in.contains("onPremisesTagSet"))
    return error("InvalidOnPremisesTagCombinationException",
                 "onPremisesInstanceTagFilters and onPremisesTagSet cannot both be given");
  if (const json::value* f = in.if_contains("onPremisesInstanceTagFilters")) {
    auto parsed = deploy::parse_tag_filters(*f, "onPremisesInstanceTagFilters");
    if (!parsed.ok()) return error("InvalidTagException", parsed.status().message());
  }
  if (const json::value* set = in.if_contains("onPremisesTagSet"); set && set->is_object()) {
    if (const json::value* lists = set->as_object().if_contains("onPremisesTagSetList");
        lists && lists->is_array()) {
      for (const json::value& l : lists->as_array()) {
        auto parsed = deploy::parse_tag_filters(l, "onPremisesTagSet.onPremisesTagSetList");
        if (!parsed.ok()) return error("InvalidTagException", parsed.status().message());
      }
    }
  }
  std::string config = str(in, "deploymentConfigName");
  if (config.empty()) config = "CodeDeployDefault.OneAtATime";
  if (!deployment_configs().contains(config))
    return error("DeploymentConfigDoesNotExistException",
                 "No deployment configuration found for name: " + config +
                     " (Stageline has CodeDeployDefault.OneAtATime, HalfAtATime and AllAtOnce)");
  if (const json::value* style = in.if_contains("deploymentStyle"); style && style->is_object()) {
    if (str(style->as_object(), "deploymentType") == "BLUE_GREEN" ||
        str(style->as_object(), "deploymentOption") == "WITH_TRAFFIC_CONTROL")
      return error("InvalidDeploymentStyleException",
                   "Stageline runs in-place deployments without traffic control only");
  }
  const int64_t now = options_.now_ms();
  const std::string id = options_.new_id();
  json::object g{{"applicationName", app},
                 {"deploymentGroupId", id},
                 {"deploymentGroupName", name},
                 {"deploymentConfigName", config},
                 {"ec2TagFilters", json::array()},
                 {"onPremisesInstanceTagFilters", json::array()},
                 {"autoScalingGroups", json::array()},
                 {"serviceRoleArn", str(in, "serviceRoleArn")},
                 {"triggerConfigurations", json::array()},
                 {"deploymentStyle", json::object{{"deploymentType", "IN_PLACE"},
                                                  {"deploymentOption", "WITHOUT_TRAFFIC_CONTROL"}}},
                 {"outdatedInstancesStrategy", "UPDATE"},
                 {"computePlatform", "Server"},
                 {"terminationHookEnabled", false}};
  for (const char* key :
       {"onPremisesInstanceTagFilters", "onPremisesTagSet", "autoRollbackConfiguration",
        "alarmConfiguration", "triggerConfigurations", "outdatedInstancesStrategy"})
    if (const json::value* v = in.if_contains(key)) g[key] = *v;
  Status s = store_.insert_resource({kService, deploy::kDeploymentGroupKind,
                                     deploy::deployment_group_key(app, name), json::serialize(g),
                                     now, now});
  if (s.code() == StatusCode::kAlreadyExists)
    return error(
        "DeploymentGroupAlreadyExistsException",
        "A deployment group with the name " + name + " already exists for application " + app);
  if (!s.ok()) return internal(s);
  return json::value(json::object{{"deploymentGroupId", id}});
}

wire::Outcome<json::value> CodeDeployApi::get_deployment_group(const In& in) {
  const std::string app = str(in, "applicationName");
  const std::string name = str(in, "deploymentGroupName");
  auto application = load(deploy::kApplicationKind, app, "ApplicationDoesNotExistException",
                          "No application found for name: " + app);
  if (!application) return application.error();
  auto g =
      load(deploy::kDeploymentGroupKind, deploy::deployment_group_key(app, name),
           "DeploymentGroupDoesNotExistException", "No Deployment Group found for name: " + name);
  if (!g) return g.error();
  return json::value(json::object{{"deploymentGroupInfo", std::move(g.value())}});
}

wire::Outcome<json::value> CodeDeployApi::batch_get_deployment_groups(const In& in) {
  const std::string app = str(in, "applicationName");
  auto application = load(deploy::kApplicationKind, app, "ApplicationDoesNotExistException",
                          "No application found for name: " + app);
  if (!application) return application.error();
  json::array infos;
  std::string missing;
  for (const std::string& name : strings(in, "deploymentGroupNames")) {
    auto r = store_.get_resource(kService, deploy::kDeploymentGroupKind,
                                 deploy::deployment_group_key(app, name));
    if (r.status().code() == StatusCode::kNotFound) {
      missing += (missing.empty() ? "" : ", ") + name;
      continue;
    }
    if (!r.ok()) return internal(r.status());
    infos.push_back(parse_doc(r->document_json));
  }
  json::object out{{"deploymentGroupsInfo", std::move(infos)}};
  if (!missing.empty()) out["errorMessage"] = "Deployment groups not found: " + missing;
  return json::value(std::move(out));
}

wire::Outcome<json::value> CodeDeployApi::list_deployment_groups(const In& in) {
  const std::string app = str(in, "applicationName");
  auto application = load(deploy::kApplicationKind, app, "ApplicationDoesNotExistException",
                          "No application found for name: " + app);
  if (!application) return application.error();
  auto all = deploy::list_records(store_, deploy::kDeploymentGroupKind, app + "/");
  if (!all.ok()) return internal(all.status());
  json::array names;
  for (const auto& r : *all) names.push_back(json::value(r.name.substr(app.size() + 1)));
  auto out = page(std::move(names), in, "deploymentGroups");
  if (out) out.value().as_object()["applicationName"] = app;
  return out;
}

wire::Outcome<json::value> CodeDeployApi::delete_deployment_group(const In& in) {
  const std::string app = str(in, "applicationName");
  const std::string name = str(in, "deploymentGroupName");
  Status s = store_.delete_resource(kService, deploy::kDeploymentGroupKind,
                                    deploy::deployment_group_key(app, name));
  if (!s.ok() && s.code() != StatusCode::kNotFound) return internal(s);
  return json::value(json::object{{"hooksNotCleanedUp", json::array()}});
}

// ---- On-premises instances ------------------------------------------------------

wire::Outcome<json::value> CodeDeployApi::register_instance(const In& in) {
  const std::string name = str(in, "instanceName");
  const std::string user = str(in, "iamUserArn");
  const std::string session = str(in, "iamSessionArn");
  if (user.empty() && session.empty())
    return error("IamArnRequiredException",
                 "An IAM user ARN or IAM session ARN is required (--iam-user-arn or "
                 "--iam-session-arn); Stageline records it but signs nothing with it");
  if (!user.empty() && !session.empty())
    return error("MultipleIamArnsProvidedException",
                 "Give either an IAM user ARN or an IAM session ARN, not both");
  const int64_t now = options_.now_ms();
  json::object doc{{"instanceName", name}};
  if (!user.empty()) doc["iamUserArn"] = user;
  if (!session.empty()) doc["iamSessionArn"] = session;
  doc["instanceArn"] =
      "arn:aws:codedeploy:" + options_.region + ":" + options_.account_id + ":instance/" + name;
  doc["registerTime"] = seconds(now);
  doc["tags"] = json::array();
  auto existing = store_.get_resource(kService, deploy::kInstanceKind, name);
  if (existing.ok()) {
    // A deregistered name may be registered again; its tags start empty.
    if (!parse_doc(existing->document_json).contains("deregisterTime"))
      return error("InstanceNameAlreadyRegisteredException",
                   "The on-premises instance name " + name + " is already registered");
    existing->document_json = json::serialize(doc);
    existing->updated_ms = now;
    if (Status s = store_.update_resource(*existing); !s.ok()) return internal(s);
    return json::value(json::object{});
  }
  if (existing.status().code() != StatusCode::kNotFound) return internal(existing.status());
  Status s = store_.insert_resource(
      {kService, deploy::kInstanceKind, name, json::serialize(doc), now, now});
  if (!s.ok()) return internal(s);
  return json::value(json::object{});
}

wire::Outcome<json::value> CodeDeployApi::deregister_instance(const In& in) {
  const std::string name = str(in, "instanceName");
  auto r = store_.get_resource(kService, deploy::kInstanceKind, name);
  if (r.status().code() == StatusCode::kNotFound) return json::value(json::object{});
  if (!r.ok()) return internal(r.status());
  json::object doc = parse_doc(r->document_json);
  const int64_t now = options_.now_ms();
  doc["deregisterTime"] = seconds(now);
  r->document_json = json::serialize(doc);
  r->updated_ms = now;
  if (Status s = store_.update_resource(*r); !s.ok()) return internal(s);
  return json::value(json::object{});
}

wire::Outcome<json::value> CodeDeployApi::change_instance_tags(const In& in, bool add) {
  std::vector<store::ResourceRecord> records;
  for (const std::string& name : strings(in, "instanceNames")) {
    auto r = store_.get_resource(kService, deploy::kInstanceKind, name);
    if (r.status().code() == StatusCode::kNotFound ||
        (r.ok() && parse_doc(r->document_json).contains("deregisterTime")))
      return error("InstanceNotRegisteredException",
                   "The on-premises instance " + name + " is not registered");
    if (!r.ok()) return internal(r.status());
    records.push_back(std::move(*r));
  }
  const json::array& tags = in.at("tags").as_array();
  for (const json::value& t : tags)
    if (str(t.as_object(), "Key").empty()) return error("InvalidTagException", "A tag needs a Key");
  const int64_t now = options_.now_ms();
  for (auto& r : records) {
    json::object doc = parse_doc(r.document_json);
    json::array current =
        doc.contains("tags") && doc["tags"].is_array() ? doc["tags"].as_array() : json::array();
    for (const json::value& t : tags) {
      const std::string key = str(t.as_object(), "Key");
      const std::string value = str(t.as_object(), "Value");
      auto same = [&](const json::value& c) {
        return c.is_object() && str(c.as_object(), "Key") == key &&
               (add || !t.as_object().contains("Value") || str(c.as_object(), "Value") == value);
      };
      current.erase(std::remove_if(current.begin(), current.end(), same), current.end());
      if (add) current.push_back(json::object{{"Key", key}, {"Value", value}});
    }
    if (add && current.size() > 10)
      return error("TagLimitExceededException",
                   "An on-premises instance can have at most 10 tags: " + str(doc, "instanceName"));
    doc["tags"] = std::move(current);
    r.document_json = json::serialize(doc);
    r.updated_ms = now;
  }
  for (const auto& r : records)
    if (Status s = store_.update_resource(r); !s.ok()) return internal(s);
  return json::value(json::object{});
}

wire::Outcome<json::value> CodeDeployApi::get_instance(const In& in) {
  const std::string name = str(in, "instanceName");
  auto doc = load(deploy::kInstanceKind, name, "InstanceNotRegisteredException",
                  "The on-premises instance " + name + " is not registered");
  if (!doc) return doc.error();
  return json::value(json::object{{"instanceInfo", std::move(doc.value())}});
}

wire::Outcome<json::value> CodeDeployApi::batch_get_instances(const In& in) {
  json::array infos;
  for (const std::string& name : strings(in, "instanceNames")) {
    auto r = store_.get_resource(kService, deploy::kInstanceKind, name);
    if (r.status().code() == StatusCode::kNotFound) continue;
    if (!r.ok()) return internal(r.status());
    infos.push_back(parse_doc(r->document_json));
  }
  return json::value(json::object{{"instanceInfos", std::move(infos)}});
}

wire::Outcome<json::value> CodeDeployApi::list_instances(const In& in) {
  const std::string status = str(in, "registrationStatus");
  std::vector<deploy::TagFilter> filters;
  if (const json::value* f = in.if_contains("tagFilters")) {
    auto parsed = deploy::parse_tag_filters(*f, "tagFilters");
    if (!parsed.ok()) return error("InvalidTagFilterException", parsed.status().message());
    filters = std::move(*parsed);
  }
  auto all = deploy::list_records(store_, deploy::kInstanceKind);
  if (!all.ok()) return internal(all.status());
  json::array names;
  for (const auto& r : *all) {
    json::object doc = parse_doc(r.document_json);
    const bool deregistered = doc.contains("deregisterTime");
    if (status == "Registered" && deregistered) continue;
    if (status == "Deregistered" && !deregistered) continue;
    if (!filters.empty() && !deploy::matches_any(deploy::instance_tags(doc), filters)) continue;
    names.push_back(json::value(r.name));
  }
  return page(std::move(names), in, "instanceNames");
}

// ---- Deployments ----------------------------------------------------------------

namespace {
constexpr const char* kNoDeployment = "DeploymentDoesNotExistException";
std::string no_deployment(const std::string& id) {
  return "The deployment " + id + " could not be found";
}
}  // namespace

wire::Outcome<json::value> CodeDeployApi::get_deployment(const In& in) {
  const std::string id = str(in, "deploymentId");
  auto doc = load(deploy::kDeploymentKind, id, kNoDeployment, no_deployment(id));
  if (!doc) return doc.error();
  return json::value(json::object{{"deploymentInfo", doc.value()["deploymentInfo"]}});
}

wire::Outcome<json::value> CodeDeployApi::batch_get_deployments(const In& in) {
  json::array infos;
  for (const std::string& id : strings(in, "deploymentIds")) {
    auto r = store_.get_resource(kService, deploy::kDeploymentKind, id);
    if (r.status().code() == StatusCode::kNotFound) continue;
    if (!r.ok()) return internal(r.status());
    infos.push_back(parse_doc(r->document_json)["deploymentInfo"]);
  }
  return json::value(json::object{{"deploymentsInfo", std::move(infos)}});
}

wire::Outcome<json::value> CodeDeployApi::list_deployments(const In& in) {
  const std::string app = str(in, "applicationName");
  const std::string group = str(in, "deploymentGroupName");
  if (!group.empty() && app.empty())
    return error("ApplicationNameRequiredException",
                 "The application name is required with a deployment group name");
  if (!app.empty()) {
    auto application = load(deploy::kApplicationKind, app, "ApplicationDoesNotExistException",
                            "No application found for name: " + app);
    if (!application) return application.error();
  }
  if (!group.empty()) {
    auto g = load(deploy::kDeploymentGroupKind, deploy::deployment_group_key(app, group),
                  "DeploymentGroupDoesNotExistException",
                  "No Deployment Group found for name: " + group);
    if (!g) return g.error();
  }
  const std::vector<std::string> statuses = strings(in, "includeOnlyStatuses");
  auto all = deploy::list_records(store_, deploy::kDeploymentKind);
  if (!all.ok()) return internal(all.status());
  std::vector<std::pair<double, std::string>> rows;
  for (const auto& r : *all) {
    json::object info = parse_doc(r.document_json)["deploymentInfo"].as_object();
    if (!app.empty() && str(info, "applicationName") != app) continue;
    if (!group.empty() && str(info, "deploymentGroupName") != group) continue;
    if (!statuses.empty() &&
        std::find(statuses.begin(), statuses.end(), str(info, "status")) == statuses.end())
      continue;
    const json::value* created = info.if_contains("createTime");
    rows.emplace_back(created && created->is_number() ? created->to_number<double>() : 0.0, r.name);
  }
  // Newest first, as AWS lists them.
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  json::array ids;
  for (const auto& row : rows) ids.push_back(json::value(row.second));
  return page(std::move(ids), in, "deployments");
}

wire::Outcome<json::value> CodeDeployApi::list_deployment_targets(const In& in,
                                                                  const char* member) {
  const std::string id = str(in, "deploymentId");
  auto doc = load(deploy::kDeploymentKind, id, kNoDeployment, no_deployment(id));
  if (!doc) return doc.error();
  std::vector<std::string> wanted;
  if (const json::value* filters = in.if_contains("targetFilters"); filters && filters->is_object())
    wanted = strings(filters->as_object(), "TargetStatus");
  for (const std::string& s : strings(in, "instanceStatusFilter")) wanted.push_back(s);
  json::array ids;
  if (const json::value* targets = doc.value().if_contains("targets");
      targets && targets->is_array())
    for (const json::value& t : targets->as_array()) {
      const std::string status = str(t.as_object(), "status");
      if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), status) == wanted.end())
        continue;
      ids.push_back(json::value(str(t.as_object(), "targetId")));
    }
  return page(std::move(ids), in, member);
}

namespace {
const json::object* find_target(const json::object& doc, const std::string& target) {
  const json::value* targets = doc.if_contains("targets");
  if (!targets || !targets->is_array()) return nullptr;
  for (const json::value& t : targets->as_array())
    if (t.is_object() && str(t.as_object(), "targetId") == target) return &t.as_object();
  return nullptr;
}
json::object deployment_target(const json::object& instance_target) {
  json::object t = instance_target;
  t["instanceLabel"] = "Blue";
  return json::object{{"deploymentTargetType", "InstanceTarget"}, {"instanceTarget", t}};
}
}  // namespace

wire::Outcome<json::value> CodeDeployApi::batch_get_deployment_targets(const In& in) {
  const std::string id = str(in, "deploymentId");
  auto doc = load(deploy::kDeploymentKind, id, kNoDeployment, no_deployment(id));
  if (!doc) return doc.error();
  json::array out;
  for (const std::string& target : strings(in, "targetIds")) {
    const json::object* t = find_target(doc.value(), target);
    if (!t)
      return error("DeploymentTargetDoesNotExistException",
                   "The target " + target + " is not part of deployment " + id);
    out.push_back(deployment_target(*t));
  }
  return json::value(json::object{{"deploymentTargets", std::move(out)}});
}

wire::Outcome<json::value> CodeDeployApi::get_deployment_target(const In& in) {
  const std::string id = str(in, "deploymentId");
  const std::string target = str(in, "targetId");
  auto doc = load(deploy::kDeploymentKind, id, kNoDeployment, no_deployment(id));
  if (!doc) return doc.error();
  const json::object* t = find_target(doc.value(), target);
  if (!t)
    return error("DeploymentTargetDoesNotExistException",
                 "The target " + target + " is not part of deployment " + id);
  return json::value(json::object{{"deploymentTarget", deployment_target(*t)}});
}

wire::Outcome<json::value> CodeDeployApi::get_deployment_instance(const In& in) {
  const std::string id = str(in, "deploymentId");
  const std::string instance = str(in, "instanceId");
  auto doc = load(deploy::kDeploymentKind, id, kNoDeployment, no_deployment(id));
  if (!doc) return doc.error();
  const json::object* t = find_target(doc.value(), instance);
  if (!t)
    return error("InstanceDoesNotExistException",
                 "The instance " + instance + " is not part of deployment " + id);
  json::object summary{{"deploymentId", id},
                       {"instanceId", instance},
                       {"status", str(*t, "status")},
                       {"instanceType", "Blue"}};
  if (const json::value* v = t->if_contains("lastUpdatedAt")) summary["lastUpdatedAt"] = *v;
  if (const json::value* v = t->if_contains("lifecycleEvents")) summary["lifecycleEvents"] = *v;
  return json::value(json::object{{"instanceSummary", std::move(summary)}});
}

}  // namespace stageline::codedeploy
