#include "server/local_run.h"

#include <gtest/gtest.h>

#include <sstream>

namespace stageline::server {
namespace {

engine::ActionStart approval_start() {
  engine::ActionStart start;
  start.pipeline_name = "my-app";
  start.stage_name = "Deploy";
  start.action.name = "Approve";
  start.action.configuration = std::map<std::string, std::string>{
      {"CustomData", "Check the staging site"}, {"ExternalEntityLink", "https://staging/"}};
  return start;
}

TEST(AskApproval, ShowsWhatIsAskedAndTakesYesWithASummary) {
  std::istringstream in("y looks good to me\n");
  std::ostringstream out;
  auto answer = ask_approval(in, out, approval_start());
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->approved);
  EXPECT_EQ(answer->summary, "looks good to me");
  EXPECT_NE(out.str().find("pipeline my-app, stage Deploy, action Approve"), std::string::npos);
  EXPECT_NE(out.str().find("Check the staging site"), std::string::npos);
  EXPECT_NE(out.str().find("Review: https://staging/"), std::string::npos);
}

TEST(AskApproval, AsksAgainUntilTheAnswerIsOneItUnderstands) {
  std::istringstream in("\nmaybe\n  REJECT   broken build\n");
  std::ostringstream out;
  auto answer = ask_approval(in, out, approval_start());
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(answer->approved);
  EXPECT_EQ(answer->summary, "broken build");
  EXPECT_NE(out.str().find("Answer y or n"), std::string::npos);
}

TEST(AskApproval, GivesNoAnswerAtTheEndOfInput) {
  std::istringstream in("what?\n");
  std::ostringstream out;
  EXPECT_FALSE(ask_approval(in, out, approval_start()).has_value());
}

}  // namespace
}  // namespace stageline::server
