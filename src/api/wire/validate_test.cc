#include "api/wire/validate.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "api/wire/embedded.h"
#include "api/wire/wire.h"

namespace stageline::wire {
namespace {

namespace json = boost::json;

// Dispatches `body` to CodePipeline's `operation`; returns the error message
// ("" when the call is valid).
struct Answer {
  std::string type;
  std::string message;
  json::object input;
  std::vector<std::string> warnings;
};

Answer call(const std::string& operation, const std::string& body) {
  const Dispatcher dispatcher(codepipeline_model());
  const std::string target = "CodePipeline_20150709." + operation;
  Request r;
  r.target = target;
  r.content_type = "application/x-amz-json-1.1";
  r.body = body;
  Outcome<Call> out = dispatcher.dispatch(r);
  Answer a;
  if (out.ok()) {
    a.input = out->input;
    a.warnings = out->warnings;
  } else {
    a.type = out.error().type;
    a.message = out.error().message;
  }
  return a;
}

std::string validation(const std::string& operation, const std::string& body) {
  Answer a = call(operation, body);
  EXPECT_EQ(a.type, a.message.empty() ? "" : "ValidationException") << a.message;
  return a.message;
}

std::string serialization(const std::string& operation, const std::string& body) {
  Answer a = call(operation, body);
  EXPECT_EQ(a.type, "SerializationException") << a.message;
  return a.message;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json::object seed_input() {
  const std::string text = read_file(STAGELINE_SOURCE_DIR "/examples/seed-pipeline.json");
  EXPECT_FALSE(text.empty());
  json::value v = json::parse(text);
  // The example may be the declaration itself or the CreatePipeline input.
  if (!v.as_object().contains("pipeline")) return json::object{{"pipeline", v}};
  return v.as_object();
}

TEST(Validation, TheSeedPipelineIsAValidCreatePipelineInput) {
  Answer a = call("CreatePipeline", json::serialize(seed_input()));
  EXPECT_EQ(a.type, "") << a.message;
  EXPECT_TRUE(a.warnings.empty());
}

TEST(Validation, AMissingRequiredMemberIsNull) {
  EXPECT_EQ(validation("GetPipeline", "{}"),
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: "
            "Member must not be null");
  EXPECT_EQ(validation("GetPipeline", R"({"name":null})"),
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: "
            "Member must not be null");
}

TEST(Validation, StringLengthAndPatternAreSeparateErrorsInThatOrder) {
  EXPECT_EQ(validation("GetPipeline", R"({"name":""})"),
            "2 validation errors detected: Value '' at 'name' failed to satisfy constraint: Member "
            "must have length greater than or equal to 1; Value '' at 'name' failed to satisfy "
            R"(constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\-_]+)");
  EXPECT_EQ(validation("GetPipeline", "{\"name\":\"" + std::string(101, 'a') + "\"}"),
            "1 validation error detected: Value '" + std::string(101, 'a') +
                "' at 'name' failed to satisfy constraint: Member must have length less than or "
                "equal to 100");
}

TEST(Validation, LengthCountsCodePointsNotBytes) {
  // 100 two-byte characters: 200 bytes, 100 code points (pattern fails,
  // length does not).
  std::string name;
  for (int i = 0; i < 100; ++i) name += "\xC3\xA9";
  const std::string message = validation("GetPipeline", "{\"name\":\"" + name + "\"}");
  EXPECT_EQ(message.find("length"), std::string::npos) << message;
  EXPECT_NE(message.find("regular expression"), std::string::npos) << message;
}

TEST(Validation, NestedPathsUseOneBasedIndexesAndMember) {
  json::object input = seed_input();
  input["pipeline"].as_object()["stages"].as_array()[1].as_object()["name"] = "Build it";
  EXPECT_EQ(
      validation("CreatePipeline", json::serialize(input)),
      "1 validation error detected: Value 'Build it' at 'pipeline.stages.2.member.name' "
      R"(failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\-_]+)");
}

TEST(Validation, EnumValuesAreListedInModelOrder) {
  EXPECT_EQ(validation("EnableStageTransition",
                       R"({"pipelineName":"p","stageName":"s","transitionType":"Sideways"})"),
            "1 validation error detected: Value 'Sideways' at 'transitionType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Inbound, Outbound]");
}

TEST(Validation, IntegerRangesQuoteTheValue) {
  EXPECT_EQ(validation("ListPipelines", R"({"maxResults":0})"),
            "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1");
  EXPECT_EQ(validation("ListPipelines", R"({"maxResults":1001})"),
            "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy "
            "constraint: Member must have value less than or equal to 1000");
  EXPECT_EQ(validation("ListPipelines", R"({"maxResults":1000})"), "");
}

TEST(Validation, PascalCaseMembersAreReportedLowerFirst) {
  EXPECT_EQ(validation("ListWebhooks", R"({"MaxResults":0})"),
            "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1");
}

TEST(Validation, ListLengthRendersTheList) {
  EXPECT_EQ(validation("StartPipelineExecution", R"({"name":"p","variables":[]})"),
            "1 validation error detected: Value '[]' at 'variables' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1");
}

TEST(Validation, AListOfScalarsIsJudgedOnceWithEveryMemberConstraint) {
  EXPECT_EQ(validation("UntagResource",
                       R"({"resourceArn":"arn:aws:codepipeline:us-east-1:123456789012:p",)"
                       R"("tagKeys":["a","",""]})"),
            "1 validation error detected: Value '[a, , ]' at 'tagKeys' failed to satisfy "
            "constraint: Member must satisfy constraint: [Member must have length less than or "
            "equal to 128, Member must have length greater than or equal to 1]");
}

TEST(Validation, ConfigurationMapValuesAreJudgedOnceAndNotEchoed) {
  json::object input = seed_input();
  json::object& action = input["pipeline"]
                             .as_object()["stages"]
                             .as_array()[0]
                             .as_object()["actions"]
                             .as_array()[0]
                             .as_object();
  action["configuration"].as_object()["BranchName"] = "";
  EXPECT_EQ(validation("CreatePipeline", json::serialize(input)),
            "1 validation error detected: Value at "
            "'pipeline.stages.1.member.actions.1.member.configuration' failed to satisfy "
            "constraint: Map value must satisfy constraint: [Member must have length less than or "
            "equal to 1000, Member must have length greater than or equal to 1]");
  action["configuration"].as_object()["BranchName"] = "main";
  action["configuration"].as_object()[""] = "x";
  EXPECT_EQ(validation("CreatePipeline", json::serialize(input)),
            "1 validation error detected: Value at "
            "'pipeline.stages.1.member.actions.1.member.configuration' failed to satisfy "
            "constraint: Map keys must satisfy constraint: [Member must have length less than or "
            "equal to 50, Member must have length greater than or equal to 1]");
}

TEST(Validation, MapEntriesOfStructuresArePathedByKey) {
  json::object input = seed_input();
  json::object& pipeline = input["pipeline"].as_object();
  pipeline.erase("artifactStore");
  pipeline["artifactStores"] = json::object{{"us-east-1", json::object{{"type", "S3"}}}};
  EXPECT_EQ(validation("CreatePipeline", json::serialize(input)),
            "1 validation error detected: Value null at "
            "'pipeline.artifactStores.us-east-1.member.location' failed to satisfy constraint: "
            "Member must not be null");
}

TEST(Validation, SeveralErrorsAreJoinedInModelOrderAndCappedAtTen) {
  EXPECT_EQ(validation("DisableStageTransition", R"({"transitionType":"Up"})"),
            "4 validation errors detected: "
            "Value null at 'pipelineName' failed to satisfy constraint: Member must not be null; "
            "Value null at 'stageName' failed to satisfy constraint: Member must not be null; "
            "Value 'Up' at 'transitionType' failed to satisfy constraint: Member must satisfy "
            "enum value set: [Inbound, Outbound]; "
            "Value null at 'reason' failed to satisfy constraint: Member must not be null");
  json::object input = seed_input();
  json::array& stages = input["pipeline"].as_object()["stages"].as_array();
  json::value stage = stages[0];
  stage.as_object()["name"] = "bad name";
  stages.clear();
  for (int i = 0; i < 12; ++i) stages.push_back(stage);
  const std::string message = validation("CreatePipeline", json::serialize(input));
  EXPECT_TRUE(message.starts_with("10 validation errors detected: ")) << message;
  EXPECT_NE(message.find("pipeline.stages.10.member.name"), std::string::npos);
  EXPECT_EQ(message.find("pipeline.stages.11.member.name"), std::string::npos);
}

TEST(Deserialization, WrongTypesAtEveryDepthAreSerializationErrors) {
  EXPECT_EQ(serialization("CreatePipeline", R"({"pipeline":"x"})"), "Expected null");
  EXPECT_EQ(serialization("CreatePipeline", R"({"pipeline":[]})"),
            "Start of list found where not expected");
  EXPECT_EQ(serialization("CreatePipeline", R"({"pipeline":{"stages":{}}})"),
            "Start of structure or map found where not expected.");
  EXPECT_EQ(serialization("CreatePipeline", R"({"pipeline":{"stages":"Source"}})"),
            "Expected list or null");
  EXPECT_EQ(serialization("CreatePipeline",
                          R"({"pipeline":{"stages":[{"actions":[{"runOrder":"1"}]}]}})"),
            "class java.lang.String can not be converted to an Integer");
  EXPECT_EQ(serialization("CreatePipeline",
                          R"({"pipeline":{"stages":[{"actions":[{"configuration":5}]}]}})"),
            "Expected map or null");
  EXPECT_EQ(
      serialization("CreatePipeline",
                    R"({"pipeline":{"stages":[{"actions":[{"configuration":{"a":true}}]}]}})"),
      "class java.lang.Boolean can not be converted to an String");
  EXPECT_EQ(serialization("GetPipeline", R"({"name":5})"),
            "class java.lang.Short can not be converted to an String");
  EXPECT_EQ(serialization("GetPipeline", R"({"name":-2147483648})"),
            "class java.lang.Integer can not be converted to an String");
  EXPECT_EQ(serialization("GetPipeline", R"({"name":2147483648})"),
            "class java.lang.Long can not be converted to an String");
  EXPECT_EQ(serialization("GetPipeline", R"({"name":34.56})"),
            "class java.lang.Double can not be converted to an String");
  EXPECT_EQ(serialization("GetPipeline", R"({"name":["p"]})"),
            "Start of list found where not expected");
  EXPECT_EQ(serialization("ListPipelines", R"({"maxResults":3000000000})"),
            "class java.lang.Long can not be converted to an Integer");
  EXPECT_EQ(serialization("ListPipelines", R"({"maxResults":true})"),
            "class java.lang.Boolean can not be converted to an Integer");
  EXPECT_EQ(serialization("StopPipelineExecution",
                          R"({"pipelineName":"p","pipelineExecutionId":"x","abandon":"yes"})"),
            "'YES' can not be converted to an Boolean");
  EXPECT_EQ(serialization("StopPipelineExecution",
                          R"({"pipelineName":"p","pipelineExecutionId":"x","abandon":1})"),
            "class java.lang.Short can not be converted to an Boolean");
  EXPECT_EQ(serialization("ListPipelines", "[]"), "Start of list found where not expected");
}

TEST(Deserialization, NormalizesWhatAwsAccepts) {
  Answer a = call("ListPipelines", R"({"maxResults":10.7,"nextToken":null})");
  ASSERT_EQ(a.type, "") << a.message;
  EXPECT_EQ(a.input.at("maxResults").as_int64(), 10);
  EXPECT_FALSE(a.input.contains("nextToken"));
  a = call("StopPipelineExecution",
           R"({"pipelineName":"p","pipelineExecutionId":"3137f7cb-7cf7-439a-b83c-d7ee30123456",)"
           R"("abandon":"TRUE"})");
  ASSERT_EQ(a.type, "") << a.message;
  EXPECT_EQ(a.input.at("abandon"), json::value(true));
}

TEST(Deserialization, UnknownMembersAreIgnoredButReported) {
  Answer a = call("GetPipeline", R"({"name":"p","Name":"q","extra":{"deep":1}})");
  ASSERT_EQ(a.type, "") << a.message;
  EXPECT_EQ(a.input, (json::object{{"name", "p"}}));
  EXPECT_EQ(a.warnings, (std::vector<std::string>{"ignored unknown member 'Name'",
                                                  "ignored unknown member 'extra'"}));
  json::object input = seed_input();
  input["pipeline"].as_object()["stages"].as_array()[0].as_object()["color"] = "blue";
  a = call("CreatePipeline", json::serialize(input));
  ASSERT_EQ(a.type, "") << a.message;
  EXPECT_EQ(a.warnings,
            (std::vector<std::string>{"ignored unknown member 'pipeline.stages[0].color'"}));
}

TEST(Deserialization, BlobsMustBeBase64) {
  Shape blob;
  blob.name = "B";
  blob.type = ShapeType::kBlob;
  Shape input;
  input.name = "In";
  input.type = ShapeType::kStructure;
  input.members.push_back(Member{"data", &blob, false, "", false});
  EXPECT_EQ(decode_input(&input, json::parse(R"({"data":"23456"})")).error().message,
            "'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple "
            "of 4 bytes but found: 5");
  EXPECT_EQ(decode_input(&input, json::parse(R"({"data":"=+/="})")).error().message,
            "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='");
  EXPECT_TRUE(decode_input(&input, json::parse(R"({"data":"aGk="})")).ok());
}

}  // namespace
}  // namespace stageline::wire
