#include "api/sigv4/sigv4.h"

#include <algorithm>

#include "api/sigv4/canonical.h"
#include "api/sigv4/crypto.h"
#include "base/strings.h"

namespace stageline::api::sigv4 {

std::string_view to_string(AuthError e) {
  switch (e) {
    case AuthError::kMissingAuthenticationToken:
      return "MissingAuthenticationToken";
    case AuthError::kIncompleteSignature:
      return "IncompleteSignature";
    case AuthError::kUnrecognizedClient:
      return "UnrecognizedClient";
    case AuthError::kSignatureDoesNotMatch:
      return "SignatureDoesNotMatch";
    case AuthError::kSignatureExpired:
      return "SignatureExpired";
    case AuthError::kSignatureNotYetCurrent:
      return "SignatureNotYetCurrent";
    case AuthError::kInvalidCredentialScope:
      return "InvalidCredentialScope";
    case AuthError::kContentHashMismatch:
      return "ContentHashMismatch";
    case AuthError::kRequestExpired:
      return "RequestExpired";
  }
  return "?";
}

WireError wire_error(AuthError e) {
  switch (e) {
    case AuthError::kMissingAuthenticationToken:
      return {"MissingAuthenticationTokenException", 403};
    case AuthError::kIncompleteSignature:
      return {"IncompleteSignature", 403};
    case AuthError::kUnrecognizedClient:
      return {"UnrecognizedClientException", 403};
    case AuthError::kSignatureDoesNotMatch:
    case AuthError::kSignatureExpired:
    case AuthError::kSignatureNotYetCurrent:
    case AuthError::kInvalidCredentialScope:
    case AuthError::kContentHashMismatch:
      return {"InvalidSignatureException", 400};
    case AuthError::kRequestExpired:
      return {"AccessDeniedException", 403};
  }
  return {"InternalFailure", 500};
}

Status AuthResult::status() const {
  if (ok_) return {};
  return {StatusCode::kFailedPrecondition,
          std::string(failure_.aws_type()) + ": " + failure_.message};
}

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr std::string_view kStreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr std::string_view kInvalidToken = "The security token included in the request is invalid.";
constexpr long kMaxPresignExpiry = 604800;  // 7 days, S3's and botocore's limit

AuthFailure failure(AuthError e, std::string message, std::string detail = {}) {
  return AuthFailure{e, std::move(message), std::move(detail)};
}

bool is_s3(std::string_view service) { return service == "s3"; }

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

// The values of every header named `lower_name` (case-insensitive).
std::vector<std::string_view> header_values(const std::vector<Header>& headers,
                                            std::string_view lower_name) {
  std::vector<std::string_view> out;
  for (const auto& [name, value] : headers)
    if (iequals(name, lower_name)) out.push_back(value);
  return out;
}

std::string window_text(std::chrono::seconds s) {
  if (s.count() % 60 == 0) return std::to_string(s.count() / 60) + " min.";
  return std::to_string(s.count()) + " sec.";
}

// Everything the signature covers besides the request itself, from the
// Authorization header or from the presigned-URL query.
struct Claim {
  std::string access_key_id;
  std::string scope_date;  // yyyymmdd from Credential=
  std::string region;
  std::string service;
  std::string terminator;
  std::string signed_headers;  // as sent: "a;b;c"
  std::string signature;
  std::string amz_date;  // X-Amz-Date as sent
  std::chrono::sys_seconds signed_at{};
  long expires_s = 0;  // presigned only
  bool presigned = false;
};

// Splits "id/date/region/service/aws4_request" into `claim`.
std::optional<AuthFailure> parse_credential(std::string_view credential, Claim& claim) {
  std::vector<std::string> parts = split(credential, '/');
  bool empty_part = std::any_of(parts.begin(), parts.end(), [](auto& p) { return p.empty(); });
  if (parts.size() != 5 || empty_part)
    return failure(AuthError::kIncompleteSignature,
                   "Credential " + quote(credential, 128) +
                       " is malformed: expected <access key id>/<yyyymmdd>/<region>/<service>/"
                       "aws4_request.");
  claim.access_key_id = parts[0];
  claim.scope_date = parts[1];
  claim.region = parts[2];
  claim.service = parts[3];
  claim.terminator = parts[4];
  return std::nullopt;
}

std::optional<AuthFailure> parse_amz_date_into(std::string_view value, Claim& claim) {
  auto t = parse_amz_date(value);
  if (!t)
    return failure(AuthError::kIncompleteSignature,
                   "Date must be in ISO-8601 'basic format'. Got " + quote(value, 64) +
                       ". Expected a UTC time like 20261127T031828Z.");
  claim.amz_date = value;
  claim.signed_at = *t;
  return std::nullopt;
}

// Parses an Authorization header value and the X-Amz-Date header.
std::optional<AuthFailure> parse_header_auth(std::string_view auth, const HttpRequestView& request,
                                             Claim& claim) {
  auth = trim(auth);
  const std::string shown = "Authorization=" + quote(auth, 256);
  size_t space = auth.find_first_of(" \t");
  std::string_view algorithm = auth.substr(0, space);
  if (algorithm != kAlgorithm)
    return failure(AuthError::kIncompleteSignature,
                   "Unsupported AWS 'algorithm': " + quote(algorithm, 64) +
                       " (only AWS4-HMAC-SHA256 is accepted). " + shown);
  std::string_view rest = space == std::string_view::npos ? "" : auth.substr(space);

  std::optional<std::string> credential, signed_headers, signature;
  for (const std::string& raw :
       trim(rest).empty() ? std::vector<std::string>() : split(rest, ',')) {
    std::string_view part = trim(raw);
    if (part.empty())
      return failure(AuthError::kIncompleteSignature,
                     "Authorization header has an empty component. " + shown);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos)
      return failure(AuthError::kIncompleteSignature,
                     "Authorization component " + quote(part, 64) + " is not name=value. " + shown);
    std::string_view name = part.substr(0, eq), value = part.substr(eq + 1);
    std::optional<std::string>* slot = name == "Credential"      ? &credential
                                       : name == "SignedHeaders" ? &signed_headers
                                       : name == "Signature"     ? &signature
                                                                 : nullptr;
    if (slot == nullptr)
      return failure(AuthError::kIncompleteSignature,
                     "Authorization header has an unknown component " + quote(name, 64) +
                         " (expected Credential, SignedHeaders and Signature). " + shown);
    if (*slot)
      return failure(AuthError::kIncompleteSignature,
                     "Authorization header has " + std::string(name) + " twice. " + shown);
    *slot = std::string(value);
  }
  std::string missing;
  if (!credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!signature) missing += "Authorization header requires 'Signature' parameter. ";
  if (!signed_headers) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!missing.empty()) return failure(AuthError::kIncompleteSignature, missing + shown);

  if (auto f = parse_credential(*credential, claim)) return f;
  claim.signed_headers = *signed_headers;
  claim.signature = *signature;

  auto dates = header_values(request.headers, "x-amz-date");
  if (dates.empty())
    return failure(AuthError::kIncompleteSignature,
                   "Authorization header requires existence of a 'X-Amz-Date' header. " + shown);
  if (dates.size() > 1)
    return failure(AuthError::kIncompleteSignature, "The request has more than one X-Amz-Date.");
  return parse_amz_date_into(trim(dates.front()), claim);
}

// Reads the X-Amz-* parameters of a presigned URL.
std::optional<AuthFailure> parse_query_auth(const std::vector<QueryParam>& params, Claim& claim) {
  claim.presigned = true;
  std::optional<std::string> algorithm, credential, date, expires, signed_headers, signature;
  for (const auto& [name, value] : params) {
    std::optional<std::string>* slot = name == "X-Amz-Algorithm"       ? &algorithm
                                       : name == "X-Amz-Credential"    ? &credential
                                       : name == "X-Amz-Date"          ? &date
                                       : name == "X-Amz-Expires"       ? &expires
                                       : name == "X-Amz-SignedHeaders" ? &signed_headers
                                       : name == "X-Amz-Signature"     ? &signature
                                                                       : nullptr;
    if (slot == nullptr) continue;
    if (*slot)
      return failure(AuthError::kIncompleteSignature,
                     "The query has the parameter " + name + " more than once.");
    *slot = value;
  }
  if (!algorithm || !credential || !date || !expires || !signed_headers || !signature)
    return failure(AuthError::kIncompleteSignature,
                   "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                   "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                   "X-Amz-Expires parameters.");
  if (*algorithm != kAlgorithm)
    return failure(
        AuthError::kIncompleteSignature,
        "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\", not " + quote(*algorithm, 64) + ".");
  if (auto f = parse_credential(*credential, claim)) return f;
  bool digits =
      !expires->empty() && expires->size() <= 7 &&
      std::all_of(expires->begin(), expires->end(), [](char c) { return c >= '0' && c <= '9'; });
  long e = digits ? std::stol(*expires) : 0;
  if (e < 1 || e > kMaxPresignExpiry)
    return failure(AuthError::kIncompleteSignature,
                   "X-Amz-Expires must be a whole number of seconds from 1 to 604800 (a week), "
                   "not " +
                       quote(*expires, 32) + ".");
  claim.expires_s = e;
  claim.signed_headers = *signed_headers;
  claim.signature = *signature;
  return parse_amz_date_into(*date, claim);
}

std::optional<AuthFailure> check_scope(const Claim& claim, std::string_view region,
                                       const std::vector<std::string>& services) {
  if (claim.scope_date != std::string_view(claim.amz_date).substr(0, 8))
    return failure(AuthError::kInvalidCredentialScope,
                   "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                   "from HTTP: " +
                       quote(claim.scope_date, 32) + " != '" + claim.amz_date.substr(0, 8) +
                       "', from '" + claim.amz_date + "'.");
  if (claim.terminator != "aws4_request")
    return failure(AuthError::kInvalidCredentialScope,
                   "Credential should be scoped with a valid terminator: 'aws4_request', not " +
                       quote(claim.terminator, 64) + ".");
  if (!region.empty() && claim.region != region)
    return failure(AuthError::kInvalidCredentialScope,
                   "Credential should be scoped to a valid region, not " + quote(claim.region, 64) +
                       ". This server serves '" + std::string(region) + "'.");
  if (std::find(services.begin(), services.end(), claim.service) == services.end()) {
    std::string expected = services.empty() ? std::string("(none)") : services.front();
    return failure(AuthError::kInvalidCredentialScope,
                   "Credential should be scoped to correct service: '" + expected + "', not " +
                       quote(claim.service, 64) + ".");
  }
  return std::nullopt;
}

std::optional<AuthFailure> check_time(const Claim& claim, std::chrono::sys_seconds now,
                                      std::chrono::seconds skew) {
  const std::string window = window_text(skew);
  if (claim.signed_at > now + skew)
    return failure(AuthError::kSignatureNotYetCurrent,
                   "Signature not yet current: " + claim.amz_date + " is still later than " +
                       format_amz_date(now + skew) + " (" + format_amz_date(now) + " + " + window +
                       ")");
  if (claim.presigned) {
    auto expiry = claim.signed_at + std::chrono::seconds(claim.expires_s);
    if (now > expiry)
      return failure(AuthError::kRequestExpired, "Request has expired",
                     "X-Amz-Date " + claim.amz_date + " + X-Amz-Expires " +
                         std::to_string(claim.expires_s) + " s = " + format_amz_date(expiry) +
                         ", server time " + format_amz_date(now));
    return std::nullopt;
  }
  if (claim.signed_at < now - skew)
    return failure(AuthError::kSignatureExpired, "Signature expired: " + claim.amz_date +
                                                     " is now earlier than " +
                                                     format_amz_date(now - skew) + " (" +
                                                     format_amz_date(now) + " - " + window + ")");
  return std::nullopt;
}

}  // namespace

Verifier::Verifier(VerifierOptions options, KeySource& keys)
    : options_(std::move(options)), keys_(keys) {
  STAGELINE_CHECK(options_.clock != nullptr);
  STAGELINE_CHECK(options_.max_skew.count() >= 0);
}

AuthResult Verifier::verify(const HttpRequestView& request) const {
  return verify_for(request, options_.services, std::nullopt);
}

AuthResult Verifier::verify(const HttpRequestView& request, std::string_view service) const {
  return verify_for(request, {std::string(service)}, std::nullopt);
}

AuthResult Verifier::verify(const HttpRequestView& request, std::string_view service,
                            std::string_view body_sha256_hex) const {
  return verify_for(request, {std::string(service)}, body_sha256_hex);
}

AuthResult Verifier::verify_for(const HttpRequestView& request,
                                const std::vector<std::string>& services,
                                std::optional<std::string_view> body_sha256_hex) const {
  auto body_hash = [&] {
    return body_sha256_hex ? std::string(*body_sha256_hex) : sha256_hex(request.body);
  };
  auto target = split_target(request.target);
  if (!target)
    return failure(AuthError::kIncompleteSignature,
                   "The request target " + quote(request.target, 128) + " is not a path.");
  std::vector<QueryParam> params = parse_query(target->query);
  bool query_auth = std::any_of(params.begin(), params.end(), [](const QueryParam& p) {
    return p.first == "X-Amz-Algorithm" || p.first == "X-Amz-Credential" ||
           p.first == "X-Amz-Signature";
  });
  auto authorizations = header_values(request.headers, "authorization");

  // 1. One way of authenticating.
  if (authorizations.size() > 1)
    return failure(AuthError::kIncompleteSignature,
                   "The request has more than one Authorization header.");
  if (!authorizations.empty() && query_auth)
    return failure(AuthError::kIncompleteSignature,
                   "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or "
                   "the Authorization header should be specified.");
  if (authorizations.empty() && !query_auth)
    return failure(AuthError::kMissingAuthenticationToken, "Missing Authentication Token");

  // 2. Parse.
  Claim claim;
  if (auto f = query_auth ? parse_query_auth(params, claim)
                          : parse_header_auth(authorizations.front(), request, claim))
    return *f;
  std::vector<std::string> signed_names = split(claim.signed_headers, ';');
  for (const std::string& name : signed_names) {
    if (name.empty())
      return failure(
          AuthError::kIncompleteSignature,
          "SignedHeaders " + quote(claim.signed_headers, 128) + " has an empty header name.");
  }
  if (std::find(signed_names.begin(), signed_names.end(), "host") == signed_names.end())
    return failure(AuthError::kIncompleteSignature,
                   "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  std::string canonical_headers;
  for (const std::string& name : signed_names) {
    auto value = canonical_header_value(request.headers, name);
    if (!value)
      return failure(AuthError::kIncompleteSignature,
                     "The signed header " + quote(name, 64) + " is not in the request.");
    canonical_headers += name;
    canonical_headers += ':';
    canonical_headers += *value;
    canonical_headers += '\n';
  }

  // 3, 4. Scope and time.
  if (auto f = check_scope(claim, options_.region, services)) return *f;
  auto now = std::chrono::floor<std::chrono::seconds>(options_.clock());
  if (auto f = check_time(claim, now, options_.max_skew)) return *f;

  // 5. A session token is never checked, but it must be covered by the signature.
  if (!claim.presigned && !header_values(request.headers, "x-amz-security-token").empty() &&
      std::find(signed_names.begin(), signed_names.end(), "x-amz-security-token") ==
          signed_names.end())
    return failure(AuthError::kIncompleteSignature,
                   "The X-Amz-Security-Token header must be a 'SignedHeader'.");

  // 6. The key.
  std::optional<Key> key = keys_.find(claim.access_key_id);
  if (!key)
    return failure(AuthError::kUnrecognizedClient, std::string(kInvalidToken),
                   "no access key " + quote(claim.access_key_id, 64));
  if (!key->enabled)
    return failure(
        AuthError::kUnrecognizedClient, std::string(kInvalidToken),
        "access key " + quote(claim.access_key_id, 64) + " of " + key->principal + " is disabled");

  // 7. The payload.
  const bool s3 = is_s3(claim.service);
  std::string payload_hash;
  bool streaming = false;
  auto content_hashes = header_values(request.headers, "x-amz-content-sha256");
  if (content_hashes.size() > 1)
    return failure(AuthError::kIncompleteSignature,
                   "The request has more than one X-Amz-Content-SHA256 header.");
  if (!content_hashes.empty()) {
    std::string_view claimed = content_hashes.front();
    if (is_hex64(claimed)) {
      std::string actual = body_hash();
      if (to_lower(claimed) != actual)
        return failure(AuthError::kContentHashMismatch,
                       "The provided 'x-amz-content-sha256' header does not match what was "
                       "computed.",
                       "claimed " + std::string(claimed) + ", body of " +
                           std::to_string(request.body.size()) + " bytes hashes to " + actual);
    } else if (s3 && claimed == kStreamingPayload && !claim.presigned) {
      streaming = true;
    } else if (!(s3 && claimed == kUnsignedPayload)) {
      return failure(AuthError::kIncompleteSignature,
                     "X-Amz-Content-SHA256 " + quote(claimed, 64) +
                         " is not supported: send the hex SHA-256 of the body" +
                         (s3 ? ", UNSIGNED-PAYLOAD or STREAMING-AWS4-HMAC-SHA256-PAYLOAD." : "."));
    }
    payload_hash = claimed;
  } else if (claim.presigned && s3) {
    payload_hash = kUnsignedPayload;
  } else {
    payload_hash = body_hash();
  }

  // 8. The signature.
  std::string creq =
      canonical_request(request.method, canonical_uri(target->path, s3),
                        canonical_query(params, claim.presigned ? "X-Amz-Signature" : ""),
                        canonical_headers, claim.signed_headers, payload_hash);
  std::string scope =
      claim.scope_date + "/" + claim.region + "/" + claim.service + "/" + claim.terminator;
  std::string sts = string_to_sign(claim.amz_date, scope, creq);
  Digest k = signing_key(key->secret, claim.scope_date, claim.region, claim.service);
  std::string expected =
      hex(hmac_sha256(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()), sts));
  if (!constant_time_equals(expected, claim.signature))
    return failure(AuthError::kSignatureDoesNotMatch, std::string(kSignatureMismatch),
                   "canonical request:\n" + creq + "\nstring to sign:\n" + sts);

  Identity identity{claim.access_key_id, key->principal,  claim.region, claim.service,
                    claim.signed_at,     claim.presigned, std::nullopt};
  if (streaming) {
    identity.streaming =
        StreamingSeed{claim.amz_date, scope, to_lower(claim.signature),
                      std::string(reinterpret_cast<const char*>(k.data()), k.size())};
  }
  return identity;
}

}  // namespace stageline::api::sigv4
