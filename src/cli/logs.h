// cli/logs: `stageline logs EXECUTION_ID --pipeline-name NAME [--action NAME]
// [--follow]`: prints the log lines of an execution's action executions, read
// from the server's GET /logs/ACTION_EXECUTION_ID (signed like every request),
// each prefixed with "Stage/Action | "; with --follow, keeps reading until the
// execution ends. Talks to the server through stageline_client only.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli/client_verbs.h"

namespace stageline::cli {

// Returns the exit code: 0 done, 2 usage, 255 the server could not be asked.
int run_logs(const std::vector<std::string>& args, const ClientEnvironment& env, std::ostream& out,
             std::ostream& err);

}  // namespace stageline::cli
