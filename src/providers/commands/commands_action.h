// providers/commands: the Commands action (Compute / AWS / Commands / 1) run on
// this machine. The action's single-line commands run in order in one /bin/sh
// process started in the primary input directory, so `cd` and `export` carry
// over from one command to the next as in CodeBuild's build phase; the first
// command that ends with a non-zero status stops the rest. Output variables are
// read back from that same shell after the last command.
// Depends on base and jobs only (jobs/process starts and stops the child).
// Reference: docs codepipeline-reference.md sections 16 and 17.2.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace stageline::providers {

// Everything one run of a Commands action needs. Owned by the caller; only
// read by run_commands_action. The callbacks run on the calling thread.
struct CommandsJob {
  // An existing, empty directory owned by this job. The generated script and
  // the run's bookkeeping files live here, never in an input directory.
  std::filesystem::path workspace;
  // Input artifacts already extracted, in declaration order: the first is the
  // primary source (the working directory and CODEBUILD_SRC_DIR), each other
  // one is also exported as CODEBUILD_SRC_DIR_<name>.
  std::vector<std::pair<std::string, std::filesystem::path>> inputs;
  std::vector<std::string> commands;  // already variable-resolved, single-line each
  // The action's environmentVariables (resolved), in declaration order.
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<std::string> output_variables;            // names to read back after the commands
  std::map<std::string, std::string> base_environment;  // PATH, HOME, LANG, ...
  std::map<std::string, std::string> codepipeline_environment;  // CODEBUILD_BUILD_ID, AWS_REGION
  std::chrono::seconds timeout{55 * 60};
  // Output (stdout and stderr interleaved) as it is produced; may be called
  // many times. May be empty.
  std::function<void(std::string_view chunk)> on_output;
  // Polled about every 50 ms; true stops the run: SIGTERM to the process
  // group, SIGKILL 5 s later. May be empty.
  std::function<bool()> cancelled;
};

// How a run ended, when it could be run at all.
struct CommandsResult {
  bool succeeded = false;
  // "Commands succeeded", "Command 'make test' exited with code 2",
  // "Output variable 'VERSION' was not set by the commands",
  // "Timed out after 55 minutes", "Stopped".
  std::string summary;
  std::string failed_command;  // the command that failed, if one did
  // Only when succeeded: every name of CommandsJob::output_variables with the
  // value the shell had after the last command (exported or not).
  std::map<std::string, std::string> output_variables;
};

// Runs the commands of `job` and blocks until they end, time out or are
// cancelled. The child's environment is exactly base_environment, then
// codepipeline_environment, then CODEBUILD_SRC_DIR and CODEBUILD_SRC_DIR_<name>,
// then the action's environment, later entries winning (plus what /bin/sh
// itself sets, such as PWD). Nothing of this process's environment leaks in.
//
// A failing command, a timeout, a cancellation, a command that ends the shell
// early (`exit 0`) and an output variable that is unset after the last command
// all give an ok Result whose `succeeded` is false.
//
// Errors: InvalidArgument when there are no commands or no inputs, a command
// holds a newline or NUL, an output variable name is not a shell name
// ([A-Za-z_][A-Za-z0-9_]*), or an environment name is empty or holds '=' or
// NUL; Io when the script cannot be written or the shell cannot be started or
// watched. Background processes left by the commands are killed when the shell
// ends.
// REQUIRES: job.workspace exists; job.inputs[0].second exists.
Result<CommandsResult> run_commands_action(const CommandsJob& job);

}  // namespace stageline::providers
