#include "api/connections/connections_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "api/wire/embedded.h"
#include "store/sqlite_store.h"

namespace stageline::connections {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

class ConnectionsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:", {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    ConnectionsOptions options;
    options.region = "eu-west-1";
    options.account_id = "123456789012";
    options.now_ms = [] { return int64_t{1700000000000}; };
    options.page_token_key = "0123456789abcdef0123456789abcdef";
    options.new_id = [this] {
      char buf[40];
      std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", ++ids_);
      return std::string(buf);
    };
    api_ = std::make_unique<ConnectionsApi>(*store_, options);
  }

  // Dispatches like the server: the request's Content-Type and target
  // through the model's wire::Dispatcher, then the API.
  wire::Outcome<json::value> call(const std::string& service, const std::string& op,
                                  const std::string& body) {
    const wire::ServiceModel& model = wire::embedded_service_model(service);
    wire::Dispatcher dispatcher(model);
    const std::string target = model.metadata().target_prefix + "." + op;
    wire::Request request{target, std::string_view("application/x-amz-json-1.0"), body};
    auto decoded = dispatcher.dispatch(request);
    if (!decoded) return decoded.error();
    auto out = api_->call(model, *decoded);
    if (out) {
      auto encoded = wire::encode_output(*decoded->operation, *out, wire::OutputCheck::kAlways);
      EXPECT_TRUE(encoded.ok()) << encoded.status().message();
    }
    return out;
  }

  json::object ok(const std::string& service, const std::string& op, const std::string& body) {
    auto out = call(service, op, body);
    EXPECT_TRUE(out.ok()) << op << ": "
                          << (out.ok() ? "" : out.error().type + " " + out.error().message);
    return out.ok() ? out->as_object() : json::object();
  }

  std::string error(const std::string& service, const std::string& op, const std::string& body) {
    auto out = call(service, op, body);
    EXPECT_FALSE(out.ok()) << op;
    return out.ok() ? "" : out.error().type;
  }

  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<ConnectionsApi> api_;
  int ids_ = 0;
};

constexpr const char* kCodestar = "codestar-connections";
constexpr const char* kCodeConnections = "codeconnections";

TEST_F(ConnectionsApiTest, ACreatedConnectionIsAvailableAtOnceAndListedAndDeleted) {
  auto created = ok(kCodestar, "CreateConnection",
                    R"({"ProviderType":"GitHub","ConnectionName":"my-conn",
                        "Tags":[{"Key":"team","Value":"web"}]})");
  const std::string arn(created.at("ConnectionArn").as_string());
  EXPECT_EQ(arn,
            "arn:aws:codestar-connections:eu-west-1:123456789012:connection/"
            "00000000-0000-4000-8000-000000000001");
  auto got = ok(kCodestar, "GetConnection", R"({"ConnectionArn":")" + arn + R"("})");
  const json::object& c = got.at("Connection").as_object();
  EXPECT_EQ(c.at("ConnectionStatus"), "AVAILABLE");
  EXPECT_EQ(c.at("ConnectionName"), "my-conn");
  EXPECT_EQ(c.at("ProviderType"), "GitHub");
  EXPECT_EQ(c.at("OwnerAccountId"), "123456789012");
  EXPECT_FALSE(c.contains("Tags"));

  auto listed = ok(kCodestar, "ListConnections", "{}");
  EXPECT_EQ(listed.at("Connections").as_array().size(), 1u);
  EXPECT_EQ(ok(kCodestar, "ListConnections", R"({"ProviderTypeFilter":"GitLab"})")
                .at("Connections")
                .as_array()
                .size(),
            0u);

  ok(kCodestar, "DeleteConnection", R"({"ConnectionArn":")" + arn + R"("})");
  EXPECT_EQ(error(kCodestar, "GetConnection", R"({"ConnectionArn":")" + arn + R"("})"),
            "ResourceNotFoundException");
  EXPECT_EQ(error(kCodestar, "DeleteConnection", R"({"ConnectionArn":")" + arn + R"("})"),
            "ResourceNotFoundException");
}

TEST_F(ConnectionsApiTest, BothServicesShareConnectionsAndEachMakesItsOwnArns) {
  auto created = ok(kCodeConnections, "CreateConnection",
                    R"({"ProviderType":"GitLab","ConnectionName":"new-api"})");
  const std::string arn(created.at("ConnectionArn").as_string());
  EXPECT_TRUE(arn.starts_with("arn:aws:codeconnections:eu-west-1:123456789012:connection/"));
  auto got = ok(kCodestar, "GetConnection", R"({"ConnectionArn":")" + arn + R"("})");
  EXPECT_EQ(got.at("Connection").at("ConnectionArn").as_string(), arn);
}

TEST_F(ConnectionsApiTest, AHostGivesItsConnectionsProviderTypeAndCannotGoWhileUsed) {
  auto host = ok(kCodestar, "CreateHost",
                 R"({"Name":"My Gitea","ProviderType":"GitLabSelfManaged",
                     "ProviderEndpoint":"https://git.example.com"})");
  const std::string host_arn(host.at("HostArn").as_string());
  EXPECT_TRUE(
      host_arn.starts_with("arn:aws:codestar-connections:eu-west-1:123456789012:host/"
                           "My-Gitea-"))
      << host_arn;
  auto got = ok(kCodestar, "GetHost", R"({"HostArn":")" + host_arn + R"("})");
  EXPECT_EQ(got.at("Status"), "AVAILABLE");
  EXPECT_EQ(got.at("ProviderEndpoint"), "https://git.example.com");
  EXPECT_EQ(ok(kCodestar, "ListHosts", "{}").at("Hosts").as_array().size(), 1u);

  auto conn = ok(kCodestar, "CreateConnection",
                 R"({"ConnectionName":"c","HostArn":")" + host_arn + R"("})");
  const std::string arn(conn.at("ConnectionArn").as_string());
  auto c = ok(kCodestar, "GetConnection", R"({"ConnectionArn":")" + arn + R"("})");
  EXPECT_EQ(c.at("Connection").at("ProviderType"), "GitLabSelfManaged");
  EXPECT_EQ(c.at("Connection").at("HostArn").as_string(), host_arn);
  EXPECT_EQ(ok(kCodestar, "ListConnections", R"({"HostArnFilter":")" + host_arn + R"("})")
                .at("Connections")
                .as_array()
                .size(),
            1u);

  EXPECT_EQ(error(kCodestar, "DeleteHost", R"({"HostArn":")" + host_arn + R"("})"),
            "ResourceUnavailableException");
  ok(kCodestar, "DeleteConnection", R"({"ConnectionArn":")" + arn + R"("})");
  ok(kCodestar, "DeleteHost", R"({"HostArn":")" + host_arn + R"("})");
  EXPECT_EQ(error(kCodestar, "GetHost", R"({"HostArn":")" + host_arn + R"("})"),
            "ResourceNotFoundException");
}

TEST_F(ConnectionsApiTest, BadCreationsAreRefusedWithTheModelsErrors) {
  EXPECT_EQ(error(kCodestar, "CreateConnection", R"({"ConnectionName":"x"})"),
            "ValidationException");
  EXPECT_EQ(error(kCodestar, "CreateConnection",
                  R"({"ConnectionName":"x","ProviderType":"GitLabSelfManaged"})"),
            "ValidationException");
  EXPECT_EQ(error(kCodestar, "CreateConnection",
                  R"({"ConnectionName":"x","HostArn":)"
                  R"("arn:aws:codestar-connections:eu-west-1:123456789012:host/none-1"})"),
            "ResourceNotFoundException");
  EXPECT_EQ(
      error(kCodestar, "CreateConnection", R"({"ConnectionName":"x","ProviderType":"Perforce"})"),
      "ValidationException");
  EXPECT_EQ(error(kCodestar, "GetConnection",
                  R"({"ConnectionArn":"arn:aws:codestar-connections:)"
                  R"(us-east-1:123456789012:connection/abc"})"),
            "ResourceNotFoundException")
      << "another region's ARN";
  EXPECT_EQ(error(kCodestar, "ListRepositoryLinks", "{}"), "ValidationException");
}

TEST_F(ConnectionsApiTest, TagsAreAddedReplacedListedAndRemoved) {
  auto created = ok(kCodestar, "CreateConnection",
                    R"({"ProviderType":"GitHub","ConnectionName":"c",
                        "Tags":[{"Key":"a","Value":"1"}]})");
  const std::string arn(created.at("ConnectionArn").as_string());
  ok(kCodestar, "TagResource",
     R"({"ResourceArn":")" + arn +
         R"(","Tags":[{"Key":"a","Value":"2"},{"Key":"b","Value":"3"}]})");
  auto tags = ok(kCodestar, "ListTagsForResource", R"({"ResourceArn":")" + arn + R"("})");
  EXPECT_EQ(json::serialize(tags.at("Tags")),
            R"([{"Key":"a","Value":"2"},{"Key":"b","Value":"3"}])");
  ok(kCodestar, "UntagResource", R"({"ResourceArn":")" + arn + R"(","TagKeys":["a"]})");
  tags = ok(kCodestar, "ListTagsForResource", R"({"ResourceArn":")" + arn + R"("})");
  EXPECT_EQ(json::serialize(tags.at("Tags")), R"([{"Key":"b","Value":"3"}])");
}

TEST_F(ConnectionsApiTest, ListingPagesWithATokenThatOnlyThisListingAccepts) {
  for (int i = 0; i < 5; ++i)
    ok(kCodestar, "CreateConnection", R"({"ProviderType":"GitHub","ConnectionName":"c"})");
  auto first = ok(kCodestar, "ListConnections", R"({"MaxResults":2})");
  EXPECT_EQ(first.at("Connections").as_array().size(), 2u);
  std::string token(first.at("NextToken").as_string());
  auto second =
      ok(kCodestar, "ListConnections", R"({"MaxResults":3,"NextToken":")" + token + "\"}");
  EXPECT_EQ(second.at("Connections").as_array().size(), 3u);
  EXPECT_FALSE(second.contains("NextToken"));
  EXPECT_EQ(error(kCodestar, "ListConnections",
                  R"({"ProviderTypeFilter":"GitLab","NextToken":")" + token + "\"}"),
            "ValidationException");
}

TEST_F(ConnectionsApiTest, TheJson10ContentTypeIsTheOneAccepted) {
  const wire::ServiceModel& model = wire::embedded_service_model(kCodestar);
  wire::Dispatcher dispatcher(model);
  const std::string target = model.metadata().target_prefix + ".ListHosts";
  EXPECT_TRUE(dispatcher.dispatch({target, std::string_view("application/x-amz-json-1.0"), "{}"}));
  auto wrong = dispatcher.dispatch({target, std::string_view("application/x-amz-json-1.1"), "{}"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().type, "UnknownOperationException");
}

class ResolveTest : public ConnectionsApiTest {};

TEST_F(ResolveTest, TheBaseIsTheTagElseTheHostsEndpointElseTheProvidersSite) {
  fs::path dir = fs::temp_directory_path() / ("stageline-resolve-" + std::to_string(::getpid()));
  fs::create_directories(dir / "octo" / "app.git");
  fs::create_directories(dir / "octo" / "plain");

  auto github =
      ok(kCodestar, "CreateConnection", R"({"ProviderType":"GitHub","ConnectionName":"g"})");
  const std::string github_arn(github.at("ConnectionArn").as_string());
  auto r = api_->resolve(github_arn, "octo/app");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->url, "https://github.com/octo/app");
  EXPECT_EQ(r->provider_type, "GitHub");

  ok(kCodestar, "TagResource",
     R"({"ResourceArn":")" + github_arn +
         R"(","Tags":[{"Key":"stageline:repository-base","Value":"file://)" + dir.string() +
         R"(/"}]})");
  r = api_->resolve(github_arn, "octo/app");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->url, "file://" + (dir / "octo" / "app.git").string()) << "the bare directory";
  r = api_->resolve(github_arn, "octo/plain");
  EXPECT_EQ(r->url, "file://" + (dir / "octo" / "plain").string());

  auto host = ok(kCodestar, "CreateHost",
                 R"({"Name":"h","ProviderType":"GitHubEnterpriseServer","ProviderEndpoint":")" +
                     dir.string() + R"("})");
  auto conn = ok(kCodestar, "CreateConnection",
                 R"({"ConnectionName":"c","HostArn":")" +
                     std::string(host.at("HostArn").as_string()) + R"("})");
  r = api_->resolve(std::string(conn.at("ConnectionArn").as_string()), "octo/app");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->url, (dir / "octo" / "app.git").string());
  EXPECT_EQ(r->provider_type, "GitHubEnterpriseServer");

  EXPECT_EQ(api_->resolve(github_arn, "../etc").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(api_->resolve(github_arn, "noslash").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(api_->resolve(github_arn, "octo/a b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(api_->resolve(github_arn + "0", "octo/app").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(api_->resolve("arn:aws:s3:::bucket", "octo/app").status().code(),
            StatusCode::kInvalidArgument);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stageline::connections
