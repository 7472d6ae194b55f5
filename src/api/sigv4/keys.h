// api/sigv4/keys: access keys (what a SigV4 signature is computed with), where
// the verifier looks them up, how new ones are made, and the AWS shared
// credentials file our CLI and the aws CLI read them from.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stageline::api::sigv4 {

// One access key. `principal` names whom the key authenticates, as an ARN
// (reference §3.1), e.g. arn:aws:iam::000000000000:user/admin. A disabled key
// is still found by KeySource but every request signed with it is refused.
struct Key {
  std::string access_key_id;
  std::string secret;
  std::string principal;
  bool enabled = true;
};

// Where the verifier finds the key of an access key id. The server's
// implementation reads the store; InMemoryKeySource serves tests and tools.
// Implementations must be safe to call from any thread at once.
class KeySource {
 public:
  virtual ~KeySource() = default;
  // The key with this id (enabled or not), or nullopt when there is none.
  virtual std::optional<Key> find(std::string_view access_key_id) = 0;
};

// Keys held in a map. Thread-safe.
class InMemoryKeySource : public KeySource {
 public:
  // Adds `key`, replacing one with the same id.
  void put(Key key);
  // Removes the key; false when there was none.
  bool remove(std::string_view access_key_id);
  std::optional<Key> find(std::string_view access_key_id) override;

 private:
  std::mutex mu_;
  std::map<std::string, Key, std::less<>> keys_;
};

// A new enabled key for `principal`, in AWS's shape: the id is "AKIA" and 16
// characters of upper-case base32 (A-Z, 2-7; 80 random bits), the secret 40
// characters of the base64 alphabet (240 random bits), both from OpenSSL's
// CSPRNG. Fails only when the CSPRNG does.
Result<Key> generate_key(std::string principal);

// True when `id` has the shape generate_key makes (AWS's AKIA/ASIA ids too).
bool is_access_key_id(std::string_view id);

// Writes `key` as profile `profile` of an AWS shared credentials file
// (~/.aws/credentials format, read by botocore and every AWS SDK):
//   [default]
//   aws_access_key_id = AKIA...
//   aws_secret_access_key = ...
// Other profiles and comments of an existing file are kept line for line;
// the section of `profile` (up to the next section header) is replaced, or
// appended when there is none. Missing directories are created with mode 0700
// (so ~/.aws/credentials works on a fresh account). The file is replaced atomically: a temporary
// file in the same directory, created with mode 0600 whatever the umask, written, fsync'ed, renamed
// over `path`, then the directory fsync'ed. So a reader sees the old file or the new one, never a
// partial one, and the secret is never readable by others, not even for an instant. Errors:
// kInvalidArgument for a profile name or key that cannot be written in the format (brackets,
// newlines, '='), kIo for any failed system call.
Status write_credentials_file(const std::string& path, const Key& key,
                              std::string_view profile = "default");

// Reads profile `profile` of a shared credentials file, as botocore does: '#'
// and ';' start comment lines, names and values are trimmed, option names are
// case-insensitive. The returned Key has the id and secret, an empty principal,
// and enabled = true. Errors: kIo when the file cannot be read, kNotFound when
// the profile or one of its two options is missing.
Result<Key> read_credentials_file(const std::string& path, std::string_view profile = "default");

}  // namespace stageline::api::sigv4
