// The approval notification of issue #7 (reference §10), from a real engine
// with wait_for_approvals on a real SQLite store; the test plays the job
// runner and SNS.
#include "server/approval_notifier.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "engine/engine_test_util.h"
#include "store/sqlite_store.h"

namespace stageline::server {
namespace {

using engine::testing_util::declare;
using engine::testing_util::RecordingRunner;

constexpr char kTopic[] = "arn:aws:sns:us-east-1:111122223333:approvals";

struct Published {
  std::string topic, subject, message;
};

class CountingEvents final : public engine::EngineEvents {
 public:
  int actions = 0, executions = 0;
  void execution_changed(const model::PipelineExecutionRecord&) override { ++executions; }
  void action_changed(const model::ActionExecutionRecord&) override { ++actions; }
};

class ApprovalNotifierTest : public ::testing::Test {
 protected:
  void declare_pipeline(model::StringMap approval_configuration, std::optional<int> timeout) {
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    model::PipelineDeclaration p;
    p.name = "app";
    p.role_arn = "arn:aws:iam::111122223333:role/R";
    p.artifact_store = model::ArtifactStore{model::ArtifactStoreType::kS3, "bucket", {}};
    p.pipeline_type = model::PipelineType::kV2;
    auto approve = declare("Review", model::ActionCategory::kApproval, "Manual", {}, {});
    approve.configuration = std::move(approval_configuration);
    approve.timeout_in_minutes = timeout;
    p.stages = {{"Gate", {}, {approve}, {}, {}, {}}};
    p.variables = std::vector<model::PipelineVariableDeclaration>{{"Env", "prod", {}}};
    ASSERT_TRUE(store_->create_pipeline(model::PipelineRecord{p, {}, 1, 1}).ok());
    ApprovalNotifier::Options options;
    options.region = "us-east-1";
    options.console_url = [] { return std::string("http://127.0.0.1:7300"); };
    options.publish = [this](const std::string& topic, const std::string& subject,
                             const std::string& message) -> Result<std::string> {
      published_.push_back({topic, subject, message});
      if (!publish_error_.ok()) return publish_error_;
      return std::string("message-1");
    };
    options.log = [this](const std::string& line) { log_.push_back(line); };
    notifier_ = std::make_unique<ApprovalNotifier>(*store_, &next_, options);
    engine::Engine::Options o;
    o.now_ms = [] { return model::TimestampMs{1467922920000}; };  // 2016-07-07T20:22:00Z
    o.new_id = [this] { return "id-" + std::to_string(++ids_); };
    o.wait_for_approvals = true;
    o.events = notifier_.get();
    engine_ = std::make_unique<engine::Engine>(*store_, runner_, o);
  }

  model::ActionExecutionRecord start() {
    auto id = engine_->start_execution("app", {}, model::TriggerType::kStartPipelineExecution);
    EXPECT_TRUE(id.ok()) << id.status().message();
    auto actions = store_->list_action_executions(*id);
    EXPECT_TRUE(actions.ok() && actions->size() == 1u);
    return actions->at(0);
  }

  std::unique_ptr<store::SqliteStore> store_;
  RecordingRunner runner_;
  CountingEvents next_;
  std::unique_ptr<ApprovalNotifier> notifier_;
  std::unique_ptr<engine::Engine> engine_;
  std::vector<Published> published_;
  std::vector<std::string> log_;
  Status publish_error_;
  int ids_ = 0;
};

TEST_F(ApprovalNotifierTest, AWaitingApprovalWithATopicPublishesTheAwsApprovalMessage) {
  declare_pipeline({{"NotificationArn", kTopic},
                    {"CustomData", "deploy to #{variables.Env}?"},
                    {"ExternalEntityLink", "http://example.com/diff"}},
                   60);
  auto review = start();
  ASSERT_FALSE(review.approval_token.empty());
  ASSERT_EQ(published_.size(), 1u);
  EXPECT_EQ(published_[0].topic, kTopic);
  EXPECT_EQ(published_[0].subject, "APPROVAL NEEDED: AWS CodePipeline app for action Review");
  auto m = boost::json::parse(published_[0].message).as_object();
  EXPECT_EQ(m.at("region").as_string(), "us-east-1");
  EXPECT_EQ(m.at("consoleLink").as_string(), "http://127.0.0.1:7300/console/#/pipelines/app");
  auto a = m.at("approval").as_object();
  EXPECT_EQ(a.at("pipelineName").as_string(), "app");
  EXPECT_EQ(a.at("stageName").as_string(), "Gate");
  EXPECT_EQ(a.at("actionName").as_string(), "Review");
  EXPECT_EQ(a.at("token").as_string(), review.approval_token);
  EXPECT_EQ(a.at("expires").as_string(), "2016-07-07T21:22Z");  // timeoutInMinutes 60
  EXPECT_EQ(a.at("externalEntityLink").as_string(), "http://example.com/diff");
  EXPECT_EQ(a.at("customData").as_string(), "deploy to prod?");
  EXPECT_EQ(a.at("approvalReviewLink").as_string(),
            "http://127.0.0.1:7300/console/#/pipelines/app/executions/" + review.execution_id +
                "/actions/Gate/Review");
  // The event log behind it saw every change.
  EXPECT_GE(next_.actions, 1);
  EXPECT_GE(next_.executions, 1);
}

TEST_F(ApprovalNotifierTest, TheDefaultExpiryIsSevenDays) {
  declare_pipeline({{"NotificationArn", kTopic}}, std::nullopt);
  start();
  ASSERT_EQ(published_.size(), 1u);
  auto a = boost::json::parse(published_[0].message).at("approval").as_object();
  EXPECT_EQ(a.at("expires").as_string(), "2016-07-14T20:22Z");
  EXPECT_EQ(a.at("customData").as_string(), "");
}

TEST_F(ApprovalNotifierTest, AnApprovalWithoutATopicPublishesNothing) {
  declare_pipeline({{"CustomData", "x"}}, std::nullopt);
  start();
  EXPECT_TRUE(published_.empty());
}

TEST_F(ApprovalNotifierTest, APublishFailureIsLoggedAndTheApprovalStillWaits) {
  declare_pipeline({{"NotificationArn", kTopic}}, std::nullopt);
  publish_error_ = Status::not_found("Topic does not exist");
  auto review = start();
  EXPECT_EQ(review.status, model::ActionExecutionStatus::kInProgress);
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_NE(log_[0].find("Topic does not exist"), std::string::npos) << log_[0];
  auto answered = engine_->put_approval_result("app", "Gate", "Review", review.approval_token, true,
                                               "ok", "arn:aws:iam::1:user/a");
  EXPECT_TRUE(answered.ok()) << answered.status().message();
  EXPECT_EQ(published_.size(), 1u);  // announced once
}

TEST(ApprovalExpiry, HasMinutePrecisionWithoutSeconds) {
  EXPECT_EQ(approval_expiry(1467922959999), "2016-07-07T20:22Z");
}

}  // namespace
}  // namespace stageline::server
