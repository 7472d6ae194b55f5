// api/s3: the S3 REST API (the subset `aws s3` and `aws s3api` use) on the
// server's port, serving the buckets and objects of the artifacts module's
// ObjectStore: the artifact store of the engine and what users see through
// S3 are the same store (docs/artifact-store.md has the on-disk layout).
//
// A request reaches S3Api::handle when its SigV4 credential scope names
// "s3" (server/services.h). handle authenticates it itself (header
// signatures with a signed payload hash, UNSIGNED-PAYLOAD, or
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD aws-chunked bodies whose every chunk is
// verified; presigned URLs), routes it by method, path and query (path-style
// "/bucket/key", or virtual-host style "bucket.localhost:PORT"), and answers
// with S3's XML documents and errors (<Error><Code>NoSuchKey</Code>...).
//
// Bucket versioning (Enabled / Suspended) is the "versioning" configuration
// document of the bucket. Until it is first configured, a put replaces the
// object and responses call its version "null". Once configured, every put
// keeps the earlier versions and a delete without a version id adds a delete
// marker; Suspended behaves like Enabled here (S3 would write "null"
// versions that replace each other), so nothing is ever lost by suspending. ListObjectVersions
// pages by key only (a key's versions are never split across pages). Lifecycle and encryption
// configurations are stored and returned, not applied yet (the next issue).
// Not implemented (501 NotImplemented): ACLs, policies, tagging, CORS,
// website, UploadPartCopy; SigV2 (so `aws s3 presign` of the v1 CLI needs
// `s3.signature_version = s3v4`) and the STREAMING-*-TRAILER payloads.
//
// Every call runs on the control thread, including the copy of a spooled
// body into the store and the fsync: a large PUT holds the loop for as long
// as that takes (tens of ms for an 8 MiB part).
//
// Depends on base, artifacts (ObjectStore), api/http (Request/Response
// only, no Beast) and api/sigv4. Runs on the server's control thread; one
// instance per server, not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "api/http/http.h"
#include "api/sigv4/sigv4.h"
#include "artifacts/object_cipher.h"
#include "artifacts/object_store.h"

namespace stageline::api::s3 {

struct S3Options {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";  // the Owner ID in listings
  // Where decoded aws-chunked bodies and copies are written before they are
  // put (same file system as the store is best). Must exist.
  std::filesystem::path scratch_dir;
  // Objects sealed at rest (pipeline artifacts under a KMS key, S3 deploys
  // with KMSEncryptionKeyARN) are read through it, as S3 decrypts SSE-KMS
  // objects for GetObject, HeadObject and CopyObject; plain objects pass
  // through it unchanged. Borrowed. nullptr: objects are served as stored.
  artifacts::ObjectCipher* cipher = nullptr;
};

// S3's limit for one PUT (an object or a part).
inline constexpr uint64_t kMaxPutBytes = uint64_t{5} << 30;

class S3Api {
 public:
  // `store` and `verifier` are borrowed and must outlive the S3Api.
  S3Api(artifacts::ObjectStore& store, const sigv4::Verifier& verifier, S3Options options);

  // Answers one S3 request; never throws. The request body is either in
  // memory (request.body) or in request.body_file.
  http::Response handle(const http::Request& request);

  // The body limit the HTTP server should apply to an S3 request, judged from
  // its request line and headers: kMaxPutBytes for PUT, nullopt (the
  // server's default) otherwise.
  static std::optional<uint64_t> body_limit(const http::Request& head);

 private:
  struct Call;
  http::Response dispatch(Call& call);
  http::Response service_call(Call& call);
  http::Response bucket_call(Call& call);
  http::Response object_call(Call& call);

  http::Response list_buckets(Call& call);
  http::Response create_bucket(Call& call);
  http::Response list_objects(Call& call, bool v2);
  http::Response list_object_versions(Call& call);
  http::Response list_multipart_uploads(Call& call);
  http::Response put_bucket_versioning(Call& call);
  http::Response get_bucket_versioning(Call& call);
  http::Response put_bucket_document(Call& call, const char* config, const char* root);
  http::Response get_bucket_document(Call& call, const char* config, const char* missing_code,
                                     const char* missing_message);
  http::Response delete_objects(Call& call);

  http::Response put_object(Call& call);
  http::Response copy_object(Call& call);
  http::Response get_object(Call& call, bool head);
  // Replaces a sealed object's descriptor and size by its plaintext's
  // (options_.cipher); a plain object is left as it is.
  Status unseal(const std::string& bucket, const std::string& key,
                artifacts::OpenedObject& object) const;
  http::Response delete_object(Call& call);
  http::Response create_multipart_upload(Call& call);
  http::Response upload_part(Call& call);
  http::Response complete_multipart_upload(Call& call);
  http::Response abort_multipart_upload(Call& call);
  http::Response list_parts(Call& call);

  // "Enabled", "Suspended", or "" when versioning was never configured.
  Result<std::string> versioning(const std::string& bucket) const;

  artifacts::ObjectStore& store_;
  const sigv4::Verifier& verifier_;
  S3Options options_;
};

}  // namespace stageline::api::s3
