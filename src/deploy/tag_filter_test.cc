#include "deploy/tag_filter.h"

#include <gtest/gtest.h>

namespace stageline::deploy {
namespace {

const std::vector<Tag> kTags = {{"env", "prod"}, {"role", "web"}};

TEST(TagFilter, KeyOnlyMatchesAnyValueOfTheKey) {
  EXPECT_TRUE(matches(kTags, {"role", "", TagFilterType::kKeyOnly}));
  EXPECT_FALSE(matches(kTags, {"tier", "", TagFilterType::kKeyOnly}));
}

TEST(TagFilter, ValueOnlyMatchesTheValueUnderAnyKey) {
  EXPECT_TRUE(matches(kTags, {"", "web", TagFilterType::kValueOnly}));
  EXPECT_FALSE(matches(kTags, {"", "db", TagFilterType::kValueOnly}));
}

TEST(TagFilter, KeyAndValueNeedsBothOnTheSameTag) {
  EXPECT_TRUE(matches(kTags, {"env", "prod", TagFilterType::kKeyAndValue}));
  EXPECT_FALSE(matches(kTags, {"env", "web", TagFilterType::kKeyAndValue}));
  EXPECT_FALSE(matches(kTags, {"Env", "prod", TagFilterType::kKeyAndValue}));
}

TEST(TagFilter, AFilterListIsAnOrAndATagSetIsAnAndOfOrs) {
  const TagFilter db{"role", "db", TagFilterType::kKeyAndValue};
  const TagFilter prod{"env", "prod", TagFilterType::kKeyAndValue};
  const TagFilter eu{"region", "eu", TagFilterType::kKeyAndValue};
  EXPECT_TRUE(matches_any(kTags, {db, prod}));
  EXPECT_FALSE(matches_any(kTags, {db}));
  EXPECT_FALSE(matches_any(kTags, {}));
  EXPECT_TRUE(
      matches_tag_set(kTags, {{db, prod}, {TagFilter{"role", "", TagFilterType::kKeyOnly}}}));
  EXPECT_FALSE(matches_tag_set(kTags, {{prod}, {eu}}));
  EXPECT_FALSE(matches_tag_set(kTags, {}));
}

TEST(TagFilter, ParsesTheThreeTypesOnly) {
  EXPECT_EQ(*parse_tag_filter_type("KEY_ONLY"), TagFilterType::kKeyOnly);
  EXPECT_EQ(*parse_tag_filter_type("VALUE_ONLY"), TagFilterType::kValueOnly);
  EXPECT_EQ(*parse_tag_filter_type("KEY_AND_VALUE"), TagFilterType::kKeyAndValue);
  EXPECT_FALSE(parse_tag_filter_type("key_only").ok());
}

TEST(TagFilter, TargetDirectoryComesFromTheStagelineTag) {
  auto dir = target_directory("web-1", {{"env", "prod"}, {kTargetDirectoryTag, "/srv/web-1"}});
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->string(), "/srv/web-1");
  auto missing = target_directory("web-2", kTags);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("instance web-2 has no target directory"),
            std::string::npos);
  EXPECT_FALSE(target_directory("web-3", {{kTargetDirectoryTag, "relative"}}).ok());
}

}  // namespace
}  // namespace stageline::deploy
