#include "definitions/source_map.h"

#include <gtest/gtest.h>

namespace stageline::definitions {
namespace {

TEST(SourceMapTest, PathsUseDotsForMembersAndBracketsForIndexesAndOddKeys) {
  EXPECT_EQ(path_member("", "stages"), "stages");
  EXPECT_EQ(path_member(path_index("stages", 1), "name"), "stages[1].name");
  EXPECT_EQ(path_member("configuration", "a.b"), "configuration[\"a.b\"]");
  EXPECT_EQ(path_member("x", "q\"k"), "x[\"q\\\"k\"]");
}

TEST(SourceMapTest, LineOfFallsBackToTheNearestRecordedAncestor) {
  SourceMap m;
  m.set("stages", 3);
  m.set("stages[1]", 10);
  m.set("stages[1].actions[0]", 12);
  EXPECT_EQ(m.line_of("stages[1].actions[0].inputArtifacts[0].name"), 12);
  EXPECT_EQ(m.line_of("stages[1].name"), 10);
  EXPECT_EQ(m.line_of("stages[7]"), 3);
  EXPECT_EQ(m.line_of("triggers"), 0);
}

TEST(SourceMapTest, CopySubtreeRebasesPaths) {
  SourceMap from;
  from.set("pipeline", 2);
  from.set("pipeline.stages[0].name", 5);
  from.set("pipelineX", 9);
  SourceMap to;
  to.copy_subtree(from, "pipeline", "");
  EXPECT_EQ(to.line_of("stages[0].name"), 5);
  EXPECT_EQ(to.line_of(""), 2);
  EXPECT_EQ(to.size(), 2u);
}

}  // namespace
}  // namespace stageline::definitions
