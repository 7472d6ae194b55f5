// api/wire/embedded: the botocore models compiled into the binary (listed in
// CMakeLists.txt, one stageline_wire_model line each; models/README.md says
// where each comes from). No python or botocore at build or run time.
#pragma once

#include <span>
#include <string_view>

#include "api/wire/model.h"

namespace stageline::wire {

struct EmbeddedModel {
  std::string_view service;      // botocore's directory name: "codepipeline"
  std::string_view api_version;  // "2015-07-09"
  std::string_view json;         // the service-2.json text
};

std::span<const EmbeddedModel> embedded_models();
const EmbeddedModel* find_embedded_model(std::string_view service);

// The embedded model of `service`, parsed on first use (thread-safe) and
// kept for the life of the process. REQUIRES: `service` is embedded; an
// embedded model that fails to parse is a build bug (CHECK).
const ServiceModel& embedded_service_model(std::string_view service);

// CodePipeline 2015-07-09, with the shapes AWS redacts in validation
// messages marked sensitive (ActionConfigurationMap: see wire.h).
const ServiceModel& codepipeline_model();

}  // namespace stageline::wire
