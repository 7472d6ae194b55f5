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
  void expect_same_tree_as_git_archive(const fs::path& repo, const std::string& commit,
                                       const ArchiveOptions& options = {}) {
    auto opened = GitRepository::open(repo);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    auto stats = write_commit_zip(*opened, commit, dir_ / "ours.zip", options);
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

// The threads, the window and the large-blob path change how the zip is
// made, never what it holds: the same bytes whatever the settings.
TEST_F(GitArchiveTest, TheZipIsTheSameWhateverTheThreadsWindowAndLargeBlobSize) {
  auto r = sh(dir_ / "work",
              "mkdir -p many && for i in $(seq 1 300); do seq 1 $((i * 13)) > many/$i.txt; done && "
              "head -c 300000 /dev/urandom > noise.bin && seq 1 100000 > big.txt && "
              "git add -A && git commit -q -m many && git rev-parse HEAD");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string commit = r.output.substr(0, 40);
  auto repo = GitRepository::open(dir_ / "work");
  ASSERT_TRUE(repo.ok());
  struct Setting {
    int threads;
    uint64_t window;
    uint64_t large;
  };
  const Setting settings[] = {
      {0, uint64_t{16} << 20, uint64_t{8} << 20},  // all on the calling thread
      {1, 1, uint64_t{8} << 20},                   // one blob in flight at a time
      {2, 4096, 100000},                           // a small window; big.txt and noise.bin streamed
      {4, uint64_t{16} << 20, 64},                 // almost everything streamed
      {-1, uint64_t{16} << 20, uint64_t{8} << 20},  // the defaults
  };
  std::string first;
  for (const Setting& setting : settings) {
    ArchiveOptions options;
    options.deflate_threads = setting.threads;
    options.window_bytes = setting.window;
    options.large_blob_bytes = setting.large;
    auto stats = write_commit_zip(*repo, commit, dir_ / "ours.zip", options);
    ASSERT_TRUE(stats.ok()) << stats.status().message();
    EXPECT_EQ(stats->files, 5u + 302u);
    const std::string zip = read_file(dir_ / "ours.zip");
    if (first.empty()) first = zip;
    EXPECT_TRUE(zip == first) << "threads " << setting.threads << ", window " << setting.window
                              << ", large " << setting.large;
  }
  expect_same_tree_as_git_archive(dir_ / "work", commit);
  EXPECT_EQ(read_file(dir_ / "ours" / "noise.bin"), read_file(dir_ / "work" / "noise.bin"));
}

size_t thread_count() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// The loose object file of `path` at HEAD in the repository `work`.
fs::path loose_object(const fs::path& work, const std::string& path) {
  auto r = sh(work, "git rev-parse HEAD:" + path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string id = r.output.substr(0, 40);
  return work / ".git" / "objects" / id.substr(0, 2) / id.substr(2);
}

class BrokenBlobTest : public GitArchiveTest {
 protected:
  void SetUp() override {
    GitArchiveTest::SetUp();
    // Many blobs before the broken one, so workers have jobs in flight
    // when it is reached ("zzz.txt" sorts last).
    auto r =
        sh(dir_ / "work",
           "mkdir -p many && for i in $(seq 1 200); do seq 1 $((i * 50)) > many/$i.txt; done && "
           "echo last > zzz.txt && git add -A && git commit -q -m many && git rev-parse HEAD");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    commit_ = r.output.substr(0, 40);
    object_ = loose_object(dir_ / "work", "zzz.txt");
    ASSERT_TRUE(fs::exists(object_)) << object_;
    fs::permissions(object_, fs::perms::owner_write, fs::perm_options::add);
    fs::create_directories(dir_ / "out");
  }

  // Zips the commit and expects an I/O error naming zzz.txt, no file left
  // in out/, and no thread left running.
  std::string expect_failure(bool verify_hashes) {
    auto repo = GitRepository::open(dir_ / "work");
    EXPECT_TRUE(repo.ok());
    const size_t threads_before = thread_count();
    ArchiveOptions options;
    options.deflate_threads = 2;
    options.verify_hashes = verify_hashes;
    auto stats = write_commit_zip(*repo, commit_, dir_ / "out" / "source.zip", options);
    EXPECT_EQ(stats.status().code(), StatusCode::kIo) << stats.status().message();
    EXPECT_TRUE(contains(stats.status().message(), "read 'zzz.txt' (blob "))
        << stats.status().message();
    EXPECT_TRUE(fs::is_empty(dir_ / "out")) << "neither the zip nor its temporary file";
    EXPECT_EQ(thread_count(), threads_before) << "every worker is joined";
    return stats.status().message();
  }

  std::string commit_;
  fs::path object_;
};

TEST_F(BrokenBlobTest, AMissingBlobIsAnIoErrorNamingItsPathAndEveryWorkerIsJoined) {
  fs::remove(object_);
  for (bool verify : {false, true}) {
    const std::string message = expect_failure(verify);
    EXPECT_TRUE(
        contains(message, object_.parent_path().filename().string() + object_.filename().string()))
        << "the blob's id\n"
        << message;
  }
}

TEST_F(BrokenBlobTest, ACorruptBlobIsAnIoErrorWhetherOrNotHashesAreVerified) {
  testing::write_file(object_, "this is not a zlib stream");
  for (bool verify : {false, true}) expect_failure(verify);
}

// An object swapped for another well-formed one is what only the hash
// check sees (read_blob in git_archive.cc says why it is off by default).
TEST_F(BrokenBlobTest, ABlobSwappedForAnotherIsCaughtWhenHashesAreVerified) {
  fs::copy_file(loose_object(dir_ / "work", "README.md"), object_,
                fs::copy_options::overwrite_existing);
  expect_failure(true);
}

TEST_F(GitArchiveTest, AZip64ArchiveUnzipsToTheSameTreeAsGitArchive) {
  ArchiveOptions options;
  options.zip_limits.max_field32 = 100;  // every offset past the first entries
  options.zip_limits.max_entries16 = 4;
  expect_same_tree_as_git_archive(dir_ / "work", ids_.second, options);
  const std::string zip = read_file(dir_ / "ours.zip");
  EXPECT_TRUE(contains(zip, std::string("PK\x06\x06", 4))) << "the ZIP64 end record";
  EXPECT_TRUE(contains(zip, std::string("PK\x06\x07", 4))) << "its locator";
}

// The real boundary: 70,000 files in 70 directories need the ZIP64 end
// records (the 16-bit entry count tops out at 65,535).
TEST_F(GitArchiveTest, MoreThan65535EntriesGiveAZip64ArchiveWithEveryEntry) {
  auto r = sh(dir_.path(),
              "git init -q -b main wide && cd wide && blob=$(printf 'x\\n' | git hash-object -w "
              "--stdin) && awk -v b=$blob 'BEGIN { for (i = 0; i < 70000; i++) "
              "printf \"100644 %s\\td%02d/f%05d\\n\", b, i % 70, i }' | git update-index "
              "--index-info && git commit -q -m wide && git rev-parse HEAD");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string commit = r.output.substr(0, 40);
  auto repo = GitRepository::open(dir_ / "wide");
  ASSERT_TRUE(repo.ok());
  auto stats = write_commit_zip(*repo, commit, dir_ / "ours.zip");
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->files, 70000u);
  EXPECT_EQ(stats->directories, 70u);
  r = sh(dir_.path(),
         "git -C wide archive --format=zip -o ../theirs.zip HEAD && "
         "unzip -Z1 ours.zip | sort > ours.txt && unzip -Z1 theirs.zip | sort > "
         "theirs.txt && cmp ours.txt theirs.txt && wc -l < ours.txt && "
         "unzip -tq ours.zip");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "70070\n")) << r.output;
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
