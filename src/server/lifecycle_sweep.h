// server/lifecycle_sweep: applies the lifecycle rules of every bucket
// (api/s3/lifecycle.h) while keeping what pipelines still need: every
// artifact of an execution that is InProgress or Stopping, and every artifact
// of the two latest executions in which each stage succeeded (the latest, and
// the one RollbackStage returns it to). What it removed and kept is logged.
//
// The server runs a sweep at start-up and then every `interval` on its
// control thread (a sweep is file-system work bounded by the number of
// objects under rules), and on demand through the signed extension
// `POST /lifecycle?at=EPOCH_SECONDS&dry-run=true` (`stageline lifecycle run
// [--at TIME] [--dry-run]`), which also lets tests move time forward.
// Depends on store, artifacts and api/s3.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/s3/lifecycle.h"
#include "artifacts/object_store.h"
#include "store/store.h"

namespace stageline::server {

struct SweepReport {
  std::vector<std::string> buckets;  // those with a lifecycle configuration
  api::s3::LifecycleReport lifecycle;
};

// One sweep of every bucket at `now`. Errors: the store or a bucket cannot be
// read (a bucket's malformed configuration is a note, not an error).
Result<SweepReport> sweep_lifecycle(store::StoreReader& store, artifacts::ObjectStore& objects,
                                    std::chrono::system_clock::time_point now, bool dry_run);

// The report as the /lifecycle extension answers it: {"buckets": [...],
// "removed": [...], "kept": [...], "notes": [...], "dryRun": bool}.
std::string sweep_report_json(const SweepReport& report, bool dry_run);

// POST /lifecycle?at=EPOCH_SECONDS&dry-run=true (both optional): one sweep
// at that time (default `now`), each removed line also passed to `log`.
// Answers 200 with sweep_report_json, 400 for a malformed query, 500 when
// the sweep fails.
struct SweepAnswer {
  int http_status = 200;
  std::string body;  // JSON
};
SweepAnswer handle_lifecycle_request(store::StoreReader& store, artifacts::ObjectStore& objects,
                                     std::string_view query,
                                     std::chrono::system_clock::time_point now,
                                     const std::function<void(const std::string&)>& log);

// The default artifact bucket the server creates on its first start,
// "codepipeline-<region>-<account>", with the 30-day rule of
// default_artifact_lifecycle(); an existing bucket is left as it is, so a
// changed or removed rule stays changed. Returns the bucket's name.
Result<std::string> ensure_default_artifact_bucket(artifacts::ObjectStore& objects,
                                                   const std::string& region,
                                                   const std::string& account_id);

}  // namespace stageline::server
