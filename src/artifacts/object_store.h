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
//   BucketNotEmpty, InvalidPart, InvalidPartOrder, EntityTooSmall  -> kFailedPrecondition
//   NoSuchUpload                                                   -> kNotFound
//   disk full (ENOSPC, EDQUOT) and every other system-call failure -> kIo
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  // Every part of a multipart upload but the last must be at least this big
  // (EntityTooSmall otherwise). S3's minimum; tests lower it.
  uint64_t min_part_bytes = uint64_t{5} << 20;
};

// User metadata (x-amz-meta-<name>: value): names lower-case, without the prefix.
using Metadata = std::vector<std::pair<std::string, std::string>>;

// What a put records besides the bytes.
struct PutOptions {
  std::string content_type{};  // "" when the client sent none
  Metadata metadata{};
  // Remove every earlier version of the key once the new one is in place: a
  // put into an S3 bucket whose versioning is not Enabled replaces the object.
  bool replace = false;
};

// One version of an object, as HeadObject describes it.
struct ObjectInfo {
  std::string key;
  std::string version_id;  // 24 lower-case hex digits; sorts in the order of the puts
  std::string etag;        // hex MD5 of the content (S3 quotes it on the wire; we do not)
  uint64_t size = 0;
  std::chrono::system_clock::time_point last_modified;  // the time of the put, to the microsecond
  // A delete marker (a DeleteObject in a versioned bucket): no bytes, no
  // ETag; while it is the latest version the key reads as absent.
  bool delete_marker = false;
  std::string content_type{};  // as given to the put; "" when none
  Metadata metadata{};         // as given to the put
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
  // When not empty, keys that contain it after the prefix are rolled up into
  // one common prefix (prefix + up to and including the delimiter), which
  // counts as one entry of the page, as in S3's ListObjectsV2.
  std::string delimiter{};
};

struct ListObjectsPage {
  std::vector<ObjectInfo> objects;             // the latest version of each key, keys in byte order
  std::vector<std::string> common_prefixes{};  // in byte order; only with a delimiter
  std::string next_continuation_token;         // empty on the last page
};

// A multipart upload in progress.
struct MultipartUpload {
  std::string upload_id;  // 32 lower-case hex digits
  std::string bucket;
  std::string key;
  std::chrono::system_clock::time_point initiated;
  PutOptions options;  // what the completed object will record
  bool operator==(const MultipartUpload&) const = default;
};

// One uploaded part of a multipart upload.
struct PartInfo {
  int part_number = 0;  // 1..10000
  std::string etag;     // hex MD5 of the part
  uint64_t size = 0;
  std::chrono::system_clock::time_point last_modified;
  bool operator==(const PartInfo&) const = default;
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

  // A bucket's named configuration document (versioning, lifecycle,
  // encryption: the S3 API keeps their XML as sent), replaced atomically and
  // durably. `name` is 1-32 characters of a-z and '-'. An empty `text`
  // removes it. Fails with NoSuchBucket or kIo.
  Status put_bucket_config(std::string_view bucket, std::string_view name, std::string_view text);
  // The document, or std::nullopt when none was put. Fails with NoSuchBucket or kIo.
  Result<std::optional<std::string>> get_bucket_config(std::string_view bucket,
                                                       std::string_view name) const;

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
                                std::string_view bytes, const PutOptions& options = {});
  // The same, with the content of the file at `file`.
  Result<ObjectInfo> put_object_from_file(std::string_view bucket, std::string_view key,
                                          const std::filesystem::path& file,
                                          const PutOptions& options = {});
  // The same, with everything `fd` reads from its current offset to its end.
  // `fd` stays open and owned by the caller.
  Result<ObjectInfo> put_object_from_fd(std::string_view bucket, std::string_view key, int fd,
                                        const PutOptions& options = {});

  // Makes a delete marker the latest version of `key` (S3's DeleteObject in
  // a versioned bucket): the key reads as absent, its versions stay. Returns
  // the marker. Fails with NoSuchBucket, InvalidKey or kIo.
  Result<ObjectInfo> put_delete_marker(std::string_view bucket, std::string_view key);

  // The version `version_id`, or the latest when it is empty. Fail with
  // NoSuchBucket, NoSuchKey or NoSuchVersion; NoSuchKey also when the chosen
  // version is a delete marker (the message says so).
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

  // Every version of `key`, newest first, delete markers included. NoSuchKey
  // when it has none.
  Result<std::vector<ObjectInfo>> list_object_versions(std::string_view bucket,
                                                       std::string_view key) const;

  // Every key of the bucket that starts with `prefix` and has at least one
  // version (a delete marker counts), in byte order.
  Result<std::vector<std::string>> list_keys(std::string_view bucket,
                                             std::string_view prefix) const;

  // One page of keys that start with `request.prefix`, in byte order, after
  // `request.continuation_token`. Fails with NoSuchBucket, or kInvalidArgument
  // when max_keys is outside 1..1000.
  Result<ListObjectsPage> list_objects(std::string_view bucket,
                                       const ListObjectsRequest& request) const;

  // --- Multipart uploads (staged in <root>/.uploads/<upload id>/) ---

  // Starts an upload; returns its id. Fails with NoSuchBucket or InvalidKey.
  Result<std::string> create_multipart_upload(std::string_view bucket, std::string_view key,
                                              const PutOptions& options);
  // Stores part `part_number` (1..10000) from everything `fd` reads,
  // replacing an earlier part of that number. Fails with NoSuchUpload,
  // InvalidArgument (part number), EntityTooLarge or kIo.
  Result<PartInfo> upload_part(std::string_view bucket, std::string_view key,
                               std::string_view upload_id, int part_number, int fd);
  // The upload's parts, by number. NoSuchUpload when it does not exist.
  Result<std::vector<PartInfo>> list_parts(std::string_view bucket, std::string_view key,
                                           std::string_view upload_id) const;
  // The uploads in progress in `bucket`, by key then initiation.
  Result<std::vector<MultipartUpload>> list_multipart_uploads(std::string_view bucket) const;
  // The upload itself. NoSuchUpload when it does not exist.
  Result<MultipartUpload> get_multipart_upload(std::string_view bucket, std::string_view key,
                                               std::string_view upload_id) const;
  // Discards the upload and its parts. NoSuchUpload when it does not exist.
  Status abort_multipart_upload(std::string_view bucket, std::string_view key,
                                std::string_view upload_id);
  // Puts the concatenation of `parts` ((part number, ETag) in ascending
  // order) as a new version of the key, whose ETag is S3's multipart ETag:
  // hex MD5 of the parts' binary MD5s, "-", the part count. The upload is
  // then gone. `replace` as in PutOptions. Fails with NoSuchUpload, InvalidPart (a part missing or
  // with another ETag), InvalidPartOrder, EntityTooSmall, or as a put does.
  Result<ObjectInfo> complete_multipart_upload(
      std::string_view bucket, std::string_view key, std::string_view upload_id,
      const std::vector<std::pair<int, std::string>>& parts, bool replace = false);

 private:
  ObjectStore(ObjectStoreOptions options, WriteSyscalls& syscalls);

  struct Source;  // where the bytes of a put come from (object_store.cc)
  Result<ObjectInfo> put_from_source(std::string_view bucket, std::string_view key, Source& source,
                                     const PutOptions& options, const std::string& etag_override);

  ObjectStoreOptions options_;
  WriteSyscalls& syscalls_;
  mutable std::mutex mu_;  // guards the namespace: directories, renames, unlinks
};

}  // namespace stageline::artifacts
