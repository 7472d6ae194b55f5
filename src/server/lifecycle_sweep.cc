#include "server/lifecycle_sweep.h"

#include <boost/json.hpp>
#include <charconv>
#include <map>
#include <set>
#include <tuple>

namespace stageline::server {

namespace {

// How many executions of a pipeline are looked at, newest first, to find the
// two latest successful executions of each of its stages.
constexpr int kExecutionsScanned = 200;

using Protected = std::set<std::tuple<std::string, std::string, std::string>>;

Status protect_execution(store::StoreReader& store, const std::string& execution_id,
                         Protected& keep) {
  auto artifacts = store.list_artifacts(execution_id);
  if (!artifacts.ok()) return artifacts.status();
  for (const auto& a : *artifacts)
    keep.emplace(a.location.bucket, a.location.key, a.location.version_id);
  return Status();
}

Result<Protected> needed_artifacts(store::StoreReader& store) {
  Protected keep;
  auto running = store.list_pipeline_executions_by_status(
      {model::PipelineExecutionStatus::kInProgress, model::PipelineExecutionStatus::kStopping});
  if (!running.ok()) return running.status();
  for (const auto& e : *running)
    if (Status s = protect_execution(store, e.id, keep); !s.ok()) return s;

  std::string after;
  do {
    auto page = store.list_pipelines(100, after);
    if (!page.ok()) return page.status();
    for (const auto& pipeline : page->items) {
      const std::string& name = pipeline.declaration.name;
      std::map<std::string, int> successes;  // stage -> successful executions seen
      std::string exec_after;
      int scanned = 0;
      do {
        auto execs = store.list_pipeline_executions(name, 50, exec_after);
        if (!execs.ok()) return execs.status();
        for (const auto& e : execs->items) {
          auto stages = store.list_stage_executions(e.id);
          if (!stages.ok()) return stages.status();
          bool needed = false;
          for (const auto& st : *stages) {
            if (st.status != model::StageExecutionStatus::kSucceeded) continue;
            if (successes[st.stage_name]++ < 2) needed = true;
          }
          if (needed)
            if (Status s = protect_execution(store, e.id, keep); !s.ok()) return s;
        }
        scanned += static_cast<int>(execs->items.size());
        exec_after = execs->next_key;
      } while (!exec_after.empty() && scanned < kExecutionsScanned);
    }
    after = page->next_key;
  } while (!after.empty());
  return keep;
}

}  // namespace

Result<SweepReport> sweep_lifecycle(store::StoreReader& store, artifacts::ObjectStore& objects,
                                    std::chrono::system_clock::time_point now, bool dry_run) {
  SweepReport report;
  auto buckets = objects.list_buckets();
  if (!buckets.ok()) return buckets.status();
  std::optional<Protected> keep;  // read once, when a bucket has rules
  for (const auto& bucket : *buckets) {
    auto config = objects.get_bucket_config(bucket.name, "lifecycle");
    if (!config.ok()) return config.status();
    if (!config->has_value() || (*config)->empty()) continue;
    report.buckets.push_back(bucket.name);
    auto rules = api::s3::parse_lifecycle(**config);
    if (!rules.ok()) {
      report.lifecycle.notes.push_back("bucket " + bucket.name +
                                       ": lifecycle not applied: " + rules.status().message());
      continue;
    }
    if (!keep) {
      auto needed = needed_artifacts(store);
      if (!needed.ok()) return needed.status().with_context("find the artifacts pipelines need");
      keep = std::move(*needed);
    }
    auto applied = api::s3::apply_lifecycle(
        objects, bucket.name, *rules, now,
        [&keep](std::string_view b, std::string_view k, std::string_view v) {
          return keep->count({std::string(b), std::string(k), std::string(v)}) > 0;
        },
        dry_run);
    if (!applied.ok()) return applied.status().with_context("bucket " + bucket.name);
    auto append = [](std::vector<std::string>& to, std::vector<std::string>& from) {
      to.insert(to.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
    };
    append(report.lifecycle.removed, applied->removed);
    append(report.lifecycle.kept, applied->kept);
    append(report.lifecycle.notes, applied->notes);
  }
  return report;
}

std::string sweep_report_json(const SweepReport& report, bool dry_run) {
  auto array = [](const std::vector<std::string>& lines) {
    boost::json::array a;
    for (const auto& l : lines) a.emplace_back(l);
    return a;
  };
  return boost::json::serialize(boost::json::object{{"buckets", array(report.buckets)},
                                                    {"removed", array(report.lifecycle.removed)},
                                                    {"kept", array(report.lifecycle.kept)},
                                                    {"notes", array(report.lifecycle.notes)},
                                                    {"dryRun", dry_run}});
}

SweepAnswer handle_lifecycle_request(store::StoreReader& store, artifacts::ObjectStore& objects,
                                     std::string_view query,
                                     std::chrono::system_clock::time_point now,
                                     const std::function<void(const std::string&)>& log) {
  auto error = [](int status, const std::string& message) {
    return SweepAnswer{status,
                       boost::json::serialize(boost::json::object{
                           {"__type", status == 400 ? "ValidationException" : "InternalFailure"},
                           {"message", message}})};
  };
  bool dry_run = false;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (name == "at") {
      int64_t seconds = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec != std::errc() || end != value.data() + value.size() || seconds < 0)
        return error(400, "at must be seconds since the epoch, not '" + std::string(value) + "'");
      now = std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
    } else if (name == "dry-run") {
      if (value != "true" && value != "false") return error(400, "dry-run must be true or false");
      dry_run = value == "true";
    } else if (!name.empty()) {
      return error(400, "unknown parameter " + std::string(name) + " (at and dry-run are known)");
    }
  }
  auto report = sweep_lifecycle(store, objects, now, dry_run);
  if (!report.ok()) return error(500, "lifecycle: " + report.status().message());
  if (!dry_run)
    for (const auto& line : report->lifecycle.removed) log("lifecycle: " + line);
  return SweepAnswer{200, sweep_report_json(*report, dry_run)};
}

Result<std::string> ensure_default_artifact_bucket(artifacts::ObjectStore& objects,
                                                   const std::string& region,
                                                   const std::string& account_id) {
  const std::string name = "codepipeline-" + region + "-" + account_id;
  if (objects.head_bucket(name).ok()) return name;
  if (Status s = objects.create_bucket(name); !s.ok()) return s;
  if (Status s =
          objects.put_bucket_config(name, "lifecycle", api::s3::default_artifact_lifecycle());
      !s.ok())
    return s;
  return name;
}

}  // namespace stageline::server
