// 100 executions of one PARALLEL-mode pipeline started at once (3 stages: a
// source read from a directory, 4 parallel Commands actions, 1 Commands
// action), run to the end by the engine and the in-process runner on a real
// SQLite store and artifact store. Reports executions completed per second
// and peak resident memory, beside the floor: the same number of `/bin/sh -c
// true` processes spawned two at a time (the machine has 2 CPUs) with no
// orchestration at all.
// usage: build/bench/parallel_bench [executions]
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "artifacts/artifact_store.h"
#include "artifacts/object_store.h"
#include "base/ids.h"
#include "engine/engine.h"
#include "jobs/local_runner.h"
#include "jobs/process.h"
#include "store/sqlite_store.h"

namespace fs = std::filesystem;
using namespace stageline;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

model::ActionDeclaration commands_action(const std::string& name) {
  model::ActionDeclaration a;
  a.name = name;
  a.action_type_id = {model::ActionCategory::kCompute, model::ActionOwner::kAws, "Commands", "1"};
  a.input_artifacts = std::vector<model::InputArtifact>{{"Code"}};
  a.commands = std::vector<std::string>{"true"};
  return a;
}

model::PipelineDeclaration pipeline() {
  model::PipelineDeclaration p;
  p.name = "parallel";
  p.role_arn = "arn:aws:iam::123456789012:role/R";
  p.artifact_store = model::ArtifactStore{model::ArtifactStoreType::kS3, "parallel-bench", {}};
  p.pipeline_type = model::PipelineType::kV2;
  p.execution_mode = model::ExecutionMode::kParallel;
  model::ActionDeclaration src;
  src.name = "Src";
  src.action_type_id = {model::ActionCategory::kSource, model::ActionOwner::kAws, "CodeCommit",
                        "1"};
  src.output_artifacts = std::vector<model::OutputArtifact>{{"Code", std::nullopt}};
  p.stages.push_back({"Source", {}, {src}, {}, {}, {}});
  p.stages.push_back(
      {"Fan",
       {},
       {commands_action("A"), commands_action("B"), commands_action("C"), commands_action("D")},
       {},
       {},
       {}});
  p.stages.push_back({"Join", {}, {commands_action("E")}, {}, {}, {}});
  return p;
}

double floor_seconds(int processes) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < processes; i += 2) {
    auto a = jobs::spawn({{"/bin/sh", "-c", "true"}, {{"PATH", "/usr/bin:/bin"}}, ""});
    auto b = jobs::spawn({{"/bin/sh", "-c", "true"}, {{"PATH", "/usr/bin:/bin"}}, ""});
    if (!a.ok() || !b.ok()) return -1;
    (void)a->wait();
    (void)b->wait();
  }
  return seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  // PARALLEL mode admits at most 50 active executions; the rest are started
  // as earlier ones finish, as a client retrying the start would.
  int executions = argc > 1 ? std::atoi(argv[1]) : 100;
  char tmpl[] = "/tmp/stageline-parallel-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 2;
  fs::path data = tmpl;
  fs::create_directories(data / "src");
  std::ofstream(data / "src" / "file") << "x\n";

  auto store = store::SqliteStore::open((data / "stageline.db").string(), {});
  auto objects = artifacts::ObjectStore::open({data / "objects"});
  if (!store.ok() || !objects.ok()) return 2;
  artifacts::PassThroughCipher cipher;
  artifacts::ArtifactStore artifact_store(**objects, cipher, {data / "tmp"});
  if (!(*objects)->create_bucket("parallel-bench").ok()) return 2;
  if (!(*store)->create_pipeline({pipeline(), {}, now_ms(), now_ms()}).ok()) return 2;

  jobs::LocalRunner::Options options;
  options.work_root = data / "work";
  options.source_dirs["Src"] = data / "src";
  options.base_environment = {{"PATH", "/usr/bin:/bin"}, {"HOME", data.string()}};
  jobs::LocalRunner runner(artifact_store, options);
  engine::Engine engine(**store, runner, {now_ms, new_uuid, {}});

  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> ids;
  int started = 0, finished = 0, failed = 0;
  auto start_more = [&] {
    while (started < executions) {
      auto id = engine.start_execution("parallel", {}, model::TriggerType::kStartPipelineExecution);
      if (!id.ok()) break;  // the 50-execution limit: try again when one ends
      ids.push_back(*id);
      ++started;
    }
  };
  start_more();
  while (finished < executions) {
    auto done = runner.next(std::chrono::milliseconds(1000));
    if (done && !engine.action_finished(done->action_execution_id, done->outcome).ok()) return 2;
    finished = failed = 0;
    for (const auto& id : ids) {
      const auto* e = engine.execution("parallel", id);
      if (e && e->status != model::PipelineExecutionStatus::kInProgress) {
        ++finished;
        failed += e->status != model::PipelineExecutionStatus::kSucceeded;
      }
    }
    start_more();
  }
  double elapsed = seconds_since(t0);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  int processes = executions * 5;  // the source runs no process
  double floor = floor_seconds(processes);
  std::printf("executions: %d (%d failed), PARALLEL mode, 3 stages, 4 parallel actions\n",
              executions, failed);
  std::printf("stageline:  %.3f s, %.1f executions/s, %.2f ms per action, peak RSS %ld MiB\n",
              elapsed, executions / elapsed, elapsed * 1000 / processes, usage.ru_maxrss / 1024);
  std::printf("floor:      %.3f s to spawn %d `/bin/sh -c true` two at a time (%.2f ms each)\n",
              floor, processes, floor * 1000 / processes);
  std::error_code ec;
  fs::remove_all(data, ec);
  return failed == 0 ? 0 : 1;
}
