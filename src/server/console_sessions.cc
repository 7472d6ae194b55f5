#include "server/console_sessions.h"

#include <boost/json.hpp>
#include <vector>

namespace stageline::server {

namespace {

constexpr const char* kService = "console";
constexpr const char* kKind = "session";

std::string to_document(const console::Session& s) {
  return boost::json::serialize(boost::json::object{{"csrfToken", s.csrf_token},
                                                    {"accessKeyId", s.access_key_id},
                                                    {"principal", s.principal},
                                                    {"createdMs", s.created_ms},
                                                    {"lastUsedMs", s.last_used_ms}});
}

std::optional<console::Session> from_document(const std::string& json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  auto str = [&o](const char* k) -> const boost::json::string* {
    const auto* f = o.if_contains(k);
    return f && f->is_string() ? &f->as_string() : nullptr;
  };
  auto num = [&o](const char* k) -> std::optional<int64_t> {
    const auto* f = o.if_contains(k);
    if (f && f->is_int64()) return f->as_int64();
    return std::nullopt;
  };
  auto csrf = str("csrfToken"), key = str("accessKeyId"), principal = str("principal");
  auto created = num("createdMs"), last = num("lastUsedMs");
  if (!csrf || !key || !principal || !created || !last) return std::nullopt;
  console::Session s;
  s.csrf_token = std::string(*csrf);
  s.access_key_id = std::string(*key);
  s.principal = std::string(*principal);
  s.created_ms = *created;
  s.last_used_ms = *last;
  return s;
}

}  // namespace

StoreSessions::StoreSessions(store::Store& store, std::function<void(const std::string&)> log)
    : store_(store), log_(std::move(log)) {}

void StoreSessions::put(const std::string& token_hash, const console::Session& session) {
  store::ResourceRecord r;
  r.service = kService;
  r.kind = kKind;
  r.name = token_hash;
  r.document_json = to_document(session);
  r.created_ms = session.created_ms;
  r.updated_ms = session.last_used_ms;
  Status s = store_.update_resource(r);
  if (s.code() == StatusCode::kNotFound) s = store_.insert_resource(r);
  if (!s.ok() && log_) log_("console session not stored: " + s.message());
}

std::optional<console::Session> StoreSessions::get(const std::string& token_hash) {
  auto r = store_.get_resource(kService, kKind, token_hash);
  if (!r.ok()) {
    if (r.status().code() != StatusCode::kNotFound && log_)
      log_("console session not read: " + r.status().message());
    return std::nullopt;
  }
  auto s = from_document(r->document_json);
  if (!s && log_) log_("console session " + token_hash.substr(0, 12) + " is unreadable; ignored");
  return s;
}

void StoreSessions::remove(const std::string& token_hash) {
  Status s = store_.delete_resource(kService, kKind, token_hash);
  if (!s.ok() && s.code() != StatusCode::kNotFound && log_)
    log_("console session not removed: " + s.message());
}

Result<int> StoreSessions::purge_expired(int64_t now_ms, int64_t idle_timeout_ms,
                                         int64_t max_age_ms) {
  std::vector<std::string> expired;
  std::string after;
  for (;;) {
    auto page = store_.list_resources(kService, kKind, 500, after);
    if (!page.ok()) return page.status();
    for (const auto& r : page->items) {
      auto s = from_document(r.document_json);
      if (!s || now_ms - s->last_used_ms >= idle_timeout_ms || now_ms - s->created_ms >= max_age_ms)
        expired.push_back(r.name);
    }
    if (page->next_key.empty()) break;
    after = page->next_key;
  }
  for (const auto& name : expired)
    if (Status s = store_.delete_resource(kService, kKind, name);
        !s.ok() && s.code() != StatusCode::kNotFound)
      return s;
  return static_cast<int>(expired.size());
}

}  // namespace stageline::server
