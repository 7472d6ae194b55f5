// deploy/codedeploy_action: the CodeDeploy action (Deploy/AWS/CodeDeploy/1,
// reference §4.5) run on this machine through DeploymentService:
//
//   ApplicationName      must name a CodeDeploy application (aws deploy
//                        create-application); ConfigurationError otherwise
//   DeploymentGroupName  must name one of its deployment groups
//
// The single input artifact is the revision (appspec.yml at its root). The
// action's external execution id is the deployment id (d-XXXXXXXXX), which
// aws deploy get-deployment shows; a failed deployment fails the action with
// a message naming the instance, the lifecycle event and the hook script,
// and the rollback that followed. Thread-safe.
#pragma once

#include "deploy/deployment_service.h"
#include "jobs/provider.h"

namespace stageline::deploy {

class CodeDeployAction final : public jobs::ActionProvider {
 public:
  // Borrows the service, which must outlive the provider.
  explicit CodeDeployAction(DeploymentService& service) : service_(service) {}
  engine::ActionOutcome run(const jobs::ProviderContext& context) override;

 private:
  DeploymentService& service_;
};

}  // namespace stageline::deploy
