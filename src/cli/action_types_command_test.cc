#include "cli/action_types_command.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>

namespace stageline::cli {
namespace {

namespace json = boost::json;

TEST(ActionTypesCommand, WrapsABareDeclarationAsUpdateActionTypeInput) {
  auto body = registration_body(R"({"id": {"provider": "Scanner"}})");
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_EQ(json::parse(*body).at("actionType").at("id").at("provider"), "Scanner");
}

TEST(ActionTypesCommand, KeepsACliInputJsonDocumentAsItIs) {
  auto body = registration_body(R"({"actionType": {"id": {"provider": "Scanner"}}})");
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_EQ(json::parse(*body).at("actionType").at("id").at("provider"), "Scanner");
  EXPECT_FALSE(json::parse(*body).at("actionType").as_object().contains("actionType"));
}

TEST(ActionTypesCommand, RefusesAFileThatIsNotAJsonObject) {
  EXPECT_EQ(registration_body("[1, 2]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registration_body("{ nope").status().code(), StatusCode::kInvalidArgument);
}

TEST(ActionTypesCommand, AnUnknownSubcommandIsAUsageErrorAndAnUnreadableFileToo) {
  ClientEnvironment env;
  std::ostringstream out, err;
  EXPECT_EQ(run_action_types({"remove"}, env, out, err), kExitUsage);
  EXPECT_NE(err.str().find("expected 'register FILE.json' or 'list'"), std::string::npos);
  EXPECT_EQ(run_action_types({"register", "/nonexistent/type.json"}, env, out, err), kExitUsage);
  EXPECT_NE(err.str().find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace stageline::cli
