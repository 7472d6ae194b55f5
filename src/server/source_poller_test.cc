#include "server/source_poller.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "store/sqlite_store.h"

namespace stageline::server {
namespace {

namespace fs = std::filesystem;

model::ActionDeclaration connection_source(std::string name, std::string branch,
                                           std::string detect_changes) {
  model::ActionDeclaration a;
  a.name = std::move(name);
  a.action_type_id = {model::ActionCategory::kSource, model::ActionOwner::kAws,
                      "CodeStarSourceConnection", "1"};
  a.configuration = model::StringMap{{"ConnectionArn", "arn:c"},
                                     {"FullRepositoryId", "team/app"},
                                     {"BranchName", std::move(branch)}};
  if (!detect_changes.empty()) (*a.configuration)["DetectChanges"] = detect_changes;
  a.output_artifacts = std::vector<model::OutputArtifact>{{"Code", std::nullopt}};
  return a;
}

model::PipelineRecord pipeline(std::string name, model::ActionDeclaration source) {
  model::PipelineDeclaration p;
  p.name = std::move(name);
  p.role_arn = "arn:aws:iam::111122223333:role/R";
  p.artifact_store = model::ArtifactStore{model::ArtifactStoreType::kS3, "bucket", {}};
  p.pipeline_type = model::PipelineType::kV2;
  p.stages = {{"Source", {}, {std::move(source)}, {}, {}, {}}};
  return model::PipelineRecord{p, {}, 1, 1};
}

TEST(ConnectionWatches, EachWatchedBranchOnceAndNotThoseThatDoNotDetectChanges) {
  auto store = store::SqliteStore::open(":memory:", {});
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->create_pipeline(pipeline("a", connection_source("S", "main", ""))).ok());
  ASSERT_TRUE(
      (*store)->create_pipeline(pipeline("b", connection_source("S", "main", "true"))).ok());
  ASSERT_TRUE(
      (*store)->create_pipeline(pipeline("c", connection_source("S", "dev", "false"))).ok());
  auto triggered = pipeline("d", connection_source("S", "release", "false"));
  model::PipelineTriggerDeclaration t;
  t.git_configuration.source_action_name = "S";
  triggered.declaration.triggers = std::vector<model::PipelineTriggerDeclaration>{t};
  ASSERT_TRUE((*store)->create_pipeline(triggered).ok());
  auto watches = connection_watches(**store);
  ASSERT_TRUE(watches.ok()) << watches.status().message();
  ASSERT_EQ(watches->size(), 2u);
  EXPECT_EQ(watches->at(0).branch, "main");
  EXPECT_EQ(watches->at(1).branch, "release") << "a trigger watches even without DetectChanges";
}

// A real repository changed with the git CLI; the poller's thread posts to a
// queue the test drains, as the server's control thread would.
class SourcePollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "poller-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    git("init -q -b main " + (dir_ / "repo").string());
    commit("a.txt", "first");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void git(const std::string& args) {
    std::string cmd = "git -c user.name=T -c user.email=t@example.com " + args + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  void commit(const std::string& file, const std::string& text) {
    std::string path = (dir_ / "repo" / file).string();
    ASSERT_EQ(std::system(("echo " + text + " > " + path).c_str()), 0);
    git("-C " + (dir_ / "repo").string() + " add -A");
    git("-C " + (dir_ / "repo").string() + " commit -q -m " + text);
  }

  // Polls once, waits for the poll to end, and runs what it posted, as the
  // control thread would; returns the pushes reported.
  std::vector<triggers::PushEvent> poll_once(SourcePoller& poller) {
    poller.poll({{"arn:c", "team/app", "main"}});
    for (int i = 0; i < 3000 && poller.busy(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_FALSE(poller.busy());
    std::vector<std::function<void()>> posted;
    {
      std::lock_guard lock(mu_);
      posted.swap(posted_);
    }
    pushes_.clear();
    for (auto& fn : posted) fn();
    return pushes_;
  }

  SourcePoller::Options options() {
    SourcePoller::Options o;
    o.resolve = [this](const std::string&, const std::string& repo) -> Result<std::string> {
      EXPECT_EQ(repo, "team/app");
      return (dir_ / "repo").string();
    };
    o.post = [this](std::function<void()> fn) {
      std::lock_guard lock(mu_);
      posted_.push_back(std::move(fn));
    };
    o.on_push = [this](const triggers::PushEvent& p) { pushes_.push_back(p); };
    o.log = [this](const std::string&) {};
    return o;
  }

  fs::path dir_;
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
  std::vector<triggers::PushEvent> pushes_;
};

TEST_F(SourcePollerTest, ANewCommitOnAWatchedBranchIsReportedWithItsChangedFiles) {
  sources::Mirrors mirrors(dir_ / "mirrors");
  SourcePoller poller(mirrors, options());
  EXPECT_TRUE(poll_once(poller).empty()) << "the first sight of a branch only records its head";
  EXPECT_TRUE(poll_once(poller).empty()) << "nothing new";
  commit("b.txt", "second");
  auto pushes = poll_once(poller);
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].provider, "CodeStarSourceConnection");
  EXPECT_EQ(pushes[0].repository, "team/app");
  EXPECT_EQ(pushes[0].connection_arn, "arn:c");
  EXPECT_EQ(pushes[0].ref, "refs/heads/main");
  EXPECT_EQ(pushes[0].commit_id.size(), 40u);
  ASSERT_TRUE(pushes[0].changed_files.has_value());
  EXPECT_EQ(*pushes[0].changed_files, std::vector<std::string>{"b.txt"});
  EXPECT_TRUE(poll_once(poller).empty()) << "reported once";
}

TEST_F(SourcePollerTest, AnUnreachableRepositoryIsLoggedAndNothingElseHappens) {
  sources::Mirrors mirrors(dir_ / "mirrors");
  auto o = options();
  std::vector<std::string> lines;
  o.resolve = [this](const std::string&, const std::string&) -> Result<std::string> {
    return (dir_ / "missing").string();
  };
  o.log = [&lines](const std::string& line) { lines.push_back(line); };
  SourcePoller poller(mirrors, o);
  EXPECT_TRUE(poll_once(poller).empty());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("team/app"), std::string::npos);
}

}  // namespace
}  // namespace stageline::server
