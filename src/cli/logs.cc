#include "cli/logs.h"

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <thread>

#include "api/client/api_client.h"
#include "api/client/http_client.h"
#include "api/sigv4/sigv4.h"

namespace stageline::cli {
namespace {

namespace json = boost::json;
namespace sigv4 = api::sigv4;
using api::client::ApiClient;
using api::client::kCodePipelineTargetPrefix;

std::string str(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->as_string());
  return "";
}

bool terminal(const std::string& status) {
  return !status.empty() && status != "InProgress" && status != "Stopping";
}

std::string_view usage() {
  return "usage: stageline logs EXECUTION_ID --pipeline-name NAME [--action NAME] [--follow]\n"
         "                      [--endpoint-url URL] [--region R] [--data-dir DIR]\n\n"
         "Print the output of an execution's actions, each line as 'Stage/Action | text'.\n"
         "--follow keeps reading until the execution ends.\n";
}

}  // namespace

int run_logs(const std::vector<std::string>& args, const ClientEnvironment& env, std::ostream& out,
             std::ostream& err) {
  std::string execution_id, pipeline, action_filter;
  bool follow = false;
  api::client::LocateOptions where;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out << usage();
      return kExitOk;
    }
    if (a == "--follow") {
      follow = true;
      continue;
    }
    if (!a.starts_with("--")) {
      if (!execution_id.empty()) {
        err << "stageline logs: error: unexpected argument '" << a << "'\n" << usage();
        return kExitUsage;
      }
      execution_id = a;
      continue;
    }
    if (i + 1 >= args.size()) {
      err << "stageline logs: error: argument " << a << ": expected one argument\n" << usage();
      return kExitUsage;
    }
    const std::string& v = args[++i];
    if (a == "--pipeline-name") {
      pipeline = v;
    } else if (a == "--action") {
      action_filter = v;
    } else if (!take_connection_flag(a, v, where)) {
      err << "stageline logs: error: unknown option " << a << "\n" << usage();
      return kExitUsage;
    }
  }
  if (execution_id.empty() || pipeline.empty()) {
    err << "stageline logs: error: EXECUTION_ID and --pipeline-name are required\n" << usage();
    return kExitUsage;
  }
  where.default_data_dir = env.default_data_dir;
  where.shared_credentials_file = env.shared_credentials_file;
  auto location = api::client::locate_server(where);
  if (!location.ok()) {
    err << "stageline logs: " << location.status().message() << "\n";
    return kExitServiceError;
  }
  auto client = ApiClient::create(*location);
  if (!client.ok()) {
    err << "stageline logs: " << client.status().message() << "\n";
    return kExitServiceError;
  }
  std::map<std::string, int64_t> next_seq;  // by action execution id
  for (;;) {
    auto listed =
        client->call(kCodePipelineTargetPrefix, "ListActionExecutions",
                     json::object{{"pipelineName", pipeline},
                                  {"filter", json::object{{"pipelineExecutionId", execution_id}}}});
    if (!listed.ok()) {
      err << "stageline logs: " << listed.status().message() << "\n";
      return kExitServiceError;
    }
    std::vector<std::pair<std::string, std::string>> actions;  // id, Stage/Action
    if (auto* details = listed->as_object().if_contains("actionExecutionDetails");
        details && details->is_array()) {
      for (const auto& d : details->as_array()) {
        if (!d.is_object()) continue;
        const auto& o = d.as_object();
        if (!action_filter.empty() && str(o, "actionName") != action_filter) continue;
        actions.emplace_back(str(o, "actionExecutionId"),
                             str(o, "stageName") + "/" + str(o, "actionName"));
      }
    }
    std::reverse(actions.begin(), actions.end());  // the API lists the newest first
    for (const auto& [id, label] : actions) {
      for (;;) {
        int64_t from = next_seq.count(id) ? next_seq[id] : 1;
        auto response = client->request("GET", "/logs/" + id + "?from=" + std::to_string(from));
        if (!response.ok()) {
          err << "stageline logs: " << response.status().message() << "\n";
          return kExitServiceError;
        }
        if (response->status != 200) {
          err << "stageline logs: HTTP " << response->status << ": " << response->body << "\n";
          return kExitServiceError;
        }
        // A body that is not the log page this server writes is an error,
        // not an exception.
        boost::system::error_code ec;
        json::value body = json::parse(response->body, ec);
        const json::object* page = ec ? nullptr : body.if_object();
        const json::value* lines_value = page ? page->if_contains("lines") : nullptr;
        const json::value* next_value = page ? page->if_contains("nextSeq") : nullptr;
        if (!lines_value || !lines_value->is_array() || !next_value || !next_value->is_int64()) {
          err << "stageline logs: the server's answer for " << id << " is not a log page\n";
          return kExitServiceError;
        }
        const auto& lines = lines_value->as_array();
        for (const auto& l : lines)
          if (l.is_object()) out << label << " | " << str(l.as_object(), "text") << "\n";
        next_seq[id] = next_value->as_int64();
        if (lines.size() < 1000) break;
      }
    }
    out.flush();
    if (!follow) return kExitOk;
    auto exec = client->call(
        kCodePipelineTargetPrefix, "GetPipelineExecution",
        json::object{{"pipelineName", pipeline}, {"pipelineExecutionId", execution_id}});
    if (!exec.ok()) {
      err << "stageline logs: " << exec.status().message() << "\n";
      return kExitServiceError;
    }
    std::string status;
    if (auto* e = exec->as_object().if_contains("pipelineExecution"); e && e->is_object())
      status = str(e->as_object(), "status");
    if (terminal(status)) {
      follow = false;  // one last read picks up the lines written at the end
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace stageline::cli
