#include "server/services.h"

#include <algorithm>

#include "api/sigv4/canonical.h"
#include "base/status.h"

namespace stageline::server {

namespace {

http::Response to_http(const wire::Response& r) {
  http::Response out;
  out.status = r.http_status;
  out.headers.emplace_back("Content-Type", r.content_type);
  out.body = r.body;
  return out;
}

// "<id>/<date>/<region>/<service>/aws4_request" -> "<service>", or "".
std::string scope_service(std::string_view credential) {
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    pos = credential.find('/', pos);
    if (pos == std::string_view::npos) return "";
    ++pos;
  }
  size_t end = credential.find('/', pos);
  if (end == std::string_view::npos) return "";
  return std::string(credential.substr(pos, end - pos));
}

}  // namespace

void ServiceTable::add(JsonService json) {
  STAGELINE_CHECK(json.model != nullptr && json.call);
  STAGELINE_CHECK(json_service(json.model->metadata().target_prefix) == nullptr);
  dispatchers_.push_back(std::make_unique<wire::Dispatcher>(*json.model));
  json_.push_back(std::make_unique<JsonService>(std::move(json)));
}

void ServiceTable::add(RestService rest) {
  STAGELINE_CHECK(rest.handle);
  STAGELINE_CHECK(rest_service(rest.signing_name) == nullptr);
  rest_.push_back(std::make_unique<RestService>(std::move(rest)));
}

const JsonService* ServiceTable::json_service(std::string_view target_prefix) const {
  for (const auto& s : json_)
    if (s->model->metadata().target_prefix == target_prefix) return s.get();
  return nullptr;
}

const RestService* ServiceTable::rest_service(std::string_view signing_name) const {
  for (const auto& s : rest_)
    if (s->signing_name == signing_name) return s.get();
  return nullptr;
}

std::vector<std::string> ServiceTable::signing_names() const {
  std::vector<std::string> names;
  for (const auto& s : json_) names.push_back(s->model->metadata().signing_name);
  for (const auto& s : rest_) names.push_back(s->signing_name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string credential_scope_service(const http::Request& request) {
  std::string_view auth = request.header("Authorization");
  if (auto at = auth.find("Credential="); at != std::string_view::npos) {
    std::string_view rest = auth.substr(at + std::string_view("Credential=").size());
    return scope_service(rest.substr(0, rest.find_first_of(", ")));
  }
  for (std::string_view rest = request.query(); !rest.empty();) {
    std::string_view pair = rest.substr(0, rest.find('&'));
    rest = pair.size() < rest.size() ? rest.substr(pair.size() + 1) : std::string_view();
    if (pair.starts_with("X-Amz-Credential="))
      return scope_service(
          api::sigv4::uri_decode(pair.substr(std::string_view("X-Amz-Credential=").size())));
  }
  return "";
}

Router::Router(const ServiceTable& table, const api::sigv4::Verifier& verifier,
               keys::StoreKeySource& key_source, std::function<int64_t()> now_ms, std::ostream& log)
    : table_(table),
      verifier_(verifier),
      key_source_(key_source),
      now_ms_(std::move(now_ms)),
      log_(log) {}

bool Router::accepts(const http::Request& request) const {
  if (request.has_header("X-Amz-Target")) return true;
  return table_.rest_service(credential_scope_service(request)) != nullptr;
}

http::Response Router::handle(const http::Request& request) {
  if (request.has_header("X-Amz-Target")) return handle_json(request, nullptr);
  if (const RestService* rest = table_.rest_service(credential_scope_service(request)))
    return rest->handle(request);
  return http::json_error(404, "UnknownOperationException",
                          "Stageline answers AWS JSON requests with POST / and an X-Amz-Target "
                          "header, and REST services by the service their signature names");
}

http::Response Router::handle_authenticated(const http::Request& request,
                                            const api::Caller& caller) {
  return handle_json(request, &caller);
}

http::Response Router::handle_json(const http::Request& req, const api::Caller* authenticated) {
  http::Response r = answer_json(req, authenticated);
  // Answers carry the content type of the service's protocol version
  // (application/x-amz-json-1.0 for CodeStar Connections), as AWS's do.
  std::string target(req.header("X-Amz-Target"));
  if (const JsonService* service = table_.json_service(target.substr(0, target.rfind('.'))))
    for (auto& [name, value] : r.headers)
      if (name == "Content-Type" && value.starts_with("application/x-amz-json-"))
        value = wire::content_type(*service->model);
  return r;
}

http::Response Router::answer_json(const http::Request& req, const api::Caller* authenticated) {
  if (req.method != "POST" || req.path() != "/")
    return http::json_error(404, "UnknownOperationException",
                            "AWS JSON requests are POST / (this was " + req.method + " " +
                                std::string(req.path()) + ")");
  std::string target(req.header("X-Amz-Target"));
  // The operation follows the last '.': some prefixes have dots of their own
  // ("com.amazonaws.codestar.connections.CodeStar_connections_20191201").
  const JsonService* service = table_.json_service(target.substr(0, target.rfind('.')));
  if (service == nullptr)
    return to_http(wire::encode_error(wire::common_error(
        wire::CommonError::kUnknownOperation,
        "Stageline does not answer the service of X-Amz-Target '" + target + "'")));
  const wire::Dispatcher* dispatcher = nullptr;
  for (size_t i = 0; i < table_.json_.size(); ++i)
    if (table_.json_[i].get() == service) dispatcher = table_.dispatchers_[i].get();
  STAGELINE_CHECK(dispatcher != nullptr);

  std::string content_type(req.header("Content-Type"));
  wire::Request w;
  w.target = target;
  if (req.has_header("Content-Type")) w.content_type = content_type;
  w.body = req.body;
  auto routed = dispatcher->route(w);
  if (!routed) return to_http(wire::encode_error(routed.error()));
  api::Caller caller;
  if (authenticated != nullptr) {
    caller = *authenticated;
  } else {
    api::sigv4::HttpRequestView view{req.method, req.target, req.headers, req.body};
    auto auth = verifier_.verify(view, service->model->metadata().signing_name);
    if (!auth.ok()) {
      const auto& f = auth.failure();
      log_ << "request " << req.request_id << " from " << req.peer
           << ": authentication failed: " << f.detail << "\n";
      return http::json_error(f.http_status(), f.aws_type(), f.message);
    }
    caller = {auth.identity().principal, auth.identity().access_key_id};
  }
  if (Status s = key_source_.record_use(caller.access_key_id, now_ms_()); !s.ok())
    log_ << "request " << req.request_id << ": " << s.message() << "\n";
  auto call = dispatcher->decode(std::move(routed).value());
  if (!call) return to_http(wire::encode_error(call.error()));
  for (const auto& warning : call->warnings)
    log_ << "request " << req.request_id << ": " << warning << "\n";
  auto result = service->call(*call, caller);
  if (!result) {
    if (!result.error().detail.empty())
      log_ << "request " << req.request_id << ": " << result.error().detail << "\n";
    return to_http(wire::encode_error(result.error()));
  }
  auto encoded = wire::encode_output(*call->operation, result.value());
  if (!encoded.ok()) {
    log_ << "request " << req.request_id << ": " << encoded.status().message() << "\n";
    return to_http(wire::encode_error(
        wire::common_error(wire::CommonError::kInternalFailure, "Internal failure")));
  }
  return to_http(*encoded);
}

}  // namespace stageline::server
