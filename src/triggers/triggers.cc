#include "triggers/triggers.h"

#include "artifacts/glob.h"

namespace stageline::triggers {

namespace {

std::string config(const model::ActionDeclaration& a, const std::string& key) {
  if (!a.configuration) return "";
  auto it = a.configuration->find(key);
  return it == a.configuration->end() ? "" : it->second;
}

bool is_false(const std::string& v) { return v == "false" || v == "False" || v == "FALSE"; }

// A criterion against one value (§8.2): includes absent or one matching,
// and no exclude matching.
Result<bool> criterion_matches(const model::GitFilterCriteria& c, const std::string& value) {
  auto any = [&](const std::vector<std::string>& patterns) -> Result<bool> {
    for (const auto& p : patterns) {
      auto glob = artifacts::Glob::parse(p);
      if (!glob.ok())
        return Status(StatusCode::kInvalidArgument,
                      "trigger filter pattern '" + p + "': " + glob.status().message());
      // A pattern ending in '/' is a directory pattern to the artifact glob;
      // here every value is a plain name.
      if (glob->selects_directories() ? glob->matches_directory(value) : glob->matches_file(value))
        return true;
    }
    return false;
  };
  if (c.excludes) {
    auto excluded = any(*c.excludes);
    if (!excluded.ok()) return excluded.status();
    if (*excluded) return false;
  }
  if (!c.includes) return true;
  return any(*c.includes);
}

Result<bool> filter_matches(const model::GitPushFilter& f, const PushEvent& push) {
  const std::string branch = branch_of(push.ref), tag = tag_of(push.ref);
  if (f.tags) {
    if (tag.empty()) return false;
    auto ok = criterion_matches(*f.tags, tag);
    if (!ok.ok() || !*ok) return ok;
  }
  if (f.branches) {
    if (branch.empty()) return false;
    auto ok = criterion_matches(*f.branches, branch);
    if (!ok.ok() || !*ok) return ok;
  }
  if (!f.tags && !f.branches && !f.file_paths) return false;  // validation refuses it
  if (f.file_paths) {
    if (!push.changed_files) return false;  // a new branch: no changed-file list
    bool any = false;
    for (const auto& file : *push.changed_files) {
      auto ok = criterion_matches(*f.file_paths, file);
      if (!ok.ok()) return ok;
      if (*ok) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace

std::string branch_of(const std::string& ref) {
  constexpr std::string_view kHeads = "refs/heads/";
  return ref.starts_with(kHeads) ? ref.substr(kHeads.size()) : "";
}

std::string tag_of(const std::string& ref) {
  constexpr std::string_view kTags = "refs/tags/";
  return ref.starts_with(kTags) ? ref.substr(kTags.size()) : "";
}

Result<std::vector<TriggeredStart>> match_push(const model::PipelineDeclaration& pipeline,
                                               const PushEvent& push) {
  std::vector<TriggeredStart> starts;
  const std::string branch = branch_of(push.ref);
  for (const auto& stage : pipeline.stages) {
    for (const auto& action : stage.actions) {
      const auto& type = action.action_type_id;
      if (type.category != model::ActionCategory::kSource ||
          type.owner != model::ActionOwner::kAws || type.provider != push.provider)
        continue;
      TriggeredStart start;
      start.action_name = action.name;
      start.commit_id = push.commit_id;
      if (push.provider == "CodeCommit") {
        if (config(action, "RepositoryName") != push.repository || branch.empty() ||
            config(action, "BranchName") != branch)
          continue;
        const bool poll = !is_false(config(action, "PollForSourceChanges"));
        start.trigger =
            poll ? model::TriggerType::kPollForSourceChanges : model::TriggerType::kCloudWatchEvent;
        start.trigger_detail = push.repository_arn;
        starts.push_back(std::move(start));
        continue;
      }
      if (push.provider != "CodeStarSourceConnection") continue;
      if (config(action, "FullRepositoryId") != push.repository) continue;
      if (!push.connection_arn.empty() && config(action, "ConnectionArn") != push.connection_arn)
        continue;
      const model::PipelineTriggerDeclaration* trigger = nullptr;
      if (pipeline.triggers)
        for (const auto& t : *pipeline.triggers)
          if (t.git_configuration.source_action_name == action.name) trigger = &t;
      start.trigger = model::TriggerType::kWebhookV2;
      start.trigger_detail = config(action, "ConnectionArn");
      if (trigger == nullptr) {
        if (is_false(config(action, "DetectChanges")) || branch.empty() ||
            config(action, "BranchName") != branch)
          continue;
        starts.push_back(std::move(start));
        continue;
      }
      // A trigger with filters replaces default change detection (§8.2).
      bool fired = false;
      if (trigger->git_configuration.push)
        for (const auto& f : *trigger->git_configuration.push) {
          auto ok = filter_matches(f, push);
          if (!ok.ok()) return ok.status();
          if (*ok) {
            fired = true;
            break;
          }
        }
      else if (!trigger->git_configuration.pull_request && !branch.empty())
        fired = config(action, "BranchName") == branch;  // a trigger without filters
      if (fired) starts.push_back(std::move(start));
    }
  }
  return starts;
}

}  // namespace stageline::triggers
