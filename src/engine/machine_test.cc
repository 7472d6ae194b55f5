#include "engine/machine.h"
#include "engine/machine_test_util.h"

#include <gtest/gtest.h>

namespace stageline::engine {
namespace {

using model::ActionExecutionStatus;
using model::ExecutionMode;
using model::PipelineExecutionStatus;
using model::StageExecutionStatus;

constexpr auto kOk = ActionExecutionStatus::kSucceeded;
constexpr auto kFail = ActionExecutionStatus::kFailed;

// stages: each a list of (action name, runOrder).
model::PipelineDeclaration pipeline(std::vector<std::vector<std::pair<std::string, int>>> stages,
                                    ExecutionMode mode = ExecutionMode::kSuperseded,
                                    int version = 1) {
  model::PipelineDeclaration p;
  p.name = "p";
  p.version = version;
  p.execution_mode = mode;
  int i = 0;
  for (const auto& actions : stages) {
    model::StageDeclaration s;
    s.name = "S" + std::to_string(i++);
    for (const auto& [name, order] : actions) {
      model::ActionDeclaration a;
      a.name = name;
      a.run_order = order;
      s.actions.push_back(a);
    }
    p.stages.push_back(s);
  }
  return p;
}

using testing_util::err;
using testing_util::ok;

// The actions an effect list starts, as "exec/stage/action".
std::vector<std::string> started(const Effects& effects) {
  std::vector<std::string> out;
  for (const auto& e : effects)
    if (e.kind == Effect::Kind::kStartAction)
      out.push_back(e.execution_id + "/" + std::to_string(e.stage) + "/" + e.action);
  return out;
}

using V = std::vector<std::string>;

TEST(MachineTest, StagesRunInOrderAndTheExecutionSucceedsAfterTheLast) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"build", 1}}}));
  EXPECT_EQ(started(ok(m.start("e1"))), V{"e1/0/src"});
  EXPECT_EQ(started(m.action_finished("e1", 0, "src", kOk)), V{"e1/1/build"});
  auto last = m.action_finished("e1", 1, "build", kOk);
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kSucceeded);
  EXPECT_EQ(last.back().kind, Effect::Kind::kExecutionStatus);
  EXPECT_EQ(last.back().execution_status, PipelineExecutionStatus::kSucceeded);
}

TEST(MachineTest, ActionsOfOneRunOrderStartTogetherAndTheNextGroupWaitsForAll) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}, {"b", 1}, {"c", 3}}}));
  ok(m.start("e1"));
  EXPECT_EQ(started(m.action_finished("e1", 0, "src", kOk)), (V{"e1/1/a", "e1/1/b"}));
  EXPECT_TRUE(started(m.action_finished("e1", 1, "a", kOk)).empty());
  EXPECT_EQ(started(m.action_finished("e1", 1, "b", kOk)), V{"e1/1/c"});
}

TEST(MachineTest, AFailedActionFailsTheStageOnlyOnceItsInFlightPeersEnd) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}, {"b", 1}, {"c", 2}}, {{"d", 1}}}));
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  auto after_fail = m.action_finished("e1", 1, "a", kFail);
  EXPECT_TRUE(after_fail.empty());
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kInProgress);
  auto after_peer = m.action_finished("e1", 1, "b", kOk);
  EXPECT_TRUE(started(after_peer).empty()) << "no later group and no later stage starts";
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kFailed);
  EXPECT_EQ(m.execution("e1")->stages[1].status, StageExecutionStatus::kFailed);
  EXPECT_TRUE(m.lock_holder(1).empty()) << "a failure releases the lock";
}

TEST(MachineTest, LateOrDuplicatedResultsAreIgnored) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}}}));
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  EXPECT_TRUE(m.action_finished("e1", 0, "src", kFail).empty());
  EXPECT_TRUE(m.action_finished("nope", 1, "a", kOk).empty());
  EXPECT_TRUE(m.action_finished("e1", 1, "zzz", kOk).empty());
  EXPECT_EQ(m.execution("e1")->stages[0].status, StageExecutionStatus::kSucceeded);
}

TEST(MachineTest, SupersededModeKeepsOneWaitingExecutionPerLockedStage) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"build", 1}}}));
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);  // e1 holds S1
  ok(m.start("e2"));
  m.action_finished("e2", 0, "src", kOk);  // e2 waits at S1
  EXPECT_EQ(m.inbound(1), V{"e2"});
  ok(m.start("e3"));
  m.action_finished("e3", 0, "src", kOk);  // e3 supersedes e2
  EXPECT_EQ(m.execution("e2")->status, PipelineExecutionStatus::kSuperseded);
  EXPECT_EQ(m.inbound(1), V{"e3"});
  EXPECT_EQ(started(m.action_finished("e1", 1, "build", kOk)), V{"e3/1/build"});
}

TEST(MachineTest, TheSourceStageTakesANewExecutionAsSoonAsTheLastOneLeavesIt) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"build", 1}}}));
  ok(m.start("e1"));
  EXPECT_TRUE(started(ok(m.start("e2"))).empty()) << "S0 is locked by e1";
  EXPECT_EQ(m.inbound(0), V{"e2"});
  auto moved = m.action_finished("e1", 0, "src", kOk);
  EXPECT_EQ(started(moved), (V{"e1/1/build", "e2/0/src"}));
}

TEST(MachineTest, QueuedModeLetsWaitingExecutionsInFirstInFirstOut) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"build", 1}}}, ExecutionMode::kQueued));
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  for (const char* id : {"e2", "e3"}) {
    ok(m.start(id));
    m.action_finished(id, 0, "src", kOk);
  }
  EXPECT_EQ(m.inbound(1), (V{"e2", "e3"}));
  EXPECT_EQ(started(m.action_finished("e1", 1, "build", kOk)), V{"e2/1/build"});
  EXPECT_EQ(started(m.action_finished("e2", 1, "build", kOk)), V{"e3/1/build"});
  EXPECT_EQ(m.execution("e2")->status, PipelineExecutionStatus::kSucceeded);
}

TEST(MachineTest, ParallelModeHasNoLocksAndCapsActiveExecutionsAtFifty) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"build", 1}}}, ExecutionMode::kParallel));
  for (int i = 0; i < PipelineMachine::kMaxActiveExecutions; ++i)
    EXPECT_EQ(started(ok(m.start("e" + std::to_string(i)))).size(), 1u);
  EXPECT_EQ(err(m.start("one-too-many")), MachineError::kConcurrentPipelineExecutionsLimitExceeded);
  m.action_finished("e0", 0, "src", kOk);
  m.action_finished("e0", 1, "build", kOk);
  EXPECT_EQ(started(ok(m.start("after"))).size(), 1u);
}

TEST(MachineTest, ParallelModeRunsAtMostFiveActionsOfOneExecutionAtOnce) {
  std::vector<std::pair<std::string, int>> seven;
  for (int i = 0; i < 7; ++i) seven.push_back({"a" + std::to_string(i), 1});
  PipelineMachine m(pipeline({{{"src", 1}}, seven}, ExecutionMode::kParallel));
  ok(m.start("e1"));
  EXPECT_EQ(started(m.action_finished("e1", 0, "src", kOk)).size(), 5u);
  EXPECT_EQ(started(m.action_finished("e1", 1, "a0", kOk)), V{"e1/1/a5"});
}

TEST(MachineTest, ADisabledTransitionHoldsExecutionsUntilEnabled) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"build", 1}}}));
  ok(m.set_transition("S1", false));
  ok(m.start("e1"));
  EXPECT_TRUE(started(m.action_finished("e1", 0, "src", kOk)).empty());
  EXPECT_EQ(m.inbound(1), V{"e1"});
  EXPECT_EQ(started(ok(m.set_transition("S1", true))), V{"e1/1/build"});
  EXPECT_EQ(err(m.set_transition("Nope", true)), MachineError::kStageNotFound);
}

TEST(MachineTest, StopAndWaitLetsRunningActionsFinishThenStops) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}, {"b", 1}, {"c", 2}}}));
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  ok(m.stop("e1", false, "enough"));
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kStopping);
  EXPECT_EQ(err(m.stop("e1", false, "")), MachineError::kDuplicatedStopRequest);
  EXPECT_TRUE(started(m.action_finished("e1", 1, "a", kOk)).empty());
  m.action_finished("e1", 1, "b", kOk);
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kStopped);
  EXPECT_EQ(m.execution("e1")->stages[1].status, StageExecutionStatus::kStopped);
  EXPECT_EQ(err(m.stop("e1", true, "")), MachineError::kPipelineExecutionNotStoppable);
}

TEST(MachineTest, AbandonMarksRunningActionsAbandonedAndUnlocksAtOnce) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}}}));
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  ok(m.stop("e1", false, ""));
  auto effects = ok(m.stop("e1", true, ""));  // abandon is allowed after a wait-stop
  bool abandoned = false;
  for (const auto& e : effects)
    abandoned = abandoned || (e.kind == Effect::Kind::kActionStatus &&
                              e.action_status == ActionExecutionStatus::kAbandoned);
  EXPECT_TRUE(abandoned);
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kStopped);
  EXPECT_TRUE(m.lock_holder(1).empty());
  EXPECT_TRUE(m.action_finished("e1", 1, "a", kOk).empty())
      << "an abandoned job's result is ignored";
}

TEST(MachineTest, StoppingAnInboundExecutionStopsItWithoutEnteringTheStage) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"build", 1}}}));
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  ok(m.start("e2"));
  m.action_finished("e2", 0, "src", kOk);
  ok(m.stop("e2", false, ""));
  EXPECT_EQ(m.execution("e2")->status, PipelineExecutionStatus::kStopped);
  EXPECT_TRUE(m.inbound(1).empty());
  EXPECT_TRUE(started(m.action_finished("e1", 1, "build", kOk)).empty());
}

TEST(MachineTest, RetryFailedActionsRerunsOnlyThoseAndContinues) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}, {"b", 1}, {"c", 2}}}));
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  m.action_finished("e1", 1, "a", kFail);
  m.action_finished("e1", 1, "b", kOk);
  auto effects = ok(m.retry("e1", "S1", model::StageRetryMode::kFailedActions));
  EXPECT_EQ(started(effects), V{"e1/1/a"});
  EXPECT_EQ(m.execution("e1")->stages[1].attempt, 2);
  EXPECT_EQ(started(m.action_finished("e1", 1, "a", kOk)), V{"e1/1/c"});
  m.action_finished("e1", 1, "c", kOk);
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kSucceeded);
}

TEST(MachineTest, RetryAllActionsRerunsTheWholeStage) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}, {"b", 1}}}));
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  m.action_finished("e1", 1, "a", kFail);
  m.action_finished("e1", 1, "b", kOk);
  EXPECT_EQ(started(ok(m.retry("e1", "S1", model::StageRetryMode::kAllActions))),
            (V{"e1/1/a", "e1/1/b"}));
}

TEST(MachineTest, RetryIsRefusedWhenTheStageDidNotFailOrALaterRunEnteredIt) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}}}));
  ok(m.start("e1"));
  EXPECT_EQ(err(m.retry("e1", "S0", model::StageRetryMode::kFailedActions)),
            MachineError::kStageNotRetryable);
  EXPECT_EQ(err(m.retry("e1", "Nope", model::StageRetryMode::kFailedActions)),
            MachineError::kStageNotFound);
  EXPECT_EQ(err(m.retry("zz", "S0", model::StageRetryMode::kFailedActions)),
            MachineError::kPipelineExecutionNotFound);
  m.action_finished("e1", 0, "src", kOk);
  m.action_finished("e1", 1, "a", kFail);
  ok(m.start("e2"));
  m.action_finished("e2", 0, "src", kOk);  // e2 enters S1 after e1 failed there
  EXPECT_EQ(err(m.retry("e1", "S1", model::StageRetryMode::kFailedActions)),
            MachineError::kNotLatestPipelineExecution);
}

TEST(MachineTest, AStoppedStageCanBeRetried) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}}}));
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);
  ok(m.stop("e1", true, ""));
  EXPECT_EQ(started(ok(m.retry("e1", "S1", model::StageRetryMode::kFailedActions))), V{"e1/1/a"});
}

TEST(MachineTest, UpdateCancelsWaitingExecutionsNowAndActiveOnesAfterTheirActions) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"build", 1}}}));
  ok(m.start("e1"));
  m.action_finished("e1", 0, "src", kOk);  // e1 runs build
  ok(m.start("e2"));
  m.action_finished("e2", 0, "src", kOk);  // e2 waits at S1
  m.update(
      pipeline({{{"src", 1}}, {{"build", 1}}, {{"deploy", 1}}}, ExecutionMode::kSuperseded, 2));
  EXPECT_EQ(m.execution("e2")->status, PipelineExecutionStatus::kCancelled);
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kInProgress);
  EXPECT_TRUE(started(m.action_finished("e1", 1, "build", kOk)).empty());
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kCancelled);
  EXPECT_EQ(started(ok(m.start("e3"))), V{"e3/0/src"});
  EXPECT_EQ(m.execution("e3")->version, 2);
}

TEST(MachineTest, ParallelExecutionsKeepRunningOnTheirVersionAfterAnUpdate) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"build", 1}}}, ExecutionMode::kParallel));
  ok(m.start("e1"));
  m.update(pipeline({{{"src", 1}}}, ExecutionMode::kParallel, 2));
  EXPECT_EQ(started(m.action_finished("e1", 0, "src", kOk)), V{"e1/1/build"});
  m.action_finished("e1", 1, "build", kOk);
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kSucceeded);
}

}  // namespace
}  // namespace stageline::engine

namespace stageline::engine {
namespace {

// An execution as the store would give it back: S1 entered, action a in
// flight, b succeeded.
ExecutionState interrupted(const PipelineMachine& m, const std::string& id) {
  ExecutionState e;
  e.id = id;
  e.version = 1;
  e.stage = 1;
  for (const auto& s : m.declaration().stages) {
    StageState st;
    for (const auto& a : s.actions) st.actions.push_back({a.name, a.effective_run_order(), 0, {}});
    e.stages.push_back(st);
  }
  e.stages[0].status = StageExecutionStatus::kSucceeded;
  e.stages[0].actions[0] = {"src", 1, 1, ActionExecutionStatus::kSucceeded};
  e.stages[1].status = StageExecutionStatus::kInProgress;
  e.stages[1].attempt = 1;
  e.stages[1].actions[0] = {"a", 1, 1, ActionExecutionStatus::kInProgress};
  e.stages[1].actions[1] = {"b", 1, 1, ActionExecutionStatus::kSucceeded};
  return e;
}

TEST(MachineRecoveryTest, InFlightActionsStartAgainAsNewAttemptsAndFinishedOnesDoNot) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}, {"b", 1}, {"c", 2}}}));
  m.restore(interrupted(m, "e1"));
  Effects resumed = m.resume("e1");
  ASSERT_EQ(started(resumed), V{"e1/1/a"});
  EXPECT_EQ(resumed[0].attempt, 2);
  EXPECT_EQ(m.lock_holder(1), "e1");
  EXPECT_EQ(started(m.action_finished("e1", 1, "a", kOk)), V{"e1/1/c"});
}

TEST(MachineRecoveryTest, ARestoredExecutionKeepsItsStageLockedForNewcomers) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}, {"b", 1}}}));
  m.restore(interrupted(m, "e1"));
  m.resume("e1");
  ok(m.start("e2"));
  m.action_finished("e2", 0, "src", kOk);
  EXPECT_EQ(m.inbound(1), V{"e2"});
}

TEST(MachineRecoveryTest, WhatWasDecidedButNotDoneHappensOnResume) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}, {"b", 1}}}));
  auto e = interrupted(m, "e1");
  e.stages[1].actions[0].status = ActionExecutionStatus::kSucceeded;  // result committed
  m.restore(e);
  Effects resumed = m.resume("e1");
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kSucceeded);
  EXPECT_TRUE(started(resumed).empty());
}

TEST(MachineRecoveryTest, AStopUnderWayEndsStoppedWithTheInFlightActionAbandoned) {
  PipelineMachine m(pipeline({{{"src", 1}}, {{"a", 1}, {"b", 1}}}));
  auto e = interrupted(m, "e1");
  e.status = PipelineExecutionStatus::kStopping;
  e.stop_requested = true;
  e.stages[1].status = StageExecutionStatus::kStopping;
  m.restore(e);
  m.resume("e1");
  EXPECT_EQ(m.execution("e1")->status, PipelineExecutionStatus::kStopped);
  EXPECT_TRUE(m.lock_holder(1).empty());
}

}  // namespace
}  // namespace stageline::engine
