#include "api/sigv4/sigv4.h"

#include <gtest/gtest.h>

#include "api/sigv4/canonical.h"
#include "api/sigv4/crypto.h"
#include "base/strings.h"

namespace stageline::api::sigv4 {
namespace {

using std::chrono::system_clock;

constexpr char kId[] = "AKIDEXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kAuth[] =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/codepipeline/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
    "Signature=cb7e5a63c4fa367678b866c0f0a3d4fb1786b73b37b2235bbdb90e8f73ccc855";

system_clock::time_point at(const char* amz_date) { return *parse_amz_date(amz_date); }

// Reference §2.4, with the headers the CLI sends after signing (§1.2).
HttpRequest worked_vector() {
  return HttpRequest{
      "POST",
      "/",
      {
          {"Host", "127.0.0.1:18099"},
          {"Accept-Encoding", "identity"},
          {"X-Amz-Target", "CodePipeline_20150709.ListPipelines"},
          {"Content-Type", "application/x-amz-json-1.1"},
          {"User-Agent", "aws-cli/1.45.11 md/Botocore#1.43.11 ua/2.1 botocore/1.43.11"},
          {"X-Amz-Date", "20261127T031828Z"},
          {"Authorization", kAuth},
          {"amz-sdk-invocation-id", "7ee7d144-9276-42fe-a521-bc3cc4e12eb6"},
          {"amz-sdk-request", "attempt=1"},
          {"Content-Length", "2"},
      },
      "{}"};
}

std::string& header(HttpRequest& r, std::string_view name) {
  for (auto& [n, v] : r.headers)
    if (n == name) return v;
  ADD_FAILURE() << "no header " << name;
  static std::string none;
  return none;
}

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest() {
    keys_.put(Key{kId, kSecret, "arn:aws:iam::000000000000:user/admin", true});
    options_.clock = [this] { return now_; };
  }

  AuthResult verify(const HttpRequest& r) { return Verifier(options_, keys_).verify(r.view()); }

  // The error of verifying `r`, or a test failure if it verified.
  AuthError error_of(const HttpRequest& r) {
    AuthResult result = verify(r);
    if (result.ok()) {
      ADD_FAILURE() << "verified, expected a failure";
      return AuthError::kMissingAuthenticationToken;
    }
    return result.failure().error;
  }

  InMemoryKeySource keys_;
  VerifierOptions options_;
  system_clock::time_point now_ = at("20261127T031828Z");
};

TEST_F(VerifierTest, WorkedVectorFromTheReferenceVerifies) {
  AuthResult r = verify(worked_vector());
  ASSERT_TRUE(r.ok()) << r.failure().message << "\n" << r.failure().detail;
  EXPECT_EQ(r.identity().access_key_id, kId);
  EXPECT_EQ(r.identity().principal, "arn:aws:iam::000000000000:user/admin");
  EXPECT_EQ(r.identity().region, "us-east-1");
  EXPECT_EQ(r.identity().service, "codepipeline");
  EXPECT_EQ(format_amz_date(r.identity().signed_at), "20261127T031828Z");
  EXPECT_FALSE(r.identity().presigned);
}

TEST_F(VerifierTest, HeadersAddedAfterSigningAndHeaderNameCaseDoNotMatter) {
  HttpRequest r = worked_vector();
  header(r, "amz-sdk-request") = "ttl=20261127T031900Z; attempt=2; max=3";
  r.headers.emplace_back("X-Forwarded-For", "10.0.0.1");
  for (auto& [name, value] : r.headers)
    if (name == "Content-Type") name = "CONTENT-TYPE";
  EXPECT_TRUE(verify(r).ok());
}

TEST_F(VerifierTest, ClockAnywhereInsideTheSkewWindowVerifies) {
  now_ = at("20261127T033328Z");  // exactly 15 min later
  EXPECT_TRUE(verify(worked_vector()).ok());
  now_ = at("20261127T030328Z");  // exactly 15 min earlier
  EXPECT_TRUE(verify(worked_vector()).ok());
}

TEST_F(VerifierTest, RejectsAChangedMethod) {
  HttpRequest r = worked_vector();
  r.method = "PUST";
  EXPECT_EQ(error_of(r), AuthError::kSignatureDoesNotMatch);
}

TEST_F(VerifierTest, RejectsAChangedPath) {
  HttpRequest r = worked_vector();
  r.target = "/x";
  EXPECT_EQ(error_of(r), AuthError::kSignatureDoesNotMatch);
}

TEST_F(VerifierTest, RejectsAnAddedQuery) {
  HttpRequest r = worked_vector();
  r.target = "/?a";
  EXPECT_EQ(error_of(r), AuthError::kSignatureDoesNotMatch);
}

TEST_F(VerifierTest, RejectsAChangeToAnySignedHeaderValue) {
  for (const char* name : {"Host", "X-Amz-Target", "Content-Type"}) {
    HttpRequest r = worked_vector();
    std::string& v = header(r, name);
    v.back() = static_cast<char>(v.back() + 1);
    EXPECT_EQ(error_of(r), AuthError::kSignatureDoesNotMatch) << name;
  }
}

TEST_F(VerifierTest, RejectsASignatureComputedOverADifferentBody) {
  HttpRequest r = worked_vector();
  r.body = "{ }";
  EXPECT_EQ(error_of(r), AuthError::kSignatureDoesNotMatch);
  r.body = "[}";
  EXPECT_EQ(error_of(r), AuthError::kSignatureDoesNotMatch);
  r.body = "";
  EXPECT_EQ(error_of(r), AuthError::kSignatureDoesNotMatch);
}

TEST_F(VerifierTest, RejectsAChangedSecondInTheDate) {
  HttpRequest r = worked_vector();
  header(r, "X-Amz-Date") = "20261127T031829Z";
  EXPECT_EQ(error_of(r), AuthError::kSignatureDoesNotMatch);
}

TEST_F(VerifierTest, RejectsADateOnAnotherDayThanTheScope) {
  HttpRequest r = worked_vector();
  header(r, "X-Amz-Date") = "20261128T031828Z";
  now_ = at("20261128T031828Z");
  AuthResult result = verify(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kInvalidCredentialScope);
  EXPECT_EQ(result.failure().message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            "HTTP: '20261127' != '20261128', from '20261128T031828Z'.");
}

TEST_F(VerifierTest, RejectsEachSingleByteChangeOfTheScope) {
  struct Case {
    const char* from;
    const char* to;
    AuthError error;
  };
  for (const Case& c : {
           Case{"AKIDEXAMPLE/", "AKIDEXAMPLF/", AuthError::kUnrecognizedClient},
           Case{"/20261127/", "/20261128/", AuthError::kInvalidCredentialScope},
           Case{"/us-east-1/", "/us-east-2/", AuthError::kInvalidCredentialScope},
           Case{"/codepipeline/", "/codepipelinf/", AuthError::kInvalidCredentialScope},
           Case{"/aws4_request", "/aws5_request", AuthError::kInvalidCredentialScope},
       }) {
    HttpRequest r = worked_vector();
    std::string& auth = header(r, "Authorization");
    auth.replace(auth.find(c.from), std::string_view(c.from).size(), c.to);
    EXPECT_EQ(error_of(r), c.error) << c.to;
  }
}

TEST_F(VerifierTest, RejectsEachSingleCharacterChangeOfTheSignature) {
  const std::string auth = kAuth;
  const size_t start = auth.find("Signature=") + 10;
  for (size_t i = start; i < auth.size(); ++i) {
    HttpRequest r = worked_vector();
    std::string& a = header(r, "Authorization");
    a[i] = a[i] == '0' ? '1' : '0';
    AuthResult result = verify(r);
    ASSERT_FALSE(result.ok()) << i;
    EXPECT_EQ(result.failure().error, AuthError::kSignatureDoesNotMatch) << i;
    EXPECT_EQ(result.failure().aws_type(), "InvalidSignatureException");
    EXPECT_EQ(result.failure().http_status(), 400);
    EXPECT_EQ(result.failure().message,
              "The request signature we calculated does not match the signature you provided. "
              "Check your AWS Secret Access Key and signing method. Consult the service "
              "documentation for details.");
  }
}

TEST_F(VerifierTest, RejectsATruncatedOrExtendedSignature) {
  HttpRequest r = worked_vector();
  header(r, "Authorization").pop_back();
  EXPECT_EQ(error_of(r), AuthError::kSignatureDoesNotMatch);
  r = worked_vector();
  header(r, "Authorization") += "0";
  EXPECT_EQ(error_of(r), AuthError::kSignatureDoesNotMatch);
}

TEST_F(VerifierTest, RejectsTheRightSignatureMadeWithAnotherSecret) {
  keys_.put(Key{kId, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", "p", true});
  EXPECT_EQ(error_of(worked_vector()), AuthError::kSignatureDoesNotMatch);
}

TEST_F(VerifierTest, NoAuthorizationIsMissingAuthenticationToken) {
  HttpRequest r = worked_vector();
  std::erase_if(r.headers, [](const Header& h) { return h.first == "Authorization"; });
  AuthResult result = verify(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kMissingAuthenticationToken);
  EXPECT_EQ(result.failure().aws_type(), "MissingAuthenticationTokenException");
  EXPECT_EQ(result.failure().http_status(), 403);
  EXPECT_EQ(result.failure().message, "Missing Authentication Token");
}

TEST_F(VerifierTest, UnknownKeyIsUnrecognizedClient) {
  keys_.remove(kId);
  AuthResult result = verify(worked_vector());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kUnrecognizedClient);
  EXPECT_EQ(result.failure().aws_type(), "UnrecognizedClientException");
  EXPECT_EQ(result.failure().http_status(), 403);
  EXPECT_EQ(result.failure().message, "The security token included in the request is invalid.");
}

TEST_F(VerifierTest, DisabledKeyLooksUnknownToTheClientButTheLogSaysDisabled) {
  keys_.put(Key{kId, kSecret, "arn:aws:iam::000000000000:user/admin", false});
  AuthResult result = verify(worked_vector());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kUnrecognizedClient);
  EXPECT_EQ(result.failure().message, "The security token included in the request is invalid.");
  EXPECT_NE(result.failure().detail.find("disabled"), std::string::npos);
}

TEST_F(VerifierTest, TooOldIsSignatureExpiredWithAwsWording) {
  now_ = at("20261127T033329Z");  // 15 min 1 s later
  AuthResult result = verify(worked_vector());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kSignatureExpired);
  EXPECT_EQ(result.failure().aws_type(), "InvalidSignatureException");
  EXPECT_EQ(result.failure().message,
            "Signature expired: 20261127T031828Z is now earlier than 20261127T031829Z "
            "(20261127T033329Z - 15 min.)");
}

TEST_F(VerifierTest, TooFarInTheFutureIsSignatureNotYetCurrent) {
  now_ = at("20261127T030327Z");
  AuthResult result = verify(worked_vector());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kSignatureNotYetCurrent);
  EXPECT_EQ(result.failure().message,
            "Signature not yet current: 20261127T031828Z is still later than 20261127T031827Z "
            "(20261127T030327Z + 15 min.)");
}

TEST_F(VerifierTest, SkewWindowIsConfigurable) {
  options_.max_skew = std::chrono::minutes(5);
  now_ = at("20261127T032329Z");
  EXPECT_EQ(error_of(worked_vector()), AuthError::kSignatureExpired);
}

TEST_F(VerifierTest, WrongRegionOrServiceIsAnInvalidScope) {
  options_.region = "eu-west-1";
  AuthResult result = verify(worked_vector());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kInvalidCredentialScope);
  EXPECT_EQ(result.failure().message,
            "Credential should be scoped to a valid region, not 'us-east-1'. This server serves "
            "'eu-west-1'.");
  options_.region = "";  // any region
  EXPECT_TRUE(verify(worked_vector()).ok());
  options_.services = {"codecommit", "s3"};
  result = verify(worked_vector());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kInvalidCredentialScope);
  options_.services = {"codecommit", "codepipeline"};
  EXPECT_TRUE(verify(worked_vector()).ok());
}

TEST_F(VerifierTest, ServiceGivenPerCallOverridesTheConfiguredServices) {
  Verifier v(options_, keys_);
  EXPECT_TRUE(v.verify(worked_vector().view(), "codepipeline").ok());
  AuthResult result = v.verify(worked_vector().view(), "s3");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().message,
            "Credential should be scoped to correct service: 's3', not 'codepipeline'.");
}

TEST_F(VerifierTest, HostMustBeSigned) {
  HttpRequest r = worked_vector();
  std::string& auth = header(r, "Authorization");
  auth.replace(auth.find("content-type;host;"), 18, "content-type;");
  AuthResult result = verify(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kIncompleteSignature);
  EXPECT_EQ(result.failure().aws_type(), "IncompleteSignature");
  EXPECT_EQ(result.failure().http_status(), 403);
  EXPECT_EQ(result.failure().message,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST_F(VerifierTest, MissingXAmzDateIsIncompleteSignature) {
  HttpRequest r = worked_vector();
  std::erase_if(r.headers, [](const Header& h) { return h.first == "X-Amz-Date"; });
  EXPECT_EQ(error_of(r), AuthError::kIncompleteSignature);
}

TEST_F(VerifierTest, SignedHeaderAbsentFromTheRequestIsIncompleteSignature) {
  HttpRequest r = worked_vector();
  std::erase_if(r.headers, [](const Header& h) { return h.first == "X-Amz-Target"; });
  AuthResult result = verify(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kIncompleteSignature);
  EXPECT_EQ(result.failure().message, "The signed header 'x-amz-target' is not in the request.");
}

TEST_F(VerifierTest, EachMissingComponentIsNamed) {
  HttpRequest r = worked_vector();
  header(r, "Authorization") =
      "AWS4-HMAC-SHA256 SignedHeaders=content-type;host;x-amz-date;x-amz-target";
  AuthResult result = verify(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kIncompleteSignature);
  EXPECT_EQ(result.failure().message.find(
                "Authorization header requires 'Credential' parameter. Authorization header "
                "requires 'Signature' parameter. Authorization="),
            0u)
      << result.failure().message;
}

TEST_F(VerifierTest, ComponentsMayBeSeparatedByBareCommas) {
  HttpRequest r = worked_vector();
  std::string& auth = header(r, "Authorization");
  for (size_t p; (p = auth.find(", ")) != std::string::npos;) auth.erase(p + 1, 1);
  EXPECT_TRUE(verify(r).ok()) << auth;
}

TEST_F(VerifierTest, TwoAuthorizationHeadersAreRejected) {
  HttpRequest r = worked_vector();
  r.headers.emplace_back("authorization", kAuth);
  EXPECT_EQ(error_of(r), AuthError::kIncompleteSignature);
}

TEST_F(VerifierTest, ContentSha256HeaderMustMatchTheBodyReceived) {
  HttpRequest r = worked_vector();
  r.headers.emplace_back("X-Amz-Content-SHA256", sha256_hex("{}"));
  EXPECT_TRUE(verify(r).ok());  // same payload hash as without the header
  header(r, "X-Amz-Content-SHA256") = sha256_hex("{\"name\":\"x\"}");
  AuthResult result = verify(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kContentHashMismatch);
  EXPECT_EQ(result.failure().aws_type(), "InvalidSignatureException");
  header(r, "X-Amz-Content-SHA256") = "UNSIGNED-PAYLOAD";  // S3 only
  EXPECT_EQ(error_of(r), AuthError::kIncompleteSignature);
}

TEST_F(VerifierTest, UnsignedSecurityTokenIsRejected) {
  HttpRequest r = worked_vector();
  r.headers.emplace_back("X-Amz-Security-Token", "FQoGZXIvYXdzE");
  AuthResult result = verify(r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().error, AuthError::kIncompleteSignature);
  EXPECT_EQ(result.failure().message, "The X-Amz-Security-Token header must be a 'SignedHeader'.");
}

TEST_F(VerifierTest, OtherAlgorithmsAreIncompleteSignature) {
  HttpRequest r = worked_vector();
  header(r, "Authorization").replace(0, 16, "AWS4-HMAC-SHA512");
  EXPECT_EQ(error_of(r), AuthError::kIncompleteSignature);
  header(r, "Authorization") = "Basic YWRtaW46YWRtaW4=";
  EXPECT_EQ(error_of(r), AuthError::kIncompleteSignature);
}

TEST_F(VerifierTest, StatusOfAFailureNamesTheAwsType) {
  keys_.remove(kId);
  AuthResult r = verify(worked_vector());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "UnrecognizedClientException: The security token included in the request is invalid.");
}

// Mutated Authorization headers: truncations, doubled separators, missing '=',
// huge values, control bytes. Each must come back as an error, never a crash
// (the sanitizer build runs this too).
TEST_F(VerifierTest, MalformedAuthorizationHeadersNeverCrashAndAlwaysFail) {
  const std::string good = kAuth;
  std::vector<std::string> bad;
  for (size_t n = 0; n < good.size(); ++n) bad.push_back(good.substr(0, n));
  for (size_t i = 0; i < good.size(); ++i) {
    std::string s = good;
    s.erase(i, 1);
    bad.push_back(s);
    s = good;
    s.insert(i, ",");
    bad.push_back(s);
    s = good;
    s[i] = '=';
    bad.push_back(s);
    s = good;
    s[i] = '\0';
    bad.push_back(s);
    s = good;
    s[i] = static_cast<char>(0xff);
    bad.push_back(s);
  }
  for (const char* s :
       {"", " ", ",", ",,,", "=", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 ,",
        "AWS4-HMAC-SHA256 Credential",
        "AWS4-HMAC-SHA256 =,=,=", "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=",
        "AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;;;, Signature=x",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f, SignedHeaders=host, Signature=x"})
    bad.push_back(s);
  bad.push_back("AWS4-HMAC-SHA256 Credential=" + std::string(1 << 20, 'A'));
  bad.push_back("AWS4-HMAC-SHA256 " + std::string(1 << 16, ','));
  bad.push_back("AWS4-HMAC-SHA256 SignedHeaders=" + std::string(1 << 16, ';') +
                ", Credential=AKIDEXAMPLE/20261127/us-east-1/codepipeline/aws4_request, "
                "Signature=00");
  bad.push_back(good + ", " + good.substr(17));

  std::erase(bad, good);  // replacing an '=' by '=' changes nothing
  Verifier v(options_, keys_);
  for (const std::string& auth : bad) {
    HttpRequest r = worked_vector();
    header(r, "Authorization") = auth;
    AuthResult result = v.verify(r.view());
    // A removed inner space (", S" -> ",S") still parses and verifies.
    if (result.ok()) {
      EXPECT_NE(auth.find(",S"), std::string::npos) << quote(auth, 4000);
      continue;
    }
    EXPECT_FALSE(result.failure().message.empty());
    EXPECT_LT(result.failure().message.size(), 2000u) << "echoes hostile input unbounded";
    EXPECT_EQ(result.failure().message.find('\0'), std::string::npos);
  }
}

TEST_F(VerifierTest, MalformedDatesAndTargetsFailCleanly) {
  for (const char* date : {"", "20261127", "20261127T031828", "2026-11-27T03:18:28Z",
                           "99999999T999999Z", "20261127T031828Z "}) {
    HttpRequest r = worked_vector();
    header(r, "X-Amz-Date") = date;
    AuthResult result = verify(r);
    // A trailing space is trimmed like any header value.
    if (std::string_view(date) == "20261127T031828Z ") {
      EXPECT_TRUE(result.ok());
      continue;
    }
    ASSERT_FALSE(result.ok()) << date;
    EXPECT_EQ(result.failure().error, AuthError::kIncompleteSignature) << date;
  }
  for (const char* target : {"", "*", "x", "?a=b"}) {
    HttpRequest r = worked_vector();
    r.target = target;
    AuthResult result = verify(r);
    ASSERT_FALSE(result.ok()) << target;
  }
}

}  // namespace
}  // namespace stageline::api::sigv4
