#include "engine/engine.h"

#include <gtest/gtest.h>

#include "engine/engine_test_util.h"
#include "store/sqlite_store.h"

namespace stageline::engine {
namespace {

using model::PipelineExecutionStatus;

using testing_util::RecordingRunner;

model::ActionDeclaration action(std::string name, std::string provider,
                                std::vector<std::string> ins, std::vector<std::string> outs,
                                int run_order = 1) {
  return testing_util::declare(std::move(name), model::ActionCategory::kCompute,
                               std::move(provider), std::move(ins), std::move(outs), run_order);
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    model::PipelineDeclaration p;
    p.name = "app";
    p.role_arn = "arn:aws:iam::123456789012:role/R";
    p.artifact_store = model::ArtifactStore{model::ArtifactStoreType::kS3, "bucket", {}};
    p.pipeline_type = model::PipelineType::kV2;
    p.variables =
        std::vector<model::PipelineVariableDeclaration>{{"Env", "dev", {}}, {"Ticket", {}, {}}};
    model::StageDeclaration source{"Source", {}, {action("Src", "Dir", {}, {"Code"})}, {}, {}, {}};
    source.actions[0].namespace_ = "SrcVars";
    model::StageDeclaration build{"Build", {}, {action("Make", "Commands", {"Code"}, {"Bin"})},
                                  {},      {}, {}};
    build.actions[0].commands = std::vector<std::string>{
        "echo #{SrcVars.CommitId} #{variables.Env} #{codepipeline.PipelineExecutionId}"};
    p.stages = {source, build};
    model::PipelineRecord record{p, {}, 1, 1};
    ASSERT_TRUE(store_->create_pipeline(record).ok());
    engine_ = std::make_unique<Engine>(
        *store_, runner_,
        Engine::Options{
            [this] { return ++clock_; }, [this] { return "id-" + std::to_string(++ids_); }, {}});
  }

  model::ArtifactRecord artifact(const std::string& exec, const std::string& name) {
    model::ArtifactRecord a;
    a.execution_id = exec;
    a.name = name;
    a.location = {"bucket", "app/" + name + "/abc", "v1", "etag"};
    return a;
  }

  std::unique_ptr<store::SqliteStore> store_;
  RecordingRunner runner_;
  std::unique_ptr<Engine> engine_;
  model::TimestampMs clock_ = 1000;
  int ids_ = 0;
};

TEST_F(EngineTest, ARunResolvesVariablesHandsArtifactsOnAndIsRecordedAsItGoes) {
  auto id = engine_->start_execution("app", {{"Ticket", "T-1"}},
                                     model::TriggerType::kStartPipelineExecution);
  ASSERT_TRUE(id.ok()) << id.status().message();
  ASSERT_EQ(runner_.started.size(), 1u);
  ActionStart src = runner_.started[0];
  EXPECT_EQ(src.action.name, "Src");
  EXPECT_EQ(src.artifact_bucket, "bucket");
  auto stored = store_->get_pipeline_execution(*id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->status, PipelineExecutionStatus::kInProgress);
  EXPECT_EQ(stored->variables.size(), 2u);

  ActionOutcome done;
  done.succeeded = true;
  done.output_variables = {{"CommitId", "abc123"}};
  done.artifacts = {artifact(*id, "Code")};
  ASSERT_TRUE(engine_->action_finished(src.action_execution_id, done).ok());
  ASSERT_EQ(runner_.started.size(), 2u);
  const ActionStart& make = runner_.started[1];
  EXPECT_EQ((*make.action.commands)[0], "echo abc123 dev " + *id);
  ASSERT_EQ(make.inputs.size(), 1u);
  EXPECT_EQ(make.inputs[0].second.key, "app/Code/abc");
  EXPECT_EQ(make.timeout, std::chrono::minutes(55)) << "the Commands action's limit (§15)";

  ActionOutcome built;
  built.succeeded = true;
  ASSERT_TRUE(engine_->action_finished(make.action_execution_id, built).ok());
  EXPECT_EQ(store_->get_pipeline_execution(*id)->status, PipelineExecutionStatus::kSucceeded);
  auto actions = store_->list_action_executions(*id);
  ASSERT_TRUE(actions.ok());
  EXPECT_EQ(actions->size(), 2u);
  auto stages = store_->list_stage_executions(*id);
  ASSERT_TRUE(stages.ok());
  EXPECT_EQ(stages->size(), 2u);
}

TEST_F(EngineTest, ARequiredPipelineVariableMustBeGiven) {
  auto id = engine_->start_execution("app", {}, model::TriggerType::kStartPipelineExecution);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("'Ticket' has no default value"), std::string::npos);
  auto unknown = engine_->start_execution("app", {{"Ticket", "x"}, {"Nope", "y"}},
                                          model::TriggerType::kStartPipelineExecution);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'Nope' is not declared"), std::string::npos);
}

TEST_F(EngineTest, AnUnresolvableVariableFailsTheActionWithoutStartingIt) {
  auto id = engine_->start_execution("app", {{"Ticket", "T"}},
                                     model::TriggerType::kStartPipelineExecution);
  ASSERT_TRUE(id.ok());
  ActionOutcome done;
  done.succeeded = true;  // no CommitId variable
  done.artifacts = {artifact(*id, "Code")};
  ASSERT_TRUE(engine_->action_finished(runner_.started[0].action_execution_id, done).ok());
  EXPECT_EQ(runner_.started.size(), 1u) << "Make must not start";
  auto exec = store_->get_pipeline_execution(*id);
  EXPECT_EQ(exec->status, PipelineExecutionStatus::kFailed);
  auto actions = store_->list_action_executions(*id);
  ASSERT_EQ(actions->size(), 2u);
  const auto& make = (*actions)[1];
  EXPECT_EQ(make.error_code, "ConfigurationError");
  EXPECT_NE(make.error_message.find("#{SrcVars.CommitId} is not set"), std::string::npos)
      << make.error_message;
}

TEST_F(EngineTest, AMissingInputArtifactFailsTheActionNamingItsProducer) {
  auto id = engine_->start_execution("app", {{"Ticket", "T"}},
                                     model::TriggerType::kStartPipelineExecution);
  ASSERT_TRUE(id.ok());
  ActionOutcome done;
  done.succeeded = true;
  done.output_variables = {{"CommitId", "abc"}};
  ASSERT_TRUE(engine_->action_finished(runner_.started[0].action_execution_id, done).ok());
  auto actions = store_->list_action_executions(*id);
  ASSERT_EQ(actions->size(), 2u);
  EXPECT_NE((*actions)[1].error_message.find(
                "input artifact 'Code' does not exist in this execution: action 'Src' in stage "
                "'Source' should have produced it"),
            std::string::npos)
      << (*actions)[1].error_message;
}

TEST_F(EngineTest, DuplicatedResultsAreIgnored) {
  auto id = engine_->start_execution("app", {{"Ticket", "T"}},
                                     model::TriggerType::kStartPipelineExecution);
  ASSERT_TRUE(id.ok());
  ActionOutcome failed;
  failed.summary = "boom";
  std::string src = runner_.started[0].action_execution_id;
  ASSERT_TRUE(engine_->action_finished(src, failed).ok());
  ASSERT_TRUE(engine_->action_finished(src, failed).ok());
  EXPECT_EQ(store_->get_pipeline_execution(*id)->status, PipelineExecutionStatus::kFailed);
  EXPECT_EQ(store_->get_action_execution(src)->error_code, "JobFailed");
}

}  // namespace
}  // namespace stageline::engine

namespace stageline::engine {
namespace {

TEST_F(EngineTest, AfterARestartTheInFlightActionRunsAgainAndFinishedOnesDoNot) {
  auto id = engine_->start_execution("app", {{"Ticket", "T"}},
                                     model::TriggerType::kStartPipelineExecution);
  ASSERT_TRUE(id.ok());
  ActionOutcome done;
  done.succeeded = true;
  done.output_variables = {{"CommitId", "abc"}};
  done.artifacts = {artifact(*id, "Code")};
  ASSERT_TRUE(engine_->action_finished(runner_.started[0].action_execution_id, done).ok());
  ASSERT_EQ(runner_.started.size(), 2u);  // Make is in flight: now the process "dies"

  RecordingRunner after_restart;
  Engine restarted(
      *store_, after_restart,
      {[this] { return ++clock_; }, [this] { return "id-" + std::to_string(++ids_); }, {}});
  auto resumed = restarted.recover();
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  EXPECT_EQ(*resumed, std::vector<std::string>{*id});
  ASSERT_EQ(after_restart.started.size(), 1u);
  const ActionStart& again = after_restart.started[0];
  EXPECT_EQ(again.action.name, "Make");
  EXPECT_EQ(again.attempt, 2);
  EXPECT_EQ((*again.action.commands)[0], "echo abc dev " + *id) << "variables survive the restart";
  EXPECT_EQ(again.inputs.size(), 1u) << "artifacts survive the restart";
  auto old = store_->get_action_execution(runner_.started[1].action_execution_id);
  EXPECT_EQ(old->status, model::ActionExecutionStatus::kFailed);
  EXPECT_NE(old->summary.find("interrupted"), std::string::npos);

  ActionOutcome built;
  built.succeeded = true;
  ASSERT_TRUE(restarted.action_finished(again.action_execution_id, built).ok());
  EXPECT_EQ(store_->get_pipeline_execution(*id)->status, PipelineExecutionStatus::kSucceeded);
  int src_attempts = 0;
  auto all = store_->list_action_executions(*id);
  ASSERT_TRUE(all.ok());
  for (const auto& a : *all) src_attempts += a.action_name == "Src";
  EXPECT_EQ(src_attempts, 1) << "a finished action never runs again";
}

}  // namespace
}  // namespace stageline::engine

namespace stageline::engine {
namespace {

TEST_F(EngineTest, TheSameClientRequestTokenReturnsTheSameExecution) {
  auto first = engine_->start_execution("app", {{"Ticket", "T"}},
                                        model::TriggerType::kStartPipelineExecution, "", "tok-1");
  auto again = engine_->start_execution("app", {{"Ticket", "T"}},
                                        model::TriggerType::kStartPipelineExecution, "", "tok-1");
  auto other = engine_->start_execution("app", {{"Ticket", "T"}},
                                        model::TriggerType::kStartPipelineExecution, "", "tok-2");
  ASSERT_TRUE(first.ok() && again.ok() && other.ok());
  EXPECT_EQ(*first, *again);
  EXPECT_NE(*first, *other);
  EXPECT_EQ(runner_.started.size(), 1u) << "tok-2 waits behind tok-1 at the locked source stage";
  auto page = store_->list_pipeline_executions("app", 10, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 2u);
}

}  // namespace
}  // namespace stageline::engine

namespace stageline::engine {
namespace {

// A pipeline whose deploy is a Custom action type run by a job worker.
void add_custom_pipeline(store::Store& store, std::string provider = "CodeCommit") {
  model::PipelineDeclaration p;
  p.name = "custom";
  p.role_arn = "arn:aws:iam::123456789012:role/R";
  p.artifact_store = model::ArtifactStore{model::ArtifactStoreType::kS3, "bucket", {}};
  p.pipeline_type = model::PipelineType::kV2;
  model::ActionDeclaration src = action("Src", provider, {}, {"Code"});
  src.action_type_id.category = model::ActionCategory::kSource;
  model::ActionDeclaration deploy = action("Ship", "MyDeployer", {"Code"}, {});
  deploy.action_type_id = {model::ActionCategory::kDeploy, model::ActionOwner::kCustom,
                           "MyDeployer", "1"};
  deploy.namespace_ = "ShipVars";
  p.stages = {{"Source", {}, {src}, {}, {}, {}}, {"Deploy", {}, {deploy}, {}, {}, {}}};
  model::PipelineRecord record{p, {}, 1, 1};
  ASSERT_TRUE(store.create_pipeline(record).ok());
}

const model::ActionTypeId kMyDeployer{model::ActionCategory::kDeploy, model::ActionOwner::kCustom,
                                      "MyDeployer", "1"};

TEST_F(EngineTest, EveryActionIsAJobAndBuiltInProvidersJobsAreClaimedByTheInProcessRunner) {
  auto id = engine_->start_execution("app", {{"Ticket", "T"}},
                                     model::TriggerType::kStartPipelineExecution);
  ASSERT_TRUE(id.ok());
  const ActionStart& src = runner_.started.at(0);
  ASSERT_FALSE(src.job_id.empty());
  auto job = store_->get_job(src.job_id);
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->status, model::JobStatus::kInProgress);
  EXPECT_EQ(job->claimed_by, "stageline");
  EXPECT_FALSE(job->nonce.empty());
  EXPECT_EQ(job->action_execution_id, src.action_execution_id);
  EXPECT_EQ(store_->get_action_execution(src.action_execution_id)->job_id, src.job_id);
  ActionOutcome failed;
  ASSERT_TRUE(engine_->action_finished(src.action_execution_id, failed).ok());
  EXPECT_EQ(store_->get_job(src.job_id)->status, model::JobStatus::kFailed);
}

// Source succeeds in-process; returns the execution id with Ship's job queued.
std::string run_to_custom_job(Engine& engine, RecordingRunner& runner) {
  auto id = engine.start_execution("custom", {}, model::TriggerType::kStartPipelineExecution);
  EXPECT_TRUE(id.ok()) << id.status().message();
  ActionOutcome done;
  done.succeeded = true;
  model::ArtifactRecord code;
  code.execution_id = *id;
  code.name = "Code";
  code.location = {"bucket", "custom/Code/k", "v", "e"};
  done.artifacts = {code};
  EXPECT_TRUE(engine.action_finished(runner.started.at(0).action_execution_id, done).ok());
  EXPECT_EQ(runner.started.size(), 1u) << "a Custom action is not the runner's";
  return *id;
}

TEST_F(EngineTest, ACustomActionWaitsForAJobWorkerWhoseContinuationKeepsItRunning) {
  add_custom_pipeline(*store_);
  std::string id = run_to_custom_job(*engine_, runner_);
  auto claimed = store_->claim_jobs({kMyDeployer}, "worker-1", 10, 5000);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  const model::JobRecord job = claimed->at(0);
  EXPECT_EQ(job.action_name, "Ship");

  JobSuccess more;
  more.continuation_token = "step-2";
  Status early = engine_->job_succeeded(job.id, more);
  EXPECT_EQ(api_error(early).type, "InvalidJobStateException") << early.message();
  ASSERT_TRUE(store_->acknowledge_job(job.id, job.nonce, 5001).ok());
  ASSERT_TRUE(engine_->job_succeeded(job.id, more).ok());
  EXPECT_EQ(store_->get_pipeline_execution(id)->status, PipelineExecutionStatus::kInProgress);

  auto next = store_->claim_jobs({kMyDeployer}, "worker-2", 10, 5002);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u) << "a continuation queues a new job";
  EXPECT_EQ(next->at(0).continuation_token, "step-2");
  EXPECT_NE(next->at(0).id, job.id);
  ASSERT_TRUE(store_->acknowledge_job(next->at(0).id, next->at(0).nonce, 5003).ok());
  JobSuccess done;
  done.summary = "shipped";
  done.output_variables = {{"Url", "https://example"}};
  ASSERT_TRUE(engine_->job_succeeded(next->at(0).id, done).ok());
  EXPECT_TRUE(engine_->job_succeeded(next->at(0).id, done).ok()) << "a repeated result is fine";
  EXPECT_EQ(store_->get_pipeline_execution(id)->status, PipelineExecutionStatus::kSucceeded);
  auto actions = store_->list_action_executions(id);
  ASSERT_EQ(actions->size(), 2u);
  EXPECT_EQ(actions->at(1).summary, "shipped");
  EXPECT_EQ(actions->at(1).output_variables.at("Url"), "https://example");
  EXPECT_EQ(api_error(engine_->job_succeeded("nope", done)).type, "JobNotFoundException");
}

TEST_F(EngineTest, AJobWorkersFailureFailsTheActionWithItsFailureType) {
  add_custom_pipeline(*store_);
  std::string id = run_to_custom_job(*engine_, runner_);
  auto claimed = store_->claim_jobs({kMyDeployer}, "w", 1, 5000);
  ASSERT_EQ(claimed->size(), 1u);
  ASSERT_TRUE(store_->acknowledge_job(claimed->at(0).id, claimed->at(0).nonce, 5001).ok());
  ASSERT_TRUE(engine_
                  ->job_failed(claimed->at(0).id, model::FailureType::kConfigurationError,
                               "no such target", "ext-9")
                  .ok());
  EXPECT_EQ(store_->get_pipeline_execution(id)->status, PipelineExecutionStatus::kFailed);
  auto ship = store_->list_action_executions(id)->at(1);
  EXPECT_EQ(ship.error_code, "ConfigurationError");
  EXPECT_EQ(ship.error_message, "no such target");
  EXPECT_EQ(ship.external_execution_id, "ext-9");
  EXPECT_EQ(store_->get_job(claimed->at(0).id)->status, model::JobStatus::kFailed);
}

TEST_F(EngineTest, AJobWorkersJobSurvivesARestartAndFailsWhenItRunsPastItsTimeout) {
  add_custom_pipeline(*store_);
  std::string id = run_to_custom_job(*engine_, runner_);
  auto claimed = store_->claim_jobs({kMyDeployer}, "w", 1, 5000);
  ASSERT_EQ(claimed->size(), 1u);

  RecordingRunner after_restart;
  Engine restarted(
      *store_, after_restart,
      {[this] { return ++clock_; }, [this] { return "id-" + std::to_string(++ids_); }, {}});
  ASSERT_TRUE(restarted.recover().ok());
  EXPECT_TRUE(after_restart.started.empty());
  EXPECT_EQ(store_->get_job(claimed->at(0).id)->status, model::JobStatus::kDispatched)
      << "the worker may still be running it";
  ASSERT_TRUE(restarted.expire_jobs().ok());
  EXPECT_EQ(store_->get_pipeline_execution(id)->status, PipelineExecutionStatus::kInProgress);

  clock_ += 24LL * 3600 * 1000;  // custom actions: 24 hours (reference §15)
  ASSERT_TRUE(restarted.expire_jobs().ok());
  EXPECT_EQ(store_->get_pipeline_execution(id)->status, PipelineExecutionStatus::kFailed);
  EXPECT_EQ(store_->get_job(claimed->at(0).id)->status, model::JobStatus::kTimedOut);
  auto ship = store_->list_action_executions(id)->at(1);
  EXPECT_NE(ship.error_message.find("timed out"), std::string::npos);
}

class DenyDeploys : public Authorizer {
 public:
  Status authorize(const AuthorizationRequest& r) override {
    asked.push_back(r);
    if (r.action_name != "Make") return Status();
    return Status(StatusCode::kFailedPrecondition,
                  r.role_arn + " may not run Commands actions in " + r.pipeline_name);
  }
  std::vector<AuthorizationRequest> asked;
};

TEST_F(EngineTest, ADeniedPermissionFailsTheActionBeforeItRuns) {
  DenyDeploys deny;
  Engine engine(
      *store_, runner_,
      {[this] { return ++clock_; }, [this] { return "id-" + std::to_string(++ids_); }, {}, &deny});
  auto id =
      engine.start_execution("app", {{"Ticket", "T"}}, model::TriggerType::kStartPipelineExecution);
  ASSERT_TRUE(id.ok());
  ActionOutcome done;
  done.succeeded = true;
  done.output_variables = {{"CommitId", "abc"}};
  done.artifacts = {artifact(*id, "Code")};
  ASSERT_TRUE(engine.action_finished(runner_.started[0].action_execution_id, done).ok());
  EXPECT_EQ(runner_.started.size(), 1u) << "Make must not start";
  auto make = store_->list_action_executions(*id)->at(1);
  EXPECT_EQ(make.error_code, "PermissionError");
  EXPECT_EQ(make.error_message,
            "arn:aws:iam::123456789012:role/R may not run Commands actions in app");
  ASSERT_EQ(deny.asked.size(), 2u);
  EXPECT_EQ(deny.asked[1].input_artifacts, std::vector<std::string>{"Code"});
  EXPECT_EQ(deny.asked[1].artifact_bucket, "bucket");
}

TEST_F(EngineTest, SourceRevisionsPinASourceActionAndAreReplacedByWhatItUsed) {
  add_custom_pipeline(*store_);
  auto bad = engine_->start_execution("custom", {}, model::TriggerType::kStartPipelineExecution, "",
                                      "", {{"Ship", "COMMIT_ID", "abc"}});
  EXPECT_EQ(api_error(bad.status()).type, "ValidationException");
  EXPECT_NE(bad.status().message().find("'Ship' is not a source action"), std::string::npos);
  auto wrong_type =
      engine_->start_execution("custom", {}, model::TriggerType::kStartPipelineExecution, "", "",
                               {{"Src", "S3_OBJECT_KEY", "k"}});
  EXPECT_NE(wrong_type.status().message().find("S3_OBJECT_KEY cannot be used with the CodeCommit"),
            std::string::npos)
      << wrong_type.status().message();

  auto id = engine_->start_execution("custom", {}, model::TriggerType::kStartPipelineExecution, "",
                                     "", {{"Src", "COMMIT_ID", "0123abc"}});
  ASSERT_TRUE(id.ok()) << id.status().message();
  const ActionStart& src = runner_.started.at(0);
  EXPECT_EQ(src.revision_type, "COMMIT_ID");
  EXPECT_EQ(src.revision_value, "0123abc");
  ActionOutcome done;
  done.succeeded = true;
  done.revisions = {{"Src", "0123abcdef", "Fix it", "", ""}};
  ASSERT_TRUE(engine_->action_finished(src.action_execution_id, done).ok());
  auto exec = store_->get_pipeline_execution(*id);
  ASSERT_EQ(exec->source_revisions.size(), 1u);
  EXPECT_EQ(exec->source_revisions[0].revision_id, "0123abcdef");
  EXPECT_EQ(exec->source_revisions[0].revision_summary, "Fix it");
}

TEST_F(EngineTest, ADisabledTransitionIsStoredWithItsReasonAndHoldsAfterARestart) {
  ASSERT_TRUE(engine_->set_transition("app", "Build", false, "freeze", "alice").ok());
  EXPECT_EQ(api_error(engine_->set_transition("app", "Nope", false, "x", "a")).type,
            "StageNotFoundException");
  auto transitions = store_->list_transitions("app");
  ASSERT_EQ(transitions->size(), 1u);
  EXPECT_EQ(transitions->at(0).disabled_reason, "freeze");
  EXPECT_EQ(transitions->at(0).last_changed_by, "alice");

  RecordingRunner runner;
  Engine restarted(
      *store_, runner,
      {[this] { return ++clock_; }, [this] { return "id-" + std::to_string(++ids_); }, {}});
  auto id = restarted.start_execution("app", {{"Ticket", "T"}},
                                      model::TriggerType::kStartPipelineExecution);
  ASSERT_TRUE(id.ok());
  ActionOutcome done;
  done.succeeded = true;
  done.output_variables = {{"CommitId", "abc"}};
  done.artifacts = {artifact(*id, "Code")};
  ASSERT_TRUE(restarted.action_finished(runner.started[0].action_execution_id, done).ok());
  EXPECT_EQ(runner.started.size(), 1u) << "the execution waits at Build's disabled transition";
  ASSERT_TRUE(restarted.set_transition("app", "Build", true, "", "bob").ok());
  ASSERT_EQ(runner.started.size(), 2u);
  EXPECT_EQ(runner.started[1].action.name, "Make");
}

TEST_F(EngineTest, StopAbandonEndsTheJobAndRetryAfterARestartRunsTheFailedActionAgain) {
  auto id = engine_->start_execution("app", {{"Ticket", "T"}},
                                     model::TriggerType::kStartPipelineExecution);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(api_error(engine_->stop_execution("app", "nope", false, "")).type,
            "PipelineExecutionNotFoundException");
  ASSERT_TRUE(engine_->stop_execution("app", *id, true, "bad commit").ok());
  auto exec = store_->get_pipeline_execution(*id);
  EXPECT_EQ(exec->status, PipelineExecutionStatus::kStopped);
  EXPECT_EQ(exec->stop_reason, "bad commit");
  const ActionStart& src = runner_.started.at(0);
  EXPECT_EQ(store_->get_action_execution(src.action_execution_id)->status,
            model::ActionExecutionStatus::kAbandoned);
  EXPECT_NE(store_->get_job(src.job_id)->status, model::JobStatus::kInProgress);
  EXPECT_EQ(api_error(engine_->stop_execution("app", *id, false, "")).type,
            "PipelineExecutionNotStoppableException");

  RecordingRunner runner;
  Engine restarted(
      *store_, runner,
      {[this] { return ++clock_; }, [this] { return "id-" + std::to_string(++ids_); }, {}});
  ASSERT_TRUE(restarted.recover().ok());
  EXPECT_EQ(api_error(restarted.stop_execution("app", *id, false, "")).type,
            "PipelineExecutionNotStoppableException");
  Status retried =
      restarted.retry_stage("app", "Source", *id, model::StageRetryMode::kFailedActions);
  ASSERT_TRUE(retried.ok()) << retried.message();
  ASSERT_EQ(runner.started.size(), 1u);
  EXPECT_EQ(runner.started[0].action.name, "Src");
  EXPECT_EQ(runner.started[0].attempt, 2);
  EXPECT_EQ(store_->get_pipeline_execution(*id)->status, PipelineExecutionStatus::kInProgress);
  auto stages = store_->list_stage_executions(*id);
  EXPECT_EQ(stages->at(0).attempt, 2);
}

TEST_F(EngineTest, UpdatingThePipelineStoresANewVersionAndCancelsWaitingExecutions) {
  auto first = engine_->start_execution("app", {{"Ticket", "T"}},
                                        model::TriggerType::kStartPipelineExecution);
  auto second = engine_->start_execution("app", {{"Ticket", "T"}},
                                         model::TriggerType::kStartPipelineExecution);
  ASSERT_TRUE(first.ok() && second.ok());
  auto decl = store_->get_pipeline("app")->declaration;
  decl.stages[1].actions[0].commands = std::vector<std::string>{"true"};
  auto updated = engine_->update_pipeline(decl);
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_EQ(updated->declaration.version, 2);
  EXPECT_EQ(store_->get_pipeline_execution(*second)->status, PipelineExecutionStatus::kCancelled);
  EXPECT_EQ(store_->get_pipeline_execution(*first)->status, PipelineExecutionStatus::kInProgress)
      << "an active one ends when its in-flight action does";
  ActionOutcome done;
  done.succeeded = true;
  ASSERT_TRUE(engine_->action_finished(runner_.started[0].action_execution_id, done).ok());
  EXPECT_EQ(store_->get_pipeline_execution(*first)->status, PipelineExecutionStatus::kCancelled);

  ASSERT_TRUE(engine_->delete_pipeline("app").ok());
  EXPECT_EQ(
      api_error(
          engine_->start_execution("app", {}, model::TriggerType::kStartPipelineExecution).status())
          .type,
      "PipelineNotFoundException");
}

}  // namespace
}  // namespace stageline::engine

namespace stageline::engine {
namespace {

model::RuleDeclaration variable_check(std::string name, std::string variable, std::string op,
                                      std::string value) {
  model::RuleDeclaration r;
  r.name = std::move(name);
  r.rule_type_id.provider = "VariableCheck";
  r.configuration = model::StringMap{
      {"Variable", std::move(variable)}, {"Operator", std::move(op)}, {"Value", std::move(value)}};
  return r;
}

// Source -> Deploy, with conditions set by each test on Deploy.
class ConditionsEngineTest : public EngineTest {
 protected:
  void make(std::function<void(model::StageDeclaration&)> configure,
            model::ExecutionMode mode = model::ExecutionMode::kSuperseded) {
    model::PipelineDeclaration p;
    p.name = "cond";
    p.role_arn = "arn:aws:iam::123456789012:role/R";
    p.artifact_store = model::ArtifactStore{model::ArtifactStoreType::kS3, "bucket", {}};
    p.pipeline_type = model::PipelineType::kV2;
    p.execution_mode = mode;
    p.variables = std::vector<model::PipelineVariableDeclaration>{{"Env", "dev", {}}};
    model::ActionDeclaration src = action("Src", "CodeCommit", {}, {"Code"});
    src.action_type_id.category = model::ActionCategory::kSource;
    model::StageDeclaration deploy{"Deploy", {}, {action("Ship", "Commands", {"Code"}, {})},
                                   {},       {}, {}};
    configure(deploy);
    p.stages = {{"Source", {}, {src}, {}, {}, {}}, deploy};
    ASSERT_TRUE(store_->create_pipeline({p, {}, 1, 1}).ok());
  }

  // Starts an execution and lets its source succeed.
  std::string start(std::vector<std::pair<std::string, std::string>> vars = {}) {
    size_t before = runner_.started.size();
    auto id = engine_->start_execution("cond", vars, model::TriggerType::kStartPipelineExecution);
    EXPECT_TRUE(id.ok()) << id.status().message();
    EXPECT_EQ(runner_.started.size(), before + 1);
    succeed(runner_.started.back(), *id);
    return *id;
  }

  void succeed(const ActionStart& s, const std::string& exec) {
    ActionOutcome done;
    done.succeeded = true;
    if (s.action.name == "Src") done.artifacts = {artifact(exec, "Code")};
    ASSERT_TRUE(engine_->action_finished(s.action_execution_id, done).ok());
  }
  void fail(const ActionStart& s) {
    ActionOutcome failed;
    failed.summary = "broken";
    ASSERT_TRUE(engine_->action_finished(s.action_execution_id, failed).ok());
  }
  model::StageExecutionStatus deploy_status(const std::string& exec) {
    auto stages = store_->list_stage_executions(exec);
    for (const auto& s : *stages)
      if (s.stage_name == "Deploy") return s.status;
    return model::StageExecutionStatus::kCancelled;
  }
};

TEST_F(ConditionsEngineTest, AVariableCheckEntryConditionSkipsTheStageAndIsRecorded) {
  make([](model::StageDeclaration& s) {
    s.before_entry = model::BeforeEntryConditions{
        {{model::ConditionResult::kSkip,
          std::vector{variable_check("OnlyProd", "#{variables.Env}", "EQ", "prod")}}}};
  });
  std::string dev = start();
  EXPECT_EQ(runner_.started.size(), 1u) << "Ship must not run";
  EXPECT_EQ(deploy_status(dev), model::StageExecutionStatus::kSkipped);
  EXPECT_EQ(store_->get_pipeline_execution(dev)->status, PipelineExecutionStatus::kSucceeded);
  auto rules = store_->list_rule_executions(dev);
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ(rules->at(0).status, model::RuleExecutionStatus::kFailed);
  EXPECT_EQ(rules->at(0).resolved_configuration.at("Variable"), "dev");
  EXPECT_EQ(rules->at(0).summary, "'dev' EQ 'prod' is false");
  auto conditions = store_->list_condition_executions(dev);
  ASSERT_EQ(conditions->size(), 1u);
  EXPECT_EQ(conditions->at(0).status, model::ConditionExecutionStatus::kFailed);

  std::string prod = start({{"Env", "prod"}});
  ASSERT_EQ(runner_.started.size(), 3u);
  EXPECT_EQ(runner_.started.back().action.name, "Ship");
  EXPECT_EQ(store_->list_condition_executions(prod)->at(0).status,
            model::ConditionExecutionStatus::kSucceeded);
}

TEST_F(ConditionsEngineTest, ACommandsRuleRunsOnTheRunnerAndItsFailureFailsTheStage) {
  model::RuleDeclaration smoke;
  smoke.name = "Smoke";
  smoke.rule_type_id.provider = "Commands";
  smoke.commands = std::vector<std::string>{"test -f ready-#{variables.Env}"};
  smoke.input_artifacts = std::vector<model::InputArtifact>{{"Code"}};
  make([&](model::StageDeclaration& s) {
    s.on_success = model::SuccessConditions{{{model::ConditionResult::kFail, std::vector{smoke}}}};
  });
  std::string id = start();
  succeed(runner_.started.at(1), id);  // Ship
  ASSERT_EQ(runner_.started.size(), 3u) << "the rule runs like a Commands action";
  const ActionStart& rule = runner_.started[2];
  EXPECT_EQ(rule.action.name, "Smoke");
  EXPECT_EQ((*rule.action.commands)[0], "test -f ready-dev");
  ASSERT_EQ(rule.inputs.size(), 1u);
  EXPECT_EQ(rule.timeout, std::chrono::minutes(55));
  EXPECT_EQ(store_->get_pipeline_execution(id)->status, PipelineExecutionStatus::kInProgress);
  fail(rule);
  EXPECT_EQ(store_->get_pipeline_execution(id)->status, PipelineExecutionStatus::kFailed);
  EXPECT_EQ(store_->list_rule_executions(id)->at(0).status, model::RuleExecutionStatus::kFailed);

  ASSERT_TRUE(
      engine_->override_condition("cond", "Deploy", id, model::ConditionType::kOnSuccess).ok());
  EXPECT_EQ(store_->get_pipeline_execution(id)->status, PipelineExecutionStatus::kSucceeded);
  EXPECT_EQ(store_->list_condition_executions(id)->at(0).status,
            model::ConditionExecutionStatus::kOverridden);
  EXPECT_EQ(
      api_error(engine_->override_condition("cond", "Deploy", id, model::ConditionType::kOnSuccess))
          .type,
      "ConditionNotOverridableException");
}

TEST_F(ConditionsEngineTest, AFailedStageRollsBackToTheLastExecutionThatSucceededInIt) {
  make([](model::StageDeclaration& s) {
    s.on_failure = model::FailureConditions{model::ConditionResult::kRollback, {}, {}};
  });
  std::string good = start({{"Env", "good"}});
  succeed(runner_.started.at(1), good);
  std::string bad = start({{"Env", "bad"}});
  fail(runner_.started.at(3));
  auto failed = store_->get_pipeline_execution(bad);
  EXPECT_EQ(failed->status, PipelineExecutionStatus::kFailed);
  ASSERT_EQ(runner_.started.size(), 5u) << "the rollback runs Ship again";
  const ActionStart& again = runner_.started[4];
  EXPECT_EQ(again.action.name, "Ship");
  ASSERT_EQ(again.inputs.size(), 1u) << "on the target's artifacts";
  auto rollback = store_->get_pipeline_execution(again.execution_id);
  EXPECT_EQ(rollback->execution_type, model::ExecutionType::kRollback);
  EXPECT_EQ(rollback->trigger_type, model::TriggerType::kAutomatedRollback);
  EXPECT_EQ(rollback->rollback_target_execution_id, good);
  EXPECT_EQ(rollback->rollback_stage_name, "Deploy");
  EXPECT_EQ(rollback->variables.at(0).resolved_value, "good");
  EXPECT_NE(failed->status_summary.find("rollback execution " + rollback->id), std::string::npos)
      << failed->status_summary;
  succeed(again, rollback->id);
  EXPECT_EQ(store_->get_pipeline_execution(rollback->id)->status,
            PipelineExecutionStatus::kSucceeded);
  EXPECT_EQ(store_->list_stage_executions(rollback->id)->size(), 1u) << "only Deploy runs";
}

TEST_F(ConditionsEngineTest, RollbackStageChecksItsTargetAndStartsARollbackExecution) {
  make([](model::StageDeclaration&) {});
  std::string good = start();
  succeed(runner_.started.at(1), good);
  std::string bad = start();
  fail(runner_.started.at(3));
  EXPECT_EQ(api_error(engine_->rollback_stage("cond", "Source", good, "me").status()).type,
            "UnableToRollbackStageException");
  EXPECT_EQ(api_error(engine_->rollback_stage("cond", "Deploy", bad, "me").status()).type,
            "UnableToRollbackStageException");
  EXPECT_EQ(api_error(engine_->rollback_stage("cond", "Nope", good, "me").status()).type,
            "StageNotFoundException");
  EXPECT_EQ(api_error(engine_->rollback_stage("cond", "Deploy", "zzz", "me").status()).type,
            "PipelineExecutionNotFoundException");
  auto id = engine_->rollback_stage("cond", "Deploy", good, "arn:aws:iam::1:user/me");
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto r = store_->get_pipeline_execution(*id);
  EXPECT_EQ(r->trigger_type, model::TriggerType::kManualRollback);
  EXPECT_EQ(r->trigger_detail, "arn:aws:iam::1:user/me");
  EXPECT_EQ(runner_.started.back().execution_id, *id);
  EXPECT_EQ(api_error(engine_->rollback_stage("cond", "Deploy", *id, "me").status()).type,
            "UnableToRollbackStageException")
      << "not to a rollback execution, and not while the stage runs";

  auto decl = store_->get_pipeline("cond")->declaration;
  ASSERT_TRUE(engine_->update_pipeline(decl).ok());
  EXPECT_EQ(api_error(engine_->rollback_stage("cond", "Deploy", good, "me").status()).type,
            "PipelineExecutionOutdatedException");
}

TEST_F(ConditionsEngineTest, ARuleUnderEvaluationWhenTheProcessDiesIsEvaluatedAgain) {
  model::RuleDeclaration smoke;
  smoke.name = "Smoke";
  smoke.rule_type_id.provider = "Commands";
  smoke.commands = std::vector<std::string>{"true"};
  make([&](model::StageDeclaration& s) {
    s.before_entry =
        model::BeforeEntryConditions{{{model::ConditionResult::kFail, std::vector{smoke}}}};
  });
  std::string id = start();
  ASSERT_EQ(runner_.started.size(), 2u);
  EXPECT_EQ(runner_.started[1].action.name, "Smoke");

  RecordingRunner runner;
  Engine restarted(
      *store_, runner,
      {[this] { return ++clock_; }, [this] { return "id-" + std::to_string(++ids_); }, {}});
  ASSERT_TRUE(restarted.recover().ok());
  ASSERT_EQ(runner.started.size(), 1u);
  EXPECT_EQ(runner.started[0].action.name, "Smoke");
  auto rules = store_->list_rule_executions(id);
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ(rules->at(0).status, model::RuleExecutionStatus::kAbandoned);
  ActionOutcome passed;
  passed.succeeded = true;
  ASSERT_TRUE(restarted.action_finished(runner.started[0].action_execution_id, passed).ok());
  ASSERT_EQ(runner.started.size(), 2u);
  EXPECT_EQ(runner.started[1].action.name, "Ship");
}

}  // namespace
}  // namespace stageline::engine
