#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/wire/embedded.h"
#include "api/wire/json_text.h"
#include "api/wire/validate.h"
#include "api/wire/wire.h"

namespace stageline::wire {
namespace {

namespace json = boost::json;

const Operation& op(const char* name) { return *codepipeline_model().find_operation(name); }

TEST(Output, AWellFormedOutputEncodesWithTimestampsAsPlainEpochSeconds) {
  const json::value out = json::parse(R"({"pipelines":[{"name":"p","version":1,
      "created":1446137312.204,"updated":1446137312}],"nextToken":"t"})");
  Result<Response> r = encode_output(op("ListPipelines"), out, OutputCheck::kAlways);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->http_status, 200);
  EXPECT_EQ(r->content_type, "application/x-amz-json-1.1");
  EXPECT_EQ(r->body, R"({"pipelines":[{"name":"p","version":1,"created":1446137312.204,)"
                     R"("updated":1446137312}],"nextToken":"t"})");
}

TEST(Output, CatchesAMemberSpelledWithTheWrongCase) {
  // ListWebhooks is the one list output whose token is NextToken.
  const json::value out = json::parse(R"({"webhooks":[],"nextToken":"abc"})");
  Result<Response> r = encode_output(op("ListWebhooks"), out, OutputCheck::kAlways);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_EQ(r.status().message(),
            "output of ListWebhooks does not match ListWebhooksOutput: nextToken: not a member "
            "of ListWebhooksOutput (did you mean 'NextToken'?)");
  EXPECT_TRUE(encode_output(op("ListWebhooks"), json::parse(R"({"webhooks":[],"NextToken":"abc"})"),
                            OutputCheck::kAlways)
                  .ok());
}

TEST(Output, CatchesNullsStringTimestampsWrongTypesAndUnknownEnumValues) {
  const json::value out = json::parse(R"({"pipelineExecution":{
      "pipelineName":"p","pipelineVersion":"1","status":"Inprogress",
      "statusSummary":null,"artifactRevisions":[{"created":"2024-01-01T00:00:00Z"}]}})");
  const std::vector<std::string> problems = check_output(op("GetPipelineExecution").output, out);
  EXPECT_EQ(problems,
            (std::vector<std::string>{
                "pipelineExecution.pipelineVersion: expected an integer",
                "pipelineExecution.status: 'Inprogress' is not one of PipelineExecutionStatus "
                "[Cancelled, InProgress, Stopped, Stopping, Succeeded, Superseded, Failed]",
                "pipelineExecution.statusSummary: null (omit an absent member instead)",
                "pipelineExecution.artifactRevisions[0].created: timestamp must be a number of "
                "epoch seconds",
            }));
}

TEST(Output, CatchesMissingRequiredMembers) {
  const std::vector<std::string> problems =
      check_output(op("ListWebhooks").output,
                   json::parse(R"({"webhooks":[{"url":"https://x","definition":{"name":"w"}}]})"));
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].find("webhooks[0].definition."), 0u) << problems[0];
}

TEST(Output, AnOperationWithoutOutputAnswersAnEmptyObject) {
  Result<Response> r = encode_output(op("DeletePipeline"), json::object(), OutputCheck::kAlways);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "{}");
  EXPECT_FALSE(
      encode_output(op("DeletePipeline"), json::parse(R"({"x":1})"), OutputCheck::kAlways).ok());
  EXPECT_TRUE(
      encode_output(op("DeletePipeline"), json::parse(R"({"x":1})"), OutputCheck::kNever).ok());
}

TEST(JsonText, WritesNumbersAsAwsDoes) {
  EXPECT_EQ(to_json(json::parse(R"([1446137312.204, 0.5, -3, 18446744073709551615, 1e300])")),
            "[1446137312.204,0.5,-3,18446744073709551615,1e+300]");
  using namespace std::chrono;
  const system_clock::time_point t{milliseconds(1446137312204)};
  EXPECT_EQ(to_json(epoch_seconds(t)), "1446137312.204");
  EXPECT_EQ(to_json(epoch_seconds(system_clock::time_point{seconds(1700000000)})), "1700000000");
  EXPECT_EQ(to_json(json::value("\u00e9\"\n")), "\"\u00e9\\\"\\n\"");
}

}  // namespace
}  // namespace stageline::wire
