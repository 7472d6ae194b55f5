#include "builds/artifact_files.h"

#include <gtest/gtest.h>

#include <set>

#include "builds/test_util.h"

namespace stageline::builds {
namespace {

using testing::ScratchDir;
namespace fs = std::filesystem;

std::set<std::string> tree(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (!e.is_directory()) out.insert(fs::relative(e.path(), dir).generic_string());
  return out;
}

struct Source {
  ScratchDir dir;
  Source() {
    for (const char* f : {"src/main.c", "dist/app", "dist/lib/util.so", "dist/notes.tmp",
                          "docs/a/index.html", "build-1/out.txt", "README"})
      testing::write(dir / "src" / f, f);
  }
  fs::path src() const { return dir / "src"; }
  fs::path stage() const { return dir / "stage"; }
};

TEST(ArtifactFiles, SelectsByGlobUnderTheBaseDirectoryMinusExcludes) {
  Source s;
  ArtifactSpec spec;
  spec.files = {"**/*"};
  spec.base_directory = "dist";
  spec.exclude_paths = {"*.tmp"};
  auto n = stage_artifact_files(spec, s.src(), s.stage());
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(tree(s.stage()), (std::set<std::string>{"app", "lib/util.so"}));
  EXPECT_EQ(testing::read(s.stage() / "lib/util.so"), "dist/lib/util.so");
}

TEST(ArtifactFiles, DiscardPathsFlattens) {
  Source s;
  ArtifactSpec spec;
  spec.files = {"dist/**/*", "README"};
  spec.discard_paths = true;
  auto n = stage_artifact_files(spec, s.src(), s.stage());
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(tree(s.stage()), (std::set<std::string>{"app", "util.so", "notes.tmp", "README"}));
}

TEST(ArtifactFiles, ABaseDirectoryGlobPicksTheMatchingDirectory) {
  Source s;
  ArtifactSpec spec;
  spec.files = {"*"};
  spec.base_directory = "build-*";
  auto n = stage_artifact_files(spec, s.src(), s.stage());
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(tree(s.stage()), (std::set<std::string>{"out.txt"}));
}

TEST(ArtifactFiles, DirectChildrenOnlyWithASingleStar) {
  Source s;
  ArtifactSpec spec;
  spec.files = {"dist/*"};
  auto n = stage_artifact_files(spec, s.src(), s.stage());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(tree(s.stage()), (std::set<std::string>{"dist/app", "dist/notes.tmp"}));
}

TEST(ArtifactFiles, NothingSelectedIsAClearError) {
  Source s;
  ArtifactSpec spec;
  spec.files = {"*.jar"};
  auto n = stage_artifact_files(spec, s.src(), s.stage());
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().message(), "no matching artifact paths found");
  spec.base_directory = "missing";
  EXPECT_FALSE(stage_artifact_files(spec, s.src(), s.stage()).ok());
}

}  // namespace
}  // namespace stageline::builds
