// server/push_triggers: starts the pipelines a git push is for. Every
// pipeline's current version is matched against the push (triggers module);
// each source action it is for gets an execution whose source revision for
// that action is the pushed commit (a COMMIT_ID sourceRevisions entry), with
// the trigger type and detail of reference §5.2. Runs on the control thread
// (it uses the engine). Depends on triggers, engine and store.
#pragma once

#include <string>
#include <vector>

#include "engine/engine.h"
#include "store/store.h"
#include "triggers/triggers.h"

namespace stageline::server {

struct PushStart {
  std::string pipeline;
  std::string action;
  std::string execution_id;  // empty when the start failed
  std::string error;         // why it failed (e.g. the concurrency limit), else ""
};

// One entry per (pipeline, source action) the push is for, in pipeline name
// order. A pipeline that cannot start (too many executions, a required
// variable without default) gets its error and the others still start. An
// error Status only when the store cannot be read.
Result<std::vector<PushStart>> start_for_push(engine::Engine& engine, store::Store& store,
                                              const triggers::PushEvent& push);

}  // namespace stageline::server
