#include "cli/action_types_command.h"

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "api/client/api_client.h"
#include "api/client/http_client.h"
#include "api/sigv4/sigv4.h"

namespace stageline::cli {
namespace {

namespace json = boost::json;
namespace sigv4 = api::sigv4;

std::string_view usage() {
  return "usage: stageline action-types register FILE.json\n"
         "       stageline action-types list\n"
         "                 [--endpoint-url URL] [--region R] [--data-dir DIR]\n\n"
         "register: make the ThirdParty action type that FILE.json declares (an\n"
         "ActionTypeDeclaration, or {\"actionType\": ...} as update-action-type takes it)\n"
         "available to pipelines and to its job worker (PollForThirdPartyJobs).\n"
         "list: print the registered action types as JSON.\n"
         "Change a registered type with: stageline aws codepipeline update-action-type\n";
}

}  // namespace

Result<std::string> registration_body(std::string_view file_text) {
  boost::system::error_code ec;
  json::value v = json::parse(file_text, ec);
  if (ec || !v.is_object())
    return Status::invalid("the file is not a JSON object (an ActionTypeDeclaration)");
  if (v.as_object().contains("actionType")) return json::serialize(v);
  return json::serialize(json::object{{"actionType", std::move(v)}});
}

int run_action_types(const std::vector<std::string>& args, const ClientEnvironment& env,
                     std::ostream& out, std::ostream& err) {
  std::vector<std::string> positional;
  api::client::LocateOptions where;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out << usage();
      return kExitOk;
    }
    if (!a.starts_with("--")) {
      positional.push_back(a);
      continue;
    }
    if (i + 1 >= args.size()) {
      err << "stageline action-types: error: argument " << a << ": expected one argument\n"
          << usage();
      return kExitUsage;
    }
    const std::string& v = args[++i];
    if (!take_connection_flag(a, v, where)) {
      err << "stageline action-types: error: unknown option " << a << "\n" << usage();
      return kExitUsage;
    }
  }
  const bool list = positional.size() == 1 && positional[0] == "list";
  const bool register_type = positional.size() == 2 && positional[0] == "register";
  if (!list && !register_type) {
    err << "stageline action-types: error: expected 'register FILE.json' or 'list'\n" << usage();
    return kExitUsage;
  }
  std::string body;
  if (register_type) {
    std::ifstream f(positional[1], std::ios::binary);
    std::stringstream text;
    text << f.rdbuf();
    if (!f) {
      err << "stageline action-types register: cannot read " << positional[1] << "\n";
      return kExitUsage;
    }
    auto made = registration_body(text.str());
    if (!made.ok()) {
      err << "stageline action-types register: " << positional[1] << ": " << made.status().message()
          << "\n";
      return kExitUsage;
    }
    body = std::move(*made);
  }

  where.default_data_dir = env.default_data_dir;
  where.shared_credentials_file = env.shared_credentials_file;
  auto location = api::client::locate_server(where);
  if (!location.ok()) {
    err << "stageline action-types: " << location.status().message() << "\n";
    return kExitServiceError;
  }
  auto client = api::client::ApiClient::create(*location);
  if (!client.ok()) {
    err << "stageline action-types: " << client.status().message() << "\n";
    return kExitServiceError;
  }
  auto response = register_type ? client->request("POST", "/action-types", "application/json", body)
                                : client->request("GET", "/action-types");
  if (!response.ok()) {
    err << "stageline action-types: " << response.status().message() << "\n";
    return kExitServiceError;
  }
  if (response->status != 200) {
    auto e = api::client::parse_service_error(response->status, response->body);
    err << "\nAn error occurred (" << e.type << ") when "
        << (register_type ? "registering the action type" : "listing the action types") << ": "
        << e.message << "\n";
    return kExitServiceError;
  }
  out << response->body << "\n";
  return kExitOk;
}

}  // namespace stageline::cli
