#include "server/approval_notifier.h"

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "engine/timeouts.h"

namespace stageline::server {

ApprovalNotifier::ApprovalNotifier(store::StoreReader& store, engine::EngineEvents* next,
                                   Options options)
    : store_(store), next_(next), options_(std::move(options)) {}

void ApprovalNotifier::execution_changed(const model::PipelineExecutionRecord& r) {
  if (next_) next_->execution_changed(r);
}
void ApprovalNotifier::stage_changed(const model::StageExecutionRecord& r) {
  if (next_) next_->stage_changed(r);
}
void ApprovalNotifier::condition_changed(const model::ConditionExecutionRecord& r) {
  if (next_) next_->condition_changed(r);
}
void ApprovalNotifier::rule_changed(const model::RuleExecutionRecord& r) {
  if (next_) next_->rule_changed(r);
}

void ApprovalNotifier::action_changed(const model::ActionExecutionRecord& r) {
  if (next_) next_->action_changed(r);
  // A waiting manual approval is the only action with a token.
  if (r.status != model::ActionExecutionStatus::kInProgress || r.approval_token.empty()) return;
  auto arn = r.resolved_configuration.find("NotificationArn");
  if (arn == r.resolved_configuration.end() || arn->second.empty()) return;
  if (!announced_.insert(r.id).second) return;
  if (Status s = notify(r, arn->second); !s.ok() && options_.log)
    options_.log("approval " + r.stage_name + "/" + r.action_name + " of execution " +
                 r.execution_id + ": notify " + arn->second + ": " + s.message());
}

Status ApprovalNotifier::notify(const model::ActionExecutionRecord& r,
                                const std::string& topic_arn) {
  auto execution = store_.get_pipeline_execution(r.execution_id);
  if (!execution.ok()) return execution.status();
  // The expiry is the action's timeout from when it started (reference §10:
  // 7 days, or its timeoutInMinutes).
  std::chrono::minutes timeout = std::chrono::hours(24 * 7);
  auto pipeline =
      store_.get_pipeline_version(execution->pipeline_name, execution->pipeline_version);
  if (pipeline.ok())
    for (const auto& stage : pipeline->declaration.stages)
      if (stage.name == r.stage_name)
        for (const auto& action : stage.actions)
          if (action.name == r.action_name) timeout = engine::action_timeout(action);
  const model::TimestampMs expires =
      r.started_ms + std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  const std::string subject = "APPROVAL NEEDED: AWS CodePipeline " + execution->pipeline_name +
                              " for action " + r.action_name;
  auto published = options_.publish(topic_arn, subject.substr(0, 100),
                                    approval_message(execution->pipeline_name, r, expires));
  if (!published.ok()) return published.status();
  return Status();
}

std::string ApprovalNotifier::approval_message(const std::string& pipeline,
                                               const model::ActionExecutionRecord& r,
                                               model::TimestampMs expires_ms) const {
  const std::string base = options_.console_url ? options_.console_url() : "";
  // The web console's pages (web/app.js routes; names are URL-safe).
  const std::string view = base + "/console/#/pipelines/" + pipeline;
  auto config = [&r](const char* key) {
    auto it = r.resolved_configuration.find(key);
    return it == r.resolved_configuration.end() ? std::string() : it->second;
  };
  boost::json::object approval;
  approval["pipelineName"] = pipeline;
  approval["stageName"] = r.stage_name;
  approval["actionName"] = r.action_name;
  approval["token"] = r.approval_token;
  approval["expires"] = approval_expiry(expires_ms);
  approval["externalEntityLink"] = config("ExternalEntityLink");
  approval["approvalReviewLink"] =
      view + "/executions/" + r.execution_id + "/actions/" + r.stage_name + "/" + r.action_name;
  approval["customData"] = config("CustomData");
  boost::json::object message;
  message["region"] = options_.region;
  message["consoleLink"] = view;
  message["approval"] = std::move(approval);
  return boost::json::serialize(message);
}

std::string approval_expiry(model::TimestampMs ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min);
  return buf;
}

}  // namespace stageline::server
