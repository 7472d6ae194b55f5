#include "sources/connection_source.h"

#include <boost/json.hpp>

#include "base/strings.h"
#include "sources/git_source.h"

namespace stageline::sources {

engine::ActionOutcome ConnectionSource::run(const jobs::ProviderContext& context) {
  const model::ActionDeclaration& action = context.start.action;
  const std::string arn = config_value(action, "ConnectionArn");
  const std::string repository = config_value(action, "FullRepositoryId");
  const std::string branch = config_value(action, "BranchName");
  if (arn.empty() || repository.empty() || branch.empty())
    return git_source_failure(Status::invalid(
        "the CodeStarSourceConnection source needs ConnectionArn, FullRepositoryId and "
        "BranchName"));
  auto format = parse_output_format(action);
  if (!format.ok()) return git_source_failure(format.status());

  auto remote = resolve_(arn, repository);
  if (!remote.ok())
    return git_source_failure(
        remote.status().with_context("resolve repository " + quote(repository) + " of " + arn));
  context.output("Fetching branch " + branch + " of " + repository + " from " + remote->url + "\n");
  auto mirror = mirrors_.fetch(remote->url, branch, context.cancelled);
  if (!mirror.ok()) {
    // An unreachable remote is the system's failure, not the pipeline's.
    Status s = mirror.status();
    if (s.code() != StatusCode::kInvalidArgument) s = Status::io(s.message());
    return git_source_failure(s);
  }
  GitSourceRequest request;
  request.repository = *mirror;
  request.branch = branch;
  request.format = *format;
  request.description = quote(repository) + " (" + remote->url + ")";
  auto built = build_git_source(context, request);
  if (!built.ok()) return git_source_failure(built.status());

  const CommitInfo& c = built->commit;
  engine::ActionOutcome o;
  o.succeeded = true;
  o.summary = c.summary;
  o.artifacts.push_back(built->artifact);
  o.output_variables = {
      {"AuthorDate", c.author_date},
      {"AuthorDisplayName", c.author_name},
      {"AuthorEmail", c.author_email},
      {"AuthorId", c.author_email},
      {"BranchName", branch},
      {"CommitId", c.id},
      {"CommitMessage", c.message.substr(0, 100 * 1024)},
      {"ConnectionArn", arn},
      {"FullRepositoryName", repository},
      {"ProviderType", remote->provider_type},
  };
  model::SourceRevision revision;
  revision.action_name = action.name;
  revision.revision_id = c.id;
  revision.revision_summary = boost::json::serialize(
      boost::json::object{{"ProviderType", remote->provider_type}, {"CommitMessage", c.message}});
  if (remote->url.starts_with("https://") || remote->url.starts_with("http://")) {
    std::string base = remote->url;
    if (base.ends_with(".git")) base.resize(base.size() - 4);
    revision.revision_url = base + "/commit/" + c.id;
  }
  revision.revision_type = "COMMIT_ID";
  o.revisions.push_back(std::move(revision));
  return o;
}

}  // namespace stageline::sources
