// deploy/deployment_service: CodeDeploy deployments of a revision to the
// on-premises instances a deployment group targets, and their records, for
// the CodeDeploy action (codedeploy_action.h) and the CodeDeploy API
// (api/codedeploy), which reads the same records.
//
// Store layout (resources table, service "codedeploy"; docs/codedeploy.md):
//   ("codedeploy", "application", <name>): ApplicationInfo + "tags"
//   ("codedeploy", "deploymentgroup", <application>/<group>): DeploymentGroupInfo
//   ("codedeploy", "instance", <name>): InstanceInfo (tags included)
//   ("codedeploy", "deployment", <d-XXXXXXXXX>): {"deploymentInfo":
//       DeploymentInfo, "targets": [InstanceTarget, ...]}, updated as each
//       lifecycle event starts and ends.
// Instance state (revision copies, what was installed) lives under
// <state_root>/instances/<name>/ (agent.h).
//
// Order: instances run one after another, in name order. With
// CodeDeployDefault.OneAtATime (the default) the first failed instance fails
// the deployment and the rest are Skipped; with AllAtOnce every instance
// runs and one success is enough; with HalfAtATime every instance runs and
// at least half must succeed. A failed deployment is rolled back, unless the
// group's autoRollbackConfiguration says enabled: false: a new deployment
// (creator codeDeployRollback) redeploys to every instance the failed one
// touched the revision that instance held before, through the same
// lifecycle.
//
// Thread safety: every member may be called from any thread; deployments
// run on the calling thread (a runner worker). Two deployments to one
// instance at once are serialized by a per-instance lock.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "deploy/tag_filter.h"
#include "store/store.h"

namespace stageline::deploy {

inline constexpr const char* kService = "codedeploy";  // resources.service
inline constexpr const char* kApplicationKind = "application";
inline constexpr const char* kDeploymentGroupKind = "deploymentgroup";
inline constexpr const char* kInstanceKind = "instance";
inline constexpr const char* kDeploymentKind = "deployment";

// The resource name of a deployment group: "<application>/<group>".
std::string deployment_group_key(const std::string& application, const std::string& group);

// The tags of an InstanceInfo document ("tags": [{"Key","Value"}]).
std::vector<Tag> instance_tags(const boost::json::object& instance);

// TagFilterList JSON ([{"Key","Value","Type"}]); kInvalidArgument naming the
// bad entry.
Result<std::vector<TagFilter>> parse_tag_filters(const boost::json::value& list,
                                                 const std::string& what);

// Whether a DeploymentGroupInfo targets the instance with these tags
// (onPremisesInstanceTagFilters, or onPremisesTagSet).
bool group_targets(const boost::json::object& group, const std::vector<Tag>& tags);

// "d-" and nine characters of [0-9A-F] taken from a UUID.
std::string deployment_id_from_uuid(const std::string& uuid);

struct DeploymentServiceOptions {
  std::string region = "us-east-1";
  std::string account_id = "111122223333";
  std::filesystem::path state_root;                     // DATA_DIR/codedeploy
  std::map<std::string, std::string> base_environment;  // PATH, HOME, LANG, TMPDIR
  std::function<int64_t()> now_ms;                      // REQUIRED
  std::function<std::string()> new_id;                  // REQUIRED: a lower-case UUID
};

struct DeploymentRequest {
  std::string application_name;
  std::string deployment_group_name;
  std::filesystem::path bundle_dir;  // the revision, extracted
  // RevisionLocation as GetDeployment shows it (e.g. S3 bucket, key, zip).
  boost::json::object revision;
  std::string description;
  std::string creator = "user";                          // DeploymentCreator
  std::map<std::string, std::string> extra_environment;  // BUNDLE_BUCKET, BUNDLE_KEY
  std::function<void(std::string_view line)> on_line;    // may be empty
  std::function<bool()> cancelled;                       // may be empty
};

struct DeploymentResult {
  std::string deployment_id;
  std::string status;                  // Succeeded, Failed, Stopped
  std::string message;                 // why it failed, naming instance, event and script
  std::string rollback_deployment_id;  // "" when there was no rollback
  std::string rollback_status;
  std::string rollback_message;
};

class DeploymentService {
 public:
  // Borrows the store, which must outlive the service.
  // REQUIRES: options.now_ms and options.new_id are set.
  DeploymentService(store::Store& store, DeploymentServiceOptions options);

  // Creates the deployment (Created, then InProgress), runs it on the calling
  // thread and returns how it ended, rollback included. A deployment that
  // fails is an ok Result with status Failed. Errors (nothing recorded):
  // kNotFound for a missing application or deployment group; kIo when the
  // store fails.
  Result<DeploymentResult> run_deployment(const DeploymentRequest& request);

  // Ends the deployments a previous server left Created or InProgress:
  // Failed with errorInformation saying why. Call once at start. Returns
  // how many were ended.
  Result<int> recover();

  // Writes what CodePipeline's ListDeployActionExecutionTargets answers for
  // action execution `action_execution_id`: deployment `deployment_id`'s
  // targets as DeployActionExecutionTargets (targetId, targetType
  // "OnPremisesInstance", status, start and end, one event per lifecycle
  // event with its diagnostics message), in the resource (service
  // "codepipeline", kind "deploy-targets") docs/api.md describes.
  Status record_pipeline_targets(const std::string& deployment_id,
                                 const std::string& action_execution_id);

  std::filesystem::path instance_state_dir(const std::string& instance) const;

 private:
  struct Target;
  struct Run;
  Result<DeploymentResult> execute(Run& run);
  Status save(const Run& run);
  std::shared_ptr<std::mutex> instance_lock(const std::string& instance);

  store::Store& store_;
  DeploymentServiceOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> instance_locks_;
};

}  // namespace stageline::deploy
