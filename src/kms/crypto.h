// kms/crypto: the symmetric primitives the key ring and the envelope cipher
// need (AES-256-GCM, random bytes, base64, wiping secrets), behind plain
// functions so that crypto.cc is the only file of the module that includes
// OpenSSL headers. Every function is thread-safe (OpenSSL 3 one-shot calls
// keep no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stageline::kms {

constexpr size_t kAesKeyBytes = 32;    // AES-256
constexpr size_t kGcmNonceBytes = 12;  // 96-bit IV, GCM's natural size
constexpr size_t kGcmTagBytes = 16;

// `n` bytes from OpenSSL's CSPRNG. kInternal when it cannot be seeded.
Result<std::string> random_bytes(size_t n);

// AES-256-GCM: returns ciphertext || 16-byte tag. `aad` is authenticated,
// not encrypted.
// REQUIRES: key.size() == kAesKeyBytes, nonce.size() == kGcmNonceBytes.
Result<std::string> gcm_seal(std::string_view key, std::string_view nonce, std::string_view aad,
                             std::string_view plaintext);

// The inverse of gcm_seal. kInvalidArgument ("authentication failed") when
// the tag does not match: a wrong key, nonce or AAD, or altered bytes.
// REQUIRES: as gcm_seal.
Result<std::string> gcm_open(std::string_view key, std::string_view nonce, std::string_view aad,
                             std::string_view sealed);

// Overwrites `secret` with zeros in a way the compiler keeps, then clears it.
void wipe(std::string& secret);

// Standard base64 with padding (RFC 4648 section 4), as AWS JSON sends blobs.
std::string base64_encode(std::string_view bytes);
// kInvalidArgument unless `text` is padded standard base64.
Result<std::string> base64_decode(std::string_view text);

}  // namespace stageline::kms
