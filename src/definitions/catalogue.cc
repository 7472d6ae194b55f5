#include "definitions/catalogue.h"

#include <set>

namespace stageline::definitions {

namespace {

using model::ActionCategory;
using model::ActionOwner;

std::string never(const std::string& what, const std::string& why) {
  return "Stageline cannot run " + what + ": " + why;
}

ActionTypeInfo make(ActionCategory c, ActionOwner o, std::string provider, ArtifactBounds in,
                    ArtifactBounds out, std::vector<std::string> required,
                    std::vector<std::string> optional, std::vector<std::string> variables,
                    std::string not_runnable) {
  ActionTypeInfo t;
  t.category = c;
  t.owner = o;
  t.provider = std::move(provider);
  t.input = in;
  t.output = out;
  t.required_config = std::move(required);
  t.optional_config = std::move(optional);
  t.output_variables = std::move(variables);
  t.not_runnable = std::move(not_runnable);
  return t;
}

Catalogue build() {
  std::vector<ActionTypeInfo> a;
  auto aws = ActionOwner::kAws;
  // Source
  a.push_back(make(ActionCategory::kSource, aws, "S3", {0, 0}, {1, 1}, {"S3Bucket", "S3ObjectKey"},
                   {"PollForSourceChanges", "AllowOverrideForS3ObjectKey"}, {"ETag", "VersionId"},
                   ""));
  a.back().runnable = true;  // by the server's provider (providers/s3_source)
  a.back().config_enums = {{"PollForSourceChanges", {"true", "false"}}};
  a.push_back(make(
      ActionCategory::kSource, aws, "CodeCommit", {0, 0}, {1, 1}, {"RepositoryName", "BranchName"},
      {"PollForSourceChanges", "OutputArtifactFormat"},
      {"AuthorDate", "BranchName", "CommitId", "CommitMessage", "CommitterDate", "RepositoryName"},
      ""));
  a.back().runnable = true;  // by the server's provider (sources/codecommit_source)
  a.back().config_enums = {{"PollForSourceChanges", {"true", "false"}},
                           {"OutputArtifactFormat", {"CODE_ZIP", "CODEBUILD_CLONE_REF"}}};
  a.push_back(
      make(ActionCategory::kSource, aws, "CodeStarSourceConnection", {0, 0}, {1, 1},
           {"ConnectionArn", "FullRepositoryId", "BranchName"},
           {"OutputArtifactFormat", "DetectChanges"},
           {"AuthorDate", "AuthorDisplayName", "AuthorEmail", "AuthorId", "BranchName", "CommitId",
            "CommitMessage", "ConnectionArn", "FullRepositoryName", "ProviderType", "TagName",
            "DestinationBranchName", "PullRequestId", "PullRequestTitle", "SourceBranchName"},
           ""));
  a.back().runnable = true;  // by the server's provider (sources/connection_source)
  a.back().config_enums = {{"DetectChanges", {"true", "false"}},
                           {"OutputArtifactFormat", {"CODE_ZIP", "CODEBUILD_CLONE_REF"}}};
  a.push_back(
      make(ActionCategory::kSource, aws, "ECR", {0, 0}, {1, 1}, {"RepositoryName"}, {"ImageTag"},
           {"ImageDigest", "ImageTag", "ImageURI", "RegistryId", "RepositoryName"},
           never("ECR source actions", "there is no local OCI registry yet (planned later)")));
  a.push_back(make(ActionCategory::kSource, ActionOwner::kThirdParty, "GitHub", {0, 0}, {1, 1},
                   {"Owner", "Repo", "Branch", "OAuthToken"}, {"PollForSourceChanges"},
                   {"AuthorDate", "BranchName", "CommitId", "CommitMessage", "CommitterDate",
                    "CommitUrl", "RepositoryName"},
                   never("GitHub (version 1, OAuth) source actions",
                         "AWS deprecated them; use CodeStarSourceConnection with a connection "
                         "that points at the repository")));
  a.back().secret_config = {"OAuthToken"};
  // Build and test
  for (auto cat : {ActionCategory::kBuild, ActionCategory::kTest}) {
    a.push_back(make(cat, aws, "CodeBuild", {1, 5}, {0, 5}, {"ProjectName"},
                     {"PrimarySource", "EnvironmentVariables", "BuildspecOverride", "BatchEnabled",
                      "CombineArtifacts"},
                     {}, ""));
    a.back().runnable = true;  // by the server's provider (builds/codebuild_action)
    a.back().dynamic_output_variables = true;
    a.back().config_enums = {{"BatchEnabled", {"true", "false"}},
                             {"CombineArtifacts", {"true", "false"}}};
  }
  a.push_back(make(ActionCategory::kBuild, aws, "ECRBuildAndPublish", {0, 1}, {0, 0}, {}, {}, {},
                   never("ECRBuildAndPublish actions", "there is no local OCI registry yet")));
  a.back().config_keys_known = false;
  a.back().v2_only = true;
  a.push_back(make(ActionCategory::kTest, aws, "DeviceFarm", {1, 1}, {0, 0}, {}, {}, {},
                   never("DeviceFarm actions", "AWS Device Farm has no local equivalent")));
  a.back().config_keys_known = false;
  // Compute
  a.push_back(make(ActionCategory::kCompute, aws, "Commands", {1, 10}, {0, 1}, {},
                   {"EnvironmentType", "ComputeType", "VpcId", "Subnets", "SecurityGroupIds"}, {},
                   ""));
  a.back().dynamic_output_variables = true;
  a.back().v2_only = true;
  a.back().runnable = true;  // by the in-process job runner (providers/commands)
  a.back().config_enums = {
      {"EnvironmentType", {"LINUX_CONTAINER", "WINDOWS_SERVER_2022_CONTAINER"}},
      {"ComputeType", {"BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE"}}};
  // Approval
  a.push_back(make(ActionCategory::kApproval, aws, "Manual", {0, 0}, {0, 0}, {},
                   {"CustomData", "ExternalEntityLink", "NotificationArn"}, {}, ""));
  // The server waits for PutApprovalResult; `stageline run` takes --approve
  // or --reject up front.
  a.back().runnable = true;
  // Deploy
  a.push_back(make(ActionCategory::kDeploy, aws, "S3", {1, 1}, {0, 0}, {"BucketName", "Extract"},
                   {"ObjectKey", "KMSEncryptionKeyARN", "CannedACL", "CacheControl"}, {}, ""));
  a.back().config_enums = {{"Extract", {"true", "false"}}};
  a.back().runnable = true;  // by the server's provider (providers/s3_deploy)
  a.push_back(make(ActionCategory::kDeploy, aws, "CodeDeploy", {1, 1}, {0, 0},
                   {"ApplicationName", "DeploymentGroupName"}, {}, {}, ""));
  a.back().runnable = true;  // by the server's provider (deploy/codedeploy_action)
  a.push_back(make(ActionCategory::kDeploy, aws, "CloudFormation", {0, 10}, {0, 1},
                   {"ActionMode", "StackName"},
                   {"Capabilities", "ChangeSetName", "RoleArn", "TemplatePath",
                    "TemplateConfiguration", "ParameterOverrides", "OutputFileName"},
                   {},
                   never("CloudFormation deploy actions",
                         "it manages no CloudFormation stacks yet (`stageline apply TEMPLATE` "
                         "makes a template's buckets, topics, repositories, CodeBuild projects "
                         "and pipelines on the server)")));
  a.back().dynamic_output_variables = true;
  a.back().config_enums = {{"ActionMode",
                            {"CREATE_UPDATE", "DELETE_ONLY", "REPLACE_ON_FAILURE",
                             "CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE"}}};
  a.push_back(make(ActionCategory::kDeploy, aws, "ECS", {1, 1}, {0, 0},
                   {"ClusterName", "ServiceName"}, {"FileName", "DeploymentTimeout"}, {},
                   never("ECS deploy actions", "there is no local container service yet")));
  a.push_back(make(ActionCategory::kDeploy, aws, "CodeDeployToECS", {1, 5}, {0, 0}, {}, {}, {},
                   never("CodeDeployToECS actions", "there is no local container service yet")));
  a.back().config_keys_known = false;
  a.push_back(
      make(ActionCategory::kDeploy, aws, "ElasticBeanstalk", {1, 1}, {0, 0},
           {"ApplicationName", "EnvironmentName"}, {}, {},
           never("ElasticBeanstalk actions", "Elastic Beanstalk has no local equivalent yet")));
  a.push_back(make(ActionCategory::kDeploy, aws, "OpsWorks", {1, 1}, {0, 0}, {"Stack", "App"},
                   {"Layer"}, {},
                   never("OpsWorks actions", "AWS OpsWorks has no local equivalent")));
  a.push_back(make(ActionCategory::kDeploy, aws, "ServiceCatalog", {1, 1}, {0, 0}, {"ProductId"},
                   {"TemplateFilePath", "ProductVersionName", "ProductType",
                    "ProductVersionDescription", "ConfigurationFilePath"},
                   {},
                   never("ServiceCatalog actions", "AWS Service Catalog has no local equivalent")));
  for (const char* p : {"EC2", "EKS"}) {
    a.push_back(make(ActionCategory::kDeploy, aws, p, {0, 1}, {0, 0}, {}, {}, {},
                     never(std::string(p) + " deploy actions", "it has no local equivalent")));
    a.back().config_keys_known = false;
    a.back().v2_only = true;
  }
  for (const char* p : {"AppConfig", "CloudFormationStackSet", "CloudFormationStackInstances"}) {
    a.push_back(make(ActionCategory::kDeploy, aws, p, {0, 10}, {0, 0}, {}, {}, {},
                     never(std::string(p) + " deploy actions", "it has no local equivalent")));
    a.back().config_keys_known = false;
  }
  a.back().output_variables = {"OperationId", "StackSetId"};
  a[a.size() - 2].output_variables = {"OperationId", "StackSetId"};
  a.push_back(make(ActionCategory::kDeploy, ActionOwner::kThirdParty, "AlexaSkillsKit", {1, 2},
                   {0, 0}, {"ClientId", "ClientSecret", "RefreshToken", "SkillId"}, {}, {},
                   never("AlexaSkillsKit actions", "it has no local equivalent")));
  a.back().secret_config = {"ClientSecret", "RefreshToken"};
  // Invoke
  a.push_back(make(ActionCategory::kInvoke, aws, "Lambda", {0, 5}, {0, 5}, {"FunctionName"},
                   {"UserParameters"}, {},
                   never("Lambda invoke actions",
                         "local functions are planned later; use a "
                         "custom action with a job worker meanwhile")));
  a.back().dynamic_output_variables = true;
  a.push_back(make(ActionCategory::kInvoke, aws, "StepFunctions", {0, 1}, {0, 1},
                   {"StateMachineArn"}, {"ExecutionNamePrefix", "InputType", "Input"}, {},
                   never("StepFunctions actions", "AWS Step Functions has no local equivalent")));
  a.back().config_enums = {{"InputType", {"Literal", "FilePath"}}};
  for (const char* p : {"CodePipeline", "InspectorScan"}) {
    a.push_back(make(ActionCategory::kInvoke, aws, p, {0, 1}, {0, 1}, {}, {}, {},
                     never(std::string(p) + " invoke actions", "it is not implemented")));
    a.back().config_keys_known = false;
  }

  std::vector<RuleTypeInfo> r;
  r.push_back(
      {"VariableCheck", {"Variable", "Value", "Operator"}, {}, true, false, true, true, ""});
  r.push_back({"Commands", {}, {}, false, true, true, true, ""});
  r.push_back({"DeploymentWindow",
               {"Cron"},
               {"TimeZone"},
               false,
               false,
               true,
               false,
               never("DeploymentWindow rules",
                     "they need time zone rules (VariableCheck and Commands rules are "
                     "evaluated)")});
  r.push_back({"LambdaInvoke",
               {"FunctionName"},
               {"UserParameters"},
               true,
               false,
               true,
               false,
               never("LambdaInvoke rules", "local functions are planned later")});
  r.push_back({"CloudWatchAlarm",
               {"AlarmName"},
               {"AlarmStates", "WaitTime"},
               false,
               false,
               false,
               false,
               never("CloudWatchAlarm rules",
                     "there is no Amazon CloudWatch on this machine; use "
                     "a VariableCheck or Commands rule instead")});
  return Catalogue(std::move(a), std::move(r));
}

}  // namespace

const Catalogue& Catalogue::builtin() {
  static const Catalogue kBuiltin = build();
  return kBuiltin;
}

const ActionTypeInfo* Catalogue::find(const model::ActionTypeId& id) const {
  for (const auto& t : actions_)
    if (t.category == id.category && t.owner == id.owner && t.provider == id.provider &&
        t.version == id.version)
      return &t;
  return nullptr;
}

std::vector<const ActionTypeInfo*> Catalogue::find_provider(const std::string& provider) const {
  std::vector<const ActionTypeInfo*> out;
  for (const auto& t : actions_)
    if (t.provider == provider) out.push_back(&t);
  return out;
}

const RuleTypeInfo* Catalogue::find_rule(const std::string& provider) const {
  for (const auto& r : rules_)
    if (r.provider == provider) return &r;
  return nullptr;
}

std::vector<std::string> Catalogue::provider_names() const {
  std::set<std::string> names;
  for (const auto& t : actions_) names.insert(t.provider);
  return {names.begin(), names.end()};
}

}  // namespace stageline::definitions
