#include "definitions/problem.h"

namespace stageline::definitions {

std::string_view to_string(ErrorType t) {
  switch (t) {
    case ErrorType::kValidationException:
      return "ValidationException";
    case ErrorType::kInvalidStructureException:
      return "InvalidStructureException";
    case ErrorType::kInvalidStageDeclarationException:
      return "InvalidStageDeclarationException";
    case ErrorType::kInvalidActionDeclarationException:
      return "InvalidActionDeclarationException";
    case ErrorType::kInvalidBlockerDeclarationException:
      return "InvalidBlockerDeclarationException";
    case ErrorType::kInvalidTagsException:
      return "InvalidTagsException";
    case ErrorType::kTooManyTagsException:
      return "TooManyTagsException";
    case ErrorType::kSerializationException:
      return "SerializationException";
    case ErrorType::kTemplateError:
      return "TemplateError";
  }
  return "?";
}

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kNote:
      return "note";
  }
  return "?";
}

bool has_errors(const Problems& problems) {
  for (const auto& p : problems)
    if (p.severity == Severity::kError) return true;
  return false;
}

}  // namespace stageline::definitions
