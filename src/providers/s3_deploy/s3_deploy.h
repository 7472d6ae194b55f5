// providers/s3_deploy: the S3 deploy action (Deploy / AWS / S3, reference
// §4.5): the action's one input artifact lands in a bucket of the server's
// object store, where `stageline s3 ls` and `aws s3` see it.
//
// Configuration:
//   BucketName (required)   the target bucket; it must exist.
//   Extract (required)      "true": every file of the artifact becomes an
//                           object, under ObjectKey as a prefix ("site" ->
//                           site/index.html) or at the bucket's root;
//                           "false": the artifact is stored as one zip at
//                           ObjectKey (then required), where "{datetime}"
//                           becomes the UTC time of the deploy
//                           (YYYY-MM-DD_HH-MM-SS) and "{uuid}" a random UUID.
//   CacheControl, CannedACL recorded on every object it puts, as the
//                           metadata entries cache-control and canned-acl
//                           (the object store keeps no ACLs or system
//                           headers besides Content-Type).
//   KMSEncryptionKeyARN     every object is sealed with that KMS key
//                           (S3DeployOptions::cipher: envelope encryption,
//                           docs/kms.md); the S3 API reads it back as
//                           plaintext, as S3 does SSE-KMS objects. A key
//                           that is missing or disabled fails the action
//                           naming the key and the object.
// Extracted files get a Content-Type from their extension (html, css, js,
// json, svg, png, ...; else application/octet-stream), as a static site needs.
// Symlinks in the artifact are not followed (each is named in the log). A put
// into a bucket whose versioning was never set replaces the object; in a
// versioned bucket it adds a version. Output variables: none (as in AWS); the
// summary says how many objects went where.
//
// Failures: a missing bucket, a bad Extract value, a missing ObjectKey, more
// or fewer than one input artifact: ConfigurationError; a failed put: JobFailed
// naming the key. Depends on artifacts and the runner's provider interface.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "artifacts/object_cipher.h"
#include "artifacts/object_store.h"
#include "jobs/provider.h"

namespace stageline::providers {

struct S3DeployOptions {
  std::function<std::chrono::system_clock::time_point()> now = [] {
    return std::chrono::system_clock::now();
  };
  std::function<std::string()> new_uuid;  // required
  // Seals objects under KMSEncryptionKeyARN; borrowed. nullptr: such an
  // action fails saying there is no key service here.
  artifacts::ObjectCipher* cipher = nullptr;
};

// Thread-safe (the object store is); one instance serves every S3 deploy
// action of the server. `objects` must outlive it.
class S3Deploy final : public jobs::ActionProvider {
 public:
  S3Deploy(artifacts::ObjectStore& objects, S3DeployOptions options)
      : objects_(objects), options_(std::move(options)) {}
  engine::ActionOutcome run(const jobs::ProviderContext& context) override;

  // ObjectKey with {datetime} and {uuid} filled in.
  std::string expand_key(const std::string& key) const;

 private:
  artifacts::ObjectStore& objects_;
  S3DeployOptions options_;
};

}  // namespace stageline::providers
