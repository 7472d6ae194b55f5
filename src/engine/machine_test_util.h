// Helpers shared by the PipelineMachine tests (machine_test.cc,
// conditions_test.cc): unwrap a machine answer that must succeed or fail.
#pragma once

#include <gtest/gtest.h>

#include <variant>

#include "engine/machine.h"

namespace stageline::engine::testing_util {

// The effects of an answer that must not be a failure.
inline Effects ok(std::variant<Effects, MachineFailure> r) {
  if (auto* f = std::get_if<MachineFailure>(&r)) {
    ADD_FAILURE() << to_string(f->error) << ": " << f->message;
    return {};
  }
  return std::get<Effects>(r);
}

// The error of an answer that must be a failure.
inline MachineError err(std::variant<Effects, MachineFailure> r) {
  EXPECT_TRUE(std::holds_alternative<MachineFailure>(r));
  return std::holds_alternative<MachineFailure>(r) ? std::get<MachineFailure>(r).error
                                                   : MachineError::kStageNotFound;
}

}  // namespace stageline::engine::testing_util
