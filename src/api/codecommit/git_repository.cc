#include "api/codecommit/git_repository.h"

#include <git2.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <system_error>

namespace stageline::codecommit {

namespace fs = std::filesystem;

namespace {

void ensure_libgit2() {
  static std::once_flag once;
  // Never shut down: repositories may be open until the process ends.
  std::call_once(once, [] { git_libgit2_init(); });
}

std::string last_error() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

Status git_failure(const std::string& what, int rc) {
  if (rc == GIT_ENOTFOUND) return Status::not_found(what + ": " + last_error());
  if (rc == GIT_EEXISTS) return {StatusCode::kAlreadyExists, what + ": " + last_error()};
  return Status::io(what + ": " + last_error());
}

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Reference = std::unique_ptr<git_reference, Deleter<git_reference, git_reference_free>>;
using Object = std::unique_ptr<git_object, Deleter<git_object, git_object_free>>;
using Commit = std::unique_ptr<git_commit, Deleter<git_commit, git_commit_free>>;
using Tree = std::unique_ptr<git_tree, Deleter<git_tree, git_tree_free>>;
using TreeEntry = std::unique_ptr<git_tree_entry, Deleter<git_tree_entry, git_tree_entry_free>>;
using Blob = std::unique_ptr<git_blob, Deleter<git_blob, git_blob_free>>;
using BranchIterator =
    std::unique_ptr<git_branch_iterator, Deleter<git_branch_iterator, git_branch_iterator_free>>;

std::string oid_text(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

GitSignature signature(const git_signature* s) {
  GitSignature out;
  if (!s) return out;
  out.name = s->name ? s->name : "";
  out.email = s->email ? s->email : "";
  out.time_s = s->when.time;
  out.offset_minutes = s->when.offset;
  return out;
}

constexpr std::string_view kHeads = "refs/heads/";

}  // namespace

bool valid_branch_name(std::string_view name) {
  ensure_libgit2();
  if (name.empty() || name.find('\0') != std::string_view::npos) return false;
  // libgit2 accepts two names `git branch` refuses: a leading '-' and "@"
  // (which git reads as HEAD).
  if (name.front() == '-' || name == "@") return false;
  int valid = 0;
  std::string n(name);
  if (git_branch_name_is_valid(&valid, n.c_str()) != 0) return false;
  return valid != 0;
}

bool valid_object_id(std::string_view id) {
  return id.size() == GIT_OID_HEXSZ && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

Status init_bare_repository(const fs::path& dir, std::string_view initial_branch) {
  ensure_libgit2();
  std::error_code ec;
  if (fs::exists(dir, ec))
    return {StatusCode::kAlreadyExists, "create repository " + dir.string() + ": it exists"};
  std::string head(initial_branch);
  git_repository_init_options options = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  options.flags =
      GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
  options.initial_head = head.c_str();
  git_repository* repo = nullptr;
  int rc = git_repository_init_ext(&repo, dir.c_str(), &options);
  if (rc != 0) return git_failure("create repository " + dir.string(), rc);
  git_repository_free(repo);
  return {};
}

Result<GitRepository> GitRepository::open(const fs::path& dir) {
  ensure_libgit2();
  git_repository* repo = nullptr;
  int rc = git_repository_open_bare(&repo, dir.c_str());
  if (rc != 0) return git_failure("open repository " + dir.string(), rc);
  return GitRepository(repo);
}

GitRepository::GitRepository(GitRepository&& other) noexcept : repo_(other.repo_) {
  other.repo_ = nullptr;
}

GitRepository& GitRepository::operator=(GitRepository&& other) noexcept {
  if (this != &other) {
    if (repo_) git_repository_free(repo_);
    repo_ = other.repo_;
    other.repo_ = nullptr;
  }
  return *this;
}

GitRepository::~GitRepository() {
  if (repo_) git_repository_free(repo_);
}

Result<std::vector<std::string>> GitRepository::branches() {
  git_branch_iterator* raw = nullptr;
  if (int rc = git_branch_iterator_new(&raw, repo_, GIT_BRANCH_LOCAL); rc != 0)
    return git_failure("list branches", rc);
  BranchIterator it(raw);
  std::vector<std::string> names;
  for (;;) {
    git_reference* ref = nullptr;
    git_branch_t type;
    int rc = git_branch_next(&ref, &type, it.get());
    if (rc == GIT_ITEROVER) break;
    if (rc != 0) return git_failure("list branches", rc);
    Reference owned(ref);
    const char* name = nullptr;
    if (int nrc = git_branch_name(&name, ref); nrc != 0) return git_failure("list branches", nrc);
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::map<std::string, std::string>> GitRepository::refs() {
  git_reference_iterator* raw = nullptr;
  if (int rc = git_reference_iterator_new(&raw, repo_); rc != 0)
    return git_failure("list refs", rc);
  std::unique_ptr<git_reference_iterator,
                  Deleter<git_reference_iterator, git_reference_iterator_free>>
      it(raw);
  std::map<std::string, std::string> out;
  for (;;) {
    git_reference* ref = nullptr;
    int rc = git_reference_next(&ref, it.get());
    if (rc == GIT_ITEROVER) break;
    if (rc != 0) return git_failure("list refs", rc);
    Reference owned(ref);
    std::string_view name = git_reference_name(ref);
    if (!name.starts_with(kHeads) && !name.starts_with("refs/tags/")) continue;
    git_object* obj = nullptr;
    if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) != 0) continue;
    Object peeled(obj);
    out[std::string(name)] = oid_text(git_object_id(obj));
  }
  return out;
}

Result<std::vector<std::string>> GitRepository::changed_files(std::string_view old_commit_id,
                                                              std::string_view new_commit_id) {
  Tree trees[2];
  std::string_view ids[2] = {old_commit_id, new_commit_id};
  for (int i = 0; i < 2; ++i) {
    git_oid oid;
    std::string id(ids[i]);
    if (!valid_object_id(id) || git_oid_fromstr(&oid, id.c_str()) != 0)
      return Status::invalid("invalid commit id");
    git_commit* raw = nullptr;
    if (int rc = git_commit_lookup(&raw, repo_, &oid); rc != 0)
      return git_failure("commit " + id, rc);
    Commit commit(raw);
    git_tree* tree = nullptr;
    if (int rc = git_commit_tree(&tree, commit.get()); rc != 0)
      return git_failure("tree of " + id, rc);
    trees[i].reset(tree);
  }
  git_diff* raw_diff = nullptr;
  if (int rc = git_diff_tree_to_tree(&raw_diff, repo_, trees[0].get(), trees[1].get(), nullptr);
      rc != 0)
    return git_failure("diff", rc);
  std::unique_ptr<git_diff, Deleter<git_diff, git_diff_free>> diff(raw_diff);
  std::vector<std::string> paths;
  for (size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff.get(), i);
    if (d->old_file.path) paths.emplace_back(d->old_file.path);
    if (d->new_file.path) paths.emplace_back(d->new_file.path);
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  return paths;
}

Result<std::string> GitRepository::branch_commit(std::string_view name) {
  if (!valid_branch_name(name)) return Status::invalid("invalid branch name");
  std::string refname = std::string(kHeads) + std::string(name);
  git_reference* raw = nullptr;
  int rc = git_reference_lookup(&raw, repo_, refname.c_str());
  if (rc != 0) return git_failure("branch " + std::string(name), rc);
  Reference ref(raw);
  git_object* obj = nullptr;
  if (rc = git_reference_peel(&obj, ref.get(), GIT_OBJECT_COMMIT); rc != 0)
    return git_failure("branch " + std::string(name), rc);
  Object owned(obj);
  return oid_text(git_object_id(obj));
}

Status GitRepository::create_branch(std::string_view name, std::string_view commit_id) {
  if (!valid_branch_name(name)) return Status::invalid("invalid branch name");
  if (!valid_object_id(commit_id)) return Status::invalid("invalid commit id");
  git_oid oid;
  std::string id(commit_id);
  if (git_oid_fromstr(&oid, id.c_str()) != 0) return Status::invalid("invalid commit id");
  git_commit* raw = nullptr;
  int rc = git_commit_lookup(&raw, repo_, &oid);
  if (rc != 0) return git_failure("commit " + id, rc);
  Commit commit(raw);
  git_reference* ref = nullptr;
  std::string n(name);
  rc = git_branch_create(&ref, repo_, n.c_str(), commit.get(), /*force=*/0);
  if (rc != 0) return git_failure("create branch " + n, rc);
  git_reference_free(ref);
  return {};
}

Result<std::optional<std::string>> GitRepository::default_branch() {
  git_reference* raw = nullptr;
  int rc = git_reference_lookup(&raw, repo_, "HEAD");
  if (rc == GIT_ENOTFOUND) return std::optional<std::string>();
  if (rc != 0) return git_failure("read HEAD", rc);
  Reference head(raw);
  if (git_reference_type(head.get()) != GIT_REFERENCE_SYMBOLIC) return std::optional<std::string>();
  std::string_view target = git_reference_symbolic_target(head.get());
  if (!target.starts_with(kHeads)) return std::optional<std::string>();
  git_reference* branch = nullptr;
  rc = git_reference_lookup(&branch, repo_, std::string(target).c_str());
  if (rc == GIT_ENOTFOUND) return std::optional<std::string>();
  if (rc != 0) return git_failure("read HEAD", rc);
  git_reference_free(branch);
  return std::optional<std::string>(std::string(target.substr(kHeads.size())));
}

Status GitRepository::adopt_default_branch(std::string_view branch) {
  auto current = default_branch();
  if (!current.ok()) return current.status();
  if (current->has_value()) return {};
  std::string refname = std::string(kHeads) + std::string(branch);
  if (int rc = git_repository_set_head(repo_, refname.c_str()); rc != 0)
    return git_failure("set HEAD to " + refname, rc);
  return {};
}

Result<GitCommit> GitRepository::commit(std::string_view id) {
  if (!valid_object_id(id)) return Status::invalid("invalid commit id");
  std::string text(id);
  git_oid oid;
  if (git_oid_fromstr(&oid, text.c_str()) != 0) return Status::invalid("invalid commit id");
  git_commit* raw = nullptr;
  int rc = git_commit_lookup(&raw, repo_, &oid);
  if (rc != 0) return git_failure("commit " + text, rc);
  Commit c(raw);
  GitCommit out;
  out.id = oid_text(git_commit_id(c.get()));
  out.tree_id = oid_text(git_commit_tree_id(c.get()));
  for (unsigned i = 0; i < git_commit_parentcount(c.get()); ++i)
    out.parents.push_back(oid_text(git_commit_parent_id(c.get(), i)));
  const char* message = git_commit_message(c.get());
  out.message = message ? message : "";
  out.author = signature(git_commit_author(c.get()));
  out.committer = signature(git_commit_committer(c.get()));
  return out;
}

Result<std::string> GitRepository::resolve_commit(std::string_view specifier) {
  if (specifier.empty()) {
    auto branch = default_branch();
    if (!branch.ok()) return branch.status();
    if (!branch->has_value()) return Status::not_found("the repository has no default branch yet");
    return branch_commit(**branch);
  }
  std::string spec(specifier);
  git_object* raw = nullptr;
  int rc = git_revparse_single(&raw, repo_, spec.c_str());
  if (rc != 0) {
    // A malformed specifier names nothing, as far as the caller can tell.
    if (rc == GIT_EINVALIDSPEC || rc == GIT_EAMBIGUOUS)
      return Status::not_found("commit " + spec + ": " + last_error());
    return git_failure("commit " + spec, rc);
  }
  Object obj(raw);
  git_object* peeled = nullptr;
  rc = git_object_peel(&peeled, obj.get(), GIT_OBJECT_COMMIT);
  if (rc != 0) return Status::not_found("commit " + spec + ": not a commit");
  Object owned(peeled);
  return oid_text(git_object_id(peeled));
}

Result<GitFile> GitRepository::file(std::string_view commit_id, std::string_view path,
                                    size_t max_bytes) {
  while (path.starts_with('/')) path.remove_prefix(1);
  if (path.empty()) return Status::not_found("no file path");
  git_oid oid;
  std::string id(commit_id);
  if (!valid_object_id(id) || git_oid_fromstr(&oid, id.c_str()) != 0)
    return Status::invalid("invalid commit id");
  git_commit* raw_commit = nullptr;
  int rc = git_commit_lookup(&raw_commit, repo_, &oid);
  if (rc != 0) return git_failure("commit " + id, rc);
  Commit commit(raw_commit);
  git_tree* raw_tree = nullptr;
  if (rc = git_commit_tree(&raw_tree, commit.get()); rc != 0)
    return git_failure("tree of " + id, rc);
  Tree tree(raw_tree);
  std::string p(path);
  git_tree_entry* raw_entry = nullptr;
  rc = git_tree_entry_bypath(&raw_entry, tree.get(), p.c_str());
  if (rc != 0) return git_failure("file " + p, rc);
  TreeEntry entry(raw_entry);
  if (git_tree_entry_type(entry.get()) != GIT_OBJECT_BLOB)
    return Status::not_found("file " + p + ": not a file");
  GitFile out;
  switch (git_tree_entry_filemode(entry.get())) {
    case GIT_FILEMODE_BLOB_EXECUTABLE:
      out.mode = GitFileMode::kExecutable;
      break;
    case GIT_FILEMODE_LINK:
      out.mode = GitFileMode::kSymlink;
      break;
    default:
      out.mode = GitFileMode::kNormal;
  }
  git_blob* raw_blob = nullptr;
  if (rc = git_blob_lookup(&raw_blob, repo_, git_tree_entry_id(entry.get())); rc != 0)
    return git_failure("file " + p, rc);
  Blob blob(raw_blob);
  out.blob_id = oid_text(git_blob_id(blob.get()));
  const auto size = static_cast<size_t>(git_blob_rawsize(blob.get()));
  if (size > max_bytes)
    return Status{StatusCode::kFailedPrecondition, "file " + p + " has " + std::to_string(size) +
                                                       " bytes, more than " +
                                                       std::to_string(max_bytes)};
  out.content.assign(static_cast<const char*>(git_blob_rawcontent(blob.get())), size);
  return out;
}

}  // namespace stageline::codecommit
