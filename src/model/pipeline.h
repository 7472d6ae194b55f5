// model: plain C++ types for everything CodePipeline declares and records.
// This header is the pipeline declaration: every shape reachable from the
// botocore model's PipelineDeclaration (V1 and V2), member for member. An
// optional member that is absent stays std::nullopt, so a document read and
// written back is the same document (see pipeline_json.h).
// Depends on base only; no I/O. Types are values: copy them freely.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/enums.h"

namespace stageline::model {

// A key/value map with keys in sorted order (the API's maps are unordered).
using StringMap = std::map<std::string, std::string>;

struct EncryptionKey {
  std::string id;
  EncryptionKeyType type = EncryptionKeyType::kKms;
  bool operator==(const EncryptionKey&) const = default;
};

struct ArtifactStore {
  ArtifactStoreType type = ArtifactStoreType::kS3;
  std::string location;  // a bucket name
  std::optional<EncryptionKey> encryption_key;
  bool operator==(const ArtifactStore&) const = default;
};

struct ActionTypeId {
  ActionCategory category = ActionCategory::kSource;
  ActionOwner owner = ActionOwner::kAws;
  std::string provider;
  std::string version;
  bool operator==(const ActionTypeId&) const = default;
};

struct InputArtifact {
  std::string name;
  bool operator==(const InputArtifact&) const = default;
};

struct OutputArtifact {
  std::string name;
  std::optional<std::vector<std::string>> files;  // Commands action only
  bool operator==(const OutputArtifact&) const = default;
};

struct EnvironmentVariable {
  std::string name;
  std::string value;
  std::optional<EnvironmentVariableType> type;
  bool operator==(const EnvironmentVariable&) const = default;
};

struct ActionDeclaration {
  std::string name;
  ActionTypeId action_type_id;
  std::optional<int> run_order;  // 1..999; absent means 1
  std::optional<StringMap> configuration;
  std::optional<std::vector<std::string>> commands;
  std::optional<std::vector<OutputArtifact>> output_artifacts;
  std::optional<std::vector<InputArtifact>> input_artifacts;
  std::optional<std::vector<std::string>> output_variables;
  std::optional<std::string> role_arn;
  std::optional<std::string> region;
  std::optional<std::string> namespace_;
  std::optional<int> timeout_in_minutes;
  std::optional<std::vector<EnvironmentVariable>> environment_variables;
  bool operator==(const ActionDeclaration&) const = default;

  int effective_run_order() const { return run_order.value_or(1); }
};

struct BlockerDeclaration {
  std::string name;
  BlockerType type = BlockerType::kSchedule;
  bool operator==(const BlockerDeclaration&) const = default;
};

struct RuleTypeId {
  RuleCategory category = RuleCategory::kRule;
  std::optional<RuleOwner> owner;
  std::string provider;
  std::optional<std::string> version;
  bool operator==(const RuleTypeId&) const = default;
};

struct RuleDeclaration {
  std::string name;
  RuleTypeId rule_type_id;
  std::optional<StringMap> configuration;
  std::optional<std::vector<std::string>> commands;
  std::optional<std::vector<InputArtifact>> input_artifacts;
  std::optional<std::string> role_arn;
  std::optional<std::string> region;
  std::optional<int> timeout_in_minutes;
  bool operator==(const RuleDeclaration&) const = default;
};

struct Condition {
  std::optional<ConditionResult> result;
  std::optional<std::vector<RuleDeclaration>> rules;
  bool operator==(const Condition&) const = default;
};

struct RetryConfiguration {
  std::optional<StageRetryMode> retry_mode;
  bool operator==(const RetryConfiguration&) const = default;
};

struct FailureConditions {
  std::optional<ConditionResult> result;
  std::optional<RetryConfiguration> retry_configuration;
  std::optional<std::vector<Condition>> conditions;
  bool operator==(const FailureConditions&) const = default;
};

// SuccessConditions and BeforeEntryConditions: `conditions` is required.
struct SuccessConditions {
  std::vector<Condition> conditions;
  bool operator==(const SuccessConditions&) const = default;
};

struct BeforeEntryConditions {
  std::vector<Condition> conditions;
  bool operator==(const BeforeEntryConditions&) const = default;
};

struct StageDeclaration {
  std::string name;
  std::optional<std::vector<BlockerDeclaration>> blockers;
  std::vector<ActionDeclaration> actions;
  std::optional<FailureConditions> on_failure;
  std::optional<SuccessConditions> on_success;
  std::optional<BeforeEntryConditions> before_entry;
  bool operator==(const StageDeclaration&) const = default;
};

struct PipelineVariableDeclaration {
  std::string name;
  std::optional<std::string> default_value;
  std::optional<std::string> description;
  bool operator==(const PipelineVariableDeclaration&) const = default;
};

// GitTagFilterCriteria, GitBranchFilterCriteria and GitFilePathFilterCriteria
// have the same members; one type serves all three.
struct GitFilterCriteria {
  std::optional<std::vector<std::string>> includes;
  std::optional<std::vector<std::string>> excludes;
  bool operator==(const GitFilterCriteria&) const = default;
};

struct GitPushFilter {
  std::optional<GitFilterCriteria> tags;
  std::optional<GitFilterCriteria> branches;
  std::optional<GitFilterCriteria> file_paths;
  bool operator==(const GitPushFilter&) const = default;
};

struct GitPullRequestFilter {
  std::optional<std::vector<GitPullRequestEventType>> events;
  std::optional<GitFilterCriteria> branches;
  std::optional<GitFilterCriteria> file_paths;
  bool operator==(const GitPullRequestFilter&) const = default;
};

struct GitConfiguration {
  std::string source_action_name;
  std::optional<std::vector<GitPushFilter>> push;
  std::optional<std::vector<GitPullRequestFilter>> pull_request;
  bool operator==(const GitConfiguration&) const = default;
};

struct PipelineTriggerDeclaration {
  TriggerProviderType provider_type = TriggerProviderType::kCodeStarSourceConnection;
  GitConfiguration git_configuration;
  bool operator==(const PipelineTriggerDeclaration&) const = default;
};

struct PipelineDeclaration {
  std::string name;
  std::string role_arn;
  std::optional<ArtifactStore> artifact_store;
  std::optional<std::map<std::string, ArtifactStore>> artifact_stores;  // region -> store
  std::vector<StageDeclaration> stages;
  std::optional<int> version;
  std::optional<ExecutionMode> execution_mode;
  std::optional<PipelineType> pipeline_type;
  std::optional<std::vector<PipelineVariableDeclaration>> variables;
  std::optional<std::vector<PipelineTriggerDeclaration>> triggers;
  bool operator==(const PipelineDeclaration&) const = default;

  PipelineType effective_type() const { return pipeline_type.value_or(PipelineType::kV1); }
  ExecutionMode effective_mode() const {
    return execution_mode.value_or(ExecutionMode::kSuperseded);
  }
};

struct Tag {
  std::string key;
  std::string value;
  bool operator==(const Tag&) const = default;
};

}  // namespace stageline::model
