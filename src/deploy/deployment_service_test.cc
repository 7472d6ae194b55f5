#include "deploy/deployment_service.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "deploy/test_util.h"
#include "store/sqlite_store.h"

namespace stageline::deploy {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::make_revision;
using testing::TempDir;

class DeploymentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    DeploymentServiceOptions o;
    o.state_root = tmp_.path() / "codedeploy";
    o.base_environment = {{"PATH", "/usr/bin:/bin"},
                          {"LOG_FILE", (tmp_.path() / "hooks.log").string()}};
    o.now_ms = [this] { return now_ += 1000; };
    o.new_id = [this] {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%08d-0000-4000-8000-000000000000", ++ids_);
      return std::string(buf);
    };
    service_ = std::make_unique<DeploymentService>(*store_, o);
    put(kApplicationKind, "app", json::object{{"applicationName", "app"}});
    put(kDeploymentGroupKind, "app/web",
        json::object{{"applicationName", "app"},
                     {"deploymentGroupName", "web"},
                     {"deploymentGroupId", "g-1"},
                     {"onPremisesInstanceTagFilters",
                      json::array{json::object{
                          {"Key", "role"}, {"Value", "web"}, {"Type", "KEY_AND_VALUE"}}}}});
    instance("web-1", "web", true);
    instance("web-2", "web", true);
    instance("db-1", "db", true);
  }

  void put(const char* kind, const std::string& name, const json::object& doc) {
    ASSERT_TRUE(store_->insert_resource({kService, kind, name, json::serialize(doc), 1, 1}).ok());
  }
  void instance(const std::string& name, const std::string& role, bool with_dir) {
    json::array tags{json::object{{"Key", "role"}, {"Value", role}}};
    if (with_dir)
      tags.push_back(json::object{{"Key", kTargetDirectoryTag},
                                  {"Value", (tmp_.path() / "targets" / name).string()}});
    put(kInstanceKind, name, json::object{{"instanceName", name}, {"tags", tags}});
  }
  json::object deployment(const std::string& id) {
    auto r = store_->get_resource(kService, kDeploymentKind, id);
    EXPECT_TRUE(r.ok()) << id;
    return r.ok() ? json::parse(r->document_json).as_object() : json::object();
  }
  Result<DeploymentResult> deploy(const fs::path& bundle) {
    DeploymentRequest r;
    r.application_name = "app";
    r.deployment_group_name = "web";
    r.bundle_dir = bundle;
    r.revision = json::object{{"revisionType", "S3"}};
    return service_->run_deployment(r);
  }
  std::string file(const std::string& instance, const std::string& rel) {
    return read_file(tmp_.path() / "targets" / instance / rel).value_or("<missing>");
  }

  TempDir tmp_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<DeploymentService> service_;
  int64_t now_ = 0;
  int ids_ = 0;
};

TEST_F(DeploymentServiceTest, DeploysToEveryInstanceTheTagFiltersMatchAndRecordsTheEvents) {
  make_revision(tmp_.path() / "rev1", "v1", "one");
  auto r = deploy(tmp_.path() / "rev1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, "Succeeded") << r->message;
  EXPECT_EQ(r->deployment_id, "d-000000010");
  EXPECT_EQ(file("web-1", "var/www/index.html"), "one");
  EXPECT_EQ(file("web-2", "var/www/index.html"), "one");
  EXPECT_FALSE(fs::exists(tmp_.path() / "targets" / "db-1"));
  json::object doc = deployment(r->deployment_id);
  const json::object& info = doc["deploymentInfo"].as_object();
  EXPECT_EQ(info.at("status"), "Succeeded");
  EXPECT_EQ(info.at("deploymentOverview").at("Succeeded"), 2);
  const json::array& targets = doc["targets"].as_array();
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].at("targetId"), "web-1");
  EXPECT_EQ(targets[0].at("lifecycleEvents").as_array().size(), 7u);
  EXPECT_EQ(targets[0].at("lifecycleEvents").at(6).at("lifecycleEventName"), "ValidateService");
  EXPECT_EQ(targets[0].at("lifecycleEvents").at(6).at("status"), "Succeeded");
  auto group = store_->get_resource(kService, kDeploymentGroupKind, "app/web");
  ASSERT_TRUE(group.ok());
  EXPECT_NE(group->document_json.find("\"lastSuccessfulDeployment\""), std::string::npos);
}

TEST_F(DeploymentServiceTest, AFailedDeploymentSkipsTheRestAndIsRolledBackInANewDeployment) {
  make_revision(tmp_.path() / "rev1", "v1", "one");
  ASSERT_EQ(deploy(tmp_.path() / "rev1")->status, "Succeeded");
  make_revision(tmp_.path() / "rev2", "v2", "two", "exit 1");
  auto r = deploy(tmp_.path() / "rev2");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, "Failed");
  EXPECT_EQ(
      r->message,
      "instance web-1: ValidateService failed: script scripts/validate.sh exited with code 1");
  ASSERT_FALSE(r->rollback_deployment_id.empty());
  EXPECT_EQ(r->rollback_status, "Succeeded") << r->rollback_message;
  EXPECT_EQ(file("web-1", "var/www/index.html"), "one");
  EXPECT_EQ(file("web-2", "var/www/index.html"), "one");
  EXPECT_FALSE(fs::exists(tmp_.path() / "targets/web-1/var/www/v2.cgi"));

  json::object failed = deployment(r->deployment_id);
  const json::object& info = failed["deploymentInfo"].as_object();
  EXPECT_EQ(info.at("status"), "Failed");
  EXPECT_EQ(info.at("errorInformation").at("code"), "HEALTH_CONSTRAINTS");
  EXPECT_EQ(info.at("rollbackInfo").at("rollbackDeploymentId"),
            json::value(r->rollback_deployment_id));
  EXPECT_EQ(failed["targets"].at(1).at("status"), "Skipped");
  const json::value& validate = failed["targets"].at(0).at("lifecycleEvents").at(6);
  EXPECT_EQ(validate.at("status"), "Failed");
  EXPECT_EQ(validate.at("diagnostics").at("errorCode"), "ScriptFailed");
  EXPECT_EQ(validate.at("diagnostics").at("scriptName"), "scripts/validate.sh");

  json::object back = deployment(r->rollback_deployment_id);
  EXPECT_EQ(back["deploymentInfo"].at("creator"), "codeDeployRollback");
  EXPECT_EQ(back["deploymentInfo"].at("rollbackInfo").at("rollbackTriggeringDeploymentId"),
            json::value(r->deployment_id));
  ASSERT_EQ(back["targets"].as_array().size(), 1u);
  EXPECT_EQ(back["targets"].at(0).at("targetId"), "web-1");
}

TEST_F(DeploymentServiceTest, AllAtOnceRunsEveryInstanceAndRollsBackTheOnesThatChanged) {
  auto group = store_->get_resource(kService, kDeploymentGroupKind, "app/web");
  json::object g = json::parse(group->document_json).as_object();
  g["deploymentConfigName"] = "CodeDeployDefault.AllAtOnce";
  group->document_json = json::serialize(g);
  ASSERT_TRUE(store_->update_resource(*group).ok());
  make_revision(tmp_.path() / "rev1", "v1", "one");
  ASSERT_EQ(deploy(tmp_.path() / "rev1")->status, "Succeeded");
  // Fails only on web-2; one success is enough for AllAtOnce.
  make_revision(tmp_.path() / "rev2", "v2", "two",
                "[ \"$STAGELINE_INSTANCE_NAME\" = web-2 ] && exit 4; true");
  auto r = deploy(tmp_.path() / "rev2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, "Succeeded");
  EXPECT_EQ(file("web-1", "var/www/index.html"), "two");
}

TEST_F(DeploymentServiceTest, NoMatchingInstanceFailsWithNoInstances) {
  auto group = store_->get_resource(kService, kDeploymentGroupKind, "app/web");
  json::object g = json::parse(group->document_json).as_object();
  g["onPremisesInstanceTagFilters"] =
      json::array{json::object{{"Key", "role"}, {"Value", "cache"}, {"Type", "KEY_AND_VALUE"}}};
  group->document_json = json::serialize(g);
  ASSERT_TRUE(store_->update_resource(*group).ok());
  make_revision(tmp_.path() / "rev1", "v1", "one");
  auto r = deploy(tmp_.path() / "rev1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, "Failed");
  EXPECT_EQ(deployment(r->deployment_id)["deploymentInfo"].at("errorInformation").at("code"),
            "NO_INSTANCES");
}

TEST_F(DeploymentServiceTest, AnInstanceWithoutATargetDirectoryFailsNamingTheTag) {
  instance("web-3", "web", false);
  make_revision(tmp_.path() / "rev1", "v1", "one");
  auto r = deploy(tmp_.path() / "rev1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, "Failed");
  EXPECT_NE(r->message.find("instance web-3 has no target directory"), std::string::npos)
      << r->message;
  EXPECT_NE(r->message.find(kTargetDirectoryTag), std::string::npos);
}

TEST_F(DeploymentServiceTest, AMissingApplicationOrGroupIsNotFoundAndRecordsNothing) {
  DeploymentRequest r;
  r.application_name = "nope";
  r.deployment_group_name = "web";
  EXPECT_EQ(service_->run_deployment(r).status().code(), StatusCode::kNotFound);
  r.application_name = "app";
  r.deployment_group_name = "nope";
  EXPECT_EQ(service_->run_deployment(r).status().code(), StatusCode::kNotFound);
  auto page = store_->list_resources(kService, kDeploymentKind, 10, "");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
}

TEST_F(DeploymentServiceTest, RecoverFailsDeploymentsAStoppedServerLeftRunning) {
  ASSERT_TRUE(store_
                  ->insert_resource({kService, kDeploymentKind, "d-ABCDEF123",
                                     R"({"deploymentInfo":{"status":"InProgress"},"targets":[
                                         {"targetId":"web-1","status":"InProgress"}]})",
                                     1, 1})
                  .ok());
  auto n = service_->recover();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  json::object doc = deployment("d-ABCDEF123");
  EXPECT_EQ(doc["deploymentInfo"].at("status"), "Failed");
  EXPECT_EQ(doc["targets"].at(0).at("status"), "Failed");
}

TEST(DeploymentIds, TakeNineHexDigitsOfTheUuidInUpperCase) {
  EXPECT_EQ(deployment_id_from_uuid("4f2a6c1e-9b3d-4e5f-8a7b-6c5d4e3f2a1b"), "d-4F2A6C1E9");
}

}  // namespace
}  // namespace stageline::deploy
