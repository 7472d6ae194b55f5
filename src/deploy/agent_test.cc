#include "deploy/agent.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/test_util.h"

namespace stageline::deploy {
namespace {

namespace fs = std::filesystem;
using testing::make_revision;
using testing::put;
using testing::TempDir;

class AgentTest : public ::testing::Test {
 protected:
  InstanceDeployment deployment(const std::string& id, const fs::path& bundle) {
    InstanceDeployment d;
    d.instance_name = "web-1";
    d.target_dir = tmp_.path() / "target";
    d.state_dir = tmp_.path() / "state";
    d.bundle_dir = bundle;
    d.deployment_id = id;
    d.application_name = "app";
    d.deployment_group_name = "group";
    d.deployment_group_id = "g-1";
    d.base_environment = {{"PATH", "/usr/bin:/bin"},
                          {"LOG_FILE", (tmp_.path() / "hooks.log").string()}};
    d.now_ms = [this] { return ++now_; };
    d.on_line = [this](std::string_view line) { lines_ += std::string(line) + "\n"; };
    return d;
  }
  std::string log() { return read_file(tmp_.path() / "hooks.log").value_or(""); }
  std::string target_file(const std::string& rel) {
    return read_file(tmp_.path() / "target" / rel).value_or("<missing>");
  }
  static std::vector<std::string> statuses(const InstanceResult& r) {
    std::vector<std::string> out;
    for (const auto& e : r.events) out.push_back(e.name + ":" + e.status);
    return out;
  }

  TempDir tmp_;
  int64_t now_ = 0;
  std::string lines_;
};

TEST_F(AgentTest, RunsTheLifecycleInOrderAndInstallsFilesWithTheirModes) {
  make_revision(tmp_.path() / "rev1", "v1", "one");
  InstanceResult r = deploy_revision(deployment("d-AAAAAAAAA", tmp_.path() / "rev1"));
  ASSERT_TRUE(r.succeeded()) << r.message << "\n" << lines_;
  // No previous revision: ApplicationStop has nothing to run.
  EXPECT_EQ(log(), "v1 BeforeInstall\nv1 AfterInstall\nv1 ApplicationStart\nv1 ValidateService\n");
  EXPECT_EQ(statuses(r),
            (std::vector<std::string>{"ApplicationStop:Succeeded", "DownloadBundle:Succeeded",
                                      "BeforeInstall:Succeeded", "Install:Succeeded",
                                      "AfterInstall:Succeeded", "ApplicationStart:Succeeded",
                                      "ValidateService:Succeeded"}));
  EXPECT_EQ(target_file("var/www/index.html"), "one");
  struct stat st;
  ASSERT_EQ(::stat((tmp_.path() / "target/var/www/v1.cgi").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  auto good = last_good_revision(tmp_.path() / "state");
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->filename(), "d-AAAAAAAAA");
}

TEST_F(AgentTest, HooksSeeTheDeploymentEnvironmentAndRunInTheRevision) {
  put(tmp_.path() / "rev" / "appspec.yml",
      "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: env.sh\n");
  put(tmp_.path() / "rev" / "env.sh",
      "#!/bin/sh\necho \"$LIFECYCLE_EVENT $DEPLOYMENT_ID $APPLICATION_NAME "
      "$DEPLOYMENT_GROUP_NAME $DEPLOYMENT_GROUP_ID $STAGELINE_TARGET_DIR $(basename $PWD)\" "
      ">> \"$LOG_FILE\"\n",
      true);
  InstanceResult r = deploy_revision(deployment("d-BBBBBBBBB", tmp_.path() / "rev"));
  ASSERT_TRUE(r.succeeded()) << r.message;
  EXPECT_EQ(log(), "AfterInstall d-BBBBBBBBB app group g-1 " + (tmp_.path() / "target").string() +
                       " d-BBBBBBBBB\n");
}

TEST_F(AgentTest, AFailingHookFailsItsEventSkipsTheRestAndNamesTheScript) {
  make_revision(tmp_.path() / "rev1", "v1", "one", "echo unhealthy; exit 3");
  InstanceResult r = deploy_revision(deployment("d-CCCCCCCCC", tmp_.path() / "rev1"));
  ASSERT_EQ(r.status, "Failed");
  EXPECT_EQ(
      r.message,
      "instance web-1: ValidateService failed: script scripts/validate.sh exited with code 3");
  const LifecycleEventRecord& v = r.events.back();
  EXPECT_EQ(v.status, "Failed");
  EXPECT_EQ(v.error_code, "ScriptFailed");
  EXPECT_EQ(v.script_name, "scripts/validate.sh");
  EXPECT_NE(v.log_tail.find("unhealthy"), std::string::npos);
  EXPECT_FALSE(last_good_revision(tmp_.path() / "state").has_value());
}

TEST_F(AgentTest, AHookPastItsTimeoutIsKilledAndTheEventTimesOut) {
  put(tmp_.path() / "rev" / "appspec.yml",
      "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: slow.sh\n      "
      "timeout: 1\n  AfterInstall:\n    - location: never.sh\n");
  put(tmp_.path() / "rev" / "slow.sh", "#!/bin/sh\necho started\nsleep 30\n", true);
  put(tmp_.path() / "rev" / "never.sh", "#!/bin/sh\necho ran >> \"$LOG_FILE\"\n", true);
  const auto t0 = std::chrono::steady_clock::now();
  InstanceResult r = deploy_revision(deployment("d-DDDDDDDDD", tmp_.path() / "rev"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  ASSERT_EQ(r.status, "Failed");
  EXPECT_EQ(r.events[2].error_code, "ScriptTimedOut");
  EXPECT_NE(r.message.find("BeforeInstall failed: script slow.sh timed out after 1 seconds"),
            std::string::npos)
      << r.message;
  EXPECT_EQ(r.events[3].status, "Skipped");
  EXPECT_EQ(r.events[4].status, "Skipped");
  EXPECT_EQ(log(), "");
}

TEST_F(AgentTest, AMissingScriptIsScriptMissing) {
  put(tmp_.path() / "rev" / "appspec.yml",
      "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: nope.sh\n");
  InstanceResult r = deploy_revision(deployment("d-EEEEEEEEE", tmp_.path() / "rev"));
  ASSERT_EQ(r.status, "Failed");
  EXPECT_EQ(r.events[5].error_code, "ScriptMissing");
}

TEST_F(AgentTest, RedeployingTheLastGoodRevisionRestoresItsFilesAndRemovesTheFailedOnes) {
  make_revision(tmp_.path() / "rev1", "v1", "one");
  ASSERT_TRUE(deploy_revision(deployment("d-111111111", tmp_.path() / "rev1")).succeeded());
  make_revision(tmp_.path() / "rev2", "v2", "two", "exit 1");
  InstanceResult failed = deploy_revision(deployment("d-222222222", tmp_.path() / "rev2"));
  ASSERT_EQ(failed.status, "Failed");
  // The failed revision was installed before ValidateService ran.
  EXPECT_EQ(target_file("var/www/index.html"), "two");
  EXPECT_EQ(target_file("var/www/v2.cgi"), "cgi v2");

  auto previous = last_good_revision(tmp_.path() / "state");
  ASSERT_TRUE(previous.has_value());
  InstanceResult back = deploy_revision(deployment("d-333333333", *previous));
  ASSERT_TRUE(back.succeeded()) << back.message;
  EXPECT_EQ(target_file("var/www/index.html"), "one");
  EXPECT_EQ(target_file("var/www/v1.cgi"), "cgi v1");
  EXPECT_FALSE(fs::exists(tmp_.path() / "target/var/www/v2.cgi"));
  // v1's ApplicationStop ran before v2 (its last good revision), and again
  // before the rollback (v2 never succeeded).
  EXPECT_EQ(log(),
            "v1 BeforeInstall\nv1 AfterInstall\nv1 ApplicationStart\nv1 ValidateService\n"
            "v1 ApplicationStop\nv2 BeforeInstall\nv2 AfterInstall\nv2 ApplicationStart\n"
            "v2 ValidateService\n"
            "v1 ApplicationStop\nv1 BeforeInstall\nv1 AfterInstall\nv1 ApplicationStart\n"
            "v1 ValidateService\n");
  prune_revisions(tmp_.path() / "state");
  std::vector<std::string> kept;
  for (const auto& e : fs::directory_iterator(tmp_.path() / "state/revisions"))
    kept.push_back(e.path().filename().string());
  EXPECT_EQ(kept, std::vector<std::string>{"d-333333333"});
}

TEST_F(AgentTest, AFileThatExistsAndIsNotFromTheLastDeploymentIsRefusedByDefault) {
  make_revision(tmp_.path() / "rev1", "v1", "one");
  put(tmp_.path() / "target/var/www/index.html", "someone else's");
  InstanceResult r = deploy_revision(deployment("d-FFFFFFFFF", tmp_.path() / "rev1"));
  ASSERT_EQ(r.status, "Failed");
  EXPECT_EQ(r.events[3].name, "Install");
  EXPECT_NE(r.message.find("a specified file already exists at this location"), std::string::npos)
      << r.message;
  EXPECT_EQ(target_file("var/www/index.html"), "someone else's");
}

TEST_F(AgentTest, RunasAnotherUserNeedsRootAndWorksAsRoot) {
  ::chmod(tmp_.path().c_str(), 0755);  // nobody must reach the revision's copy
  put(tmp_.path() / "rev" / "appspec.yml",
      "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: who.sh\n      runas: "
      "nobody\n");
  put(tmp_.path() / "rev" / "who.sh", "#!/bin/sh\nid -un\n", true);
  InstanceResult r = deploy_revision(deployment("d-GGGGGGGGG", tmp_.path() / "rev"));
  if (geteuid() == 0) {
    ASSERT_TRUE(r.succeeded()) << r.message;
    EXPECT_NE(r.events[4].log_tail.find("nobody"), std::string::npos) << r.events[4].log_tail;
  } else {
    ASSERT_EQ(r.status, "Failed");
    EXPECT_NE(r.message.find("not as root"), std::string::npos) << r.message;
  }
}

}  // namespace
}  // namespace stageline::deploy
