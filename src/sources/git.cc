#include "sources/git.h"

#include <ctime>
#include <mutex>

namespace stageline::sources {

namespace fs = std::filesystem;

namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using CommitPtr = std::unique_ptr<git_commit, Deleter<git_commit, git_commit_free>>;
using ReferencePtr = std::unique_ptr<git_reference, Deleter<git_reference, git_reference_free>>;
using ObjectPtr = std::unique_ptr<git_object, Deleter<git_object, git_object_free>>;
using RepositoryPtr = std::unique_ptr<git_repository, Deleter<git_repository, git_repository_free>>;

std::string iso_utc(git_time_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string oid_hex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

}  // namespace

void ensure_libgit2() {
  static std::once_flag once;
  // Never shut down: the process keeps libgit2 for its whole life.
  std::call_once(once, [] { git_libgit2_init(); });
}

Status git_status(std::string_view what, int error) {
  const git_error* e = git_error_last();
  std::string message = std::string(what) + ": " +
                        (e && e->message ? e->message : "libgit2 error " + std::to_string(error));
  if (error == GIT_ENOTFOUND) return Status::not_found(message);
  return Status::io(message);
}

Result<GitRepository> GitRepository::open(const fs::path& path) {
  ensure_libgit2();
  git_repository* repo = nullptr;
  int rc = git_repository_open_ext(&repo, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
  if (rc != 0) {
    Status s = git_status("open git repository " + path.string(), rc);
    return Status(rc == GIT_ENOTFOUND ? StatusCode::kNotFound : s.code(), s.message());
  }
  return GitRepository(repo, path);
}

Result<std::string> GitRepository::branch_commit(std::string_view branch) const {
  const std::string ref_name = "refs/heads/" + std::string(branch);
  if (branch.empty() || !git_reference_is_valid_name(ref_name.c_str()))
    return Status::invalid("'" + std::string(branch) + "' is not a valid branch name");
  git_reference* raw = nullptr;
  int rc = git_reference_lookup(&raw, repo_.get(), ref_name.c_str());
  if (rc == GIT_ENOTFOUND)
    return Status::not_found("branch '" + std::string(branch) + "' does not exist in " +
                             path_.string());
  if (rc != 0) return git_status("look up branch '" + std::string(branch) + "'", rc);
  ReferencePtr ref(raw);
  git_object* peeled = nullptr;
  rc = git_reference_peel(&peeled, ref.get(), GIT_OBJECT_COMMIT);
  if (rc != 0) return git_status("resolve branch '" + std::string(branch) + "' to a commit", rc);
  ObjectPtr object(peeled);
  return oid_hex(git_object_id(object.get()));
}

Result<CommitInfo> GitRepository::commit(std::string_view id) const {
  git_oid oid;
  if (id.size() != GIT_OID_HEXSZ || git_oid_fromstrn(&oid, id.data(), id.size()) != 0)
    return Status::invalid("'" + std::string(id) + "' is not a full commit id (40 hex digits)");
  git_commit* raw = nullptr;
  int rc = git_commit_lookup(&raw, repo_.get(), &oid);
  if (rc == GIT_ENOTFOUND)
    return Status::not_found("commit " + std::string(id) + " does not exist in " + path_.string());
  if (rc != 0) return git_status("read commit " + std::string(id), rc);
  CommitPtr commit(raw);
  CommitInfo info;
  info.id = oid_hex(&oid);
  if (const char* m = git_commit_message(commit.get())) info.message = m;
  // The trailing newline git stores is not part of the message as
  // CodePipeline's CommitMessage variable gives it (and would break a
  // one-line command that quotes it).
  while (!info.message.empty() && (info.message.back() == '\n' || info.message.back() == '\r'))
    info.message.pop_back();
  if (const char* s = git_commit_summary(commit.get())) info.summary = s;
  if (const git_signature* a = git_commit_author(commit.get())) {
    info.author_name = a->name ? a->name : "";
    info.author_email = a->email ? a->email : "";
    info.author_date = iso_utc(a->when.time);
  }
  if (const git_signature* c = git_commit_committer(commit.get())) {
    info.committer_name = c->name ? c->name : "";
    info.committer_email = c->email ? c->email : "";
    info.committer_date = iso_utc(c->when.time);
  }
  info.commit_time = git_commit_time(commit.get());
  return info;
}

namespace {

// The clone's "origin", created without insteadOf rewriting (see mirror.cc
// for the libgit2 1.5 leak this avoids).
int create_origin(git_remote** out, git_repository* repo, const char* name, const char* url,
                  void*) {
  git_remote_create_options create;
  git_remote_create_options_init(&create, GIT_REMOTE_CREATE_OPTIONS_VERSION);
  create.repository = repo;
  create.name = name;
  create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
  return git_remote_create_with_opts(out, url, &create);
}

}  // namespace

Status clone_at(const std::string& repository, std::string_view branch, std::string_view commit_id,
                const fs::path& target) {
  ensure_libgit2();
  const std::string what = "clone " + repository + " into " + target.string();
  git_oid oid;
  if (commit_id.size() != GIT_OID_HEXSZ ||
      git_oid_fromstrn(&oid, commit_id.data(), commit_id.size()) != 0)
    return Status::invalid(what + ": '" + std::string(commit_id) + "' is not a full commit id");
  git_clone_options options;
  git_clone_options_init(&options, GIT_CLONE_OPTIONS_VERSION);
  const std::string branch_name(branch);
  options.checkout_branch = branch_name.c_str();
  // Copy the objects: a hard-linked clone would share files with the
  // server's repository, and the artifact must not depend on it.
  options.local = GIT_CLONE_NO_LOCAL;
  options.remote_cb = create_origin;
  git_repository* raw = nullptr;
  int rc = git_clone(&raw, repository.c_str(), target.c_str(), &options);
  if (rc != 0) return git_status(what, rc);
  RepositoryPtr repo(raw);
  git_object* object = nullptr;
  rc = git_object_lookup(&object, repo.get(), &oid, GIT_OBJECT_COMMIT);
  if (rc != 0) return git_status(what + ": find commit " + std::string(commit_id), rc);
  ObjectPtr commit(object);
  git_reference* head = nullptr;
  rc = git_repository_head(&head, repo.get());
  if (rc != 0) return git_status(what + ": read HEAD", rc);
  ReferencePtr head_ref(head);
  const git_oid* head_oid = git_reference_target(head_ref.get());
  if (head_oid && git_oid_equal(head_oid, &oid)) return Status();
  // A pinned commit behind the branch tip: detach HEAD there.
  git_checkout_options checkout;
  git_checkout_options_init(&checkout, GIT_CHECKOUT_OPTIONS_VERSION);
  checkout.checkout_strategy = GIT_CHECKOUT_FORCE;
  rc = git_checkout_tree(repo.get(), commit.get(), &checkout);
  if (rc != 0) return git_status(what + ": check out " + std::string(commit_id), rc);
  rc = git_repository_set_head_detached(repo.get(), &oid);
  if (rc != 0) return git_status(what + ": detach HEAD at " + std::string(commit_id), rc);
  return Status();
}

}  // namespace stageline::sources
