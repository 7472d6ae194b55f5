// artifacts: the artifact store. Pipeline artifacts are zip archives kept as
// objects in an S3-like store on the local disk (object_store.h), under the
// key layout CodePipeline uses, passed through an ObjectCipher (the seam for
// encryption at rest). zip.h packs and safely unpacks them; glob.h chooses
// their files. Formats, layouts and limits: docs/artifact-store.md.
//
// May depend on base and model only (plus OpenSSL and libzip). It knows
// nothing of the engine, the store (SQL) or the API; the engine reaches it
// through ArtifactStore, and records the ArtifactLocation it returns.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "artifacts/object_cipher.h"
#include "artifacts/object_store.h"
#include "artifacts/zip.h"
#include "base/status.h"
#include "model/execution.h"

namespace stageline::artifacts {

struct ArtifactStoreOptions {
  // Where zips are built and sealed objects decrypted, in a fresh
  // subdirectory per call that is removed before the call returns. Normally
  // <data dir>/tmp; created if missing.
  std::filesystem::path scratch_dir;
};

// One stored output artifact.
struct StoredArtifact {
  model::ArtifactLocation location;  // bucket, key, version_id, etag of the stored object
  uint64_t size_bytes = 0;           // of the stored object (the zip, sealed)
  CreateZipResult contents;          // what went into the zip, and what was skipped
};

// Stores output artifacts and fetches input artifacts for actions. Owned by
// the composition root; borrows the ObjectStore and the ObjectCipher, which
// must outlive it. Thread-safe: calls share no state but the object store.
class ArtifactStore {
 public:
  ArtifactStore(ObjectStore& objects, ObjectCipher& cipher, ArtifactStoreOptions options);

  // The key prefix CodePipeline gives an artifact: the first 20 characters
  // of the pipeline name, '/', the first 10 of the artifact name, '/'
  // (reference §13). Names are ASCII by CodePipeline's rules, so a character
  // is a byte.
  static std::string key_prefix(std::string_view pipeline, std::string_view artifact_name);

  // Zips the files of `source_dir` that `globs` select (create_zip), seals
  // the zip, and stores it in `bucket` under key_prefix() + 7 random
  // alphanumerics (no ".zip" suffix, as in CodePipeline's GitHub-sourced
  // examples). Fails with the errors of create_zip (nothing to pack, bad
  // glob, unreadable file) and of ObjectStore::put_object_from_fd
  // (NoSuchBucket, EntityTooLarge, disk full), with context.
  // `encryption_key` is the pipeline's artifactStore.encryptionKey.id (empty
  // when it names none): the cipher seals with it (CipherContext::kms_key),
  // and fails, naming the key and the object, when it is missing, disabled
  // or pending deletion.
  Result<StoredArtifact> put_artifact(std::string_view bucket, std::string_view pipeline,
                                      std::string_view artifact_name,
                                      const std::filesystem::path& source_dir,
                                      const std::vector<std::string>& globs,
                                      std::string_view encryption_key = {});

  // Stores an archive that is already built (a source provider's zip of a
  // commit, src/sources): seals the file at `zip_path` and stores it under
  // the same key layout as put_artifact. The file is only read; the caller
  // keeps and removes it. `contents` of the result is left empty (the caller
  // knows what it packed). Fails with kNotFound when `zip_path` is missing,
  // kInvalidArgument when it is not a regular file, and with the errors of
  // ObjectStore::put_object_from_fd, with context. `encryption_key` as for
  // put_artifact.
  Result<StoredArtifact> put_artifact_file(std::string_view bucket, std::string_view pipeline,
                                           std::string_view artifact_name,
                                           const std::filesystem::path& zip_path,
                                           std::string_view encryption_key = {});

  // Extracts the artifact at `location` into `target_dir` (empty or missing)
  // under `limits`. An empty version_id means the latest version. When
  // `location.etag` is set and the stored object's ETag differs, fails with
  // kFailedPrecondition instead of extracting something else. Otherwise the
  // errors of ObjectStore::open_object (NoSuchBucket, NoSuchKey,
  // NoSuchVersion), of the cipher (a sealed object whose key is missing,
  // disabled or pending deletion, or whose bytes were altered; the message
  // names the key and the object) and of extract_zip (refused entries,
  // limits, corrupt archive), with context. A sealed object names its key,
  // so fetching needs none.
  Result<ExtractResult> fetch_artifact(const model::ArtifactLocation& location,
                                       const std::filesystem::path& target_dir,
                                       const ExtractLimits& limits);

 private:
  Result<std::filesystem::path> make_scratch() const;
  // The key for a new artifact, after checking the names and the bucket.
  Result<std::string> new_key(std::string_view bucket, std::string_view pipeline,
                              std::string_view artifact_name) const;
  // Seals the plaintext in `plain` (using `scratch`) and stores it at
  // bucket/key.
  Result<StoredArtifact> seal_and_put(std::string_view bucket, const std::string& key,
                                      std::string_view encryption_key, UniqueFd plain,
                                      const std::filesystem::path& scratch);

  ObjectStore& objects_;
  ObjectCipher& cipher_;
  ArtifactStoreOptions options_;
};

}  // namespace stageline::artifacts
