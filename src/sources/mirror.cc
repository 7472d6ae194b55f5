#include "sources/mirror.h"

#include <git2.h>

#include <cstdint>
#include <cstdio>

#include "base/strings.h"
#include "sources/git.h"

namespace stageline::sources {

namespace fs = std::filesystem;

namespace {

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

struct Payload {
  const std::function<bool()>* cancelled = nullptr;
  bool stopped = false;
};

int on_progress(const git_indexer_progress*, void* payload) {
  auto* p = static_cast<Payload*>(payload);
  if (*p->cancelled && (*p->cancelled)()) {
    p->stopped = true;
    return -1;
  }
  return 0;
}

}  // namespace

fs::path Mirrors::mirror_path(const std::string& url) const {
  // A readable name (owner-repo) for people looking at the directory; the
  // hash keeps different URLs apart.
  std::string trimmed = url;
  while (!trimmed.empty() && trimmed.back() == '/') trimmed.pop_back();
  if (trimmed.ends_with(".git")) trimmed.resize(trimmed.size() - 4);
  std::string name;
  size_t slash = trimmed.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    size_t before = trimmed.rfind('/', slash - 1);
    name = trimmed.substr(before == std::string::npos ? 0 : before + 1);
  } else {
    name = trimmed;
  }
  for (char& c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) c = '-';
  }
  if (name.size() > 60) name.resize(60);
  while (!name.empty() && name.front() == '.') name.erase(0, 1);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(url)));
  return root_ / ((name.empty() ? "" : name + "-") + hash + ".git");
}

std::mutex& Mirrors::lock_for(const std::string& url) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = locks_[url];
  if (!slot) slot = std::make_unique<std::mutex>();
  return *slot;
}

Result<fs::path> Mirrors::fetch(const std::string& url, std::string_view branch,
                                const std::function<bool()>& cancelled) {
  ensure_libgit2();
  const std::string ref = "refs/heads/" + std::string(branch);
  if (branch.empty() || !git_reference_is_valid_name(ref.c_str()))
    return Status::invalid(quote(branch) + " is not a valid branch name");
  const std::string what = "fetch branch " + std::string(branch) + " from " + url;
  std::lock_guard<std::mutex> lock(lock_for(url));
  const fs::path path = mirror_path(url);
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return Status::io(what + ": create " + root_.string() + ": " + ec.message());

  git_repository* repo = nullptr;
  int rc = git_repository_open_bare(&repo, path.c_str());
  if (rc == GIT_ENOTFOUND) rc = git_repository_init(&repo, path.c_str(), /*is_bare=*/1);
  if (rc != 0) return git_status(what + ": open mirror " + path.string(), rc);
  std::unique_ptr<git_repository, void (*)(git_repository*)> repo_owner(repo, git_repository_free);
  git_remote* remote = nullptr;
  // Without url.<base>.insteadOf rewriting: the mirror's config has none,
  // and libgit2 1.5 leaks pcre2 match data (about 20 KB a call) on that
  // path when nothing matches (fixed upstream in libgit2 PR #6382, 1.6).
  git_remote_create_options create;
  git_remote_create_options_init(&create, GIT_REMOTE_CREATE_OPTIONS_VERSION);
  create.repository = repo;
  create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
  rc = git_remote_create_with_opts(&remote, url.c_str(), &create);
  if (rc != 0) return git_status(what, rc);
  std::unique_ptr<git_remote, void (*)(git_remote*)> remote_owner(remote, git_remote_free);

  const std::string refspec = "+" + ref + ":" + ref;
  char* specs[] = {const_cast<char*>(refspec.c_str())};
  git_strarray refspecs{specs, 1};
  Payload payload{&cancelled, false};
  git_fetch_options options;
  git_fetch_options_init(&options, GIT_FETCH_OPTIONS_VERSION);
  options.prune = GIT_FETCH_PRUNE;
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  options.callbacks.transfer_progress = on_progress;
  options.callbacks.payload = &payload;
  rc = git_remote_fetch(remote, &refspecs, &options, "stageline: fetch");
  if (payload.stopped) return Status(StatusCode::kFailedPrecondition, what + ": cancelled");
  if (rc != 0) {
    Status s = git_status(what, rc);
    return Status::io(s.message());
  }
  return path;
}

}  // namespace stageline::sources
