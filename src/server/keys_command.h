// server/keys_command: `stageline keys create|list|delete|disable|enable`,
// which manage the access keys of a data directory's store (the server
// reads them on every request, so a change takes effect at once, even while
// it runs). Here rather than in the cli library, which never links the store.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

namespace stageline::server {

struct KeysArgs {
  std::string verb;                // create, list, delete, disable, enable
  std::string argument;            // the user name (create) or the access key id
  std::filesystem::path data_dir;  // empty: the server's default
  std::string account_id = "111122223333";
};

// Returns the exit code: 0 done, 1 refused (e.g. the last admin key), 2
// usage or store errors.
int run_keys(const KeysArgs& args, std::ostream& out, std::ostream& err);

}  // namespace stageline::server
