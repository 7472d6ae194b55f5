// cli/approve_command: `stageline approve` and `stageline reject`, the short
// forms of answering a manual approval on the local server:
//
//   stageline approve PIPELINE STAGE ACTION [--summary TEXT]
//   stageline reject  PIPELINE STAGE ACTION [--summary TEXT]
//
// They find the waiting approval's token in GetPipelineState (the action's
// latestExecution.token) and answer it with PutApprovalResult, as a person
// following the seed does by hand with the aws CLI. The connection flags are
// those of every client verb (client_verbs.h).
//
// Talks to the server through stageline_client only; never links the engine
// or the store.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli/client_verbs.h"

namespace stageline::cli {

// `approved` picks the verb: true `approve`, false `reject`. Returns the exit
// code: 0 answered, 2 usage, 255 the server said no (no approval waiting
// there, a token already used, ...) or could not be reached.
int run_approve(bool approved, const std::vector<std::string>& args, const ClientEnvironment& env,
                std::ostream& out, std::ostream& err);

}  // namespace stageline::cli
