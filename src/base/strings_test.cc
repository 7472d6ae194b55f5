#include "base/strings.h"

#include <gtest/gtest.h>

#include "base/status.h"

namespace stageline {

TEST(StringsTest, EditDistanceCountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("BuildOut", "buildout", true), 0u);
  EXPECT_EQ(edit_distance("BuildOut", "buildout", false), 2u);
}

TEST(StringsTest, ClosestMatchPrefersCaseInsensitiveEqualityThenContainment) {
  EXPECT_EQ(closest_match("buildout", {"SourceOut", "BuildOut"}), "BuildOut");
  EXPECT_EQ(closest_match("BuildOutput", {"SourceOut", "BuildOut"}), "BuildOut");
  EXPECT_EQ(closest_match("Zebra", {"SourceOut", "BuildOut"}), "");
}

TEST(StringsTest, QuoteEscapesControlCharactersAndElidesLongInput) {
  EXPECT_EQ(quote("a\nb"), "'a\\x0ab'");
  EXPECT_EQ(quote(std::string(10, 'x'), 4), "'xxxx...'");
}

TEST(StatusTest, ResultCarriesValueOrStatusWithContext) {
  Result<int> ok = 3;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  Result<int> bad = Status::invalid("no").with_context("reading x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "reading x: no");
}

}  // namespace stageline

#include "base/ids.h"

namespace stageline {

TEST(IdsTest, UuidsAreLowerCaseVersionFourAndDistinct) {
  std::string a = new_uuid(), b = new_uuid();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  for (char c : a) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-');
}

}  // namespace stageline
