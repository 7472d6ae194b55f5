#include "api/codepipeline/codepipeline_api.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <fstream>
#include <set>
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
  void SetUp() override { open(":memory:"); }

  // Opens the store at `path` and builds the engine and the API on it, as
  // the server does on start; whatever was open before is closed first.
  void open(const std::string& path) {
    api_.reset();
    engine_.reset();
    store_.reset();
    auto opened = store::SqliteStore::open(path, {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    engine::Engine::Options engine_options;
    engine_options.now_ms = [this] { return clock_ += 1000; };
    engine_options.new_id = [this] {
      char buf[40];
      std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", ++ids_);
      return std::string(buf);
    };
    engine_options.wait_for_approvals = true;  // as the server runs it
    engine_ = std::make_unique<engine::Engine>(*store_, runner_, engine_options);
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
        "key": true, "secret": false}],
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

TEST_F(CodePipelineApiTest, ActionAndRuleTypesAreListed) {
  create_app();
  json::value types = ok("ListActionTypes", R"({"actionOwnerFilter": "Custom"})");
  ASSERT_EQ(types.at("actionTypes").as_array().size(), 1u);
  EXPECT_EQ(types.at("actionTypes").at(0).at("id").at("provider"), "MyBuild");
  EXPECT_GT(ok("ListActionTypes", "{}").at("actionTypes").as_array().size(), 10u);
  ok("ListRuleTypes", "{}");
  EXPECT_EQ(ok("ListWebhooks", "{}").at("webhooks").as_array().size(), 0u);
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

// ---- Custom action types, GetActionType ------------------------------------------

// CreateCustomActionType's body for Build/<provider>/<version>.
std::string custom_type(const std::string& provider, const std::string& version = "1",
                        const std::string& properties = "[]", const std::string& extra = "") {
  return R"({"category": "Build", "provider": ")" + provider + R"(", "version": ")" + version +
         R"(", "configurationProperties": )" + properties +
         R"(, "inputArtifactDetails": {"minimumCount": 0, "maximumCount": 1},
         "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 1})" +
         extra + "}";
}

// A pipeline "q" whose Build stage runs one Build/<provider>/1 action per
// configuration given (actions B0, B1, ... in parallel).
std::string custom_pipeline(const std::string& provider, const std::vector<std::string>& configs) {
  std::string actions;
  for (size_t i = 0; i < configs.size(); ++i) {
    if (i) actions += ", ";
    actions += R"({"name": "B)" + std::to_string(i) +
               R"(", "actionTypeId": {"category": "Build", "owner": "Custom", "provider": ")" +
               provider + R"(", "version": "1"}, "configuration": )" + configs[i] +
               R"(, "inputArtifacts": [{"name": "Code"}]})";
  }
  return R"({"pipeline": {"name": "q", "roleArn": "arn:aws:iam::123456789012:role/R",
    "artifactStore": {"type": "S3", "location": "bucket"},
    "stages": [
      {"name": "Source", "actions": [{"name": "Src",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"S3Bucket": "b", "S3ObjectKey": "k.zip"},
        "outputArtifacts": [{"name": "Code"}]}]},
      {"name": "Build", "actions": [)" +
         actions + "]}]}}";
}

std::string poll(const std::string& provider, const std::string& query = "") {
  return R"({"actionTypeId": {"category": "Build", "owner": "Custom", "provider": ")" + provider +
         R"(", "version": "1"}, "maxBatchSize": 10)" +
         (query.empty() ? "" : R"(, "queryParam": )" + query) + "}";
}

TEST_F(CodePipelineApiTest, CustomActionTypesAndTheirDeletionSurviveAStoreReopen) {
  const std::string path =
      ::testing::TempDir() + "codepipeline_api_test_" + std::to_string(::getpid()) + "_reopen.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  open(path);
  ok("CreateCustomActionType",
     custom_type("Kept", "1", R"([{"name": "Project", "required": true, "key": true,
         "secret": false}])",
                 R"(, "tags": [{"key": "team", "value": "ci"}])"));
  ok("CreateCustomActionType", custom_type("Dropped"));
  ok("DeleteCustomActionType", R"({"category": "Build", "provider": "Dropped", "version": "1"})");

  open(path);  // a restart
  json::value types = ok("ListActionTypes", R"({"actionOwnerFilter": "Custom"})");
  ASSERT_EQ(types.at("actionTypes").as_array().size(), 1u) << json::serialize(types);
  const json::value& kept = types.at("actionTypes").at(0);
  EXPECT_EQ(kept.at("id").at("provider"), "Kept");
  EXPECT_EQ(kept.at("id").at("owner"), "Custom");
  EXPECT_EQ(kept.at("actionConfigurationProperties").at(0).at("name"), "Project");
  EXPECT_EQ(kept.at("inputArtifactDetails").at("maximumCount"), 1);
  // Pipelines may use the kept type after the restart; workers poll for it.
  ok("CreatePipeline", custom_pipeline("Kept", {R"({"Project": "p"})"}));
  finish_source();
  EXPECT_EQ(ok("PollForJobs", poll("Kept")).at("jobs").as_array().size(), 1u);
  EXPECT_EQ(fails("PollForJobs", poll("Dropped")), "ActionTypeNotFoundException");
  EXPECT_EQ(fails("CreateCustomActionType", custom_type("Kept")), "ValidationException")
      << "it still exists";
  api_.reset();
  engine_.reset();
  store_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

TEST_F(CodePipelineApiTest, FiftyLiveCustomActionTypesAreTheLimitAndDeletedOnesDoNotCount) {
  for (int i = 0; i < 50; ++i) ok("CreateCustomActionType", custom_type("T" + std::to_string(i)));
  auto over = run("CreateCustomActionType", custom_type("T50"));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().type, "LimitExceededException");
  EXPECT_NE(over.error().message.find("(50)"), std::string::npos) << over.error().message;
  ok("DeleteCustomActionType", R"({"category": "Build", "provider": "T7", "version": "1"})");
  ok("CreateCustomActionType", custom_type("T50"));
  EXPECT_EQ(fails("CreateCustomActionType", custom_type("T51")), "LimitExceededException");
}

TEST_F(CodePipelineApiTest, CreateCustomActionTypeRefusesWhatTheReferenceForbids) {
  auto message = [&](const std::string& body) {
    auto out = run("CreateCustomActionType", body);
    EXPECT_FALSE(out.ok()) << body;
    if (out.ok()) return std::string();
    EXPECT_EQ(out.error().type, "ValidationException") << out.error().message;
    return out.error().message;
  };
  auto has = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };
  EXPECT_TRUE(has(message(custom_type("Q", "1", R"([
      {"name": "A", "required": true, "key": true, "secret": false, "queryable": true},
      {"name": "B", "required": true, "key": true, "secret": false, "queryable": true}])")),
                  "at most one configuration property may be queryable"));
  EXPECT_TRUE(has(message(custom_type("Q", "1", R"([
      {"name": "A", "required": false, "key": true, "secret": false, "queryable": true}])")),
                  "'A' must be required and not secret"));
  EXPECT_TRUE(has(message(custom_type("Q", "1", R"([
      {"name": "A", "required": true, "key": true, "secret": true, "queryable": true}])")),
                  "'A' must be required and not secret"));
  EXPECT_TRUE(has(message(custom_type("Q", "1", R"([
      {"name": "A", "required": true, "key": true, "secret": false},
      {"name": "A", "required": false, "key": false, "secret": false}])")),
                  "names 'A' more than once"));
  EXPECT_TRUE(has(message(R"({"category": "Build", "provider": "Q", "version": "1",
          "inputArtifactDetails": {"minimumCount": 2, "maximumCount": 1},
          "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 0}})"),
                  "inputArtifactDetails.minimumCount must not be greater than maximumCount"));
  const std::string secret_in_url = message(custom_type(
      "Q", "1", R"([{"name": "Token", "required": true, "key": false, "secret": true}])",
      R"(, "settings": {"entityUrlTemplate": "https://ci/{Config:Token}/{Config:Nope}"})"));
  EXPECT_TRUE(has(secret_in_url, "2 validation errors")) << secret_in_url;
  EXPECT_TRUE(has(secret_in_url, "{Config:Token}, which is not a required, non-secret"));
  EXPECT_TRUE(has(secret_in_url, "{Config:Nope}"));
  EXPECT_EQ(fails("CreateCustomActionType",
                  custom_type("Q", "1", "[]", R"(, "tags": [{"key": "aws:x", "value": "y"}])")),
            "InvalidTagsException");
  EXPECT_TRUE(ok("ListActionTypes", R"({"actionOwnerFilter": "Custom"})")
                  .at("actionTypes")
                  .as_array()
                  .empty())
      << "nothing refused was stored";

  // A valid one: the owner is always Custom, and the URL may show a
  // required, non-secret property.
  json::value created =
      ok("CreateCustomActionType",
         custom_type("Q", "1", R"([{"name": "Job", "required": true, "key": true, "secret": false,
          "queryable": true, "description": "the job", "type": "String"}])",
                     R"(, "settings": {"entityUrlTemplate": "https://ci/{Config:Job}"},
                  "tags": [{"key": "team", "value": "ci"}])"));
  EXPECT_EQ(created.at("actionType").at("id").at("owner"), "Custom");
  EXPECT_EQ(created.at("actionType").at("settings").at("entityUrlTemplate"),
            "https://ci/{Config:Job}");
  EXPECT_EQ(created.at("tags").at(0).at("value"), "ci");
  EXPECT_EQ(fails("CreateCustomActionType", custom_type("Q")), "ValidationException")
      << "a live type with that version exists";
}

TEST_F(CodePipelineApiTest,
       ADeletedTypeIsNotPolledNotUsableAndOnlyItsIdenticalDefinitionRestoresIt) {
  const std::string props = R"([{"name": "Project", "required": true, "key": true,
      "secret": false}])";
  ok("CreateCustomActionType", custom_type("Gone", "1", props));
  ok("CreatePipeline", custom_pipeline("Gone", {R"({"Project": "p"})"}));
  finish_source();
  ok("DeleteCustomActionType", R"({"category": "Build", "provider": "Gone", "version": "1"})");
  EXPECT_EQ(fails("DeleteCustomActionType",
                  R"({"category": "Build", "provider": "Gone", "version": "1"})"),
            "ValidationException")
      << "already deleted";
  auto polled = run("PollForJobs", poll("Gone"));
  ASSERT_FALSE(polled.ok());
  EXPECT_EQ(polled.error().type, "ActionTypeNotFoundException");
  EXPECT_NE(polled.error().message.find("was deleted"), std::string::npos);
  EXPECT_TRUE(ok("ListActionTypes", R"({"actionOwnerFilter": "Custom"})")
                  .at("actionTypes")
                  .as_array()
                  .empty());
  std::string second = custom_pipeline("Gone", {R"({"Project": "p"})"});
  second.replace(second.find(R"("name": "q")"), 11, R"("name": "q2")");
  EXPECT_EQ(fails("CreatePipeline", second), "InvalidActionDeclarationException");

  // Its version string cannot carry another definition; the identical one
  // (members in any order) restores it, queued job included.
  EXPECT_EQ(fails("CreateCustomActionType", custom_type("Gone", "1", "[]")), "ValidationException");
  ok("CreateCustomActionType",
     R"({"version": "1", "provider": "Gone", "category": "Build",
         "outputArtifactDetails": {"maximumCount": 1, "minimumCount": 0},
         "inputArtifactDetails": {"minimumCount": 0, "maximumCount": 1},
         "configurationProperties": [{"secret": false, "key": true, "required": true,
                                      "name": "Project"}]})");
  EXPECT_EQ(ok("PollForJobs", poll("Gone")).at("jobs").as_array().size(), 1u);
}

TEST_F(CodePipelineApiTest, QueryParamClaimsOnlyTheJobsWithThatValueOfTheQueryableProperty) {
  ok("CreateCustomActionType",
     custom_type("Jenkins", "1", R"([{"name": "ProjectName", "required": true, "key": true,
         "secret": false, "queryable": true}])"));
  ok("CreateCustomActionType", custom_type("Plain"));
  ok("CreatePipeline",
     custom_pipeline("Jenkins", {R"({"ProjectName": "web"})", R"({"ProjectName": "api"})",
                                 R"({"ProjectName": "web"})"}));
  finish_source();

  EXPECT_EQ(fails("PollForJobs", poll("Jenkins")), "ValidationException")
      << "a type with a queryable property is polled for a value of it";
  EXPECT_EQ(fails("PollForJobs", poll("Jenkins", R"({"Other": "web"})")), "ValidationException");
  EXPECT_EQ(fails("PollForJobs", poll("Plain", R"({"ProjectName": "web"})")), "ValidationException")
      << "a type without one takes no queryParam";
  EXPECT_EQ(fails("PollForJobs", poll("Jenkins", R"({"ProjectName": "web", "X": "y"})")),
            "ValidationException")
      << "the model allows one entry";

  json::value api = ok("PollForJobs", poll("Jenkins", R"({"ProjectName": "api"})"));
  ASSERT_EQ(api.at("jobs").as_array().size(), 1u);
  EXPECT_EQ(api.at("jobs")
                .at(0)
                .at("data")
                .at("actionConfiguration")
                .at("configuration")
                .at("ProjectName"),
            "api");
  EXPECT_EQ(api.at("jobs").at(0).at("data").at("pipelineContext").at("action").at("name"), "B1");
  EXPECT_TRUE(
      ok("PollForJobs", poll("Jenkins", R"({"ProjectName": "api"})")).at("jobs").as_array().empty())
      << "the api job is claimed";
  EXPECT_TRUE(
      ok("PollForJobs", poll("Jenkins", R"({"ProjectName": "ap"})")).at("jobs").as_array().empty());
  json::value web = ok("PollForJobs", poll("Jenkins", R"({"ProjectName": "web"})"));
  ASSERT_EQ(web.at("jobs").as_array().size(), 2u) << "the web jobs were left queued";
  for (const auto& job : web.at("jobs").as_array())
    EXPECT_EQ(job.at("data").at("actionConfiguration").at("configuration").at("ProjectName"),
              "web");
}

TEST_F(CodePipelineApiTest, AQueryablePropertyValueAWorkerCannotPollForIsRefused) {
  ok("CreateCustomActionType",
     custom_type("Jenkins", "1", R"([{"name": "ProjectName", "required": true, "key": true,
         "secret": false, "queryable": true}])"));
  EXPECT_EQ(
      fails("CreatePipeline", custom_pipeline("Jenkins", {R"({"ProjectName": "has space"})"})),
      "InvalidActionDeclarationException");
  EXPECT_EQ(fails("CreatePipeline", custom_pipeline("Jenkins", {R"({"ProjectName":
                                                    "twenty-one-characters"})"})),
            "InvalidActionDeclarationException");
  ok("CreatePipeline", custom_pipeline("Jenkins", {R"({"ProjectName": "twenty_characters-ok"})"}));
}

TEST_F(CodePipelineApiTest, SecretPropertiesOfACustomTypeAreHiddenExceptFromTheJobWorker) {
  ok("CreateCustomActionType",
     custom_type("Vault", "1", R"([{"name": "Project", "required": true, "key": true,
         "secret": false}, {"name": "Token", "required": true, "key": false, "secret": true}])"));
  ok("CreatePipeline", custom_pipeline("Vault", {R"({"Project": "p", "Token": "hunter2"})"}));
  auto config = [&] {
    return ok("GetPipeline", R"({"name": "q"})")
        .at("pipeline")
        .at("stages")
        .at(1)
        .at("actions")
        .at(0)
        .at("configuration");
  };
  EXPECT_EQ(config().at("Token"), "****");
  EXPECT_EQ(config().at("Project"), "p");
  finish_source();
  json::value polled = ok("PollForJobs", poll("Vault"));
  const json::value& job = polled.at("jobs").at(0);
  EXPECT_EQ(job.at("data").at("actionConfiguration").at("configuration").at("Token"), "hunter2")
      << "the job worker needs the secret";
  std::string id(job.at("id").as_string());
  EXPECT_EQ(ok("GetJobDetails", R"({"jobId": ")" + id + "\"}")
                .at("jobDetails")
                .at("data")
                .at("actionConfiguration")
                .at("configuration")
                .at("Token"),
            "hunter2");
  json::value actions = ok("ListActionExecutions", R"({"pipelineName": "q"})");
  const json::value& input = actions.at("actionExecutionDetails").at(0).at("input");
  EXPECT_EQ(input.at("configuration").at("Token"), "****");
  EXPECT_EQ(input.at("resolvedConfiguration").at("Token"), "****");
  ok("DeleteCustomActionType", R"({"category": "Build", "provider": "Vault", "version": "1"})");
  EXPECT_EQ(config().at("Token"), "****") << "a deleted type's secrets stay hidden";
}

TEST_F(CodePipelineApiTest, ListActionTypesFiltersByOwnerAndRegionAndPages) {
  for (int i = 0; i < 30; ++i)
    ok("CreateCustomActionType", custom_type("P" + std::to_string(100 + i)));
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    std::string body = token.empty() ? std::string("{}") : R"({"nextToken": ")" + token + "\"}";
    json::value page = ok("ListActionTypes", body);
    ++pages;
    for (const auto& t : page.at("actionTypes").as_array())
      EXPECT_TRUE(seen.insert(json::serialize(t.at("id"))).second) << "listed twice";
    token = page.as_object().contains("nextToken") ? std::string(page.at("nextToken").as_string())
                                                   : std::string();
  } while (!token.empty() && pages < 10);
  EXPECT_GE(pages, 2);
  EXPECT_EQ(seen.size(), definitions::Catalogue::builtin().action_types().size() + 30);

  json::value custom = ok("ListActionTypes", R"({"actionOwnerFilter": "Custom"})");
  EXPECT_EQ(custom.at("actionTypes").as_array().size(), 30u);
  EXPECT_FALSE(custom.as_object().contains("nextToken"));
  json::value aws = ok("ListActionTypes", R"({"actionOwnerFilter": "AWS"})");
  for (const auto& t : aws.at("actionTypes").as_array()) EXPECT_EQ(t.at("id").at("owner"), "AWS");
  EXPECT_TRUE(ok("ListActionTypes", R"({"regionFilter": "eu-west-1"})")
                  .at("actionTypes")
                  .as_array()
                  .empty());
  EXPECT_EQ(ok("ListActionTypes", R"({"regionFilter": "us-east-1", "actionOwnerFilter": "Custom"})")
                .at("actionTypes")
                .as_array()
                .size(),
            30u);
  std::string first_token(ok("ListActionTypes", "{}").at("nextToken").as_string());
  EXPECT_EQ(fails("ListActionTypes",
                  R"({"actionOwnerFilter": "Custom", "nextToken": ")" + first_token + "\"}"),
            "InvalidNextTokenException")
      << "a token is bound to its filters";
}

TEST_F(CodePipelineApiTest, GetActionTypeDescribesBuiltInTypesAndUpdateActionTypeSaysWhyNot) {
  json::value build = ok("GetActionType", R"({"category": "Build", "owner": "AWS",
      "provider": "CodeBuild", "version": "1"})");
  const json::value& t = build.at("actionType");
  EXPECT_EQ(t.at("id").at("provider"), "CodeBuild");
  EXPECT_EQ(t.at("executor").at("type"), "JobWorker");
  EXPECT_EQ(t.at("inputArtifactDetails").at("minimumCount"), 1);
  bool project = false;
  for (const auto& p : t.at("properties").as_array())
    if (p.at("name") == "ProjectName") {
      project = true;
      EXPECT_EQ(p.at("optional"), false);
    }
  EXPECT_TRUE(project) << json::serialize(t);
  ok("GetActionType", R"({"category": "Source", "owner": "ThirdParty", "provider": "GitHub",
      "version": "1"})");
  EXPECT_EQ(fails("GetActionType", R"({"category": "Build", "owner": "AWS",
      "provider": "Nope", "version": "1"})"),
            "ActionTypeNotFoundException");
  // The model's ActionTypeIdentifier allows owners AWS and ThirdParty only.
  ok("CreateCustomActionType", custom_type("Mine"));
  EXPECT_EQ(fails("GetActionType", R"({"category": "Build", "owner": "Custom",
      "provider": "Mine", "version": "1"})"),
            "ValidationException");

  const std::string declaration = R"({"actionType": {
      "executor": {"configuration": {}, "type": "JobWorker"},
      "id": {"category": "Build", "owner": "AWS", "provider": "PROVIDER", "version": "1"},
      "inputArtifactDetails": {"minimumCount": 0, "maximumCount": 1},
      "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 1}}})";
  auto with = [&](const std::string& provider) {
    std::string body = declaration;
    body.replace(body.find("PROVIDER"), 8, provider);
    return body;
  };
  auto builtin = run("UpdateActionType", with("CodeBuild"));
  ASSERT_FALSE(builtin.ok());
  EXPECT_EQ(builtin.error().type, "ValidationException");
  EXPECT_NE(builtin.error().message.find("built into Stageline"), std::string::npos);
  EXPECT_EQ(fails("UpdateActionType", with("Nope")), "ActionTypeNotFoundException");
}

// ---- Registered third-party action types and their jobs (reference §11.3) ----

constexpr std::string_view kPartnerType = R"({"actionType": {
    "description": "Scans the code",
    "executor": {"configuration": {"jobWorkerExecutorConfiguration": {
        "pollingAccounts": ["111122223333"]}}, "type": "JobWorker", "jobTimeout": 600},
    "id": {"category": "Test", "owner": "ThirdParty", "provider": "Scanner", "version": "1"},
    "inputArtifactDetails": {"minimumCount": 1, "maximumCount": 1},
    "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 0},
    "properties": [
      {"name": "Project", "optional": false, "key": true, "noEcho": false,
       "description": "The project"},
      {"name": "ApiKey", "optional": true, "key": false, "noEcho": true}],
    "urls": {"configurationUrl": "https://scanner.example.com/setup",
             "executionUrlTemplate": "https://scanner.example.com/run/{ExternalExecutionId}"}}})";

// The app pipeline with the partner's Scanner action in place of Make.
std::string partner_pipeline(const std::string& name = "scan") {
  return R"({"pipeline": {
  "name": ")" +
         name + R"(", "roleArn": "arn:aws:iam::123456789012:role/R",
  "artifactStore": {"type": "S3", "location": "bucket"},
  "stages": [
    {"name": "Source", "actions": [{"name": "Src",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
      "configuration": {"S3Bucket": "b", "S3ObjectKey": "k.zip"},
      "outputArtifacts": [{"name": "Code"}]}]},
    {"name": "Test", "actions": [{"name": "Scan",
      "actionTypeId": {"category": "Test", "owner": "ThirdParty", "provider": "Scanner",
                       "version": "1"},
      "configuration": {"Project": "p", "ApiKey": "hunter2"},
      "inputArtifacts": [{"name": "Code"}]}]}]}})";
}

constexpr std::string_view kPollScanner = R"({"actionTypeId": {"category": "Test",
    "owner": "ThirdParty", "provider": "Scanner", "version": "1"}, "maxBatchSize": 5})";

TEST_F(CodePipelineApiTest, ARegisteredThirdPartyTypeIsListedDescribedUpdatedAndSurvivesARestart) {
  const std::string path =
      ::testing::TempDir() + "codepipeline_api_test_" + std::to_string(::getpid()) + "_tp.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  open(path);
  wire::Response registered = api_->action_types_extension("POST", kPartnerType);
  ASSERT_EQ(registered.http_status, 200) << registered.body;
  EXPECT_EQ(json::parse(registered.body).at("actionType").at("id").at("provider"), "Scanner");
  wire::Response again = api_->action_types_extension("POST", kPartnerType);
  EXPECT_EQ(again.http_status, 400);
  EXPECT_NE(again.body.find("already registered"), std::string::npos) << again.body;

  open(path);  // a restart
  json::value listed = json::parse(api_->action_types_extension("GET", "").body);
  ASSERT_EQ(listed.at("actionTypes").as_array().size(), 1u) << json::serialize(listed);
  json::value got = ok("GetActionType", R"({"category": "Test", "owner": "ThirdParty",
      "provider": "Scanner", "version": "1"})");
  EXPECT_EQ(got.at("actionType").at("description"), "Scans the code");
  EXPECT_EQ(got.at("actionType").at("executor").at("jobTimeout"), 600);
  json::value types = ok("ListActionTypes", R"({"actionOwnerFilter": "ThirdParty"})");
  const json::object* scanner = nullptr;
  for (const auto& t : types.at("actionTypes").as_array())
    if (t.at("id").at("provider") == "Scanner") scanner = &t.as_object();
  ASSERT_NE(scanner, nullptr) << json::serialize(types);
  EXPECT_EQ(scanner->at("settings").at("thirdPartyConfigurationUrl"),
            "https://scanner.example.com/setup");
  EXPECT_EQ(scanner->at("actionConfigurationProperties").at(0).at("required"), true);
  EXPECT_EQ(scanner->at("actionConfigurationProperties").at(1).at("secret"), true);

  std::string update(kPartnerType);
  update.replace(update.find("Scans the code"), 14, "Scans it all");
  ok("UpdateActionType", update);
  EXPECT_EQ(ok("GetActionType", R"({"category": "Test", "owner": "ThirdParty",
      "provider": "Scanner", "version": "1"})")
                .at("actionType")
                .at("description"),
            "Scans it all");
  // Pipelines may use it, and its secret property is hidden.
  ok("CreatePipeline", partner_pipeline());
  EXPECT_EQ(ok("GetPipeline", R"({"name": "scan"})")
                .at("pipeline")
                .at("stages")
                .at(1)
                .at("actions")
                .at(0)
                .at("configuration")
                .at("ApiKey"),
            "****");
  api_.reset();
  engine_.reset();
  store_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

TEST_F(CodePipelineApiTest, RegistrationRefusesWhatCannotRunHereAndSaysWhy) {
  auto refused = [&](std::string_view from, std::string_view to) {
    std::string body(kPartnerType);
    body.replace(body.find(from), from.size(), to);
    wire::Response r = api_->action_types_extension("POST", body);
    EXPECT_EQ(r.http_status, 400) << body;
    return r.body;
  };
  EXPECT_NE(refused(R"("owner": "ThirdParty")", R"("owner": "AWS")").find("ThirdParty"),
            std::string::npos);
  EXPECT_NE(refused(R"("type": "JobWorker")", R"("type": "Lambda")").find("JobWorker"),
            std::string::npos);
  EXPECT_NE(
      refused(R"("minimumCount": 1, "maximumCount": 1)", R"("minimumCount": 2, "maximumCount": 1)")
          .find("minimumCount"),
      std::string::npos);
  EXPECT_NE(refused(R"("jobTimeout": 600)", R"("jobTimeout": 5)").find("jobTimeout"),
            std::string::npos)
      << "the model's constraints are checked as for a request";
  std::string github(kPartnerType);
  for (auto [from, to] : {std::pair<std::string_view, std::string_view>{R"("Test")", R"("Source")"},
                          {"Scanner", "GitHub"}})
    github.replace(github.find(from), from.size(), to);
  wire::Response builtin = api_->action_types_extension("POST", github);
  EXPECT_NE(builtin.body.find("built into Stageline"), std::string::npos) << builtin.body;
  EXPECT_EQ(api_->action_types_extension("POST", "[1]").http_status, 400);
  EXPECT_EQ(api_->action_types_extension("DELETE", "").http_status, 405);
  EXPECT_EQ(json::parse(api_->action_types_extension("GET", "").body).at("actionTypes"),
            json::array())
      << "nothing was registered";
  // UpdateActionType does not register.
  EXPECT_EQ(fails("UpdateActionType", kPartnerType), "ActionTypeNotFoundException");
}

TEST_F(CodePipelineApiTest, AThirdPartyWorkerProvesItsClaimWithTheClientIdAndCompletesTheAction) {
  ASSERT_EQ(api_->action_types_extension("POST", kPartnerType).http_status, 200);
  ok("CreatePipeline", partner_pipeline());
  EXPECT_EQ(ok("PollForThirdPartyJobs", kPollScanner).at("jobs"), json::array())
      << "nothing queued before the source ends";
  finish_source();
  EXPECT_EQ(fails("PollForThirdPartyJobs", R"({"actionTypeId": {"category": "Test",
      "owner": "ThirdParty", "provider": "Other", "version": "1"}})"),
            "ActionTypeNotFoundException");
  EXPECT_EQ(fails("PollForJobs", R"({"actionTypeId": {"category": "Test",
      "owner": "ThirdParty", "provider": "Scanner", "version": "1"}})"),
            "ActionTypeNotFoundException")
      << "PollForJobs is for custom types only";
  json::value polled = ok("PollForThirdPartyJobs", kPollScanner);
  ASSERT_EQ(polled.at("jobs").as_array().size(), 1u);
  const std::string job_id(polled.at("jobs").at(0).at("jobId").as_string());
  const std::string client(polled.at("jobs").at(0).at("clientId").as_string());
  EXPECT_EQ(ok("PollForThirdPartyJobs", kPollScanner).at("jobs"), json::array())
      << "a claimed job is not handed out again";
  auto with = [&](const std::string& token, const std::string& rest = "") {
    return R"({"jobId": ")" + job_id + R"(", "clientToken": ")" + token + "\"" + rest + "}";
  };
  const std::string other = "00000000-0000-4000-8000-0000000000ff";
  EXPECT_EQ(fails("GetThirdPartyJobDetails", with(other)), "InvalidClientTokenException");
  EXPECT_EQ(fails("AcknowledgeThirdPartyJob", with(other, R"(, "nonce": "x")")),
            "InvalidClientTokenException");
  EXPECT_EQ(fails("PutThirdPartyJobSuccessResult", with(other)), "InvalidClientTokenException");
  EXPECT_EQ(fails("GetThirdPartyJobDetails",
                  R"({"jobId": "00000000-0000-4000-8000-999999999999", "clientToken": ")" + client +
                      "\"}"),
            "JobNotFoundException");

  json::value details = ok("GetThirdPartyJobDetails", with(client));
  const json::value& data = details.at("jobDetails").at("data");
  EXPECT_EQ(data.at("pipelineContext").at("pipelineName"), "scan");
  EXPECT_EQ(data.at("pipelineContext").at("action").at("name"), "Scan");
  EXPECT_FALSE(data.at("pipelineContext").as_object().contains("pipelineArn"));
  EXPECT_FALSE(data.at("pipelineContext").as_object().contains("pipelineExecutionId"));
  EXPECT_EQ(data.at("actionConfiguration").at("configuration").at("ApiKey"), "hunter2")
      << "the worker sees its secrets";
  EXPECT_EQ(data.at("inputArtifacts").at(0).at("name"), "Code");
  const std::string nonce(details.at("jobDetails").at("nonce").as_string());

  EXPECT_EQ(fails("PutThirdPartyJobSuccessResult", with(client)), "InvalidJobStateException")
      << "not acknowledged yet";
  EXPECT_EQ(fails("AcknowledgeThirdPartyJob", with(client, R"(, "nonce": "wrong")")),
            "InvalidNonceException");
  EXPECT_EQ(
      ok("AcknowledgeThirdPartyJob", with(client, R"(, "nonce": ")" + nonce + "\"")).at("status"),
      "InProgress");
  ok("PutThirdPartyJobSuccessResult",
     with(client, R"(, "executionDetails": {"summary": "clean", "externalExecutionId": "s-1"})"));
  auto execs = store_->list_pipeline_executions("scan", 10, "");
  ASSERT_TRUE(execs.ok());
  EXPECT_EQ(execs->items.at(0).status, model::PipelineExecutionStatus::kSucceeded);
}

TEST_F(CodePipelineApiTest, AThirdPartyFailureFailsTheActionAndCustomJobsAreNotThirdPartyJobs) {
  ASSERT_EQ(api_->action_types_extension("POST", kPartnerType).http_status, 200);
  ok("CreatePipeline", partner_pipeline());
  finish_source();
  json::value polled = ok("PollForThirdPartyJobs", kPollScanner);
  ASSERT_EQ(polled.at("jobs").as_array().size(), 1u);
  const std::string job_id(polled.at("jobs").at(0).at("jobId").as_string());
  const std::string client(polled.at("jobs").at(0).at("clientId").as_string());
  const std::string nonce(ok("GetThirdPartyJobDetails",
                             R"({"jobId": ")" + job_id + R"(", "clientToken": ")" + client + "\"}")
                              .at("jobDetails")
                              .at("nonce")
                              .as_string());
  ok("AcknowledgeThirdPartyJob", R"({"jobId": ")" + job_id + R"(", "clientToken": ")" + client +
                                     R"(", "nonce": ")" + nonce + "\"}");
  ok("PutThirdPartyJobFailureResult", R"({"jobId": ")" + job_id + R"(", "clientToken": ")" +
                                          client +
                                          R"(", "failureDetails": {"type": "JobFailed",
      "message": "3 vulnerabilities"}})");
  auto execs = store_->list_pipeline_executions("scan", 10, "");
  ASSERT_TRUE(execs.ok());
  EXPECT_EQ(execs->items.at(0).status, model::PipelineExecutionStatus::kFailed);
  json::value state = ok("GetPipelineState", R"({"name": "scan"})");
  EXPECT_EQ(state.at("stageStates")
                .at(1)
                .at("actionStates")
                .at(0)
                .at("latestExecution")
                .at("errorDetails")
                .at("message"),
            "3 vulnerabilities");

  // A custom type's job cannot be read through the third-party calls.
  create_app();
  finish_source();
  json::value custom = ok("PollForJobs", R"({"actionTypeId": {"category": "Build",
      "owner": "Custom", "provider": "MyBuild", "version": "1"}})");
  ASSERT_EQ(custom.at("jobs").as_array().size(), 1u);
  EXPECT_EQ(fails("GetThirdPartyJobDetails",
                  R"({"jobId": ")" + std::string(custom.at("jobs").at(0).at("id").as_string()) +
                      R"(", "clientToken": ")" + client + "\"}"),
            "InvalidJobException");
}

// ---- PutActionRevision and ListDeployActionExecutionTargets ----------------------

TEST_F(CodePipelineApiTest, PutActionRevisionStartsAnExecutionForANewRevisionOnly) {
  create_app();
  finish_source();  // the Source stage is free for the next execution
  const size_t before = runner_.started.size();
  auto put = [&](const std::string& stage, const std::string& action, const std::string& rev,
                 const std::string& pipeline = "app") {
    return R"({"pipelineName": ")" + pipeline + R"(", "stageName": ")" + stage +
           R"(", "actionName": ")" + action + R"(", "actionRevision": {"revisionId": ")" + rev +
           R"(", "revisionChangeId": "c-1", "created": 1700000000}})";
  };
  json::value first = ok("PutActionRevision", put("Source", "Src", "v-7"));
  EXPECT_EQ(first.at("newRevision"), true);
  const std::string id(first.at("pipelineExecutionId").as_string());
  ASSERT_EQ(runner_.started.size(), before + 1);
  EXPECT_EQ(runner_.started.back().execution_id, id);
  EXPECT_EQ(runner_.started.back().revision_type, "S3_OBJECT_VERSION_ID");
  EXPECT_EQ(runner_.started.back().revision_value, "v-7");
  json::value exec = ok("GetPipelineExecution",
                        R"({"pipelineName": "app", "pipelineExecutionId": ")" + id + "\"}");
  EXPECT_EQ(exec.at("pipelineExecution").at("trigger").at("triggerType"), "PutActionRevision");
  EXPECT_EQ(exec.at("pipelineExecution").at("trigger").at("triggerDetail"),
            caller_.principal.c_str());

  json::value again = ok("PutActionRevision", put("Source", "Src", "v-7"));
  EXPECT_EQ(again.at("newRevision"), false);
  EXPECT_EQ(again.at("pipelineExecutionId"), id.c_str());
  EXPECT_EQ(runner_.started.size(), before + 1) << "no second execution for the same revision";
  EXPECT_EQ(ok("PutActionRevision", put("Source", "Src", "v-8")).at("newRevision"), true);

  EXPECT_EQ(fails("PutActionRevision", put("Source", "Src", "v-9", "nope")),
            "PipelineNotFoundException");
  EXPECT_EQ(fails("PutActionRevision", put("Nope", "Src", "v-9")), "StageNotFoundException");
  EXPECT_EQ(fails("PutActionRevision", put("Source", "Nope", "v-9")), "ActionNotFoundException");
  EXPECT_EQ(fails("PutActionRevision", put("Build", "Make", "v-9")), "ValidationException")
      << "not a source action";
}

TEST_F(CodePipelineApiTest, ListDeployActionExecutionTargetsAnswersTheRecordedTargets) {
  create_app();
  const std::string action_id = runner_.started.back().action_execution_id;
  auto list = [&](const std::string& rest = "") {
    return R"({"pipelineName": "app", "actionExecutionId": ")" + action_id + "\"" + rest + "}";
  };
  EXPECT_EQ(ok("ListDeployActionExecutionTargets", list()).at("targets"), json::array())
      << "no provider recorded targets";
  EXPECT_EQ(fails("ListDeployActionExecutionTargets",
                  R"({"pipelineName": "app", "actionExecutionId": "nope"})"),
            "ActionExecutionNotFoundException");
  EXPECT_EQ(fails("ListDeployActionExecutionTargets",
                  R"({"pipelineName": "nope", "actionExecutionId": ")" + action_id + "\"}"),
            "PipelineNotFoundException");

  store::ResourceRecord r;
  r.service = "codepipeline";
  r.kind = "deploy-targets";
  r.name = action_id;
  r.document_json = R"({"targets": [
      {"targetId": "i-1", "targetType": "EC2", "status": "Succeeded", "startTime": 1700000000},
      {"targetId": "i-2", "targetType": "EC2", "status": "Failed"},
      {"targetId": "i-3", "targetType": "EC2", "status": "Succeeded"}]})";
  ASSERT_TRUE(store_->insert_resource(r).ok());
  json::value all = ok("ListDeployActionExecutionTargets", list());
  ASSERT_EQ(all.at("targets").as_array().size(), 3u);
  EXPECT_EQ(all.at("targets").at(0).at("targetId"), "i-1");
  json::value failed =
      ok("ListDeployActionExecutionTargets",
         list(R"(, "filters": [{"name": "TARGET_STATUS", "values": ["Failed"]}])"));
  ASSERT_EQ(failed.at("targets").as_array().size(), 1u);
  EXPECT_EQ(failed.at("targets").at(0).at("targetId"), "i-2");
  json::value page = ok("ListDeployActionExecutionTargets", list(R"(, "maxResults": 2)"));
  ASSERT_EQ(page.at("targets").as_array().size(), 2u);
  std::string token(page.at("nextToken").as_string());
  json::value rest = ok("ListDeployActionExecutionTargets",
                        list(R"(, "maxResults": 2, "nextToken": ")" + token + "\""));
  ASSERT_EQ(rest.at("targets").as_array().size(), 1u);
  EXPECT_EQ(rest.at("targets").at(0).at("targetId"), "i-3");
  EXPECT_FALSE(rest.as_object().contains("nextToken"));
  EXPECT_EQ(fails("ListDeployActionExecutionTargets", list(R"(, "nextToken": "garbage")")),
            "InvalidNextTokenException");
}

// ---- V1 webhooks (reference §12) ---------------------------------------------

std::string webhook(const std::string& name, const std::string& auth, const std::string& config,
                    const std::string& filters = R"([{"jsonPath": "$.ref",
                        "matchEquals": "refs/heads/{S3Bucket}"}])",
                    const std::string& action = "Src", const std::string& pipeline = "app") {
  return R"({"webhook": {"name": ")" + name + R"(", "targetPipeline": ")" + pipeline +
         R"(", "targetAction": ")" + action + R"(", "filters": )" + filters +
         R"(, "authentication": ")" + auth + R"(", "authenticationConfiguration": )" + config +
         "}}";
}

std::string hmac_hex(const EVP_MD* md, std::string_view key, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  return out;
}

TEST_F(CodePipelineApiTest,
       PutWebhookChecksItsTargetAuthenticationAndFiltersAndListsWithItsCasing) {
  create_app();
  api_->set_endpoint_url([] { return std::string("http://127.0.0.1:7300"); });
  json::value put = ok("PutWebhook", webhook("gh", "GITHUB_HMAC", R"({"SecretToken": "s3cret"})"));
  const json::value& item = put.at("webhook");
  const std::string url(item.at("url").as_string());
  EXPECT_EQ(url.rfind("http://127.0.0.1:7300/webhooks/", 0), 0u) << url;
  EXPECT_EQ(item.at("arn"), "arn:aws:codepipeline:us-east-1:111122223333:webhook:gh");
  EXPECT_EQ(item.at("definition").at("authenticationConfiguration").at("SecretToken"), "****");
  // An update keeps the URL, and "****" keeps the secret.
  json::value again = ok("PutWebhook", webhook("gh", "GITHUB_HMAC", R"({"SecretToken": "****"})"));
  EXPECT_EQ(again.at("webhook").at("url"), url.c_str());
  auto stored = store_->get_resource("codepipeline", "webhook", "gh");
  ASSERT_TRUE(stored.ok());
  EXPECT_NE(stored->document_json.find("s3cret"), std::string::npos);

  EXPECT_EQ(fails("PutWebhook", webhook("x", "UNAUTHENTICATED", "{}", "[]", "Make")),
            "ValidationException")
      << "the target must be in the first stage";
  EXPECT_EQ(fails("PutWebhook", webhook("x", "UNAUTHENTICATED", "{}", "[]", "Src", "nope")),
            "PipelineNotFoundException");
  EXPECT_EQ(fails("PutWebhook", webhook("x", "IP", R"({"SecretToken": "s"})")),
            "InvalidWebhookAuthenticationParametersException");
  EXPECT_EQ(fails("PutWebhook", webhook("x", "IP", R"({"AllowedIPRange": "10.0.0.0/33"})")),
            "InvalidWebhookAuthenticationParametersException");
  EXPECT_EQ(fails("PutWebhook", webhook("x", "UNAUTHENTICATED", R"({"SecretToken": "s"})")),
            "InvalidWebhookAuthenticationParametersException");
  EXPECT_EQ(fails("PutWebhook", webhook("x", "GITHUB_HMAC", "{}")),
            "InvalidWebhookAuthenticationParametersException");
  EXPECT_EQ(
      fails("PutWebhook", webhook("x", "UNAUTHENTICATED", "{}", R"([{"jsonPath": "$..ref"}])")),
      "InvalidWebhookFilterPatternException");
  EXPECT_EQ(fails("PutWebhook", webhook("x", "UNAUTHENTICATED", "{}",
                                        R"([{"jsonPath": "$.ref", "matchEquals": "{Branch}"}])")),
            "InvalidWebhookFilterPatternException")
      << "Branch is not a configuration key of the S3 source";

  ok("PutWebhook", webhook("ip", "IP", R"({"AllowedIPRange": "127.0.0.0/8"})"));
  json::value first = ok("ListWebhooks", R"({"MaxResults": 1})");
  ASSERT_EQ(first.at("webhooks").as_array().size(), 1u);
  EXPECT_EQ(first.at("webhooks").at(0).at("definition").at("name"), "gh");
  std::string token(first.at("NextToken").as_string());
  json::value second = ok("ListWebhooks", R"({"MaxResults": 1, "NextToken": ")" + token + "\"}");
  EXPECT_EQ(second.at("webhooks").at(0).at("definition").at("name"), "ip");
  EXPECT_FALSE(second.as_object().contains("NextToken"));

  ok("RegisterWebhookWithThirdParty", R"({"webhookName": "gh"})");
  ok("DeregisterWebhookWithThirdParty", R"({"webhookName": "gh"})");
  EXPECT_EQ(fails("RegisterWebhookWithThirdParty", R"({"webhookName": "nope"})"),
            "WebhookNotFoundException");
  ok("DeleteWebhook", R"({"name": "gh"})");
  ok("DeleteWebhook", R"({"name": "gh"})");  // already gone: still a success
  EXPECT_EQ(fails("DeregisterWebhookWithThirdParty", R"({"webhookName": "gh"})"),
            "WebhookNotFoundException");
  json::value recreated =
      ok("PutWebhook", webhook("gh", "GITHUB_HMAC", R"({"SecretToken": "s3cret"})"));
  EXPECT_NE(recreated.at("webhook").at("url"), url.c_str()) << "a new webhook gets a new URL";
}

TEST_F(CodePipelineApiTest, AWebhookDeliveryIsAuthenticatedThenFilteredThenStartsAnExecution) {
  create_app();
  auto token_of = [&](const json::value& put) {
    std::string url(put.at("webhook").at("url").as_string());
    return url.substr(url.rfind('/') + 1);
  };
  const std::string gh =
      token_of(ok("PutWebhook", webhook("gh", "GITHUB_HMAC", R"({"SecretToken": "s3cret"})")));
  const std::string ip =
      token_of(ok("PutWebhook", webhook("ip", "IP", R"({"AllowedIPRange": "127.0.0.0/8"})", "[]")));
  const std::string push = R"({"ref": "refs/heads/b", "commits": [{"id": "c1"}]})";
  const std::string sig256 = "sha256=" + hmac_hex(EVP_sha256(), "s3cret", push);
  const std::string sig1 = "sha1=" + hmac_hex(EVP_sha1(), "s3cret", push);
  using D = CodePipelineApi::WebhookDelivery;

  EXPECT_EQ(api_->receive_webhook(D{"nope", push, "127.0.0.1:1", sig256, ""}).http_status, 404);
  EXPECT_EQ(api_->receive_webhook(D{gh, push, "127.0.0.1:1", "", ""}).http_status, 403);
  EXPECT_EQ(api_->receive_webhook(D{gh, push, "127.0.0.1:1",
                                    "sha256=" + hmac_hex(EVP_sha256(), "wrong", push), ""})
                .http_status,
            403);
  EXPECT_EQ(api_->receive_webhook(D{gh, "not json", "127.0.0.1:1", "",
                                    "sha1=" + hmac_hex(EVP_sha1(), "s3cret", "not json")})
                .http_status,
            400);
  const std::string other = R"({"ref": "refs/heads/main"})";
  wire::Response skipped = api_->receive_webhook(
      D{gh, other, "127.0.0.1:1", "sha256=" + hmac_hex(EVP_sha256(), "s3cret", other), ""});
  EXPECT_EQ(skipped.http_status, 200);
  EXPECT_EQ(json::parse(skipped.body).at("started"), false) << skipped.body;

  const size_t executions = store_->list_pipeline_executions("app", 100, "")->items.size();
  wire::Response started = api_->receive_webhook(D{gh, push, "127.0.0.1:1", sig256, ""});
  ASSERT_EQ(started.http_status, 200) << started.body;
  const std::string id(json::parse(started.body).at("pipelineExecutionId").as_string());
  json::value exec = ok("GetPipelineExecution",
                        R"({"pipelineName": "app", "pipelineExecutionId": ")" + id + "\"}");
  EXPECT_EQ(exec.at("pipelineExecution").at("trigger").at("triggerType"), "Webhook");
  EXPECT_EQ(exec.at("pipelineExecution").at("trigger").at("triggerDetail"),
            "arn:aws:codepipeline:us-east-1:111122223333:webhook:gh");
  EXPECT_EQ(api_->receive_webhook(D{gh, push, "[::1]:2", "", sig1}).http_status, 200)
      << "X-Hub-Signature (sha1) is accepted too";
  EXPECT_EQ(store_->list_pipeline_executions("app", 100, "")->items.size(), executions + 2);
  json::value listed = ok("ListWebhooks", "{}");
  EXPECT_TRUE(listed.at("webhooks").at(0).as_object().contains("lastTriggered"));

  EXPECT_EQ(api_->receive_webhook(D{ip, "{}", "10.1.2.3:9", "", ""}).http_status, 403);
  EXPECT_EQ(api_->receive_webhook(D{ip, "{}", "127.0.0.1:9", "", ""}).http_status, 200);
  EXPECT_EQ(api_->receive_webhook(D{ip, "{}", "[::ffff:127.0.0.5]:9", "", ""}).http_status, 200);
}

}  // namespace
}  // namespace stageline::api

namespace stageline::api {
namespace {

constexpr std::string_view kApprovalPipeline = R"({"pipeline": {"name": "gated",
  "roleArn": "arn:aws:iam::111122223333:role/R", "pipelineType": "V2",
  "artifactStore": {"type": "S3", "location": "bucket"},
  "stages": [
    {"name": "Source", "actions": [{"name": "Src", "actionTypeId": {"category": "Source",
      "owner": "AWS", "provider": "S3", "version": "1"},
      "configuration": {"S3Bucket": "b", "S3ObjectKey": "k.zip"},
      "outputArtifacts": [{"name": "Code"}]}]},
    {"name": "Approve", "actions": [{"name": "Review", "actionTypeId": {"category": "Approval",
      "owner": "AWS", "provider": "Manual", "version": "1"},
      "configuration": {"CustomData": "please look"}}]},
    {"name": "Deploy", "actions": [{"name": "Ship", "actionTypeId": {"category": "Compute",
      "owner": "AWS", "provider": "Commands", "version": "1"},
      "inputArtifacts": [{"name": "Code"}], "commands": ["true"]}]}]}})";

std::string approval_request(std::string_view stage, std::string_view action,
                             std::string_view token, std::string_view status) {
  return R"({"pipelineName": "gated", "stageName": ")" + std::string(stage) +
         R"(", "actionName": ")" + std::string(action) + R"(", "token": ")" + std::string(token) +
         R"(", "result": {"summary": "checked by hand", "status": ")" + std::string(status) +
         R"("}})";
}

TEST_F(CodePipelineApiTest, AWaitingApprovalShowsItsTokenAndPutApprovalResultAnswersIt) {
  ok("CreatePipeline", kApprovalPipeline);
  finish_source();
  json::value state = ok("GetPipelineState", R"({"name": "gated"})");
  const json::value& review = state.at("stageStates").at(1).at("actionStates").at(0);
  EXPECT_EQ(review.at("latestExecution").at("status"), "InProgress");
  const std::string token(review.at("latestExecution").at("token").as_string());
  ASSERT_FALSE(token.empty());

  EXPECT_EQ(fails("PutApprovalResult",
                  approval_request("Approve", "Review", "00000000-0000-4000-8000-999999999999",
                                   "Approved")),
            "InvalidApprovalTokenException");
  EXPECT_EQ(fails("PutApprovalResult", approval_request("Nope", "Review", token, "Approved")),
            "StageNotFoundException");
  EXPECT_EQ(fails("PutApprovalResult", approval_request("Approve", "Nope", token, "Approved")),
            "ActionNotFoundException");
  EXPECT_EQ(fails("PutApprovalResult", approval_request("Deploy", "Ship", token, "Approved")),
            "InvalidApprovalTokenException");

  json::value approved =
      ok("PutApprovalResult", approval_request("Approve", "Review", token, "Approved"));
  EXPECT_TRUE(approved.at("approvedAt").is_number());
  EXPECT_EQ(fails("PutApprovalResult", approval_request("Approve", "Review", token, "Rejected")),
            "ApprovalAlreadyCompletedException");

  state = ok("GetPipelineState", R"({"name": "gated"})");
  const json::value& done = state.at("stageStates").at(1).at("actionStates").at(0);
  EXPECT_EQ(done.at("latestExecution").at("status"), "Succeeded");
  EXPECT_EQ(done.at("latestExecution").at("summary"), "checked by hand");
  EXPECT_EQ(done.at("latestExecution").at("lastUpdatedBy").as_string(), caller_.principal);
  EXPECT_FALSE(done.at("latestExecution").as_object().contains("token"));
  EXPECT_EQ(runner_.started.back().action.name, "Ship");

  json::value listed = ok("ListActionExecutions", R"({"pipelineName": "gated"})");
  bool seen = false;
  for (const auto& d : listed.at("actionExecutionDetails").as_array())
    if (d.at("actionName") == "Review") {
      seen = true;
      EXPECT_EQ(d.at("updatedBy").as_string(), caller_.principal);
      EXPECT_EQ(d.at("output").at("executionResult").at("externalExecutionId").as_string(), token);
    }
  EXPECT_TRUE(seen);
}

TEST_F(CodePipelineApiTest, ARejectedApprovalFailsTheExecution) {
  ok("CreatePipeline", kApprovalPipeline);
  finish_source();
  json::value state = ok("GetPipelineState", R"({"name": "gated"})");
  const std::string token(state.at("stageStates")
                              .at(1)
                              .at("actionStates")
                              .at(0)
                              .at("latestExecution")
                              .at("token")
                              .as_string());
  ok("PutApprovalResult", approval_request("Approve", "Review", token, "Rejected"));
  json::value executions = ok("ListPipelineExecutions", R"({"pipelineName": "gated"})");
  EXPECT_EQ(executions.at("pipelineExecutionSummaries").at(0).at("status"), "Failed");
}

}  // namespace
}  // namespace stageline::api
