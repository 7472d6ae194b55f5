#include "secrets/sealer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace stageline::secrets {

namespace {

constexpr std::string_view kMagic = "SLV1";
constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

Result<std::unique_ptr<FileKeySealer>> FileKeySealer::open_key_file(
    const std::filesystem::path& path) {
  std::array<unsigned char, 32> key{};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const std::string why = errno_text();
      ::close(fd);
      return Status::io("stat " + path.string() + ": " + why);
    }
    ssize_t got = ::read(fd, key.data(), key.size());
    char extra;
    ssize_t more = ::read(fd, &extra, 1);
    ::close(fd);
    if (got != static_cast<ssize_t>(key.size()) || more != 0)
      return Status::invalid("secret key file " + path.string() +
                             " is not 32 bytes; restore it from a backup (values sealed under "
                             "another key cannot be opened)");
    if ((st.st_mode & 077) != 0)
      return Status::invalid("secret key file " + path.string() +
                             " is readable by others; chmod 600 it");
    return std::make_unique<FileKeySealer>(key);
  }
  if (errno != ENOENT) return Status::io("open " + path.string() + ": " + errno_text());
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1)
    return Status::io("generate a secret key: RAND_bytes failed");
  // O_EXCL: two servers starting on one data directory must not each write
  // a different key.
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return open_key_file(path);
    return Status::io("create " + path.string() + ": " + errno_text());
  }
  const bool written =
      ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  const std::string why = errno_text();
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return Status::io("write " + path.string() + ": " + why);
  }
  return std::make_unique<FileKeySealer>(key);
}

Result<std::string> FileKeySealer::seal(std::string_view plaintext, std::string_view context) {
  std::string out(kMagic);
  out.resize(kMagic.size() + kNonce + plaintext.size() + kTag);
  auto* nonce = reinterpret_cast<unsigned char*>(out.data() + kMagic.size());
  auto* body = nonce + kNonce;
  if (RAND_bytes(nonce, static_cast<int>(kNonce)) != 1)
    return Status::io("seal a value: RAND_bytes failed");
  CipherCtx c;
  int len = 0;
  if (!c.ctx || EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_EncryptUpdate(c.ctx, nullptr, &len, bytes(context), static_cast<int>(context.size())) !=
          1 ||
      EVP_EncryptUpdate(c.ctx, body, &len, bytes(plaintext), static_cast<int>(plaintext.size())) !=
          1 ||
      EVP_EncryptFinal_ex(c.ctx, body + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTag),
                          body + plaintext.size()) != 1)
    return Status::io("seal a value: AES-256-GCM failed");
  return out;
}

Result<std::string> FileKeySealer::open(std::string_view sealed, std::string_view context) {
  if (sealed.size() < kMagic.size() + kNonce + kTag || !sealed.starts_with(kMagic))
    return Status::invalid("open a sealed value: not a Stageline sealed value");
  const auto* nonce = bytes(sealed) + kMagic.size();
  const size_t n = sealed.size() - kMagic.size() - kNonce - kTag;
  const auto* body = nonce + kNonce;
  std::array<unsigned char, kTag> tag{};
  std::memcpy(tag.data(), body + n, kTag);
  std::string out(n, '\0');
  CipherCtx c;
  int len = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (!c.ctx || EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_DecryptUpdate(c.ctx, nullptr, &len, bytes(context), static_cast<int>(context.size())) !=
          1 ||
      EVP_DecryptUpdate(c.ctx, dst, &len, body, static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTag), tag.data()) != 1 ||
      EVP_DecryptFinal_ex(c.ctx, dst + len, &len) != 1)
    return Status::invalid(
        "open a sealed value: authentication failed (another key, another owner, or altered)");
  return out;
}

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(in),
                                static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::invalid("not base64: the length is not a multiple of 4");
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || (c == '=' && i + 2 >= text.size());
    if (!ok) return Status::invalid("not base64: unexpected character at " + std::to_string(i));
  }
  if (text.size() >= 2 && text[text.size() - 2] == '=' && text.back() != '=')
    return Status::invalid("not base64: bad padding");
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(text),
                                static_cast<int>(text.size()));
  if (n < 0) return Status::invalid("not base64");
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace stageline::secrets
