// builds/runner: runs one build of a buildspec on this machine, the way
// CodeBuild runs it (reference §17.3 and §17.4):
//
//   SUBMITTED, QUEUED, PROVISIONING (the shell starts), DOWNLOAD_SOURCE (the
//   caller's callback), INSTALL, PRE_BUILD, BUILD, POST_BUILD,
//   UPLOAD_ARTIFACTS (the caller's callback), FINALIZING, COMPLETED.
//
// Every command of the build runs in ONE long-lived shell (bash when
// installed, else /bin/sh; `env.shell` picks), so `cd`, variables and
// functions carry from one command and phase to the next, as in buildspec
// 0.2. The shell runs in its own process group with an explicit environment
// and stdin on /dev/null; it reads the number of the next command from a FIFO
// in the control directory, sources that command's file, and writes back
// "<number> <status>" on a second FIFO (both closed for the command itself).
// A command that ends the shell (`exit 3`) fails with that status; later
// commands then run in a new shell (the log says so).
//
// Transitions: the first failing command of a phase stops its other
// commands, `finally` still runs, and the phase fails. A failed INSTALL or
// PRE_BUILD skips to FINALIZING; a failed BUILD still runs POST_BUILD with
// CODEBUILD_BUILD_SUCCEEDING=0 and attempts UPLOAD_ARTIFACTS; a failed
// POST_BUILD still attempts UPLOAD_ARTIFACTS. `on-failure: ABORT` skips to
// FINALIZING, CONTINUE goes on with the next phase (the build still fails),
// RETRY[-count][-regex] runs the failed phase again (same shell) while the
// count lasts and the error message matches. The timeout kills the group
// (TIMED_OUT); cancellation kills it (STOPPED). Exported variables are read
// from the shell after POST_BUILD.
//
// Thread-compatible: run_build blocks its calling thread; callbacks run on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "builds/buildspec.h"

namespace stageline::builds {

// A phase as BatchGetBuilds shows it (BuildPhase).
struct PhaseRecord {
  std::string type;  // "SUBMITTED" ... "COMPLETED"
  std::string
      status;  // SUCCEEDED, FAILED, FAULT, TIMED_OUT, STOPPED; "" while running and for COMPLETED
  int64_t start_ms = 0;
  int64_t end_ms = 0;  // 0 while running and for COMPLETED
  // (statusCode, message), e.g. ("COMMAND_EXECUTION_ERROR", "Error while
  // executing command: make. Reason: exit status 2").
  std::vector<std::pair<std::string, std::string>> contexts;
};

struct BuildJob {
  Buildspec spec;
  // An existing directory owned by this build for the shell's FIFOs and
  // command files; never a source directory.
  std::filesystem::path control_dir;
  // CODEBUILD_SRC_DIR: where the shell starts.
  std::filesystem::path source_dir;
  // The complete environment (see compose_environment); nothing of this
  // process's own environment leaks in. PATH is used to find bash.
  std::map<std::string, std::string> environment;
  std::chrono::seconds timeout{60 * 60};
  std::function<int64_t()> now_ms;  // REQUIRED
  // Each line of output (the shell's and the runner's "[Container] ..."
  // lines), without its '\n'. May be empty.
  std::function<void(std::string_view line)> on_line;
  // Polled about every 50 ms; true stops the build. May be empty.
  std::function<bool()> cancelled;
  // After each phase starts or ends: the phases so far. May be empty.
  std::function<void(const std::vector<PhaseRecord>&)> on_progress;
  // DOWNLOAD_SOURCE and UPLOAD_ARTIFACTS; an error fails the phase with
  // CLIENT_ERROR and its message. Empty: nothing to do.
  std::function<Status()> download_source;
  std::function<Status()> upload_artifacts;
  // Values resolved from the Parameter Store and Secrets Manager: each is
  // replaced by "***" in every line passed to on_line, also when the shell
  // writes it in pieces (secrets/masker.h).
  std::vector<std::string> secret_values;
  // The opt-in bubblewrap sandbox (docs/secrets.md, "Sandbox"): the shell
  // runs under `bwrap` with the system read-only (--ro-bind / /), a private
  // /tmp (also HOME and TMPDIR), fresh /dev and /proc, `writable` (and the
  // control and source directories) bound read-write, no network unless
  // `network`, and --die-with-parent. The shell keeps its own process
  // group, so timeouts and stops kill everything in the sandbox.
  struct Sandbox {
    bool enabled = false;
    bool network = false;
    std::string bwrap = "bwrap";  // a path, or a name looked up in PATH
    std::vector<std::filesystem::path> writable;
  } sandbox;
};

struct BuildResult {
  std::string status;  // SUCCEEDED, FAILED, FAULT, TIMED_OUT, STOPPED
  std::vector<PhaseRecord> phases;
  // env.exported-variables that were set at the end of POST_BUILD.
  std::map<std::string, std::string> exported_variables;
  std::string failed_phase;  // the first phase that failed, e.g. "BUILD"
  std::string message;       // "Phase BUILD failed: COMMAND_EXECUTION_ERROR: ..." or ""
  bool succeeded() const { return status == "SUCCEEDED"; }
};

// Runs the build and blocks until it ends. A failing command, a timeout and
// a cancellation are ok Results with the status saying so.
// A sandbox whose bwrap cannot be found fails PROVISIONING with a message
// saying so (the commands never run).
// Errors: kIo when the control files cannot be made or the shell cannot be
// started or watched; kInvalidArgument for an environment name that is empty
// or holds '=' or NUL, or a value with NUL.
Result<BuildResult> run_build(const BuildJob& job);

// The environment of a build, later layers winning (reference §17.1:
// StartBuild overrides > project > buildspec): `base` (PATH, HOME, LANG),
// then `builtins` (CODEBUILD_*), then the buildspec's env.variables, then
// then the buildspec's resolved env.parameter-store and env.secrets-manager
// (`buildspec_secrets`), then the project's, then the overrides. Values are
// taken literally ($PATH is not expanded).
std::map<std::string, std::string> compose_environment(
    const std::map<std::string, std::string>& base,
    const std::map<std::string, std::string>& builtins, const Buildspec& spec,
    const std::vector<std::pair<std::string, std::string>>& project,
    const std::vector<std::pair<std::string, std::string>>& overrides,
    const std::vector<std::pair<std::string, std::string>>& buildspec_secrets = {});

}  // namespace stageline::builds
