#include "api/wire/embedded.h"

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace stageline::wire {

namespace generated {
// Defined in the embedded_models.cc CMake generates.
std::span<const EmbeddedModel> models();
}  // namespace generated

std::span<const EmbeddedModel> embedded_models() { return generated::models(); }

const EmbeddedModel* find_embedded_model(std::string_view service) {
  for (const EmbeddedModel& m : embedded_models()) {
    if (m.service == service) return &m;
  }
  return nullptr;
}

namespace {

ServiceModel load(std::string_view service) {
  const EmbeddedModel* embedded = find_embedded_model(service);
  STAGELINE_CHECK(embedded != nullptr);
  Result<ServiceModel> model = ServiceModel::parse(embedded->json);
  if (!model.ok()) {
    std::fprintf(stderr, "embedded model %s: %s\n", std::string(service).c_str(),
                 model.status().message().c_str());
  }
  STAGELINE_CHECK(model.ok());
  if (service == "codepipeline") {
    // AWS prints "Value at '...configuration'" for configuration maps
    // (aws-cdk#19767): action configuration may hold secrets.
    model->mark_sensitive("ActionConfigurationMap");
  }
  return std::move(model).value();
}

}  // namespace

const ServiceModel& embedded_service_model(std::string_view service) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<ServiceModel>, std::less<>> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(service);
  if (it == cache.end()) {
    it = cache.emplace(std::string(service), std::make_unique<ServiceModel>(load(service))).first;
  }
  return *it->second;
}

const ServiceModel& codepipeline_model() {
  static const ServiceModel& model = embedded_service_model("codepipeline");
  return model;
}

}  // namespace stageline::wire
