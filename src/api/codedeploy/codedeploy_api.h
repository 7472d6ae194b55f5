// api/codedeploy: the CodeDeploy (2014-10-06) JSON 1.1 API subset for
// on-premises style deployments (`CodeDeploy_20141006.*`, aws deploy ...):
//
//   applications       CreateApplication, GetApplication, BatchGetApplications,
//                      ListApplications, DeleteApplication
//   deployment groups  CreateDeploymentGroup (onPremisesInstanceTagFilters or
//                      onPremisesTagSet), GetDeploymentGroup,
//                      BatchGetDeploymentGroups, ListDeploymentGroups,
//                      DeleteDeploymentGroup
//   instances          RegisterOnPremisesInstance, DeregisterOnPremisesInstance,
//                      AddTagsToOnPremisesInstances,
//                      RemoveTagsFromOnPremisesInstances, GetOnPremisesInstance,
//                      BatchGetOnPremisesInstances, ListOnPremisesInstances
//   deployments        GetDeployment, BatchGetDeployments, ListDeployments,
//                      ListDeploymentTargets, BatchGetDeploymentTargets,
//                      GetDeploymentTarget, ListDeploymentInstances,
//                      GetDeploymentInstance
//
// with AWS's shapes and modeled errors (ApplicationDoesNotExistException,
// DeploymentGroupAlreadyExistsException, InstanceNameAlreadyRegisteredException,
// ...). Other operations answer InvalidInputException naming them.
// Deployments are made by the CodeDeploy action of pipelines
// (deploy/codedeploy_action.h), not by CreateDeployment.
//
// Records are the resources of deploy/deployment_service.h. NextToken values
// are positions in the sorted list ("<offset>"); another token is
// InvalidNextTokenException.
//
// Depends on wire, store, deploy and base. Not on HTTP or SigV4: the server
// routes and authenticates, then calls call() on the control thread.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <string>

#include "api/wire/errors.h"
#include "api/wire/wire.h"
#include "store/store.h"

namespace stageline::codedeploy {

struct CodeDeployOptions {
  std::string region = "us-east-1";
  std::string account_id = "111122223333";
  std::function<int64_t()> now_ms;      // REQUIRED
  std::function<std::string()> new_id;  // REQUIRED: a lower-case UUID
  int page_size = 100;
};

// The embedded CodeDeploy model.
const wire::ServiceModel& codedeploy_model();

// Borrows the store, which must outlive it. Call from one thread at a time
// (the control thread); deployments write their own records concurrently.
class CodeDeployApi {
 public:
  CodeDeployApi(store::Store& store, CodeDeployOptions options);

  // One validated call; returns the output or the error to answer with
  // (InternalFailure with the cause in `detail` when the store fails).
  // Never throws.
  wire::Outcome<boost::json::value> call(const wire::Call& call);

 private:
  using Out = wire::Outcome<boost::json::value>;
  using In = boost::json::object;

  Out create_application(const In& in);
  Out get_application(const In& in);
  Out batch_get_applications(const In& in);
  Out list_applications(const In& in);
  Out delete_application(const In& in);
  Out create_deployment_group(const In& in);
  Out get_deployment_group(const In& in);
  Out batch_get_deployment_groups(const In& in);
  Out list_deployment_groups(const In& in);
  Out delete_deployment_group(const In& in);
  Out register_instance(const In& in);
  Out deregister_instance(const In& in);
  Out change_instance_tags(const In& in, bool add);
  Out get_instance(const In& in);
  Out batch_get_instances(const In& in);
  Out list_instances(const In& in);
  Out get_deployment(const In& in);
  Out batch_get_deployments(const In& in);
  Out list_deployments(const In& in);
  Out list_deployment_targets(const In& in, const char* member);
  Out batch_get_deployment_targets(const In& in);
  Out get_deployment_target(const In& in);
  Out get_deployment_instance(const In& in);

  wire::Error error(const char* type, std::string message) const;
  // The stored document of (kind, name) or the error to answer with.
  wire::Outcome<boost::json::object> load(const char* kind, const std::string& name,
                                          const char* missing_type,
                                          const std::string& missing_message) const;
  Out page(boost::json::array all, const In& in, const char* member) const;

  store::Store& store_;
  CodeDeployOptions options_;
  const wire::ServiceModel& model_;
};

}  // namespace stageline::codedeploy
