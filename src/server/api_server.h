// server/api_server: `stageline server`, the composition root of the
// long-running service. It opens the store and the object store in the data
// directory, makes sure the administrator's access key exists (and its
// credentials file), recovers the executions a previous process left, and
// serves the CodePipeline API (AWS JSON 1.1, SigV4) on one port, with the
// engine, the HTTP server, timers and the job runner's results all on one
// control thread. While it runs, DATA_DIR/server.json says where it listens
// ({"endpoint", "region", "accountId", "pid"}) for clients on this machine.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

namespace stageline::server {

struct ServerArgs {
  std::filesystem::path data_dir;  // empty: $XDG_DATA_HOME/stageline or ~/.local/share/stageline
  std::string listen = "127.0.0.1:7300";
  std::string region = "us-east-1";
  std::string account_id = "111122223333";
  // How often the git servers behind connections are asked for new commits
  // (server/source_poller.h).
  int poll_interval_s = 30;
  // How often the buckets' lifecycle rules are applied
  // (server/lifecycle_sweep.h).
  int lifecycle_interval_s = 3600;
  // Where the web console's files come from: empty for the copy built in
  // (console/assets.h), else a directory such as web/.
  std::string console_dir;
};

// The default data directory (XDG data home).
std::filesystem::path default_data_dir();

// Runs until SIGINT or SIGTERM; returns the process exit code (0 after a
// clean stop, 2 when it cannot start).
int run_server(const ServerArgs& args, std::ostream& out, std::ostream& err);

}  // namespace stageline::server
