// cli/s3_command: `stageline s3`, the everyday short forms for the buckets
// and objects of the local server, printing what `aws s3` prints:
//
//   stageline s3 mb s3://BUCKET
//   stageline s3 ls [s3://BUCKET[/PREFIX]] [--recursive]
//   stageline s3 cp SOURCE DEST      (a local path or "-" for stdin/stdout,
//                                     and s3://BUCKET/KEY, either way round,
//                                     or both for a server-side copy)
//   stageline s3 expire [--at WHEN] [--dry-run]
//                                    the buckets' lifecycle rules applied now
//                                    or as if it were WHEN (the server's
//                                    POST /lifecycle extension)
//
// Uploads above 8 MiB go as a multipart upload in 8 MiB parts (aborted on
// error) and downloads come in 8 MiB ranges, so memory stays bounded whatever
// the object's size. The connection flags are those of every client verb.
// The long forms are `stageline aws s3 ...` and `stageline aws s3api ...`.
//
// Talks to the server through stageline_client only (S3 REST, SigV4 for
// "s3", path-style addressing); never links the engine or the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/client_verbs.h"

namespace stageline::cli {

// An s3:// URL taken apart: "s3://b/k/x" -> {"b", "k/x"}; "s3://b" and
// "s3://b/" -> {"b", ""}. nullopt when `url` is not an s3:// URL with a
// bucket.
struct S3Url {
  std::string bucket;
  std::string key;
};
std::optional<S3Url> parse_s3_url(std::string_view url);

// The request target of an object (or of the bucket when `key` is empty):
// "/bucket/key" with every byte of the key but unreserved ones and '/'
// percent-encoded, as S3 expects it (and signs it: encoded once).
std::string object_target(std::string_view bucket, std::string_view key);

// The time `stageline s3 expire --at` names, in seconds since the epoch:
// "" now, "+40d" forty days after `now`, "2027-01-05" or
// "2027-01-05T10:00:00Z" (UTC). nullopt when it is none of these.
std::optional<int64_t> parse_expire_time(std::string_view at,
                                         std::chrono::system_clock::time_point now);

// Returns the exit code: 0 done, 1 the server said no (the aws CLI's code for
// a failed transfer), 2 usage, 255 the server could not be reached.
int run_s3(const std::vector<std::string>& args, const ClientEnvironment& env, std::istream& in,
           std::ostream& out, std::ostream& err);

}  // namespace stageline::cli
