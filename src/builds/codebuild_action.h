// builds/codebuild_action: the CodeBuild action (Build/AWS/CodeBuild/1 and
// Test/AWS/CodeBuild/1) run on this machine through BuildService
// (reference §17.1):
//
//   ProjectName           must name a stored project (ConfigurationError
//                         naming it otherwise)
//   PrimarySource         the input that becomes CODEBUILD_SRC_DIR (required
//                         with several inputs); every other input X is
//                         CODEBUILD_SRC_DIR_X
//   EnvironmentVariables  the JSON string [{"name","value","type"}]; PLAINTEXT
//                         only for now
//   BuildspecOverride     inline YAML or a path under CODEBUILD_SRC_DIR
//   BatchEnabled          "true" is refused (batch builds are not supported)
//
// The first output artifact comes from the buildspec's `artifacts`, the
// others from the `secondary-artifacts` entry of their name; the exported
// variables become the action's output variables; the action's external
// execution id is the build id (project:uuid), which BatchGetBuilds shows.
// Thread-safe (ActionProvider::run may run for several actions at once).
#pragma once

#include "builds/build_service.h"
#include "jobs/provider.h"

namespace stageline::builds {

class CodeBuildAction final : public jobs::ActionProvider {
 public:
  // Borrows the service, which must outlive the provider.
  explicit CodeBuildAction(BuildService& service) : service_(service) {}
  engine::ActionOutcome run(const jobs::ProviderContext& context) override;

 private:
  BuildService& service_;
};

}  // namespace stageline::builds
