// cli: the stageline command line. Client verbs (later) talk to the server;
// `validate` reads a definition file locally. Links base, model and
// definitions; never the engine or the store.
#pragma once

#include <map>
#include <ostream>
#include <string>

namespace stageline::cli {

struct ValidateArgs {
  std::string file;  // "-" reads standard input
  std::map<std::string, std::string> parameter_overrides;
  std::string output = "text";  // text | json
  bool strict = false;
  std::string region = "us-east-1";
  std::string stack_name = "stageline";
};

// Exit codes of `stageline validate`.
constexpr int kExitValid = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUnreadable = 2;

// Reads, validates and prints. Returns one of the exit codes above.
int run_validate(const ValidateArgs& args, std::ostream& out, std::ostream& err);

// Prints every validation rule as a Markdown table (docs/definitions.md has it).
void print_rules(std::ostream& out);

}  // namespace stageline::cli
