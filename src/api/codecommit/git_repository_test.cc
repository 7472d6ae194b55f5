#include "api/codecommit/git_repository.h"

#include <gtest/gtest.h>

#include "api/codecommit/test_util.h"

namespace stageline::codecommit {
namespace {

using testing::make_work_repo;
using testing::sh;
using testing::TempDir;

TEST(GitRepository, ANewBareRepositoryHasNoBranchesAndNoDefaultBranchUntilOneIsPushed) {
  TempDir dir;
  const auto bare = dir.path() / "deep/er/r.git";
  ASSERT_TRUE(init_bare_repository(bare, "main").ok());
  EXPECT_EQ(init_bare_repository(bare, "main").code(), StatusCode::kAlreadyExists);
  auto repo = GitRepository::open(bare);
  ASSERT_TRUE(repo.ok()) << repo.status().message();
  EXPECT_TRUE(repo->branches()->empty());
  EXPECT_FALSE(repo->default_branch()->has_value());
  EXPECT_EQ(repo->branch_commit("main").status().code(), StatusCode::kNotFound);

  std::string id = make_work_repo(dir.path() / "w", "topic", {{"f", "x"}});
  sh("git -C '" + (dir.path() / "w").string() + "' push -q '" + bare.string() + "' topic 2>&1");
  EXPECT_FALSE(repo->default_branch()->has_value()) << "HEAD still names main";
  ASSERT_TRUE(repo->adopt_default_branch("topic").ok());
  EXPECT_EQ(repo->default_branch()->value_or(""), "topic");
  // Once HEAD names a branch that exists, it stays.
  ASSERT_TRUE(repo->create_branch("other", id).ok());
  ASSERT_TRUE(repo->adopt_default_branch("other").ok());
  EXPECT_EQ(repo->default_branch()->value_or(""), "topic");
  EXPECT_EQ(*repo->resolve_commit(""), id);
  EXPECT_EQ(*repo->resolve_commit("other"), id);
  EXPECT_EQ(*repo->resolve_commit(id.substr(0, 10)), id);
  EXPECT_EQ(repo->resolve_commit("no-such").status().code(), StatusCode::kNotFound);
}

TEST(GitRepository, OpeningADirectoryThatIsNotARepositoryIsNotFound) {
  TempDir dir;
  EXPECT_EQ(GitRepository::open(dir.path() / "missing.git").status().code(), StatusCode::kNotFound);
}

TEST(GitRepository, BranchNamesFollowGitsRefRules) {
  EXPECT_TRUE(valid_branch_name("main"));
  EXPECT_TRUE(valid_branch_name("feature/x-1"));
  for (const char* bad : {"", "a..b", "a b", "-x", "x.lock", "x/", "a~1", "a:b", "a\\b", "@"})
    EXPECT_FALSE(valid_branch_name(bad)) << bad;
  EXPECT_TRUE(valid_object_id(std::string(40, 'a')));
  EXPECT_FALSE(valid_object_id(std::string(39, 'a')));
  EXPECT_FALSE(valid_object_id(std::string(40, 'g')));
}

}  // namespace
}  // namespace stageline::codecommit
