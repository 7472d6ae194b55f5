// definitions/validation: every rule of CodePipeline's pipeline structure
// (reference §3 and §4, conditions §7, triggers §8, variables §9), checked
// before anything runs. It returns every problem at once, each with its path,
// the AWS exception it maps to, a message in AWS's style where the reference
// has one, and a fix. Pure: no I/O. The rule ids are listed in
// docs/definitions.md.
#pragma once

#include <string>
#include <vector>

#include "definitions/catalogue.h"
#include "definitions/problem.h"
#include "model/pipeline.h"

namespace stageline::definitions {

struct ValidateOptions {
  std::string region = "us-east-1";      // the pipeline's region
  const Catalogue* catalogue = nullptr;  // nullptr: Catalogue::builtin()
  // Warnings (providers that cannot run here yet, unknown configuration keys)
  // become errors.
  bool strict = false;
};

// REQUIRES: `pipeline` came from decode_pipeline (fields that failed to decode
// are left empty; problems at those paths are the decoder's to report).
Problems validate_pipeline(const model::PipelineDeclaration& pipeline,
                           const ValidateOptions& options = {});

// Tags of CreatePipeline/TagResource: at most 50, key 1-128, value 0-256,
// no "aws:" prefix. `path` is where the list sits ("tags").
Problems validate_tags(const std::vector<model::Tag>& tags, const std::string& path);

}  // namespace stageline::definitions

namespace stageline::definitions {

// One rule that validation (or a reader) enforces, for docs and for the
// corpus test that proves each rule has an invalid example.
struct RuleDoc {
  std::string_view id;
  Severity severity;  // as reported without --strict
  ErrorType type;
  std::string_view summary;
};

// Every rule id any reader or validation may put in Problem::rule.
const std::vector<RuleDoc>& validation_rules();

}  // namespace stageline::definitions
