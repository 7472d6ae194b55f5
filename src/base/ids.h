// base/ids: identifiers the way CodePipeline makes them.
#pragma once

#include <string>

namespace stageline {

// A random (version 4) UUID in lower case, e.g. 4f2a6c1e-...; CodePipeline's
// execution, action execution and job ids, and approval tokens, have this shape.
std::string new_uuid();

}  // namespace stageline
