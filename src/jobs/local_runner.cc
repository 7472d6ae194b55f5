#include "jobs/local_runner.h"

#include <chrono>
#include <optional>
#include <system_error>

#include "definitions/catalogue.h"
#include "jobs/log_batcher.h"
#include "providers/commands/commands_action.h"
#include "secrets/masker.h"

namespace stageline::jobs {

namespace fs = std::filesystem;
using engine::ActionOutcome;
using engine::ActionStart;

namespace {

// The longest log line kept whole; longer output without a newline is cut.
constexpr size_t kMaxLogLine = 64 * 1024;

// Under the work root, beside the workspaces (named by action execution ids).
constexpr const char* kInputCacheDir = "input-cache";

ActionOutcome failure(std::string code, std::string message) {
  ActionOutcome o;
  o.succeeded = false;
  o.error_code = std::move(code);
  o.summary = message;
  o.error_message = std::move(message);
  return o;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Copies `from` into `to`, leaving out a top-level .git, keeping symlinks as
// symlinks (the zip step decides which may stay).
Status copy_tree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (!fs::is_directory(from, ec))
    return Status::not_found("source directory " + from.string() + " does not exist");
  fs::create_directories(to, ec);
  if (ec) return Status::io("create " + to.string() + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    if (entry.path().filename() == ".git") continue;
    fs::copy(entry.path(), to / entry.path().filename(),
             fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) return Status::io("copy " + entry.path().string() + ": " + ec.message());
  }
  if (ec) return Status::io("read " + from.string() + ": " + ec.message());
  return Status();
}

}  // namespace

LocalRunner::LocalRunner(artifacts::ArtifactStore& artifacts, Options options)
    : artifacts_(artifacts), options_(std::move(options)) {
  // Whatever is under the work root belongs to a runner that is gone (a
  // killed process leaves its workspaces and input cache behind); nothing in
  // it is state: the store and the object store hold everything. Clear it so
  // no new workspace or cache entry meets an old one (regression: crash
  // recovery test, "the target is not empty").
  std::error_code ec;
  fs::remove_all(options_.work_root, ec);
}

LocalRunner::~LocalRunner() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    pending_.clear();
  }
  work_cv_.notify_all();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  std::error_code ec;
  fs::remove_all(options_.work_root / kInputCacheDir, ec);  // best effort
}

void LocalRunner::start(const ActionStart& start) {
  ++outstanding_;
  {
    std::lock_guard lock(mu_);
    pending_.push_back(start);
    // A worker that has not reached its wait yet is not counted idle, so this
    // may add one worker too many, never one too few.
    if (pending_.size() > idle_) workers_.emplace_back([this] { work(); });
  }
  work_cv_.notify_one();
}

void LocalRunner::work() {
  std::unique_lock lock(mu_);
  while (true) {
    ++idle_;
    work_cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    --idle_;
    if (stopping_) return;
    ActionStart start = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    fs::path workspace = options_.work_root / start.action_execution_id;
    ActionOutcome outcome;
    try {
      outcome = run(start, workspace);
    } catch (const std::exception& e) {
      // A task boundary: a library exception fails the action, not the process.
      outcome = failure("JobFailed", std::string("internal error: ") + e.what());
    }
    {
      std::lock_guard done_lock(mu_);
      done_.push_back({start.action_execution_id, std::move(outcome)});
    }
    cv_.notify_all();
    if (options_.on_completion) options_.on_completion();
    // After the outcome is queued: the engine need not wait for the removal.
    std::error_code ec;
    fs::remove_all(workspace, ec);  // best effort: the outcome is what matters
    lock.lock();
  }
}

std::optional<LocalRunner::Completion> LocalRunner::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [this] { return !done_.empty(); })) return std::nullopt;
  Completion c = std::move(done_.front());
  done_.pop_front();
  lock.unlock();
  --outstanding_;
  return c;
}

// An input artifact is immutable once stored (a version id names one object,
// and the ETag is checked on fetch), so every action of a run that reads it
// would unzip the same tree. It is unzipped once into the cache instead, and
// each action gets a plain copy: cheaper than an unzip, and the action may
// change its copy freely. Hard links would be cheaper still but would let an
// action that rewrites a file in place change it for later actions. A
// location without a version id means "the latest" and is never cached.
Status LocalRunner::fetch_input(const model::ArtifactLocation& location, const fs::path& dir) {
  if (location.version_id.empty()) {
    auto fetched = artifacts_.fetch_artifact(location, dir, artifacts::ExtractLimits{});
    return fetched.ok() ? Status() : fetched.status();
  }
  const std::string key =
      location.bucket + '\0' + location.key + '\0' + location.version_id + '\0' + location.etag;
  fs::path cached;
  uint64_t seq = 0;
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end())
      cached = it->second;
    else
      seq = ++cache_seq_;
  }
  if (cached.empty()) {
    // Extracted outside the lock; when two actions race, the first entry wins
    // and the loser removes its own tree. An entry is complete once listed.
    fs::path tree = options_.work_root / kInputCacheDir / std::to_string(seq);
    std::error_code ec;
    fs::create_directories(tree.parent_path(), ec);
    if (ec) return Status::io("create " + tree.parent_path().string() + ": " + ec.message());
    auto fetched = artifacts_.fetch_artifact(location, tree, artifacts::ExtractLimits{});
    if (!fetched.ok()) {
      fs::remove_all(tree, ec);
      return fetched.status();
    }
    std::lock_guard lock(cache_mu_);
    auto [it, inserted] = cache_.emplace(key, tree);
    if (!inserted) fs::remove_all(tree, ec);
    cached = it->second;
  }
  std::error_code ec;
  fs::copy(cached, dir, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec)
    return Status::io("copy " + cached.string() + " to " + dir.string() + ": " + ec.message());
  return Status();
}

std::string provider_key(const model::ActionTypeId& type) {
  return std::string(model::to_string(type.category)) + "/" +
         std::string(model::to_string(type.owner)) + "/" + type.provider;
}

// An action's output on its way to Options::on_output and, in batches cut
// into lines (jobs/log_batcher.h), to the store's action log; secret values
// masked first. Rules have no log.
class LocalRunner::ActionLog {
 public:
  ActionLog(const Options& options, const ActionStart& start) : options_(options), start_(start) {
    if (!options_.logs || start_.rule) return;
    const std::string id = start_.action_execution_id;
    store::Store* logs = options_.logs;
    batcher_.emplace(
        [logs, id](std::vector<model::LogLine> lines) {
          // A log the store refuses is lost, not the action: its outcome matters more.
          (void)logs->append_logs(id, lines);
        },
        LogBatcher::Options{std::chrono::milliseconds(100), 256, kMaxLogLine, {}});
  }
  ~ActionLog() {
    std::lock_guard lock(mu_);
    if (masker_) write_locked(masker_->flush());
  }

  // From now on every occurrence of one of `values` is shown as ***, also
  // when a write splits it.
  void mask(std::vector<std::string> values) {
    std::lock_guard lock(mu_);
    if (!values.empty()) masker_.emplace(std::move(values));
  }

  void write(std::string_view raw) {
    std::lock_guard lock(mu_);
    std::string masked;
    std::string_view chunk = raw;
    if (masker_) {
      masked = masker_->feed(raw);
      chunk = masked;
    }
    write_locked(chunk);
  }

 private:
  void write_locked(std::string_view chunk) {
    if (options_.on_output) options_.on_output(start_, chunk);
    if (batcher_) batcher_->write(chunk);
  }

  const Options& options_;
  const ActionStart& start_;
  std::mutex mu_;
  std::optional<secrets::SecretMasker> masker_;
  std::optional<LogBatcher> batcher_;  // destroyed first: it hands over the rest
};

ActionOutcome LocalRunner::run(const ActionStart& start, const fs::path& workspace) {
  std::error_code ec;
  fs::create_directories(workspace, ec);
  if (ec)
    return failure("JobFailed", "create workspace " + workspace.string() + ": " + ec.message());
  ActionOutcome outcome;
  const auto& type = start.action.action_type_id;
  auto provider = options_.providers.find(provider_key(type));
  const bool local_source = type.category == model::ActionCategory::kSource &&
                            options_.source_dirs.contains(start.action.name);
  if (provider != options_.providers.end() && !local_source) {
    outcome = run_provider(*provider->second, start, workspace);
  } else if (type.category == model::ActionCategory::kSource) {
    outcome = run_source(start, workspace);
  } else if (type.category == model::ActionCategory::kApproval &&
             type.owner == model::ActionOwner::kAws && type.provider == "Manual") {
    outcome = answer_approval(start);
  } else if (type.category == model::ActionCategory::kCompute &&
             type.owner == model::ActionOwner::kAws && type.provider == "Commands") {
    auto inputs = fetch_inputs(start, workspace);
    outcome = inputs.ok() ? run_commands(start, workspace, *inputs)
                          : failure("JobFailed", inputs.status().message());
  } else {
    const auto* info = definitions::Catalogue::builtin().find(type);
    outcome =
        failure("ConfigurationError", info ? info->not_runnable
                                           : "no provider for action type " +
                                                 std::string(model::to_string(type.category)) +
                                                 "/" + std::string(model::to_string(type.owner)) +
                                                 "/" + type.provider + "/" + type.version);
  }
  return outcome;
}

Result<std::vector<std::pair<std::string, fs::path>>> LocalRunner::fetch_inputs(
    const ActionStart& start, const fs::path& workspace) {
  std::vector<std::pair<std::string, fs::path>> inputs;
  std::error_code ec;
  fs::create_directories(workspace / "in", ec);
  if (ec) return Status::io("create " + (workspace / "in").string() + ": " + ec.message());
  for (const auto& [name, location] : start.inputs) {
    fs::path dir = workspace / "in" / name;
    if (Status s = fetch_input(location, dir); !s.ok())
      return Status(s.code(), "fetch input artifact '" + name + "': " + s.message());
    inputs.emplace_back(name, dir);
  }
  return inputs;
}

ActionOutcome LocalRunner::run_provider(ActionProvider& provider, const ActionStart& start,
                                        const fs::path& workspace) {
  auto inputs = fetch_inputs(start, workspace);
  if (!inputs.ok()) return failure("JobFailed", inputs.status().message());
  ActionLog log(options_, start);
  std::error_code ec;
  fs::create_directories(workspace / "job", ec);
  if (ec)
    return failure("JobFailed", "create " + (workspace / "job").string() + ": " + ec.message());
  ProviderContext context{start,
                          workspace / "job",
                          std::move(*inputs),
                          artifacts_,
                          [&log](std::string_view chunk) { log.write(chunk); },
                          [this] { return stopping_.load(); }};
  return provider.run(context);
}

ActionOutcome LocalRunner::answer_approval(const ActionStart& start) {
  std::string custom;
  if (start.action.configuration) {
    auto it = start.action.configuration->find("CustomData");
    if (it != start.action.configuration->end()) custom = " (" + it->second + ")";
  }
  switch (options_.approval) {
    case Options::Approval::kApprove: {
      ActionOutcome o;
      o.succeeded = true;
      o.summary = "Approved by " + options_.approver + " with stageline run --approve" + custom;
      return o;
    }
    case Options::Approval::kReject:
      return failure("JobFailed",
                     "Rejected by " + options_.approver + " with stageline run --reject" + custom);
    case Options::Approval::kAsk:
      if (!options_.ask_approval) break;
      if (auto answer = options_.ask_approval(start)) {
        std::string summary = answer->summary.empty() ? "" : ": " + answer->summary;
        if (!answer->approved)
          return failure("JobFailed", "Rejected by " + options_.approver + summary);
        ActionOutcome o;
        o.succeeded = true;
        o.summary = "Approved by " + options_.approver + summary;
        return o;
      }
      break;
  }
  return failure("ConfigurationError",
                 "manual approval '" + start.action.name + "'" + custom +
                     " needs an answer: run again with --approve or --reject, or run the "
                     "pipeline on `stageline server`, where approvals wait for a person "
                     "(PutApprovalResult)");
}

ActionOutcome LocalRunner::run_source(const ActionStart& start, const fs::path& workspace) {
  auto it = options_.source_dirs.find(start.action.name);
  if (it == options_.source_dirs.end())
    return failure(
        "ConfigurationError",
        "source action '" + start.action.name + "' (" + start.action.action_type_id.provider +
            ") needs a source provider, which Stageline does not have yet (issue #5)" +
            (options_.local_run
                 ? "; run it against a directory with --source " + start.action.name + "=PATH"
                 : std::string("; `stageline run FILE --source ") + start.action.name +
                       "=DIR` runs the pipeline locally meanwhile"));
  if (!start.action.output_artifacts || start.action.output_artifacts->size() != 1)
    return failure("ConfigurationError", "a source action has exactly one output artifact");
  fs::path tree = workspace / "source";
  if (Status s = copy_tree(it->second, tree); !s.ok())
    return failure("JobFailed", "read source for '" + start.action.name + "': " + s.message());
  auto stored = store_output(start, (*start.action.output_artifacts)[0].name, tree, {"**/*"});
  if (!stored.ok()) return failure("JobFailed", stored.status().message());
  ActionOutcome o;
  o.succeeded = true;
  o.summary = "Read " + it->second.string();
  o.artifacts.push_back(*stored);
  return o;
}

ActionOutcome LocalRunner::run_commands(
    const ActionStart& start, const fs::path& workspace,
    const std::vector<std::pair<std::string, fs::path>>& inputs) {
  providers::CommandsJob job;
  job.workspace = workspace / "job";
  std::error_code ec;
  fs::create_directories(job.workspace, ec);
  if (ec) return failure("JobFailed", "create " + job.workspace.string() + ": " + ec.message());
  job.inputs = inputs;
  if (start.rule && inputs.empty()) {
    // A Commands rule may have no input artifact: it runs in an empty
    // directory (a Commands action always has one).
    fs::path empty = workspace / "src";
    fs::create_directories(empty, ec);
    if (ec) return failure("JobFailed", "create " + empty.string() + ": " + ec.message());
    job.inputs.emplace_back("", empty);
  }
  job.commands = start.action.commands.value_or(std::vector<std::string>{});
  std::vector<std::string> secret_values;
  if (start.action.environment_variables)
    for (const auto& v : *start.action.environment_variables) {
      if (v.type != model::EnvironmentVariableType::kSecretsManager) {
        job.environment.emplace_back(v.name, v.value);
        continue;
      }
      if (!options_.secrets)
        return failure("ConfigurationError",
                       "environment variable " + v.name +
                           " is a SECRETS_MANAGER secret, and there is no Secrets Manager here" +
                           (options_.local_run ? " (run the pipeline on `stageline server`)" : ""));
      auto value = options_.secrets->secret(v.value);
      if (!value.ok())
        return failure("ConfigurationError", "environment variable " + v.name + " (secret " +
                                                 v.value + "): " + value.status().message());
      job.environment.emplace_back(v.name, *value);
      secret_values.push_back(std::move(*value));
    }
  job.output_variables = start.action.output_variables.value_or(std::vector<std::string>{});
  job.base_environment = options_.base_environment;
  job.codepipeline_environment = {
      {"AWS_REGION", options_.region},
      {"AWS_DEFAULT_REGION", options_.region},
      {"CODEBUILD_BUILD_ID", start.pipeline_name + ":" + start.action_execution_id},
      {"CODEBUILD_INITIATOR", "codepipeline/" + start.pipeline_name},
      {"CODEBUILD_CI", "true"},
  };
  ActionLog log(options_, start);
  log.mask(std::move(secret_values));
  job.on_output = [&log](std::string_view chunk) { log.write(chunk); };
  job.cancelled = [this] { return stopping_.load(); };
  job.timeout = std::chrono::duration_cast<std::chrono::seconds>(start.timeout);
  auto result = providers::run_commands_action(job);
  if (!result.ok()) return failure("JobFailed", result.status().message());
  if (!result->succeeded) return failure("JobFailed", result->summary);
  ActionOutcome o;
  o.succeeded = true;
  o.summary = result->summary;
  o.output_variables = result->output_variables;
  if (start.action.output_artifacts) {
    if (inputs.empty()) return failure("JobFailed", "a Commands action needs an input artifact");
    for (const auto& out : *start.action.output_artifacts) {
      auto stored = store_output(start, out.name, inputs[0].second,
                                 out.files.value_or(std::vector<std::string>{"**/*"}));
      if (!stored.ok())
        return failure("JobFailed",
                       "output artifact '" + out.name + "': " + stored.status().message());
      o.artifacts.push_back(*stored);
    }
  }
  return o;
}

Result<model::ArtifactRecord> LocalRunner::store_output(const ActionStart& start,
                                                        const std::string& name,
                                                        const fs::path& dir,
                                                        const std::vector<std::string>& globs) {
  auto stored = artifacts_.put_artifact(start.artifact_bucket, start.pipeline_name, name, dir,
                                        globs, start.artifact_encryption_key);
  if (!stored.ok()) return stored.status();
  model::ArtifactRecord r;
  r.execution_id = start.execution_id;
  r.name = name;
  r.location = stored->location;
  r.produced_by_stage = start.stage_name;
  r.produced_by_action = start.action.name;
  r.size_bytes = static_cast<int64_t>(stored->size_bytes);
  r.created_ms = now_ms();
  return r;
}

}  // namespace stageline::jobs
