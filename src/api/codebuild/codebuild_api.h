// api/codebuild: the CodeBuild (2016-10-06) JSON 1.1 API subset the aws CLI
// and the SDKs call (`CodeBuild_20161006.*`): CreateProject, UpdateProject,
// DeleteProject, BatchGetProjects, ListProjects, StartBuild, StopBuild,
// BatchGetBuilds, ListBuilds, ListBuildsForProject, with AWS's shapes and
// errors (ResourceAlreadyExistsException, ResourceNotFoundException,
// InvalidInputException). Other operations answer InvalidInputException
// naming them.
//
// Projects and builds are resources of the store (see builds/build_service.h
// for the layout); builds run through builds::BuildService, which owns the
// build threads. NextToken values are positions in the sorted list
// ("<offset>"); a token that is not one is InvalidInputException.
//
// Depends on wire, store, builds and base. Not on HTTP or SigV4: the server
// routes and authenticates, then calls call() on the control thread.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <string>

#include "api/wire/errors.h"
#include "api/wire/wire.h"
#include "builds/build_service.h"
#include "store/store.h"

namespace stageline::codebuild {

struct CodeBuildOptions {
  std::string region = "us-east-1";
  std::string account_id = "111122223333";
  std::function<int64_t()> now_ms;  // REQUIRED
  int page_size = 100;
};

// The embedded CodeBuild model.
const wire::ServiceModel& codebuild_model();

// Borrows the store and the build service, which must outlive it.
class CodeBuildApi {
 public:
  CodeBuildApi(store::Store& store, builds::BuildService& builds, CodeBuildOptions options);

  // One validated call; returns the output or the error to answer with
  // (InternalFailure with the cause in `detail` when the store fails).
  // `caller` (the caller's ARN) names the initiator of builds started by
  // StartBuild: the user name of an IAM user ARN. Never throws.
  wire::Outcome<boost::json::value> call(const wire::Call& call, const std::string& caller);

  // CreateProject with `input` (CreateProject's input shape), or
  // UpdateProject when the project exists: how the AWS::CodeBuild::Project
  // records of a template become projects (`stageline run TEMPLATE`).
  wire::Outcome<boost::json::value> put_project(const boost::json::object& input);

 private:
  using Out = wire::Outcome<boost::json::value>;
  using In = boost::json::object;

  Out create_project(const In& in);
  Out update_project(const In& in);
  Out delete_project(const In& in);
  Out batch_get_projects(const In& in);
  Out list_projects(const In& in);
  Out start_build(const In& in, const std::string& caller);
  Out stop_build(const In& in);
  Out batch_get_builds(const In& in);
  Out list_builds(const In& in, const std::string& project);

  std::string project_arn(const std::string& name) const;

  store::Store& store_;
  builds::BuildService& builds_;
  CodeBuildOptions options_;
  const wire::ServiceModel& model_;
};

}  // namespace stageline::codebuild
