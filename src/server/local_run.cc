#include "server/local_run.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "api/codebuild/codebuild_api.h"
#include "artifacts/artifact_store.h"
#include "artifacts/object_store.h"
#include "base/ids.h"
#include "builds/build_service.h"
#include "builds/codebuild_action.h"
#include "definitions/document.h"
#include "engine/engine.h"
#include "jobs/local_runner.h"
#include "providers/s3_deploy/s3_deploy.h"
#include "store/sqlite_store.h"

namespace stageline::server {

namespace fs = std::filesystem;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool terminal(model::PipelineExecutionStatus s) {
  return s != model::PipelineExecutionStatus::kInProgress &&
         s != model::PipelineExecutionStatus::kStopping;
}

// Prints what changed since the last call: stages and action executions
// with status and duration, one plain line each.
class Progress {
 public:
  Progress(std::ostream& out, store::Store& store, std::vector<std::string> execution_ids,
           int64_t t0)
      : out_(out), store_(store), ids_(std::move(execution_ids)), t0_(t0) {}

  // Prints every action execution of the executions that is not printed yet
  // (at the start, and at the end as a safety net).
  void report() {
    for (const auto& id : ids_) {
      auto actions = store_.list_action_executions(id);
      if (!actions.ok()) return;
      for (const auto& a : *actions) print(a);
    }
  }

  // One line per state of an action execution, printed once.
  void print(const model::ActionExecutionRecord& a) {
    std::lock_guard lock(mu_);
    std::string key = a.id + std::string(model::to_string(a.status));
    if (!seen_.insert(key).second) return;
    out_ << stamp() << a.stage_name << "/" << a.action_name << " " << model::to_string(a.status);
    if (a.status != model::ActionExecutionStatus::kInProgress) {
      out_ << " in " << seconds(a.updated_ms - a.started_ms);
      if (!a.summary.empty()) out_ << ": " << a.summary;
    }
    out_ << "\n";
    out_.flush();
  }

  // A stage skipped by its entry condition, a condition's result, a rule's.
  void print(const model::StageExecutionRecord& st) {
    if (st.status != model::StageExecutionStatus::kSkipped) return;
    std::lock_guard lock(mu_);
    out_ << stamp() << st.stage_name << " Skipped: its entry condition was not met\n";
    out_.flush();
  }
  void print(const model::ConditionExecutionRecord& c) {
    if (c.status == model::ConditionExecutionStatus::kInProgress) return;
    std::lock_guard lock(mu_);
    static constexpr const char* kNames[] = {"entry", "on-success", "on-failure"};
    out_ << stamp() << c.stage_name << " " << kNames[static_cast<int>(c.type)] << " condition "
         << model::to_string(c.status) << (c.summary.empty() ? "" : ": " + c.summary) << "\n";
    out_.flush();
  }
  void print(const model::RuleExecutionRecord& r) {
    std::lock_guard lock(mu_);
    std::string key = r.id + std::string(model::to_string(r.status));
    if (!seen_.insert(key).second) return;
    out_ << stamp() << r.stage_name << "/rule " << r.rule_name << " (" << r.rule_type_id.provider
         << ") " << model::to_string(r.status) << (r.summary.empty() ? "" : ": " + r.summary)
         << "\n";
    out_.flush();
  }

  void output(const engine::ActionStart& start, std::string_view chunk) {
    std::lock_guard lock(mu_);
    std::string& pending = partial_[start.action_execution_id];
    pending.append(chunk);
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      out_ << "  " << start.action.name << " | " << pending.substr(0, nl) << "\n";
      pending.erase(0, nl + 1);
    }
    out_.flush();
  }

  void note(const std::string& line) {
    std::lock_guard lock(mu_);
    out_ << stamp() << line << "\n";
    out_.flush();
  }

  std::string stamp() const { return "[" + seconds(now_ms() - t0_) + "] "; }
  static std::string seconds(int64_t ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(ms) / 1000.0);
    return buf;
  }

 private:
  std::ostream& out_;
  store::Store& store_;
  std::vector<std::string> ids_;
  int64_t t0_;
  std::mutex mu_;
  std::set<std::string> seen_;
  std::map<std::string, std::string> partial_;
};

// The engine's events, shown by Progress once it exists; a rollback
// execution the engine starts is followed like the ones the run started.
class RunEvents : public engine::EngineEvents {
 public:
  RunEvents(std::unique_ptr<Progress>& progress, std::vector<std::string>& ids)
      : progress_(progress), ids_(ids) {}
  void execution_changed(const model::PipelineExecutionRecord& e) override {
    if (e.execution_type == model::ExecutionType::kRollback &&
        std::find(ids_.begin(), ids_.end(), e.id) == ids_.end()) {
      ids_.push_back(e.id);
      if (progress_)
        progress_->note("Rollback execution " + e.id + " of stage " + e.rollback_stage_name +
                        " to execution " + e.rollback_target_execution_id + " started");
    }
  }
  void stage_changed(const model::StageExecutionRecord& s) override {
    if (progress_) progress_->print(s);
  }
  void action_changed(const model::ActionExecutionRecord& a) override {
    if (progress_) progress_->print(a);
  }
  void condition_changed(const model::ConditionExecutionRecord& c) override {
    if (progress_) progress_->print(c);
  }
  void rule_changed(const model::RuleExecutionRecord& r) override {
    if (progress_) progress_->print(r);
  }

 private:
  std::unique_ptr<Progress>& progress_;
  std::vector<std::string>& ids_;
};

// SIGINT and SIGTERM only set this flag (signal handlers only wake the loop);
// the loop then stops the actions' process groups, which the terminal's
// Ctrl-C does not reach because each action has a group of its own.
volatile sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }

// Removes a temporary data directory when the run ends, however it ends.
struct TempDir {
  fs::path path;
  bool remove = false;
  ~TempDir() {
    std::error_code ec;
    if (remove) fs::remove_all(path, ec);
  }
};

}  // namespace

namespace {

// Reads and validates the definition; 0 and `decl` set when it can run.
int load_definition(const RunArgs& args, std::ostream& err, model::PipelineDeclaration& decl,
                    std::vector<model::Tag>& tags, definitions::Resources& resources) {
  std::ifstream in(args.file, std::ios::binary);
  if (!in) {
    err << "stageline run: cannot open " << args.file << ": " << std::strerror(errno) << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  definitions::ReadOptions read;
  read.template_options.parameter_overrides = args.parameter_overrides;
  read.template_options.region = args.region;
  read.validate.region = args.region;
  definitions::Document doc = definitions::read_definition(text.str(), read);
  for (const auto& l : doc.problems)
    if (l.problem.severity == definitions::Severity::kError)
      err << args.file << (l.problem.line ? ":" + std::to_string(l.problem.line) : "")
          << ": error: " << l.problem.path << (l.problem.path.empty() ? "" : ": ")
          << l.problem.message << "\n";
  if (!doc.readable) return 2;
  if (!doc.valid()) {
    err << "stageline run: the definition is invalid; `stageline validate " << args.file
        << "` explains each problem\n";
    return 1;
  }
  const definitions::PipelineDefinition* def = nullptr;
  for (const auto& p : doc.pipelines)
    if (args.pipeline.empty() || p.origin == args.pipeline || p.declaration.name == args.pipeline)
      def = def ? def : &p;
  if (!def || (args.pipeline.empty() && doc.pipelines.size() > 1)) {
    err << "stageline run: " << args.file << " holds " << doc.pipelines.size()
        << " pipelines; choose one with --pipeline NAME\n";
    return 2;
  }
  decl = def->declaration;
  tags = def->tags;
  resources = doc.resources;
  return 0;
}

}  // namespace

std::optional<jobs::LocalRunner::Options::ApprovalAnswer> ask_approval(
    std::istream& in, std::ostream& out, const engine::ActionStart& start) {
  auto config = [&start](const char* key) -> std::string {
    if (!start.action.configuration) return "";
    auto it = start.action.configuration->find(key);
    return it == start.action.configuration->end() ? "" : it->second;
  };
  out << "\nApproval needed: pipeline " << start.pipeline_name << ", stage " << start.stage_name
      << ", action " << start.action.name << "\n";
  if (std::string c = config("CustomData"); !c.empty()) out << "  " << c << "\n";
  if (std::string l = config("ExternalEntityLink"); !l.empty()) out << "  Review: " << l << "\n";
  std::string line;
  for (;;) {
    out << "Approve? y[es] or n[o], then an optional summary: " << std::flush;
    if (!std::getline(in, line)) {
      out << "\n";
      return std::nullopt;
    }
    size_t begin = line.find_first_not_of(" \t");
    if (begin == std::string::npos) continue;
    size_t end = line.find_first_of(" \t", begin);
    std::string word = line.substr(begin, end == std::string::npos ? end : end - begin);
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string summary;
    if (end != std::string::npos) {
      size_t s = line.find_first_not_of(" \t", end);
      if (s != std::string::npos) summary = line.substr(s);
    }
    if (word == "y" || word == "yes" || word == "approve" || word == "approved")
      return jobs::LocalRunner::Options::ApprovalAnswer{true, summary};
    if (word == "n" || word == "no" || word == "reject" || word == "rejected")
      return jobs::LocalRunner::Options::ApprovalAnswer{false, summary};
    out << "Answer y or n (or approve / reject).\n";
  }
}

int run_local(const RunArgs& args, std::ostream& out, std::ostream& err) {
  model::PipelineDeclaration decl;
  std::vector<model::Tag> tags;
  definitions::Resources resources;
  if (!args.resume) {
    if (int rc = load_definition(args, err, decl, tags, resources); rc != 0) return rc;
  } else if (args.data_dir.empty()) {
    err << "stageline run: --resume continues the executions of a --data-dir\n";
    return 2;
  }

  TempDir data;
  if (args.data_dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "stageline-run-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      err << "stageline run: create a temporary data directory: " << std::strerror(errno) << "\n";
      return 2;
    }
    data.path = tmpl;
    data.remove = true;
  } else {
    data.path = args.data_dir;
    std::error_code ec;
    fs::create_directories(data.path, ec);
    if (ec) {
      err << "stageline run: create " << data.path << ": " << ec.message() << "\n";
      return 2;
    }
  }

  auto store = store::SqliteStore::open((data.path / "stageline.db").string(), {});
  if (!store.ok()) {
    err << "stageline run: " << store.status().message() << "\n";
    return 2;
  }
  auto objects = artifacts::ObjectStore::open({data.path / "objects"});
  if (!objects.ok()) {
    err << "stageline run: " << objects.status().message() << "\n";
    return 2;
  }
  artifacts::PassThroughCipher cipher;
  artifacts::ArtifactStore artifact_store(**objects, cipher, {data.path / "tmp"});
  int version = 0;
  if (!args.resume) {
    std::string bucket = decl.artifact_store ? decl.artifact_store->location
                                             : decl.artifact_stores->begin()->second.location;
    if (!(*objects)->head_bucket(bucket).ok()) {
      if (Status s = (*objects)->create_bucket(bucket); !s.ok()) {
        err << "stageline run: artifact store bucket " << bucket << ": " << s.message() << "\n";
        return 2;
      }
    }
    // The definition becomes version 1, or the next version of the pipeline
    // stored in this data directory when it differs from the stored one.
    auto existing = (*store)->get_pipeline(decl.name);
    model::PipelineDeclaration unchanged = decl;
    if (existing.ok()) unchanged.version = existing->declaration.version;
    Result<model::PipelineRecord> stored =
        !existing.ok() ? (*store)->create_pipeline({decl, tags, now_ms(), now_ms()})
        : existing->declaration == unchanged ? std::move(existing)
                                             : (*store)->update_pipeline(decl, now_ms());
    if (!stored.ok()) {
      err << "stageline run: store pipeline " << decl.name << ": " << stored.status().message()
          << "\n";
      return 2;
    }
    version = stored->declaration.version.value_or(1);
  }

  jobs::LocalRunner::Options runner_options;
  runner_options.work_root = data.path / "work";
  for (const auto& [action, dir] : args.sources)
    runner_options.source_dirs[action] = fs::absolute(dir);
  runner_options.region = args.region;
  runner_options.logs = store->get();
  runner_options.local_run = true;
  if (args.approve)
    runner_options.approval = *args.approve ? jobs::LocalRunner::Options::Approval::kApprove
                                            : jobs::LocalRunner::Options::Approval::kReject;
  // With no answer given up front, a person at a terminal is asked, one
  // approval at a time (parallel actions may wait together).
  std::mutex ask_mutex;
  if (!args.approve && isatty(STDIN_FILENO)) {
    runner_options.ask_approval = [&ask_mutex, &err](const engine::ActionStart& start) {
      std::lock_guard<std::mutex> hold(ask_mutex);
      return ask_approval(std::cin, err, start);
    };
  }
  const char* user = std::getenv("USER");
  runner_options.approver = user ? user : "uid " + std::to_string(getuid());
  const char* path_env = std::getenv("PATH");
  runner_options.base_environment = {
      {"PATH", path_env ? path_env : "/usr/local/bin:/usr/bin:/bin"},
      {"HOME", (data.path / "home").string()},
      {"LANG", "C.UTF-8"},
      {"TMPDIR", (data.path / "tmp").string()},
  };
  std::error_code ec;
  fs::create_directories(data.path / "home", ec);
  int64_t t0 = now_ms();
  std::unique_ptr<Progress> progress;
  runner_options.on_output = [&progress](const engine::ActionStart& s, std::string_view chunk) {
    if (progress) progress->output(s, chunk);
  };

  // CodeBuild, as on the server: the template's AWS::CodeBuild::Project
  // records become projects of this data directory (created, or updated
  // when a run of the same template made them before), and its
  // AWS::S3::Bucket records buckets, for S3 deploy actions.
  builds::BuildServiceOptions build_options;
  build_options.region = args.region;
  build_options.work_root = data.path / "codebuild";
  build_options.base_environment = runner_options.base_environment;
  build_options.now_ms = now_ms;
  build_options.new_id = new_uuid;
  builds::BuildService build_service(**store, artifact_store, build_options);
  codebuild::CodeBuildOptions codebuild_options;
  codebuild_options.region = args.region;
  codebuild_options.now_ms = now_ms;
  codebuild::CodeBuildApi codebuild_api(**store, build_service, codebuild_options);
  for (const auto& project : resources.build_projects) {
    auto put = codebuild_api.put_project(definitions::codebuild_project_input(project));
    if (!put.ok()) {
      err << "stageline run: " << args.file << ": CodeBuild project " << project.name << " ("
          << project.logical_id << "): " << put.error().message << "\n";
      return 2;
    }
  }
  for (const auto& bucket : resources.buckets) {
    if ((*objects)->head_bucket(bucket.name).ok()) continue;
    if (Status s = (*objects)->create_bucket(bucket.name); !s.ok()) {
      err << "stageline run: " << args.file << ": bucket " << bucket.name << ": " << s.message()
          << "\n";
      return 2;
    }
  }
  builds::CodeBuildAction codebuild_action(build_service);
  runner_options.providers["Build/AWS/CodeBuild"] = &codebuild_action;
  runner_options.providers["Test/AWS/CodeBuild"] = &codebuild_action;
  providers::S3Deploy s3_deploy(
      **objects, {[] { return std::chrono::system_clock::now(); }, [] { return new_uuid(); }});
  runner_options.providers["Deploy/AWS/S3"] = &s3_deploy;

  jobs::LocalRunner runner(artifact_store, runner_options);
  std::vector<std::string> ids;
  RunEvents events(progress, ids);
  engine::Engine engine(**store, runner, {now_ms, new_uuid, &events});

  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  if (args.resume) {
    auto resumed = engine.recover();
    if (!resumed.ok()) {
      err << "stageline run: " << resumed.status().message() << "\n";
      return 2;
    }
    ids = *resumed;
    if (ids.empty()) {
      out << "Nothing to resume in " << data.path.string() << "\n";
      return 0;
    }
    for (const auto& id : ids) out << "Execution " << id << " resumed\n";
  } else {
    auto id = engine.start_execution(decl.name, args.variables,
                                     model::TriggerType::kStartPipelineExecution, "stageline run");
    if (!id.ok()) {
      err << "stageline run: " << id.status().message() << "\n";
      return 1;
    }
    ids.push_back(*id);
    out << "Execution " << *id << " of pipeline " << decl.name << " (version " << version
        << ") started\n";
  }
  progress = std::make_unique<Progress>(out, **store, ids, t0);
  for (size_t i = 1; i < ids.size(); ++i)
    progress->note("Rollback execution " + ids[i] + " started");
  progress->report();  // what happened before the progress display existed
  while (true) {
    bool all_done = runner.outstanding() == 0, all_succeeded = true;
    std::vector<model::PipelineExecutionRecord> records;
    for (const auto& id : ids) {
      auto exec = (*store)->get_pipeline_execution(id);
      if (!exec.ok()) {
        err << "stageline run: " << exec.status().message() << "\n";
        return 2;
      }
      all_done = all_done && terminal(exec->status);
      all_succeeded = all_succeeded && exec->status == model::PipelineExecutionStatus::kSucceeded;
      records.push_back(*exec);
    }
    if (all_done) {
      progress->report();
      for (const auto& exec : records)
        out << "Execution " << exec.id << " " << model::to_string(exec.status) << " in "
            << Progress::seconds(now_ms() - t0)
            << (exec.status_summary.empty() ? "" : ": " + exec.status_summary) << "\n";
      if (!data.remove) out << "Data directory: " << data.path.string() << "\n";
      return all_succeeded ? 0 : 1;
    }
    if (g_interrupted) {
      // The runner's destructor stops what is still running (SIGTERM, then SIGKILL).
      out << progress->stamp() << "interrupted: stopping the running actions\n";
      return 130;
    }
    auto done = runner.next(std::chrono::milliseconds(200));
    if (!done) continue;
    if (Status s = engine.action_finished(done->action_execution_id, done->outcome); !s.ok()) {
      err << "stageline run: " << s.message() << "\n";
      return 2;
    }
  }
}

}  // namespace stageline::server
