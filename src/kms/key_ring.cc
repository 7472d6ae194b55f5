#include "kms/key_ring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "base/strings.h"
#include "kms/crypto.h"

namespace stageline::kms {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr int64_t kDayMs = int64_t{24} * 60 * 60 * 1000;
// The ciphertext blob: magic (3 bytes) and version, the key id (a UUID,
// 36 bytes), the nonce, then AES-256-GCM ciphertext and tag. docs/kms.md.
constexpr std::string_view kBlobMagic = "SLK\x01";
constexpr size_t kKeyIdBytes = 36;
constexpr size_t kBlobHeaderBytes = 4 + kKeyIdBytes;

Status error(std::string_view type, const std::string& message) {
  StatusCode code = StatusCode::kInvalidArgument;
  if (type == "NotFoundException") code = StatusCode::kNotFound;
  if (type == "AlreadyExistsException") code = StatusCode::kAlreadyExists;
  if (type == "KMSInvalidStateException" || type == "DisabledException")
    code = StatusCode::kFailedPrecondition;
  if (type == "KMSInternalException") code = StatusCode::kInternal;
  return Status(code, std::string(type) + ": " + message);
}

Status internal(const std::string& what, const Status& cause) {
  return error("KMSInternalException", what + ": " + cause.message());
}

bool is_uuid(std::string_view s) {
  if (s.size() != kKeyIdBytes) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string errno_text(int err) { return std::generic_category().message(err); }

// The encryption context as authenticated bytes: each pair as
// <u32 length><key><u32 length><value>, in key order (the map's), so equal
// maps give equal bytes and no two maps give the same bytes.
std::string context_bytes(const EncryptionContext& context) {
  std::string out;
  auto put = [&out](std::string_view s) {
    uint32_t n = static_cast<uint32_t>(s.size());
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
    out += s;
  };
  for (const auto& [k, v] : context) {
    put(k);
    put(v);
  }
  return out;
}

json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? std::move(v.as_object()) : json::object();
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}

Result<KeyState> parse_state(std::string_view s) {
  if (s == "Enabled") return KeyState::kEnabled;
  if (s == "Disabled") return KeyState::kDisabled;
  if (s == "PendingDeletion") return KeyState::kPendingDeletion;
  return Status::internal("unknown key state " + quote(s));
}

}  // namespace

std::string_view to_string(KeyState state) {
  switch (state) {
    case KeyState::kEnabled:
      return "Enabled";
    case KeyState::kDisabled:
      return "Disabled";
    case KeyState::kPendingDeletion:
      return "PendingDeletion";
  }
  return "Unavailable";
}

std::string_view to_string(KeyManager manager) {
  switch (manager) {
    case KeyManager::kCustomer:
      return "CUSTOMER";
    case KeyManager::kAws:
      return "AWS";
  }
  return "CUSTOMER";
}

std::string_view error_type(const Status& status) {
  static constexpr std::array<std::string_view, 10> kTypes = {
      "NotFoundException",         "AlreadyExistsException",     "KMSInvalidStateException",
      "DisabledException",         "InvalidCiphertextException", "IncorrectKeyException",
      "InvalidAliasNameException", "InvalidMarkerException",     "ValidationException",
      "KMSInternalException"};
  const std::string& m = status.message();
  for (std::string_view t : kTypes)
    if (m.size() > t.size() + 1 && m.compare(0, t.size(), t) == 0 && m[t.size()] == ':') return t;
  return "";
}

std::string error_message(const Status& status) {
  std::string_view type = error_type(status);
  if (type.empty()) return status.message();
  return status.message().substr(type.size() + 2);
}

KeyRing::KeyRing(store::Store& store, KeyRingOptions options)
    : store_(store), options_(std::move(options)) {
  STAGELINE_CHECK(options_.now_ms != nullptr);
  STAGELINE_CHECK(options_.new_id != nullptr);
}

KeyRing::~KeyRing() {
  for (auto& [id, material] : material_) wipe(material);
}

std::string KeyRing::key_arn(std::string_view key_id) const {
  return "arn:aws:kms:" + options_.region + ":" + options_.account_id + ":key/" +
         std::string(key_id);
}

std::string KeyRing::alias_arn(std::string_view alias_name) const {
  return "arn:aws:kms:" + options_.region + ":" + options_.account_id + ":" +
         std::string(alias_name);
}

// ---- Metadata -----------------------------------------------------------------

Result<KeyMetadata> KeyRing::load_locked(const std::string& key_id) {
  auto record = store_.get_resource(kService, kKeyKind, key_id);
  if (record.status().code() == StatusCode::kNotFound)
    return error("NotFoundException", "Key '" + key_arn(key_id) + "' does not exist");
  if (!record.ok()) return internal("read key " + key_arn(key_id), record.status());
  json::object doc = parse_object(record->document_json);
  auto state = parse_state(str(doc, "KeyState"));
  if (!state.ok()) return internal("read key " + key_arn(key_id), state.status());
  KeyMetadata key;
  key.key_id = key_id;
  key.arn = key_arn(key_id);
  key.description = str(doc, "Description");
  key.state = *state;
  key.manager = str(doc, "KeyManager") == "AWS" ? KeyManager::kAws : KeyManager::kCustomer;
  key.created_ms = record->created_ms;
  key.deletion_ms = num(doc, "DeletionDateMs");
  key.pending_window_days = static_cast<int>(num(doc, "PendingDeletionWindowInDays"));
  if (key.state == KeyState::kPendingDeletion && options_.now_ms() >= key.deletion_ms) {
    if (Status s = purge_locked(key); !s.ok()) return s;
    return error("NotFoundException", "Key '" + key.arn + "' does not exist");
  }
  return key;
}

Status KeyRing::save_locked(const KeyMetadata& key, bool insert) {
  json::object doc{{"KeyId", key.key_id},
                   {"Description", key.description},
                   {"KeyState", to_string(key.state)},
                   {"KeyManager", to_string(key.manager)}};
  if (key.state == KeyState::kPendingDeletion) {
    doc["DeletionDateMs"] = key.deletion_ms;
    doc["PendingDeletionWindowInDays"] = key.pending_window_days;
  }
  store::ResourceRecord record{kService,       kKeyKind,         key.key_id, json::serialize(doc),
                               key.created_ms, options_.now_ms()};
  Status s = insert ? store_.insert_resource(record) : store_.update_resource(record);
  if (!s.ok()) return internal("save key " + key.arn, s);
  return {};
}

Status KeyRing::purge_locked(const KeyMetadata& key) {
  // Aliases first: an alias never points at a key that is gone.
  std::string after;
  while (true) {
    auto page = store_.list_resources(kService, kAliasKind, 500, after);
    if (!page.ok()) return internal("delete key " + key.arn, page.status());
    for (const auto& r : page->items) {
      after = r.name;
      if (str(parse_object(r.document_json), "TargetKeyId") != key.key_id) continue;
      Status s = store_.delete_resource(kService, kAliasKind, r.name);
      if (!s.ok() && s.code() != StatusCode::kNotFound)
        return internal("delete alias " + r.name + " of key " + key.arn, s);
    }
    if (page->items.size() < 500) break;
  }
  Status s = store_.delete_resource(kService, kKeyKind, key.key_id);
  if (!s.ok() && s.code() != StatusCode::kNotFound) return internal("delete key " + key.arn, s);
  auto it = material_.find(key.key_id);
  if (it != material_.end()) {
    wipe(it->second);
    material_.erase(it);
  }
  fs::path file = options_.dir / key.key_id;
  if (::unlink(file.c_str()) != 0 && errno != ENOENT)
    return error("KMSInternalException",
                 "delete key material " + file.string() + ": " + errno_text(errno));
  return {};
}

Result<Alias> KeyRing::get_alias_locked(const std::string& name) {
  auto record = store_.get_resource(kService, kAliasKind, name);
  if (record.status().code() == StatusCode::kNotFound)
    return error("NotFoundException", "Alias " + alias_arn(name) + " is not found.");
  if (!record.ok()) return internal("read alias " + alias_arn(name), record.status());
  json::object doc = parse_object(record->document_json);
  return Alias{name, alias_arn(name), str(doc, "TargetKeyId"), record->created_ms,
               record->updated_ms};
}

Result<std::string> KeyRing::resolve_locked(std::string_view ref) {
  const std::string arn_prefix = "arn:aws:kms:" + options_.region + ":" + options_.account_id + ":";
  std::string_view rest = ref;
  bool is_arn = false;
  if (starts_with(ref, "arn:")) {
    if (!starts_with(ref, arn_prefix))
      return error("NotFoundException", "Invalid arn " + std::string(ref));
    rest = ref.substr(arn_prefix.size());
    is_arn = true;
  }
  if (starts_with(rest, "alias/")) {
    auto alias = get_alias_locked(std::string(rest));
    if (!alias.ok()) return alias.status();
    return alias->target_key_id;
  }
  if (is_arn) {
    if (!starts_with(rest, "key/"))
      return error("NotFoundException", "Invalid arn " + std::string(ref));
    rest = rest.substr(4);
  }
  if (!is_uuid(rest)) return error("NotFoundException", "Invalid keyId '" + std::string(ref) + "'");
  return std::string(rest);
}

Result<KeyMetadata> KeyRing::describe_locked(std::string_view ref) {
  auto id = resolve_locked(ref);
  if (!id.ok()) return id.status();
  return load_locked(*id);
}

Result<KeyMetadata> KeyRing::usable_locked(std::string_view ref) {
  auto key = describe_locked(ref);
  if (!key.ok()) return key.status();
  if (key->state == KeyState::kDisabled)
    return error("DisabledException", key->arn + " is disabled.");
  if (key->state == KeyState::kPendingDeletion)
    return error("KMSInvalidStateException", key->arn + " is pending deletion.");
  return key;
}

// ---- Material -----------------------------------------------------------------

Result<std::string> KeyRing::material_locked(const KeyMetadata& key) {
  if (auto it = material_.find(key.key_id); it != material_.end()) return it->second;
  fs::path file = options_.dir / key.key_id;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return error("KMSInternalException", "the material of key " + key.arn +
                                             " cannot be read from " + file.string() + ": " +
                                             errno_text(errno));
  std::string material(kAesKeyBytes + 1, '\0');
  size_t got = 0;
  while (got < material.size()) {
    ssize_t n = ::read(fd, material.data() + got, material.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != kAesKeyBytes) {
    wipe(material);
    return error("KMSInternalException", "the material of key " + key.arn + " in " + file.string() +
                                             " is not " + std::to_string(kAesKeyBytes) + " bytes");
  }
  material.resize(kAesKeyBytes);
  material_[key.key_id] = material;
  return material;
}

namespace {

// Writes the material through a temporary file, fsynced and renamed, so a
// crash never leaves a key with half its material.
Status write_material(const fs::path& dir, const std::string& key_id, const std::string& material) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::io("create " + dir.string() + ": " + errno_text(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::io(dir.string() + " is not a directory");
  if ((st.st_mode & 0077) != 0 && ::chmod(dir.c_str(), 0700) != 0)
    return Status::io("chmod 0700 " + dir.string() + ": " + errno_text(errno));
  fs::path tmp = dir / ("." + key_id + ".tmp");
  fs::path file = dir / key_id;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::io("create " + tmp.string() + ": " + errno_text(errno));
  size_t done = 0;
  while (done < material.size()) {
    ssize_t n = ::write(fd, material.data() + done, material.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::io("write " + tmp.string() + ": " + errno_text(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::io("sync " + tmp.string() + ": " + errno_text(err));
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::io("rename to " + file.string() + ": " + errno_text(err));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status::io("open " + dir.string() + ": " + errno_text(errno));
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) return Status::io("sync " + dir.string() + ": " + errno_text(err));
  return {};
}

}  // namespace

// ---- Keys ---------------------------------------------------------------------

Result<KeyMetadata> KeyRing::create_key_locked(const std::string& description, KeyManager manager) {
  KeyMetadata key;
  key.key_id = options_.new_id();
  STAGELINE_CHECK(is_uuid(key.key_id));
  key.arn = key_arn(key.key_id);
  key.description = description;
  key.manager = manager;
  key.created_ms = options_.now_ms();
  auto material = random_bytes(kAesKeyBytes);
  if (!material.ok()) return internal("create key", material.status());
  if (Status s = write_material(options_.dir, key.key_id, *material); !s.ok()) {
    wipe(*material);
    return internal("create key " + key.arn, s);
  }
  if (Status s = save_locked(key, /*insert=*/true); !s.ok()) {
    wipe(*material);
    ::unlink((options_.dir / key.key_id).c_str());
    return s;
  }
  material_[key.key_id] = std::move(*material);
  return key;
}

Result<KeyMetadata> KeyRing::create_key(const std::string& description, KeyManager manager) {
  std::lock_guard lock(mu_);
  return create_key_locked(description, manager);
}

Result<KeyMetadata> KeyRing::describe_key(std::string_view ref) {
  std::lock_guard lock(mu_);
  return describe_locked(ref);
}

Result<KeyPage> KeyRing::list_keys(int limit, const std::string& marker) {
  STAGELINE_CHECK(limit >= 1);
  if (!marker.empty() && !is_uuid(marker))
    return error("InvalidMarkerException", "Invalid marker " + quote(marker));
  std::lock_guard lock(mu_);
  KeyPage out;
  std::string after = marker;
  // Keys whose deletion date passed vanish as they are read, so a page is
  // filled from as many store pages as it takes.
  while (static_cast<int>(out.keys.size()) < limit) {
    auto page = store_.list_resources(kService, kKeyKind, limit + 1, after);
    if (!page.ok()) return internal("list keys", page.status());
    for (const auto& r : page->items) {
      after = r.name;
      auto key = load_locked(r.name);
      if (key.status().code() == StatusCode::kNotFound) continue;
      if (!key.ok()) return key.status();
      if (static_cast<int>(out.keys.size()) == limit) {
        out.next_marker = out.keys.back().key_id;
        return out;
      }
      out.keys.push_back(std::move(*key));
    }
    if (static_cast<int>(page->items.size()) < limit + 1) break;
  }
  return out;
}

Result<KeyMetadata> KeyRing::set_enabled(std::string_view ref, bool enabled) {
  std::lock_guard lock(mu_);
  auto key = describe_locked(ref);
  if (!key.ok()) return key.status();
  if (key->state == KeyState::kPendingDeletion)
    return error("KMSInvalidStateException", key->arn + " is pending deletion.");
  KeyState want = enabled ? KeyState::kEnabled : KeyState::kDisabled;
  if (key->state == want) return key;
  key->state = want;
  if (Status s = save_locked(*key, false); !s.ok()) return s;
  return key;
}

Result<KeyMetadata> KeyRing::schedule_deletion(std::string_view ref, int days) {
  if (days < 7 || days > 30)
    return error("ValidationException",
                 "PendingWindowInDays must be between 7 and 30, not " + std::to_string(days));
  std::lock_guard lock(mu_);
  auto key = describe_locked(ref);
  if (!key.ok()) return key.status();
  if (key->state == KeyState::kPendingDeletion)
    return error("KMSInvalidStateException", key->arn + " is pending deletion.");
  if (key->manager == KeyManager::kAws)
    return error("KMSInvalidStateException",
                 key->arn + " is an AWS managed key; it cannot be scheduled for deletion.");
  key->state = KeyState::kPendingDeletion;
  key->pending_window_days = days;
  key->deletion_ms = options_.now_ms() + days * kDayMs;
  if (Status s = save_locked(*key, false); !s.ok()) return s;
  return key;
}

Result<KeyMetadata> KeyRing::cancel_deletion(std::string_view ref) {
  std::lock_guard lock(mu_);
  auto key = describe_locked(ref);
  if (!key.ok()) return key.status();
  if (key->state != KeyState::kPendingDeletion)
    return error("KMSInvalidStateException", key->arn + " is not pending deletion.");
  key->state = KeyState::kDisabled;
  key->deletion_ms = 0;
  key->pending_window_days = 0;
  if (Status s = save_locked(*key, false); !s.ok()) return s;
  return key;
}

// ---- Aliases ------------------------------------------------------------------

Status KeyRing::insert_alias_locked(const std::string& name, const std::string& key_id) {
  const int64_t now = options_.now_ms();
  json::object doc{{"AliasName", name}, {"TargetKeyId", key_id}};
  Status s = store_.insert_resource({kService, kAliasKind, name, json::serialize(doc), now, now});
  if (s.code() == StatusCode::kAlreadyExists)
    return error("AlreadyExistsException",
                 "An alias with the name " + alias_arn(name) + " already exists");
  if (!s.ok()) return internal("create alias " + alias_arn(name), s);
  return {};
}

Status KeyRing::create_alias(std::string_view name_view, std::string_view target) {
  const std::string name(name_view);
  if (!starts_with(name, "alias/") || name.size() == 6)
    return error("InvalidAliasNameException",
                 "Alias must start with the prefix \"alias/\", followed by a name: " + quote(name));
  if (starts_with(name, "alias/aws/"))
    return error("InvalidAliasNameException",
                 "Alias " + quote(name) + " must not begin with \"alias/aws/\" (reserved for AWS)");
  std::lock_guard lock(mu_);
  if (target.find("alias/") != std::string_view::npos)
    return error("ValidationException",
                 "TargetKeyId must be a key ID or key ARN, not an alias: " + quote(target));
  auto key = describe_locked(target);
  if (!key.ok()) return key.status();
  if (key->state == KeyState::kPendingDeletion)
    return error("KMSInvalidStateException", key->arn + " is pending deletion.");
  return insert_alias_locked(name, key->key_id);
}

Status KeyRing::delete_alias(std::string_view name_view) {
  const std::string name(name_view);
  std::lock_guard lock(mu_);
  Status s = store_.delete_resource(kService, kAliasKind, name);
  if (s.code() == StatusCode::kNotFound)
    return error("NotFoundException", "Alias " + alias_arn(name) + " is not found.");
  if (!s.ok()) return internal("delete alias " + alias_arn(name), s);
  return {};
}

Result<AliasPage> KeyRing::list_aliases(std::string_view key_ref, int limit,
                                        const std::string& marker) {
  STAGELINE_CHECK(limit >= 1);
  if (!marker.empty() && !starts_with(marker, "alias/"))
    return error("InvalidMarkerException", "Invalid marker " + quote(marker));
  std::lock_guard lock(mu_);
  std::string only;
  if (!key_ref.empty()) {
    auto key = describe_locked(key_ref);
    if (!key.ok()) return key.status();
    only = key->key_id;
  }
  AliasPage out;
  std::string after = marker;
  while (true) {
    auto page = store_.list_resources(kService, kAliasKind, 500, after);
    if (!page.ok()) return internal("list aliases", page.status());
    for (const auto& r : page->items) {
      after = r.name;
      json::object doc = parse_object(r.document_json);
      std::string target = str(doc, "TargetKeyId");
      if (!only.empty() && target != only) continue;
      if (static_cast<int>(out.aliases.size()) == limit) {
        out.next_marker = out.aliases.back().name;
        return out;
      }
      out.aliases.push_back({r.name, alias_arn(r.name), target, r.created_ms, r.updated_ms});
    }
    if (page->items.size() < 500) break;
  }
  return out;
}

Result<KeyMetadata> KeyRing::default_s3_key() {
  std::lock_guard lock(mu_);
  auto alias = get_alias_locked(kDefaultS3Alias);
  if (alias.ok()) return load_locked(alias->target_key_id);
  if (alias.status().code() != StatusCode::kNotFound) return alias.status();
  auto key = create_key_locked(
      "Default key that protects my S3 objects when no other key is defined", KeyManager::kAws);
  if (!key.ok()) return key.status();
  if (Status s = insert_alias_locked(kDefaultS3Alias, key->key_id); !s.ok()) return s;
  return key;
}

// ---- Cryptography -------------------------------------------------------------

Result<Encrypted> KeyRing::encrypt_locked(const KeyMetadata& key, std::string_view plaintext,
                                          const EncryptionContext& context) {
  auto material = material_locked(key);
  if (!material.ok()) return material.status();
  auto nonce = random_bytes(kGcmNonceBytes);
  if (!nonce.ok()) return internal("encrypt", nonce.status());
  std::string header = std::string(kBlobMagic) + key.key_id;
  auto sealed = gcm_seal(*material, *nonce, header + context_bytes(context), plaintext);
  wipe(*material);
  if (!sealed.ok()) return internal("encrypt under " + key.arn, sealed.status());
  return Encrypted{key.arn, header + *nonce + *sealed};
}

Result<Encrypted> KeyRing::encrypt(std::string_view ref, std::string_view plaintext,
                                   const EncryptionContext& context) {
  std::lock_guard lock(mu_);
  auto key = usable_locked(ref);
  if (!key.ok()) return key.status();
  return encrypt_locked(*key, plaintext, context);
}

Result<Decrypted> KeyRing::decrypt(std::string_view blob, const EncryptionContext& context,
                                   std::string_view expected_ref) {
  if (blob.size() < kBlobHeaderBytes + kGcmNonceBytes + kGcmTagBytes ||
      blob.substr(0, kBlobMagic.size()) != kBlobMagic ||
      !is_uuid(blob.substr(kBlobMagic.size(), kKeyIdBytes))) {
    return error("InvalidCiphertextException",
                 "The ciphertext is not one this server's KMS produced");
  }
  const std::string key_id(blob.substr(kBlobMagic.size(), kKeyIdBytes));
  std::lock_guard lock(mu_);
  if (!expected_ref.empty()) {
    auto expected = resolve_locked(expected_ref);
    if (!expected.ok()) return expected.status();
    if (*expected != key_id)
      return error("IncorrectKeyException",
                   "The key ID in the request does not identify a CMK that can perform this "
                   "operation: the ciphertext was encrypted under " +
                       key_arn(key_id));
  }
  auto key = usable_locked(key_id);
  if (!key.ok()) return key.status();
  auto material = material_locked(*key);
  if (!material.ok()) return material.status();
  std::string_view header = blob.substr(0, kBlobHeaderBytes);
  std::string_view nonce = blob.substr(kBlobHeaderBytes, kGcmNonceBytes);
  std::string_view sealed = blob.substr(kBlobHeaderBytes + kGcmNonceBytes);
  auto plain = gcm_open(*material, nonce, std::string(header) + context_bytes(context), sealed);
  wipe(*material);
  if (!plain.ok())
    return error("InvalidCiphertextException",
                 "The ciphertext does not decrypt under " + key->arn +
                     " with this encryption context (altered, or another context)");
  return Decrypted{key->arn, std::move(*plain)};
}

Result<DataKey> KeyRing::generate_data_key(std::string_view ref, size_t bytes,
                                           const EncryptionContext& context) {
  if (bytes < 1 || bytes > 1024)
    return error("ValidationException", "NumberOfBytes must be between 1 and 1024");
  std::lock_guard lock(mu_);
  auto key = usable_locked(ref);
  if (!key.ok()) return key.status();
  auto plain = random_bytes(bytes);
  if (!plain.ok()) return internal("generate data key", plain.status());
  auto encrypted = encrypt_locked(*key, *plain, context);
  if (!encrypted.ok()) {
    wipe(*plain);
    return encrypted.status();
  }
  return DataKey{key->arn, std::move(*plain), std::move(encrypted->blob)};
}

}  // namespace stageline::kms
