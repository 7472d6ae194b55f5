#include "api/wire/model.h"

#include <gtest/gtest.h>

#include "api/wire/embedded.h"

namespace stageline::wire {
namespace {

TEST(ServiceModel, CodePipelineHasItsMetadataAndAll44Operations) {
  const ServiceModel& model = codepipeline_model();
  EXPECT_EQ(model.metadata().target_prefix, "CodePipeline_20150709");
  EXPECT_EQ(model.metadata().json_version, "1.1");
  EXPECT_EQ(model.metadata().signing_name, "codepipeline");
  EXPECT_EQ(model.operations().size(), 44u);
  const Operation* list = model.find_operation("ListPipelines");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->input->name, "ListPipelinesInput");
  EXPECT_EQ(list->output->name, "ListPipelinesOutput");
  EXPECT_EQ(model.find_operation("DeletePipeline")->output, nullptr);
}

TEST(ServiceModel, KeepsConstraintsMembersInOrderAndContainerShapes) {
  const ServiceModel& model = codepipeline_model();
  const Shape* name = model.find_shape("ActionName");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->min->i, 1);
  EXPECT_EQ(name->max->i, 100);
  EXPECT_EQ(name->pattern->source(), R"([A-Za-z0-9.@\-_]+)");
  const Shape* decl = model.find_shape("PipelineDeclaration");
  ASSERT_GE(decl->members.size(), 4u);
  EXPECT_EQ(decl->members[0].name, "name");
  EXPECT_TRUE(decl->members[0].required);
  EXPECT_EQ(model.find_shape("PipelineStageDeclarationList")->list_member->name,
            "StageDeclaration");
  const Shape* config = model.find_shape("ActionConfigurationMap");
  EXPECT_EQ(config->map_key->name, "ActionConfigurationKey");
  EXPECT_EQ(config->map_value->name, "ActionConfigurationValue");
  EXPECT_TRUE(config->sensitive);  // marked by codepipeline_model()
  EXPECT_EQ(model.find_shape("StageTransitionType")->enum_values,
            (std::vector<std::string>{"Inbound", "Outbound"}));
  EXPECT_EQ(model.find_shape("Timestamp")->type, ShapeType::kTimestamp);
  EXPECT_TRUE(model.find_shape("PipelineNotFoundException")->exception);
  EXPECT_TRUE(model.find_shape("SecretAccessKey")->sensitive);
}

TEST(ServiceModel, EveryEmbeddedModelParses) {
  ASSERT_GE(embedded_models().size(), 3u);
  for (const EmbeddedModel& m : embedded_models()) {
    Result<ServiceModel> parsed = ServiceModel::parse(m.json);
    ASSERT_TRUE(parsed.ok()) << m.service << ": " << parsed.status().message();
    EXPECT_FALSE(parsed->operations().empty()) << m.service;
  }
  EXPECT_EQ(find_embedded_model("codestar-connections")->api_version, "2019-12-01");
  EXPECT_EQ(find_embedded_model("s3"), nullptr);
}

TEST(ServiceModel, RefusesMalformedModelsWithTheReason) {
  auto parse = [](const char* text) { return ServiceModel::parse(text).status().message(); };
  const std::string meta =
      R"("metadata":{"protocol":"json","targetPrefix":"T","jsonVersion":"1.1"})";
  EXPECT_NE(parse("{").find("parse service model"), std::string::npos);
  EXPECT_NE(parse(("{" + meta +
                   R"(,"operations":{},"shapes":{"A":{"type":"list","member":{"shape":"B"}}}})")
                      .c_str())
                .find("unknown shape 'B'"),
            std::string::npos);
  EXPECT_NE(
      parse(("{" + meta + R"(,"operations":{},"shapes":{"A":{"type":"quaternion"}}})").c_str())
          .find("unknown type 'quaternion'"),
      std::string::npos);
  EXPECT_NE(parse(R"({"metadata":{"protocol":"rest-xml"},"operations":{},"shapes":{}})")
                .find("is not json"),
            std::string::npos);
  EXPECT_NE(
      parse(
          ("{" + meta +
           R"(,"operations":{},"shapes":{"A":{"type":"structure","required":["x"],"members":{}}}})")
              .c_str())
          .find("required member 'x'"),
      std::string::npos);
}

}  // namespace
}  // namespace stageline::wire
