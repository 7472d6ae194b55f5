// cli/client_verbs: the everyday CodePipeline operations as `stageline` verbs
// with the aws CLI's names, flags and output (`stageline get-pipeline --name
// p` prints what `aws codepipeline get-pipeline --name p` prints), sent to the
// local Stageline server found through its data directory (see
// api/client/api_client.h, locate_server).
//
// The pieces, each testable without a server:
//   - VerbSpec: one verb's operation and flags (client_verbs() lists them).
//   - parse_verb_args: the arguments after the verb, read as the aws CLI reads
//     them (--flag value, --flag=value, --flag/--no-flag booleans, lists with
//     several values, file:// values, JSON or shorthand structures,
//     --cli-input-json, --max-items/--starting-token/--page-size/--no-paginate)
//     into the operation's input and the connection flags.
//   - run_operation: one call, or for paginated operations the pages merged as
//     botocore's paginator merges them (with its NextToken format).
//   - run_client_verb: all of it, printing the output as the aws CLI does
//     (aws_json.h) or the error as it does; returns the exit code. Calls are
//     retried as the aws CLI's standard retry mode retries them (3 attempts;
//     see api/client/api_client.h, RetryOptions).
// Depends on api/client (the signing HTTP client) and Boost.JSON; never on the
// engine, the store or the server.
#pragma once

#include <boost/json/object.hpp>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "api/client/api_client.h"
#include "base/status.h"

namespace stageline::cli {

// Exit codes of the client verbs, as the aws CLI v1 uses them: 0 success,
// 2 a usage error (a missing or malformed argument), 255 an error from the
// service or the connection.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitServiceError = 255;

enum class ParamKind {
  kString,
  kInteger,
  kBoolean,    // --flag sets true, --no-flag false
  kStructure,  // JSON object or shorthand a=b,c=d; file:// allowed
  kList,       // one or more structures (shorthand or JSON) or one JSON list
};

struct ParamSpec {
  std::string_view flag;    // without "--", e.g. "pipeline-name"
  std::string_view member;  // the input member, e.g. "pipelineName"
  ParamKind kind = ParamKind::kString;
  bool required = false;
};

// How a paginated operation's pages are merged (botocore's paginators-1.json:
// input and output token "nextToken", limit key "maxResults").
struct Pagination {
  std::string_view result_key;
};

struct VerbSpec {
  std::string_view name;       // the aws CLI's name, e.g. "get-pipeline"
  std::string_view operation;  // the API operation, e.g. "GetPipeline"
  std::string_view summary;
  std::vector<ParamSpec> params;
  std::optional<Pagination> pagination;
  // Fill clientRequestToken with a random UUID when not given, as the SDKs do
  // for the model's idempotency tokens.
  bool idempotency_token = false;
};

// Every client verb, in the order `stageline --help` lists them.
const std::vector<VerbSpec>& client_verbs();
// The verb named `name`, or nullptr.
const VerbSpec* find_verb(std::string_view name);

// What the arguments of one verb say.
struct VerbRequest {
  boost::json::object input;
  api::client::LocateOptions where;  // endpoint_url, region, data_dir, profile
  std::optional<int64_t> max_items;
  std::optional<int64_t> page_size;
  std::string starting_token;
  bool paginate = true;
  bool help = false;  // --help or help: print usage instead
};

// Reads `args` (the words after the verb). Errors (kInvalidArgument, the
// message as the user should see it): an unknown flag (with the closest
// match), a missing value or required flag, a value that does not parse, an
// unreadable file:// value, --output other than json. `where.default_data_dir`
// and `where.shared_credentials_file` are left for the caller.
Result<VerbRequest> parse_verb_args(const VerbSpec& verb, const std::vector<std::string>& args);

// The usage text of `verb` (`stageline VERB --help`).
std::string verb_usage(const VerbSpec& verb);

// Reads a structure value as the aws CLI does: JSON when it starts with '{'
// or '[', otherwise shorthand syntax: key=value pairs separated by ',',
// values plain, quoted ('..' or ".."), {nested=shorthand} or [a,b] lists.
// Errors (kInvalidArgument) name the position of the problem.
Result<boost::json::value> parse_structure_value(std::string_view text);

// Sends one operation: `operation`, `input` -> the service's Reply.
using Caller = std::function<Result<api::client::Reply>(std::string_view operation,
                                                        const boost::json::object& input)>;

// What an operation produced for the user: the output to print, or the
// service's error.
struct Outcome {
  boost::json::object output;
  std::optional<api::client::ServiceError> error;
};

// Runs the request's operation through `call`: once, or (paginated, unless
// --no-paginate) page after page as botocore's paginator does, honouring
// --max-items, --page-size and --starting-token and adding its NextToken when
// items remain. Errors (Status): the transport, an invalid --starting-token,
// a server that sends the same next token twice.
Result<Outcome> run_operation(const VerbSpec& verb, const VerbRequest& request, const Caller& call);

// Where the default data directory and $AWS_SHARED_CREDENTIALS_FILE are
// (the caller reads the environment and the server module's default).
struct ClientEnvironment {
  std::filesystem::path default_data_dir;
  std::optional<std::filesystem::path> shared_credentials_file;
};

// `stageline VERB ARGS...`: parse, locate the server, run, print the output
// (aws CLI format, nothing for an empty output) on `out` or the error on `err`
// ("\nAn error occurred (Type) when calling the Operation operation: message\n"
// for a service error, like the aws CLI). Returns the exit code.
int run_client_verb(const VerbSpec& verb, const std::vector<std::string>& args,
                    const ClientEnvironment& env, std::ostream& out, std::ostream& err);

// The aws CLI's line for a service error (botocore's ClientError): "An error
// occurred (Type) when calling the Operation operation: message", with
// " (reached max retries: N)" after "operation" when the retries ran out.
std::string format_service_error(std::string_view operation,
                                 const api::client::ServiceError& error);

// The common flags of every verb that talks to a server, for usage texts.
std::string_view connection_flags_usage();

// Takes `flag` (with its `value`) when it is one of those flags
// (--endpoint-url, --region, --data-dir, --profile) into `where`; false for
// any other flag, which the verb reads itself.
bool take_connection_flag(std::string_view flag, const std::string& value,
                          api::client::LocateOptions& where);

// A random RFC 4122 version 4 UUID (lower-case hex).
std::string random_uuid();

}  // namespace stageline::cli
