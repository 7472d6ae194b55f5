// api/sigv4/crypto: the few OpenSSL primitives SigV4 needs, behind plain
// functions so no other file of the module includes OpenSSL headers.
// Thread-safe (OpenSSL 3 one-shot calls keep no shared state).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stageline::api::sigv4 {

using Digest = std::array<uint8_t, 32>;

Digest sha256(std::string_view data);
Digest hmac_sha256(std::string_view key, std::string_view data);
std::string hex(const Digest& d);

// Lower-case hex of SHA-256(data): the payload hash of the canonical request.
std::string sha256_hex(std::string_view data);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
Digest signing_key(std::string_view secret, std::string_view date, std::string_view region,
                   std::string_view service);

// True when a == b, in time that depends only on the sizes (CRYPTO_memcmp), so a
// caller comparing signatures leaks nothing about how many bytes matched.
bool constant_time_equals(std::string_view a, std::string_view b);

// `n` bytes from OpenSSL's CSPRNG (RAND_bytes); an error when it is not seeded.
Result<std::string> random_bytes(size_t n);

}  // namespace stageline::api::sigv4
