#include "engine/timeouts.h"

#include <gtest/gtest.h>

namespace stageline::engine {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

model::ActionDeclaration action(model::ActionCategory c, model::ActionOwner o, std::string p) {
  model::ActionDeclaration a;
  a.action_type_id = {c, o, std::move(p), "1"};
  return a;
}

TEST(TimeoutsTest, ProvidersGetTheLimitsOfTheCodePipelineQuotas) {
  using C = model::ActionCategory;
  using O = model::ActionOwner;
  EXPECT_EQ(action_timeout(action(C::kCompute, O::kAws, "Commands")), minutes(55));
  EXPECT_EQ(action_timeout(action(C::kBuild, O::kAws, "CodeBuild")), hours(36));
  EXPECT_EQ(action_timeout(action(C::kTest, O::kAws, "CodeBuild")), hours(8));
  EXPECT_EQ(action_timeout(action(C::kDeploy, O::kAws, "CloudFormation")), hours(72));
  EXPECT_EQ(action_timeout(action(C::kDeploy, O::kAws, "CodeDeploy")), hours(120));
  EXPECT_EQ(action_timeout(action(C::kDeploy, O::kAws, "S3")), minutes(90));
  EXPECT_EQ(action_timeout(action(C::kBuild, O::kCustom, "Jenkins")), hours(24));
  EXPECT_EQ(action_timeout(action(C::kSource, O::kAws, "CodeCommit")), hours(1));
}

TEST(TimeoutsTest, ManualApprovalsWaitSevenDaysUnlessTheyNameTheirOwnTimeout) {
  auto a = action(model::ActionCategory::kApproval, model::ActionOwner::kAws, "Manual");
  EXPECT_EQ(action_timeout(a), hours(7 * 24));
  a.timeout_in_minutes = 30;
  EXPECT_EQ(action_timeout(a), minutes(30));
}

}  // namespace
}  // namespace stageline::engine
