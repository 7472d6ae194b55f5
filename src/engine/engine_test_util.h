// Helpers shared by the Engine tests (engine_test.cc, approvals_test.cc): a
// runner that records what the engine starts (the test plays the job
// runner), and action declarations.
#pragma once

#include <string>
#include <vector>

#include "engine/engine.h"

namespace stageline::engine::testing_util {

class RecordingRunner : public ActionRunner {
 public:
  void start(const ActionStart& s) override { started.push_back(s); }
  std::vector<ActionStart> started;
};

// An AWS-owned action of `category` and `provider` with these input and
// output artifacts.
inline model::ActionDeclaration declare(std::string name, model::ActionCategory category,
                                        std::string provider, std::vector<std::string> ins,
                                        std::vector<std::string> outs, int run_order = 1) {
  model::ActionDeclaration a;
  a.name = std::move(name);
  a.action_type_id = {category, model::ActionOwner::kAws, std::move(provider), "1"};
  a.run_order = run_order;
  if (!ins.empty()) {
    a.input_artifacts.emplace();
    for (auto& n : ins) a.input_artifacts->push_back({n});
  }
  if (!outs.empty()) {
    a.output_artifacts.emplace();
    for (auto& n : outs) a.output_artifacts->push_back({n, std::nullopt});
  }
  return a;
}

}  // namespace stageline::engine::testing_util
