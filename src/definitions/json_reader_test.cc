#include "definitions/json_reader.h"

#include <gtest/gtest.h>

namespace stageline::definitions {
namespace {

TEST(JsonReaderTest, RecordsTheLineOfEveryMemberAndListItem) {
  auto doc = load_json(
      "{\n  \"name\": \"p\",\n  \"stages\": [\n    {\"name\": \"a\"},\n\n    {\n      \"name\": "
      "\"b\"\n    }\n  ]\n}\n");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  const auto& lines = doc->json.lines;
  EXPECT_EQ(lines.line_of("name"), 2);
  EXPECT_EQ(lines.line_of("stages"), 3);
  EXPECT_EQ(lines.line_of("stages[0].name"), 4);
  EXPECT_EQ(lines.line_of("stages[1]"), 6);
  EXPECT_EQ(lines.line_of("stages[1].name"), 7);
}

TEST(JsonReaderTest, KeysWithEscapesAndOddCharactersMapToTheirPaths) {
  auto doc = load_json("{\"configuration\": {\n\"a.b\": \"1\",\n\"c\\u0064\": \"2\"}}");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->json.lines.line_of("configuration[\"a.b\"]"), 2);
  EXPECT_EQ(doc->json.lines.line_of("configuration.cd"), 3);
}

TEST(JsonReaderTest, DuplicateKeysAreProblemsWithTheirLine) {
  auto doc = load_json("{\"name\": \"a\",\n \"name\": \"b\"}");
  ASSERT_TRUE(doc.ok());
  ASSERT_EQ(doc->problems.size(), 1u);
  EXPECT_EQ(doc->problems[0].rule, "json.duplicate-key");
  EXPECT_EQ(doc->problems[0].line, 2);
}

TEST(JsonReaderTest, SyntaxErrorsSayLineAndColumn) {
  auto doc = load_json("{\n  \"a\": [1, 2,,]\n}");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("line 2, column"), std::string::npos)
      << doc.status().message();
}

TEST(JsonReaderTest, RefusesTrailingGarbageDeepNestingAndOversizedInput) {
  EXPECT_FALSE(load_json("{} {}").ok());
  EXPECT_TRUE(load_json("{}  \n").ok());
  std::string deep(100, '[');
  auto d = load_json("{\"a\":" + deep);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("deeper than"), std::string::npos) << d.status().message();
  EXPECT_FALSE(load_json(std::string(kMaxDefinitionBytes + 1, ' ')).ok());
  EXPECT_FALSE(load_json("{\"a\": \"\xff\"}").ok());  // invalid UTF-8
}

}  // namespace
}  // namespace stageline::definitions
