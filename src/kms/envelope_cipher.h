// kms/envelope_cipher: encryption at rest of artifact objects (issue #6).
// Each sealed object gets a fresh 256-bit data key, wrapped by a KeyRing key
// (the pipeline's artifactStore.encryptionKey, or the bucket's default
// encryption), and is streamed through AES-256-GCM in segments, so memory
// stays bounded however big the artifact. The format (header with magic,
// version, key ARN and wrapped data key; segments each with their own nonce
// and tag, whose index and final flag are authenticated so truncation and
// reordering are detected; the bucket and key bound as AAD) is documented in
// docs/kms.md. See key_ring.h for the module.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "artifacts/object_cipher.h"
#include "artifacts/object_store.h"
#include "kms/key_ring.h"

namespace stageline::kms {

struct EnvelopeCipherOptions {
  // Plaintext bytes per segment. Memory per seal or unseal is about twice
  // this. Tests lower it to exercise many segments with small objects.
  size_t segment_bytes = size_t{1} << 20;
};

// The first bytes of every sealed object.
inline constexpr std::string_view kEnvelopeMagic = "SLKMSENV";

// An artifacts::ObjectCipher that seals with envelope encryption. Borrows
// the key ring and the object store (for bucket default encryption), which
// must outlive it. Thread-safe: it keeps no state between calls.
//
// Which key seals an object: CipherContext::kms_key when set (a key id, key
// ARN, alias name or alias ARN); otherwise the bucket's default encryption
// (the S3 API's PutBucketEncryption document): aws:kms with KMSMasterKeyID
// uses that key, aws:kms without one and AES256 use alias/aws/s3 (made on
// first use); a bucket without default encryption stores plaintext.
//
// unseal() reads sealed objects and, unchanged, objects that do not start
// with kEnvelopeMagic (zips stored before encryption was turned on, or by an
// unencrypted pipeline).
class EnvelopeCipher final : public artifacts::ObjectCipher {
 public:
  EnvelopeCipher(KeyRing& keys, const artifacts::ObjectStore& objects,
                 EnvelopeCipherOptions options = {});

  std::string_view name() const override { return "aes256-gcm-envelope"; }

  // Fails (naming the key and the object) with the KeyRing's errors for a
  // missing, disabled or pending-deletion key; kIo for the disk.
  Result<artifacts::UniqueFd> seal(const artifacts::CipherContext& context,
                                   artifacts::UniqueFd plaintext,
                                   const std::filesystem::path& scratch_dir) override;

  // Fails (naming the key and the object) with kInvalidArgument for a sealed
  // object that is altered, truncated, reordered or stored under another
  // bucket or key, and with the KeyRing's errors for its key.
  Result<artifacts::UniqueFd> unseal(const artifacts::CipherContext& context,
                                     artifacts::UniqueFd stored,
                                     const std::filesystem::path& scratch_dir) override;

  // The key reference that seal() would use for `context`, or "" when the
  // object would be stored in plaintext. Fails when the bucket's encryption
  // document cannot be read.
  Result<std::string> key_for(const artifacts::CipherContext& context);

 private:
  KeyRing& keys_;
  const artifacts::ObjectStore& objects_;
  EnvelopeCipherOptions options_;
};

}  // namespace stageline::kms
