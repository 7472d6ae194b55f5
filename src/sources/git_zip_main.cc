// git_zip REPOSITORY REVISION OUT.zip: the source artifact zip of one commit,
// as the git source actions build it (write_commit_zip). For
// bench/source_zip.sh, which times it against `git archive --format=zip`.
// REVISION is a branch name or a full commit id.
#include <cstdio>
#include <string>

#include "sources/git_archive.h"

int main(int argc, char** argv) {
  using namespace stageline;
  if (argc != 4) {
    std::fprintf(stderr, "usage: git_zip REPOSITORY BRANCH|COMMIT OUT.zip\n");
    return 2;
  }
  auto repo = sources::GitRepository::open(argv[1]);
  if (!repo.ok()) {
    std::fprintf(stderr, "git_zip: %s\n", repo.status().message().c_str());
    return 1;
  }
  std::string commit = argv[2];
  if (commit.size() != 40) {
    auto tip = repo->branch_commit(commit);
    if (!tip.ok()) {
      std::fprintf(stderr, "git_zip: %s\n", tip.status().message().c_str());
      return 1;
    }
    commit = *tip;
  }
  auto stats = sources::write_commit_zip(*repo, commit, argv[3]);
  if (!stats.ok()) {
    std::fprintf(stderr, "git_zip: %s\n", stats.status().message().c_str());
    return 1;
  }
  std::printf("%llu files, %llu symlinks, %llu directories, %llu bytes\n",
              static_cast<unsigned long long>(stats->files),
              static_cast<unsigned long long>(stats->symlinks),
              static_cast<unsigned long long>(stats->directories),
              static_cast<unsigned long long>(stats->uncompressed_bytes));
  return 0;
}
