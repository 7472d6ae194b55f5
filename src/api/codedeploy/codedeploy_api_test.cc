#include "api/codedeploy/codedeploy_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "deploy/deployment_service.h"
#include "store/sqlite_store.h"

namespace stageline::codedeploy {
namespace {

namespace json = boost::json;

class CodeDeployApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    CodeDeployOptions options;
    options.region = "eu-west-1";
    options.account_id = "123456789012";
    options.now_ms = [this] { return now_ += 1000; };
    options.new_id = [this] {
      return "00000000-0000-4000-8000-00000000000" + std::to_string(++ids_);
    };
    options.page_size = 2;
    api_ = std::make_unique<CodeDeployApi>(*store_, options);
  }

  // Dispatches like the server (model validation), calls, and checks the
  // output against the model.
  wire::Outcome<json::value> call(const std::string& op, const std::string& body) {
    const wire::ServiceModel& model = codedeploy_model();
    wire::Dispatcher dispatcher(model);
    const std::string target = model.metadata().target_prefix + "." + op;
    wire::Request request{target, std::string_view("application/x-amz-json-1.1"), body};
    auto decoded = dispatcher.dispatch(request);
    if (!decoded) return decoded.error();
    auto out = api_->call(*decoded);
    if (out) {
      auto encoded = wire::encode_output(*decoded->operation, *out, wire::OutputCheck::kAlways);
      EXPECT_TRUE(encoded.ok()) << op << ": " << encoded.status().message();
    }
    return out;
  }
  json::object ok(const std::string& op, const std::string& body) {
    auto out = call(op, body);
    EXPECT_TRUE(out.ok()) << op << ": "
                          << (out ? "" : out.error().type + " " + out.error().message);
    return out ? out.value().as_object() : json::object();
  }
  std::string error_type(const std::string& op, const std::string& body) {
    auto out = call(op, body);
    return out ? "<ok>" : out.error().type;
  }

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CodeDeployApi> api_;
  int64_t now_ = 0;
  int ids_ = 0;
};

TEST_F(CodeDeployApiTest, AnApplicationIsCreatedOnceAndReadBack) {
  json::object created = ok("CreateApplication", R"({"applicationName":"shop"})");
  EXPECT_FALSE(created["applicationId"].as_string().empty());
  EXPECT_EQ(error_type("CreateApplication", R"({"applicationName":"shop"})"),
            "ApplicationAlreadyExistsException");
  json::object got = ok("GetApplication", R"({"applicationName":"shop"})");
  EXPECT_EQ(got["application"].at("computePlatform"), "Server");
  EXPECT_EQ(error_type("GetApplication", R"({"applicationName":"nope"})"),
            "ApplicationDoesNotExistException");
  EXPECT_EQ(
      error_type("CreateApplication", R"({"applicationName":"fn","computePlatform":"Lambda"})"),
      "InvalidComputePlatformException");
}

TEST_F(CodeDeployApiTest, ListApplicationsPagesInNameOrder) {
  for (const char* n : {"c", "a", "b"})
    ok("CreateApplication", std::string(R"({"applicationName":")") + n + "\"}");
  json::object first = ok("ListApplications", "{}");
  EXPECT_EQ(json::serialize(first["applications"]), R"(["a","b"])");
  json::object second =
      ok("ListApplications",
         R"({"nextToken":")" + std::string(first["nextToken"].as_string()) + "\"}");
  EXPECT_EQ(json::serialize(second["applications"]), R"(["c"])");
  EXPECT_EQ(error_type("ListApplications", R"({"nextToken":"zz"})"), "InvalidNextTokenException");
}

TEST_F(CodeDeployApiTest, DeploymentGroupsNeedTheirApplicationAndUniqueNames) {
  const std::string group =
      R"({"applicationName":"shop","deploymentGroupName":"web","serviceRoleArn":"arn:aws:iam::123456789012:role/cd",
          "onPremisesInstanceTagFilters":[{"Key":"role","Value":"web","Type":"KEY_AND_VALUE"}]})";
  EXPECT_EQ(error_type("CreateDeploymentGroup", group), "ApplicationDoesNotExistException");
  ok("CreateApplication", R"({"applicationName":"shop"})");
  ok("CreateDeploymentGroup", group);
  EXPECT_EQ(error_type("CreateDeploymentGroup", group), "DeploymentGroupAlreadyExistsException");
  json::object got =
      ok("GetDeploymentGroup", R"({"applicationName":"shop","deploymentGroupName":"web"})");
  EXPECT_EQ(got["deploymentGroupInfo"].at("deploymentConfigName"), "CodeDeployDefault.OneAtATime");
  EXPECT_EQ(got["deploymentGroupInfo"].at("onPremisesInstanceTagFilters").at(0).at("Value"), "web");
  EXPECT_EQ(
      error_type("GetDeploymentGroup", R"({"applicationName":"shop","deploymentGroupName":"x"})"),
      "DeploymentGroupDoesNotExistException");
  json::object list = ok("ListDeploymentGroups", R"({"applicationName":"shop"})");
  EXPECT_EQ(json::serialize(list["deploymentGroups"]), R"(["web"])");
  ok("DeleteDeploymentGroup", R"({"applicationName":"shop","deploymentGroupName":"web"})");
  EXPECT_EQ(
      error_type("GetDeploymentGroup", R"({"applicationName":"shop","deploymentGroupName":"web"})"),
      "DeploymentGroupDoesNotExistException");
}

TEST_F(CodeDeployApiTest, DeploymentGroupsRefuseWhatOnPremisesCannotDo) {
  ok("CreateApplication", R"({"applicationName":"shop"})");
  EXPECT_EQ(
      error_type(
          "CreateDeploymentGroup",
          R"({"applicationName":"shop","deploymentGroupName":"g","serviceRoleArn":"arn:aws:iam::1:role/r",
                           "deploymentConfigName":"Custom.Fast"})"),
      "DeploymentConfigDoesNotExistException");
  EXPECT_EQ(
      error_type(
          "CreateDeploymentGroup",
          R"({"applicationName":"shop","deploymentGroupName":"g","serviceRoleArn":"arn:aws:iam::1:role/r",
                           "onPremisesInstanceTagFilters":[{"Key":"a","Type":"KEY_AND_VALUE"}]})"),
      "InvalidTagException");
  EXPECT_EQ(
      error_type(
          "CreateDeploymentGroup",
          R"({"applicationName":"shop","deploymentGroupName":"g","serviceRoleArn":"arn:aws:iam::1:role/r",
                           "onPremisesInstanceTagFilters":[{"Key":"a","Type":"KEY_ONLY"}],
                           "onPremisesTagSet":{"onPremisesTagSetList":[[{"Key":"a","Type":"KEY_ONLY"}]]}})"),
      "InvalidOnPremisesTagCombinationException");
}

TEST_F(CodeDeployApiTest, InstancesRegisterOnceAndAreListedByTagFilters) {
  EXPECT_EQ(error_type("RegisterOnPremisesInstance", R"({"instanceName":"web-1"})"),
            "IamArnRequiredException");
  const std::string arn = R"(,"iamUserArn":"arn:aws:iam::123456789012:user/cd"})";
  ok("RegisterOnPremisesInstance", R"({"instanceName":"web-1")" + arn);
  ok("RegisterOnPremisesInstance", R"({"instanceName":"web-2")" + arn);
  ok("RegisterOnPremisesInstance", R"({"instanceName":"db-1")" + arn);
  EXPECT_EQ(error_type("RegisterOnPremisesInstance", R"({"instanceName":"web-1")" + arn),
            "InstanceNameAlreadyRegisteredException");
  ok("AddTagsToOnPremisesInstances",
     R"({"instanceNames":["web-1","web-2"],"tags":[{"Key":"role","Value":"web"}]})");
  ok("AddTagsToOnPremisesInstances",
     R"({"instanceNames":["db-1"],"tags":[{"Key":"role","Value":"db"}]})");
  EXPECT_EQ(error_type("AddTagsToOnPremisesInstances",
                       R"({"instanceNames":["ghost"],"tags":[{"Key":"a","Value":"b"}]})"),
            "InstanceNotRegisteredException");
  json::object web = ok("ListOnPremisesInstances",
                        R"({"tagFilters":[{"Key":"role","Value":"web","Type":"KEY_AND_VALUE"}]})");
  EXPECT_EQ(json::serialize(web["instanceNames"]), R"(["web-1","web-2"])");
  json::object db =
      ok("ListOnPremisesInstances", R"({"tagFilters":[{"Value":"db","Type":"VALUE_ONLY"}]})");
  EXPECT_EQ(json::serialize(db["instanceNames"]), R"(["db-1"])");
  ok("DeregisterOnPremisesInstance", R"({"instanceName":"db-1"})");
  json::object registered = ok("ListOnPremisesInstances", R"({"registrationStatus":"Registered"})");
  EXPECT_EQ(json::serialize(registered["instanceNames"]), R"(["web-1","web-2"])");
  json::object info = ok("GetOnPremisesInstance", R"({"instanceName":"web-1"})");
  EXPECT_EQ(info["instanceInfo"].at("tags").at(0).at("Key"), "role");
  ok("RemoveTagsFromOnPremisesInstances",
     R"({"instanceNames":["web-1"],"tags":[{"Key":"role","Value":"web"}]})");
  info = ok("GetOnPremisesInstance", R"({"instanceName":"web-1"})");
  EXPECT_TRUE(info["instanceInfo"].at("tags").as_array().empty());
}

TEST_F(CodeDeployApiTest, DeploymentsAndTheirTargetsAreReadFromTheirRecords) {
  ok("CreateApplication", R"({"applicationName":"shop"})");
  const std::string doc =
      R"({"deploymentInfo":{"applicationName":"shop","deploymentGroupName":"web",
      "deploymentId":"d-ABCDEF123","status":"Failed","createTime":5.0,
      "errorInformation":{"code":"HEALTH_CONSTRAINTS","message":"instance web-1: ValidateService failed"}},
    "targets":[{"deploymentId":"d-ABCDEF123","targetId":"web-1","status":"Failed","lastUpdatedAt":6.0,
      "lifecycleEvents":[{"lifecycleEventName":"ValidateService","status":"Failed",
        "diagnostics":{"errorCode":"ScriptFailed","scriptName":"v.sh","message":"exit 1","logTail":""}}]},
      {"deploymentId":"d-ABCDEF123","targetId":"web-2","status":"Skipped","lastUpdatedAt":6.0,"lifecycleEvents":[]}]})";
  ASSERT_TRUE(
      store_->insert_resource({deploy::kService, deploy::kDeploymentKind, "d-ABCDEF123", doc, 1, 1})
          .ok());
  json::object got = ok("GetDeployment", R"({"deploymentId":"d-ABCDEF123"})");
  EXPECT_EQ(got["deploymentInfo"].at("status"), "Failed");
  EXPECT_EQ(error_type("GetDeployment", R"({"deploymentId":"d-000000000"})"),
            "DeploymentDoesNotExistException");
  json::object list =
      ok("ListDeployments", R"({"applicationName":"shop","includeOnlyStatuses":["Failed"]})");
  EXPECT_EQ(json::serialize(list["deployments"]), R"(["d-ABCDEF123"])");
  EXPECT_EQ(error_type("ListDeployments", R"({"applicationName":"nope"})"),
            "ApplicationDoesNotExistException");
  json::object targets = ok("ListDeploymentTargets", R"({"deploymentId":"d-ABCDEF123"})");
  EXPECT_EQ(json::serialize(targets["targetIds"]), R"(["web-1","web-2"])");
  json::object failed =
      ok("ListDeploymentTargets",
         R"({"deploymentId":"d-ABCDEF123","targetFilters":{"TargetStatus":["Failed"]}})");
  EXPECT_EQ(json::serialize(failed["targetIds"]), R"(["web-1"])");
  json::object batch =
      ok("BatchGetDeploymentTargets", R"({"deploymentId":"d-ABCDEF123","targetIds":["web-1"]})");
  const json::value& t = batch["deploymentTargets"].at(0);
  EXPECT_EQ(t.at("deploymentTargetType"), "InstanceTarget");
  EXPECT_EQ(t.at("instanceTarget").at("lifecycleEvents").at(0).at("diagnostics").at("scriptName"),
            "v.sh");
  EXPECT_EQ(error_type("BatchGetDeploymentTargets",
                       R"({"deploymentId":"d-ABCDEF123","targetIds":["x"]})"),
            "DeploymentTargetDoesNotExistException");
}

TEST_F(CodeDeployApiTest, UnimplementedOperationsSayWhatIsAnswered) {
  auto out = call("CreateDeploymentConfig", R"({"deploymentConfigName":"x"})");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().type, "InvalidInputException");
  EXPECT_NE(out.error().message.find("does not implement CodeDeploy CreateDeploymentConfig"),
            std::string::npos);
}

}  // namespace
}  // namespace stageline::codedeploy
