#include "kms/crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>
#include <memory>

namespace stageline::kms {

namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string openssl_error(const char* what) {
  unsigned long code = ERR_get_error();
  char buf[256] = {};
  if (code != 0) ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + (code != 0 ? std::string(": ") + buf : "");
}

// OpenSSL takes int lengths; segments and blobs are far below INT_MAX, but a
// caller bug must not wrap around.
bool fits(std::string_view s) { return s.size() <= static_cast<size_t>(INT_MAX / 2); }

}  // namespace

Result<std::string> random_bytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Status::internal(openssl_error("random bytes"));
  }
  return out;
}

Result<std::string> gcm_seal(std::string_view key, std::string_view nonce, std::string_view aad,
                             std::string_view plaintext) {
  STAGELINE_CHECK(key.size() == kAesKeyBytes && nonce.size() == kGcmNonceBytes);
  if (!fits(plaintext) || !fits(aad)) return Status::invalid("AES-GCM input too large");
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::internal(openssl_error("AES-GCM context"));
  std::string out(plaintext.size() + kGcmTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key), bytes(nonce)) != 1) {
    return Status::internal(openssl_error("AES-GCM init"));
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1) {
    return Status::internal(openssl_error("AES-GCM aad"));
  }
  int total = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), o, &len, bytes(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return Status::internal(openssl_error("AES-GCM encrypt"));
    }
    total = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), o + total, &len) != 1)
    return Status::internal(openssl_error("AES-GCM final"));
  total += len;
  STAGELINE_CHECK(static_cast<size_t>(total) == plaintext.size());
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes),
                          o + total) != 1) {
    return Status::internal(openssl_error("AES-GCM tag"));
  }
  return out;
}

Result<std::string> gcm_open(std::string_view key, std::string_view nonce, std::string_view aad,
                             std::string_view sealed) {
  STAGELINE_CHECK(key.size() == kAesKeyBytes && nonce.size() == kGcmNonceBytes);
  if (sealed.size() < kGcmTagBytes) return Status::invalid("authentication failed: too short");
  if (!fits(sealed) || !fits(aad)) return Status::invalid("AES-GCM input too large");
  std::string_view body = sealed.substr(0, sealed.size() - kGcmTagBytes);
  std::string tag(sealed.substr(body.size()));
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::internal(openssl_error("AES-GCM context"));
  std::string out(body.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key), bytes(nonce)) != 1) {
    return Status::internal(openssl_error("AES-GCM init"));
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1) {
    return Status::internal(openssl_error("AES-GCM aad"));
  }
  int total = 0;
  if (!body.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), o, &len, bytes(body), static_cast<int>(body.size())) != 1) {
      return Status::internal(openssl_error("AES-GCM decrypt"));
    }
    total = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes),
                          tag.data()) != 1) {
    return Status::internal(openssl_error("AES-GCM tag"));
  }
  if (EVP_DecryptFinal_ex(ctx.get(), o + total, &len) != 1) {
    ERR_clear_error();
    wipe(out);
    return Status::invalid("authentication failed");
  }
  return out;
}

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v =
        (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (rest == 2) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::invalid("base64 length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return Status::invalid("base64 padding in the middle");
      v[j] = decode_char(c);
      if (v[j] < 0) return Status::invalid("not a base64 character");
    }
    uint32_t n =
        (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out += char((n >> 16) & 0xff);
    if (pad < 2) out += char((n >> 8) & 0xff);
    if (pad < 1) out += char(n & 0xff);
  }
  return out;
}

}  // namespace stageline::kms
