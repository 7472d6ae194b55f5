#include "cli/client_verbs.h"

#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace stageline::cli {
namespace {

namespace json = boost::json;
using api::client::Reply;

const VerbSpec& verb(std::string_view name) {
  const VerbSpec* v = find_verb(name);
  EXPECT_NE(v, nullptr) << name;
  return *v;
}

std::string input_of(std::string_view name, const std::vector<std::string>& args) {
  auto r = parse_verb_args(verb(name), args);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? json::serialize(r->input) : "";
}

std::string error_of(std::string_view name, const std::vector<std::string>& args) {
  auto r = parse_verb_args(verb(name), args);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

TEST(ClientVerbs, CoverTheEverydayOperationsWithTheAwsCliNames) {
  for (const char* name :
       {"create-pipeline", "update-pipeline", "delete-pipeline", "get-pipeline", "list-pipelines",
        "start-pipeline-execution", "stop-pipeline-execution", "retry-stage-execution",
        "get-pipeline-state", "get-pipeline-execution", "list-pipeline-executions",
        "list-action-executions", "disable-stage-transition", "enable-stage-transition",
        "put-approval-result"})
    EXPECT_NE(find_verb(name), nullptr) << name;
  EXPECT_EQ(find_verb("get-pipeline")->operation, "GetPipeline");
}

TEST(ClientVerbs, ReadFlagsWithSpaceOrEqualsIntoTheOperationsMembers) {
  EXPECT_EQ(
      input_of("retry-stage-execution",
               {"--pipeline-name", "p", "--stage-name=Build", "--pipeline-execution-id", "e",
                "--retry-mode", "FAILED_ACTIONS"}),
      R"({"pipelineName":"p","stageName":"Build","pipelineExecutionId":"e","retryMode":"FAILED_ACTIONS"})");
  EXPECT_EQ(input_of("get-pipeline", {"--name", "p", "--pipeline-version", "3"}),
            R"({"name":"p","version":3})");
}

TEST(ClientVerbs, ReadBooleanFlagsAndTheirNoForms) {
  EXPECT_EQ(input_of("stop-pipeline-execution", {"--pipeline-name", "p", "--pipeline-execution-id",
                                                 "e", "--abandon", "--reason", "why not"}),
            R"({"pipelineName":"p","pipelineExecutionId":"e","abandon":true,"reason":"why not"})");
  EXPECT_EQ(input_of("stop-pipeline-execution",
                     {"--pipeline-name", "p", "--pipeline-execution-id", "e", "--no-abandon"}),
            R"({"pipelineName":"p","pipelineExecutionId":"e","abandon":false})");
}

TEST(ClientVerbs, ReadListsOfShorthandStructuresUntilTheNextFlag) {
  auto r = parse_verb_args(verb("start-pipeline-execution"),
                           {"--variables", "name=Env,value=prod", "name=Tag,value='a,b'",
                            "--client-request-token", "tok-1", "--name", "p"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(json::serialize(r->input),
            R"({"variables":[{"name":"Env","value":"prod"},{"name":"Tag","value":"a,b"}],)"
            R"("clientRequestToken":"tok-1","name":"p"})");
  auto json_list =
      input_of("start-pipeline-execution", {"--name", "p", "--client-request-token", "t",
                                            "--variables", R"([{"name":"A","value":"1"}])"});
  EXPECT_EQ(json_list,
            R"({"name":"p","clientRequestToken":"t","variables":[{"name":"A","value":"1"}]})");
}

TEST(ClientVerbs, FillAClientRequestTokenWhenStartIsNotGivenOne) {
  auto r = parse_verb_args(verb("start-pipeline-execution"), {"--name", "p"});
  ASSERT_TRUE(r.ok());
  std::string token(r->input.at("clientRequestToken").as_string());
  EXPECT_EQ(token.size(), 36u);
  EXPECT_EQ(token[14], '4');
  EXPECT_NE(token, random_uuid());
}

TEST(ClientVerbs, ReadNestedShorthandAndJsonStructures) {
  EXPECT_EQ(input_of("list-pipeline-executions",
                     {"--pipeline-name", "p", "--filter", "succeededInStage={stageName=Build}"}),
            R"({"pipelineName":"p","filter":{"succeededInStage":{"stageName":"Build"}}})");
  EXPECT_EQ(input_of("put-approval-result",
                     {"--pipeline-name", "p", "--stage-name", "s", "--action-name", "a", "--token",
                      "t", "--result", R"({"summary": "ok", "status": "Approved"})"}),
            R"({"pipelineName":"p","stageName":"s","actionName":"a","token":"t",)"
            R"("result":{"summary":"ok","status":"Approved"}})");
  auto list = parse_structure_value("a=[x, y],b=\"q\\\"uoted\"");
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ(json::serialize(*list), R"({"a":["x","y"],"b":"q\"uoted"})");
}

TEST(ClientVerbs, RejectMalformedShorthandWithThePosition) {
  for (const char* bad : {"a", "=b", "a={b=c", "a=[x", "a='open"}) {
    auto r = parse_structure_value(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_NE(parse_structure_value("a=b,c").status().message().find("character"), std::string::npos);
}

class ClientVerbsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cli-verbs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ClientVerbsFiles, ReadFileValuesAndLetFlagsWinOverCliInputJson) {
  std::ofstream(dir_ / "p.json") << R"({"name": "app", "stages": []})";
  std::ofstream(dir_ / "in.json")
      << R"({"pipeline": {"name": "old"}, "tags": [{"key": "a", "value": "b"}]})";
  EXPECT_EQ(input_of("create-pipeline", {"--pipeline", "file://" + (dir_ / "p.json").string()}),
            R"({"pipeline":{"name":"app","stages":[]}})");
  EXPECT_EQ(
      input_of("create-pipeline", {"--cli-input-json", "file://" + (dir_ / "in.json").string(),
                                   "--pipeline", "file://" + (dir_ / "p.json").string()}),
      R"({"pipeline":{"name":"app","stages":[]},"tags":[{"key":"a","value":"b"}]})");
  EXPECT_EQ(
      input_of("update-pipeline", {"--cli-input-json", "file://" + (dir_ / "in.json").string()}),
      R"({"pipeline":{"name":"old"},"tags":[{"key":"a","value":"b"}]})");
  EXPECT_NE(error_of("create-pipeline", {"--pipeline", "file://" + (dir_ / "none.json").string()})
                .find("Unable to load paramfile"),
            std::string::npos);
}

TEST(ClientVerbs, NameEveryMissingRequiredFlagLikeTheAwsCli) {
  EXPECT_EQ(error_of("disable-stage-transition", {"--pipeline-name", "p"}),
            "the following arguments are required: --stage-name, --transition-type, --reason");
}

TEST(ClientVerbs, SuggestTheClosestFlagForAnUnknownOne) {
  EXPECT_EQ(error_of("get-pipeline", {"--nme", "p"}),
            "Unknown options: --nme (did you mean --name?)");
  EXPECT_NE(error_of("get-pipeline", {"p"}).find("Unknown options: p"), std::string::npos);
  EXPECT_NE(error_of("get-pipeline", {"--name"}).find("expected one argument"), std::string::npos);
  EXPECT_NE(
      error_of("get-pipeline", {"--name", "p", "--pipeline-version", "x"}).find("invalid int"),
      std::string::npos);
  EXPECT_NE(error_of("get-pipeline", {"--name", "p", "--output", "table"}).find("not supported"),
            std::string::npos);
  // Pagination flags exist on paginated verbs only.
  EXPECT_FALSE(parse_verb_args(verb("get-pipeline"), {"--name", "p", "--max-items", "1"}).ok());
  EXPECT_FALSE(
      parse_verb_args(verb("get-pipeline"), {"--name", "p", "--starting-token", "x"}).ok());
}

TEST(ClientVerbs, ReadTheConnectionFlags) {
  auto r = parse_verb_args(verb("list-pipelines"),
                           {"--endpoint-url", "http://127.0.0.1:1", "--region", "eu-west-1",
                            "--data-dir", "/tmp/d", "--profile", "x", "--max-items", "2"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->where.endpoint_url, "http://127.0.0.1:1");
  EXPECT_EQ(r->where.region, "eu-west-1");
  EXPECT_EQ(r->where.data_dir, "/tmp/d");
  EXPECT_EQ(r->where.profile, "x");
  EXPECT_EQ(r->max_items, 2);
  EXPECT_EQ(json::serialize(r->input), "{}");
}

// A paginated server: `pages` answer in turn; each request is recorded.
struct FakePages {
  std::vector<std::string> pages;
  std::vector<std::string> requests;
  Caller caller() {
    return [this](std::string_view, const json::object& input) -> Result<Reply> {
      requests.push_back(json::serialize(input));
      std::string token;
      if (auto* t = input.if_contains("nextToken")) token = std::string(t->as_string());
      size_t index = token.empty() ? 0 : static_cast<size_t>(token[1] - '0');
      Reply r;
      r.output = json::parse(pages.at(index)).as_object();
      return r;
    };
  }
};

VerbRequest list_request(std::vector<std::string> args) {
  auto r = parse_verb_args(*find_verb("list-pipelines"), args);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(*r);
}

TEST(ClientVerbsPagination, MergesEveryPageAndDropsTheServiceToken) {
  FakePages fake{{R"({"pipelines":[{"name":"a"},{"name":"b"}],"nextToken":"t1"})",
                  R"({"pipelines":[{"name":"c"}]})"},
                 {}};
  auto out = run_operation(*find_verb("list-pipelines"), list_request({}), fake.caller());
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(json::serialize(out->output),
            R"({"pipelines":[{"name":"a"},{"name":"b"},{"name":"c"}]})");
  EXPECT_EQ(fake.requests, (std::vector<std::string>{"{}", R"({"nextToken":"t1"})"}));
}

TEST(ClientVerbsPagination, TruncatesAtMaxItemsWithBotocoresNextToken) {
  FakePages fake{{R"({"pipelines":[{"name":"a"},{"name":"b"}],"nextToken":"t1"})",
                  R"({"pipelines":[{"name":"c"},{"name":"d"}]})"},
                 {}};
  // Inside the second page: {"nextToken": "t1", "boto_truncate_amount": 1}.
  auto mid = run_operation(*find_verb("list-pipelines"), list_request({"--max-items", "3"}),
                           fake.caller());
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(json::serialize(mid->output),
            R"({"pipelines":[{"name":"a"},{"name":"b"},{"name":"c"}],)"
            R"("NextToken":"eyJuZXh0VG9rZW4iOiAidDEiLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAxfQ=="})");
  // On a page boundary: {"nextToken": "t1"}.
  auto edge = run_operation(*find_verb("list-pipelines"), list_request({"--max-items", "2"}),
                            fake.caller());
  ASSERT_TRUE(edge.ok());
  EXPECT_EQ(edge->output.at("NextToken"), "eyJuZXh0VG9rZW4iOiAidDEifQ==");
  // Inside the first page: {"nextToken": null, "boto_truncate_amount": 1}... then resumed.
  auto first = run_operation(*find_verb("list-pipelines"), list_request({"--max-items", "1"}),
                             fake.caller());
  ASSERT_TRUE(first.ok());
  std::string token(first->output.at("NextToken").as_string());
  auto resumed =
      run_operation(*find_verb("list-pipelines"),
                    list_request({"--starting-token", token, "--max-items", "2"}), fake.caller());
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  EXPECT_EQ(json::serialize(resumed->output.at("pipelines")), R"([{"name":"b"},{"name":"c"}])");
}

TEST(ClientVerbsPagination, PassesPageSizeAsMaxResultsAndStopsOnARepeatedToken) {
  FakePages fake{{R"({"pipelines":[],"nextToken":"t1"})", R"({"pipelines":[],"nextToken":"t1"})"},
                 {}};
  auto out = run_operation(*find_verb("list-pipelines"), list_request({"--page-size", "5"}),
                           fake.caller());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("same next token"), std::string::npos);
  EXPECT_EQ(fake.requests.front(), R"({"maxResults":5})");
}

TEST(ClientVerbsPagination, RejectsAStartingTokenItDidNotMake) {
  FakePages fake{{R"({"pipelines":[]})"}, {}};
  auto out = run_operation(*find_verb("list-pipelines"),
                           list_request({"--starting-token", "not-base64!"}), fake.caller());
  EXPECT_FALSE(out.ok());
}

TEST(ClientVerbsPagination, ReturnsTheServiceErrorOfAnyPage) {
  Caller failing = [](std::string_view, const json::object&) -> Result<Reply> {
    Reply r;
    r.error = api::client::ServiceError{.type = "PipelineNotFoundException",
                                        .message = "none",
                                        .http_status = 400,
                                        .retry_attempts = 0,
                                        .max_attempts_reached = false};
    return r;
  };
  auto out = run_operation(*find_verb("list-pipelines"), list_request({}), failing);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->error.has_value());
  EXPECT_EQ(out->error->type, "PipelineNotFoundException");
}

TEST(ClientVerbsErrors, PrintTheServiceErrorAsTheAwsCliDoesWithTheRetriesItMade) {
  api::client::ServiceError e{.type = "PipelineNotFoundException",
                              .message = "no pipeline",
                              .http_status = 400,
                              .retry_attempts = 0,
                              .max_attempts_reached = false};
  EXPECT_EQ(format_service_error("GetPipeline", e),
            "An error occurred (PipelineNotFoundException) when calling the GetPipeline "
            "operation: no pipeline");
  // botocore's wording after AWS_MAX_ATTEMPTS=3 and three 500s (reference section 1.5).
  e = {.type = "InternalFailure",
       .message = "boom",
       .http_status = 500,
       .retry_attempts = 2,
       .max_attempts_reached = true};
  EXPECT_EQ(format_service_error("ListPipelines", e),
            "An error occurred (InternalFailure) when calling the ListPipelines operation "
            "(reached max retries: 2): boom");
}

}  // namespace
}  // namespace stageline::cli

namespace stageline::cli {
namespace {

TEST(ConnectionFlags, AreTakenIntoTheLocateOptionsAndOthersAreLeft) {
  api::client::LocateOptions where;
  EXPECT_TRUE(take_connection_flag("--endpoint-url", "http://127.0.0.1:1", where));
  EXPECT_TRUE(take_connection_flag("--region", "eu-west-1", where));
  EXPECT_TRUE(take_connection_flag("--data-dir", "/d", where));
  EXPECT_TRUE(take_connection_flag("--profile", "ci", where));
  EXPECT_FALSE(take_connection_flag("--pipeline-name", "p", where));
  EXPECT_EQ(where.endpoint_url, "http://127.0.0.1:1");
  EXPECT_EQ(where.region, "eu-west-1");
  EXPECT_EQ(where.data_dir, "/d");
  EXPECT_EQ(where.profile, "ci");
}

}  // namespace
}  // namespace stageline::cli
