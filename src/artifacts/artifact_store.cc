#include "artifacts/artifact_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "artifacts/file_util.h"
#include "base/strings.h"

namespace stageline::artifacts {

namespace fs = std::filesystem;

namespace {

constexpr size_t kPipelinePrefixChars = 20;
constexpr size_t kArtifactPrefixChars = 10;
constexpr size_t kRandomSuffixChars = 7;

// Adds the failure to remove a scratch directory to `status`, or turns a
// success into that failure.
Status remove_scratch(const fs::path& dir, Status status) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!ec) return status;
  std::string cleanup = "remove scratch directory " + dir.string() + ": " + ec.message();
  if (status.ok()) return Status::io(cleanup);
  return Status(status.code(), status.message() + "; also " + cleanup);
}

}  // namespace

ArtifactStore::ArtifactStore(ObjectStore& objects, ObjectCipher& cipher,
                             ArtifactStoreOptions options)
    : objects_(objects), cipher_(cipher), options_(std::move(options)) {}

std::string ArtifactStore::key_prefix(std::string_view pipeline, std::string_view artifact_name) {
  return std::string(pipeline.substr(0, kPipelinePrefixChars)) + "/" +
         std::string(artifact_name.substr(0, kArtifactPrefixChars)) + "/";
}

Result<fs::path> ArtifactStore::make_scratch() const {
  std::error_code ec;
  fs::create_directories(options_.scratch_dir, ec);
  if (ec) return Status::io("create " + options_.scratch_dir.string() + ": " + ec.message());
  auto suffix = random_hex(8);
  if (!suffix.ok()) return suffix.status();
  fs::path dir = options_.scratch_dir / ("artifact-" + *suffix);
  if (::mkdir(dir.c_str(), 0700) != 0) return errno_status("create " + dir.string(), errno);
  return dir;
}

Result<std::string> ArtifactStore::new_key(std::string_view bucket, std::string_view pipeline,
                                           std::string_view artifact_name) const {
  if (pipeline.empty() || artifact_name.empty()) {
    return Status::invalid("the pipeline and artifact names must not be empty");
  }
  // Before zipping anything: a missing bucket is the likeliest mistake.
  if (auto s = objects_.head_bucket(bucket); !s.ok()) return s;
  auto suffix = random_alnum(kRandomSuffixChars);
  if (!suffix.ok()) return suffix.status();
  std::string key = key_prefix(pipeline, artifact_name) + *suffix;
  if (auto s = ObjectStore::validate_key(key); !s.ok()) return s;
  return key;
}

Result<StoredArtifact> ArtifactStore::seal_and_put(std::string_view bucket, const std::string& key,
                                                   std::string_view encryption_key, UniqueFd plain,
                                                   const fs::path& scratch) {
  auto sealed = cipher_.seal({std::string(bucket), key, std::string(encryption_key)},
                             std::move(plain), scratch);
  if (!sealed.ok()) return sealed.status().with_context("seal with " + std::string(cipher_.name()));
  auto info = objects_.put_object_from_fd(bucket, key, sealed->get());
  if (!info.ok()) return info.status();
  return StoredArtifact{{std::string(bucket), key, info->version_id, info->etag}, info->size, {}};
}

Result<StoredArtifact> ArtifactStore::put_artifact(std::string_view bucket,
                                                   std::string_view pipeline,
                                                   std::string_view artifact_name,
                                                   const fs::path& source_dir,
                                                   const std::vector<std::string>& globs,
                                                   std::string_view encryption_key) {
  const std::string what = "store artifact " + quote(artifact_name) + " of pipeline " +
                           quote(pipeline) + " in bucket " + quote(bucket);
  auto key = new_key(bucket, pipeline, artifact_name);
  if (!key.ok()) return key.status().with_context(what);
  auto scratch = make_scratch();
  if (!scratch.ok()) return scratch.status().with_context(what);
  auto stored = [&]() -> Result<StoredArtifact> {
    fs::path zip_path = *scratch / "artifact.zip";
    auto contents = create_zip(source_dir, zip_path, globs);
    if (!contents.ok()) return contents.status();
    UniqueFd plain(::open(zip_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!plain.valid()) return errno_status("open " + zip_path.string(), errno);
    auto put = seal_and_put(bucket, *key, encryption_key, std::move(plain), *scratch);
    if (!put.ok()) return put.status();
    put->contents = std::move(*contents);
    return put;
  }();
  Status status = remove_scratch(*scratch, stored.ok() ? Status() : stored.status());
  if (!status.ok()) return status.with_context(what);
  return stored;
}

Result<StoredArtifact> ArtifactStore::put_artifact_file(std::string_view bucket,
                                                        std::string_view pipeline,
                                                        std::string_view artifact_name,
                                                        const fs::path& zip_path,
                                                        std::string_view encryption_key) {
  const std::string what = "store artifact " + quote(artifact_name) + " of pipeline " +
                           quote(pipeline) + " in bucket " + quote(bucket) + " from " +
                           zip_path.string();
  UniqueFd plain(::open(zip_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!plain.valid()) {
    int err = errno;
    if (err == ENOENT) return Status::not_found(what + ": no such file");
    return errno_status(what + ": open", err);
  }
  struct stat st {};
  if (::fstat(plain.get(), &st) != 0) return errno_status(what + ": stat", errno);
  if (!S_ISREG(st.st_mode)) return Status::invalid(what + ": not a regular file");
  auto key = new_key(bucket, pipeline, artifact_name);
  if (!key.ok()) return key.status().with_context(what);
  auto scratch = make_scratch();
  if (!scratch.ok()) return scratch.status().with_context(what);
  auto stored = seal_and_put(bucket, *key, encryption_key, std::move(plain), *scratch);
  Status status = remove_scratch(*scratch, stored.ok() ? Status() : stored.status());
  if (!status.ok()) return status.with_context(what);
  return stored;
}

Result<ExtractResult> ArtifactStore::fetch_artifact(const model::ArtifactLocation& location,
                                                    const fs::path& target_dir,
                                                    const ExtractLimits& limits) {
  const std::string what = "fetch artifact " + quote(location.bucket + "/" + location.key) +
                           (location.version_id.empty() ? "" : " version " + location.version_id);
  auto object = objects_.open_object(location.bucket, location.key, location.version_id);
  if (!object.ok()) return object.status().with_context(what);
  if (!location.etag.empty() && object->info.etag != location.etag) {
    return Status(StatusCode::kFailedPrecondition,
                  what + ": the stored object's ETag is " + object->info.etag + ", not the " +
                      location.etag + " recorded for the artifact");
  }
  auto scratch = make_scratch();
  if (!scratch.ok()) return scratch.status().with_context(what);
  auto extracted = [&]() -> Result<ExtractResult> {
    auto plain =
        cipher_.unseal({location.bucket, location.key, ""}, std::move(object->fd), *scratch);
    if (!plain.ok())
      return plain.status().with_context("unseal with " + std::string(cipher_.name()));
    return extract_zip_fd(std::move(*plain), quote(location.bucket + "/" + location.key),
                          target_dir, limits);
  }();
  Status status = remove_scratch(*scratch, extracted.ok() ? Status() : extracted.status());
  if (!status.ok()) return status.with_context(what);
  return extracted;
}

}  // namespace stageline::artifacts
