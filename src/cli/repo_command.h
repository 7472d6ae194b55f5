// cli/repo_command: `stageline repo`, the short forms for CodeCommit
// repositories hosted by the local server (the long forms are `stageline aws
// codecommit ...`):
//
//   stageline repo create NAME [--description D]   CreateRepository; prints
//                                                   the clone URL and how to push
//   stageline repo list                            every repository and its URL
//   stageline repo credential get                  a git credential helper:
//                                                   answers the access key id
//                                                   and secret of the profile
//
// Talks to the server through stageline_client only (CodeCommit JSON 1.1,
// SigV4 for "codecommit"); never links the engine or the store.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "cli/client_verbs.h"

namespace stageline::cli {

// Returns the exit code: 0 done, 2 usage, 255 the server said no or could
// not be reached. `in` is read by `credential` only (git's request).
int run_repo(const std::vector<std::string>& args, const ClientEnvironment& env, std::istream& in,
             std::ostream& out, std::ostream& err);

}  // namespace stageline::cli
