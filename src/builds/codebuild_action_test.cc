#include "builds/codebuild_action.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>

#include "artifacts/object_cipher.h"
#include "artifacts/object_store.h"
#include "builds/test_util.h"
#include "store/sqlite_store.h"

namespace stageline::builds {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::ScratchDir;

constexpr const char* kBucket = "codepipeline-us-east-1-111122223333";

class CodeBuildActionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto objects = artifacts::ObjectStore::open({dir_ / "objects"});
    ASSERT_TRUE(objects.ok()) << objects.status().message();
    objects_ = std::move(*objects);
    ASSERT_TRUE(objects_->create_bucket(kBucket).ok());
    artifacts_ = std::make_unique<artifacts::ArtifactStore>(
        *objects_, cipher_, artifacts::ArtifactStoreOptions{dir_ / "tmp"});
    fs::create_directories(dir_ / "tmp");
    auto store = store::SqliteStore::open((dir_ / "db.sqlite").string(), {});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    BuildServiceOptions options;
    options.work_root = dir_ / "builds";
    options.base_environment = {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
                                {"HOME", dir_.path().string()}};
    options.now_ms = testing::wall_ms;
    options.new_id = [this] {
      return "00000000-0000-4000-8000-00000000000" + std::to_string(++ids_);
    };
    options.on_build_finished = [this](const std::string& id) {
      std::lock_guard lock(mu_);
      finished_.insert(id);
      cv_.notify_all();
    };
    service_ = std::make_unique<BuildService>(*store_, *artifacts_, options);
    action_ = std::make_unique<CodeBuildAction>(*service_);
  }

  void add_project(const std::string& name, json::object extra = {}) {
    json::object project{{"name", name},
                         {"source", json::object{{"type", "CODEPIPELINE"}}},
                         {"artifacts", json::object{{"type", "CODEPIPELINE"}}},
                         {"environment", json::object{{"type", "LINUX_CONTAINER"},
                                                      {"image", "aws/codebuild/standard:7.0"},
                                                      {"computeType", "BUILD_GENERAL1_SMALL"}}}};
    for (auto& [k, v] : extra) project[k] = v;
    json::object doc{{"project", project}, {"buildCount", 0}};
    ASSERT_TRUE(
        store_->insert_resource({kService, kProjectKind, name, json::serialize(doc), 1, 1}).ok());
  }

  fs::path input(const std::string& name, const std::map<std::string, std::string>& files) {
    fs::path dir = dir_ / ("in-" + name);
    for (const auto& [rel, text] : files) testing::write(dir / rel, text);
    return dir;
  }

  engine::ActionOutcome run(model::StringMap config,
                            std::vector<std::pair<std::string, fs::path>> inputs,
                            std::vector<std::string> outputs = {}) {
    engine::ActionStart s;
    s.pipeline_name = "p";
    s.execution_id = "e-1";
    s.stage_name = "Build";
    s.action.name = "Build";
    s.action.action_type_id.category = model::ActionCategory::kBuild;
    s.action.action_type_id.owner = model::ActionOwner::kAws;
    s.action.action_type_id.provider = "CodeBuild";
    s.action.action_type_id.version = "1";
    s.action.configuration = std::move(config);
    std::vector<model::OutputArtifact> outs;
    for (const auto& o : outputs) outs.push_back({o, std::nullopt});
    if (!outs.empty()) s.action.output_artifacts = outs;
    s.artifact_bucket = kBucket;
    for (const auto& [name, dir] : inputs)
      s.inputs.emplace_back(name, model::ArtifactLocation{kBucket, "p/" + name + "/x", "", ""});
    fs::path workspace = dir_ / ("ws-" + std::to_string(++runs_));
    fs::create_directories(workspace);
    log_.clear();
    jobs::ProviderContext context{s,
                                  workspace,
                                  inputs,
                                  *artifacts_,
                                  [this](std::string_view chunk) { log_ += chunk; },
                                  [] { return false; }};
    return action_->run(context);
  }

  std::map<std::string, std::string> fetch(const model::ArtifactRecord& record) {
    fs::path out = dir_ / ("out-" + std::to_string(++runs_));
    auto fetched = artifacts_->fetch_artifact(record.location, out, {});
    EXPECT_TRUE(fetched.ok()) << fetched.status().message();
    std::map<std::string, std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(out))
      if (e.is_regular_file())
        files[fs::relative(e.path(), out).generic_string()] = testing::read(e.path());
    return files;
  }

  json::object stored_build(const std::string& id) {
    auto b = service_->build(id);
    EXPECT_TRUE(b.ok()) << b.status().message();
    return b.ok() ? *b : json::object();
  }

  ScratchDir dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> finished_;
  artifacts::PassThroughCipher cipher_;
  std::unique_ptr<artifacts::ObjectStore> objects_;
  std::unique_ptr<artifacts::ArtifactStore> artifacts_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<BuildService> service_;
  std::unique_ptr<CodeBuildAction> action_;
  std::string log_;
  int ids_ = 0;
  int runs_ = 0;
};

TEST_F(CodeBuildActionTest, BuildsFromTheSourceBuildspecAndStoresArtifactsAndVariables) {
  add_project("app");
  auto src = input("Source", {{"buildspec.yml", R"(version: 0.2
env:
  exported-variables: [VERSION]
phases:
  build:
    commands:
      - mkdir -p dist && echo "built $CODEBUILD_BUILD_NUMBER" > dist/app.txt
      - export VERSION=1.4.$CODEBUILD_BUILD_NUMBER
      - echo "id=$CODEBUILD_BUILD_ID initiator=$CODEBUILD_INITIATOR"
artifacts:
  files: ['**/*']
  base-directory: dist
)"}});
  auto o = run({{"ProjectName", "app"}}, {{"Source", src}}, {"BuildOutput"});
  ASSERT_TRUE(o.succeeded) << o.summary << "\n" << log_;
  EXPECT_EQ(o.external_execution_id, "app:00000000-0000-4000-8000-000000000001");
  EXPECT_EQ(o.output_variables, (std::map<std::string, std::string>{{"VERSION", "1.4.1"}}));
  ASSERT_EQ(o.artifacts.size(), 1u);
  EXPECT_EQ(o.artifacts[0].name, "BuildOutput");
  EXPECT_EQ(fetch(o.artifacts[0]), (std::map<std::string, std::string>{{"app.txt", "built 1\n"}}));
  EXPECT_NE(log_.find("id=app:00000000-0000-4000-8000-000000000001 initiator=codepipeline/p"),
            std::string::npos)
      << log_;
  json::object b = stored_build(o.external_execution_id);
  EXPECT_EQ(b["buildStatus"], "SUCCEEDED");
  EXPECT_EQ(b["buildComplete"], true);
  EXPECT_EQ(b["buildNumber"], 1);
  EXPECT_EQ(b["currentPhase"], "COMPLETED");
  EXPECT_EQ(b["phases"].as_array().size(), 11u);
  EXPECT_EQ(b["exportedEnvironmentVariables"].as_array().at(0).as_object().at("value"), "1.4.1");
}

TEST_F(CodeBuildActionTest, AFailingBuildPhaseRunsPostBuildAndFailsNamingThePhase) {
  add_project("app");
  auto src = input("Source", {{"buildspec.yml", R"(version: 0.2
phases:
  build:
    commands: ['echo compiling', 'false']
  post_build:
    commands: ['echo post ran with $CODEBUILD_BUILD_SUCCEEDING']
)"}});
  auto o = run({{"ProjectName", "app"}}, {{"Source", src}});
  EXPECT_FALSE(o.succeeded);
  EXPECT_EQ(o.error_code, "JobFailed");
  EXPECT_NE(o.summary.find("Phase BUILD failed: COMMAND_EXECUTION_ERROR: Error while executing "
                           "command: false. Reason: exit status 1"),
            std::string::npos)
      << o.summary;
  EXPECT_NE(log_.find("post ran with 0"), std::string::npos) << log_;
  EXPECT_EQ(stored_build(o.external_execution_id)["buildStatus"], "FAILED");
}

TEST_F(CodeBuildActionTest, SeveralInputsUsePrimarySourceAndSecondaryArtifacts) {
  add_project("multi",
              {{"environment", json::object{{"type", "LINUX_CONTAINER"},
                                            {"image", "img"},
                                            {"computeType", "BUILD_GENERAL1_SMALL"},
                                            {"environmentVariables",
                                             json::array{json::object{{"name", "FROM_PROJECT"},
                                                                      {"value", "project"}}}}}}});
  auto app = input("App", {{"main.txt", "app"}});
  auto lib = input("Lib", {{"lib.txt", "lib"}});
  auto o = run(
      {{"ProjectName", "multi"},
       {"PrimarySource", "App"},
       {"EnvironmentVariables",
        R"([{"name":"STAGE","value":"beta","type":"PLAINTEXT"},{"name":"FROM_PROJECT","value":"action"}])"},
       {"BuildspecOverride", R"(version: 0.2
phases:
  build:
    commands:
      - cat main.txt "$CODEBUILD_SRC_DIR_Lib/lib.txt" > both.txt
      - echo "$STAGE $FROM_PROJECT" > env.txt
artifacts:
  files: [both.txt]
  secondary-artifacts:
    Envs:
      files: [env.txt]
    Both:
      files: [both.txt, main.txt]
)"}},
      {{"Lib", lib}, {"App", app}}, {"Both", "Envs"});
  ASSERT_TRUE(o.succeeded) << o.summary << "\n" << log_;
  ASSERT_EQ(o.artifacts.size(), 2u);
  EXPECT_EQ(fetch(o.artifacts[0]),
            (std::map<std::string, std::string>{{"both.txt", "applib"}, {"main.txt", "app"}}));
  EXPECT_EQ(fetch(o.artifacts[1]),
            (std::map<std::string, std::string>{{"env.txt", "beta action\n"}}));
}

TEST_F(CodeBuildActionTest, ConfigurationProblemsFailClearly) {
  add_project("app", {{"environment", json::object{{"type", "LINUX_CONTAINER"},
                                                   {"image", "img"},
                                                   {"computeType", "BUILD_GENERAL1_SMALL"}}}});
  auto src = input("Source",
                   {{"buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands: [true]\n"}});
  auto missing = run({{"ProjectName", "nope"}}, {{"Source", src}});
  EXPECT_EQ(missing.error_code, "ConfigurationError");
  EXPECT_NE(missing.summary.find("CodeBuild project nope does not exist"), std::string::npos);
  auto batch = run({{"ProjectName", "app"}, {"BatchEnabled", "true"}}, {{"Source", src}});
  EXPECT_NE(batch.summary.find("batch builds are not supported"), std::string::npos);
  auto secret =
      run({{"ProjectName", "app"},
           {"EnvironmentVariables", R"([{"name":"T","value":"tok","type":"SECRETS_MANAGER"}])"}},
          {{"Source", src}});
  EXPECT_EQ(secret.error_code, "ConfigurationError");
  EXPECT_NE(secret.summary.find("only PLAINTEXT"), std::string::npos) << secret.summary;
  auto two = run({{"ProjectName", "app"}}, {{"A", src}, {"B", src}});
  EXPECT_NE(two.summary.find("set PrimarySource"), std::string::npos);
  auto no_artifacts = run({{"ProjectName", "app"}}, {{"Source", src}}, {"Out"});
  EXPECT_FALSE(no_artifacts.succeeded);
  EXPECT_NE(no_artifacts.summary.find("no artifacts section for output artifact Out"),
            std::string::npos)
      << no_artifacts.summary;
  auto bad_yaml = run({{"ProjectName", "app"}, {"BuildspecOverride", "version: 0.2\nphases: [\n"}},
                      {{"Source", src}});
  EXPECT_FALSE(bad_yaml.succeeded);
  EXPECT_NE(bad_yaml.summary.find("YAML_FILE_ERROR"), std::string::npos) << bad_yaml.summary;
}

TEST_F(CodeBuildActionTest, BuildspecOverrideMayBeAPathAndAMissingBuildspecIsAYamlFileError) {
  add_project("app");
  auto src =
      input("Source",
            {{"ci/other.yml", "version: 0.2\nphases:\n  build:\n    commands: [echo other]\n"}});
  auto o = run({{"ProjectName", "app"}, {"BuildspecOverride", "ci/other.yml"}}, {{"Source", src}});
  EXPECT_TRUE(o.succeeded) << o.summary;
  EXPECT_NE(log_.find("\nother\n"), std::string::npos) << log_;
  auto missing = run({{"ProjectName", "app"}}, {{"Source", src}});
  EXPECT_FALSE(missing.succeeded);
  EXPECT_NE(missing.summary.find("Phase DOWNLOAD_SOURCE failed: YAML_FILE_ERROR"),
            std::string::npos)
      << missing.summary;
  EXPECT_NE(missing.summary.find("buildspec.yml"), std::string::npos) << missing.summary;
  auto escape =
      run({{"ProjectName", "app"}, {"BuildspecOverride", "../etc/passwd"}}, {{"Source", src}});
  EXPECT_NE(escape.summary.find("must be relative to the source directory"), std::string::npos)
      << escape.summary;
}

TEST_F(CodeBuildActionTest, StartBuildRunsANoSourceProjectOnItsOwnThread) {
  add_project("solo",
              {{"source", json::object{{"type", "NO_SOURCE"},
                                       {"buildspec",
                                        "version: 0.2\nphases:\n  build:\n"
                                        "    commands: ['echo hi from $CODEBUILD_INITIATOR']\n"}}},
               {"artifacts", json::object{{"type", "NO_ARTIFACTS"}}}});
  BuildService::StartRequest request;
  request.project_name = "solo";
  request.initiator = "alice";
  auto started = service_->start_build(request);
  ASSERT_TRUE(started.ok()) << started.status().message();
  const std::string id(started->at("id").as_string());
  EXPECT_EQ(started->at("buildStatus"), "IN_PROGRESS");
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(
        cv_.wait_for(lock, std::chrono::seconds(60), [&] { return finished_.count(id) > 0; }));
  }
  json::object b = stored_build(id);
  EXPECT_EQ(b["buildStatus"], "SUCCEEDED");
  const std::string log_path(b["logs"].as_object()["deepLink"].as_string().subview().substr(7));
  EXPECT_NE(testing::read(log_path).find("hi from alice"), std::string::npos);
  service_->reap();
  BuildService::StartRequest bad = request;
  bad.project_name = "missing";
  EXPECT_EQ(service_->start_build(bad).status().code(), StatusCode::kNotFound);
}

TEST_F(CodeBuildActionTest, StartBuildFetchesAnS3SourceZip) {
  auto src =
      input("zip",
            {{"buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands: ['cat data.txt']\n"},
             {"data.txt", "from the zip"}});
  auto stored = artifacts_->put_artifact(kBucket, "p", "src", src, {"**/*"});
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  add_project(
      "from-s3",
      {{"source", json::object{{"type", "S3"},
                               {"location", std::string(kBucket) + "/" + stored->location.key}}},
       {"artifacts", json::object{{"type", "NO_ARTIFACTS"}}}});
  BuildService::StartRequest request;
  request.project_name = "from-s3";
  auto started = service_->start_build(request);
  ASSERT_TRUE(started.ok()) << started.status().message();
  const std::string id(started->at("id").as_string());
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(
        cv_.wait_for(lock, std::chrono::seconds(60), [&] { return finished_.count(id) > 0; }));
  }
  json::object b = stored_build(id);
  EXPECT_EQ(b["buildStatus"], "SUCCEEDED");
  const std::string log_path(b["logs"].as_object()["deepLink"].as_string().subview().substr(7));
  EXPECT_NE(testing::read(log_path).find("\nfrom the zip\n"), std::string::npos)
      << testing::read(log_path);
}

TEST_F(CodeBuildActionTest, RecoverEndsBuildsAServerLeftInProgress) {
  json::object left{
      {"id", "app:1"},
      {"buildStatus", "IN_PROGRESS"},
      {"buildComplete", false},
      {"currentPhase", "BUILD"},
      {"phases", json::array{json::object{{"phaseType", "BUILD"}, {"startTime", 1700000000.0}}}}};
  json::object done{{"id", "app:2"}, {"buildStatus", "SUCCEEDED"}, {"buildComplete", true}};
  ASSERT_TRUE(
      store_->insert_resource({kService, kBuildKind, "app:1", json::serialize(left), 1, 1}).ok());
  ASSERT_TRUE(
      store_->insert_resource({kService, kBuildKind, "app:2", json::serialize(done), 1, 1}).ok());
  auto ended = service_->recover();
  ASSERT_TRUE(ended.ok()) << ended.status().message();
  EXPECT_EQ(*ended, 1);
  json::object b = stored_build("app:1");
  EXPECT_EQ(b["buildStatus"], "FAULT");
  EXPECT_EQ(b["buildComplete"], true);
  json::array& phases = b["phases"].as_array();
  ASSERT_EQ(phases.size(), 2u);
  EXPECT_EQ(phases[0].as_object()["phaseStatus"], "FAULT");
  EXPECT_EQ(phases[1].as_object()["phaseType"], "COMPLETED");
  EXPECT_EQ(stored_build("app:2")["buildStatus"], "SUCCEEDED");
  EXPECT_EQ(*service_->recover(), 0);
}

}  // namespace
}  // namespace stageline::builds
