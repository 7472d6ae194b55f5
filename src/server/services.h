// server/services: the AWS services one port answers, and how a request finds
// its service (issue #4, "Routing for more services").
//
//   - JSON protocols (CodePipeline, and later CodeCommit, CodeBuild, KMS, SSM,
//     Secrets Manager, CodeConnections): POST / with X-Amz-Target
//     "<prefix>.<Operation>". The prefix picks the service; its botocore model
//     routes, validates and decodes the call (wire::Dispatcher); the request
//     must be signed for the service's SigV4 name; the service's handler gets
//     the decoded call and the caller.
//   - REST protocols (S3): a request without X-Amz-Target whose SigV4
//     credential scope (Authorization header, or X-Amz-Credential of a
//     presigned URL) names a REST service's signing name goes to that
//     service's handler, which authenticates it itself (S3 signs payloads its
//     own ways) and answers in its own format.
//
// The table is filled once by the composition root (api_server.cc) before
// the server runs, and read only afterwards. Depends on api/wire, api/http,
// api/sigv4, api/keys and api/codepipeline (for Caller); never on the engine
// or the store.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "api/codepipeline/codepipeline_api.h"
#include "api/http/http.h"
#include "api/keys/keys.h"
#include "api/sigv4/sigv4.h"
#include "api/wire/wire.h"

namespace stageline::server {

// A JSON service: its X-Amz-Target prefix ("CodePipeline_20150709") and
// SigV4 signing name ("codepipeline") are its model's metadata.
struct JsonService {
  const wire::ServiceModel* model = nullptr;
  // Answers one validated call, on the control thread.
  std::function<wire::Outcome<boost::json::value>(const wire::Call&, const api::Caller&)> call;
};

struct RestService {
  std::string signing_name;  // "s3"
  // Answers the request, authenticating it first; on the control thread.
  std::function<http::Response(const http::Request&)> handle;
};

// The services of one port. Not thread-safe: filled before the server runs,
// then read on the control thread.
class ServiceTable {
 public:
  // REQUIRES: json.model and json.call are set and the model's target
  // prefix is not taken yet; the REST signing name is not taken yet.
  void add(JsonService json);
  void add(RestService rest);

  const JsonService* json_service(std::string_view target_prefix) const;
  const RestService* rest_service(std::string_view signing_name) const;

  // Every signing name, for the SigV4 verifier's accepted services.
  std::vector<std::string> signing_names() const;

 private:
  std::vector<std::unique_ptr<JsonService>> json_;
  std::vector<std::unique_ptr<RestService>> rest_;
  std::vector<std::unique_ptr<wire::Dispatcher>> dispatchers_;  // one per JSON service

  friend class Router;
};

// The service name of a request's SigV4 credential scope (the fourth part
// of Credential= in Authorization, or of the X-Amz-Credential query
// parameter), or "" when neither parses.
std::string credential_scope_service(const http::Request& request);

// Routes and answers requests for the services of a table.
class Router {
 public:
  // All borrowed; they must outlive the router. `log` receives one line per
  // rejected or failed request (the request id first).
  Router(const ServiceTable& table, const api::sigv4::Verifier& verifier,
         keys::StoreKeySource& key_source, std::function<int64_t()> now_ms, std::ostream& log);

  // True if this request is one the table's services should answer: it
  // carries X-Amz-Target, or its credential scope names a REST service.
  bool accepts(const http::Request& request) const;

  // Answers a request accepted or not: a request no service claims gets
  // UnknownOperationException (404).
  http::Response handle(const http::Request& request);

  // Answers a JSON request (POST /, X-Amz-Target) from `caller`, who is
  // already authenticated (a console session, console/console.h): routed,
  // validated, called and encoded exactly as handle() does a signed one.
  http::Response handle_authenticated(const http::Request& request, const api::Caller& caller);

 private:
  // `authenticated` is null for a request whose signature is to be verified.
  http::Response handle_json(const http::Request& request, const api::Caller* authenticated);
  http::Response answer_json(const http::Request& request, const api::Caller* authenticated);

  const ServiceTable& table_;
  const api::sigv4::Verifier& verifier_;
  keys::StoreKeySource& key_source_;
  std::function<int64_t()> now_ms_;
  std::ostream& log_;
};

}  // namespace stageline::server
