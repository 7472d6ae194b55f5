#include "api/sns/signing.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/files.h"

namespace stageline::sns {

namespace fs = std::filesystem;

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// The newest OpenSSL error as text, and the queue emptied.
std::string openssl_error() {
  unsigned long e = ERR_get_error();
  char buf[256] = {};
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return e != 0 ? std::string(buf) : std::string("unknown OpenSSL error");
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Result<std::string> key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return Status::internal("write the SNS signing key as PEM: " + openssl_error());
  return bio_text(bio.get());
}

Result<std::string> cert_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    return Status::internal("write the SNS signing certificate as PEM: " + openssl_error());
  return bio_text(bio.get());
}

Result<X509Ptr> parse_cert(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return Status::invalid("parse certificate: " + openssl_error());
  return cert;
}

std::string hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 15];
  }
  return out;
}

// Writes `content` to `path` with `mode` (a new file, then renamed over
// the old one, so a crash never leaves half a key).
Status write_private(const fs::path& path, const std::string& content, mode_t mode) {
  const fs::path tmp = path.string() + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::io("create " + tmp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::io("write " + tmp.string() + ": " + std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return Status::io("write " + tmp.string() + ": " + std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::io("rename " + tmp.string() + ": " + std::strerror(errno));
  return Status();
}

Result<std::pair<PkeyPtr, X509Ptr>> make_key_and_cert(std::string_view common_name) {
  PkeyPtr key(EVP_RSA_gen(2048));
  if (!key) return Status::internal("generate an RSA key: " + openssl_error());
  X509Ptr cert(X509_new());
  if (!cert) return Status::internal("make a certificate: " + openssl_error());
  unsigned char serial[8];
  if (RAND_bytes(serial, sizeof serial) != 1)
    return Status::internal("random serial number: " + openssl_error());
  serial[0] &= 0x7f;  // a positive serial
  uint64_t s = 0;
  for (unsigned char b : serial) s = (s << 8) | b;
  const std::string cn(common_name);
  X509_NAME* name = X509_get_subject_name(cert.get());
  bool ok = X509_set_version(cert.get(), 2) == 1 &&
            ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), s) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600) != nullptr &&
            X509_set_pubkey(cert.get(), key.get()) == 1 &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                       0) == 1 &&
            X509_set_issuer_name(cert.get(), name) == 1 &&
            X509_sign(cert.get(), key.get(), EVP_sha256()) > 0;
  if (!ok) return Status::internal("make a self-signed certificate: " + openssl_error());
  return std::pair<PkeyPtr, X509Ptr>(std::move(key), std::move(cert));
}

}  // namespace

struct SigningKey::Impl {
  PkeyPtr key;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::~SigningKey() = default;

Result<std::unique_ptr<SigningKey>> SigningKey::from_pem(const std::string& key_pem,
                                                         const std::string& cert_pem) {
  BioPtr bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return Status::invalid("parse the SNS signing key: " + openssl_error());
  auto cert = parse_cert(cert_pem);
  if (!cert.ok()) return cert.status().with_context("the SNS signing certificate");
  if (EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key.get()) != 1)
    return Status::invalid("the SNS signing certificate is not the signing key's");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert->get(), EVP_sha256(), md, &md_len) != 1)
    return Status::internal("fingerprint the SNS signing certificate: " + openssl_error());
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  std::unique_ptr<SigningKey> out(new SigningKey(std::move(impl)));
  out->certificate_pem_ = cert_pem;
  out->fingerprint_ = hex(md, md_len).substr(0, 32);
  return out;
}

Result<std::unique_ptr<SigningKey>> SigningKey::generate(std::string_view common_name) {
  auto made = make_key_and_cert(common_name);
  if (!made.ok()) return made.status();
  auto key_pem = key_to_pem(made->first.get());
  if (!key_pem.ok()) return key_pem.status();
  auto cert_pem = cert_to_pem(made->second.get());
  if (!cert_pem.ok()) return cert_pem.status();
  return from_pem(*key_pem, *cert_pem);
}

Result<std::unique_ptr<SigningKey>> SigningKey::load_or_create(const fs::path& dir,
                                                               std::string_view common_name) {
  const fs::path key_path = dir / "signing-key.pem";
  const fs::path cert_path = dir / "signing-cert.pem";
  std::error_code ec;
  const bool has_key = fs::exists(key_path, ec);
  const bool has_cert = fs::exists(cert_path, ec);
  if (has_key && has_cert) {
    auto key_pem = read_file(key_path);
    auto cert_pem = read_file(cert_path);
    if (!key_pem || !cert_pem)
      return Status::io("read the SNS signing key and certificate in " + dir.string());
    auto loaded = from_pem(*key_pem, *cert_pem);
    if (!loaded.ok()) return loaded.status().with_context(dir.string());
    return loaded;
  }
  if (has_key != has_cert)
    return Status::invalid(dir.string() + " holds " + (has_key ? "a key" : "a certificate") +
                           " without " + (has_key ? "its certificate" : "its key") +
                           "; remove it to make a new pair");
  fs::create_directories(dir, ec);
  if (ec) return Status::io("create " + dir.string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, ec);
  auto made = make_key_and_cert(common_name);
  if (!made.ok()) return made.status();
  auto key_pem = key_to_pem(made->first.get());
  if (!key_pem.ok()) return key_pem.status();
  auto cert_pem = cert_to_pem(made->second.get());
  if (!cert_pem.ok()) return cert_pem.status();
  if (Status s = write_private(key_path, *key_pem, 0600); !s.ok()) return s;
  if (Status s = write_private(cert_path, *cert_pem, 0644); !s.ok()) return s;
  return from_pem(*key_pem, *cert_pem);
}

Result<std::string> SigningKey::sign(std::string_view data) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1)
    return Status::internal("sign an SNS message: " + openssl_error());
  std::vector<unsigned char> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return Status::internal("sign an SNS message: " + openssl_error());
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), sig.data(),
                          static_cast<int>(len));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<bool> verify_signature(std::string_view certificate_pem, std::string_view data,
                              std::string_view signature_base64) {
  auto cert = parse_cert(certificate_pem);
  if (!cert.ok()) return cert.status();
  if (signature_base64.empty() || signature_base64.size() % 4 != 0 ||
      signature_base64.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
          std::string_view::npos)
    return Status::invalid("the signature is not base64");
  std::vector<unsigned char> sig(signature_base64.size() / 4 * 3);
  int n =
      EVP_DecodeBlock(sig.data(), reinterpret_cast<const unsigned char*>(signature_base64.data()),
                      static_cast<int>(signature_base64.size()));
  if (n < 0) return Status::invalid("the signature is not base64");
  // EVP_DecodeBlock counts the bytes '=' padding stands for.
  size_t len = static_cast<size_t>(n);
  for (size_t i = signature_base64.size(); i > 0 && signature_base64[i - 1] == '='; --i) --len;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                                   X509_get0_pubkey(cert->get())) != 1)
    return Status::internal("verify a signature: " + openssl_error());
  int r = EVP_DigestVerify(ctx.get(), sig.data(), len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size());
  ERR_clear_error();
  return r == 1;
}

}  // namespace stageline::sns
