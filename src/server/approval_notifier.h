// server/approval_notifier: the approval notifications of issue #7. When a
// manual approval (Approval/AWS/Manual) starts waiting and its configuration
// names an SNS topic in NotificationArn, the topic gets the message AWS
// sends (reference §10): {"region","consoleLink","approval":{pipelineName,
// stageName,actionName,token,expires,externalEntityLink,approvalReviewLink,
// customData}} with the subject "APPROVAL NEEDED: AWS CodePipeline
// <pipeline> for action <action>". docs/sns.md shows one.
//
// It sits between the engine and the event log: an EngineEvents that hands
// every change on to the next one (the event log) and then looks at the
// action changes. Publishing only queues deliveries (api/sns), so a slow or
// dead endpoint never holds up the pipeline; a failure to publish (no such
// topic, a full queue) is logged, never returned to the engine.
//
// Each approval is announced once per server run (remembered by action
// execution id); an approval recovered after a restart is not announced
// again. Control thread only, like the engine that calls it.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "base/status.h"
#include "engine/engine.h"
#include "store/store.h"

namespace stageline::server {

class ApprovalNotifier final : public engine::EngineEvents {
 public:
  struct Options {
    std::string region = "us-east-1";
    // The console's base URL for consoleLink and approvalReviewLink (the
    // server's own URL); empty: links are relative ("#/view/...").
    std::function<std::string()> console_url;
    // Publishes (topic ARN, subject, message); returns the MessageId.
    std::function<Result<std::string>(const std::string&, const std::string&, const std::string&)>
        publish;
    std::function<void(const std::string&)> log;  // one line per failure
  };

  // `store` is read for the execution and its pipeline's declaration; `next`
  // (may be nullptr) gets every change first. Both are borrowed.
  ApprovalNotifier(store::StoreReader& store, engine::EngineEvents* next, Options options);

  void execution_changed(const model::PipelineExecutionRecord& r) override;
  void stage_changed(const model::StageExecutionRecord& r) override;
  void action_changed(const model::ActionExecutionRecord& r) override;
  void condition_changed(const model::ConditionExecutionRecord& r) override;
  void rule_changed(const model::RuleExecutionRecord& r) override;

  // The message for an approval of `pipeline` waiting with `r`, expiring at
  // `expires_ms` (reference §10). Public for tests.
  std::string approval_message(const std::string& pipeline, const model::ActionExecutionRecord& r,
                               model::TimestampMs expires_ms) const;

 private:
  Status notify(const model::ActionExecutionRecord& r, const std::string& topic_arn);

  store::StoreReader& store_;
  engine::EngineEvents* next_;
  Options options_;
  std::set<std::string> announced_;  // action execution ids
};

// "2016-07-07T20:22Z": the minute-precision UTC time of an approval's expiry.
std::string approval_expiry(model::TimestampMs ms);

}  // namespace stageline::server
