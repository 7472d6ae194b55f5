#include "model/pipeline_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace stageline::model {
namespace {

namespace json = boost::json;

const json::object& botocore_shapes() {
  static const json::value model = [] {
    std::ifstream in(STAGELINE_TEST_DATA "/botocore/codepipeline/2015-07-09/service-2.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
  }();
  return model.at("shapes").as_object();
}

// Every structure shape reachable from `root` in the botocore model.
std::set<std::string> reachable_structures(const std::string& root) {
  const auto& shapes = botocore_shapes();
  std::set<std::string> seen, structures;
  std::function<void(const std::string&)> walk = [&](const std::string& name) {
    if (!seen.insert(name).second) return;
    const auto& s = shapes.at(name).as_object();
    std::string type(s.at("type").as_string());
    if (type == "structure") {
      structures.insert(name);
      for (const auto& m : s.at("members").as_object())
        walk(std::string(m.value().at("shape").as_string()));
    } else if (type == "list") {
      walk(std::string(s.at("member").at("shape").as_string()));
    } else if (type == "map") {
      walk(std::string(s.at("value").at("shape").as_string()));
    }
  };
  walk(root);
  return structures;
}

TEST(ModelCoverageTest, EveryMemberReachableFromPipelineDeclarationIsDecoded) {
  auto structures = reachable_structures("PipelineDeclaration");
  structures.insert("Tag");
  ASSERT_GT(structures.size(), 20u);
  for (const auto& name : structures) {
    SCOPED_TRACE(name);
    auto it = decoded_shapes().find(name);
    ASSERT_NE(it, decoded_shapes().end()) << "shape " << name << " is not modelled";
    std::set<std::string> ours(it->second.begin(), it->second.end());
    std::set<std::string> theirs;
    for (const auto& m : botocore_shapes().at(name).at("members").as_object())
      theirs.insert(std::string(m.key()));
    EXPECT_EQ(ours, theirs);
  }
}

// Builds a document in which every optional member of every shape is present,
// with a value the shape accepts, so that decode+encode must carry each one.
json::value maximal(const std::string& shape_name, int depth = 0) {
  const auto& s = botocore_shapes().at(shape_name).as_object();
  std::string type(s.at("type").as_string());
  if (type == "structure") {
    json::object o;
    for (const auto& m : s.at("members").as_object())
      o[m.key()] = maximal(std::string(m.value().at("shape").as_string()), depth + 1);
    return o;
  }
  if (type == "list") {
    json::array a;
    a.push_back(maximal(std::string(s.at("member").at("shape").as_string()), depth + 1));
    return a;
  }
  if (type == "map") {
    json::object o;
    o["k-" + std::to_string(depth)] =
        maximal(std::string(s.at("value").at("shape").as_string()), depth + 1);
    return o;
  }
  if (type == "integer") return s.contains("min") ? s.at("min").as_int64() : 7;
  if (type == "string") {
    if (s.contains("enum")) {
      const auto& e = s.at("enum").as_array();
      return e.back();
    }
    return json::string("v-" + shape_name);
  }
  ADD_FAILURE() << "unexpected type " << type << " in " << shape_name;
  return nullptr;
}

TEST(ModelCoverageTest, ADocumentWithEveryMemberSurvivesDecodeAndEncode) {
  json::value doc = maximal("PipelineDeclaration");
  auto decoded = decode_pipeline(doc);
  for (const auto& e : decoded.errors) ADD_FAILURE() << e.path << ": " << e.message;
  EXPECT_EQ(encode_pipeline(decoded.value), doc) << json::serialize(doc) << "\n!=\n"
                                                 << json::serialize(encode_pipeline(decoded.value));
}

TEST(PipelineJsonTest, UnknownMemberIsReportedWithTheClosestName) {
  auto d = decode_pipeline(json::parse(
      R"({"name":"p","roleArn":"r","stages":[{"name":"s","actions":[],"blokers":[]}]})"));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].kind, DecodeError::Kind::kUnknownMember);
  EXPECT_EQ(d.errors[0].path, "stages[0].blokers");
  EXPECT_NE(d.errors[0].fix.find("'blockers'"), std::string::npos);
}

TEST(PipelineJsonTest, WrongTypesAreCollectedWithPathsAndDecodingGoesOn) {
  auto d = decode_pipeline(json::parse(R"({"name":5,"roleArn":"r","stages":[{"name":"s",
      "actions":[{"name":"a","actionTypeId":{"category":"Build","owner":"AWS","provider":"P",
      "version":"1"},"runOrder":"2","configuration":{"PollForSourceChanges":false}}]}]})"));
  ASSERT_EQ(d.errors.size(), 3u);
  EXPECT_EQ(d.errors[0].path, "name");
  EXPECT_EQ(d.errors[1].path, "stages[0].actions[0].runOrder");
  EXPECT_EQ(d.errors[2].path, "stages[0].actions[0].configuration.PollForSourceChanges");
  EXPECT_NE(d.errors[2].fix.find("\"false\""), std::string::npos);
  EXPECT_EQ(d.value.stages[0].actions[0].action_type_id.category, ActionCategory::kBuild);
}

TEST(PipelineJsonTest, EnumAndRequiredErrorsUseAwsMessageStyle) {
  auto d = decode_pipeline(json::parse(R"({"name":"p","stages":[{"name":"s","actions":[
      {"name":"a","actionTypeId":{"category":"build","owner":"AWS","provider":"P","version":"1"}}]}]})"));
  ASSERT_EQ(d.errors.size(), 2u);
  EXPECT_EQ(d.errors[0].message,
            "Value null at 'pipeline.roleArn' failed to satisfy constraint: Member must not be "
            "null");
  EXPECT_EQ(d.errors[1].message,
            "Value 'build' at 'pipeline.stages.1.member.actions.1.member.actionTypeId.category' "
            "failed to satisfy constraint: Member must satisfy enum value set: [Source, Build, "
            "Deploy, Test, Invoke, Approval, Compute]");
  EXPECT_NE(d.errors[1].fix.find("'Build'"), std::string::npos);
}

TEST(PipelineJsonTest, CoralPathIsOneBasedWithMember) {
  EXPECT_EQ(coral_path("stages[1].actions[0].name"),
            "pipeline.stages.2.member.actions.1.member.name");
  EXPECT_EQ(coral_path(""), "pipeline");
  EXPECT_EQ(coral_path("stages[0].actions[0].configuration[\"a.b\"]"),
            "pipeline.stages.1.member.actions.1.member.configuration");
}

TEST(PipelineJsonTest, AbsentOptionalMembersStayAbsentAndEmptyListsStayEmpty) {
  json::value doc = json::parse(R"({"name":"p","roleArn":"r","stages":[{"name":"s","actions":[
      {"name":"a","actionTypeId":{"category":"Source","owner":"AWS","provider":"S3","version":"1"},
       "inputArtifacts":[],"configuration":{}}]}]})");
  auto d = decode_pipeline(doc);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d.value.stages[0].actions[0].run_order.has_value());
  EXPECT_EQ(encode_pipeline(d.value), doc);
}

}  // namespace
}  // namespace stageline::model
