// engine/variables: resolves #{Namespace.Variable} references in an action's
// configuration, commands and environment just before it starts (reference
// §9). Pure: the caller gathers what is visible.
#pragma once

#include <map>
#include <string>

#include "base/status.h"

namespace stageline::engine {

// namespace -> (variable -> value). "codepipeline" and "variables" are
// namespaces like the others here.
using VisibleVariables = std::map<std::string, std::map<std::string, std::string>>;

// Replaces every #{ns.key} in `text`. Fails naming the first reference that
// cannot be resolved: "variable #{Build.VERSION} is not set: namespace Build
// has no variable VERSION (it has: IMAGE)".
Result<std::string> resolve_variables(const std::string& text, const VisibleVariables& visible);

}  // namespace stageline::engine
