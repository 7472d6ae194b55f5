// definitions/resources: the resources of a CloudFormation template that
// Stageline manages besides pipelines (build projects, roles and policies,
// buckets, keys, topics, repositories, connections, webhooks, custom action
// types), as plain records with every intrinsic function resolved.
//
// Each record holds its logical id, the line of its declaration, its resolved
// name and ARN (deterministic local values, see cloudformation.h), the fields
// the rest of Stageline reads, and the whole resolved `properties` object for
// anything else. Plain values: copy and move freely; no thread affinity.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stageline::definitions {

// What every record starts with.
struct ResourceBase {
  std::string logical_id;
  int line = 0;                    // line of the resource in the template, 0 when unknown
  boost::json::object properties;  // resolved Properties, PascalCase as in the template
};

struct BuildEnvironmentVariable {
  std::string name;
  std::string value;
  std::string type;  // PLAINTEXT (the default), PARAMETER_STORE or SECRETS_MANAGER
};

// AWS::CodeBuild::Project
struct BuildProjectResource : ResourceBase {
  std::string name;
  std::string arn;
  std::string source_type;       // Source.Type: CODEPIPELINE, CODECOMMIT, S3, NO_SOURCE, ...
  std::string buildspec;         // Source.BuildSpec: inline YAML or a path; "" = buildspec.yml
  std::string environment_type;  // Environment.Type: LINUX_CONTAINER, ...
  std::string image;             // Environment.Image
  std::string compute_type;      // Environment.ComputeType
  std::vector<BuildEnvironmentVariable> environment_variables;
  std::string artifacts_type;  // Artifacts.Type: CODEPIPELINE, S3, NO_ARTIFACTS
  std::string service_role;    // ServiceRole: a role name or ARN as written
  int timeout_in_minutes = 60;
  std::string encryption_key;  // EncryptionKey, "" when absent
};

struct InlinePolicy {
  std::string name;
  boost::json::value document;
};

// AWS::IAM::Role
struct RoleResource : ResourceBase {
  std::string name;
  std::string arn;
  std::string role_id;
  std::string path = "/";
  boost::json::value assume_role_policy_document;
  std::vector<std::string> managed_policy_arns;
  std::vector<InlinePolicy> policies;
};

// AWS::IAM::Policy: an inline policy attached to roles.
struct PolicyResource : ResourceBase {
  std::string name;
  boost::json::value document;
  std::vector<std::string> roles;  // role names
};

// AWS::IAM::ManagedPolicy
struct ManagedPolicyResource : ResourceBase {
  std::string name;
  std::string arn;
  boost::json::value document;
  std::vector<std::string> roles;  // role names
};

struct LifecycleRule {
  std::string id;
  std::string status;  // Enabled | Disabled
  std::string prefix;
  std::optional<int> expiration_days;
  std::optional<int> noncurrent_expiration_days;
};

// AWS::S3::Bucket
struct BucketResource : ResourceBase {
  std::string name;
  std::string arn;
  std::string versioning_status;  // Enabled | Suspended | "" (never enabled)
  std::string sse_algorithm;      // AES256 | aws:kms | aws:kms:dsse | ""
  std::string kms_key_id;         // KMSMasterKeyID, "" when absent
  std::vector<LifecycleRule> lifecycle_rules;
};

// AWS::KMS::Key
struct KeyResource : ResourceBase {
  std::string key_id;  // UUID-shaped, derived from the stack name and logical id
  std::string arn;
  std::string description;
  boost::json::value key_policy;  // null when absent
  bool enable_key_rotation = false;
};

// AWS::KMS::Alias
struct KeyAliasResource : ResourceBase {
  std::string alias_name;     // alias/...
  std::string target_key_id;  // a key id or ARN as resolved
};

struct Subscription {
  std::string protocol;
  std::string endpoint;
};

// AWS::SNS::Topic
struct TopicResource : ResourceBase {
  std::string name;
  std::string arn;
  std::vector<Subscription> subscriptions;
};

// AWS::CodeCommit::Repository
struct RepositoryResource : ResourceBase {
  std::string name;
  std::string description;
  std::string repository_id;
  std::string arn;
  std::string clone_url_http;
  std::string clone_url_ssh;
};

// AWS::CodeStarConnections::Connection
struct ConnectionResource : ResourceBase {
  std::string name;
  std::string arn;
  std::string provider_type;  // GitHub, Bitbucket, GitLab, ...; "" with a host
  std::string host_arn;
};

// AWS::CodePipeline::Webhook
struct WebhookResource : ResourceBase {
  std::string name;
  std::string url;
  std::string authentication;                                // GITHUB_HMAC | IP | UNAUTHENTICATED
  boost::json::object authentication_configuration;          // {SecretToken, AllowedIPRange}
  std::vector<std::pair<std::string, std::string>> filters;  // (JsonPath, MatchEquals)
  std::string target_pipeline;
  std::string target_action;
  std::optional<int> target_pipeline_version;
  bool register_with_third_party = false;
};

struct ArtifactDetails {
  int minimum_count = 0;
  int maximum_count = 0;
};

struct ConfigurationProperty {
  std::string name;
  std::string description;
  std::string type;  // String | Number | Boolean, "" when absent
  bool required = false;
  bool key = false;
  bool secret = false;
  bool queryable = false;
};

// AWS::CodePipeline::CustomActionType
struct CustomActionTypeResource : ResourceBase {
  std::string id;  // Category|Custom|Provider|Version
  std::string category;
  std::string provider;
  std::string version;
  boost::json::object settings;  // {EntityUrlTemplate, ExecutionUrlTemplate, ...}
  std::vector<ConfigurationProperty> configuration_properties;
  ArtifactDetails input_artifact_details;
  ArtifactDetails output_artifact_details;
};

// A resource of a type Stageline does not manage (AWS::Lambda::Function,
// AWS::CDK::Metadata, Custom::...). Not an error: callers list them.
struct UnmanagedResource {
  std::string logical_id;
  std::string type;
  int line = 0;
};

// Every managed resource of a template except pipelines, in template order
// within each type. Resources whose Condition is false are left out.
struct Resources {
  std::vector<BuildProjectResource> build_projects;
  std::vector<RoleResource> roles;
  std::vector<PolicyResource> policies;
  std::vector<ManagedPolicyResource> managed_policies;
  std::vector<BucketResource> buckets;
  std::vector<KeyResource> keys;
  std::vector<KeyAliasResource> key_aliases;
  std::vector<TopicResource> topics;
  std::vector<RepositoryResource> repositories;
  std::vector<ConnectionResource> connections;
  std::vector<WebhookResource> webhooks;
  std::vector<CustomActionTypeResource> custom_action_types;
  std::vector<UnmanagedResource> unmanaged;
};

// CreateProject's input (the CodeBuild API's shape) for an
// AWS::CodeBuild::Project: its resolved Properties with their names as the
// API spells them (PascalCase to camelCase, BuildSpec to buildspec), its
// resolved name and service role. How a template's projects become projects
// (`stageline run`, `stageline apply`).
boost::json::object codebuild_project_input(const BuildProjectResource& project);

}  // namespace stageline::definitions
