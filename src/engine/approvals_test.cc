// Manual approvals that wait for a person (reference §10): Engine with
// wait_for_approvals, against a real SQLite store; the test plays the job
// runner and the approver.
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "engine/engine_test_util.h"
#include "store/sqlite_store.h"

namespace stageline::engine {
namespace {

using model::ActionExecutionStatus;
using model::PipelineExecutionStatus;

constexpr char kAdmin[] = "arn:aws:iam::111122223333:user/admin";

using testing_util::declare;
using testing_util::RecordingRunner;

class ApprovalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    model::PipelineDeclaration p;
    p.name = "app";
    p.role_arn = "arn:aws:iam::111122223333:role/R";
    p.artifact_store = model::ArtifactStore{model::ArtifactStoreType::kS3, "bucket", {}};
    p.pipeline_type = model::PipelineType::kV2;
    auto approve = declare("Review", model::ActionCategory::kApproval, "Manual", {}, {});
    approve.configuration = model::StringMap{{"CustomData", "look at #{variables.Env}"}};
    auto build = declare("Make", model::ActionCategory::kCompute, "Commands", {"Code"}, {});
    build.commands = std::vector<std::string>{"true"};
    p.stages = {{"Source",
                 {},
                 {declare("Src", model::ActionCategory::kSource, "CodeCommit", {}, {"Code"})},
                 {},
                 {},
                 {}},
                {"Approve", {}, {approve}, {}, {}, {}},
                {"Deploy", {}, {build}, {}, {}, {}}};
    p.variables = std::vector<model::PipelineVariableDeclaration>{{"Env", "prod", {}}};
    ASSERT_TRUE(store_->create_pipeline(model::PipelineRecord{p, {}, 1, 1}).ok());
    engine_ = make_engine(runner_);
  }

  std::unique_ptr<Engine> make_engine(RecordingRunner& runner) {
    Engine::Options o;
    o.now_ms = [this] { return clock_; };
    o.new_id = [this] { return "id-" + std::to_string(++ids_); };
    o.wait_for_approvals = true;
    return std::make_unique<Engine>(*store_, runner, o);
  }

  // Starts an execution and finishes its source action; returns its id.
  std::string run_to_approval() {
    auto id = engine_->start_execution("app", {}, model::TriggerType::kStartPipelineExecution);
    EXPECT_TRUE(id.ok()) << id.status().message();
    EXPECT_EQ(runner_.started.size(), 1u);
    ActionOutcome done;
    done.succeeded = true;
    model::ArtifactRecord code;
    code.execution_id = *id;
    code.name = "Code";
    code.location = {"bucket", "app/Code/abc", "v1", "etag"};
    done.artifacts.push_back(code);
    EXPECT_TRUE(engine_->action_finished(runner_.started.at(0).action_execution_id, done).ok());
    return *id;
  }

  model::ActionExecutionRecord review(const std::string& execution_id) {
    auto actions = store_->list_action_executions(execution_id);
    STAGELINE_CHECK(actions.ok());
    for (const auto& a : *actions)
      if (a.action_name == "Review") return a;
    ADD_FAILURE() << "no Review action execution";
    return {};
  }

  std::unique_ptr<store::SqliteStore> store_;
  RecordingRunner runner_;
  std::unique_ptr<Engine> engine_;
  model::TimestampMs clock_ = 1000;
  int ids_ = 0;
};

TEST_F(ApprovalTest, AnApprovalWaitsWithATokenAndIsNotHandedToTheRunner) {
  std::string id = run_to_approval();
  auto r = review(id);
  EXPECT_EQ(r.status, ActionExecutionStatus::kInProgress);
  EXPECT_FALSE(r.approval_token.empty());
  EXPECT_TRUE(r.job_id.empty()) << "an approval is not a job";
  EXPECT_EQ(r.resolved_configuration.at("CustomData"), "look at prod");
  EXPECT_EQ(runner_.started.size(), 1u) << "only the source action reached the runner";
  EXPECT_EQ(store_->get_pipeline_execution(id)->status, PipelineExecutionStatus::kInProgress);
}

TEST_F(ApprovalTest, ApprovingRecordsWhoAndWhyAndTheNextStageStarts) {
  std::string id = run_to_approval();
  auto r = review(id);
  clock_ = 5000;
  auto at = engine_->put_approval_result("app", "Approve", "Review", r.approval_token, true,
                                         "looks good", kAdmin);
  ASSERT_TRUE(at.ok()) << at.status().message();
  EXPECT_EQ(*at, 5000);
  auto answered = review(id);
  EXPECT_EQ(answered.status, ActionExecutionStatus::kSucceeded);
  EXPECT_EQ(answered.summary, "looks good");
  EXPECT_EQ(answered.updated_by, kAdmin);
  ASSERT_EQ(runner_.started.size(), 2u);
  EXPECT_EQ(runner_.started.at(1).action.name, "Make");
}

TEST_F(ApprovalTest, RejectingFailsTheActionTheStageAndTheExecution) {
  std::string id = run_to_approval();
  auto r = review(id);
  ASSERT_TRUE(engine_
                  ->put_approval_result("app", "Approve", "Review", r.approval_token, false,
                                        "not today", kAdmin)
                  .ok());
  auto answered = review(id);
  EXPECT_EQ(answered.status, ActionExecutionStatus::kFailed);
  EXPECT_EQ(answered.summary, "not today");
  EXPECT_EQ(answered.error_message, std::string("Rejected by ") + kAdmin + ": not today");
  EXPECT_EQ(store_->get_pipeline_execution(id)->status, PipelineExecutionStatus::kFailed);
  EXPECT_EQ(runner_.started.size(), 1u) << "Deploy never starts";
}

TEST_F(ApprovalTest, AWrongTokenIsInvalidAndASecondAnswerIsAlreadyCompleted) {
  std::string id = run_to_approval();
  auto r = review(id);
  auto wrong =
      engine_->put_approval_result("app", "Approve", "Review", "not-the-token", true, "", kAdmin);
  EXPECT_EQ(api_error(wrong.status()).type, "InvalidApprovalTokenException");
  EXPECT_EQ(review(id).status, ActionExecutionStatus::kInProgress);
  ASSERT_TRUE(
      engine_->put_approval_result("app", "Approve", "Review", r.approval_token, true, "", kAdmin)
          .ok());
  auto again =
      engine_->put_approval_result("app", "Approve", "Review", r.approval_token, false, "", kAdmin);
  EXPECT_EQ(api_error(again.status()).type, "ApprovalAlreadyCompletedException");
  EXPECT_NE(again.status().message().find("already approved"), std::string::npos);
}

TEST_F(ApprovalTest, AWaitingApprovalSurvivesARestartAndIsAnsweredAfterIt) {
  std::string id = run_to_approval();
  auto r = review(id);
  RecordingRunner after_restart;
  auto restarted = make_engine(after_restart);
  ASSERT_TRUE(restarted->recover().ok());
  EXPECT_TRUE(after_restart.started.empty()) << "the approval still waits; nothing is re-run";
  EXPECT_EQ(review(id).status, ActionExecutionStatus::kInProgress);
  EXPECT_EQ(review(id).approval_token, r.approval_token);
  ASSERT_TRUE(
      restarted
          ->put_approval_result("app", "Approve", "Review", r.approval_token, true, "ok", kAdmin)
          .ok());
  ASSERT_EQ(after_restart.started.size(), 1u);
  EXPECT_EQ(after_restart.started.at(0).action.name, "Make");
}

TEST_F(ApprovalTest, AnApprovalNobodyAnswersTimesOutAfterSevenDays) {
  std::string id = run_to_approval();
  auto r = review(id);
  clock_ += 7LL * 24 * 3600 * 1000 - 1;
  ASSERT_TRUE(engine_->expire_jobs().ok());
  EXPECT_EQ(review(id).status, ActionExecutionStatus::kInProgress);
  clock_ += 1;
  ASSERT_TRUE(engine_->expire_jobs().ok());
  auto expired = review(id);
  EXPECT_EQ(expired.status, ActionExecutionStatus::kFailed);
  EXPECT_NE(expired.error_message.find("approval timed out"), std::string::npos);
  EXPECT_EQ(store_->get_pipeline_execution(id)->status, PipelineExecutionStatus::kFailed);
  auto late =
      engine_->put_approval_result("app", "Approve", "Review", r.approval_token, true, "", kAdmin);
  EXPECT_EQ(api_error(late.status()).type, "InvalidApprovalTokenException");
}

TEST_F(ApprovalTest, StoppingAnExecutionAbandonsItsApprovalAndItsToken) {
  std::string id = run_to_approval();
  auto r = review(id);
  ASSERT_TRUE(engine_->stop_execution("app", id, true, "changed my mind").ok());
  EXPECT_EQ(review(id).status, ActionExecutionStatus::kAbandoned);
  auto late =
      engine_->put_approval_result("app", "Approve", "Review", r.approval_token, true, "", kAdmin);
  EXPECT_EQ(api_error(late.status()).type, "InvalidApprovalTokenException");
}

TEST_F(ApprovalTest, WithoutWaitingTheRunnerAnswersTheApproval) {
  RecordingRunner runner;
  Engine::Options o;
  o.now_ms = [this] { return clock_; };
  o.new_id = [this] { return "id-" + std::to_string(++ids_); };
  Engine engine(*store_, runner, o);  // as under `stageline run`
  auto id = engine.start_execution("app", {}, model::TriggerType::kStartPipelineExecution);
  ASSERT_TRUE(id.ok());
  ActionOutcome done;
  done.succeeded = true;
  model::ArtifactRecord code;
  code.execution_id = *id;
  code.name = "Code";
  code.location = {"bucket", "app/Code/abc", "v1", "etag"};
  done.artifacts.push_back(code);
  ASSERT_TRUE(engine.action_finished(runner.started.at(0).action_execution_id, done).ok());
  ASSERT_EQ(runner.started.size(), 2u);
  EXPECT_EQ(runner.started.at(1).action.name, "Review");
  EXPECT_TRUE(review(*id).approval_token.empty());
}

}  // namespace
}  // namespace stageline::engine
