// providers/s3_source: the S3 source action (Source / AWS / S3, reference
// §9.4): an object of a bucket in the server's object store, normally a zip
// put with `aws s3 cp` or `aws s3api put-object`, becomes the action's one
// output artifact as it is.
//
// Configuration: S3Bucket and S3ObjectKey (required), PollForSourceChanges
// (change detection is the trigger module's; the action itself always reads),
// AllowOverrideForS3ObjectKey ("true" lets a sourceRevisions pin of type
// S3_OBJECT_KEY name another key). A sourceRevisions pin of type
// S3_OBJECT_VERSION_ID reads that version instead of the latest. Output
// variables: ETag and VersionId of the object read; the revision recorded is
// the version id (type S3_OBJECT_VERSION_ID).
//
// Failures: a missing bucket or key, a pin of a type that does not apply, or a
// key override without AllowOverrideForS3ObjectKey is ConfigurationError; a
// pinned version that does not exist is RevisionUnavailable; a disk failure is
// JobFailed. Depends on artifacts and the runner's provider interface only.
#pragma once

#include "artifacts/object_store.h"
#include "jobs/provider.h"

namespace stageline::providers {

// Thread-safe (the object store is); one instance serves every S3 source
// action of the server. `objects` must outlive it.
class S3Source final : public jobs::ActionProvider {
 public:
  explicit S3Source(artifacts::ObjectStore& objects) : objects_(objects) {}
  engine::ActionOutcome run(const jobs::ProviderContext& context) override;

 private:
  artifacts::ObjectStore& objects_;
};

}  // namespace stageline::providers
