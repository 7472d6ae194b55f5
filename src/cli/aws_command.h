// cli/aws_command: `stageline aws ARGS...` runs the installed aws CLI against
// the local Stageline server, so every CodePipeline operation (not only the
// native verbs) is reachable without typing --endpoint-url: it adds
// --endpoint-url and --region (from the flags, DATA_DIR/server.json or the
// defaults; see api/client/api_client.h) unless ARGS already carry them, and
// points AWS_SHARED_CREDENTIALS_FILE at the server's credentials.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/client_verbs.h"

namespace stageline::cli {

// The command to exec and its environment changes.
struct AwsInvocation {
  std::vector<std::string> argv;  // argv[0] is "aws"
  // Variables to set (name, value) and to remove before exec.
  std::vector<std::pair<std::string, std::string>> set_env;
  std::vector<std::string> unset_env;
};

// Plans `stageline aws ARGS...`. ARGS may hold --data-dir DIR (ours: removed
// from what aws sees) anywhere. Unless ARGS name --endpoint-url / --region,
// they are appended. The credentials file is DATA_DIR/credentials with
// --data-dir, else $AWS_SHARED_CREDENTIALS_FILE if set (kept as it is), else
// the default data directory's; when this sets it, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_PROFILE are removed (they
// would win over the file), unless ARGS have --profile. Errors: --data-dir
// without a value; a bad server.json.
Result<AwsInvocation> plan_aws(const std::vector<std::string>& args, const ClientEnvironment& env);

// Plans and execs the aws CLI (replacing this process). Returns only on
// failure: 127 with a message when aws is not installed, 2 for bad ARGS.
int run_aws(const std::vector<std::string>& args, const ClientEnvironment& env, std::ostream& err);

}  // namespace stageline::cli
