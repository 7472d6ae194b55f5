#include "engine/engine.h"

#include <gtest/gtest.h>

#include "store/sqlite_store.h"

namespace stageline::engine {
namespace {

using model::PipelineExecutionStatus;

// Records what the engine starts; the test plays the job runner.
class RecordingRunner : public ActionRunner {
 public:
  void start(const ActionStart& s) override { started.push_back(s); }
  std::vector<ActionStart> started;
};

model::ActionDeclaration action(std::string name, std::string provider,
                                std::vector<std::string> ins, std::vector<std::string> outs,
                                int run_order = 1) {
  model::ActionDeclaration a;
  a.name = std::move(name);
  a.action_type_id = {model::ActionCategory::kCompute, model::ActionOwner::kAws,
                      std::move(provider), "1"};
  a.run_order = run_order;
  if (!ins.empty()) {
    a.input_artifacts.emplace();
    for (auto& n : ins) a.input_artifacts->push_back({n});
  }
  if (!outs.empty()) {
    a.output_artifacts.emplace();
    for (auto& n : outs) a.output_artifacts->push_back({n, std::nullopt});
  }
  return a;
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
