#include "api/codebuild/codebuild_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>

#include "api/wire/embedded.h"
#include "artifacts/object_cipher.h"
#include "artifacts/object_store.h"
#include "store/sqlite_store.h"

namespace stageline::codebuild {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

class CodeBuildApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "codebuild_api_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    auto objects = artifacts::ObjectStore::open({dir_ / "objects"});
    ASSERT_TRUE(objects.ok());
    objects_ = std::move(*objects);
    fs::create_directories(dir_ / "tmp");
    artifacts_ = std::make_unique<artifacts::ArtifactStore>(
        *objects_, cipher_, artifacts::ArtifactStoreOptions{dir_ / "tmp"});
    builds::BuildServiceOptions b;
    b.region = "eu-west-1";
    b.account_id = "123456789012";
    b.work_root = dir_ / "builds";
    b.base_environment = {{"PATH", "/usr/bin:/bin"}, {"HOME", dir_.string()}};
    b.now_ms = [this] { return now_ += 1000; };
    b.new_id = [this] {
      char buf[40];
      std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", ++ids_);
      return std::string(buf);
    };
    b.on_build_finished = [this](const std::string& id) {
      std::lock_guard lock(mu_);
      finished_.insert(id);
      cv_.notify_all();
    };
    service_ = std::make_unique<builds::BuildService>(*store_, *artifacts_, b);
    CodeBuildOptions options;
    options.region = "eu-west-1";
    options.account_id = "123456789012";
    options.now_ms = [this] { return now_ += 1000; };
    options.page_size = 2;
    api_ = std::make_unique<CodeBuildApi>(*store_, *service_, options);
  }
  void TearDown() override {
    service_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  wire::Outcome<json::value> call(const std::string& op, const std::string& body) {
    const wire::ServiceModel& model = codebuild_model();
    wire::Dispatcher dispatcher(model);
    const std::string target = model.metadata().target_prefix + "." + op;
    wire::Request request{target, std::string_view("application/x-amz-json-1.1"), body};
    auto decoded = dispatcher.dispatch(request);
    if (!decoded) return decoded.error();
    auto out = api_->call(*decoded, "arn:aws:iam::123456789012:user/alice");
    if (out) {
      auto encoded = wire::encode_output(*decoded->operation, *out, wire::OutputCheck::kAlways);
      EXPECT_TRUE(encoded.ok()) << encoded.status().message();
    }
    return out;
  }
  json::object ok(const std::string& op, const std::string& body) {
    auto out = call(op, body);
    EXPECT_TRUE(out.ok()) << op << ": "
                          << (out.ok() ? "" : out.error().type + " " + out.error().message);
    return out.ok() ? out->as_object() : json::object();
  }
  std::string error(const std::string& op, const std::string& body) {
    auto out = call(op, body);
    EXPECT_FALSE(out.ok()) << op;
    return out.ok() ? "" : out.error().type + ": " + out.error().message;
  }
  void create(const std::string& name, const std::string& buildspec = "") {
    json::object in{
        {"name", name},
        {"source", json::object{{"type", "NO_SOURCE"},
                                {"buildspec", buildspec.empty() ? "version: 0.2\nphases:\n  "
                                                                  "build:\n    commands: [true]\n"
                                                                : buildspec}}},
        {"artifacts", json::object{{"type", "NO_ARTIFACTS"}}},
        {"environment", json::object{{"type", "LINUX_CONTAINER"},
                                     {"image", "aws/codebuild/standard:7.0"},
                                     {"computeType", "BUILD_GENERAL1_SMALL"}}},
        {"serviceRole", "arn:aws:iam::123456789012:role/cb"}};
    ok("CreateProject", json::serialize(in));
  }
  // Waits for the service's on_build_finished hook to report `id`, then
  // answers its BatchGetBuilds entry.
  json::object wait_for(const std::string& id) {
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return finished_.count(id) > 0; }))
        ADD_FAILURE() << "build " << id << " did not end";
    }
    json::object out = ok("BatchGetBuilds", R"({"ids":[")" + id + R"("]})");
    return out["builds"].as_array().at(0).as_object();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> finished_;
  fs::path dir_;
  int64_t now_ = 1700000000000;
  int ids_ = 0;
  std::unique_ptr<store::SqliteStore> store_;
  artifacts::PassThroughCipher cipher_;
  std::unique_ptr<artifacts::ObjectStore> objects_;
  std::unique_ptr<artifacts::ArtifactStore> artifacts_;
  std::unique_ptr<builds::BuildService> service_;
  std::unique_ptr<CodeBuildApi> api_;
};

TEST_F(CodeBuildApiTest, CreateProjectAnswersTheProjectAndRefusesADuplicate) {
  create("web-app");
  json::object got = ok("BatchGetProjects", R"({"names":["web-app","nope"]})");
  ASSERT_EQ(got["projects"].as_array().size(), 1u);
  json::object p = got["projects"].as_array()[0].as_object();
  EXPECT_EQ(p["arn"], "arn:aws:codebuild:eu-west-1:123456789012:project/web-app");
  EXPECT_EQ(p["timeoutInMinutes"], 60);
  EXPECT_EQ(got["projectsNotFound"].as_array(), json::array({"nope"}));
  EXPECT_EQ(error("CreateProject",
                  R"({"name":"web-app","source":{"type":"NO_SOURCE","buildspec":"version: 0.2"},
                      "artifacts":{"type":"NO_ARTIFACTS"},"serviceRole":"r",
                      "environment":{"type":"LINUX_CONTAINER","image":"i","computeType":"BUILD_GENERAL1_SMALL"}})"),
            "ResourceAlreadyExistsException: Project already exists: "
            "arn:aws:codebuild:eu-west-1:123456789012:project/web-app");
}

TEST_F(CodeBuildApiTest, CreateProjectChecksWhatAwsChecks) {
  EXPECT_EQ(error("CreateProject",
                  R"({"name":"x1","source":{"type":"NO_SOURCE"},"artifacts":{"type":"NO_ARTIFACTS"},
                      "serviceRole":"r","environment":{"type":"LINUX_CONTAINER","image":"i",
                      "computeType":"BUILD_GENERAL1_SMALL"}})"),
            "InvalidInputException: Project source buildspec cannot be empty when source type is "
            "NO_SOURCE");
  EXPECT_NE(
      error("CreateProject",
            R"({"name":"x2","source":{"type":"CODEPIPELINE"},"artifacts":{"type":"NO_ARTIFACTS"},
                      "serviceRole":"r","environment":{"type":"LINUX_CONTAINER","image":"i",
                      "computeType":"BUILD_GENERAL1_SMALL"}})")
          .find("InvalidInputException"),
      std::string::npos);
  // The model's own checks (name pattern) come from the wire layer.
  EXPECT_NE(error("CreateProject", R"({"name":"!"})"), "");
}

TEST_F(CodeBuildApiTest, UpdateListAndDeleteProjects) {
  create("b-proj");
  create("a-proj");
  create("c-proj");
  json::object updated = ok(
      "UpdateProject", R"({"name":"b-proj","description":"now described","timeoutInMinutes":30})");
  EXPECT_EQ(updated["project"].as_object()["description"], "now described");
  EXPECT_EQ(updated["project"].as_object()["timeoutInMinutes"], 30);
  EXPECT_EQ(error("UpdateProject", R"({"name":"zz-missing"})"),
            "ResourceNotFoundException: Project cannot be found: "
            "arn:aws:codebuild:eu-west-1:123456789012:project/zz-missing");
  json::object first = ok("ListProjects", R"({"sortBy":"NAME","sortOrder":"ASCENDING"})");
  EXPECT_EQ(first["projects"].as_array(), json::array({"a-proj", "b-proj"}));
  json::object second =
      ok("ListProjects", R"({"sortBy":"NAME","nextToken":")" +
                             std::string(first["nextToken"].as_string()) + R"("})");
  EXPECT_EQ(second["projects"].as_array(), json::array({"c-proj"}));
  EXPECT_FALSE(second.contains("nextToken"));
  json::object by_modified =
      ok("ListProjects", R"({"sortBy":"LAST_MODIFIED_TIME","sortOrder":"DESCENDING"})");
  EXPECT_EQ(by_modified["projects"].as_array().at(0), "b-proj");
  ok("DeleteProject", R"({"name":"a-proj"})");
  EXPECT_EQ(ok("BatchGetProjects", R"({"names":["a-proj"]})")["projectsNotFound"].as_array().size(),
            1u);
}

TEST_F(CodeBuildApiTest, StartBuildRunsAndBatchGetBuildsShowsPhasesAndStatus) {
  create("solo",
         "version: 0.2\nenv:\n  exported-variables: [OUT]\nphases:\n  build:\n    commands:\n"
         "      - export OUT=\"$GREETING from $CODEBUILD_INITIATOR\"\n");
  json::object started = ok("StartBuild", R"({"projectName":"solo",
      "environmentVariablesOverride":[{"name":"GREETING","value":"hello","type":"PLAINTEXT"}]})");
  json::object build = started["build"].as_object();
  const std::string id(build["id"].as_string());
  EXPECT_TRUE(id.starts_with("solo:"));
  EXPECT_EQ(build["buildStatus"], "IN_PROGRESS");
  EXPECT_EQ(build["buildNumber"], 1);
  json::object done = wait_for(id);
  EXPECT_EQ(done["buildStatus"], "SUCCEEDED");
  EXPECT_EQ(done["initiator"], "alice");
  json::array phases = done["phases"].as_array();
  ASSERT_EQ(phases.size(), 11u);
  EXPECT_EQ(phases[6].as_object()["phaseType"], "BUILD");
  EXPECT_EQ(phases[6].as_object()["phaseStatus"], "SUCCEEDED");
  EXPECT_TRUE(phases[6].as_object().contains("durationInSeconds"));
  EXPECT_EQ(done["exportedEnvironmentVariables"].as_array().at(0).as_object()["value"],
            "hello from alice");

  json::object second = ok("StartBuild", R"({"projectName":"solo"})");
  const std::string id2(second["build"].as_object()["id"].as_string());
  EXPECT_EQ(second["build"].as_object()["buildNumber"], 2);
  wait_for(id2);
  json::object listed = ok("ListBuildsForProject", R"({"projectName":"solo"})");
  EXPECT_EQ(listed["ids"].as_array(), json::array({json::value(id2), json::value(id)}));
  EXPECT_EQ(ok("ListBuilds", "{}")["ids"].as_array().size(), 2u);
  EXPECT_EQ(ok("BatchGetBuilds", R"({"ids":["solo:nope"]})")["buildsNotFound"].as_array().size(),
            1u);
}

TEST_F(CodeBuildApiTest, AFailingStandaloneBuildNamesThePhase) {
  create("fails",
         "version: 0.2\nphases:\n  build:\n    commands: ['exit 4']\n"
         "  post_build:\n    commands: ['echo post']\n");
  json::object started = ok("StartBuild", R"({"projectName":"fails"})");
  json::object done = wait_for(std::string(started["build"].as_object()["id"].as_string()));
  EXPECT_EQ(done["buildStatus"], "FAILED");
  for (const auto& p : done["phases"].as_array()) {
    if (p.as_object().at("phaseType") == "BUILD") {
      EXPECT_EQ(p.as_object().at("phaseStatus"), "FAILED");
      EXPECT_EQ(p.as_object().at("contexts").as_array().at(0).as_object().at("message"),
                "Error while executing command: exit 4. Reason: exit status 4");
    }
    if (p.as_object().at("phaseType") == "POST_BUILD") {
      EXPECT_EQ(p.as_object().at("phaseStatus"), "SUCCEEDED");
    }
  }
}

TEST_F(CodeBuildApiTest, StopBuildStopsARunningBuild) {
  create("slow", "version: 0.2\nphases:\n  build:\n    commands: ['sleep 60']\n");
  json::object started = ok("StartBuild", R"({"projectName":"slow"})");
  const std::string id(started["build"].as_object()["id"].as_string());
  ok("StopBuild", R"({"id":")" + id + R"("})");
  EXPECT_EQ(wait_for(id)["buildStatus"], "STOPPED");
  EXPECT_EQ(error("StopBuild", R"({"id":"slow:nope"})"),
            "ResourceNotFoundException: Build slow:nope does not exist");
}

TEST_F(CodeBuildApiTest, StartBuildErrorsAreAwsErrors) {
  EXPECT_EQ(error("StartBuild", R"({"projectName":"missing"})"),
            "ResourceNotFoundException: Project cannot be found: "
            "arn:aws:codebuild:eu-west-1:123456789012:project/missing");
  create("p1");
  EXPECT_NE(error("StartBuild", R"({"projectName":"p1","environmentVariablesOverride":[
                   {"name":"S","value":"s","type":"SECRETS_MANAGER"}]})")
                .find("InvalidInputException: environmentVariablesOverride S has type "
                      "SECRETS_MANAGER"),
            std::string::npos);
  EXPECT_EQ(error("ListBuildsForProject", R"({"projectName":"missing"})"),
            "ResourceNotFoundException: The provided project name does not exist: missing");
  EXPECT_NE(error("ListProjects", R"({"nextToken":"zz"})").find("InvalidInputException"),
            std::string::npos);
  EXPECT_NE(error("CreateWebhook", R"({"projectName":"p1"})").find("does not implement"),
            std::string::npos);
}

}  // namespace
}  // namespace stageline::codebuild
