#include "api/events/events.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>

#include "store/sqlite_store.h"

namespace stageline::events {
namespace {

namespace json = boost::json;
using engine::ActionOutcome;
using engine::ActionStart;
using engine::Engine;

class RecordingRunner : public engine::ActionRunner {
 public:
  void start(const ActionStart& s) override { started.push_back(s); }
  std::vector<ActionStart> started;
};

// A client's stream: keeps what it is sent; can be closed or made full.
class RecordingSubscriber : public Subscriber {
 public:
  struct Sent {
    int64_t id;
    std::string name;
    std::string json;
  };
  bool send(int64_t id, std::string_view name, std::string_view data) override {
    if (is_closed || refuse) {
      is_closed = true;
      return false;
    }
    sent.push_back({id, std::string(name), std::string(data)});
    return true;
  }
  bool closed() const override { return is_closed; }
  size_t queued_bytes() const override { return queued; }

  std::vector<int64_t> ids() const {
    std::vector<int64_t> out;
    for (const auto& s : sent) out.push_back(s.id);
    return out;
  }

  std::vector<Sent> sent;
  bool is_closed = false;
  bool refuse = false;  // plays a client whose queue is full
  size_t queued = 0;
};

// "Pipeline STARTED", "Stage Build RESUMED", "Action Make FAILED".
std::string summary(const std::string& text) {
  json::object e = json::parse(text).as_object();
  const json::object& d = e.at("detail").as_object();
  const std::string type(e.at("detail-type").as_string());
  const std::string state(d.at("state").as_string());
  if (type == "CodePipeline Pipeline Execution State Change") return "Pipeline " + state;
  if (type == "CodePipeline Stage Execution State Change")
    return "Stage " + std::string(d.at("stage").as_string()) + " " + state;
  EXPECT_EQ(type, "CodePipeline Action Execution State Change");
  return "Action " + std::string(d.at("action").as_string()) + " " + state;
}

std::vector<std::string> summaries(const RecordingSubscriber& s) {
  std::vector<std::string> out;
  for (const auto& e : s.sent) out.push_back(summary(e.json));
  return out;
}

model::ActionDeclaration action(std::string name, model::ActionCategory category,
                                std::string provider, std::vector<std::string> ins,
                                std::vector<std::string> outs) {
  model::ActionDeclaration a;
  a.name = std::move(name);
  a.action_type_id = {category, model::ActionOwner::kAws, std::move(provider), "1"};
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

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override { open_store(":memory:", true); }

  void open_store(const std::string& path, bool create) {
    engine_.reset();
    log_.reset();
    store_.reset();
    auto opened = store::SqliteStore::open(path, {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    if (create) {
      for (std::string name : {"app", "web"}) {
        model::PipelineDeclaration p;
        p.name = name;
        p.role_arn = "arn:aws:iam::123456789012:role/R";
        p.artifact_store = model::ArtifactStore{model::ArtifactStoreType::kS3, "bucket", {}};
        p.pipeline_type = model::PipelineType::kV2;
        p.stages = {{"Source",
                     {},
                     {action("Src", model::ActionCategory::kSource, "S3", {}, {"Code"})},
                     {},
                     {},
                     {}},
                    {"Build",
                     {},
                     {action("Make", model::ActionCategory::kBuild, "CodeBuild", {"Code"}, {})},
                     {},
                     {},
                     {}}};
        ASSERT_TRUE(store_->create_pipeline(model::PipelineRecord{p, {}, 1, 1}).ok());
      }
    }
    EventLog::Options options;
    options.account_id = "123456789012";
    options.region = "eu-west-1";
    options.new_id = [this] { return "ev-" + std::to_string(++event_ids_); };
    options.now_ms = [this] { return clock_; };
    options.replay_page = 2;
    auto log = EventLog::open(*store_, options);
    ASSERT_TRUE(log.ok()) << log.status().message();
    log_ = std::move(*log);
    engine_ =
        std::make_unique<Engine>(*store_, runner_,
                                 Engine::Options{[this] { return clock_ += 1000; },
                                                 [this] { return "id-" + std::to_string(++ids_); },
                                                 log_.get(), nullptr, "123456789012"});
  }

  std::string start(const std::string& pipeline = "app") {
    auto id = engine_->start_execution(pipeline, {}, model::TriggerType::kStartPipelineExecution,
                                       "alice");
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : "";
  }

  void finish(const ActionStart& s, bool succeeded) {
    ActionOutcome outcome;
    outcome.succeeded = succeeded;
    if (succeeded) {
      outcome.summary = "done";
      outcome.external_execution_id = "ext-1";
      for (const auto& out :
           s.action.output_artifacts.value_or(std::vector<model::OutputArtifact>{})) {
        model::ArtifactRecord a;
        a.execution_id = s.execution_id;
        a.name = out.name;
        a.location = {"bucket", s.pipeline_name + "/" + out.name, "v1", "etag"};
        outcome.artifacts.push_back(a);
      }
    } else {
      outcome.error_code = "JobFailed";
      outcome.error_message = "exit 1";
    }
    Status st = engine_->action_finished(s.action_execution_id, outcome);
    ASSERT_TRUE(st.ok()) << st.message();
  }

  std::shared_ptr<RecordingSubscriber> live(Filter filter = {}) {
    auto s = std::make_shared<RecordingSubscriber>();
    EXPECT_TRUE(log_->subscribe(s, std::nullopt, std::move(filter)).ok());
    return s;
  }

  std::unique_ptr<store::SqliteStore> store_;
  RecordingRunner runner_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<Engine> engine_;
  model::TimestampMs clock_ = 1714557600000;  // 2024-05-01T10:00:00Z
  int ids_ = 0;
  int event_ids_ = 0;
};

TEST(Iso8601, FormatsSecondsAndMillisecondsInUtc) {
  EXPECT_EQ(iso8601(1714557600208, false), "2024-05-01T10:00:00Z");
  EXPECT_EQ(iso8601(1714557600208, true), "2024-05-01T10:00:00.208Z");
  EXPECT_EQ(iso8601(0, true), "1970-01-01T00:00:00.000Z");
}

TEST_F(EventsTest, ARunPublishesEveryStateChangeInCommitOrderWithGrowingSeqs) {
  auto sub = live();
  const std::string id = start();
  finish(runner_.started.at(0), true);
  finish(runner_.started.at(1), true);

  EXPECT_EQ(
      summaries(*sub),
      (std::vector<std::string>{
          "Pipeline STARTED", "Stage Source STARTED", "Action Src STARTED", "Action Src SUCCEEDED",
          "Stage Source SUCCEEDED", "Stage Build STARTED", "Action Make STARTED",
          "Action Make SUCCEEDED", "Stage Build SUCCEEDED", "Pipeline SUCCEEDED"}));
  EXPECT_EQ(sub->ids(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(sub->sent[0].name, "CodePipeline Pipeline Execution State Change");
  EXPECT_EQ(log_->last_seq(), 10);
  EXPECT_TRUE(log_->last_error().ok()) << log_->last_error().message();

  json::object started = json::parse(sub->sent[0].json).as_object();
  EXPECT_EQ(started.at("version"), "0");
  EXPECT_EQ(started.at("id"), "ev-1");
  EXPECT_EQ(started.at("source"), "aws.codepipeline");
  EXPECT_EQ(started.at("account"), "123456789012");
  EXPECT_EQ(started.at("region"), "eu-west-1");
  EXPECT_EQ(started.at("resources"),
            (json::array{"arn:aws:codepipeline:eu-west-1:123456789012:app"}));
  const json::object& d = started.at("detail").as_object();
  EXPECT_EQ(d.at("pipeline"), "app");
  EXPECT_EQ(d.at("execution-id"), json::value(id));
  EXPECT_EQ(d.at("version"), 1);
  EXPECT_EQ(d.at("execution-trigger"), (json::object{{"trigger-type", "StartPipelineExecution"},
                                                     {"trigger-detail", "alice"}}));
  EXPECT_TRUE(d.at("start-time").as_string().ends_with("Z"));

  json::object make = json::parse(sub->sent[7].json).as_object();
  const json::object& md = make.at("detail").as_object();
  EXPECT_EQ(md.at("stage"), "Build");
  EXPECT_EQ(
      md.at("type"),
      (json::object{
          {"owner", "AWS"}, {"category", "Build"}, {"provider", "CodeBuild"}, {"version", "1"}}));
  EXPECT_EQ(md.at("execution-result").at("external-execution-id"), "ext-1");
  EXPECT_EQ(md.at("execution-result").at("external-execution-summary"), "done");
  EXPECT_EQ(md.at("region"), "eu-west-1");

  auto logged = store_->read_events(0, "", 100);
  ASSERT_TRUE(logged.ok());
  ASSERT_EQ(logged->size(), 10u);
  EXPECT_EQ(logged->at(9).json, sub->sent[9].json);
}

TEST_F(EventsTest, AFailureAndARetryGiveFailedThenResumed) {
  auto sub = live();
  const std::string id = start();
  finish(runner_.started.at(0), true);
  finish(runner_.started.at(1), false);
  Status retried = engine_->retry_stage("app", "Build", id, model::StageRetryMode::kFailedActions);
  ASSERT_TRUE(retried.ok()) << retried.message();
  finish(runner_.started.at(2), true);

  std::vector<std::string> got = summaries(*sub);
  std::vector<std::string> tail(got.begin() + 7, got.end());
  EXPECT_EQ(tail, (std::vector<std::string>{
                      "Action Make FAILED", "Stage Build FAILED", "Pipeline FAILED",
                      "Pipeline RESUMED", "Stage Build RESUMED", "Action Make STARTED",
                      "Action Make SUCCEEDED", "Stage Build SUCCEEDED", "Pipeline SUCCEEDED"}));
  json::object failed = json::parse(sub->sent.at(7).json).as_object();
  EXPECT_EQ(failed.at("detail").at("execution-result").at("error-code"), "JobFailed");
}

TEST_F(EventsTest, StoppingWithAbandonGivesStoppingAbandonedAndStopped) {
  const std::string id = start();
  auto sub = live();
  ASSERT_TRUE(engine_->stop_execution("app", id, true, "bad commit").ok());
  std::vector<std::string> got = summaries(*sub);
  EXPECT_NE(std::find(got.begin(), got.end(), "Action Src ABANDONED"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "Stage Source STOPPED"), got.end());
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), "Pipeline STOPPED");
  for (const auto& s : sub->sent) {
    json::object e = json::parse(s.json).as_object();
    if (e.at("detail").at("state") == "STOPPING") {
      EXPECT_EQ(e.at("detail").at("stop-execution-comments"), "bad commit");
    }
  }
}

TEST_F(EventsTest, ANewerWaitingExecutionSupersedesTheOlderOne) {
  auto sub = live();
  const std::string e1 = start();
  finish(runner_.started.at(0), true);  // e1 enters Build and runs Make
  const std::string e2 = start();
  finish(runner_.started.back(), true);  // e2 waits for Build
  const std::string e3 = start();
  finish(runner_.started.back(), true);  // e3 waits: e2 is superseded
  EXPECT_EQ(store_->get_pipeline_execution(e2)->status,
            model::PipelineExecutionStatus::kSuperseded);
  int superseded = 0;
  for (const auto& s : sub->sent) {
    json::object e = json::parse(s.json).as_object();
    if (e.at("detail").at("state") == "SUPERSEDED") {
      ++superseded;
      EXPECT_EQ(e.at("detail").at("execution-id"), json::value(e2));
      EXPECT_EQ(e.at("detail-type"), "CodePipeline Pipeline Execution State Change");
    }
  }
  EXPECT_EQ(superseded, 1);
}

TEST_F(EventsTest, TheFilterPassesOnlyTheNamedPipelinesEvents) {
  auto app = live({"app"});
  auto all = live();
  start("web");
  start("app");
  ASSERT_FALSE(app->sent.empty());
  for (const auto& s : app->sent) {
    json::object e = json::parse(s.json).as_object();
    EXPECT_EQ(e.at("detail").at("pipeline"), "app");
  }
  EXPECT_EQ(all->sent.size(), 2 * app->sent.size());
  EXPECT_EQ(app->sent[0].id, all->sent[app->sent.size()].id);
}

TEST_F(EventsTest, AResumeReplaysFromTheLogInPagesThenGoesLiveWithoutGapOrDuplicate) {
  start();                              // 3 events
  finish(runner_.started.at(0), true);  // 4 more: 7
  auto sub = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(log_->subscribe(sub, 2, {}).ok());
  // replay_page is 2 and a step sends at most 8 pages: everything fits.
  EXPECT_EQ(sub->ids(), (std::vector<int64_t>{3, 4, 5, 6, 7}));
  finish(runner_.started.at(1), true);
  EXPECT_EQ(sub->ids(), (std::vector<int64_t>{3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST_F(EventsTest, AReplayWaitsWhileTheClientIsBackedUpAndEventsArriveMeanwhile) {
  start();
  finish(runner_.started.at(0), true);  // 7 events
  auto sub = std::make_shared<RecordingSubscriber>();
  sub->queued = 1 << 30;  // the client is not reading
  ASSERT_TRUE(log_->subscribe(sub, 0, {}).ok());
  EXPECT_TRUE(sub->sent.empty());
  finish(runner_.started.at(1), true);  // 3 more, logged while it waits
  EXPECT_TRUE(sub->sent.empty());
  sub->queued = 0;
  ASSERT_TRUE(log_->pump().ok());
  EXPECT_EQ(sub->ids(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  const std::string e2 = start();  // live now
  EXPECT_EQ(sub->ids().back(), 13);
  EXPECT_EQ(sub->sent.size(), 13u);
}

TEST_F(EventsTest, AClosedOrFullSubscriberIsDroppedAndTheOthersCarryOn) {
  auto slow = live();
  auto gone = live();
  auto fine = live();
  start();
  EXPECT_EQ(log_->subscriber_count(), 3u);
  slow->refuse = true;
  gone->is_closed = true;
  finish(runner_.started.at(0), true);
  EXPECT_EQ(log_->subscriber_count(), 1u);
  EXPECT_EQ(fine->sent.size(), 7u);
  EXPECT_EQ(slow->sent.size(), 3u);
  EXPECT_EQ(gone->sent.size(), 3u);
}

TEST_F(EventsTest, ResumeWorksAfterTheStoreIsReopenedAndSeqsContinue) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("events_test_" + std::to_string(getpid()) + ".db"))
          .string();
  std::filesystem::remove(path);
  open_store(path, true);
  start();  // 3 events
  open_store(path, false);
  EXPECT_EQ(log_->last_seq(), 3);
  auto sub = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(log_->subscribe(sub, 1, {}).ok());
  EXPECT_EQ(sub->ids(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(summary(sub->sent[1].json), "Action Src STARTED");
  start("web");
  EXPECT_EQ(sub->ids(), (std::vector<int64_t>{2, 3, 4, 5, 6}));
  engine_.reset();
  log_.reset();
  store_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

TEST_F(EventsTest, ResumingAfterAFutureSeqStartsFromTheEndAndPruningBoundsTheLog) {
  start();  // 3 events
  auto sub = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(log_->subscribe(sub, 999, {}).ok());
  EXPECT_TRUE(sub->sent.empty());
  start("web");
  EXPECT_EQ(sub->ids(), (std::vector<int64_t>{4, 5, 6}));

  clock_ += 8LL * 24 * 3600 * 1000;  // a week and a day later
  start("web");                      // 3 new ones
  auto pruned = log_->prune();
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_EQ(*pruned, 6);
  EXPECT_EQ(store_->read_events(0, "", 100)->front().seq, 7);
}

}  // namespace
}  // namespace stageline::events
