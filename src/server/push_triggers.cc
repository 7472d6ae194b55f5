#include "server/push_triggers.h"

namespace stageline::server {

Result<std::vector<PushStart>> start_for_push(engine::Engine& engine, store::Store& store,
                                              const triggers::PushEvent& push) {
  std::vector<PushStart> starts;
  std::string after;
  do {
    auto page = store.list_pipelines(100, after);
    if (!page.ok()) return page.status().with_context("match a push to pipelines");
    for (const auto& record : page->items) {
      auto matched = triggers::match_push(record.declaration, push);
      if (!matched.ok()) {
        starts.push_back({record.declaration.name, "", "", matched.status().message()});
        continue;
      }
      for (const auto& m : *matched) {
        engine::SourceRevisionOverride revision{m.action_name, "COMMIT_ID", m.commit_id};
        auto id = engine.start_execution(record.declaration.name, {}, m.trigger, m.trigger_detail,
                                         "", {revision});
        PushStart s{record.declaration.name, m.action_name, "", ""};
        if (id.ok())
          s.execution_id = *id;
        else
          s.error = engine::api_error(id.status()).message;
        starts.push_back(std::move(s));
      }
    }
    after = page->next_key;
  } while (!after.empty());
  return starts;
}

}  // namespace stageline::server
