// jobs/provider: how the in-process runner runs the actions of providers that
// live in other modules (source providers, builds, deploys). The composition
// root registers each provider with LocalRunner::Options::providers under its
// action type; the runner prepares the action's workspace and inputs, calls
// run() on one of its worker threads, and hands the outcome to the engine.
// Depends on engine (ActionStart, ActionOutcome) and artifacts only.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "artifacts/artifact_store.h"
#include "engine/engine.h"

namespace stageline::jobs {

// What a provider gets for one action. Valid for the duration of run().
struct ProviderContext {
  const engine::ActionStart& start;
  // The action's own directory, empty at the start and removed after run().
  std::filesystem::path workspace;
  // The input artifacts, extracted, in declared order: (artifact name, dir).
  std::vector<std::pair<std::string, std::filesystem::path>> inputs;
  // Where output artifacts are stored (ArtifactStore::put_artifact into
  // start.artifact_bucket); the provider returns the records it stored in
  // ActionOutcome::artifacts.
  artifacts::ArtifactStore& artifacts;
  // Appends to the action's log (what `stageline logs` and the console show);
  // text is cut into lines at '\n'. Thread-safe for this action.
  std::function<void(std::string_view)> output;
  // True once the runner is stopping: a long provider should give up soon
  // (its outcome is then ignored, and the action recovered on restart).
  std::function<bool()> cancelled;
};

class ActionProvider {
 public:
  virtual ~ActionProvider() = default;

  // Runs one action. Called on a runner worker thread, possibly for several
  // actions at once: implementations must be thread-safe. Never throws: a
  // failure is an outcome with error_code (JobFailed, ConfigurationError,
  // PermissionError, RevisionUnavailable, ...) and a message for the user.
  virtual engine::ActionOutcome run(const ProviderContext& context) = 0;
};

// The key a provider is registered under: "<Category>/<Owner>/<Provider>",
// e.g. "Source/AWS/CodeCommit" (every version of the type).
std::string provider_key(const model::ActionTypeId& type);

// The action's configuration value for `key`, "" when it has none.
inline std::string config_value(const model::ActionDeclaration& action, const std::string& key) {
  if (!action.configuration) return "";
  auto it = action.configuration->find(key);
  return it == action.configuration->end() ? "" : it->second;
}

// A failed outcome: `code` (JobFailed, ConfigurationError, ...) and the
// message the user sees.
inline engine::ActionOutcome action_failure(std::string code, std::string message) {
  engine::ActionOutcome o;
  o.succeeded = false;
  o.error_code = std::move(code);
  o.error_message = std::move(message);
  return o;
}

}  // namespace stageline::jobs
