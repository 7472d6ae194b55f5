#include "server/api_server.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "api/codebuild/codebuild_api.h"
#include "api/codecommit/codecommit_api.h"
#include "api/codecommit/git_http.h"
#include "api/codedeploy/codedeploy_api.h"
#include "api/codepipeline/codepipeline_api.h"
#include "api/connections/connections_api.h"
#include "api/events/events.h"
#include "api/http/http.h"
#include "api/keys/keys.h"
#include "api/kms/kms_api.h"
#include "api/s3/s3_api.h"
#include "api/secrets/secrets_api.h"
#include "api/sigv4/sigv4.h"
#include "api/sns/sns_api.h"
#include "api/wire/embedded.h"
#include "api/wire/wire.h"
#include "artifacts/artifact_store.h"
#include "artifacts/object_store.h"
#include "base/ids.h"
#include "builds/build_service.h"
#include "builds/codebuild_action.h"
#include "console/console.h"
#include "deploy/codedeploy_action.h"
#include "deploy/deployment_service.h"
#include "engine/engine.h"
#include "jobs/local_runner.h"
#include "kms/envelope_cipher.h"
#include "kms/key_ring.h"
#include "providers/s3_deploy/s3_deploy.h"
#include "providers/s3_source/s3_source.h"
#include "secrets/resolver.h"
#include "secrets/sealer.h"
#include "server/approval_notifier.h"
#include "server/console_sessions.h"
#include "server/lifecycle_sweep.h"
#include "server/push_triggers.h"
#include "server/services.h"
#include "server/source_poller.h"
#include "sources/codecommit_source.h"
#include "sources/connection_source.h"
#include "store/sqlite_store.h"

namespace stageline::server {

namespace fs = std::filesystem;
namespace sigv4 = api::sigv4;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An SSE stream as the event log's subscriber.
class StreamSubscriber final : public events::Subscriber {
 public:
  explicit StreamSubscriber(std::shared_ptr<http::EventStream> stream)
      : stream_(std::move(stream)) {}
  bool send(int64_t id, std::string_view name, std::string_view json) override {
    return stream_->send(name, json, std::to_string(id));
  }
  bool closed() const override { return stream_->closed(); }
  size_t queued_bytes() const override { return stream_->queued_bytes(); }

 private:
  std::shared_ptr<http::EventStream> stream_;
};

}  // namespace

fs::path default_data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return fs::path(xdg) / "stageline";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : ".") / ".local" / "share" / "stageline";
}

int run_server(const ServerArgs& args, std::ostream& out, std::ostream& err) {
  const fs::path data = args.data_dir.empty() ? default_data_dir() : args.data_dir;
  std::error_code ec;
  fs::create_directories(data, ec);
  if (ec) {
    err << "stageline server: create " << data.string() << ": " << ec.message() << "\n";
    return 2;
  }
  auto store = store::SqliteStore::open((data / "stageline.db").string(), {});
  if (!store.ok()) {
    err << "stageline server: " << store.status().message() << "\n";
    return 2;
  }
  auto objects = artifacts::ObjectStore::open({data / "objects"});
  if (!objects.ok()) {
    err << "stageline server: " << objects.status().message() << "\n";
    return 2;
  }
  // The default artifact bucket, with the seed's 30-day lifecycle rule the
  // first time (server/lifecycle_sweep.h).
  if (auto made = ensure_default_artifact_bucket(**objects, args.region, args.account_id);
      !made.ok())
    err << "stageline server: default artifact bucket: " << made.status().message() << "\n";
  // KMS (src/kms, docs/kms.md): keys and aliases on the resources table,
  // their material in DATA_DIR/kms. Artifacts are sealed under the
  // pipeline's artifactStore.encryptionKey, else their bucket's default
  // encryption; plain when neither names a key.
  kms::KeyRingOptions key_ring_options;
  key_ring_options.dir = data / "kms";
  key_ring_options.region = args.region;
  key_ring_options.account_id = args.account_id;
  key_ring_options.now_ms = now_ms;
  key_ring_options.new_id = new_uuid;
  kms::KeyRing key_ring(**store, key_ring_options);
  kms::EnvelopeCipher cipher(key_ring, **objects);
  artifacts::ArtifactStore artifact_store(**objects, cipher, {data / "tmp"});
  auto admin = keys::ensure_admin_key(**store, data, args.account_id);
  if (!admin.ok()) {
    err << "stageline server: " << admin.status().message() << "\n";
    return 2;
  }

  // Set while the event loop runs; the runner's workers post to it.
  std::atomic<http::Server*> loop{nullptr};
  jobs::LocalRunner::Options runner_options;
  runner_options.work_root = data / "work";
  runner_options.region = args.region;
  runner_options.logs = store->get();
  const char* path_env = std::getenv("PATH");
  runner_options.base_environment = {
      {"PATH", path_env ? path_env : "/usr/local/bin:/usr/bin:/bin"},
      {"HOME", (data / "home").string()},
      {"LANG", "C.UTF-8"},
      {"TMPDIR", (data / "tmp").string()},
  };
  fs::create_directories(data / "home", ec);
  std::function<void()> drain;
  runner_options.on_completion = [&loop, &drain] {
    if (http::Server* l = loop.load()) l->post([&drain] { drain(); });
  };
  // The S3 source (providers/s3_source) reads the buckets the S3 API serves.
  providers::S3Source s3_source(**objects);
  runner_options.providers["Source/AWS/S3"] = &s3_source;
  // The S3 deploy action (providers/s3_deploy) puts into the same buckets.
  providers::S3Deploy s3_deploy(**objects, {[] { return std::chrono::system_clock::now(); },
                                            [] { return new_uuid(); }, &cipher});
  runner_options.providers["Deploy/AWS/S3"] = &s3_deploy;
  // Git sources (src/sources, docs/sources.md): CodeCommit repositories
  // in DATA_DIR/git/codecommit; a connection's repositories through mirrors
  // in DATA_DIR/git/mirrors, located by the connections API. The providers
  // outlive the runner (declared before it).
  connections::ConnectionsOptions connections_options;
  connections_options.region = args.region;
  connections_options.account_id = args.account_id;
  connections_options.now_ms = now_ms;
  connections_options.page_token_key = admin->secret;
  connections_options.new_id = new_uuid;
  connections::ConnectionsApi connections_api(**store, connections_options);
  sources::CodeCommitSource codecommit_source(data);
  sources::ConnectionSource connection_source(
      data / "git" / "mirrors",
      [&connections_api](const std::string& arn,
                         const std::string& repository) -> Result<sources::ConnectionRemote> {
        auto location = connections_api.resolve(arn, repository);
        if (!location.ok()) return location.status();
        return sources::ConnectionRemote{location->url, location->provider_type};
      });
  runner_options.providers["Source/AWS/CodeCommit"] = &codecommit_source;
  runner_options.providers["Source/AWS/CodeStarSourceConnection"] = &connection_source;

  // CodeBuild (src/builds): projects and builds on the resources table, run
  // on this machine; standalone builds (StartBuild) on the service's own
  // threads, which report back on the control thread to be joined.
  // Parameter Store and Secrets Manager (src/secrets, docs/secrets.md):
  // values sealed under DATA_DIR/secrets.key; builds resolve through them.
  auto sealer = secrets::FileKeySealer::open_key_file(data / "secrets.key");
  if (!sealer.ok()) {
    err << "stageline server: " << sealer.status().message() << "\n";
    return 2;
  }
  secrets::ParameterStoreOptions parameter_options;
  parameter_options.region = args.region;
  parameter_options.account_id = args.account_id;
  parameter_options.now_ms = now_ms;
  secrets::ParameterStore parameter_store(**store, **sealer, parameter_options);
  secrets::SecretStoreOptions secret_options;
  secret_options.region = args.region;
  secret_options.account_id = args.account_id;
  secret_options.now_ms = now_ms;
  secret_options.new_id = new_uuid;
  secret_options.random_suffix = secrets::random_secret_suffix;
  secrets::SecretStore secret_store(**store, **sealer, secret_options);
  secrets::StoreResolver secret_resolver(parameter_store, secret_store);
  builds::BuildServiceOptions build_options;
  build_options.resolver = &secret_resolver;
  runner_options.secrets = &secret_resolver;  // SECRETS_MANAGER variables of Commands actions
  build_options.region = args.region;
  build_options.account_id = args.account_id;
  build_options.work_root = data / "codebuild";
  build_options.base_environment = runner_options.base_environment;
  build_options.now_ms = now_ms;
  build_options.new_id = new_uuid;
  builds::BuildService* build_service_ptr = nullptr;
  build_options.on_build_finished = [&loop, &build_service_ptr](const std::string&) {
    if (http::Server* l = loop.load()) l->post([&build_service_ptr] { build_service_ptr->reap(); });
  };
  builds::BuildService build_service(**store, artifact_store, build_options);
  build_service_ptr = &build_service;
  if (auto recovered = build_service.recover(); !recovered.ok())
    err << "stageline server: " << recovered.status().message() << "\n";
  builds::CodeBuildAction codebuild_action(build_service);
  runner_options.providers["Build/AWS/CodeBuild"] = &codebuild_action;
  runner_options.providers["Test/AWS/CodeBuild"] = &codebuild_action;
  // CodeDeploy (src/deploy, docs/codedeploy.md): on-premises instances are
  // target directories on this host; deployments run on runner workers,
  // their records on the resources table, instance state in
  // DATA_DIR/codedeploy.
  deploy::DeploymentServiceOptions deploy_options;
  deploy_options.region = args.region;
  deploy_options.account_id = args.account_id;
  deploy_options.state_root = data / "codedeploy";
  deploy_options.base_environment = runner_options.base_environment;
  deploy_options.now_ms = now_ms;
  deploy_options.new_id = new_uuid;
  deploy::DeploymentService deployment_service(**store, deploy_options);
  if (auto recovered = deployment_service.recover(); !recovered.ok())
    err << "stageline server: " << recovered.status().message() << "\n";
  deploy::CodeDeployAction codedeploy_action(deployment_service);
  runner_options.providers["Deploy/AWS/CodeDeploy"] = &codedeploy_action;
  auto runner_owner = std::make_unique<jobs::LocalRunner>(artifact_store, runner_options);
  jobs::LocalRunner& runner = *runner_owner;
  engine::Engine::Options engine_options;
  engine_options.now_ms = now_ms;
  engine_options.new_id = new_uuid;
  engine_options.account_id = args.account_id;
  engine_options.wait_for_approvals = true;  // PutApprovalResult answers them
  events::EventLog::Options event_options;
  event_options.account_id = args.account_id;
  event_options.region = args.region;
  auto event_log = events::EventLog::open(**store, event_options);
  if (!event_log.ok()) {
    err << "stageline server: " << event_log.status().message() << "\n";
    return 2;
  }
  // SNS (api/sns, docs/sns.md): topics and subscriptions on the resources
  // table; messages signed with the key of DATA_DIR/sns and delivered on
  // the deliverer's own thread, which logs through the control thread. A
  // manual approval with a NotificationArn publishes to its topic
  // (server/approval_notifier.h), in front of the event log.
  auto sns_key = sns::SigningKey::load_or_create(data / "sns", "stageline-sns");
  if (!sns_key.ok()) {
    err << "stageline server: " << sns_key.status().message() << "\n";
    return 2;
  }
  sns::SystemTransport sns_transport({});
  sns::Deliverer::Options sns_delivery_options;
  sns_delivery_options.log = [&loop, &err](const std::string& line) {
    if (http::Server* l = loop.load())
      l->post([&err, line] { err << "stageline server: " << line << "\n"; });
  };
  sns::Deliverer sns_deliverer(**sns_key, sns_transport, sns_delivery_options);
  std::unique_ptr<sns::SnsApi> sns_api;  // made once the verifier exists, below
  auto own_url = [&loop, &args] {
    http::Server* s = loop.load();
    std::string host = args.listen.substr(0, args.listen.rfind(':'));
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    if (host == "[::]") host = "[::1]";
    return s == nullptr ? std::string() : "http://" + host + ":" + std::to_string(s->port());
  };
  ApprovalNotifier::Options notifier_options;
  notifier_options.region = args.region;
  notifier_options.console_url = own_url;
  notifier_options.publish = [&sns_api](const std::string& topic, const std::string& subject,
                                        const std::string& message) -> Result<std::string> {
    if (!sns_api) return Status::internal("the SNS API is not ready");
    return sns_api->publish(topic, subject, message);
  };
  notifier_options.log = [&err](const std::string& line) {
    err << "stageline server: " << line << "\n";
  };
  ApprovalNotifier approval_notifier(**store, event_log->get(), notifier_options);
  engine_options.events = &approval_notifier;
  engine::Engine engine(**store, runner, engine_options);

  api::ApiOptions api_options;
  api_options.region = args.region;
  api_options.account_id = args.account_id;
  api_options.now_ms = now_ms;
  api_options.page_token_key = admin->secret;  // stable across restarts, never sent
  api::CodePipelineApi codepipeline(engine, **store, api_options);
  // The services this port answers (server/services.h); each later issue
  // adds its own here.
  ServiceTable services;
  services.add(JsonService{&wire::codepipeline_model(),
                           [&codepipeline](const wire::Call& call, const api::Caller& caller) {
                             return codepipeline.call(call, caller);
                           }});
  // CodeStar Connections and CodeConnections: one set of connections and
  // hosts behind both services (api/connections).
  for (const char* name : {"codestar-connections", "codeconnections"}) {
    const wire::ServiceModel& model = wire::embedded_service_model(name);
    services.add(
        JsonService{&model, [&connections_api, &model](const wire::Call& call, const api::Caller&) {
                      return connections_api.call(model, call);
                    }});
  }
  // S3 (api/s3): the buckets and objects of DATA_DIR/objects, the artifact
  // store's own; made once the verifier exists, below.
  std::unique_ptr<api::s3::S3Api> s3;
  services.add(RestService{"s3", [&s3](const http::Request& req) { return s3->handle(req); }});
  services.add(
      RestService{"sns", [&sns_api](const http::Request& req) { return sns_api->handle(req); }});
  // CodeCommit: repositories in DATA_DIR/git/codecommit (api/codecommit).
  codecommit::CodeCommitOptions codecommit_options;
  codecommit_options.data_dir = data;
  codecommit_options.region = args.region;
  codecommit_options.account_id = args.account_id;
  codecommit_options.now_ms = now_ms;
  codecommit_options.page_token_key = admin->secret;
  codecommit::CodeCommitApi codecommit_api(**store, codecommit_options);
  services.add(JsonService{&codecommit::codecommit_model(),
                           [&codecommit_api](const wire::Call& call, const api::Caller&) {
                             return codecommit_api.call(call);
                           }});
  codebuild::CodeBuildOptions codebuild_options;
  codebuild_options.region = args.region;
  codebuild_options.account_id = args.account_id;
  codebuild_options.now_ms = now_ms;
  codebuild::CodeBuildApi codebuild_api(**store, build_service, codebuild_options);
  services.add(JsonService{&codebuild::codebuild_model(),
                           [&codebuild_api](const wire::Call& call, const api::Caller& caller) {
                             return codebuild_api.call(call, caller.principal);
                           }});
  codedeploy::CodeDeployOptions codedeploy_options;
  codedeploy_options.region = args.region;
  codedeploy_options.account_id = args.account_id;
  codedeploy_options.now_ms = now_ms;
  codedeploy_options.new_id = new_uuid;
  codedeploy::CodeDeployApi codedeploy_api(**store, codedeploy_options);
  services.add(JsonService{&codedeploy::codedeploy_model(),
                           [&codedeploy_api](const wire::Call& call, const api::Caller&) {
                             return codedeploy_api.call(call);
                           }});
  secretsapi::SsmApi ssm_api(parameter_store);
  services.add(JsonService{&secretsapi::ssm_model(),
                           [&ssm_api](const wire::Call& call, const api::Caller& caller) {
                             return ssm_api.call(call, caller.principal);
                           }});
  secretsapi::SecretsManagerApi secretsmanager_api(secret_store);
  services.add(JsonService{&secretsapi::secretsmanager_model(),
                           [&secretsmanager_api](const wire::Call& call, const api::Caller&) {
                             return secretsmanager_api.call(call);
                           }});
  kms::KmsApiOptions kms_options;
  kms_options.account_id = args.account_id;
  kms::KmsApi kms_api(key_ring, kms_options);
  services.add(JsonService{
      &kms::kms_model(),
      [&kms_api](const wire::Call& call, const api::Caller&) { return kms_api.call(call); }});
  keys::StoreKeySource::Options key_options;
  key_options.on_error = [&err](const Status& s) {
    err << "stageline server: access keys: " << s.message() << "\n";
  };
  keys::StoreKeySource key_source(**store, key_options);
  sigv4::VerifierOptions verifier_options;
  verifier_options.region = args.region;
  verifier_options.services = services.signing_names();
  sigv4::Verifier verifier(verifier_options, key_source);
  api::s3::S3Options s3_options;
  s3_options.region = args.region;
  s3_options.account_id = args.account_id;
  s3_options.scratch_dir = data / "spool";
  s3_options.cipher = &cipher;                 // sealed objects are read as their plaintext
  fs::remove_all(s3_options.scratch_dir, ec);  // bodies a crash left behind
  fs::create_directories(s3_options.scratch_dir, ec);
  s3 = std::make_unique<api::s3::S3Api>(**objects, verifier, s3_options);
  sns::SnsOptions sns_options;
  sns_options.region = args.region;
  sns_options.account_id = args.account_id;
  sns_options.now_ms = now_ms;
  sns_options.new_id = new_uuid;
  sns_options.endpoint_url = own_url;
  sns_options.log = [&err](const std::string& line) {
    err << "stageline server: " << line << "\n";
  };
  sns_api = std::make_unique<sns::SnsApi>(**store, verifier, **sns_key, sns_deliverer, sns_options);
  Router router(services, verifier, key_source, now_ms, err);
  // git clone/push of cloneUrlHttp (/v1/repos/NAME), Basic auth by access key.
  codecommit::GitHttpOptions git_options;
  git_options.data_dir = data;
  git_options.path_env = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  git_options.log = [&err](const std::string& line) {
    err << "stageline server: " << line << "\n";
  };
  // TODO(#5): start the pipelines whose CodeCommit source watches the branch.
  // A push starts the pipelines whose CodeCommit source watches that
  // branch, on the pushed commit (server/push_triggers.h).
  git_options.on_push = [&err, &engine, &store, &args](const codecommit::PushedRef& pushed) {
    triggers::PushEvent push;
    push.provider = "CodeCommit";
    push.repository = pushed.repository;
    push.ref = pushed.ref;
    push.commit_id = pushed.commit_id;
    push.changed_files = pushed.changed_files;
    push.repository_arn =
        "arn:aws:codecommit:" + args.region + ":" + args.account_id + ":" + pushed.repository;
    auto started = start_for_push(engine, **store, push);
    if (!started.ok()) {
      err << "stageline server: push to " << pushed.repository << ": " << started.status().message()
          << "\n";
      return;
    }
    for (const auto& s : *started)
      err << "stageline server: push to " << pushed.repository << " " << pushed.ref << " "
          << pushed.commit_id.substr(0, 12) << ": pipeline " << s.pipeline << " "
          << (s.error.empty() ? "started " + s.execution_id : "did not start: " + s.error) << "\n";
  };
  codecommit::GitHttp git_http(**store, key_source, git_options);

  // An action execution's log lines (console/console.h's LogPage), for
  // GET /logs/ID and the console's log view and live tail.
  auto read_log = [&](const std::string& id, int64_t from, int limit) -> Result<console::LogPage> {
    auto action = (*store)->get_action_execution(id);
    if (!action.ok()) return action.status();
    auto lines = (*store)->read_logs(id, from, limit);
    if (!lines.ok()) return lines.status();
    console::LogPage page;
    page.next_seq = std::max<int64_t>(from, 1);
    for (const auto& l : *lines) {
      page.lines.push_back({l.seq, l.time_ms, l.text});
      page.next_seq = l.seq + 1;
    }
    page.status = std::string(model::to_string(action->status));
    page.ended = action->status != model::ActionExecutionStatus::kInProgress;
    return page;
  };
  // GET /logs/ACTION_EXECUTION_ID?from=SEQ&limit=N: an action's log lines
  // (a Stageline extension, signed like every request; `stageline logs`).
  auto logs = [&](const http::Request& req) -> http::Response {
    sigv4::HttpRequestView view{req.method, req.target, req.headers, req.body};
    auto auth = verifier.verify(view, "codepipeline");
    if (!auth.ok()) {
      const auto& f = auth.failure();
      return http::json_error(f.http_status(), f.aws_type(), f.message);
    }
    return console::answer_log_request(
        std::string(req.path().substr(std::string_view("/logs/").size())), req.query(), read_log,
        [&err, &req](const std::string& line) {
          err << "request " << req.request_id << ": " << line << "\n";
        });
  };

  // GET and POST /action-types: the registered third-party action types (a
  // Stageline extension, signed like every request; docs/api.md,
  // "Registered action types"; `stageline action-types`).
  auto action_types = [&](const http::Request& req) -> http::Response {
    sigv4::HttpRequestView view{req.method, req.target, req.headers, req.body};
    auto auth = verifier.verify(view, "codepipeline");
    if (!auth.ok()) {
      const auto& f = auth.failure();
      return http::json_error(f.http_status(), f.aws_type(), f.message);
    }
    wire::Response answer = codepipeline.action_types_extension(req.method, req.body);
    http::Response r;
    r.status = answer.http_status;
    r.headers.emplace_back("Content-Type", answer.content_type);
    r.body = std::move(answer.body);
    return r;
  };
  // POST /webhooks/TOKEN: deliveries to V1 webhooks, unsigned as GitHub,
  // Gitea and GitLab send them (docs/api.md, "Webhooks"). A webhook's URL
  // names this server as clients on this machine reach it.
  codepipeline.set_endpoint_url([&loop, &args] {
    http::Server* s = loop.load();
    std::string host = args.listen.substr(0, args.listen.rfind(':'));
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    if (host == "[::]") host = "[::1]";
    return s == nullptr ? std::string() : "http://" + host + ":" + std::to_string(s->port());
  });
  auto webhook = [&](const http::Request& req) -> http::Response {
    wire::Response answer = codepipeline.receive_webhook(
        {req.path().substr(std::string_view("/webhooks/").size()), req.body, req.peer,
         req.header("X-Hub-Signature-256"), req.header("X-Hub-Signature")});
    http::Response r;
    r.status = answer.http_status;
    r.headers.emplace_back("Content-Type", answer.content_type);
    r.body = std::move(answer.body);
    return r;
  };

  // POST /lifecycle: one lifecycle sweep now or at ?at= (a Stageline
  // extension, signed like every request; `stageline s3 expire`).
  auto log_line = [&err](const std::string& line) { err << "stageline server: " << line << "\n"; };
  auto lifecycle = [&](const http::Request& req) -> http::Response {
    sigv4::HttpRequestView view{req.method, req.target, req.headers, req.body};
    auto auth = verifier.verify(view, "codepipeline");
    if (!auth.ok()) {
      const auto& f = auth.failure();
      return http::json_error(f.http_status(), f.aws_type(), f.message);
    }
    SweepAnswer answer = handle_lifecycle_request(**store, **objects, req.query(),
                                                  std::chrono::system_clock::now(), log_line);
    http::Response r;
    r.status = answer.http_status;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::move(answer.body);
    return r;
  };

  // Subscribes an authenticated request's stream to the event log (its
  // ?pipeline=, ?after= and Last-Event-ID).
  auto subscribe_events =
      [&](const http::Request& req,
          std::shared_ptr<http::EventStream> stream) -> std::optional<http::Response> {
    std::string from(req.header("Last-Event-ID"));
    std::string pipeline;
    for (std::string_view rest = req.query(); !rest.empty();) {
      std::string_view pair = rest.substr(0, rest.find('&'));
      rest = pair.size() < rest.size() ? rest.substr(pair.size() + 1) : std::string_view();
      auto eq = pair.find('=');
      std::string_view key = pair.substr(0, eq);
      std::string value(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
      if (key == "after" && from.empty()) from = value;
      if (key == "pipeline") pipeline = value;
    }
    std::optional<int64_t> after;
    if (!from.empty()) {
      int64_t seq = 0;
      auto [end, ec] = std::from_chars(from.data(), from.data() + from.size(), seq);
      if (ec != std::errc() || end != from.data() + from.size() || seq < 0)
        return http::json_error(400, "ValidationException",
                                "after (or Last-Event-ID) must be an event sequence number");
      after = seq;
    }
    events::Filter filter;
    filter.pipeline_name = pipeline;
    if (Status s =
            (*event_log)->subscribe(std::make_shared<StreamSubscriber>(stream), after, filter);
        !s.ok())
      return http::json_error(500, "InternalFailure", s.message());
    return std::nullopt;
  };
  // The web console (console/console.h, docs/console.md) at /console/: a
  // session signed in with an access key calls the same operations through
  // the router, as that key's principal.
  console::Console::Options console_options;
  console_options.dir = args.console_dir;
  console_options.region = args.region;
  console_options.account_id = args.account_id;
  console_options.sessions.now_ms = now_ms;
  // Sessions outlive a restart in the store (server/console_sessions.h);
  // those that ended while the server was down go now.
  StoreSessions console_sessions(**store, log_line);
  console_options.sessions.store = &console_sessions;
  if (auto purged = console_sessions.purge_expired(
          now_ms(), console_options.sessions.idle_timeout_ms, console_options.sessions.max_age_ms);
      !purged.ok())
    err << "stageline server: console sessions: " << purged.status().message() << "\n";
  console_options.call = [&router](const http::Request& req, const std::string& principal,
                                   const std::string& access_key_id) {
    return router.handle_authenticated(req, api::Caller{principal, access_key_id});
  };
  console_options.subscribe_events =
      [&subscribe_events](const http::Request& req, std::shared_ptr<http::EventStream> stream) {
        return subscribe_events(req, std::move(stream));
      };
  console_options.read_log = read_log;
  console_options.after = [&loop](std::chrono::milliseconds delay, std::function<void()> fn) {
    if (http::Server* l = loop.load()) l->after(delay, std::move(fn));
  };
  console_options.log = log_line;
  console::Console web_console(key_source, console_options);

  auto handle = [&](const http::Request& req) -> http::Response {
    if (console::Console::accepts(req) &&
        credential_scope_service(req) != "s3")  // else an object of a bucket called "console"
      return web_console.handle(req);
    // A browser opening the server's address gets the console.
    if (req.method == "GET" && req.path() == "/" && !router.accepts(req) &&
        req.header("Accept").find("text/html") != std::string_view::npos) {
      http::Response r;
      r.status = 302;
      r.headers.emplace_back("Location", "console/");
      return r;
    }
    if (req.method == "POST" && req.path() == "/lifecycle" && credential_scope_service(req) != "s3")
      return lifecycle(req);
    if (req.path() == "/action-types" && credential_scope_service(req) != "s3")
      return action_types(req);
    if (req.method == "POST" && req.path().starts_with("/webhooks/") &&
        credential_scope_service(req) != "s3")
      return webhook(req);
    if (req.method == "GET" && req.path().starts_with("/logs/") &&
        credential_scope_service(req) != "s3")  // else an object of a bucket called "logs"
      return logs(req);
    // git's requests are not SigV4-signed: they never reach the Router.
    if (codecommit::GitHttp::accepts(req)) return git_http.handle(req);
    // SubscribeURL, UnsubscribeURL and SigningCertURL: unsigned, as in AWS.
    if (sns::SnsApi::is_public(req) && credential_scope_service(req) != "s3")
      return sns_api->handle_public(req);
    return router.handle(req);
  };

  http::Server::Options http_options;
  http_options.listen = args.listen;
  http_options.log = [&err](const std::string& line) { err << line << "\n"; };
  // S3 PUTs may carry up to 5 GiB; bodies above 1 MiB go to DATA_DIR/spool.
  // A git push up to 2 GiB is spooled the same way (codecommit::GitHttp).
  http_options.body_limit_for = [](const http::Request& head) -> std::optional<uint64_t> {
    if (codecommit::GitHttp::accepts(head)) return codecommit::GitHttp::body_limit(head);
    if (credential_scope_service(head) != "s3") return std::nullopt;
    return api::s3::S3Api::body_limit(head);
  };
  http_options.spool_dir = s3_options.scratch_dir.string();
  // GET /events: the event log as server-sent events (docs/api.md, "Live
  // events"), signed like any request (an Authorization header, or a
  // presigned URL for a browser's EventSource).
  http::Server::StreamRoute streams;
  streams.accepts = [](const http::Request& r) {
    return (r.method == "GET" && r.path() == "/events") || console::Console::is_stream(r);
  };
  streams.handler =
      [&](const http::Request& req,
          std::shared_ptr<http::EventStream> stream) -> std::optional<http::Response> {
    if (console::Console::is_stream(req)) return web_console.handle_stream(req, std::move(stream));
    sigv4::HttpRequestView view{req.method, req.target, req.headers, req.body};
    auto auth = verifier.verify(view, "codepipeline");
    if (!auth.ok()) {
      const auto& f = auth.failure();
      err << "events stream from " << req.peer << ": authentication failed: " << f.detail << "\n";
      return http::json_error(f.http_status(), f.aws_type(), f.message);
    }
    return subscribe_events(req, std::move(stream));
  };
  http::Server server(http_options, handle, streams);
  if (Status s = server.start(); !s.ok()) {
    err << "stageline server: " << s.message() << "\n";
    return 2;
  }
  loop = &server;
  sns_deliverer.start();
  codecommit_api.set_endpoint_url(codecommit::endpoint_url_for(args.listen, server.port()));
  bool broken = false;
  drain = [&] {
    while (auto done = runner.next(std::chrono::milliseconds(0))) {
      if (Status s = engine.action_finished(done->action_execution_id, done->outcome); !s.ok()) {
        // The store refused a committed state (disk full, I/O error): stop,
        // and let the next start recover from what the store holds.
        err << "stageline server: " << s.message() << "; stopping\n";
        broken = true;
        server.stop();
        return;
      }
    }
  };
  auto resumed = engine.recover();
  if (!resumed.ok()) {
    err << "stageline server: recover: " << resumed.status().message() << "\n";
    return 2;
  }
  std::function<void()> expire = [&] {
    if (Status s = engine.expire_jobs(); !s.ok())
      err << "stageline server: " << s.message() << "\n";
    server.after(std::chrono::seconds(5), expire);
  };
  server.after(std::chrono::seconds(5), expire);
  // Change detection for sources behind connections: their git servers are
  // polled (server/source_poller.h); a moved branch is matched like a push.
  SourcePoller::Options poller_options;
  poller_options.resolve = [&connections_api](
                               const std::string& arn,
                               const std::string& repository) -> Result<std::string> {
    auto location = connections_api.resolve(arn, repository);
    if (!location.ok()) return location.status();
    return location->url;
  };
  poller_options.post = [&server](std::function<void()> fn) { server.post(std::move(fn)); };
  poller_options.on_push = [&](const triggers::PushEvent& push) {
    auto started = start_for_push(engine, **store, push);
    if (!started.ok()) {
      err << "stageline server: " << started.status().message() << "\n";
      return;
    }
    for (const auto& s : *started)
      err << "stageline server: new commit " << push.commit_id.substr(0, 12) << " on "
          << push.repository << " " << push.ref << ": pipeline " << s.pipeline << " "
          << (s.error.empty() ? "started " + s.execution_id : "did not start: " + s.error) << "\n";
  };
  poller_options.log = [&err](const std::string& line) {
    err << "stageline server: " << line << "\n";
  };
  SourcePoller poller(connection_source.mirrors(), poller_options);
  std::function<void()> poll_sources = [&] {
    auto watches = connection_watches(**store);
    if (watches.ok())
      poller.poll(std::move(*watches));
    else
      err << "stageline server: " << watches.status().message() << "\n";
    server.after(std::chrono::seconds(args.poll_interval_s), poll_sources);
  };
  poll_sources();
  // Lifecycle rules, applied every lifecycle_interval_s (the first sweep a
  // minute after start, so a restart loop does not sweep each time).
  std::function<void()> sweep = [&] {
    SweepAnswer answer = handle_lifecycle_request(**store, **objects, "",
                                                  std::chrono::system_clock::now(), log_line);
    if (answer.http_status != 200) err << "stageline server: " << answer.body << "\n";
    server.after(std::chrono::seconds(args.lifecycle_interval_s), sweep);
  };
  server.after(std::chrono::seconds(std::min(60, args.lifecycle_interval_s)), sweep);
  // Replays to subscribers that were behind continue as their queues drain.
  std::function<void()> pump = [&] {
    if (Status s = (*event_log)->pump(); !s.ok())
      err << "stageline server: events: " << s.message() << "\n";
    server.after(std::chrono::milliseconds(250), pump);
  };
  server.after(std::chrono::milliseconds(250), pump);
  server.on_signal([&](int) { server.stop(); });

  // Where clients on this machine find the server (`stageline` client verbs
  // read it from the data directory): written atomically, removed on stop.
  const fs::path endpoint_file = data / "server.json";
  {
    std::string host = args.listen.substr(0, args.listen.rfind(':'));
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    if (host == "[::]") host = "[::1]";
    boost::json::object info{{"endpoint", "http://" + host + ":" + std::to_string(server.port())},
                             {"region", args.region},
                             {"accountId", args.account_id},
                             {"pid", static_cast<int64_t>(getpid())}};
    const fs::path tmp = data / "server.json.tmp";
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << boost::json::serialize(info) << "\n";
    f.close();
    if (!f || (fs::rename(tmp, endpoint_file, ec), ec))
      err << "stageline server: write " << endpoint_file.string() << " failed\n";
  }
  out << "Stageline is listening on http://127.0.0.1:" << server.port() << " (region "
      << args.region << ", account " << args.account_id << ")\n"
      << "Data directory: " << data.string() << "\n";
  if (!resumed->empty()) out << "Resumed " << resumed->size() << " execution(s)\n";
  out << "Console: http://127.0.0.1:" << server.port()
      << "/console/ (sign in with the key of the credentials file)\n"
      << "Credentials: " << (data / "credentials").string() << "\n"
      << "Try:\n"
      << "  export AWS_SHARED_CREDENTIALS_FILE=" << (data / "credentials").string() << "\n"
      << "  aws codepipeline list-pipelines --endpoint-url http://127.0.0.1:" << server.port()
      << " --region " << args.region << "\n";
  out.flush();
  server.run();
  sns_deliverer.stop();  // before the loop its log posts to goes away
  fs::remove(endpoint_file, ec);
  // Stop the actions still running (their attempts are recovered on the next
  // start) before the loop they post to goes away.
  runner_owner.reset();
  loop = nullptr;
  return broken ? 1 : 0;
}

}  // namespace stageline::server
