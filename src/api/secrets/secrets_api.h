// api/secrets: the JSON 1.1 API subsets of the SSM Parameter Store
// (`AmazonSSM.*`) and Secrets Manager (`secretsmanager.*`) that the aws CLI
// and the SDKs call, over the stores of src/secrets (docs/secrets.md):
//
//   SSM             PutParameter, GetParameter, GetParameters, DeleteParameter,
//                   DeleteParameters
//   Secrets Manager CreateSecret, PutSecretValue, GetSecretValue, DeleteSecret,
//                   ListSecrets, DescribeSecret, RestoreSecret
//
// with AWS's shapes and errors (ParameterNotFound, ParameterAlreadyExists,
// ParameterVersionNotFound, ValidationException; ResourceNotFoundException,
// ResourceExistsException, InvalidRequestException,
// InvalidParameterException). Other operations answer ValidationException
// (SSM) or InvalidRequestException (Secrets Manager) naming them.
//
// Depends on wire, secrets and base. Not on HTTP or SigV4: the server routes
// and authenticates, then calls call() on the control thread.
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "api/wire/errors.h"
#include "api/wire/wire.h"
#include "secrets/parameter_store.h"
#include "secrets/secret_store.h"

namespace stageline::secretsapi {

const wire::ServiceModel& ssm_model();
const wire::ServiceModel& secretsmanager_model();

// Borrows the store, which must outlive it.
class SsmApi {
 public:
  explicit SsmApi(secrets::ParameterStore& parameters);
  // One validated call; `caller` is the caller's ARN (LastModifiedUser).
  // Never throws.
  wire::Outcome<boost::json::value> call(const wire::Call& call, const std::string& caller);

 private:
  using Out = wire::Outcome<boost::json::value>;
  Out put_parameter(const boost::json::object& in, const std::string& caller);
  Out get_parameter(const boost::json::object& in);
  Out get_parameters(const boost::json::object& in);
  Out delete_parameter(const boost::json::object& in);
  Out delete_parameters(const boost::json::object& in);
  // The Parameter shape of `text` ("name" or "name:version"), or the error.
  Out parameter(const std::string& text, bool with_decryption);
  wire::Error error(const Status& s);

  secrets::ParameterStore& parameters_;
  const wire::ServiceModel& model_;
};

// Borrows the store, which must outlive it.
class SecretsManagerApi {
 public:
  struct Options {
    int page_size = 100;  // ListSecrets' default MaxResults
  };
  SecretsManagerApi(secrets::SecretStore& secrets, Options options);
  explicit SecretsManagerApi(secrets::SecretStore& secrets)
      : SecretsManagerApi(secrets, Options{}) {}
  // One validated call. Never throws.
  wire::Outcome<boost::json::value> call(const wire::Call& call);

 private:
  using Out = wire::Outcome<boost::json::value>;
  Out create_secret(const boost::json::object& in);
  Out put_secret_value(const boost::json::object& in);
  Out get_secret_value(const boost::json::object& in);
  Out delete_secret(const boost::json::object& in);
  Out list_secrets(const boost::json::object& in);
  Out describe_secret(const boost::json::object& in);
  Out restore_secret(const boost::json::object& in);
  wire::Error error(const Status& s);

  secrets::SecretStore& secrets_;
  Options options_;
  const wire::ServiceModel& model_;
};

}  // namespace stageline::secretsapi
