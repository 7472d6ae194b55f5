// server: the composition root, the one place that knows every module. Today
// it holds `stageline run`: one pipeline definition run locally, in-process,
// on a data directory (a temporary one by default): the store, the artifact
// store, the engine and the in-process job runner wired together.
#pragma once

#include <istream>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "jobs/local_runner.h"

namespace stageline::server {

struct RunArgs {
  std::string file;
  std::string data_dir;                        // "" = a temporary directory, removed afterwards
  std::map<std::string, std::string> sources;  // source action name -> directory
  std::vector<std::pair<std::string, std::string>> variables;  // pipeline variables
  std::map<std::string, std::string> parameter_overrides;      // for templates
  std::string pipeline;  // which pipeline of a template holding several
  std::string region = "us-east-1";
  // Continue the executions a killed run left InProgress in `data_dir`
  // instead of starting one (`file` is not read).
  bool resume = false;
  // Answers for manual approvals: true approve, false reject, absent ask
  // on the terminal when stdin is one (ask_approval), else the approval
  // fails saying how to answer it.
  std::optional<bool> approve;
};

// Asks the person at a terminal about a waiting manual approval: writes the
// question (pipeline, stage, action, CustomData, ExternalEntityLink) to `out`
// and reads lines from `in` until one starts with an answer: "y"/"yes"/
// "approve" or "n"/"no"/"reject", the rest of the line being the summary.
// nullopt at end of input (the approval then fails saying how to answer it).
std::optional<jobs::LocalRunner::Options::ApprovalAnswer> ask_approval(
    std::istream& in, std::ostream& out, const engine::ActionStart& start);

// Runs the pipeline once. Returns 0 when the execution Succeeded, 1 when it
// did not (or the definition is invalid), 2 when the file cannot be read or
// the data directory cannot be used.
int run_local(const RunArgs& args, std::ostream& out, std::ostream& err);

}  // namespace stageline::server
