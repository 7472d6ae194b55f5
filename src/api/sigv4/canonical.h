// api/sigv4/canonical: the pieces of SigV4's canonical request, each a pure
// function of the request as received, shared by the verifier and the signer so
// that both compute byte-identical strings. Behaviour follows botocore's
// auth.py (reference §2.2), which is what AWS servers accept; comments name the
// botocore function each one mirrors. Pure and thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageline::api::sigv4 {

// Percent-encodes every byte except the unreserved set A-Z a-z 0-9 - _ . ~
// (and '/' when `keep_slash`), with upper-case hex: Python's
// quote(s, safe='-_.~') / quote(s, safe='/~').
std::string uri_encode(std::string_view s, bool keep_slash);

// Decodes %XX escapes; a '%' not followed by two hex digits stays literal and
// '+' stays '+' (it is not a space in SigV4).
std::string uri_decode(std::string_view s);

// Splits a request target (origin form "/path?query", or absolute form
// "http://host/path?query") into its raw path and raw query. A fragment is
// dropped. Returns nullopt when the target is neither form.
struct Target {
  std::string_view path;
  std::string_view query;
};
std::optional<Target> split_target(std::string_view target);

// RFC 3986 remove_dot_segments plus collapsing of empty segments, as botocore's
// utils.remove_dot_segments; "" becomes "/".
std::string normalize_path(std::string_view raw_path);

// The canonical URI line. For every service but S3 the raw (already
// percent-encoded) path is normalized and then encoded again, so "%20" signs as
// "%2520" (SigV4Auth._normalize_url_path); S3 signs the raw path unchanged
// (S3SigV4Auth._normalize_url_path), "" as "/".
std::string canonical_uri(std::string_view raw_path, bool s3);

// One decoded query parameter.
using QueryParam = std::pair<std::string, std::string>;

// Splits a raw query string on '&' and '=' and decodes each name and value.
// Empty segments ("a&&b") are skipped.
std::vector<QueryParam> parse_query(std::string_view raw_query);

// The canonical query line: every parameter except those named in `exclude`,
// name and value re-encoded with uri_encode(.., false), sorted by name then
// value, joined "k=v&k=v". For a query encoded as AWS clients encode it this is
// the same string botocore signs (SigV4Auth._canonical_query_string_url).
std::string canonical_query(const std::vector<QueryParam>& params, std::string_view exclude = {});

// Trimall of SigV4: leading and trailing whitespace removed and each inner run
// of whitespace replaced by one space (SigV4Auth._header_value).
std::string trim_all(std::string_view value);

// The canonical value of header `lower_name` (already lower-case): every value
// received under that name, in order, each trim_all'ed, joined with ','.
// nullopt when the request has no header of that name.
std::optional<std::string> canonical_header_value(
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view lower_name);

// The whole canonical request (reference §2.2); `canonical_headers` is the
// "name:value\n" block, `signed_headers` the ';'-joined list.
std::string canonical_request(std::string_view method, std::string_view canonical_uri,
                              std::string_view canonical_query, std::string_view canonical_headers,
                              std::string_view signed_headers, std::string_view payload_hash);

// "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of canonical request>".
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

using TimePoint = std::chrono::sys_seconds;

// Formats `t` as SigV4's basic ISO-8601 timestamp, e.g. 20261127T031828Z.
std::string format_amz_date(TimePoint t);

// Parses exactly "YYYYMMDDTHHMMSSZ" (a valid UTC date and time, seconds 0-60);
// nullopt otherwise.
std::optional<TimePoint> parse_amz_date(std::string_view s);

}  // namespace stageline::api::sigv4
