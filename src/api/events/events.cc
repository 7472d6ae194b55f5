#include "api/events/events.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <utility>

#include "base/ids.h"
#include "model/enums.h"

namespace stageline::events {
namespace {

namespace json = boost::json;
using model::ActionExecutionStatus;
using model::PipelineExecutionStatus;
using model::StageExecutionStatus;

constexpr std::string_view kPipelineChange = "CodePipeline Pipeline Execution State Change";
constexpr std::string_view kStageChange = "CodePipeline Stage Execution State Change";
constexpr std::string_view kActionChange = "CodePipeline Action Execution State Change";

// How many executions are remembered before finished ones are forgotten.
constexpr size_t kRememberedExecutions = 1024;
// How many pipeline versions' declarations are cached.
constexpr size_t kCachedDeclarations = 64;
// Replay pages one step may send (the queue limit usually stops it first).
constexpr int kPagesPerStep = 8;

bool finished(PipelineExecutionStatus s) {
  return s != PipelineExecutionStatus::kInProgress && s != PipelineExecutionStatus::kStopping;
}

// The state of a pipeline execution's status other than InProgress.
std::string_view pipeline_state(PipelineExecutionStatus s) {
  switch (s) {
    case PipelineExecutionStatus::kInProgress:
      return "STARTED";
    case PipelineExecutionStatus::kStopping:
      return "STOPPING";
    case PipelineExecutionStatus::kStopped:
      return "STOPPED";
    case PipelineExecutionStatus::kSucceeded:
      return "SUCCEEDED";
    case PipelineExecutionStatus::kFailed:
      return "FAILED";
    case PipelineExecutionStatus::kSuperseded:
      return "SUPERSEDED";
    case PipelineExecutionStatus::kCancelled:
      return "CANCELED";
  }
  STAGELINE_CHECK(false);
  return {};
}

// Empty for Skipped: AWS has no event for it.
std::string_view stage_state(StageExecutionStatus s, int attempt) {
  switch (s) {
    case StageExecutionStatus::kInProgress:
      return attempt > 1 ? "RESUMED" : "STARTED";
    case StageExecutionStatus::kStopping:
      return "STOPPING";
    case StageExecutionStatus::kStopped:
      return "STOPPED";
    case StageExecutionStatus::kSucceeded:
      return "SUCCEEDED";
    case StageExecutionStatus::kFailed:
      return "FAILED";
    case StageExecutionStatus::kCancelled:
      return "CANCELED";
    case StageExecutionStatus::kSkipped:
      return {};
  }
  STAGELINE_CHECK(false);
  return {};
}

std::string_view action_state(ActionExecutionStatus s) {
  switch (s) {
    case ActionExecutionStatus::kInProgress:
      return "STARTED";
    case ActionExecutionStatus::kSucceeded:
      return "SUCCEEDED";
    case ActionExecutionStatus::kFailed:
      return "FAILED";
    case ActionExecutionStatus::kAbandoned:
      return "ABANDONED";
  }
  STAGELINE_CHECK(false);
  return {};
}

json::string js(std::string_view s) { return json::string(s); }

model::TimestampMs system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string iso8601(model::TimestampMs ms, bool with_ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int millis = static_cast<int>(ms - static_cast<model::TimestampMs>(seconds) * 1000);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return "1970-01-01T00:00:00Z";
  char buf[96];
  if (with_ms)
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  else
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

Result<std::unique_ptr<EventLog>> EventLog::open(store::Store& store, Options options) {
  auto last = store.last_event_seq();
  if (!last.ok()) return last.status().with_context("open the event log");
  if (!options.new_id) options.new_id = [] { return new_uuid(); };
  if (!options.now_ms) options.now_ms = system_now_ms;
  STAGELINE_CHECK(options.replay_page >= 1);
  STAGELINE_CHECK(options.max_events >= 0);
  return std::unique_ptr<EventLog>(new EventLog(store, std::move(options), *last));
}

EventLog::EventLog(store::Store& store, Options options, int64_t last_seq)
    : store_(store), options_(std::move(options)), last_seq_(last_seq) {}

// ---- Changes to events -----------------------------------------------------------

void EventLog::execution_changed(const model::PipelineExecutionRecord& e) {
  ExecutionInfo& known = executions_[e.id];
  known.pipeline_name = e.pipeline_name;
  known.pipeline_version = e.pipeline_version;
  const std::optional<PipelineExecutionStatus> previous = known.status;
  if (previous == e.status) return;  // a new summary, not a new state
  known.status = e.status;

  std::string_view state = pipeline_state(e.status);
  if (e.status == PipelineExecutionStatus::kInProgress) {
    if (previous.has_value()) {
      state = "RESUMED";  // a failed or stopped execution retried
    } else {
      // Not seen before: a new execution, or one a retry brought back
      // after this process forgot it (a stage on its second attempt).
      auto stages = store_.list_stage_executions(e.id);
      if (!stages.ok()) {
        last_error_ = stages.status().with_context("publish the state of execution " + e.id);
      } else if (std::any_of(stages->begin(), stages->end(),
                             [](const model::StageExecutionRecord& s) { return s.attempt > 1; })) {
        state = "RESUMED";
      }
    }
  }

  json::object detail;
  detail["pipeline"] = js(e.pipeline_name);
  detail["execution-id"] = js(e.id);
  detail["start-time"] = js(iso8601(e.created_ms, true));
  if (state == "STARTED")
    detail["execution-trigger"] =
        json::object{{"trigger-type", js(model::to_string(e.trigger_type))},
                     {"trigger-detail", js(e.trigger_detail)}};
  if (e.status == PipelineExecutionStatus::kStopping && !e.stop_reason.empty())
    detail["stop-execution-comments"] = js(e.stop_reason);
  detail["state"] = js(state);
  detail["version"] = e.pipeline_version;
  publish(e.pipeline_name, e.updated_ms, kPipelineChange, std::move(detail));
  if (finished(e.status)) forget_finished();
}

void EventLog::stage_changed(const model::StageExecutionRecord& s) {
  ExecutionInfo* known = info(s.execution_id);
  if (known == nullptr) return;
  auto [it, inserted] = known->stages.try_emplace(s.stage_name, s.status, s.attempt);
  if (!inserted) {
    if (it->second == std::pair(s.status, s.attempt)) return;
    it->second = {s.status, s.attempt};
  }
  const std::string_view state = stage_state(s.status, s.attempt);
  if (state.empty()) return;
  json::object detail;
  detail["pipeline"] = js(known->pipeline_name);
  detail["execution-id"] = js(s.execution_id);
  detail["stage"] = js(s.stage_name);
  detail["state"] = js(state);
  detail["version"] = known->pipeline_version;
  publish(known->pipeline_name, s.updated_ms, kStageChange, std::move(detail));
}

void EventLog::action_changed(const model::ActionExecutionRecord& a) {
  ExecutionInfo* known = info(a.execution_id);
  if (known == nullptr) return;
  auto [it, inserted] = known->actions.try_emplace(a.id, a.status);
  if (!inserted) {
    if (it->second == a.status) return;
    it->second = a.status;
  }
  const std::string pipeline = known->pipeline_name;
  const int version = known->pipeline_version;
  const model::ActionDeclaration* declared =
      action_declaration(pipeline, version, a.stage_name, a.action_name);

  json::object detail;
  detail["pipeline"] = js(pipeline);
  detail["execution-id"] = js(a.execution_id);
  detail["stage"] = js(a.stage_name);
  detail["action"] = js(a.action_name);
  detail["state"] = js(action_state(a.status));
  detail["region"] =
      js(declared != nullptr && declared->region ? *declared->region : options_.region);
  if (declared != nullptr) {
    const model::ActionTypeId& t = declared->action_type_id;
    detail["type"] = json::object{{"owner", js(model::to_string(t.owner))},
                                  {"category", js(model::to_string(t.category))},
                                  {"provider", js(t.provider)},
                                  {"version", js(t.version)}};
  }
  if (a.status == ActionExecutionStatus::kSucceeded || a.status == ActionExecutionStatus::kFailed) {
    json::object result;
    if (!a.external_execution_url.empty())
      result["external-execution-url"] = js(a.external_execution_url);
    if (!a.summary.empty()) result["external-execution-summary"] = js(a.summary);
    if (!a.external_execution_id.empty())
      result["external-execution-id"] = js(a.external_execution_id);
    if (a.status == ActionExecutionStatus::kFailed && !a.error_code.empty())
      result["error-code"] = js(a.error_code);
    detail["execution-result"] = std::move(result);
  }
  detail["version"] = version;
  publish(pipeline, a.updated_ms, kActionChange, std::move(detail));
}

EventLog::ExecutionInfo* EventLog::info(const std::string& execution_id) {
  auto it = executions_.find(execution_id);
  if (it != executions_.end()) return &it->second;
  auto stored = store_.get_pipeline_execution(execution_id);
  if (!stored.ok()) {
    last_error_ = stored.status().with_context("publish a change of execution " + execution_id);
    return nullptr;
  }
  // Its status stays unknown, so that the execution's own change (which may
  // come after its stages' in one commit) still makes its event.
  ExecutionInfo& known = executions_[execution_id];
  known.pipeline_name = stored->pipeline_name;
  known.pipeline_version = stored->pipeline_version;
  return &known;
}

const model::ActionDeclaration* EventLog::action_declaration(const std::string& pipeline,
                                                             int version, const std::string& stage,
                                                             const std::string& action) {
  const auto key = std::pair(pipeline, version);
  auto it = declarations_.find(key);
  if (it == declarations_.end()) {
    auto stored = store_.get_pipeline_version(pipeline, version);
    if (!stored.ok()) return nullptr;  // a deleted pipeline: the event has no type
    if (declarations_.size() >= kCachedDeclarations) declarations_.clear();
    it = declarations_.emplace(key, std::move(stored->declaration)).first;
  }
  for (const auto& s : it->second.stages) {
    if (s.name != stage) continue;
    for (const auto& a : s.actions)
      if (a.name == action) return &a;
  }
  return nullptr;
}

void EventLog::forget_finished() {
  if (executions_.size() <= kRememberedExecutions) return;
  std::erase_if(executions_, [](const auto& entry) {
    return entry.second.status.has_value() && finished(*entry.second.status);
  });
}

// ---- Log and fan-out ---------------------------------------------------------------

void EventLog::publish(const std::string& pipeline_name, model::TimestampMs time_ms,
                       std::string_view detail_type, json::object detail) {
  json::object event;
  event["version"] = "0";
  event["id"] = js(options_.new_id());
  event["detail-type"] = js(detail_type);
  event["source"] = "aws.codepipeline";
  event["account"] = js(options_.account_id);
  event["time"] = js(iso8601(time_ms, false));
  event["region"] = js(options_.region);
  event["resources"] = json::array{js("arn:aws:codepipeline:" + options_.region + ":" +
                                      options_.account_id + ":" + pipeline_name)};
  event["detail"] = std::move(detail);
  std::string text = json::serialize(event);

  auto seq = store_.append_event(store::EventRecord{0, time_ms, pipeline_name, text});
  if (!seq.ok()) {
    last_error_ = seq.status().with_context("log a " + std::string(detail_type) + " event");
    return;
  }
  last_seq_ = *seq;

  for (Subscription& s : subscribers_) {
    if (!s.live) {
      // Reads this event from the store in its turn.
      auto stepped = step(s);
      if (!stepped.ok()) last_error_ = stepped.status();
      if (!stepped.ok() || !*stepped) s.subscriber.reset();
      continue;
    }
    if (!s.filter.pipeline_name.empty() && s.filter.pipeline_name != pipeline_name) {
      s.cursor = last_seq_;
      continue;
    }
    if (s.subscriber->closed() || !s.subscriber->send(last_seq_, detail_type, text))
      s.subscriber.reset();  // gone, or cannot keep up
    else
      s.cursor = last_seq_;
  }
  std::erase_if(subscribers_, [](const Subscription& s) { return s.subscriber == nullptr; });

  if (++appends_since_prune_ >= options_.prune_every) {
    appends_since_prune_ = 0;
    auto pruned = prune();
    if (!pruned.ok()) last_error_ = pruned.status();
  }
}

Result<bool> EventLog::step(Subscription& s) {
  for (int page = 0; page < kPagesPerStep; ++page) {
    if (s.subscriber->closed()) return false;
    if (s.subscriber->queued_bytes() >= options_.replay_queue_limit) return true;
    auto events = store_.read_events(s.cursor, s.filter.pipeline_name, options_.replay_page);
    if (!events.ok())
      return events.status().with_context("replay the event log after seq " +
                                          std::to_string(s.cursor));
    for (const store::EventRecord& e : *events) {
      // The detail-type is the event's SSE name; read it back from the JSON.
      std::string name;
      boost::system::error_code ec;
      json::value parsed = json::parse(e.json, ec);
      if (!ec && parsed.is_object()) {
        const json::value* type = parsed.as_object().if_contains("detail-type");
        if (type != nullptr && type->is_string()) name = type->as_string();
      }
      if (!s.subscriber->send(e.seq, name, e.json)) return false;
      s.cursor = e.seq;
    }
    if (static_cast<int>(events->size()) < options_.replay_page) {
      // Caught up: every event up to last_seq_ is in the store (this thread
      // logs them), and those the filter skipped need not be read again.
      s.cursor = last_seq_;
      s.live = true;
      return true;
    }
  }
  return true;
}

Status EventLog::subscribe(std::shared_ptr<Subscriber> subscriber, std::optional<int64_t> after_seq,
                           Filter filter) {
  STAGELINE_CHECK(subscriber != nullptr);
  Subscription s{std::move(subscriber), std::move(filter), last_seq_, after_seq == std::nullopt};
  if (after_seq) s.cursor = std::clamp<int64_t>(*after_seq, 0, last_seq_);
  if (!s.live) {
    auto stepped = step(s);
    if (!stepped.ok()) return stepped.status().with_context("subscribe to events");
    if (!*stepped) return {};  // closed already
  }
  subscribers_.push_back(std::move(s));
  return {};
}

Status EventLog::pump() {
  Status first;
  for (Subscription& s : subscribers_) {
    if (s.subscriber->closed()) {
      s.subscriber.reset();
      continue;
    }
    if (s.live) continue;
    auto stepped = step(s);
    if (!stepped.ok() && first.ok()) first = stepped.status();
    if (!stepped.ok() || !*stepped) s.subscriber.reset();
  }
  std::erase_if(subscribers_, [](const Subscription& s) { return s.subscriber == nullptr; });
  return first;
}

Result<int64_t> EventLog::prune() {
  const model::TimestampMs cutoff = options_.now_ms() - options_.max_age.count();
  auto pruned = store_.prune_events(cutoff, options_.max_events);
  if (!pruned.ok()) return pruned.status().with_context("prune the event log");
  return pruned;
}

}  // namespace stageline::events
