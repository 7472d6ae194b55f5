#include "api/codecommit/git_http.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <map>

#include "api/codecommit/cgi.h"
#include "api/codecommit/codecommit_api.h"
#include "api/codecommit/git_repository.h"
#include "api/codecommit/layout.h"

namespace stageline::codecommit {

namespace {

constexpr std::string_view kPrefix = "/v1/repos/";

http::Response text(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

bool base64_decode(std::string_view in, std::string& out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return bits < 6;  // a single leftover sextet cannot come from whole bytes
}

using Refs = std::map<std::string, std::string>;  // ref name -> commit id

Result<Refs> read_refs(const std::filesystem::path& dir) {
  auto repo = GitRepository::open(dir);
  if (!repo.ok()) return repo.status();
  return repo->refs();
}

}  // namespace

std::optional<RepoPath> parse_repo_path(std::string_view path) {
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  size_t slash = path.find('/');
  RepoPath out;
  out.repository = std::string(path.substr(0, slash));
  if (slash != std::string_view::npos) out.rest = std::string(path.substr(slash));
  if (!valid_repository_name(out.repository)) return std::nullopt;
  return out;
}

std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  if (header.size() < 6 || strncasecmp(header.data(), "Basic ", 6) != 0) return std::nullopt;
  header.remove_prefix(6);
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  std::string decoded;
  if (!base64_decode(header, decoded)) return std::nullopt;
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded.substr(0, colon), decoded.substr(colon + 1));
}

GitHttp::GitHttp(store::Store& store, api::sigv4::KeySource& keys, GitHttpOptions options)
    : store_(store), keys_(keys), options_(std::move(options)) {}

bool GitHttp::accepts(const http::Request& request) { return request.path().starts_with(kPrefix); }

void GitHttp::report_push(const http::Request& request, const std::string& repository,
                          const std::map<std::string, std::string>& before) {
  auto repo = GitRepository::open(repository_dir(options_.data_dir, repository));
  auto after = repo.ok() ? repo->refs() : Result<Refs>(repo.status());
  if (!after.ok()) {
    log(request, "read refs after a push to " + repository + ": " + after.status().message());
    return;
  }
  constexpr std::string_view kHeads = "refs/heads/";
  for (const auto& [ref, commit] : *after) {
    auto it = before.find(ref);
    if (it != before.end() && it->second == commit) continue;
    PushedRef pushed;
    pushed.repository = repository;
    pushed.ref = ref;
    pushed.commit_id = commit;
    if (std::string_view(ref).starts_with(kHeads)) {
      pushed.branch = ref.substr(kHeads.size());
      if (Status s = repo->adopt_default_branch(pushed.branch); !s.ok())
        log(request, "set the default branch of " + repository + ": " + s.message());
    }
    if (it != before.end()) {
      pushed.old_commit_id = it->second;
      auto files = repo->changed_files(it->second, commit);
      if (files.ok())
        pushed.changed_files = std::move(*files);
      else
        log(request, "files changed by a push to " + repository + ": " + files.status().message());
    }
    if (options_.on_push) options_.on_push(pushed);
  }
}

std::optional<uint64_t> GitHttp::body_limit(const http::Request& head) {
  if (head.method != "POST" || !accepts(head)) return std::nullopt;
  return kMaxPackBytes;
}

void GitHttp::log(const http::Request& request, const std::string& what) const {
  if (options_.log) options_.log("request " + request.request_id + ": git " + what);
}

http::Response GitHttp::handle(const http::Request& request) {
  auto where = parse_repo_path(request.path());
  if (!where) return text(404, "Not a repository path\n");
  // Only the smart protocol: the dumb one would serve files of the
  // repository directory one by one.
  const std::string& rest = where->rest;
  const bool advertise = request.method == "GET" && rest == "/info/refs";
  const bool upload = request.method == "POST" && rest == "/git-upload-pack";
  const bool receive = request.method == "POST" && rest == "/git-receive-pack";
  if (!advertise && !upload && !receive) return text(404, "Not found\n");
  if (advertise) {
    std::string_view q = request.query();
    if (q != "service=git-upload-pack" && q != "service=git-receive-pack")
      return text(403, "Only git's smart HTTP protocol is served\n");
  }

  // Authentication: an access key id and its secret.
  auto credentials = parse_basic_auth(request.header("Authorization"));
  std::optional<api::sigv4::Key> key;
  if (credentials) key = keys_.find(credentials->first);
  const bool authenticated =
      key && key->enabled && key->secret.size() == credentials->second.size() &&
      CRYPTO_memcmp(key->secret.data(), credentials->second.data(), key->secret.size()) == 0;
  if (!authenticated) {
    if (credentials)
      log(request, "authentication failed for " + where->repository + " (user " +
                       credentials->first.substr(0, 64) + ")");
    http::Response r = text(401,
                            "Authentication required: use an access key id as the user name "
                            "and its secret as the password\n");
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Stageline CodeCommit\"");
    return r;
  }

  auto record = store_.get_resource(std::string(kService), std::string(kKind), where->repository);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound)
      return text(404, "Repository " + where->repository + " does not exist\n");
    log(request, record.status().message());
    return text(500, "Internal error\n");
  }
  const auto dir = repository_dir(options_.data_dir, where->repository);
  Refs before;
  if (receive) {
    auto heads = read_refs(dir);
    if (!heads.ok()) {
      log(request, heads.status().message());
      return text(500, "Internal error\n");
    }
    before = std::move(*heads);
  }

  CgiRequest cgi;
  cgi.argv = {options_.git_program, "http-backend"};
  cgi.env = {
      {"PATH", options_.path_env},
      {"HOME", repositories_root(options_.data_dir).string()},
      {"GIT_CONFIG_NOSYSTEM", "1"},
      {"GIT_PROJECT_ROOT", repositories_root(options_.data_dir).string()},
      {"GIT_HTTP_EXPORT_ALL", "1"},
      {"PATH_INFO", "/" + where->repository + ".git" + rest},
      {"QUERY_STRING", std::string(request.query())},
      {"REQUEST_METHOD", request.method},
      {"REMOTE_USER", key->principal.empty() ? key->access_key_id : key->principal},
      {"REMOTE_ADDR", request.peer.substr(0, request.peer.rfind(':'))},
      {"GATEWAY_INTERFACE", "CGI/1.1"},
      {"SERVER_PROTOCOL", "HTTP/1.1"},
  };
  // A large push arrives spooled to a file (the server's body_limit_for
  // says so: body_limit()); git reads it from there.
  struct Spooled {
    int fd = -1;
    ~Spooled() {
      if (fd >= 0) ::close(fd);
    }
  } spooled;
  uint64_t body_size = request.body.size();
  if (!request.body_file.empty()) {
    spooled.fd = ::open(request.body_file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (spooled.fd < 0 || ::fstat(spooled.fd, &st) != 0) {
      log(request, where->repository + ": open the spooled body: " + std::strerror(errno));
      return text(500, "git http-backend failed\n");
    }
    body_size = static_cast<uint64_t>(st.st_size);
    cgi.body_fd = spooled.fd;
  }
  if (request.method == "POST") {
    cgi.env["CONTENT_LENGTH"] = std::to_string(body_size);
    cgi.env["CONTENT_TYPE"] = std::string(request.header("Content-Type"));
  }
  if (request.has_header("Content-Encoding"))
    cgi.env["HTTP_CONTENT_ENCODING"] = std::string(request.header("Content-Encoding"));
  if (request.has_header("Git-Protocol"))
    cgi.env["HTTP_GIT_PROTOCOL"] = std::string(request.header("Git-Protocol"));
  cgi.body = request.body;
  cgi.timeout = options_.timeout;

  auto ran = run_cgi(cgi);
  if (!ran.ok()) {
    log(request, where->repository + ": " + ran.status().message());
    return text(500, "git http-backend failed\n");
  }
  auto response = parse_cgi_response(ran->out);
  if (!response.ok()) {
    log(request, where->repository + ": http-backend " + ran->exit.describe() + ": " +
                     response.status().message() + "; stderr: " + ran->err);
    return text(500, "git http-backend failed\n");
  }
  if (!ran->exit.success() || response->status >= 400)
    log(request, where->repository + ": http-backend " + ran->exit.describe() + ", status " +
                     std::to_string(response->status) + "; stderr: " + ran->err);

  if (receive && ran->exit.success()) report_push(request, where->repository, before);
  return std::move(response).value();
}

}  // namespace stageline::codecommit
