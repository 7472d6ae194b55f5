#include "server/source_poller.h"

#include <set>

#include "api/codecommit/git_repository.h"

namespace stageline::server {

namespace {

std::string config(const model::ActionDeclaration& a, const std::string& key) {
  if (!a.configuration) return "";
  auto it = a.configuration->find(key);
  return it == a.configuration->end() ? "" : it->second;
}

}  // namespace

Result<std::vector<SourceWatch>> connection_watches(store::Store& store) {
  std::set<SourceWatch> watches;
  std::string after;
  do {
    auto page = store.list_pipelines(100, after);
    if (!page.ok()) return page.status().with_context("list the branches pipelines watch");
    for (const auto& record : page->items) {
      const auto& decl = record.declaration;
      for (const auto& stage : decl.stages)
        for (const auto& a : stage.actions) {
          const auto& t = a.action_type_id;
          if (t.category != model::ActionCategory::kSource || t.owner != model::ActionOwner::kAws ||
              t.provider != "CodeStarSourceConnection")
            continue;
          bool triggered = false;
          if (decl.triggers)
            for (const auto& trigger : *decl.triggers)
              triggered |= trigger.git_configuration.source_action_name == a.name;
          if (!triggered && config(a, "DetectChanges") == "false") continue;
          watches.insert(
              {config(a, "ConnectionArn"), config(a, "FullRepositoryId"), config(a, "BranchName")});
        }
    }
    after = page->next_key;
  } while (!after.empty());
  return std::vector<SourceWatch>(watches.begin(), watches.end());
}

SourcePoller::SourcePoller(sources::Mirrors& mirrors, Options options)
    : mirrors_(mirrors), options_(std::move(options)) {}

SourcePoller::~SourcePoller() {
  if (worker_.joinable()) worker_.join();
}

void SourcePoller::poll(std::vector<SourceWatch> watches) {
  {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
  }
  if (worker_.joinable()) worker_.join();  // it has ended: running_ was false
  worker_ = std::thread([this, w = std::move(watches)]() mutable { run(std::move(w)); });
}

bool SourcePoller::busy() {
  std::lock_guard lock(mu_);
  return running_;
}

void SourcePoller::run(std::vector<SourceWatch> watches) {
  std::vector<triggers::PushEvent> pushes;
  for (const auto& w : watches) {
    auto url = options_.resolve(w.connection_arn, w.repository);
    if (!url.ok()) {
      if (options_.log) options_.log("poll " + w.repository + ": " + url.status().message());
      continue;
    }
    auto mirror = mirrors_.fetch(*url, w.branch);
    if (!mirror.ok()) {
      if (options_.log) options_.log("poll " + w.repository + ": " + mirror.status().message());
      continue;
    }
    auto repo = codecommit::GitRepository::open(*mirror);
    if (!repo.ok()) continue;
    auto head = repo->branch_commit(w.branch);
    if (!head.ok()) continue;  // no such branch (yet)
    auto seen = seen_.find(w);
    std::string before = seen == seen_.end() ? "" : seen->second;
    seen_[w] = *head;
    // A branch seen for the first time (after a start, or for a new
    // pipeline, which CreatePipeline started) only records its head.
    if (before.empty() || before == *head) continue;
    triggers::PushEvent push;
    push.provider = "CodeStarSourceConnection";
    push.repository = w.repository;
    push.connection_arn = w.connection_arn;
    push.ref = "refs/heads/" + w.branch;
    push.commit_id = *head;
    auto files = repo->changed_files(before, *head);
    if (files.ok()) push.changed_files = std::move(*files);
    pushes.push_back(std::move(push));
  }
  if (!pushes.empty() && options_.post && options_.on_push) {
    auto on_push = options_.on_push;
    options_.post([on_push, pushes] {
      for (const auto& p : pushes) on_push(p);
    });
  }
  std::lock_guard lock(mu_);
  running_ = false;
}

}  // namespace stageline::server
