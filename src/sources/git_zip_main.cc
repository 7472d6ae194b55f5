// git_zip [--threads N] [--window MIB] [--verify] REPOSITORY REVISION OUT.zip:
// the source artifact zip of one commit, as the git source actions build it
// (write_commit_zip). For bench/source_zip.sh, which times it against
// `git archive --format=zip`. REVISION is a branch name or a full commit id.
// --threads sets ArchiveOptions::deflate_threads (default -1: one per CPU;
// 0: deflate on the main thread), --window its window_bytes in MiB.
// --verify checks each blob's hash as it is read (ArchiveOptions::
// verify_hashes), for the bench to show what that costs.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sources/git_archive.h"

int main(int argc, char** argv) {
  using namespace stageline;
  sources::ArchiveOptions options;
  int i = 1;
  for (; i < argc && std::string_view(argv[i]).starts_with("--"); ++i) {
    std::string_view flag = argv[i];
    if (flag == "--verify") {
      options.verify_hashes = true;
    } else if ((flag == "--threads" || flag == "--window") && i + 1 < argc) {
      char* end = nullptr;
      const long value = std::strtol(argv[++i], &end, 10);
      if (end == argv[i] || *end != '\0' || value < -1 || (flag == "--window" && value < 1)) {
        std::fprintf(stderr, "git_zip: bad value for %s: %s\n", flag.data(), argv[i]);
        return 2;
      }
      if (flag == "--threads")
        options.deflate_threads = static_cast<int>(value);
      else
        options.window_bytes = static_cast<uint64_t>(value) << 20;
    } else {
      std::fprintf(stderr, "git_zip: unknown option %s\n", flag.data());
      return 2;
    }
  }
  if (argc - i != 3) {
    std::fprintf(stderr,
                 "usage: git_zip [--threads N] [--window MIB] [--verify] REPOSITORY "
                 "BRANCH|COMMIT OUT.zip\n");
    return 2;
  }
  auto repo = sources::GitRepository::open(argv[i]);
  if (!repo.ok()) {
    std::fprintf(stderr, "git_zip: %s\n", repo.status().message().c_str());
    return 1;
  }
  std::string commit = argv[i + 1];
  if (commit.size() != 40) {
    auto tip = repo->branch_commit(commit);
    if (!tip.ok()) {
      std::fprintf(stderr, "git_zip: %s\n", tip.status().message().c_str());
      return 1;
    }
    commit = *tip;
  }
  auto stats = sources::write_commit_zip(*repo, commit, argv[i + 2], options);
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
