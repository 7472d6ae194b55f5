// artifacts/file_util: the small system-call helpers the artifact store's
// files share: errno to message, fsync of a directory, random names, a
// streaming MD5. Internal to src/artifacts; other modules do not include it.
// Every function is thread-safe.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stageline::artifacts {

// The text for `err`; ENOSPC and EDQUOT say "disk full" first, so the cause is
// obvious in a long message.
std::string errno_message(int err);

// kIo with "what: <errno_message(err)>".
Status errno_status(std::string_view what, int err);

// True when `err` means the file system has no room left.
bool is_disk_full(int err);

// fsync(2) on the directory itself, so entries added to or removed from it
// survive a crash.
Status fsync_dir(const std::filesystem::path& dir);

// `nbytes` random bytes from OpenSSL's CSPRNG, as 2*nbytes lower-case hex digits.
Result<std::string> random_hex(size_t nbytes);

// `n` random characters from [0-9A-Za-z], uniformly distributed.
Result<std::string> random_alnum(size_t n);

// Writes all of `data` with write(2), retrying on EINTR and short writes.
// `what` names the file in the error.
Status write_all(int fd, const char* data, size_t size, std::string_view what);

// Lower-case hex of `bytes`.
std::string to_hex(const unsigned char* bytes, size_t size);

// MD5 computed over data fed in pieces (S3's ETag of a single-part object).
class Md5Stream {
 public:
  static Result<Md5Stream> create();
  // REQUIRES: finish() was not called.
  Status update(const void* data, size_t size);
  // The digest as 32 lower-case hex digits. REQUIRES: called at most once.
  Result<std::string> finish();

 private:
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  explicit Md5Stream(EVP_MD_CTX* ctx) : ctx_(ctx) {}
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

}  // namespace stageline::artifacts
