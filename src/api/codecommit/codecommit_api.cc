#include "api/codecommit/codecommit_api.h"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <system_error>
#include <tuple>

#include "api/codecommit/git_repository.h"
#include "api/codecommit/layout.h"
#include "api/wire/embedded.h"
#include "api/wire/json_text.h"
#include "base/ids.h"
#include "base/strings.h"

namespace stageline::codecommit {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr size_t kMaxTags = 50;                    // CodeCommit's tag limit per resource
constexpr size_t kMaxFileBytes = 6 * 1024 * 1024;  // GetFile's FileContent max

// CodeCommit's text (moto records the same).
constexpr std::string_view kInvalidNameMessage =
    "The repository name is not valid. Repository names can be any valid combination of "
    "letters, numbers, periods, underscores, and dashes between 1 and 100 characters in length. "
    "Names are case sensitive. For more information, see Limits in the AWS CodeCommit User "
    "Guide.";

std::string str(const json::object& o, std::string_view key) {
  if (const json::value* v = o.if_contains(key); v && v->is_string())
    return std::string(v->as_string());
  return "";
}

json::value timestamp(int64_t ms) {
  return wire::epoch_seconds(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

// git's "<epoch seconds> <+hhmm>", as CodeCommit's UserInfo.date shows it.
std::string git_date(const GitSignature& s) {
  int offset = s.offset_minutes;
  char sign = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld %c%02d%02d", static_cast<long long>(s.time_s), sign,
                offset / 60, offset % 60);
  return buf;
}

json::object user_info(const GitSignature& s) {
  return json::object{{"name", s.name}, {"email", s.email}, {"date", git_date(s)}};
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

const wire::ServiceModel& codecommit_model() {
  static const wire::ServiceModel* model = [] {
    const wire::EmbeddedModel* embedded = wire::find_embedded_model("codecommit");
    STAGELINE_CHECK(embedded != nullptr);
    json::value doc = json::parse(embedded->json);
    json::object& shape = doc.at("shapes").at("RepositoryName").as_object();
    shape.erase("pattern");
    shape.erase("min");
    shape.erase("max");
    auto parsed = wire::ServiceModel::parse(json::serialize(doc));
    STAGELINE_CHECK(parsed.ok());
    return new wire::ServiceModel(std::move(parsed).value());
  }();
  return *model;
}

bool valid_repository_name(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  if (name == "." || name == "..") return false;
  if (name.ends_with(".git")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string endpoint_url_for(std::string_view listen, int port) {
  std::string_view host = listen.substr(0, listen.rfind(':'));
  std::string h(host);
  if (h.empty() || h == "0.0.0.0") h = "127.0.0.1";
  if (h == "[::]") h = "[::1]";
  return "http://" + h + ":" + std::to_string(port);
}

CodeCommitApi::CodeCommitApi(store::Store& store, CodeCommitOptions options)
    : store_(store),
      options_(std::move(options)),
      model_(codecommit_model()),
      tokens_(options_.page_token_key) {
  STAGELINE_CHECK(options_.now_ms != nullptr);
  STAGELINE_CHECK(options_.page_size >= 1);
}

std::string CodeCommitApi::repository_arn(std::string_view name) const {
  return "arn:aws:codecommit:" + options_.region + ":" + options_.account_id + ":" +
         std::string(name);
}

wire::Outcome<json::value> CodeCommitApi::call(const wire::Call& call) {
  const std::string_view name = call.operation->name;
  const json::object& in = call.input;
  try {
    if (name == "CreateRepository") return create_repository(in);
    if (name == "GetRepository") return get_repository(in);
    if (name == "ListRepositories") return list_repositories(in);
    if (name == "DeleteRepository") return delete_repository(in);
    if (name == "GetBranch") return get_branch(in);
    if (name == "ListBranches") return list_branches(in);
    if (name == "CreateBranch") return create_branch(in);
    if (name == "GetCommit") return get_commit(in);
    if (name == "GetFile") return get_file(in);
  } catch (const std::exception& e) {
    // Boost.JSON throws on a stored document that is not what this module
    // wrote; the call fails, the server goes on.
    return internal(Status::internal(std::string(name) + ": " + e.what()));
  }
  return wire::common_error(
      wire::CommonError::kValidation,
      std::string(name) + " is not available yet in Stageline: it is not implemented");
}

wire::Error CodeCommitApi::error(std::string_view type, std::string message) const {
  return wire::modeled_error(model_, type, std::move(message));
}

wire::Error CodeCommitApi::internal(const Status& status) const {
  wire::Error e = wire::common_error(wire::CommonError::kInternalFailure,
                                     "An internal error occurred; the server log has it");
  e.detail = status.message();
  return e;
}

wire::Outcome<std::string> CodeCommitApi::repository_name(const In& in) const {
  std::string name = str(in, "repositoryName");
  if (name.empty())
    return error("RepositoryNameRequiredException",
                 "A repository name is required, but was not specified.");
  if (!valid_repository_name(name))
    return error("InvalidRepositoryNameException", std::string(kInvalidNameMessage));
  return name;
}

wire::Outcome<store::ResourceRecord> CodeCommitApi::repository(const std::string& name) {
  auto record = store_.get_resource(std::string(kService), std::string(kKind), name);
  if (record.ok()) return std::move(record).value();
  if (record.status().code() == StatusCode::kNotFound)
    return error("RepositoryDoesNotExistException", name + " does not exist");
  return internal(record.status());
}

wire::Outcome<json::object> CodeCommitApi::metadata(const store::ResourceRecord& record) {
  json::object doc = json::parse(record.document_json).as_object();
  json::object m;
  m["accountId"] = str(doc, "accountId");
  m["repositoryId"] = str(doc, "repositoryId");
  m["repositoryName"] = record.name;
  if (doc.contains("repositoryDescription"))
    m["repositoryDescription"] = str(doc, "repositoryDescription");
  auto repo = GitRepository::open(repository_dir(options_.data_dir, record.name));
  if (!repo.ok()) return internal(repo.status());
  auto branch = repo->default_branch();
  if (!branch.ok()) return internal(branch.status());
  if (branch->has_value()) m["defaultBranch"] = **branch;
  m["lastModifiedDate"] = timestamp(record.updated_ms);
  m["creationDate"] = timestamp(record.created_ms);
  m["cloneUrlHttp"] = endpoint_url_ + "/v1/repos/" + record.name;
  // Stageline difference: no SSH server; git accepts the bare path itself.
  m["cloneUrlSsh"] = fs::absolute(repository_dir(options_.data_dir, record.name)).string();
  m["Arn"] = str(doc, "arn");
  return m;
}

CodeCommitApi::Out CodeCommitApi::create_repository(const In& in) {
  auto name = repository_name(in);
  if (!name.ok()) return name.error();
  json::object tags;
  if (const json::value* t = in.if_contains("tags"); t && t->is_object()) tags = t->as_object();
  if (tags.size() > kMaxTags)
    return error("TooManyTagsException",
                 "The maximum number of tags for a CodeCommit resource is 50.");
  for (const auto& [key, value] : tags) {
    if (std::string_view(key).starts_with("aws:"))
      return error("InvalidSystemTagUsageException",
                   "The tag key " + std::string(key) +
                       " is not valid: tag keys that start with aws: are reserved for AWS.");
  }
  auto existing = store_.get_resource(std::string(kService), std::string(kKind), *name);
  if (existing.ok())
    return error("RepositoryNameExistsException", "Repository named " + *name + " already exists");
  if (existing.status().code() != StatusCode::kNotFound) return internal(existing.status());

  const fs::path dir = repository_dir(options_.data_dir, *name);
  std::error_code ec;
  // A directory without a row is what a crash between the two steps below
  // leaves (layout.h: the row exists exactly while the directory does).
  if (fs::exists(dir, ec)) fs::remove_all(dir, ec);
  if (ec) return internal(Status::io("remove stale " + dir.string() + ": " + ec.message()));
  if (Status s = init_bare_repository(dir, options_.initial_branch); !s.ok()) return internal(s);

  const int64_t now = options_.now_ms();
  json::object doc{{"repositoryId", new_uuid()},       {"repositoryName", *name},
                   {"accountId", options_.account_id}, {"region", options_.region},
                   {"arn", repository_arn(*name)},     {"tags", tags}};
  if (const json::value* d = in.if_contains("repositoryDescription"); d && d->is_string())
    doc["repositoryDescription"] = d->as_string();
  store::ResourceRecord record{
      std::string(kService), std::string(kKind), *name, json::serialize(doc), now, now};
  if (Status s = store_.insert_resource(record); !s.ok()) {
    fs::remove_all(dir, ec);
    if (s.code() == StatusCode::kAlreadyExists)
      return error("RepositoryNameExistsException",
                   "Repository named " + *name + " already exists");
    return internal(s);
  }
  auto m = metadata(record);
  if (!m.ok()) return m.error();
  return json::value(json::object{{"repositoryMetadata", std::move(*m)}});
}

CodeCommitApi::Out CodeCommitApi::get_repository(const In& in) {
  auto name = repository_name(in);
  if (!name.ok()) return name.error();
  auto record = repository(*name);
  if (!record.ok()) return record.error();
  auto m = metadata(*record);
  if (!m.ok()) return m.error();
  return json::value(json::object{{"repositoryMetadata", std::move(*m)}});
}

CodeCommitApi::Out CodeCommitApi::list_repositories(const In& in) {
  const std::string sort_by = in.contains("sortBy") ? str(in, "sortBy") : "repositoryName";
  const std::string order = in.contains("order") ? str(in, "order") : "ascending";
  // The model's enums have already refused other values.
  const bool by_date = sort_by == "lastModifiedDate";
  const bool descending = order == "descending";
  const std::string scope = sort_by + "/" + order;

  std::vector<store::ResourceRecord> all;
  for (std::string after;;) {
    auto page = store_.list_resources(std::string(kService), std::string(kKind), 1000, after);
    if (!page.ok()) return internal(page.status());
    for (auto& r : page->items) all.push_back(std::move(r));
    if (page->next_key.empty()) break;
    after = page->next_key;
  }
  using Key = std::tuple<int64_t, std::string>;
  auto key = [by_date](const store::ResourceRecord& r) {
    return Key(by_date ? r.updated_ms : 0, r.name);
  };
  std::sort(all.begin(), all.end(), [&](const auto& a, const auto& b) {
    return descending ? key(b) < key(a) : key(a) < key(b);
  });

  size_t start = 0;
  if (std::string token = str(in, "nextToken"); !token.empty()) {
    auto position = tokens_.redeem("ListRepositories", scope, token);
    const json::array* p = position.ok() && position->is_array() ? &position->as_array() : nullptr;
    if (!p || p->size() != 2 || !(*p)[0].is_int64() || !(*p)[1].is_string())
      return error("InvalidContinuationTokenException",
                   "The specified continuation token is not valid.");
    const Key last((*p)[0].as_int64(), std::string((*p)[1].as_string()));
    while (start < all.size() &&
           (descending ? !(key(all[start]) < last) : !(last < key(all[start]))))
      ++start;
  }
  json::array repositories;
  size_t i = start;
  for (; i < all.size() && static_cast<int64_t>(repositories.size()) < options_.page_size; ++i) {
    json::object doc = json::parse(all[i].document_json).as_object();
    repositories.push_back(
        json::object{{"repositoryName", all[i].name}, {"repositoryId", str(doc, "repositoryId")}});
  }
  json::object out{{"repositories", std::move(repositories)}};
  if (i < all.size()) {
    const Key last = key(all[i - 1]);
    out["nextToken"] =
        tokens_.issue("ListRepositories", scope, json::array{std::get<0>(last), std::get<1>(last)});
  }
  return json::value(std::move(out));
}

CodeCommitApi::Out CodeCommitApi::delete_repository(const In& in) {
  auto name = repository_name(in);
  if (!name.ok()) return name.error();
  auto record = store_.get_resource(std::string(kService), std::string(kKind), *name);
  // AWS answers a missing repository with an empty output, not an error.
  if (!record.ok() && record.status().code() == StatusCode::kNotFound)
    return json::value(json::object());
  if (!record.ok()) return internal(record.status());
  json::object doc = json::parse(record->document_json).as_object();
  if (Status s = store_.delete_resource(std::string(kService), std::string(kKind), *name);
      !s.ok() && s.code() != StatusCode::kNotFound)
    return internal(s);
  // The row is gone, so the repository is; a directory left behind by a
  // failure here is removed by the next CreateRepository of the name.
  std::error_code ec;
  fs::remove_all(repository_dir(options_.data_dir, *name), ec);
  return json::value(json::object{{"repositoryId", str(doc, "repositoryId")}});
}

CodeCommitApi::Out CodeCommitApi::get_branch(const In& in) {
  auto name = repository_name(in);
  if (!name.ok()) return name.error();
  const std::string branch = str(in, "branchName");
  if (branch.empty())
    return error("BranchNameRequiredException",
                 "A branch name is required, but was not specified.");
  if (!valid_branch_name(branch))
    return error("InvalidBranchNameException", "The specified branch name is not valid.");
  auto record = repository(*name);
  if (!record.ok()) return record.error();
  auto repo = GitRepository::open(repository_dir(options_.data_dir, *name));
  if (!repo.ok()) return internal(repo.status());
  auto commit = repo->branch_commit(branch);
  if (!commit.ok()) {
    if (commit.status().code() == StatusCode::kNotFound)
      return error("BranchDoesNotExistException",
                   "Branch " + branch + " does not exist in repository " + *name);
    return internal(commit.status());
  }
  return json::value(
      json::object{{"branch", json::object{{"branchName", branch}, {"commitId", *commit}}}});
}

CodeCommitApi::Out CodeCommitApi::list_branches(const In& in) {
  auto name = repository_name(in);
  if (!name.ok()) return name.error();
  auto record = repository(*name);
  if (!record.ok()) return record.error();
  auto repo = GitRepository::open(repository_dir(options_.data_dir, *name));
  if (!repo.ok()) return internal(repo.status());
  auto names = repo->branches();
  if (!names.ok()) return internal(names.status());
  auto it = names->begin();
  if (std::string token = str(in, "nextToken"); !token.empty()) {
    auto position = tokens_.redeem("ListBranches", *name, token);
    if (!position.ok() || !position->is_string())
      return error("InvalidContinuationTokenException",
                   "The specified continuation token is not valid.");
    it = std::upper_bound(names->begin(), names->end(), std::string(position->as_string()));
  }
  json::array branches;
  for (; it != names->end() && static_cast<int64_t>(branches.size()) < options_.page_size; ++it)
    branches.push_back(json::string(*it));
  json::object out{{"branches", std::move(branches)}};
  if (it != names->end())
    out["nextToken"] = tokens_.issue("ListBranches", *name, json::string(*(it - 1)));
  return json::value(std::move(out));
}

CodeCommitApi::Out CodeCommitApi::create_branch(const In& in) {
  auto name = repository_name(in);
  if (!name.ok()) return name.error();
  const std::string branch = str(in, "branchName");
  const std::string commit_id = str(in, "commitId");
  if (branch.empty())
    return error("BranchNameRequiredException",
                 "A branch name is required, but was not specified.");
  if (!valid_branch_name(branch))
    return error("InvalidBranchNameException", "The specified branch name is not valid.");
  if (commit_id.empty())
    return error("CommitIdRequiredException", "A commit ID is required, but was not specified.");
  if (!valid_object_id(commit_id))
    return error("InvalidCommitIdException",
                 "The specified commit ID is not valid: a full commit ID has 40 hexadecimal "
                 "digits.");
  auto record = repository(*name);
  if (!record.ok()) return record.error();
  auto repo = GitRepository::open(repository_dir(options_.data_dir, *name));
  if (!repo.ok()) return internal(repo.status());
  Status s = repo->create_branch(branch, commit_id);
  switch (s.code()) {
    case StatusCode::kOk:
      break;
    case StatusCode::kAlreadyExists:
      return error("BranchNameExistsException",
                   "Branch " + branch + " already exists in repository " + *name);
    case StatusCode::kNotFound:
      return error("CommitDoesNotExistException",
                   "Commit " + commit_id + " does not exist in repository " + *name);
    case StatusCode::kInvalidArgument:
      return error("InvalidBranchNameException", "The specified branch name is not valid.");
    case StatusCode::kFailedPrecondition:
    case StatusCode::kIo:
    case StatusCode::kInternal:
      return internal(s);
  }
  // The first branch of a repository made without a push becomes its default.
  if (Status d = repo->adopt_default_branch(branch); !d.ok()) return internal(d);
  return json::value(json::object());
}

CodeCommitApi::Out CodeCommitApi::get_commit(const In& in) {
  auto name = repository_name(in);
  if (!name.ok()) return name.error();
  const std::string commit_id = str(in, "commitId");
  if (commit_id.empty())
    return error("CommitIdRequiredException", "A commit ID is required, but was not specified.");
  if (!valid_object_id(commit_id))
    return error("InvalidCommitIdException",
                 "The specified commit ID is not valid: a full commit ID has 40 hexadecimal "
                 "digits.");
  auto record = repository(*name);
  if (!record.ok()) return record.error();
  auto repo = GitRepository::open(repository_dir(options_.data_dir, *name));
  if (!repo.ok()) return internal(repo.status());
  auto commit = repo->commit(commit_id);
  if (!commit.ok()) {
    if (commit.status().code() == StatusCode::kNotFound)
      return error("CommitIdDoesNotExistException",
                   "Commit " + commit_id + " does not exist in repository " + *name);
    return internal(commit.status());
  }
  json::array parents;
  for (const auto& p : commit->parents) parents.push_back(json::string(p));
  return json::value(
      json::object{{"commit", json::object{{"commitId", commit->id},
                                           {"treeId", commit->tree_id},
                                           {"parents", std::move(parents)},
                                           {"message", commit->message},
                                           {"author", user_info(commit->author)},
                                           {"committer", user_info(commit->committer)},
                                           {"additionalData", ""}}}});
}

CodeCommitApi::Out CodeCommitApi::get_file(const In& in) {
  auto name = repository_name(in);
  if (!name.ok()) return name.error();
  const std::string path = str(in, "filePath");
  if (path.empty())
    return error("PathRequiredException", "A file path is required, but was not specified.");
  for (const std::string& part : split(path, '/')) {
    if (part == "." || part == ".." || path.find('\0') != std::string::npos)
      return error("InvalidPathException", "The specified path " + path + " is not valid.");
  }
  auto record = repository(*name);
  if (!record.ok()) return record.error();
  auto repo = GitRepository::open(repository_dir(options_.data_dir, *name));
  if (!repo.ok()) return internal(repo.status());
  const std::string specifier = str(in, "commitSpecifier");
  auto commit = repo->resolve_commit(specifier);
  if (!commit.ok()) {
    if (commit.status().code() == StatusCode::kNotFound)
      return error("CommitDoesNotExistException",
                   "The commit " + (specifier.empty() ? "of the default branch" : specifier) +
                       " does not exist in repository " + *name);
    return internal(commit.status());
  }
  auto file = repo->file(*commit, path, kMaxFileBytes);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kNotFound)
      return error("FileDoesNotExistException",
                   "The file " + path + " does not exist in commit " + *commit);
    if (file.status().code() == StatusCode::kFailedPrecondition)
      return error("FileTooLargeException",
                   "The file " + path + " is larger than GetFile's limit of 6 MB.");
    return internal(file.status());
  }
  std::string_view mode = file->mode == GitFileMode::kExecutable ? "EXECUTABLE"
                          : file->mode == GitFileMode::kSymlink  ? "SYMLINK"
                                                                 : "NORMAL";
  return json::value(json::object{{"commitId", *commit},
                                  {"blobId", file->blob_id},
                                  {"filePath", path},
                                  {"fileMode", mode},
                                  {"fileSize", static_cast<int64_t>(file->content.size())},
                                  {"fileContent", base64(file->content)}});
}

}  // namespace stageline::codecommit
