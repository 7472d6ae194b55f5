#include "cli/repo_command.h"

#include <boost/json.hpp>

#include "api/client/api_client.h"
#include "api/sigv4/keys.h"

namespace stageline::cli {
namespace {

namespace json = boost::json;
using api::client::ApiClient;

constexpr std::string_view kTargetPrefix = "CodeCommit_20150413";

std::string_view usage() {
  return "usage: stageline repo create NAME [--description TEXT]\n"
         "       stageline repo list\n"
         "       stageline repo credential get      (a git credential helper)\n"
         "  options: [--endpoint-url URL] [--region R] [--data-dir DIR] [--profile P]\n\n"
         "CodeCommit repositories hosted by the Stageline server. Push with git over HTTP:\n"
         "the user name is an access key id, the password its secret. To have git ask\n"
         "stageline for them:\n"
         "  git config --global credential.helper '!stageline repo credential'\n";
}

std::string str(const json::object& o, std::string_view key) {
  if (const json::value* v = o.if_contains(key); v && v->is_string())
    return std::string(v->as_string());
  return "";
}

// Sends one CodeCommit call; prints the service's error as the aws CLI does.
// nullopt after an error (already printed).
std::optional<json::object> send(ApiClient& client, std::string_view operation,
                                 const json::object& input, std::ostream& err) {
  auto reply = client.send(kTargetPrefix, operation, input);
  if (!reply.ok()) {
    err << "stageline repo: " << reply.status().message() << "\n";
    return std::nullopt;
  }
  if (reply->error) {
    err << "\nAn error occurred (" << reply->error->type << ") when calling the " << operation
        << " operation: " << reply->error->message << "\n";
    return std::nullopt;
  }
  return std::move(reply->output);
}

}  // namespace

int run_repo(const std::vector<std::string>& args, const ClientEnvironment& env, std::istream& in,
             std::ostream& out, std::ostream& err) {
  std::vector<std::string> words;
  std::string description;
  bool has_description = false;
  api::client::LocateOptions where;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h" || a == "help") {
      out << usage();
      return kExitOk;
    }
    if (!a.starts_with("--")) {
      words.push_back(a);
      continue;
    }
    if (i + 1 >= args.size()) {
      err << "stageline repo: error: argument " << a << ": expected one argument\n" << usage();
      return kExitUsage;
    }
    const std::string& v = args[++i];
    if (a == "--description") {
      description = v;
      has_description = true;
    } else if (!take_connection_flag(a, v, where)) {
      err << "stageline repo: error: unknown option " << a << "\n" << usage();
      return kExitUsage;
    }
  }
  where.default_data_dir = env.default_data_dir;
  where.shared_credentials_file = env.shared_credentials_file;
  const std::string verb = words.empty() ? "" : words[0];
  const size_t want = verb == "create" || verb == "credential" ? 2 : 1;
  if ((verb != "create" && verb != "list" && verb != "credential") || words.size() != want) {
    err << "stageline repo: error: "
        << (verb.empty() ? std::string("a command is required")
                         : "unexpected arguments for '" + verb + "'")
        << "\n"
        << usage();
    return kExitUsage;
  }

  if (verb == "credential") {
    // git's credential protocol: key=value lines up to an empty line. Only
    // "get" answers; "store" and "erase" have nothing to do here.
    std::string line;
    while (std::getline(in, line) && !line.empty()) {
    }
    if (words[1] != "get") return kExitOk;
    auto key = api::sigv4::read_credentials_file(api::client::credentials_path(where).string(),
                                                 where.profile);
    if (!key.ok()) {
      err << "stageline repo credential: " << key.status().message() << "\n";
      return kExitServiceError;
    }
    out << "username=" << key->access_key_id << "\npassword=" << key->secret << "\n";
    return kExitOk;
  }

  auto location = api::client::locate_server(where);
  if (!location.ok()) {
    err << "stageline repo: " << location.status().message() << "\n";
    return kExitServiceError;
  }
  api::client::ClientOptions options;
  options.service = "codecommit";
  auto client = ApiClient::create(*location, options);
  if (!client.ok()) {
    err << "stageline repo: " << client.status().message() << "\n";
    return kExitServiceError;
  }

  if (verb == "create") {
    json::object input{{"repositoryName", words[1]}};
    if (has_description) input["repositoryDescription"] = description;
    auto created = send(*client, "CreateRepository", input, err);
    if (!created) return kExitServiceError;
    const json::value* m = created->if_contains("repositoryMetadata");
    if (!m || !m->is_object()) {
      err << "stageline repo: the server answered without repositoryMetadata\n";
      return kExitServiceError;
    }
    const std::string url = str(m->as_object(), "cloneUrlHttp");
    out << "Created repository " << words[1] << " (" << str(m->as_object(), "repositoryId") << ")\n"
        << "Clone URL: " << url << "\n\n"
        << "Push to it with git over HTTP (user name: an access key id, password: its secret;\n"
        << "this helper gives git the key of " << api::client::credentials_path(where).string()
        << "):\n"
        << "  git config --global credential." << location->endpoint_url
        << ".helper '!stageline repo credential'\n"
        << "  git remote add stageline " << url << "\n"
        << "  git push stageline main\n";
    return kExitOk;
  }

  // list: every page.
  json::object input;
  for (;;) {
    auto page = send(*client, "ListRepositories", input, err);
    if (!page) return kExitServiceError;
    if (const json::value* repos = page->if_contains("repositories"); repos && repos->is_array()) {
      for (const auto& r : repos->as_array()) {
        if (!r.is_object()) continue;
        const std::string name = str(r.as_object(), "repositoryName");
        out << name << "\t" << location->endpoint_url << "/v1/repos/" << name << "\n";
      }
    }
    const std::string next = str(*page, "nextToken");
    if (next.empty()) break;
    input["nextToken"] = next;
  }
  return kExitOk;
}

}  // namespace stageline::cli
