// api/sns/signing: the key SNS messages are signed with, and the signature
// check a subscriber does (SignatureVersion 2: SHA256withRSA, base64).
//
// The server makes a 2048-bit RSA key and a self-signed X.509 certificate
// for it on first start and keeps them in DATA_DIR/sns/ (signing-key.pem,
// mode 0600, and signing-cert.pem); the certificate is what SigningCertURL
// serves (docs/sns.md). OpenSSL is included by signing.cc only.
//
// Thread safety: a SigningKey is immutable once made; sign() may be called
// from any number of threads at once.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stageline::sns {

class SigningKey {
 public:
  // Loads DIR/signing-key.pem and DIR/signing-cert.pem, or, when neither
  // exists, makes a new key and certificate (subject CN `common_name`, valid
  // ten years) and writes them there (DIR is created, mode 0700). Errors
  // (kIo): the directory or a file cannot be written; (kInvalidArgument)
  // only one of the files exists, or one does not parse, or the certificate
  // is not the key's.
  static Result<std::unique_ptr<SigningKey>> load_or_create(const std::filesystem::path& dir,
                                                            std::string_view common_name);
  // A new key and certificate kept in memory only (tests).
  static Result<std::unique_ptr<SigningKey>> generate(std::string_view common_name);

  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  // The base64 RSA PKCS#1 v1.5 signature of SHA-256(data). Errors (kInternal):
  // OpenSSL failed.
  Result<std::string> sign(std::string_view data) const;

  // The certificate, PEM-encoded.
  const std::string& certificate_pem() const { return certificate_pem_; }
  // The first 32 hex digits of the SHA-256 of the certificate (DER): names
  // the certificate file as AWS names its own
  // (SimpleNotificationService-<fingerprint>.pem).
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  static Result<std::unique_ptr<SigningKey>> from_pem(const std::string& key_pem,
                                                      const std::string& cert_pem);

  std::unique_ptr<Impl> impl_;
  std::string certificate_pem_;
  std::string fingerprint_;
};

// Whether `signature_base64` is a SHA256withRSA signature of `data` by the
// key of the PEM certificate `certificate_pem`, as a subscriber checks a
// message. Errors (kInvalidArgument): the certificate does not parse, the
// signature is not base64.
Result<bool> verify_signature(std::string_view certificate_pem, std::string_view data,
                              std::string_view signature_base64);

}  // namespace stageline::sns
