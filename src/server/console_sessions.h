// server/console_sessions: the web console's sessions kept in the store, so a
// restart does not sign everyone out (console/sessions.h's SessionStore).
// Each session is a resource ("console", "session", SHA-256 of its token)
// whose document holds its CSRF token, key, principal and times; never the
// token itself. Depends on console and store.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "console/sessions.h"
#include "store/store.h"

namespace stageline::server {

class StoreSessions final : public console::SessionStore {
 public:
  // `store` is borrowed and must outlive this; `log` gets one line per store
  // failure (the session then lives in memory only).
  StoreSessions(store::Store& store, std::function<void(const std::string&)> log);

  void put(const std::string& token_hash, const console::Session& session) override;
  std::optional<console::Session> get(const std::string& token_hash) override;
  void remove(const std::string& token_hash) override;

  // Removes the sessions that ended while nobody used them (unused for
  // `idle_timeout_ms`, or older than `max_age_ms`, at `now_ms`); how many.
  Result<int> purge_expired(int64_t now_ms, int64_t idle_timeout_ms, int64_t max_age_ms);

 private:
  store::Store& store_;
  std::function<void(const std::string&)> log_;
};

}  // namespace stageline::server
