// api/s3/lifecycle: applies a bucket's lifecycle configuration (the document
// PutBucketLifecycleConfiguration stored) to the objects of the local object
// store: expiration of current versions after Days, of noncurrent versions
// NoncurrentDays after they stopped being current, and removal of delete
// markers left alone (ExpiredObjectDeleteMarker), each rule limited by its
// prefix (Filter.Prefix, Filter.And.Prefix or the legacy Prefix).
//
// As in S3: in a bucket whose versioning was never enabled an expired object
// is deleted; in a versioned bucket expiring the current version adds a
// delete marker (the data stays as a noncurrent version until a noncurrent
// rule removes it). Ages are whole days since the object was put (or, for a
// noncurrent version, since the next version was put), counted from `now`
// given by the caller so tests and `stageline lifecycle run --at` can move
// time. Rules with Tag filters, ObjectSize filters, Transitions or
// AbortIncompleteMultipartUpload are reported as not applied.
//
// A caller-given `protect` predicate keeps versions that must not go (the
// server keeps the artifacts of executions in progress and those a rollback
// of each stage's latest successful execution needs); they are reported as
// kept. Depends on artifacts (ObjectStore) and the module's XML reader.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "artifacts/object_store.h"
#include "base/status.h"

namespace stageline::api::s3 {

struct LifecycleRule {
  std::string id;
  bool enabled = false;
  std::string prefix;
  std::optional<int> expiration_days;  // Expiration.Days
  std::optional<int> noncurrent_days;  // NoncurrentVersionExpiration.NoncurrentDays
  bool expired_object_delete_marker = false;
  // Why the rule (or part of it) is not applied here; empty when all of it is.
  std::string not_applied;
};

// Reads a LifecycleConfiguration document. Errors (kInvalidArgument, the
// message as S3's MalformedXML would say it): not XML, a rule without Status,
// a Days that is not a positive integer.
Result<std::vector<LifecycleRule>> parse_lifecycle(std::string_view document);

// A version the caller wants kept whatever the rules say.
using ProtectFn =
    std::function<bool(std::string_view bucket, std::string_view key, std::string_view version_id)>;

struct LifecycleReport {
  // One line per action: "expired s3://b/k (version v, 31 days old, rule r)",
  // "kept s3://b/k (version v): needed by a pipeline", ...
  std::vector<std::string> removed;
  std::vector<std::string> kept;
  std::vector<std::string> notes;  // rules not applied, store errors
};

// Applies `rules` to `bucket` at `now`. With `dry_run` nothing is removed and
// `removed` says what would be. Errors: the bucket cannot be listed.
Result<LifecycleReport> apply_lifecycle(artifacts::ObjectStore& objects, std::string_view bucket,
                                        const std::vector<LifecycleRule>& rules,
                                        std::chrono::system_clock::time_point now,
                                        const ProtectFn& protect, bool dry_run);

// The rule the server puts on the default artifact bucket when it creates it
// (the seed's recommendation): expire artifacts after 30 days.
std::string default_artifact_lifecycle();

}  // namespace stageline::api::s3
