// api/events: CodePipeline's state-change events (reference section 14),
// kept in an event log and streamed live to subscribers (the console and
// `stageline watch`, over server-sent events).
//
// Depends on engine (for the EngineEvents interface only), store, model, base
// and Boost.JSON. Not on http: a Subscriber is this module's own interface,
// which the server adapts to http::EventStream.
//
// ---- The event format ------------------------------------------------------
//
// Each event is one EventBridge-shaped JSON object, members in this order:
//
//   {"version":"0","id":"<uuid>",
//    "detail-type":"CodePipeline Pipeline Execution State Change",
//    "source":"aws.codepipeline","account":"111122223333",
//    "time":"2024-05-01T10:00:00Z","region":"us-east-1",
//    "resources":["arn:aws:codepipeline:us-east-1:111122223333:app"],
//    "detail":{...}}
//
// `time` is the change's time (the record's updated_ms) to the second, UTC.
// detail-type and detail by level (keys are kebab-case, as AWS's):
//
//   "CodePipeline Pipeline Execution State Change"
//     pipeline, execution-id, start-time (ISO-8601 UTC with milliseconds),
//     execution-trigger {trigger-type, trigger-detail} (on STARTED only),
//     stop-execution-comments (on STOPPING, when a reason was given), state,
//     version (the pipeline version the execution runs, a JSON number)
//     state: STARTED STOPPING STOPPED SUCCEEDED FAILED SUPERSEDED CANCELED
//            RESUMED
//   "CodePipeline Stage Execution State Change"
//     pipeline, execution-id, stage, state, version
//     state: STARTED STOPPING STOPPED SUCCEEDED FAILED CANCELED RESUMED
//   "CodePipeline Action Execution State Change"
//     pipeline, execution-id, stage, action, state, region,
//     type {owner, category, provider, version}, version,
//     execution-result {external-execution-url, external-execution-summary,
//     external-execution-id, error-code} (on SUCCEEDED and FAILED)
//     state: STARTED SUCCEEDED FAILED ABANDONED
//
// Mapping from the API's statuses: InProgress -> STARTED, or RESUMED when a
// retry (RetryStageExecution) brings a stage (attempt > 1) or a failed or
// stopped execution back; Stopping -> STOPPING, Stopped -> STOPPED,
// Succeeded -> SUCCEEDED, Failed -> FAILED, Superseded -> SUPERSEDED,
// Cancelled -> CANCELED, Abandoned -> ABANDONED. A change that leaves the
// status as it was (a new status summary) makes no event. A Skipped stage,
// condition and rule changes make none either (AWS has no such events).
// Not emitted (yet): pipeline-execution-attempt, input-artifacts and
// output-artifacts. Delivery is at-least-once: after a restart, an execution
// the engine continues may be announced STARTED again.
//
// ---- The event log -----------------------------------------------------------
//
// Every event is appended to the store's event log (table events,
// docs/store-schema.md) and gets a seq: 1, 2, 3, ..., never reused, across
// restarts. The log is bounded: every Options::prune_every appends, events
// older than Options::max_age and the oldest beyond Options::max_events are
// deleted (defaults: 7 days, 100,000 events).
//
// ---- The server-sent-event protocol (GET /events) ----------------------------
//
// One SSE event per logged event: `id:` is its seq, `event:` its detail-type,
// `data:` the JSON above on one line. `?pipeline=<name>` limits the stream to
// one pipeline. To resume, the client sends the last id it saw in the
// `Last-Event-ID` header (browsers' EventSource do so when they reconnect) or
// as `?after=<seq>`; the stream then replays every logged event after it, in
// order, and goes on with live ones, without a gap or a duplicate between the
// two. Without either, only events from now on are sent; `?after=0` replays
// the whole log. Events pruned from the log are not replayed. A client that
// does not read fast enough is cut off (the stream closes) and resumes with
// Last-Event-ID.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"
#include "model/execution.h"
#include "model/pipeline.h"
#include "store/store.h"

namespace boost::json {
class object;
}

namespace stageline::events {

// Where events go: one client's stream (the server adapts http::EventStream).
// Owned by a shared_ptr the EventLog keeps until the subscriber closes or
// falls behind. Called on the control thread only.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Queues one event: `id` is its seq, `event_name` its detail-type, `json`
  // the event. Returns false if it cannot take it (closed, or its queue is
  // full); the EventLog then drops the subscriber.
  virtual bool send(int64_t id, std::string_view event_name, std::string_view json) = 0;
  // True once the client went away; never becomes false again.
  virtual bool closed() const = 0;
  // Bytes queued and not yet written. A replay sends only while this is
  // below Options::replay_queue_limit, so it never overflows the queue.
  virtual size_t queued_bytes() const = 0;
};

// Which events a subscriber gets.
struct Filter {
  std::string pipeline_name;  // empty: every pipeline's
};

// The event log: an EngineEvents that turns each committed change into
// events, appends them to the store and sends them to subscribers.
//
// Thread safety: none. Every member, the EngineEvents callbacks included, is
// called on the server's control thread. Owned by the composition root; it
// must outlive the Engine that calls it. Store errors cannot be returned
// from the EngineEvents callbacks: the event is then neither logged nor sent,
// and last_error() tells why.
class EventLog final : public engine::EngineEvents {
 public:
  struct Options {
    std::string account_id = "111122223333";
    std::string region = "us-east-1";
    // Event ids; lower-case UUIDs. Empty: new_uuid().
    std::function<std::string()> new_id;
    // The clock pruning measures age against. Empty: the system clock.
    std::function<model::TimestampMs()> now_ms;
    std::chrono::milliseconds max_age = std::chrono::hours(24 * 7);
    int64_t max_events = 100000;
    int prune_every = 1000;  // appends between two prunes
    // Events read from the store per replay step.
    int replay_page = 100;
    // A replay step stops once the subscriber has this much queued.
    size_t replay_queue_limit = 256 * 1024;
  };

  // Reads the last seq from `store`. Errors: the store's (kIo).
  static Result<std::unique_ptr<EventLog>> open(store::Store& store, Options options);

  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // engine::EngineEvents
  void execution_changed(const model::PipelineExecutionRecord& execution) override;
  void stage_changed(const model::StageExecutionRecord& stage) override;
  void action_changed(const model::ActionExecutionRecord& action) override;

  // Adds a subscriber. With `after_seq`, it first gets every logged event
  // with a greater seq (that `filter` passes), in order, then live ones;
  // without, live ones only. The replay goes one page per step: the first
  // step runs here, the next ones in pump() and after each new event, each
  // only while the subscriber has room; live events reach it once it has
  // caught up. Errors: a store read failure (kIo); nothing is added then.
  Status subscribe(std::shared_ptr<Subscriber> subscriber, std::optional<int64_t> after_seq,
                   Filter filter);

  // Advances every replay by one step and drops closed subscribers. The
  // server calls it every few hundred milliseconds (a replay waiting for its
  // client to drain has no other event to wake it). Errors: the first store
  // read that failed; that subscriber is dropped (it resumes by reconnecting).
  Status pump();

  // Deletes events older than max_age and the oldest beyond max_events now.
  // Returns how many it deleted. Errors: the store's.
  Result<int64_t> prune();

  // The seq of the last event logged (0 before any).
  int64_t last_seq() const { return last_seq_; }
  // Subscribers still attached.
  size_t subscriber_count() const { return subscribers_.size(); }
  // The last store error met in an EngineEvents callback; ok if none.
  const Status& last_error() const { return last_error_; }

 private:
  struct Subscription {
    std::shared_ptr<Subscriber> subscriber;
    Filter filter;
    int64_t cursor = 0;  // the last seq it was given (or skipped by filter)
    bool live = false;   // caught up: gets events as they are logged
  };
  // What is remembered of an execution, to name its pipeline and tell a
  // status change from a repeat.
  struct ExecutionInfo {
    std::string pipeline_name;
    int pipeline_version = 1;
    std::optional<model::PipelineExecutionStatus> status;
    std::map<std::string, std::pair<model::StageExecutionStatus, int>> stages;  // by name
    std::map<std::string, model::ActionExecutionStatus> actions;                // by id
  };

  EventLog(store::Store& store, Options options, int64_t last_seq);

  // The info of `execution_id`, loaded from the store when not remembered;
  // nullptr (and last_error_ set) if the store does not know it.
  ExecutionInfo* info(const std::string& execution_id);
  // The declaration of an action in a pipeline version (cached); nullptr if
  // the version or the action is gone.
  const model::ActionDeclaration* action_declaration(const std::string& pipeline, int version,
                                                     const std::string& stage,
                                                     const std::string& action);
  // Logs one event and sends it to live subscribers.
  void publish(const std::string& pipeline_name, model::TimestampMs time_ms,
               std::string_view detail_type, boost::json::object detail);
  // One replay step of `s`; false if it must be dropped.
  Result<bool> step(Subscription& s);
  // Forgets finished executions once many are remembered.
  void forget_finished();

  store::Store& store_;
  Options options_;
  int64_t last_seq_ = 0;
  int appends_since_prune_ = 0;
  Status last_error_;
  std::vector<Subscription> subscribers_;
  std::map<std::string, ExecutionInfo> executions_;
  std::map<std::pair<std::string, int>, model::PipelineDeclaration> declarations_;
};

// The ISO-8601 UTC forms of a time: "2024-05-01T10:00:00Z" (`with_ms`
// false, an event's time) or "2024-05-01T10:00:00.208Z" (start-time).
std::string iso8601(model::TimestampMs ms, bool with_ms);

}  // namespace stageline::events
