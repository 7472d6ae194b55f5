// api/kms: the AWS KMS (2014-11-01) JSON 1.1 API subset the aws CLI and the
// SDKs call (`TrentService.*`): CreateKey, DescribeKey, ListKeys, EnableKey,
// DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, CreateAlias,
// DeleteAlias, ListAliases, Encrypt, Decrypt, GenerateDataKey and
// GenerateDataKeyWithoutPlaintext, with AWS's shapes and errors
// (NotFoundException, AlreadyExistsException, KMSInvalidStateException,
// DisabledException, InvalidCiphertextException, IncorrectKeyException,
// InvalidAliasNameException, InvalidMarkerException, ValidationException).
// Other operations answer UnsupportedOperationException naming them.
//
// Keys are symmetric (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, origin AWS_KMS);
// CreateKey refuses other specs with UnsupportedOperationException. The
// state lives in kms::KeyRing (src/kms); Marker values are the last key id
// or alias name of the previous page. docs/kms.md.
//
// Depends on wire, kms and base. Not on HTTP or SigV4: the server routes and
// authenticates, then calls call() on the control thread.
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "api/wire/errors.h"
#include "api/wire/wire.h"
#include "kms/key_ring.h"

namespace stageline::kms {

struct KmsApiOptions {
  std::string account_id = "111122223333";
  int default_limit = 100;  // ListKeys and ListAliases without Limit, as AWS
};

// The embedded KMS model.
const wire::ServiceModel& kms_model();

// Borrows the key ring, which must outlive it.
class KmsApi {
 public:
  KmsApi(KeyRing& keys, KmsApiOptions options);

  // One validated call; returns the output or the error to answer with
  // (InternalFailure with the cause in `detail` for an unexpected failure).
  // Never throws.
  wire::Outcome<boost::json::value> call(const wire::Call& call);

 private:
  using Out = wire::Outcome<boost::json::value>;
  using In = boost::json::object;

  Out create_key(const In& in);
  Out describe_key(const In& in);
  Out list_keys(const In& in);
  Out set_enabled(const In& in, bool enabled);
  Out schedule_key_deletion(const In& in);
  Out cancel_key_deletion(const In& in);
  Out create_alias(const In& in);
  Out delete_alias(const In& in);
  Out list_aliases(const In& in);
  Out encrypt(const In& in);
  Out decrypt(const In& in);
  Out generate_data_key(const In& in, bool with_plaintext);

  boost::json::object metadata(const KeyMetadata& key) const;
  wire::Error error(const Status& status) const;

  KeyRing& keys_;
  KmsApiOptions options_;
  const wire::ServiceModel& model_;
};

}  // namespace stageline::kms
