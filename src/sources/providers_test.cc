// The two git source providers, run as the in-process runner runs them:
// a ProviderContext over a real artifact store on a temporary disk.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "artifacts/artifact_store.h"
#include "sources/codecommit_source.h"
#include "sources/connection_source.h"
#include "sources/test_util.h"

namespace stageline::sources {
namespace {

namespace fs = std::filesystem;
using testing::make_sample_repository;
using testing::read_file;
using testing::sh;
using testing::TempDir;

constexpr const char* kBucket = "codepipeline-us-east-1-111122223333";
constexpr const char* kConnection =
    "arn:aws:codestar-connections:us-east-1:111122223333:connection/"
    "6a1b2c3d-0000-4000-8000-000000000001";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class ProvidersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto objects = artifacts::ObjectStore::open({dir_ / "data" / "objects"});
    ASSERT_TRUE(objects.ok()) << objects.status().message();
    objects_ = std::move(*objects);
    ASSERT_TRUE(objects_->create_bucket(kBucket).ok());
    store_ = std::make_unique<artifacts::ArtifactStore>(
        *objects_, cipher_, artifacts::ArtifactStoreOptions{dir_ / "tmp"});
    ids_ = make_sample_repository(dir_ / "upstream");
    first_ = ids_.substr(0, 40);
    second_ = ids_.substr(41);
    // What CreateRepository makes: a bare repository under the data directory.
    auto r = sh(dir_.path(),
                "mkdir -p data/git/codecommit && "
                "git clone -q --bare --no-local upstream data/git/codecommit/my-repo.git");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  engine::ActionStart start(const std::string& provider, model::StringMap configuration) {
    engine::ActionStart s;
    s.pipeline_name = "MyFirstPipeline";
    s.execution_id = "e-1";
    s.stage_name = "Source";
    s.action.name = "Source";
    s.action.action_type_id.category = model::ActionCategory::kSource;
    s.action.action_type_id.owner = model::ActionOwner::kAws;
    s.action.action_type_id.provider = provider;
    s.action.action_type_id.version = "1";
    s.action.configuration = std::move(configuration);
    s.action.output_artifacts =
        std::vector<model::OutputArtifact>{{"SourceArtifact", std::nullopt}};
    s.artifact_bucket = kBucket;
    return s;
  }

  engine::ActionOutcome run(jobs::ActionProvider& provider, const engine::ActionStart& s) {
    fs::path workspace = dir_ / ("ws-" + std::to_string(++runs_));
    fs::create_directories(workspace);
    log_.clear();
    jobs::ProviderContext context{s,
                                  workspace,
                                  {},
                                  *store_,
                                  [this](std::string_view chunk) { log_ += chunk; },
                                  [] { return false; }};
    return provider.run(context);
  }

  // Extracts the outcome's one artifact into a fresh directory.
  fs::path fetch(const engine::ActionOutcome& o) {
    EXPECT_EQ(o.artifacts.size(), 1u);
    if (o.artifacts.empty()) return {};
    fs::path out = dir_ / ("out-" + std::to_string(++runs_));
    auto fetched = store_->fetch_artifact(o.artifacts[0].location, out, {});
    EXPECT_TRUE(fetched.ok()) << fetched.status().message();
    return out;
  }

  TempDir dir_;
  std::unique_ptr<artifacts::ObjectStore> objects_;
  artifacts::PassThroughCipher cipher_;
  std::unique_ptr<artifacts::ArtifactStore> store_;
  std::string ids_, first_, second_, log_;
  int runs_ = 0;
};

TEST_F(ProvidersTest, CodeCommitZipsTheBranchTipAndReportsVariablesAndTheRevision) {
  CodeCommitSource provider(dir_ / "data");
  auto o = run(provider, start("CodeCommit", {{"RepositoryName", "my-repo"},
                                              {"BranchName", "main"},
                                              {"PollForSourceChanges", "false"}}));
  ASSERT_TRUE(o.succeeded) << o.error_code << ": " << o.error_message;
  fs::path out = fetch(o);
  EXPECT_EQ(read_file(out / "README.md"), "hello\ntwo\n");
  EXPECT_TRUE(fs::is_symlink(out / "main-link.c"));
  EXPECT_FALSE(fs::exists(out / ".git"));
  EXPECT_EQ(o.artifacts[0].name, "SourceArtifact");
  EXPECT_TRUE(o.artifacts[0].location.key.starts_with("MyFirstPipeline/SourceArti/"));
  EXPECT_EQ(o.output_variables.at("CommitId"), second_);
  EXPECT_EQ(o.output_variables.at("CommitMessage"), "Second commit");
  EXPECT_EQ(o.output_variables.at("BranchName"), "main");
  EXPECT_EQ(o.output_variables.at("RepositoryName"), "my-repo");
  EXPECT_EQ(o.output_variables.at("AuthorDate"), "2024-05-01T12:00:00Z");
  EXPECT_EQ(o.output_variables.at("CommitterDate"), "2024-05-02T08:30:00Z");
  ASSERT_EQ(o.revisions.size(), 1u);
  EXPECT_EQ(o.revisions[0].revision_id, second_);
  EXPECT_EQ(o.revisions[0].revision_summary, "Second commit");
  EXPECT_EQ(o.revisions[0].revision_type, "COMMIT_ID");
  EXPECT_TRUE(contains(o.revisions[0].revision_url, "my-repo.git")) << o.revisions[0].revision_url;
  EXPECT_TRUE(contains(log_, "Branch main is at commit " + second_)) << log_;
}

TEST_F(ProvidersTest, CodeCommitHonoursACommitIdPinAndRefusesOneItDoesNotHave) {
  CodeCommitSource provider(dir_ / "data");
  auto s = start("CodeCommit", {{"RepositoryName", "my-repo"}, {"BranchName", "main"}});
  s.revision_type = "COMMIT_ID";
  s.revision_value = first_;
  auto o = run(provider, s);
  ASSERT_TRUE(o.succeeded) << o.error_message;
  EXPECT_EQ(read_file(fetch(o) / "README.md"), "hello\n");
  EXPECT_EQ(o.output_variables.at("CommitId"), first_);

  s.revision_value = "ffffffffffffffffffffffffffffffffffffffff";
  o = run(provider, s);
  EXPECT_FALSE(o.succeeded);
  EXPECT_EQ(o.error_code, "RevisionUnavailable");
  EXPECT_TRUE(contains(o.error_message, "ffffffffffffffffffffffffffffffffffffffff"))
      << o.error_message;

  s.revision_type = "S3_OBJECT_VERSION_ID";
  o = run(provider, s);
  EXPECT_EQ(o.error_code, "ConfigurationError");
}

TEST_F(ProvidersTest, CodeCommitFailsAMissingRepositoryOrBranchAsAConfigurationError) {
  CodeCommitSource provider(dir_ / "data");
  auto o = run(provider, start("CodeCommit", {{"RepositoryName", "nope"}, {"BranchName", "main"}}));
  EXPECT_FALSE(o.succeeded);
  EXPECT_EQ(o.error_code, "ConfigurationError");
  EXPECT_TRUE(contains(o.error_message, "The repository 'nope' does not exist")) << o.error_message;

  o = run(provider, start("CodeCommit", {{"RepositoryName", "my-repo"}, {"BranchName", "dev"}}));
  EXPECT_EQ(o.error_code, "ConfigurationError");
  EXPECT_TRUE(contains(o.error_message, "branch 'dev' does not exist")) << o.error_message;

  o = run(provider, start("CodeCommit", {{"RepositoryName", "../../etc"}, {"BranchName", "main"}}));
  EXPECT_EQ(o.error_code, "ConfigurationError");
  EXPECT_TRUE(contains(o.error_message, "is not a CodeCommit repository name")) << o.error_message;

  o = run(provider, start("CodeCommit", {{"RepositoryName", "my-repo"},
                                         {"BranchName", "main"},
                                         {"OutputArtifactFormat", "TARBALL"}}));
  EXPECT_EQ(o.error_code, "ConfigurationError");
}

TEST_F(ProvidersTest, CodebuildCloneRefGivesAFullCloneWithHistory) {
  CodeCommitSource provider(dir_ / "data");
  auto o = run(provider, start("CodeCommit", {{"RepositoryName", "my-repo"},
                                              {"BranchName", "main"},
                                              {"OutputArtifactFormat", "CODEBUILD_CLONE_REF"}}));
  ASSERT_TRUE(o.succeeded) << o.error_message;
  fs::path out = fetch(o);
  auto r = sh(out, "git log --format=%s && git status --porcelain && cat README.md");
  EXPECT_EQ(r.output, "Second commit\nFirst commit\nhello\ntwo\n");
}

TEST_F(ProvidersTest, ConnectionFetchesIntoAMirrorAndPicksUpANewCommit) {
  int resolved = 0;
  ConnectionSource provider(
      dir_ / "data" / "git" / "mirrors",
      [&](const std::string& arn, const std::string& repo) -> Result<ConnectionRemote> {
        ++resolved;
        if (arn != kConnection) return Status::not_found("no " + arn);
        return ConnectionRemote{"file://" + (dir_ / repo).string(), "GitLabSelfManaged"};
      });
  ASSERT_EQ(sh(dir_.path(), "mkdir -p octo && git clone -q --bare upstream octo/app.git").exit_code,
            0);
  auto s = start("CodeStarSourceConnection", {{"ConnectionArn", kConnection},
                                              {"FullRepositoryId", "octo/app.git"},
                                              {"BranchName", "main"},
                                              {"DetectChanges", "false"}});
  auto o = run(provider, s);
  ASSERT_TRUE(o.succeeded) << o.error_message;
  EXPECT_EQ(read_file(fetch(o) / "README.md"), "hello\ntwo\n");
  EXPECT_EQ(o.output_variables.at("CommitId"), second_);
  EXPECT_EQ(o.output_variables.at("ConnectionArn"), kConnection);
  EXPECT_EQ(o.output_variables.at("FullRepositoryName"), "octo/app.git");
  EXPECT_EQ(o.output_variables.at("ProviderType"), "GitLabSelfManaged");
  EXPECT_EQ(o.output_variables.at("AuthorDisplayName"), "Ada Lovelace");
  EXPECT_EQ(o.output_variables.at("AuthorEmail"), "ada@example.com");
  ASSERT_EQ(o.revisions.size(), 1u);
  auto summary = boost::json::parse(o.revisions[0].revision_summary);
  EXPECT_EQ(summary.at("ProviderType"), "GitLabSelfManaged");
  EXPECT_EQ(summary.at("CommitMessage"), "Second commit");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "data" / "git" / "mirrors"),
                          fs::directory_iterator()),
            1);

  auto r =
      sh(dir_.path(),
         "git -C upstream commit -q --allow-empty -m 'Third commit' && "
         "git -C upstream push -q \"$PWD/octo/app.git\" main && git -C upstream rev-parse HEAD");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  o = run(provider, s);
  ASSERT_TRUE(o.succeeded) << o.error_message;
  EXPECT_EQ(o.output_variables.at("CommitId") + "\n", r.output);
  EXPECT_EQ(o.output_variables.at("CommitMessage"), "Third commit");
  EXPECT_EQ(resolved, 2) << "the connection is asked on every run";
}

TEST_F(ProvidersTest, ConnectionFailuresNameTheUrlOrTheConnection) {
  ConnectionSource provider(
      dir_ / "mirrors",
      [&](const std::string& arn, const std::string& repo) -> Result<ConnectionRemote> {
        if (arn != kConnection) return Status::not_found("Connection " + arn + " does not exist");
        return ConnectionRemote{"http://127.0.0.1:1/" + repo, "GitHub"};
      });
  auto o = run(provider, start("CodeStarSourceConnection", {{"ConnectionArn", kConnection},
                                                            {"FullRepositoryId", "octo/app"},
                                                            {"BranchName", "main"}}));
  EXPECT_FALSE(o.succeeded);
  EXPECT_EQ(o.error_code, "JobFailed");
  EXPECT_TRUE(contains(o.error_message, "fetch branch main from http://127.0.0.1:1/octo/app: "))
      << o.error_message;

  o = run(provider,
          start("CodeStarSourceConnection", {{"ConnectionArn", std::string(kConnection) + "0"},
                                             {"FullRepositoryId", "octo/app"},
                                             {"BranchName", "main"}}));
  EXPECT_EQ(o.error_code, "ConfigurationError");
  EXPECT_TRUE(contains(o.error_message, "does not exist")) << o.error_message;

  o = run(provider, start("CodeStarSourceConnection", {{"FullRepositoryId", "octo/app"}}));
  EXPECT_EQ(o.error_code, "ConfigurationError");
}

}  // namespace
}  // namespace stageline::sources
