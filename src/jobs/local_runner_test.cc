#include "jobs/local_runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "artifacts/object_cipher.h"
#include "artifacts/object_store.h"

namespace stageline::jobs {
namespace {

namespace fs = std::filesystem;

// Writes one file into its workspace and stores it as the action's only
// output artifact, remembering what it was given.
class RecordingProvider final : public ActionProvider {
 public:
  engine::ActionOutcome run(const ProviderContext& c) override {
    {
      std::lock_guard lock(mu_);
      seen_action = c.start.action.name;
      seen_inputs = c.inputs.size();
      seen_empty_workspace = fs::is_empty(c.workspace);
    }
    c.output("fetching\nfetched ");
    c.output("42 files\n");
    std::ofstream(c.workspace / "hello.txt") << "hello\n";
    auto stored = c.artifacts.put_artifact(c.start.artifact_bucket, c.start.pipeline_name, "Out",
                                           c.workspace, {"**/*"});
    engine::ActionOutcome o;
    if (!stored.ok()) {
      o.error_code = "JobFailed";
      o.error_message = stored.status().message();
      return o;
    }
    model::ArtifactRecord r;
    r.name = "Out";
    r.location = stored->location;
    o.artifacts.push_back(r);
    o.succeeded = true;
    o.summary = "recorded";
    return o;
  }

  std::mutex mu_;
  std::string seen_action;
  size_t seen_inputs = 99;
  bool seen_empty_workspace = false;
};

class LocalRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "runner-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto objects = artifacts::ObjectStore::open({dir_ / "objects"});
    ASSERT_TRUE(objects.ok()) << objects.status().message();
    objects_ = std::move(*objects);
    ASSERT_TRUE(objects_->create_bucket("artifacts").ok());
    artifacts_ = std::make_unique<artifacts::ArtifactStore>(
        *objects_, cipher_, artifacts::ArtifactStoreOptions{dir_ / "tmp"});
  }
  void TearDown() override { fs::remove_all(dir_); }

  LocalRunner::Options options() {
    LocalRunner::Options o;
    o.work_root = dir_ / "work";
    o.on_output = [this](const engine::ActionStart&, std::string_view chunk) {
      std::lock_guard lock(output_mu_);
      output_ += chunk;
    };
    return o;
  }

  static engine::ActionStart source_start(std::string provider) {
    engine::ActionStart s;
    s.pipeline_name = "app";
    s.execution_id = "e1";
    s.action_execution_id = "a1";
    s.stage_name = "Source";
    s.action.name = "Fetch";
    s.action.action_type_id = {model::ActionCategory::kSource, model::ActionOwner::kAws,
                               std::move(provider), "1"};
    s.action.output_artifacts = std::vector<model::OutputArtifact>{{"Out", std::nullopt}};
    s.artifact_bucket = "artifacts";
    return s;
  }

  static LocalRunner::Completion wait(LocalRunner& runner) {
    auto done = runner.next(std::chrono::seconds(30));
    STAGELINE_CHECK(done.has_value());
    return std::move(*done);
  }

  fs::path dir_;
  std::unique_ptr<artifacts::ObjectStore> objects_;
  artifacts::PassThroughCipher cipher_;
  std::unique_ptr<artifacts::ArtifactStore> artifacts_;
  std::mutex output_mu_;
  std::string output_;
};

TEST_F(LocalRunnerTest, ARegisteredProviderRunsTheActionsOfItsType) {
  RecordingProvider provider;
  auto o = options();
  o.providers[provider_key(
      {model::ActionCategory::kSource, model::ActionOwner::kAws, "CodeCommit", "1"})] = &provider;
  LocalRunner runner(*artifacts_, o);
  runner.start(source_start("CodeCommit"));
  auto done = wait(runner);
  EXPECT_EQ(done.action_execution_id, "a1");
  ASSERT_TRUE(done.outcome.succeeded) << done.outcome.error_message;
  EXPECT_EQ(done.outcome.summary, "recorded");
  ASSERT_EQ(done.outcome.artifacts.size(), 1u);
  EXPECT_EQ(done.outcome.artifacts[0].location.bucket, "artifacts");
  EXPECT_TRUE(done.outcome.artifacts[0].location.key.starts_with("app/Out/"));
  EXPECT_EQ(provider.seen_action, "Fetch");
  EXPECT_EQ(provider.seen_inputs, 0u);
  EXPECT_TRUE(provider.seen_empty_workspace);
  std::lock_guard lock(output_mu_);
  EXPECT_EQ(output_, "fetching\nfetched 42 files\n");
}

TEST_F(LocalRunnerTest, ProviderKeysNameCategoryOwnerAndProvider) {
  EXPECT_EQ(provider_key({model::ActionCategory::kSource, model::ActionOwner::kAws,
                          "CodeStarSourceConnection", "1"}),
            "Source/AWS/CodeStarSourceConnection");
  EXPECT_EQ(provider_key({model::ActionCategory::kDeploy, model::ActionOwner::kAws, "S3", "1"}),
            "Deploy/AWS/S3");
}

TEST_F(LocalRunnerTest, ALocalSourceDirectoryWinsOverTheRegisteredProvider) {
  RecordingProvider provider;
  fs::create_directories(dir_ / "src");
  std::ofstream(dir_ / "src" / "local.txt") << "local\n";
  auto o = options();
  o.providers["Source/AWS/CodeCommit"] = &provider;
  o.source_dirs["Fetch"] = dir_ / "src";
  LocalRunner runner(*artifacts_, o);
  runner.start(source_start("CodeCommit"));
  auto done = wait(runner);
  ASSERT_TRUE(done.outcome.succeeded) << done.outcome.error_message;
  EXPECT_TRUE(provider.seen_action.empty());
}

TEST_F(LocalRunnerTest, ASourceWithoutProviderFailsSayingWhatIsMissing) {
  LocalRunner runner(*artifacts_, options());
  runner.start(source_start("CodeCommit"));
  auto done = wait(runner);
  EXPECT_FALSE(done.outcome.succeeded);
  EXPECT_EQ(done.outcome.error_code, "ConfigurationError");
  EXPECT_NE(done.outcome.error_message.find("CodeCommit"), std::string::npos);
}

engine::ActionStart approval_start() {
  engine::ActionStart s;
  s.pipeline_name = "app";
  s.execution_id = "e1";
  s.action_execution_id = "a2";
  s.stage_name = "Deploy";
  s.action.name = "Approve";
  s.action.action_type_id = {model::ActionCategory::kApproval, model::ActionOwner::kAws, "Manual",
                             "1"};
  return s;
}

TEST_F(LocalRunnerTest, AnApprovalAskedAndApprovedSucceedsWithTheApproversSummary) {
  auto o = options();
  o.approver = "ana";
  std::string asked;
  o.ask_approval = [&asked](const engine::ActionStart& s) {
    asked = s.action.name;
    return std::optional<LocalRunner::Options::ApprovalAnswer>({true, "ship it"});
  };
  LocalRunner runner(*artifacts_, o);
  runner.start(approval_start());
  auto done = wait(runner);
  ASSERT_TRUE(done.outcome.succeeded) << done.outcome.error_message;
  EXPECT_EQ(done.outcome.summary, "Approved by ana: ship it");
  EXPECT_EQ(asked, "Approve");
}

TEST_F(LocalRunnerTest, AnApprovalAskedAndRejectedFailsNamingTheApprover) {
  auto o = options();
  o.approver = "ana";
  o.ask_approval = [](const engine::ActionStart&) {
    return std::optional<LocalRunner::Options::ApprovalAnswer>({false, "not yet"});
  };
  LocalRunner runner(*artifacts_, o);
  runner.start(approval_start());
  auto done = wait(runner);
  EXPECT_FALSE(done.outcome.succeeded);
  EXPECT_EQ(done.outcome.error_message, "Rejected by ana: not yet");
}

TEST_F(LocalRunnerTest, AnApprovalNobodyAnswersFailsSayingHowToAnswerIt) {
  auto o = options();
  o.ask_approval = [](const engine::ActionStart&) {
    return std::optional<LocalRunner::Options::ApprovalAnswer>();
  };
  LocalRunner runner(*artifacts_, o);
  runner.start(approval_start());
  auto done = wait(runner);
  EXPECT_FALSE(done.outcome.succeeded);
  EXPECT_NE(done.outcome.error_message.find("--approve or --reject"), std::string::npos);
}

class FakeSecrets final : public secrets::ValueResolver {
 public:
  Result<std::string> parameter(const std::string& name) override {
    return Status::not_found("ParameterNotFound: " + name);
  }
  Result<std::string> secret(const std::string& reference) override {
    if (reference == "prod/token") return std::string("s3cr3t-v4lue");
    return Status::not_found(
        "ResourceNotFoundException: Secrets Manager can't find the "
        "specified secret.");
  }
};

engine::ActionStart commands_start(const model::ArtifactLocation& input, std::string reference) {
  engine::ActionStart s;
  s.pipeline_name = "app";
  s.execution_id = "e1";
  s.action_execution_id = "a3";
  s.stage_name = "Build";
  s.action.name = "Use";
  s.action.action_type_id = {model::ActionCategory::kCompute, model::ActionOwner::kAws, "Commands",
                             "1"};
  s.action.commands = std::vector<std::string>{
      "test \"$TOKEN\" = s3cr3t-v4lue", "echo token=$TOKEN", "printf 's3cr3'; printf 't-v4lue\\n'"};
  s.action.environment_variables = std::vector<model::EnvironmentVariable>{
      {"TOKEN", std::move(reference), model::EnvironmentVariableType::kSecretsManager}};
  s.inputs = {{"Src", input}};
  s.artifact_bucket = "artifacts";
  return s;
}

TEST_F(LocalRunnerTest, ASecretsManagerVariableReachesTheCommandsAndIsMaskedInTheLog) {
  fs::create_directories(dir_ / "srcdir");
  std::ofstream((dir_ / "srcdir" / "a.txt").string()) << "x\n";
  auto stored = artifacts_->put_artifact("artifacts", "app", "Src", dir_ / "srcdir", {"**/*"});
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  FakeSecrets secrets;
  auto o = options();
  o.secrets = &secrets;
  LocalRunner runner(*artifacts_, o);
  runner.start(commands_start(stored->location, "prod/token"));
  auto done = wait(runner);
  ASSERT_TRUE(done.outcome.succeeded) << done.outcome.error_message << "\n" << output_;
  std::lock_guard lock(output_mu_);
  EXPECT_EQ(output_.find("s3cr3t"), std::string::npos) << output_;
  EXPECT_NE(output_.find("token=***"), std::string::npos) << output_;
  EXPECT_NE(output_.find("***\n"), std::string::npos) << "split across two writes: " << output_;
}

TEST_F(LocalRunnerTest, AMissingSecretOrNoSecretsManagerFailsNamingTheVariable) {
  fs::create_directories(dir_ / "srcdir");
  std::ofstream((dir_ / "srcdir" / "a.txt").string()) << "x\n";
  auto stored = artifacts_->put_artifact("artifacts", "app", "Src", dir_ / "srcdir", {"**/*"});
  ASSERT_TRUE(stored.ok());
  FakeSecrets secrets;
  auto o = options();
  o.secrets = &secrets;
  {
    LocalRunner runner(*artifacts_, o);
    runner.start(commands_start(stored->location, "prod/missing"));
    auto done = wait(runner);
    EXPECT_FALSE(done.outcome.succeeded);
    EXPECT_EQ(done.outcome.error_code, "ConfigurationError");
    EXPECT_NE(done.outcome.error_message.find("environment variable TOKEN (secret prod/missing)"),
              std::string::npos)
        << done.outcome.error_message;
  }
  LocalRunner runner(*artifacts_, options());
  runner.start(commands_start(stored->location, "prod/token"));
  auto done = wait(runner);
  EXPECT_NE(done.outcome.error_message.find("there is no Secrets Manager here"), std::string::npos);
}

}  // namespace
}  // namespace stageline::jobs
