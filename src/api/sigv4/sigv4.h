// api/sigv4: authenticates HTTP requests signed with AWS Signature Version 4,
// and signs requests the same way, so that the aws CLI, the AWS SDKs and our
// own CLI can call Stageline with ordinary AWS access keys (reference §2).
//
// The module sees a request only through HttpRequestView (method, target,
// headers, body as received), so it knows nothing of sockets or of the HTTP
// library: the server copies the parsed request into a view, calls
// Verifier::verify, and on failure answers with the HTTP status and the
// {"__type", "message"} body the failure names. Depends on base and OpenSSL's
// libcrypto only; no Asio/Beast, no network, no store (keys come through the
// KeySource interface of keys.h).
//
// What verify checks, in this order (the first failure is returned):
//   1. Exactly one way of authenticating: one Authorization header, or the
//      X-Amz-* query parameters of a presigned URL; not both, not neither.
//   2. The Authorization header parses: "AWS4-HMAC-SHA256 Credential=<id>/
//      <yyyymmdd>/<region>/<service>/aws4_request, SignedHeaders=<a;b;c>,
//      Signature=<hex>" (components separated by ',' with optional spaces, each
//      exactly once, no others); `host` is among the signed headers and every
//      signed header is present; one X-Amz-Date header in the basic ISO-8601
//      form. (Presigned: the six X-Amz-* parameters, X-Amz-Expires 1..604800.)
//   3. The credential scope: its date is the day of X-Amz-Date, the terminator
//      is aws4_request, the region is the configured one, the service is one
//      of the accepted names.
//   4. The time: X-Amz-Date within `max_skew` of the clock, both ways
//      (presigned: not later than now + max_skew, and not past its expiry).
//   5. An X-Amz-Security-Token, if sent, is signed (header or query).
//   6. The access key exists and is enabled.
//   7. The payload: if X-Amz-Content-SHA256 is sent, it is the SHA-256 of the
//      body received, or UNSIGNED-PAYLOAD for S3; without it the canonical
//      request carries the SHA-256 of the body received (presigned S3:
//      UNSIGNED-PAYLOAD). So a body changed in transit fails.
//   8. The signature, recomputed over the canonical request exactly as
//      botocore builds it (canonical.h) and compared in constant time.
//
// What it does not do: there are no temporary credentials. The session token
// of X-Amz-Security-Token is not looked up or checked against anything; it is
// only required to be signed when present, so a client that has one configured
// still works. Chunked STREAMING-AWS4-HMAC-SHA256-PAYLOAD uploads (S3 only):
// verify checks the seed signature over the headers and returns the
// Identity's `streaming` seed; each chunk's signature is then checked by
// ChunkedPayloadDecoder (chunked.h) as the body is read. Not supported:
// SigV4A (ECDSA), trailer variants (STREAMING-*-TRAILER), the Date header in place of
// X-Amz-Date, and replay detection within the skew window (AWS has none
// either). Authorization (what the principal may do) is the iam module's job.
//
// Services: "s3" follows S3's rules (the raw path is signed as sent, without
// normalizing or encoding it again; UNSIGNED-PAYLOAD is allowed; presigned URLs
// sign UNSIGNED-PAYLOAD). Every other service name follows the generic rules
// of the JSON services (path normalized, then URI-encoded a second time).
//
// Error mapping (AuthError -> __type, HTTP status; one switch in sigv4.cc):
//   kMissingAuthenticationToken  MissingAuthenticationTokenException  403
//   kIncompleteSignature         IncompleteSignature                  403
//   kUnrecognizedClient          UnrecognizedClientException          403
//       (an unknown or a disabled key: the client cannot tell which; the
//        failure's `detail` says which for the server log)
//   kSignatureDoesNotMatch       InvalidSignatureException            400
//   kSignatureExpired            InvalidSignatureException            400
//   kSignatureNotYetCurrent      InvalidSignatureException            400
//   kInvalidCredentialScope      InvalidSignatureException            400
//       (wrong date, region, service or terminator in Credential=)
//   kContentHashMismatch         InvalidSignatureException            400
//   kRequestExpired              AccessDeniedException                403
//       (a presigned URL past X-Amz-Expires; S3's XML layer says AccessDenied)
// The names and messages are AWS's where reference §1.4 and §2.6 give them.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/sigv4/keys.h"
#include "base/status.h"

namespace stageline::api::sigv4 {

using Header = std::pair<std::string, std::string>;

// A request as the server received it. `target` is the request-target of the
// request line ("/path?query", percent-encoded as sent); `headers` are in
// received order, names in any case, a name may repeat. Views must outlive the
// verify call only.
struct HttpRequestView {
  std::string_view method;
  std::string_view target;
  std::vector<Header> headers;
  std::string_view body;
};

// An owning request, for the signer and for tests.
struct HttpRequest {
  std::string method;
  std::string target;
  std::vector<Header> headers;
  std::string body;

  HttpRequestView view() const { return {method, target, headers, body}; }
};

enum class AuthError {
  kMissingAuthenticationToken,
  kIncompleteSignature,
  kUnrecognizedClient,
  kSignatureDoesNotMatch,
  kSignatureExpired,
  kSignatureNotYetCurrent,
  kInvalidCredentialScope,
  kContentHashMismatch,
  kRequestExpired,
};
std::string_view to_string(AuthError e);

// How the server answers an AuthError: the JSON body's __type and the status.
struct WireError {
  std::string_view aws_type;
  int http_status = 0;
};
WireError wire_error(AuthError e);

// Why a request was refused. `message` is for the client (the "message" of
// the error body, AWS's wording); `detail` is for the server log only and must
// not be sent: it may say that a key exists but is disabled, or hold the
// canonical request the server computed.
struct AuthFailure {
  AuthError error = AuthError::kIncompleteSignature;
  std::string message;
  std::string detail;

  std::string_view aws_type() const { return wire_error(error).aws_type; }
  int http_status() const { return wire_error(error).http_status; }
};

// What a chunk signature of an aws-chunked body chains from: the request's
// X-Amz-Date, credential scope, seed signature (the Authorization header's)
// and signing key.
struct StreamingSeed {
  std::string amz_date;
  std::string scope;           // yyyymmdd/region/s3/aws4_request
  std::string seed_signature;  // 64 hex digits
  std::string signing_key;     // 32 raw bytes
};

// Who signed an accepted request, and with what scope.
struct Identity {
  std::string access_key_id;
  std::string principal;  // Key::principal, e.g. arn:aws:iam::000000000000:user/admin
  std::string region;
  std::string service;
  std::chrono::sys_seconds signed_at{};  // X-Amz-Date
  bool presigned = false;                // authenticated by query parameters
  // Set when X-Amz-Content-SHA256 is STREAMING-AWS4-HMAC-SHA256-PAYLOAD: the
  // body is aws-chunked and its chunks are not verified yet.
  std::optional<StreamingSeed> streaming;
};

// The outcome of verify: an Identity or an AuthFailure. Not base's Result<T>
// because a failure must carry the AWS error type and HTTP status, which a
// Status cannot.
class [[nodiscard]] AuthResult {
 public:
  AuthResult(Identity identity) : ok_(true), identity_(std::move(identity)) {}   // NOLINT
  AuthResult(AuthFailure failure) : ok_(false), failure_(std::move(failure)) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  // REQUIRES: ok().
  const Identity& identity() const {
    STAGELINE_CHECK(ok_);
    return identity_;
  }
  // REQUIRES: !ok().
  const AuthFailure& failure() const {
    STAGELINE_CHECK(!ok_);
    return failure_;
  }
  // Ok, or kFailedPrecondition "<__type>: <message>", for callers that only log.
  Status status() const;

 private:
  bool ok_;
  Identity identity_;
  AuthFailure failure_;
};

using Clock = std::function<std::chrono::system_clock::time_point()>;

struct VerifierOptions {
  // The region a credential scope must name; "" accepts any region.
  std::string region = "us-east-1";
  // The service names a credential scope may name (verify without a service).
  std::vector<std::string> services = {"codepipeline"};
  Clock clock = [] { return std::chrono::system_clock::now(); };
  // How far X-Amz-Date may be from the clock either way (AWS: 15 minutes).
  std::chrono::seconds max_skew = std::chrono::minutes(15);
};

// Checks SigV4 signatures against keys from a KeySource. Immutable after
// construction: verify may be called from any number of threads at once,
// provided the KeySource and the clock are thread-safe.
class Verifier {
 public:
  // `keys` is not owned and must outlive the Verifier.
  Verifier(VerifierOptions options, KeySource& keys);

  // Authenticates `request` for any of options.services.
  AuthResult verify(const HttpRequestView& request) const;
  // Authenticates `request` for `service` only (e.g. "s3" on the artifact
  // routes), whatever options.services says.
  AuthResult verify(const HttpRequestView& request, std::string_view service) const;
  // The same for a body the caller holds elsewhere (spooled to a file):
  // `body_sha256_hex` is its SHA-256 (lower-case hex) and request.body is
  // ignored.
  AuthResult verify(const HttpRequestView& request, std::string_view service,
                    std::string_view body_sha256_hex) const;

 private:
  AuthResult verify_for(const HttpRequestView& request, const std::vector<std::string>& services,
                        std::optional<std::string_view> body_sha256_hex) const;

  VerifierOptions options_;
  KeySource& keys_;
};

// Signs `request` as botocore does: removes any Authorization, X-Amz-Date and
// X-Amz-Content-SHA256 headers, adds X-Amz-Date (`now`) and
// X-Amz-Content-SHA256 (the SHA-256 of the body), then signs every header but
// the hop-by-hop ones botocore skips (connection, expect, keep-alive, proxy-*,
// te, trailer, transfer-encoding, upgrade, user-agent, x-amzn-trace-id) and
// adds Authorization. Headers added afterwards are unsigned, which verify
// allows. Errors (kInvalidArgument), leaving `request` unchanged: no Host
// header, a target that is not a path, an empty region or service.
Status sign(HttpRequest& request, const Key& key, std::string_view region, std::string_view service,
            std::chrono::system_clock::time_point now);

// The same, with X-Amz-Content-SHA256 set to `payload_hash` instead of the
// body's SHA-256: "UNSIGNED-PAYLOAD", or "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
// for an aws-chunked body (then the Authorization header's Signature is the
// seed of encode_chunked in chunked.h).
Status sign_with_payload_hash(HttpRequest& request, const Key& key, std::string_view region,
                              std::string_view service, std::chrono::system_clock::time_point now,
                              std::string_view payload_hash);

// What a presigned URL grants: one request of `method` to `target` (a path,
// with an optional query of its own) on `host`, until now + expires.
struct PresignRequest {
  std::string method = "GET";
  std::string target = "/";
  std::string host;  // the Host header the client will send (port included if not 80/443)
  std::string region = "us-east-1";
  std::string service = "s3";
  std::chrono::seconds expires = std::chrono::hours(1);
  // Generic services sign the SHA-256 of this body; S3 signs UNSIGNED-PAYLOAD.
  std::string body;
};

// The target with the presigned-URL query parameters added (X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders=host, and
// X-Amz-Signature last), as botocore's SigV4QueryAuth / S3SigV4QueryAuth make
// them. Errors (kInvalidArgument): an empty host, region or service, a target
// that is not a path, expires outside 1 s .. 7 days, a target that already
// carries X-Amz-* auth parameters.
Result<std::string> presign(const PresignRequest& request, const Key& key,
                            std::chrono::system_clock::time_point now);

}  // namespace stageline::api::sigv4
