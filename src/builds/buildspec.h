// builds: CodeBuild on this machine (issue #6). A buildspec (version 0.2) is
// read into a plain Buildspec (buildspec.h), run phase by phase in one shell
// per build (runner.h), its artifacts chosen by glob (artifact_files.h), and
// the CodeBuild action of a pipeline runs a project's build through all of it
// (codebuild_action.h). Build records are the AWS Build shape kept as
// resources ("codebuild", "build", <id>) (build_record.h), so the CodeBuild
// API (src/api/codebuild) and the action share them.
// Depends on base, jobs (process, provider), artifacts, engine (ActionStart,
// ActionOutcome), store and secrets (the resolver and masker); never on HTTP
// or the wire layer.
// Reference: docs codepipeline-reference.md section 17.
//
// buildspec: parses buildspec YAML into a Buildspec. Pure; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace stageline::builds {

// What a phase does when one of its commands fails (reference §17.3).
enum class OnFailure {
  kDefault,   // the transitions of §17.4
  kAbort,     // stop the build: skip to FINALIZING
  kContinue,  // go on with the next phase (the build still fails)
  kRetry,     // run the phase again, up to retry_count times, if the error matches
};

struct Phase {
  bool present = false;  // the key is in the buildspec
  int line = 0;          // of the key, 1-based; 0 when absent
  std::vector<std::string> commands;
  std::vector<std::string> finally;
  OnFailure on_failure = OnFailure::kDefault;
  int retry_count = 0;      // kRetry: how many more times (RETRY: 3)
  std::string retry_regex;  // kRetry: ECMAScript regex on the error message (".*")
  std::string run_as;       // recorded; builds run as the server's user
  // install only: runtime -> version, recorded (nothing is installed).
  std::vector<std::pair<std::string, std::string>> runtime_versions;
};

// `artifacts` or one of its secondary-artifacts.
struct ArtifactSpec {
  std::vector<std::string> files;  // globs (artifacts/glob.h), relative to base_directory
  std::string name;
  std::string base_directory;  // relative to CODEBUILD_SRC_DIR; "" is the source dir
  bool discard_paths = false;
  std::vector<std::string> exclude_paths;  // globs, relative to base_directory
  bool enable_symlinks = false;
  std::string s3_prefix;
};

struct Buildspec {
  std::string version;  // "0.2"
  std::string run_as;
  struct Env {
    std::string shell;  // "" (bash when present, else /bin/sh), "bash" or "/bin/sh"
    std::vector<std::pair<std::string, std::string>> variables;
    std::vector<std::pair<std::string, std::string>> parameter_store;
    std::vector<std::pair<std::string, std::string>> secrets_manager;
    std::vector<std::string> exported_variables;
    bool git_credential_helper = false;
  } env;
  Phase install, pre_build, build, post_build;
  bool has_artifacts = false;
  ArtifactSpec artifacts;
  // By artifact identifier, in file order.
  std::vector<std::pair<std::string, ArtifactSpec>> secondary_artifacts;
  // What is accepted but not acted on ("reports: accepted, not used: ..."),
  // for the build log.
  std::vector<std::string> notes;
};

// Parses `yaml` (the text of a buildspec.yml or an inline buildspec).
// Errors: kInvalidArgument listing every problem found, each as
// "line N: <path>: <what is wrong>" (e.g. "line 7: phases.build.commands[1]:
// a command must be a string; quote it, since ': ' makes YAML read a map"),
// joined with "; ". Unknown top-level keys and unknown phase names are
// errors with the closest valid name; version must be 0.2 (0.1 runs each
// command in its own shell and is refused with a message saying so).
Result<Buildspec> parse_buildspec(std::string_view yaml);

// Whether `name` is a shell variable name ([A-Za-z_][A-Za-z0-9_]*).
bool is_shell_name(std::string_view name);

}  // namespace stageline::builds
