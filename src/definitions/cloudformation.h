// definitions/cloudformation: evaluates a CloudFormation template (YAML via
// load_yaml, or JSON) locally and extracts its AWS::CodePipeline::Pipeline
// resources as API-shaped pipeline declarations, plus the other resources
// Stageline manages as typed records (resources.h).
//
// Evaluation follows CloudFormation: Parameters (with overrides, defaults and
// constraints), Mappings, Conditions, pseudo parameters and the intrinsic
// functions (see intrinsics.h). No AWS account is involved: a Ref or
// Fn::GetAtt to another resource resolves to a deterministic local name and an
// ARN in partition aws, options.region and options.account_id, so the same
// template always gives the same declarations. CodePipeline's own rules are
// not checked here (that is validation.h); CloudFormation's are: unknown
// property names, unresolvable references, missing parameter values.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "definitions/problem.h"
#include "definitions/resources.h"
#include "definitions/source_map.h"

namespace stageline::definitions {

struct TemplateOptions {
  std::map<std::string, std::string> parameter_overrides;  // --parameter-overrides Key=Value
  std::string stack_name = "stageline";
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
};

// One AWS::CodePipeline::Pipeline resource.
struct TemplatePipeline {
  std::string logical_id;
  // The PipelineDeclaration in the API's shape (camelCase members as in the
  // botocore model: name, roleArn, artifactStore or artifactStores, stages,
  // executionMode, pipelineType, variables, triggers), every intrinsic
  // resolved. Its SourceMap is keyed by API paths relative to the declaration
  // ("name", "stages[1].actions[0].inputArtifacts[0].name") and gives the
  // template's lines.
  LocatedJson declaration;
  boost::json::array tags;  // [{"key": ..., "value": ...}]
  // (stageName, reason) from DisableInboundStageTransitions.
  std::vector<std::pair<std::string, std::string>> disabled_inbound_transitions;
  std::optional<bool> restart_execution_on_update;
};

struct TemplateResult {
  std::vector<TemplatePipeline> pipelines;  // in template order; not those whose Condition is false
  Resources resources;
  // Every problem found, with `path` in the template
  // ("Resources.Pipeline.Properties.Stages[2].Actions[0]") and its line.
  // Errors are ErrorType::kTemplateError, or kSerializationException for an
  // unknown property name; notes say what was approximated (a parameter read
  // from Systems Manager, a resource type Stageline does not manage).
  Problems problems;
};

// True when `doc` is a CloudFormation template: an object with a
// "Resources" object or an "AWSTemplateFormatVersion" member.
bool looks_like_cloudformation(const boost::json::value& doc);

// Evaluates the template in `doc` (value and lines, rooted at ""). A pipeline
// whose properties had errors is still returned with the failed values left
// out, so that validation can report everything else at once; check
// has_errors(result.problems) first. Never throws. Thread-safe (no shared
// state).
TemplateResult read_cloudformation(const LocatedJson& doc, const TemplateOptions& options = {});

}  // namespace stageline::definitions
