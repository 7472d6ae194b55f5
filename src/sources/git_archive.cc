#include "sources/git_archive.h"

#include <git2/sys/odb_backend.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
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

// One entry on its way from the object database to the zip. The calling
// thread creates it, writes it and destroys it (freeing its blob: libgit2
// objects never change threads); a worker only reads `content` and sets
// `data`, then `done` under the pool's mutex.
struct Job {
  const TreeEntry* entry = nullptr;
  // The blob's bytes, owned either as a blob object or as a buffer of the
  // object database backend that read it (read_blob).
  git_blob* blob = nullptr;
  git_odb_backend* backend = nullptr;
  void* backend_data = nullptr;
  std::string_view content;
  uint32_t unix_mode = 0;
  bool directory = false;
  uint64_t cost = 0;  // bytes counted against the window
  Result<PreparedData> data = Status::internal("not deflated");
  bool done = false;  // guarded by DeflatePool::mu_ once submitted

  Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  ~Job() {
    git_blob_free(blob);
    if (backend_data != nullptr) git_odb_backend_data_free(backend, backend_data);
  }
};

// Deflates submitted jobs on worker threads, in any order. The destructor
// stops and joins every worker, whether or not their jobs are done, so it
// must run before the jobs it was given are destroyed. With no threads
// (asked for, or none could be started) submit() deflates on the calling
// thread. Only the owning thread calls its methods.
class DeflatePool {
 public:
  DeflatePool(int threads, int level) : level_(level), inline_(level) {
    for (int i = 0; i < threads; ++i) {
      try {
        threads_.emplace_back([this] { run(); });
      } catch (const std::system_error&) {
        break;  // run with the threads there are, or inline
      }
    }
  }
  ~DeflatePool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  DeflatePool(const DeflatePool&) = delete;
  DeflatePool& operator=(const DeflatePool&) = delete;

  void submit(Job* job) {
    if (threads_.empty()) {
      job->data = inline_.prepare(job->content);
      job->done = true;
      return;
    }
    {
      std::lock_guard lock(mu_);
      queue_.push_back(job);
    }
    work_cv_.notify_one();
  }
  bool done(const Job* job) {
    std::lock_guard lock(mu_);
    return job->done;
  }
  void wait(const Job* job) {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [job] { return job->done; });
  }

 private:
  void run() {
    Deflater deflater(level_);
    for (;;) {
      Job* job = nullptr;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        job = queue_.front();
        queue_.pop_front();
      }
      Result<PreparedData> data = deflater.prepare(job->content);
      {
        std::lock_guard lock(mu_);
        job->data = std::move(data);
        job->done = true;
      }
      done_cv_.notify_one();  // only the owning thread waits
    }
  }

  const int level_;
  Deflater inline_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<Job*> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

std::string last_git_error() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

// Reads the blob of `entry` into `job`. kIo naming the path and the blob
// when it is missing, corrupt or not a blob.
//
// Without `verify`, the blob is read from the object database's backends
// directly (packs, then loose objects, then alternates: libgit2's order),
// which inflates and resolves deltas as git_blob_lookup does but skips
// libgit2's strict hash verification: hashing every blob again cost 0.5 s
// of 4.4 s of CPU on the bench repository, and git archive does not do it
// either. zlib still checks each object's stream (Adler-32), so a damaged
// pack or loose object is still an error; what goes unnoticed is an object
// replaced by another well-formed one. A blob no backend has as they stand
// (a pack written since the repository was opened) goes through
// git_blob_lookup, which refreshes them.
Status read_blob(git_repository* repo, git_odb* odb, const TreeEntry& entry, bool verify,
                 Job& job) {
  auto failure = [&entry](const std::string& why) {
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, &entry.oid);
    return Status::io("read " + quote(entry.path) + " (blob " + hex + "): " + why);
  };
  if (!verify) {
    const size_t backends = git_odb_num_backends(odb);
    for (size_t i = 0; i < backends; ++i) {
      git_odb_backend* backend = nullptr;
      if (git_odb_get_backend(&backend, odb, i) != 0 || backend->read == nullptr) continue;
      void* data = nullptr;
      size_t len = 0;
      git_object_t type = GIT_OBJECT_INVALID;
      const int rc = backend->read(&data, &len, &type, backend, &entry.oid);
      if (rc == GIT_ENOTFOUND || rc == GIT_PASSTHROUGH) continue;
      if (rc != 0) return failure(last_git_error());
      job.backend = backend;
      job.backend_data = data;
      if (type != GIT_OBJECT_BLOB)
        return failure(std::string("the object is a ") + git_object_type2string(type));
      job.content = std::string_view(static_cast<const char*>(data), len);
      return {};
    }
  }
  if (git_blob_lookup(&job.blob, repo, &entry.oid) != 0) {
    job.blob = nullptr;
    return failure(last_git_error());
  }
  job.content = std::string_view(static_cast<const char*>(git_blob_rawcontent(job.blob)),
                                 static_cast<size_t>(git_blob_rawsize(job.blob)));
  return {};
}

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
  if (options.deflate_threads < -1)
    return Status::invalid(what + ": deflate threads must be -1 (one per CPU) or more");
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
  const auto mtime = static_cast<std::time_t>(git_commit_time(commit.commit));

  // The walk only collects names and ids (a few MB for tens of thousands of
  // entries); blobs are read later, a window at a time.
  WalkState walk;
  if (int rc = git_tree_walk(tree.tree, GIT_TREEWALK_PRE, collect, &walk); rc != 0)
    return git_status(what + ": walk the tree", rc);
  if (walk.entries.empty())
    return Status(StatusCode::kFailedPrecondition,
                  what + ": the commit's tree is empty; there is nothing to zip");

  auto created = ZipWriter::create(out_file, mtime, options.zip_limits);
  if (!created.ok()) return created.status().with_context(what);
  ZipWriter& writer = **created;

  // Deflating is about three quarters of the work (bench/RESULTS.md), and
  // git archive does it on one core with the reading. Here the calling
  // thread reads blobs and writes entries in tree order while workers
  // deflate: the zip is the same whatever the thread count, and the window
  // bounds what is read ahead (a blob bigger than the window waits until
  // nothing else is in flight). The jobs are declared before the pool so
  // that every way out of this function joins the workers before the jobs
  // (and their blobs) are freed.
  std::deque<std::unique_ptr<Job>> order;
  uint64_t in_flight = 0;
  const int threads = options.deflate_threads >= 0
                          ? options.deflate_threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  DeflatePool pool(threads, options.compression_level);
  std::unique_ptr<Deflater> large_deflater;

  auto write_front = [&]() -> Status {
    std::unique_ptr<Job> job = std::move(order.front());
    order.pop_front();
    in_flight -= job->cost;
    const std::string& path = job->entry->path;
    if (job->directory) return writer.add_directory(path, job->unix_mode);
    if (!job->data.ok()) return job->data.status().with_context(quote(path));
    return writer.add(path, job->unix_mode, job->content, *job->data);
  };
  auto write_finished = [&]() -> Status {
    while (!order.empty() && pool.done(order.front().get())) {
      if (Status s = write_front(); !s.ok()) return s;
    }
    return {};
  };
  // Writes entries in order, waiting for each to be deflated, until at
  // most `max_in_flight` bytes wait.
  auto write_until = [&](uint64_t max_in_flight) -> Status {
    while (!order.empty() && in_flight > max_in_flight) {
      pool.wait(order.front().get());
      if (Status s = write_front(); !s.ok()) return s;
    }
    return {};
  };
  auto write_all = [&]() -> Status {
    while (!order.empty()) {
      pool.wait(order.front().get());
      if (Status s = write_front(); !s.ok()) return s;
    }
    return {};
  };

  ArchiveStats stats;
  for (const TreeEntry& e : walk.entries) {
    auto job = std::make_unique<Job>();
    job->entry = &e;
    switch (e.mode) {
      case GIT_FILEMODE_TREE:
      case GIT_FILEMODE_COMMIT:  // a submodule: an empty directory, as git archive
        job->directory = true;
        job->unix_mode = S_IFDIR | 0755;
        job->done = true;
        ++stats.directories;
        if (e.mode == GIT_FILEMODE_COMMIT) ++stats.submodules;
        break;
      case GIT_FILEMODE_BLOB:
      case GIT_FILEMODE_BLOB_EXECUTABLE:
      case GIT_FILEMODE_LINK: {
        if (options.cancelled && options.cancelled())
          return Status(StatusCode::kFailedPrecondition, what + ": cancelled");
        if (Status s = read_blob(repo, odb.odb, e, options.verify_hashes, *job); !s.ok())
          return s.with_context(what);
        const uint64_t size = job->content.size();
        stats.uncompressed_bytes += size;
        if (e.mode == GIT_FILEMODE_LINK) {
          // Stored, as git archive does: the target is a few bytes.
          job->unix_mode = S_IFLNK | 0777;
          job->data = PreparedData{ZipMethod::kStore, crc32_of(job->content), size, {}};
          job->done = true;
          ++stats.symlinks;
          break;
        }
        job->unix_mode = S_IFREG | (e.mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
        ++stats.files;
        if (size >= options.large_blob_bytes) {
          if (Status s = write_all(); !s.ok()) return s.with_context(what);
          if (!large_deflater)
            large_deflater = std::make_unique<Deflater>(options.compression_level);
          if (Status s = writer.add_streamed(e.path, job->unix_mode, job->content, *large_deflater);
              !s.ok())
            return s.with_context(what);
          continue;  // the job (and its blob) ends here
        }
        // Wait for room in the window; a blob larger than the window goes
        // alone.
        const uint64_t room = options.window_bytes - std::min(size, options.window_bytes);
        if (Status s = write_until(room); !s.ok()) return s.with_context(what);
        job->cost = size;
        in_flight += size;
        order.push_back(std::move(job));
        pool.submit(order.back().get());
        if (Status s = write_finished(); !s.ok()) return s.with_context(what);
        continue;
      }
      default:
        return Status::internal(what + ": entry " + quote(e.path) + " has unknown git mode " +
                                std::to_string(static_cast<int>(e.mode)));
    }
    order.push_back(std::move(job));
    if (Status s = write_finished(); !s.ok()) return s.with_context(what);
  }
  if (Status s = write_all(); !s.ok()) return s.with_context(what);
  if (Status s = writer.finish(); !s.ok()) return s.with_context(what);
  return stats;
}

}  // namespace stageline::sources
