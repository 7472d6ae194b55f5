// secrets/sealer: how parameter and secret values are encrypted before they
// reach the store (docs/secrets.md, "Encryption at rest").
//
// A ValueSealer turns a plaintext into an opaque sealed blob and back. The
// `context` is bound to the blob (authenticated, not stored): a blob opened
// under another context fails, so a stored value cannot be moved to another
// parameter or secret by editing the database. FileKeySealer is the one
// implementation today: AES-256-GCM under a 32-byte key kept in a 0600 file
// of the data directory. When the KMS key ring (src/kms) lands, a sealer
// backed by it can replace this one behind the same interface.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stageline::secrets {

// Thread-safe implementations only: builds resolve values on their own
// threads while the API answers on the control thread.
class ValueSealer {
 public:
  virtual ~ValueSealer() = default;
  // The sealed form of `plaintext` (binary). kIo when the cipher fails.
  virtual Result<std::string> seal(std::string_view plaintext, std::string_view context) = 0;
  // The plaintext of `sealed`. kInvalidArgument when the blob is malformed,
  // was sealed under another key or context, or was altered.
  virtual Result<std::string> open(std::string_view sealed, std::string_view context) = 0;
};

// Blob layout: "SLV1" | 12-byte random nonce | ciphertext | 16-byte GCM tag,
// with `context` as the additional authenticated data.
class FileKeySealer final : public ValueSealer {
 public:
  // Reads the key at `path`, or creates it (32 random bytes, mode 0600, its
  // directory must exist). kIo when it cannot be read or written;
  // kInvalidArgument when the file is not 32 bytes or is readable by others.
  static Result<std::unique_ptr<FileKeySealer>> open_key_file(const std::filesystem::path& path);
  // For tests: a sealer under a given key.
  explicit FileKeySealer(const std::array<unsigned char, 32>& key) : key_(key) {}

  Result<std::string> seal(std::string_view plaintext, std::string_view context) override;
  Result<std::string> open(std::string_view sealed, std::string_view context) override;

 private:
  std::array<unsigned char, 32> key_;
};

// Standard base64 with padding, and back (kInvalidArgument on bad input).
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

}  // namespace stageline::secrets
