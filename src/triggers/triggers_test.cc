#include "triggers/triggers.h"

#include <gtest/gtest.h>

namespace stageline::triggers {
namespace {

using model::TriggerType;

model::ActionDeclaration source(std::string name, std::string provider, model::StringMap config) {
  model::ActionDeclaration a;
  a.name = std::move(name);
  a.action_type_id = {model::ActionCategory::kSource, model::ActionOwner::kAws, std::move(provider),
                      "1"};
  a.configuration = std::move(config);
  a.output_artifacts = std::vector<model::OutputArtifact>{{"Code", std::nullopt}};
  return a;
}

model::PipelineDeclaration pipeline(std::vector<model::ActionDeclaration> sources) {
  model::PipelineDeclaration p;
  p.name = "app";
  model::StageDeclaration s;
  s.name = "Source";
  s.actions = std::move(sources);
  p.stages.push_back(s);
  return p;
}

constexpr char kConnection[] = "arn:aws:codestar-connections:us-east-1:111122223333:connection/c1";

model::ActionDeclaration connection_source(std::string name = "Src",
                                           std::string detect_changes = "") {
  model::StringMap c{
      {"ConnectionArn", kConnection}, {"FullRepositoryId", "team/app"}, {"BranchName", "main"}};
  if (!detect_changes.empty()) c["DetectChanges"] = detect_changes;
  return source(std::move(name), "CodeStarSourceConnection", c);
}

PushEvent connection_push(std::string ref,
                          std::optional<std::vector<std::string>> files = std::nullopt) {
  PushEvent e;
  e.provider = "CodeStarSourceConnection";
  e.repository = "team/app";
  e.connection_arn = kConnection;
  e.ref = std::move(ref);
  e.commit_id = "c0ffee";
  e.changed_files = std::move(files);
  return e;
}

model::PipelineTriggerDeclaration trigger(std::vector<model::GitPushFilter> push) {
  model::PipelineTriggerDeclaration t;
  t.git_configuration.source_action_name = "Src";
  t.git_configuration.push = std::move(push);
  return t;
}

std::vector<std::string> started(const model::PipelineDeclaration& p, const PushEvent& e) {
  auto r = match_push(p, e);
  EXPECT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> names;
  if (r.ok())
    for (const auto& s : *r) names.push_back(s.action_name);
  return names;
}

TEST(Triggers, APushToACodeCommitSourcesBranchStartsItWithThatCommit) {
  auto p =
      pipeline({source("Src", "CodeCommit", {{"RepositoryName", "app"}, {"BranchName", "main"}})});
  PushEvent e;
  e.provider = "CodeCommit";
  e.repository = "app";
  e.ref = "refs/heads/main";
  e.commit_id = "abc123";
  e.repository_arn = "arn:aws:codecommit:us-east-1:111122223333:app";
  auto r = match_push(p, e);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->at(0).action_name, "Src");
  EXPECT_EQ(r->at(0).commit_id, "abc123");
  EXPECT_EQ(r->at(0).trigger, TriggerType::kPollForSourceChanges);
  EXPECT_EQ(r->at(0).trigger_detail, e.repository_arn);

  e.ref = "refs/heads/dev";
  EXPECT_TRUE(started(p, e).empty()) << "another branch";
  e.ref = "refs/tags/main";
  EXPECT_TRUE(started(p, e).empty()) << "a tag, even one named like the branch";
  e.ref = "refs/heads/main";
  e.repository = "other";
  EXPECT_TRUE(started(p, e).empty()) << "another repository";
}

TEST(Triggers, ACodeCommitSourceThatDoesNotPollIsStartedAsByAnEventRule) {
  auto p = pipeline({source(
      "Src", "CodeCommit",
      {{"RepositoryName", "app"}, {"BranchName", "main"}, {"PollForSourceChanges", "false"}})});
  PushEvent e;
  e.provider = "CodeCommit";
  e.repository = "app";
  e.ref = "refs/heads/main";
  auto r = match_push(p, e);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->at(0).trigger, TriggerType::kCloudWatchEvent);
}

TEST(Triggers, AConnectionSourceWithoutTriggerStartsOnItsBranchUnlessDetectChangesIsFalse) {
  auto p = pipeline({connection_source()});
  auto r = match_push(p, connection_push("refs/heads/main"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->at(0).trigger, TriggerType::kWebhookV2);
  EXPECT_EQ(r->at(0).trigger_detail, kConnection);
  EXPECT_TRUE(started(p, connection_push("refs/heads/feature")).empty());
  EXPECT_TRUE(
      started(pipeline({connection_source("Src", "false")}), connection_push("refs/heads/main"))
          .empty());
  auto other = connection_push("refs/heads/main");
  other.connection_arn = "arn:aws:codestar-connections:us-east-1:111122223333:connection/c2";
  EXPECT_TRUE(started(p, other).empty()) << "the same repository through another connection";
}

TEST(Triggers, BranchFiltersReplaceTheActionsBranchAndExcludesWin) {
  auto p = pipeline({connection_source()});
  model::GitPushFilter f;
  f.branches = model::GitFilterCriteria{std::vector<std::string>{"release/**", "main*"},
                                        std::vector<std::string>{"release/old/**"}};
  p.triggers = std::vector<model::PipelineTriggerDeclaration>{trigger({f})};
  EXPECT_EQ(started(p, connection_push("refs/heads/release/2.0")), std::vector<std::string>{"Src"});
  EXPECT_EQ(started(p, connection_push("refs/heads/main-hotfix")), std::vector<std::string>{"Src"});
  EXPECT_TRUE(started(p, connection_push("refs/heads/release/old/1.0")).empty());
  EXPECT_TRUE(started(p, connection_push("refs/heads/feature/x")).empty());
  EXPECT_TRUE(started(p, connection_push("refs/tags/release/2.0")).empty());
}

TEST(Triggers, TagFiltersStartOnTagPushesOnly) {
  auto p = pipeline({connection_source()});
  model::GitPushFilter f;
  f.tags = model::GitFilterCriteria{std::vector<std::string>{"v*"}, std::nullopt};
  p.triggers = std::vector<model::PipelineTriggerDeclaration>{trigger({f})};
  EXPECT_EQ(started(p, connection_push("refs/tags/v1.2")), std::vector<std::string>{"Src"});
  EXPECT_TRUE(started(p, connection_push("refs/tags/nightly")).empty());
  EXPECT_TRUE(started(p, connection_push("refs/heads/main")).empty())
      << "a filter turns off the default detection";
}

TEST(Triggers, AFilePathCriterionNeedsOneChangedFileAndAKnownChangeList) {
  auto p = pipeline({connection_source()});
  model::GitPushFilter f;
  f.branches = model::GitFilterCriteria{std::vector<std::string>{"main"}, std::nullopt};
  f.file_paths = model::GitFilterCriteria{std::vector<std::string>{"src/**"},
                                          std::vector<std::string>{"**/*.md"}};
  p.triggers = std::vector<model::PipelineTriggerDeclaration>{trigger({f})};
  EXPECT_EQ(started(p, connection_push("refs/heads/main",
                                       std::vector<std::string>{"README.md", "src/a/b.cc"})),
            std::vector<std::string>{"Src"});
  EXPECT_TRUE(
      started(p, connection_push("refs/heads/main", std::vector<std::string>{"src/notes.md"}))
          .empty());
  EXPECT_TRUE(
      started(p, connection_push("refs/heads/main", std::vector<std::string>{"docs/x"})).empty());
  EXPECT_TRUE(started(p, connection_push("refs/heads/main")).empty())
      << "a new branch has no changed-file list";
}

TEST(Triggers, AnyOfSeveralFiltersFires) {
  auto p = pipeline({connection_source()});
  model::GitPushFilter tags, branches;
  tags.tags = model::GitFilterCriteria{std::vector<std::string>{"v*"}, std::nullopt};
  branches.branches = model::GitFilterCriteria{std::vector<std::string>{"dev"}, std::nullopt};
  p.triggers = std::vector<model::PipelineTriggerDeclaration>{trigger({tags, branches})};
  EXPECT_EQ(started(p, connection_push("refs/heads/dev")), std::vector<std::string>{"Src"});
  EXPECT_EQ(started(p, connection_push("refs/tags/v2")), std::vector<std::string>{"Src"});
  EXPECT_TRUE(started(p, connection_push("refs/heads/main")).empty());
}

TEST(Triggers, EachMatchingSourceActionGetsItsOwnStart) {
  auto second = connection_source("Other");
  (*second.configuration)["BranchName"] = "main";
  auto p = pipeline(
      {connection_source(), second,
       source("Cc", "CodeCommit", {{"RepositoryName", "team/app"}, {"BranchName", "main"}})});
  EXPECT_EQ(started(p, connection_push("refs/heads/main")),
            (std::vector<std::string>{"Src", "Other"}));
}

TEST(Triggers, ABadPatternIsAnError) {
  auto p = pipeline({connection_source()});
  model::GitPushFilter f;
  f.branches = model::GitFilterCriteria{std::vector<std::string>{"[oops"}, std::nullopt};
  p.triggers = std::vector<model::PipelineTriggerDeclaration>{trigger({f})};
  auto r = match_push(p, connection_push("refs/heads/main"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("[oops"), std::string::npos);
}

TEST(Triggers, RefsNameBranchesAndTags) {
  EXPECT_EQ(branch_of("refs/heads/feature/x"), "feature/x");
  EXPECT_EQ(branch_of("refs/tags/v1"), "");
  EXPECT_EQ(tag_of("refs/tags/v1"), "v1");
  EXPECT_EQ(tag_of("HEAD"), "");
}

}  // namespace
}  // namespace stageline::triggers
