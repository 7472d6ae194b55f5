// definitions: read pipeline definitions from the API's JSON (a bare
// declaration, the --cli-input-json form {"pipeline", "tags"}, or the output
// of get-pipeline), and from CloudFormation templates in YAML or JSON; then
// decode them into the model and validate them, collecting every problem
// with its path and source line. The format is detected from the content.
// Depends on base and model. No I/O: callers pass the text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "definitions/cloudformation.h"
#include "definitions/problem.h"
#include "definitions/source_map.h"
#include "definitions/validation.h"
#include "model/pipeline.h"

namespace stageline::definitions {

enum class Format {
  kUnknown,
  kDeclarationJson,    // {"name": ..., "stages": ...}
  kCliInputJson,       // {"pipeline": {...}, "tags": [...]}
  kGetPipelineOutput,  // {"pipeline": {...}, "metadata": {...}}
  kDeclarationYaml,    // the same shapes as YAML
  kCloudFormationJson,
  kCloudFormationYaml,
};
std::string_view to_string(Format f);

struct ReadOptions {
  TemplateOptions template_options;
  ValidateOptions validate;
};

// One pipeline found in a document.
struct PipelineDefinition {
  std::string origin;  // "pipeline", or the template's logical id
  model::PipelineDeclaration declaration;
  std::vector<model::Tag> tags;
  // Lines keyed by paths relative to the declaration (stages[0].name).
  SourceMap lines;
};

struct Document {
  Format format = Format::kUnknown;
  bool readable = false;  // false: syntax error, empty or unsupported document
  std::vector<PipelineDefinition> pipelines;
  Resources resources;  // other resources of a template
  // Every problem of every pipeline; a problem of a template pipeline has its
  // path prefixed with the logical id ("Pipeline: stages[0].name" is printed
  // from `origin`), see Problem::path and DocumentProblem::origin.
  struct Located {
    std::string origin;  // "" for the document, else the pipeline's origin
    Problem problem;
  };
  std::vector<Located> problems;

  bool valid() const;
};

// Reads, decodes and validates. Never throws; every failure is a problem.
Document read_definition(std::string_view text, const ReadOptions& options = {});

}  // namespace stageline::definitions
