// secrets/resolver: the values behind a build's references (docs/secrets.md):
// buildspec env.parameter-store and env.secrets-manager, and environment
// variables of type PARAMETER_STORE or SECRETS_MANAGER (a project's, a
// StartBuild override's, a CodeBuild action's EnvironmentVariables).
//
// A Secrets Manager reference is "secret-id:json-key:version-stage:version-id"
// (reference §17.3); everything after secret-id is optional, and secret-id
// may be an ARN (whose own colons are kept). json-key picks a top-level key
// of a JSON SecretString.
#pragma once

#include <string>

#include "base/status.h"
#include "secrets/parameter_store.h"
#include "secrets/secret_store.h"

namespace stageline::secrets {

struct SecretReference {
  std::string secret_id;
  std::string json_key;
  std::string version_stage;
  std::string version_id;
};

// kInvalidArgument for an empty secret id or more than four parts.
Result<SecretReference> parse_secret_reference(const std::string& text);

// What builds call; thread-safe implementations only (builds run on their
// own threads). Errors name the reference, as CodeBuild's do:
// kNotFound "parameter does not exist: /name" or "Secrets Manager can't find
// the specified secret: id"; kInvalidArgument for a bad reference, a JSON
// key that is missing or a SecretString that is not JSON; others as the
// stores give them.
class ValueResolver {
 public:
  virtual ~ValueResolver() = default;
  // The decrypted value of parameter `name` (an ARN or a name, "name:version").
  virtual Result<std::string> parameter(const std::string& name) = 0;
  // The value a Secrets Manager reference stands for.
  virtual Result<std::string> secret(const std::string& reference) = 0;
};

// The resolver over this server's stores. Borrows both.
class StoreResolver final : public ValueResolver {
 public:
  StoreResolver(ParameterStore& parameters, SecretStore& secrets)
      : parameters_(parameters), secrets_(secrets) {}
  Result<std::string> parameter(const std::string& name) override;
  Result<std::string> secret(const std::string& reference) override;

 private:
  ParameterStore& parameters_;
  SecretStore& secrets_;
};

}  // namespace stageline::secrets
