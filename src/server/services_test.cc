#include "server/services.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <sstream>

#include "api/wire/embedded.h"
#include "store/sqlite_store.h"

namespace stageline::server {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace sigv4 = api::sigv4;

// A real store file and key, real signatures; the services' handlers
// record what reached them.
class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "services-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = store::SqliteStore::open((dir_ / "stageline.db").string(), {});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    auto key = keys::ensure_admin_key(*store_, dir_, "111122223333");
    ASSERT_TRUE(key.ok()) << key.status().message();
    key_ = *key;
    key_source_ = std::make_unique<keys::StoreKeySource>(*store_);

    table_.add(JsonService{&wire::codepipeline_model(),
                           [this](const wire::Call& call, const api::Caller& caller) {
                             calls_.push_back("codepipeline " + std::string(call.operation->name) +
                                              " by " + caller.principal);
                             return wire::Outcome<json::value>(
                                 json::value(json::object{{"pipelines", json::array()}}));
                           }});
    table_.add(JsonService{&wire::embedded_service_model("codestar-connections"),
                           [this](const wire::Call& call, const api::Caller&) {
                             calls_.push_back("connections " + std::string(call.operation->name));
                             return wire::Outcome<json::value>(
                                 json::value(json::object{{"Connections", json::array()}}));
                           }});
    table_.add(RestService{"s3", [this](const http::Request& r) {
                             calls_.push_back("s3 " + r.method + " " + std::string(r.path()));
                             http::Response out;
                             out.body = "<ok/>";
                             return out;
                           }});
    sigv4::VerifierOptions options;
    options.services = table_.signing_names();
    verifier_ = std::make_unique<sigv4::Verifier>(options, *key_source_);
    router_ = std::make_unique<Router>(
        table_, *verifier_, *key_source_, [] { return keys::system_now_ms(); }, log_);
  }
  void TearDown() override {
    router_.reset();
    verifier_.reset();
    key_source_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  // A request signed for `service`, as a client would send it.
  http::Request signed_request(std::string method, std::string target, std::string service,
                               std::string x_amz_target, std::string body) {
    sigv4::HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers.emplace_back("Host", "127.0.0.1:7300");
    if (!x_amz_target.empty()) {
      r.headers.emplace_back("X-Amz-Target", x_amz_target);
      // CodeStar Connections speaks AWS JSON 1.0, CodePipeline 1.1.
      r.headers.emplace_back("Content-Type", x_amz_target.starts_with("com.amazonaws.codestar")
                                                 ? "application/x-amz-json-1.0"
                                                 : "application/x-amz-json-1.1");
    }
    r.body = body;
    Status s = sigv4::sign(r, key_, "us-east-1", service, std::chrono::system_clock::now());
    EXPECT_TRUE(s.ok()) << s.message();
    http::Request out;
    out.method = r.method;
    out.target = r.target;
    out.request_id = "test";
    for (const auto& h : r.headers) out.headers.push_back(h);
    out.body = r.body;
    return out;
  }

  fs::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  sigv4::Key key_;
  std::unique_ptr<keys::StoreKeySource> key_source_;
  ServiceTable table_;
  std::unique_ptr<sigv4::Verifier> verifier_;
  std::unique_ptr<Router> router_;
  std::ostringstream log_;
  std::vector<std::string> calls_;
};

std::string type_of(const http::Response& r) {
  return std::string(json::parse(r.body).as_object().at("__type").as_string());
}

TEST_F(RouterTest, TargetPrefixPicksTheJsonService) {
  auto r = router_->handle(
      signed_request("POST", "/", "codepipeline", "CodePipeline_20150709.ListPipelines", "{}"));
  EXPECT_EQ(r.status, 200) << r.body;
  auto c = router_->handle(signed_request(
      "POST", "/", "codestar-connections",
      "com.amazonaws.codestar.connections.CodeStar_connections_20191201.ListConnections", "{}"));
  EXPECT_EQ(c.status, 200) << c.body;
  auto content_type = [](const http::Response& x) {
    for (const auto& [name, value] : x.headers)
      if (name == "Content-Type") return value;
    return std::string();
  };
  EXPECT_EQ(content_type(r), "application/x-amz-json-1.1");
  EXPECT_EQ(content_type(c), "application/x-amz-json-1.0") << "the protocol version of the service";
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(calls_[0], "codepipeline ListPipelines by arn:aws:iam::111122223333:user/admin");
  EXPECT_EQ(calls_[1], "connections ListConnections");
}

TEST_F(RouterTest, RequestSignedForAnotherServiceIsRefused) {
  auto r = router_->handle(signed_request("POST", "/", "codestar-connections",
                                          "CodePipeline_20150709.ListPipelines", "{}"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(type_of(r), "InvalidSignatureException");
  EXPECT_TRUE(calls_.empty());
}

TEST_F(RouterTest, UnknownTargetPrefixIsUnknownOperation) {
  auto r = router_->handle(
      signed_request("POST", "/", "codebuild", "CodeBuild_20161006.ListProjects", "{}"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(type_of(r), "UnknownOperationException");
  EXPECT_NE(r.body.find("CodeBuild_20161006.ListProjects"), std::string::npos);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(RouterTest, JsonTargetOnAnotherPathIsRefused) {
  auto r = router_->handle(
      signed_request("POST", "/x", "codepipeline", "CodePipeline_20150709.ListPipelines", "{}"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(type_of(r), "UnknownOperationException");
}

TEST_F(RouterTest, CredentialScopePicksTheRestService) {
  auto request = signed_request("GET", "/bucket/key.txt", "s3", "", "");
  EXPECT_EQ(credential_scope_service(request), "s3");
  EXPECT_TRUE(router_->accepts(request));
  auto r = router_->handle(request);
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0], "s3 GET /bucket/key.txt");
}

TEST_F(RouterTest, PresignedCredentialNamesTheService) {
  sigv4::PresignRequest p;
  p.target = "/bucket/a%20b";
  p.host = "127.0.0.1:7300";
  auto target = sigv4::presign(p, key_, std::chrono::system_clock::now());
  ASSERT_TRUE(target.ok()) << target.status().message();
  http::Request r;
  r.method = "GET";
  r.target = *target;
  r.headers.emplace_back("Host", "127.0.0.1:7300");
  EXPECT_EQ(credential_scope_service(r), "s3");
  EXPECT_TRUE(router_->accepts(r));
}

TEST_F(RouterTest, UnsignedRequestWithoutTargetIsNotAccepted) {
  http::Request r;
  r.method = "GET";
  r.target = "/console/";
  EXPECT_EQ(credential_scope_service(r), "");
  EXPECT_FALSE(router_->accepts(r));
  EXPECT_EQ(router_->handle(r).status, 404);
  r.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/20261127/us");
  EXPECT_EQ(credential_scope_service(r), "");
}

TEST(ServiceTableTest, SigningNamesComeFromTheModels) {
  ServiceTable t;
  auto handler = [](const wire::Call&, const api::Caller&) {
    return wire::Outcome<json::value>(json::value(json::object()));
  };
  t.add(JsonService{&wire::codepipeline_model(), handler});
  t.add(JsonService{&wire::embedded_service_model("codeconnections"), handler});
  t.add(RestService{"s3", [](const http::Request&) { return http::Response(); }});
  EXPECT_EQ(t.signing_names(), (std::vector<std::string>{"codeconnections", "codepipeline", "s3"}));
  EXPECT_NE(t.json_service("CodePipeline_20150709"), nullptr);
  EXPECT_EQ(t.json_service("CodePipeline_20150710"), nullptr);
  EXPECT_EQ(t.rest_service("kms"), nullptr);
}

}  // namespace
}  // namespace stageline::server
