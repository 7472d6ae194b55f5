// cli/watch: `stageline watch EXECUTION_ID [--pipeline-name P]`: follows one
// pipeline execution until it ends, printing each stage and action transition
// with durations, and exits 0 when it Succeeded, 1 when it ended otherwise.
// It subscribes to the server's event stream (GET /events?pipeline=P,
// docs/api.md "Live events"), then reads one snapshot (GetPipelineExecution,
// GetPipelineState, ListActionExecutions filtered to the execution), and reads
// a new snapshot after each event about the execution: no timer polling. A
// dropped stream is reopened with Last-Event-ID (a server restart is
// survived). Against a server without the stream, or with --poll, it polls
// every 200 ms instead, with a note on stderr. WatchTracker holds the pure
// part (what changed since the previous snapshot, and how to say it), so it
// is tested without a server.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/client_verbs.h"

namespace stageline::cli {

// One action execution of the watched execution, from ListActionExecutions.
struct ActionSnapshot {
  std::string action_execution_id;
  std::string stage;
  std::string action;
  std::string status;
  double start_time = 0;   // epoch seconds
  double last_update = 0;  // epoch seconds
  std::string summary;     // externalExecutionSummary
  std::string error;       // "code: message" of errorDetails, or ""
};

// What one poll saw.
struct WatchSnapshot {
  std::string status;  // the execution's status
  std::string status_summary;
  // Stage name -> status, for the stages whose latest execution is the
  // watched one, in pipeline order.
  std::vector<std::pair<std::string, std::string>> stages;
  std::vector<ActionSnapshot> actions;  // oldest first
};

// Reads the three outputs of a poll. `execution` is GetPipelineExecution's
// output, `state` GetPipelineState's, `details` the actionExecutionDetails of
// ListActionExecutions (filtered to `execution_id`). Members missing from any
// of them are left empty.
WatchSnapshot read_snapshot(const std::string& execution_id, const boost::json::object& execution,
                            const boost::json::object& state, const boost::json::array& details);

// Whether an event's data (EventBridge-shaped JSON) may concern the execution:
// false only when its detail names another execution-id.
bool event_concerns_execution(std::string_view data, const std::string& execution_id);

// True for the statuses an execution does not leave.
bool is_final_execution_status(const std::string& status);

// Turns successive snapshots into lines for the user. Not thread-safe.
class WatchTracker {
 public:
  WatchTracker(std::string execution_id, std::string pipeline_name);

  // The lines to print for what changed since the previous snapshot (all of
  // it for the first), ending with the execution's result once it is final.
  std::vector<std::string> update(const WatchSnapshot& snapshot);
  bool finished() const { return finished_; }
  bool succeeded() const { return finished_ && status_ == "Succeeded"; }

 private:
  std::string execution_id_;
  std::string pipeline_name_;
  std::string status_;
  bool finished_ = false;
  std::map<std::string, std::string> stage_status_;
  std::map<std::string, std::string> action_status_;  // by action execution id
};

// "1.2 s", "2 min 5 s", "1 h 3 min".
std::string format_duration(double seconds);

// `stageline watch ARGS...`: returns the exit code (0 Succeeded, 1 ended
// otherwise, 2 usage, 255 the server could not be asked).
int run_watch(const std::vector<std::string>& args, const ClientEnvironment& env, std::ostream& out,
              std::ostream& err);

}  // namespace stageline::cli
