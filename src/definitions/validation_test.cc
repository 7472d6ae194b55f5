#include "definitions/validation.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "model/pipeline_json.h"

namespace stageline::definitions {
namespace {

namespace json = boost::json;

model::PipelineDeclaration decl(const char* text) {
  auto d = model::decode_pipeline(json::parse(text));
  EXPECT_TRUE(d.ok()) << (d.errors.empty() ? "" : d.errors[0].message);
  return d.value;
}

// Source -> Build -> Deploy, the seed's shape, in API JSON.
const char* const kSeed = R"({
  "name": "seed", "roleArn": "arn:aws:iam::123456789012:role/R",
  "artifactStore": {"type": "S3", "location": "bucket"},
  "stages": [
    {"name": "Source", "actions": [{"name": "Src",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
      "configuration": {"RepositoryName": "r", "BranchName": "main"},
      "outputArtifacts": [{"name": "SourceOut"}], "namespace": "SrcVars"}]},
    {"name": "Build", "actions": [{"name": "Compile",
      "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
      "configuration": {"ProjectName": "p"},
      "inputArtifacts": [{"name": "SourceOut"}], "outputArtifacts": [{"name": "BuildOut"}]}]},
    {"name": "Deploy", "actions": [
      {"name": "Approve", "runOrder": 1,
       "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
       "configuration": {"CustomData": "commit #{SrcVars.CommitId}"}},
      {"name": "Ship", "runOrder": 2,
       "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"},
       "configuration": {"ApplicationName": "a", "DeploymentGroupName": "g"},
       "inputArtifacts": [{"name": "BuildOut"}]}]}]})";

std::vector<Problem> errors(const Problems& all) {
  std::vector<Problem> out;
  for (const auto& p : all)
    if (p.severity == Severity::kError) out.push_back(p);
  return out;
}

size_t not_runnable(const std::vector<Problem>& problems) {
  size_t n = 0;
  for (const auto& p : problems) n += p.rule == "action.not-runnable";
  return n;
}

// The seed's Ship action, deploying with CloudFormation instead of CodeDeploy:
// a provider Stageline cannot run yet.
model::PipelineDeclaration seed_with_cloudformation() {
  auto p = decl(kSeed);
  auto& ship = p.stages[2].actions[1];
  ship.action_type_id.provider = "CloudFormation";
  ship.configuration = model::StringMap{{"ActionMode", "CREATE_UPDATE"},
                                        {"StackName", "app"},
                                        {"TemplatePath", "BuildOut::template.yml"},
                                        {"RoleArn", "arn:aws:iam::111122223333:role/cfn"}};
  return p;
}

TEST(ValidationTest, TheSeedShapeIsValidAndEveryOneOfItsProvidersRuns) {
  auto problems = validate_pipeline(decl(kSeed));
  EXPECT_TRUE(errors(problems).empty());
  EXPECT_EQ(not_runnable(problems), 0u);
}

TEST(ValidationTest, AProviderNotRunnableYetIsAWarning) {
  auto problems = validate_pipeline(seed_with_cloudformation());
  EXPECT_TRUE(errors(problems).empty());
  EXPECT_EQ(not_runnable(problems), 1u);
}

TEST(ValidationTest, StrictTurnsWarningsIntoErrors) {
  ValidateOptions strict;
  strict.strict = true;
  auto problems = validate_pipeline(seed_with_cloudformation(), strict);
  EXPECT_EQ(errors(problems).size(), 1u);
}

TEST(ValidationTest, AMisspelledInputNamesTheClosestOutputAndWhereItIsMade) {
  auto p = decl(kSeed);
  (*p.stages[2].actions[1].input_artifacts)[0].name = "BuildOutput";
  auto e = errors(validate_pipeline(p));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].path, "stages[2].actions[1].inputArtifacts[0].name");
  EXPECT_EQ(e[0].type, ErrorType::kInvalidActionDeclarationException);
  EXPECT_NE(e[0].message.find("BuildOutput"), std::string::npos);
  EXPECT_NE(e[0].fix.find("'BuildOut'"), std::string::npos);
  EXPECT_NE(e[0].fix.find("action 'Compile' in stage 'Build'"), std::string::npos);
  EXPECT_NE(e[0].fix.find("stages[1].actions[0].outputArtifacts[0].name"), std::string::npos);
}

TEST(ValidationTest, ACaseOnlyMismatchIsSuggested) {
  auto p = decl(kSeed);
  (*p.stages[1].actions[0].input_artifacts)[0].name = "sourceout";
  auto e = errors(validate_pipeline(p));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].fix.find("'SourceOut'"), std::string::npos) << e[0].fix;
}

TEST(ValidationTest, EveryProblemIsReportedAtOnce) {
  auto p = decl(kSeed);
  p.name = "bad name";
  p.stages[1].name = "Source";
  (*p.stages[2].actions[1].input_artifacts)[0].name = "Nope";
  p.stages[2].actions[0].run_order = 0;
  p.stages[1].actions[0].configuration->erase("ProjectName");
  auto e = errors(validate_pipeline(p));
  std::set<std::string> rules;
  for (const auto& x : e) rules.insert(x.rule);
  EXPECT_EQ(rules, (std::set<std::string>{"shape.pattern", "stage.duplicate-name",
                                          "artifact.input-not-produced", "shape.range",
                                          "action.config-required"}));
}

TEST(ValidationTest, ParallelActionsCannotConsumeEachOthersOutputsButLaterGroupsCan) {
  auto p = decl(kSeed);
  auto& deploy = p.stages[2].actions;
  deploy[1].run_order = 1;  // same group as the approval
  deploy[0].output_artifacts = std::vector<model::OutputArtifact>{{"Approved", std::nullopt}};
  deploy[1].input_artifacts->push_back({"Approved"});
  auto e = errors(validate_pipeline(p));
  ASSERT_FALSE(e.empty());
  bool found = false;
  for (const auto& x : e)
    found = found || (x.rule == "artifact.input-not-produced" &&
                      x.message.find("does not run before it") != std::string::npos);
  EXPECT_TRUE(found);
}

TEST(ValidationTest, UnknownConfigurationKeysAreWarningsWithSuggestions) {
  auto p = decl(kSeed);
  (*p.stages[1].actions[0].configuration)["ProjectNmae"] = "x";
  auto problems = validate_pipeline(p);
  bool warned = false;
  for (const auto& x : problems)
    if (x.rule == "action.config-unknown") {
      warned = true;
      EXPECT_EQ(x.severity, Severity::kWarning);
      EXPECT_NE(x.fix.find("'ProjectName'"), std::string::npos);
    }
  EXPECT_TRUE(warned);
}

TEST(ValidationTest, MissingRequiredKeySuggestsRenamingTheNearMiss) {
  auto p = decl(kSeed);
  auto& cfg = *p.stages[1].actions[0].configuration;
  cfg.erase("ProjectName");
  cfg["projectname"] = "x";
  for (const auto& x : errors(validate_pipeline(p)))
    if (x.rule == "action.config-required") {
      EXPECT_NE(x.fix.find("rename 'projectname' to 'ProjectName'"), std::string::npos) << x.fix;
    }
}

TEST(ValidationTest, VariableFromTheSameRunOrderGroupIsNotVisible) {
  auto p = decl(kSeed);
  p.stages[2].actions[1].namespace_ = "ShipVars";
  (*p.stages[2].actions[0].configuration)["CustomData"] = "#{ShipVars.x}";
  auto e = errors(validate_pipeline(p));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].rule, "variable.not-earlier");
}

TEST(ValidationTest, TagsFollowTheTagRules) {
  std::vector<model::Tag> tags = {{"aws:x", "v"}, {"", "v"}, {"ok", std::string(300, 'v')}};
  auto problems = validate_tags(tags, "tags");
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].type, ErrorType::kInvalidTagsException);
}

TEST(ValidationTest, EveryEmittedRuleIsDocumented) {
  std::set<std::string> documented;
  for (const auto& r : validation_rules()) {
    EXPECT_TRUE(documented.insert(std::string(r.id)).second) << "listed twice: " << r.id;
  }
  auto p = decl(kSeed);
  p.stages.push_back(p.stages[0]);
  for (const auto& x : validate_pipeline(p)) EXPECT_TRUE(documented.count(x.rule)) << x.rule;
}

}  // namespace
}  // namespace stageline::definitions
