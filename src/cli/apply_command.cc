#include "cli/apply_command.h"

#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "api/client/api_client.h"
#include "api/s3/xml.h"
#include "api/sigv4/canonical.h"
#include "definitions/document.h"
#include "model/pipeline_json.h"

namespace stageline::cli {
namespace {

namespace json = boost::json;
using api::client::ApiClient;

std::string_view usage() {
  return "usage: stageline apply TEMPLATE [--parameter-overrides KEY=VALUE ...]\n"
         "                      [--stack-name NAME] [--account-id ID]\n"
         "  options: [--endpoint-url URL] [--region R] [--data-dir DIR] [--profile P]\n\n"
         "Makes a CloudFormation template's buckets, SNS topics, CodeBuild projects and\n"
         "pipelines on the Stageline server (created, or updated when they exist), in that\n"
         "order. --account-id is the server's account (default 111122223333), for the ARNs\n"
         "the template builds with !Sub and !GetAtt.\n";
}

std::string form_encode(std::string_view text) { return api::sigv4::uri_encode(text, false); }

// One client per signing name, made when first needed.
class Clients {
 public:
  Clients(api::client::ServerLocation location, std::ostream& err)
      : location_(std::move(location)), err_(err) {}

  ApiClient* get(const std::string& service) {
    auto it = clients_.find(service);
    if (it != clients_.end()) return &it->second;
    api::client::ClientOptions options;
    options.service = service;
    auto made = ApiClient::create(location_, options);
    if (!made.ok()) {
      err_ << "stageline apply: " << made.status().message() << "\n";
      return nullptr;
    }
    return &clients_.emplace(service, std::move(*made)).first->second;
  }

 private:
  api::client::ServerLocation location_;
  std::ostream& err_;
  std::map<std::string, ApiClient> clients_;
};

// What one step did: 0 done, 1 refused (printed), 255 no answer (printed).
struct Applier {
  Clients& clients;
  std::ostream& out;
  std::ostream& err;

  // A JSON call; the reply, or nullopt when it failed (printed unless the
  // error's type is `tolerated`, which is returned as {"__type": type}).
  std::optional<json::object> call(const std::string& service, std::string_view target_prefix,
                                   std::string_view operation, const json::object& input,
                                   std::string_view tolerated, int& rc) {
    ApiClient* client = clients.get(service);
    if (!client) {
      rc = 255;
      return std::nullopt;
    }
    auto reply = client->send(target_prefix, operation, input);
    if (!reply.ok()) {
      err << "stageline apply: " << reply.status().message() << "\n";
      rc = 255;
      return std::nullopt;
    }
    if (reply->error) {
      if (reply->error->type == tolerated) return json::object{{"__type", reply->error->type}};
      err << format_service_error(operation, *reply->error) << "\n";
      rc = 1;
      return std::nullopt;
    }
    return std::move(reply->output);
  }

  // A REST or query call signed for `service`; the response, or nullopt.
  std::optional<api::client::HttpResponse> request(const std::string& service,
                                                   std::string_view method,
                                                   const std::string& target,
                                                   std::string_view content_type, std::string body,
                                                   int& rc) {
    ApiClient* client = clients.get(service);
    if (!client) {
      rc = 255;
      return std::nullopt;
    }
    auto r = client->request(method, target, content_type, std::move(body));
    if (!r.ok()) {
      err << "stageline apply: " << r.status().message() << "\n";
      rc = 255;
      return std::nullopt;
    }
    return std::move(*r);
  }

  static std::string xml_error(const api::client::HttpResponse& r) {
    auto doc = api::s3::xml::parse(r.body);
    if (!doc.ok()) return std::to_string(r.status) + " " + r.reason;
    const api::s3::xml::Node* e = doc->name == "Error" ? &*doc : doc->child("Error");
    if (!e) return std::to_string(r.status) + " " + r.reason;
    return e->child_text("Code") + ": " + e->child_text("Message");
  }

  void bucket(const definitions::BucketResource& b, int& rc) {
    auto r = request("s3", "PUT", "/" + b.name, "", "", rc);
    if (!r) return;
    if (r->status == 200) {
      out << "bucket " << b.name << ": created\n";
    } else if (xml_error(*r).starts_with("BucketAlreadyOwnedByYou")) {
      out << "bucket " << b.name << ": exists\n";
    } else {
      err << "bucket " << b.name << " (" << b.logical_id << "): " << xml_error(*r) << "\n";
      rc = 1;
    }
  }

  void topic(const definitions::TopicResource& t, int& rc) {
    const std::string form = "application/x-www-form-urlencoded; charset=utf-8";
    auto r = request("sns", "POST", "/", form,
                     "Action=CreateTopic&Version=2010-03-31&Name=" + form_encode(t.name), rc);
    if (!r) return;
    auto doc = api::s3::xml::parse(r->body);
    const api::s3::xml::Node* result = doc.ok() ? doc->child("CreateTopicResult") : nullptr;
    std::string arn = result ? result->child_text("TopicArn") : "";
    if (r->status != 200 || arn.empty()) {
      err << "topic " << t.name << " (" << t.logical_id << "): " << xml_error(*r) << "\n";
      rc = 1;
      return;
    }
    out << "topic " << t.name << ": " << arn << "\n";
    for (const auto& s : t.subscriptions) {
      auto sub = request("sns", "POST", "/", form,
                         "Action=Subscribe&Version=2010-03-31&TopicArn=" + form_encode(arn) +
                             "&Protocol=" + form_encode(s.protocol) +
                             "&Endpoint=" + form_encode(s.endpoint),
                         rc);
      if (!sub) return;
      if (sub->status != 200) {
        err << "topic " << t.name << ": subscribe " << s.protocol << " " << s.endpoint << ": "
            << xml_error(*sub) << "\n";
        rc = 1;
        continue;
      }
      out << "topic " << t.name << ": subscribed " << s.protocol << " " << s.endpoint << "\n";
    }
  }

  void repository(const definitions::RepositoryResource& r, int& rc) {
    auto created =
        call("codecommit", "CodeCommit_20150413", "CreateRepository",
             json::object{{"repositoryName", r.name}}, "RepositoryNameExistsException", rc);
    if (created)
      out << "repository " << r.name << ": " << (created->contains("__type") ? "exists" : "created")
          << "\n";
  }

  void project(const definitions::BuildProjectResource& p, int& rc) {
    json::object input = definitions::codebuild_project_input(p);
    auto created = call("codebuild", "CodeBuild_20161006", "CreateProject", input,
                        "ResourceAlreadyExistsException", rc);
    if (!created) return;
    if (!created->contains("__type")) {
      out << "project " << p.name << ": created\n";
      return;
    }
    if (call("codebuild", "CodeBuild_20161006", "UpdateProject", input, "", rc))
      out << "project " << p.name << ": updated\n";
  }

  void pipeline(const definitions::PipelineDefinition& d, int& rc) {
    json::value declaration = model::encode_pipeline(d.declaration);
    json::object input{{"pipeline", declaration}};
    if (!d.tags.empty()) input["tags"] = model::encode_tags(d.tags);
    auto created = call("codepipeline", api::client::kCodePipelineTargetPrefix, "CreatePipeline",
                        input, "PipelineNameInUseException", rc);
    if (!created) return;
    if (!created->contains("__type")) {
      out << "pipeline " << d.declaration.name << ": created (version 1)\n";
      return;
    }
    auto updated = call("codepipeline", api::client::kCodePipelineTargetPrefix, "UpdatePipeline",
                        json::object{{"pipeline", declaration}}, "", rc);
    if (!updated) return;
    std::string version;
    if (const json::value* p = updated->if_contains("pipeline"); p && p->is_object())
      if (const json::value* v = p->as_object().if_contains("version"); v && v->is_int64())
        version = " (version " + std::to_string(v->as_int64()) + ")";
    out << "pipeline " << d.declaration.name << ": updated" << version << "\n";
  }
};

}  // namespace

int run_apply(const std::vector<std::string>& args, const ClientEnvironment& env, std::ostream& out,
              std::ostream& err) {
  std::string file;
  definitions::ReadOptions read;
  read.template_options.account_id = "111122223333";  // the server's default account
  api::client::LocateOptions where;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h" || a == "help") {
      out << usage();
      return kExitOk;
    }
    if (!a.starts_with("--")) {
      if (!file.empty()) {
        err << "stageline apply: error: one TEMPLATE only\n" << usage();
        return kExitUsage;
      }
      file = a;
      continue;
    }
    if (i + 1 >= args.size()) {
      err << "stageline apply: error: argument " << a << ": expected one argument\n" << usage();
      return kExitUsage;
    }
    const std::string& v = args[++i];
    if (a == "--parameter-overrides") {
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0) {
        err << "stageline apply: error: --parameter-overrides takes KEY=VALUE, got '" << v << "'\n";
        return kExitUsage;
      }
      read.template_options.parameter_overrides[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (a == "--stack-name") {
      read.template_options.stack_name = v;
    } else if (a == "--account-id") {
      read.template_options.account_id = v;
    } else if (!take_connection_flag(a, v, where)) {
      err << "stageline apply: error: unknown option " << a << "\n" << usage();
      return kExitUsage;
    }
  }
  if (file.empty()) {
    err << "stageline apply: error: a TEMPLATE is required\n" << usage();
    return kExitUsage;
  }
  where.default_data_dir = env.default_data_dir;
  where.shared_credentials_file = env.shared_credentials_file;
  auto location = api::client::locate_server(where);
  if (!location.ok()) {
    err << "stageline apply: " << location.status().message() << "\n";
    return kExitServiceError;
  }

  std::ifstream in(file, std::ios::binary);
  if (!in) {
    err << "stageline apply: cannot open " << file << "\n";
    return kExitUsage;
  }
  std::stringstream text;
  text << in.rdbuf();
  read.template_options.region = location->region;
  read.validate.region = location->region;
  definitions::Document doc = definitions::read_definition(text.str(), read);
  for (const auto& l : doc.problems)
    if (l.problem.severity == definitions::Severity::kError)
      err << file << (l.problem.line ? ":" + std::to_string(l.problem.line) : "")
          << ": error: " << (l.origin.empty() ? "" : l.origin + ": ") << l.problem.path
          << (l.problem.path.empty() ? "" : ": ") << l.problem.message << "\n";
  if (!doc.readable) return kExitUsage;
  if (!doc.valid()) {
    err << "stageline apply: " << file << " is invalid; nothing was applied (`stageline validate "
        << file << "` explains each problem)\n";
    return 1;
  }

  Clients clients(*location, err);
  Applier apply{clients, out, err};
  int rc = 0;
  for (const auto& b : doc.resources.buckets) apply.bucket(b, rc);
  for (const auto& t : doc.resources.topics) apply.topic(t, rc);
  for (const auto& r : doc.resources.repositories) apply.repository(r, rc);
  for (const auto& p : doc.resources.build_projects) apply.project(p, rc);
  for (const auto& d : doc.pipelines) apply.pipeline(d, rc);
  auto not_applied = [&out](const auto& records, const char* type) {
    for (const auto& r : records) out << "not applied: " << r.logical_id << " (" << type << ")\n";
  };
  not_applied(doc.resources.roles, "AWS::IAM::Role");
  not_applied(doc.resources.policies, "AWS::IAM::Policy");
  not_applied(doc.resources.managed_policies, "AWS::IAM::ManagedPolicy");
  not_applied(doc.resources.keys, "AWS::KMS::Key");
  not_applied(doc.resources.key_aliases, "AWS::KMS::Alias");
  not_applied(doc.resources.connections, "AWS::CodeStarConnections::Connection");
  not_applied(doc.resources.webhooks, "AWS::CodePipeline::Webhook");
  not_applied(doc.resources.custom_action_types, "AWS::CodePipeline::CustomActionType");
  for (const auto& u : doc.resources.unmanaged)
    out << "not applied: " << u.logical_id << " (" << u.type << ")\n";
  return rc;
}

}  // namespace stageline::cli
