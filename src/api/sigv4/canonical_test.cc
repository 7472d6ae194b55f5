#include "api/sigv4/canonical.h"

#include <gtest/gtest.h>

#include "api/sigv4/crypto.h"

namespace stageline::api::sigv4 {
namespace {

TEST(Canonical, UriEncodeKeepsOnlyUnreservedCharactersAndUsesUpperCaseHex) {
  EXPECT_EQ(uri_encode("aZ09-_.~", false), "aZ09-_.~");
  EXPECT_EQ(uri_encode("a b/c+d=e&f%", false), "a%20b%2Fc%2Bd%3De%26f%25");
  EXPECT_EQ(uri_encode("a b/c", true), "a%20b/c");
  EXPECT_EQ(uri_encode("\xc3\xbc", false), "%C3%BC");
}

TEST(Canonical, UriDecodeLeavesPlusAndBrokenEscapesAlone) {
  EXPECT_EQ(uri_decode("a%20b%2fc"), "a b/c");
  EXPECT_EQ(uri_decode("a+b"), "a+b");
  EXPECT_EQ(uri_decode("100%"), "100%");
  EXPECT_EQ(uri_decode("%zz%4"), "%zz%4");
}

TEST(Canonical, PathIsNormalizedLikeBotocore) {
  EXPECT_EQ(normalize_path(""), "/");
  EXPECT_EQ(normalize_path("/"), "/");
  EXPECT_EQ(normalize_path("/a//b/"), "/a/b/");
  EXPECT_EQ(normalize_path("/a/./b/../c"), "/a/c");
  EXPECT_EQ(normalize_path("/../.."), "/");
  EXPECT_EQ(normalize_path("//"), "/");
}

TEST(Canonical, GenericServicesEncodeTheAlreadyEncodedPathAgain) {
  EXPECT_EQ(canonical_uri("/my%20dir/%C3%BC", false), "/my%2520dir/%25C3%25BC");
  EXPECT_EQ(canonical_uri("/a/b~c", false), "/a/b~c");
}

TEST(Canonical, S3SignsTheRawPathUnchanged) {
  EXPECT_EQ(canonical_uri("/bucket/a%20b//./c", true), "/bucket/a%20b//./c");
  EXPECT_EQ(canonical_uri("", true), "/");
}

TEST(Canonical, QueryIsDecodedReEncodedAndSortedByNameThenValue) {
  auto params = parse_query("b=2&a=z&a=y&c&d=%2f%7E&e=a+b&&");
  EXPECT_EQ(canonical_query(params), "a=y&a=z&b=2&c=&d=%2F~&e=a%2Bb");
  EXPECT_EQ(canonical_query(parse_query("")), "");
  EXPECT_EQ(canonical_query(parse_query("X-Amz-Signature=abc&x=1"), "X-Amz-Signature"), "x=1");
}

TEST(Canonical, TargetSplitsIntoPathAndQueryInOriginAndAbsoluteForm) {
  auto t = split_target("/a/b?x=1&y#frag");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/a/b");
  EXPECT_EQ(t->query, "x=1&y");
  t = split_target("http://host:80/p?q");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/p");
  EXPECT_EQ(t->query, "q");
  EXPECT_FALSE(split_target(""));
  EXPECT_FALSE(split_target("*"));
  EXPECT_FALSE(split_target("relative/path"));
}

TEST(Canonical, HeaderValuesAreTrimmedCollapsedAndJoinedWithCommas) {
  EXPECT_EQ(trim_all("  a   b\t\tc  "), "a b c");
  EXPECT_EQ(trim_all(""), "");
  std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Multi", " one  "}, {"Other", "x"}, {"x-multi", "two   three"}};
  EXPECT_EQ(canonical_header_value(headers, "x-multi"), "one,two three");
  EXPECT_EQ(canonical_header_value(headers, "missing"), std::nullopt);
}

TEST(Canonical, AmzDatesRoundTripAndRejectAnythingElse) {
  auto t = parse_amz_date("20261127T031828Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_amz_date(*t), "20261127T031828Z");
  EXPECT_EQ(t->time_since_epoch().count(), 1795749508);
  EXPECT_FALSE(parse_amz_date("20261127T031828"));
  EXPECT_FALSE(parse_amz_date("2026-11-27T03:18:28Z"));
  EXPECT_FALSE(parse_amz_date("20261131T000000Z"));  // no 31 November
  EXPECT_FALSE(parse_amz_date("20261127T250000Z"));
  EXPECT_FALSE(parse_amz_date("2026112XT000000Z"));
  EXPECT_TRUE(parse_amz_date("20240229T235959Z"));
}

// Reference §2.4: the exact bytes captured from the aws CLI.
TEST(Canonical, WorkedVectorCanonicalRequestAndStringToSignMatchTheReference) {
  std::string creq = canonical_request(
      "POST", canonical_uri("/", false), canonical_query(parse_query("")),
      "content-type:application/x-amz-json-1.1\nhost:127.0.0.1:18099\n"
      "x-amz-date:20261127T031828Z\nx-amz-target:CodePipeline_20150709.ListPipelines\n",
      "content-type;host;x-amz-date;x-amz-target", sha256_hex("{}"));
  EXPECT_EQ(creq,
            "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:127.0.0.1:18099\n"
            "x-amz-date:20261127T031828Z\nx-amz-target:CodePipeline_20150709.ListPipelines\n\n"
            "content-type;host;x-amz-date;x-amz-target\n"
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  std::string sts =
      string_to_sign("20261127T031828Z", "20261127/us-east-1/codepipeline/aws4_request", creq);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20261127T031828Z\n20261127/us-east-1/codepipeline/aws4_request\n"
            "53a5c22d40646b8bd4d8e0c9a2cc8c17a74e11102b474be8e27937587dd82acf");
  Digest k = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20261127", "us-east-1",
                         "codepipeline");
  EXPECT_EQ(hex(hmac_sha256(std::string_view(reinterpret_cast<const char*>(k.data()), 32), sts)),
            "cb7e5a63c4fa367678b866c0f0a3d4fb1786b73b37b2235bbdb90e8f73ccc855");
}

// AWS's documented signing-key example ("Examples of how to derive a signing
// key for Signature Version 4": 20120215, us-east-1, iam).
TEST(Canonical, SigningKeyMatchesTheAwsDocumentedExample) {
  EXPECT_EQ(
      hex(signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")),
      "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(Canonical, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
  EXPECT_TRUE(constant_time_equals("", ""));
}

}  // namespace
}  // namespace stageline::api::sigv4
