#include "api/codecommit/git_http.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/codecommit/codecommit_api.h"
#include "api/codecommit/layout.h"
#include "api/codecommit/test_util.h"
#include "api/wire/wire.h"
#include "store/sqlite_store.h"

namespace stageline::codecommit {
namespace {

namespace json = boost::json;
using testing::make_work_repo;
using testing::sh;
using testing::TempDir;

constexpr char kKeyId[] = "AKIAAAAAAAAAAAAAAAAA";
constexpr char kSecret[] = "s3cr3t/with+chars=";

std::string basic(std::string user, std::string password) {
  std::string in = user + ":" + password, out;
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k[(n >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += std::string{k[(n >> 18) & 63], k[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += std::string{k[(n >> 18) & 63], k[(n >> 12) & 63], k[(n >> 6) & 63], '='};
  }
  return "Basic " + out;
}

std::string_view header(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

std::string pkt_line(const std::string& payload) {
  char len[5];
  std::snprintf(len, sizeof len, "%04zx", payload.size() + 4);
  return len + payload;
}

class GitHttpTest : public ::testing::Test {
 protected:
  GitHttpTest() {
    auto opened = store::SqliteStore::open(":memory:", {});
    EXPECT_TRUE(opened.ok());
    store_ = std::move(*opened);
    keys_.put({kKeyId, kSecret, "arn:aws:iam::111122223333:user/admin", true});
    keys_.put({"AKIADISABLEDDDDDDDDD", kSecret, "arn:aws:iam::111122223333:user/old", false});
    CodeCommitOptions api_options;
    api_options.data_dir = dir_.path();
    api_options.now_ms = [] { return int64_t{1}; };
    api_options.page_token_key = "0123456789abcdef0123456789abcdef";
    api_ = std::make_unique<CodeCommitApi>(*store_, api_options);
    GitHttpOptions options;
    options.data_dir = dir_.path();
    options.path_env = "/usr/local/bin:/usr/bin:/bin";
    options.on_push = [this](const PushedRef& pushed) { pushes_.push_back(pushed); };
    options.log = [this](const std::string& line) { log_ += line + "\n"; };
    git_ = std::make_unique<GitHttp>(*store_, keys_, options);
  }

  void create(const std::string& name) {
    wire::Dispatcher d(codecommit_model());
    std::string body = json::serialize(json::object{{"repositoryName", name}});
    auto c = d.dispatch({std::string_view("CodeCommit_20150413.CreateRepository"),
                         std::string_view("application/x-amz-json-1.1"), body});
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(api_->call(*c).ok());
  }

  http::Response get(const std::string& target, std::string auth = basic(kKeyId, kSecret)) {
    http::Request r;
    r.method = "GET";
    r.target = target;
    r.peer = "127.0.0.1:5000";
    r.request_id = "req-1";
    if (!auth.empty()) r.headers.emplace_back("Authorization", auth);
    EXPECT_TRUE(GitHttp::accepts(r));
    return git_->handle(r);
  }

  TempDir dir_;
  std::unique_ptr<store::SqliteStore> store_;
  api::sigv4::InMemoryKeySource keys_;
  std::unique_ptr<CodeCommitApi> api_;
  std::unique_ptr<GitHttp> git_;
  std::vector<PushedRef> pushes_;
  std::string log_;
};

TEST_F(GitHttpTest, ARequestWithoutCredentialsGets401WithWwwAuthenticate) {
  create("app");
  http::Response r = get("/v1/repos/app/info/refs?service=git-upload-pack", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(header(r, "WWW-Authenticate"), "Basic realm=\"Stageline CodeCommit\"");
}

TEST_F(GitHttpTest, AWrongSecretAnUnknownKeyOrADisabledKeyGets401AndIsLogged) {
  create("app");
  const std::string t = "/v1/repos/app/info/refs?service=git-upload-pack";
  EXPECT_EQ(get(t, basic(kKeyId, "wrong")).status, 401);
  EXPECT_EQ(get(t, basic(kKeyId, std::string(kSecret) + "x")).status, 401);
  EXPECT_EQ(get(t, basic("AKIAUNKNOWNNNNNNNNNN", kSecret)).status, 401);
  EXPECT_EQ(get(t, basic("AKIADISABLEDDDDDDDDD", kSecret)).status, 401);
  EXPECT_EQ(get(t, "Bearer abc").status, 401);
  EXPECT_NE(log_.find("request req-1: git authentication failed for app (user " +
                      std::string(kKeyId) + ")"),
            std::string::npos)
      << log_;
}

TEST_F(GitHttpTest, TheServersKeyGetsGitsRefAdvertisement) {
  create("app");
  http::Response r = get("/v1/repos/app/info/refs?service=git-upload-pack");
  EXPECT_EQ(r.status, 200) << r.body << log_;
  EXPECT_EQ(header(r, "Content-Type"), "application/x-git-upload-pack-advertisement");
  EXPECT_EQ(r.body.substr(0, 30), "001e# service=git-upload-pack\n");
  http::Response push = get("/v1/repos/app/info/refs?service=git-receive-pack");
  EXPECT_EQ(push.status, 200) << push.body << log_;
  EXPECT_EQ(header(push, "Content-Type"), "application/x-git-receive-pack-advertisement");
}

TEST_F(GitHttpTest, AMissingRepositoryOrAnotherPathGets404) {
  create("app");
  EXPECT_EQ(get("/v1/repos/nope/info/refs?service=git-upload-pack").status, 404);
  EXPECT_EQ(get("/v1/repos/app/HEAD").status, 404) << "no dumb protocol";
  EXPECT_EQ(get("/v1/repos/app/objects/info/packs").status, 404);
  EXPECT_EQ(get("/v1/repos/bad%20name/info/refs?service=git-upload-pack").status, 404);
  EXPECT_EQ(get("/v1/repos/app/info/refs").status, 403);
  EXPECT_EQ(get("/v1/repos/app/info/refs?service=git-upload-archive").status, 403);
}

TEST_F(GitHttpTest, APushReportsEachMovedRefAndTheFirstBranchBecomesTheDefault) {
  create("app");
  auto work = dir_.path() / "work";
  const std::string id = make_work_repo(work, "dev", {{"a.txt", "hello"}, {"c.txt", "same"}});
  auto receive_pack = [&](const std::string& commands, const std::string& revs) {
    std::string pack = revs.empty() ? ""
                                    : sh("printf '" + revs + "' | git -C '" + work.string() +
                                         "' pack-objects -q --stdout --revs");
    http::Request r;
    r.method = "POST";
    r.target = "/v1/repos/app/git-receive-pack";
    r.peer = "127.0.0.1:5000";
    r.request_id = "req-2";
    r.headers = {{"Authorization", basic(kKeyId, kSecret)},
                 {"Content-Type", "application/x-git-receive-pack-request"}};
    r.body = commands + "0000" + pack;
    return git_->handle(r);
  };
  const std::string zero(40, '0');
  const std::string nul(1, '\0');
  http::Response out = receive_pack(
      pkt_line(zero + " " + id + " refs/heads/dev" + nul + "report-status\n"), "dev\\n");
  EXPECT_EQ(out.status, 200) << out.body << log_;
  EXPECT_EQ(header(out, "Content-Type"), "application/x-git-receive-pack-result");
  EXPECT_NE(out.body.find("unpack ok"), std::string::npos) << out.body;
  EXPECT_NE(out.body.find("ok refs/heads/dev"), std::string::npos) << out.body;
  ASSERT_EQ(pushes_.size(), 1u);
  EXPECT_EQ(pushes_[0].repository, "app");
  EXPECT_EQ(pushes_[0].ref, "refs/heads/dev");
  EXPECT_EQ(pushes_[0].branch, "dev");
  EXPECT_EQ(pushes_[0].old_commit_id, "");
  EXPECT_EQ(pushes_[0].commit_id, id);
  EXPECT_FALSE(pushes_[0].changed_files.has_value()) << "a new branch has no base";
  EXPECT_EQ(
      sh("git --git-dir='" + repository_dir(dir_.path(), "app").string() + "' symbolic-ref HEAD"),
      "refs/heads/dev\n");

  // A second commit and a tag in one push: both refs, the branch with the
  // files that changed.
  sh("cd '" + work.string() + "' && echo changed > a.txt && echo new > b.txt && git add -A && " +
     "git commit -q -m second");
  std::string second = sh("git -C '" + work.string() + "' rev-parse HEAD");
  second.pop_back();
  out = receive_pack(pkt_line(id + " " + second + " refs/heads/dev" + nul + "report-status\n") +
                         pkt_line(zero + " " + second + " refs/tags/v1\n"),
                     "dev\\n^" + id + "\\n");
  EXPECT_EQ(out.status, 200) << out.body << log_;
  ASSERT_EQ(pushes_.size(), 3u) << log_;
  EXPECT_EQ(pushes_[1].ref, "refs/heads/dev");
  EXPECT_EQ(pushes_[1].old_commit_id, id);
  EXPECT_EQ(pushes_[1].commit_id, second);
  ASSERT_TRUE(pushes_[1].changed_files.has_value());
  EXPECT_EQ(*pushes_[1].changed_files, (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ(pushes_[2].ref, "refs/tags/v1");
  EXPECT_EQ(pushes_[2].branch, "");
  EXPECT_EQ(pushes_[2].commit_id, second);

  // The same update again moves nothing, so nothing is reported.
  out = receive_pack(pkt_line(second + " " + second + " refs/heads/dev" + nul + "report-status\n"),
                     "");
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(pushes_.size(), 3u);
}

TEST(GitHttpPaths, RepositoryPathsAndBasicCredentialsParse) {
  auto p = parse_repo_path("/v1/repos/my-app/info/refs");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->repository, "my-app");
  EXPECT_EQ(p->rest, "/info/refs");
  EXPECT_EQ(parse_repo_path("/v1/repos/my-app")->rest, "");
  EXPECT_FALSE(parse_repo_path("/v1/repos/../x/info/refs"));
  EXPECT_FALSE(parse_repo_path("/v1/repos/x.git/info/refs"));
  EXPECT_FALSE(parse_repo_path("/v2/repos/x"));
  auto c = parse_basic_auth(basic("AKIA", "p:w"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first, "AKIA");
  EXPECT_EQ(c->second, "p:w");
  EXPECT_FALSE(parse_basic_auth("Basic !!!"));
  EXPECT_FALSE(parse_basic_auth("Basic " + std::string("bm9jb2xvbg==")));  // "nocolon"
  EXPECT_FALSE(parse_basic_auth("Digest abc"));
}

}  // namespace
}  // namespace stageline::codecommit
