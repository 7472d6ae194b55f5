// cli/apply_command: `stageline apply TEMPLATE`, a CloudFormation template
// made real on the local server through the AWS APIs, as `aws cloudformation
// deploy` would make it on AWS, for the resources Stageline serves:
//
//   AWS::S3::Bucket            CreateBucket (an existing one is kept)
//   AWS::SNS::Topic            CreateTopic, and Subscribe for its Subscription
//   AWS::CodeCommit::Repository CreateRepository (an existing one is kept)
//   AWS::CodeBuild::Project    CreateProject, or UpdateProject when it exists
//   AWS::CodePipeline::Pipeline CreatePipeline, or UpdatePipeline when it exists
//
// in that order, so a pipeline finds what it names. Other resource types are
// listed as not applied. The template is read and validated first (the
// problems printed as `stageline validate` prints them); nothing is applied
// when it is invalid.
//
//   stageline apply TEMPLATE [--parameter-overrides K=V ...] [--stack-name NAME]
//                   [--endpoint-url URL] [--region R] [--data-dir DIR] [--profile P]
//
// Talks to the server through stageline_client only; reads the template with
// the definitions module. Never links the engine or the store.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli/client_verbs.h"

namespace stageline::cli {

// Returns the exit code: 0 everything applied, 1 the template is invalid or
// the server refused something (what was applied before stays), 2 usage or
// an unreadable file, 255 the server could not be reached.
int run_apply(const std::vector<std::string>& args, const ClientEnvironment& env, std::ostream& out,
              std::ostream& err);

}  // namespace stageline::cli
