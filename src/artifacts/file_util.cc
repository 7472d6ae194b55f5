#include "artifacts/file_util.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "artifacts/unique_fd.h"

namespace stageline::artifacts {

bool is_disk_full(int err) { return err == ENOSPC || err == EDQUOT; }

std::string errno_message(int err) {
  std::string text = std::generic_category().message(err);
  if (err == ENOSPC) return "disk full (ENOSPC: " + text + ")";
  if (err == EDQUOT) return "disk full (EDQUOT: " + text + ")";
  return text;
}

Status errno_status(std::string_view what, int err) {
  return Status::io(std::string(what) + ": " + errno_message(err));
}

Status fsync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_status("open directory " + dir.string() + " for fsync", errno);
  if (::fsync(fd.get()) != 0) return errno_status("fsync directory " + dir.string(), errno);
  return fd.close();
}

std::string to_hex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

Result<std::string> random_hex(size_t nbytes) {
  std::string raw(nbytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(nbytes)) != 1) {
    return Status::internal("random bytes: OpenSSL RAND_bytes failed");
  }
  return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

Result<std::string> random_alnum(size_t n) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out;
  unsigned char buf[64];
  while (out.size() < n) {
    if (RAND_bytes(buf, sizeof buf) != 1) {
      return Status::internal("random bytes: OpenSSL RAND_bytes failed");
    }
    // 248 = 4 * 62: bytes at or above it are dropped so every character is equally likely.
    for (unsigned char b : buf) {
      if (b < 248 && out.size() < n) out += kAlphabet[b % 62];
    }
  }
  return out;
}

Status write_all(int fd, const char* data, size_t size, std::string_view what) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("write " + std::string(what), errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

Result<Md5Stream> Md5Stream::create() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return Status::internal("md5: EVP_MD_CTX_new failed");
  Md5Stream stream(ctx);
  if (EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) != 1) {
    return Status::internal("md5: EVP_DigestInit_ex failed");
  }
  return stream;
}

Status Md5Stream::update(const void* data, size_t size) {
  if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) {
    return Status::internal("md5: EVP_DigestUpdate failed");
  }
  return {};
}

Result<std::string> Md5Stream::finish() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), digest, &len) != 1) {
    return Status::internal("md5: EVP_DigestFinal_ex failed");
  }
  return to_hex(digest, len);
}

}  // namespace stageline::artifacts
