#include "console/sessions.h"

#include "api/sigv4/crypto.h"

namespace stageline::console {

namespace {

constexpr int64_t kMinuteMs = 60 * 1000;

// 32 random bytes as unpadded base64url: 43 characters a cookie carries as is.
Result<std::string> random_token() {
  auto bytes = api::sigv4::random_bytes(32);
  if (!bytes.ok()) return bytes.status();
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : *bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

}  // namespace

bool tokens_equal(std::string_view a, std::string_view b) {
  return api::sigv4::constant_time_equals(a, b);
}

Sessions::Sessions(api::sigv4::KeySource& keys, Options options)
    : keys_(keys), options_(std::move(options)) {}

bool Sessions::throttled(const std::string& peer, int64_t now) {
  auto it = failures_.find(peer);
  if (it == failures_.end()) return false;
  if (now - it->second.first >= kMinuteMs) {
    failures_.erase(it);
    return false;
  }
  return it->second.second >= options_.max_failures_per_minute;
}

Result<Session> Sessions::sign_in(std::string_view access_key_id, std::string_view secret,
                                  std::string_view peer_address) {
  const int64_t now = options_.now_ms();
  const std::string peer(peer_address);
  if (throttled(peer, now))
    return Status(StatusCode::kFailedPrecondition,
                  "Too many failed sign-ins from this address; try again in a minute");
  std::optional<api::sigv4::Key> key;
  if (!access_key_id.empty()) key = keys_.find(access_key_id);
  // The secret is compared even for an unknown id, against itself, so the
  // time taken does not tell which ids exist.
  const bool secret_ok = key ? tokens_equal(key->secret, secret) : tokens_equal(secret, secret);
  if (!key || !secret_ok || !key->enabled) {
    auto [it, added] = failures_.try_emplace(peer, now, 0);
    if (!added && now - it->second.first >= kMinuteMs) it->second = {now, 0};
    ++it->second.second;
    // The table of addresses stays small: forget windows that are over.
    if (failures_.size() > 10000)
      std::erase_if(failures_, [now](const auto& f) { return now - f.second.first >= kMinuteMs; });
    return Status::invalid("The access key ID or secret access key is not valid");
  }
  auto token = random_token();
  if (!token.ok()) return token.status();
  auto csrf = random_token();
  if (!csrf.ok()) return csrf.status();
  // Over the limit, the session used longest ago makes room.
  if (sessions_.size() >= options_.max_sessions) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
      if (it->second.last_used_ms < oldest->second.last_used_ms) oldest = it;
    if (options_.store) options_.store->remove(oldest->first);
    persisted_.erase(oldest->first);
    sessions_.erase(oldest);
  }
  Session s;
  s.token = *token;
  s.csrf_token = *csrf;
  s.access_key_id = key->access_key_id;
  s.principal = key->principal;
  s.created_ms = now;
  s.last_used_ms = now;
  const std::string hash = api::sigv4::sha256_hex(s.token);
  sessions_[hash] = s;
  if (options_.store) {
    Session stored = s;
    stored.token.clear();
    options_.store->put(hash, stored);
    persisted_[hash] = now;
  }
  return s;
}

std::optional<Session> Sessions::find(std::string_view token) {
  if (token.empty()) return std::nullopt;
  const std::string hash = api::sigv4::sha256_hex(token);
  auto it = sessions_.find(hash);
  if (it == sessions_.end() && options_.store) {
    // Signed in before this process started.
    std::optional<Session> stored = options_.store->get(hash);
    if (!stored) return std::nullopt;
    stored->token = std::string(token);
    it = sessions_.emplace(hash, std::move(*stored)).first;
    persisted_[hash] = it->second.last_used_ms;
  }
  if (it == sessions_.end()) return std::nullopt;
  const int64_t now = options_.now_ms();
  Session& s = it->second;
  std::optional<api::sigv4::Key> key = keys_.find(s.access_key_id);
  if (now - s.last_used_ms >= options_.idle_timeout_ms ||
      now - s.created_ms >= options_.max_age_ms || !key || !key->enabled) {
    if (options_.store) options_.store->remove(hash);
    persisted_.erase(hash);
    sessions_.erase(it);
    return std::nullopt;
  }
  s.last_used_ms = now;
  if (options_.store && now - persisted_[hash] >= options_.persist_interval_ms) {
    Session stored = s;
    stored.token.clear();
    options_.store->put(hash, stored);
    persisted_[hash] = now;
  }
  return s;
}

void Sessions::sign_out(std::string_view token) {
  const std::string hash = api::sigv4::sha256_hex(token);
  if (auto it = sessions_.find(hash); it != sessions_.end()) sessions_.erase(it);
  persisted_.erase(hash);
  if (options_.store) options_.store->remove(hash);
}

}  // namespace stageline::console
