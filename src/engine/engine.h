// engine/engine: the shell around PipelineMachine. It owns one machine per
// pipeline, commits every batch of the machine's effects to the store in one
// transaction before acting on it, resolves variables and input artifacts of
// each action that starts, and hands it to an ActionRunner (the in-process
// job runner, later also remote job workers). Results come back through
// action_finished(). Not thread-safe: one control thread calls it; runners
// report from their own threads through a queue the control thread drains.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/machine.h"
#include "engine/variables.h"
#include "model/execution.h"
#include "store/store.h"

namespace stageline::engine {

// Everything a runner needs to start one action.
struct ActionStart {
  std::string pipeline_name;
  std::string execution_id;
  std::string action_execution_id;
  std::string stage_name;
  int attempt = 1;
  model::ActionDeclaration action;  // configuration, commands and environment resolved
  // Input artifacts in declared order.
  std::vector<std::pair<std::string, model::ArtifactLocation>> inputs;
  std::string artifact_bucket;
  // How long the runner lets it run before failing it (reference §15).
  std::chrono::minutes timeout{60};
};

struct ActionOutcome {
  bool succeeded = false;
  std::string summary;
  std::string error_code;  // JobFailed, ConfigurationError, ... when failed
  std::string error_message;
  std::map<std::string, std::string> output_variables;
  std::vector<model::ArtifactRecord> artifacts;  // the outputs it stored
};

class ActionRunner {
 public:
  virtual ~ActionRunner() = default;
  // Starts the action; the result must come back through
  // Engine::action_finished exactly once (on the control thread).
  virtual void start(const ActionStart& start) = 0;
};

class Engine {
 public:
  struct Options {
    std::function<model::TimestampMs()> now_ms;
    std::function<std::string()> new_id;  // lower-case UUIDs
    // Called on the control thread after each committed change of an action
    // execution (started, finished, abandoned, interrupted). May be empty.
    std::function<void(const model::ActionExecutionRecord&)> on_action;
  };

  Engine(store::Store& store, ActionRunner& runner, Options options);

  // Starts an execution of the stored pipeline. `variables` override the
  // declared defaults; a declared variable without a default is required.
  // A non-empty `client_request_token` makes the start idempotent: the same
  // token for the same pipeline returns the execution it started the first
  // time (StartPipelineExecution's clientRequestToken).
  Result<std::string> start_execution(
      const std::string& pipeline_name,
      const std::vector<std::pair<std::string, std::string>>& variables, model::TriggerType trigger,
      const std::string& trigger_detail = "", const std::string& client_request_token = "");

  // After a restart: rebuilds every execution the store says is InProgress
  // or Stopping and continues it. Actions that were in flight are recorded as
  // Failed ("interrupted by a restart") and start again as new attempts;
  // finished actions never run again. Returns the ids of the executions it
  // continued. Call once, before anything else.
  Result<std::vector<std::string>> recover();

  // A runner's result. Unknown or already finished action executions are
  // ignored (at-least-once delivery).
  Status action_finished(const std::string& action_execution_id, const ActionOutcome& outcome);

  // The machine's view of an execution (nullptr when unknown).
  const ExecutionState* execution(const std::string& pipeline, const std::string& id) const;

 private:
  struct InFlight {
    std::string pipeline;
    std::string execution_id;
    int stage;
    std::string action;
  };
  struct Pipeline {
    std::unique_ptr<PipelineMachine> machine;
    std::map<int, model::PipelineDeclaration> versions;
  };

  Result<Pipeline*> load(const std::string& name);
  // Commits `effects`, then starts the actions they name. Actions that fail
  // before they start (an unresolvable variable, a missing artifact) are
  // failed at once and their consequences applied too.
  Status apply(const std::string& pipeline, Effects effects);
  Result<ActionStart> prepare(store::StoreReader& reader, const std::string& pipeline,
                              const model::PipelineDeclaration& decl,
                              const model::PipelineExecutionRecord& execution, const Effect& e,
                              std::string& failure);

  store::Store& store_;
  ActionRunner& runner_;
  Options options_;
  std::map<std::string, Pipeline> pipelines_;
  std::map<std::string, model::PipelineExecutionRecord> executions_;
  std::map<std::string, InFlight> in_flight_;
  // What each active execution's actions may reference, kept up to date as
  // actions succeed so starting an action does not re-read the execution's
  // history (built from the store on first use, e.g. after recover()).
  std::map<std::string, VisibleVariables> visible_;
};

}  // namespace stageline::engine
