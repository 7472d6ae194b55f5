// triggers: which pipelines a git push starts, and how (reference §5.2 and
// §8). Given a pipeline's declaration and one push to a repository, it names
// each source action of the pipeline that the push is for, with the trigger
// type and detail the execution records and the commit its source action must
// use (a COMMIT_ID source revision). Pure: no store, no engine, no I/O; the
// server feeds it pushes (to hosted CodeCommit repositories, to repositories
// behind connections) and starts what it says.
//
//   - CodeCommit source: a push to its RepositoryName's BranchName. Trigger
//     type PollForSourceChanges unless PollForSourceChanges is "false", then
//     CloudWatchEvent (Stageline plays the EventBridge rule AWS's console
//     makes). Tags never start it.
//   - CodeStarSourceConnection source with a V2 trigger
//     (gitConfiguration.sourceActionName names it): the push filters decide
//     (§8.2: any filter, each the AND of its criteria, excludes win, a file
//     criterion matches if one changed file does, and never when the changed
//     files are unknown, as for a new branch). Trigger type WebhookV2.
//   - CodeStarSourceConnection source without a trigger: a push to its
//     BranchName unless DetectChanges is "false". Trigger type WebhookV2.
//
// Pull-request events are not produced by any source yet and are not matched.
// Depends on base, model and artifacts (its java.nio glob, reference §8.3).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/execution.h"
#include "model/pipeline.h"

namespace stageline::triggers {

struct PushEvent {
  std::string provider;        // "CodeCommit" or "CodeStarSourceConnection"
  std::string repository;      // CodeCommit RepositoryName, or FullRepositoryId "owner/repo"
  std::string connection_arn;  // connections: must equal the action's ConnectionArn; else ""
  std::string ref;             // "refs/heads/main" or "refs/tags/v1.0"
  std::string commit_id;       // the ref's new commit
  // Paths changed by the push (old..new), '/'-separated; nullopt when unknown
  // (a new branch, or a forced push whose base is gone).
  std::optional<std::vector<std::string>> changed_files;
  // The repository's ARN: a CodeCommit start's trigger detail (a
  // connection's start has its ConnectionArn).
  std::string repository_arn;
};

struct TriggeredStart {
  std::string action_name;  // the source action the push is for
  model::TriggerType trigger = model::TriggerType::kWebhookV2;
  std::string trigger_detail;
  std::string commit_id;  // becomes that action's COMMIT_ID source revision
};

// The source actions of `pipeline` the push is for, in declaration order; a
// pipeline with several gets one start per matching action. An error
// (kInvalidArgument) only for a filter pattern that does not parse, which
// validation refuses before a pipeline is stored.
Result<std::vector<TriggeredStart>> match_push(const model::PipelineDeclaration& pipeline,
                                               const PushEvent& push);

// "refs/heads/main" -> "main"; "" for any other ref.
std::string branch_of(const std::string& ref);
// "refs/tags/v1" -> "v1"; "" for any other ref.
std::string tag_of(const std::string& ref);

}  // namespace stageline::triggers
