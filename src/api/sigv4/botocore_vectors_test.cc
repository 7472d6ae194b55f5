// Verifies requests signed by botocore (the signer in the aws CLI and boto3),
// written by botocore_vectors.py, which ctest runs first as a fixture. The
// file's path comes from SIGV4_BOTOCORE_VECTORS; without it the test fails.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "api/sigv4/canonical.h"
#include "api/sigv4/request_file.h"
#include "api/sigv4/sigv4.h"

namespace stageline::api::sigv4 {
namespace {

namespace json = boost::json;

struct Vector {
  std::string name;
  std::string signer;
  HttpRequest request;
  Key key;
  std::string region;
  std::string service;
  std::string time;
  bool presigned = false;
};

std::vector<Vector> load_vectors() {
  const char* path = std::getenv("SIGV4_BOTOCORE_VECTORS");
  if (path == nullptr) {
    ADD_FAILURE() << "SIGV4_BOTOCORE_VECTORS is not set: run this test through ctest, which "
                     "first runs botocore_vectors.py (test sigv4_botocore_vectors_generate)";
    return {};
  }
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path
                  << ": the fixture sigv4_botocore_vectors_generate (python3 + botocore) did not "
                     "write it; run it to see why";
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  json::value doc = json::parse(ss.str());
  std::vector<Vector> out;
  for (const json::value& jv : doc.at("vectors").as_array()) {
    const json::object& o = jv.as_object();
    auto str = [&](const char* k) { return std::string(o.at(k).as_string()); };
    Vector v;
    v.name = str("name");
    v.signer = str("signer");
    v.request.method = str("method");
    v.request.target = str("target");
    for (const json::value& h : o.at("headers").as_array())
      v.request.headers.emplace_back(std::string(h.as_array().at(0).as_string()),
                                     std::string(h.as_array().at(1).as_string()));
    v.request.body = *base64_decode(o.at("body_base64").as_string());
    v.key =
        Key{str("access_key_id"), str("secret"), "arn:aws:iam::000000000000:user/botocore", true};
    v.region = str("region");
    v.service = str("service");
    v.time = str("time");
    v.presigned = o.at("presigned").as_bool();
    out.push_back(std::move(v));
  }
  return out;
}

class BotocoreVectors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vectors_ = new std::vector<Vector>(load_vectors()); }
  static void TearDownTestSuite() {
    delete vectors_;
    vectors_ = nullptr;
  }

  static AuthResult verify(const Vector& v, const HttpRequest& r) {
    InMemoryKeySource keys;
    keys.put(v.key);
    VerifierOptions options;
    options.region = v.region;
    options.services = {v.service};
    auto t = *parse_amz_date(v.time);
    options.clock = [t] { return std::chrono::system_clock::time_point(t); };
    return Verifier(options, keys).verify(r.view());
  }

  static std::vector<Vector>* vectors_;
};
std::vector<Vector>* BotocoreVectors::vectors_ = nullptr;

TEST_F(BotocoreVectors, FileHoldsEveryShape) {
  EXPECT_GE(vectors_->size(), 13u);
  int presigned = 0, s3 = 0;
  for (const Vector& v : *vectors_) {
    presigned += v.presigned;
    s3 += v.service == "s3";
  }
  EXPECT_GE(presigned, 2);
  EXPECT_GE(s3, 2);
}

TEST_F(BotocoreVectors, EveryBotocoreSignatureVerifies) {
  for (const Vector& v : *vectors_) {
    SCOPED_TRACE(v.name + " (" + v.signer + ")");
    AuthResult r = verify(v, v.request);
    ASSERT_TRUE(r.ok()) << r.failure().message << "\n" << r.failure().detail;
    EXPECT_EQ(r.identity().access_key_id, v.key.access_key_id);
    EXPECT_EQ(r.identity().service, v.service);
    EXPECT_EQ(r.identity().region, v.region);
    EXPECT_EQ(format_amz_date(r.identity().signed_at), v.time);
    EXPECT_EQ(r.identity().presigned, v.presigned);
  }
}

TEST_F(BotocoreVectors, EveryBotocoreSignatureFailsForAnotherMethodOrSecret) {
  for (const Vector& v : *vectors_) {
    SCOPED_TRACE(v.name);
    HttpRequest r = v.request;
    r.method = r.method == "GET" ? "HEAD" : "GET";
    AuthResult result = verify(v, r);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.failure().error, AuthError::kSignatureDoesNotMatch);
    Vector other = v;
    other.key.secret.back() = other.key.secret.back() == 'Y' ? 'Z' : 'Y';
    result = verify(other, v.request);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.failure().error, AuthError::kSignatureDoesNotMatch);
  }
}

TEST_F(BotocoreVectors, EveryBodyCoveredByTheSignatureFailsWhenChanged) {
  for (const Vector& v : *vectors_) {
    if (v.presigned && v.service == "s3") continue;  // UNSIGNED-PAYLOAD by design
    SCOPED_TRACE(v.name);
    HttpRequest r = v.request;
    if (r.body.empty())
      r.body = "x";
    else
      r.body.back() = static_cast<char>(r.body.back() ^ 1);
    AuthResult result = verify(v, r);
    ASSERT_FALSE(result.ok());
    EXPECT_TRUE(result.failure().error == AuthError::kSignatureDoesNotMatch ||
                result.failure().error == AuthError::kContentHashMismatch)
        << to_string(result.failure().error);
  }
}

// Our presign makes byte-for-byte the URL botocore's query signers make.
TEST_F(BotocoreVectors, PresignProducesTheSameUrlAsBotocore) {
  int compared = 0;
  for (const Vector& v : *vectors_) {
    if (!v.presigned) continue;
    SCOPED_TRACE(v.name);
    std::string_view target = v.request.target;
    size_t auth = target.find("X-Amz-Algorithm=");
    ASSERT_NE(auth, std::string_view::npos);
    size_t exp = target.find("X-Amz-Expires=") + 14;
    PresignRequest p;
    p.method = v.request.method;
    p.target = std::string(target.substr(0, auth - 1));
    p.host = *canonical_header_value(v.request.headers, "host");
    p.region = v.region;
    p.service = v.service;
    p.expires = std::chrono::seconds(std::stol(std::string(target.substr(exp))));
    auto url = presign(p, v.key, *parse_amz_date(v.time));
    ASSERT_TRUE(url.ok()) << url.status().message();
    EXPECT_EQ(*url, v.request.target);
    ++compared;
  }
  EXPECT_GE(compared, 2);
}

}  // namespace
}  // namespace stageline::api::sigv4
