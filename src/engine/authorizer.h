// engine/authorizer: the question the engine asks before it dispatches an
// action: may the pipeline's service role (or the action's own role) do what
// this action needs? Roles and policies come with the IAM issue; until then
// the server uses AllowAll. A denial fails the action with PermissionError
// and the authorizer's message, before anything runs (CodePipeline finds
// these only at run time, inside the provider; Stageline says it up front).
// Depends on model only.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "model/pipeline.h"

namespace stageline::engine {

struct AuthorizationRequest {
  std::string pipeline_name;
  std::string role_arn;  // the action's roleArn, else the pipeline's
  std::string stage_name;
  std::string action_name;
  model::ActionTypeId action_type;
  std::string region;
  std::string artifact_bucket;               // read for inputs, written for outputs
  std::vector<std::string> input_artifacts;  // names
  std::vector<std::string> output_artifacts;
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // Ok to proceed; otherwise an error (kFailedPrecondition) whose message names
  // the role, the permission and the resource otherwise.
  virtual Status authorize(const AuthorizationRequest& request) = 0;
};

class AllowAll final : public Authorizer {
 public:
  Status authorize(const AuthorizationRequest&) override { return Status(); }
};

}  // namespace stageline::engine
