#include "cli/s3_command.h"

#include <gtest/gtest.h>

#include <sstream>

namespace stageline::cli {
namespace {

TEST(S3Url, SplitsBucketAndKey) {
  auto u = parse_s3_url("s3://bucket/dir/file.txt");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->bucket, "bucket");
  EXPECT_EQ(u->key, "dir/file.txt");
  EXPECT_EQ(parse_s3_url("s3://bucket")->key, "");
  EXPECT_EQ(parse_s3_url("s3://bucket/")->key, "");
}

TEST(S3Url, RefusesWhatIsNotAnS3UrlWithABucket) {
  EXPECT_FALSE(parse_s3_url("file.txt").has_value());
  EXPECT_FALSE(parse_s3_url("s3://").has_value());
  EXPECT_FALSE(parse_s3_url("s3:///key").has_value());
  EXPECT_FALSE(parse_s3_url("http://bucket/key").has_value());
}

TEST(S3Url, ObjectTargetsEncodeTheKeyOnceAndKeepItsSlashes) {
  EXPECT_EQ(object_target("b", "dir/a b+c%.txt"), "/b/dir/a%20b%2Bc%25.txt");
  EXPECT_EQ(object_target("b", ""), "/b");
  EXPECT_EQ(object_target("b", "caf\xc3\xa9"), "/b/caf%C3%A9");
}

TEST(ExpireTime, TakesDaysFromNowOrAUtcDate) {
  auto now = std::chrono::system_clock::from_time_t(1800000000);
  EXPECT_EQ(parse_expire_time("", now), 1800000000);
  EXPECT_EQ(parse_expire_time("+40d", now), 1800000000 + 40 * 86400);
  EXPECT_EQ(parse_expire_time("2027-01-05", now), 1799107200);
  EXPECT_EQ(parse_expire_time("2027-01-05T10:00:00Z", now), 1799143200);
  EXPECT_FALSE(parse_expire_time("+40", now).has_value());
  EXPECT_FALSE(parse_expire_time("+xd", now).has_value());
  EXPECT_FALSE(parse_expire_time("next week", now).has_value());
  EXPECT_FALSE(parse_expire_time("2027-01-05 junk", now).has_value());
}

TEST(S3Command, UsageErrorsNeedNoServer) {
  std::istringstream in;
  std::ostringstream out, err;
  ClientEnvironment env;
  EXPECT_EQ(run_s3({"cp", "only-one"}, env, in, out, err), kExitUsage);
  EXPECT_NE(err.str().find("unexpected arguments for 'cp'"), std::string::npos);
  EXPECT_EQ(run_s3({"rm", "s3://b/k"}, env, in, out, err), kExitUsage);
  EXPECT_EQ(run_s3({"ls", "--no-such-flag"}, env, in, out, err), kExitUsage);
  EXPECT_EQ(run_s3({"--help"}, env, in, out, err), kExitOk);
  EXPECT_NE(out.str().find("usage: stageline s3 mb"), std::string::npos);
}

}  // namespace
}  // namespace stageline::cli
