#include "sources/git_archive.h"

#include <sys/stat.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "base/strings.h"

namespace stageline::sources {

namespace fs = std::filesystem;

namespace {

struct TreeEntry {
  std::string path;  // no trailing '/'
  git_oid oid;
  git_filemode_t mode;
};

struct WalkState {
  std::vector<TreeEntry> entries;
};

int collect(const char* root, const git_tree_entry* entry, void* payload) {
  auto* state = static_cast<WalkState*>(payload);
  TreeEntry e;
  e.path = std::string(root) + git_tree_entry_name(entry);
  git_oid_cpy(&e.oid, git_tree_entry_id(entry));
  e.mode = git_tree_entry_filemode(entry);
  state->entries.push_back(std::move(e));
  return 0;
}

// What the sources report back through libzip: what failed (to name the
// entry in the error), and how much they read.
struct PackFailure {
  std::string path;
  std::string reason;
  bool cancelled = false;
  uint64_t bytes_read = 0;  // by every source, for ArchiveStats
};

// A lazy zip source over one blob: the blob is looked up when libzip opens
// the source during zip_close and freed when it closes it, so at most one
// blob is in memory at a time (stack.md §3: eager buffers cost 341 MB RSS
// on /usr/include, this 83 MB). Its size comes from the object header, which
// does not inflate the blob.
struct BlobSource {
  git_repository* repo = nullptr;
  git_odb* odb = nullptr;
  git_oid oid;
  std::string name;
  time_t mtime = 0;
  git_blob* blob = nullptr;
  uint64_t size = 0;
  bool size_known = false;
  uint64_t done = 0;
  zip_error_t error;
  PackFailure* failure = nullptr;
  const std::function<bool()>* cancelled = nullptr;

  zip_int64_t fail(int zip_code, const std::string& reason) {
    zip_error_set(&error, zip_code, 0);
    if (failure->path.empty() && !failure->cancelled) {
      failure->path = name;
      failure->reason = reason;
    }
    return -1;
  }

  static std::string last_git_error() {
    const git_error* e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
  }

  bool stat_size() {
    if (size_known) return true;
    size_t len = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    if (git_odb_read_header(&len, &type, odb, &oid) != 0) return false;
    size = len;
    size_known = true;
    return true;
  }

  static zip_int64_t callback(void* userdata, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    auto* self = static_cast<BlobSource*>(userdata);
    switch (cmd) {
      case ZIP_SOURCE_OPEN: {
        if (*self->cancelled && (*self->cancelled)()) {
          self->failure->cancelled = true;
          zip_error_set(&self->error, ZIP_ER_CANCELLED, 0);
          return -1;
        }
        if (git_blob_lookup(&self->blob, self->repo, &self->oid) != 0) {
          self->blob = nullptr;
          return self->fail(ZIP_ER_OPEN, "read blob: " + last_git_error());
        }
        const auto raw = static_cast<uint64_t>(git_blob_rawsize(self->blob));
        if (self->size_known && raw != self->size)
          return self->fail(ZIP_ER_OPEN, "the blob's size differs from its header's");
        self->size = raw;
        self->size_known = true;
        self->done = 0;
        return 0;
      }
      case ZIP_SOURCE_READ: {
        if (self->blob == nullptr) return self->fail(ZIP_ER_READ, "read before open");
        uint64_t want = std::min<uint64_t>(len, self->size - self->done);
        if (want > 0) {
          std::memcpy(data, static_cast<const char*>(git_blob_rawcontent(self->blob)) + self->done,
                      want);
          self->done += want;
          self->failure->bytes_read += want;
        }
        return static_cast<zip_int64_t>(want);
      }
      case ZIP_SOURCE_CLOSE:
        git_blob_free(self->blob);
        self->blob = nullptr;
        return 0;
      case ZIP_SOURCE_STAT: {
        if (len < sizeof(zip_stat_t)) {
          zip_error_set(&self->error, ZIP_ER_INVAL, 0);
          return -1;
        }
        if (!self->stat_size()) return self->fail(ZIP_ER_READ, "read header: " + last_git_error());
        auto* st = static_cast<zip_stat_t*>(data);
        zip_stat_init(st);
        st->size = self->size;
        st->mtime = self->mtime;
        st->valid |= ZIP_STAT_SIZE | ZIP_STAT_MTIME;
        return sizeof(zip_stat_t);
      }
      case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&self->error, data, len);
      case ZIP_SOURCE_FREE:
        git_blob_free(self->blob);
        zip_error_fini(&self->error);
        delete self;
        return 0;
      case ZIP_SOURCE_SUPPORTS:
        return ZIP_SOURCE_SUPPORTS_READABLE;
      default:
        zip_error_set(&self->error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
  }
};

// Discards the archive (and its temporary file) unless closed.
struct ZipHandle {
  zip_t* za = nullptr;
  ~ZipHandle() {
    if (za) zip_discard(za);
  }
};

struct OdbHandle {
  git_odb* odb = nullptr;
  ~OdbHandle() { git_odb_free(odb); }
};

struct TreeHandle {
  git_tree* tree = nullptr;
  ~TreeHandle() { git_tree_free(tree); }
};

struct CommitHandle {
  git_commit* commit = nullptr;
  ~CommitHandle() { git_commit_free(commit); }
};

}  // namespace

Result<ArchiveStats> write_commit_zip(const GitRepository& repository, std::string_view commit_id,
                                      const fs::path& out_file, const ArchiveOptions& options) {
  const std::string what = "zip commit " + std::string(commit_id) + " of " +
                           repository.path().string() + " into " + out_file.string();
  if (options.compression_level < 1 || options.compression_level > 9)
    return Status::invalid(what + ": compression level must be 1..9");
  git_oid oid;
  if (commit_id.size() != GIT_OID_HEXSZ ||
      git_oid_fromstrn(&oid, commit_id.data(), commit_id.size()) != 0)
    return Status::invalid(what + ": not a full commit id (40 hex digits)");
  git_repository* repo = repository.get();
  CommitHandle commit;
  if (int rc = git_commit_lookup(&commit.commit, repo, &oid); rc != 0)
    return git_status(what + ": read the commit", rc);
  TreeHandle tree;
  if (int rc = git_commit_tree(&tree.tree, commit.commit); rc != 0)
    return git_status(what + ": read its tree", rc);
  OdbHandle odb;
  if (int rc = git_repository_odb(&odb.odb, repo); rc != 0)
    return git_status(what + ": open the object database", rc);
  const auto mtime = static_cast<time_t>(git_commit_time(commit.commit));

  // The walk only collects names and ids (a few MB for tens of thousands of
  // entries); blobs are read later, one at a time, while libzip writes.
  WalkState walk;
  if (int rc = git_tree_walk(tree.tree, GIT_TREEWALK_PRE, collect, &walk); rc != 0)
    return git_status(what + ": walk the tree", rc);
  if (walk.entries.empty())
    return Status(StatusCode::kFailedPrecondition,
                  what + ": the commit's tree is empty; there is nothing to zip");

  int zip_err = 0;
  ZipHandle archive;
  archive.za = zip_open(out_file.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &zip_err);
  if (archive.za == nullptr) {
    zip_error_t e;
    zip_error_init_with_code(&e, zip_err);
    std::string message = zip_error_strerror(&e);
    zip_error_fini(&e);
    return Status::io(what + ": create the archive: " + message);
  }
  zip_t* za = archive.za;
  auto libzip_error = [&](const std::string& step, const std::string& name) {
    return Status::io(what + ": " + step + " " + quote(name) + ": " + zip_strerror(za));
  };

  ArchiveStats stats;
  PackFailure failure;
  for (const TreeEntry& e : walk.entries) {
    zip_int64_t index = -1;
    uint32_t unix_mode = 0;
    switch (e.mode) {
      case GIT_FILEMODE_TREE:
      case GIT_FILEMODE_COMMIT: {  // a submodule: an empty directory, as git archive
        index = zip_dir_add(za, e.path.c_str(), ZIP_FL_ENC_GUESS);
        if (index < 0) return libzip_error("add directory", e.path);
        unix_mode = S_IFDIR | 0755;
        ++stats.directories;
        if (e.mode == GIT_FILEMODE_COMMIT) ++stats.submodules;
        break;
      }
      case GIT_FILEMODE_BLOB:
      case GIT_FILEMODE_BLOB_EXECUTABLE:
      case GIT_FILEMODE_LINK: {
        auto* ctx = new BlobSource;
        ctx->repo = repo;
        ctx->odb = odb.odb;
        git_oid_cpy(&ctx->oid, &e.oid);
        ctx->name = e.path;
        ctx->mtime = mtime;
        ctx->failure = &failure;
        ctx->cancelled = &options.cancelled;
        zip_error_init(&ctx->error);
        zip_source_t* src = zip_source_function(za, &BlobSource::callback, ctx);
        if (src == nullptr) {
          zip_error_fini(&ctx->error);
          delete ctx;
          return libzip_error("create source for", e.path);
        }
        index = zip_file_add(za, e.path.c_str(), src, ZIP_FL_ENC_GUESS);
        if (index < 0) {
          zip_source_free(src);  // frees ctx through ZIP_SOURCE_FREE
          return libzip_error("add file", e.path);
        }
        const bool link = e.mode == GIT_FILEMODE_LINK;
        if (zip_set_file_compression(
                za, static_cast<zip_uint64_t>(index), link ? ZIP_CM_STORE : ZIP_CM_DEFLATE,
                link ? 0 : static_cast<zip_uint32_t>(options.compression_level)) != 0)
          return libzip_error("set compression of", e.path);
        if (link) {
          unix_mode = S_IFLNK | 0777;
          ++stats.symlinks;
        } else {
          unix_mode = S_IFREG | (e.mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
          ++stats.files;
        }
        break;
      }
      default:
        return Status::internal(what + ": entry " + quote(e.path) + " has unknown git mode " +
                                std::to_string(static_cast<int>(e.mode)));
    }
    auto idx = static_cast<zip_uint64_t>(index);
    if (zip_file_set_external_attributes(za, idx, 0, ZIP_OPSYS_UNIX, unix_mode << 16) != 0)
      return libzip_error("set mode of", e.path);
    if (zip_file_set_mtime(za, idx, mtime, 0) != 0) return libzip_error("set mtime of", e.path);
  }

  if (zip_close(za) != 0) {
    std::string message = zip_strerror(za);
    if (failure.cancelled) return Status(StatusCode::kFailedPrecondition, what + ": cancelled");
    if (!failure.path.empty())
      return Status::io(what + ": " + quote(failure.path) + ": " + failure.reason);
    return Status::io(what + ": write the archive: " + message);
  }
  archive.za = nullptr;
  stats.uncompressed_bytes = failure.bytes_read;
  return stats;
}

}  // namespace stageline::sources
