#include "cli/aws_json.h"

#include <boost/json/parse.hpp>

#include "api/wire/embedded.h"
#include "gtest/gtest.h"

namespace stageline::cli {
namespace {

namespace json = boost::json;

// Expected texts below were printed by Python 3.11's json module with the aws
// CLI's arguments (indent=4, ensure_ascii=False).

TEST(AwsJson, IndentsLikePythonsJsonDumpWithFourSpaces) {
  json::value v =
      json::parse(R"({"a":[1,{"b":"x\u00e9\n\u0001\""}],"c":{},"d":[],"e":true,"f":null,"g":1.5})");
  EXPECT_EQ(format_aws_json(v),
            "{\n"
            "    \"a\": [\n"
            "        1,\n"
            "        {\n"
            "            \"b\": \"x\xc3\xa9\\n\\u0001\\\"\"\n"
            "        }\n"
            "    ],\n"
            "    \"c\": {},\n"
            "    \"d\": [],\n"
            "    \"e\": true,\n"
            "    \"f\": null,\n"
            "    \"g\": 1.5\n"
            "}");
}

TEST(AwsJson, KeepsTheMembersInTheOrderTheServerSentThem) {
  EXPECT_EQ(format_aws_json(json::parse(R"({"z":1,"a":2})")), "{\n    \"z\": 1,\n    \"a\": 2\n}");
}

TEST(AwsJson, PrintsDoublesAsPythonsReprDoes) {
  EXPECT_EQ(python_float_repr(1446137312.204), "1446137312.204");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1.5e-05), "1.5e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(123456789012345.6), "123456789012345.6");
  EXPECT_EQ(python_float_repr(-0.0), "-0.0");
  EXPECT_EQ(python_float_repr(5.0), "5.0");
  EXPECT_EQ(python_float_repr(1e22), "1e+22");
  EXPECT_EQ(python_float_repr(2.5e-7), "2.5e-07");
  EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
}

TEST(AwsJson, ParsedTimestampsPrintAsTheServerWroteThem) {
  // Epoch seconds with milliseconds, as the server writes timestamps.
  for (const char* text : {"1764220000.123", "1764220000.1", "1764220000.0", "1700000000.999"}) {
    json::value v = json::parse(text);
    EXPECT_EQ(format_aws_json(v), text);
  }
}

TEST(AwsJson, CompactFormEscapesNonAsciiLikePythonsDefaults) {
  EXPECT_EQ(python_compact_json(json::parse(R"({"k":"\u00e9\ud83d\ude00","n":null,"l":[1,2]})")),
            R"({"k": "\u00e9\ud83d\ude00", "n": null, "l": [1, 2]})");
}

TEST(AwsJson, OrdersMembersAsTheModelDoesAndDropsUnknownOnes) {
  const wire::Operation* op = wire::codepipeline_model().find_operation("ListPipelineExecutions");
  ASSERT_NE(op, nullptr);
  json::value out = order_like_botocore(
      op->output, json::parse(R"({"pipelineExecutionSummaries":[{"startTime":1.5,"status":"Failed",
        "pipelineExecutionId":"e","statusSummary":"s","notInTheModel":1,
        "trigger":{"triggerDetail":"d","triggerType":"t"}}],"nextToken":"n"})"));
  EXPECT_EQ(format_aws_json(out),
            "{\n"
            "    \"pipelineExecutionSummaries\": [\n"
            "        {\n"
            "            \"pipelineExecutionId\": \"e\",\n"
            "            \"status\": \"Failed\",\n"
            "            \"statusSummary\": \"s\",\n"
            "            \"startTime\": 1.5,\n"
            "            \"trigger\": {\n"
            "                \"triggerType\": \"t\",\n"
            "                \"triggerDetail\": \"d\"\n"
            "            }\n"
            "        }\n"
            "    ],\n"
            "    \"nextToken\": \"n\"\n"
            "}");
  EXPECT_EQ(order_like_botocore(nullptr, json::parse(R"({"b":1,"a":2})")),
            json::parse(R"({"b":1,"a":2})"));
}

}  // namespace
}  // namespace stageline::cli
