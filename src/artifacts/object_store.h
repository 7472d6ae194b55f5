// artifacts/object_store: S3-like buckets of versioned objects kept in one
// local directory (the data directory's objects/). Every put is atomic and
// durable before it returns; readers see either the whole previous state or
// the whole new object, never a part. The on-disk layout, the key encoding and
// the fsync rules are in docs/artifact-store.md.
//
// Errors name the S3 error type a client would see, after what was being done:
// "get object 'b/k': NoSuchKey: ...". The StatusCode is the nearest base code:
//   InvalidBucketName, InvalidKey, KeyTooLongError, EntityTooLarge -> kInvalidArgument
//   NoSuchBucket, NoSuchKey, NoSuchVersion                         -> kNotFound
//   BucketAlreadyExists                                            -> kAlreadyExists
//   BucketNotEmpty                                                 -> kFailedPrecondition
//   disk full (ENOSPC, EDQUOT) and every other system-call failure -> kIo
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "artifacts/unique_fd.h"
#include "base/status.h"

namespace stageline::artifacts {

// The system calls through which ObjectStore writes object data: write(2) and
// fsync(2) of the temporary file. The real one passes straight through; tests
// substitute one that fails like a full disk, because a small full file
// system cannot be made without privileges. Implementations must be
// thread-safe if the store is shared between threads.
class WriteSyscalls {
 public:
  virtual ~WriteSyscalls() = default;
  virtual ssize_t write(int fd, const void* data, size_t size) { return ::write(fd, data, size); }
  virtual int fsync(int fd) { return ::fsync(fd); }

  // The pass-through instance; lives for the whole program.
  static WriteSyscalls& real();
};

struct ObjectStoreOptions {
  // The directory that holds the buckets, normally <data dir>/objects. It is
  // created (with its parents) if missing. One process owns it at a time.
  std::filesystem::path root;
  // Larger puts fail with EntityTooLarge. S3's limit for a single PUT.
  uint64_t max_object_bytes = uint64_t{5} << 30;
};

// One version of an object, as HeadObject describes it.
struct ObjectInfo {
  std::string key;
  std::string version_id;  // 24 lower-case hex digits; sorts in the order of the puts
  std::string etag;        // hex MD5 of the content (S3 quotes it on the wire; we do not)
  uint64_t size = 0;
  std::chrono::system_clock::time_point last_modified;  // the time of the put, to the microsecond
  bool operator==(const ObjectInfo&) const = default;
};

struct BucketInfo {
  std::string name;
  std::chrono::system_clock::time_point created;
  bool operator==(const BucketInfo&) const = default;
};

struct ListObjectsRequest {
  std::string prefix;              // only keys that start with it
  std::string continuation_token;  // from the previous page; empty for the first page
  size_t max_keys = 1000;          // 1..1000
};

struct ListObjectsPage {
  std::vector<ObjectInfo> objects;      // the latest version of each key, keys in byte order
  std::string next_continuation_token;  // empty on the last page
};

// An object version opened for reading. Its content never changes: a later
// put or delete of the key does not affect what `fd` reads.
struct OpenedObject {
  ObjectInfo info;
  UniqueFd fd;  // read-only, positioned at offset 0
};

// The buckets and objects under one root directory. Owned by the composition
// root (one per data directory) and shared by reference. Thread-safe: data is
// written outside the store's lock, only the namespace changes (mkdir,
// rename, unlink) and the directory reads are serialized.
class ObjectStore {
 public:
  // Opens (creating if needed) the store at `options.root` and removes the
  // temporary files a crash left behind. `syscalls` must outlive the store.
  static Result<std::unique_ptr<ObjectStore>> open(ObjectStoreOptions options,
                                                   WriteSyscalls& syscalls = WriteSyscalls::real());

  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  const ObjectStoreOptions& options() const { return options_; }

  // --- Buckets ---

  // InvalidBucketName unless `name` follows S3's rules: 3-63 characters of
  // a-z, 0-9, '.' and '-'; starts and ends with a letter or digit; no "..";
  // not an IPv4 address; no "xn--" prefix, "-s3alias" or "--ol-s3" suffix.
  static Status validate_bucket_name(std::string_view name);

  // Fails with InvalidBucketName or BucketAlreadyExists.
  Status create_bucket(std::string_view name);
  // Ok when the bucket exists; NoSuchBucket otherwise.
  Status head_bucket(std::string_view name) const;
  // Removes an empty bucket. Fails with NoSuchBucket or BucketNotEmpty.
  Status delete_bucket(std::string_view name);
  // Every bucket, by name.
  Result<std::vector<BucketInfo>> list_buckets() const;

  // --- Objects ---

  // Ok when `key` can name an object: 1-1024 bytes, no NUL, does not start
  // with '/', no empty, "." or ".." segment between slashes (so no trailing
  // '/'), and every segment at most 255 bytes once encoded for the disk.
  // Fails with InvalidKey or KeyTooLongError.
  static Status validate_key(std::string_view key);

  // Stores `bytes` as a new version of `key`, which becomes the latest. The
  // put is durable when this returns. Fails with NoSuchBucket, InvalidKey,
  // EntityTooLarge, or kIo (disk full included); a failed put leaves nothing
  // behind, not even its temporary file.
  Result<ObjectInfo> put_object(std::string_view bucket, std::string_view key,
                                std::string_view bytes);
  // The same, with the content of the file at `file`.
  Result<ObjectInfo> put_object_from_file(std::string_view bucket, std::string_view key,
                                          const std::filesystem::path& file);
  // The same, with everything `fd` reads from its current offset to its end.
  // `fd` stays open and owned by the caller.
  Result<ObjectInfo> put_object_from_fd(std::string_view bucket, std::string_view key, int fd);

  // The version `version_id`, or the latest when it is empty. Fail with
  // NoSuchBucket, NoSuchKey or NoSuchVersion.
  Result<ObjectInfo> head_object(std::string_view bucket, std::string_view key,
                                 std::string_view version_id = {}) const;
  Result<OpenedObject> open_object(std::string_view bucket, std::string_view key,
                                   std::string_view version_id = {}) const;
  // The whole content in memory; for small objects.
  Result<std::string> get_object(std::string_view bucket, std::string_view key,
                                 std::string_view version_id = {}) const;
  // Writes the content to `dest` (replacing it) through a temporary file in
  // its directory, so `dest` is never seen half written.
  Result<ObjectInfo> get_object_to_file(std::string_view bucket, std::string_view key,
                                        std::string_view version_id,
                                        const std::filesystem::path& dest) const;

  // Deletes one version, or every version of the key when `version_id` is
  // empty (there are no delete markers). Deleting the latest version makes the
  // previous one the latest. As in S3, deleting a key or version that does not
  // exist succeeds; only NoSuchBucket, InvalidKey and kIo fail.
  Status delete_object(std::string_view bucket, std::string_view key,
                       std::string_view version_id = {});

  // Every version of `key`, newest first. NoSuchKey when it has none.
  Result<std::vector<ObjectInfo>> list_object_versions(std::string_view bucket,
                                                       std::string_view key) const;

  // One page of keys that start with `request.prefix`, in byte order, after
  // `request.continuation_token`. Fails with NoSuchBucket, or kInvalidArgument
  // when max_keys is outside 1..1000.
  Result<ListObjectsPage> list_objects(std::string_view bucket,
                                       const ListObjectsRequest& request) const;

 private:
  ObjectStore(ObjectStoreOptions options, WriteSyscalls& syscalls);

  struct Source;  // where the bytes of a put come from (object_store.cc)
  Result<ObjectInfo> put_from_source(std::string_view bucket, std::string_view key, Source& source);

  ObjectStoreOptions options_;
  WriteSyscalls& syscalls_;
  mutable std::mutex mu_;  // guards the namespace: directories, renames, unlinks
};

}  // namespace stageline::artifacts
