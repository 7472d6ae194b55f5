#include "artifacts/object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <optional>
#include <system_error>
#include <tuple>

#include "artifacts/file_util.h"
#include "base/strings.h"

namespace stageline::artifacts {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

// Where the bytes of a put come from. `size`, when known before reading, lets
// an oversized put fail before it writes anything.
struct ObjectStore::Source {
  std::optional<uint64_t> size;
  std::function<Result<size_t>(char* buf, size_t cap)> read;  // 0 at the end
};

namespace {

constexpr const char* kTempDir = ".tmp";
constexpr const char* kVersionsDir = "@v";
constexpr const char* kBucketFile = ".bucket";
constexpr const char* kUploadsDir = ".uploads";
constexpr const char* kUploadFile = "upload";
constexpr const char* kMarkerSuffix = ".dm";
constexpr const char* kMetaSuffix = ".meta";
constexpr const char* kConfigPrefix = ".config-";
constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kMaxSegmentBytes = 255;  // NAME_MAX on Linux file systems
constexpr size_t kVersionIdLength = 24;
constexpr size_t kEtagLength = 32;
constexpr size_t kChunk = 64 * 1024;

std::string describe(std::string_view bucket, std::string_view key) {
  return quote(std::string(bucket) + "/" + std::string(key));
}

// --- Key encoding (docs/artifact-store.md, "Key encoding") ---

bool unreserved(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  if (c == '-' || c == '_' || c == '~') return true;
  // A leading '.' would make hidden names, "." and ".."; '@' and '%' are ours.
  return c == '.' && !first;
}

std::string encode_segment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    char c = segment[i];
    if (unreserved(c, i == 0)) {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The segment a directory name stands for, or nullopt when the name is not
// the canonical encoding of any segment (a file someone else put there).
std::optional<std::string> decode_segment(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      out += name[i];
      continue;
    }
    if (i + 2 >= name.size()) return std::nullopt;
    int hi = hex_value(name[i + 1]), lo = hex_value(name[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (out.empty() || encode_segment(out) != name) return std::nullopt;
  return out;
}

std::vector<std::string_view> split_key(std::string_view key) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t slash = key.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(key.substr(start));
      return out;
    }
    out.push_back(key.substr(start, slash - start));
    start = slash + 1;
  }
}

// --- Version files: "<version id>.<etag>" in a key's @v directory ---

struct VersionFile {
  std::string version_id;
  std::string etag;  // empty for a delete marker
  fs::path path;
  bool marker = false;
};

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<VersionFile> parse_version_file(const fs::path& path) {
  std::string name = path.filename().string();
  if (name.size() == kVersionIdLength + 3 && name.substr(kVersionIdLength) == kMarkerSuffix &&
      is_lower_hex(name.substr(0, kVersionIdLength))) {
    return VersionFile{name.substr(0, kVersionIdLength), "", path, true};
  }
  if (name.size() != kVersionIdLength + 1 + kEtagLength || name[kVersionIdLength] != '.') {
    return std::nullopt;
  }
  std::string id = name.substr(0, kVersionIdLength), etag = name.substr(kVersionIdLength + 1);
  if (!is_lower_hex(id) || !is_lower_hex(etag)) return std::nullopt;
  return VersionFile{id, etag, path, false};
}

int64_t version_micros(std::string_view version_id) {
  uint64_t micros = 0;
  std::from_chars(version_id.data(), version_id.data() + 16, micros, 16);
  return static_cast<int64_t>(micros);
}

// A version id: 16 hex digits of microseconds since the epoch, then 8 random
// hex digits. The time part is strictly greater than `after_micros` (the
// key's newest version) and than every id this process made before, so the
// newest version sorts last even if the clock steps back.
Result<std::string> make_version_id(int64_t after_micros) {
  static std::atomic<int64_t> last{0};
  int64_t now =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
          .count();
  int64_t prev = last.load();
  int64_t next = 0;
  do {
    next = std::max({now, prev + 1, after_micros + 1});
  } while (!last.compare_exchange_weak(prev, next));
  auto suffix = random_hex(4);
  if (!suffix.ok()) return suffix.status();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, static_cast<uint64_t>(next));
  return std::string(buf) + *suffix;
}

Clock::time_point time_of_version(std::string_view version_id) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::microseconds(version_micros(version_id))));
}

// --- Sidecar files: "<version id>.meta", an upload's "upload" file ---
//
// One "<field>:<value>" per line. Values come from HTTP header values, which
// hold no CR or LF; a name of user metadata holds no ':'. Keys are written
// with encode_segment, which leaves no '/' or control byte.

std::string format_meta(const PutOptions& options, std::string_view etag) {
  std::string out;
  if (!options.content_type.empty()) out += "content-type:" + options.content_type + "\n";
  if (!etag.empty()) out += "etag:" + std::string(etag) + "\n";
  for (const auto& [name, value] : options.metadata) out += "meta:" + name + ":" + value + "\n";
  return out;
}

// Fields parse_meta does not know are left to the caller through `other`.
void parse_meta(std::string_view text, PutOptions& options, std::string& etag,
                std::vector<std::pair<std::string, std::string>>* other = nullptr) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view field = line.substr(0, colon), value = line.substr(colon + 1);
    if (field == "content-type") {
      options.content_type = std::string(value);
    } else if (field == "etag") {
      etag = std::string(value);
    } else if (field == "meta") {
      size_t c = value.find(':');
      if (c == std::string_view::npos) continue;
      options.metadata.emplace_back(std::string(value.substr(0, c)),
                                    std::string(value.substr(c + 1)));
    } else if (other) {
      other->emplace_back(std::string(field), std::string(value));
    }
  }
}

// The content of a small file, or nullopt when it does not exist.
Result<std::optional<std::string>> read_small_file(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::string>();
    return errno_status("open " + path.string(), errno);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("read " + path.string(), errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1u << 20)) return Status::io(path.string() + " is larger than 1 MiB");
  }
  return std::optional<std::string>(std::move(out));
}

// Writes `text` to a new file `path` (O_EXCL) and fsyncs it; the caller
// renames it into place and fsyncs the directory.
Status write_new_file(const fs::path& path, std::string_view text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_status("create " + path.string(), errno);
  if (auto s = write_all(fd.get(), text.data(), text.size(), path.string()); !s.ok()) {
    ::unlink(path.c_str());
    return s;
  }
  if (::fsync(fd.get()) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return errno_status("fsync " + path.string(), err);
  }
  if (auto s = fd.close(); !s.ok()) {
    ::unlink(path.c_str());
    return s;
  }
  return {};
}

// --- Error helpers ---

Status no_such_bucket(std::string_view bucket) {
  return Status::not_found("NoSuchBucket: the bucket " + quote(bucket) + " does not exist");
}

Status entity_too_large(uint64_t limit) {
  return Status::invalid("EntityTooLarge: the object is larger than the limit of " +
                         std::to_string(limit) + " bytes");
}

// Appends a failed clean-up to the error that caused it.
Status also(Status status, const std::string& cleanup_error) {
  if (cleanup_error.empty()) return status;
  return Status(status.code(), status.message() + "; also " + cleanup_error);
}

std::string unlink_quietly(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return "could not remove " + path.string() + ": " + errno_message(errno);
  }
  return {};
}

// Creates `dir` (one level) unless it exists; a new directory's parent is
// fsynced so the entry survives a crash.
Status ensure_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return fsync_dir(dir.parent_path());
  if (errno == EEXIST) return {};
  return errno_status("create directory " + dir.string(), errno);
}

}  // namespace

// --- Paths (unlocked helpers; callers hold mu_ where the namespace matters) ---

namespace {

fs::path bucket_path(const fs::path& root, std::string_view bucket) {
  return root / std::string(bucket);
}

fs::path key_path(const fs::path& root, std::string_view bucket, std::string_view key) {
  fs::path dir = bucket_path(root, bucket);
  for (std::string_view segment : split_key(key)) dir /= encode_segment(segment);
  return dir;
}

Status check_bucket(const fs::path& root, std::string_view bucket) {
  struct stat st;
  if (::stat(bucket_path(root, bucket).c_str(), &st) != 0) {
    if (errno == ENOENT) return no_such_bucket(bucket);
    return errno_status("stat bucket " + quote(bucket), errno);
  }
  if (!S_ISDIR(st.st_mode)) return no_such_bucket(bucket);
  return {};
}

// Every version of a key, newest first; empty when there is none.
Result<std::vector<VersionFile>> version_files(const fs::path& key_dir) {
  std::vector<VersionFile> out;
  std::error_code ec;
  fs::path dir = key_dir / kVersionsDir;
  fs::directory_iterator it(dir, ec), end;
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) return out;
    return Status::io("list versions in " + dir.string() + ": " + ec.message());
  }
  for (; it != end; it.increment(ec)) {
    if (auto v = parse_version_file(it->path())) out.push_back(std::move(*v));
  }
  if (ec) return Status::io("list versions in " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const VersionFile& a, const VersionFile& b) { return a.version_id > b.version_id; });
  return out;
}

Result<ObjectInfo> info_of(std::string_view key, const VersionFile& v) {
  ObjectInfo info;
  info.key = std::string(key);
  info.version_id = v.version_id;
  info.last_modified = time_of_version(v.version_id);
  if (v.marker) {
    info.delete_marker = true;
    return info;
  }
  struct stat st;
  if (::stat(v.path.c_str(), &st) != 0) return errno_status("stat " + v.path.string(), errno);
  info.etag = v.etag;
  info.size = static_cast<uint64_t>(st.st_size);
  fs::path meta = v.path.parent_path() / (v.version_id + kMetaSuffix);
  auto text = read_small_file(meta);
  if (!text.ok()) return text.status();
  if (*text) {
    PutOptions options;
    std::string etag;
    parse_meta(**text, options, etag);
    info.content_type = std::move(options.content_type);
    info.metadata = std::move(options.metadata);
    if (!etag.empty()) info.etag = std::move(etag);
  }
  return info;
}

struct Located {
  ObjectInfo info;
  fs::path path;
};

Result<Located> locate(const fs::path& root, std::string_view bucket, std::string_view key,
                       std::string_view version_id) {
  if (auto s = check_bucket(root, bucket); !s.ok()) return s;
  auto versions = version_files(key_path(root, bucket, key));
  if (!versions.ok()) return versions.status();
  if (versions->empty()) return Status::not_found("NoSuchKey: the key does not exist");
  const VersionFile* chosen = &versions->front();
  if (!version_id.empty()) {
    auto it = std::find_if(versions->begin(), versions->end(),
                           [&](const VersionFile& v) { return v.version_id == version_id; });
    if (it == versions->end()) {
      return Status::not_found("NoSuchVersion: the key has no version " + quote(version_id));
    }
    chosen = &*it;
  }
  if (chosen->marker) {
    return Status::not_found(
        std::string("NoSuchKey: ") +
        (version_id.empty() ? "the latest version of the key is" : "the version is") +
        " a delete marker");
  }
  auto info = info_of(key, *chosen);
  if (!info.ok()) return info.status();
  return Located{std::move(*info), chosen->path};
}

// Collects the keys of every object at or below `dir`, whose key is `key`
// ("" for the bucket directory).
Status collect_keys(const fs::path& dir, const std::string& key, std::vector<std::string>& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) return {};
    return Status::io("list " + dir.string() + ": " + ec.message());
  }
  for (; it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name == kVersionsDir) {
      if (!key.empty()) out.push_back(key);
      continue;
    }
    std::error_code type_ec;
    if (!it->is_directory(type_ec) || it->is_symlink(type_ec)) continue;
    auto segment = decode_segment(name);
    if (!segment) continue;  // .bucket, or a name we did not write
    if (auto s = collect_keys(it->path(), key.empty() ? *segment : key + "/" + *segment, out);
        !s.ok()) {
      return s;
    }
  }
  if (ec) return Status::io("list " + dir.string() + ": " + ec.message());
  return {};
}

Result<Clock::time_point> read_bucket_created(const fs::path& bucket_dir) {
  fs::path file = bucket_dir / kBucketFile;
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_status("open " + file.string(), errno);
  char buf[64];
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_status("read " + file.string(), errno);
  std::string_view text(buf, static_cast<size_t>(n));
  constexpr std::string_view kField = "created_ms=";
  int64_t ms = 0;
  if (!starts_with(text, kField) ||
      std::from_chars(text.data() + kField.size(), text.data() + text.size(), ms).ec !=
          std::errc()) {
    return Status::io(file.string() + " is malformed: expected 'created_ms=<n>'");
  }
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(ms)));
}

}  // namespace

WriteSyscalls& WriteSyscalls::real() {
  static WriteSyscalls instance;
  return instance;
}

ObjectStore::ObjectStore(ObjectStoreOptions options, WriteSyscalls& syscalls)
    : options_(std::move(options)), syscalls_(syscalls) {}

Result<std::unique_ptr<ObjectStore>> ObjectStore::open(ObjectStoreOptions options,
                                                       WriteSyscalls& syscalls) {
  std::string what = "open object store " + options.root.string();
  std::error_code ec;
  fs::create_directories(options.root, ec);
  if (ec) return Status::io(what + ": " + ec.message());
  fs::path temp = options.root / kTempDir;
  if (auto s = ensure_dir(temp); !s.ok()) return s.with_context(what);
  // Whatever is in .tmp was left by a put, bucket creation or deletion that
  // did not finish (a crash): none of it is visible, all of it is garbage.
  fs::directory_iterator it(temp, ec), end;
  if (ec) return Status::io(what + ": list " + temp.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    std::error_code rm_ec;
    fs::remove_all(it->path(), rm_ec);
    if (rm_ec) return Status::io(what + ": remove " + it->path().string() + ": " + rm_ec.message());
  }
  if (ec) return Status::io(what + ": list " + temp.string() + ": " + ec.message());
  return std::unique_ptr<ObjectStore>(new ObjectStore(std::move(options), syscalls));
}

// --- Buckets ---

Status ObjectStore::validate_bucket_name(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return Status::invalid("InvalidBucketName: " + quote(name) + " " + why);
  };
  if (name.size() < 3 || name.size() > 63) return bad("must be 3 to 63 characters long");
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) {
      return bad("may contain only lower-case letters, digits, '.' and '-'");
    }
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) {
    return bad("must start and end with a letter or digit");
  }
  if (name.find("..") != std::string_view::npos)
    return bad("must not contain two adjacent periods");
  auto parts = split(name, '.');
  if (parts.size() == 4 && std::all_of(parts.begin(), parts.end(), [](const std::string& p) {
        return !p.empty() &&
               std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
      })) {
    return bad("must not be formatted as an IP address");
  }
  if (starts_with(name, "xn--") || starts_with(name, "sthree-")) {
    return bad("must not start with 'xn--' or 'sthree-'");
  }
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends_with("-s3alias") || ends_with("--ol-s3")) {
    return bad("must not end with '-s3alias' or '--ol-s3'");
  }
  return {};
}

Status ObjectStore::create_bucket(std::string_view name) {
  std::string what = "create bucket " + quote(name);
  if (auto s = validate_bucket_name(name); !s.ok()) return s.with_context(what);
  auto suffix = random_hex(16);
  if (!suffix.ok()) return suffix.status().with_context(what);

  std::lock_guard lock(mu_);
  // The bucket appears at once, with its .bucket file, by renaming a
  // directory prepared in .tmp; RENAME_NOREPLACE makes an existing bucket an
  // error instead of a replacement.
  fs::path staging = options_.root / kTempDir / ("bucket-" + *suffix);
  if (::mkdir(staging.c_str(), 0755) != 0) {
    return errno_status(what + ": create directory " + staging.string(), errno);
  }
  auto abandon = [&](Status s) {
    std::error_code ec;
    fs::remove_all(staging, ec);
    return ec ? also(s, "could not remove " + staging.string() + ": " + ec.message()) : s;
  };
  fs::path meta = staging / kBucketFile;
  UniqueFd fd(::open(meta.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return abandon(errno_status(what + ": create " + meta.string(), errno));
  int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count();
  std::string text = "created_ms=" + std::to_string(ms) + "\n";
  if (auto s = write_all(fd.get(), text.data(), text.size(), meta.string()); !s.ok()) {
    return abandon(s.with_context(what));
  }
  if (::fsync(fd.get()) != 0)
    return abandon(errno_status(what + ": fsync " + meta.string(), errno));
  if (auto s = fd.close(); !s.ok()) return abandon(s.with_context(what));
  if (auto s = fsync_dir(staging); !s.ok()) return abandon(s.with_context(what));
  fs::path final_dir = bucket_path(options_.root, name);
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    if (err == EEXIST || err == ENOTEMPTY) {
      return abandon(Status(StatusCode::kAlreadyExists,
                            what + ": BucketAlreadyExists: the bucket already exists"));
    }
    return abandon(
        errno_status(what + ": rename " + staging.string() + " to " + final_dir.string(), err));
  }
  if (auto s = fsync_dir(options_.root); !s.ok()) return s.with_context(what);
  return {};
}

Status ObjectStore::head_bucket(std::string_view name) const {
  if (auto s = validate_bucket_name(name); !s.ok()) return s;
  std::lock_guard lock(mu_);
  return check_bucket(options_.root, name);
}

Status ObjectStore::delete_bucket(std::string_view name) {
  std::string what = "delete bucket " + quote(name);
  if (auto s = validate_bucket_name(name); !s.ok()) return s.with_context(what);
  auto suffix = random_hex(16);
  if (!suffix.ok()) return suffix.status().with_context(what);

  std::lock_guard lock(mu_);
  if (auto s = check_bucket(options_.root, name); !s.ok()) return s.with_context(what);
  fs::path dir = bucket_path(options_.root, name);
  std::vector<std::string> keys;
  if (auto s = collect_keys(dir, "", keys); !s.ok()) return s.with_context(what);
  for (const auto& key : keys) {
    auto versions = version_files(key_path(options_.root, name, key));
    if (!versions.ok()) return versions.status().with_context(what);
    if (!versions->empty()) {
      return Status(StatusCode::kFailedPrecondition,
                    what + ": BucketNotEmpty: the bucket still holds " + quote(key));
    }
  }
  // Out of the namespace in one rename, then removed at leisure; what a crash
  // leaves in .tmp is removed by the next open().
  fs::path doomed = options_.root / kTempDir / ("deleted-" + *suffix);
  if (::rename(dir.c_str(), doomed.c_str()) != 0) {
    return errno_status(what + ": rename " + dir.string() + " to " + doomed.string(), errno);
  }
  if (auto s = fsync_dir(options_.root); !s.ok()) return s.with_context(what);
  std::error_code ec;
  fs::remove_all(doomed, ec);
  if (ec) return Status::io(what + ": remove " + doomed.string() + ": " + ec.message());
  return {};
}

Result<std::vector<BucketInfo>> ObjectStore::list_buckets() const {
  std::lock_guard lock(mu_);
  std::vector<BucketInfo> out;
  std::error_code ec;
  fs::directory_iterator it(options_.root, ec), end;
  if (ec) return Status::io("list buckets in " + options_.root.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (!validate_bucket_name(name).ok() || !it->is_directory(type_ec) || it->is_symlink(type_ec)) {
      continue;
    }
    auto created = read_bucket_created(it->path());
    if (!created.ok()) return created.status().with_context("list buckets");
    out.push_back({name, *created});
  }
  if (ec) return Status::io("list buckets in " + options_.root.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const BucketInfo& a, const BucketInfo& b) { return a.name < b.name; });
  return out;
}

// --- Objects ---

Status ObjectStore::validate_key(std::string_view key) {
  if (key.empty()) return Status::invalid("InvalidKey: the key is empty");
  if (key.size() > kMaxKeyBytes) {
    return Status::invalid("KeyTooLongError: the key is " + std::to_string(key.size()) +
                           " bytes long; the limit is " + std::to_string(kMaxKeyBytes));
  }
  if (key.find('\0') != std::string_view::npos) {
    return Status::invalid("InvalidKey: " + quote(key) + " contains a NUL byte");
  }
  if (key.front() == '/') {
    return Status::invalid("InvalidKey: " + quote(key) + " starts with '/' (an absolute path)");
  }
  for (std::string_view segment : split_key(key)) {
    if (segment.empty()) {
      return Status::invalid("InvalidKey: " + quote(key) +
                             " has an empty segment (\"//\" or a trailing '/')");
    }
    if (segment == "." || segment == "..") {
      return Status::invalid("InvalidKey: " + quote(key) + " has a " + quote(segment) +
                             " segment, which could name a path outside its bucket");
    }
    if (encode_segment(segment).size() > kMaxSegmentBytes) {
      return Status::invalid("KeyTooLongError: the segment " + quote(segment, 40) + " of " +
                             quote(key, 80) + " is longer than " +
                             std::to_string(kMaxSegmentBytes) + " bytes once encoded");
    }
  }
  return {};
}

Result<ObjectInfo> ObjectStore::put_object(std::string_view bucket, std::string_view key,
                                           std::string_view bytes, const PutOptions& options) {
  size_t offset = 0;
  Source source{bytes.size(), [&](char* buf, size_t cap) -> Result<size_t> {
                  size_t n = std::min(cap, bytes.size() - offset);
                  std::copy_n(bytes.data() + offset, n, buf);
                  offset += n;
                  return n;
                }};
  return put_from_source(bucket, key, source, options, {});
}

Result<ObjectInfo> ObjectStore::put_object_from_file(std::string_view bucket, std::string_view key,
                                                     const fs::path& file,
                                                     const PutOptions& options) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return errno_status("put object " + describe(bucket, key) + ": open " + file.string(), errno);
  }
  return put_object_from_fd(bucket, key, fd.get(), options);
}

Result<ObjectInfo> ObjectStore::put_object_from_fd(std::string_view bucket, std::string_view key,
                                                   int fd, const PutOptions& options) {
  Source source;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t at = ::lseek(fd, 0, SEEK_CUR);
    if (at >= 0 && at <= st.st_size) source.size = static_cast<uint64_t>(st.st_size - at);
  }
  source.read = [fd](char* buf, size_t cap) -> Result<size_t> {
    for (;;) {
      ssize_t n = ::read(fd, buf, cap);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return errno_status("read the source", errno);
    }
  };
  return put_from_source(bucket, key, source, options, {});
}

Result<ObjectInfo> ObjectStore::put_from_source(std::string_view bucket, std::string_view key,
                                                Source& source, const PutOptions& options,
                                                const std::string& etag_override) {
  const std::string what = "put object " + describe(bucket, key);
  if (auto s = validate_bucket_name(bucket); !s.ok()) return s.with_context(what);
  if (auto s = validate_key(key); !s.ok()) return s.with_context(what);
  {
    std::lock_guard lock(mu_);
    if (auto s = check_bucket(options_.root, bucket); !s.ok()) return s.with_context(what);
  }
  if (source.size && *source.size > options_.max_object_bytes) {
    return entity_too_large(options_.max_object_bytes).with_context(what);
  }
  auto md5 = Md5Stream::create();
  if (!md5.ok()) return md5.status().with_context(what);
  auto suffix = random_hex(16);
  if (!suffix.ok()) return suffix.status().with_context(what);

  // The data goes to a temporary file on the same file system, outside the
  // lock; only the final rename happens under it. Any failure from here on
  // removes the temporary file.
  fs::path temp = options_.root / kTempDir / ("put-" + *suffix);
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_status(what + ": create " + temp.string(), errno);
  auto discard = [&](Status s) { return also(std::move(s), unlink_quietly(temp)); };

  std::vector<char> buf(kChunk);
  uint64_t size = 0;
  for (;;) {
    auto n = source.read(buf.data(), buf.size());
    if (!n.ok()) return discard(n.status().with_context(what));
    if (*n == 0) break;
    size += *n;
    if (size > options_.max_object_bytes) {
      return discard(entity_too_large(options_.max_object_bytes).with_context(what));
    }
    if (auto s = md5->update(buf.data(), *n); !s.ok()) return discard(s.with_context(what));
    const char* p = buf.data();
    size_t left = *n;
    while (left > 0) {
      ssize_t w = syscalls_.write(fd.get(), p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        return discard(errno_status(what + ": write " + temp.string(), errno));
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
  }
  if (syscalls_.fsync(fd.get()) != 0) {
    return discard(errno_status(what + ": fsync " + temp.string(), errno));
  }
  if (auto s = fd.close(); !s.ok()) return discard(s.with_context(what + ": " + temp.string()));
  auto etag = md5->finish();
  if (!etag.ok()) return discard(etag.status().with_context(what));
  // The sidecar (content type, metadata, a multipart ETag) is complete on
  // disk before the version appears, so a reader never sees a version
  // without it.
  std::string meta_text = format_meta(options, etag_override);
  fs::path meta_temp = temp.string() + kMetaSuffix;
  if (!meta_text.empty()) {
    if (auto s = write_new_file(meta_temp, meta_text); !s.ok()) {
      return discard(s.with_context(what));
    }
  }
  auto discard_both = [&](Status s) {
    if (!meta_text.empty()) s = also(std::move(s), unlink_quietly(meta_temp));
    return discard(std::move(s));
  };

  std::lock_guard lock(mu_);
  // The bucket may have been deleted while the data was written.
  if (auto s = check_bucket(options_.root, bucket); !s.ok())
    return discard_both(s.with_context(what));
  fs::path dir = bucket_path(options_.root, bucket);
  for (std::string_view segment : split_key(key)) {
    dir /= encode_segment(segment);
    if (auto s = ensure_dir(dir); !s.ok()) return discard_both(s.with_context(what));
  }
  auto versions = version_files(dir);
  if (!versions.ok()) return discard_both(versions.status().with_context(what));
  dir /= kVersionsDir;
  if (auto s = ensure_dir(dir); !s.ok()) return discard_both(s.with_context(what));
  auto version_id =
      make_version_id(versions->empty() ? 0 : version_micros(versions->front().version_id));
  if (!version_id.ok()) return discard_both(version_id.status().with_context(what));
  fs::path final_path = dir / (*version_id + "." + *etag);
  fs::path meta_path = dir / (*version_id + kMetaSuffix);
  if (!meta_text.empty() && ::rename(meta_temp.c_str(), meta_path.c_str()) != 0) {
    return discard_both(errno_status(what + ": rename " + meta_temp.string(), errno));
  }
  auto take_back_meta = [&](Status s) {
    return meta_text.empty() ? s : also(std::move(s), unlink_quietly(meta_path));
  };
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) != 0) {
    return take_back_meta(discard(
        errno_status(what + ": rename " + temp.string() + " to " + final_path.string(), errno)));
  }
  // Not durable until the directory entry is: if that fails, take the version
  // back so a failed put leaves nothing visible.
  if (auto s = fsync_dir(dir); !s.ok())
    return take_back_meta(also(s.with_context(what), unlink_quietly(final_path)));
  if (options.replace) {
    // The new version is durable; the older ones go (an unversioned bucket).
    for (const auto& v : *versions) {
      if (::unlink(v.path.c_str()) != 0 && errno != ENOENT) {
        return errno_status(what + ": remove the replaced version " + v.path.string(), errno);
      }
      (void)unlink_quietly(dir / (v.version_id + kMetaSuffix));
    }
    if (!versions->empty()) {
      if (auto s = fsync_dir(dir); !s.ok()) return s.with_context(what);
    }
  }
  ObjectInfo info;
  info.key = std::string(key);
  info.version_id = *version_id;
  info.etag = etag_override.empty() ? *etag : etag_override;
  info.size = size;
  info.last_modified = time_of_version(*version_id);
  info.content_type = options.content_type;
  info.metadata = options.metadata;
  return info;
}

Result<ObjectInfo> ObjectStore::head_object(std::string_view bucket, std::string_view key,
                                            std::string_view version_id) const {
  const std::string what = "head object " + describe(bucket, key);
  if (auto s = validate_bucket_name(bucket); !s.ok()) return s.with_context(what);
  if (auto s = validate_key(key); !s.ok()) return s.with_context(what);
  std::lock_guard lock(mu_);
  auto located = locate(options_.root, bucket, key, version_id);
  if (!located.ok()) return located.status().with_context(what);
  return located->info;
}

Result<OpenedObject> ObjectStore::open_object(std::string_view bucket, std::string_view key,
                                              std::string_view version_id) const {
  const std::string what = "get object " + describe(bucket, key);
  if (auto s = validate_bucket_name(bucket); !s.ok()) return s.with_context(what);
  if (auto s = validate_key(key); !s.ok()) return s.with_context(what);
  // Opened under the lock, so a concurrent delete cannot unlink the version
  // between finding and opening it; once open, the descriptor keeps it alive.
  std::lock_guard lock(mu_);
  auto located = locate(options_.root, bucket, key, version_id);
  if (!located.ok()) return located.status().with_context(what);
  UniqueFd fd(::open(located->path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_status(what + ": open " + located->path.string(), errno);
  return OpenedObject{std::move(located->info), std::move(fd)};
}

Result<std::string> ObjectStore::get_object(std::string_view bucket, std::string_view key,
                                            std::string_view version_id) const {
  auto object = open_object(bucket, key, version_id);
  if (!object.ok()) return object.status();
  std::string out(object->info.size, '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(object->fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("get object " + describe(bucket, key) + ": read", errno);
    if (n == 0) {
      return Status::io("get object " + describe(bucket, key) +
                        ": the stored file is shorter than its recorded size");
    }
    done += static_cast<size_t>(n);
  }
  return out;
}

Result<ObjectInfo> ObjectStore::get_object_to_file(std::string_view bucket, std::string_view key,
                                                   std::string_view version_id,
                                                   const fs::path& dest) const {
  const std::string what = "get object " + describe(bucket, key) + " to " + dest.string();
  auto object = open_object(bucket, key, version_id);
  if (!object.ok()) return object.status();
  auto suffix = random_hex(8);
  if (!suffix.ok()) return suffix.status().with_context(what);
  fs::path temp = dest.parent_path() / ("." + dest.filename().string() + ".tmp-" + *suffix);
  UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out.valid()) return errno_status(what + ": create " + temp.string(), errno);
  auto discard = [&](Status s) { return also(std::move(s), unlink_quietly(temp)); };
  std::vector<char> buf(kChunk);
  for (;;) {
    ssize_t n = ::read(object->fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return discard(errno_status(what + ": read", errno));
    if (n == 0) break;
    if (auto s = write_all(out.get(), buf.data(), static_cast<size_t>(n), temp.string()); !s.ok()) {
      return discard(s.with_context(what));
    }
  }
  if (auto s = out.close(); !s.ok()) return discard(s.with_context(what));
  if (::rename(temp.c_str(), dest.c_str()) != 0) {
    return discard(errno_status(what + ": rename " + temp.string(), errno));
  }
  return object->info;
}

Status ObjectStore::delete_object(std::string_view bucket, std::string_view key,
                                  std::string_view version_id) {
  const std::string what = "delete object " + describe(bucket, key);
  if (auto s = validate_bucket_name(bucket); !s.ok()) return s.with_context(what);
  if (auto s = validate_key(key); !s.ok()) return s.with_context(what);
  std::lock_guard lock(mu_);
  if (auto s = check_bucket(options_.root, bucket); !s.ok()) return s.with_context(what);
  fs::path dir = key_path(options_.root, bucket, key);
  auto versions = version_files(dir);
  if (!versions.ok()) return versions.status().with_context(what);
  size_t removed = 0;
  for (const auto& v : *versions) {
    if (!version_id.empty() && v.version_id != version_id) continue;
    if (::unlink(v.path.c_str()) != 0 && errno != ENOENT) {
      return errno_status(what + ": remove " + v.path.string(), errno);
    }
    if (auto e = unlink_quietly(dir / kVersionsDir / (v.version_id + kMetaSuffix)); !e.empty()) {
      return Status::io(what + ": " + e);
    }
    ++removed;
  }
  if (removed == 0) return {};
  fs::path versions_dir = dir / kVersionsDir;
  if (auto s = fsync_dir(versions_dir); !s.ok()) return s.with_context(what);
  if (removed < versions->size()) return {};

  // The key has no version left: remove its @v directory and every directory
  // above it that is now empty, up to the bucket. ENOTEMPTY means another key
  // lives there, which is where pruning stops.
  fs::path bucket_dir = bucket_path(options_.root, bucket);
  for (fs::path d = versions_dir; d != bucket_dir; d = d.parent_path()) {
    if (::rmdir(d.c_str()) != 0) {
      if (errno == ENOTEMPTY || errno == EEXIST) break;
      if (errno == ENOENT) continue;
      return errno_status(what + ": remove directory " + d.string(), errno);
    }
    if (auto s = fsync_dir(d.parent_path()); !s.ok()) return s.with_context(what);
  }
  return {};
}

Result<std::vector<ObjectInfo>> ObjectStore::list_object_versions(std::string_view bucket,
                                                                  std::string_view key) const {
  const std::string what = "list versions of " + describe(bucket, key);
  if (auto s = validate_bucket_name(bucket); !s.ok()) return s.with_context(what);
  if (auto s = validate_key(key); !s.ok()) return s.with_context(what);
  std::lock_guard lock(mu_);
  if (auto s = check_bucket(options_.root, bucket); !s.ok()) return s.with_context(what);
  auto versions = version_files(key_path(options_.root, bucket, key));
  if (!versions.ok()) return versions.status().with_context(what);
  if (versions->empty()) return Status::not_found(what + ": NoSuchKey: the key does not exist");
  std::vector<ObjectInfo> out;
  for (const auto& v : *versions) {
    auto info = info_of(key, v);
    if (!info.ok()) return info.status().with_context(what);
    out.push_back(std::move(*info));
  }
  return out;
}

// Every key at or below the prefix's directory (unsorted), for list_objects
// and list_keys. REQUIRES: mu_ held, the bucket exists.
Status keys_under_prefix(const fs::path& root, std::string_view bucket, std::string_view prefix,
                         std::vector<std::string>& keys) {
  // Walk only the directory of the prefix's complete segments: "a/b/c" starts
  // at a/b. A segment no key can have means no key can match.
  fs::path start = bucket_path(root, bucket);
  std::string start_key;
  std::vector<std::string_view> segments = split_key(prefix);
  segments.pop_back();
  for (std::string_view segment : segments) {
    if (segment.empty() || segment == "." || segment == "..") return {};
    start /= encode_segment(segment);
    start_key += (start_key.empty() ? "" : "/") + std::string(segment);
  }
  return collect_keys(start, start_key, keys);
}

Result<ListObjectsPage> ObjectStore::list_objects(std::string_view bucket,
                                                  const ListObjectsRequest& request) const {
  const std::string what = "list objects in bucket " + quote(bucket);
  if (auto s = validate_bucket_name(bucket); !s.ok()) return s.with_context(what);
  if (request.max_keys < 1 || request.max_keys > 1000) {
    return Status::invalid(what + ": max_keys must be 1 to 1000, not " +
                           std::to_string(request.max_keys));
  }
  std::lock_guard lock(mu_);
  if (auto s = check_bucket(options_.root, bucket); !s.ok()) return s.with_context(what);

  ListObjectsPage page;
  std::vector<std::string> keys;
  if (auto s = keys_under_prefix(options_.root, bucket, request.prefix, keys); !s.ok()) {
    return s.with_context(what);
  }
  std::sort(keys.begin(), keys.end());
  const std::string& token = request.continuation_token;
  // A token that is a common prefix skips every key it rolled up.
  const bool token_is_prefix = !request.delimiter.empty() && !token.empty() &&
                               token.size() >= request.delimiter.size() &&
                               token.compare(token.size() - request.delimiter.size(),
                                             std::string::npos, request.delimiter) == 0;
  auto it = keys.begin();
  if (!token.empty()) it = std::upper_bound(keys.begin(), keys.end(), token);
  size_t entries = 0;
  std::string last;
  for (; it != keys.end(); ++it) {
    if (!starts_with(*it, request.prefix)) continue;
    if (token_is_prefix && starts_with(*it, token)) continue;
    std::optional<std::string> common;
    if (!request.delimiter.empty()) {
      size_t d = it->find(request.delimiter, request.prefix.size());
      if (d != std::string::npos) common = it->substr(0, d + request.delimiter.size());
    }
    if (common && !page.common_prefixes.empty() && page.common_prefixes.back() == *common) {
      continue;
    }
    auto versions = version_files(key_path(options_.root, bucket, *it));
    if (!versions.ok()) return versions.status().with_context(what);
    // An @v directory a crash left empty, or a key whose latest version is a
    // delete marker, is not listed.
    if (versions->empty() || versions->front().marker) continue;
    if (entries == request.max_keys) {
      page.next_continuation_token = last;
      break;
    }
    ++entries;
    if (common) {
      page.common_prefixes.push_back(*common);
      last = *common;
      continue;
    }
    auto info = info_of(*it, versions->front());
    if (!info.ok()) return info.status().with_context(what);
    page.objects.push_back(std::move(*info));
    last = *it;
  }
  return page;
}

Result<std::vector<std::string>> ObjectStore::list_keys(std::string_view bucket,
                                                        std::string_view prefix) const {
  const std::string what = "list keys in bucket " + quote(bucket);
  if (auto s = validate_bucket_name(bucket); !s.ok()) return s.with_context(what);
  std::lock_guard lock(mu_);
  if (auto s = check_bucket(options_.root, bucket); !s.ok()) return s.with_context(what);
  std::vector<std::string> keys, out;
  if (auto s = keys_under_prefix(options_.root, bucket, prefix, keys); !s.ok()) {
    return s.with_context(what);
  }
  std::sort(keys.begin(), keys.end());
  for (auto& key : keys) {
    if (!starts_with(key, prefix)) continue;
    auto versions = version_files(key_path(options_.root, bucket, key));
    if (!versions.ok()) return versions.status().with_context(what);
    if (!versions->empty()) out.push_back(std::move(key));
  }
  return out;
}

Result<ObjectInfo> ObjectStore::put_delete_marker(std::string_view bucket, std::string_view key) {
  const std::string what = "put a delete marker on " + describe(bucket, key);
  if (auto s = validate_bucket_name(bucket); !s.ok()) return s.with_context(what);
  if (auto s = validate_key(key); !s.ok()) return s.with_context(what);
  std::lock_guard lock(mu_);
  if (auto s = check_bucket(options_.root, bucket); !s.ok()) return s.with_context(what);
  fs::path dir = bucket_path(options_.root, bucket);
  for (std::string_view segment : split_key(key)) {
    dir /= encode_segment(segment);
    if (auto s = ensure_dir(dir); !s.ok()) return s.with_context(what);
  }
  auto versions = version_files(dir);
  if (!versions.ok()) return versions.status().with_context(what);
  dir /= kVersionsDir;
  if (auto s = ensure_dir(dir); !s.ok()) return s.with_context(what);
  auto version_id =
      make_version_id(versions->empty() ? 0 : version_micros(versions->front().version_id));
  if (!version_id.ok()) return version_id.status().with_context(what);
  fs::path marker = dir / (*version_id + kMarkerSuffix);
  if (auto s = write_new_file(marker, ""); !s.ok()) return s.with_context(what);
  if (auto s = fsync_dir(dir); !s.ok()) {
    return also(s.with_context(what), unlink_quietly(marker));
  }
  ObjectInfo info;
  info.key = std::string(key);
  info.version_id = *version_id;
  info.last_modified = time_of_version(*version_id);
  info.delete_marker = true;
  return info;
}

// --- Bucket configuration documents: <bucket>/.config-<name> ---

namespace {

Status check_config_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || !std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || c == '-';
      })) {
    return Status::invalid("bucket configuration name " + quote(name) +
                           " must be 1-32 characters of a-z and '-'");
  }
  return {};
}

}  // namespace

Status ObjectStore::put_bucket_config(std::string_view bucket, std::string_view name,
                                      std::string_view text) {
  const std::string what =
      "put the " + std::string(name) + " configuration of bucket " + quote(bucket);
  if (auto s = validate_bucket_name(bucket); !s.ok()) return s.with_context(what);
  if (auto s = check_config_name(name); !s.ok()) return s.with_context(what);
  auto suffix = random_hex(16);
  if (!suffix.ok()) return suffix.status().with_context(what);
  std::lock_guard lock(mu_);
  if (auto s = check_bucket(options_.root, bucket); !s.ok()) return s.with_context(what);
  fs::path dir = bucket_path(options_.root, bucket);
  fs::path file = dir / (kConfigPrefix + std::string(name));
  if (text.empty()) {
    if (auto e = unlink_quietly(file); !e.empty()) return Status::io(what + ": " + e);
    return fsync_dir(dir).with_context(what);
  }
  fs::path temp = options_.root / kTempDir / ("config-" + *suffix);
  if (auto s = write_new_file(temp, text); !s.ok()) return s.with_context(what);
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    return also(errno_status(what + ": rename " + temp.string(), errno), unlink_quietly(temp));
  }
  return fsync_dir(dir).with_context(what);
}

Result<std::optional<std::string>> ObjectStore::get_bucket_config(std::string_view bucket,
                                                                  std::string_view name) const {
  const std::string what =
      "get the " + std::string(name) + " configuration of bucket " + quote(bucket);
  if (auto s = validate_bucket_name(bucket); !s.ok()) return s.with_context(what);
  if (auto s = check_config_name(name); !s.ok()) return s.with_context(what);
  std::lock_guard lock(mu_);
  if (auto s = check_bucket(options_.root, bucket); !s.ok()) return s.with_context(what);
  auto text =
      read_small_file(bucket_path(options_.root, bucket) / (kConfigPrefix + std::string(name)));
  if (!text.ok()) return text.status().with_context(what);
  return *text;
}

// --- Multipart uploads ---
//
// <root>/.uploads/<upload id>/upload holds "bucket:", "key:" (encoded as a
// key segment), "initiated:" (ms) and the put's meta fields; each part is
// "p<5 digits>-<md5>" in the same directory, written through .tmp and renamed
// in, so a part is either whole or absent.

namespace {

constexpr int kMaxParts = 10000;

Status no_such_upload(std::string_view upload_id) {
  return Status::not_found("NoSuchUpload: the upload " + quote(upload_id, 40) +
                           " does not exist; it may have been completed or aborted");
}

bool valid_upload_id(std::string_view id) { return id.size() == 32 && is_lower_hex(id); }

struct PartFile {
  PartInfo info;
  fs::path path;
};

// The parts of the upload in `dir`, by number (one per number).
Result<std::vector<PartFile>> part_files(const fs::path& dir) {
  std::vector<PartFile> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) return Status::io("list parts in " + dir.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() != 1 + 5 + 1 + kEtagLength || name[0] != 'p' || name[6] != '-') continue;
    int number = 0;
    if (std::from_chars(name.data() + 1, name.data() + 6, number).ec != std::errc()) continue;
    std::string etag = name.substr(7);
    if (!is_lower_hex(etag)) continue;
    struct stat st;
    if (::stat(it->path().c_str(), &st) != 0)
      return errno_status("stat " + it->path().string(), errno);
    out.push_back({PartInfo{number, etag, static_cast<uint64_t>(st.st_size),
                            Clock::time_point(std::chrono::seconds(st.st_mtime))},
                   it->path()});
  }
  if (ec) return Status::io("list parts in " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const PartFile& a, const PartFile& b) {
    return a.info.part_number < b.info.part_number;
  });
  return out;
}

Result<MultipartUpload> read_upload(const fs::path& root, std::string_view upload_id) {
  if (!valid_upload_id(upload_id)) return no_such_upload(upload_id);
  auto text = read_small_file(root / kUploadsDir / std::string(upload_id) / kUploadFile);
  if (!text.ok()) return text.status();
  if (!*text) return no_such_upload(upload_id);
  MultipartUpload upload;
  upload.upload_id = std::string(upload_id);
  std::string etag;
  std::vector<std::pair<std::string, std::string>> other;
  parse_meta(**text, upload.options, etag, &other);
  for (const auto& [field, value] : other) {
    if (field == "bucket") upload.bucket = value;
    if (field == "key") upload.key = decode_segment(value).value_or("");
    if (field == "initiated") {
      int64_t ms = 0;
      std::from_chars(value.data(), value.data() + value.size(), ms);
      upload.initiated = Clock::time_point(std::chrono::milliseconds(ms));
    }
  }
  if (upload.bucket.empty() || upload.key.empty()) {
    return Status::io("the upload file of " + std::string(upload_id) + " is malformed");
  }
  return upload;
}

}  // namespace

Result<std::string> ObjectStore::create_multipart_upload(std::string_view bucket,
                                                         std::string_view key,
                                                         const PutOptions& options) {
  const std::string what = "create a multipart upload of " + describe(bucket, key);
  if (auto s = validate_bucket_name(bucket); !s.ok()) return s.with_context(what);
  if (auto s = validate_key(key); !s.ok()) return s.with_context(what);
  auto id = random_hex(16);
  if (!id.ok()) return id.status().with_context(what);
  std::lock_guard lock(mu_);
  if (auto s = check_bucket(options_.root, bucket); !s.ok()) return s.with_context(what);
  fs::path uploads = options_.root / kUploadsDir;
  if (auto s = ensure_dir(uploads); !s.ok()) return s.with_context(what);
  // Prepared in .tmp and renamed in, so an upload directory always has its
  // upload file.
  fs::path staging = options_.root / kTempDir / ("upload-" + *id);
  if (::mkdir(staging.c_str(), 0755) != 0)
    return errno_status(what + ": mkdir " + staging.string(), errno);
  int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count();
  std::string text = "bucket:" + std::string(bucket) + "\nkey:" + encode_segment(key) +
                     "\ninitiated:" + std::to_string(ms) + "\n" + format_meta(options, "");
  auto abandon = [&](Status s) {
    std::error_code ec;
    fs::remove_all(staging, ec);
    return s;
  };
  if (auto s = write_new_file(staging / kUploadFile, text); !s.ok())
    return abandon(s.with_context(what));
  if (auto s = fsync_dir(staging); !s.ok()) return abandon(s.with_context(what));
  fs::path dir = uploads / *id;
  if (::rename(staging.c_str(), dir.c_str()) != 0) {
    return abandon(errno_status(what + ": rename " + staging.string(), errno));
  }
  if (auto s = fsync_dir(uploads); !s.ok()) return s.with_context(what);
  return *id;
}

Result<MultipartUpload> ObjectStore::get_multipart_upload(std::string_view bucket,
                                                          std::string_view key,
                                                          std::string_view upload_id) const {
  std::lock_guard lock(mu_);
  if (auto s = check_bucket(options_.root, bucket); !s.ok()) return s;
  auto upload = read_upload(options_.root, upload_id);
  if (!upload.ok()) return upload.status();
  if (upload->bucket != bucket || upload->key != key) return no_such_upload(upload_id);
  return upload;
}

Result<PartInfo> ObjectStore::upload_part(std::string_view bucket, std::string_view key,
                                          std::string_view upload_id, int part_number, int fd) {
  const std::string what =
      "upload part " + std::to_string(part_number) + " of " + describe(bucket, key);
  if (part_number < 1 || part_number > kMaxParts) {
    return Status::invalid(
        what + ": InvalidArgument: Part number must be an integer between 1 and 10000, inclusive");
  }
  if (auto u = get_multipart_upload(bucket, key, upload_id); !u.ok())
    return u.status().with_context(what);
  auto md5 = Md5Stream::create();
  if (!md5.ok()) return md5.status().with_context(what);
  auto suffix = random_hex(16);
  if (!suffix.ok()) return suffix.status().with_context(what);
  fs::path temp = options_.root / kTempDir / ("part-" + *suffix);
  UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out.valid()) return errno_status(what + ": create " + temp.string(), errno);
  auto discard = [&](Status s) { return also(std::move(s), unlink_quietly(temp)); };
  std::vector<char> buf(kChunk);
  uint64_t size = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return discard(errno_status(what + ": read the source", errno));
    if (n == 0) break;
    size += static_cast<uint64_t>(n);
    if (size > options_.max_object_bytes)
      return discard(entity_too_large(options_.max_object_bytes).with_context(what));
    if (auto s = md5->update(buf.data(), static_cast<size_t>(n)); !s.ok())
      return discard(s.with_context(what));
    const char* p = buf.data();
    size_t left = static_cast<size_t>(n);
    while (left > 0) {
      ssize_t w = syscalls_.write(out.get(), p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        return discard(errno_status(what + ": write " + temp.string(), errno));
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
  }
  if (syscalls_.fsync(out.get()) != 0)
    return discard(errno_status(what + ": fsync " + temp.string(), errno));
  if (auto s = out.close(); !s.ok()) return discard(s.with_context(what));
  auto etag = md5->finish();
  if (!etag.ok()) return discard(etag.status().with_context(what));

  std::lock_guard lock(mu_);
  fs::path dir = options_.root / kUploadsDir / std::string(upload_id);
  auto parts = part_files(dir);  // also fails when the upload went away meanwhile
  if (!parts.ok()) return discard(no_such_upload(upload_id).with_context(what));
  char name[16];
  std::snprintf(name, sizeof name, "p%05d-", part_number);
  fs::path final_path = dir / (name + *etag);
  if (::rename(temp.c_str(), final_path.c_str()) != 0) {
    return discard(errno_status(what + ": rename " + temp.string(), errno));
  }
  for (const auto& p : *parts) {
    if (p.info.part_number == part_number && p.path != final_path) {
      if (auto e = unlink_quietly(p.path); !e.empty()) return Status::io(what + ": " + e);
    }
  }
  if (auto s = fsync_dir(dir); !s.ok()) return s.with_context(what);
  return PartInfo{part_number, *etag, size, Clock::now()};
}

Result<std::vector<PartInfo>> ObjectStore::list_parts(std::string_view bucket, std::string_view key,
                                                      std::string_view upload_id) const {
  const std::string what = "list the parts of upload " + quote(upload_id, 40);
  if (auto u = get_multipart_upload(bucket, key, upload_id); !u.ok())
    return u.status().with_context(what);
  std::lock_guard lock(mu_);
  auto parts = part_files(options_.root / kUploadsDir / std::string(upload_id));
  if (!parts.ok()) return parts.status().with_context(what);
  std::vector<PartInfo> out;
  for (auto& p : *parts) out.push_back(std::move(p.info));
  return out;
}

Result<std::vector<MultipartUpload>> ObjectStore::list_multipart_uploads(
    std::string_view bucket) const {
  const std::string what = "list the multipart uploads of bucket " + quote(bucket);
  std::lock_guard lock(mu_);
  if (auto s = check_bucket(options_.root, bucket); !s.ok()) return s.with_context(what);
  std::vector<MultipartUpload> out;
  std::error_code ec;
  fs::path uploads = options_.root / kUploadsDir;
  fs::directory_iterator it(uploads, ec), end;
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return Status::io(what + ": " + ec.message());
  }
  for (; it != end; it.increment(ec)) {
    auto upload = read_upload(options_.root, it->path().filename().string());
    if (!upload.ok()) continue;  // not an upload directory, or one being removed
    if (upload->bucket == bucket) out.push_back(std::move(*upload));
  }
  if (ec) return Status::io(what + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const MultipartUpload& a, const MultipartUpload& b) {
    return std::tie(a.key, a.initiated, a.upload_id) < std::tie(b.key, b.initiated, b.upload_id);
  });
  return out;
}

Status ObjectStore::abort_multipart_upload(std::string_view bucket, std::string_view key,
                                           std::string_view upload_id) {
  const std::string what = "abort upload " + quote(upload_id, 40) + " of " + describe(bucket, key);
  if (auto u = get_multipart_upload(bucket, key, upload_id); !u.ok())
    return u.status().with_context(what);
  auto suffix = random_hex(16);
  if (!suffix.ok()) return suffix.status().with_context(what);
  std::lock_guard lock(mu_);
  fs::path dir = options_.root / kUploadsDir / std::string(upload_id);
  fs::path doomed = options_.root / kTempDir / ("deleted-" + *suffix);
  if (::rename(dir.c_str(), doomed.c_str()) != 0) {
    if (errno == ENOENT) return no_such_upload(upload_id).with_context(what);
    return errno_status(what + ": rename " + dir.string(), errno);
  }
  if (auto s = fsync_dir(options_.root / kUploadsDir); !s.ok()) return s.with_context(what);
  std::error_code ec;
  fs::remove_all(doomed, ec);
  if (ec) return Status::io(what + ": remove " + doomed.string() + ": " + ec.message());
  return {};
}

Result<ObjectInfo> ObjectStore::complete_multipart_upload(
    std::string_view bucket, std::string_view key, std::string_view upload_id,
    const std::vector<std::pair<int, std::string>>& parts, bool replace) {
  const std::string what =
      "complete upload " + quote(upload_id, 40) + " of " + describe(bucket, key);
  auto upload = get_multipart_upload(bucket, key, upload_id);
  if (!upload.ok()) return upload.status().with_context(what);
  if (parts.empty()) {
    return Status(StatusCode::kFailedPrecondition,
                  what + ": InvalidRequest: You must specify at least one part");
  }
  std::vector<PartFile> have;
  {
    std::lock_guard lock(mu_);
    auto all = part_files(options_.root / kUploadsDir / std::string(upload_id));
    if (!all.ok()) return all.status().with_context(what);
    have = std::move(*all);
  }
  std::vector<PartFile> chosen;
  std::string binary_md5s;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& [number, etag] = parts[i];
    if (i > 0 && number <= parts[i - 1].first) {
      return Status(StatusCode::kFailedPrecondition,
                    what +
                        ": InvalidPartOrder: The list of parts was not in ascending order. "
                        "Parts must be ordered by part number.");
    }
    auto it = std::find_if(have.begin(), have.end(),
                           [&](const PartFile& p) { return p.info.part_number == number; });
    if (it == have.end() || it->info.etag != etag) {
      return Status(StatusCode::kFailedPrecondition,
                    what +
                        ": InvalidPart: One or more of the specified parts could not be found. "
                        "The part may not have been uploaded, or the specified entity tag may "
                        "not match the part's entity tag. (part " +
                        std::to_string(number) + ")");
    }
    if (i + 1 < parts.size() && it->info.size < options_.min_part_bytes) {
      return Status(StatusCode::kFailedPrecondition,
                    what +
                        ": EntityTooSmall: Your proposed upload is smaller than the minimum "
                        "allowed object size. (part " +
                        std::to_string(number) + " is " + std::to_string(it->info.size) +
                        " bytes)");
    }
    for (size_t h = 0; h < etag.size(); h += 2) {
      binary_md5s += static_cast<char>(hex_value(etag[h]) * 16 + hex_value(etag[h + 1]));
    }
    chosen.push_back(*it);
  }
  auto md5 = Md5Stream::create();
  if (!md5.ok()) return md5.status().with_context(what);
  if (auto s = md5->update(binary_md5s.data(), binary_md5s.size()); !s.ok())
    return s.with_context(what);
  auto digest = md5->finish();
  if (!digest.ok()) return digest.status().with_context(what);
  std::string etag = *digest + "-" + std::to_string(parts.size());

  // The parts are read one after the other into an ordinary put. A part
  // replaced meanwhile fails the open (its name holds its MD5).
  uint64_t total = 0;
  for (const auto& p : chosen) total += p.info.size;
  size_t index = 0;
  UniqueFd current;
  Source source;
  source.size = total;
  source.read = [&](char* buf, size_t cap) -> Result<size_t> {
    for (;;) {
      if (!current.valid()) {
        if (index == chosen.size()) return size_t{0};
        current = UniqueFd(::open(chosen[index].path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!current.valid())
          return errno_status("open part " + chosen[index].path.string(), errno);
      }
      ssize_t n = ::read(current.get(), buf, cap);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_status("read part " + chosen[index].path.string(), errno);
      if (n > 0) return static_cast<size_t>(n);
      current = UniqueFd();
      ++index;
    }
  };
  PutOptions options = upload->options;
  options.replace = replace;
  auto info = put_from_source(bucket, key, source, options, etag);
  if (!info.ok()) return info.status().with_context("complete upload " + quote(upload_id, 40));
  if (auto s = abort_multipart_upload(bucket, key, upload_id); !s.ok()) {
    return s.with_context(what + ": the object was stored, but removing the upload failed");
  }
  return info;
}

}  // namespace stageline::artifacts
