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
// After a receive-pack, each branch or tag the push created or moved is
// reported to on_push (a PushedRef), and the first branch pushed to an empty
// repository becomes its default branch (HEAD), as in CodeCommit. Deleted
// refs are not reported.
//
// Not thread-safe: the server calls handle() on its control thread, which
// the git child blocks for its duration (bounded by `timeout`); request
// bodies up to kMaxPackBytes arrive spooled to a file (body_limit).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http/http.h"
#include "api/sigv4/keys.h"
#include "store/store.h"

namespace stageline::codecommit {

// One ref a push created or moved.
struct PushedRef {
  std::string repository;     // the repository name
  std::string ref;            // "refs/heads/main" or "refs/tags/v1.0"
  std::string branch;         // "main" for a branch; "" for a tag
  std::string old_commit_id;  // "" when the push created the ref
  std::string commit_id;      // what the ref points to now (tags peeled)
  // Paths ('/'-separated) that differ between the old and the new commit's
  // trees; nullopt for a new ref, or when they could not be read.
  std::optional<std::vector<std::string>> changed_files;
};

struct GitHttpOptions {
  std::filesystem::path data_dir;                         // repositories under layout.h's root
  std::string git_program = "git";                        // run as `<git_program> http-backend`
  std::string path_env = "/usr/local/bin:/usr/bin:/bin";  // the child's PATH
  std::chrono::milliseconds timeout{120'000};             // per git child
  // Called once per ref a push created or moved, in ref name order, on the
  // thread that called handle(), after git has updated the refs.
  std::function<void(const PushedRef&)> on_push;
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

  // The most a push (or a fetch's negotiation) may send: git's POST bodies
  // under /v1/repos/ may be this big, and the HTTP server spools them to a
  // file (Request::body_file) that git http-backend reads. nullopt for any
  // other request (the server's default limit).
  static constexpr uint64_t kMaxPackBytes = uint64_t{2} << 30;
  static std::optional<uint64_t> body_limit(const http::Request& head);

  http::Response handle(const http::Request& request);

 private:
  // Reports the refs that differ from `before` to on_push.
  void report_push(const http::Request& request, const std::string& repository,
                   const std::map<std::string, std::string>& before);
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
