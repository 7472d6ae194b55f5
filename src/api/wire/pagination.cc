#include "api/wire/pagination.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <boost/json.hpp>

#include "api/wire/json_text.h"

namespace stageline::wire {

namespace json = boost::json;

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kMaxTokenLength = 2048;  // botocore's NextToken max

Error invalid_token(std::string detail) {
  Error e;
  e.type = "InvalidNextTokenException";
  // AWS's text for CodePipeline is not on record; this one says what to do.
  e.message = "The next token is not valid; start over without a nextToken.";
  e.http_status = 400;
  e.detail = std::move(detail);
  return e;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  if (i < bytes.size()) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    if (i + 1 < bytes.size()) out.push_back(kAlphabet[(n >> 6) & 63]);
  }
  return out;
}

bool base64url_decode(std::string_view text, std::string* out) {
  out->clear();
  if (text.size() % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = std::find(kAlphabet, kAlphabet + 64, c);
    if (p == kAlphabet + 64 || c == '\0') return false;
    acc = (acc << 6) | static_cast<uint32_t>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero, so each token has exactly one spelling.
  return (acc & ((1u << bits) - 1)) == 0;
}

PageTokens::PageTokens(std::string key) : key_(std::move(key)) {
  STAGELINE_CHECK(key_.size() >= 16);
}

std::string PageTokens::sign(std::string_view payload) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  const unsigned char* ok =
      HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &mac_len);
  STAGELINE_CHECK(ok != nullptr);
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

std::string PageTokens::issue(std::string_view operation, std::string_view scope,
                              const json::value& position) const {
  json::object payload;
  payload["o"] = operation;
  payload["s"] = scope;
  payload["p"] = position;
  const std::string text = to_json(payload);
  std::string token = base64url_encode(text) + "." + base64url_encode(sign(text));
  STAGELINE_CHECK(token.size() <= kMaxTokenLength);
  return token;
}

Outcome<json::value> PageTokens::redeem(std::string_view operation, std::string_view scope,
                                        std::string_view token) const {
  if (token.size() > kMaxTokenLength) return invalid_token("token too long");
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos) return invalid_token("no signature");
  std::string payload, mac;
  if (!base64url_decode(token.substr(0, dot), &payload) ||
      !base64url_decode(token.substr(dot + 1), &mac)) {
    return invalid_token("not base64url");
  }
  const std::string expected = sign(payload);
  if (mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) != 0) {
    return invalid_token("signature does not match");
  }
  boost::system::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return invalid_token("payload is not a JSON object");
  const json::object& o = v.as_object();
  const json::value* op = o.if_contains("o");
  const json::value* sc = o.if_contains("s");
  const json::value* pos = o.if_contains("p");
  if (!op || !sc || !pos || !op->is_string() || !sc->is_string()) {
    return invalid_token("payload lacks o, s or p");
  }
  if (op->as_string() != operation) {
    return invalid_token("issued for " + std::string(op->as_string()));
  }
  if (sc->as_string() != scope) return invalid_token("issued for another scope");
  return *pos;
}

int64_t page_size(const Operation& operation, const json::object& input, std::string_view member,
                  int64_t fallback) {
  STAGELINE_CHECK(operation.input != nullptr);
  const Member* m = operation.input->find_member(member);
  STAGELINE_CHECK(m != nullptr &&
                  (m->shape->type == ShapeType::kInteger || m->shape->type == ShapeType::kLong));
  int64_t n = fallback;
  if (const json::value* v = input.if_contains(member); v && v->is_int64()) n = v->as_int64();
  if (m->shape->min) n = std::max(n, m->shape->min->i);
  if (m->shape->max) n = std::min(n, m->shape->max->i);
  return n;
}

}  // namespace stageline::wire
