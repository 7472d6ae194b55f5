#include "server/push_triggers.h"

#include <gtest/gtest.h>

#include "store/sqlite_store.h"

namespace stageline::server {
namespace {

class RecordingRunner : public engine::ActionRunner {
 public:
  void start(const engine::ActionStart& s) override { started.push_back(s); }
  std::vector<engine::ActionStart> started;
};

model::PipelineRecord codecommit_pipeline(std::string name, std::string repository,
                                          std::string branch) {
  model::PipelineDeclaration p;
  p.name = std::move(name);
  p.role_arn = "arn:aws:iam::111122223333:role/R";
  p.artifact_store = model::ArtifactStore{model::ArtifactStoreType::kS3, "bucket", {}};
  p.pipeline_type = model::PipelineType::kV2;
  model::ActionDeclaration src;
  src.name = "Src";
  src.action_type_id = {model::ActionCategory::kSource, model::ActionOwner::kAws, "CodeCommit",
                        "1"};
  src.configuration = model::StringMap{{"RepositoryName", std::move(repository)},
                                       {"BranchName", std::move(branch)}};
  src.output_artifacts = std::vector<model::OutputArtifact>{{"Code", std::nullopt}};
  model::ActionDeclaration build;
  build.name = "Make";
  build.action_type_id = {model::ActionCategory::kCompute, model::ActionOwner::kAws, "Commands",
                          "1"};
  build.input_artifacts = std::vector<model::InputArtifact>{{"Code"}};
  build.commands = std::vector<std::string>{"true"};
  p.stages = {{"Source", {}, {src}, {}, {}, {}}, {"Build", {}, {build}, {}, {}, {}}};
  return model::PipelineRecord{p, {}, 1, 1};
}

class PushTriggersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    engine::Engine::Options o;
    o.now_ms = [this] { return ++clock_; };
    o.new_id = [this] { return "id-" + std::to_string(++ids_); };
    engine_ = std::make_unique<engine::Engine>(*store_, runner_, o);
  }

  static triggers::PushEvent push(std::string repository, std::string branch) {
    triggers::PushEvent e;
    e.provider = "CodeCommit";
    e.repository = std::move(repository);
    e.ref = "refs/heads/" + branch;
    e.commit_id = "0123456789abcdef0123456789abcdef01234567";
    e.repository_arn = "arn:aws:codecommit:us-east-1:111122223333:" + e.repository;
    return e;
  }

  std::unique_ptr<store::SqliteStore> store_;
  RecordingRunner runner_;
  std::unique_ptr<engine::Engine> engine_;
  model::TimestampMs clock_ = 1000;
  int ids_ = 0;
};

TEST_F(PushTriggersTest, APushStartsThePipelinesWatchingThatBranchOnThePushedCommit) {
  ASSERT_TRUE(engine_->create_pipeline(codecommit_pipeline("web", "app", "main")).ok());
  ASSERT_TRUE(engine_->create_pipeline(codecommit_pipeline("api", "app", "main")).ok());
  ASSERT_TRUE(engine_->create_pipeline(codecommit_pipeline("docs", "app", "docs")).ok());
  ASSERT_TRUE(engine_->create_pipeline(codecommit_pipeline("other", "lib", "main")).ok());
  auto starts = start_for_push(*engine_, *store_, push("app", "main"));
  ASSERT_TRUE(starts.ok()) << starts.status().message();
  ASSERT_EQ(starts->size(), 2u);
  EXPECT_EQ(starts->at(0).pipeline, "api");
  EXPECT_EQ(starts->at(1).pipeline, "web");
  for (const auto& s : *starts) {
    ASSERT_TRUE(s.error.empty()) << s.error;
    auto exec = store_->get_pipeline_execution(s.execution_id);
    ASSERT_TRUE(exec.ok());
    EXPECT_EQ(exec->trigger_type, model::TriggerType::kPollForSourceChanges);
    EXPECT_EQ(exec->trigger_detail, "arn:aws:codecommit:us-east-1:111122223333:app");
    ASSERT_EQ(exec->source_revisions.size(), 1u);
    EXPECT_EQ(exec->source_revisions[0].action_name, "Src");
    EXPECT_EQ(exec->source_revisions[0].revision_type, "COMMIT_ID");
    EXPECT_EQ(exec->source_revisions[0].revision_id, "0123456789abcdef0123456789abcdef01234567");
  }
  ASSERT_EQ(runner_.started.size(), 2u);
  EXPECT_EQ(runner_.started[0].revision_type, "COMMIT_ID");
  EXPECT_EQ(runner_.started[0].revision_value, "0123456789abcdef0123456789abcdef01234567");
}

TEST_F(PushTriggersTest, APushNoPipelineWatchesStartsNothing) {
  ASSERT_TRUE(engine_->create_pipeline(codecommit_pipeline("web", "app", "main")).ok());
  auto starts = start_for_push(*engine_, *store_, push("app", "feature"));
  ASSERT_TRUE(starts.ok());
  EXPECT_TRUE(starts->empty());
  EXPECT_TRUE(runner_.started.empty());
}

}  // namespace
}  // namespace stageline::server
