#include "api/codepipeline/codepipeline_api.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>

#include "api/wire/embedded.h"
#include "store/sqlite_store.h"

namespace stageline::api {
namespace {

namespace json = boost::json;

class RecordingRunner : public engine::ActionRunner {
 public:
  void start(const engine::ActionStart& s) override { started.push_back(s); }
  std::vector<engine::ActionStart> started;
};

constexpr std::string_view kPipeline = R"({"pipeline": {
  "name": "app", "roleArn": "arn:aws:iam::123456789012:role/R",
  "artifactStore": {"type": "S3", "location": "bucket"},
  "stages": [
    {"name": "Source", "actions": [{"name": "Src",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
      "configuration": {"S3Bucket": "b", "S3ObjectKey": "k.zip"},
      "outputArtifacts": [{"name": "Code"}]}]},
    {"name": "Build", "actions": [{"name": "Make",
      "actionTypeId": {"category": "Build", "owner": "Custom", "provider": "MyBuild", "version": "1"},
      "configuration": {"Project": "p"},
      "inputArtifacts": [{"name": "Code"}], "outputArtifacts": [{"name": "Bin"}]}]}]},
  "tags": [{"key": "team", "value": "platform"}]})";

class CodePipelineApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    engine_ = std::make_unique<engine::Engine>(
        *store_, runner_,
        engine::Engine::Options{[this] { return clock_ += 1000; },
                                [this] {
                                  char buf[40];
                                  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d",
                                                ++ids_);
                                  return std::string(buf);
                                },
                                {}});
    api_ = std::make_unique<CodePipelineApi>(
        *engine_, *store_,
        ApiOptions{"us-east-1", "111122223333", [this] { return clock_; },
                   "0123456789abcdef0123456789abcdef"});
  }

  // Dispatches `body` through the real wire layer, calls the API and checks
  // a successful output against the operation's output shape.
  wire::Outcome<json::value> run(const std::string& op, std::string_view body) {
    wire::Dispatcher dispatcher(wire::codepipeline_model());
    std::string target = "CodePipeline_20150709." + op;
    auto call = dispatcher.dispatch({target, "application/x-amz-json-1.1", body});
    if (!call.ok()) return call.error();
    auto out = api_->call(*call, caller_);
    if (out.ok()) {
      auto checked = wire::encode_output(*call->operation, *out, wire::OutputCheck::kAlways);
      EXPECT_TRUE(checked.ok()) << op << ": " << checked.status().message() << "\n"
                                << json::serialize(*out);
    }
    return out;
  }
  json::value ok(const std::string& op, std::string_view body) {
    auto out = run(op, body);
    EXPECT_TRUE(out.ok()) << op << ": " << out.error().type << ": " << out.error().message;
    return out.ok() ? *out : json::value();
  }
  std::string fails(const std::string& op, std::string_view body) {
    auto out = run(op, body);
    EXPECT_FALSE(out.ok()) << op << " succeeded: " << json::serialize(*out);
    return out.ok() ? "" : out.error().type;
  }

  void create_app() {
    ASSERT_TRUE(ok("CreateCustomActionType", R"({"category": "Build", "provider": "MyBuild",
        "version": "1", "configurationProperties": [{"name": "Project", "required": true,
        "key": true, "secret": false, "queryable": true}],
        "inputArtifactDetails": {"minimumCount": 1, "maximumCount": 1},
        "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 1}})")
                    .is_object());
    ASSERT_TRUE(ok("CreatePipeline", kPipeline).is_object());
  }

  // Plays the runner: the source action of the newest start succeeds with
  // artifact Code.
  void finish_source() {
    ASSERT_FALSE(runner_.started.empty());
    const auto& s = runner_.started.back();
    engine::ActionOutcome done;
    done.succeeded = true;
    model::ArtifactRecord a;
    a.execution_id = s.execution_id;
    a.name = "Code";
    a.location = {"bucket", "app/Code/abcdefg", "", ""};
    a.produced_by_stage = "Source";
    a.produced_by_action = "Src";
    done.artifacts = {a};
    done.revisions = {{"Src", "v-1", "the first", "", ""}};
    ASSERT_TRUE(engine_->action_finished(s.action_execution_id, done).ok());
  }

  std::unique_ptr<store::SqliteStore> store_;
  RecordingRunner runner_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<CodePipelineApi> api_;
  model::TimestampMs clock_ = 1'700'000'000'000;
  int ids_ = 0;
  Caller caller_{"arn:aws:iam::111122223333:user/alice", "AKIDEXAMPLE"};
};

TEST_F(CodePipelineApiTest, CreatePipelineStoresVersionOneWithTagsAndStartsAnExecution) {
  create_app();
  json::value got = ok("GetPipeline", R"({"name": "app"})");
  EXPECT_EQ(got.at("pipeline").at("version").as_int64(), 1);
  EXPECT_EQ(got.at("metadata").at("pipelineArn").as_string(),
            "arn:aws:codepipeline:us-east-1:111122223333:app");
  EXPECT_EQ(runner_.started.size(), 1u) << "AWS starts a new pipeline at once";
  json::value list = ok("ListPipelineExecutions", R"({"pipelineName": "app"})");
  auto& first = list.at("pipelineExecutionSummaries").as_array().at(0);
  EXPECT_EQ(first.at("trigger").at("triggerType").as_string(), "CreatePipeline");
  json::value tags = ok("ListTagsForResource",
                        R"({"resourceArn": "arn:aws:codepipeline:us-east-1:111122223333:app"})");
  EXPECT_EQ(tags.at("tags").as_array().size(), 1u);
}

TEST_F(CodePipelineApiTest, CreatePipelineRefusesATakenNameAndABadStructure) {
  create_app();
  EXPECT_EQ(fails("CreatePipeline", kPipeline), "PipelineNameInUseException");
  std::string one_stage = R"({"pipeline": {"name": "solo",
    "roleArn": "arn:aws:iam::123456789012:role/R",
    "artifactStore": {"type": "S3", "location": "bucket"},
    "stages": [{"name": "Source", "actions": [{"name": "Src",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
      "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"},
      "outputArtifacts": [{"name": "Code"}]}]}]}})";
  EXPECT_EQ(fails("CreatePipeline", one_stage), "InvalidStructureException");
  std::string unknown_type = std::string(kPipeline);
  unknown_type.replace(unknown_type.find("MyBuild"), 7, "Nope");
  unknown_type.replace(unknown_type.find("\"app\""), 5, "\"other\"");
  EXPECT_EQ(fails("CreatePipeline", unknown_type), "InvalidActionDeclarationException");
}

TEST_F(CodePipelineApiTest, UpdatePipelineIncrementsTheVersionAndOldVersionsStayReadable) {
  create_app();
  json::value got = ok("GetPipeline", R"({"name": "app"})");
  json::object pipeline = got.at("pipeline").as_object();
  pipeline["stages"].as_array()[1].as_object()["name"] = "Compile";
  json::value updated = ok("UpdatePipeline", json::serialize(json::object{{"pipeline", pipeline}}));
  EXPECT_EQ(updated.at("pipeline").at("version").as_int64(), 2);
  json::value v1 = ok("GetPipeline", R"({"name": "app", "version": 1})");
  EXPECT_EQ(v1.at("pipeline").at("stages").at(1).at("name").as_string(), "Build");
  EXPECT_EQ(fails("GetPipeline", R"({"name": "app", "version": 7})"),
            "PipelineVersionNotFoundException");
  EXPECT_EQ(fails("GetPipeline", R"({"name": "nope"})"), "PipelineNotFoundException");
}

TEST_F(CodePipelineApiTest, DeletePipelineIsIdempotentAndListPipelinesPages) {
  create_app();
  std::string second(kPipeline);
  second.replace(second.find("\"app\""), 5, "\"app2\"");
  ok("CreatePipeline", second);
  json::value page = ok("ListPipelines", R"({"maxResults": 1})");
  ASSERT_EQ(page.at("pipelines").as_array().size(), 1u);
  EXPECT_EQ(page.at("pipelines").at(0).at("name").as_string(), "app");
  std::string token(page.at("nextToken").as_string());
  json::value next = ok("ListPipelines", R"({"maxResults": 1, "nextToken": ")" + token + "\"}");
  EXPECT_EQ(next.at("pipelines").at(0).at("name").as_string(), "app2");
  EXPECT_EQ(fails("ListPipelines", R"({"nextToken": "forged.token"})"),
            "InvalidNextTokenException");
  ok("DeletePipeline", R"({"name": "app2"})");
  ok("DeletePipeline", R"({"name": "app2"})");
  EXPECT_EQ(ok("ListPipelines", "{}").at("pipelines").as_array().size(), 1u);
}

TEST_F(CodePipelineApiTest, AJobWorkerPollsAcknowledgesAndSucceedsAndItsOutputIsRecorded) {
  create_app();
  finish_source();
  EXPECT_EQ(fails("PollForJobs", R"({"actionTypeId": {"category": "Build", "owner": "AWS",
      "provider": "CodeBuild", "version": "1"}})"),
            "ActionTypeNotFoundException");
  json::value polled = ok("PollForJobs", R"({"actionTypeId": {"category": "Build",
      "owner": "Custom", "provider": "MyBuild", "version": "1"}, "maxBatchSize": 5})");
  auto& jobs = polled.at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 1u);
  const json::object& job = jobs[0].as_object();
  const json::object& data = job.at("data").as_object();
  EXPECT_EQ(data.at("inputArtifacts").at(0).at("location").at("s3Location").at("objectKey"),
            "app/Code/abcdefg");
  std::string out_key(
      data.at("outputArtifacts").at(0).at("location").at("s3Location").at("objectKey").as_string());
  EXPECT_EQ(out_key.rfind("app/Bin/", 0), 0u) << out_key;
  EXPECT_EQ(out_key.size(), std::string("app/Bin/").size() + 7);
  EXPECT_EQ(data.at("artifactCredentials").at("accessKeyId"), "AKIDEXAMPLE");
  std::string id(job.at("id").as_string());
  std::string nonce(job.at("nonce").as_string());

  EXPECT_EQ(fails("PutJobSuccessResult", R"({"jobId": ")" + id + "\"}"), "InvalidJobStateException")
      << "not acknowledged yet";
  EXPECT_EQ(fails("AcknowledgeJob", R"({"jobId": ")" + id + R"(", "nonce": "wrong"})"),
            "InvalidNonceException");
  EXPECT_EQ(
      fails("AcknowledgeJob", R"({"jobId": "00000000-0000-4000-8000-999999999999", "nonce": "x"})"),
      "JobNotFoundException");
  json::value ack =
      ok("AcknowledgeJob", R"({"jobId": ")" + id + R"(", "nonce": ")" + nonce + "\"}");
  EXPECT_EQ(ack.at("status"), "InProgress");
  json::value details = ok("GetJobDetails", R"({"jobId": ")" + id + "\"}");
  EXPECT_EQ(details.at("jobDetails")
                .at("data")
                .at("outputArtifacts")
                .at(0)
                .at("location")
                .at("s3Location")
                .at("objectKey"),
            out_key.c_str())
      << "the same key every time";
  ok("PutJobSuccessResult", R"({"jobId": ")" + id +
                                R"(", "executionDetails": {"summary": "built",
      "externalExecutionId": "b-1"}, "outputVariables": {"Out": "1"}})");

  auto execs = store_->list_pipeline_executions("app", 10, "");
  ASSERT_TRUE(execs.ok());
  const auto& exec = execs->items.at(0);
  EXPECT_EQ(exec.status, model::PipelineExecutionStatus::kSucceeded);
  auto bin = store_->get_artifact(exec.id, "Bin");
  ASSERT_TRUE(bin.ok()) << bin.status().message();
  EXPECT_EQ(bin->location.key, out_key);

  json::value actions =
      ok("ListActionExecutions",
         R"({"pipelineName": "app", "filter": {"pipelineExecutionId": ")" + exec.id + "\"}}");
  auto& detail = actions.at("actionExecutionDetails").at(0);  // newest first
  EXPECT_EQ(detail.at("actionName"), "Make");
  EXPECT_EQ(detail.at("output").at("outputVariables").at("Out"), "1");
  EXPECT_EQ(detail.at("output").at("outputArtifacts").at(0).at("s3location").at("key"),
            out_key.c_str());
  json::value got = ok("GetPipelineExecution", R"({"pipelineName": "app",
      "pipelineExecutionId": ")" + exec.id + "\"}");
  EXPECT_EQ(got.at("pipelineExecution").at("status"), "Succeeded");
  EXPECT_EQ(got.at("pipelineExecution").at("artifactRevisions").at(0).at("revisionId"), "v-1");
}

TEST_F(CodePipelineApiTest, AFailedJobFailsTheActionAndTheStageCanBeRetried) {
  create_app();
  finish_source();
  json::value polled = ok("PollForJobs", R"({"actionTypeId": {"category": "Build",
      "owner": "Custom", "provider": "MyBuild", "version": "1"}})");
  std::string id(polled.at("jobs").at(0).at("id").as_string());
  std::string nonce(polled.at("jobs").at(0).at("nonce").as_string());
  ok("AcknowledgeJob", R"({"jobId": ")" + id + R"(", "nonce": ")" + nonce + "\"}");
  ok("PutJobFailureResult",
     R"({"jobId": ")" + id + R"(", "failureDetails": {"type": "JobFailed", "message": "boom"}})");
  json::value state = ok("GetPipelineState", R"({"name": "app"})");
  auto& build = state.at("stageStates").at(1);
  EXPECT_EQ(build.at("latestExecution").at("status"), "Failed");
  auto& make = build.at("actionStates").at(0).at("latestExecution");
  EXPECT_EQ(make.at("errorDetails").at("code"), "JobFailed");
  EXPECT_EQ(make.at("errorDetails").at("message"), "boom");
  std::string exec(build.at("latestExecution").at("pipelineExecutionId").as_string());
  json::value retried = ok("RetryStageExecution", R"({"pipelineName": "app", "stageName": "Build",
      "pipelineExecutionId": ")" + exec + R"(", "retryMode": "FAILED_ACTIONS"})");
  EXPECT_EQ(retried.at("pipelineExecutionId"), exec.c_str());
  EXPECT_EQ(fails("RetryStageExecution", R"({"pipelineName": "app", "stageName": "Nope",
      "pipelineExecutionId": ")" + exec + R"(", "retryMode": "FAILED_ACTIONS"})"),
            "StageNotFoundException");
}

TEST_F(CodePipelineApiTest, TransitionsStopAndTheStateShowTheWaitingExecution) {
  create_app();
  EXPECT_EQ(fails("DisableStageTransition", R"({"pipelineName": "app", "stageName": "Nope",
      "transitionType": "Inbound", "reason": "freeze"})"),
            "StageNotFoundException");
  ok("DisableStageTransition", R"({"pipelineName": "app", "stageName": "Build",
      "transitionType": "Inbound", "reason": "code freeze"})");
  finish_source();
  json::value state = ok("GetPipelineState", R"({"name": "app"})");
  auto& build = state.at("stageStates").at(1).as_object();
  EXPECT_EQ(build.at("inboundTransitionState").at("enabled"), false);
  EXPECT_EQ(build.at("inboundTransitionState").at("disabledReason"), "code freeze");
  EXPECT_EQ(build.at("inboundTransitionState").at("lastChangedBy"), caller_.principal.c_str());
  ASSERT_TRUE(build.contains("inboundExecution")) << json::serialize(build);
  std::string waiting(build.at("inboundExecution").at("pipelineExecutionId").as_string());

  json::value stopped = ok("StopPipelineExecution", R"({"pipelineName": "app",
      "pipelineExecutionId": ")" + waiting + R"(", "abandon": true, "reason": "not today"})");
  EXPECT_EQ(stopped.at("pipelineExecutionId"), waiting.c_str());
  EXPECT_EQ(fails("StopPipelineExecution", R"({"pipelineName": "app",
      "pipelineExecutionId": ")" + waiting + "\"}"),
            "PipelineExecutionNotStoppableException");
  json::value list = ok("ListPipelineExecutions", R"({"pipelineName": "app"})");
  auto& summary = list.at("pipelineExecutionSummaries").at(0);
  EXPECT_EQ(summary.at("status"), "Stopped");
  EXPECT_EQ(summary.at("stopTrigger").at("reason"), "not today");
  ok("EnableStageTransition", R"({"pipelineName": "app", "stageName": "Build",
      "transitionType": "Inbound"})");
  EXPECT_EQ(fails("GetPipelineExecution", R"({"pipelineName": "app",
      "pipelineExecutionId": "00000000-0000-4000-8000-999999999999"})"),
            "PipelineExecutionNotFoundException");
}

TEST_F(CodePipelineApiTest, StartPipelineExecutionIsIdempotentWithAClientRequestToken) {
  create_app();
  json::value a = ok("StartPipelineExecution", R"({"name": "app", "clientRequestToken": "t-1"})");
  json::value b = ok("StartPipelineExecution", R"({"name": "app", "clientRequestToken": "t-1"})");
  EXPECT_EQ(a.at("pipelineExecutionId"), b.at("pipelineExecutionId"));
  EXPECT_EQ(fails("StartPipelineExecution", R"({"name": "nope"})"), "PipelineNotFoundException");
  json::value list = ok("ListPipelineExecutions", R"({"pipelineName": "app", "maxResults": 1})");
  EXPECT_TRUE(list.as_object().contains("nextToken"));
  auto& s = list.at("pipelineExecutionSummaries").at(0);
  EXPECT_EQ(s.at("trigger").at("triggerType"), "StartPipelineExecution");
  EXPECT_EQ(s.at("trigger").at("triggerDetail"), caller_.principal.c_str());
}

TEST_F(CodePipelineApiTest, TagsAreAddedReplacedAndRemovedAndBadArnsAreRefused) {
  create_app();
  const std::string arn = "arn:aws:codepipeline:us-east-1:111122223333:app";
  ok("TagResource",
     R"({"resourceArn": ")" + arn +
         R"(", "tags": [{"key": "team", "value": "web"}, {"key": "env", "value": "dev"}]})");
  json::value tags = ok("ListTagsForResource", R"({"resourceArn": ")" + arn + "\"}");
  ASSERT_EQ(tags.at("tags").as_array().size(), 2u);
  EXPECT_EQ(tags.at("tags").at(0).at("value"), "web");
  ok("UntagResource", R"({"resourceArn": ")" + arn + R"(", "tagKeys": ["team"]})");
  EXPECT_EQ(
      ok("ListTagsForResource", R"({"resourceArn": ")" + arn + "\"}").at("tags").as_array().size(),
      1u);
  EXPECT_EQ(
      fails("TagResource", R"({"resourceArn": "arn:aws:codepipeline:us-east-1:111122223333:nope",
      "tags": [{"key": "a", "value": "b"}]})"),
      "ResourceNotFoundException");
  EXPECT_EQ(fails("ListTagsForResource",
                  R"({"resourceArn": "arn:aws-cn:codepipeline:x:111122223333:app"})"),
            "InvalidArnException")
      << "another partition's ARN is no ARN of this server";
  EXPECT_EQ(fails("ListTagsForResource",
                  R"({"resourceArn": "arn:aws:codepipeline:eu-west-1:111122223333:app"})"),
            "ResourceNotFoundException");
}

TEST_F(CodePipelineApiTest, ActionAndRuleTypesAreListedAndUnavailableOperationsSayWhy) {
  create_app();
  json::value types = ok("ListActionTypes", R"({"actionOwnerFilter": "Custom"})");
  ASSERT_EQ(types.at("actionTypes").as_array().size(), 1u);
  EXPECT_EQ(types.at("actionTypes").at(0).at("id").at("provider"), "MyBuild");
  EXPECT_GT(ok("ListActionTypes", "{}").at("actionTypes").as_array().size(), 10u);
  ok("ListRuleTypes", "{}");
  EXPECT_EQ(ok("ListWebhooks", "{}").at("webhooks").as_array().size(), 0u);
  auto approval = run("PutApprovalResult", R"({"pipelineName": "app", "stageName": "Build",
      "actionName": "Make", "result": {"summary": "ok", "status": "Approved"},
      "token": "00000000-0000-4000-8000-000000000001"})");
  ASSERT_FALSE(approval.ok());
  EXPECT_EQ(approval.error().type, "ValidationException");
  EXPECT_NE(approval.error().message.find("issue #7"), std::string::npos);
  ok("DeleteCustomActionType", R"({"category": "Build", "provider": "MyBuild", "version": "1"})");
  EXPECT_EQ(fails("PollForJobs", R"({"actionTypeId": {"category": "Build", "owner": "Custom",
      "provider": "MyBuild", "version": "1"}})"),
            "ActionTypeNotFoundException");
}

TEST_F(CodePipelineApiTest, TheSeedExampleIsCreatedStartedAndShownInItsState) {
  std::ifstream file(std::string(STAGELINE_SOURCE_DIR) + "/examples/seed-pipeline.json");
  ASSERT_TRUE(file) << "examples/seed-pipeline.json";
  std::stringstream text;
  text << file.rdbuf();
  json::value created = ok("CreatePipeline", text.str());
  ASSERT_TRUE(created.is_object());
  EXPECT_EQ(created.at("pipeline").at("version").as_int64(), 1);
  EXPECT_EQ(created.at("tags").at(0).at("key"), "team");
  json::value started = ok("StartPipelineExecution", R"({"name": "my-app-pipeline"})");
  std::string id(started.at("pipelineExecutionId").as_string());
  json::value state = ok("GetPipelineState", R"({"name": "my-app-pipeline"})");
  EXPECT_EQ(state.at("pipelineVersion").as_int64(), 1);
  auto& stages = state.at("stageStates").as_array();
  ASSERT_EQ(stages.size(), 3u);
  auto& source = stages[0].as_object();
  // CreatePipeline's own execution holds the Source stage; the one started
  // after it waits at the entry (SUPERSEDED).
  EXPECT_NE(source.at("latestExecution").at("pipelineExecutionId"), id.c_str());
  EXPECT_EQ(source.at("inboundExecution").at("pipelineExecutionId"), id.c_str());
  EXPECT_EQ(source.at("latestExecution").at("status"), "InProgress");
  EXPECT_EQ(source.at("actionStates").at(0).at("actionName"), "GitHubSource");
  EXPECT_EQ(source.at("actionStates").at(0).at("latestExecution").at("status"), "InProgress");
  EXPECT_EQ(stages[2].at("actionStates").as_array().size(), 2u);
  EXPECT_FALSE(stages[1].as_object().contains("latestExecution"));
}

}  // namespace
}  // namespace stageline::api
