#include "api/s3/lifecycle.h"

#include <gtest/gtest.h>

#include "artifacts/test_util.h"

namespace stageline::api::s3 {
namespace {

using artifacts::testing::TempDir;
using std::chrono::hours;
using std::chrono::system_clock;

std::string rule_xml(const std::string& body) {
  return "<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status>" + body +
         "</Rule></LifecycleConfiguration>";
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto objects = artifacts::ObjectStore::open({dir_ / "objects"});
    ASSERT_TRUE(objects.ok()) << objects.status().message();
    objects_ = std::move(*objects);
    ASSERT_TRUE(objects_->create_bucket("arts").ok());
  }
  LifecycleReport apply(const std::string& xml, int days_later, const ProtectFn& protect = {},
                        bool dry_run = false) {
    auto rules = parse_lifecycle(xml);
    EXPECT_TRUE(rules.ok()) << rules.status().message();
    auto report = apply_lifecycle(*objects_, "arts", *rules,
                                  system_clock::now() + hours(24 * days_later), protect, dry_run);
    EXPECT_TRUE(report.ok()) << report.status().message();
    return *report;
  }
  bool exists(const std::string& key) { return objects_->head_object("arts", key).ok(); }

  TempDir dir_;
  std::unique_ptr<artifacts::ObjectStore> objects_;
};

TEST_F(LifecycleTest, ExpiresObjectsOlderThanTheDaysUnderThePrefixOnly) {
  ASSERT_TRUE(objects_->put_object("arts", "app/Src/abc", "zip").ok());
  ASSERT_TRUE(objects_->put_object("arts", "keep/this", "zip").ok());
  const std::string xml =
      rule_xml("<Filter><Prefix>app/</Prefix></Filter><Expiration><Days>30</Days></Expiration>");
  EXPECT_TRUE(apply(xml, 29).removed.empty());
  EXPECT_TRUE(exists("app/Src/abc"));
  auto report = apply(xml, 31);
  ASSERT_EQ(report.removed.size(), 1u);
  EXPECT_NE(report.removed[0].find("expired s3://arts/app/Src/abc"), std::string::npos);
  EXPECT_NE(report.removed[0].find("31 days old, rule r"), std::string::npos);
  EXPECT_FALSE(exists("app/Src/abc"));
  EXPECT_TRUE(exists("keep/this"));
}

TEST_F(LifecycleTest, NeverRemovesWhatTheCallerProtectsAndSaysSo) {
  auto put = objects_->put_object("arts", "app/Src/abc", "zip");
  ASSERT_TRUE(put.ok());
  const std::string version = put->version_id;
  auto report = apply(rule_xml("<Expiration><Days>1</Days></Expiration>"), 5,
                      [&](std::string_view, std::string_view key, std::string_view v) {
                        return key == "app/Src/abc" && v == version;
                      });
  EXPECT_TRUE(report.removed.empty());
  ASSERT_EQ(report.kept.size(), 1u);
  EXPECT_NE(report.kept[0].find("needed by a pipeline"), std::string::npos);
  EXPECT_TRUE(exists("app/Src/abc"));
}

TEST_F(LifecycleTest, ADryRunSaysWhatWouldGoAndRemovesNothing) {
  ASSERT_TRUE(objects_->put_object("arts", "a", "zip").ok());
  auto report = apply(rule_xml("<Expiration><Days>1</Days></Expiration>"), 2, {}, true);
  EXPECT_EQ(report.removed.size(), 1u);
  EXPECT_TRUE(exists("a"));
}

TEST_F(LifecycleTest, InAVersionedBucketExpiryAddsADeleteMarkerAndNoncurrentRulesRemoveVersions) {
  ASSERT_TRUE(objects_->put_bucket_config("arts", "versioning", "Enabled").ok());
  ASSERT_TRUE(objects_->put_object("arts", "k", "one").ok());
  ASSERT_TRUE(objects_->put_object("arts", "k", "two").ok());
  apply(rule_xml("<Expiration><Days>10</Days></Expiration>"), 11);
  auto versions = objects_->list_object_versions("arts", "k");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_TRUE(versions->front().delete_marker);
  EXPECT_FALSE(exists("k"));
  apply(rule_xml("<NoncurrentVersionExpiration><NoncurrentDays>10</NoncurrentDays>"
                 "</NoncurrentVersionExpiration><Expiration><ExpiredObjectDeleteMarker>true"
                 "</ExpiredObjectDeleteMarker></Expiration>"),
        11);
  EXPECT_FALSE(objects_->list_object_versions("arts", "k").ok()) << "nothing is left of k";
}

TEST_F(LifecycleTest, DisabledRulesAndRulesWithTagFiltersRemoveNothing) {
  ASSERT_TRUE(objects_->put_object("arts", "a", "zip").ok());
  apply(
      "<LifecycleConfiguration><Rule><Status>Disabled</Status><Expiration><Days>1</Days>"
      "</Expiration></Rule></LifecycleConfiguration>",
      5);
  auto report = apply(rule_xml("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>"
                               "<Expiration><Days>1</Days></Expiration>"),
                      5);
  EXPECT_TRUE(exists("a"));
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_EQ(report.notes[0], "rule 'r' not applied: Tag filters are not supported");
}

TEST(LifecycleParse, RefusesMalformedRules) {
  EXPECT_FALSE(parse_lifecycle("<LifecycleConfiguration><Rule><Expiration><Days>1</Days>"
                               "</Expiration></Rule></LifecycleConfiguration>")
                   .ok());
  auto bad_days = parse_lifecycle(rule_xml("<Expiration><Days>-3</Days></Expiration>"));
  ASSERT_FALSE(bad_days.ok());
  EXPECT_EQ(bad_days.status().message(),
            "lifecycle rule 'r': Days must be a positive integer, not '-3'");
  EXPECT_FALSE(parse_lifecycle("not xml").ok());
  auto fine = parse_lifecycle(default_artifact_lifecycle());
  ASSERT_TRUE(fine.ok());
  ASSERT_EQ(fine->size(), 1u);
  EXPECT_EQ((*fine)[0].expiration_days, 30);
  EXPECT_EQ((*fine)[0].noncurrent_days, 30);
}

}  // namespace
}  // namespace stageline::api::s3
