// console/sessions: who is signed in to the console. A person signs in with an
// access key (id and secret, as the credentials file holds them); the session
// that makes is a random token (the HttpOnly cookie) and a second random token
// the page sends back as X-CSRF-Token on every request that acts. Each use
// looks the key up again, so disabling or deleting the key with `stageline
// keys` ends its sessions at once. Sessions live in memory and, given a
// SessionStore (the server's store), outlive a restart: only the token's
// SHA-256 is kept, and a session's last use is written at most every
// `persist_interval_ms`.
//
// Not thread-safe: used on the server's control thread. Depends on base and
// api/sigv4 (KeySource, random bytes, constant-time comparison).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/sigv4/keys.h"
#include "base/status.h"

namespace stageline::console {

struct Session {
  std::string token;       // the cookie's value, 43 characters of base64url
  std::string csrf_token;  // sent back in X-CSRF-Token, also 43 characters
  std::string access_key_id;
  std::string principal;  // the key's, e.g. arn:aws:iam::000000000000:user/admin
  int64_t created_ms = 0;
  int64_t last_used_ms = 0;
};

// Where sessions outlive the process, by the SHA-256 of their token (the
// stored Session has an empty `token`). Failures are the implementation's to
// report: a session that cannot be stored still works until a restart.
class SessionStore {
 public:
  virtual ~SessionStore() = default;
  virtual void put(const std::string& token_hash, const Session& session) = 0;  // insert or replace
  virtual std::optional<Session> get(const std::string& token_hash) = 0;
  virtual void remove(const std::string& token_hash) = 0;
};

class Sessions {
 public:
  struct Options {
    std::function<int64_t()> now_ms;
    int64_t idle_timeout_ms = 12LL * 3600 * 1000;   // unused this long: ended
    int64_t max_age_ms = 7LL * 24 * 3600 * 1000;    // signed in this long: ended
    size_t max_sessions = 10000;                    // the oldest goes first
    int max_failures_per_minute = 10;               // per client address
    SessionStore* store = nullptr;                  // not owned; none: memory only
    int64_t persist_interval_ms = 5LL * 60 * 1000;  // last use written at most this often
  };

  // `keys` is borrowed and must outlive this.
  Sessions(api::sigv4::KeySource& keys, Options options);

  // Signs in from `peer_address` (the client's address without the port).
  // Errors: kInvalidArgument when the id is unknown, the secret is wrong or
  // the key is disabled (one message for all three, so a caller cannot tell
  // which ids exist); kFailedPrecondition after max_failures_per_minute
  // failed sign-ins from that address in the last minute (even with the
  // right secret); kInternal when no random token could be made.
  Result<Session> sign_in(std::string_view access_key_id, std::string_view secret,
                          std::string_view peer_address);

  // The session of `token`, its last use moved to now; nullopt when there is
  // none, it expired, or its key is gone or disabled (the session is then
  // ended).
  std::optional<Session> find(std::string_view token);

  // Ends the session of `token`, if there is one.
  void sign_out(std::string_view token);

  size_t size() const { return sessions_.size(); }

 private:
  bool throttled(const std::string& peer, int64_t now);

  api::sigv4::KeySource& keys_;
  Options options_;
  // By the SHA-256 of the token, so looking one up takes no time that
  // depends on how much of a guessed token matched.
  std::map<std::string, Session, std::less<>> sessions_;
  // When each session's last use was last written to the store, by hash.
  std::map<std::string, int64_t, std::less<>> persisted_;
  // Failed sign-ins per client address: the window's start and its count.
  std::map<std::string, std::pair<int64_t, int>, std::less<>> failures_;
};

// Whether `a` and `b` are equal, in time that depends only on their lengths.
bool tokens_equal(std::string_view a, std::string_view b);

}  // namespace stageline::console
