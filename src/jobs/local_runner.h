// jobs/local_runner: the in-process job runner. It runs each action the engine
// starts on its own thread: fetches its input artifacts into a fresh
// workspace, runs the provider (the Commands action; a directory standing in
// for a source action when `stageline run --source` gives one), stores its
// output artifacts, and queues the outcome for the control thread, which
// hands it to Engine::action_finished. Providers Stageline cannot run yet
// fail with the catalogue's message; nothing pretends to succeed.
// Depends on engine (the ActionRunner interface), artifacts, providers and
// definitions (the catalogue). start() and next() may be called from the
// control thread only; threads are joined, never detached.
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

namespace stageline::jobs {

class LocalRunner : public engine::ActionRunner {
 public:
  struct Options {
    std::filesystem::path work_root;  // workspaces are created and removed under it
    // Source actions read from a directory instead of their provider:
    // action name -> directory (its .git is left out).
    std::map<std::string, std::filesystem::path> source_dirs;
    std::map<std::string, std::string> base_environment;  // PATH, HOME, LANG, ...
    std::string region = "us-east-1";
    // Output of a running action, from its worker thread. May be empty.
    std::function<void(const engine::ActionStart&, std::string_view chunk)> on_output;
  };

  struct Completion {
    std::string action_execution_id;
    engine::ActionOutcome outcome;
  };

  LocalRunner(artifacts::ArtifactStore& artifacts, Options options);
  // Stops running actions (SIGTERM, then SIGKILL) and joins every thread.
  ~LocalRunner() override;

  void start(const engine::ActionStart& start) override;

  // The next finished action, waiting up to `timeout`; nullopt on timeout.
  std::optional<Completion> next(std::chrono::milliseconds timeout);

  // Actions started and not yet returned by next().
  int outstanding() const { return outstanding_; }

 private:
  engine::ActionOutcome run(const engine::ActionStart& start);
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
  std::map<std::string, std::thread> threads_;  // by action execution id
  int outstanding_ = 0;
};

}  // namespace stageline::jobs
