#include "api/sigv4/crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace stageline::api::sigv4 {

namespace {
std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}
}  // namespace

Digest sha256(std::string_view data) {
  Digest d{};
  unsigned int len = 0;
  // EVP_Digest fails only on allocation failure or a missing provider: both
  // leave the process unable to authenticate anything, so they are bugs here.
  STAGELINE_CHECK(EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr) == 1);
  STAGELINE_CHECK(len == d.size());
  return d;
}

Digest hmac_sha256(std::string_view key, std::string_view data) {
  Digest d{};
  unsigned int len = 0;
  STAGELINE_CHECK(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data(),
                       &len) != nullptr);
  STAGELINE_CHECK(len == d.size());
  return d;
}

std::string hex(const Digest& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(d.size() * 2);
  for (uint8_t b : d) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view data) { return hex(sha256(data)); }

Digest signing_key(std::string_view secret, std::string_view date, std::string_view region,
                   std::string_view service) {
  auto view = [](const Digest& d) {
    return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
  };
  std::string k_secret = "AWS4";
  k_secret += secret;
  Digest k_date = hmac_sha256(k_secret, date);
  OPENSSL_cleanse(k_secret.data(), k_secret.size());
  Digest k_region = hmac_sha256(view(k_date), region);
  Digest k_service = hmac_sha256(view(k_region), service);
  return hmac_sha256(view(k_service), "aws4_request");
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> random_bytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    return Status::internal("read " + std::to_string(n) +
                            " random bytes (RAND_bytes): " + openssl_error());
  return out;
}

}  // namespace stageline::api::sigv4
