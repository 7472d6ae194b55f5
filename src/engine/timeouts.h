// engine/timeouts: how long an action may run before it fails, by provider,
// as CodePipeline's quotas say (reference §15).
#pragma once

#include <chrono>

#include "model/pipeline.h"

namespace stageline::engine {

// The action's own timeoutInMinutes where the API allows one (manual
// approvals), else the provider's fixed or default limit.
std::chrono::minutes action_timeout(const model::ActionDeclaration& action);

}  // namespace stageline::engine
