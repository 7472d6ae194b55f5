// definitions/intrinsics: the evaluation context of one CloudFormation
// template: its parameters, mappings, conditions and resources, the pseudo
// parameters, and the intrinsic functions that read them. Used by
// cloudformation.cc; separate so that every function can be tested alone.
//
// Supported: Ref (parameters, resources, AWS::AccountId, AWS::Region,
// AWS::StackName, AWS::StackId, AWS::Partition, AWS::URLSuffix,
// AWS::NotificationARNs, AWS::NoValue), Fn::GetAtt, Fn::Sub, Fn::Join,
// Fn::Select, Fn::Split, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or,
// Fn::FindInMap, Fn::Base64, Fn::GetAZs. Reported as problems: Fn::Cidr,
// Fn::ImportValue (another stack's export cannot be read locally) and the
// AWS::LanguageExtensions functions.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "definitions/cloudformation.h"
#include "definitions/problem.h"
#include "definitions/source_map.h"

namespace stageline::definitions {

// The outcome of evaluating part of a template.
struct Evaluated {
  enum class Kind {
    kValue,    // `value` holds the result
    kNoValue,  // Ref AWS::NoValue: the enclosing property or list item goes away
    kFailed,   // could not be evaluated; the problem is already reported
  };
  Kind kind = Kind::kValue;
  boost::json::value value;
  // kValue, but a member or item inside was left out because it failed.
  bool partial = false;

  bool has_value() const { return kind == Kind::kValue; }
};

// What Ref and Fn::GetAtt give for one resource.
struct PhysicalResource {
  std::string name;  // the resource's own name ("" for types without one)
  std::string ref;
  std::map<std::string, std::string> attributes;  // Fn::GetAtt attribute -> value
  bool managed = true;  // false: a type Stageline does not manage (placeholder values)
};

// One entry of the template's Resources section.
struct TemplateResource {
  std::string logical_id;
  std::string type;
  std::string path;                        // "Resources.<logical id>"
  const boost::json::object* declaration;  // {Type, Properties, ...}
  const boost::json::object* properties;   // nullptr when absent
  std::optional<std::string> condition;    // the resource's Condition
};

// Evaluates one template. Borrows the document, options and problem list,
// which must outlive it. Not thread-safe; cheap to create per template.
class TemplateEvaluator {
 public:
  // REQUIRES: doc.value is an object.
  TemplateEvaluator(const LocatedJson& doc, const TemplateOptions& options, Problems& problems);

  // Reads the Parameters, Mappings, Conditions and Resources sections and
  // reports their problems: parameter values that are missing or break their
  // constraints, overrides of unknown parameters, conditions that cannot be
  // evaluated, malformed resource entries. Call once, before anything else.
  void load();

  // Evaluates `value`, found at template path `path`. When `lines` is not
  // null, the template line of every produced value is recorded there under
  // `out_path` (the result's own path: a list item removed by AWS::NoValue
  // shifts the items after it).
  Evaluated evaluate(const boost::json::value& value, const std::string& path,
                     SourceMap* lines = nullptr, const std::string& out_path = "");

  // The value of condition `name`, or nullopt (reported) when it does not
  // exist or cannot be evaluated. `path` is where it is used.
  std::optional<bool> condition(const std::string& name, const std::string& path);

  // False when the resource's Condition is false or failed.
  bool included(const TemplateResource& resource);

  // What Ref and Fn::GetAtt give for resource `logical_id`, or nullptr
  // (reported at `path`) when it does not exist or its name cannot be
  // evaluated.
  const PhysicalResource* physical(const std::string& logical_id, const std::string& path);

  const std::vector<TemplateResource>& resources() const { return resources_; }

  // While true, problems are reported as notes (the Outputs section: its
  // failures do not stop a pipeline from being read).
  void set_notes_only(bool notes_only) { notes_only_ = notes_only; }

  // Adds a problem (kTemplateError unless `type` says otherwise) with the line
  // of `path` in the template, or `line` when it is not 0. The same path and
  // message are reported once.
  void report(const std::string& rule, const std::string& path, const std::string& message,
              const std::string& fix = "", Severity severity = Severity::kError,
              ErrorType type = ErrorType::kTemplateError, int line = 0);

  int line_of(const std::string& path) const { return doc_.lines.line_of(path); }
  const TemplateOptions& options() const { return options_; }

 private:
  struct Parameter {
    std::string type;
    std::string path;
    std::optional<boost::json::value> value;  // string, or array of strings for list types
  };
  struct Condition {
    const boost::json::value* expression;
    std::string path;
    enum class State { kPending, kEvaluating, kDone, kFailed } state = State::kPending;
    bool value = false;
  };
  struct ResourceState {
    enum class State { kPending, kComputing, kDone, kFailed } state = State::kPending;
    PhysicalResource physical;
    bool noted = false;  // the "not managed here" note was given
  };

  void load_parameters();
  void load_parameter(const std::string& name, const boost::json::value& declaration,
                      const std::string& path);
  void load_mappings();
  void load_conditions();
  void load_resources();

  Evaluated eval(const boost::json::value& value, const std::string& path, SourceMap* lines,
                 const std::string& out_path, int depth);
  Evaluated eval_function(const std::string& name, const boost::json::value& args,
                          const std::string& path, SourceMap* lines, const std::string& out_path,
                          int depth);
  Evaluated fn_ref(const boost::json::value& args, const std::string& path);
  Evaluated fn_get_att(const boost::json::value& args, const std::string& path, int depth);
  Evaluated fn_sub(const boost::json::value& args, const std::string& path, int depth);
  Evaluated fn_join(const boost::json::value& args, const std::string& path, int depth);
  Evaluated fn_select(const boost::json::value& args, const std::string& path, int depth);
  Evaluated fn_split(const boost::json::value& args, const std::string& path, int depth);
  Evaluated fn_if(const boost::json::value& args, const std::string& path, SourceMap* lines,
                  const std::string& out_path, int depth);
  Evaluated fn_find_in_map(const boost::json::value& args, const std::string& path, int depth);
  Evaluated fn_base64(const boost::json::value& args, const std::string& path, int depth);
  Evaluated fn_get_azs(const boost::json::value& args, const std::string& path, int depth);
  // Fn::Equals, Fn::Not, Fn::And, Fn::Or: a boolean.
  Evaluated fn_condition(const std::string& name, const boost::json::value& args,
                         const std::string& path, int depth);
  // An operand of Fn::Not/And/Or/If: {"Condition": name} or a condition function.
  std::optional<bool> condition_operand(const boost::json::value& operand, const std::string& path,
                                        int depth);

  // The value of `logical_id.attribute` for Fn::GetAtt and ${A.B} in Fn::Sub.
  Evaluated attribute(const std::string& logical_id, const std::string& attribute,
                      const std::string& path);
  // The value of a name for Ref and ${Name} in Fn::Sub.
  Evaluated reference(const std::string& name, const std::string& path);
  std::optional<PhysicalResource> compute_physical(const TemplateResource& resource);
  // Evaluates `args` and returns it as a string, or nullopt (reported).
  std::optional<std::string> string_arg(const boost::json::value& args, const std::string& path,
                                        int depth, std::string_view what);
  Evaluated fail(const std::string& rule, const std::string& path, const std::string& message,
                 const std::string& fix = "");
  // Counts bytes of text produced; false (reported) past the limit.
  bool spend(size_t bytes, const std::string& path);
  std::vector<std::string> reference_names() const;

  const LocatedJson& doc_;
  const TemplateOptions& options_;
  Problems& problems_;
  bool notes_only_ = false;
  std::set<std::pair<std::string, std::string>> reported_;

  std::map<std::string, Parameter> parameters_;
  const boost::json::object* mappings_ = nullptr;
  std::map<std::string, Condition> conditions_;
  std::vector<TemplateResource> resources_;
  std::map<std::string, size_t> resource_index_;
  std::map<std::string, ResourceState> resource_states_;
  int reference_depth_ = 0;
  int in_condition_ = 0;  // > 0 while a condition is evaluated: no resources there
  size_t bytes_produced_ = 0;
};

// A scalar as CloudFormation turns it into a string: strings as they are,
// booleans "true"/"false", numbers in decimal. nullopt for null, objects and
// arrays.
std::optional<std::string> scalar_to_string(const boost::json::value& v);

// A whole number from a number or a decimal string ("2"); nullopt otherwise.
std::optional<int64_t> whole_number(const boost::json::value& v);

// "a string", "a list", "an object", ... for messages.
std::string kind_phrase(const boost::json::value& v);

// "did you mean 'X'?" for the candidate closest to `word`, else `otherwise`.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates,
                         const std::string& otherwise = "");

}  // namespace stageline::definitions
