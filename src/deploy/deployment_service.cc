#include "deploy/deployment_service.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>

#include "deploy/agent.h"
#include "deploy/records.h"

namespace stageline::deploy {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

json::object event_json(const LifecycleEventRecord& e) {
  json::object o{{"lifecycleEventName", e.name}, {"status", e.status}};
  if (e.start_ms > 0) o["startTime"] = seconds(e.start_ms);
  if (e.end_ms > 0) o["endTime"] = seconds(e.end_ms);
  if (!e.error_code.empty()) {
    json::object d{{"errorCode", e.error_code}, {"message", e.message}};
    if (!e.script_name.empty()) d["scriptName"] = e.script_name;
    d["logTail"] = e.log_tail;
    o["diagnostics"] = std::move(d);
  }
  return o;
}

}  // namespace

std::string deployment_group_key(const std::string& application, const std::string& group) {
  return application + "/" + group;
}

std::vector<Tag> instance_tags(const json::object& instance) {
  std::vector<Tag> tags;
  if (const json::value* list = instance.if_contains("tags"); list && list->is_array())
    for (const json::value& t : list->as_array())
      if (t.is_object()) tags.push_back({str(t.as_object(), "Key"), str(t.as_object(), "Value")});
  return tags;
}

Result<std::vector<TagFilter>> parse_tag_filters(const json::value& list, const std::string& what) {
  std::vector<TagFilter> out;
  if (!list.is_array()) return Status::invalid(what + " must be a list of {Key, Value, Type}");
  for (size_t i = 0; i < list.as_array().size(); ++i) {
    const json::value& v = list.as_array()[i];
    const std::string at = what + "[" + std::to_string(i) + "]";
    if (!v.is_object()) return Status::invalid(at + " must be {Key, Value, Type}");
    TagFilter f;
    f.key = str(v.as_object(), "Key");
    f.value = str(v.as_object(), "Value");
    const std::string type = str(v.as_object(), "Type");
    if (type.empty()) {
      f.type = f.value.empty()
                   ? TagFilterType::kKeyOnly
                   : (f.key.empty() ? TagFilterType::kValueOnly : TagFilterType::kKeyAndValue);
    } else {
      auto parsed = parse_tag_filter_type(type);
      if (!parsed.ok()) return parsed.status().with_context(at);
      f.type = *parsed;
    }
    if (f.type != TagFilterType::kValueOnly && f.key.empty())
      return Status::invalid(at + ": Key is required for Type " + to_string(f.type));
    if (f.type != TagFilterType::kKeyOnly && f.value.empty())
      return Status::invalid(at + ": Value is required for Type " + to_string(f.type));
    out.push_back(std::move(f));
  }
  return out;
}

bool group_targets(const json::object& group, const std::vector<Tag>& tags) {
  if (const json::value* list = group.if_contains("onPremisesInstanceTagFilters")) {
    auto filters = parse_tag_filters(*list, "onPremisesInstanceTagFilters");
    if (filters.ok() && matches_any(tags, *filters)) return true;
  }
  if (const json::value* set = group.if_contains("onPremisesTagSet"); set && set->is_object()) {
    const json::value* lists = set->as_object().if_contains("onPremisesTagSetList");
    if (lists && lists->is_array()) {
      std::vector<std::vector<TagFilter>> groups;
      for (const json::value& l : lists->as_array()) {
        auto filters = parse_tag_filters(l, "onPremisesTagSet");
        if (!filters.ok()) return false;
        groups.push_back(std::move(*filters));
      }
      if (matches_tag_set(tags, groups)) return true;
    }
  }
  return false;
}

std::string deployment_id_from_uuid(const std::string& uuid) {
  std::string id = "d-";
  for (char c : uuid) {
    if (id.size() == 11) break;
    if (std::isxdigit(static_cast<unsigned char>(c)))
      id += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  while (id.size() < 11) id += '0';
  return id;
}

struct DeploymentService::Target {
  std::string instance;
  std::string instance_arn;
  fs::path target_dir;
  std::string problem;  // why it cannot be deployed to (no target directory)
  fs::path bundle_dir;
  std::optional<fs::path> before;  // the revision it held before this deployment
  std::string status = "Pending";
  std::vector<LifecycleEventRecord> events;
  int64_t updated_ms = 0;
};

struct DeploymentService::Run {
  std::string id;
  json::object info;
  json::object group;
  const DeploymentRequest* request = nullptr;
  std::vector<Target> targets;
  // BUNDLE_BUCKET and BUNDLE_KEY of the revision this run deploys.
  std::map<std::string, std::string> environment;
};

DeploymentService::DeploymentService(store::Store& store, DeploymentServiceOptions options)
    : store_(store), options_(std::move(options)) {
  STAGELINE_CHECK(options_.now_ms != nullptr);
  STAGELINE_CHECK(options_.new_id != nullptr);
}

fs::path DeploymentService::instance_state_dir(const std::string& instance) const {
  return options_.state_root / "instances" / instance;
}

std::shared_ptr<std::mutex> DeploymentService::instance_lock(const std::string& instance) {
  std::lock_guard lock(mu_);
  auto& m = instance_locks_[instance];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

Status DeploymentService::save(const Run& run) {
  json::object overview{{"Pending", 0}, {"InProgress", 0}, {"Succeeded", 0},
                        {"Failed", 0},  {"Skipped", 0},    {"Ready", 0}};
  json::array targets;
  for (const Target& t : run.targets) {
    overview[t.status] = overview[t.status].as_int64() + 1;
    json::array events;
    for (const auto& e : t.events) events.push_back(event_json(e));
    targets.push_back(json::object{{"deploymentId", run.id},
                                   {"targetId", t.instance},
                                   {"targetArn", t.instance_arn},
                                   {"status", t.status},
                                   {"lastUpdatedAt", seconds(t.updated_ms)},
                                   {"lifecycleEvents", std::move(events)}});
  }
  json::object info = run.info;
  info["deploymentOverview"] = std::move(overview);
  json::object doc{{"deploymentInfo", std::move(info)}, {"targets", std::move(targets)}};
  const int64_t now = options_.now_ms();
  return store_.update_resource(
      {kService, kDeploymentKind, run.id, json::serialize(doc), now, now});
}

Status DeploymentService::record_pipeline_targets(const std::string& deployment_id,
                                                  const std::string& action_execution_id) {
  auto record = store_.get_resource(kService, kDeploymentKind, deployment_id);
  if (!record.ok()) return record.status();
  json::object doc = parse_doc(record->document_json);
  json::array out;
  if (const json::value* targets = doc.if_contains("targets"); targets && targets->is_array()) {
    for (const json::value& t : targets->as_array()) {
      if (!t.is_object()) continue;
      const json::object& target = t.as_object();
      json::object shaped{{"targetId", str(target, "targetId")},
                          {"targetType", "OnPremisesInstance"},
                          {"status", str(target, "status")}};
      json::array events;
      double first = 0, last = 0;
      if (const json::value* es = target.if_contains("lifecycleEvents"); es && es->is_array()) {
        for (const json::value& e : es->as_array()) {
          if (!e.is_object()) continue;
          const json::object& event = e.as_object();
          json::object shaped_event{{"name", str(event, "lifecycleEventName")},
                                    {"status", str(event, "status")}};
          for (const char* key : {"startTime", "endTime"}) {
            const json::value* v = event.if_contains(key);
            if (!v || !v->is_number()) continue;
            shaped_event[key] = *v;
            double at = v->to_number<double>();
            if (first == 0 || at < first) first = at;
            if (at > last) last = at;
          }
          if (const json::value* d = event.if_contains("diagnostics"); d && d->is_object())
            shaped_event["context"] = json::object{{"message", str(d->as_object(), "message")}};
          events.push_back(std::move(shaped_event));
        }
      }
      if (first > 0) shaped["startTime"] = first;
      if (last > 0) shaped["endTime"] = last;
      shaped["events"] = std::move(events);
      out.push_back(std::move(shaped));
    }
  }
  const int64_t now = options_.now_ms();
  store::ResourceRecord r{"codepipeline",
                          "deploy-targets",
                          action_execution_id,
                          json::serialize(json::object{{"targets", std::move(out)}}),
                          now,
                          now};
  Status s = store_.insert_resource(r);
  if (s.code() == StatusCode::kAlreadyExists) s = store_.update_resource(r);
  return s;
}

Result<DeploymentResult> DeploymentService::run_deployment(const DeploymentRequest& request) {
  auto app = store_.get_resource(kService, kApplicationKind, request.application_name);
  if (app.status().code() == StatusCode::kNotFound)
    return Status::not_found("CodeDeploy application " + request.application_name +
                             " does not exist (create it with aws deploy create-application)");
  if (!app.ok()) return app.status();
  const std::string key =
      deployment_group_key(request.application_name, request.deployment_group_name);
  auto group = store_.get_resource(kService, kDeploymentGroupKind, key);
  if (group.status().code() == StatusCode::kNotFound)
    return Status::not_found("deployment group " + request.deployment_group_name +
                             " of application " + request.application_name +
                             " does not exist (create it with aws deploy create-deployment-group)");
  if (!group.ok()) return group.status();
  auto instances = list_records(store_, kInstanceKind);
  if (!instances.ok()) return instances.status();

  Run run;
  run.request = &request;
  run.environment = request.extra_environment;
  run.group = parse_doc(group->document_json);
  for (const auto& r : *instances) {
    json::object doc = parse_doc(r.document_json);
    if (doc.contains("deregisterTime")) continue;
    const std::vector<Tag> tags = instance_tags(doc);
    if (!group_targets(run.group, tags)) continue;
    Target t;
    t.instance = r.name;
    t.instance_arn = str(doc, "instanceArn");
    auto dir = target_directory(r.name, tags);
    if (dir.ok())
      t.target_dir = *dir;
    else
      t.problem = dir.status().message();
    t.bundle_dir = request.bundle_dir;
    t.before = last_good_revision(instance_state_dir(r.name));
    for (const std::string& name : lifecycle_events()) {
      LifecycleEventRecord e;
      e.name = name;
      t.events.push_back(std::move(e));
    }
    run.targets.push_back(std::move(t));
  }

  const int64_t now = options_.now_ms();
  run.id = deployment_id_from_uuid(options_.new_id());
  std::string config = str(run.group, "deploymentConfigName");
  if (config.empty()) config = "CodeDeployDefault.OneAtATime";
  run.info = json::object{
      {"applicationName", request.application_name},
      {"deploymentGroupName", request.deployment_group_name},
      {"deploymentConfigName", config},
      {"deploymentId", run.id},
      {"revision", request.revision},
      {"status", "Created"},
      {"createTime", seconds(now)},
      {"creator", request.creator},
      {"ignoreApplicationStopFailures", false},
      {"updateOutdatedInstancesOnly", false},
      {"computePlatform", "Server"},
      {"fileExistsBehavior", "DISALLOW"},
      {"deploymentStyle", json::object{{"deploymentType", "IN_PLACE"},
                                       {"deploymentOption", "WITHOUT_TRAFFIC_CONTROL"}}}};
  if (const json::value* previous = run.group.if_contains("targetRevision"))
    run.info["previousRevision"] = *previous;
  if (!request.description.empty()) run.info["description"] = request.description;
  if (Status s = store_.insert_resource({kService, kDeploymentKind, run.id, "{}", now, now});
      !s.ok())
    return s.with_context("record deployment " + run.id);
  auto result = execute(run);
  if (!result.ok()) return result;

  // Roll back: the revision each touched instance held before.
  const json::value* rollback_config = run.group.if_contains("autoRollbackConfiguration");
  const bool rollback_disabled = rollback_config && rollback_config->is_object() &&
                                 rollback_config->as_object().contains("enabled") &&
                                 rollback_config->as_object().at("enabled") == false;
  if (result->status == "Failed" && !rollback_disabled) {
    Run back;
    back.request = &request;
    back.group = run.group;
    for (const Target& t : run.targets) {
      if ((t.status != "Failed" && t.status != "Succeeded") || !t.before) continue;
      Target b;
      b.instance = t.instance;
      b.instance_arn = t.instance_arn;
      b.target_dir = t.target_dir;
      b.problem = t.problem;
      b.bundle_dir = *t.before;
      b.before = t.before;
      for (const std::string& name : lifecycle_events()) {
        LifecycleEventRecord e;
        e.name = name;
        b.events.push_back(std::move(e));
      }
      back.targets.push_back(std::move(b));
    }
    if (back.targets.empty()) {
      run.info["rollbackInfo"] = json::object{
          {"rollbackMessage",
           "No rollback: no instance of the failed deployment had a previous revision"}};
      result->rollback_message = "no instance had a previous revision to roll back to";
    } else {
      const int64_t t0 = options_.now_ms();
      back.id = deployment_id_from_uuid(options_.new_id());
      back.info = run.info;
      back.info.erase("rollbackInfo");
      back.info.erase("errorInformation");
      back.info.erase("startTime");
      back.info.erase("completeTime");
      back.info["deploymentId"] = back.id;
      back.info["status"] = "Created";
      back.info["createTime"] = seconds(t0);
      back.info["creator"] = "codeDeployRollback";
      if (const json::value* previous = run.info.if_contains("previousRevision")) {
        back.info["revision"] = *previous;
        const json::value* s3 =
            previous->is_object() ? previous->as_object().if_contains("s3Location") : nullptr;
        if (s3 && s3->is_object())
          back.environment = {{"BUNDLE_BUCKET", str(s3->as_object(), "bucket")},
                              {"BUNDLE_KEY", str(s3->as_object(), "key")}};
      } else {
        back.info.erase("revision");
      }
      back.info["previousRevision"] = run.info["revision"];
      back.info["rollbackInfo"] = json::object{{"rollbackTriggeringDeploymentId", run.id}};
      if (Status s = store_.insert_resource({kService, kDeploymentKind, back.id, "{}", t0, t0});
          !s.ok())
        return s.with_context("record rollback deployment " + back.id);
      if (request.on_line)
        request.on_line("Rolling back deployment " + run.id + " in deployment " + back.id);
      auto rolled = execute(back);
      if (!rolled.ok()) return rolled.status();
      result->rollback_deployment_id = back.id;
      result->rollback_status = rolled->status;
      result->rollback_message = rolled->message;
      std::vector<std::string> names;
      for (const Target& t : back.targets) names.push_back(t.instance);
      std::string joined;
      for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
      run.info["rollbackInfo"] = json::object{
          {"rollbackDeploymentId", back.id},
          {"rollbackMessage", "Rolled back " + joined + " to the previous revision in deployment " +
                                  back.id + " (" + rolled->status + ")"}};
    }
    if (Status s = save(run); !s.ok()) return s;
  }
  for (const Target& t : run.targets) prune_revisions(instance_state_dir(t.instance));
  return result;
}

Result<DeploymentResult> DeploymentService::execute(Run& run) {
  const DeploymentRequest& request = *run.request;
  DeploymentResult result;
  result.deployment_id = run.id;
  if (run.targets.empty()) {
    const int64_t now = options_.now_ms();
    run.info["status"] = "Failed";
    run.info["completeTime"] = seconds(now);
    run.info["errorInformation"] = json::object{
        {"code", "NO_INSTANCES"},
        {"message",
         "The deployment failed because no instances were found for your deployment group. "
         "Check your deployment group settings to make sure the tags for your on-premises "
         "instances correctly identify the instances you want to deploy to, and then try "
         "again."}};
    result.status = "Failed";
    result.message = "no instance matches the deployment group's tag filters";
    if (Status s = save(run); !s.ok()) return s;
    return result;
  }
  run.info["status"] = "InProgress";
  run.info["startTime"] = seconds(options_.now_ms());
  if (Status s = save(run); !s.ok()) return s;

  const std::string config = str(run.info, "deploymentConfigName");
  const bool one_at_a_time =
      config != "CodeDeployDefault.AllAtOnce" && config != "CodeDeployDefault.HalfAtATime";
  int failed = 0, succeeded = 0;
  std::vector<std::string> failures;
  bool stopped = false;
  Status store_error;
  for (Target& t : run.targets) {
    t.updated_ms = options_.now_ms();
    if ((one_at_a_time && failed > 0) || stopped) {
      t.status = "Skipped";
      for (auto& e : t.events) e.status = "Skipped";
      continue;
    }
    if (!t.problem.empty()) {
      t.status = "Failed";
      t.events[0].status = "Failed";
      t.events[0].error_code = "UnknownError";
      t.events[0].message = t.problem;
      t.events[0].start_ms = t.events[0].end_ms = t.updated_ms;
      for (size_t i = 1; i < t.events.size(); ++i) t.events[i].status = "Skipped";
      ++failed;
      failures.push_back(t.problem);
      if (Status s = save(run); !s.ok()) store_error = s;
      continue;
    }
    auto lock = instance_lock(t.instance);
    std::lock_guard guard(*lock);
    InstanceDeployment d;
    d.instance_name = t.instance;
    d.target_dir = t.target_dir;
    d.state_dir = instance_state_dir(t.instance);
    d.bundle_dir = t.bundle_dir;
    d.deployment_id = run.id;
    d.application_name = request.application_name;
    d.deployment_group_name = request.deployment_group_name;
    d.deployment_group_id = str(run.group, "deploymentGroupId");
    d.base_environment = options_.base_environment;
    d.extra_environment = run.environment;
    d.now_ms = options_.now_ms;
    d.on_line = request.on_line;
    d.cancelled = request.cancelled;
    t.status = "InProgress";
    d.on_progress = [&](const std::vector<LifecycleEventRecord>& events) {
      t.events = events;
      t.updated_ms = options_.now_ms();
      if (Status s = save(run); !s.ok()) store_error = s;
    };
    InstanceResult r = deploy_revision(d);
    t.events = r.events;
    t.updated_ms = options_.now_ms();
    if (r.status == "Stopped") {
      t.status = "Failed";
      stopped = true;
    } else {
      t.status = r.status;
    }
    if (r.succeeded()) {
      ++succeeded;
    } else {
      ++failed;
      failures.push_back(r.message);
    }
    if (Status s = save(run); !s.ok()) store_error = s;
  }
  if (!store_error.ok()) return store_error.with_context("record deployment " + run.id);

  const int total = static_cast<int>(run.targets.size());
  bool ok = false;
  if (config == "CodeDeployDefault.AllAtOnce")
    ok = succeeded >= 1;
  else if (config == "CodeDeployDefault.HalfAtATime")
    ok = succeeded * 2 >= total;
  else
    ok = failed == 0;
  const int64_t end = options_.now_ms();
  run.info["completeTime"] = seconds(end);
  std::string joined;
  for (const auto& f : failures) joined += (joined.empty() ? "" : "; ") + f;
  if (stopped) {
    result.status = "Stopped";
    run.info["status"] = "Stopped";
    run.info["errorInformation"] =
        json::object{{"code", "MANUAL_STOP"}, {"message", "The deployment was stopped"}};
    result.message = "the deployment was stopped";
  } else if (ok) {
    result.status = "Succeeded";
    run.info["status"] = "Succeeded";
  } else {
    result.status = "Failed";
    run.info["status"] = "Failed";
    result.message = joined;
    run.info["errorInformation"] =
        json::object{{"code", "HEALTH_CONSTRAINTS"},
                     {"message",
                      "The overall deployment failed because too many individual instances failed "
                      "deployment: " +
                          joined}};
  }
  if (Status s = save(run); !s.ok()) return s.with_context("record deployment " + run.id);

  // The group's last attempted and last successful deployments.
  const std::string key =
      deployment_group_key(request.application_name, request.deployment_group_name);
  auto group = store_.get_resource(kService, kDeploymentGroupKind, key);
  if (group.ok()) {
    json::object g = parse_doc(group->document_json);
    json::object last{{"deploymentId", run.id},
                      {"status", result.status},
                      {"endTime", seconds(end)},
                      {"createTime", run.info["createTime"]}};
    g["lastAttemptedDeployment"] = last;
    if (result.status == "Succeeded") {
      g["lastSuccessfulDeployment"] = last;
      if (const json::value* revision = run.info.if_contains("revision"))
        g["targetRevision"] = *revision;
    }
    group->document_json = json::serialize(g);
    group->updated_ms = end;
    if (Status s = store_.update_resource(*group); !s.ok())
      return s.with_context("update deployment group " + key);
  }
  return result;
}

Result<int> DeploymentService::recover() {
  auto all = list_records(store_, kDeploymentKind);
  if (!all.ok()) return all.status();
  int ended = 0;
  for (auto& r : *all) {
    json::object doc = parse_doc(r.document_json);
    json::value* info = doc.if_contains("deploymentInfo");
    if (!info || !info->is_object()) continue;
    const std::string status = str(info->as_object(), "status");
    if (status != "Created" && status != "InProgress") continue;
    const int64_t now = options_.now_ms();
    info->as_object()["status"] = "Failed";
    info->as_object()["completeTime"] = seconds(now);
    info->as_object()["errorInformation"] =
        json::object{{"code", "INTERNAL_ERROR"},
                     {"message", "The server stopped while the deployment was running"}};
    if (json::value* targets = doc.if_contains("targets"); targets && targets->is_array()) {
      for (json::value& t : targets->as_array()) {
        if (!t.is_object()) continue;
        const std::string s = str(t.as_object(), "status");
        if (s == "InProgress") t.as_object()["status"] = "Failed";
        if (s == "Pending") t.as_object()["status"] = "Skipped";
      }
    }
    r.document_json = json::serialize(doc);
    r.updated_ms = now;
    if (Status s = store_.update_resource(r); !s.ok()) return s;
    ++ended;
  }
  return ended;
}

Result<std::vector<store::ResourceRecord>> list_records(store::Store& store,
                                                        const std::string& kind,
                                                        const std::string& prefix) {
  std::vector<store::ResourceRecord> all;
  std::string cursor;
  while (true) {
    auto page = store.list_resources(kService, kind, 500, cursor);
    if (!page.ok()) return page.status();
    for (auto& r : page->items) {
      cursor = r.name;
      if (r.name.starts_with(prefix)) all.push_back(std::move(r));
    }
    if (page->items.size() < 500) break;
  }
  return all;
}

}  // namespace stageline::deploy
