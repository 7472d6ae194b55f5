// jobs/local_runner: the in-process job runner. It runs each action the engine
// starts on its own thread: fetches its input artifacts into a fresh
// workspace, runs the provider (the Commands action; a directory standing in
// for a source action when `stageline run --source` gives one), stores its
// output artifacts, and queues the outcome for the control thread, which
// hands it to Engine::action_finished. Providers of other modules plug in
// through jobs/provider.h (Options::providers). Providers Stageline cannot run yet
// fail with the catalogue's message; nothing pretends to succeed.
// Depends on engine (the ActionRunner interface), artifacts, providers and
// definitions (the catalogue). start() and next() may be called from the
// control thread only; threads are joined, never detached.
//
// Actions run on reusable worker threads: start() hands the action to an
// idle worker, or adds a worker when none is idle, so as many actions run at
// once as the engine starts (the pool only grows to the peak). A worker
// queues the outcome before it removes the action's workspace, so the
// removal overlaps the engine's handling of the outcome. An input artifact
// is extracted once per stored version into a cache under the work root;
// each action gets its own copy of that tree, since actions may write into
// their inputs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "artifacts/artifact_store.h"
#include "engine/engine.h"
#include "jobs/provider.h"
#include "secrets/resolver.h"
#include "store/store.h"

namespace stageline::jobs {

class LocalRunner : public engine::ActionRunner {
 public:
  struct Options {
    std::filesystem::path work_root;  // workspaces are created and removed under it
    // Source actions read from a directory instead of their provider:
    // action name -> directory (its .git is left out).
    std::map<std::string, std::filesystem::path> source_dirs;
    // True under `stageline run` (its messages may name its own flags).
    bool local_run = false;
    std::map<std::string, std::string> base_environment;  // PATH, HOME, LANG, ...
    std::string region = "us-east-1";
    // Output of a running action, from its worker thread. May be empty.
    std::function<void(const engine::ActionStart&, std::string_view chunk)> on_output;
    // How manual approvals are answered when there is no approval service:
    // given up front by the person running `stageline run --approve` or
    // `--reject`; with kAsk, `ask_approval` asks (on the worker thread, so
    // the call may block on a terminal), and when there is no one to ask or
    // no answer comes the approval fails with a message that says how to
    // answer it.
    enum class Approval { kAsk, kApprove, kReject };
    Approval approval = Approval::kAsk;
    struct ApprovalAnswer {
      bool approved = false;
      std::string summary;
    };
    std::function<std::optional<ApprovalAnswer>(const engine::ActionStart&)> ask_approval;
    // Where an action's output is kept, line by line (the store's action
    // logs; a log is complete when its action's outcome is queued). May be
    // nullptr: output is then only passed to on_output.
    store::Store* logs = nullptr;
    // Called on a worker thread each time an outcome is queued, so an event
    // loop can wake up and drain next() on the control thread. Thread-safe
    // callers only (e.g. http::Server::post). May be empty.
    std::function<void()> on_completion;
    std::string approver;  // recorded in the approval's summary
    // Resolves the SECRETS_MANAGER environment variables of Commands actions
    // (their values are masked in the action's log). nullptr: such a
    // variable fails the action saying there is no Secrets Manager here.
    secrets::ValueResolver* secrets = nullptr;
    // The providers of other modules, by provider_key() (provider.h); not
    // owned, they must outlive the runner. A source action named in
    // source_dirs still reads its directory.
    std::map<std::string, ActionProvider*> providers;
  };

  struct Completion {
    std::string action_execution_id;
    engine::ActionOutcome outcome;
  };

  LocalRunner(artifacts::ArtifactStore& artifacts, Options options);
  // Stops running actions (SIGTERM, then SIGKILL), drops actions not yet
  // begun, joins every thread and removes the input cache.
  ~LocalRunner() override;

  void start(const engine::ActionStart& start) override;

  // The next finished action, waiting up to `timeout`; nullopt on timeout.
  std::optional<Completion> next(std::chrono::milliseconds timeout);

  // Actions started and not yet returned by next().
  int outstanding() const { return outstanding_; }

 private:
  void work();
  engine::ActionOutcome run(const engine::ActionStart& start,
                            const std::filesystem::path& workspace);
  // Fills `dir` (missing) with the artifact at `location`: a copy of the
  // cached extraction, extracting it into the cache first if needed.
  Status fetch_input(const model::ArtifactLocation& location, const std::filesystem::path& dir);
  class ActionLog;
  // The start's input artifacts, each fetched into workspace/in/<name>.
  Result<std::vector<std::pair<std::string, std::filesystem::path>>> fetch_inputs(
      const engine::ActionStart& start, const std::filesystem::path& workspace);
  engine::ActionOutcome run_provider(ActionProvider& provider, const engine::ActionStart& start,
                                     const std::filesystem::path& workspace);
  engine::ActionOutcome answer_approval(const engine::ActionStart& start);
  engine::ActionOutcome run_source(const engine::ActionStart& start,
                                   const std::filesystem::path& workspace);
  engine::ActionOutcome run_commands(
      const engine::ActionStart& start, const std::filesystem::path& workspace,
      const std::vector<std::pair<std::string, std::filesystem::path>>& inputs);
  Result<model::ArtifactRecord> store_output(const engine::ActionStart& start,
                                             const std::string& name,
                                             const std::filesystem::path& dir,
                                             const std::vector<std::string>& globs);

  artifacts::ArtifactStore& artifacts_;
  Options options_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Completion> done_;
  int outstanding_ = 0;  // control thread only

  // Guarded by mu_: actions not yet taken by a worker, workers waiting for one.
  std::condition_variable work_cv_;
  std::deque<engine::ActionStart> pending_;
  size_t idle_ = 0;
  std::vector<std::thread> workers_;  // control thread only

  // Extracted input artifacts by stored version (bucket, key, version, ETag).
  std::mutex cache_mu_;
  std::map<std::string, std::filesystem::path> cache_;
  uint64_t cache_seq_ = 0;  // guarded by cache_mu_
};

}  // namespace stageline::jobs
