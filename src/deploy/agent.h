// deploy/agent: what the CodeDeploy agent does on one instance for one
// deployment, with the instance being a target directory on this host
// (docs/codedeploy.md):
//
//   ApplicationStop   the ApplicationStop scripts of the instance's last
//                     successful revision (nothing on a first deployment)
//   DownloadBundle    copies the revision into the instance's state
//                     directory and reads its appspec.yml
//   BeforeInstall     scripts
//   Install           removes what the previous Install created, copies
//                     `files` (destinations rooted under the target
//                     directory), applies `permissions`
//   AfterInstall, ApplicationStart, ValidateService   scripts
//
// The first event that fails ends the run; the events after it are Skipped.
// A hook script runs with its cwd at the revision's copy, in its own process
// group, with an explicit environment (LIFECYCLE_EVENT, DEPLOYMENT_ID,
// APPLICATION_NAME, DEPLOYMENT_GROUP_NAME, DEPLOYMENT_GROUP_ID,
// STAGELINE_TARGET_DIR, plus the base and extra environment), and is killed
// (the whole group) at its timeout or when the run is cancelled.
//
// The instance's state directory holds:
//   revisions/<deployment-id>/  the revision of a deployment (a failed one's
//                               is removed; prune_revisions keeps only the
//                               last good one)
//   last-good                   the id of the last successful deployment
//   installed                   what the last Install created ("f <path>" or
//                               "d <path>" per line, relative to the target)
// Rolling back is deploy_revision again with the last good revision's copy
// as the bundle (see last_good_revision).
//
// Thread-compatible: one deploy_revision per instance at a time; different
// instances may run at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "deploy/appspec.h"

namespace stageline::deploy {

// A LifecycleEvent of BatchGetDeploymentTargets.
struct LifecycleEventRecord {
  std::string name;
  std::string status = "Pending";  // Pending, InProgress, Succeeded, Failed, Skipped
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  // Diagnostics: Success, ScriptMissing, ScriptNotExecutable, ScriptTimedOut,
  // ScriptFailed, UnknownError ("" while pending).
  std::string error_code;
  std::string script_name;
  std::string message;
  std::string log_tail;  // the last 2 KiB of the event's output
};

// The events of an in-place deployment without a load balancer, in order.
const std::vector<std::string>& lifecycle_events();

struct InstanceDeployment {
  std::string instance_name;
  std::filesystem::path target_dir;  // absolute; created if missing
  std::filesystem::path state_dir;   // the instance's own; created if missing
  std::filesystem::path bundle_dir;  // the revision, extracted; only read
  std::string deployment_id;
  std::string application_name;
  std::string deployment_group_name;
  std::string deployment_group_id;
  // PATH, HOME, LANG, TMPDIR: the whole environment of hooks besides the
  // variables above and `extra_environment` (BUNDLE_BUCKET, ...).
  std::map<std::string, std::string> base_environment;
  std::map<std::string, std::string> extra_environment;
  std::function<int64_t()> now_ms;  // REQUIRED
  // Each line of hook output and of the agent's own messages. May be empty.
  std::function<void(std::string_view line)> on_line;
  // Polled about every 50 ms while a hook runs and between events.
  std::function<bool()> cancelled;
  // After each event starts or ends. May be empty.
  std::function<void(const std::vector<LifecycleEventRecord>&)> on_progress;
};

struct InstanceResult {
  std::string status;  // Succeeded, Failed, Stopped (cancelled)
  std::vector<LifecycleEventRecord> events;
  // Why it failed, naming the instance, the event and the script:
  // "instance web-1: ValidateService failed: script scripts/validate.sh
  // exited with code 1". "" when it succeeded.
  std::string message;
  bool succeeded() const { return status == "Succeeded"; }
};

// Runs the lifecycle (see above) and blocks until it ends. Never throws; a
// failure of any step is a Failed result with the event and its diagnostics.
InstanceResult deploy_revision(const InstanceDeployment& deployment);

// The copy of the instance's last successfully deployed revision (a
// directory under `state_dir`), or nullopt when none succeeded yet.
std::optional<std::filesystem::path> last_good_revision(const std::filesystem::path& state_dir);

// Removes every revision copy but the last good one. The deployment
// service calls it once a deployment and its rollback have ended, so a
// rollback can still reach the revision an instance held before.
void prune_revisions(const std::filesystem::path& state_dir);

// How one hook script ran.
struct HookRun {
  std::string error_code;  // Success, ScriptMissing, ScriptFailed, ScriptTimedOut, UnknownError
  std::string message;     // "" on success
  std::string output;      // everything it printed (stdout and stderr)
};

// Runs `script` (its location resolved against `revision_dir`) with the
// given environment; blocks until it ends, times out or `cancelled` says so.
// `runas` other than the server's own user needs the server to run as root
// (the child switches user with setpriv); otherwise ScriptFailed says so.
HookRun run_hook(const HookScript& script, const std::filesystem::path& revision_dir,
                 const std::map<std::string, std::string>& environment,
                 const std::function<void(std::string_view)>& on_line,
                 const std::function<bool()>& cancelled);

}  // namespace stageline::deploy
