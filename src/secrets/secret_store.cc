#include "secrets/secret_store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <boost/json.hpp>

namespace stageline::secrets {

namespace json = boost::json;

namespace {

constexpr int64_t kDayMs = 24LL * 60 * 60 * 1000;
constexpr size_t kMaxVersions = 100;  // staged ones are always kept

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}

std::vector<std::string> stages_of(const json::object& version) {
  std::vector<std::string> out;
  if (const json::value* s = version.if_contains("stages"); s && s->is_array())
    for (const json::value& v : s->as_array())
      if (v.is_string()) out.emplace_back(v.as_string());
  return out;
}

bool has_stage(const json::object& version, std::string_view stage) {
  auto s = stages_of(version);
  return std::find(s.begin(), s.end(), stage) != s.end();
}

void set_stages(json::object& version, const std::vector<std::string>& stages) {
  json::array a;
  for (const auto& s : stages) a.push_back(json::value(s));
  version["stages"] = std::move(a);
}

json::array& versions_of(json::object& doc) {
  json::value& v = doc["versions"];
  if (!v.is_array()) v = json::array();
  return v.as_array();
}

std::string context(const std::string& arn, const std::string& version_id) {
  return "secretsmanager:" + arn + ":" + version_id;
}

const char* kMarkedForDeletion =
    "You can't perform this operation on the secret because it was marked for deletion.";

std::optional<std::string> name_problem(const std::string& name) {
  if (name.empty() || name.size() > 512)
    return "The secret name must be between 1 and 512 characters long.";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("/_+=.@-").find(c) != std::string_view::npos;
    if (!ok)
      return "Invalid name. Must be a valid name containing alphanumeric characters, or any of "
             "the following: -/_+=.@!";
  }
  return std::nullopt;
}

Status payload_problem(const SecretPayload& p, bool required) {
  if (p.string_value && p.binary_value)
    return Status::invalid(
        "You can't specify both a binary secret value and a string secret value in the same "
        "secret.");
  if (required && !p.string_value && !p.binary_value)
    return Status::invalid("You must provide either SecretString or SecretBinary.");
  const size_t size = p.string_value   ? p.string_value->size()
                      : p.binary_value ? p.binary_value->size()
                                       : 0;
  if (size > 65536) return Status::invalid("The secret value must be at most 65536 bytes.");
  return {};
}

SecretInfo info_of(const json::object& doc) {
  SecretInfo i;
  i.arn = str(doc, "arn");
  i.name = str(doc, "name");
  i.description = str(doc, "description");
  i.kms_key_id = str(doc, "kmsKeyId");
  i.created_ms = num(doc, "createdMs");
  i.last_changed_ms = num(doc, "lastChangedMs");
  if (doc.contains("deletedMs")) i.deleted_ms = num(doc, "deletedMs");
  if (const json::value* tags = doc.if_contains("tags"); tags && tags->is_array())
    for (const json::value& t : tags->as_array())
      if (t.is_object())
        i.tags.emplace_back(str(t.as_object(), "Key"), str(t.as_object(), "Value"));
  if (const json::value* versions = doc.if_contains("versions"); versions && versions->is_array())
    for (const json::value& v : versions->as_array()) {
      if (!v.is_object()) continue;
      auto stages = stages_of(v.as_object());
      if (stages.empty()) continue;
      i.versions.push_back({str(v.as_object(), "id"), stages, num(v.as_object(), "createdMs")});
    }
  return i;
}

}  // namespace

std::string random_secret_suffix() {
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char raw[6];
  // RAND_bytes only fails when the system has no entropy source; then the
  // suffix is still unique enough with a fallback, and not a secret.
  if (RAND_bytes(raw, sizeof raw) != 1)
    for (auto& b : raw) b = static_cast<unsigned char>(std::rand());
  std::string out;
  for (unsigned char b : raw) out += kAlphabet[b % kAlphabet.size()];
  return out;
}

struct SecretStore::Found {
  store::ResourceRecord record;
  json::object doc;
};

SecretStore::SecretStore(store::Store& store, ValueSealer& sealer, SecretStoreOptions options)
    : store_(store), sealer_(sealer), options_(std::move(options)) {
  STAGELINE_CHECK(options_.now_ms && options_.new_id && options_.random_suffix);
}

Result<SecretStore::Found> SecretStore::find(const std::string& secret_id) {
  std::string name = secret_id;
  const bool by_arn = secret_id.starts_with("arn:");
  if (by_arn) {
    const size_t p = secret_id.find(":secret:");
    if (p == std::string::npos)
      return Status::not_found("Secrets Manager can't find the specified secret.");
    name = secret_id.substr(p + 8);
    // The full ARN ends with -XXXXXX; a partial ARN (without it) names the secret too.
    if (name.size() > 7 && name[name.size() - 7] == '-') {
      auto exact =
          store_.get_resource(kSecretsService, kSecretKind, name.substr(0, name.size() - 7));
      if (exact.ok()) name = name.substr(0, name.size() - 7);
    }
  }
  auto record = store_.get_resource(kSecretsService, kSecretKind, name);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound)
      return Status::not_found("Secrets Manager can't find the specified secret.");
    return record.status();
  }
  boost::system::error_code ec;
  json::value v = json::parse(record->document_json, ec);
  if (ec || !v.is_object()) return Status::internal("secret " + name + " has a corrupt document");
  Found f{std::move(*record), std::move(v.as_object())};
  if (by_arn) {
    const std::string arn = str(f.doc, "arn");
    if (secret_id != arn && secret_id != arn.substr(0, arn.size() - 7))
      return Status::not_found("Secrets Manager can't find the specified secret.");
  }
  if (f.doc.contains("deletedMs") && num(f.doc, "deletedMs") <= options_.now_ms()) {
    // The recovery window has passed: the secret is gone.
    Status s = store_.delete_resource(kSecretsService, kSecretKind, name);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
    return Status::not_found("Secrets Manager can't find the specified secret.");
  }
  return f;
}

Result<SecretValue> SecretStore::create(const CreateSecretRequest& request) {
  if (auto problem = name_problem(request.name)) return Status::invalid(*problem);
  if (Status s = payload_problem(request.payload, false); !s.ok()) return s;
  auto existing = find(request.name);
  if (existing.ok()) {
    if (existing->doc.contains("deletedMs"))
      return Status(StatusCode::kFailedPrecondition,
                    "You can't create this secret because a secret with this name is already "
                    "scheduled for deletion.");
    return Status(StatusCode::kAlreadyExists,
                  "The operation failed because the secret " + request.name + " already exists.");
  }
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  const int64_t now = options_.now_ms();
  SecretValue out;
  out.name = request.name;
  out.arn = "arn:aws:secretsmanager:" + options_.region + ":" + options_.account_id +
            ":secret:" + request.name + "-" + options_.random_suffix();
  out.created_ms = now;
  json::object doc{{"arn", out.arn},
                   {"name", out.name},
                   {"createdMs", now},
                   {"lastChangedMs", now},
                   {"versions", json::array()}};
  if (!request.description.empty()) doc["description"] = request.description;
  if (!request.kms_key_id.empty()) doc["kmsKeyId"] = request.kms_key_id;
  json::array tags;
  for (const auto& [k, v] : request.tags) tags.push_back(json::object{{"Key", k}, {"Value", v}});
  doc["tags"] = std::move(tags);
  if (request.payload.string_value || request.payload.binary_value) {
    out.version_id =
        request.client_request_token.empty() ? options_.new_id() : request.client_request_token;
    out.stages = {kCurrent};
    const bool is_string = request.payload.string_value.has_value();
    auto sealed =
        sealer_.seal(is_string ? *request.payload.string_value : *request.payload.binary_value,
                     context(out.arn, out.version_id));
    if (!sealed.ok()) return sealed.status().with_context("create secret " + request.name);
    versions_of(doc).push_back(json::object{{"id", out.version_id},
                                            {"stages", json::array{kCurrent}},
                                            {"createdMs", now},
                                            {"kind", is_string ? "string" : "binary"},
                                            {"value", base64_encode(*sealed)}});
  }
  Status s = store_.insert_resource(
      {kSecretsService, kSecretKind, request.name, json::serialize(doc), now, now});
  if (s.code() == StatusCode::kAlreadyExists)
    return Status(StatusCode::kAlreadyExists,
                  "The operation failed because the secret " + request.name + " already exists.");
  if (!s.ok()) return s;
  return out;
}

Result<SecretValue> SecretStore::put_value(const PutSecretValueRequest& request) {
  if (Status s = payload_problem(request.payload, true); !s.ok()) return s;
  for (const auto& stage : request.stages)
    if (stage.empty() || stage.size() > 256)
      return Status::invalid("A staging label must be 1 to 256 characters long.");
  auto found = find(request.secret_id);
  if (!found.ok()) return found.status();
  if (found->doc.contains("deletedMs"))
    return Status(StatusCode::kFailedPrecondition, kMarkedForDeletion);
  json::object& doc = found->doc;
  const std::string arn = str(doc, "arn");
  const int64_t now = options_.now_ms();
  SecretValue out;
  out.arn = arn;
  out.name = str(doc, "name");
  out.version_id =
      request.client_request_token.empty() ? options_.new_id() : request.client_request_token;
  out.stages = request.stages.empty() ? std::vector<std::string>{kCurrent} : request.stages;
  out.created_ms = now;
  const bool is_string = request.payload.string_value.has_value();
  const std::string& plain =
      is_string ? *request.payload.string_value : *request.payload.binary_value;
  json::array& versions = versions_of(doc);
  for (const json::value& v : versions) {
    if (!v.is_object() || str(v.as_object(), "id") != out.version_id) continue;
    // The same token again: the same value is a retry, another is an error.
    const json::object& o = v.as_object();
    auto blob = base64_decode(str(o, "value"));
    if (!blob.ok()) return Status::internal("secret " + out.name + " has a corrupt value");
    auto opened = sealer_.open(*blob, context(arn, out.version_id));
    if (!opened.ok()) return opened.status();
    if (*opened == plain && str(o, "kind") == (is_string ? "string" : "binary")) {
      out.stages = stages_of(o);
      out.created_ms = num(o, "createdMs");
      return out;
    }
    return Status(StatusCode::kAlreadyExists,
                  "You can't modify an existing version, you can only create a new version.");
  }
  auto sealed = sealer_.seal(plain, context(arn, out.version_id));
  if (!sealed.ok()) return sealed.status().with_context("put a value of secret " + out.name);
  const bool moves_current =
      std::find(out.stages.begin(), out.stages.end(), kCurrent) != out.stages.end();
  for (json::value& v : versions) {
    if (!v.is_object()) continue;
    json::object& o = v.as_object();
    std::vector<std::string> kept;
    const bool was_current = has_stage(o, kCurrent);
    for (auto& s : stages_of(o)) {
      if (std::find(out.stages.begin(), out.stages.end(), s) != out.stages.end()) continue;
      if (moves_current && s == kPrevious) continue;
      kept.push_back(s);
    }
    if (moves_current && was_current) kept.push_back(kPrevious);
    set_stages(o, kept);
  }
  json::object version{{"id", out.version_id},
                       {"createdMs", now},
                       {"kind", is_string ? "string" : "binary"},
                       {"value", base64_encode(*sealed)}};
  set_stages(version, out.stages);
  versions.push_back(std::move(version));
  // Drop the oldest versions without a label beyond the limit.
  for (size_t i = 0; versions.size() > kMaxVersions && i < versions.size();) {
    if (versions[i].is_object() && stages_of(versions[i].as_object()).empty())
      versions.erase(versions.begin() + static_cast<std::ptrdiff_t>(i));
    else
      ++i;
  }
  doc["lastChangedMs"] = now;
  found->record.document_json = json::serialize(doc);
  found->record.updated_ms = now;
  if (Status s = store_.update_resource(found->record); !s.ok()) return s;
  return out;
}

Result<SecretValue> SecretStore::get_value(const std::string& secret_id,
                                           const std::string& version_id,
                                           const std::string& version_stage) {
  auto found = find(secret_id);
  if (!found.ok()) return found.status();
  if (found->doc.contains("deletedMs"))
    return Status(StatusCode::kFailedPrecondition, kMarkedForDeletion);
  const std::string stage = version_id.empty() && version_stage.empty() ? kCurrent : version_stage;
  const json::object* chosen = nullptr;
  for (const json::value& v : versions_of(found->doc)) {
    if (!v.is_object()) continue;
    const json::object& o = v.as_object();
    if (!version_id.empty() && str(o, "id") != version_id) continue;
    if (!stage.empty() && !has_stage(o, stage)) continue;
    chosen = &o;
  }
  if (!chosen) {
    if (!version_id.empty() && !stage.empty())
      return Status::invalid(
          "You provided a VersionStage that is not associated to the provided "
          "VersionId.");
    return Status::not_found(
        !version_id.empty()
            ? "Secrets Manager can't find the specified secret value for VersionId: " + version_id
            : "Secrets Manager can't find the specified secret value for staging label: " + stage);
  }
  SecretValue out;
  out.arn = str(found->doc, "arn");
  out.name = str(found->doc, "name");
  out.version_id = str(*chosen, "id");
  out.stages = stages_of(*chosen);
  out.created_ms = num(*chosen, "createdMs");
  auto blob = base64_decode(str(*chosen, "value"));
  if (!blob.ok()) return Status::internal("secret " + out.name + " has a corrupt value");
  auto opened = sealer_.open(*blob, context(out.arn, out.version_id));
  if (!opened.ok()) return opened.status().with_context("secret " + out.name);
  if (str(*chosen, "kind") == "binary")
    out.payload.binary_value = std::move(*opened);
  else
    out.payload.string_value = std::move(*opened);
  return out;
}

Result<SecretInfo> SecretStore::remove(const std::string& secret_id,
                                       std::optional<int64_t> recovery_days, bool force) {
  if (force && recovery_days)
    return Status::invalid(
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  if (recovery_days && (*recovery_days < 7 || *recovery_days > 30))
    return Status::invalid(
        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
  auto found = find(secret_id);
  if (!found.ok()) return found.status();
  const int64_t now = options_.now_ms();
  if (force) {
    Status s = store_.delete_resource(kSecretsService, kSecretKind, found->record.name);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
    SecretInfo info = info_of(found->doc);
    info.deleted_ms = now;
    return info;
  }
  if (found->doc.contains("deletedMs"))
    return Status(StatusCode::kFailedPrecondition, kMarkedForDeletion);
  found->doc["deletedMs"] = now + recovery_days.value_or(30) * kDayMs;
  found->record.document_json = json::serialize(found->doc);
  found->record.updated_ms = now;
  if (Status s = store_.update_resource(found->record); !s.ok()) return s;
  return info_of(found->doc);
}

Result<SecretInfo> SecretStore::restore(const std::string& secret_id) {
  auto found = find(secret_id);
  if (!found.ok()) return found.status();
  if (found->doc.erase("deletedMs") == 0) return info_of(found->doc);
  found->record.document_json = json::serialize(found->doc);
  found->record.updated_ms = options_.now_ms();
  if (Status s = store_.update_resource(found->record); !s.ok()) return s;
  return info_of(found->doc);
}

Result<SecretInfo> SecretStore::describe(const std::string& secret_id) {
  auto found = find(secret_id);
  if (!found.ok()) return found.status();
  return info_of(found->doc);
}

Result<std::vector<SecretInfo>> SecretStore::list(bool include_planned_deletion) {
  std::vector<SecretInfo> out;
  std::string after;
  const int64_t now = options_.now_ms();
  while (true) {
    auto page = store_.list_resources(kSecretsService, kSecretKind, 500, after);
    if (!page.ok()) return page.status();
    for (const auto& r : page->items) {
      after = r.name;
      boost::system::error_code ec;
      json::value v = json::parse(r.document_json, ec);
      if (ec || !v.is_object()) continue;
      SecretInfo info = info_of(v.as_object());
      if (info.deleted_ms && *info.deleted_ms <= now) continue;  // gone; purged on lookup
      if (info.deleted_ms && !include_planned_deletion) continue;
      out.push_back(std::move(info));
    }
    if (page->items.size() < 500) break;
  }
  return out;
}

}  // namespace stageline::secrets
