#include "definitions/catalogue.h"

#include <gtest/gtest.h>

#include <set>

namespace stageline::definitions {
namespace {

using model::ActionCategory;
using model::ActionOwner;

TEST(CatalogueTest, FindsTheSeedsProvidersWithTheirArtifactBounds) {
  const auto& c = Catalogue::builtin();
  auto* build = c.find({ActionCategory::kBuild, ActionOwner::kAws, "CodeBuild", "1"});
  ASSERT_NE(build, nullptr);
  EXPECT_EQ(build->input.min, 1);
  EXPECT_EQ(build->input.max, 5);
  EXPECT_EQ(build->required_config, std::vector<std::string>{"ProjectName"});
  auto* source =
      c.find({ActionCategory::kSource, ActionOwner::kAws, "CodeStarSourceConnection", "1"});
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->output.min, 1);
  EXPECT_EQ(source->output.max, 1);
  EXPECT_EQ(c.find({ActionCategory::kDeploy, ActionOwner::kAws, "CodeBuild", "1"}), nullptr);
  EXPECT_EQ(c.find({ActionCategory::kBuild, ActionOwner::kAws, "CodeBuild", "2"}), nullptr);
}

TEST(CatalogueTest, EveryTypeThatCannotRunSaysWhyAndTypesAreUnique) {
  std::set<std::string> ids;
  for (const auto& t : Catalogue::builtin().action_types()) {
    std::string id = std::string(model::to_string(t.category)) + "/" +
                     std::string(model::to_string(t.owner)) + "/" + t.provider + "/" + t.version;
    EXPECT_TRUE(ids.insert(id).second) << id;
    if (!t.runnable) {
      EXPECT_FALSE(t.not_runnable.empty()) << id;
    }
    EXPECT_LE(t.input.min, t.input.max) << id;
    EXPECT_LE(t.output.min, t.output.max) << id;
  }
  EXPECT_GE(ids.size(), 25u);
}

TEST(CatalogueTest, RuleTypesKnowWhichAllowSkip) {
  const auto& c = Catalogue::builtin();
  EXPECT_TRUE(c.find_rule("VariableCheck")->allows_skip);
  EXPECT_FALSE(c.find_rule("Commands")->allows_skip);
  EXPECT_FALSE(c.find_rule("CloudWatchAlarm")->supported);
  EXPECT_EQ(c.find_rule("Nope"), nullptr);
}

TEST(CatalogueTest, CustomActionTypesCanBeAdded) {
  Catalogue c = Catalogue::builtin();
  ActionTypeInfo jenkins;
  jenkins.category = ActionCategory::kBuild;
  jenkins.owner = ActionOwner::kCustom;
  jenkins.provider = "Jenkins";
  jenkins.input = {0, 5};
  jenkins.output = {0, 5};
  c.add(jenkins);
  EXPECT_NE(c.find({ActionCategory::kBuild, ActionOwner::kCustom, "Jenkins", "1"}), nullptr);
  EXPECT_EQ(
      Catalogue::builtin().find({ActionCategory::kBuild, ActionOwner::kCustom, "Jenkins", "1"}),
      nullptr);
}

}  // namespace
}  // namespace stageline::definitions
