#include "artifacts/glob.h"

#include <gtest/gtest.h>

namespace stageline::artifacts {
namespace {

bool file_matches(const std::string& pattern, const std::string& path) {
  auto glob = Glob::parse(pattern);
  EXPECT_TRUE(glob.ok()) << glob.status().message();
  return glob.ok() && !glob->selects_directories() && glob->matches_file(path);
}

bool dir_matches(const std::string& pattern, const std::string& path) {
  auto glob = Glob::parse(pattern);
  EXPECT_TRUE(glob.ok()) << glob.status().message();
  return glob.ok() && glob->selects_directories() && glob->matches_directory(path);
}

TEST(GlobTest, DoubleStarSlashStarMatchesEveryFileAtEveryDepth) {
  EXPECT_TRUE(file_matches("**/*", "a.txt"));
  EXPECT_TRUE(file_matches("**/*", "src/a.txt"));
  EXPECT_TRUE(file_matches("**/*", "src/deep/er/a.txt"));
}

TEST(GlobTest, StarStaysInsideOneSegment) {
  EXPECT_TRUE(file_matches("*.txt", "notes.txt"));
  EXPECT_FALSE(file_matches("*.txt", "docs/notes.txt"));
  EXPECT_FALSE(file_matches("*.txt", "notes.txt.bak"));
  EXPECT_TRUE(file_matches("dist/*", "dist/app.js"));
  EXPECT_FALSE(file_matches("dist/*", "dist/lib/app.js"));
}

TEST(GlobTest, DirectoryDoubleStarSelectsOnlyThatDirectorysSubtree) {
  EXPECT_TRUE(file_matches("dist/**/*", "dist/app.js"));
  EXPECT_TRUE(file_matches("dist/**/*", "dist/lib/app.js"));
  EXPECT_FALSE(file_matches("dist/**/*", "src/app.js"));
  EXPECT_FALSE(file_matches("dist/**/*", "distant/app.js"));
  EXPECT_TRUE(file_matches("dist/**", "dist/a/b"));
  EXPECT_TRUE(file_matches("**/__tests__/*.js", "a/b/__tests__/x.js"));
  EXPECT_TRUE(file_matches("**/__tests__/*.js", "__tests__/x.js"));
}

TEST(GlobTest, QuestionMarkSetsAlternativesAndEscapesFollowReferenceSyntax) {
  EXPECT_TRUE(file_matches("foo.?", "foo.c"));
  EXPECT_FALSE(file_matches("foo.?", "foo.cc"));
  EXPECT_TRUE(file_matches("*.{java,class}", "A.class"));
  EXPECT_FALSE(file_matches("*.{java,class}", "A.kt"));
  EXPECT_TRUE(file_matches("[a-c]x", "bx"));
  EXPECT_FALSE(file_matches("[!a-c]x", "bx"));
  EXPECT_TRUE(file_matches("[-_]x", "-x"));
  EXPECT_TRUE(file_matches("\\*", "*"));
  EXPECT_FALSE(file_matches("\\*", "a"));
  EXPECT_FALSE(file_matches("a?b", "a/b"));
}

TEST(GlobTest, APatternEndingInSlashSelectsDirectories) {
  EXPECT_TRUE(dir_matches("**/", "a"));
  EXPECT_TRUE(dir_matches("**/", "a/b"));
  EXPECT_TRUE(dir_matches("dist/", "dist"));
  EXPECT_FALSE(dir_matches("dist/", "dist/sub"));
}

TEST(GlobTest, LeadingDotSlashIsIgnored) { EXPECT_TRUE(file_matches("./dist/*", "dist/a")); }

TEST(GlobTest, MalformedPatternsAreRejectedWithTheirText) {
  for (const char* bad : {"", "/etc/*", "[abc", "{a,b", "{a,{b}}", "x\\", "[z-a]"}) {
    auto glob = Glob::parse(bad);
    EXPECT_FALSE(glob.ok()) << bad;
    EXPECT_EQ(glob.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  auto all = parse_globs({"ok/*", "[bad", "/abs"});
  ASSERT_FALSE(all.ok());
  EXPECT_NE(all.status().message().find("[bad"), std::string::npos) << all.status().message();
  EXPECT_NE(all.status().message().find("/abs"), std::string::npos) << all.status().message();
  EXPECT_FALSE(parse_globs({}).ok());
}

}  // namespace
}  // namespace stageline::artifacts
