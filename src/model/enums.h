// model/enums: CodePipeline's enumerations with their exact API strings.
// Each enum has a table; to_string() and parse<E>() are generated from it,
// so the C++ names and the wire strings cannot drift apart.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageline::model {

enum class ActionCategory { kSource, kBuild, kDeploy, kTest, kInvoke, kApproval, kCompute };
enum class ActionOwner { kAws, kThirdParty, kCustom };
enum class ArtifactStoreType { kS3 };
enum class EncryptionKeyType { kKms };
enum class BlockerType { kSchedule };
enum class ExecutionMode { kQueued, kSuperseded, kParallel };
enum class PipelineType { kV1, kV2 };
enum class EnvironmentVariableType { kPlaintext, kSecretsManager };
// The botocore shape is called `Result`: what a stage condition does when it fails.
enum class ConditionResult { kRollback, kFail, kRetry, kSkip };
enum class StageRetryMode { kFailedActions, kAllActions };
enum class RuleCategory { kRule };
enum class RuleOwner { kAws };
enum class TriggerProviderType { kCodeStarSourceConnection };
enum class GitPullRequestEventType { kOpen, kUpdated, kClosed };

template <typename E>
struct EnumTraits;

#define STAGELINE_ENUM_TRAITS(E, SHAPE, ...)                                   \
  template <>                                                                  \
  struct EnumTraits<E> {                                                       \
    static constexpr std::string_view kShape = SHAPE;                          \
    static constexpr std::pair<E, std::string_view> kValues[] = {__VA_ARGS__}; \
  };

STAGELINE_ENUM_TRAITS(ActionCategory, "ActionCategory", {ActionCategory::kSource, "Source"},
                      {ActionCategory::kBuild, "Build"}, {ActionCategory::kDeploy, "Deploy"},
                      {ActionCategory::kTest, "Test"}, {ActionCategory::kInvoke, "Invoke"},
                      {ActionCategory::kApproval, "Approval"},
                      {ActionCategory::kCompute, "Compute"})
STAGELINE_ENUM_TRAITS(ActionOwner, "ActionOwner", {ActionOwner::kAws, "AWS"},
                      {ActionOwner::kThirdParty, "ThirdParty"}, {ActionOwner::kCustom, "Custom"})
STAGELINE_ENUM_TRAITS(ArtifactStoreType, "ArtifactStoreType", {ArtifactStoreType::kS3, "S3"})
STAGELINE_ENUM_TRAITS(EncryptionKeyType, "EncryptionKeyType", {EncryptionKeyType::kKms, "KMS"})
STAGELINE_ENUM_TRAITS(BlockerType, "BlockerType", {BlockerType::kSchedule, "Schedule"})
STAGELINE_ENUM_TRAITS(ExecutionMode, "ExecutionMode", {ExecutionMode::kQueued, "QUEUED"},
                      {ExecutionMode::kSuperseded, "SUPERSEDED"},
                      {ExecutionMode::kParallel, "PARALLEL"})
STAGELINE_ENUM_TRAITS(PipelineType, "PipelineType", {PipelineType::kV1, "V1"},
                      {PipelineType::kV2, "V2"})
STAGELINE_ENUM_TRAITS(EnvironmentVariableType, "EnvironmentVariableType",
                      {EnvironmentVariableType::kPlaintext, "PLAINTEXT"},
                      {EnvironmentVariableType::kSecretsManager, "SECRETS_MANAGER"})
STAGELINE_ENUM_TRAITS(ConditionResult, "Result", {ConditionResult::kRollback, "ROLLBACK"},
                      {ConditionResult::kFail, "FAIL"}, {ConditionResult::kRetry, "RETRY"},
                      {ConditionResult::kSkip, "SKIP"})
STAGELINE_ENUM_TRAITS(StageRetryMode, "StageRetryMode",
                      {StageRetryMode::kFailedActions, "FAILED_ACTIONS"},
                      {StageRetryMode::kAllActions, "ALL_ACTIONS"})
STAGELINE_ENUM_TRAITS(RuleCategory, "RuleCategory", {RuleCategory::kRule, "Rule"})
STAGELINE_ENUM_TRAITS(RuleOwner, "RuleOwner", {RuleOwner::kAws, "AWS"})
STAGELINE_ENUM_TRAITS(TriggerProviderType, "PipelineTriggerProviderType",
                      {TriggerProviderType::kCodeStarSourceConnection, "CodeStarSourceConnection"})
STAGELINE_ENUM_TRAITS(GitPullRequestEventType, "GitPullRequestEventType",
                      {GitPullRequestEventType::kOpen, "OPEN"},
                      {GitPullRequestEventType::kUpdated, "UPDATED"},
                      {GitPullRequestEventType::kClosed, "CLOSED"})
#undef STAGELINE_ENUM_TRAITS

template <typename E>
constexpr std::string_view to_string(E e) {
  for (const auto& [value, name] : EnumTraits<E>::kValues)
    if (value == e) return name;
  return "?";
}

// The enumerator whose API string is exactly `s` (case-sensitive, as AWS is).
template <typename E>
constexpr std::optional<E> parse_enum(std::string_view s) {
  for (const auto& [value, name] : EnumTraits<E>::kValues)
    if (name == s) return value;
  return std::nullopt;
}

// Every API string of E, in the model's order: "[Source, Build, ...]" in messages.
template <typename E>
std::vector<std::string> enum_names() {
  std::vector<std::string> out;
  for (const auto& [value, name] : EnumTraits<E>::kValues) out.emplace_back(name);
  return out;
}

}  // namespace stageline::model
