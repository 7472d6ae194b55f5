#include "api/codebuild/codebuild_api.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "api/wire/embedded.h"
#include "base/strings.h"

namespace stageline::codebuild {

namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

const json::object& obj(const json::object& o, std::string_view key) {
  static const json::object kEmpty;
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? v->as_object() : kEmpty;
}

wire::Error internal(const Status& s) {
  wire::Error e = wire::common_error(wire::CommonError::kInternalFailure, "Internal failure");
  e.detail = s.message();
  return e;
}

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// Every resource of (codebuild, kind), in name order.
Result<std::vector<store::ResourceRecord>> list_all(store::Store& store, const std::string& kind,
                                                    const std::string& after = "",
                                                    const std::string& prefix = "") {
  std::vector<store::ResourceRecord> all;
  std::string cursor = after;
  while (true) {
    auto page = store.list_resources(builds::kService, kind, 500, cursor);
    if (!page.ok()) return page.status();
    bool past_prefix = false;
    for (auto& r : page->items) {
      if (!prefix.empty() && !r.name.starts_with(prefix)) {
        past_prefix = true;
        break;
      }
      cursor = r.name;
      all.push_back(std::move(r));
    }
    if (past_prefix || page->items.size() < 500) break;
  }
  return all;
}

json::object parse_doc(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? std::move(v.as_object()) : json::object();
}

// Reads "<offset>" tokens.
std::optional<size_t> redeem(const json::object& in) {
  const std::string token = str(in, "nextToken");
  if (token.empty()) return 0;
  size_t n = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), n);
  if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return n;
}

}  // namespace

const wire::ServiceModel& codebuild_model() { return wire::embedded_service_model("codebuild"); }

CodeBuildApi::CodeBuildApi(store::Store& store, builds::BuildService& builds,
                           CodeBuildOptions options)
    : store_(store), builds_(builds), options_(std::move(options)), model_(codebuild_model()) {
  STAGELINE_CHECK(options_.now_ms != nullptr);
  STAGELINE_CHECK(options_.page_size >= 1);
}

std::string CodeBuildApi::project_arn(const std::string& name) const {
  return "arn:aws:codebuild:" + options_.region + ":" + options_.account_id + ":project/" + name;
}

wire::Outcome<json::value> CodeBuildApi::call(const wire::Call& call, const std::string& caller) {
  const std::string& op = call.operation->name;
  const In& in = call.input;
  if (op == "CreateProject") return create_project(in);
  if (op == "UpdateProject") return update_project(in);
  if (op == "DeleteProject") return delete_project(in);
  if (op == "BatchGetProjects") return batch_get_projects(in);
  if (op == "ListProjects") return list_projects(in);
  if (op == "StartBuild") return start_build(in, caller);
  if (op == "StopBuild") return stop_build(in);
  if (op == "BatchGetBuilds") return batch_get_builds(in);
  if (op == "ListBuilds") return list_builds(in, "");
  if (op == "ListBuildsForProject") return list_builds(in, str(in, "projectName"));
  return wire::modeled_error(model_, "InvalidInputException",
                             "Stageline does not implement CodeBuild " + op +
                                 " (it answers projects and builds: CreateProject, "
                                 "UpdateProject, DeleteProject, BatchGetProjects, ListProjects, "
                                 "StartBuild, StopBuild, BatchGetBuilds, ListBuilds, "
                                 "ListBuildsForProject)");
}

namespace {

// The checks AWS makes on a project beyond the model's (InvalidInputException).
std::string project_problem(const json::object& p) {
  const json::object& source = obj(p, "source");
  const json::object& artifacts = obj(p, "artifacts");
  const std::string source_type = str(source, "type");
  const std::string artifacts_type = str(artifacts, "type");
  if (source_type == "NO_SOURCE" && str(source, "buildspec").empty())
    return "Project source buildspec cannot be empty when source type is NO_SOURCE";
  if ((source_type == "CODEPIPELINE") != (artifacts_type == "CODEPIPELINE"))
    return "Project source type and artifacts type must both be CODEPIPELINE, or neither";
  if (artifacts_type == "S3" && str(artifacts, "location").empty())
    return "Project artifacts location cannot be empty when artifacts type is S3";
  if ((source_type == "S3" || source_type == "CODECOMMIT") && str(source, "location").empty())
    return "Project source location cannot be empty for source type " + source_type;
  if (const json::value* vars = obj(p, "environment").if_contains("environmentVariables")) {
    auto parsed = builds::parse_environment_variables(*vars, "environment.environmentVariables");
    if (!parsed.ok()) return parsed.status().message();
  }
  if (const json::value* t = p.if_contains("timeoutInMinutes");
      t && t->is_int64() && (t->as_int64() < 5 || t->as_int64() > 2160))
    return "timeoutInMinutes must be between 5 and 2160";
  return "";
}

}  // namespace

wire::Outcome<json::value> CodeBuildApi::put_project(const json::object& input) {
  auto existing = store_.get_resource(builds::kService, builds::kProjectKind, str(input, "name"));
  if (existing.ok()) return update_project(input);
  if (existing.status().code() != StatusCode::kNotFound) return internal(existing.status());
  return create_project(input);
}

wire::Outcome<json::value> CodeBuildApi::create_project(const In& in) {
  const std::string name = str(in, "name");
  const int64_t now = options_.now_ms();
  json::object p;
  p["name"] = name;
  p["arn"] = project_arn(name);
  for (const char* key :
       {"description", "source", "secondarySources", "sourceVersion", "secondarySourceVersions",
        "artifacts", "secondaryArtifacts", "cache", "environment", "serviceRole",
        "timeoutInMinutes", "queuedTimeoutInMinutes", "encryptionKey", "tags", "vpcConfig",
        "logsConfig", "fileSystemLocations", "concurrentBuildLimit"})
    if (const json::value* v = in.if_contains(key)) p[key] = *v;
  if (!p.contains("timeoutInMinutes")) p["timeoutInMinutes"] = 60;
  if (!p.contains("queuedTimeoutInMinutes")) p["queuedTimeoutInMinutes"] = 480;
  if (!p.contains("encryptionKey"))
    p["encryptionKey"] =
        "arn:aws:kms:" + options_.region + ":" + options_.account_id + ":alias/aws/s3";
  if (!p.contains("tags")) p["tags"] = json::array();
  p["created"] = seconds(now);
  p["lastModified"] = seconds(now);
  p["badge"] = json::object{{"badgeEnabled", false}};
  p["projectVisibility"] = "PRIVATE";
  if (std::string problem = project_problem(p); !problem.empty())
    return wire::modeled_error(model_, "InvalidInputException", problem);
  json::object doc{{"project", p}, {"buildCount", 0}};
  Status s = store_.insert_resource(
      {builds::kService, builds::kProjectKind, name, json::serialize(doc), now, now});
  if (s.code() == StatusCode::kAlreadyExists)
    return wire::modeled_error(model_, "ResourceAlreadyExistsException",
                               "Project already exists: " + project_arn(name));
  if (!s.ok()) return internal(s);
  return json::value(json::object{{"project", p}});
}

wire::Outcome<json::value> CodeBuildApi::update_project(const In& in) {
  const std::string name = str(in, "name");
  auto record = store_.get_resource(builds::kService, builds::kProjectKind, name);
  if (record.status().code() == StatusCode::kNotFound)
    return wire::modeled_error(model_, "ResourceNotFoundException",
                               "Project cannot be found: " + project_arn(name));
  if (!record.ok()) return internal(record.status());
  json::object doc = parse_doc(record->document_json);
  json::object p = obj(doc, "project");
  for (const auto& [key, value] : in) {
    if (key == "name" || key == "badgeEnabled" || key == "buildBatchConfig" ||
        key == "autoRetryLimit")
      continue;
    p[key] = value;
  }
  const int64_t now = options_.now_ms();
  p["lastModified"] = seconds(now);
  if (std::string problem = project_problem(p); !problem.empty())
    return wire::modeled_error(model_, "InvalidInputException", problem);
  doc["project"] = p;
  record->document_json = json::serialize(doc);
  record->updated_ms = now;
  if (Status s = store_.update_resource(*record); !s.ok()) return internal(s);
  return json::value(json::object{{"project", p}});
}

wire::Outcome<json::value> CodeBuildApi::delete_project(const In& in) {
  // AWS answers an empty success for a project that does not exist.
  std::string name = str(in, "name");
  if (name.starts_with("arn:")) name = name.substr(name.rfind('/') + 1);
  Status s = store_.delete_resource(builds::kService, builds::kProjectKind, name);
  if (!s.ok() && s.code() != StatusCode::kNotFound) return internal(s);
  return json::value(json::object{});
}

wire::Outcome<json::value> CodeBuildApi::batch_get_projects(const In& in) {
  json::array projects, not_found;
  for (const json::value& v : in.at("names").as_array()) {
    const std::string asked(v.as_string());
    std::string name = asked;
    if (name.starts_with("arn:")) name = name.substr(name.rfind('/') + 1);
    auto record = store_.get_resource(builds::kService, builds::kProjectKind, name);
    if (record.status().code() == StatusCode::kNotFound) {
      not_found.push_back(json::value(asked));
      continue;
    }
    if (!record.ok()) return internal(record.status());
    projects.push_back(obj(parse_doc(record->document_json), "project"));
  }
  return json::value(
      json::object{{"projects", std::move(projects)}, {"projectsNotFound", std::move(not_found)}});
}

wire::Outcome<json::value> CodeBuildApi::list_projects(const In& in) {
  auto all = list_all(store_, builds::kProjectKind);
  if (!all.ok()) return internal(all.status());
  struct Row {
    std::string name;
    double created, modified;
  };
  std::vector<Row> rows;
  for (const auto& r : *all) {
    json::object p = obj(parse_doc(r.document_json), "project");
    auto num = [&](const char* k) {
      const json::value* v = p.if_contains(k);
      return v && v->is_number() ? v->to_number<double>() : 0.0;
    };
    rows.push_back({r.name, num("created"), num("lastModified")});
  }
  const std::string sort_by = str(in, "sortBy").empty() ? "NAME" : str(in, "sortBy");
  const bool descending = str(in, "sortOrder") == "DESCENDING";
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    if (sort_by == "CREATED_TIME") return a.created < b.created;
    if (sort_by == "LAST_MODIFIED_TIME") return a.modified < b.modified;
    return a.name < b.name;
  });
  if (descending) std::reverse(rows.begin(), rows.end());
  auto offset = redeem(in);
  if (!offset) return wire::modeled_error(model_, "InvalidInputException", "Invalid nextToken");
  json::array names;
  size_t i = *offset;
  for (; i < rows.size() && names.size() < static_cast<size_t>(options_.page_size); ++i)
    names.push_back(json::value(rows[i].name));
  json::object out{{"projects", std::move(names)}};
  if (i < rows.size()) out["nextToken"] = std::to_string(i);
  return json::value(std::move(out));
}

wire::Outcome<json::value> CodeBuildApi::start_build(const In& in, const std::string& caller) {
  builds::BuildService::StartRequest request;
  std::string name = str(in, "projectName");
  if (name.starts_with("arn:")) name = name.substr(name.rfind('/') + 1);
  request.project_name = name;
  if (in.contains("buildspecOverride")) request.buildspec_override = str(in, "buildspecOverride");
  if (const json::value* vars = in.if_contains("environmentVariablesOverride")) {
    auto parsed = builds::parse_environment_variables(*vars, "environmentVariablesOverride");
    if (!parsed.ok())
      return wire::modeled_error(model_, "InvalidInputException", parsed.status().message());
    request.environment_overrides = std::move(*parsed);
  }
  request.source_version = str(in, "sourceVersion");
  if (const json::value* t = in.if_contains("timeoutInMinutesOverride"); t && t->is_int64())
    request.timeout_in_minutes = static_cast<int>(t->as_int64());
  // AWS shows the IAM user's name (arn:aws:iam::ACCOUNT:user/NAME -> NAME).
  if (!caller.empty())
    request.initiator =
        caller.starts_with("arn:") ? caller.substr(caller.find_last_of("/:") + 1) : caller;
  for (const char* unsupported :
       {"secondarySourcesOverride", "sourceTypeOverride", "sourceLocationOverride",
        "artifactsOverride", "secondaryArtifactsOverride", "debugSessionEnabled"}) {
    if (in.contains(unsupported))
      return wire::modeled_error(model_, "InvalidInputException",
                                 std::string(unsupported) + " is not supported by Stageline yet");
  }
  builds_.reap();
  auto started = builds_.start_build(request);
  if (started.status().code() == StatusCode::kNotFound)
    return wire::modeled_error(model_, "ResourceNotFoundException",
                               "Project cannot be found: " + project_arn(name));
  if (started.status().code() == StatusCode::kInvalidArgument)
    return wire::modeled_error(model_, "InvalidInputException", started.status().message());
  if (!started.ok()) return internal(started.status());
  return json::value(json::object{{"build", std::move(*started)}});
}

wire::Outcome<json::value> CodeBuildApi::stop_build(const In& in) {
  const std::string id = str(in, "id");
  auto stopped = builds_.stop_build(id);
  if (stopped.status().code() == StatusCode::kNotFound)
    return wire::modeled_error(model_, "ResourceNotFoundException",
                               "Build " + id + " does not exist");
  if (!stopped.ok()) return internal(stopped.status());
  return json::value(json::object{{"build", std::move(*stopped)}});
}

wire::Outcome<json::value> CodeBuildApi::batch_get_builds(const In& in) {
  json::array found, not_found;
  for (const json::value& v : in.at("ids").as_array()) {
    const std::string asked(v.as_string());
    std::string id = asked;
    if (id.starts_with("arn:")) id = id.substr(id.rfind('/') + 1);
    auto b = builds_.build(id);
    if (b.status().code() == StatusCode::kNotFound) {
      not_found.push_back(json::value(asked));
      continue;
    }
    if (!b.ok()) return internal(b.status());
    found.push_back(std::move(*b));
  }
  return json::value(
      json::object{{"builds", std::move(found)}, {"buildsNotFound", std::move(not_found)}});
}

wire::Outcome<json::value> CodeBuildApi::list_builds(const In& in, const std::string& project) {
  if (!project.empty()) {
    auto p = store_.get_resource(builds::kService, builds::kProjectKind, project);
    if (p.status().code() == StatusCode::kNotFound)
      return wire::modeled_error(model_, "ResourceNotFoundException",
                                 "The provided project name does not exist: " + project);
    if (!p.ok()) return internal(p.status());
  }
  // Build ids are "<project>:<uuid>": one project's builds sort together.
  auto all = project.empty() ? list_all(store_, builds::kBuildKind)
                             : list_all(store_, builds::kBuildKind, project + ":", project + ":");
  if (!all.ok()) return internal(all.status());
  std::vector<std::pair<int64_t, std::string>> rows;
  for (const auto& r : *all) rows.emplace_back(r.created_ms, r.name);
  // Newest first by default, as AWS lists them.
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  if (str(in, "sortOrder") == "ASCENDING") std::reverse(rows.begin(), rows.end());
  auto offset = redeem(in);
  if (!offset) return wire::modeled_error(model_, "InvalidInputException", "Invalid nextToken");
  json::array ids;
  size_t i = *offset;
  for (; i < rows.size() && ids.size() < static_cast<size_t>(options_.page_size); ++i)
    ids.push_back(json::value(rows[i].second));
  json::object out{{"ids", std::move(ids)}};
  if (i < rows.size()) out["nextToken"] = std::to_string(i);
  return json::value(std::move(out));
}

}  // namespace stageline::codebuild
