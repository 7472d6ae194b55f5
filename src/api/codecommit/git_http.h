// api/codecommit/git_http: git's smart HTTP protocol for the CodeCommit
// repositories, on the API's port, at AWS's path shape:
//
//   GET  /v1/repos/<name>/info/refs?service=git-upload-pack|git-receive-pack
//   POST /v1/repos/<name>/git-upload-pack     (fetch, clone)
//   POST /v1/repos/<name>/git-receive-pack    (push)
//
// Each request runs git's own `git http-backend` as a CGI child (cgi.h)
// with GIT_PROJECT_ROOT at the repositories' root (layout.h). Every request
// is authenticated with HTTP Basic: the user name is an access key id the
// server knows (enabled), the password its secret; anything else gets 401
// with WWW-Authenticate, so git asks its credential helper. The repository
// must exist in the store (404 otherwise, after authentication, so names
// cannot be probed). Other paths under /v1/repos/ get 404.
//
// After a receive-pack, each branch the push created or moved is reported to
// on_push, and the first branch pushed to an empty repository becomes its
// default branch (HEAD), as in CodeCommit.
//
// Not thread-safe: the server calls handle() on its control thread, which
// the git child blocks for its duration (bounded by `timeout`); request
// bodies are bounded by the HTTP server's body limit (see README.md).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "api/http/http.h"
#include "api/sigv4/keys.h"
#include "store/store.h"

namespace stageline::codecommit {

struct GitHttpOptions {
  std::filesystem::path data_dir;                         // repositories under layout.h's root
  std::string git_program = "git";                        // run as `<git_program> http-backend`
  std::string path_env = "/usr/local/bin:/usr/bin:/bin";  // the child's PATH
  std::chrono::milliseconds timeout{120'000};             // per git child
  // A push created or moved `branch` of `repository` to `commit_id`. Called
  // on the thread that called handle(), after git has updated the branch.
  std::function<void(const std::string& repository, const std::string& branch,
                     const std::string& commit_id)>
      on_push;
  // One line per refused or failed request (the request id first). Empty:
  // nothing is logged.
  std::function<void(const std::string&)> log;
};

// Borrows the store and the key source, which must outlive it.
class GitHttp {
 public:
  GitHttp(store::Store& store, api::sigv4::KeySource& keys, GitHttpOptions options);

  // True for every path under /v1/repos/: this handler answers them all
  // (git's requests are not SigV4-signed, so they must not reach the Router).
  static bool accepts(const http::Request& request);

  http::Response handle(const http::Request& request);

 private:
  void log(const http::Request& request, const std::string& what) const;

  store::Store& store_;
  api::sigv4::KeySource& keys_;
  GitHttpOptions options_;
};

// "/v1/repos/<name><rest>" split into the repository name and the rest
// ("/info/refs", "/git-upload-pack", ...); nullopt for other paths or an
// invalid repository name.
struct RepoPath {
  std::string repository;
  std::string rest;
};
std::optional<RepoPath> parse_repo_path(std::string_view path);

// The user name and password of an "Authorization: Basic <base64>" value;
// nullopt when it is not Basic or does not decode to "user:password".
std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view header);

}  // namespace stageline::codecommit
