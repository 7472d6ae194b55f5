// definitions/problem: one thing wrong (or worth knowing) about a definition,
// with where it is, which AWS exception it maps to, and how to fix it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stageline::definitions {

enum class Severity { kError, kWarning, kNote };

// The AWS error type a problem maps to. CreatePipeline/UpdatePipeline return
// the first error's type; `stageline validate` prints each.
enum class ErrorType {
  kValidationException,  // a shape constraint: length, pattern, enum, required
  kInvalidStructureException,
  kInvalidStageDeclarationException,
  kInvalidActionDeclarationException,
  kInvalidBlockerDeclarationException,
  kInvalidTagsException,
  kTooManyTagsException,
  kSerializationException,  // wrong JSON type, unknown member, unreadable input
  kTemplateError,           // a CloudFormation template that cannot be evaluated
};

std::string_view to_string(ErrorType t);
std::string_view to_string(Severity s);

struct Problem {
  Severity severity = Severity::kError;
  ErrorType type = ErrorType::kValidationException;
  std::string rule;     // stable id of the rule that found it, e.g. "artifact.input-not-produced"
  std::string path;     // e.g. stages[1].actions[0].inputArtifacts[0].name ("" = whole document)
  std::string message;  // in AWS's style where the reference gives it
  std::string fix;      // what to change, or ""
  int line = 0;         // 1-based line in the source file, 0 when unknown
};

using Problems = std::vector<Problem>;

bool has_errors(const Problems& problems);

}  // namespace stageline::definitions
