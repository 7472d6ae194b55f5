#include "cli/aws_command.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace stageline::cli {
namespace {

namespace fs = std::filesystem;

class AwsCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "aws-command-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "data");
    std::ofstream(dir_ / "data" / "server.json")
        << R"({"endpoint":"http://127.0.0.1:7411","region":"eu-west-1"})";
    env_.default_data_dir = dir_ / "default";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  ClientEnvironment env_;
};

TEST_F(AwsCommand, FillsInEndpointRegionAndCredentialsFromTheDataDirectory) {
  auto plan =
      plan_aws({"codepipeline", "--data-dir", (dir_ / "data").string(), "list-pipelines"}, env_);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->argv,
            (std::vector<std::string>{"aws", "codepipeline", "list-pipelines", "--endpoint-url",
                                      "http://127.0.0.1:7411", "--region", "eu-west-1"}));
  ASSERT_EQ(plan->set_env.size(), 1u);
  EXPECT_EQ(plan->set_env[0].first, "AWS_SHARED_CREDENTIALS_FILE");
  EXPECT_EQ(plan->set_env[0].second, (dir_ / "data" / "credentials").string());
  EXPECT_NE(std::find(plan->unset_env.begin(), plan->unset_env.end(), "AWS_ACCESS_KEY_ID"),
            plan->unset_env.end());
}

TEST_F(AwsCommand, LeavesWhatTheUserGaveAlone) {
  env_.shared_credentials_file = dir_ / "mine";
  auto plan = plan_aws(
      {"codepipeline", "list-pipelines", "--endpoint-url=http://h:1", "--region", "ap-south-1"},
      env_);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->argv,
            (std::vector<std::string>{"aws", "codepipeline", "list-pipelines",
                                      "--endpoint-url=http://h:1", "--region", "ap-south-1"}));
  EXPECT_TRUE(plan->set_env.empty());
  EXPECT_TRUE(plan->unset_env.empty());
}

TEST_F(AwsCommand, DefaultsToTheDefaultDataDirectoryAndPort) {
  auto plan = plan_aws({"codepipeline", "list-action-types"}, env_);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->argv,
            (std::vector<std::string>{"aws", "codepipeline", "list-action-types", "--endpoint-url",
                                      "http://127.0.0.1:7300", "--region", "us-east-1"}));
  EXPECT_EQ(plan->set_env.at(0).second, (dir_ / "default" / "credentials").string());
}

TEST_F(AwsCommand, RejectsADataDirWithoutAValue) {
  EXPECT_FALSE(plan_aws({"codepipeline", "--data-dir"}, env_).ok());
}

}  // namespace
}  // namespace stageline::cli
