// api/codecommit: CodeCommit repositories hosted by the server (issue #5).
//
//   - CodeCommitApi: the subset of the CodeCommit JSON 1.1 API (botocore
//     model 2015-04-13, "CodeCommit_20150413.*") a pipeline needs:
//     CreateRepository, GetRepository, ListRepositories, DeleteRepository,
//     GetBranch, ListBranches, CreateBranch, GetCommit, GetFile, with AWS's
//     shapes and errors. Every other operation answers ValidationException
//     saying it is not available.
//   - GitHttp (git_http.h): git's smart HTTP protocol at
//     <endpoint>/v1/repos/<name>, served by `git http-backend`, with HTTP
//     Basic authentication by access key id and secret, and a push hook.
//
// Repositories are bare git repositories in the data directory; their
// metadata is a row of the store's resources table (layout.h is the
// contract; README.md in this folder describes it, the differences from
// AWS, and how a user configures git).
//
// Depends on store (the resources table only), wire, api/http (the Request
// and Response types; no Beast), api/sigv4 (KeySource) and libgit2 (included
// by git_repository.cc only). The CGI child is spawned by cgi.cc (jobs
// decodes its wait status). Never on the engine: the server wires
// GitHttpOptions::on_push to it.
//
// Not thread-safe: the server calls it on the control thread only.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "api/wire/errors.h"
#include "api/wire/model.h"
#include "api/wire/pagination.h"
#include "api/wire/wire.h"
#include "store/store.h"

namespace stageline::codecommit {

// The CodeCommit model as served: botocore's 2015-04-13 (embedded by
// api/wire), with the pattern and length bounds of RepositoryName taken out,
// so that a bad name reaches the handlers and gets CodeCommit's own
// InvalidRepositoryNameException rather than a generic ValidationException.
// Parsed once; thread-safe.
const wire::ServiceModel& codecommit_model();

// CodeCommit's name rule: 1 to 100 of letters, digits, '.', '_' and '-',
// not ending in ".git", and (here, as they would be paths) not "." or "..".
bool valid_repository_name(std::string_view name);

// "http://<host>:<port>" for a listen address ("127.0.0.1:7300",
// "0.0.0.0:0", "[::]:7300", "localhost:7300") and the port it is bound to;
// wildcard hosts become the loopback address of their family.
std::string endpoint_url_for(std::string_view listen, int port);

struct CodeCommitOptions {
  std::filesystem::path data_dir;  // repositories under layout.h's root
  std::string region = "us-east-1";
  std::string account_id = "111122223333";
  std::function<int64_t()> now_ms;  // ms since the epoch
  // HMAC key for nextToken values (wire::PageTokens). REQUIRES: >= 16 bytes.
  std::string page_token_key;
  // What HEAD of a new repository names until a first push picks the
  // default branch.
  std::string initial_branch = "main";
  // Items per page of ListRepositories and ListBranches (AWS: 1000 and 100;
  // tests make it small). REQUIRES: >= 1.
  int64_t page_size = 1000;
};

// Owns nothing but its options; borrows the store, which must outlive it.
class CodeCommitApi {
 public:
  // REQUIRES: options.now_ms is set; options.page_token_key has >= 16 bytes.
  CodeCommitApi(store::Store& store, CodeCommitOptions options);

  // One validated call of codecommit_model(). Returns the output value or
  // the error to answer with: a modeled CodeCommit exception, a
  // ValidationException for an operation Stageline does not implement, or
  // InternalFailure (the cause in Error::detail) when the store or the disk
  // fails. Never throws.
  wire::Outcome<boost::json::value> call(const wire::Call& call);

  // The endpoint cloneUrlHttp values start with (e.g. http://127.0.0.1:7300);
  // set once the server knows its port. Until then cloneUrlHttp is a path
  // relative to the server ("/v1/repos/<name>").
  void set_endpoint_url(std::string url) { endpoint_url_ = std::move(url); }

  // arn:aws:codecommit:<region>:<account>:<name>.
  std::string repository_arn(std::string_view name) const;

 private:
  using Out = wire::Outcome<boost::json::value>;
  using In = boost::json::object;

  Out create_repository(const In& in);
  Out get_repository(const In& in);
  Out list_repositories(const In& in);
  Out delete_repository(const In& in);
  Out get_branch(const In& in);
  Out list_branches(const In& in);
  Out create_branch(const In& in);
  Out get_commit(const In& in);
  Out get_file(const In& in);

  // The repository name of `in` after CodeCommit's checks
  // (RepositoryNameRequiredException, InvalidRepositoryNameException).
  wire::Outcome<std::string> repository_name(const In& in) const;
  // The stored repository, or RepositoryDoesNotExistException.
  wire::Outcome<store::ResourceRecord> repository(const std::string& name);
  // repositoryMetadata of a stored repository (reads HEAD for defaultBranch).
  wire::Outcome<boost::json::object> metadata(const store::ResourceRecord& record);

  wire::Error error(std::string_view type, std::string message) const;
  wire::Error internal(const Status& status) const;

  store::Store& store_;
  CodeCommitOptions options_;
  const wire::ServiceModel& model_;
  wire::PageTokens tokens_;
  std::string endpoint_url_;
};

}  // namespace stageline::codecommit
