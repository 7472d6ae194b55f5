#include "cli/approve_command.h"

#include <boost/json.hpp>
#include <ctime>

#include "api/client/api_client.h"

namespace stageline::cli {
namespace {

namespace json = boost::json;
using api::client::ApiClient;
using api::client::kCodePipelineTargetPrefix;

// The flags besides the three names; parse_verb_args reads them with the
// connection flags.
const VerbSpec& answer_spec(bool approved) {
  static const VerbSpec approve{"approve",
                                "PutApprovalResult",
                                "approve a waiting manual approval",
                                {{"summary", "summary", ParamKind::kString, false}},
                                std::nullopt,
                                false};
  static const VerbSpec reject{"reject",
                               "PutApprovalResult",
                               "reject a waiting manual approval",
                               {{"summary", "summary", ParamKind::kString, false}},
                               std::nullopt,
                               false};
  return approved ? approve : reject;
}

std::string usage(bool approved) {
  const char* verb = approved ? "approve" : "reject";
  return std::string("usage: stageline ") + verb + " PIPELINE STAGE ACTION [--summary TEXT]\n" +
         std::string(connection_flags_usage()) + "\n\n" +
         "Finds the token of the manual approval waiting at ACTION of STAGE (GetPipelineState)\n" +
         "and " + verb + "s it (PutApprovalResult) as the profile's access key.\n";
}

std::string str(const json::object& o, std::string_view key) {
  if (const json::value* v = o.if_contains(key); v && v->is_string())
    return std::string(v->as_string());
  return "";
}

const json::object* find_named(const json::object& parent, std::string_view list,
                               std::string_view key, std::string_view name) {
  const json::value* items = parent.if_contains(list);
  if (!items || !items->is_array()) return nullptr;
  for (const auto& item : items->as_array())
    if (item.is_object() && str(item.as_object(), key) == name) return &item.as_object();
  return nullptr;
}

}  // namespace

int run_approve(bool approved, const std::vector<std::string>& args, const ClientEnvironment& env,
                std::ostream& out, std::ostream& err) {
  const char* verb = approved ? "approve" : "reject";
  std::vector<std::string> names, flags;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "help" && names.empty()) {
      out << usage(approved);
      return kExitOk;
    }
    if (args[i].starts_with("--")) {
      flags.push_back(args[i]);
      if (args[i].find('=') == std::string::npos && args[i] != "--help" && i + 1 < args.size())
        flags.push_back(args[++i]);
    } else {
      names.push_back(args[i]);
    }
  }
  auto request = parse_verb_args(answer_spec(approved), flags);
  if (!request.ok()) {
    err << "stageline " << verb << ": error: " << request.status().message() << "\n"
        << usage(approved);
    return kExitUsage;
  }
  if (request->help) {
    out << usage(approved);
    return kExitOk;
  }
  if (names.size() != 3) {
    err << "stageline " << verb << ": error: expected PIPELINE STAGE ACTION, got " << names.size()
        << " name" << (names.size() == 1 ? "" : "s") << "\n"
        << usage(approved);
    return kExitUsage;
  }
  const std::string& pipeline = names[0];
  const std::string& stage = names[1];
  const std::string& action = names[2];

  api::client::LocateOptions where = request->where;
  where.default_data_dir = env.default_data_dir;
  where.shared_credentials_file = env.shared_credentials_file;
  auto location = api::client::locate_server(where);
  if (!location.ok()) {
    err << "stageline " << verb << ": " << location.status().message() << "\n";
    return kExitServiceError;
  }
  auto client = ApiClient::create(*location);
  if (!client.ok()) {
    err << "stageline " << verb << ": " << client.status().message() << "\n";
    return kExitServiceError;
  }
  auto send = [&](std::string_view operation,
                  const json::object& input) -> std::optional<json::object> {
    auto reply = client->send(kCodePipelineTargetPrefix, operation, input);
    if (!reply.ok()) {
      err << "stageline " << verb << ": " << reply.status().message() << "\n";
      return std::nullopt;
    }
    if (reply->error) {
      err << "\n" << format_service_error(operation, *reply->error) << "\n";
      return std::nullopt;
    }
    return std::move(reply->output);
  };

  auto state = send("GetPipelineState", json::object{{"name", pipeline}});
  if (!state) return kExitServiceError;
  const json::object* stage_state = find_named(*state, "stageStates", "stageName", stage);
  if (!stage_state) {
    err << "stageline " << verb << ": pipeline " << pipeline << " has no stage " << stage << "\n";
    return kExitServiceError;
  }
  const json::object* action_state = find_named(*stage_state, "actionStates", "actionName", action);
  if (!action_state) {
    err << "stageline " << verb << ": stage " << stage << " of " << pipeline << " has no action "
        << action << "\n";
    return kExitServiceError;
  }
  const json::value* latest = action_state->if_contains("latestExecution");
  std::string token, status;
  if (latest && latest->is_object()) {
    token = str(latest->as_object(), "token");
    status = str(latest->as_object(), "status");
  }
  if (token.empty() || status != "InProgress") {
    err << "stageline " << verb << ": no approval is waiting at " << pipeline << "/" << stage << "/"
        << action
        << (status.empty() ? std::string(" (it has not run)")
                           : " (its latest execution is " + status + ")")
        << "\n";
    return kExitServiceError;
  }
  json::object result{{"status", approved ? "Approved" : "Rejected"},
                      {"summary", str(request->input, "summary")}};
  auto answered = send("PutApprovalResult", json::object{{"pipelineName", pipeline},
                                                         {"stageName", stage},
                                                         {"actionName", action},
                                                         {"result", std::move(result)},
                                                         {"token", token}});
  if (!answered) return kExitServiceError;
  out << (approved ? "Approved " : "Rejected ") << pipeline << "/" << stage << "/" << action;
  if (const json::value* at = answered->if_contains("approvedAt"); at && at->is_number()) {
    auto seconds = static_cast<std::time_t>(at->to_number<double>());
    std::tm utc{};
    char text[32];
    if (gmtime_r(&seconds, &utc) && std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc))
      out << " at " << text;
  }
  out << "\n";
  return kExitOk;
}

}  // namespace stageline::cli
