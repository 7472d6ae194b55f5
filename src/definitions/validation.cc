#include "definitions/validation.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "base/strings.h"
#include "definitions/source_map.h"
#include "model/pipeline_json.h"

namespace stageline::definitions {

namespace {

using model::ActionCategory;
using model::ActionDeclaration;
using model::ActionOwner;
using model::ConditionResult;
using model::PipelineDeclaration;
using model::StageDeclaration;

// Character classes of the botocore patterns (reference §3.3).
bool name_char(char c) {  // [A-Za-z0-9.@\-_]
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '@' || c == '-' ||
         c == '_';
}
bool artifact_char(char c) {  // [a-zA-Z0-9_\-]
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}
bool namespace_char(char c) {  // [A-Za-z0-9@\-_]
  return std::isalnum(static_cast<unsigned char>(c)) || c == '@' || c == '-' || c == '_';
}
bool envvar_char(char c) {  // [A-Za-z0-9_]
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
bool location_char(char c) {  // [a-zA-Z0-9\-\.]
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
}

template <typename Pred>
bool all_of(const std::string& s, Pred p) {
  return std::all_of(s.begin(), s.end(), p);
}

// True when `s` matches arn:aws(-[\w]+)*:iam::[0-9]{12}:role/.*
bool role_arn_ok(const std::string& s) {
  if (!starts_with(s, "arn:aws")) return false;
  size_t i = 7;
  while (i < s.size() && s[i] == '-') {
    size_t j = i + 1;
    while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
    if (j == i + 1) return false;
    i = j;
  }
  if (s.compare(i, 6, ":iam::") != 0) return false;
  i += 6;
  for (int k = 0; k < 12; ++k, ++i)
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return s.compare(i, 6, ":role/") == 0;
}

struct Position {
  size_t stage = 0;
  int run_order = 1;
};

// An action somewhere in the pipeline, for graph rules.
struct ActionRef {
  size_t stage;
  size_t action;
  const ActionDeclaration* decl;
  int run_order() const { return decl->effective_run_order(); }
  // Whether this action finishes before anything at `p` starts.
  bool before(Position p) const {
    return stage < p.stage || (stage == p.stage && run_order() < p.run_order);
  }
};

class Validator {
 public:
  Validator(const PipelineDeclaration& p, const ValidateOptions& o)
      : p_(p), o_(o), cat_(o.catalogue ? *o.catalogue : Catalogue::builtin()) {}

  Problems run() {
    index();
    pipeline_shape();
    artifacts();  // before stages(): rules of stage conditions consume artifacts too
    namespaces();
    stages();
    variables();
    triggers();
    version_gates();
    return std::move(out_);
  }

 private:
  // --- reporting ---
  Problem& add(ErrorType type, std::string rule, std::string path, std::string message,
               std::string fix = "", Severity severity = Severity::kError) {
    if (severity == Severity::kWarning && o_.strict) severity = Severity::kError;
    out_.push_back(
        {severity, type, std::move(rule), std::move(path), std::move(message), std::move(fix), 0});
    return out_.back();
  }

  // AWS's ValidationException message for a shape constraint.
  void constraint(const std::string& rule, const std::string& path, const std::string& value,
                  const std::string& what, std::string fix = "") {
    add(ErrorType::kValidationException, rule, path,
        "Value " + (value.empty() ? std::string("''") : quote(value, 100)) + " at '" +
            model::coral_path(path) + "' failed to satisfy constraint: " + what,
        std::move(fix));
  }

  void length(const std::string& path, const std::string& v, size_t min, size_t max) {
    if (v.size() < min)
      constraint("shape.length", path, v,
                 "Member must have length greater than or equal to " + std::to_string(min));
    else if (v.size() > max)
      constraint("shape.length", path, v,
                 "Member must have length less than or equal to " + std::to_string(max),
                 "shorten it to " + std::to_string(max) + " characters");
  }

  template <typename Pred>
  void pattern(const std::string& path, const std::string& v, Pred ok, const std::string& regex,
               const std::string& allowed) {
    if (v.empty() || all_of(v, ok)) return;
    std::string bad;
    for (char c : v)
      if (!ok(c)) {
        bad = std::string(1, c);
        break;
      }
    constraint("shape.pattern", path, v, "Member must satisfy regular expression pattern: " + regex,
               "remove " + quote(bad) + "; allowed characters are " + allowed);
  }

  void name(const std::string& path, const std::string& v) {
    length(path, v, 1, 100);
    pattern(path, v, name_char, "[A-Za-z0-9.@\\-_]+", "letters, digits, '.', '@', '-' and '_'");
  }

  void range(const std::string& path, std::optional<int> v, int min, int max) {
    if (!v) return;
    if (*v < min)
      constraint("shape.range", path, std::to_string(*v),
                 "Member must have value greater than or equal to " + std::to_string(min));
    else if (*v > max)
      constraint("shape.range", path, std::to_string(*v),
                 "Member must have value less than or equal to " + std::to_string(max));
  }

  void list_size(const std::string& path, size_t n, size_t min, size_t max) {
    if (n < min)
      add(ErrorType::kValidationException, "shape.list-size", path,
          "Value at '" + model::coral_path(path) +
              "' failed to satisfy constraint: Member must have length greater than or equal to " +
              std::to_string(min),
          n == 0 ? "remove the empty list, or add an entry" : "");
    else if (n > max)
      add(ErrorType::kValidationException, "shape.list-size", path,
          "Value at '" + model::coral_path(path) +
              "' failed to satisfy constraint: Member must have length less than or equal to " +
              std::to_string(max),
          "keep at most " + std::to_string(max));
  }

  void role_arn(const std::string& path, const std::string& v) {
    if (v.empty()) return;  // required-ness is the decoder's
    length(path, v, 0, 1024);
    if (!role_arn_ok(v))
      constraint("shape.pattern", path, v,
                 "Member must satisfy regular expression pattern: "
                 "arn:aws(-[\\w]+)*:iam::[0-9]{12}:role/.*",
                 "use an IAM role ARN such as arn:aws:iam::123456789012:role/MyPipelineRole");
  }

  // --- indexing ---
  void index() {
    for (size_t s = 0; s < p_.stages.size(); ++s)
      for (size_t a = 0; a < p_.stages[s].actions.size(); ++a)
        actions_.push_back({s, a, &p_.stages[s].actions[a]});
  }

  static std::string stage_path(size_t s) { return path_index("stages", s); }
  static std::string action_path(size_t s, size_t a) {
    return path_index(stage_path(s) + ".actions", a);
  }
  std::string action_label(const ActionRef& r) const {
    return "action " + quote(r.decl->name) + " in stage " + quote(p_.stages[r.stage].name);
  }

  // --- pipeline-level ---
  void pipeline_shape() {
    if (!p_.name.empty()) name("name", p_.name);
    role_arn("roleArn", p_.role_arn);
    range("version", p_.version, 1, INT32_MAX);
    if (p_.artifact_store && p_.artifact_stores) {
      add(ErrorType::kInvalidStructureException, "pipeline.artifact-store-both", "artifactStores",
          "Pipeline declares both artifactStore and artifactStores; exactly one is allowed",
          "use artifactStore for a single-region pipeline, artifactStores for cross-region "
          "actions");
    } else if (!p_.artifact_store && !p_.artifact_stores) {
      add(ErrorType::kInvalidStructureException, "pipeline.artifact-store-missing", "",
          "Pipeline declares neither artifactStore nor artifactStores; exactly one is required",
          "add \"artifactStore\": {\"type\": \"S3\", \"location\": \"<bucket>\"}");
    }
    if (p_.artifact_store) artifact_store("artifactStore", *p_.artifact_store);
    if (p_.artifact_stores) {
      for (const auto& [region, store] : *p_.artifact_stores) {
        std::string path = path_member("artifactStores", region);
        length(path, region, 4, 30);
        artifact_store(path, store);
      }
      if (!p_.artifact_stores->count(o_.region))
        add(ErrorType::kInvalidStructureException, "pipeline.artifact-stores-region",
            "artifactStores",
            "artifactStores has no artifact store for the pipeline's region " + quote(o_.region),
            "add an entry for " + quote(o_.region));
    }
    if (p_.stages.size() < 2) {
      add(ErrorType::kInvalidStructureException, "pipeline.stage-count", "stages",
          "Pipeline has only " + std::to_string(p_.stages.size()) +
              " stage(s). There should be a minimum of 2 stages in a pipeline",
          "add a stage after the source stage (a build, test, approval or deploy)");
    } else if (p_.stages.size() > 50) {
      add(ErrorType::kInvalidStructureException, "pipeline.stage-count", "stages",
          "Pipeline has " + std::to_string(p_.stages.size()) +
              " stages. There should be a maximum of 50 stages in a pipeline");
    }
    if (actions_.size() > 1000)
      add(ErrorType::kInvalidStructureException, "pipeline.action-count", "stages",
          "Pipeline has " + std::to_string(actions_.size()) +
              " actions; the maximum is 1000 actions per pipeline");
    if (p_.variables) {
      list_size("variables", p_.variables->size(), 0, 50);
      std::set<std::string> seen;
      for (size_t i = 0; i < p_.variables->size(); ++i) {
        const auto& v = (*p_.variables)[i];
        std::string path = path_index("variables", i);
        length(path + ".name", v.name, 1, 128);
        pattern(path + ".name", v.name, namespace_char, "[A-Za-z0-9@\\-_]+",
                "letters, digits, '@', '-' and '_'");
        if (v.default_value) length(path + ".defaultValue", *v.default_value, 1, 1000);
        if (v.description) length(path + ".description", *v.description, 0, 200);
        if (!v.name.empty() && !seen.insert(v.name).second)
          add(ErrorType::kInvalidStructureException, "variable.duplicate", path + ".name",
              "Pipeline variable " + quote(v.name) + " is declared more than once",
              "remove or rename one of them");
      }
    }
  }

  void artifact_store(const std::string& path, const model::ArtifactStore& s) {
    length(path + ".location", s.location, 3, 63);
    pattern(path + ".location", s.location, location_char, "[a-zA-Z0-9\\-\\.]+",
            "letters, digits, '-' and '.' (a bucket name, not a folder)");
    if (s.encryption_key) length(path + ".encryptionKey.id", s.encryption_key->id, 1, 400);
  }

  // --- stages and actions ---
  void stages() {
    std::map<std::string, size_t> stage_names;
    for (size_t s = 0; s < p_.stages.size(); ++s) {
      const StageDeclaration& st = p_.stages[s];
      std::string sp = stage_path(s);
      if (!st.name.empty()) {
        name(sp + ".name", st.name);
        auto [it, fresh] = stage_names.emplace(st.name, s);
        if (!fresh)
          add(ErrorType::kInvalidStageDeclarationException, "stage.duplicate-name", sp + ".name",
              "Stage name " + quote(st.name) + " is used more than once (also stages[" +
                  std::to_string(it->second) + "]); stage names must be unique in a pipeline",
              "rename one of the stages");
      }
      if (st.actions.empty())
        add(ErrorType::kInvalidStageDeclarationException, "stage.no-actions", sp + ".actions",
            "Stage " + quote(st.name) + " has no actions; a stage needs 1 to 50 actions",
            "add an action or remove the stage");
      else if (st.actions.size() > 50)
        add(ErrorType::kInvalidStageDeclarationException, "stage.too-many-actions", sp + ".actions",
            "Stage " + quote(st.name) + " has " + std::to_string(st.actions.size()) +
                " actions; the maximum is 50",
            "split it into several stages");
      blockers(s);
      std::map<std::string, size_t> action_names;
      bool any_source = false, any_other = false;
      for (size_t a = 0; a < st.actions.size(); ++a) {
        const ActionDeclaration& ad = st.actions[a];
        std::string ap = action_path(s, a);
        if (!ad.name.empty()) {
          auto [it, fresh] = action_names.emplace(ad.name, a);
          if (!fresh)
            add(ErrorType::kInvalidActionDeclarationException, "action.duplicate-name",
                ap + ".name",
                "Action name " + quote(ad.name) + " is used more than once in stage " +
                    quote(st.name) + " (also actions[" + std::to_string(it->second) + "])",
                "rename one of the actions");
        }
        bool source = ad.action_type_id.category == ActionCategory::kSource;
        (source ? any_source : any_other) = true;
        if (source && s > 0)
          add(ErrorType::kInvalidStructureException, "source.outside-first-stage",
              ap + ".actionTypeId.category",
              "Source action " + quote(ad.name) + " is in stage " + quote(st.name) +
                  "; source actions may only be in the first stage",
              "move it to the first stage");
        action(s, a);
      }
      if (s == 0 && !st.actions.empty()) {
        if (!any_source)
          add(ErrorType::kInvalidStructureException, "source.first-stage-needs-source", sp,
              "The first stage " + quote(st.name) +
                  " has no source action; a pipeline starts with a stage of source actions",
              "add a Source action (CodeCommit, CodeStarSourceConnection, S3 or ECR) as the first "
              "stage");
        if (any_other)
          for (size_t a = 0; a < st.actions.size(); ++a)
            if (st.actions[a].action_type_id.category != ActionCategory::kSource)
              add(ErrorType::kInvalidStructureException, "source.first-stage-only-sources",
                  action_path(s, a) + ".actionTypeId.category",
                  "Action " + quote(st.actions[a].name) + " (category " +
                      std::string(model::to_string(st.actions[a].action_type_id.category)) +
                      ") is in the first stage, which may contain only source actions",
                  "move it to a later stage");
      }
      conditions(s);
    }
  }

  void blockers(size_t s) {
    const auto& st = p_.stages[s];
    if (!st.blockers || st.blockers->empty()) return;
    std::set<std::string> seen;
    for (size_t b = 0; b < st.blockers->size(); ++b) {
      std::string bp = path_index(stage_path(s) + ".blockers", b);
      const auto& bl = (*st.blockers)[b];
      length(bp + ".name", bl.name, 1, 100);
      if (!seen.insert(bl.name).second)
        add(ErrorType::kInvalidBlockerDeclarationException, "blocker.duplicate-name", bp + ".name",
            "Blocker name " + quote(bl.name) + " is used more than once in stage " +
                quote(st.name));
    }
    add(ErrorType::kInvalidBlockerDeclarationException, "blocker.reserved",
        stage_path(s) + ".blockers",
        "Stage " + quote(st.name) +
            " declares blockers; CodePipeline reserves them for future use and they have no "
            "effect",
        "remove \"blockers\"", Severity::kWarning);
  }

  void action(size_t s, size_t a) {
    const ActionDeclaration& ad = p_.stages[s].actions[a];
    const std::string ap = action_path(s, a);
    const auto& id = ad.action_type_id;
    if (!ad.name.empty()) name(ap + ".name", ad.name);
    length(ap + ".actionTypeId.provider", id.provider, 1, 35);
    pattern(
        ap + ".actionTypeId.provider", id.provider,
        [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; },
        "[0-9A-Za-z_-]+", "letters, digits, '_' and '-'");
    length(ap + ".actionTypeId.version", id.version, 1, 9);
    range(ap + ".runOrder", ad.run_order, 1, 999);
    range(ap + ".timeoutInMinutes", ad.timeout_in_minutes, 5, 86400);
    if (ad.role_arn) role_arn(ap + ".roleArn", *ad.role_arn);
    if (ad.region) length(ap + ".region", *ad.region, 4, 30);
    if (ad.namespace_) {
      length(ap + ".namespace", *ad.namespace_, 1, 100);
      pattern(ap + ".namespace", *ad.namespace_, namespace_char, "[A-Za-z0-9@\\-_]+",
              "letters, digits, '@', '-' and '_'");
    }
    if (ad.configuration) {
      for (const auto& [k, v] : *ad.configuration) {
        std::string cp = path_member(ap + ".configuration", k);
        if (k.empty() || k.size() > 50)
          add(ErrorType::kValidationException, "shape.length", cp,
              "Value at '" + model::coral_path(ap + ".configuration") +
                  "' failed to satisfy constraint: Map keys must satisfy constraint: [Member must "
                  "have length less than or equal to 50, Member must have length greater than or "
                  "equal to 1]");
        if (v.empty() || v.size() > 1000)
          add(ErrorType::kValidationException, "shape.length", cp,
              "Value at '" + model::coral_path(ap + ".configuration") +
                  "' failed to satisfy constraint: Map value must satisfy constraint: [Member must "
                  "have length less than or equal to 1000, Member must have length greater than "
                  "or equal to 1]",
              v.empty() ? "remove " + quote(k) + " or give it a value"
                        : "shorten the value of " + quote(k) + " to 1000 characters");
      }
    }
    if (ad.region && *ad.region != o_.region &&
        (id.category == ActionCategory::kSource || id.owner != ActionOwner::kAws))
      add(ErrorType::kInvalidActionDeclarationException, "action.region-not-allowed",
          ap + ".region",
          "Action " + quote(ad.name) + " sets region " + quote(*ad.region) +
              "; source, custom and third-party actions must run in the pipeline's region " +
              quote(o_.region),
          "remove \"region\"");
    if (ad.region && *ad.region != o_.region && id.owner == ActionOwner::kAws &&
        id.category != ActionCategory::kSource &&
        (!p_.artifact_stores || !p_.artifact_stores->count(*ad.region)))
      add(ErrorType::kInvalidStructureException, "pipeline.artifact-stores-region", ap + ".region",
          "Cross-region action " + quote(ad.name) + " runs in " + quote(*ad.region) +
              " but the pipeline has no artifact store for that region",
          "replace artifactStore with artifactStores holding a store for " + quote(o_.region) +
              " and one for " + quote(*ad.region));

    const bool is_commands = id.category == ActionCategory::kCompute &&
                             id.owner == ActionOwner::kAws && id.provider == "Commands";
    commands_fields(s, a, is_commands);

    const ActionTypeInfo* info = cat_.find(id);
    if (!info) {
      unknown_type(s, a);
    } else {
      type_rules(s, a, *info);
    }
  }

  void unknown_type(size_t s, size_t a) {
    const ActionDeclaration& ad = p_.stages[s].actions[a];
    const auto& id = ad.action_type_id;
    std::string region_upper = o_.region;
    for (auto& c : region_upper)
      c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string fix;
    auto same = cat_.find_provider(id.provider);
    if (!same.empty()) {
      std::vector<std::string> ids;
      for (const auto* t : same)
        ids.push_back(std::string(model::to_string(t->category)) + "/" +
                      std::string(model::to_string(t->owner)) + "/" + t->provider + "/" +
                      t->version);
      fix = "provider " + quote(id.provider) + " exists as " + join(ids, ", ") +
            " (category/owner/provider/version); correct the actionTypeId";
    } else {
      std::string near = closest_match(id.provider, cat_.provider_names());
      if (!near.empty())
        fix = "did you mean provider " + quote(near) + "?";
      else if (id.owner == ActionOwner::kCustom)
        fix =
            "create the custom action type first (CreateCustomActionType), or correct the "
            "provider";
      else
        fix = "use one of the providers: " + join(cat_.provider_names(), ", ");
    }
    add(ErrorType::kInvalidActionDeclarationException, "action.unknown-type",
        action_path(s, a) + ".actionTypeId",
        "ActionType (Category: '" + std::string(model::to_string(id.category)) + "', Provider: '" +
            id.provider + "', Owner: '" + std::string(model::to_string(id.owner)) +
            "', Version: '" + id.version + "') in action '" + ad.name +
            "' is not available in region '" + region_upper + "'",
        fix);
  }

  void type_rules(size_t s, size_t a, const ActionTypeInfo& info) {
    const ActionDeclaration& ad = p_.stages[s].actions[a];
    const std::string ap = action_path(s, a);
    if (!info.runnable)
      add(ErrorType::kInvalidActionDeclarationException, "action.not-runnable",
          ap + ".actionTypeId",
          info.not_runnable +
              ". The pipeline is valid as AWS would accept it; when it runs, "
              "action " +
              quote(ad.name) + " fails with this message",
          "", Severity::kWarning);
    int ins = ad.input_artifacts ? static_cast<int>(ad.input_artifacts->size()) : 0;
    int outs = ad.output_artifacts ? static_cast<int>(ad.output_artifacts->size()) : 0;
    auto count = [&](const char* what, const char* member, int n, ArtifactBounds b) {
      if (n < b.min)
        add(ErrorType::kInvalidActionDeclarationException, std::string("action.") + what + "-count",
            ap + "." + member,
            "Action " + ad.name + " declares " + std::to_string(n) + " " + what +
                " artifacts which is less than the minimum count (" + std::to_string(b.min) + ")",
            std::string("add ") + (b.min - n == 1 ? "an " : std::to_string(b.min - n) + " ") +
                what + " artifact" + (b.min - n == 1 ? "" : "s") + " to \"" + member + "\"");
      else if (n > b.max)
        add(ErrorType::kInvalidActionDeclarationException, std::string("action.") + what + "-count",
            ap + "." + member,
            "Action " + ad.name + " declares " + std::to_string(n) + " " + what +
                " artifacts which is more than the maximum count (" + std::to_string(b.max) + ")",
            b.max == 0
                ? std::string("remove \"") + member + "\": " + info.provider + " actions take none"
                : "keep at most " + std::to_string(b.max));
    };
    count("input", "inputArtifacts", ins, info.input);
    count("output", "outputArtifacts", outs, info.output);

    model::StringMap empty;
    const model::StringMap& cfg = ad.configuration ? *ad.configuration : empty;
    std::vector<std::string> keys;
    for (const auto& [k, v] : cfg) keys.push_back(k);
    for (const auto& req : info.required_config) {
      if (cfg.count(req)) continue;
      std::string near = closest_match(req, keys);
      add(ErrorType::kInvalidActionDeclarationException, "action.config-required",
          ap + ".configuration",
          "Action configuration for action " + quote(ad.name) +
              " is missing required configuration " + quote(req) + " of " + info.provider +
              " actions",
          near.empty() ? "add \"" + req + "\" to the action's configuration"
                       : "rename " + quote(near) + " to " + quote(req));
    }
    if (info.config_keys_known) {
      std::vector<std::string> known = info.required_config;
      known.insert(known.end(), info.optional_config.begin(), info.optional_config.end());
      for (const auto& k : keys) {
        if (std::find(known.begin(), known.end(), k) != known.end()) continue;
        std::string near = closest_match(k, known);
        add(ErrorType::kInvalidActionDeclarationException, "action.config-unknown",
            path_member(ap + ".configuration", k),
            "Configuration key " + quote(k) + " is not a configuration property of " +
                info.provider + " actions (known: " + join(known, ", ") + ")",
            near.empty() ? "remove it" : "did you mean " + quote(near) + "?", Severity::kWarning);
      }
    }
    for (const auto& e : info.config_enums) {
      auto it = cfg.find(e.key);
      if (it == cfg.end() || it->second.find("#{") != std::string::npos) continue;
      if (std::find(e.values.begin(), e.values.end(), it->second) == e.values.end())
        add(ErrorType::kInvalidActionDeclarationException, "action.config-value",
            path_member(ap + ".configuration", e.key),
            "Configuration " + quote(e.key) + " of action " + quote(ad.name) + " is " +
                quote(it->second) + "; allowed values are " + join(e.values, ", "),
            "use one of " + join(e.values, ", ") + " (a string, case-sensitive)");
    }
    for (const auto& secret : info.secret_config) {
      auto it = cfg.find(secret);
      if (it != cfg.end() && it->second == "****")
        add(ErrorType::kInvalidActionDeclarationException, "action.secret-mask",
            path_member(ap + ".configuration", secret),
            "Action configuration for the new action \"" + ad.name +
                "\" contains an invalid configuration for the secret property \"" + secret +
                "\". \"****\" may be used in secret properties only when updating an existing "
                "action.",
            "put the real secret value");
    }
    if (ad.timeout_in_minutes &&
        !(info.category == ActionCategory::kApproval && info.provider == "Manual"))
      add(ErrorType::kInvalidActionDeclarationException, "action.timeout-not-allowed",
          ap + ".timeoutInMinutes",
          "Action " + quote(ad.name) +
              " sets timeoutInMinutes, which only manual approval actions accept",
          "remove \"timeoutInMinutes\"");
    provider_rules(s, a, info, cfg);
  }

  // Rules that depend on one provider's configuration.
  void provider_rules(size_t s, size_t a, const ActionTypeInfo& info, const model::StringMap& cfg) {
    const ActionDeclaration& ad = p_.stages[s].actions[a];
    const std::string ap = action_path(s, a);
    auto get = [&](const char* k) -> const std::string* {
      auto it = cfg.find(k);
      return it == cfg.end() ? nullptr : &it->second;
    };
    std::vector<std::string> inputs;
    if (ad.input_artifacts)
      for (const auto& in : *ad.input_artifacts) inputs.push_back(in.name);
    if (info.provider == "CodeBuild") {
      const std::string* primary = get("PrimarySource");
      if (inputs.size() > 1 && !primary)
        add(ErrorType::kInvalidActionDeclarationException, "codebuild.primary-source",
            ap + ".configuration",
            "CodeBuild action " + quote(ad.name) + " has " + std::to_string(inputs.size()) +
                " input artifacts, so it needs PrimarySource to name the one holding the buildspec",
            "add \"PrimarySource\": \"" + inputs[0] + "\"");
      if (primary && std::find(inputs.begin(), inputs.end(), *primary) == inputs.end())
        add(ErrorType::kInvalidActionDeclarationException, "codebuild.primary-source",
            path_member(ap + ".configuration", "PrimarySource"),
            "PrimarySource " + quote(*primary) + " of action " + quote(ad.name) +
                " is not one of its input artifacts (" + join(inputs, ", ") + ")",
            inputs.empty() ? "" : "use one of " + join(inputs, ", "));
      if (const std::string* env = get("EnvironmentVariables")) env_json(ap, *env);
    }
    if (info.category == ActionCategory::kDeploy && info.provider == "S3") {
      const std::string* extract = get("Extract");
      if (extract && *extract == "false" && !get("ObjectKey"))
        add(ErrorType::kInvalidActionDeclarationException, "s3deploy.object-key",
            ap + ".configuration",
            "S3 deploy action " + quote(ad.name) + " has Extract false, so it needs ObjectKey",
            "add \"ObjectKey\" (it may use {datetime} and {uuid})");
    }
    if (info.provider == "CloudFormation") {
      const std::string* mode = get("ActionMode");
      if (mode && (*mode == "CHANGE_SET_REPLACE" || *mode == "CHANGE_SET_EXECUTE") &&
          !get("ChangeSetName"))
        add(ErrorType::kInvalidActionDeclarationException, "cloudformation.change-set-name",
            ap + ".configuration",
            "CloudFormation action " + quote(ad.name) + " in mode " + *mode +
                " needs ChangeSetName",
            "add \"ChangeSetName\"");
      if (mode &&
          (*mode == "CREATE_UPDATE" || *mode == "REPLACE_ON_FAILURE" ||
           *mode == "CHANGE_SET_REPLACE") &&
          !get("TemplatePath"))
        add(ErrorType::kInvalidActionDeclarationException, "cloudformation.template-path",
            ap + ".configuration",
            "CloudFormation action " + quote(ad.name) + " in mode " + *mode + " needs TemplatePath",
            "add \"TemplatePath\": \"<InputArtifact>::template.yaml\"");
      for (const char* key : {"TemplatePath", "TemplateConfiguration"}) {
        const std::string* v = get(key);
        if (!v || v->find("#{") != std::string::npos) continue;
        size_t sep = v->find("::");
        std::string kp = path_member(ap + ".configuration", key);
        if (sep == std::string::npos || sep == 0 || sep + 2 >= v->size()) {
          add(ErrorType::kInvalidActionDeclarationException, "cloudformation.artifact-path", kp,
              std::string(key) + " " + quote(*v) + " of action " + quote(ad.name) +
                  " must have the form ArtifactName::path/in/artifact",
              inputs.empty() ? "" : "for example \"" + inputs[0] + "::template.yaml\"");
          continue;
        }
        std::string art = v->substr(0, sep);
        if (std::find(inputs.begin(), inputs.end(), art) == inputs.end()) {
          // An artifact the pipeline does produce wants adding to the inputs;
          // an unknown one is more likely a typo of an input.
          bool produced = false;
          for (const auto& pr : producers_) produced = produced || pr.name == art;
          std::string near = closest_match(art, inputs);
          std::string fix = produced || near.empty()
                                ? "add " + quote(art) + " to the action's inputArtifacts"
                                : "did you mean " + quote(near) + "?";
          add(ErrorType::kInvalidActionDeclarationException, "cloudformation.artifact-path", kp,
              std::string(key) + " of action " + quote(ad.name) + " names artifact " + quote(art) +
                  ", which is not one of its input artifacts (" +
                  (inputs.empty() ? std::string("none") : join(inputs, ", ")) + ")",
              fix);
        }
      }
    }
  }

  // CodeBuild's EnvironmentVariables configuration is a JSON string of
  // [{name, value, type}]; a mistake there fails every run, so look now.
  void env_json(const std::string& ap, const std::string& text) {
    if (text.find("#{") != std::string::npos) return;  // checked after resolution
    std::string kp = path_member(ap + ".configuration", "EnvironmentVariables");
    std::size_t i = text.find_first_not_of(" \t\r\n");
    if (i == std::string::npos || text[i] != '[')
      add(ErrorType::kInvalidActionDeclarationException, "codebuild.environment-variables", kp,
          "EnvironmentVariables must be a JSON array of {\"name\", \"value\", \"type\"} objects, "
          "given as a string",
          "for example "
          "\"[{\\\"name\\\":\\\"STAGE\\\",\\\"value\\\":\\\"prod\\\",\\\"type\\\":"
          "\\\"PLAINTEXT\\\"}]\"");
  }

  void commands_fields(size_t s, size_t a, bool is_commands) {
    const ActionDeclaration& ad = p_.stages[s].actions[a];
    const std::string ap = action_path(s, a);
    auto only = [&](bool present, const char* member) {
      if (present && !is_commands)
        add(ErrorType::kInvalidActionDeclarationException, "commands.field-not-allowed",
            ap + "." + member,
            std::string("\"") + member + "\" is only for Compute/AWS/Commands actions; action " +
                quote(ad.name) + " is " + ad.action_type_id.provider,
            std::string("remove \"") + member + "\"");
    };
    only(ad.commands.has_value(), "commands");
    only(ad.output_variables.has_value(), "outputVariables");
    only(ad.environment_variables.has_value(), "environmentVariables");
    if (ad.output_artifacts)
      for (size_t i = 0; i < ad.output_artifacts->size(); ++i)
        if ((*ad.output_artifacts)[i].files && !is_commands)
          add(ErrorType::kInvalidActionDeclarationException, "commands.field-not-allowed",
              path_index(ap + ".outputArtifacts", i) + ".files",
              "Output artifact \"files\" is only for Compute/AWS/Commands actions",
              "remove \"files\"");
    if (is_commands && (!ad.commands || ad.commands->empty()))
      add(ErrorType::kInvalidActionDeclarationException, "commands.required", ap + ".commands",
          "Action " + ad.name + " must have a non-empty commands field",
          "add \"commands\": [\"...\"]");
    if (ad.commands) {
      list_size(ap + ".commands", ad.commands->size(), 1, 50);
      command_list(ap + ".commands", *ad.commands);
    }
    if (ad.output_variables) {
      list_size(ap + ".outputVariables", ad.output_variables->size(), 1, 15);
      for (size_t i = 0; i < ad.output_variables->size(); ++i)
        length(path_index(ap + ".outputVariables", i), (*ad.output_variables)[i], 1, 128);
    }
    if (ad.environment_variables) {
      list_size(ap + ".environmentVariables", ad.environment_variables->size(), 1, 10);
      std::set<std::string> seen;
      for (size_t i = 0; i < ad.environment_variables->size(); ++i) {
        const auto& e = (*ad.environment_variables)[i];
        std::string ep = path_index(ap + ".environmentVariables", i);
        length(ep + ".name", e.name, 1, 128);
        pattern(ep + ".name", e.name, envvar_char, "[A-Za-z0-9_]+", "letters, digits and '_'");
        length(ep + ".value", e.value, 1, 2000);
        if (!e.name.empty() && !seen.insert(e.name).second)
          add(ErrorType::kInvalidActionDeclarationException, "commands.duplicate-env", ep + ".name",
              "Environment variable " + quote(e.name) + " is set more than once",
              "remove one of them");
      }
    }
    if (ad.output_artifacts)
      for (size_t i = 0; i < ad.output_artifacts->size(); ++i)
        if (const auto& f = (*ad.output_artifacts)[i].files) {
          std::string fp = path_index(ap + ".outputArtifacts", i) + ".files";
          list_size(fp, f->size(), 1, 10);
          for (size_t j = 0; j < f->size(); ++j) length(path_index(fp, j), (*f)[j], 1, 128);
        }
  }

  void command_list(const std::string& path, const std::vector<std::string>& cmds) {
    for (size_t i = 0; i < cmds.size(); ++i) {
      std::string cp = path_index(path, i);
      length(cp, cmds[i], 1, 1000);
      if (cmds[i].find('\n') != std::string::npos)
        add(ErrorType::kInvalidActionDeclarationException, "commands.multiline", cp,
            "Command " + quote(cmds[i], 60) +
                " spans several lines; each command must be a single line",
            "split it into one list entry per line");
    }
  }

  // --- stage conditions (V2) ---
  void conditions(size_t s) {
    const StageDeclaration& st = p_.stages[s];
    const std::string sp = stage_path(s);
    using R = ConditionResult;
    if (st.before_entry)
      condition_list(s, sp + ".beforeEntry.conditions", st.before_entry->conditions, true,
                     {R::kFail, R::kSkip}, "beforeEntry", false);
    if (st.on_success)
      condition_list(s, sp + ".onSuccess.conditions", st.on_success->conditions, true,
                     {R::kRollback, R::kFail}, "onSuccess", true);
    if (st.on_failure) {
      const auto& f = *st.on_failure;
      if (f.result && (*f.result == R::kSkip))
        add(ErrorType::kInvalidStageDeclarationException, "condition.result-not-allowed",
            sp + ".onFailure.result",
            "onFailure result SKIP is not allowed; use ROLLBACK, RETRY or FAIL",
            "use ROLLBACK, RETRY or FAIL");
      if (f.retry_configuration && (!f.result || *f.result != R::kRetry))
        add(ErrorType::kInvalidStageDeclarationException, "condition.retry-configuration",
            sp + ".onFailure.retryConfiguration",
            "onFailure.retryConfiguration applies only when onFailure.result is RETRY",
            "set \"result\": \"RETRY\" or remove retryConfiguration");
      if (!f.result && !f.conditions)
        add(ErrorType::kInvalidStageDeclarationException, "condition.empty", sp + ".onFailure",
            "onFailure has neither a result nor conditions", "add \"result\": \"ROLLBACK\"");
      if (f.conditions)
        condition_list(s, sp + ".onFailure.conditions", *f.conditions, true,
                       {R::kRollback, R::kFail}, "onFailure", true);
    }
  }

  void condition_list(size_t s, const std::string& path, const std::vector<model::Condition>& list,
                      bool required, std::vector<ConditionResult> allowed, const char* kind,
                      bool same_stage_inputs) {
    if (required) list_size(path, list.size(), 1, 1);
    for (size_t c = 0; c < list.size(); ++c) {
      const auto& cond = list[c];
      std::string cp = path_index(path, c);
      if (cond.result && std::find(allowed.begin(), allowed.end(), *cond.result) == allowed.end()) {
        std::vector<std::string> names;
        for (auto r : allowed) names.emplace_back(model::to_string(r));
        add(ErrorType::kInvalidStageDeclarationException, "condition.result-not-allowed",
            cp + ".result",
            std::string(kind) + " condition result " + std::string(model::to_string(*cond.result)) +
                " is not allowed; allowed: " + join(names, ", "),
            "use " + join(names, " or "));
      }
      if (!cond.rules) {
        add(ErrorType::kInvalidStageDeclarationException, "condition.no-rules", cp + ".rules",
            std::string(kind) + " condition has no rules; a condition needs 1 to 5 rules",
            "add a rule");
        continue;
      }
      list_size(cp + ".rules", cond.rules->size(), 1, 5);
      std::set<std::string> names;
      for (size_t r = 0; r < cond.rules->size(); ++r)
        rule(s, path_index(cp + ".rules", r), (*cond.rules)[r], cond.result, names,
             same_stage_inputs);
    }
  }

  void rule(size_t s, const std::string& rp, const model::RuleDeclaration& rd,
            std::optional<ConditionResult> result, std::set<std::string>& names,
            bool same_stage_inputs) {
    name(rp + ".name", rd.name);
    if (!rd.name.empty() && !names.insert(rd.name).second)
      add(ErrorType::kInvalidStageDeclarationException, "rule.duplicate-name", rp + ".name",
          "Rule name " + quote(rd.name) + " is used more than once in this condition",
          "rename one of the rules");
    range(rp + ".timeoutInMinutes", rd.timeout_in_minutes, 5, 86400);
    if (rd.role_arn) role_arn(rp + ".roleArn", *rd.role_arn);
    if (rd.configuration) {
      if (rd.configuration->size() > 200)
        list_size(rp + ".configuration", rd.configuration->size(), 0, 200);
      for (const auto& [k, v] : *rd.configuration) {
        std::string kp = path_member(rp + ".configuration", k);
        length(kp, v, 1, 10000);
      }
    }
    const RuleTypeInfo* info = cat_.find_rule(rd.rule_type_id.provider);
    if (!info) {
      std::vector<std::string> all;
      for (const auto& r : cat_.rule_types()) all.push_back(r.provider);
      std::string near = closest_match(rd.rule_type_id.provider, all);
      add(ErrorType::kInvalidStageDeclarationException, "rule.unknown-type",
          rp + ".ruleTypeId.provider",
          "Rule type " + quote(rd.rule_type_id.provider) + " of rule " + quote(rd.name) +
              " does not exist (rule types: " + join(all, ", ") + ")",
          near.empty() ? "" : "did you mean " + quote(near) + "?");
      return;
    }
    if (!info->supported) {
      add(ErrorType::kInvalidStageDeclarationException, "rule.unsupported",
          rp + ".ruleTypeId.provider", info->not_runnable);
    } else if (!info->runnable) {
      add(ErrorType::kInvalidStageDeclarationException, "rule.not-runnable",
          rp + ".ruleTypeId.provider",
          info->not_runnable +
              ". The pipeline is valid as AWS would accept it; when the "
              "condition is evaluated, rule " +
              quote(rd.name) + " fails with this message",
          "", Severity::kWarning);
    }
    model::StringMap empty;
    const auto& cfg = rd.configuration ? *rd.configuration : empty;
    for (const auto& req : info->required_config)
      if (!cfg.count(req))
        add(ErrorType::kInvalidStageDeclarationException, "rule.config-required",
            rp + ".configuration",
            "Rule " + quote(rd.name) + " (" + info->provider +
                ") is missing required configuration " + quote(req),
            "add \"" + req + "\"");
    if (info->provider == "VariableCheck") {
      auto it = cfg.find("Operator");
      if (it != cfg.end() && it->second != "EQ" && it->second != "NE" && it->second != "CONTAINS" &&
          it->second != "MATCHES")
        add(ErrorType::kInvalidStageDeclarationException, "rule.config-value",
            path_member(rp + ".configuration", "Operator"),
            "Operator " + quote(it->second) + " of rule " + quote(rd.name) +
                " is not one of EQ, NE, CONTAINS, MATCHES",
            "use EQ, NE, CONTAINS or MATCHES");
    }
    if (info->uses_commands) {
      if (!rd.commands || rd.commands->empty())
        add(ErrorType::kInvalidStageDeclarationException, "rule.commands-required",
            rp + ".commands",
            "Commands rule " + quote(rd.name) + " must have a non-empty commands field",
            "add \"commands\": [\"...\"]");
    } else if (rd.commands) {
      add(ErrorType::kInvalidStageDeclarationException, "rule.commands-not-allowed",
          rp + ".commands",
          "Rule " + quote(rd.name) + " (" + info->provider +
              ") does not take commands; only Commands rules do",
          "remove \"commands\"");
    }
    if (rd.commands) {
      list_size(rp + ".commands", rd.commands->size(), 1, 50);
      command_list(rp + ".commands", *rd.commands);
    }
    if (result && *result == ConditionResult::kSkip && !info->allows_skip)
      add(ErrorType::kInvalidStageDeclarationException, "condition.skip-rule", rp + ".ruleTypeId",
          "Result SKIP is supported only with LambdaInvoke and VariableCheck rules; rule " +
              quote(rd.name) + " is " + info->provider,
          "use result FAIL, or a VariableCheck rule");
    // Rule input artifacts: produced before the stage (beforeEntry) or by the stage itself.
    if (rd.input_artifacts) {
      Position at{s, same_stage_inputs ? 1000 : 0};
      for (size_t i = 0; i < rd.input_artifacts->size(); ++i)
        input_artifact(path_index(rp + ".inputArtifacts", i) + ".name",
                       (*rd.input_artifacts)[i].name, at, "rule " + quote(rd.name));
    }
    rule_refs_.push_back({s, same_stage_inputs, rp, &rd});
  }

  // --- artifacts ---
  struct Producer {
    std::string name;
    ActionRef ref;
    std::string path;
  };

  void artifacts() {
    std::map<std::string, size_t> first;  // name -> producers_ index
    for (const auto& r : actions_) {
      if (!r.decl->output_artifacts) continue;
      for (size_t i = 0; i < r.decl->output_artifacts->size(); ++i) {
        const auto& o = (*r.decl->output_artifacts)[i];
        std::string op =
            path_index(action_path(r.stage, r.action) + ".outputArtifacts", i) + ".name";
        length(op, o.name, 1, 100);
        pattern(op, o.name, artifact_char, "[a-zA-Z0-9_\\-]+",
                "letters, digits, '_' and '-' (no '.' or '@')");
        auto [it, fresh] = first.emplace(o.name, producers_.size());
        if (!fresh) {
          const Producer& p = producers_[it->second];
          add(ErrorType::kInvalidStructureException, "artifact.output-duplicate", op,
              "Output Artifact Bundle name must be unique within the pipeline. " + o.name +
                  " has been used more than once (first by " + action_label(p.ref) + ", at " +
                  p.path + ")",
              "rename this output artifact and the inputs that consume it");
        }
        producers_.push_back({o.name, r, op});
      }
    }
    for (const auto& r : actions_) {
      if (!r.decl->input_artifacts) continue;
      std::set<std::string> seen;
      for (size_t i = 0; i < r.decl->input_artifacts->size(); ++i) {
        const auto& in = (*r.decl->input_artifacts)[i];
        std::string ip =
            path_index(action_path(r.stage, r.action) + ".inputArtifacts", i) + ".name";
        if (!seen.insert(in.name).second) {
          add(ErrorType::kInvalidActionDeclarationException, "artifact.input-duplicate", ip,
              "Action " + quote(r.decl->name) + " lists input artifact " + quote(in.name) +
                  " more than once",
              "remove the duplicate");
          continue;
        }
        input_artifact(ip, in.name, Position{r.stage, r.run_order()},
                       "action " + quote(r.decl->name));
      }
    }
  }

  void input_artifact(const std::string& path, const std::string& name, Position at,
                      const std::string& consumer) {
    length(path, name, 1, 100);
    pattern(path, name, artifact_char, "[a-zA-Z0-9_\\-]+",
            "letters, digits, '_' and '-' (no '.' or '@')");
    if (name.empty()) return;
    const Producer* exact = nullptr;
    for (const auto& p : producers_)
      if (p.name == name) exact = &p;
    if (exact && exact->ref.before(at)) return;
    std::string message = "Input Artifact Bundle " + name + " in " + consumer +
                          " is not declared as Output Artifact Bundle in any of the preceding "
                          "actions";
    std::string fix;
    if (exact) {
      const ActionRef& r = exact->ref;
      message += ": it is produced by " + action_label(r) +
                 (r.stage == at.stage ? " with runOrder " + std::to_string(r.run_order()) +
                                            ", which does not run before it"
                                      : ", a later stage");
      fix = r.stage == at.stage
                ? "give the consumer a runOrder greater than " + std::to_string(r.run_order())
                : "move the consumer after stage " + quote(p_.stages[r.stage].name);
    } else {
      std::vector<std::string> earlier;
      for (const auto& p : producers_)
        if (p.ref.before(at)) earlier.push_back(p.name);
      std::string near = closest_match(name, earlier);
      if (near.empty()) {
        std::vector<std::string> all;
        for (const auto& p : producers_) all.push_back(p.name);
        near = closest_match(name, all);
      }
      if (!near.empty()) {
        for (const auto& p : producers_)
          if (p.name == near) {
            fix = "did you mean " + quote(near) + "? It is the output of " + action_label(p.ref) +
                  " (" + p.path + ")";
            break;
          }
      } else if (!earlier.empty()) {
        fix = "use one of the artifacts produced before it: " + join(earlier, ", ");
      } else {
        fix = "no action before it produces an artifact; add outputArtifacts to an earlier action";
      }
    }
    add(ErrorType::kInvalidActionDeclarationException, "artifact.input-not-produced", path, message,
        fix);
  }

  // --- namespaces and variables ---
  void namespaces() {
    std::map<std::string, const ActionRef*> seen;
    std::set<std::string> artifact_names;
    for (const auto& p : producers_) artifact_names.insert(p.name);
    for (const auto& r : actions_) {
      if (!r.decl->namespace_) continue;
      const std::string& ns = *r.decl->namespace_;
      std::string np = action_path(r.stage, r.action) + ".namespace";
      if (ns == "variables" || ns == "codepipeline") {
        add(ErrorType::kInvalidActionDeclarationException, "namespace.reserved", np,
            "Namespace " + quote(ns) + " of action " + quote(r.decl->name) +
                " is reserved by CodePipeline",
            "rename the namespace, e.g. " + quote(r.decl->name + "Variables"));
        continue;
      }
      auto [it, fresh] = seen.emplace(ns, &r);
      if (!fresh)
        add(ErrorType::kInvalidActionDeclarationException, "namespace.duplicate", np,
            "Namespaces must be unique across the pipeline definition. The following occur more "
            "than once in the pipeline. StageName=[" +
                p_.stages[r.stage].name + "], ActionName=[" + r.decl->name + "], Namespace=[" + ns +
                "]",
            "rename it; " + action_label(*it->second) + " already uses it");
      if (artifact_names.count(ns))
        add(ErrorType::kInvalidActionDeclarationException, "namespace.artifact-conflict", np,
            "Namespace " + quote(ns) + " of action " + quote(r.decl->name) +
                " has the same name as an artifact",
            "rename the namespace or the artifact");
      namespaces_.emplace(ns, &r);
    }
  }

  struct RuleRef {
    size_t stage;
    bool after_actions;
    std::string path;
    const model::RuleDeclaration* decl;
  };

  // Checks every #{namespace.key} in `text`, used at `at` by `consumer`.
  void references(const std::string& path, const std::string& text, Position at,
                  const std::string& consumer, bool is_source) {
    size_t pos = 0;
    while ((pos = text.find("#{", pos)) != std::string::npos) {
      size_t close = text.find('}', pos + 2);
      if (close == std::string::npos) {
        add(ErrorType::kInvalidActionDeclarationException, "variable.malformed", path,
            "Variable reference in " + consumer + " starting at " + quote(text.substr(pos, 40)) +
                " has no closing '}'",
            "write #{Namespace.Variable}");
        return;
      }
      std::string ref = text.substr(pos + 2, close - pos - 2);
      pos = close + 1;
      size_t dot = ref.find('.');
      if (dot == std::string::npos || dot == 0 || dot + 1 == ref.size()) {
        add(ErrorType::kInvalidActionDeclarationException, "variable.malformed", path,
            "Variable reference #{" + ref + "} in " + consumer +
                " must have the form #{Namespace.Variable}",
            "write #{Namespace.Variable}");
        continue;
      }
      std::string ns = ref.substr(0, dot), key = ref.substr(dot + 1);
      if (ns == "codepipeline") {
        if (key != "PipelineExecutionId")
          add(ErrorType::kInvalidActionDeclarationException, "variable.unknown-key", path,
              "Variable #{" + ref + "} in " + consumer +
                  " does not exist: the codepipeline namespace has only PipelineExecutionId",
              "use #{codepipeline.PipelineExecutionId}");
        continue;
      }
      if (ns == "variables") {
        if (is_source)
          add(ErrorType::kInvalidActionDeclarationException, "variable.in-source", path,
              "Pipeline-level variable #{" + ref + "} is used in source " + consumer +
                  "; source actions cannot use pipeline-level variables",
              "use a literal value in the source action");
        std::vector<std::string> declared;
        if (p_.variables)
          for (const auto& v : *p_.variables) declared.push_back(v.name);
        if (std::find(declared.begin(), declared.end(), key) == declared.end()) {
          std::string near = closest_match(key, declared);
          add(ErrorType::kInvalidActionDeclarationException, "variable.undeclared", path,
              "Variable #{" + ref + "} in " + consumer + " refers to pipeline variable " +
                  quote(key) + ", which the pipeline does not declare",
              near.empty() ? "declare it in \"variables\": [{\"name\": \"" + key + "\"}]"
                           : "did you mean #{variables." + near + "}?");
        }
        continue;
      }
      auto it = namespaces_.find(ns);
      if (it == namespaces_.end()) {
        std::vector<std::string> all;
        for (const auto& [n, r] : namespaces_) all.push_back(n);
        std::string near = closest_match(ns, all);
        add(ErrorType::kInvalidActionDeclarationException, "variable.unknown-namespace", path,
            "Variable #{" + ref + "} in " + consumer + " uses namespace " + quote(ns) +
                ", which no action declares",
            near.empty() ? "set \"namespace\": \"" + ns + "\" on the action that produces it"
                         : "did you mean namespace " + quote(near) + "?");
        continue;
      }
      const ActionRef& producer = *it->second;
      if (!producer.before(at)) {
        add(ErrorType::kInvalidActionDeclarationException, "variable.not-earlier", path,
            "Variable #{" + ref + "} in " + consumer + " comes from " + action_label(producer) +
                ", which does not run before it",
            producer.stage == at.stage
                ? "give the consumer a runOrder greater than " +
                      std::to_string(producer.run_order())
                : "move the consumer after stage " + quote(p_.stages[producer.stage].name));
        continue;
      }
      const ActionTypeInfo* info = cat_.find(producer.decl->action_type_id);
      if (!info) continue;  // unknown types are reported on their own
      if (info->provider == "Commands" && info->category == ActionCategory::kCompute) {
        const auto& list = producer.decl->output_variables;
        if (!list || std::find(list->begin(), list->end(), key) == list->end())
          add(ErrorType::kInvalidActionDeclarationException, "variable.unknown-key", path,
              "Variable #{" + ref + "} in " + consumer + ": Commands action " +
                  quote(producer.decl->name) + " exports " +
                  (list ? "only " + join(*list, ", ") : std::string("no variables")),
              "add " + quote(key) + " to its outputVariables");
        continue;
      }
      if (info->dynamic_output_variables) continue;  // named at run time
      const auto& keys = info->output_variables;
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        std::string near = closest_match(key, keys);
        add(ErrorType::kInvalidActionDeclarationException, "variable.unknown-key", path,
            "Variable #{" + ref + "} in " + consumer + ": " + info->provider +
                " actions do not produce " + quote(key) +
                (keys.empty() ? std::string(" (they produce no variables)")
                              : " (they produce " + join(keys, ", ") + ")"),
            near.empty() ? "" : "did you mean #{" + ns + "." + near + "}?");
      }
    }
  }

  void variables() {
    for (const auto& r : actions_) {
      const auto& ad = *r.decl;
      std::string ap = action_path(r.stage, r.action);
      Position at{r.stage, r.run_order()};
      bool src = ad.action_type_id.category == ActionCategory::kSource;
      std::string who = action_label(r);
      if (ad.configuration)
        for (const auto& [k, v] : *ad.configuration)
          references(path_member(ap + ".configuration", k), v, at, who, src);
      if (ad.commands)
        for (size_t i = 0; i < ad.commands->size(); ++i)
          references(path_index(ap + ".commands", i), (*ad.commands)[i], at, who, src);
      if (ad.environment_variables)
        for (size_t i = 0; i < ad.environment_variables->size(); ++i)
          references(path_index(ap + ".environmentVariables", i) + ".value",
                     (*ad.environment_variables)[i].value, at, who, src);
    }
    for (const auto& rr : rule_refs_) {
      Position at{rr.stage, rr.after_actions ? 1000 : 0};
      std::string who = "rule " + quote(rr.decl->name);
      if (rr.decl->configuration)
        for (const auto& [k, v] : *rr.decl->configuration)
          references(path_member(rr.path + ".configuration", k), v, at, who, false);
      if (rr.decl->commands)
        for (size_t i = 0; i < rr.decl->commands->size(); ++i)
          references(path_index(rr.path + ".commands", i), (*rr.decl->commands)[i], at, who, false);
    }
  }

  // --- triggers ---
  void triggers() {
    if (!p_.triggers) return;
    list_size("triggers", p_.triggers->size(), 0, 50);
    std::map<std::string, size_t> by_action;
    for (size_t t = 0; t < p_.triggers->size(); ++t) {
      const auto& g = (*p_.triggers)[t].git_configuration;
      std::string tp = path_index("triggers", t) + ".gitConfiguration";
      const ActionRef* src = nullptr;
      std::vector<std::string> sources;
      for (const auto& r : actions_)
        if (r.decl->action_type_id.category == ActionCategory::kSource) {
          sources.push_back(r.decl->name);
          if (r.decl->name == g.source_action_name) src = &r;
        }
      if (!src) {
        std::string near = closest_match(g.source_action_name, sources);
        add(ErrorType::kInvalidStructureException, "trigger.source-action",
            tp + ".sourceActionName",
            "Trigger names source action " + quote(g.source_action_name) +
                ", which is not a source action of this pipeline",
            near.empty() ? (sources.empty() ? "" : "use one of " + join(sources, ", "))
                         : "did you mean " + quote(near) + "?");
      } else if (src->decl->action_type_id.provider != "CodeStarSourceConnection") {
        add(ErrorType::kInvalidStructureException, "trigger.source-provider",
            tp + ".sourceActionName",
            "Trigger source action " + quote(g.source_action_name) + " uses provider " +
                src->decl->action_type_id.provider +
                "; git triggers work only with CodeStarSourceConnection source actions",
            "use a CodeStarSourceConnection source action, or remove the trigger");
      }
      auto [it, fresh] = by_action.emplace(g.source_action_name, t);
      if (!fresh)
        add(ErrorType::kInvalidStructureException, "trigger.duplicate", tp + ".sourceActionName",
            "Source action " + quote(g.source_action_name) +
                " has more than one trigger (also triggers[" + std::to_string(it->second) +
                "]); one trigger per source action",
            "merge the filters into one trigger");
      if (g.push) {
        list_size(tp + ".push", g.push->size(), 1, 3);
        std::vector<model::GitPushFilter> seen;
        for (size_t f = 0; f < g.push->size(); ++f) {
          const auto& pf = (*g.push)[f];
          std::string fp = path_index(tp + ".push", f);
          criteria(fp + ".tags", pf.tags);
          criteria(fp + ".branches", pf.branches);
          criteria(fp + ".filePaths", pf.file_paths);
          if (!pf.tags && !pf.branches && !pf.file_paths)
            add(ErrorType::kInvalidStructureException, "trigger.filter-empty", fp,
                "Push filter has no criteria", "add \"branches\" or \"tags\"");
          else if (pf.tags && (pf.branches || pf.file_paths))
            add(ErrorType::kInvalidStructureException, "trigger.filter-combination", fp,
                "A push filter on tags cannot also filter branches or file paths",
                "split it into a tags filter and a branches filter");
          else if (pf.file_paths && !pf.branches)
            add(ErrorType::kInvalidStructureException, "trigger.filter-combination", fp,
                "A push filter on filePaths also needs branches", "add \"branches\"");
          if (std::find(seen.begin(), seen.end(), pf) != seen.end())
            add(ErrorType::kInvalidStructureException, "trigger.filter-duplicate", fp,
                "Push filter is a duplicate of an earlier one", "remove it");
          seen.push_back(pf);
          if (pf.tags && p_.effective_type() == model::PipelineType::kV1)
            add(ErrorType::kInvalidStructureException, "pipeline.v2-only", fp + ".tags",
                "Triggers on tag can only be used with V2 pipelines",
                "set \"pipelineType\": \"V2\"");
        }
      }
      if (g.pull_request) {
        list_size(tp + ".pullRequest", g.pull_request->size(), 1, 3);
        std::vector<model::GitPullRequestFilter> seen;
        for (size_t f = 0; f < g.pull_request->size(); ++f) {
          const auto& pf = (*g.pull_request)[f];
          std::string fp = path_index(tp + ".pullRequest", f);
          if (pf.events) list_size(fp + ".events", pf.events->size(), 1, 3);
          criteria(fp + ".branches", pf.branches);
          criteria(fp + ".filePaths", pf.file_paths);
          if (pf.file_paths && !pf.branches)
            add(ErrorType::kInvalidStructureException, "trigger.filter-combination", fp,
                "A pull request filter on filePaths also needs branches", "add \"branches\"");
          if (std::find(seen.begin(), seen.end(), pf) != seen.end())
            add(ErrorType::kInvalidStructureException, "trigger.filter-duplicate", fp,
                "Pull request filter is a duplicate of an earlier one", "remove it");
          seen.push_back(pf);
        }
      }
    }
  }

  void criteria(const std::string& path, const std::optional<model::GitFilterCriteria>& c) {
    if (!c) return;
    if (!c->includes && !c->excludes)
      add(ErrorType::kInvalidStructureException, "trigger.filter-empty", path,
          "Filter criteria has neither includes nor excludes", "add \"includes\"");
    for (const char* which : {"includes", "excludes"}) {
      const auto& list = std::string(which) == "includes" ? c->includes : c->excludes;
      if (!list) continue;
      std::string lp = path + "." + which;
      list_size(lp, list->size(), 1, 8);
      for (size_t i = 0; i < list->size(); ++i) length(path_index(lp, i), (*list)[i], 1, 255);
    }
  }

  // --- V1 / V2 gating and execution-mode restrictions ---
  void version_gates() {
    bool v1 = p_.effective_type() == model::PipelineType::kV1;
    auto v2 = [&](const std::string& path, const std::string& what) {
      if (v1)
        add(ErrorType::kInvalidStructureException, "pipeline.v2-only", path,
            what + " can only be used with V2 pipelines" +
                (p_.pipeline_type ? "" : " (pipelineType is absent, which means V1)"),
            "set \"pipelineType\": \"V2\"");
    };
    if (p_.variables && !p_.variables->empty()) v2("variables", "Pipeline-level variables");
    if (p_.triggers && !p_.triggers->empty()) v2("triggers", "Triggers");
    if (p_.execution_mode && *p_.execution_mode != model::ExecutionMode::kSuperseded)
      v2("executionMode", "Execution mode " + std::string(model::to_string(*p_.execution_mode)));
    for (size_t s = 0; s < p_.stages.size(); ++s) {
      const auto& st = p_.stages[s];
      std::string sp = stage_path(s);
      if (st.before_entry) v2(sp + ".beforeEntry", "Stage conditions (beforeEntry)");
      if (st.on_success) v2(sp + ".onSuccess", "Stage conditions (onSuccess)");
      if (st.on_failure) v2(sp + ".onFailure", "Stage onFailure (rollback, retry, conditions)");
      for (size_t a = 0; a < st.actions.size(); ++a) {
        const auto* info = cat_.find(st.actions[a].action_type_id);
        if (info && info->v2_only)
          v2(action_path(s, a) + ".actionTypeId", info->provider + " actions");
      }
      if (p_.effective_mode() == model::ExecutionMode::kParallel) {
        auto rollback = [&](const std::string& path) {
          add(ErrorType::kInvalidStructureException, "parallel.no-rollback", path,
              "Pipelines in PARALLEL mode cannot roll back stages",
              "use FAIL or RETRY, or another execution mode");
        };
        if (st.on_failure && st.on_failure->result == ConditionResult::kRollback)
          rollback(sp + ".onFailure.result");
        auto check = [&](const std::string& base, const std::vector<model::Condition>& cs) {
          for (size_t c = 0; c < cs.size(); ++c)
            if (cs[c].result == ConditionResult::kRollback)
              rollback(path_index(base, c) + ".result");
        };
        if (st.on_success) check(sp + ".onSuccess.conditions", st.on_success->conditions);
        if (st.on_failure && st.on_failure->conditions)
          check(sp + ".onFailure.conditions", *st.on_failure->conditions);
      }
    }
  }

  const PipelineDeclaration& p_;
  const ValidateOptions& o_;
  const Catalogue& cat_;
  Problems out_;
  std::vector<ActionRef> actions_;
  std::vector<Producer> producers_;
  std::map<std::string, const ActionRef*> namespaces_;
  std::vector<RuleRef> rule_refs_;
};

}  // namespace

Problems validate_pipeline(const PipelineDeclaration& pipeline, const ValidateOptions& options) {
  return Validator(pipeline, options).run();
}

Problems validate_tags(const std::vector<model::Tag>& tags, const std::string& path) {
  Problems out;
  if (tags.size() > 50)
    out.push_back({Severity::kError, ErrorType::kTooManyTagsException, "tags.count", path,
                   "Tag limit exceeded: " + std::to_string(tags.size()) +
                       " tags; a resource may have at most 50",
                   "remove tags", 0});
  std::set<std::string> keys;
  for (size_t i = 0; i < tags.size(); ++i) {
    std::string tp = path_index(path, i);
    const auto& t = tags[i];
    if (t.key.empty() || t.key.size() > 128)
      out.push_back({Severity::kError, ErrorType::kInvalidTagsException, "tags.key", tp + ".key",
                     "Tag key " + quote(t.key) + " must be 1 to 128 characters", "", 0});
    if (t.value.size() > 256)
      out.push_back({Severity::kError, ErrorType::kInvalidTagsException, "tags.value",
                     tp + ".value", "Tag value must be at most 256 characters", "", 0});
    if (starts_with(to_lower(t.key), "aws:"))
      out.push_back({Severity::kError, ErrorType::kInvalidTagsException, "tags.system", tp + ".key",
                     "Not allowed to modify system tags. System tags start with 'aws:'. "
                     "msg=[Caller is an end user and not allowed to mutate system tags]",
                     "choose a key that does not start with 'aws:'", 0});
    if (!t.key.empty() && !keys.insert(t.key).second)
      out.push_back({Severity::kError, ErrorType::kInvalidTagsException, "tags.duplicate",
                     tp + ".key", "Tag key " + quote(t.key) + " appears more than once",
                     "remove the duplicate", 0});
  }
  return out;
}

}  // namespace stageline::definitions
