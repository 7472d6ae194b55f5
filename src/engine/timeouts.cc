#include "engine/timeouts.h"

namespace stageline::engine {

std::chrono::minutes action_timeout(const model::ActionDeclaration& action) {
  using model::ActionCategory;
  using model::ActionOwner;
  using std::chrono::hours;
  using std::chrono::minutes;
  const auto& t = action.action_type_id;
  const bool aws = t.owner == ActionOwner::kAws;
  if (t.category == ActionCategory::kApproval && aws && t.provider == "Manual")
    return minutes(action.timeout_in_minutes.value_or(7 * 24 * 60));  // 7 days by default
  if (t.owner == ActionOwner::kCustom) return hours(24);
  if (!aws) return hours(1);
  if (t.provider == "CodeBuild") return t.category == ActionCategory::kTest ? hours(8) : hours(36);
  if (t.provider == "Commands") return minutes(55);
  if (t.provider == "CloudFormation") return hours(3 * 24);
  if (t.provider == "CodeDeploy" || t.provider == "CodeDeployToECS") return hours(5 * 24);
  if (t.provider == "Lambda") return hours(24);
  if (t.provider == "StepFunctions") return hours(7 * 24);
  if (t.category == ActionCategory::kDeploy && t.provider == "S3") return minutes(90);
  return hours(1);  // every other action (reference §15)
}

}  // namespace stageline::engine
