#include "cli/watch.h"

#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/client/test_server.h"
#include "gtest/gtest.h"

namespace stageline::cli {
namespace {

namespace json = boost::json;

ActionSnapshot action(std::string id, std::string stage, std::string name, std::string status,
                      double start, double last, std::string error = "") {
  return ActionSnapshot{.action_execution_id = std::move(id),
                        .stage = std::move(stage),
                        .action = std::move(name),
                        .status = std::move(status),
                        .start_time = start,
                        .last_update = last,
                        .summary = "",
                        .error = std::move(error)};
}

TEST(WatchTracker, PrintsEachTransitionOnceWithDurationsAndTheResult) {
  WatchTracker t("e1", "app");
  WatchSnapshot s1{.status = "InProgress",
                   .status_summary = "",
                   .stages = {{"Source", "InProgress"}},
                   .actions = {action("a1", "Source", "App", "InProgress", 100.0, 100.0)}};
  EXPECT_EQ(t.update(s1), (std::vector<std::string>{
                              "Execution e1 of pipeline app: InProgress",
                              "  Source                  InProgress",
                              "    Source.App            InProgress",
                          }));
  EXPECT_TRUE(t.update(s1).empty());
  EXPECT_FALSE(t.finished());
  WatchSnapshot s2{.status = "Failed",
                   .status_summary = "source failed",
                   .stages = {{"Source", "Failed"}},
                   .actions = {action("a1", "Source", "App", "Failed", 100.0, 101.5,
                                      "ConfigurationError: no provider")}};
  EXPECT_EQ(t.update(s2), (std::vector<std::string>{
                              "    Source.App            Failed after 1.5 s: ConfigurationError: "
                              "no provider",
                              "  Source                  Failed after 1.5 s",
                              "Execution e1 Failed after 1.5 s: source failed",
                          }));
  EXPECT_TRUE(t.finished());
  EXPECT_FALSE(t.succeeded());
  EXPECT_TRUE(t.update(s2).empty());
}

TEST(WatchTracker, ANameLongerThanItsColumnStillHasASpaceAfterIt) {
  WatchTracker t("e1", "app");
  WatchSnapshot s{.status = "InProgress",
                  .status_summary = "",
                  .stages = {{"Approve", "InProgress"}},
                  .actions = {action("a1", "Approve", "ManualApproval", "InProgress", 1.0, 1.0)}};
  auto lines = t.update(s);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], "    Approve.ManualApproval InProgress");
}

TEST(WatchTracker, SucceedsOnlyWhenTheExecutionSucceeded) {
  WatchTracker t("e1", "app");
  t.update(WatchSnapshot{.status = "Succeeded", .status_summary = "", .stages = {}, .actions = {}});
  EXPECT_TRUE(t.finished());
  EXPECT_TRUE(t.succeeded());
  for (const char* s : {"Stopped", "Superseded", "Cancelled", "Failed"}) {
    WatchTracker other("e1", "app");
    other.update(WatchSnapshot{.status = s, .status_summary = "", .stages = {}, .actions = {}});
    EXPECT_TRUE(other.finished()) << s;
    EXPECT_FALSE(other.succeeded()) << s;
  }
  WatchTracker stopping("e1", "app");
  stopping.update(
      WatchSnapshot{.status = "Stopping", .status_summary = "", .stages = {}, .actions = {}});
  EXPECT_FALSE(stopping.finished());
}

TEST(WatchTracker, TellsARetriedActionFromItsFirstAttempt) {
  WatchTracker t("e1", "app");
  WatchSnapshot s{.status = "InProgress",
                  .status_summary = "",
                  .stages = {},
                  .actions = {action("a1", "Build", "Make", "Failed", 1, 2, "JobFailed: boom"),
                              action("a2", "Build", "Make", "InProgress", 3, 3)}};
  auto lines = t.update(s);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "    Build.Make            Failed after 1.0 s: JobFailed: boom");
  EXPECT_EQ(lines[2], "    Build.Make            InProgress");
}

TEST(WatchSnapshot, ReadsOnlyTheWatchedExecutionFromTheApiOutputs) {
  json::object execution =
      json::parse(R"({"pipelineExecution":{"pipelineExecutionId":"e1","status":"InProgress"}})")
          .as_object();
  json::object state = json::parse(R"({"stageStates":[
      {"stageName":"Source","latestExecution":{"pipelineExecutionId":"e1","status":"Succeeded"}},
      {"stageName":"Build","latestExecution":{"pipelineExecutionId":"e0","status":"Failed"}},
      {"stageName":"Deploy"}]})")
                           .as_object();
  json::array details = json::parse(R"([
      {"pipelineExecutionId":"e1","actionExecutionId":"x2","stageName":"Build","actionName":"B",
       "startTime":1700000002.5,"lastUpdateTime":1700000003,"status":"Failed",
       "output":{"executionResult":{"errorDetails":{"code":"JobFailed","message":"exit 1"}}}},
      {"pipelineExecutionId":"e1","actionExecutionId":"x1","stageName":"Source","actionName":"S",
       "startTime":1700000000,"lastUpdateTime":1700000001,"status":"Succeeded",
       "output":{"executionResult":{"externalExecutionSummary":"fetched"}}},
      {"pipelineExecutionId":"e0","actionExecutionId":"x0","stageName":"Source","actionName":"S",
       "startTime":1,"lastUpdateTime":2,"status":"Failed"}])")
                            .as_array();
  WatchSnapshot s = read_snapshot("e1", execution, state, details);
  EXPECT_EQ(s.status, "InProgress");
  ASSERT_EQ(s.stages.size(), 1u);
  EXPECT_EQ(s.stages[0].first, "Source");
  ASSERT_EQ(s.actions.size(), 2u);
  EXPECT_EQ(s.actions[0].action_execution_id, "x1");
  EXPECT_EQ(s.actions[0].summary, "fetched");
  EXPECT_EQ(s.actions[1].error, "JobFailed: exit 1");
  EXPECT_DOUBLE_EQ(s.actions[1].start_time, 1700000002.5);
}

TEST(WatchEvents, RefreshesOnlyForEventsThatMayConcernTheExecution) {
  EXPECT_TRUE(event_concerns_execution(
      R"({"detail-type":"CodePipeline Stage Execution State Change",)"
      R"("detail":{"pipeline":"app","execution-id":"e1","stage":"Build","state":"STARTED"}})",
      "e1"));
  EXPECT_FALSE(event_concerns_execution(
      R"({"detail":{"pipeline":"app","execution-id":"e2","state":"STARTED"}})", "e1"));
  // What cannot be read may be ours.
  EXPECT_TRUE(event_concerns_execution("not json", "e1"));
  EXPECT_TRUE(event_concerns_execution(R"({"detail":{"pipeline":"app"}})", "e1"));
}

// --- run_watch against a real (scripted) listener ------------------------------

using api::client::testing::ScriptedServer;

std::string json_reply(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string chunk(const std::string& payload) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx", payload.size());
  return std::string(size) + "\r\n" + payload + "\r\n";
}

// The three answers of one snapshot: the execution, the state, the actions.
std::vector<ScriptedServer::Answer> snapshot_answers(const std::string& status) {
  const std::string action_status = status == "InProgress" ? "InProgress" : status;
  return {
      ScriptedServer::reply(json_reply(R"({"pipelineExecution":{"pipelineExecutionId":"e1",)"
                                       R"("status":")" +
                                       status + R"("}})")),
      ScriptedServer::reply(json_reply(
          R"({"stageStates":[{"stageName":"Build","latestExecution":{"pipelineExecutionId":"e1",)"
          R"("status":")" +
          action_status + R"("}}]})")),
      ScriptedServer::reply(json_reply(
          R"({"actionExecutionDetails":[{"pipelineExecutionId":"e1","actionExecutionId":"a1",)"
          R"("stageName":"Build","actionName":"Make","startTime":100,"lastUpdateTime":102,)"
          R"("status":")" +
          action_status + R"("}]})")),
  };
}

// A data directory with a credentials file, removed at the end.
class WatchRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("watch_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "credentials")
        << "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
           "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int watch(const ScriptedServer& server, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "e1",         "--pipeline-name", "app",        "--endpoint-url",
        server.url(), "--data-dir",      dir_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_watch(args,
                     ClientEnvironment{.default_data_dir = dir_, .shared_credentials_file = {}},
                     out_, err_);
  }

  std::filesystem::path dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(WatchRunTest, SubscribesThenReadsASnapshotThenRefreshesOnAnEventAboutTheExecution) {
  std::vector<ScriptedServer::Answer> answers;
  answers.push_back(ScriptedServer::reply_and_hold(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
      chunk(": heartbeat\n\n") +
      chunk("id: 7\nevent: CodePipeline Pipeline Execution State Change\n"
            "data: {\"detail\":{\"pipeline\":\"app\",\"execution-id\":\"e0\"}}\n\n"
            "id: 8\nevent: CodePipeline Pipeline Execution State Change\n"
            "data: {\"detail\":{\"pipeline\":\"app\",\"execution-id\":\"e1\"}}\n\n")));
  for (auto& a : snapshot_answers("InProgress")) answers.push_back(std::move(a));
  for (auto& a : snapshot_answers("Succeeded")) answers.push_back(std::move(a));
  ScriptedServer server(std::move(answers));
  EXPECT_EQ(watch(server), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "Execution e1 of pipeline app: InProgress\n"
            "  Build                   InProgress\n"
            "    Build.Make            InProgress\n"
            "    Build.Make            Succeeded after 2.0 s\n"
            "  Build                   Succeeded after 2.0 s\n"
            "Execution e1 Succeeded after 2.0 s\n");
  EXPECT_EQ(err_.str(), "");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 7u);
  EXPECT_EQ(requests[0].substr(0, requests[0].find("\r\n")), "GET /events?pipeline=app HTTP/1.1");
  EXPECT_NE(requests[1].find("GetPipelineExecution"), std::string::npos);
}

TEST_F(WatchRunTest, PollsWithANoteWhenTheServerHasNoEventStream) {
  const std::string body = R"({"__type":"UnknownOperationException","message":"no route"})";
  std::vector<ScriptedServer::Answer> answers;
  answers.push_back(ScriptedServer::reply(
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body));
  for (auto& a : snapshot_answers("InProgress")) answers.push_back(std::move(a));
  for (auto& a : snapshot_answers("Failed")) answers.push_back(std::move(a));
  ScriptedServer server(std::move(answers));
  EXPECT_EQ(watch(server, {"--interval-ms", "10"}), 1);
  EXPECT_NE(err_.str().find("the server offers no event stream ("), std::string::npos)
      << err_.str();
  EXPECT_NE(err_.str().find("HTTP 404: UnknownOperationException: no route); polling every 10 ms"),
            std::string::npos)
      << err_.str();
  EXPECT_NE(out_.str().find("Execution e1 Failed after 2.0 s"), std::string::npos) << out_.str();
}

TEST(WatchFormat, DurationsReadNaturally) {
  EXPECT_EQ(format_duration(0.04), "0.0 s");
  EXPECT_EQ(format_duration(12.34), "12.3 s");
  EXPECT_EQ(format_duration(125), "2 min 5 s");
  EXPECT_EQ(format_duration(3725), "1 h 2 min");
  EXPECT_EQ(format_duration(-3), "0.0 s");
}

}  // namespace
}  // namespace stageline::cli
