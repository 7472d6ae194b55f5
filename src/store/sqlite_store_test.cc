#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/migrations.h"

namespace stageline::store {
namespace {

using model::ActionCategory;
using model::ActionExecutionStatus;
using model::ActionOwner;
using model::ConditionExecutionStatus;
using model::ConditionType;
using model::JobStatus;
using model::PipelineExecutionStatus;
using model::RuleExecutionStatus;

// ---- Builders --------------------------------------------------------------------

model::PipelineDeclaration declaration(const std::string& name,
                                       const std::string& branch = "main") {
  model::PipelineDeclaration d;
  d.name = name;
  d.role_arn = "arn:aws:iam::123456789012:role/pipeline";
  d.artifact_store = model::ArtifactStore{model::ArtifactStoreType::kS3, "artifacts", std::nullopt};
  d.pipeline_type = model::PipelineType::kV2;
  d.execution_mode = model::ExecutionMode::kQueued;
  d.variables = std::vector<model::PipelineVariableDeclaration>{
      {"Env", std::string("dev"), std::string("where to deploy")}};

  model::ActionDeclaration checkout;
  checkout.name = "Checkout";
  checkout.action_type_id = {ActionCategory::kSource, ActionOwner::kAws, "CodeCommit", "1"};
  checkout.configuration = model::StringMap{{"RepositoryName", "app"}, {"BranchName", branch}};
  checkout.output_artifacts = std::vector<model::OutputArtifact>{{"Src", std::nullopt}};
  checkout.namespace_ = "SourceVariables";

  model::ActionDeclaration build;
  build.name = "Build";
  build.action_type_id = {ActionCategory::kBuild, ActionOwner::kAws, "CodeBuild", "1"};
  build.run_order = 2;
  build.configuration = model::StringMap{{"ProjectName", "app-build"}};
  build.input_artifacts = std::vector<model::InputArtifact>{{"Src"}};
  build.timeout_in_minutes = 30;

  d.stages = {model::StageDeclaration{"Source", std::nullopt, {checkout}, {}, {}, {}},
              model::StageDeclaration{"Build", std::nullopt, {build}, {}, {}, {}}};
  return d;
}

model::PipelineRecord pipeline(const std::string& name, model::TimestampMs created_ms = 1000) {
  model::PipelineRecord p;
  p.declaration = declaration(name);
  p.tags = {{"team", "platform"}, {"cost-centre", "ci \"quoted\" \xc3\xa9"}};
  p.created_ms = created_ms;
  p.updated_ms = created_ms;
  return p;
}

model::PipelineExecutionRecord execution(const std::string& id, const std::string& pipeline_name,
                                         model::TimestampMs created_ms = 2000) {
  model::PipelineExecutionRecord e;
  e.id = id;
  e.pipeline_name = pipeline_name;
  e.created_ms = created_ms;
  e.updated_ms = created_ms;
  return e;
}

model::ActionExecutionRecord action(const std::string& id, const std::string& execution_id,
                                    model::TimestampMs started_ms = 3000) {
  model::ActionExecutionRecord a;
  a.id = id;
  a.execution_id = execution_id;
  a.stage_name = "Build";
  a.action_name = "Build";
  a.started_ms = started_ms;
  a.updated_ms = started_ms;
  return a;
}

model::ConditionExecutionRecord condition(const std::string& execution_id,
                                          const std::string& stage_name, ConditionType type,
                                          int stage_attempt = 1,
                                          model::TimestampMs started_ms = 3000) {
  model::ConditionExecutionRecord c;
  c.execution_id = execution_id;
  c.stage_name = stage_name;
  c.type = type;
  c.stage_attempt = stage_attempt;
  c.started_ms = started_ms;
  c.updated_ms = started_ms;
  return c;
}

// A VariableCheck rule of the beforeEntry condition of stage "Deploy".
model::RuleExecutionRecord rule(const std::string& id, const std::string& execution_id,
                                model::TimestampMs started_ms = 3000,
                                const std::string& pipeline_name = "app") {
  model::RuleExecutionRecord r;
  r.id = id;
  r.execution_id = execution_id;
  r.pipeline_name = pipeline_name;
  r.stage_name = "Deploy";
  r.condition_type = ConditionType::kBeforeEntry;
  r.rule_name = "BranchIsMain";
  r.rule_type_id = {model::RuleCategory::kRule, model::RuleOwner::kAws, "VariableCheck",
                    std::string("1")};
  r.started_ms = started_ms;
  r.updated_ms = started_ms;
  return r;
}

const model::ActionTypeId kCustomBuild{ActionCategory::kBuild, ActionOwner::kCustom, "MyBuilder",
                                       "1"};
const model::ActionTypeId kCustomTest{ActionCategory::kTest, ActionOwner::kCustom, "MyTester", "1"};

model::JobRecord job(const std::string& id, const std::string& action_execution_id,
                     const model::ActionTypeId& type, model::TimestampMs created_ms) {
  model::JobRecord j;
  j.id = id;
  j.action_execution_id = action_execution_id;
  j.execution_id = "e1";
  j.pipeline_name = "app";
  j.stage_name = "Build";
  j.action_name = "Build";
  j.action_type_id = type;
  j.status = JobStatus::kQueued;
  j.created_ms = created_ms;
  j.updated_ms = created_ms;
  return j;
}

// ---- Files -----------------------------------------------------------------------

// A database path in the test temp directory, removed with its -wal and -shm
// files at the end of the test.
class TempDatabase {
 public:
  TempDatabase() {
    static int counter = 0;
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = ::testing::TempDir() + "store_test_" + test->name() + "_" + std::to_string(::getpid()) +
            "_" + std::to_string(++counter) + ".db";
    remove_all();
  }
  ~TempDatabase() { remove_all(); }
  const std::string& path() const { return path_; }

 private:
  void remove_all() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::error_code ignored;
      std::filesystem::remove(path_ + suffix, ignored);
    }
  }
  std::string path_;
};

// The same database through the C API, to do what the store never would.
class RawDatabase {
 public:
  explicit RawDatabase(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~RawDatabase() { EXPECT_EQ(sqlite3_close(db_), SQLITE_OK); }

  void exec(const std::string& sql) {
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK)
        << (message != nullptr ? message : "") << " in " << sql;
    sqlite3_free(message);
  }

  std::string query_text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text != nullptr) out = reinterpret_cast<const char*>(text);
    }
    EXPECT_EQ(sqlite3_finalize(stmt), SQLITE_OK);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::unique_ptr<SqliteStore> open_or_die(const std::string& path,
                                         SqliteStore::Options options = {}) {
  auto store = SqliteStore::open(path, options);
  EXPECT_TRUE(store.ok()) << store.status().message();
  if (!store.ok()) std::abort();
  return std::move(*store);
}

// ---- Fixture ---------------------------------------------------------------------

class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteStoreTest() : store_(open_or_die(":memory:")) {}

  // Pipeline "app", execution "e1" and action execution "a1", the parents
  // that jobs, artifacts and logs need.
  void add_parents() {
    ASSERT_TRUE(store_->create_pipeline(pipeline("app")).ok());
    ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
    ASSERT_TRUE(store_->insert_action_execution(action("a1", "e1")).ok());
  }

  std::unique_ptr<SqliteStore> store_;
};

// ---- Pipelines -------------------------------------------------------------------

TEST_F(SqliteStoreTest, CreatedPipelineReadsBackAsVersionOneWithItsTags) {
  auto created = store_->create_pipeline(pipeline("app"));
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created->declaration.version, 1);

  auto got = store_->get_pipeline("app");
  ASSERT_TRUE(got.ok()) << got.status().message();
  model::PipelineDeclaration expected = declaration("app");
  expected.version = 1;
  EXPECT_TRUE(got->declaration == expected);
  EXPECT_EQ(got->tags, pipeline("app").tags);
  EXPECT_EQ(got->created_ms, 1000);
  EXPECT_EQ(got->updated_ms, 1000);
}

TEST_F(SqliteStoreTest, CreatingAPipelineWithATakenNameFailsWithAlreadyExists) {
  ASSERT_TRUE(store_->create_pipeline(pipeline("app")).ok());
  auto again = store_->create_pipeline(pipeline("app"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "create pipeline 'app': a pipeline with this name exists");
}

TEST_F(SqliteStoreTest, UpdateAddsAVersionAndKeepsEveryOldOne) {
  ASSERT_TRUE(store_->create_pipeline(pipeline("app", 1000)).ok());
  auto v2 = store_->update_pipeline(declaration("app", "develop"), 2000);
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  EXPECT_EQ(v2->declaration.version, 2);
  auto v3 = store_->update_pipeline(declaration("app", "release"), 3000);
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->declaration.version, 3);

  auto current = store_->get_pipeline("app");
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->declaration.version, 3);
  EXPECT_EQ((*current->declaration.stages[0].actions[0].configuration)["BranchName"], "release");
  EXPECT_EQ(current->created_ms, 1000);
  EXPECT_EQ(current->updated_ms, 3000);

  for (int version = 1; version <= 3; ++version) {
    auto old = store_->get_pipeline_version("app", version);
    ASSERT_TRUE(old.ok()) << old.status().message();
    EXPECT_EQ(old->declaration.version, version);
    EXPECT_EQ(old->updated_ms, version * 1000);
  }
  auto first = store_->get_pipeline_version("app", 1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first->declaration.stages[0].actions[0].configuration)["BranchName"], "main");
}

TEST_F(SqliteStoreTest, UpdatingAMissingPipelineFailsWithNotFound) {
  auto updated = store_->update_pipeline(declaration("ghost"), 1);
  ASSERT_FALSE(updated.ok());
  EXPECT_EQ(updated.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(updated.status().message(), "update pipeline 'ghost': no pipeline has this name");
}

TEST_F(SqliteStoreTest, AVersionThatWasNeverStoredIsNotFound) {
  ASSERT_TRUE(store_->create_pipeline(pipeline("app")).ok());
  auto missing = store_->get_pipeline_version("app", 2);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "get version 2 of pipeline 'app': the pipeline has no such version");
  EXPECT_EQ(store_->get_pipeline("ghost").status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ChangingTagsKeepsTheVersion) {
  ASSERT_TRUE(store_->create_pipeline(pipeline("app")).ok());
  ASSERT_TRUE(store_->set_pipeline_tags("app", {{"owner", "me"}}).ok());
  auto got = store_->get_pipeline("app");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->declaration.version, 1);
  EXPECT_EQ(got->tags, (std::vector<model::Tag>{{"owner", "me"}}));
  EXPECT_EQ(store_->set_pipeline_tags("ghost", {}).code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ListPipelinesPagesInNameOrder) {
  for (const char* name : {"delta", "alpha", "echo", "charlie", "bravo"})
    ASSERT_TRUE(store_->create_pipeline(pipeline(name)).ok());
  ASSERT_TRUE(store_->update_pipeline(declaration("bravo"), 5000).ok());

  std::vector<std::string> names;
  std::vector<size_t> page_sizes;
  std::string key;
  do {
    auto page = store_->list_pipelines(2, key);
    ASSERT_TRUE(page.ok()) << page.status().message();
    page_sizes.push_back(page->items.size());
    for (const auto& p : page->items) names.push_back(p.declaration.name);
    for (const auto& p : page->items) {
      if (p.declaration.name == "bravo") {
        EXPECT_EQ(p.declaration.version, 2);  // the current version
      }
    }
    key = page->next_key;
  } while (!key.empty());
  EXPECT_EQ(names, (std::vector<std::string>{"alpha", "bravo", "charlie", "delta", "echo"}));
  EXPECT_EQ(page_sizes, (std::vector<size_t>{2, 2, 1}));
}

TEST_F(SqliteStoreTest, AnExactlyFullLastPageHasNoNextKey) {
  ASSERT_TRUE(store_->create_pipeline(pipeline("a")).ok());
  ASSERT_TRUE(store_->create_pipeline(pipeline("b")).ok());
  auto page = store_->list_pipelines(2, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->next_key, "");
}

TEST_F(SqliteStoreTest, DeletingAPipelineRemovesItsVersionsAndTransitionsButKeepsItsExecutions) {
  ASSERT_TRUE(store_->create_pipeline(pipeline("app")).ok());
  ASSERT_TRUE(store_->update_pipeline(declaration("app"), 2000).ok());
  ASSERT_TRUE(store_->set_transition({"app", "Build", false, "freeze", "me", 5}).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());

  ASSERT_TRUE(store_->delete_pipeline("app").ok());
  EXPECT_EQ(store_->get_pipeline("app").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->get_pipeline_version("app", 1).status().code(), StatusCode::kNotFound);
  auto transitions = store_->list_transitions("app");
  ASSERT_TRUE(transitions.ok());
  EXPECT_TRUE(transitions->empty());
  EXPECT_TRUE(store_->get_pipeline_execution("e1").ok());
  EXPECT_EQ(store_->delete_pipeline("app").code(), StatusCode::kNotFound);

  // The name is free again, and history starts over.
  auto recreated = store_->create_pipeline(pipeline("app"));
  ASSERT_TRUE(recreated.ok());
  EXPECT_EQ(recreated->declaration.version, 1);
}

// ---- Pipeline executions ---------------------------------------------------------

TEST_F(SqliteStoreTest, PipelineExecutionRoundTripsEveryField) {
  model::PipelineExecutionRecord e;
  e.id = "4f2a0000-0000-4000-8000-000000000001";
  e.pipeline_name = "app";
  e.pipeline_version = 7;
  e.status = PipelineExecutionStatus::kStopping;
  e.status_summary = "stopping: \"requested\"";
  e.execution_mode = model::ExecutionMode::kParallel;
  e.execution_type = model::ExecutionType::kRollback;
  e.trigger_type = model::TriggerType::kManualRollback;
  e.trigger_detail = "arn:aws:sts::123456789012:assumed-role/Admin/me";
  e.client_request_token = "token-1";
  e.variables = {{"Env", "prod"}, {"Note", "caf\xc3\xa9 \\ \n"}};
  e.source_revisions = {{"Checkout", "abc123", "Fix the build", "https://git/abc123", "COMMIT_ID"}};
  e.rollback_target_execution_id = "4f2a0000-0000-4000-8000-000000000000";
  e.rollback_stage_name = "Deploy";
  e.stop_reason = "bad deploy";
  e.created_ms = 1700000000123;
  e.updated_ms = 1700000000456;
  ASSERT_TRUE(store_->insert_pipeline_execution(e).ok());

  auto got = store_->get_pipeline_execution(e.id);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == e);
}

TEST_F(SqliteStoreTest, UpdatingAnExecutionChangesOnlyItsRunTimeFields) {
  auto e = execution("e1", "app");
  e.trigger_detail = "me";
  ASSERT_TRUE(store_->insert_pipeline_execution(e).ok());

  auto changed = e;
  changed.status = PipelineExecutionStatus::kStopped;
  changed.status_summary = "stopped";
  changed.stop_reason = "manual";
  changed.source_revisions = {{"Checkout", "def456", "", "", ""}};
  changed.updated_ms = 9000;
  changed.trigger_detail = "ignored";
  ASSERT_TRUE(store_->update_pipeline_execution(changed).ok());

  auto got = store_->get_pipeline_execution("e1");
  ASSERT_TRUE(got.ok());
  auto expected = changed;
  expected.trigger_detail = "me";
  EXPECT_TRUE(*got == expected);
  EXPECT_EQ(store_->update_pipeline_execution(execution("ghost", "app")).code(),
            StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ExecutionsListNewestFirstAcrossPagesEvenWithEqualTimes) {
  // e3 and e4 start in the same millisecond: insertion order breaks the tie.
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app", 100)).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e2", "app", 200)).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("other", "lib", 250)).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e3", "app", 300)).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e4", "app", 300)).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e5", "app", 400)).ok());

  std::vector<std::string> ids;
  std::string key;
  int pages = 0;
  do {
    auto page = store_->list_pipeline_executions("app", 2, key);
    ASSERT_TRUE(page.ok()) << page.status().message();
    for (const auto& e : page->items) ids.push_back(e.id);
    key = page->next_key;
    ++pages;
  } while (!key.empty());
  EXPECT_EQ(ids, (std::vector<std::string>{"e5", "e4", "e3", "e2", "e1"}));
  EXPECT_EQ(pages, 3);
}

TEST_F(SqliteStoreTest, AContinuationKeyTheStoreDidNotIssueIsInvalidArgument) {
  for (const char* key : {"garbage", "12", "12.", ".5", "12.5x"}) {
    auto page = store_->list_pipeline_executions("app", 2, key);
    ASSERT_FALSE(page.ok()) << key;
    EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument) << key;
  }
}

TEST_F(SqliteStoreTest, AClientRequestTokenFindsTheExecutionItStarted) {
  auto e = execution("e1", "app");
  e.client_request_token = "tok-1";
  ASSERT_TRUE(store_->insert_pipeline_execution(e).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e2", "app")).ok());

  auto found = store_->find_pipeline_execution_by_token("app", "tok-1");
  ASSERT_TRUE(found.ok()) << found.status().message();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "e1");

  auto other_token = store_->find_pipeline_execution_by_token("app", "tok-2");
  ASSERT_TRUE(other_token.ok());
  EXPECT_FALSE(other_token->has_value());
  auto other_pipeline = store_->find_pipeline_execution_by_token("lib", "tok-1");
  ASSERT_TRUE(other_pipeline.ok());
  EXPECT_FALSE(other_pipeline->has_value());
}

TEST_F(SqliteStoreTest, ASecondExecutionWithTheSameTokenIsRefusedButOtherPipelinesMayReuseIt) {
  auto e1 = execution("e1", "app");
  e1.client_request_token = "tok-1";
  ASSERT_TRUE(store_->insert_pipeline_execution(e1).ok());
  auto e2 = execution("e2", "app");
  e2.client_request_token = "tok-1";
  auto refused = store_->insert_pipeline_execution(e2);
  EXPECT_EQ(refused.code(), StatusCode::kAlreadyExists);
  auto e3 = execution("e3", "lib");
  e3.client_request_token = "tok-1";
  EXPECT_TRUE(store_->insert_pipeline_execution(e3).ok());
}

TEST_F(SqliteStoreTest, ListByStatusFindsEveryExecutionToResume) {
  auto running = execution("running", "app", 100);
  auto stopping = execution("stopping", "lib", 200);
  stopping.status = PipelineExecutionStatus::kStopping;
  auto done = execution("done", "app", 300);
  done.status = PipelineExecutionStatus::kSucceeded;
  for (const auto& e : {running, stopping, done})
    ASSERT_TRUE(store_->insert_pipeline_execution(e).ok());

  auto resumable = store_->list_pipeline_executions_by_status(
      {PipelineExecutionStatus::kInProgress, PipelineExecutionStatus::kStopping});
  ASSERT_TRUE(resumable.ok()) << resumable.status().message();
  ASSERT_EQ(resumable->size(), 2u);
  EXPECT_EQ((*resumable)[0].id, "running");
  EXPECT_EQ((*resumable)[1].id, "stopping");
}

// ---- Stage executions ------------------------------------------------------------

TEST_F(SqliteStoreTest, UpsertingAStageExecutionReplacesTheRowOfTheSameStage) {
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
  model::StageExecutionRecord source{"e1", "Source", model::StageExecutionStatus::kSucceeded,
                                     1,    10,       20};
  model::StageExecutionRecord build{"e1", "Build", model::StageExecutionStatus::kInProgress,
                                    1,    30,      30};
  ASSERT_TRUE(store_->upsert_stage_execution(source).ok());
  ASSERT_TRUE(store_->upsert_stage_execution(build).ok());
  build.status = model::StageExecutionStatus::kFailed;
  build.attempt = 2;
  build.updated_ms = 40;
  ASSERT_TRUE(store_->upsert_stage_execution(build).ok());

  auto stages = store_->list_stage_executions("e1");
  ASSERT_TRUE(stages.ok()) << stages.status().message();
  EXPECT_EQ(*stages, (std::vector<model::StageExecutionRecord>{source, build}));
}

TEST_F(SqliteStoreTest, AStageExecutionOfAMissingExecutionIsNotFound) {
  auto stored = store_->upsert_stage_execution(
      {"ghost", "Build", model::StageExecutionStatus::kInProgress, 1, 0, 0});
  EXPECT_EQ(stored.code(), StatusCode::kNotFound);
  EXPECT_EQ(stored.message(),
            "store stage execution 'Build' of pipeline execution ghost: no pipeline execution "
            "has this id");
}

// ---- Action executions -----------------------------------------------------------

TEST_F(SqliteStoreTest, EachActionAttemptIsItsOwnRowAndRoundTripsEveryField) {
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
  model::ActionExecutionRecord first;
  first.id = "a1";
  first.execution_id = "e1";
  first.stage_name = "Build";
  first.action_name = "Compile";
  first.attempt = 1;
  first.status = ActionExecutionStatus::kFailed;
  first.summary = "exit 2";
  first.external_execution_id = "build-17";
  first.external_execution_url = "http://localhost/builds/17";
  first.resolved_configuration = {{"ProjectName", "app"}, {"EnvironmentVariables", "[{\"a\":1}]"}};
  first.output_variables = {{"IMAGE", "app:17"}};
  first.error_code = "JobFailed";
  first.error_message = "make: *** [all] Error 2";
  first.job_id = "j1";
  first.approval_token = "tok-1";
  first.started_ms = 100;
  first.updated_ms = 150;
  auto second = first;
  second.id = "a2";
  second.attempt = 2;
  second.status = ActionExecutionStatus::kInProgress;
  second.error_code.clear();
  second.error_message.clear();
  second.started_ms = 200;
  ASSERT_TRUE(store_->insert_action_execution(first).ok());
  ASSERT_TRUE(store_->insert_action_execution(second).ok());

  auto got = store_->get_action_execution("a1");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == first);

  second.status = ActionExecutionStatus::kSucceeded;
  second.summary = "done";
  second.output_variables = {{"IMAGE", "app:18"}};
  second.approval_token.clear();
  second.updated_by = "arn:aws:iam::111122223333:user/admin";
  second.updated_ms = 300;
  ASSERT_TRUE(store_->update_action_execution(second).ok());

  auto all = store_->list_action_executions("e1");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<model::ActionExecutionRecord>{first, second}));
}

TEST_F(SqliteStoreTest, AnActionExecutionNeedsItsPipelineExecution) {
  auto inserted = store_->insert_action_execution(action("a1", "ghost"));
  EXPECT_EQ(inserted.code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->get_action_execution("a1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->update_action_execution(action("a1", "ghost")).code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ActionExecutionsOfAPipelineListNewestFirstAcrossPages) {
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app", 100)).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e2", "app", 200)).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("x1", "lib", 200)).ok());
  ASSERT_TRUE(store_->insert_action_execution(action("a1", "e1", 110)).ok());
  ASSERT_TRUE(store_->insert_action_execution(action("a2", "e1", 120)).ok());
  ASSERT_TRUE(store_->insert_action_execution(action("b1", "e2", 210)).ok());
  ASSERT_TRUE(store_->insert_action_execution(action("b2", "e2", 210)).ok());
  ASSERT_TRUE(store_->insert_action_execution(action("x", "x1", 999)).ok());

  std::vector<std::string> ids;
  std::string key;
  do {
    auto page = store_->list_action_executions_by_pipeline("app", 3, key);
    ASSERT_TRUE(page.ok()) << page.status().message();
    for (const auto& a : page->items) ids.push_back(a.id);
    key = page->next_key;
  } while (!key.empty());
  EXPECT_EQ(ids, (std::vector<std::string>{"b2", "b1", "a2", "a1"}));
}

// ---- Condition executions --------------------------------------------------------

TEST_F(SqliteStoreTest, ConditionExecutionsRoundTripAndAnUpsertReplacesTheRowInPlace) {
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
  auto entry = condition("e1", "Deploy", ConditionType::kBeforeEntry, 1, 100);
  entry.status = ConditionExecutionStatus::kInProgress;
  entry.summary = "waiting for \"BranchIsMain\"";
  auto success = condition("e1", "Deploy", ConditionType::kOnSuccess, 1, 200);
  auto failure = condition("e1", "Build", ConditionType::kOnFailure, 1, 300);
  failure.status = ConditionExecutionStatus::kErrored;
  // A retried stage evaluates its beforeEntry condition again: a new row.
  auto retried_entry = condition("e1", "Deploy", ConditionType::kBeforeEntry, 2, 400);
  retried_entry.status = ConditionExecutionStatus::kOverridden;
  for (const auto& c : {entry, success, failure, retried_entry})
    ASSERT_TRUE(store_->upsert_condition_execution(c).ok());

  entry.status = ConditionExecutionStatus::kFailed;
  entry.summary = "rule BranchIsMain failed";
  entry.started_ms = 110;
  entry.updated_ms = 150;
  ASSERT_TRUE(store_->upsert_condition_execution(entry).ok());

  auto listed = store_->list_condition_executions("e1");
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_EQ(*listed,
            (std::vector<model::ConditionExecutionRecord>{entry, success, failure, retried_entry}));
  auto other = store_->list_condition_executions("e2");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_F(SqliteStoreTest, AConditionExecutionOfAMissingExecutionIsNotFound) {
  auto stored =
      store_->upsert_condition_execution(condition("ghost", "Deploy", ConditionType::kOnSuccess));
  EXPECT_EQ(stored.code(), StatusCode::kNotFound);
  EXPECT_EQ(stored.message(),
            "store ON_SUCCESS condition execution of stage 'Deploy' (attempt 1) of pipeline "
            "execution ghost: no pipeline execution has this id");
}

// ---- Rule executions -------------------------------------------------------------

TEST_F(SqliteStoreTest, RuleExecutionRoundTripsEveryFieldWithAndWithoutOwnerAndVersion) {
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
  model::RuleExecutionRecord full;
  full.id = "r1";
  full.execution_id = "e1";
  full.pipeline_name = "app";
  full.stage_name = "Deploy";
  full.condition_type = ConditionType::kOnFailure;
  full.stage_attempt = 3;
  full.rule_name = "NoAlarm";
  full.rule_type_id = {model::RuleCategory::kRule, model::RuleOwner::kAws, "CloudWatchAlarm",
                       std::string("1")};
  full.status = RuleExecutionStatus::kFailed;
  full.summary = "alarm \"HighErrors\" is in ALARM";
  full.external_execution_id = "check-42";
  full.resolved_configuration = {{"AlarmName", "HighErrors"}, {"WaitTime", "5"}};
  full.error_code = "JobFailed";
  full.error_message = "caf\xc3\xa9 \\ \n";
  full.started_ms = 1700000000123;
  full.updated_ms = 1700000000456;
  // The declaration may leave owner and version out.
  model::RuleExecutionRecord bare = rule("r2", "e1", 500);
  bare.rule_type_id = {model::RuleCategory::kRule, std::nullopt, "DeploymentWindow", std::nullopt};
  ASSERT_TRUE(store_->insert_rule_execution(full).ok());
  ASSERT_TRUE(store_->insert_rule_execution(bare).ok());

  auto got = store_->get_rule_execution("r1");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == full);
  auto got_bare = store_->get_rule_execution("r2");
  ASSERT_TRUE(got_bare.ok()) << got_bare.status().message();
  EXPECT_TRUE(*got_bare == bare);
  EXPECT_FALSE(got_bare->rule_type_id.owner.has_value());
  EXPECT_FALSE(got_bare->rule_type_id.version.has_value());
}

TEST_F(SqliteStoreTest, UpdatingARuleExecutionChangesOnlyItsRunTimeFields) {
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
  auto r = rule("r1", "e1", 100);
  ASSERT_TRUE(store_->insert_rule_execution(r).ok());

  auto changed = r;
  changed.status = RuleExecutionStatus::kSucceeded;
  changed.summary = "main == main";
  changed.external_execution_id = "x-1";
  changed.resolved_configuration = {{"Variable", "main"}, {"Value", "main"}, {"Operator", "EQ"}};
  changed.error_code = "none";
  changed.error_message = "none either";
  changed.updated_ms = 900;
  // Fixed at insert: these are ignored.
  changed.stage_name = "Elsewhere";
  changed.condition_type = ConditionType::kOnSuccess;
  changed.stage_attempt = 7;
  changed.rule_name = "Renamed";
  changed.rule_type_id.provider = "Commands";
  changed.started_ms = 5;
  ASSERT_TRUE(store_->update_rule_execution(changed).ok());

  auto expected = r;
  expected.status = changed.status;
  expected.summary = changed.summary;
  expected.external_execution_id = changed.external_execution_id;
  expected.resolved_configuration = changed.resolved_configuration;
  expected.error_code = changed.error_code;
  expected.error_message = changed.error_message;
  expected.updated_ms = changed.updated_ms;
  auto got = store_->get_rule_execution("r1");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == expected);
}

TEST_F(SqliteStoreTest, ARuleExecutionNeedsItsPipelineExecutionAFreeIdAndTheRightPipeline) {
  auto orphan = store_->insert_rule_execution(rule("r1", "ghost"));
  EXPECT_EQ(orphan.code(), StatusCode::kNotFound);
  EXPECT_EQ(orphan.message(),
            "insert rule execution r1 (rule 'BranchIsMain' of stage 'Deploy' of pipeline "
            "execution ghost): no pipeline execution has this id");

  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("r1", "e1")).ok());
  auto taken = store_->insert_rule_execution(rule("r1", "e1"));
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(),
            "insert rule execution r1 (rule 'BranchIsMain' of stage 'Deploy' of pipeline "
            "execution e1): UNIQUE constraint failed: rule_executions.id");

  auto misfiled = store_->insert_rule_execution(rule("r2", "e1", 3000, "lib"));
  EXPECT_EQ(misfiled.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(misfiled.message(),
            "insert rule execution r2 (rule 'BranchIsMain' of stage 'Deploy' of pipeline "
            "execution e1): the record names pipeline 'lib', but the execution is of pipeline "
            "'app'");

  auto missing = store_->get_rule_execution("r2");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "get rule execution r2: no rule execution has this id");
  auto update = store_->update_rule_execution(rule("r2", "e1"));
  EXPECT_EQ(update.code(), StatusCode::kNotFound);
  EXPECT_EQ(update.message(), "update rule execution r2: no rule execution has this id");
}

TEST_F(SqliteStoreTest, RuleExecutionsOfAnExecutionListInInsertionOrder) {
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e2", "app")).ok());
  // Insertion order, not start time: a clock that went back changes nothing.
  ASSERT_TRUE(store_->insert_rule_execution(rule("late", "e1", 300)).ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("other", "e2", 200)).ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("early", "e1", 100)).ok());
  auto retry = rule("retry", "e1", 200);
  retry.stage_attempt = 2;
  ASSERT_TRUE(store_->insert_rule_execution(retry).ok());

  auto listed = store_->list_rule_executions("e1");
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  std::vector<std::string> ids;
  for (const auto& r : *listed) ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"late", "early", "retry"}));
  EXPECT_EQ((*listed)[2].stage_attempt, 2);
  auto none = store_->list_rule_executions("ghost");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(SqliteStoreTest, RuleExecutionsOfAPipelineListNewestFirstAcrossPagesEvenWithEqualTimes) {
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app", 100)).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e2", "app", 200)).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("x1", "lib", 200)).ok());
  // r3, r4 and r5 start in the same millisecond, so do r1 and r2: insertion
  // order breaks the ties, also where a page ends between them.
  ASSERT_TRUE(store_->insert_rule_execution(rule("r1", "e1", 110)).ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("r2", "e1", 110)).ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("r3", "e2", 210)).ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("x", "x1", 210, "lib")).ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("r4", "e2", 210)).ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("r5", "e2", 210)).ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("r6", "e2", 250)).ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("r0", "e1", 50)).ok());

  std::vector<std::string> ids;
  std::vector<size_t> page_sizes;
  std::string key;
  do {
    auto page = store_->list_rule_executions_by_pipeline("app", 2, key);
    ASSERT_TRUE(page.ok()) << page.status().message();
    page_sizes.push_back(page->items.size());
    for (const auto& r : page->items) ids.push_back(r.id);
    key = page->next_key;
  } while (!key.empty());
  EXPECT_EQ(ids, (std::vector<std::string>{"r6", "r5", "r4", "r3", "r2", "r1", "r0"}));
  EXPECT_EQ(page_sizes, (std::vector<size_t>{2, 2, 2, 1}));

  auto lib = store_->list_rule_executions_by_pipeline("lib", 10, "");
  ASSERT_TRUE(lib.ok());
  ASSERT_EQ(lib->items.size(), 1u);
  EXPECT_EQ(lib->items[0].id, "x");
  EXPECT_EQ(lib->next_key, "");
  auto bad_key = store_->list_rule_executions_by_pipeline("app", 2, "not-a-key");
  EXPECT_EQ(bad_key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_key.status().message(),
            "list rule executions of pipeline 'app': continuation key 'not-a-key' was not "
            "issued by this store");
}

TEST_F(SqliteStoreTest, DeletingAPipelineKeepsItsConditionAndRuleExecutions) {
  ASSERT_TRUE(store_->create_pipeline(pipeline("app")).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
  ASSERT_TRUE(
      store_->upsert_condition_execution(condition("e1", "Deploy", ConditionType::kBeforeEntry))
          .ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("r1", "e1")).ok());

  ASSERT_TRUE(store_->delete_pipeline("app").ok());
  EXPECT_EQ(store_->list_condition_executions("e1")->size(), 1u);
  EXPECT_TRUE(store_->get_rule_execution("r1").ok());
  auto page = store_->list_rule_executions_by_pipeline("app", 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "r1");
}

// ---- Jobs ------------------------------------------------------------------------

TEST_F(SqliteStoreTest, JobRoundTripsEveryField) {
  add_parents();
  auto j = job("j1", "a1", kCustomBuild, 500);
  j.nonce = "n";
  j.claimed_by = "worker";
  j.continuation_token = "page-2";
  j.status = JobStatus::kCreated;
  ASSERT_TRUE(store_->insert_job(j).ok());
  auto got = store_->get_job("j1");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == j);
  EXPECT_EQ(store_->insert_job(j).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->insert_job(job("j2", "ghost", kCustomBuild, 1)).code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ClaimTakesTheOldestQueuedJobsOfTheRequestedTypes) {
  add_parents();
  ASSERT_TRUE(store_->insert_job(job("test-old", "a1", kCustomTest, 100)).ok());
  ASSERT_TRUE(store_->insert_job(job("build-new", "a1", kCustomBuild, 300)).ok());
  ASSERT_TRUE(store_->insert_job(job("build-old", "a1", kCustomBuild, 200)).ok());
  auto created = job("build-created", "a1", kCustomBuild, 50);
  created.status = JobStatus::kCreated;
  ASSERT_TRUE(store_->insert_job(created).ok());

  auto first = store_->claim_jobs({kCustomBuild}, "worker-1", 1, 1000);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_EQ(first->size(), 1u);
  const auto& claimed = (*first)[0];
  EXPECT_EQ(claimed.id, "build-old");
  EXPECT_EQ(claimed.status, JobStatus::kDispatched);
  EXPECT_EQ(claimed.claimed_by, "worker-1");
  EXPECT_EQ(claimed.updated_ms, 1000);
  EXPECT_EQ(claimed.nonce.size(), 32u);
  EXPECT_TRUE(*store_->get_job("build-old") == claimed);

  auto rest = store_->claim_jobs({kCustomBuild, kCustomTest, kCustomBuild}, "worker-2", 10, 2000);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].id, "test-old");
  EXPECT_EQ((*rest)[1].id, "build-new");
  EXPECT_NE((*rest)[1].nonce, claimed.nonce);

  auto none = store_->claim_jobs({kCustomBuild, kCustomTest}, "worker-3", 10, 3000);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(SqliteStoreTest, ClaimFindsNothingForATypeWithNoQueuedJob) {
  add_parents();
  ASSERT_TRUE(store_->insert_job(job("j1", "a1", kCustomBuild, 100)).ok());
  auto other_version = kCustomBuild;
  other_version.version = "2";
  auto claimed = store_->claim_jobs({other_version, kCustomTest}, "w", 5, 1);
  ASSERT_TRUE(claimed.ok());
  EXPECT_TRUE(claimed->empty());
  auto nothing_asked = store_->claim_jobs({}, "w", 5, 1);
  ASSERT_TRUE(nothing_asked.ok());
  EXPECT_TRUE(nothing_asked->empty());
}

// Each worker claims one job at a time until none is left; every job must
// be claimed exactly once, by the worker the store says claimed it. A claim
// refused with "database is locked" (two connections, no busy timeout) is
// retried at once, so both workers keep hitting the database together.
void expect_each_job_claimed_once(StoreReader& reader, Store& first, Store& second, int jobs) {
  std::vector<std::string> by_first, by_second;
  std::latch start(2);
  auto work = [&start](Store& store, const std::string& name, std::vector<std::string>& out) {
    start.arrive_and_wait();
    for (;;) {
      auto claimed = store.claim_jobs({kCustomBuild}, name, 1, 7);
      if (!claimed.ok() && claimed.status().message().ends_with("database is locked")) {
        std::this_thread::yield();
        continue;
      }
      ASSERT_TRUE(claimed.ok()) << claimed.status().message();
      if (claimed->empty()) return;
      for (const auto& j : *claimed) out.push_back(j.id);
    }
  };
  std::thread t1(work, std::ref(first), "first", std::ref(by_first));
  std::thread t2(work, std::ref(second), "second", std::ref(by_second));
  t1.join();
  t2.join();

  std::set<std::string> all(by_first.begin(), by_first.end());
  all.insert(by_second.begin(), by_second.end());
  EXPECT_EQ(all.size(), by_first.size() + by_second.size()) << "a job was claimed twice";
  EXPECT_EQ(static_cast<int>(all.size()), jobs);
  for (const auto& id : by_first) EXPECT_EQ(reader.get_job(id)->claimed_by, "first");
  for (const auto& id : by_second) EXPECT_EQ(reader.get_job(id)->claimed_by, "second");
}

TEST_F(SqliteStoreTest, TwoThreadsClaimingFromOneStoreNeverGetTheSameJob) {
  add_parents();
  constexpr int kJobs = 300;
  for (int i = 0; i < kJobs; ++i)
    ASSERT_TRUE(store_->insert_job(job("j" + std::to_string(i), "a1", kCustomBuild, i)).ok());
  expect_each_job_claimed_once(*store_, *store_, *store_, kJobs);
}

TEST(SqliteStoreFileTest, TwoConnectionsToOneFileNeverClaimTheSameJob) {
  TempDatabase file;
  const SqliteStore::Options no_wait{SqliteStore::Synchronous::kNormal,
                                     std::chrono::milliseconds(0)};
  auto first = open_or_die(file.path(), no_wait);
  auto second = open_or_die(file.path(), no_wait);
  ASSERT_TRUE(first->create_pipeline(pipeline("app")).ok());
  ASSERT_TRUE(first->insert_pipeline_execution(execution("e1", "app")).ok());
  ASSERT_TRUE(first->insert_action_execution(action("a1", "e1")).ok());
  constexpr int kJobs = 200;
  ASSERT_TRUE(first
                  ->write([&](StoreWriter& w) {
                    for (int i = 0; i < kJobs; ++i) {
                      auto inserted =
                          w.insert_job(job("j" + std::to_string(i), "a1", kCustomBuild, i));
                      if (!inserted.ok()) return inserted;
                    }
                    return Status();
                  })
                  .ok());
  expect_each_job_claimed_once(*first, *first, *second, kJobs);
}

TEST_F(SqliteStoreTest, AcknowledgingWithAWrongNonceFails) {
  add_parents();
  ASSERT_TRUE(store_->insert_job(job("j1", "a1", kCustomBuild, 1)).ok());
  auto claimed = store_->claim_jobs({kCustomBuild}, "w", 1, 2);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);

  auto acknowledged = store_->acknowledge_job("j1", "not-the-nonce", 3);
  ASSERT_FALSE(acknowledged.ok());
  EXPECT_EQ(acknowledged.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(acknowledged.status().message(),
            "acknowledge job j1: the nonce does not match the job's current claim");
  EXPECT_EQ(store_->get_job("j1")->status, JobStatus::kDispatched);
}

TEST_F(SqliteStoreTest, AcknowledgingMovesTheJobToInProgressAndMayBeRepeated) {
  add_parents();
  ASSERT_TRUE(store_->insert_job(job("j1", "a1", kCustomBuild, 1)).ok());
  auto not_claimed = store_->acknowledge_job("j1", "", 2);
  EXPECT_EQ(not_claimed.status().code(), StatusCode::kFailedPrecondition);

  auto claimed = store_->claim_jobs({kCustomBuild}, "w", 1, 2);
  ASSERT_TRUE(claimed.ok());
  const std::string nonce = (*claimed)[0].nonce;
  auto acknowledged = store_->acknowledge_job("j1", nonce, 3);
  ASSERT_TRUE(acknowledged.ok()) << acknowledged.status().message();
  EXPECT_EQ(acknowledged->status, JobStatus::kInProgress);
  EXPECT_EQ(acknowledged->updated_ms, 3);
  EXPECT_TRUE(*store_->get_job("j1") == *acknowledged);

  auto again = store_->acknowledge_job("j1", nonce, 4);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->updated_ms, 3);
  EXPECT_EQ(store_->acknowledge_job("ghost", nonce, 4).status().message(),
            "acknowledge job ghost: no job has this id");
}

TEST_F(SqliteStoreTest, CompletionIsIdempotentForTheSameOutcomeOnly) {
  add_parents();
  ASSERT_TRUE(store_->insert_job(job("j1", "a1", kCustomBuild, 1)).ok());
  auto claimed = store_->claim_jobs({kCustomBuild}, "w", 1, 2);
  ASSERT_TRUE(claimed.ok());
  ASSERT_TRUE(store_->acknowledge_job("j1", (*claimed)[0].nonce, 3).ok());

  auto done = store_->complete_job("j1", JobStatus::kSucceeded, 4);
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(done->status, JobStatus::kSucceeded);
  auto repeated = store_->complete_job("j1", JobStatus::kSucceeded, 5);
  ASSERT_TRUE(repeated.ok());
  EXPECT_EQ(repeated->updated_ms, 4);

  auto contradicted = store_->complete_job("j1", JobStatus::kFailed, 6);
  ASSERT_FALSE(contradicted.ok());
  EXPECT_EQ(contradicted.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(contradicted.status().message(),
            "complete job j1 as Failed: the job is Succeeded, not in progress");
  EXPECT_EQ(store_->get_job("j1")->status, JobStatus::kSucceeded);
}

TEST_F(SqliteStoreTest, ASuccessForAJobNoWorkerAcknowledgedIsRefusedButATimeoutIsNot) {
  add_parents();
  ASSERT_TRUE(store_->insert_job(job("j1", "a1", kCustomBuild, 1)).ok());
  auto early = store_->complete_job("j1", JobStatus::kSucceeded, 2);
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  auto timed_out = store_->complete_job("j1", JobStatus::kTimedOut, 3);
  ASSERT_TRUE(timed_out.ok()) << timed_out.status().message();
  EXPECT_EQ(timed_out->status, JobStatus::kTimedOut);
}

TEST_F(SqliteStoreTest, JobsListByStatusOldestFirst) {
  add_parents();
  ASSERT_TRUE(store_->insert_job(job("late", "a1", kCustomBuild, 20)).ok());
  ASSERT_TRUE(store_->insert_job(job("early", "a1", kCustomTest, 10)).ok());
  auto created = job("created", "a1", kCustomBuild, 5);
  created.status = JobStatus::kCreated;
  ASSERT_TRUE(store_->insert_job(created).ok());

  auto queued = store_->list_jobs_by_status({JobStatus::kQueued});
  ASSERT_TRUE(queued.ok()) << queued.status().message();
  ASSERT_EQ(queued->size(), 2u);
  EXPECT_EQ((*queued)[0].id, "early");
  EXPECT_EQ((*queued)[1].id, "late");
  auto none = store_->list_jobs_by_status({JobStatus::kInProgress, JobStatus::kDispatched});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// ---- Artifacts -------------------------------------------------------------------

TEST_F(SqliteStoreTest, AnArtifactRoundTripsAndARetryOverwritesIt) {
  add_parents();
  model::ArtifactRecord a{
      "e1",    "BuildOutput", {"artifacts", "app/BuildOutp/abc.zip", "v1", "etag-1"},
      "Build", "Compile",     12345,
      100};
  ASSERT_TRUE(store_->put_artifact(a).ok());
  auto got = store_->get_artifact("e1", "BuildOutput");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == a);

  auto retried = a;
  retried.location.key = "app/BuildOutp/def.zip";
  retried.location.version_id = "v2";
  retried.size_bytes = 999;
  retried.created_ms = 200;
  ASSERT_TRUE(store_->put_artifact(retried).ok());
  model::ArtifactRecord src{
      "e1", "Src", {"artifacts", "app/Src/1.zip", "", ""}, "Source", "Checkout", 1, 50};
  ASSERT_TRUE(store_->put_artifact(src).ok());

  auto all = store_->list_artifacts("e1");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<model::ArtifactRecord>{retried, src}));
  EXPECT_EQ(store_->get_artifact("e1", "Nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->put_artifact({"ghost", "X", {}, "", "", 0, 0}).code(), StatusCode::kNotFound);
}

// ---- Transitions -----------------------------------------------------------------

TEST_F(SqliteStoreTest, TransitionsKeepTheirLatestStateAndAbsentOnesAreNotListed) {
  ASSERT_TRUE(store_->create_pipeline(pipeline("app")).ok());
  auto none = store_->list_transitions("app");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  model::TransitionRecord disabled{
      "app", "Build", false, "release freeze", "arn:aws:iam::111111111111:user/johndoe", 10};
  ASSERT_TRUE(store_->set_transition(disabled).ok());
  auto listed = store_->list_transitions("app");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, std::vector<model::TransitionRecord>{disabled});

  model::TransitionRecord enabled{"app", "Build", true, "", "arn:aws:iam::111111111111:user/jane",
                                  20};
  ASSERT_TRUE(store_->set_transition(enabled).ok());
  listed = store_->list_transitions("app");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, std::vector<model::TransitionRecord>{enabled});

  EXPECT_EQ(store_->set_transition({"ghost", "Build", false, "", "", 0}).code(),
            StatusCode::kNotFound);
}

// ---- Logs ------------------------------------------------------------------------

TEST_F(SqliteStoreTest, LogSeqIncreasesAcrossBatches) {
  add_parents();
  auto first = store_->append_logs("a1", {{"", 0, 1, "one"}, {"", 0, 2, "two"}, {"", 0, 3, ""}});
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, 3);
  auto second =
      store_->append_logs("a1", {{"ignored", 99, 4, "four"}, {"", 0, 5, "five \xe2\x9c\x93"}});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 5);
  auto empty = store_->append_logs("a1", {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 5);

  auto all = store_->read_logs("a1", 1, 100);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*all)[i].time_ms, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*all)[i].action_execution_id, "a1");
  }
  EXPECT_EQ((*all)[3].text, "four");
  EXPECT_EQ((*all)[4].text, "five \xe2\x9c\x93");
}

TEST_F(SqliteStoreTest, ReadingLogsFromASeqReturnsAtMostLimitLines) {
  add_parents();
  std::vector<model::LogLine> lines;
  for (int i = 1; i <= 10; ++i) lines.push_back({"", 0, i, "line " + std::to_string(i)});
  ASSERT_TRUE(store_->append_logs("a1", lines).ok());

  auto middle = store_->read_logs("a1", 4, 3);
  ASSERT_TRUE(middle.ok());
  ASSERT_EQ(middle->size(), 3u);
  EXPECT_EQ((*middle)[0].text, "line 4");
  EXPECT_EQ((*middle)[2].text, "line 6");
  auto past_the_end = store_->read_logs("a1", 11, 3);
  ASSERT_TRUE(past_the_end.ok());
  EXPECT_TRUE(past_the_end->empty());
}

TEST_F(SqliteStoreTest, AppendingLogsToAMissingActionExecutionIsNotFound) {
  auto appended = store_->append_logs("ghost", {{"", 0, 1, "x"}});
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(appended.status().message(),
            "append 1 log lines to action execution ghost: no action execution has this id");
}

// ---- Access keys -----------------------------------------------------------------

AccessKeyRecord access_key(const std::string& id, model::TimestampMs created_ms = 5000,
                           const std::string& user = "admin") {
  AccessKeyRecord k;
  k.access_key_id = id;
  k.secret = "secret/of+" + id;
  k.principal = "arn:aws:iam::111122223333:user/" + user;
  k.created_ms = created_ms;
  return k;
}

TEST_F(SqliteStoreTest, AnAccessKeyReadsBackAsStoredSecretIncluded) {
  AccessKeyRecord k = access_key("AKIAAAAAAAAAAAAAAAAA");
  ASSERT_TRUE(store_->insert_access_key(k).ok());
  auto got = store_->get_access_key(k.access_key_id);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, k);
  EXPECT_EQ(got->secret, "secret/of+AKIAAAAAAAAAAAAAAAAA");
  EXPECT_TRUE(got->enabled);
  EXPECT_EQ(got->last_used_ms, std::nullopt);

  AccessKeyRecord used = access_key("AKIABBBBBBBBBBBBBBBB");
  used.enabled = false;
  used.last_used_ms = 7000;
  ASSERT_TRUE(store_->insert_access_key(used).ok());
  EXPECT_EQ(*store_->get_access_key(used.access_key_id), used);
}

TEST_F(SqliteStoreTest, AccessKeysAreListedInCreationOrderThenInsertionOrder) {
  ASSERT_TRUE(store_->insert_access_key(access_key("AKIAC", 300)).ok());
  ASSERT_TRUE(store_->insert_access_key(access_key("AKIAB", 100)).ok());
  ASSERT_TRUE(store_->insert_access_key(access_key("AKIAZ", 200)).ok());
  ASSERT_TRUE(store_->insert_access_key(access_key("AKIAA", 200)).ok());
  auto listed = store_->list_access_keys();
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  std::vector<std::string> ids;
  for (const auto& k : *listed) ids.push_back(k.access_key_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"AKIAB", "AKIAZ", "AKIAA", "AKIAC"}));
}

TEST_F(SqliteStoreTest, NoAccessKeysListAsEmpty) {
  auto listed = store_->list_access_keys();
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_TRUE(listed->empty());
}

TEST_F(SqliteStoreTest, InsertingATakenAccessKeyIdFailsWithAlreadyExistsAndKeepsTheFirst) {
  ASSERT_TRUE(store_->insert_access_key(access_key("AKIAX")).ok());
  AccessKeyRecord other = access_key("AKIAX", 9000, "mallory");
  Status taken = store_->insert_access_key(other);
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(), "insert access key 'AKIAX': an access key with this id exists");
  EXPECT_EQ(*store_->get_access_key("AKIAX"), access_key("AKIAX"));
}

TEST_F(SqliteStoreTest, AnUnknownAccessKeyIsNotFoundForEveryOperation) {
  auto got = store_->get_access_key("AKIANOPE");
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(got.status().message(), "get access key 'AKIANOPE': no access key has this id");

  Status disabled = store_->set_access_key_enabled("AKIANOPE", false);
  EXPECT_EQ(disabled.code(), StatusCode::kNotFound);
  EXPECT_EQ(disabled.message(), "disable access key 'AKIANOPE': no access key has this id");

  Status deleted = store_->delete_access_key("AKIANOPE");
  EXPECT_EQ(deleted.code(), StatusCode::kNotFound);
  EXPECT_EQ(deleted.message(), "delete access key 'AKIANOPE': no access key has this id");

  Status touched = store_->touch_access_key("AKIANOPE", 1);
  EXPECT_EQ(touched.code(), StatusCode::kNotFound);
  EXPECT_EQ(touched.message(),
            "record the use of access key 'AKIANOPE': no access key has this id");
}

TEST_F(SqliteStoreTest, DisablingAndEnablingAnAccessKeyChangesOnlyThatKey) {
  ASSERT_TRUE(store_->insert_access_key(access_key("AKIA1", 1)).ok());
  ASSERT_TRUE(store_->insert_access_key(access_key("AKIA2", 2)).ok());
  ASSERT_TRUE(store_->set_access_key_enabled("AKIA1", false).ok());
  EXPECT_FALSE(store_->get_access_key("AKIA1")->enabled);
  EXPECT_TRUE(store_->get_access_key("AKIA2")->enabled);
  EXPECT_TRUE(store_->set_access_key_enabled("AKIA1", false).ok()) << "already disabled is ok";
  ASSERT_TRUE(store_->set_access_key_enabled("AKIA1", true).ok());
  EXPECT_EQ(*store_->get_access_key("AKIA1"), access_key("AKIA1", 1));
}

TEST_F(SqliteStoreTest, ADeletedAccessKeyIsGoneAndItsIdCanBeUsedAgain) {
  ASSERT_TRUE(store_->insert_access_key(access_key("AKIA1", 1)).ok());
  ASSERT_TRUE(store_->insert_access_key(access_key("AKIA2", 2)).ok());
  ASSERT_TRUE(store_->delete_access_key("AKIA1").ok());
  EXPECT_EQ(store_->get_access_key("AKIA1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->list_access_keys()->size(), 1u);
  EXPECT_EQ(store_->delete_access_key("AKIA1").code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->insert_access_key(access_key("AKIA1", 3)).ok());
}

TEST_F(SqliteStoreTest, TouchingAnAccessKeyRecordsTheLatestUseAndNeverGoesBack) {
  ASSERT_TRUE(store_->insert_access_key(access_key("AKIA1")).ok());
  ASSERT_TRUE(store_->touch_access_key("AKIA1", 8000).ok());
  EXPECT_EQ(store_->get_access_key("AKIA1")->last_used_ms, 8000);
  ASSERT_TRUE(store_->touch_access_key("AKIA1", 9000).ok());
  EXPECT_EQ(store_->get_access_key("AKIA1")->last_used_ms, 9000);
  ASSERT_TRUE(store_->touch_access_key("AKIA1", 8500).ok()) << "an older time is not an error";
  EXPECT_EQ(store_->get_access_key("AKIA1")->last_used_ms, 9000);
}

TEST_F(SqliteStoreTest, AccessKeyWritesInsideAFailedTransactionAreRolledBack) {
  ASSERT_TRUE(store_->insert_access_key(access_key("AKIA1")).ok());
  Status failed = store_->write([](StoreWriter& w) {
    auto inserted = w.insert_access_key(access_key("AKIA2"));
    if (!inserted.ok()) return inserted;
    auto deleted = w.delete_access_key("AKIA1");
    if (!deleted.ok()) return deleted;
    EXPECT_EQ(w.list_access_keys()->size(), 1u) << "the transaction sees its own writes";
    return w.delete_access_key("AKIA1");  // gone already: kNotFound
  });
  EXPECT_EQ(failed.code(), StatusCode::kNotFound);
  auto listed = store_->list_access_keys();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0], access_key("AKIA1"));
}

// ---- Custom action types -----------------------------------------------------------

CustomActionTypeRecord custom_type(const std::string& provider, const std::string& version = "1",
                                   model::TimestampMs created_ms = 7000) {
  CustomActionTypeRecord t;
  t.id = {ActionCategory::kBuild, ActionOwner::kCustom, provider, version};
  t.definition_json = R"({"id":{"provider":")" + provider + R"("},"inputArtifactDetails":{}})";
  t.tags = {{"team", "platform"}};
  t.created_ms = created_ms;
  return t;
}

// ---- Service resources -------------------------------------------------------------

ResourceRecord resource(std::string kind, std::string name, std::string doc) {
  return ResourceRecord{"codecommit", std::move(kind), std::move(name), std::move(doc), 10, 10};
}

TEST_F(SqliteStoreTest, AResourceReadsBackAsStoredAndItsNameIsUniqueWithinItsKind) {
  ASSERT_TRUE(store_->insert_resource(resource("repository", "app", R"({"a":1})")).ok());
  auto got = store_->get_resource("codecommit", "repository", "app");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, resource("repository", "app", R"({"a":1})"));
  EXPECT_EQ(store_->insert_resource(resource("repository", "app", "{}")).code(),
            StatusCode::kAlreadyExists);
  // The same name in another kind or service is another resource.
  EXPECT_TRUE(store_->insert_resource(resource("trigger", "app", "{}")).ok());
  EXPECT_TRUE(
      store_->insert_resource(ResourceRecord{"codeconnections", "repository", "app", "{}", 1, 1})
          .ok());
  EXPECT_EQ(store_->get_resource("codecommit", "repository", "other").status().code(),
            StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, UpdatingAResourceKeepsItsCreationTime) {
  ASSERT_TRUE(store_->insert_resource(resource("repository", "app", "{}")).ok());
  ResourceRecord changed = resource("repository", "app", R"({"b":2})");
  changed.created_ms = 99;  // ignored
  changed.updated_ms = 20;
  ASSERT_TRUE(store_->update_resource(changed).ok());
  auto got = store_->get_resource("codecommit", "repository", "app");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->document_json, R"({"b":2})");
  EXPECT_EQ(got->created_ms, 10);
  EXPECT_EQ(got->updated_ms, 20);
  EXPECT_EQ(store_->update_resource(resource("repository", "nope", "{}")).code(),
            StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ResourcesListInNameOrderPageByPage) {
  for (std::string name : {"c", "a", "b", "d", "e"})
    ASSERT_TRUE(store_->insert_resource(resource("repository", name, "{}")).ok());
  ASSERT_TRUE(store_->insert_resource(resource("other", "0", "{}")).ok());
  std::vector<std::string> names;
  std::string key;
  int pages = 0;
  do {
    auto page = store_->list_resources("codecommit", "repository", 2, key);
    ASSERT_TRUE(page.ok()) << page.status().message();
    for (const auto& r : page->items) names.push_back(r.name);
    key = page->next_key;
    ++pages;
  } while (!key.empty());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(pages, 3);
}

TEST_F(SqliteStoreTest, ADeletedResourceIsGoneAndDeletingItAgainIsNotFound) {
  ASSERT_TRUE(store_->insert_resource(resource("repository", "app", "{}")).ok());
  ASSERT_TRUE(store_->delete_resource("codecommit", "repository", "app").ok());
  EXPECT_EQ(store_->get_resource("codecommit", "repository", "app").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->delete_resource("codecommit", "repository", "app").code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(store_->insert_resource(resource("repository", "app", "{}")).ok());
}

TEST_F(SqliteStoreTest, ACustomActionTypeReadsBackAsStoredAndTheOwnerIsAlwaysCustom) {
  CustomActionTypeRecord t = custom_type("Jenkins");
  t.id.owner = ActionOwner::kAws;  // ignored: a custom type's owner is Custom
  auto stored = store_->put_custom_action_type(t);
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  t.id.owner = ActionOwner::kCustom;
  EXPECT_EQ(*stored, t);
  auto got = store_->get_custom_action_type(t.id);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, t);
  EXPECT_FALSE(got->deleted());
  auto other_version = store_->get_custom_action_type(custom_type("Jenkins", "2").id);
  EXPECT_EQ(other_version.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(other_version.status().message(),
            "get custom action type Build/Jenkins/2: no custom action type has this category, "
            "provider and version");
}

TEST_F(SqliteStoreTest, CustomActionTypesListInKeyOrderDeletedOnesIncluded) {
  ASSERT_TRUE(store_->put_custom_action_type(custom_type("Zeta")).ok());
  ASSERT_TRUE(store_->put_custom_action_type(custom_type("Alpha", "2")).ok());
  ASSERT_TRUE(store_->put_custom_action_type(custom_type("Alpha", "1")).ok());
  CustomActionTypeRecord test = custom_type("Alpha");
  test.id.category = ActionCategory::kTest;
  ASSERT_TRUE(store_->put_custom_action_type(test).ok());
  ASSERT_TRUE(store_->mark_custom_action_type_deleted(custom_type("Zeta").id, 9000).ok());
  auto all = store_->list_custom_action_types();
  ASSERT_TRUE(all.ok()) << all.status().message();
  std::vector<std::string> keys;
  for (const auto& t : *all)
    keys.push_back(std::string(model::to_string(t.id.category)) + "/" + t.id.provider + "/" +
                   t.id.version + (t.deleted() ? " deleted" : ""));
  EXPECT_EQ(keys, (std::vector<std::string>{"Build/Alpha/1", "Build/Alpha/2",
                                            "Build/Zeta/1 deleted", "Test/Alpha/1"}));
  EXPECT_EQ((*all)[2].deleted_ms, std::optional<model::TimestampMs>(9000));
}

TEST_F(SqliteStoreTest, CreatingALiveCustomActionTypeAgainFailsWithAlreadyExists) {
  ASSERT_TRUE(store_->put_custom_action_type(custom_type("Jenkins")).ok());
  CustomActionTypeRecord again = custom_type("Jenkins", "1", 8000);
  again.definition_json = "{}";
  auto second = store_->put_custom_action_type(again);
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->get_custom_action_type(again.id)->created_ms, 7000) << "the first is kept";
}

TEST_F(SqliteStoreTest, ADeletedCustomActionTypeStaysReadableAndCannotBeDeletedTwice) {
  const CustomActionTypeRecord t = custom_type("Jenkins");
  EXPECT_EQ(store_->mark_custom_action_type_deleted(t.id, 9000).code(), StatusCode::kNotFound)
      << "never created";
  ASSERT_TRUE(store_->put_custom_action_type(t).ok());
  ASSERT_TRUE(store_->mark_custom_action_type_deleted(t.id, 9000).ok());
  auto got = store_->get_custom_action_type(t.id);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->deleted());
  EXPECT_EQ(got->definition_json, t.definition_json);
  Status again = store_->mark_custom_action_type_deleted(t.id, 9500);
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_EQ(again.message(),
            "delete custom action type Build/Jenkins/1: no live custom action type has this "
            "category, provider and version");
  EXPECT_EQ(store_->get_custom_action_type(t.id)->deleted_ms,
            std::optional<model::TimestampMs>(9000));
}

TEST_F(SqliteStoreTest, TheIdenticalDefinitionRestoresADeletedTypeAndAnotherIsRefused) {
  const CustomActionTypeRecord t = custom_type("Jenkins");
  ASSERT_TRUE(store_->put_custom_action_type(t).ok());
  ASSERT_TRUE(store_->mark_custom_action_type_deleted(t.id, 9000).ok());

  CustomActionTypeRecord different = custom_type("Jenkins", "1", 10000);
  different.definition_json = R"({"id":{"provider":"Jenkins"},"changed":true})";
  auto refused = store_->put_custom_action_type(different);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->get_custom_action_type(t.id)->deleted());

  CustomActionTypeRecord same = custom_type("Jenkins", "1", 10000);
  same.tags = {{"team", "web"}};
  auto restored = store_->put_custom_action_type(same);
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  EXPECT_FALSE(restored->deleted());
  EXPECT_EQ(restored->created_ms, 7000) << "a restored type keeps its creation time";
  EXPECT_EQ(restored->tags, same.tags);
  EXPECT_EQ(*store_->get_custom_action_type(t.id), *restored);
}

TEST_F(SqliteStoreTest, CustomActionTypeWritesInsideAFailedTransactionAreRolledBack) {
  ASSERT_TRUE(store_->put_custom_action_type(custom_type("Keep")).ok());
  Status s = store_->write([](StoreWriter& w) -> Status {
    if (auto put = w.put_custom_action_type(custom_type("Gone")); !put.ok()) return put.status();
    if (Status d = w.mark_custom_action_type_deleted(custom_type("Keep").id, 9000); !d.ok())
      return d;
    return Status::invalid("changed my mind");
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->get_custom_action_type(custom_type("Gone").id).status().code(),
            StatusCode::kNotFound);
  EXPECT_FALSE(store_->get_custom_action_type(custom_type("Keep").id)->deleted());
}

TEST_F(SqliteStoreTest, AMatchingClaimTakesOnlyJobsWhoseResolvedConfigurationHasTheValue) {
  ASSERT_TRUE(store_->create_pipeline(pipeline("app")).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
  const std::vector<std::pair<std::string, model::StringMap>> actions = {
      {"a1", {{"ProjectName", "web"}}},
      {"a2", {{"ProjectName", "api"}}},
      {"a3", {{"ProjectName", "web"}, {"Other", "x"}}},
      {"a4", {{"Other", "web"}}},
      {"a5", {{"ProjectName", "web"}}},  // of another action type
  };
  model::TimestampMs t = 4000;
  for (const auto& [id, config] : actions) {
    model::ActionExecutionRecord a = action(id, "e1");
    a.resolved_configuration = config;
    ASSERT_TRUE(store_->insert_action_execution(a).ok());
    ASSERT_TRUE(
        store_->insert_job(job("j-" + id, id, id == "a5" ? kCustomTest : kCustomBuild, ++t)).ok());
  }
  auto claimed =
      store_->claim_matching_jobs(kCustomBuild, {"ProjectName", "web"}, "worker-web", 10, 5000);
  ASSERT_TRUE(claimed.ok()) << claimed.status().message();
  std::vector<std::string> ids;
  for (const auto& j : *claimed) {
    ids.push_back(j.id);
    EXPECT_EQ(j.status, JobStatus::kDispatched);
    EXPECT_EQ(j.claimed_by, "worker-web");
    EXPECT_FALSE(j.nonce.empty());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"j-a1", "j-a3"}));
  for (const char* untouched : {"j-a2", "j-a4", "j-a5"}) {
    auto j = store_->get_job(untouched);
    ASSERT_TRUE(j.ok());
    EXPECT_EQ(j->status, JobStatus::kQueued) << untouched << " does not match: never claimed";
    EXPECT_EQ(j->claimed_by, "") << untouched;
  }
  EXPECT_TRUE(
      store_->claim_matching_jobs(kCustomBuild, {"ProjectName", "web"}, "w", 10, 5001)->empty());
  EXPECT_TRUE(
      store_->claim_matching_jobs(kCustomBuild, {"ProjectName", "we"}, "w", 10, 5001)->empty())
      << "the value matches exactly, not as a prefix";
  auto api = store_->claim_matching_jobs(kCustomBuild, {"ProjectName", "api"}, "w", 1, 5002);
  ASSERT_TRUE(api.ok());
  ASSERT_EQ(api->size(), 1u);
  EXPECT_EQ(api->at(0).id, "j-a2");
}

TEST_F(SqliteStoreTest, AMatchingClaimTakesAtMostMaxJobsOldestFirst) {
  ASSERT_TRUE(store_->create_pipeline(pipeline("app")).ok());
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
  for (int i = 0; i < 3; ++i) {
    model::ActionExecutionRecord a = action("a" + std::to_string(i), "e1");
    a.resolved_configuration = {{"Queue", "q"}};
    ASSERT_TRUE(store_->insert_action_execution(a).ok());
    ASSERT_TRUE(
        store_->insert_job(job("j" + std::to_string(i), a.id, kCustomBuild, 6000 - i)).ok());
  }
  auto claimed = store_->claim_matching_jobs(kCustomBuild, {"Queue", "q"}, "w", 2, 7000);
  ASSERT_TRUE(claimed.ok()) << claimed.status().message();
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ(claimed->at(0).id, "j2");
  EXPECT_EQ(claimed->at(1).id, "j1");
}

// ---- Transactions ----------------------------------------------------------------

TEST_F(SqliteStoreTest, AFailedTransactionLeavesNothing) {
  auto written = store_->write([](StoreWriter& w) {
    auto created = w.create_pipeline(pipeline("app"));
    if (!created.ok()) return created.status();
    auto inserted = w.insert_pipeline_execution(execution("e1", "app"));
    if (!inserted.ok()) return inserted;
    return Status::invalid("the engine changed its mind");
  });
  EXPECT_EQ(written.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(written.message(), "the engine changed its mind");
  EXPECT_EQ(store_->get_pipeline("app").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->get_pipeline_execution("e1").status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, AWriteThatFailsInsideATransactionUndoesTheEarlierOnes) {
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("taken", "app")).ok());
  auto written = store_->write([](StoreWriter& w) {
    auto first = w.insert_pipeline_execution(execution("new", "app"));
    if (!first.ok()) return first;
    return w.insert_pipeline_execution(execution("taken", "app"));
  });
  EXPECT_EQ(written.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(written.message(),
            "insert pipeline execution taken: UNIQUE constraint failed: pipeline_executions.id");
  EXPECT_EQ(store_->get_pipeline_execution("new").status().code(), StatusCode::kNotFound);
  // The store is usable after the rollback.
  EXPECT_TRUE(store_->insert_pipeline_execution(execution("after", "app")).ok());
}

TEST_F(SqliteStoreTest, AFailedTransactionUndoesItsConditionAndRuleExecutions) {
  ASSERT_TRUE(store_->insert_pipeline_execution(execution("e1", "app")).ok());
  ASSERT_TRUE(store_->insert_rule_execution(rule("taken", "e1", 100)).ok());
  auto kept = condition("e1", "Deploy", ConditionType::kBeforeEntry, 1, 100);
  ASSERT_TRUE(store_->upsert_condition_execution(kept).ok());

  auto written = store_->write([](StoreWriter& w) {
    auto replaced = condition("e1", "Deploy", ConditionType::kBeforeEntry, 1, 100);
    replaced.status = ConditionExecutionStatus::kSucceeded;
    auto stored = w.upsert_condition_execution(replaced);
    if (!stored.ok()) return stored;
    stored = w.upsert_condition_execution(condition("e1", "Deploy", ConditionType::kOnSuccess));
    if (!stored.ok()) return stored;
    auto finished = rule("taken", "e1", 100);
    finished.status = RuleExecutionStatus::kSucceeded;
    stored = w.update_rule_execution(finished);
    if (!stored.ok()) return stored;
    stored = w.insert_rule_execution(rule("new", "e1", 200));
    if (!stored.ok()) return stored;
    // Seen inside the transaction...
    auto listed = w.list_rule_executions("e1");
    if (!listed.ok()) return listed.status();
    if (listed->size() != 2) return Status::internal("the transaction cannot see its own rule");
    return w.insert_rule_execution(rule("taken", "e1", 300));
  });
  EXPECT_EQ(written.code(), StatusCode::kAlreadyExists);

  // ...and gone after the rollback.
  auto conditions = store_->list_condition_executions("e1");
  ASSERT_TRUE(conditions.ok());
  EXPECT_EQ(*conditions, std::vector<model::ConditionExecutionRecord>{kept});
  auto rules = store_->list_rule_executions("e1");
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_TRUE((*rules)[0] == rule("taken", "e1", 100));
}

TEST_F(SqliteStoreTest, ATransactionCommitsEveryWriteTogetherAndSeesItsOwnWrites) {
  auto written = store_->write([](StoreWriter& w) {
    auto inserted = w.insert_pipeline_execution(execution("e1", "app"));
    if (!inserted.ok()) return inserted;
    auto read_back = w.get_pipeline_execution("e1");
    if (!read_back.ok()) return read_back.status();
    auto stage = w.upsert_stage_execution(
        {"e1", "Source", model::StageExecutionStatus::kInProgress, 1, 1, 1});
    if (!stage.ok()) return stage;
    return w.insert_action_execution(action("a1", "e1"));
  });
  ASSERT_TRUE(written.ok()) << written.message();
  EXPECT_TRUE(store_->get_pipeline_execution("e1").ok());
  EXPECT_EQ(store_->list_stage_executions("e1")->size(), 1u);
  EXPECT_TRUE(store_->get_action_execution("a1").ok());
}

TEST_F(SqliteStoreTest, CallingTheStoreFromInsideItsOwnWriteCallbackAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(static_cast<void>(store_->write([&](StoreWriter&) {
                 return store_->insert_pipeline_execution(execution("e1", "app"));
               })),
               "store_called_from_inside_its_write_callback");
}

// ---- Files -----------------------------------------------------------------------

TEST(SqliteStoreFileTest, ReopeningAFileKeepsTheDataAndTheSchemaVersion) {
  TempDatabase file;
  {
    auto store = open_or_die(file.path(), {SqliteStore::Synchronous::kFull});
    ASSERT_TRUE(store->create_pipeline(pipeline("app")).ok());
    ASSERT_TRUE(store->insert_pipeline_execution(execution("e1", "app")).ok());
    EXPECT_EQ(*store->schema_version(), SqliteStore::latest_schema_version());
  }
  for (int i = 0; i < 2; ++i) {
    auto store = open_or_die(file.path());
    EXPECT_EQ(*store->schema_version(), SqliteStore::latest_schema_version());
    EXPECT_EQ(store->get_pipeline("app")->declaration.name, "app");
    EXPECT_TRUE(store->get_pipeline_execution("e1").ok());
  }
  RawDatabase raw(file.path());
  EXPECT_EQ(raw.query_text("SELECT count(*) FROM schema_version"),
            std::to_string(SqliteStore::latest_schema_version()))
      << "a migration was applied twice";
  EXPECT_EQ(raw.query_text("PRAGMA journal_mode"), "wal");
}

TEST(SqliteStoreFileTest, AVersionOneDatabaseWithDataIsUpgradedInPlace) {
  TempDatabase file;
  {
    // The file as a build that knew only migration 1 left it.
    RawDatabase raw(file.path());
    ASSERT_EQ(migrations()[0].version, 1);
    raw.exec(migrations()[0].sql);
    raw.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    raw.exec("INSERT INTO schema_version VALUES (1, 'initial schema', 0)");
    raw.exec(
        "INSERT INTO pipeline_executions (id, pipeline_name, pipeline_version, status,"
        " status_summary, execution_mode, execution_type, trigger_type, trigger_detail,"
        " client_request_token, variables_json, source_revisions_json,"
        " rollback_target_execution_id, stop_reason, created_at_ms, updated_at_ms) VALUES"
        " ('e1', 'app', 1, 'Succeeded', '', 'SUPERSEDED', 'STANDARD', 'StartPipelineExecution',"
        " 'me', NULL, '[]', '[]', '', '', 100, 200)");
    raw.exec(
        "INSERT INTO action_executions (id, execution_id, pipeline_name, stage_name, action_name,"
        " attempt, status, summary, external_execution_id, external_execution_url,"
        " resolved_configuration_json, output_variables_json, error_code, error_message, job_id,"
        " started_at_ms, updated_at_ms) VALUES ('a1', 'e1', 'app', 'Build', 'Build', 1,"
        " 'Succeeded', '', '', '', '{}', '{}', '', '', '', 110, 190)");
    EXPECT_EQ(raw.query_text("SELECT count(*) FROM sqlite_master WHERE name = 'rule_executions'"),
              "0");
  }

  auto store = open_or_die(file.path());
  EXPECT_EQ(*store->schema_version(), SqliteStore::latest_schema_version());
  auto e1 = store->get_pipeline_execution("e1");
  ASSERT_TRUE(e1.ok()) << e1.status().message();
  EXPECT_EQ(e1->status, PipelineExecutionStatus::kSucceeded);
  EXPECT_EQ(e1->trigger_detail, "me");
  auto a1 = store->get_action_execution("a1");
  ASSERT_TRUE(a1.ok()) << a1.status().message();
  EXPECT_EQ(a1->updated_ms, 190);
  EXPECT_EQ(e1->rollback_stage_name, "") << "migration 3 fills the new column";

  // The new tables work, and their foreign keys reach the old rows.
  auto c = condition("e1", "Deploy", ConditionType::kBeforeEntry);
  ASSERT_TRUE(store->upsert_condition_execution(c).ok());
  ASSERT_TRUE(store->insert_rule_execution(rule("r1", "e1")).ok());
  EXPECT_EQ(*store->list_condition_executions("e1"),
            std::vector<model::ConditionExecutionRecord>{c});
  EXPECT_TRUE(*store->get_rule_execution("r1") == rule("r1", "e1"));
  store.reset();

  RawDatabase raw(file.path());
  EXPECT_EQ(raw.query_text("SELECT group_concat(version || ':' || description, ', ')"
                           " FROM (SELECT * FROM schema_version ORDER BY version)"),
            "1:initial schema, 2:condition and rule executions, "
            "3:rollback stage of an execution, 4:access keys, 5:custom action types, 6:event log, "
            "7:service resources and third-party job clients, 8:manual approvals");
  EXPECT_EQ(raw.query_text("PRAGMA foreign_key_check"), "") << "a row lost its parent";
}

TEST(SqliteStoreFileTest, AVersionThreeDatabaseWithDataIsUpgradedToAccessKeysInPlace) {
  TempDatabase file;
  {
    // The file as a build that knew migrations 1 to 3 left it.
    RawDatabase raw(file.path());
    for (const Migration& m : migrations()) {
      if (m.version > 3) break;
      raw.exec(m.sql);
      raw.exec("INSERT INTO schema_version VALUES (" + std::to_string(m.version) + ", '" +
               m.description + "', 0)");
    }
    raw.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    raw.exec(
        "INSERT INTO pipeline_executions (id, pipeline_name, pipeline_version, status,"
        " status_summary, execution_mode, execution_type, trigger_type, trigger_detail,"
        " client_request_token, variables_json, source_revisions_json,"
        " rollback_target_execution_id, rollback_stage_name, stop_reason, created_at_ms,"
        " updated_at_ms) VALUES ('e1', 'app', 1, 'Succeeded', '', 'SUPERSEDED', 'ROLLBACK',"
        " 'AutomatedRollback', 'me', NULL, '[]', '[]', 'e0', 'Deploy', '', 100, 200)");
    raw.exec(
        "INSERT INTO condition_executions (execution_id, stage_name, condition_type,"
        " stage_attempt, status, summary, started_at_ms, updated_at_ms) VALUES"
        " ('e1', 'Deploy', 'BEFORE_ENTRY', 1, 'Succeeded', '', 110, 120)");
    EXPECT_EQ(raw.query_text("SELECT count(*) FROM sqlite_master WHERE name = 'access_keys'"), "0");
  }

  auto store = open_or_die(file.path());
  EXPECT_EQ(*store->schema_version(), SqliteStore::latest_schema_version());
  auto e1 = store->get_pipeline_execution("e1");
  ASSERT_TRUE(e1.ok()) << e1.status().message();
  EXPECT_EQ(e1->status, PipelineExecutionStatus::kSucceeded);
  EXPECT_EQ(e1->rollback_target_execution_id, "e0");
  EXPECT_EQ(e1->rollback_stage_name, "Deploy");
  auto conditions = store->list_condition_executions("e1");
  ASSERT_TRUE(conditions.ok()) << conditions.status().message();
  ASSERT_EQ(conditions->size(), 1u);
  EXPECT_EQ((*conditions)[0].updated_ms, 120);

  EXPECT_TRUE(store->list_access_keys()->empty());
  AccessKeyRecord k = access_key("AKIA1");
  ASSERT_TRUE(store->insert_access_key(k).ok());
  ASSERT_TRUE(store->touch_access_key("AKIA1", 6000).ok());
  store.reset();

  auto reopened = open_or_die(file.path());
  k.last_used_ms = 6000;
  EXPECT_EQ(*reopened->get_access_key("AKIA1"), k);
  reopened.reset();
  RawDatabase raw(file.path());
  EXPECT_EQ(raw.query_text("SELECT group_concat(version || ':' || description, ', ') FROM"
                           " (SELECT * FROM schema_version WHERE version >= 3 ORDER BY version)"),
            "3:rollback stage of an execution, 4:access keys, 5:custom action types, 6:event log, "
            "7:service resources and third-party job clients, 8:manual approvals");
}

TEST(SqliteStoreFileTest, AVersionFourDatabaseWithDataIsUpgradedToCustomActionTypesInPlace) {
  TempDatabase file;
  {
    // The file as a build that knew migrations 1 to 4 left it.
    RawDatabase raw(file.path());
    for (const Migration& m : migrations()) {
      if (m.version > 4) break;
      raw.exec(m.sql);
      raw.exec("INSERT INTO schema_version VALUES (" + std::to_string(m.version) + ", '" +
               m.description + "', 0)");
    }
    raw.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    raw.exec(
        "INSERT INTO access_keys (access_key_id, secret, principal, enabled, created_at_ms,"
        " last_used_at_ms) VALUES ('AKIA1', 's', 'arn:aws:iam::111122223333:user/admin', 1,"
        " 5000, 6000)");
    raw.exec(
        "INSERT INTO pipeline_executions (id, pipeline_name, pipeline_version, status,"
        " status_summary, execution_mode, execution_type, trigger_type, trigger_detail,"
        " client_request_token, variables_json, source_revisions_json,"
        " rollback_target_execution_id, rollback_stage_name, stop_reason, created_at_ms,"
        " updated_at_ms) VALUES ('e1', 'app', 1, 'InProgress', '', 'SUPERSEDED', 'STANDARD',"
        " 'StartPipelineExecution', 'me', NULL, '[]', '[]', '', '', '', 100, 200)");
    EXPECT_EQ(
        raw.query_text("SELECT count(*) FROM sqlite_master WHERE name = 'custom_action_types'"),
        "0");
  }

  auto store = open_or_die(file.path());
  EXPECT_EQ(*store->schema_version(), SqliteStore::latest_schema_version());
  auto key = store->get_access_key("AKIA1");
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->last_used_ms, std::optional<model::TimestampMs>(6000));
  auto e1 = store->get_pipeline_execution("e1");
  ASSERT_TRUE(e1.ok()) << e1.status().message();
  EXPECT_EQ(e1->status, PipelineExecutionStatus::kInProgress);

  EXPECT_TRUE(store->list_custom_action_types()->empty());
  const CustomActionTypeRecord t = custom_type("Jenkins");
  ASSERT_TRUE(store->put_custom_action_type(t).ok());
  store.reset();

  auto reopened = open_or_die(file.path());
  EXPECT_EQ(*reopened->get_custom_action_type(t.id), t);
  reopened.reset();
  RawDatabase raw(file.path());
  EXPECT_EQ(raw.query_text("SELECT group_concat(version || ':' || description, ', ') FROM"
                           " (SELECT * FROM schema_version WHERE version >= 4 ORDER BY version)"),
            "4:access keys, 5:custom action types, 6:event log, "
            "7:service resources and third-party job clients, 8:manual approvals");
}

TEST(SqliteStoreFileTest, ANewDatabaseFileAndItsWalAreOnlyReadableByTheOwnerWhateverTheUmask) {
  TempDatabase file;
  const mode_t old_umask = ::umask(0);
  auto store = SqliteStore::open(file.path(), {});
  ::umask(old_umask);
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->insert_access_key(access_key("AKIA1")).ok());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    ASSERT_EQ(::stat((file.path() + suffix).c_str(), &st), 0) << suffix;
    EXPECT_EQ(st.st_mode & 07777, 0600u) << "file " << file.path() + suffix;
  }
}

TEST(SqliteStoreFileTest, AnExistingDatabaseFileKeepsItsMode) {
  TempDatabase file;
  static_cast<void>(open_or_die(file.path()));
  ASSERT_EQ(::chmod(file.path().c_str(), 0640), 0);
  static_cast<void>(open_or_die(file.path()));
  struct stat st {};
  ASSERT_EQ(::stat(file.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(SqliteStoreFileTest, AStoredRuleOwnerThisBuildCannotReadIsInternal) {
  TempDatabase file;
  auto store = open_or_die(file.path());
  ASSERT_TRUE(store->insert_pipeline_execution(execution("e1", "app")).ok());
  ASSERT_TRUE(store->insert_rule_execution(rule("r1", "e1")).ok());
  {
    RawDatabase raw(file.path());
    raw.exec("UPDATE rule_executions SET rule_owner = 'Someone' WHERE id = 'r1'");
  }
  auto got = store->get_rule_execution("r1");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInternal);
  EXPECT_EQ(got.status().message(),
            "read rule execution r1: stored value 'Someone' is not a RuleOwner");
}

TEST(SqliteStoreFileTest, ADatabaseFromANewerSchemaVersionIsRefused) {
  TempDatabase file;
  static_cast<void>(open_or_die(file.path()));
  {
    RawDatabase raw(file.path());
    raw.exec("INSERT INTO schema_version VALUES (999, 'from the future', 0)");
  }
  auto store = SqliteStore::open(file.path(), {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            "open store '" + file.path() +
                "': the database has schema version 999, newer than this build of Stageline "
                "knows (" +
                std::to_string(SqliteStore::latest_schema_version()) +
                "); run a newer Stageline, or restore a backup made by this one");
}

TEST(SqliteStoreFileTest, AFileThatIsNotADatabaseGivesAClearStatus) {
  TempDatabase file;
  {
    std::ofstream out(file.path(), std::ios::binary);
    for (int i = 0; i < 512; ++i) out << "this is not a database, just text. ";
  }
  auto store = SqliteStore::open(file.path(), {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIo);
  EXPECT_EQ(store.status().message(),
            "open store '" + file.path() + "': set journal_mode=WAL: file is not a database");
}

TEST(SqliteStoreFileTest, ADatabaseWithACorruptPageGivesAStatusNotACrash) {
  TempDatabase file;
  {
    auto store = open_or_die(file.path());
    ASSERT_TRUE(store->create_pipeline(pipeline("app")).ok());
  }
  {
    // Overwrite everything after the 100-byte header, so the schema cannot
    // be read.
    std::fstream io(file.path(), std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(100);
    for (int i = 0; i < 8192; ++i) io.put(static_cast<char>(0xA5));
  }
  auto store = SqliteStore::open(file.path(), {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIo);
  EXPECT_TRUE(store.status().message().starts_with("open store '" + file.path() + "': "))
      << store.status().message();
}

TEST(SqliteStoreFileTest, AnotherApplicationsDatabaseIsRefused) {
  TempDatabase file;
  {
    RawDatabase raw(file.path());
    raw.exec("CREATE TABLE notes (body TEXT)");
  }
  auto store = SqliteStore::open(file.path(), {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            "open store '" + file.path() +
                "': not a Stageline database: it has tables but no schema_version table");
}

TEST(SqliteStoreFileTest, APathThatCannotBeOpenedGivesAnIoStatus) {
  auto store = SqliteStore::open("/nonexistent-directory/sub/stageline.db", {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIo);
  EXPECT_EQ(store.status().message(),
            "open store '/nonexistent-directory/sub/stageline.db': create the database file: "
            "No such file or directory");
}

TEST(SqliteStoreFileTest, AWriteBlockedByAnotherWriterSaysWhatItWasDoing) {
  TempDatabase file;
  auto store =
      open_or_die(file.path(), {SqliteStore::Synchronous::kNormal, std::chrono::milliseconds(0)});
  RawDatabase other(file.path());
  other.exec("BEGIN IMMEDIATE");
  auto inserted = store->insert_pipeline_execution(execution("4f2a", "app"));
  EXPECT_EQ(inserted.code(), StatusCode::kIo);
  EXPECT_EQ(inserted.message(),
            "insert pipeline execution 4f2a: begin transaction: database is locked");
  // Readers are not blocked by the writer (WAL).
  EXPECT_EQ(store->get_pipeline_execution("4f2a").status().code(), StatusCode::kNotFound);
  other.exec("ROLLBACK");
  EXPECT_TRUE(store->insert_pipeline_execution(execution("4f2a", "app")).ok());
}

TEST(SqliteStoreFileTest, AStoredValueThisBuildCannotReadIsInternal) {
  TempDatabase file;
  auto store = open_or_die(file.path());
  ASSERT_TRUE(store->insert_pipeline_execution(execution("e1", "app")).ok());
  {
    RawDatabase raw(file.path());
    raw.exec("UPDATE pipeline_executions SET status = 'Paused' WHERE id = 'e1'");
  }
  auto got = store->get_pipeline_execution("e1");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInternal);
  EXPECT_EQ(got.status().message(),
            "read pipeline execution e1: stored value 'Paused' is not a PipelineExecutionStatus");
}

// ---- Event log --------------------------------------------------------------------

EventRecord event(model::TimestampMs time_ms, const std::string& pipeline_name,
                  const std::string& json) {
  return EventRecord{0, time_ms, pipeline_name, json};
}

TEST_F(SqliteStoreTest, EventsGetGrowingSeqsAndReadBackInOrderFilteredByPipeline) {
  EXPECT_EQ(*store_->last_event_seq(), 0);
  EXPECT_EQ(*store_->append_event(event(10, "app", "{\"n\":1}")), 1);
  EXPECT_EQ(*store_->append_event(event(11, "web", "{\"n\":2}")), 2);
  EXPECT_EQ(*store_->append_event(event(12, "app", "{\"n\":3}")), 3);
  EXPECT_EQ(*store_->last_event_seq(), 3);

  auto all = store_->read_events(0, "", 10);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1], (EventRecord{2, 11, "web", "{\"n\":2}"}));

  auto app = store_->read_events(1, "app", 10);
  ASSERT_TRUE(app.ok());
  ASSERT_EQ(app->size(), 1u);
  EXPECT_EQ((*app)[0].seq, 3);

  auto page = store_->read_events(0, "", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ(page->back().seq, 2);
  EXPECT_TRUE(store_->read_events(3, "", 10)->empty());
}

TEST_F(SqliteStoreTest, PruningDropsOldAndSurplusEventsButNeverReusesTheirSeqs) {
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(store_->append_event(event(i * 100, "app", "{}")).ok());
  auto by_age = store_->prune_events(250, 100);
  ASSERT_TRUE(by_age.ok()) << by_age.status().message();
  EXPECT_EQ(*by_age, 2) << "the events at 100 and 200 are older than 250";
  auto by_count = store_->prune_events(0, 3);
  ASSERT_TRUE(by_count.ok());
  EXPECT_EQ(*by_count, 1) << "4 were left, 3 are kept";
  auto left = store_->read_events(0, "", 10);
  ASSERT_EQ(left->size(), 3u);
  EXPECT_EQ(left->front().seq, 4);

  auto all = store_->prune_events(0, 0);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(*all, 3);
  EXPECT_EQ(*store_->last_event_seq(), 6) << "pruned seqs still count";
  EXPECT_EQ(*store_->append_event(event(700, "app", "{}")), 7);
}

TEST_F(SqliteStoreTest, AnEventAppendedInARolledBackTransactionIsNotKept) {
  auto failed = store_->write([](StoreWriter& w) -> Status {
    auto seq = w.append_event(event(1, "app", "{}"));
    if (!seq.ok()) return seq.status();
    return Status::internal("changed my mind");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_TRUE(store_->read_events(0, "", 10)->empty());
}

TEST(SqliteStoreFileTest, EventSeqsContinueAfterAReopen) {
  TempDatabase file;
  {
    auto store = open_or_die(file.path());
    ASSERT_TRUE(store->append_event(event(1, "app", "{}")).ok());
    ASSERT_TRUE(store->append_event(event(2, "app", "{}")).ok());
    ASSERT_TRUE(store->prune_events(0, 0).ok());
  }
  auto store = open_or_die(file.path());
  EXPECT_EQ(*store->last_event_seq(), 2);
  EXPECT_EQ(*store->append_event(event(3, "app", "{}")), 3);
}

}  // namespace
}  // namespace stageline::store
