#include "cli/watch.h"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "base/strings.h"

namespace stageline::cli {
namespace {

namespace json = boost::json;
using api::client::ApiClient;
using api::client::kCodePipelineTargetPrefix;

std::string str(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->as_string());
  return "";
}

double number(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return 0;
}

const json::object* object(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_object()) return &v->as_object();
  return nullptr;
}

// `s` and spaces up to `width`, and always at least one space after it.
std::string pad(std::string s, size_t width) {
  s.append(s.size() < width ? width - s.size() : 1, ' ');
  return s;
}

}  // namespace

bool is_final_execution_status(const std::string& status) {
  return status == "Succeeded" || status == "Failed" || status == "Stopped" ||
         status == "Superseded" || status == "Cancelled";
}

std::string format_duration(double seconds) {
  if (seconds < 0) seconds = 0;
  char buf[64];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof buf, "%d min %d s", static_cast<int>(seconds) / 60,
                  static_cast<int>(seconds) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%d h %d min", static_cast<int>(seconds) / 3600,
                  (static_cast<int>(seconds) % 3600) / 60);
  }
  return buf;
}

WatchSnapshot read_snapshot(const std::string& execution_id, const json::object& execution,
                            const json::object& state, const json::array& details) {
  WatchSnapshot s;
  if (const json::object* e = object(execution, "pipelineExecution")) {
    s.status = str(*e, "status");
    s.status_summary = str(*e, "statusSummary");
  }
  if (auto* stages = state.if_contains("stageStates"); stages && stages->is_array()) {
    for (const auto& stage : stages->as_array()) {
      if (!stage.is_object()) continue;
      const json::object* latest = object(stage.as_object(), "latestExecution");
      if (!latest || str(*latest, "pipelineExecutionId") != execution_id) continue;
      s.stages.emplace_back(str(stage.as_object(), "stageName"), str(*latest, "status"));
    }
  }
  for (const auto& d : details) {
    if (!d.is_object()) continue;
    const json::object& o = d.as_object();
    if (str(o, "pipelineExecutionId") != execution_id) continue;
    ActionSnapshot a;
    a.action_execution_id = str(o, "actionExecutionId");
    a.stage = str(o, "stageName");
    a.action = str(o, "actionName");
    a.status = str(o, "status");
    a.start_time = number(o, "startTime");
    a.last_update = number(o, "lastUpdateTime");
    if (const json::object* output = object(o, "output"))
      if (const json::object* result = object(*output, "executionResult")) {
        a.summary = str(*result, "externalExecutionSummary");
        if (const json::object* error = object(*result, "errorDetails")) {
          std::string code = str(*error, "code");
          std::string message = str(*error, "message");
          a.error = code.empty() ? message : code + ": " + message;
        }
      }
    s.actions.push_back(std::move(a));
  }
  // ListActionExecutions answers newest first; print in the order they ran.
  std::stable_sort(
      s.actions.begin(), s.actions.end(),
      [](const ActionSnapshot& x, const ActionSnapshot& y) { return x.start_time < y.start_time; });
  return s;
}

WatchTracker::WatchTracker(std::string execution_id, std::string pipeline_name)
    : execution_id_(std::move(execution_id)), pipeline_name_(std::move(pipeline_name)) {}

std::vector<std::string> WatchTracker::update(const WatchSnapshot& snapshot) {
  std::vector<std::string> lines;
  if (finished_) return lines;
  if (status_.empty())
    lines.push_back("Execution " + execution_id_ + " of pipeline " + pipeline_name_ + ": " +
                    snapshot.status);

  // Stage lines come before the lines of their actions when a stage starts,
  // and after them when it ends, so the output reads as a nested timeline.
  auto stage_line = [&](const std::string& stage, const std::string& status) {
    std::string line = "  " + pad(stage, 24) + status;
    if (status != "InProgress" && status != "Stopping") {
      double first = 0, last = 0;
      for (const auto& a : snapshot.actions) {
        if (a.stage != stage) continue;
        if (first == 0 || a.start_time < first) first = a.start_time;
        last = std::max(last, a.last_update);
      }
      if (first > 0) line += " after " + format_duration(last - first);
    }
    return line;
  };
  std::vector<std::string> ending;
  for (const auto& [stage, status] : snapshot.stages) {
    auto& seen = stage_status_[stage];
    if (seen == status) continue;
    seen = status;
    if (status == "InProgress" || status == "Stopping")
      lines.push_back(stage_line(stage, status));
    else
      ending.push_back(stage);
  }
  for (const auto& a : snapshot.actions) {
    auto& seen = action_status_[a.action_execution_id];
    if (seen == a.status) continue;
    // A stage seen for the first time already finished: its line still
    // comes before its actions' last lines.
    seen = a.status;
    std::string line = "    " + pad(a.stage + "." + a.action, 22) + a.status;
    if (a.status != "InProgress") {
      line += " after " + format_duration(a.last_update - a.start_time);
      if (!a.error.empty())
        line += ": " + a.error;
      else if (!a.summary.empty())
        line += ": " + a.summary;
    }
    lines.push_back(line);
  }
  for (const auto& stage : ending) lines.push_back(stage_line(stage, stage_status_[stage]));

  if (!status_.empty() && status_ != snapshot.status && !is_final_execution_status(snapshot.status))
    lines.push_back("Execution " + snapshot.status);
  status_ = snapshot.status;
  if (is_final_execution_status(snapshot.status)) {
    finished_ = true;
    double first = 0, last = 0;
    for (const auto& a : snapshot.actions) {
      if (first == 0 || a.start_time < first) first = a.start_time;
      last = std::max(last, a.last_update);
    }
    std::string line = "Execution " + execution_id_ + " " + snapshot.status;
    if (first > 0) line += " after " + format_duration(last - first);
    if (!snapshot.status_summary.empty()) line += ": " + snapshot.status_summary;
    lines.push_back(line);
  }
  return lines;
}

namespace {

struct WatchArgs {
  std::string execution_id;
  std::string pipeline_name;
  api::client::LocateOptions where;
  std::chrono::milliseconds interval{200};  // when polling
  std::chrono::seconds reconnect{120};
  bool poll = false;  // --poll: no event stream
  bool help = false;
};

Result<WatchArgs> parse_watch_args(const std::vector<std::string>& args) {
  WatchArgs w;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string word = args[i];
    if (word == "--help" || word == "-h" || word == "help") {
      w.help = true;
      return w;
    }
    if (word == "--poll") {
      w.poll = true;
      continue;
    }
    if (!starts_with(word, "--")) {
      if (!w.execution_id.empty())
        return Status::invalid("one EXECUTION_ID only; got " + quote(w.execution_id) + " and " +
                               quote(word));
      w.execution_id = word;
      continue;
    }
    std::string name = word.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    }
    if (!value) return Status::invalid("argument --" + name + ": expected one argument");
    if (name == "pipeline-name") {
      w.pipeline_name = *value;
    } else if (name == "endpoint-url") {
      w.where.endpoint_url = *value;
    } else if (name == "region") {
      w.where.region = *value;
    } else if (name == "data-dir") {
      w.where.data_dir = *value;
    } else if (name == "profile") {
      w.where.profile = *value;
    } else if (name == "interval-ms") {
      int ms = std::atoi(value->c_str());
      if (ms < 10 || ms > 60000) return Status::invalid("--interval-ms must be 10..60000");
      w.interval = std::chrono::milliseconds(ms);
    } else if (name == "reconnect-s") {
      int seconds = std::atoi(value->c_str());
      if (seconds < 1 || seconds > 3600) return Status::invalid("--reconnect-s must be 1..3600");
      w.reconnect = std::chrono::seconds(seconds);
    } else {
      return Status::invalid("Unknown options: --" + name);
    }
  }
  if (w.execution_id.empty()) return Status::invalid("an EXECUTION_ID is required");
  return w;
}

// A service error as a Status, for messages.
Status reply_error(const Result<api::client::Reply>& r, std::string_view operation) {
  if (!r.ok()) return r.status();
  return Status(StatusCode::kFailedPrecondition, format_service_error(operation, *r->error));
}

std::string_view watch_usage() {
  return "usage: stageline watch EXECUTION_ID [--pipeline-name NAME] [--reconnect-s 120]\n"
         "                       [--poll] [--interval-ms 200]\n\n"
         "Follow a pipeline execution until it ends, printing stage and action transitions\n"
         "with durations. Exit 0 when it Succeeded, 1 when it ended otherwise. Without\n"
         "--pipeline-name every pipeline is searched for the execution.\n\n"
         "It follows the server's event stream (GET /events), reconnecting for up to\n"
         "--reconnect-s seconds when the stream drops (a server restart). With --poll, or\n"
         "against a server without the stream, it polls every --interval-ms instead.\n\n";
}

}  // namespace

namespace {

// The three reads that make one snapshot of the execution. Errors: the
// transport (kIo) or the service's answer (kFailedPrecondition, as the aws
// CLI words it).
Result<WatchSnapshot> take_snapshot(ApiClient& client, const std::string& pipeline,
                                    const std::string& execution_id) {
  auto send = [&](std::string_view op, const json::object& input) {
    return client.send(kCodePipelineTargetPrefix, op, input);
  };
  auto execution =
      send("GetPipelineExecution",
           json::object{{"pipelineName", pipeline}, {"pipelineExecutionId", execution_id}});
  if (!execution.ok() || execution->error) return reply_error(execution, "GetPipelineExecution");
  auto state = send("GetPipelineState", json::object{{"name", pipeline}});
  if (!state.ok() || state->error) return reply_error(state, "GetPipelineState");
  json::array details;
  json::object input{{"pipelineName", pipeline},
                     {"filter", json::object{{"pipelineExecutionId", execution_id}}}};
  for (;;) {
    auto page = send("ListActionExecutions", input);
    if (!page.ok() || page->error) return reply_error(page, "ListActionExecutions");
    if (auto* list = page->output.if_contains("actionExecutionDetails"); list && list->is_array())
      for (auto& d : list->as_array()) details.push_back(std::move(d));
    auto* next = page->output.if_contains("nextToken");
    if (!next || !next->is_string()) break;
    input["nextToken"] = *next;
  }
  return read_snapshot(execution_id, execution->output, state->output, details);
}

}  // namespace

bool event_concerns_execution(std::string_view data, const std::string& execution_id) {
  json::error_code ec;
  json::value v = json::parse(data, ec);
  // An event we cannot read might be ours: refreshing once too often is harmless.
  if (ec || !v.is_object()) return true;
  const json::object* detail = object(v.as_object(), "detail");
  if (!detail) return true;
  const json::value* id = detail->if_contains("execution-id");
  if (!id || !id->is_string()) return true;
  return id->as_string() == execution_id;
}

int run_watch(const std::vector<std::string>& args, const ClientEnvironment& env, std::ostream& out,
              std::ostream& err) {
  auto parsed = parse_watch_args(args);
  if (!parsed.ok()) {
    err << "stageline watch: error: " << parsed.status().message() << "\n" << watch_usage();
    return kExitUsage;
  }
  WatchArgs w = std::move(*parsed);
  if (w.help) {
    out << watch_usage() << connection_flags_usage();
    return kExitOk;
  }
  w.where.default_data_dir = env.default_data_dir;
  w.where.shared_credentials_file = env.shared_credentials_file;
  auto location = api::client::locate_server(w.where);
  if (!location.ok()) {
    err << "stageline watch: " << location.status().message() << "\n";
    return kExitServiceError;
  }
  auto client = ApiClient::create(std::move(*location));
  if (!client.ok()) {
    err << "stageline watch: " << client.status().message() << "\n";
    return kExitServiceError;
  }
  auto send = [&](std::string_view op, const json::object& input) {
    return client->send(kCodePipelineTargetPrefix, op, input);
  };
  auto fail = [&](const Status& s) {
    err << "stageline watch: " << s.message() << "\n";
    return kExitServiceError;
  };

  // Without a pipeline name, ask each pipeline for the execution.
  if (w.pipeline_name.empty()) {
    json::object input;
    for (;;) {
      auto page = send("ListPipelines", input);
      if (!page.ok() || page->error) return fail(reply_error(page, "ListPipelines"));
      if (auto* list = page->output.if_contains("pipelines"); list && list->is_array())
        for (const auto& p : list->as_array()) {
          if (!p.is_object() || !w.pipeline_name.empty()) continue;
          std::string name = str(p.as_object(), "name");
          auto got =
              send("GetPipelineExecution",
                   json::object{{"pipelineName", name}, {"pipelineExecutionId", w.execution_id}});
          if (got.ok() && !got->error) w.pipeline_name = name;
        }
      auto* next = page->output.if_contains("nextToken");
      if (!w.pipeline_name.empty() || !next || !next->is_string()) break;
      input["nextToken"] = *next;
    }
    if (w.pipeline_name.empty()) {
      err << "stageline watch: no pipeline has an execution " << quote(w.execution_id)
          << " (pass --pipeline-name to name it)\n";
      return kExitServiceError;
    }
  }

  WatchTracker tracker(w.execution_id, w.pipeline_name);
  // Refreshes the snapshot and prints what changed. Returns the exit code
  // once the execution has ended (or the refresh failed for good).
  auto refresh = [&]() -> Result<std::optional<int>> {
    auto snapshot = take_snapshot(*client, w.pipeline_name, w.execution_id);
    if (!snapshot.ok()) return snapshot.status();
    for (const auto& line : tracker.update(*snapshot)) out << line << "\n";
    out.flush();
    if (tracker.finished()) return std::optional<int>(tracker.succeeded() ? 0 : 1);
    return std::optional<int>();
  };
  auto poll = [&]() -> int {
    for (;;) {
      auto done = refresh();
      if (!done.ok()) return fail(done.status());
      if (*done) return **done;
      std::this_thread::sleep_for(w.interval);
    }
  };
  if (w.poll) return poll();

  // Follow the server's event stream (docs/api.md, "Live events"). Each
  // (re)connection subscribes first and reads a snapshot second, so that any
  // change the snapshot misses comes as an event afterwards; an event about
  // the execution then refreshes the snapshot (the three reads), after the
  // events already received are drained, so a burst costs one refresh. A
  // dropped stream is reopened with Last-Event-ID; while the server is away
  // (a restart), reconnection backs off from 250 ms to 5 s, for up to
  // --reconnect-s seconds since the stream was last open.
  const std::string target = "/events?pipeline=" + w.pipeline_name;
  std::string last_event_id;
  bool ever_open = false;
  for (;;) {
    auto give_up_at = std::chrono::steady_clock::now() + w.reconnect;
    auto backoff = std::chrono::milliseconds(250);
    std::optional<api::client::EventStream> stream;
    Status why;
    for (;;) {
      auto opened = client->open_event_stream(target, last_event_id);
      if (opened.ok()) {
        stream.emplace(std::move(*opened));
        break;
      }
      if (opened.status().code() == StatusCode::kFailedPrecondition) {
        // The server answered, but not with a stream: an older server.
        err << "stageline watch: the server offers no event stream (" << opened.status().message()
            << "); polling every " << w.interval.count() << " ms instead\n";
        return poll();
      }
      if (!ever_open) return fail(opened.status());
      why = opened.status();
      if (std::chrono::steady_clock::now() + backoff > give_up_at)
        return fail(Status::io("lost the server's event stream and could not reopen it within " +
                               std::to_string(w.reconnect.count()) + " s: " + why.message()));
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
    ever_open = true;

    Status dropped;
    auto done = refresh();
    if (!done.ok()) {
      if (done.status().code() != StatusCode::kIo) return fail(done.status());
      dropped = done.status();  // the server went away between the two: reconnect
    } else if (*done) {
      return **done;
    }
    while (dropped.ok()) {
      auto event = stream->next(std::chrono::seconds(60));
      if (!event.ok()) {
        dropped = event.status();
        break;
      }
      if (!event->has_value()) continue;  // only heartbeats for a minute
      bool relevant = event_concerns_execution((*event)->data, w.execution_id);
      // Drain what has already arrived before paying for a refresh.
      while (dropped.ok()) {
        auto more = stream->next(std::chrono::milliseconds(0));
        if (!more.ok()) {
          dropped = more.status();
        } else if (!more->has_value()) {
          break;
        } else {
          relevant = relevant || event_concerns_execution((*more)->data, w.execution_id);
        }
      }
      if (!relevant) continue;
      auto result = refresh();
      if (!result.ok()) {
        if (result.status().code() != StatusCode::kIo) return fail(result.status());
        dropped = result.status();
      } else if (*result) {
        return **result;
      }
    }
    last_event_id = stream->last_event_id().empty() ? last_event_id : stream->last_event_id();
    err << "stageline watch: " << dropped.message() << "; reconnecting\n";
  }
}

}  // namespace stageline::cli
