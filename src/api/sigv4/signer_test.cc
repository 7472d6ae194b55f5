#include <gtest/gtest.h>

#include "api/sigv4/canonical.h"
#include "api/sigv4/crypto.h"
#include "api/sigv4/sigv4.h"

namespace stageline::api::sigv4 {
namespace {

using std::chrono::system_clock;

class SignerTest : public ::testing::Test {
 protected:
  SignerTest() {
    key_ = Key{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
               "arn:aws:iam::000000000000:user/ci", true};
    keys_.put(key_);
    options_.clock = [this] { return now_; };
    options_.services = {"codepipeline", "s3", "codecommit"};
  }

  AuthResult verify(const HttpRequest& r) { return Verifier(options_, keys_).verify(r.view()); }

  Key key_;
  InMemoryKeySource keys_;
  VerifierOptions options_;
  system_clock::time_point now_ = *parse_amz_date("20261127T031828Z");
};

HttpRequest list_pipelines() {
  return HttpRequest{"POST",
                     "/",
                     {{"Host", "127.0.0.1:8080"},
                      {"X-Amz-Target", "CodePipeline_20150709.ListPipelines"},
                      {"Content-Type", "application/x-amz-json-1.1"},
                      {"User-Agent", "stageline/0.1"}},
                     "{}"};
}

TEST_F(SignerTest, SignedRequestVerifies) {
  HttpRequest r = list_pipelines();
  ASSERT_TRUE(sign(r, key_, "us-east-1", "codepipeline", now_).ok());
  AuthResult result = verify(r);
  ASSERT_TRUE(result.ok()) << result.failure().message << "\n" << result.failure().detail;
  EXPECT_EQ(result.identity().principal, "arn:aws:iam::000000000000:user/ci");
}

TEST_F(SignerTest, SignAddsTheHeadersBotocoreAddsAndSkipsUserAgent) {
  HttpRequest r = list_pipelines();
  ASSERT_TRUE(sign(r, key_, "us-east-1", "codepipeline", now_).ok());
  auto value = [&](std::string_view name) { return *canonical_header_value(r.headers, name); };
  EXPECT_EQ(value("x-amz-date"), "20261127T031828Z");
  EXPECT_EQ(value("x-amz-content-sha256"), sha256_hex("{}"));
  EXPECT_EQ(
      value("authorization")
          .rfind("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261127/us-east-1/codepipeline/"
                 "aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;"
                 "x-amz-target, Signature=",
                 0),
      0u)
      << value("authorization");
}

TEST_F(SignerTest, SigningTwiceReplacesTheOldSignature) {
  HttpRequest r = list_pipelines();
  ASSERT_TRUE(sign(r, key_, "us-east-1", "codepipeline", now_).ok());
  now_ += std::chrono::seconds(30);
  ASSERT_TRUE(sign(r, key_, "us-east-1", "codepipeline", now_).ok());
  EXPECT_EQ(r.headers.size(), list_pipelines().headers.size() + 3);
  EXPECT_TRUE(verify(r).ok());
}

TEST_F(SignerTest, RoundTripsAwkwardShapes) {
  std::vector<HttpRequest> shapes = {
      {"GET",
       "/v1/items/my%20dir/%C3%BC?b=two%20words&a=1&a=0&empty=&slash=%2F&tilde=~",
       {{"Host", "localhost:9443"}, {"X-Repeated", "one"}, {"x-repeated", "  two   three "}},
       ""},
      {"PUT", "/a/./b/../c//d", {{"host", "example.com"}}, std::string(1 << 20, 'x')},
      {"DELETE", "/", {{"Host", "h"}, {"Content-Type", "text/plain;\tcharset=utf-8"}}, ""},
  };
  for (HttpRequest& r : shapes) {
    ASSERT_TRUE(sign(r, key_, "us-east-1", "codepipeline", now_).ok());
    AuthResult result = verify(r);
    EXPECT_TRUE(result.ok()) << r.target << ": " << result.failure().message << "\n"
                             << result.failure().detail;
  }
}

TEST_F(SignerTest, SignedBodyChangedInTransitIsRejected) {
  HttpRequest r = list_pipelines();
  ASSERT_TRUE(sign(r, key_, "us-east-1", "codepipeline", now_).ok());
  r.body = "{\"nextToken\":\"x\"}";
  EXPECT_EQ(verify(r).failure().error, AuthError::kContentHashMismatch);
}

TEST_F(SignerTest, SignRefusesARequestWithoutHostOrScope) {
  HttpRequest r = list_pipelines();
  r.headers.erase(r.headers.begin());
  r.headers.emplace_back("Authorization", "old");
  EXPECT_EQ(sign(r, key_, "us-east-1", "codepipeline", now_).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.headers.back().second, "old");  // unchanged on failure
  r = list_pipelines();
  EXPECT_FALSE(sign(r, key_, "", "codepipeline", now_).ok());
  EXPECT_FALSE(sign(r, key_, "us-east-1", "code/pipeline", now_).ok());
  r.target = "no-slash";
  EXPECT_FALSE(sign(r, key_, "us-east-1", "codepipeline", now_).ok());
}

HttpRequest get(std::string target, std::string host) {
  return HttpRequest{"GET", std::move(target), {{"Host", std::move(host)}}, ""};
}

TEST_F(SignerTest, PresignedS3UrlVerifiesUntilItExpires) {
  PresignRequest p;
  p.target = "/artifacts/my%20pipeline/Source/a.zip?versionId=3";
  p.host = "127.0.0.1:8080";
  p.expires = std::chrono::seconds(600);
  auto url = presign(p, key_, now_);
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_EQ(url->rfind("/artifacts/my%20pipeline/Source/a.zip?versionId=3&X-Amz-Algorithm="
                       "AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261127%2F"
                       "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261127T031828Z&X-Amz-Expires="
                       "600&X-Amz-SignedHeaders=host&X-Amz-Signature=",
                       0),
            0u)
      << *url;
  HttpRequest r = get(*url, "127.0.0.1:8080");
  AuthResult result = Verifier(options_, keys_).verify(r.view(), "s3");
  ASSERT_TRUE(result.ok()) << result.failure().message << "\n" << result.failure().detail;
  EXPECT_TRUE(result.identity().presigned);
  EXPECT_EQ(result.identity().service, "s3");

  now_ += std::chrono::seconds(600);
  EXPECT_TRUE(verify(r).ok());
  now_ += std::chrono::seconds(1);
  result = verify(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kRequestExpired);
  EXPECT_EQ(result.failure().message, "Request has expired");
  EXPECT_EQ(result.failure().http_status(), 403);
}

TEST_F(SignerTest, PresignedUrlForAnotherPathHostOrMethodIsRejected) {
  PresignRequest p;
  p.target = "/artifacts/a.zip";
  p.host = "127.0.0.1:8080";
  auto url = presign(p, key_, now_);
  ASSERT_TRUE(url.ok());
  std::string other = *url;
  other.replace(other.find("a.zip"), 5, "b.zip");
  EXPECT_EQ(verify(get(other, "127.0.0.1:8080")).failure().error,
            AuthError::kSignatureDoesNotMatch);
  EXPECT_EQ(verify(get(*url, "127.0.0.1:8081")).failure().error, AuthError::kSignatureDoesNotMatch);
  HttpRequest del = get(*url, "127.0.0.1:8080");
  del.method = "DELETE";
  EXPECT_EQ(verify(del).failure().error, AuthError::kSignatureDoesNotMatch);
  std::string longer = *url;
  longer.replace(longer.find("X-Amz-Expires=3600"), 18, "X-Amz-Expires=7200");
  EXPECT_EQ(verify(get(longer, "127.0.0.1:8080")).failure().error,
            AuthError::kSignatureDoesNotMatch);
}

TEST_F(SignerTest, PresignedGenericServiceSignsTheBody) {
  PresignRequest p;
  p.method = "POST";
  p.target = "/git/repo/git-upload-pack";
  p.host = "localhost";
  p.service = "codecommit";
  p.body = "0032want";
  auto url = presign(p, key_, now_);
  ASSERT_TRUE(url.ok());
  HttpRequest r{"POST", *url, {{"Host", "localhost"}}, "0032want"};
  EXPECT_TRUE(verify(r).ok());
  r.body = "0032have";
  EXPECT_EQ(verify(r).failure().error, AuthError::kSignatureDoesNotMatch);
}

TEST_F(SignerTest, PresignedUrlWithAMissingOrBadParameterIsIncompleteSignature) {
  PresignRequest p;
  p.host = "h";
  auto url = presign(p, key_, now_);
  ASSERT_TRUE(url.ok());
  std::string no_expiry = *url;
  no_expiry.replace(no_expiry.find("X-Amz-Expires="), 14, "X-Amz-Expirez=");
  EXPECT_EQ(verify(get(no_expiry, "h")).failure().error, AuthError::kIncompleteSignature);
  std::string too_long = *url;
  too_long.replace(too_long.find("X-Amz-Expires=3600"), 18, "X-Amz-Expires=604801");
  EXPECT_EQ(verify(get(too_long, "h")).failure().error, AuthError::kIncompleteSignature);
  std::string both = *url;
  HttpRequest r = get(both, "h");
  r.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=x");
  EXPECT_EQ(verify(r).failure().error, AuthError::kIncompleteSignature);
}

TEST_F(SignerTest, PresignRefusesBadInput) {
  PresignRequest p;
  EXPECT_FALSE(presign(p, key_, now_).ok());  // no host
  p.host = "h";
  p.expires = std::chrono::seconds(0);
  EXPECT_FALSE(presign(p, key_, now_).ok());
  p.expires = std::chrono::hours(24 * 8);
  EXPECT_FALSE(presign(p, key_, now_).ok());
  p.expires = std::chrono::hours(1);
  p.target = "/x?X-Amz-Signature=abc";
  EXPECT_FALSE(presign(p, key_, now_).ok());
}

}  // namespace
}  // namespace stageline::api::sigv4
