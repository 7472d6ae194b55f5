#include "artifacts/zip.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <system_error>

#include "artifacts/file_util.h"
#include "artifacts/glob.h"
#include "base/strings.h"

namespace stageline::artifacts {

namespace fs = std::filesystem;

namespace {

constexpr int kDeflateLevel = 6;  // stack.md §3: libzip's default 9 is much slower for ~1% size
constexpr int kMaxSymlinkHops = 40;
constexpr size_t kChunk = 64 * 1024;

std::string zip_error_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

std::string path_join(const std::vector<std::string>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

Result<std::string> read_link_at(int dir_fd, const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(dir_fd, path.c_str(), buf, sizeof buf);
  if (n < 0) return errno_status("read symlink " + quote(path), errno);
  if (static_cast<size_t>(n) == sizeof buf) {
    return Status::io("read symlink " + quote(path) + ": target longer than PATH_MAX");
  }
  return std::string(buf, static_cast<size_t>(n));
}

// Where following `target` from the directory `start` (a path of real
// directories below the root) ends, resolving every symlink it meets on disk
// as the kernel would, but with the root as the top: empty when the walk stays
// inside, otherwise why it leaves. Components that do not exist are taken
// as names (a dangling link inside the tree is allowed).
Result<std::string> escape_of(int root_fd, std::vector<std::string> start,
                              std::string_view target) {
  std::deque<std::string> pending;
  auto push_front_target = [&](std::string_view t) -> std::optional<std::string> {
    if (!t.empty() && t.front() == '/') return "it leads to the absolute path " + quote(t);
    auto parts = split(t, '/');
    pending.insert(pending.begin(), parts.begin(), parts.end());
    return std::nullopt;
  };
  if (auto why = push_front_target(target)) return *why;
  std::vector<std::string>& resolved = start;
  int hops = 0;
  while (!pending.empty()) {
    std::string c = std::move(pending.front());
    pending.pop_front();
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (resolved.empty()) return std::string("it leads above the top directory");
      resolved.pop_back();
      continue;
    }
    resolved.push_back(c);
    std::string candidate = path_join(resolved, resolved.size());
    struct stat st;
    if (::fstatat(root_fd, candidate.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return errno_status("stat " + quote(candidate), errno);
    }
    if (!S_ISLNK(st.st_mode)) continue;
    if (++hops > kMaxSymlinkHops) return std::string("it passes through too many symlinks");
    auto next = read_link_at(root_fd, candidate);
    if (!next.ok()) return next.status();
    resolved.pop_back();  // the link is replaced by its target, relative to its directory
    if (auto why = push_front_target(*next)) return "through " + quote(candidate) + ", " + *why;
  }
  return std::string();
}

// --- create_zip ---

enum class EntryType { kFile, kDirectory, kSymlink };

struct SourceEntry {
  std::string name;  // as stored: relative path, '/' after a directory's name
  EntryType type = EntryType::kFile;
  uint64_t size = 0;
  mode_t perm = 0644;
  time_t mtime = 0;
  std::string link_target;  // kSymlink, relative
};

// What failed inside libzip's callbacks, to name the file in the error.
struct PackFailure {
  std::string path;
  std::string reason;
};

// A lazy zip source: the file is opened only while libzip reads it during
// zip_close, one at a time, so memory and descriptors stay flat however big
// the tree (stack.md §3). Opened with O_NOFOLLOW and checked to still be a
// regular file of the size seen in the walk.
struct FileSource {
  fs::path path;
  std::string name;
  uint64_t size = 0;
  time_t mtime = 0;
  int fd = -1;
  uint64_t done = 0;
  zip_error_t error;
  PackFailure* failure = nullptr;

  zip_int64_t fail(int zip_code, int sys_errno, const std::string& reason) {
    zip_error_set(&error, zip_code, sys_errno);
    if (failure->path.empty()) {
      failure->path = name;
      failure->reason = reason;
    }
    return -1;
  }

  static zip_int64_t callback(void* userdata, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    auto* self = static_cast<FileSource*>(userdata);
    switch (cmd) {
      case ZIP_SOURCE_OPEN: {
        self->fd = ::open(self->path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (self->fd < 0) return self->fail(ZIP_ER_OPEN, errno, "open: " + errno_message(errno));
        struct stat st;
        if (::fstat(self->fd, &st) != 0) {
          return self->fail(ZIP_ER_OPEN, errno, "fstat: " + errno_message(errno));
        }
        if (!S_ISREG(st.st_mode)) {
          return self->fail(ZIP_ER_OPEN, EINVAL, "it stopped being a regular file");
        }
        self->done = 0;
        return 0;
      }
      case ZIP_SOURCE_READ: {
        uint64_t want = std::min<uint64_t>(len, self->size - self->done);
        if (want == 0) {
          // Libzip was promised `size` bytes; a file that grew would be cut short.
          char probe;
          ssize_t extra;
          do {
            extra = ::read(self->fd, &probe, 1);
          } while (extra < 0 && errno == EINTR);
          if (extra < 0) return self->fail(ZIP_ER_READ, errno, "read: " + errno_message(errno));
          if (extra > 0) return self->fail(ZIP_ER_READ, EIO, "the file grew while it was packed");
          return 0;
        }
        ssize_t n;
        do {
          n = ::read(self->fd, data, want);
        } while (n < 0 && errno == EINTR);
        if (n < 0) return self->fail(ZIP_ER_READ, errno, "read: " + errno_message(errno));
        if (n == 0) return self->fail(ZIP_ER_READ, EIO, "the file shrank while it was packed");
        self->done += static_cast<uint64_t>(n);
        return n;
      }
      case ZIP_SOURCE_CLOSE:
        if (self->fd >= 0 && ::close(self->fd) != 0) {
          self->fd = -1;
          return self->fail(ZIP_ER_CLOSE, errno, "close: " + errno_message(errno));
        }
        self->fd = -1;
        return 0;
      case ZIP_SOURCE_STAT: {
        if (len < sizeof(zip_stat_t)) {
          zip_error_set(&self->error, ZIP_ER_INVAL, 0);
          return -1;
        }
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
        if (self->fd >= 0) (void)::close(self->fd);  // only after a failed read; nothing to lose
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

struct Walk {
  fs::path root;
  int root_fd = -1;
  std::string root_abs;  // lexically normal absolute root, for absolute link targets
  std::vector<Glob> file_globs, dir_globs;
  std::vector<SourceEntry> entries;
  CreateZipResult result;
};

bool any_file_glob(const Walk& w, const std::string& rel) {
  return std::any_of(w.file_globs.begin(), w.file_globs.end(),
                     [&](const Glob& g) { return g.matches_file(rel); });
}

bool any_dir_glob(const Walk& w, const std::string& rel) {
  return std::any_of(w.dir_globs.begin(), w.dir_globs.end(),
                     [&](const Glob& g) { return g.matches_directory(rel); });
}

// The relative form of a symlink's target when it stays inside the tree, or
// why it does not.
struct LinkVerdict {
  std::string target;
  std::string why_skipped;
};

Result<LinkVerdict> judge_symlink(const Walk& w, const std::string& rel) {
  auto target = read_link_at(w.root_fd, rel);
  if (!target.ok()) return target.status();
  std::vector<std::string> dir = split(rel, '/');
  dir.pop_back();
  std::string relative = *target;
  if (!relative.empty() && relative.front() == '/') {
    fs::path abs = fs::path(relative).lexically_normal();
    fs::path from = (fs::path(w.root_abs) / fs::path(rel).parent_path()).lexically_normal();
    std::string s = abs.string();
    if (s != w.root_abs && !starts_with(s, w.root_abs + "/")) {
      return LinkVerdict{"", "symlink to " + quote(*target) + ", outside the tree"};
    }
    relative = abs.lexically_relative(from).string();
    if (relative.empty())
      return LinkVerdict{"", "symlink to " + quote(*target) + " cannot be made relative"};
  }
  if (relative.empty()) return LinkVerdict{"", "symlink with an empty target"};
  auto escape = escape_of(w.root_fd, dir, relative);
  if (!escape.ok()) return escape.status();
  if (!escape->empty()) {
    return LinkVerdict{"", "symlink to " + quote(*target) + " leaves the tree: " + *escape};
  }
  return LinkVerdict{relative, ""};
}

Status walk_dir(Walk& w, const std::string& rel_dir, bool selected_above) {
  std::error_code ec;
  fs::path dir = rel_dir.empty() ? w.root : w.root / rel_dir;
  std::vector<std::string> names;
  fs::directory_iterator it(dir, ec), end;
  if (ec) return Status::io("list " + dir.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) names.push_back(it->path().filename().string());
  if (ec) return Status::io("list " + dir.string() + ": " + ec.message());
  std::sort(names.begin(), names.end());

  for (const auto& name : names) {
    std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
    struct stat st;
    if (::fstatat(w.root_fd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed since the listing
      return errno_status("stat " + (w.root / rel).string(), errno);
    }
    if (S_ISDIR(st.st_mode)) {
      bool selected = selected_above || any_dir_glob(w, rel);
      if (selected) {
        w.entries.push_back(
            {rel + "/", EntryType::kDirectory, 0, st.st_mode & 0777, st.st_mtime, ""});
      }
      if (auto s = walk_dir(w, rel, selected); !s.ok()) return s;
      continue;
    }
    if (!selected_above && !any_file_glob(w, rel)) continue;
    if (S_ISREG(st.st_mode)) {
      w.entries.push_back({rel, EntryType::kFile, static_cast<uint64_t>(st.st_size),
                           st.st_mode & 0777, st.st_mtime, ""});
    } else if (S_ISLNK(st.st_mode)) {
      auto verdict = judge_symlink(w, rel);
      if (!verdict.ok()) return verdict.status();
      if (!verdict->why_skipped.empty()) {
        w.result.skipped.push_back(rel + ": " + verdict->why_skipped);
      } else {
        w.entries.push_back({rel, EntryType::kSymlink, 0, 0777, st.st_mtime, verdict->target});
      }
    } else {
      w.result.skipped.push_back(rel + ": not a regular file, directory or symlink");
    }
  }
  return {};
}

// Frees an archive that was not closed successfully, writing nothing.
struct ArchiveGuard {
  zip_t* za;
  ~ArchiveGuard() {
    if (za) zip_discard(za);
  }
};

}  // namespace

Result<CreateZipResult> create_zip(const fs::path& source_dir, const fs::path& out_file,
                                   const std::vector<std::string>& globs) {
  const std::string what = "zip " + source_dir.string() + " into " + out_file.string();
  auto parsed = parse_globs(globs);
  if (!parsed.ok()) return parsed.status().with_context(what);

  Walk w;
  w.root = source_dir;
  for (auto& g : *parsed) (g.selects_directories() ? w.dir_globs : w.file_globs).push_back(g);
  UniqueFd root_fd(::open(source_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) {
    if (errno == ENOENT) return Status::not_found(what + ": the directory does not exist");
    return errno_status(what + ": open " + source_dir.string(), errno);
  }
  w.root_fd = root_fd.get();
  std::error_code ec;
  fs::path abs = fs::absolute(source_dir, ec);
  if (ec) return Status::io(what + ": " + ec.message());
  w.root_abs = abs.lexically_normal().string();
  while (w.root_abs.size() > 1 && w.root_abs.back() == '/') w.root_abs.pop_back();

  if (auto s = walk_dir(w, "", false); !s.ok()) return s.with_context(what);
  if (w.entries.empty()) {
    return Status(StatusCode::kFailedPrecondition,
                  what + ": no file matches the patterns " + join(globs, ", "));
  }
  std::sort(w.entries.begin(), w.entries.end(),
            [](const SourceEntry& a, const SourceEntry& b) { return a.name < b.name; });

  int zerr = 0;
  ArchiveGuard archive{zip_open(out_file.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &zerr)};
  if (archive.za == nullptr) return Status::io(what + ": zip_open: " + zip_error_text(zerr));
  zip_t* za = archive.za;
  PackFailure failure;
  auto libzip_error = [&](const std::string& step, const std::string& name) {
    return Status::io(what + ": " + step + " " + quote(name) + ": " + zip_strerror(za));
  };

  for (const auto& e : w.entries) {
    zip_int64_t index = -1;
    mode_t type = 0;
    if (e.type == EntryType::kDirectory) {
      std::string dir_name = e.name.substr(0, e.name.size() - 1);
      index = zip_dir_add(za, dir_name.c_str(), ZIP_FL_ENC_GUESS);
      if (index < 0) return libzip_error("add directory", e.name);
      type = S_IFDIR;
      ++w.result.directories;
    } else if (e.type == EntryType::kSymlink) {
      // The target is copied into a buffer libzip owns (freep = 1); it is tiny.
      void* copy = std::malloc(e.link_target.size());
      if (copy == nullptr) return Status::internal(what + ": out of memory");
      std::memcpy(copy, e.link_target.data(), e.link_target.size());
      zip_source_t* src = zip_source_buffer(za, copy, e.link_target.size(), 1);
      if (src == nullptr) {
        std::free(copy);
        return libzip_error("create source for", e.name);
      }
      index = zip_file_add(za, e.name.c_str(), src, ZIP_FL_ENC_GUESS);
      if (index < 0) {
        zip_source_free(src);
        return libzip_error("add symlink", e.name);
      }
      if (zip_set_file_compression(za, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) != 0) {
        return libzip_error("set compression of", e.name);
      }
      type = S_IFLNK;
      ++w.result.symlinks;
    } else {
      auto* ctx = new FileSource;
      ctx->path = source_dir / e.name;
      ctx->name = e.name;
      ctx->size = e.size;
      ctx->mtime = e.mtime;
      ctx->failure = &failure;
      zip_error_init(&ctx->error);
      zip_source_t* src = zip_source_function(za, &FileSource::callback, ctx);
      if (src == nullptr) {
        zip_error_fini(&ctx->error);
        delete ctx;
        return libzip_error("create source for", e.name);
      }
      index = zip_file_add(za, e.name.c_str(), src, ZIP_FL_ENC_GUESS);
      if (index < 0) {
        zip_source_free(src);  // frees ctx through ZIP_SOURCE_FREE
        return libzip_error("add file", e.name);
      }
      if (zip_set_file_compression(za, static_cast<zip_uint64_t>(index), ZIP_CM_DEFLATE,
                                   kDeflateLevel) != 0) {
        return libzip_error("set compression of", e.name);
      }
      type = S_IFREG;
      ++w.result.files;
      w.result.uncompressed_bytes += e.size;
    }
    auto idx = static_cast<zip_uint64_t>(index);
    if (zip_file_set_external_attributes(za, idx, 0, ZIP_OPSYS_UNIX,
                                         static_cast<zip_uint32_t>(type | e.perm) << 16) != 0) {
      return libzip_error("set mode of", e.name);
    }
    if (zip_file_set_mtime(za, idx, e.mtime, 0) != 0) return libzip_error("set mtime of", e.name);
  }

  if (zip_close(za) != 0) {
    std::string message = zip_strerror(za);
    if (!failure.path.empty()) {
      return Status::io(what + ": " + quote(failure.path) + ": " + failure.reason);
    }
    return Status::io(what + ": write the archive: " + message);
  }
  archive.za = nullptr;
  return w.result;
}

// --- extract_zip ---

namespace {

struct ArchiveEntry {
  zip_uint64_t index = 0;
  std::string raw_name;
  std::vector<std::string> parts;
  EntryType type = EntryType::kFile;
  uint64_t size = 0;
  bool executable = false;
  std::string link_target;
};

Status refuse(const std::string& what, const std::string& entry, const std::string& why) {
  return Status::invalid(what + ": entry " + quote(entry) + ": " + why);
}

// Opens (creating as needed) the directories `parts[0..count)` below
// `root_fd`, never following a symlink: a component that is a symlink or a
// file stops it.
Result<UniqueFd> open_dirs(int root_fd, const std::vector<std::string>& parts, size_t count) {
  UniqueFd cur(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!cur.valid()) return errno_status("dup", errno);
  for (size_t i = 0; i < count; ++i) {
    if (::mkdirat(cur.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
      return errno_status("create directory " + quote(path_join(parts, i + 1)), errno);
    }
    UniqueFd next(
        ::openat(cur.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) {
      if (errno == ELOOP || errno == ENOTDIR) {
        return Status::invalid("it would be written through " + quote(path_join(parts, i + 1)) +
                               ", which is a symlink or a file");
      }
      return errno_status("open directory " + quote(path_join(parts, i + 1)), errno);
    }
    cur = std::move(next);
  }
  return cur;
}

Result<std::string> read_entry_small(zip_t* za, zip_uint64_t index, uint64_t size) {
  zip_file_t* zf = zip_fopen_index(za, index, 0);
  if (zf == nullptr) return Status::invalid(std::string("open: ") + zip_strerror(za));
  std::string out(size, '\0');
  zip_int64_t n = size == 0 ? 0 : zip_fread(zf, out.data(), size);
  std::string error = n < 0 ? zip_file_strerror(zf) : "";
  int close_code = zip_fclose(zf);
  if (n < 0) return Status::invalid("read: " + error);
  if (static_cast<uint64_t>(n) != size) return Status::invalid("shorter than its declared size");
  if (close_code != 0) return Status::invalid("read: " + zip_error_text(close_code));
  return out;
}

std::string type_name(mode_t fmt) {
  switch (fmt) {
    case S_IFIFO:
      return "a fifo";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFSOCK:
      return "a socket";
    default:
      return "of unknown type";
  }
}

// Reads and checks every entry's name, type, size and link target before
// anything is written.
Result<std::vector<ArchiveEntry>> prescan(zip_t* za, const std::string& what,
                                          const ExtractLimits& limits) {
  zip_int64_t count = zip_get_num_entries(za, 0);
  if (count < 0) return Status::internal(what + ": zip_get_num_entries failed");
  if (static_cast<uint64_t>(count) > limits.max_entries) {
    return Status::invalid(what + ": the archive has " + std::to_string(count) +
                           " entries; the limit is " + std::to_string(limits.max_entries));
  }
  std::vector<ArchiveEntry> entries;
  std::map<std::string, EntryType> seen;
  uint64_t total = 0;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, i, 0, &st) != 0) {
      return Status::invalid(what + ": entry #" + std::to_string(i) + ": " + zip_strerror(za));
    }
    std::string name = (st.valid & ZIP_STAT_NAME) ? st.name : "";
    zip_uint8_t opsys = 0;
    zip_uint32_t attributes = 0;
    if (zip_file_get_external_attributes(za, i, 0, &opsys, &attributes) != 0) {
      return refuse(what, name, zip_strerror(za));
    }
    mode_t mode = opsys == ZIP_OPSYS_UNIX ? static_cast<mode_t>(attributes >> 16) : 0;
    mode_t fmt = mode & S_IFMT;
    bool slash = !name.empty() && name.back() == '/';

    ArchiveEntry e;
    e.index = i;
    e.raw_name = name;
    if (fmt == S_IFLNK) {
      if (slash) return refuse(what, name, "a symlink whose name ends with '/'");
      e.type = EntryType::kSymlink;
    } else if (fmt == S_IFDIR || slash) {
      e.type = EntryType::kDirectory;
    } else if (fmt == 0 || fmt == S_IFREG) {
      e.type = EntryType::kFile;
      e.executable = (mode & 0111) != 0;
    } else {
      return refuse(
          what, name,
          "is " + type_name(fmt) + "; only files, directories and symlinks are extracted");
    }

    if (name.empty()) return refuse(what, name, "has an empty name");
    if (name.front() == '/') return refuse(what, name, "is an absolute path");
    if (name.find('\\') != std::string::npos) {
      return refuse(what, name, "contains '\\', which some tools read as a path separator");
    }
    std::string_view trimmed = name;
    if (slash) trimmed.remove_suffix(1);
    for (const auto& part : split(trimmed, '/')) {
      if (part == "..") return refuse(what, name, "has a '..' segment, which escapes the target");
      if (part.empty()) return refuse(what, name, "has an empty segment ('//')");
      if (part == ".") continue;
      e.parts.push_back(part);
    }
    if (e.parts.empty()) {
      if (e.type == EntryType::kDirectory) continue;  // "./": the target itself
      return refuse(what, name, "names the target directory itself");
    }

    if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE) ||
        !(st.valid & ZIP_STAT_COMP_METHOD)) {
      return refuse(what, name, "its sizes or compression method are missing");
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
      return refuse(what, name, "is encrypted");
    }
    if (!zip_compression_method_supported(st.comp_method, 0)) {
      return refuse(what, name,
                    "uses compression method " + std::to_string(st.comp_method) +
                        ", which this build of libzip cannot decompress");
    }
    e.size = e.type == EntryType::kDirectory ? 0 : st.size;
    total += e.size;
    if (total > limits.max_total_bytes) {
      return refuse(what, name,
                    "brings the uncompressed total over the limit of " +
                        std::to_string(limits.max_total_bytes) + " bytes");
    }
    if (e.size >= limits.ratio_exempt_bytes && e.size > 0 &&
        (st.comp_size == 0 || e.size / st.comp_size > limits.max_compression_ratio)) {
      return refuse(what, name,
                    "expands " + std::to_string(st.comp_size) + " compressed bytes to " +
                        std::to_string(e.size) + ", over the compression ratio limit of " +
                        std::to_string(limits.max_compression_ratio) + ":1 (a zip bomb?)");
    }

    if (e.type == EntryType::kSymlink) {
      if (e.size == 0 || e.size >= PATH_MAX) {
        return refuse(what, name,
                      "a symlink target must be 1 to " + std::to_string(PATH_MAX - 1) + " bytes");
      }
      auto target = read_entry_small(za, i, e.size);
      if (!target.ok()) return refuse(what, name, target.status().message());
      e.link_target = std::move(*target);
      if (e.link_target.find('\0') != std::string::npos) {
        return refuse(what, name, "the symlink target contains a NUL byte");
      }
      if (e.link_target.front() == '/') {
        return refuse(what, name, "a symlink to the absolute path " + quote(e.link_target));
      }
      // A first, lexical check; the finished tree is checked again on disk.
      long depth = static_cast<long>(e.parts.size()) - 1;
      for (const auto& part : split(e.link_target, '/')) {
        if (part.empty() || part == ".") continue;
        depth += part == ".." ? -1 : 1;
        if (depth < 0) {
          return refuse(what, name,
                        "a symlink to " + quote(e.link_target) +
                            ", which points outside the target directory");
        }
      }
    }

    std::string path = path_join(e.parts, e.parts.size());
    auto [it, inserted] = seen.emplace(path, e.type);
    if (!inserted) {
      if (it->second == EntryType::kDirectory && e.type == EntryType::kDirectory) continue;
      return refuse(what, name, "appears more than once in the archive");
    }
    entries.push_back(std::move(e));
  }

  // No entry may live below a symlink or a file entry, whatever the order.
  for (const auto& e : entries) {
    for (size_t n = 1; n < e.parts.size(); ++n) {
      auto it = seen.find(path_join(e.parts, n));
      if (it == seen.end()) continue;
      if (it->second == EntryType::kSymlink) {
        return refuse(what, e.raw_name,
                      "would be written through the symlink entry " + quote(it->first));
      }
      if (it->second == EntryType::kFile) {
        return refuse(what, e.raw_name, "is below " + quote(it->first) + ", which is a file entry");
      }
    }
  }
  return entries;
}

Status write_entry(zip_t* za, const ArchiveEntry& e, int dir_fd, const std::string& what,
                   uint64_t& written_total) {
  const std::string& leaf = e.parts.back();
  UniqueFd out(
      ::openat(dir_fd, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) {
    if (errno == EEXIST) return refuse(what, e.raw_name, "a file or directory is already there");
    return errno_status(what + ": entry " + quote(e.raw_name) + ": create", errno);
  }
  zip_file_t* zf = zip_fopen_index(za, e.index, 0);
  if (zf == nullptr) return refuse(what, e.raw_name, std::string("open: ") + zip_strerror(za));
  std::vector<char> buf(kChunk);
  uint64_t written = 0;
  Status status;
  for (;;) {
    zip_int64_t n = zip_fread(zf, buf.data(), buf.size());
    if (n < 0) {
      status =
          refuse(what, e.raw_name, std::string("the archive is corrupt: ") + zip_file_strerror(zf));
      break;
    }
    if (n == 0) break;
    written += static_cast<uint64_t>(n);
    if (written > e.size) {
      status =
          refuse(what, e.raw_name,
                 "holds more data than its declared size of " + std::to_string(e.size) + " bytes");
      break;
    }
    status = write_all(out.get(), buf.data(), static_cast<size_t>(n), quote(e.raw_name));
    if (!status.ok()) {
      status = status.with_context(what);
      break;
    }
  }
  int close_code = zip_fclose(zf);
  if (!status.ok()) return status;
  if (close_code != 0) {
    return refuse(what, e.raw_name, "the archive is corrupt: " + zip_error_text(close_code));
  }
  if (written != e.size) {
    return refuse(
        what, e.raw_name,
        "holds " + std::to_string(written) + " bytes, not its declared " + std::to_string(e.size));
  }
  if (::fchmod(out.get(), e.executable ? 0755 : 0644) != 0) {
    return errno_status(what + ": entry " + quote(e.raw_name) + ": chmod", errno);
  }
  written_total += written;
  return out.close().with_context(what + ": entry " + quote(e.raw_name));
}

// Removes what a failed extraction wrote: the target itself if this call
// created it, else everything in it (it was empty before).
std::string remove_extracted(const fs::path& target, bool created_target) {
  std::error_code ec;
  if (created_target) {
    fs::remove_all(target, ec);
    return ec ? "could not remove " + target.string() + ": " + ec.message() : "";
  }
  fs::directory_iterator it(target, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code rm_ec;
    fs::remove_all(it->path(), rm_ec);
    if (rm_ec) return "could not remove " + it->path().string() + ": " + rm_ec.message();
  }
  return ec ? "could not list " + target.string() + ": " + ec.message() : "";
}

Result<ExtractResult> extract_entries(zip_t* za, const std::vector<ArchiveEntry>& entries,
                                      int root_fd, const std::string& what) {
  ExtractResult result;
  // Files and directories first, symlinks last: no symlink exists while
  // anything is written, and every path is opened with O_NOFOLLOW anyway.
  for (const auto& e : entries) {
    if (e.type == EntryType::kSymlink) continue;
    bool is_dir = e.type == EntryType::kDirectory;
    auto dir = open_dirs(root_fd, e.parts, is_dir ? e.parts.size() : e.parts.size() - 1);
    if (!dir.ok()) {
      if (dir.status().code() == StatusCode::kInvalidArgument) {
        return refuse(what, e.raw_name, dir.status().message());
      }
      return dir.status().with_context(what + ": entry " + quote(e.raw_name));
    }
    if (is_dir) {
      ++result.directories;
      continue;
    }
    if (auto s = write_entry(za, e, dir->get(), what, result.bytes); !s.ok()) return s;
    ++result.files;
  }
  for (const auto& e : entries) {
    if (e.type != EntryType::kSymlink) continue;
    auto dir = open_dirs(root_fd, e.parts, e.parts.size() - 1);
    if (!dir.ok()) {
      if (dir.status().code() == StatusCode::kInvalidArgument) {
        return refuse(what, e.raw_name, dir.status().message());
      }
      return dir.status().with_context(what + ": entry " + quote(e.raw_name));
    }
    if (::symlinkat(e.link_target.c_str(), dir->get(), e.parts.back().c_str()) != 0) {
      if (errno == EEXIST) return refuse(what, e.raw_name, "a file or directory is already there");
      return errno_status(what + ": entry " + quote(e.raw_name) + ": create symlink", errno);
    }
    ++result.symlinks;
  }
  // The lexical check cannot see links that pass through other links
  // ("a -> b/..", "b -> ."): resolve every link on the finished tree.
  for (const auto& e : entries) {
    if (e.type != EntryType::kSymlink) continue;
    std::vector<std::string> dir(e.parts.begin(), e.parts.end() - 1);
    auto escape = escape_of(root_fd, dir, e.link_target);
    if (!escape.ok()) return escape.status().with_context(what + ": entry " + quote(e.raw_name));
    if (!escape->empty()) {
      return refuse(what, e.raw_name,
                    "a symlink to " + quote(e.link_target) +
                        " that resolves outside the target directory: " + *escape);
    }
  }
  return result;
}

// The strict open (ZIP_CHECKCONS) refuses an archive with two entries of
// one name without saying which; a lenient second look finds it for the error.
std::optional<std::string> find_duplicate_name(int fd) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return std::nullopt;
  int zerr = 0;
  ArchiveGuard lax{zip_fdopen(copy, 0, &zerr)};
  if (lax.za == nullptr) {
    (void)::close(copy);  // read-only; the error being reported is the strict open's
    return std::nullopt;
  }
  std::set<std::string> names;
  zip_int64_t count = zip_get_num_entries(lax.za, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* name = zip_get_name(lax.za, static_cast<zip_uint64_t>(i), 0);
    if (name != nullptr && !names.insert(name).second) return std::string(name);
  }
  return std::nullopt;
}

}  // namespace

Result<ExtractResult> extract_zip(const fs::path& zip_file, const fs::path& target_dir,
                                  const ExtractLimits& limits) {
  UniqueFd fd(::open(zip_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_status("extract zip " + zip_file.string() + ": open", errno);
  return extract_zip_fd(std::move(fd), zip_file.string(), target_dir, limits);
}

Result<ExtractResult> extract_zip_fd(UniqueFd zip, const std::string& description,
                                     const fs::path& target_dir, const ExtractLimits& limits) {
  const std::string what = "extract zip " + description + " into " + target_dir.string();
  int zerr = 0;
  ArchiveGuard archive{zip_fdopen(zip.get(), ZIP_CHECKCONS, &zerr)};
  if (archive.za == nullptr) {
    if (zerr == ZIP_ER_EXISTS) {
      if (auto name = find_duplicate_name(zip.get())) {
        return refuse(what, *name, "appears more than once in the archive");
      }
    }
    return Status::invalid(what + ": not a readable zip archive: " + zip_error_text(zerr));
  }
  zip.release();  // libzip owns the descriptor now and closes it in zip_discard
  zip_t* za = archive.za;

  auto entries = prescan(za, what, limits);
  if (!entries.ok()) return entries.status();

  bool created_target = false;
  struct stat st;
  if (::lstat(target_dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Status(StatusCode::kFailedPrecondition,
                    what + ": the target exists and is not a directory");
    }
    std::error_code ec;
    bool empty = fs::is_empty(target_dir, ec);
    if (ec) return Status::io(what + ": list the target: " + ec.message());
    if (!empty) return Status(StatusCode::kFailedPrecondition, what + ": the target is not empty");
  } else if (errno == ENOENT) {
    if (::mkdir(target_dir.c_str(), 0755) != 0)
      return errno_status(what + ": create the target", errno);
    created_target = true;
  } else {
    return errno_status(what + ": stat the target", errno);
  }
  UniqueFd root_fd(::open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root_fd.valid()) {
    Status s = errno_status(what + ": open the target", errno);
    std::string cleanup = remove_extracted(target_dir, created_target);
    return cleanup.empty() ? s : Status(s.code(), s.message() + "; also " + cleanup);
  }

  auto result = extract_entries(za, *entries, root_fd.get(), what);
  if (!result.ok()) {
    std::string cleanup = remove_extracted(target_dir, created_target);
    const Status& s = result.status();
    return cleanup.empty() ? s : Status(s.code(), s.message() + "; also " + cleanup);
  }
  return result;
}

}  // namespace stageline::artifacts
