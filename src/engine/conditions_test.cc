// Stage conditions, automatic retry and rollback, overrides and rollback
// executions in PipelineMachine (reference §6.2-§6.4, §7).
#include <gtest/gtest.h>

#include "engine/machine.h"
#include "engine/machine_test_util.h"

namespace stageline::engine {
namespace {

using model::ActionExecutionStatus;
using model::ConditionResult;
using model::ConditionType;
using model::ExecutionMode;
using model::PipelineExecutionStatus;
using model::StageExecutionStatus;

constexpr auto kOk = ActionExecutionStatus::kSucceeded;
constexpr auto kFail = ActionExecutionStatus::kFailed;

model::Condition condition(ConditionResult result) {
  model::RuleDeclaration rule;
  rule.name = "Check";
  rule.rule_type_id.provider = "VariableCheck";
  return {result, std::vector<model::RuleDeclaration>{rule}};
}

// Source -> Build (one action "make") -> Deploy (one action "ship").
model::PipelineDeclaration three_stages(ExecutionMode mode = ExecutionMode::kSuperseded) {
  model::PipelineDeclaration p;
  p.name = "p";
  p.version = 1;
  p.execution_mode = mode;
  for (auto [stage, action] : {std::pair{"Source", "src"}, {"Build", "make"}, {"Deploy", "ship"}}) {
    model::StageDeclaration s;
    s.name = stage;
    model::ActionDeclaration a;
    a.name = action;
    s.actions.push_back(a);
    p.stages.push_back(s);
  }
  return p;
}

using testing_util::err;
using testing_util::ok;

std::vector<std::string> started(const Effects& effects) {
  std::vector<std::string> out;
  for (const auto& e : effects)
    if (e.kind == Effect::Kind::kStartAction) out.push_back(e.action);
  return out;
}

const Effect* find(const Effects& effects, Effect::Kind kind) {
  for (const auto& e : effects)
    if (e.kind == kind) return &e;
  return nullptr;
}

using V = std::vector<std::string>;

TEST(ConditionsTest, AnEntryConditionIsEvaluatedBeforeAnyActionOfTheStageStarts) {
  auto p = three_stages();
  p.stages[1].before_entry = model::BeforeEntryConditions{{condition(ConditionResult::kFail)}};
  PipelineMachine m(p);
  ok(m.start("e1"));
  Effects entering = m.action_finished("e1", 0, "src", kOk);
  EXPECT_TRUE(started(entering).empty());
  const Effect* ev = find(entering, Effect::Kind::kEvaluateCondition);
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->stage, 1);
  EXPECT_EQ(ev->condition, ConditionType::kBeforeEntry);
  EXPECT_EQ(started(m.condition_finished("e1", 1, ConditionType::kBeforeEntry, true, "")),
            V{"make"});
}

TEST(ConditionsTest, AFailedEntryConditionWithFailFailsTheStageAndCanBeOverridden) {
  auto p = three_stages();
  p.stages[1].before_entry = model::BeforeEntryConditions{{condition(ConditionResult::kFail)}};
  PipelineMachine m(p);
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  Effects failed = m.condition_finished("e1", 1, ConditionType::kBeforeEntry, false, "x is 1");
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kFailed);
  EXPECT_EQ(m.execution("e1")->stages[1].status, StageExecutionStatus::kFailed);
  EXPECT_TRUE(started(failed).empty());
  EXPECT_EQ(m.lock_holder(1), "") << "a failed stage unlocks";
  EXPECT_EQ(err(m.override_condition("e1", "Build", ConditionType::kOnSuccess)),
            MachineError::kConditionNotOverridable);
  Effects overridden = ok(m.override_condition("e1", "Build", ConditionType::kBeforeEntry));
  EXPECT_EQ(started(overridden), V{"make"});
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kInProgress);
  const Effect* c = find(overridden, Effect::Kind::kConditionStatus);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->condition_status, model::ConditionExecutionStatus::kOverridden);
}

TEST(ConditionsTest, AFailedEntryConditionWithSkipSkipsTheStageAndGoesOn) {
  auto p = three_stages();
  p.stages[1].before_entry = model::BeforeEntryConditions{{condition(ConditionResult::kSkip)}};
  PipelineMachine m(p);
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  Effects skipped = m.condition_finished("e1", 1, ConditionType::kBeforeEntry, false, "");
  EXPECT_EQ(m.execution("e1")->stages[1].status, StageExecutionStatus::kSkipped);
  EXPECT_EQ(started(skipped), V{"ship"});
  EXPECT_EQ(err(m.override_condition("e1", "Build", ConditionType::kBeforeEntry)),
            MachineError::kConditionNotOverridable)
      << "a SKIP is not overridable";
}

TEST(ConditionsTest, AnOnSuccessConditionDecidesWhetherTheStageSucceeds) {
  auto p = three_stages();
  p.stages[1].on_success = model::SuccessConditions{{condition(ConditionResult::kFail)}};
  PipelineMachine m(p);
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  Effects done = m.action_finished("e1", 1, "make", kOk);
  ASSERT_NE(find(done, Effect::Kind::kEvaluateCondition), nullptr);
  EXPECT_EQ(m.execution("e1")->stages[1].status, StageExecutionStatus::kInProgress);
  EXPECT_EQ(m.lock_holder(1), "e1") << "the stage stays locked while its rules run";
  m.condition_finished("e1", 1, ConditionType::kOnSuccess, false, "alarm");
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kFailed);
  Effects overridden = ok(m.override_condition("e1", "Build", ConditionType::kOnSuccess));
  EXPECT_EQ(m.execution("e1")->stages[1].status, StageExecutionStatus::kSucceeded);
  EXPECT_EQ(started(overridden), V{"ship"}) << "the override lets the execution go on";
}

TEST(ConditionsTest, AnOnSuccessConditionWithRollbackAsksForARollbackWhenItFails) {
  auto p = three_stages();
  p.stages[2].on_success = model::SuccessConditions{{condition(ConditionResult::kRollback)}};
  PipelineMachine m(p);
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  m.action_finished("e1", 1, "make", kOk);
  m.action_finished("e1", 2, "ship", kOk);
  Effects failed = m.condition_finished("e1", 2, ConditionType::kOnSuccess, false, "");
  const Effect* r = find(failed, Effect::Kind::kStartRollback);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->stage, 2);
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kFailed);
}

TEST(ConditionsTest, OnFailureRetryRetriesTheStageOnceAutomatically) {
  auto p = three_stages();
  p.stages[1].on_failure = model::FailureConditions{ConditionResult::kRetry, {}, {}};
  PipelineMachine m(p);
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  Effects retried = m.action_finished("e1", 1, "make", kFail);
  EXPECT_EQ(started(retried), V{"make"});
  EXPECT_EQ(m.execution("e1")->stages[1].attempt, 2);
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kInProgress);
  Effects again = m.action_finished("e1", 1, "make", kFail);
  EXPECT_TRUE(started(again).empty()) << "exactly one automatic retry";
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kFailed);
}

TEST(ConditionsTest, OnFailureRollbackWithoutRulesAsksForARollback) {
  auto p = three_stages();
  p.stages[2].on_failure = model::FailureConditions{ConditionResult::kRollback, {}, {}};
  PipelineMachine m(p);
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  m.action_finished("e1", 1, "make", kOk);
  Effects failed = m.action_finished("e1", 2, "ship", kFail);
  ASSERT_NE(find(failed, Effect::Kind::kStartRollback), nullptr);
}

TEST(ConditionsTest, OnFailureRulesDecideWhetherToRollBack) {
  auto p = three_stages();
  p.stages[2].on_failure = model::FailureConditions{
      ConditionResult::kRollback, {}, std::vector{condition(ConditionResult::kRollback)}};
  PipelineMachine m(p);
  ok(m.start("e1"));
  ok(m.start("e2"));
  m.action_finished("e1", 0, "src", kOk);
  m.action_finished("e1", 1, "make", kOk);
  Effects failing = m.action_finished("e1", 2, "ship", kFail);
  ASSERT_NE(find(failing, Effect::Kind::kEvaluateCondition), nullptr);
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kInProgress);
  Effects not_met = m.condition_finished("e1", 2, ConditionType::kOnFailure, false, "");
  EXPECT_EQ(find(not_met, Effect::Kind::kStartRollback), nullptr);
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kFailed);

  m.action_finished("e2", 0, "src", kOk);
  m.action_finished("e2", 1, "make", kOk);
  m.action_finished("e2", 2, "ship", kFail);
  Effects met = m.condition_finished("e2", 2, ConditionType::kOnFailure, true, "");
  EXPECT_NE(find(met, Effect::Kind::kStartRollback), nullptr);
}

TEST(ConditionsTest, ARollbackExecutionRunsOnlyItsStageAndTakesPriorityOverWaitingOnes) {
  PipelineMachine m(three_stages(ExecutionMode::kQueued));
  ok(m.start("e1"));
  ok(m.start("e2"));
  m.action_finished("e1", 0, "src", kOk);
  m.action_finished("e1", 1, "make", kOk);
  m.action_finished("e2", 0, "src", kOk);
  m.action_finished("e2", 1, "make", kOk);  // e2 waits at Deploy behind e1
  ASSERT_EQ(m.inbound(2), V{"e2"});
  EXPECT_EQ(err(m.start_rollback("r1", "Deploy")), MachineError::kUnableToRollbackStage)
      << "not while an execution is in the stage";
  auto p = three_stages(ExecutionMode::kQueued);
  p.stages[2].on_failure = model::FailureConditions{ConditionResult::kRollback, {}, {}};
  // e1 fails in Deploy; the driver asks for a rollback before e2 may enter.
  PipelineMachine m2(p);
  ok(m2.start("e1"));
  ok(m2.start("e2"));
  m2.action_finished("e1", 0, "src", kOk);
  m2.action_finished("e1", 1, "make", kOk);
  m2.action_finished("e2", 0, "src", kOk);
  m2.action_finished("e2", 1, "make", kOk);
  Effects failed = m2.action_finished("e1", 2, "ship", kFail);
  ASSERT_NE(find(failed, Effect::Kind::kStartRollback), nullptr);
  EXPECT_TRUE(started(failed).empty()) << "e2 must not enter before the rollback";
  Effects rollback = ok(m2.start_rollback("r1", "Deploy"));
  EXPECT_EQ(started(rollback), V{"ship"});
  EXPECT_TRUE(m2.execution("r1")->rollback);
  Effects done = m2.action_finished("r1", 2, "ship", kOk);
  EXPECT_EQ(m2.execution("r1")->status, PipelineExecutionStatus::kSucceeded);
  EXPECT_EQ(started(done), V{"ship"}) << "then e2 enters";
}

TEST(ConditionsTest, NoRollbackInParallelModeAndNoRollbackOfARollback) {
  PipelineMachine parallel(three_stages(ExecutionMode::kParallel));
  EXPECT_EQ(err(parallel.start_rollback("r", "Deploy")), MachineError::kUnableToRollbackStage);
  auto p = three_stages();
  p.stages[2].on_failure = model::FailureConditions{ConditionResult::kRollback, {}, {}};
  PipelineMachine m(p);
  ok(m.start_rollback("r1", "Deploy"));
  Effects failed = m.action_finished("r1", 2, "ship", kFail);
  EXPECT_EQ(find(failed, Effect::Kind::kStartRollback), nullptr);
  EXPECT_EQ(m.execution("r1")->status, PipelineExecutionStatus::kFailed);
}

TEST(ConditionsTest, StoppingDuringAnEvaluationAbandonsItAndALateResultIsIgnored) {
  auto p = three_stages();
  p.stages[1].before_entry = model::BeforeEntryConditions{{condition(ConditionResult::kFail)}};
  PipelineMachine m(p);
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  Effects stopped = ok(m.stop("e1", false, "no"));
  const Effect* c = find(stopped, Effect::Kind::kConditionStatus);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->condition_status, model::ConditionExecutionStatus::kAbandoned);
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kStopped);
  EXPECT_TRUE(m.condition_finished("e1", 1, ConditionType::kBeforeEntry, true, "").empty());
}

TEST(ConditionsTest, AnEvaluationUnderWayWhenTheProcessDiedRunsAgainOnResume) {
  auto p = three_stages();
  p.stages[1].on_success = model::SuccessConditions{{condition(ConditionResult::kFail)}};
  PipelineMachine m(p);
  ExecutionState s;
  s.id = "e1";
  s.stage = 1;
  for (int i = 0; i < 3; ++i) {
    StageState st;
    st.actions.push_back({p.stages[i].actions[0].name, 1, 1, kOk, false});
    s.stages.push_back(st);
  }
  s.stages[1].status = StageExecutionStatus::kInProgress;
  s.stages[1].attempt = 1;
  s.stages[1].evaluating = ConditionType::kOnSuccess;
  m.restore(s);
  Effects resumed = m.resume("e1");
  const Effect* ev = find(resumed, Effect::Kind::kEvaluateCondition);
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->condition, ConditionType::kOnSuccess);
  EXPECT_EQ(started(m.condition_finished("e1", 1, ConditionType::kOnSuccess, true, "")), V{"ship"});
}

}  // namespace
}  // namespace stageline::engine
