// builds/build_service: runs CodeBuild builds of stored projects and keeps
// their records, for the CodeBuild API (StartBuild, StopBuild) and for the
// CodeBuild action of pipelines (codebuild_action.h).
//
// Store layout (resources table, docs/store-schema.md):
//   ("codebuild", "project", <name>): {"project": <Project shape>,
//       "buildCount": <builds started so far>}
//   ("codebuild", "build", <project>:<uuid>): the AWS Build shape, updated
//       as phases start and end (so BatchGetBuilds shows a running build).
// Build logs are files: <work_root>/logs/<project>/<uuid>.log (the Build's
// logs.deepLink is their file:// URL; for pipeline builds the action's log
// holds the same lines).
//
// Thread safety: every member may be called from any thread. Builds started
// with start_build run on threads of their own; the service joins them when
// they end (reap(), or the destructor, which stops the running ones).
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "artifacts/artifact_store.h"
#include "base/status.h"
#include "builds/buildspec.h"
#include "builds/runner.h"
#include "secrets/resolver.h"
#include "store/store.h"

namespace stageline::builds {

inline constexpr const char* kService = "codebuild";  // resources.service
inline constexpr const char* kProjectKind = "project";
inline constexpr const char* kBuildKind = "build";

struct BuildServiceOptions {
  std::string region = "us-east-1";
  std::string account_id = "111122223333";
  // Build workspaces (removed after each build) and logs live under it.
  std::filesystem::path work_root;
  std::map<std::string, std::string> base_environment;  // PATH, HOME, LANG, TMPDIR
  std::function<int64_t()> now_ms;                      // REQUIRED
  std::function<std::string()> new_id;                  // REQUIRED: a lower-case UUID
  // Called on a build's own thread when a build started by start_build has
  // ended and its record is final. Must be thread-safe (e.g. post to the
  // control thread, which then calls reap()). May be empty.
  std::function<void(const std::string& build_id)> on_build_finished;
  // Resolves PARAMETER_STORE and SECRETS_MANAGER values (buildspec
  // env.parameter-store and env.secrets-manager, environment variables of
  // those types) on the build's thread. Borrowed; must outlive the service.
  // nullptr: such values are refused (see plaintext_variables).
  secrets::ValueResolver* resolver = nullptr;
  // The bubblewrap program for sandboxed projects (BuildJob::Sandbox).
  std::string bwrap = "bwrap";
};

// The project tag that opts a project into the bubblewrap sandbox: value
// "true" (no network) or "network" (network allowed). docs/secrets.md.
inline constexpr const char* kSandboxTag = "stageline:sandbox";

// A (name, value, type) of environmentVariables or EnvironmentVariables.
struct EnvironmentVariable {
  std::string name;
  std::string value;
  std::string type = "PLAINTEXT";  // PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER
};

// Reads [{"name","value","type"}] (type optional). kInvalidArgument naming
// the entry when one is malformed.
Result<std::vector<EnvironmentVariable>> parse_environment_variables(const boost::json::value& list,
                                                                     const std::string& what);

// For a service without a resolver: PLAINTEXT only; PARAMETER_STORE and
// SECRETS_MANAGER fail (kInvalidArgument) with a message saying so.
Result<std::vector<std::pair<std::string, std::string>>> plaintext_variables(
    const std::vector<EnvironmentVariable>& vars, const std::string& what);

// What a pipeline's CodeBuild action asks for (see codebuild_action.h).
struct ActionBuildRequest {
  std::string project_name;
  std::string pipeline_name;
  std::filesystem::path workspace;  // the action's, existing
  // The input artifacts extracted: the primary first; (name, dir).
  std::vector<std::pair<std::string, std::filesystem::path>> inputs;
  std::vector<EnvironmentVariable> environment_overrides;
  std::string buildspec_override;       // inline YAML or a path under the primary source
  std::string source_version;           // e.g. arn:aws:s3:::bucket/key of the primary input
  std::string resolved_source_version;  // a commit id, when known
  std::chrono::minutes timeout{36 * 60};
  // Output artifacts in declared order: the first from `artifacts`, every
  // one also from the secondary-artifacts entry of its name when present.
  std::vector<std::string> outputs;
  // Stores one output (artifact name, staged directory); returns its record.
  std::function<Result<model::ArtifactRecord>(const std::string&, const std::filesystem::path&)>
      store_output;
  std::function<void(std::string_view line)> on_line;
  std::function<bool()> cancelled;
};

struct ActionBuildResult {
  std::string build_id;  // project:uuid
  std::string build_arn;
  BuildResult build;
  std::vector<model::ArtifactRecord> artifacts;
};

class BuildService {
 public:
  // Borrows the store, which must outlive the service.
  // REQUIRES: options.now_ms and options.new_id are set.
  BuildService(store::Store& store, artifacts::ArtifactStore& artifacts,
               BuildServiceOptions options);
  // Stops the running builds (their records end STOPPED) and joins them.
  ~BuildService();
  BuildService(const BuildService&) = delete;
  BuildService& operator=(const BuildService&) = delete;

  // The stored document of project `name` ({"project", "buildCount"}).
  // kNotFound when there is none.
  Result<boost::json::object> project(const std::string& name);

  // StartBuild: records the build (IN_PROGRESS, buildNumber from the
  // project's counter) and runs it on a new thread; returns the Build.
  // The source is the project's: NO_SOURCE (the buildspec must be inline)
  // or S3 ("bucket/key" of a zip in the object store). Errors:
  // kNotFound for a missing project; kInvalidArgument for what this
  // machine cannot build (CODEPIPELINE source outside a pipeline, other
  // source types, artifacts other than NO_ARTIFACTS, non-PLAINTEXT
  // variables, a bad buildspec); kIo when the store fails.
  struct StartRequest {
    std::string project_name;
    std::optional<std::string> buildspec_override;
    std::vector<EnvironmentVariable> environment_overrides;
    std::string source_version;
    std::optional<int> timeout_in_minutes;
    std::string initiator = "stageline";
  };
  Result<boost::json::object> start_build(const StartRequest& request);

  // StopBuild: asks a running build to stop; returns its Build as stored
  // now. kNotFound when there is no such build.
  Result<boost::json::object> stop_build(const std::string& build_id);

  // The Build of `build_id`; kNotFound when there is none.
  Result<boost::json::object> build(const std::string& build_id);

  // Runs a pipeline action's build on the calling thread (a runner worker),
  // recording it like any build. An error is a build that could not be set
  // up (kNotFound project, kInvalidArgument buildspec or outputs, kIo).
  Result<ActionBuildResult> run_action_build(const ActionBuildRequest& request);

  // Whether PARAMETER_STORE and SECRETS_MANAGER values can be resolved.
  bool resolves_secrets() const { return options_.resolver != nullptr; }

  // Joins the threads of builds that have ended.
  void reap();

  // Ends the builds a previous server left IN_PROGRESS (it stopped or
  // crashed while they ran): FAULT, with the running phase FAULT and a
  // context saying why. Call once at start, before builds run. Returns how
  // many were ended; kIo (or the store's error) when the store fails.
  Result<int> recover();

 private:
  struct Running {
    std::thread thread;
    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};
  };
  struct Plan;
  Result<Plan> begin(const std::string& project_name, const std::string& initiator,
                     const std::string& source_version, int timeout_minutes);
  Status save(const std::string& build_id, const boost::json::object& build);
  void finish(Plan& plan, const BuildResult& result);

  store::Store& store_;
  artifacts::ArtifactStore& artifacts_;
  BuildServiceOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Running>> running_;  // by build id
};

// The environment variables of one build once every reference is resolved.
struct ResolvedVariables {
  std::vector<std::pair<std::string, std::string>> buildspec;  // parameter-store, secrets-manager
  std::vector<std::pair<std::string, std::string>> project;
  std::vector<std::pair<std::string, std::string>> overrides;
  std::vector<std::string> secret_values;  // every resolved value, to mask
  // Set when a reference could not be resolved: the phase context's
  // statusCode ("Decrypted Variables Error" for the Parameter Store,
  // "Secrets Manager Error") and a message naming the reference.
  std::string failure_code;
  std::string failure_message;
};

// Resolves the buildspec's env.parameter-store and env.secrets-manager and
// the PARAMETER_STORE / SECRETS_MANAGER entries of `project` and
// `overrides` through `resolver` (PLAINTEXT values pass through). Stops at
// the first failure, recorded in failure_code and failure_message.
// REQUIRES: resolver is not nullptr, or there is nothing to resolve.
ResolvedVariables resolve_variables(const Buildspec& spec,
                                    const std::vector<EnvironmentVariable>& project,
                                    const std::vector<EnvironmentVariable>& overrides,
                                    secrets::ValueResolver* resolver);

// The buildspec text of a build: `override_text` when set, else the
// project source's `buildspec`, else buildspec.yml; a value without a
// newline that does not look like YAML ("version:") is a path relative to
// `source_dir`. kNotFound naming the file when it is missing.
Result<std::string> buildspec_text(const std::string& override_text,
                                   const std::string& project_buildspec,
                                   const std::filesystem::path& source_dir);

}  // namespace stageline::builds
