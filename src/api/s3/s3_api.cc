#include "api/s3/s3_api.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "api/s3/xml.h"
#include "api/sigv4/chunked.h"
#include "artifacts/unique_fd.h"
#include "base/strings.h"

namespace stageline::api::s3 {

namespace {

using artifacts::ObjectInfo;
using artifacts::UniqueFd;
using Clock = std::chrono::system_clock;

constexpr char kXmlns[] = "http://s3.amazonaws.com/doc/2006-03-01/";
constexpr char kXmlDecl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
constexpr size_t kMaxXmlBody = 2 * 1024 * 1024;

// --- Small helpers ---

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; '+' is a space only in query strings.
std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && hex_digit(s[i + 1]) >= 0 &&
        hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// S3's encoding-type=url: everything but unreserved characters and '/'.
std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string to_hex(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += kHex[u >> 4];
    out += kHex[u & 15];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view s) {
  if (s.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string iso8601(Clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string http_date(Clock::time_point t) {
  std::time_t secs = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string quoted_etag(std::string_view etag) { return "\"" + std::string(etag) + "\""; }

std::string unquote_etag(std::string_view etag) {
  std::string s(etag);
  while (!s.empty() && (s.front() == ' ')) s.erase(0, 1);
  while (!s.empty() && (s.back() == ' ')) s.pop_back();
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// A file name unique within this process's scratch directory.
std::string random_hex_name() {
  static std::atomic<uint64_t> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

// --- Errors ---

struct S3Error {
  int status;
  std::string code;
  std::string message;
};

// The S3 error of a store failure: its message carries the code after the
// operation ("get object 'b/k': NoSuchKey: ..."); see object_store.h.
S3Error error_of(const Status& s) {
  struct Known {
    const char* code;
    int status;
    const char* message;
  };
  static const Known kKnown[] = {
      {"NoSuchBucket", 404, "The specified bucket does not exist"},
      {"NoSuchKey", 404, "The specified key does not exist."},
      {"NoSuchVersion", 404, "The specified version does not exist."},
      {"NoSuchUpload", 404,
       "The specified upload does not exist. The upload ID may be invalid, or the upload may "
       "have been aborted or completed."},
      {"BucketAlreadyExists", 409,
       "Your previous request to create the named bucket succeeded and you already own it."},
      {"BucketNotEmpty", 409, "The bucket you tried to delete is not empty"},
      {"InvalidBucketName", 400, "The specified bucket is not valid."},
      {"KeyTooLongError", 400, "Your key is too long"},
      {"InvalidKey", 400, nullptr},
      {"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size"},
      {"EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed size"},
      {"InvalidPartOrder", 400,
       "The list of parts was not in ascending order. Parts must be ordered by part number."},
      {"InvalidPart", 400,
       "One or more of the specified parts could not be found.  The part may not have been "
       "uploaded, or the specified entity tag may not match the part's entity tag."},
      {"InvalidRequest", 400, nullptr},
      {"InvalidArgument", 400, nullptr},
  };
  const std::string& m = s.message();
  for (const Known& k : kKnown) {
    std::string needle = std::string(k.code) + ":";
    size_t at = m.find(needle);
    if (at == std::string::npos) continue;
    std::string code = k.code;
    // One account owns every bucket here, so a taken name is always ours.
    if (code == "BucketAlreadyExists") code = "BucketAlreadyOwnedByYou";
    // S3 has no InvalidKey code; its closest is InvalidArgument.
    if (code == "InvalidKey") code = "InvalidArgument";
    std::string detail = m.substr(at + needle.size());
    while (!detail.empty() && detail.front() == ' ') detail.erase(0, 1);
    return {k.status, code, k.message ? std::string(k.message) : detail};
  }
  if (s.code() == StatusCode::kInvalidArgument) return {400, "InvalidArgument", m};
  return {500, "InternalError", "We encountered an internal error. Please try again."};
}

}  // namespace

// One request on its way through: who, where, what.
struct S3Api::Call {
  const http::Request& request;
  std::string bucket;                        // "" for the service (ListBuckets)
  std::string key;                           // "" for a bucket request
  std::map<std::string, std::string> query;  // decoded; a flag without '=' maps to ""
  std::string host;
  // The payload after authentication: in memory, or a file (spooled by the
  // server, or decoded from aws-chunked into the scratch directory).
  std::string body;
  std::string body_file;
  std::string decoded_file;  // ours to remove
  sigv4::Identity identity;

  ~Call() {
    if (!decoded_file.empty()) ::unlink(decoded_file.c_str());
  }

  bool has(const std::string& name) const { return query.count(name) > 0; }
  std::string param(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  }

  http::Response error(int status, std::string_view code, std::string_view message) const {
    http::Response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/xml");
    r.headers.emplace_back("x-amz-request-id", request.request_id);
    std::string resource = "/" + bucket + (key.empty() ? "" : "/" + key);
    r.body = std::string(kXmlDecl) + "<Error>" + xml::element("Code", code) +
             xml::element("Message", message) +
             (key.empty() ? (bucket.empty() ? "" : xml::element("BucketName", bucket))
                          : xml::element("Key", key)) +
             xml::element("Resource", resource) + xml::element("RequestId", request.request_id) +
             "</Error>";
    return r;
  }
  http::Response error(const Status& s) const {
    S3Error e = error_of(s);
    return error(e.status, e.code, e.message);
  }
  http::Response xml_ok(const std::string& document, int status = 200) const {
    http::Response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/xml");
    r.headers.emplace_back("x-amz-request-id", request.request_id);
    r.body = kXmlDecl + document;
    return r;
  }
  http::Response empty(int status = 200) const {
    http::Response r;
    r.status = status;
    r.headers.emplace_back("x-amz-request-id", request.request_id);
    return r;
  }
  // The body as text, for the small XML documents of bucket calls.
  Result<std::string> text_body() const {
    if (body_file.empty()) return body;
    UniqueFd fd(::open(body_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Status::io("open the request body");
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::io("read the request body");
      if (n == 0) return out;
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > kMaxXmlBody) return Status::invalid("InvalidRequest: the body is too large");
    }
  }
};

S3Api::S3Api(artifacts::ObjectStore& store, const sigv4::Verifier& verifier, S3Options options)
    : store_(store), verifier_(verifier), options_(std::move(options)) {}

std::optional<uint64_t> S3Api::body_limit(const http::Request& head) {
  if (head.method == "PUT") return kMaxPutBytes;
  return std::nullopt;
}

namespace {

// The S3 error of a refused signature.
S3Error auth_error(const sigv4::AuthFailure& f) {
  using sigv4::AuthError;
  switch (f.error) {
    case AuthError::kMissingAuthenticationToken:
      return {403, "AccessDenied", "Access Denied"};
    case AuthError::kIncompleteSignature:
      return {400, "AuthorizationHeaderMalformed", f.message};
    case AuthError::kUnrecognizedClient:
      return {403, "InvalidAccessKeyId",
              "The AWS Access Key Id you provided does not exist in our records."};
    case AuthError::kSignatureDoesNotMatch:
      return {403, "SignatureDoesNotMatch", f.message};
    case AuthError::kSignatureExpired:
    case AuthError::kSignatureNotYetCurrent:
      return {403, "RequestTimeTooSkewed",
              "The difference between the request time and the current time is too large."};
    case AuthError::kInvalidCredentialScope:
      return {400, "AuthorizationHeaderMalformed", f.message};
    case AuthError::kContentHashMismatch:
      return {400, "XAmzContentSHA256Mismatch",
              "The provided 'x-amz-content-sha256' header does not match what was computed."};
    case AuthError::kRequestExpired:
      return {403, "AccessDenied", "Request has expired"};
  }
  return {403, "AccessDenied", "Access Denied"};
}

Result<std::string> sha256_of_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::io("open the request body " + path);
  sigv4::Sha256Stream hash;
  std::vector<char> buf(256 * 1024);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::io("read the request body " + path);
    if (n == 0) break;
    hash.update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  return hash.finish_hex();
}

}  // namespace

http::Response S3Api::handle(const http::Request& request) {
  Call call{request, {}, {}, {}, {}, {}, {}, {}, {}};
  // Addressing: virtual-host style when the Host is <bucket>.localhost[:port],
  // path style otherwise.
  call.host = std::string(request.header("Host"));
  std::string host_name =
      call.host.substr(0, call.host.rfind(':') == std::string::npos || call.host.back() == ']'
                              ? call.host.size()
                              : call.host.rfind(':'));
  std::string path = url_decode(request.path(), false);
  constexpr std::string_view kVhostSuffix = ".localhost";
  if (host_name.size() > kVhostSuffix.size() &&
      host_name.compare(host_name.size() - kVhostSuffix.size(), kVhostSuffix.size(),
                        kVhostSuffix) == 0) {
    call.bucket = host_name.substr(0, host_name.size() - kVhostSuffix.size());
    call.key = path.size() > 1 ? path.substr(1) : "";
  } else if (path.size() > 1) {
    size_t slash = path.find('/', 1);
    call.bucket = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    if (slash != std::string::npos) call.key = path.substr(slash + 1);
  }
  for (const std::string& pair : split(request.query(), '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    call.query[url_decode(pair.substr(0, eq), true)] =
        eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1), true);
  }

  // Authentication. A spooled body is hashed from its file when the
  // signature covers it.
  sigv4::HttpRequestView view{request.method, request.target, request.headers, request.body};
  std::string_view claimed = request.header("x-amz-content-sha256");
  bool signed_payload = claimed != "UNSIGNED-PAYLOAD" && !starts_with(claimed, "STREAMING-");
  std::optional<sigv4::AuthResult> auth;
  if (!request.body_file.empty() && signed_payload) {
    auto hash = sha256_of_file(request.body_file);
    if (!hash.ok()) return call.error(hash.status());
    auth.emplace(verifier_.verify(view, "s3", *hash));
  } else {
    auth.emplace(verifier_.verify(view, "s3"));
  }
  if (!auth->ok()) {
    S3Error e = auth_error(auth->failure());
    return call.error(e.status, e.code, e.message);
  }
  call.identity = auth->identity();

  // The payload: aws-chunked bodies are decoded (every chunk signature
  // checked) into a scratch file before anything is stored.
  if (call.identity.streaming) {
    auto suffix = random_hex_name();
    call.decoded_file = (options_.scratch_dir / ("s3-decoded-" + suffix)).string();
    UniqueFd out(::open(call.decoded_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out.valid()) {
      call.decoded_file.clear();
      return call.error(Status::io("create a scratch file in " + options_.scratch_dir.string()));
    }
    sigv4::ChunkedPayloadDecoder decoder(*call.identity.streaming, [&](std::string_view data) {
      size_t done = 0;
      while (done < data.size()) {
        ssize_t n = ::write(out.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Status::io("write a scratch file");
        done += static_cast<size_t>(n);
      }
      return Status();
    });
    Status fed;
    if (request.body_file.empty()) {
      fed = decoder.feed(request.body);
    } else {
      UniqueFd in(::open(request.body_file.c_str(), O_RDONLY | O_CLOEXEC));
      if (!in.valid()) return call.error(Status::io("open the request body"));
      std::vector<char> buf(256 * 1024);
      for (;;) {
        ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return call.error(Status::io("read the request body"));
        if (n == 0) break;
        fed = decoder.feed(std::string_view(buf.data(), static_cast<size_t>(n)));
        if (!fed.ok()) break;
      }
    }
    if (fed.ok()) fed = decoder.finish();
    if (!fed.ok()) {
      const std::string& m = fed.message();
      if (starts_with(m, "SignatureDoesNotMatch"))
        return call.error(403, "SignatureDoesNotMatch", m.substr(m.find(':') + 2));
      if (starts_with(m, "IncompleteBody"))
        return call.error(400, "IncompleteBody", m.substr(m.find(':') + 2));
      return call.error(fed);
    }
    std::string_view decoded_length = request.header("x-amz-decoded-content-length");
    if (!decoded_length.empty() && decoded_length != std::to_string(decoder.decoded_bytes())) {
      return call.error(400, "IncompleteBody",
                        "You did not provide the number of bytes specified by the "
                        "x-amz-decoded-content-length HTTP header");
    }
    if (auto s = out.close(); !s.ok()) return call.error(s);
    call.body_file = call.decoded_file;
  } else if (!request.body_file.empty()) {
    call.body_file = request.body_file;
  } else {
    call.body = request.body;
  }
  return dispatch(call);
}

http::Response S3Api::dispatch(Call& call) {
  if (call.bucket.empty()) return service_call(call);
  if (call.key.empty()) return bucket_call(call);
  return object_call(call);
}

http::Response S3Api::service_call(Call& call) {
  if (call.request.method == "GET") return list_buckets(call);
  return call.error(405, "MethodNotAllowed",
                    "The specified method is not allowed against this resource.");
}

Result<std::string> S3Api::versioning(const std::string& bucket) const {
  auto doc = store_.get_bucket_config(bucket, "versioning");
  if (!doc.ok()) return doc.status();
  return doc->value_or("");
}

http::Response S3Api::bucket_call(Call& call) {
  const std::string& m = call.request.method;
  if (m == "PUT") {
    if (call.has("versioning")) return put_bucket_versioning(call);
    if (call.has("lifecycle"))
      return put_bucket_document(call, "lifecycle", "LifecycleConfiguration");
    if (call.has("encryption"))
      return put_bucket_document(call, "encryption", "ServerSideEncryptionConfiguration");
    for (const char* unsupported : {"policy", "acl", "cors", "tagging", "website", "notification",
                                    "replication", "logging", "accelerate", "ownershipControls",
                                    "publicAccessBlock", "requestPayment", "object-lock"}) {
      if (call.has(unsupported))
        return call.error(
            501, "NotImplemented",
            std::string("Stageline does not implement the ?") + unsupported + " subresource");
    }
    return create_bucket(call);
  }
  if (m == "HEAD") {
    if (auto s = store_.head_bucket(call.bucket); !s.ok()) {
      http::Response r = call.error(s);
      r.body.clear();  // HEAD answers carry no body
      return r;
    }
    http::Response r = call.empty();
    r.headers.emplace_back("x-amz-bucket-region", options_.region);
    return r;
  }
  if (m == "DELETE") {
    if (call.has("lifecycle") || call.has("encryption")) {
      if (auto s = store_.put_bucket_config(call.bucket,
                                            call.has("lifecycle") ? "lifecycle" : "encryption", "");
          !s.ok())
        return call.error(s);
      return call.empty(204);
    }
    if (auto s = store_.delete_bucket(call.bucket); !s.ok()) return call.error(s);
    return call.empty(204);
  }
  if (m == "POST" && call.has("delete")) return delete_objects(call);
  if (m == "GET") {
    if (auto s = store_.head_bucket(call.bucket); !s.ok()) return call.error(s);
    if (call.has("location")) {
      std::string region = options_.region == "us-east-1" ? "" : options_.region;
      return call.xml_ok("<LocationConstraint xmlns=\"" + std::string(kXmlns) + "\">" +
                         xml::escape(region) + "</LocationConstraint>");
    }
    if (call.has("versioning")) return get_bucket_versioning(call);
    if (call.has("lifecycle"))
      return get_bucket_document(call, "lifecycle", "NoSuchLifecycleConfiguration",
                                 "The lifecycle configuration does not exist");
    if (call.has("encryption"))
      return get_bucket_document(call, "encryption",
                                 "ServerSideEncryptionConfigurationNotFoundError",
                                 "The server side encryption configuration was not found");
    if (call.has("versions")) return list_object_versions(call);
    if (call.has("uploads")) return list_multipart_uploads(call);
    for (const char* unsupported : {"policy", "acl", "cors", "tagging", "website", "notification",
                                    "replication", "logging", "accelerate", "ownershipControls",
                                    "publicAccessBlock", "requestPayment", "object-lock"}) {
      if (call.has(unsupported))
        return call.error(
            501, "NotImplemented",
            std::string("Stageline does not implement the ?") + unsupported + " subresource");
    }
    return list_objects(call, call.param("list-type") == "2");
  }
  return call.error(405, "MethodNotAllowed",
                    "The specified method is not allowed against this resource.");
}

http::Response S3Api::object_call(Call& call) {
  const std::string& m = call.request.method;
  if (m == "PUT") {
    if (call.has("uploadId")) return upload_part(call);
    if (call.request.has_header("x-amz-copy-source")) return copy_object(call);
    if (call.has("tagging") || call.has("acl") || call.has("retention") || call.has("legal-hold"))
      return call.error(501, "NotImplemented", "Stageline does not implement this subresource");
    return put_object(call);
  }
  if (m == "GET") {
    if (call.has("uploadId")) return list_parts(call);
    if (call.has("tagging") || call.has("acl") || call.has("attributes"))
      return call.error(501, "NotImplemented", "Stageline does not implement this subresource");
    return get_object(call, false);
  }
  if (m == "HEAD") return get_object(call, true);
  if (m == "DELETE") {
    if (call.has("uploadId")) return abort_multipart_upload(call);
    return delete_object(call);
  }
  if (m == "POST") {
    if (call.has("uploads")) return create_multipart_upload(call);
    if (call.has("uploadId")) return complete_multipart_upload(call);
  }
  return call.error(405, "MethodNotAllowed",
                    "The specified method is not allowed against this resource.");
}

// --- Buckets ---

http::Response S3Api::list_buckets(Call& call) {
  auto buckets = store_.list_buckets();
  if (!buckets.ok()) return call.error(buckets.status());
  std::string doc = "<ListAllMyBucketsResult xmlns=\"" + std::string(kXmlns) + "\"><Owner>" +
                    xml::element("ID", options_.account_id) +
                    xml::element("DisplayName", "stageline") + "</Owner><Buckets>";
  for (const auto& b : *buckets) {
    doc += "<Bucket>" + xml::element("Name", b.name) +
           xml::element("CreationDate", iso8601(b.created)) + "</Bucket>";
  }
  doc += "</Buckets></ListAllMyBucketsResult>";
  return call.xml_ok(doc);
}

http::Response S3Api::create_bucket(Call& call) {
  auto body = call.text_body();
  if (!body.ok()) return call.error(body.status());
  if (!body->empty()) {
    auto doc = xml::parse(*body);
    if (!doc.ok() || doc->name != "CreateBucketConfiguration")
      return call.error(400, "MalformedXML",
                        "The XML you provided was not well-formed or did not validate against our "
                        "published schema");
    std::string location = doc->child_text("LocationConstraint");
    if (!location.empty() && location != options_.region)
      return call.error(400, "IllegalLocationConstraintException",
                        "The " + location +
                            " location constraint is incompatible for the region specific "
                            "endpoint this request was sent to.");
  }
  if (auto s = store_.create_bucket(call.bucket); !s.ok()) return call.error(s);
  http::Response r = call.empty();
  r.headers.emplace_back("Location", "/" + call.bucket);
  return r;
}

http::Response S3Api::put_bucket_versioning(Call& call) {
  auto body = call.text_body();
  if (!body.ok()) return call.error(body.status());
  auto doc = xml::parse(*body);
  if (!doc.ok() || doc->name != "VersioningConfiguration")
    return call.error(400, "MalformedXML",
                      "The XML you provided was not well-formed or did not validate against our "
                      "published schema");
  std::string status = doc->child_text("Status");
  if (status != "Enabled" && status != "Suspended")
    return call.error(400, "IllegalVersioningConfigurationException",
                      "The Versioning element must be specified");
  if (auto s = store_.put_bucket_config(call.bucket, "versioning", status); !s.ok())
    return call.error(s);
  return call.empty();
}

http::Response S3Api::get_bucket_versioning(Call& call) {
  auto state = versioning(call.bucket);
  if (!state.ok()) return call.error(state.status());
  return call.xml_ok("<VersioningConfiguration xmlns=\"" + std::string(kXmlns) + "\">" +
                     (state->empty() ? "" : xml::element("Status", *state)) +
                     "</VersioningConfiguration>");
}

http::Response S3Api::put_bucket_document(Call& call, const char* config, const char* root) {
  auto body = call.text_body();
  if (!body.ok()) return call.error(body.status());
  auto doc = xml::parse(*body);
  if (!doc.ok() || doc->name != root)
    return call.error(400, "MalformedXML",
                      "The XML you provided was not well-formed or did not validate against our "
                      "published schema");
  if (auto s = store_.put_bucket_config(call.bucket, config, *body); !s.ok()) return call.error(s);
  return call.empty();
}

http::Response S3Api::get_bucket_document(Call& call, const char* config, const char* missing_code,
                                          const char* missing_message) {
  auto doc = store_.get_bucket_config(call.bucket, config);
  if (!doc.ok()) return call.error(doc.status());
  if (!*doc) return call.error(404, missing_code, missing_message);
  http::Response r = call.empty();
  r.headers.emplace_back("Content-Type", "application/xml");
  r.body = **doc;
  return r;
}

namespace {

std::string contents_xml(const ObjectInfo& o, bool encode) {
  return "<Contents>" + xml::element("Key", encode ? url_encode(o.key) : o.key) +
         xml::element("LastModified", iso8601(o.last_modified)) +
         xml::element("ETag", quoted_etag(o.etag)) + xml::element("Size", std::to_string(o.size)) +
         xml::element("StorageClass", "STANDARD") + "</Contents>";
}

Result<size_t> max_keys_of(const std::string& text) {
  if (text.empty()) return size_t{1000};
  long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0)
    return Status::invalid("InvalidArgument: max-keys must be a non-negative integer");
  return static_cast<size_t>(std::min(n, 1000L));
}

}  // namespace

http::Response S3Api::list_objects(Call& call, bool v2) {
  const bool encode = call.param("encoding-type") == "url";
  auto max_keys = max_keys_of(call.param("max-keys"));
  if (!max_keys.ok()) return call.error(max_keys.status());
  artifacts::ListObjectsRequest req;
  req.prefix = call.param("prefix");
  req.delimiter = call.param("delimiter");
  req.max_keys = std::max<size_t>(*max_keys, 1);
  std::string after;
  if (v2) {
    after = call.param("start-after");
    if (call.has("continuation-token")) {
      auto token = from_hex(call.param("continuation-token"));
      if (!token)
        return call.error(400, "InvalidArgument", "The continuation token provided is incorrect");
      after = std::max(after, *token);
    }
  } else {
    after = call.param("marker");
  }
  req.continuation_token = after;
  artifacts::ListObjectsPage page;
  if (*max_keys > 0) {
    auto listed = store_.list_objects(call.bucket, req);
    if (!listed.ok()) return call.error(listed.status());
    page = std::move(*listed);
  }
  auto enc = [&](const std::string& s) { return encode ? url_encode(s) : s; };
  std::string doc = "<ListBucketResult xmlns=\"" + std::string(kXmlns) + "\">" +
                    xml::element("Name", call.bucket) + xml::element("Prefix", enc(req.prefix));
  if (v2) {
    doc +=
        xml::element("KeyCount", std::to_string(page.objects.size() + page.common_prefixes.size()));
  } else {
    doc += xml::element("Marker", enc(after));
  }
  doc += xml::element("MaxKeys", std::to_string(*max_keys));
  if (!req.delimiter.empty()) doc += xml::element("Delimiter", enc(req.delimiter));
  if (encode) doc += xml::element("EncodingType", "url");
  const bool truncated = !page.next_continuation_token.empty();
  doc += xml::element("IsTruncated", truncated ? "true" : "false");
  if (v2) {
    if (call.has("continuation-token"))
      doc += xml::element("ContinuationToken", call.param("continuation-token"));
    if (truncated)
      doc += xml::element("NextContinuationToken", to_hex(page.next_continuation_token));
    if (call.has("start-after")) doc += xml::element("StartAfter", enc(call.param("start-after")));
  } else if (truncated && !req.delimiter.empty()) {
    doc += xml::element("NextMarker", enc(page.next_continuation_token));
  }
  for (const auto& o : page.objects) doc += contents_xml(o, encode);
  for (const auto& p : page.common_prefixes)
    doc += "<CommonPrefixes>" + xml::element("Prefix", enc(p)) + "</CommonPrefixes>";
  doc += "</ListBucketResult>";
  return call.xml_ok(doc);
}

http::Response S3Api::list_object_versions(Call& call) {
  const bool encode = call.param("encoding-type") == "url";
  auto enc = [&](const std::string& s) { return encode ? url_encode(s) : s; };
  auto max_keys = max_keys_of(call.param("max-keys"));
  if (!max_keys.ok()) return call.error(max_keys.status());
  std::string prefix = call.param("prefix"), delimiter = call.param("delimiter");
  std::string key_marker = call.param("key-marker");
  auto state = versioning(call.bucket);
  if (!state.ok()) return call.error(state.status());
  auto keys = store_.list_keys(call.bucket, prefix);
  if (!keys.ok()) return call.error(keys.status());
  std::string entries, prefixes;
  size_t count = 0;
  std::string last_key;
  bool truncated = false;
  std::set<std::string> seen_prefixes;
  for (const std::string& key : *keys) {
    if (!key_marker.empty() && key <= key_marker) continue;
    if (!delimiter.empty()) {
      size_t d = key.find(delimiter, prefix.size());
      if (d != std::string::npos) {
        std::string p = key.substr(0, d + delimiter.size());
        if (seen_prefixes.insert(p).second) {
          if (count >= *max_keys) {
            truncated = true;
            break;
          }
          prefixes += "<CommonPrefixes>" + xml::element("Prefix", enc(p)) + "</CommonPrefixes>";
          ++count;
          last_key = key;
        }
        continue;
      }
    }
    auto versions = store_.list_object_versions(call.bucket, key);
    if (!versions.ok()) continue;  // deleted meanwhile
    if (count >= *max_keys) {
      truncated = true;
      break;
    }
    bool latest = true;
    for (const ObjectInfo& v : *versions) {
      std::string id = state->empty() ? "null" : v.version_id;
      if (v.delete_marker) {
        entries += "<DeleteMarker>" + xml::element("Key", enc(key)) +
                   xml::element("VersionId", id) +
                   xml::element("IsLatest", latest ? "true" : "false") +
                   xml::element("LastModified", iso8601(v.last_modified)) + "<Owner>" +
                   xml::element("ID", options_.account_id) + "</Owner></DeleteMarker>";
      } else {
        entries += "<Version>" + xml::element("Key", enc(key)) + xml::element("VersionId", id) +
                   xml::element("IsLatest", latest ? "true" : "false") +
                   xml::element("LastModified", iso8601(v.last_modified)) +
                   xml::element("ETag", quoted_etag(v.etag)) +
                   xml::element("Size", std::to_string(v.size)) +
                   xml::element("StorageClass", "STANDARD") + "<Owner>" +
                   xml::element("ID", options_.account_id) + "</Owner></Version>";
      }
      latest = false;
    }
    ++count;
    last_key = key;
  }
  std::string doc = "<ListVersionsResult xmlns=\"" + std::string(kXmlns) + "\">" +
                    xml::element("Name", call.bucket) + xml::element("Prefix", enc(prefix)) +
                    xml::element("KeyMarker", enc(key_marker)) +
                    xml::element("VersionIdMarker", call.param("version-id-marker")) +
                    xml::element("MaxKeys", std::to_string(*max_keys));
  if (!delimiter.empty()) doc += xml::element("Delimiter", enc(delimiter));
  if (encode) doc += xml::element("EncodingType", "url");
  doc += xml::element("IsTruncated", truncated ? "true" : "false");
  if (truncated) doc += xml::element("NextKeyMarker", enc(last_key));
  doc += entries + prefixes + "</ListVersionsResult>";
  return call.xml_ok(doc);
}

http::Response S3Api::list_multipart_uploads(Call& call) {
  auto uploads = store_.list_multipart_uploads(call.bucket);
  if (!uploads.ok()) return call.error(uploads.status());
  std::string prefix = call.param("prefix");
  std::string doc = "<ListMultipartUploadsResult xmlns=\"" + std::string(kXmlns) + "\">" +
                    xml::element("Bucket", call.bucket) + "<KeyMarker></KeyMarker>" +
                    "<UploadIdMarker></UploadIdMarker>" + xml::element("Prefix", prefix) +
                    xml::element("MaxUploads", "1000") + xml::element("IsTruncated", "false");
  std::string owner = "<Owner>" + xml::element("ID", options_.account_id) +
                      xml::element("DisplayName", "stageline") + "</Owner>";
  for (const auto& u : *uploads) {
    if (!starts_with(u.key, prefix)) continue;
    doc += "<Upload>" + xml::element("Key", u.key) + xml::element("UploadId", u.upload_id) +
           "<Initiator>" + xml::element("ID", options_.account_id) +
           xml::element("DisplayName", "stageline") + "</Initiator>" + owner +
           xml::element("StorageClass", "STANDARD") +
           xml::element("Initiated", iso8601(u.initiated)) + "</Upload>";
  }
  doc += "</ListMultipartUploadsResult>";
  return call.xml_ok(doc);
}

http::Response S3Api::delete_objects(Call& call) {
  auto body = call.text_body();
  if (!body.ok()) return call.error(body.status());
  auto doc = xml::parse(*body);
  if (!doc.ok() || doc->name != "Delete")
    return call.error(400, "MalformedXML",
                      "The XML you provided was not well-formed or did not validate against our "
                      "published schema");
  auto objects = doc->all("Object");
  if (objects.size() > 1000)
    return call.error(400, "MalformedXML", "At most 1000 keys can be deleted in one request");
  if (auto s = store_.head_bucket(call.bucket); !s.ok()) return call.error(s);
  auto state = versioning(call.bucket);
  if (!state.ok()) return call.error(state.status());
  const bool quiet = doc->child_text("Quiet") == "true";
  std::string out = "<DeleteResult xmlns=\"" + std::string(kXmlns) + "\">";
  for (const xml::Node* o : objects) {
    std::string key = o->child_text("Key");
    std::string version = o->child_text("VersionId");
    auto fail = [&](const Status& s) {
      S3Error e = error_of(s);
      out += "<Error>" + xml::element("Key", key) +
             (version.empty() ? "" : xml::element("VersionId", version)) +
             xml::element("Code", e.code) + xml::element("Message", e.message) + "</Error>";
    };
    std::string deleted;
    if (!version.empty()) {
      std::string id = version == "null" ? "" : version;
      if (version == "null") {
        // The null version of an unversioned bucket is the object itself.
        if (auto s = store_.delete_object(call.bucket, key); !s.ok()) {
          fail(s);
          continue;
        }
      } else {
        auto info = store_.list_object_versions(call.bucket, key);
        bool marker = false;
        if (info.ok()) {
          for (const auto& v : *info)
            if (v.version_id == version) marker = v.delete_marker;
        }
        if (auto s = store_.delete_object(call.bucket, key, id); !s.ok()) {
          fail(s);
          continue;
        }
        if (marker)
          deleted +=
              xml::element("DeleteMarker", "true") + xml::element("DeleteMarkerVersionId", version);
      }
      deleted = xml::element("VersionId", version) + deleted;
    } else if (!state->empty()) {
      auto marker = store_.put_delete_marker(call.bucket, key);
      if (!marker.ok()) {
        fail(marker.status());
        continue;
      }
      deleted = xml::element("DeleteMarker", "true") +
                xml::element("DeleteMarkerVersionId", marker->version_id);
    } else if (auto s = store_.delete_object(call.bucket, key); !s.ok()) {
      fail(s);
      continue;
    }
    if (!quiet) out += "<Deleted>" + xml::element("Key", key) + deleted + "</Deleted>";
  }
  out += "</DeleteResult>";
  return call.xml_ok(out);
}

// --- Objects ---

namespace {

artifacts::PutOptions put_options_of(const http::Request& request) {
  artifacts::PutOptions options;
  options.content_type = std::string(request.header("Content-Type"));
  for (const auto& [name, value] : request.headers) {
    std::string lower = to_lower(name);
    if (starts_with(lower, "x-amz-meta-")) options.metadata.emplace_back(lower.substr(11), value);
  }
  return options;
}

void add_object_headers(http::Response& r, const ObjectInfo& info, bool versioned) {
  r.headers.emplace_back("ETag", quoted_etag(info.etag));
  r.headers.emplace_back("Last-Modified", http_date(info.last_modified));
  r.headers.emplace_back("Content-Type",
                         info.content_type.empty() ? "binary/octet-stream" : info.content_type);
  r.headers.emplace_back("Accept-Ranges", "bytes");
  if (versioned) r.headers.emplace_back("x-amz-version-id", info.version_id);
  for (const auto& [name, value] : info.metadata)
    r.headers.emplace_back("x-amz-meta-" + name, value);
}

}  // namespace

http::Response S3Api::put_object(Call& call) {
  auto state = versioning(call.bucket);
  if (!state.ok()) return call.error(state.status());
  artifacts::PutOptions options = put_options_of(call.request);
  options.replace = state->empty();
  auto info = call.body_file.empty()
                  ? store_.put_object(call.bucket, call.key, call.body, options)
                  : store_.put_object_from_file(call.bucket, call.key, call.body_file, options);
  if (!info.ok()) return call.error(info.status());
  http::Response r = call.empty();
  r.headers.emplace_back("ETag", quoted_etag(info->etag));
  if (!state->empty()) r.headers.emplace_back("x-amz-version-id", info->version_id);
  return r;
}

http::Response S3Api::copy_object(Call& call) {
  std::string source = url_decode(call.request.header("x-amz-copy-source"), false);
  std::string source_version;
  if (size_t q = source.find("?versionId="); q != std::string::npos) {
    source_version = source.substr(q + 11);
    source = source.substr(0, q);
  }
  if (!source.empty() && source.front() == '/') source.erase(0, 1);
  size_t slash = source.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == source.size())
    return call.error(400, "InvalidArgument",
                      "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  std::string source_bucket = source.substr(0, slash), source_key = source.substr(slash + 1);
  if (source_version == "null") source_version.clear();
  auto opened = store_.open_object(source_bucket, source_key, source_version);
  if (!opened.ok()) return call.error(opened.status());
  // A sealed source is copied as its plaintext (sealed objects are bound to
  // their bucket and key).
  if (Status s = unseal(source_bucket, source_key, *opened); !s.ok())
    return call.error(500, "KMS.KMSInvalidStateException", s.message());
  artifacts::PutOptions options;
  if (iequals(call.request.header("x-amz-metadata-directive"), "REPLACE")) {
    options = put_options_of(call.request);
  } else {
    if (source_bucket == call.bucket && source_key == call.key)
      return call.error(400, "InvalidRequest",
                        "This copy request is illegal because it is trying to copy an object to "
                        "itself without changing the object's metadata, storage class, website "
                        "redirect location or encryption attributes.");
    options.content_type = opened->info.content_type;
    options.metadata = opened->info.metadata;
  }
  auto state = versioning(call.bucket);
  if (!state.ok()) return call.error(state.status());
  options.replace = state->empty();
  auto info = store_.put_object_from_fd(call.bucket, call.key, opened->fd.get(), options);
  if (!info.ok()) return call.error(info.status());
  http::Response r =
      call.xml_ok("<CopyObjectResult xmlns=\"" + std::string(kXmlns) + "\">" +
                  xml::element("LastModified", iso8601(info->last_modified)) +
                  xml::element("ETag", quoted_etag(info->etag)) + "</CopyObjectResult>");
  if (!state->empty()) r.headers.emplace_back("x-amz-version-id", info->version_id);
  auto source_state = versioning(source_bucket);
  if (source_state.ok() && !source_state->empty())
    r.headers.emplace_back("x-amz-copy-source-version-id", opened->info.version_id);
  return r;
}

Status S3Api::unseal(const std::string& bucket, const std::string& key,
                     artifacts::OpenedObject& object) const {
  if (!options_.cipher || object.info.delete_marker) return Status();
  auto plain =
      options_.cipher->unseal({bucket, key, ""}, std::move(object.fd), options_.scratch_dir);
  if (!plain.ok()) return plain.status().with_context("read s3://" + bucket + "/" + key);
  struct stat st {};
  if (::fstat(plain->get(), &st) != 0)
    return Status::io("read s3://" + bucket + "/" + key + ": fstat: " + std::strerror(errno));
  object.info.size = static_cast<uint64_t>(st.st_size);
  object.fd = std::move(*plain);
  return Status();
}

http::Response S3Api::get_object(Call& call, bool head) {
  auto state = versioning(call.bucket);
  if (!state.ok()) {
    http::Response r = call.error(state.status());
    if (head) r.body.clear();
    return r;
  }
  std::string version = call.param("versionId");
  if (version == "null") version.clear();
  auto opened = store_.open_object(call.bucket, call.key, version);
  if (opened.ok()) {
    if (Status s = unseal(call.bucket, call.key, *opened); !s.ok()) {
      http::Response r = call.error(500, "KMS.KMSInvalidStateException", s.message());
      if (head) r.body.clear();
      return r;
    }
  }
  if (!opened.ok()) {
    http::Response r = call.error(opened.status());
    if (opened.status().message().find("delete marker") != std::string::npos) {
      r.headers.emplace_back("x-amz-delete-marker", "true");
      if (!version.empty()) {
        r = call.error(405, "MethodNotAllowed",
                       "The specified method is not allowed against this resource.");
        r.headers.emplace_back("x-amz-delete-marker", "true");
      }
    }
    if (head) r.body.clear();
    return r;
  }
  const ObjectInfo& info = opened->info;
  const std::string etag = quoted_etag(info.etag);
  std::string_view if_match = call.request.header("If-Match");
  if (!if_match.empty() && if_match != "*" && unquote_etag(if_match) != info.etag) {
    http::Response r = call.error(412, "PreconditionFailed",
                                  "At least one of the pre-conditions you specified did not hold");
    if (head) r.body.clear();
    return r;
  }
  std::string_view if_none_match = call.request.header("If-None-Match");
  if (!if_none_match.empty() &&
      (if_none_match == "*" || unquote_etag(if_none_match) == info.etag)) {
    http::Response r = call.empty(304);
    r.headers.emplace_back("ETag", etag);
    return r;
  }
  uint64_t offset = 0, length = info.size;
  int status = 200;
  std::string_view range = call.request.header("Range");
  if (!range.empty()) {
    // bytes=a-b, bytes=a-, bytes=-n (one range; S3 ignores multiple ranges).
    bool ok = starts_with(range, "bytes=") && range.find(',') == std::string_view::npos;
    std::string_view spec = ok ? range.substr(6) : std::string_view();
    size_t dash = spec.find('-');
    ok = ok && dash != std::string_view::npos;
    uint64_t first = 0, last = info.size == 0 ? 0 : info.size - 1;
    auto number = [](std::string_view s, uint64_t& n) {
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      return !s.empty() && ec == std::errc() && end == s.data() + s.size();
    };
    if (ok && dash == 0) {
      uint64_t suffix = 0;
      ok = number(spec.substr(1), suffix) && suffix > 0;
      if (ok) first = suffix >= info.size ? 0 : info.size - suffix;
    } else if (ok) {
      ok = number(spec.substr(0, dash), first);
      if (ok && dash + 1 < spec.size()) {
        ok = number(spec.substr(dash + 1), last) && last >= first;
        if (ok && info.size > 0) last = std::min(last, info.size - 1);
      }
    }
    if (ok) {
      if (first >= info.size) {
        http::Response r =
            call.error(416, "InvalidRange", "The requested range is not satisfiable");
        r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(info.size));
        if (head) r.body.clear();
        return r;
      }
      offset = first;
      length = last - first + 1;
      status = 206;
    }
    // A malformed Range is ignored, as S3 does: the whole object.
  }
  http::Response r = call.empty(status);
  add_object_headers(r, info, !state->empty());
  if (status == 206) {
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                                std::to_string(offset + length - 1) + "/" +
                                                std::to_string(info.size));
  }
  r.file = std::make_shared<http::FileBody>(head ? -1 : opened->fd.release(), offset, length);
  return r;
}

http::Response S3Api::delete_object(Call& call) {
  auto state = versioning(call.bucket);
  if (!state.ok()) return call.error(state.status());
  std::string version = call.param("versionId");
  http::Response r = call.empty(204);
  if (!version.empty() && version != "null") {
    auto versions = store_.list_object_versions(call.bucket, call.key);
    if (versions.ok()) {
      for (const auto& v : *versions)
        if (v.version_id == version && v.delete_marker)
          r.headers.emplace_back("x-amz-delete-marker", "true");
    }
    if (auto s = store_.delete_object(call.bucket, call.key, version); !s.ok())
      return call.error(s);
    r.headers.emplace_back("x-amz-version-id", version);
    return r;
  }
  if (!state->empty() && version.empty()) {
    auto marker = store_.put_delete_marker(call.bucket, call.key);
    if (!marker.ok()) return call.error(marker.status());
    r.headers.emplace_back("x-amz-delete-marker", "true");
    r.headers.emplace_back("x-amz-version-id", marker->version_id);
    return r;
  }
  if (auto s = store_.delete_object(call.bucket, call.key); !s.ok()) return call.error(s);
  return r;
}

// --- Multipart uploads ---

http::Response S3Api::create_multipart_upload(Call& call) {
  auto id = store_.create_multipart_upload(call.bucket, call.key, put_options_of(call.request));
  if (!id.ok()) return call.error(id.status());
  return call.xml_ok("<InitiateMultipartUploadResult xmlns=\"" + std::string(kXmlns) + "\">" +
                     xml::element("Bucket", call.bucket) + xml::element("Key", call.key) +
                     xml::element("UploadId", *id) + "</InitiateMultipartUploadResult>");
}

http::Response S3Api::upload_part(Call& call) {
  if (call.request.has_header("x-amz-copy-source"))
    return call.error(501, "NotImplemented", "Stageline does not implement UploadPartCopy");
  int number = 0;
  std::string text = call.param("partNumber");
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return call.error(400, "InvalidArgument",
                      "Part number must be an integer between 1 and 10000, inclusive");
  UniqueFd fd;
  if (call.body_file.empty()) {
    // A small part in memory: through a pipe would block; a scratch file is simplest.
    std::string path = (options_.scratch_dir / ("s3-part-" + random_hex_name())).string();
    fd = UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return call.error(Status::io("create a scratch file"));
    ::unlink(path.c_str());
    size_t done = 0;
    while (done < call.body.size()) {
      ssize_t n = ::write(fd.get(), call.body.data() + done, call.body.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return call.error(Status::io("write a scratch file"));
      done += static_cast<size_t>(n);
    }
    if (::lseek(fd.get(), 0, SEEK_SET) != 0) return call.error(Status::io("seek a scratch file"));
  } else {
    fd = UniqueFd(::open(call.body_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return call.error(Status::io("open the request body"));
  }
  auto part = store_.upload_part(call.bucket, call.key, call.param("uploadId"), number, fd.get());
  if (!part.ok()) return call.error(part.status());
  http::Response r = call.empty();
  r.headers.emplace_back("ETag", quoted_etag(part->etag));
  return r;
}

http::Response S3Api::complete_multipart_upload(Call& call) {
  auto body = call.text_body();
  if (!body.ok()) return call.error(body.status());
  auto doc = xml::parse(*body);
  if (!doc.ok() || doc->name != "CompleteMultipartUpload")
    return call.error(400, "MalformedXML",
                      "The XML you provided was not well-formed or did not validate against our "
                      "published schema");
  std::vector<std::pair<int, std::string>> parts;
  for (const xml::Node* p : doc->all("Part")) {
    std::string text = p->child_text("PartNumber");
    int number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
      return call.error(400, "MalformedXML", "PartNumber must be an integer");
    parts.emplace_back(number, unquote_etag(p->child_text("ETag")));
  }
  auto state = versioning(call.bucket);
  if (!state.ok()) return call.error(state.status());
  auto info = store_.complete_multipart_upload(call.bucket, call.key, call.param("uploadId"), parts,
                                               state->empty());
  if (!info.ok()) return call.error(info.status());
  http::Response r = call.xml_ok(
      "<CompleteMultipartUploadResult xmlns=\"" + std::string(kXmlns) + "\">" +
      xml::element("Location", "http://" + call.host + "/" + call.bucket + "/" + call.key) +
      xml::element("Bucket", call.bucket) + xml::element("Key", call.key) +
      xml::element("ETag", quoted_etag(info->etag)) + "</CompleteMultipartUploadResult>");
  if (!state->empty()) r.headers.emplace_back("x-amz-version-id", info->version_id);
  return r;
}

http::Response S3Api::abort_multipart_upload(Call& call) {
  if (auto s = store_.abort_multipart_upload(call.bucket, call.key, call.param("uploadId"));
      !s.ok())
    return call.error(s);
  return call.empty(204);
}

http::Response S3Api::list_parts(Call& call) {
  std::string upload_id = call.param("uploadId");
  auto parts = store_.list_parts(call.bucket, call.key, upload_id);
  if (!parts.ok()) return call.error(parts.status());
  std::string doc = "<ListPartsResult xmlns=\"" + std::string(kXmlns) + "\">" +
                    xml::element("Bucket", call.bucket) + xml::element("Key", call.key) +
                    xml::element("UploadId", upload_id) + "<Initiator>" +
                    xml::element("ID", options_.account_id) + "</Initiator><Owner>" +
                    xml::element("ID", options_.account_id) + "</Owner>" +
                    xml::element("StorageClass", "STANDARD") +
                    xml::element("PartNumberMarker", "0") +
                    xml::element("NextPartNumberMarker",
                                 parts->empty() ? "0" : std::to_string(parts->back().part_number)) +
                    xml::element("MaxParts", "1000") + xml::element("IsTruncated", "false");
  for (const auto& p : *parts) {
    doc += "<Part>" + xml::element("PartNumber", std::to_string(p.part_number)) +
           xml::element("LastModified", iso8601(p.last_modified)) +
           xml::element("ETag", quoted_etag(p.etag)) +
           xml::element("Size", std::to_string(p.size)) + "</Part>";
  }
  doc += "</ListPartsResult>";
  return call.xml_ok(doc);
}

}  // namespace stageline::api::s3
