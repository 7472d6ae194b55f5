#include "sources/git_archive.h"

#include <gtest/gtest.h>

#include "sources/git.h"
#include "sources/test_util.h"

namespace stageline::sources {
namespace {

namespace fs = std::filesystem;
using testing::make_sample_repository;
using testing::read_file;
using testing::sh;
using testing::TempDir;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::pair<std::string, std::string> split_ids(const std::string& ids) {
  auto space = ids.find(' ');
  return {ids.substr(0, space), ids.substr(space + 1)};
}

// Every path of `dir` with its type, permission bits, symlink target and
// mtime, sorted: what diff -r does not compare.
std::string listing(const fs::path& dir) {
  auto r = sh(dir, "find . -mindepth 1 -printf '%y %m %p -> %l\\n' | sort");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

class GitArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ids_ = split_ids(make_sample_repository(dir_ / "work"));
    auto r = sh(dir_.path(), "git clone -q --bare --no-local work bare.git");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  // Unzips both archives and compares them like `diff -r`, then compares
  // modes, types and symlink targets, which diff -r does not.
  void expect_same_tree_as_git_archive(const fs::path& repo, const std::string& commit) {
    auto opened = GitRepository::open(repo);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    auto stats = write_commit_zip(*opened, commit, dir_ / "ours.zip");
    ASSERT_TRUE(stats.ok()) << stats.status().message();
    auto r = sh(dir_.path(), "git -C '" + repo.string() + "' archive --format=zip -o '" +
                                 (dir_ / "theirs.zip").string() + "' " + commit +
                                 " && rm -rf ours theirs && unzip -q ours.zip -d ours && "
                                 "unzip -q theirs.zip -d theirs && diff -r ours theirs");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(listing(dir_ / "ours"), listing(dir_ / "theirs"));
    r = sh(dir_.path(), "unzip -t -q ours.zip");
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }

  TempDir dir_;
  std::pair<std::string, std::string> ids_;
};

TEST_F(GitArchiveTest, UnzippingGivesTheSameTreeAsGitArchiveOfTheSameCommit) {
  expect_same_tree_as_git_archive(dir_ / "work", ids_.second);
  // The tree holds what the sample promises, so the comparison means something.
  const std::string ours = listing(dir_ / "ours");
  EXPECT_TRUE(contains(ours, "f 755 ./build.sh")) << ours;
  EXPECT_TRUE(contains(ours, "l 777 ./main-link.c -> src/main.c")) << ours;
  EXPECT_TRUE(contains(ours, "f 644 ./src/lib/deep.txt")) << ours;
  EXPECT_TRUE(contains(ours, "f 644 ./caf\xc3\xa9.txt")) << ours;
  EXPECT_TRUE(contains(ours, "d 755 ./vendor/sub ")) << "a submodule is an empty directory\n"
                                                     << ours;
  EXPECT_EQ(read_file(dir_ / "ours" / "README.md"), "hello\ntwo\n");
}

TEST_F(GitArchiveTest, ABareRepositoryAndAnOlderCommitGiveTheSameTreeAsGitArchive) {
  expect_same_tree_as_git_archive(dir_ / "bare.git", ids_.first);
  EXPECT_EQ(read_file(dir_ / "ours" / "README.md"), "hello\n");
  EXPECT_FALSE(fs::exists(dir_ / "ours" / "vendor")) << "the submodule came in the second commit";
}

TEST_F(GitArchiveTest, EveryEntryHasTheCommitTimeAndTheStatsCountWhatWasPacked) {
  auto repo = GitRepository::open(dir_ / "bare.git");
  ASSERT_TRUE(repo.ok());
  auto stats = write_commit_zip(*repo, ids_.second, dir_ / "ours.zip");
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->files, 5u);        // README.md build.sh café.txt src/main.c src/lib/deep.txt
  EXPECT_EQ(stats->symlinks, 1u);     // main-link.c
  EXPECT_EQ(stats->directories, 4u);  // src src/lib vendor vendor/sub
  EXPECT_EQ(stats->submodules, 1u);
  EXPECT_EQ(stats->uncompressed_bytes, 10u + 21u + 6u + 25u + 5u + 10u);
  // unzip -Z lists each entry's modification time; all are the commit's
  // (2024-05-02 08:30:00 UTC; the DOS time field has 2-second steps).
  auto r = sh(dir_.path(), "TZ=UTC unzip -Z -T ours.zip | grep -c ' 20240502.083000 '");
  EXPECT_EQ(r.output, "10\n") << r.output;  // 6 blobs and 4 directories
}

TEST_F(GitArchiveTest, AnUnknownOrMalformedCommitIdFailsWithoutLeavingAFile) {
  auto repo = GitRepository::open(dir_ / "bare.git");
  ASSERT_TRUE(repo.ok());
  auto missing =
      write_commit_zip(*repo, "0123456789012345678901234567890123456789", dir_ / "out.zip");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().message();
  EXPECT_TRUE(contains(missing.status().message(), "0123456789012345678901234567890123456789"));
  auto malformed = write_commit_zip(*repo, "main", dir_ / "out.zip");
  EXPECT_EQ(malformed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ / "out.zip"));
}

TEST_F(GitArchiveTest, CancellingStopsBeforeTheNextBlobAndLeavesNoFile) {
  auto repo = GitRepository::open(dir_ / "bare.git");
  ASSERT_TRUE(repo.ok());
  int opened = 0;
  ArchiveOptions options;
  options.cancelled = [&opened] { return ++opened > 2; };
  auto stats = write_commit_zip(*repo, ids_.second, dir_ / "out.zip", options);
  EXPECT_EQ(stats.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(stats.status().message(), "cancelled")) << stats.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "out.zip"));
  EXPECT_EQ(opened, 3);
}

TEST_F(GitArchiveTest, AnEmptyTreeIsRefusedWithAClearMessage) {
  auto r = sh(dir_ / "work",
              "git commit -q --allow-empty -m empty && git rm -q -r --cached . "
              "&& git commit -q -m 'remove everything' && git rev-parse HEAD");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto repo = GitRepository::open(dir_ / "work");
  ASSERT_TRUE(repo.ok());
  auto stats = write_commit_zip(*repo, r.output.substr(0, 40), dir_ / "out.zip");
  EXPECT_EQ(stats.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(stats.status().message(), "empty")) << stats.status().message();
}

TEST(GitRepository, ResolvesABranchAndReadsTheCommitsAuthorDatesAndMessage) {
  TempDir dir;
  auto [first, second] = split_ids(make_sample_repository(dir / "work"));
  auto repo = GitRepository::open(dir / "work");
  ASSERT_TRUE(repo.ok()) << repo.status().message();
  auto head = repo->branch_commit("main");
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_EQ(*head, second);
  auto info = repo->commit(first);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->id, first);
  EXPECT_EQ(info->message, "First commit\n\nWith a body.");
  EXPECT_EQ(info->summary, "First commit");
  EXPECT_EQ(info->author_name, "Ada Lovelace");
  EXPECT_EQ(info->author_email, "ada@example.com");
  EXPECT_EQ(info->author_date, "2024-05-01T12:00:00Z");
  EXPECT_EQ(info->committer_name, "Charles Babbage");
  EXPECT_EQ(info->committer_date, "2024-05-02T08:30:00Z");
}

TEST(GitRepository, AMissingRepositoryBranchOrCommitIsNotFound) {
  TempDir dir;
  make_sample_repository(dir / "work");
  EXPECT_EQ(GitRepository::open(dir / "nothing").status().code(), StatusCode::kNotFound);
  fs::create_directories(dir / "plain");
  EXPECT_EQ(GitRepository::open(dir / "plain").status().code(), StatusCode::kNotFound);
  auto repo = GitRepository::open(dir / "work");
  ASSERT_TRUE(repo.ok());
  auto branch = repo->branch_commit("develop");
  EXPECT_EQ(branch.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(branch.status().message(), "branch 'develop' does not exist"))
      << branch.status().message();
  EXPECT_EQ(repo->branch_commit("bad..name").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(repo->commit("ffffffffffffffffffffffffffffffffffffffff").status().code(),
            StatusCode::kNotFound);
}

TEST(CloneAt, GivesAFullCloneWithHistoryCheckedOutAtThePinnedCommit) {
  TempDir dir;
  auto [first, second] = split_ids(make_sample_repository(dir / "work"));
  ASSERT_EQ(sh(dir.path(), "git clone -q --bare --no-local work bare.git").exit_code, 0);
  ASSERT_TRUE(clone_at((dir / "bare.git").string(), "main", second, dir / "tip").ok());
  auto r = sh(dir / "tip", "git rev-parse HEAD && git symbolic-ref HEAD && git log --format=%s");
  EXPECT_EQ(r.output, second + "\nrefs/heads/main\nSecond commit\nFirst commit\n");
  EXPECT_EQ(read_file(dir / "tip" / "README.md"), "hello\ntwo\n");

  Status pinned = clone_at((dir / "bare.git").string(), "main", first, dir / "old");
  ASSERT_TRUE(pinned.ok()) << pinned.message();
  r = sh(dir / "old", "git rev-parse HEAD && git status --porcelain");
  EXPECT_EQ(r.output, first + "\n") << "detached at the pinned commit, clean";
  EXPECT_EQ(read_file(dir / "old" / "README.md"), "hello\n");

  Status missing = clone_at((dir / "nowhere.git").string(), "main", first, dir / "x");
  EXPECT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.message(), "nowhere.git")) << missing.message();
}

}  // namespace
}  // namespace stageline::sources
