// The signing side of SigV4: sign() for requests our own clients send, and
// presign() for URLs handed out for later use (artifact downloads, git over
// HTTP). Both build the canonical request with the same functions the verifier
// uses (canonical.h), so a request signed here verifies there by construction;
// the botocore vectors test is what keeps both honest against AWS's clients.
#include <algorithm>
#include <array>

#include "api/sigv4/canonical.h"
#include "api/sigv4/crypto.h"
#include "api/sigv4/sigv4.h"
#include "base/strings.h"

namespace stageline::api::sigv4 {

namespace {

// botocore's SIGNED_HEADERS_BLACKLIST: headers proxies may change or drop.
constexpr std::array<std::string_view, 11> kUnsignedHeaders = {"connection",
                                                               "expect",
                                                               "keep-alive",
                                                               "proxy-authenticate",
                                                               "proxy-authorization",
                                                               "te",
                                                               "trailer",
                                                               "transfer-encoding",
                                                               "upgrade",
                                                               "user-agent",
                                                               "x-amzn-trace-id"};

bool is_unsigned_header(std::string_view lower_name) {
  return std::find(kUnsignedHeaders.begin(), kUnsignedHeaders.end(), lower_name) !=
         kUnsignedHeaders.end();
}

std::string signature(const Key& key, std::string_view amz_date, std::string_view region,
                      std::string_view service, std::string_view canonical) {
  std::string date = std::string(amz_date.substr(0, 8));
  std::string scope =
      date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  std::string sts = string_to_sign(amz_date, scope, canonical);
  Digest k = signing_key(key.secret, date, region, service);
  return hex(hmac_sha256(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()), sts));
}

Status check_scope_names(std::string_view region, std::string_view service) {
  auto bad = [](std::string_view s) {
    return s.empty() || s.find_first_of("/ \t\r\n") != std::string_view::npos;
  };
  if (bad(region)) return Status::invalid("region " + quote(region) + " cannot be signed");
  if (bad(service)) return Status::invalid("service " + quote(service) + " cannot be signed");
  return {};
}

}  // namespace

Status sign(HttpRequest& request, const Key& key, std::string_view region, std::string_view service,
            std::chrono::system_clock::time_point now) {
  return sign_with_payload_hash(request, key, region, service, now, sha256_hex(request.body));
}

Status sign_with_payload_hash(HttpRequest& request, const Key& key, std::string_view region,
                              std::string_view service, std::chrono::system_clock::time_point now,
                              std::string_view payload_hash_value) {
  if (Status s = check_scope_names(region, service); !s.ok()) return s.with_context("sign request");
  auto target = split_target(request.target);
  if (!target)
    return Status::invalid("sign request: target " + quote(request.target) + " is not a path");

  bool has_host = std::any_of(request.headers.begin(), request.headers.end(),
                              [](const Header& h) { return iequals(h.first, "host"); });
  if (!has_host) return Status::invalid("sign request: the request has no Host header");
  std::erase_if(request.headers, [](const Header& h) {
    return iequals(h.first, "authorization") || iequals(h.first, "x-amz-date") ||
           iequals(h.first, "x-amz-content-sha256");
  });

  const std::string amz_date = format_amz_date(std::chrono::floor<std::chrono::seconds>(now));
  const std::string payload_hash(payload_hash_value);
  request.headers.emplace_back("X-Amz-Date", amz_date);
  request.headers.emplace_back("X-Amz-Content-SHA256", payload_hash);

  std::vector<std::string> names;
  for (const auto& [name, value] : request.headers) {
    std::string lower = to_lower(name);
    if (!is_unsigned_header(lower)) names.push_back(std::move(lower));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string canonical_headers;
  for (const std::string& name : names)
    canonical_headers += name + ":" + *canonical_header_value(request.headers, name) + "\n";
  const std::string signed_headers = join(names, ";");

  std::string creq = canonical_request(request.method, canonical_uri(target->path, service == "s3"),
                                       canonical_query(parse_query(target->query)),
                                       canonical_headers, signed_headers, payload_hash);
  std::string credential = key.access_key_id + "/" + amz_date.substr(0, 8) + "/" +
                           std::string(region) + "/" + std::string(service) + "/aws4_request";
  request.headers.emplace_back(
      "Authorization", "AWS4-HMAC-SHA256 Credential=" + credential +
                           ", SignedHeaders=" + signed_headers +
                           ", Signature=" + signature(key, amz_date, region, service, creq));
  return {};
}

Result<std::string> presign(const PresignRequest& request, const Key& key,
                            std::chrono::system_clock::time_point now) {
  if (Status s = check_scope_names(request.region, request.service); !s.ok())
    return s.with_context("presign");
  if (request.host.empty()) return Status::invalid("presign: the host is empty");
  if (request.expires.count() < 1 || request.expires.count() > 604800)
    return Status::invalid("presign: expiry of " + std::to_string(request.expires.count()) +
                           " s is outside 1 s .. 7 days");
  auto target = split_target(request.target);
  if (!target)
    return Status::invalid("presign: target " + quote(request.target) + " is not a path");
  std::vector<QueryParam> params = parse_query(target->query);
  for (const auto& [name, value] : params)
    if (name == "X-Amz-Algorithm" || name == "X-Amz-Credential" || name == "X-Amz-Date" ||
        name == "X-Amz-Expires" || name == "X-Amz-SignedHeaders" || name == "X-Amz-Signature" ||
        name == "X-Amz-Security-Token")
      return Status::invalid("presign: target already has the parameter " + quote(name));

  const std::string amz_date = format_amz_date(std::chrono::floor<std::chrono::seconds>(now));
  const std::string credential = key.access_key_id + "/" + amz_date.substr(0, 8) + "/" +
                                 request.region + "/" + request.service + "/aws4_request";
  std::vector<QueryParam> auth = {
      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
      {"X-Amz-Credential", credential},
      {"X-Amz-Date", amz_date},
      {"X-Amz-Expires", std::to_string(request.expires.count())},
      {"X-Amz-SignedHeaders", "host"},
  };
  std::vector<QueryParam> all = params;
  all.insert(all.end(), auth.begin(), auth.end());

  const bool s3 = request.service == "s3";
  std::string creq =
      canonical_request(request.method, canonical_uri(target->path, s3), canonical_query(all),
                        "host:" + trim_all(request.host) + "\n", "host",
                        s3 ? std::string("UNSIGNED-PAYLOAD") : sha256_hex(request.body));

  std::string out(target->path.empty() ? std::string_view("/") : target->path);
  out += '?';
  if (!target->query.empty()) {
    out += target->query;
    out += '&';
  }
  for (const auto& [name, value] : auth) out += name + "=" + uri_encode(value, false) + "&";
  out += "X-Amz-Signature=" + signature(key, amz_date, request.region, request.service, creq);
  return out;
}

}  // namespace stageline::api::sigv4
