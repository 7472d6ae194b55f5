// model/execution: the run-time records of CodePipeline: pipeline, stage and
// action executions, jobs, artifacts, transitions and log lines, with the
// API's exact status strings. Plain values, no I/O; the store persists them
// (docs/store-schema.md) and the engine decides their transitions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/enums.h"
#include "model/pipeline.h"

namespace stageline::model {

enum class PipelineExecutionStatus {
  kCancelled,
  kInProgress,
  kStopped,
  kStopping,
  kSucceeded,
  kSuperseded,
  kFailed
};
enum class StageExecutionStatus {
  kCancelled,
  kInProgress,
  kFailed,
  kStopped,
  kStopping,
  kSucceeded,
  kSkipped
};
enum class ActionExecutionStatus { kInProgress, kAbandoned, kSucceeded, kFailed };
enum class JobStatus {
  kCreated,
  kQueued,
  kDispatched,
  kInProgress,
  kTimedOut,
  kSucceeded,
  kFailed
};
enum class ExecutionType { kStandard, kRollback };
// Stage conditions (reference §7). The API's ConditionType has BEFORE_ENTRY
// and ON_SUCCESS only (OverrideStageCondition); ON_FAILURE is ours, for the
// onFailure conditions GetPipelineState shows as onFailureConditionState.
enum class ConditionType { kBeforeEntry, kOnSuccess, kOnFailure };
enum class ConditionExecutionStatus {
  kInProgress,
  kFailed,
  kErrored,
  kSucceeded,
  kCancelled,
  kAbandoned,
  kOverridden
};
enum class RuleExecutionStatus { kInProgress, kAbandoned, kSucceeded, kFailed };
// Why a job failed (PutJobFailureResult's failureDetails.type).
enum class FailureType {
  kJobFailed,
  kConfigurationError,
  kPermissionError,
  kRevisionOutOfSync,
  kRevisionUnavailable,
  kSystemUnavailable
};
enum class TriggerType {
  kCreatePipeline,
  kStartPipelineExecution,
  kPollForSourceChanges,
  kWebhook,
  kCloudWatchEvent,
  kPutActionRevision,
  kWebhookV2,
  kManualRollback,
  kAutomatedRollback
};

#define STAGELINE_ENUM_TRAITS(E, SHAPE, ...)                                   \
  template <>                                                                  \
  struct EnumTraits<E> {                                                       \
    static constexpr std::string_view kShape = SHAPE;                          \
    static constexpr std::pair<E, std::string_view> kValues[] = {__VA_ARGS__}; \
  };
STAGELINE_ENUM_TRAITS(PipelineExecutionStatus, "PipelineExecutionStatus",
                      {PipelineExecutionStatus::kCancelled, "Cancelled"},
                      {PipelineExecutionStatus::kInProgress, "InProgress"},
                      {PipelineExecutionStatus::kStopped, "Stopped"},
                      {PipelineExecutionStatus::kStopping, "Stopping"},
                      {PipelineExecutionStatus::kSucceeded, "Succeeded"},
                      {PipelineExecutionStatus::kSuperseded, "Superseded"},
                      {PipelineExecutionStatus::kFailed, "Failed"})
STAGELINE_ENUM_TRAITS(
    StageExecutionStatus, "StageExecutionStatus", {StageExecutionStatus::kCancelled, "Cancelled"},
    {StageExecutionStatus::kInProgress, "InProgress"}, {StageExecutionStatus::kFailed, "Failed"},
    {StageExecutionStatus::kStopped, "Stopped"}, {StageExecutionStatus::kStopping, "Stopping"},
    {StageExecutionStatus::kSucceeded, "Succeeded"}, {StageExecutionStatus::kSkipped, "Skipped"})
STAGELINE_ENUM_TRAITS(ActionExecutionStatus, "ActionExecutionStatus",
                      {ActionExecutionStatus::kInProgress, "InProgress"},
                      {ActionExecutionStatus::kAbandoned, "Abandoned"},
                      {ActionExecutionStatus::kSucceeded, "Succeeded"},
                      {ActionExecutionStatus::kFailed, "Failed"})
STAGELINE_ENUM_TRAITS(JobStatus, "JobStatus", {JobStatus::kCreated, "Created"},
                      {JobStatus::kQueued, "Queued"}, {JobStatus::kDispatched, "Dispatched"},
                      {JobStatus::kInProgress, "InProgress"}, {JobStatus::kTimedOut, "TimedOut"},
                      {JobStatus::kSucceeded, "Succeeded"}, {JobStatus::kFailed, "Failed"})
STAGELINE_ENUM_TRAITS(ExecutionType, "ExecutionType", {ExecutionType::kStandard, "STANDARD"},
                      {ExecutionType::kRollback, "ROLLBACK"})
STAGELINE_ENUM_TRAITS(FailureType, "FailureType", {FailureType::kJobFailed, "JobFailed"},
                      {FailureType::kConfigurationError, "ConfigurationError"},
                      {FailureType::kPermissionError, "PermissionError"},
                      {FailureType::kRevisionOutOfSync, "RevisionOutOfSync"},
                      {FailureType::kRevisionUnavailable, "RevisionUnavailable"},
                      {FailureType::kSystemUnavailable, "SystemUnavailable"})
STAGELINE_ENUM_TRAITS(ConditionType, "ConditionType", {ConditionType::kBeforeEntry, "BEFORE_ENTRY"},
                      {ConditionType::kOnSuccess, "ON_SUCCESS"},
                      {ConditionType::kOnFailure, "ON_FAILURE"})
STAGELINE_ENUM_TRAITS(ConditionExecutionStatus, "ConditionExecutionStatus",
                      {ConditionExecutionStatus::kInProgress, "InProgress"},
                      {ConditionExecutionStatus::kFailed, "Failed"},
                      {ConditionExecutionStatus::kErrored, "Errored"},
                      {ConditionExecutionStatus::kSucceeded, "Succeeded"},
                      {ConditionExecutionStatus::kCancelled, "Cancelled"},
                      {ConditionExecutionStatus::kAbandoned, "Abandoned"},
                      {ConditionExecutionStatus::kOverridden, "Overridden"})
STAGELINE_ENUM_TRAITS(RuleExecutionStatus, "RuleExecutionStatus",
                      {RuleExecutionStatus::kInProgress, "InProgress"},
                      {RuleExecutionStatus::kAbandoned, "Abandoned"},
                      {RuleExecutionStatus::kSucceeded, "Succeeded"},
                      {RuleExecutionStatus::kFailed, "Failed"})
STAGELINE_ENUM_TRAITS(TriggerType, "TriggerType", {TriggerType::kCreatePipeline, "CreatePipeline"},
                      {TriggerType::kStartPipelineExecution, "StartPipelineExecution"},
                      {TriggerType::kPollForSourceChanges, "PollForSourceChanges"},
                      {TriggerType::kWebhook, "Webhook"},
                      {TriggerType::kCloudWatchEvent, "CloudWatchEvent"},
                      {TriggerType::kPutActionRevision, "PutActionRevision"},
                      {TriggerType::kWebhookV2, "WebhookV2"},
                      {TriggerType::kManualRollback, "ManualRollback"},
                      {TriggerType::kAutomatedRollback, "AutomatedRollback"})
#undef STAGELINE_ENUM_TRAITS

// Milliseconds since the Unix epoch; the API shows them as fractional seconds.
using TimestampMs = int64_t;

// A stored pipeline: one row per version, the newest is current.
struct PipelineRecord {
  PipelineDeclaration declaration;  // declaration.version is set
  std::vector<Tag> tags;
  TimestampMs created_ms = 0;
  TimestampMs updated_ms = 0;
};

struct ResolvedVariable {
  std::string name;
  std::string resolved_value;
  bool operator==(const ResolvedVariable&) const = default;
};

// A source action's revision. Before the action runs, a revision asked for
// by StartPipelineExecution's sourceRevisions has revision_type set
// (COMMIT_ID, IMAGE_DIGEST, S3_OBJECT_VERSION_ID, S3_OBJECT_KEY) and
// revision_id holding its value; the action replaces it with what it used.
struct SourceRevision {
  std::string action_name;
  std::string revision_id;
  std::string revision_summary;
  std::string revision_url;
  std::string revision_type;
  bool operator==(const SourceRevision&) const = default;
};

struct PipelineExecutionRecord {
  std::string id;  // lower-case UUID
  std::string pipeline_name;
  int pipeline_version = 1;
  PipelineExecutionStatus status = PipelineExecutionStatus::kInProgress;
  std::string status_summary;
  ExecutionMode execution_mode = ExecutionMode::kSuperseded;
  ExecutionType execution_type = ExecutionType::kStandard;
  TriggerType trigger_type = TriggerType::kStartPipelineExecution;
  std::string trigger_detail;
  std::string client_request_token;
  std::vector<ResolvedVariable> variables;
  std::vector<SourceRevision> source_revisions;
  std::string rollback_target_execution_id;
  std::string rollback_stage_name;  // the one stage a ROLLBACK execution runs
  std::string stop_reason;
  TimestampMs created_ms = 0;
  TimestampMs updated_ms = 0;
  bool operator==(const PipelineExecutionRecord&) const = default;
};

struct StageExecutionRecord {
  std::string execution_id;
  std::string stage_name;
  StageExecutionStatus status = StageExecutionStatus::kInProgress;
  int attempt = 1;  // grows with each retry of the stage
  TimestampMs started_ms = 0;
  TimestampMs updated_ms = 0;
  bool operator==(const StageExecutionRecord&) const = default;
};

// Where an artifact lives in the artifact store.
struct ArtifactLocation {
  std::string bucket;
  std::string key;
  std::string version_id;
  std::string etag;
  bool operator==(const ArtifactLocation&) const = default;
};

struct ArtifactRecord {
  std::string execution_id;
  std::string name;
  ArtifactLocation location;
  std::string produced_by_stage;
  std::string produced_by_action;
  int64_t size_bytes = 0;
  TimestampMs created_ms = 0;
  bool operator==(const ArtifactRecord&) const = default;
};

struct ActionExecutionRecord {
  std::string id;  // actionExecutionId, lower-case UUID
  std::string execution_id;
  std::string stage_name;
  std::string action_name;
  int attempt = 1;
  ActionExecutionStatus status = ActionExecutionStatus::kInProgress;
  std::string summary;
  std::string external_execution_id;
  std::string external_execution_url;
  StringMap resolved_configuration;
  std::map<std::string, std::string> output_variables;
  std::string error_code;  // JobFailed, ConfigurationError, ... when Failed
  std::string error_message;
  std::string job_id;  // empty for manual approvals
  // A manual approval waiting for PutApprovalResult: its token (reference
  // §10); "" for every other action and once the approval is answered.
  std::string approval_token;
  std::string updated_by;  // lastUpdatedBy: who answered an approval (an ARN)
  TimestampMs started_ms = 0;
  TimestampMs updated_ms = 0;
  bool operator==(const ActionExecutionRecord&) const = default;
};

struct JobRecord {
  std::string id;     // jobId, lower-case UUID
  std::string nonce;  // changes on every claim; acknowledge must echo it
  std::string action_execution_id;
  std::string execution_id;
  std::string pipeline_name;
  std::string stage_name;
  std::string action_name;
  ActionTypeId action_type_id;
  JobStatus status = JobStatus::kCreated;
  std::string claimed_by;  // worker identity, empty while unclaimed
  // Third-party jobs: the clientId PollForThirdPartyJobs handed out with the
  // current claim (a new UUID per claim); the clientToken of the other
  // third-party calls must equal it. Empty for other jobs and while unclaimed.
  std::string client_id;
  std::string continuation_token;
  TimestampMs created_ms = 0;
  TimestampMs updated_ms = 0;
  bool operator==(const JobRecord&) const = default;
};

// One evaluation of a stage's condition: one row per (execution, stage,
// condition type, stage attempt); a retried stage evaluates it again.
struct ConditionExecutionRecord {
  std::string execution_id;
  std::string stage_name;
  ConditionType type = ConditionType::kBeforeEntry;
  int stage_attempt = 1;
  ConditionExecutionStatus status = ConditionExecutionStatus::kInProgress;
  std::string summary;
  TimestampMs started_ms = 0;
  TimestampMs updated_ms = 0;
  bool operator==(const ConditionExecutionRecord&) const = default;
};

// One evaluation of one rule of a condition (ListRuleExecutions).
struct RuleExecutionRecord {
  std::string id;  // ruleExecutionId, lower-case UUID
  std::string execution_id;
  std::string pipeline_name;
  std::string stage_name;
  ConditionType condition_type = ConditionType::kBeforeEntry;
  int stage_attempt = 1;
  std::string rule_name;
  RuleTypeId rule_type_id;
  RuleExecutionStatus status = RuleExecutionStatus::kInProgress;
  std::string summary;
  std::string external_execution_id;
  StringMap resolved_configuration;
  std::string error_code;
  std::string error_message;
  TimestampMs started_ms = 0;
  TimestampMs updated_ms = 0;
  bool operator==(const RuleExecutionRecord&) const = default;
};

struct TransitionRecord {
  std::string pipeline_name;
  std::string stage_name;
  bool enabled = true;
  std::string disabled_reason;
  std::string last_changed_by;
  TimestampMs last_changed_ms = 0;
  bool operator==(const TransitionRecord&) const = default;
};

struct LogLine {
  std::string action_execution_id;
  int64_t seq = 0;  // 1, 2, ... per action execution
  TimestampMs time_ms = 0;
  std::string text;
  bool operator==(const LogLine&) const = default;
};

}  // namespace stageline::model
