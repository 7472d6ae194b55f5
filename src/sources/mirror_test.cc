#include "sources/mirror.h"

#include <gtest/gtest.h>

#include "sources/git.h"
#include "sources/test_util.h"

namespace stageline::sources {
namespace {

namespace fs = std::filesystem;
using testing::make_sample_repository;
using testing::sh;
using testing::TempDir;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Mirrors, APathIsReadableStableAndDistinctPerUrl) {
  Mirrors mirrors("/data/git/mirrors");
  const fs::path a = mirrors.mirror_path("https://github.com/octo/hello.git");
  EXPECT_EQ(a, mirrors.mirror_path("https://github.com/octo/hello.git"));
  EXPECT_EQ(a.parent_path(), fs::path("/data/git/mirrors"));
  EXPECT_TRUE(a.filename().string().starts_with("octo-hello-")) << a;
  EXPECT_TRUE(a.filename().string().ends_with(".git")) << a;
  EXPECT_NE(a, mirrors.mirror_path("https://gitlab.com/octo/hello.git"));
  const fs::path odd = mirrors.mirror_path("file:///srv/../x y/..");
  EXPECT_EQ(odd.parent_path(), fs::path("/data/git/mirrors")) << odd;
}

TEST(Mirrors, FetchMirrorsTheBranchAndFollowsNewCommitsAndDeletions) {
  TempDir dir;
  make_sample_repository(dir / "upstream");
  ASSERT_EQ(sh(dir / "upstream", "git branch feature").exit_code, 0);
  Mirrors mirrors(dir / "mirrors");
  const std::string url = "file://" + (dir / "upstream").string();
  auto fetched = mirrors.fetch(url, "main");
  ASSERT_TRUE(fetched.ok()) << fetched.status().message();
  auto repo = GitRepository::open(*fetched);
  ASSERT_TRUE(repo.ok());
  auto head = sh(dir / "upstream", "git rev-parse main");
  EXPECT_EQ(*repo->branch_commit("main") + "\n", head.output);
  EXPECT_EQ(repo->branch_commit("feature").status().code(), StatusCode::kNotFound)
      << "only the branch asked for is fetched";

  head = sh(dir / "upstream", "git commit -q --allow-empty -m third && git rev-parse main");
  ASSERT_TRUE(mirrors.fetch(url, "main").ok());
  repo = GitRepository::open(*fetched);
  EXPECT_EQ(*repo->branch_commit("main") + "\n", head.output);

  ASSERT_TRUE(mirrors.fetch(url, "feature").ok());
  ASSERT_EQ(sh(dir / "upstream", "git branch -q -D feature").exit_code, 0);
  ASSERT_TRUE(mirrors.fetch(url, "feature").ok());
  repo = GitRepository::open(*fetched);
  EXPECT_EQ(repo->branch_commit("feature").status().code(), StatusCode::kNotFound)
      << "a branch deleted upstream is pruned";
}

TEST(Mirrors, AnUnreachableRemoteFailsWithTheUrlAndLibgit2sReason) {
  TempDir dir;
  Mirrors mirrors(dir / "mirrors");
  const std::string url = "file://" + (dir / "no-such-repo").string();
  auto fetched = mirrors.fetch(url, "main");
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.status().code(), StatusCode::kIo);
  EXPECT_TRUE(contains(fetched.status().message(), "fetch branch main from " + url + ": "))
      << fetched.status().message();

  auto http = mirrors.fetch("http://127.0.0.1:1/owner/repo.git", "main");
  ASSERT_FALSE(http.ok());
  EXPECT_TRUE(contains(http.status().message(), "http://127.0.0.1:1/owner/repo.git: "))
      << http.status().message();

  EXPECT_EQ(mirrors.fetch(url, "bad..branch").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace stageline::sources
