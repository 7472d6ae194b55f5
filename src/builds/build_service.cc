#include "builds/build_service.h"

#include <boost/json.hpp>
#include <fstream>
#include <system_error>

#include "base/strings.h"
#include "builds/artifact_files.h"

namespace stageline::builds {

namespace json = boost::json;
namespace fs = std::filesystem;

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

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

json::array phases_json(const std::vector<PhaseRecord>& phases) {
  json::array out;
  for (const auto& p : phases) {
    json::object o{{"phaseType", p.type}, {"startTime", seconds(p.start_ms)}};
    if (!p.status.empty()) o["phaseStatus"] = p.status;
    if (p.end_ms > 0) {
      o["endTime"] = seconds(p.end_ms);
      o["durationInSeconds"] = (p.end_ms - p.start_ms) / 1000;
    }
    if (!p.contexts.empty()) {
      json::array contexts;
      for (const auto& [code, message] : p.contexts)
        contexts.push_back(json::object{{"statusCode", code}, {"message", message}});
      o["contexts"] = std::move(contexts);
    }
    out.push_back(std::move(o));
  }
  return out;
}

bool looks_inline(const std::string& text) {
  return text.find('\n') != std::string::npos || text.find("version:") != std::string::npos ||
         text.find("phases:") != std::string::npos;
}

Result<std::string> read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("YAML_FILE_ERROR: no buildspec at " + path.string());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A build that ended before its shell started: the phases up to
// DOWNLOAD_SOURCE, failed there with `code` and `message`.
BuildResult failed_before_start(int64_t now, const std::string& code, const std::string& message) {
  BuildResult r;
  r.status = "FAILED";
  r.failed_phase = "DOWNLOAD_SOURCE";
  r.message = "Phase DOWNLOAD_SOURCE failed: " + code + ": " + message;
  for (const char* t : {"SUBMITTED", "QUEUED", "PROVISIONING"})
    r.phases.push_back({t, "SUCCEEDED", now, now, {}});
  r.phases.push_back({"DOWNLOAD_SOURCE", "FAILED", now, now, {{code, message}}});
  r.phases.push_back({"FINALIZING", "SUCCEEDED", now, now, {}});
  r.phases.push_back({"COMPLETED", "", now, 0, {}});
  return r;
}

}  // namespace

Result<std::vector<EnvironmentVariable>> parse_environment_variables(const json::value& list,
                                                                     const std::string& what) {
  if (!list.is_array()) return Status::invalid(what + " must be a list of {name, value, type}");
  std::vector<EnvironmentVariable> out;
  const json::array& items = list.as_array();
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string at = what + "[" + std::to_string(i) + "]";
    if (!items[i].is_object()) return Status::invalid(at + " must be an object");
    const json::object& o = items[i].as_object();
    EnvironmentVariable v;
    const json::value* name = o.if_contains("name");
    const json::value* value = o.if_contains("value");
    if (!name || !name->is_string() || name->as_string().empty())
      return Status::invalid(at + ".name is required");
    if (!value || !value->is_string()) return Status::invalid(at + ".value is required");
    v.name = std::string(name->as_string());
    v.value = std::string(value->as_string());
    if (const json::value* type = o.if_contains("type")) {
      if (!type->is_string()) return Status::invalid(at + ".type must be a string");
      v.type = std::string(type->as_string());
    }
    if (v.type != "PLAINTEXT" && v.type != "PARAMETER_STORE" && v.type != "SECRETS_MANAGER")
      return Status::invalid(
          at + ".type must be PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER, not " + v.type);
    if (v.name.find_first_of(std::string_view("=\0", 2)) != std::string::npos ||
        v.value.find('\0') != std::string::npos)
      return Status::invalid(at + ": a name may not hold '=' or NUL, nor a value NUL");
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> plaintext_variables(
    const std::vector<EnvironmentVariable>& vars, const std::string& what) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& v : vars) {
    if (v.type != "PLAINTEXT")
      return Status::invalid(what + " " + v.name + " has type " + v.type +
                             ", which this build service cannot resolve (only PLAINTEXT: no "
                             "Parameter Store or Secrets Manager is connected to it)");
    out.emplace_back(v.name, v.value);
  }
  return out;
}

ResolvedVariables resolve_variables(const Buildspec& spec,
                                    const std::vector<EnvironmentVariable>& project,
                                    const std::vector<EnvironmentVariable>& overrides,
                                    secrets::ValueResolver* resolver) {
  ResolvedVariables out;
  // One reference: false (and the failure recorded) when it cannot be read.
  auto resolve = [&](const std::string& type, const std::string& name, const std::string& value,
                     std::vector<std::pair<std::string, std::string>>& into) {
    if (type == "PLAINTEXT") {
      into.emplace_back(name, value);
      return true;
    }
    const bool parameter = type == "PARAMETER_STORE";
    const std::string code = parameter ? "Decrypted Variables Error" : "Secrets Manager Error";
    if (!resolver) {
      out.failure_code = code;
      out.failure_message = "variable " + name + " refers to " +
                            (parameter ? "parameter " : "secret ") + value +
                            ", but no Parameter Store or Secrets Manager is connected";
      return false;
    }
    auto got = parameter ? resolver->parameter(value) : resolver->secret(value);
    if (!got.ok()) {
      out.failure_code = code;
      out.failure_message = got.status().message() + " (variable " + name + ")";
      return false;
    }
    out.secret_values.push_back(*got);
    into.emplace_back(name, std::move(*got));
    return true;
  };
  for (const auto& [k, v] : spec.env.parameter_store)
    if (!resolve("PARAMETER_STORE", k, v, out.buildspec)) return out;
  for (const auto& [k, v] : spec.env.secrets_manager)
    if (!resolve("SECRETS_MANAGER", k, v, out.buildspec)) return out;
  for (const auto& v : project)
    if (!resolve(v.type, v.name, v.value, out.project)) return out;
  for (const auto& v : overrides)
    if (!resolve(v.type, v.name, v.value, out.overrides)) return out;
  return out;
}

namespace {

// The sandbox a project asks for with its stageline:sandbox tag.
Result<BuildJob::Sandbox> sandbox_of(const json::object& project, const std::string& bwrap) {
  BuildJob::Sandbox box;
  box.bwrap = bwrap;
  const json::value* tags = project.if_contains("tags");
  if (!tags || !tags->is_array()) return box;
  for (const json::value& t : tags->as_array()) {
    if (!t.is_object() || str(t.as_object(), "key") != kSandboxTag) continue;
    const std::string value = str(t.as_object(), "value");
    if (value == "true") {
      box.enabled = true;
    } else if (value == "network") {
      box.enabled = true;
      box.network = true;
    } else if (value != "false") {
      return Status::invalid(std::string("tag ") + kSandboxTag + " must be true, network or " +
                             "false, not " + quote(value));
    }
  }
  return box;
}

}  // namespace

Result<std::string> buildspec_text(const std::string& override_text,
                                   const std::string& project_buildspec,
                                   const fs::path& source_dir) {
  const std::string& chosen = !override_text.empty() ? override_text : project_buildspec;
  if (chosen.empty()) return read_whole(source_dir / "buildspec.yml");
  if (looks_inline(chosen)) return chosen;
  if (chosen.starts_with("arn:aws:s3:::"))
    return Status::invalid("YAML_FILE_ERROR: a buildspec in S3 (" + chosen +
                           ") is not supported yet; put it in the source or inline");
  const fs::path rel = fs::path(chosen).lexically_normal();
  if (rel.is_absolute() || rel.string().starts_with(".."))
    return Status::invalid("YAML_FILE_ERROR: buildspec path " + chosen +
                           " must be relative to the source directory");
  return read_whole(source_dir / rel);
}

struct BuildService::Plan {
  std::string id;  // project:uuid
  std::string uuid;
  std::string arn;
  std::string project_name;
  json::object project;  // the Project shape
  json::object build;    // the Build shape, as stored
  int64_t start_ms = 0;
  fs::path log_path;
  std::map<std::string, std::string> builtins;
};

BuildService::BuildService(store::Store& store, artifacts::ArtifactStore& artifacts,
                           BuildServiceOptions options)
    : store_(store), artifacts_(artifacts), options_(std::move(options)) {
  STAGELINE_CHECK(options_.now_ms && options_.new_id);
}

BuildService::~BuildService() {
  std::map<std::string, std::shared_ptr<Running>> all;
  {
    std::lock_guard lock(mu_);
    all = running_;
  }
  for (auto& [id, r] : all) r->stop = true;
  for (auto& [id, r] : all)
    if (r->thread.joinable()) r->thread.join();
}

void BuildService::reap() {
  std::vector<std::shared_ptr<Running>> ended;
  {
    std::lock_guard lock(mu_);
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->second->done && it->second->thread.joinable()) {
        ended.push_back(it->second);
        it = running_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& r : ended) r->thread.join();
}

Result<int> BuildService::recover() {
  int ended = 0;
  std::string after;
  while (true) {
    auto page = store_.list_resources(kService, kBuildKind, 200, after);
    if (!page.ok()) return page.status().with_context("recover codebuild builds");
    for (const auto& r : page->items) {
      after = r.name;
      boost::system::error_code ec;
      json::value doc = json::parse(r.document_json, ec);
      if (ec || !doc.is_object()) continue;
      json::object& b = doc.as_object();
      const json::value* complete = b.if_contains("buildComplete");
      if (complete && complete->is_bool() && complete->as_bool()) continue;
      const int64_t now = options_.now_ms();
      if (json::value* phases = b.if_contains("phases"); phases && phases->is_array()) {
        json::array& list = phases->as_array();
        if (!list.empty() && list.back().is_object() &&
            !list.back().as_object().contains("endTime")) {
          json::object& last = list.back().as_object();
          last["phaseStatus"] = "FAULT";
          last["endTime"] = seconds(now);
          const json::value* start = last.if_contains("startTime");
          if (start && start->is_number())
            last["durationInSeconds"] =
                static_cast<int64_t>(seconds(now) - start->to_number<double>());
          last["contexts"] = json::array{
              json::object{{"statusCode", "FAULT"},
                           {"message", "The Stageline server stopped while the build ran"}}};
        }
        list.push_back(json::object{{"phaseType", "COMPLETED"}, {"startTime", seconds(now)}});
      }
      b["buildStatus"] = "FAULT";
      b["currentPhase"] = "COMPLETED";
      b["buildComplete"] = true;
      b["endTime"] = seconds(now);
      if (Status s = save(r.name, b); !s.ok()) return s.with_context("recover build " + r.name);
      ++ended;
    }
    if (page->items.size() < 200) break;
  }
  return ended;
}

Result<json::object> BuildService::project(const std::string& name) {
  auto record = store_.get_resource(kService, kProjectKind, name);
  if (!record.ok()) return record.status();
  boost::system::error_code ec;
  json::value doc = json::parse(record->document_json, ec);
  if (ec || !doc.is_object())
    return Status::internal("codebuild project " + name + " has a corrupt document");
  return std::move(doc.as_object());
}

Result<json::object> BuildService::build(const std::string& build_id) {
  auto record = store_.get_resource(kService, kBuildKind, build_id);
  if (!record.ok()) return record.status();
  boost::system::error_code ec;
  json::value doc = json::parse(record->document_json, ec);
  if (ec || !doc.is_object())
    return Status::internal("codebuild build " + build_id + " has a corrupt document");
  return std::move(doc.as_object());
}

Status BuildService::save(const std::string& build_id, const json::object& build) {
  store::ResourceRecord r{kService, kBuildKind,       build_id, json::serialize(build),
                          0,        options_.now_ms()};
  return store_.update_resource(r);
}

Result<BuildService::Plan> BuildService::begin(const std::string& project_name,
                                               const std::string& initiator,
                                               const std::string& source_version,
                                               int timeout_minutes) {
  Plan plan;
  plan.project_name = project_name;
  plan.uuid = options_.new_id();
  plan.id = project_name + ":" + plan.uuid;
  plan.arn =
      "arn:aws:codebuild:" + options_.region + ":" + options_.account_id + ":build/" + plan.id;
  plan.start_ms = options_.now_ms();
  int64_t number = 0;
  Status written = store_.write([&](store::StoreWriter& w) -> Status {
    auto record = w.get_resource(kService, kProjectKind, project_name);
    if (!record.ok()) return record.status();
    boost::system::error_code ec;
    json::value doc = json::parse(record->document_json, ec);
    if (ec || !doc.is_object())
      return Status::internal("codebuild project " + project_name + " has a corrupt document");
    json::object& d = doc.as_object();
    const json::value* count = d.if_contains("buildCount");
    number = (count && count->is_int64() ? count->as_int64() : 0) + 1;
    d["buildCount"] = number;
    plan.project = obj(d, "project");
    record->document_json = json::serialize(d);
    record->updated_ms = plan.start_ms;
    return w.update_resource(*record);
  });
  if (!written.ok()) return written.with_context("start a build of project " + project_name);

  const fs::path log_dir = options_.work_root / "logs" / project_name;
  std::error_code ec;
  fs::create_directories(log_dir, ec);
  if (ec) return Status::io("create " + log_dir.string() + ": " + ec.message());
  plan.log_path = log_dir / (plan.uuid + ".log");

  const json::object& environment = obj(plan.project, "environment");
  json::object build{
      {"id", plan.id},
      {"arn", plan.arn},
      {"buildNumber", number},
      {"startTime", seconds(plan.start_ms)},
      {"currentPhase", "SUBMITTED"},
      {"buildStatus", "IN_PROGRESS"},
      {"projectName", project_name},
      {"phases", json::array()},
      {"source", obj(plan.project, "source")},
      {"artifacts", json::object{{"location", ""}}},
      {"environment", environment},
      {"logs", json::object{{"groupName", "/aws/codebuild/" + project_name},
                            {"streamName", plan.uuid},
                            {"deepLink", "file://" + plan.log_path.string()}}},
      {"timeoutInMinutes", timeout_minutes},
      {"queuedTimeoutInMinutes", 480},
      {"buildComplete", false},
      {"initiator", initiator},
  };
  if (!source_version.empty()) build["sourceVersion"] = source_version;
  if (auto role = str(plan.project, "serviceRole"); !role.empty()) build["serviceRole"] = role;
  plan.build = std::move(build);
  store::ResourceRecord r{kService,      kBuildKind,   plan.id, json::serialize(plan.build),
                          plan.start_ms, plan.start_ms};
  if (Status s = store_.insert_resource(r); !s.ok())
    return s.with_context("record build " + plan.id);

  plan.builtins = {
      {"AWS_DEFAULT_REGION", options_.region},
      {"AWS_REGION", options_.region},
      {"CODEBUILD_BUILD_ARN", plan.arn},
      {"CODEBUILD_BUILD_ID", plan.id},
      {"CODEBUILD_BUILD_IMAGE", str(environment, "image")},
      {"CODEBUILD_BUILD_NUMBER", std::to_string(number)},
      {"CODEBUILD_INITIATOR", initiator},
      {"CODEBUILD_LOG_PATH", plan.uuid},
      {"CODEBUILD_SOURCE_VERSION", source_version},
      {"CODEBUILD_SOURCE_REPO_URL", str(obj(plan.project, "source"), "location")},
      {"CODEBUILD_START_TIME", std::to_string(plan.start_ms)},
      {"CODEBUILD_KMS_KEY_ID", str(plan.project, "encryptionKey")},
  };
  return plan;
}

void BuildService::finish(Plan& plan, const BuildResult& result) {
  json::object& b = plan.build;
  const int64_t end = options_.now_ms();
  b["phases"] = phases_json(result.phases);
  b["currentPhase"] = "COMPLETED";
  b["buildStatus"] = result.status;
  b["endTime"] = seconds(end);
  b["buildComplete"] = true;
  if (!result.exported_variables.empty()) {
    json::array exported;
    for (const auto& [k, v] : result.exported_variables)
      exported.push_back(json::object{{"name", k}, {"value", v}});
    b["exportedEnvironmentVariables"] = std::move(exported);
  }
  // A failed save leaves the record as last saved (IN_PROGRESS); the build's
  // outcome still reaches its caller, and the store's failure is the
  // server's to notice (every other write fails the same way).
  (void)save(plan.id, b);
}

Result<json::object> BuildService::start_build(const StartRequest& request) {
  auto project_doc = project(request.project_name);
  if (!project_doc.ok()) return project_doc.status();
  const json::object& project = obj(*project_doc, "project");
  const json::object& source = obj(project, "source");
  const std::string source_type = str(source, "type");
  if (source_type == "CODEPIPELINE")
    return Status::invalid("Project " + request.project_name +
                           " has source type CODEPIPELINE: its builds are started by a "
                           "pipeline's CodeBuild action");
  if (source_type != "NO_SOURCE" && source_type != "S3")
    return Status::invalid("Source type " + source_type +
                           " is not supported by Stageline yet (NO_SOURCE and S3 are)");
  const std::string artifacts_type = str(obj(project, "artifacts"), "type");
  if (artifacts_type != "NO_ARTIFACTS")
    return Status::invalid("Artifacts type " + artifacts_type +
                           " is not supported by Stageline for builds started with StartBuild "
                           "yet (use NO_ARTIFACTS)");
  const std::string override_text = request.buildspec_override.value_or("");
  if (source_type == "NO_SOURCE" && override_text.empty() &&
      !looks_inline(str(source, "buildspec")))
    return Status::invalid("A project with source type NO_SOURCE needs an inline buildspec");
  auto project_vars =
      parse_environment_variables(obj(project, "environment").contains("environmentVariables")
                                      ? obj(project, "environment").at("environmentVariables")
                                      : json::value(json::array()),
                                  "environment.environmentVariables");
  if (!project_vars.ok()) return project_vars.status();
  if (!resolves_secrets()) {
    auto project_plain = plaintext_variables(*project_vars, "Environment variable");
    if (!project_plain.ok()) return project_plain.status();
    auto override_plain =
        plaintext_variables(request.environment_overrides, "environmentVariablesOverride");
    if (!override_plain.ok()) return override_plain.status();
  }
  auto sandbox = sandbox_of(project, options_.bwrap);
  if (!sandbox.ok()) return sandbox.status();

  int timeout = request.timeout_in_minutes.value_or(0);
  if (timeout == 0) {
    const json::value* t = project.if_contains("timeoutInMinutes");
    timeout = t && t->is_int64() ? static_cast<int>(t->as_int64()) : 60;
  }
  auto plan = begin(request.project_name, request.initiator, request.source_version, timeout);
  if (!plan.ok()) return plan.status();
  auto shared = std::make_shared<Plan>(std::move(*plan));
  json::object answer = shared->build;

  auto running = std::make_shared<Running>();
  std::lock_guard lock(mu_);
  running_[shared->id] = running;
  running->thread = std::thread([this, shared, running, override_text, source, timeout,
                                 project_vars = *project_vars,
                                 overrides = request.environment_overrides, sandbox = *sandbox,
                                 version = request.source_version] {
    Plan& p = *shared;
    const fs::path root = options_.work_root / p.uuid;
    const fs::path src = root / "src";
    std::error_code ec;
    fs::create_directories(root / "ctl", ec);
    fs::create_directories(src, ec);
    std::ofstream log(p.log_path, std::ios::app);
    auto on_line = [&log](std::string_view line) {
      log << line << '\n';
      log.flush();
    };
    BuildResult result;
    std::optional<std::string> text;
    Status fetched;
    if (str(source, "type") == "S3") {
      // location "bucket/key"; sourceVersion is an object version id.
      const std::string location = str(source, "location");
      const size_t slash = location.find('/');
      model::ArtifactLocation at{location.substr(0, slash),
                                 slash == std::string::npos ? "" : location.substr(slash + 1),
                                 version, ""};
      auto got = artifacts_.fetch_artifact(at, src, artifacts::ExtractLimits{});
      if (!got.ok()) fetched = got.status().with_context("fetch source s3://" + location);
    }
    if (!fetched.ok()) {
      result = failed_before_start(options_.now_ms(), "CLIENT_ERROR", fetched.message());
    } else if (auto t = buildspec_text(override_text, str(source, "buildspec"), src); !t.ok()) {
      result = failed_before_start(options_.now_ms(), "YAML_FILE_ERROR", t.status().message());
    } else if (auto spec = parse_buildspec(*t); !spec.ok()) {
      result = failed_before_start(options_.now_ms(), "YAML_FILE_ERROR", spec.status().message());
    } else if (ResolvedVariables vars =
                   resolve_variables(*spec, project_vars, overrides, options_.resolver);
               !vars.failure_code.empty()) {
      result = failed_before_start(options_.now_ms(), vars.failure_code, vars.failure_message);
      on_line("[Container] " + result.message);
    } else {
      p.builtins["CODEBUILD_SRC_DIR"] = src.string();
      BuildJob job;
      job.spec = *spec;
      job.control_dir = root / "ctl";
      job.source_dir = src;
      job.environment = compose_environment(options_.base_environment, p.builtins, *spec,
                                            vars.project, vars.overrides, vars.buildspec);
      job.secret_values = std::move(vars.secret_values);
      job.sandbox = sandbox;
      job.sandbox.writable.push_back(root);
      job.timeout = std::chrono::minutes(timeout);
      job.now_ms = options_.now_ms;
      job.on_line = on_line;
      job.cancelled = [running] { return running->stop.load(); };
      job.on_progress = [this, &p](const std::vector<PhaseRecord>& phases) {
        p.build["phases"] = phases_json(phases);
        p.build["currentPhase"] = phases.back().type;
        (void)save(p.id, p.build);
      };
      auto ran = run_build(job);
      if (ran.ok()) {
        result = std::move(*ran);
      } else {
        on_line("[Container] " + ran.status().message());
        result = failed_before_start(options_.now_ms(), "CLIENT_ERROR", ran.status().message());
        result.status = "FAULT";
      }
    }
    finish(p, result);
    fs::remove_all(root, ec);
    running->done = true;
    if (options_.on_build_finished) options_.on_build_finished(p.id);
  });
  return answer;
}

Result<json::object> BuildService::stop_build(const std::string& build_id) {
  auto current = build(build_id);
  if (!current.ok()) return current.status();
  std::lock_guard lock(mu_);
  auto it = running_.find(build_id);
  if (it != running_.end()) it->second->stop = true;
  return current;
}

Result<ActionBuildResult> BuildService::run_action_build(const ActionBuildRequest& request) {
  auto project_doc = project(request.project_name);
  if (!project_doc.ok()) return project_doc.status();
  const json::object& project = obj(*project_doc, "project");
  auto project_vars =
      parse_environment_variables(obj(project, "environment").contains("environmentVariables")
                                      ? obj(project, "environment").at("environmentVariables")
                                      : json::value(json::array()),
                                  "the project's environment.environmentVariables");
  if (!project_vars.ok()) return project_vars.status();
  if (!resolves_secrets()) {
    auto project_plain = plaintext_variables(*project_vars, "The project's environment variable");
    if (!project_plain.ok()) return project_plain.status();
    auto override_plain =
        plaintext_variables(request.environment_overrides, "EnvironmentVariables:");
    if (!override_plain.ok()) return override_plain.status();
  }
  auto sandbox = sandbox_of(project, options_.bwrap);
  if (!sandbox.ok()) return sandbox.status();

  const fs::path primary =
      request.inputs.empty() ? request.workspace / "src" : request.inputs.front().second;
  std::error_code ec;
  fs::create_directories(primary, ec);
  const fs::path ctl = request.workspace / "codebuild-ctl";
  fs::create_directories(ctl, ec);
  if (ec) return Status::io("create " + ctl.string() + ": " + ec.message());

  // The project's timeout, within what the pipeline allows the action.
  int timeout = static_cast<int>(request.timeout.count());
  if (const json::value* t = project.if_contains("timeoutInMinutes"); t && t->is_int64())
    timeout = std::min(timeout, static_cast<int>(t->as_int64()));
  auto plan = begin(request.project_name, "codepipeline/" + request.pipeline_name,
                    request.source_version, timeout);
  if (!plan.ok()) return plan.status();
  Plan& p = *plan;
  auto running = std::make_shared<Running>();
  running->done = false;
  {
    std::lock_guard lock(mu_);
    running_[p.id] = running;
  }
  struct Unregister {
    BuildService* self;
    std::string id;
    ~Unregister() {
      std::lock_guard lock(self->mu_);
      self->running_.erase(id);
    }
  } unregister{this, p.id};

  std::ofstream log(p.log_path, std::ios::app);
  auto on_line = [&](std::string_view line) {
    log << line << '\n';
    log.flush();
    if (request.on_line) request.on_line(line);
  };
  ActionBuildResult out;
  out.build_id = p.id;
  out.build_arn = p.arn;
  if (!request.resolved_source_version.empty())
    p.build["resolvedSourceVersion"] = request.resolved_source_version;

  auto text =
      buildspec_text(request.buildspec_override, str(obj(project, "source"), "buildspec"), primary);
  std::optional<Buildspec> spec;
  if (!text.ok()) {
    out.build = failed_before_start(options_.now_ms(), "YAML_FILE_ERROR", text.status().message());
  } else if (auto parsed = parse_buildspec(*text); !parsed.ok()) {
    out.build =
        failed_before_start(options_.now_ms(), "YAML_FILE_ERROR", parsed.status().message());
  } else {
    spec = std::move(*parsed);
  }
  // Which buildspec artifact each output comes from (reference §17.1).
  std::vector<std::pair<std::string, const ArtifactSpec*>> outputs;
  if (spec) {
    std::string problem;
    for (size_t i = 0; i < request.outputs.size() && problem.empty(); ++i) {
      const std::string& name = request.outputs[i];
      const ArtifactSpec* chosen = nullptr;
      for (const auto& [id, a] : spec->secondary_artifacts)
        if (id == name) chosen = &a;
      if (!chosen && i == 0 && spec->has_artifacts) chosen = &spec->artifacts;
      if (!chosen)
        problem = request.outputs.size() == 1
                      ? "the buildspec has no artifacts section for output artifact " + name
                      : "output artifact " + name +
                            " matches no secondary-artifacts identifier of the buildspec";
      outputs.emplace_back(name, chosen);
    }
    if (!problem.empty()) {
      out.build = failed_before_start(options_.now_ms(), "YAML_FILE_ERROR", problem);
      spec.reset();
    }
  }
  ResolvedVariables vars;
  if (spec) {
    vars =
        resolve_variables(*spec, *project_vars, request.environment_overrides, options_.resolver);
    if (!vars.failure_code.empty()) {
      out.build = failed_before_start(options_.now_ms(), vars.failure_code, vars.failure_message);
      spec.reset();
    }
  }
  if (spec) {
    p.builtins["CODEBUILD_SRC_DIR"] = primary.string();
    p.builtins["CODEBUILD_RESOLVED_SOURCE_VERSION"] = request.resolved_source_version;
    for (size_t i = 1; i < request.inputs.size(); ++i)
      p.builtins["CODEBUILD_SRC_DIR_" + request.inputs[i].first] =
          request.inputs[i].second.string();
    BuildJob job;
    job.spec = *spec;
    job.control_dir = ctl;
    job.source_dir = primary;
    job.environment = compose_environment(options_.base_environment, p.builtins, *spec,
                                          vars.project, vars.overrides, vars.buildspec);
    job.secret_values = std::move(vars.secret_values);
    job.sandbox = *sandbox;
    job.sandbox.writable.push_back(request.workspace);
    for (const auto& [name, dir] : request.inputs) job.sandbox.writable.push_back(dir);
    job.timeout = std::chrono::minutes(timeout);
    job.now_ms = options_.now_ms;
    job.on_line = on_line;
    job.cancelled = [&] {
      return running->stop.load() || (request.cancelled && request.cancelled());
    };
    job.on_progress = [&](const std::vector<PhaseRecord>& phases) {
      p.build["phases"] = phases_json(phases);
      p.build["currentPhase"] = phases.back().type;
      (void)save(p.id, p.build);
    };
    job.upload_artifacts = [&]() -> Status {
      for (const auto& [name, a] : outputs) {
        const fs::path stage = request.workspace / "codebuild-out" / name;
        auto staged = stage_artifact_files(*a, primary, stage);
        if (!staged.ok()) return staged.status().with_context("output artifact " + name);
        on_line("[Container] Output artifact " + name + ": " + std::to_string(*staged) + " files");
        auto stored = request.store_output(name, stage);
        if (!stored.ok()) return stored.status().with_context("store output artifact " + name);
        out.artifacts.push_back(*stored);
      }
      return {};
    };
    auto ran = run_build(job);
    if (!ran.ok()) {
      finish(p, failed_before_start(options_.now_ms(), "CLIENT_ERROR", ran.status().message()));
      return ran.status();
    }
    out.build = std::move(*ran);
  }
  if (!out.artifacts.empty()) {
    const auto& loc = out.artifacts.front().location;
    p.build["artifacts"] = json::object{{"location", "arn:aws:s3:::" + loc.bucket + "/" + loc.key}};
  }
  if (out.build.failed_phase == "DOWNLOAD_SOURCE") on_line("[Container] " + out.build.message);
  finish(p, out.build);
  return out;
}

}  // namespace stageline::builds
