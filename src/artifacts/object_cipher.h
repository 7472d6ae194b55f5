// artifacts/object_cipher: the seam where artifacts are encrypted at rest.
// ArtifactStore passes every zip through seal() before it is stored and every
// stored object through unseal() before it is extracted. PassThroughCipher
// stores plaintext; kms::EnvelopeCipher (src/kms) wraps a per-object
// AES-256-GCM data key with a KMS key (docs/kms.md).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "artifacts/unique_fd.h"
#include "base/status.h"

namespace stageline::artifacts {

// Which object a seal or unseal is for. An encrypting implementation binds
// the ciphertext to it (as additional authenticated data), so an object
// copied to another key does not decrypt.
struct CipherContext {
  std::string bucket;
  std::string key;
  // The KMS key to seal with (a key id, key ARN, alias name or alias ARN:
  // the pipeline's artifactStore.encryptionKey.id). Empty: the bucket's
  // default encryption decides. unseal() ignores it: a sealed object names
  // its own key.
  std::string kms_key{};
};

// Turns plaintext into the bytes that are stored, and back. A sealed object
// must be self-describing (an encrypting implementation writes the wrapped
// data key and nonce in a header), because the store keeps no other metadata.
// Implementations are shared by every thread of the server and must be
// thread-safe.
class ObjectCipher {
 public:
  virtual ~ObjectCipher() = default;

  // A short name for logs and docs: "none", later e.g. "aes256-gcm-envelope".
  virtual std::string_view name() const = 0;

  // Returns a descriptor, positioned at 0, of the bytes to store for the
  // plaintext that `plaintext` reads from offset 0. It may be `plaintext`
  // itself, or a new file the implementation creates in `scratch_dir` (and
  // unlinks, or leaves for the caller to remove with the directory).
  virtual Result<UniqueFd> seal(const CipherContext& context, UniqueFd plaintext,
                                const std::filesystem::path& scratch_dir) = 0;

  // The inverse of seal(): a descriptor, positioned at 0, of the plaintext.
  // Fails (kInvalidArgument) when the stored bytes are not a valid sealed
  // object for `context`.
  virtual Result<UniqueFd> unseal(const CipherContext& context, UniqueFd stored,
                                  const std::filesystem::path& scratch_dir) = 0;
};

// Stores plaintext: seal() and unseal() hand back the descriptor they get.
class PassThroughCipher final : public ObjectCipher {
 public:
  std::string_view name() const override { return "none"; }
  Result<UniqueFd> seal(const CipherContext&, UniqueFd plaintext,
                        const std::filesystem::path&) override {
    return plaintext;
  }
  Result<UniqueFd> unseal(const CipherContext&, UniqueFd stored,
                          const std::filesystem::path&) override {
    return stored;
  }
};

}  // namespace stageline::artifacts
