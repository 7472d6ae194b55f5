#include "sources/codecommit_source.h"

#include "api/codecommit/layout.h"
#include "base/strings.h"
#include "sources/git_source.h"

namespace stageline::sources {

namespace fs = std::filesystem;

// CodeCommit's RepositoryName pattern is [\w\.-]+, at most 100 characters;
// the ".git" suffix is refused (CodeCommit does the same).
bool CodeCommitSource::valid_repository_name(std::string_view name) {
  if (name.empty() || name.size() > 100 || name == "." || name == "..") return false;
  if (name.ends_with(".git")) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

engine::ActionOutcome CodeCommitSource::run(const jobs::ProviderContext& context) {
  const model::ActionDeclaration& action = context.start.action;
  const std::string repository = config_value(action, "RepositoryName");
  const std::string branch = config_value(action, "BranchName");
  if (repository.empty() || branch.empty())
    return git_source_failure(
        Status::invalid("the CodeCommit source needs RepositoryName and BranchName"));
  if (!valid_repository_name(repository))
    return git_source_failure(Status::invalid("RepositoryName " + quote(repository) +
                                              " is not a CodeCommit repository name"));
  auto format = parse_output_format(action);
  if (!format.ok()) return git_source_failure(format.status());

  const fs::path dir = codecommit::repository_dir(data_dir_, repository);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return git_source_failure(
        Status::not_found("The repository " + quote(repository) + " does not exist (expected at " +
                          dir.string() + "; create it with `aws codecommit create-repository`)"));
  GitSourceRequest request;
  request.repository = dir;
  request.branch = branch;
  request.format = *format;
  request.description = "repository " + quote(repository);
  auto built = build_git_source(context, request);
  if (!built.ok()) return git_source_failure(built.status());

  const CommitInfo& c = built->commit;
  engine::ActionOutcome o;
  o.succeeded = true;
  o.summary = c.summary;
  o.artifacts.push_back(built->artifact);
  o.output_variables = {
      {"AuthorDate", c.author_date},
      {"BranchName", branch},
      {"CommitId", c.id},
      {"CommitMessage", c.message.substr(0, 100 * 1024)},
      {"CommitterDate", c.committer_date},
      {"RepositoryName", repository},
  };
  model::SourceRevision revision;
  revision.action_name = action.name;
  revision.revision_id = c.id;
  revision.revision_summary = c.message;
  revision.revision_url = "file://" + dir.string() + "#" + c.id;
  revision.revision_type = "COMMIT_ID";
  o.revisions.push_back(std::move(revision));
  return o;
}

}  // namespace stageline::sources
