// cli/action_types_command: `stageline action-types register FILE.json` and
// `stageline action-types list`: register a ThirdParty action type (an
// ActionTypeDeclaration, as GetActionType shows one) with the server, and
// list the registered ones. Both talk to the server's /action-types
// extension (docs/api.md, "Registered action types"), signed with SigV4 like
// every request; a registered type is changed afterwards with the API's own
// UpdateActionType (`aws codepipeline update-action-type`). Talks to the
// server through stageline_client only.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli/client_verbs.h"

namespace stageline::cli {

// The request body of `register` for the contents of FILE.json: either
// {"actionType": {...}} (UpdateActionType's --cli-input-json) or the bare
// ActionTypeDeclaration {...} (GetActionType's actionType), which is wrapped.
// kInvalidArgument if the text is not a JSON object.
Result<std::string> registration_body(std::string_view file_text);

// Returns the exit code: 0 done, 2 usage (or an unreadable file), 255 the
// server refused or could not be asked.
int run_action_types(const std::vector<std::string>& args, const ClientEnvironment& env,
                     std::ostream& out, std::ostream& err);

}  // namespace stageline::cli
