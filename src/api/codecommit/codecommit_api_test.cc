#include "api/codecommit/codecommit_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>

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

class CodeCommitApiTest : public ::testing::Test {
 protected:
  CodeCommitApiTest() {
    auto opened = store::SqliteStore::open(":memory:", {});
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    CodeCommitOptions options;
    options.data_dir = dir_.path();
    options.region = "eu-west-1";
    options.account_id = "123456789012";
    options.now_ms = [this] { return now_ms_; };
    options.page_token_key = "0123456789abcdef0123456789abcdef";
    options.page_size = 2;
    api_ = std::make_unique<CodeCommitApi>(*store_, options);
    api_->set_endpoint_url("http://127.0.0.1:7300");
  }

  // Sends `body` as the aws CLI would: through the model's dispatcher, then
  // the handler; a successful output must match the model's output shape.
  wire::Outcome<json::value> call(std::string_view operation, std::string_view body) {
    wire::Dispatcher dispatcher(codecommit_model());
    std::string target = "CodeCommit_20150413." + std::string(operation);
    auto routed = dispatcher.dispatch(
        wire::Request{target, std::string_view("application/x-amz-json-1.1"), body});
    if (!routed.ok()) return routed.error();
    auto out = api_->call(*routed);
    if (out.ok()) {
      auto encoded = wire::encode_output(*routed->operation, *out, wire::OutputCheck::kAlways);
      EXPECT_TRUE(encoded.ok()) << operation << ": " << encoded.status().message();
    }
    return out;
  }

  json::object ok(std::string_view operation, std::string_view body) {
    auto out = call(operation, body);
    EXPECT_TRUE(out.ok()) << operation << " " << body << ": "
                          << (out.ok() ? "" : out.error().type + " " + out.error().message);
    return out.ok() ? out->as_object() : json::object();
  }

  std::string err(std::string_view operation, std::string_view body) {
    auto out = call(operation, body);
    EXPECT_FALSE(out.ok()) << operation << " " << body;
    return out.ok() ? "" : out.error().type;
  }

  // Pushes a commit on `branch` to `repository` by its cloneUrlSsh (a path).
  std::string push(const std::string& repository, const std::string& branch,
                   const std::map<std::string, std::string>& files) {
    auto work = dir_.path() / ("work-" + repository + "-" + branch);
    std::string id = make_work_repo(work, branch, files);
    sh("git -C '" + work.string() + "' push -q '" +
       repository_dir(dir_.path(), repository).string() + "' " + branch + " 2>&1");
    return id;
  }

  TempDir dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<CodeCommitApi> api_;
  int64_t now_ms_ = 1'700'000'000'000;
};

TEST_F(CodeCommitApiTest, CreateRepositoryAnswersAwsShapedMetadataAndMakesABareRepository) {
  json::object out = ok("CreateRepository",
                        R"({"repositoryName":"web-app","repositoryDescription":"The site",
                            "tags":{"team":"web"}})");
  const json::object& m = out.at("repositoryMetadata").as_object();
  EXPECT_EQ(m.at("accountId"), "123456789012");
  EXPECT_TRUE(std::regex_match(
      std::string(m.at("repositoryId").as_string()),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")));
  EXPECT_EQ(m.at("repositoryName"), "web-app");
  EXPECT_EQ(m.at("repositoryDescription"), "The site");
  EXPECT_FALSE(m.contains("defaultBranch")) << "an empty repository has no default branch";
  EXPECT_EQ(m.at("creationDate").as_int64(), 1'700'000'000);
  EXPECT_EQ(m.at("cloneUrlHttp"), "http://127.0.0.1:7300/v1/repos/web-app");
  EXPECT_EQ(m.at("cloneUrlSsh"),
            json::value((dir_.path() / "git/codecommit/web-app.git").string()));
  EXPECT_EQ(m.at("Arn"), "arn:aws:codecommit:eu-west-1:123456789012:web-app");
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "git/codecommit/web-app.git/HEAD"));
  EXPECT_EQ(sh("git --git-dir='" + (dir_.path() / "git/codecommit/web-app.git").string() +
               "' rev-parse --is-bare-repository"),
            "true\n");

  auto row = store_->get_resource("codecommit", "repository", "web-app");
  ASSERT_TRUE(row.ok());
  json::object doc = json::parse(row->document_json).as_object();
  EXPECT_EQ(doc.at("repositoryId"), m.at("repositoryId"));
  EXPECT_EQ(doc.at("tags").at("team"), "web");
}

TEST_F(CodeCommitApiTest, ASecondCreateOfTheSameNameIsRepositoryNameExistsException) {
  ok("CreateRepository", R"({"repositoryName":"app"})");
  EXPECT_EQ(err("CreateRepository", R"({"repositoryName":"app"})"),
            "RepositoryNameExistsException");
}

TEST_F(CodeCommitApiTest, ANameCodeCommitRefusesIsInvalidRepositoryNameException) {
  for (const std::string& name : std::vector<std::string>{"my repo", "a/b", "../x", "x.git", "..",
                                                          "caf\u00e9", std::string(101, 'a')}) {
    json::object in{{"repositoryName", name}};
    EXPECT_EQ(err("CreateRepository", json::serialize(in)), "InvalidRepositoryNameException")
        << name;
    EXPECT_EQ(err("GetRepository", json::serialize(in)), "InvalidRepositoryNameException") << name;
  }
  EXPECT_EQ(err("CreateRepository", R"({"repositoryName":""})"), "RepositoryNameRequiredException");
  ok("CreateRepository", json::serialize(json::object{{"repositoryName", std::string(100, 'a')}}));
  ok("CreateRepository", R"({"repositoryName":"A_b-c.d"})");
}

TEST_F(CodeCommitApiTest, TagsBeyondFiftyOrWithTheAwsPrefixAreRefused) {
  json::object tags;
  for (int i = 0; i < 51; ++i) tags["k" + std::to_string(i)] = "v";
  EXPECT_EQ(err("CreateRepository",
                json::serialize(json::object{{"repositoryName", "r"}, {"tags", tags}})),
            "TooManyTagsException");
  EXPECT_EQ(err("CreateRepository", R"({"repositoryName":"r","tags":{"aws:x":"1"}})"),
            "InvalidSystemTagUsageException");
  EXPECT_FALSE(std::filesystem::exists(repository_dir(dir_.path(), "r")));
}

TEST_F(CodeCommitApiTest, GetRepositoryOfAMissingRepositoryIsRepositoryDoesNotExistException) {
  auto out = call("GetRepository", R"({"repositoryName":"nope"})");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().type, "RepositoryDoesNotExistException");
  EXPECT_EQ(out.error().message, "nope does not exist");
}

TEST_F(CodeCommitApiTest, DeleteRepositoryAnswersItsIdAndNothingForAMissingOne) {
  json::object created = ok("CreateRepository", R"({"repositoryName":"gone"})");
  json::object out = ok("DeleteRepository", R"({"repositoryName":"gone"})");
  EXPECT_EQ(out.at("repositoryId"), created.at("repositoryMetadata").at("repositoryId"));
  EXPECT_FALSE(std::filesystem::exists(repository_dir(dir_.path(), "gone")));
  EXPECT_EQ(err("GetRepository", R"({"repositoryName":"gone"})"),
            "RepositoryDoesNotExistException");
  EXPECT_TRUE(ok("DeleteRepository", R"({"repositoryName":"gone"})").empty());
  // The name is free again.
  ok("CreateRepository", R"({"repositoryName":"gone"})");
}

TEST_F(CodeCommitApiTest, ListRepositoriesSortsByNameOrDateInEitherOrderAndPages) {
  for (auto [name, t] : {std::pair{"b", 3}, {"a", 2}, {"c", 1}}) {
    now_ms_ = 1'700'000'000'000 + t;
    ok("CreateRepository", json::serialize(json::object{{"repositoryName", name}}));
  }
  auto names = [&](std::string body) {
    std::vector<std::string> out;
    for (;;) {
      json::object page = ok("ListRepositories", body);
      for (const auto& r : page.at("repositories").as_array())
        out.emplace_back(r.at("repositoryName").as_string());
      if (!page.contains("nextToken")) break;
      json::object in = json::parse(body).as_object();
      in["nextToken"] = page.at("nextToken");
      body = json::serialize(in);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names("{}"), (V{"a", "b", "c"}));
  EXPECT_EQ(names(R"({"order":"descending"})"), (V{"c", "b", "a"}));
  EXPECT_EQ(names(R"({"sortBy":"lastModifiedDate"})"), (V{"c", "a", "b"}));
  EXPECT_EQ(names(R"({"sortBy":"lastModifiedDate","order":"descending"})"), (V{"b", "a", "c"}));
  json::object first = ok("ListRepositories", "{}");
  EXPECT_EQ(first.at("repositories").as_array().size(), 2u);
  EXPECT_EQ(first.at("repositories").at(0).at("repositoryId").as_string().size(), 36u);
  // A token of one ordering is refused by another, and a forged one too.
  json::object other{{"order", "descending"}, {"nextToken", first.at("nextToken")}};
  EXPECT_EQ(err("ListRepositories", json::serialize(other)), "InvalidContinuationTokenException");
  EXPECT_EQ(err("ListRepositories", R"({"nextToken":"forged"})"),
            "InvalidContinuationTokenException");
  EXPECT_EQ(err("ListRepositories", R"({"sortBy":"size"})"), "ValidationException");
}

TEST_F(CodeCommitApiTest, BranchesAndCommitsOfAPushedRepositoryAreReadFromGit) {
  ok("CreateRepository", R"({"repositoryName":"app"})");
  const std::string id =
      push("app", "main", {{"README.md", "hello\n"}, {"src/run.sh", "#!/bin/sh\n"}});

  json::object repo = ok("GetRepository", R"({"repositoryName":"app"})");
  EXPECT_EQ(repo.at("repositoryMetadata").at("defaultBranch"), "main");

  json::object branch = ok("GetBranch", R"({"repositoryName":"app","branchName":"main"})");
  EXPECT_EQ(branch.at("branch").at("commitId"), json::value(id));
  EXPECT_EQ(branch.at("branch").at("branchName"), "main");
  EXPECT_EQ(err("GetBranch", R"({"repositoryName":"app","branchName":"nope"})"),
            "BranchDoesNotExistException");
  EXPECT_EQ(err("GetBranch", R"({"repositoryName":"app","branchName":"a..b"})"),
            "InvalidBranchNameException");
  EXPECT_EQ(err("GetBranch", R"({"repositoryName":"app"})"), "BranchNameRequiredException");
  EXPECT_EQ(err("GetBranch", R"({"branchName":"main"})"), "RepositoryNameRequiredException");

  json::object commit =
      ok("GetCommit", json::serialize(json::object{{"repositoryName", "app"}, {"commitId", id}}));
  const json::object& c = commit.at("commit").as_object();
  EXPECT_EQ(c.at("commitId"), json::value(id));
  EXPECT_EQ(c.at("treeId").as_string().size(), 40u);
  EXPECT_TRUE(c.at("parents").as_array().empty());
  EXPECT_EQ(c.at("message"), "First commit\n\nBody line\n");
  EXPECT_EQ(c.at("author").at("name"), "Ada Lovelace");
  EXPECT_EQ(c.at("author").at("email"), "ada@example.com");
  EXPECT_EQ(c.at("author").at("date"), "1700000000 +0130");
  EXPECT_EQ(c.at("committer").at("date"), "1700000000 +0130");
  EXPECT_EQ(err("GetCommit", R"({"repositoryName":"app","commitId":"xyz"})"),
            "InvalidCommitIdException");
  EXPECT_EQ(err("GetCommit", json::serialize(json::object{{"repositoryName", "app"},
                                                          {"commitId", std::string(40, 'a')}})),
            "CommitIdDoesNotExistException");
  EXPECT_EQ(err("GetCommit", R"({"repositoryName":"app","commitId":""})"),
            "CommitIdRequiredException");
}

TEST_F(CodeCommitApiTest, CreateBranchPointsANewBranchAtACommitAndListBranchesPages) {
  ok("CreateRepository", R"({"repositoryName":"app"})");
  const std::string id = push("app", "main", {{"a.txt", "a"}});
  for (std::string b : {"release", "dev"}) {
    EXPECT_TRUE(
        ok("CreateBranch", json::serialize(json::object{
                               {"repositoryName", "app"}, {"branchName", b}, {"commitId", id}}))
            .empty());
  }
  EXPECT_EQ(
      ok("GetBranch", R"({"repositoryName":"app","branchName":"dev"})").at("branch").at("commitId"),
      json::value(id));
  auto create = [&](std::string branch, std::string commit) {
    return err("CreateBranch",
               json::serialize(json::object{
                   {"repositoryName", "app"}, {"branchName", branch}, {"commitId", commit}}));
  };
  EXPECT_EQ(create("dev", id), "BranchNameExistsException");
  EXPECT_EQ(create("x", std::string(40, 'b')), "CommitDoesNotExistException");
  EXPECT_EQ(create("x", "abc"), "InvalidCommitIdException");
  EXPECT_EQ(create("bad name", id), "InvalidBranchNameException");
  EXPECT_EQ(create("x", ""), "CommitIdRequiredException");

  json::object page = ok("ListBranches", R"({"repositoryName":"app"})");
  EXPECT_EQ(json::serialize(page.at("branches")), R"(["dev","main"])");
  json::object next =
      ok("ListBranches", json::serialize(json::object{{"repositoryName", "app"},
                                                      {"nextToken", page.at("nextToken")}}));
  EXPECT_EQ(json::serialize(next.at("branches")), R"(["release"])");
  EXPECT_FALSE(next.contains("nextToken"));
  EXPECT_EQ(err("ListBranches", R"({"repositoryName":"none"})"), "RepositoryDoesNotExistException");
}

TEST_F(CodeCommitApiTest, CreateBranchInARepositoryWithoutADefaultBranchMakesItTheDefault) {
  ok("CreateRepository", R"({"repositoryName":"app"})");
  const std::string id = push("app", "feature", {{"a.txt", "a"}});
  EXPECT_FALSE(ok("GetRepository", R"({"repositoryName":"app"})")
                   .at("repositoryMetadata")
                   .as_object()
                   .contains("defaultBranch"));
  ok("CreateBranch", json::serialize(json::object{
                         {"repositoryName", "app"}, {"branchName", "trunk"}, {"commitId", id}}));
  EXPECT_EQ(ok("GetRepository", R"({"repositoryName":"app"})")
                .at("repositoryMetadata")
                .at("defaultBranch"),
            "trunk");
}

TEST_F(CodeCommitApiTest, GetFileAnswersTheContentModeAndBlobOfAFile) {
  ok("CreateRepository", R"({"repositoryName":"app"})");
  auto work = dir_.path() / "work";
  make_work_repo(work, "main", {{"docs/readme.txt", "hello\n"}, {"run.sh", "#!/bin/sh\n"}});
  sh("cd '" + work.string() +
     "' && chmod +x run.sh && ln -s docs/readme.txt link && git add -A && "
     "git commit -q -m second && git push -q '" +
     repository_dir(dir_.path(), "app").string() + "' main 2>&1");
  json::object f = ok("GetFile", R"({"repositoryName":"app","filePath":"docs/readme.txt"})");
  EXPECT_EQ(f.at("fileContent"), "aGVsbG8K");  // base64 of "hello\n"
  EXPECT_EQ(f.at("fileSize").as_int64(), 6);
  EXPECT_EQ(f.at("fileMode"), "NORMAL");
  EXPECT_EQ(f.at("blobId").as_string().size(), 40u);
  EXPECT_EQ(
      ok("GetFile", R"({"repositoryName":"app","filePath":"/run.sh","commitSpecifier":"main"})")
          .at("fileMode"),
      "EXECUTABLE");
  EXPECT_EQ(ok("GetFile", R"({"repositoryName":"app","filePath":"link"})").at("fileMode"),
            "SYMLINK");
  EXPECT_EQ(err("GetFile", R"({"repositoryName":"app","filePath":"nope"})"),
            "FileDoesNotExistException");
  EXPECT_EQ(err("GetFile", R"({"repositoryName":"app","filePath":"docs"})"),
            "FileDoesNotExistException");
  EXPECT_EQ(err("GetFile", R"({"repositoryName":"app","filePath":"../x"})"),
            "InvalidPathException");
  EXPECT_EQ(
      err("GetFile", R"({"repositoryName":"app","filePath":"run.sh","commitSpecifier":"nope"})"),
      "CommitDoesNotExistException");
  EXPECT_EQ(err("GetFile", R"({"repositoryName":"app","filePath":""})"), "PathRequiredException");
}

TEST_F(CodeCommitApiTest, AnOperationStagelineDoesNotImplementIsAValidationException) {
  auto out = call("ListPullRequests", R"({"repositoryName":"app"})");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().type, "ValidationException");
  EXPECT_NE(out.error().message.find("ListPullRequests is not available"), std::string::npos);
}

TEST(CodeCommitNames, EndpointUrlsUseTheLoopbackAddressForWildcardHosts) {
  EXPECT_EQ(endpoint_url_for("127.0.0.1:0", 4321), "http://127.0.0.1:4321");
  EXPECT_EQ(endpoint_url_for("0.0.0.0:7300", 7300), "http://127.0.0.1:7300");
  EXPECT_EQ(endpoint_url_for("[::]:7300", 7300), "http://[::1]:7300");
  EXPECT_EQ(endpoint_url_for("localhost:7300", 7300), "http://localhost:7300");
}

}  // namespace
}  // namespace stageline::codecommit
