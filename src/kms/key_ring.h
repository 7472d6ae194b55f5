// kms: customer keys in the style of AWS KMS, and the envelope encryption of
// artifacts that uses them (issue #6).
//
//   key_ring.h        KeyRing: symmetric keys and aliases, Encrypt, Decrypt,
//                     GenerateDataKey; the state the KMS API (src/api/kms)
//                     serves.
//   envelope_cipher.h EnvelopeCipher: an artifacts::ObjectCipher that seals
//                     each stored artifact under a fresh data key wrapped by
//                     a KeyRing key.
//   crypto.h          AES-256-GCM, random bytes, base64 (the one file with
//                     OpenSSL headers is crypto.cc).
//
// Key metadata and aliases are documents in the store's resources table
// (service "kms", kinds "key" and "alias"); key material is 32 random bytes
// per key in DATA_DIR/kms/<key id> (file 0600, directory 0700). Formats:
// docs/kms.md.
//
// May depend on base, store (the Store interface only) and artifacts (for
// the ObjectCipher seam and bucket configuration). Never on the engine, the
// API layer or HTTP.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace stageline::kms {

inline constexpr char kService[] = "kms";
inline constexpr char kKeyKind[] = "key";
inline constexpr char kAliasKind[] = "alias";
// The alias of the per-server key that protects buckets whose default
// encryption is AES256 (or aws:kms without a key id), as S3's managed key.
inline constexpr char kDefaultS3Alias[] = "alias/aws/s3";

enum class KeyState { kEnabled, kDisabled, kPendingDeletion };
std::string_view to_string(KeyState state);  // "Enabled", "Disabled", "PendingDeletion"

// Who manages a key: customers make theirs with CreateKey; the server makes
// the AWS-managed alias/aws/s3 key on first use.
enum class KeyManager { kCustomer, kAws };
std::string_view to_string(KeyManager manager);  // "CUSTOMER", "AWS"

struct KeyMetadata {
  std::string key_id;  // a UUID
  std::string arn;     // arn:aws:kms:<region>:<account>:key/<key_id>
  std::string description;
  KeyState state = KeyState::kEnabled;
  KeyManager manager = KeyManager::kCustomer;
  int64_t created_ms = 0;
  int64_t deletion_ms = 0;      // when PendingDeletion: the key goes then
  int pending_window_days = 0;  // when PendingDeletion
};

struct Alias {
  std::string name;  // "alias/my-key"
  std::string arn;   // arn:aws:kms:<region>:<account>:alias/my-key
  std::string target_key_id;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct KeyPage {
  std::vector<KeyMetadata> keys;
  std::string next_marker;  // empty on the last page
};

struct AliasPage {
  std::vector<Alias> aliases;
  std::string next_marker;  // empty on the last page
};

// KMS's EncryptionContext: bound to a ciphertext as additional authenticated
// data, so Decrypt must be given the same pairs. A map, so the order in which
// a client sends them does not matter.
using EncryptionContext = std::map<std::string, std::string>;

struct Encrypted {
  std::string key_arn;  // the key that encrypted
  std::string blob;     // self-describing: names the key (docs/kms.md)
};

struct Decrypted {
  std::string key_arn;
  std::string plaintext;
};

struct DataKey {
  std::string key_arn;
  std::string plaintext;  // the data key itself; wipe it when done
  std::string blob;       // the data key encrypted under key_arn
};

struct KeyRingOptions {
  std::filesystem::path dir;  // DATA_DIR/kms: the key material
  std::string region = "us-east-1";
  std::string account_id = "111122223333";
  std::function<int64_t()> now_ms;      // REQUIRED
  std::function<std::string()> new_id;  // REQUIRED: a UUID per key
};

// The AWS error type a KeyRing error names: every error message of KeyRing
// starts with "<Type>: " (NotFoundException, AlreadyExistsException,
// KMSInvalidStateException, DisabledException, InvalidCiphertextException,
// IncorrectKeyException, InvalidAliasNameException, InvalidMarkerException,
// ValidationException, KMSInternalException), like the S3 error names of
// artifacts::ObjectStore. Returns "" for a message without one.
std::string_view error_type(const Status& status);
// The message without the "<Type>: " prefix.
std::string error_message(const Status& status);

// The keys and aliases of one server, and the cryptographic operations on
// them. Owned by the composition root; borrows the store, which must outlive
// it. Thread-safe: the API calls it on the control thread while the runner's
// workers seal and unseal artifacts (one mutex; every operation is short).
//
// A reference to a key ("key ref") is a key id, a key ARN, an alias name
// ("alias/x") or an alias ARN, as every KMS operation that takes a KeyId
// accepts. A key whose deletion date has passed is deleted (metadata,
// aliases, material) the next time it is looked up, and is then NotFound.
class KeyRing {
 public:
  KeyRing(store::Store& store, KeyRingOptions options);
  ~KeyRing();
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  // A new enabled symmetric key with fresh material. Fails with
  // KMSInternalException when the material cannot be written or stored.
  Result<KeyMetadata> create_key(const std::string& description,
                                 KeyManager manager = KeyManager::kCustomer);

  // The key `ref` names, in any state. NotFoundException (naming the key or
  // alias) when there is none.
  Result<KeyMetadata> describe_key(std::string_view ref);

  // Up to `limit` keys in key id order, after `marker` (a next_marker this
  // returned). InvalidMarkerException for a marker that is not one.
  Result<KeyPage> list_keys(int limit, const std::string& marker);

  // Points the new alias `name` at the key `target` (a key id or key ARN).
  // InvalidAliasNameException unless `name` starts with "alias/" (and not
  // "alias/aws/", which AWS reserves); AlreadyExistsException;
  // NotFoundException for the target; KMSInvalidStateException when the
  // target is pending deletion.
  Status create_alias(std::string_view name, std::string_view target);
  // NotFoundException when there is no such alias.
  Status delete_alias(std::string_view name);

  // Up to `limit` aliases in name order after `marker`; only those of the
  // key `key_ref` when it is not empty (NotFoundException if it names none).
  Result<AliasPage> list_aliases(std::string_view key_ref, int limit, const std::string& marker);

  // EnableKey / DisableKey. KMSInvalidStateException for a key pending
  // deletion.
  Result<KeyMetadata> set_enabled(std::string_view ref, bool enabled);
  // ScheduleKeyDeletion: PendingDeletion, gone after `days` (7..30 as AWS;
  // ValidationException otherwise). KMSInvalidStateException if it is
  // already pending deletion.
  Result<KeyMetadata> schedule_deletion(std::string_view ref, int days);
  // CancelKeyDeletion: back to Disabled, as AWS does. KMSInvalidStateException
  // unless pending deletion.
  Result<KeyMetadata> cancel_deletion(std::string_view ref);

  // Encrypts up to 4096 bytes (the API checks the size) under the key `ref`,
  // bound to `context`. NotFoundException, DisabledException,
  // KMSInvalidStateException (pending deletion), each naming the key.
  Result<Encrypted> encrypt(std::string_view ref, std::string_view plaintext,
                            const EncryptionContext& context);

  // Decrypts a blob that encrypt() made with the same `context`; the blob
  // names its key. When `expected_ref` is not empty, the blob's key must be
  // that key (IncorrectKeyException otherwise). InvalidCiphertextException
  // for a blob that is not one or was altered or has another context; the
  // key errors of encrypt().
  Result<Decrypted> decrypt(std::string_view blob, const EncryptionContext& context,
                            std::string_view expected_ref = {});

  // A fresh random data key of `bytes` bytes (1..1024) and its encryption
  // under `ref`. The errors of encrypt().
  Result<DataKey> generate_data_key(std::string_view ref, size_t bytes,
                                    const EncryptionContext& context);

  // The AWS-managed key of alias/aws/s3, made (key and alias) on first use.
  Result<KeyMetadata> default_s3_key();

  std::string key_arn(std::string_view key_id) const;
  std::string alias_arn(std::string_view alias_name) const;

 private:
  // All REQUIRE mu_ held.
  Result<std::string> resolve_locked(std::string_view ref);  // the key id
  Result<KeyMetadata> load_locked(const std::string& key_id);
  Result<KeyMetadata> describe_locked(std::string_view ref);
  Status save_locked(const KeyMetadata& key, bool insert);
  Result<KeyMetadata> usable_locked(std::string_view ref);
  Result<std::string> material_locked(const KeyMetadata& key);
  Status purge_locked(const KeyMetadata& key);
  Result<Alias> get_alias_locked(const std::string& name);
  Status insert_alias_locked(const std::string& name, const std::string& key_id);
  Result<KeyMetadata> create_key_locked(const std::string& description, KeyManager manager);
  Result<Encrypted> encrypt_locked(const KeyMetadata& key, std::string_view plaintext,
                                   const EncryptionContext& context);

  store::Store& store_;
  KeyRingOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, std::string> material_;  // key id -> 32 bytes; guarded by mu_
};

}  // namespace stageline::kms
