// definitions/catalogue: what every action type and rule type is, as data in
// one place: category, owner, provider, version, how many input and output
// artifacts it takes, its configuration keys, the output variables it makes,
// whether V1 pipelines may use it, and whether Stageline can run it yet.
// Validation reads it; later the engine and the providers will. Custom action
// types (CreateCustomActionType) are added at run time with add().
// Not thread-safe for add(); builtin() is immutable and safe everywhere.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/pipeline.h"

namespace stageline::definitions {

struct ArtifactBounds {
  int min = 0;
  int max = 0;
};

// One configuration key whose value must be one of a fixed set.
struct ConfigEnum {
  std::string key;
  std::vector<std::string> values;
};

struct ActionTypeInfo {
  model::ActionCategory category;
  model::ActionOwner owner;
  std::string provider;
  std::string version = "1";
  ArtifactBounds input;
  ArtifactBounds output;
  std::vector<std::string> required_config;
  std::vector<std::string> optional_config;
  // False when the reference does not list the keys: any key is accepted.
  bool config_keys_known = true;
  std::vector<ConfigEnum> config_enums;
  std::vector<std::string> secret_config;  // shown as **** by GetPipeline
  std::vector<std::string> output_variables;
  // Variables named at run time (buildspec exported-variables, stack outputs, ...).
  bool dynamic_output_variables = false;
  bool v2_only = false;
  // Whether this build of Stageline can execute it. When false, `not_runnable`
  // says why, and validation warns with exactly that text.
  bool runnable = false;
  std::string not_runnable;
};

struct RuleTypeInfo {
  std::string provider;
  std::vector<std::string> required_config;
  std::vector<std::string> optional_config;
  bool allows_skip = false;    // SKIP results are allowed only for some rules
  bool uses_commands = false;  // the Commands rule takes `commands` and inputArtifacts
  bool supported = true;       // false: this machine can never evaluate it
  bool runnable = false;
  std::string not_runnable;
};

class Catalogue {
 public:
  Catalogue() = default;
  Catalogue(std::vector<ActionTypeInfo> actions, std::vector<RuleTypeInfo> rules)
      : actions_(std::move(actions)), rules_(std::move(rules)) {}

  // The AWS-owned providers of the reference (§4.5) and the rule types (§7.2).
  static const Catalogue& builtin();

  const ActionTypeInfo* find(const model::ActionTypeId& id) const;
  // Every known type with this provider name, whatever the category or owner.
  std::vector<const ActionTypeInfo*> find_provider(const std::string& provider) const;
  const RuleTypeInfo* find_rule(const std::string& provider) const;

  const std::vector<ActionTypeInfo>& action_types() const { return actions_; }
  const std::vector<RuleTypeInfo>& rule_types() const { return rules_; }
  std::vector<std::string> provider_names() const;

  // Adds a custom action type (owner Custom). REQUIRES: not already present.
  void add(ActionTypeInfo info) { actions_.push_back(std::move(info)); }

 private:
  std::vector<ActionTypeInfo> actions_;
  std::vector<RuleTypeInfo> rules_;
};

}  // namespace stageline::definitions
