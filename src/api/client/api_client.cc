#include "api/client/api_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>
#include <system_error>

#include "base/strings.h"

namespace stageline::api::client {

namespace json = boost::json;
namespace fs = std::filesystem;

ServiceError parse_service_error(int http_status, std::string_view body) {
  ServiceError e;
  e.http_status = http_status;
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const json::object& o = v.as_object();
    if (auto* t = o.if_contains("__type"); t && t->is_string()) {
      std::string_view type = t->as_string();
      if (auto hash = type.rfind('#'); hash != std::string_view::npos) type.remove_prefix(hash + 1);
      if (auto colon = type.find(':'); colon != std::string_view::npos)
        type = type.substr(0, colon);
      e.type = std::string(type);
    }
    for (const char* key : {"message", "Message"}) {
      if (auto* m = o.if_contains(key); m && m->is_string()) {
        e.message = std::string(m->as_string());
        break;
      }
    }
  }
  if (e.type.empty()) e.type = std::to_string(http_status);
  return e;
}

Result<ApiClient> ApiClient::create(ServerLocation location, ClientOptions options) {
  auto endpoint = parse_endpoint(location.endpoint_url);
  if (!endpoint.ok()) return endpoint.status();
  return ApiClient(std::move(location), std::move(*endpoint), std::move(options));
}

Result<Reply> ApiClient::send(std::string_view target_prefix, std::string_view operation,
                              const json::object& input) {
  sigv4::HttpRequest request;
  request.method = "POST";
  request.target = "/";
  request.headers = {
      {"Host", endpoint_.host_header()},
      {"X-Amz-Target", std::string(target_prefix) + "." + std::string(operation)},
      {"Content-Type", "application/x-amz-json-1.1"},
      {"Accept-Encoding", "identity"},
  };
  request.body = json::serialize(input);
  if (Status s =
          sigv4::sign(request, location_.key, location_.region, options_.service, options_.clock());
      !s.ok())
    return s.with_context("sign " + std::string(operation));
  request.headers.emplace_back("User-Agent", "stageline/0.1.0");

  auto response = send_http(endpoint_, request, HttpOptions{.timeout = options_.timeout});
  if (!response.ok()) return response.status();

  Reply reply;
  if (response->status < 200 || response->status > 299) {
    reply.error = parse_service_error(response->status, response->body);
    return reply;
  }
  if (response->body.empty()) return reply;
  json::error_code ec;
  json::value v = json::parse(response->body, ec);
  if (ec || !v.is_object())
    return Status::io(std::string(operation) + " on " + endpoint_.display() +
                      ": the response is not a JSON object" + (ec ? ": " + ec.message() : ""));
  reply.output = std::move(v.as_object());
  return reply;
}

Result<json::value> ApiClient::call(std::string_view target_prefix, std::string_view operation,
                                    const json::object& input) {
  auto reply = send(target_prefix, operation, input);
  if (!reply.ok()) return reply.status();
  if (reply->error)
    return Status(StatusCode::kFailedPrecondition,
                  reply->error->type + ": " + reply->error->message);
  return json::value(std::move(reply->output));
}

fs::path effective_data_dir(const LocateOptions& options) {
  return options.data_dir.empty() ? options.default_data_dir : options.data_dir;
}

fs::path credentials_path(const LocateOptions& options) {
  if (!options.data_dir.empty()) return options.data_dir / "credentials";
  if (options.shared_credentials_file) return *options.shared_credentials_file;
  return options.default_data_dir / "credentials";
}

Result<EndpointInfo> locate_endpoint(const LocateOptions& options) {
  EndpointInfo where;
  where.endpoint_url = options.endpoint_url;
  where.region = options.region;

  const fs::path info_path = effective_data_dir(options) / "server.json";
  if (where.endpoint_url.empty() || where.region.empty()) {
    std::ifstream in(info_path, std::ios::binary);
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      json::error_code ec;
      json::value v = json::parse(text.str(), ec);
      auto bad = [&](const std::string& why) {
        return Status::invalid("read " + info_path.string() + ": " + why);
      };
      if (ec) return bad(ec.message());
      if (!v.is_object()) return bad("not a JSON object");
      auto member = [&](const char* name, std::string& out) -> Status {
        const json::value* m = v.as_object().if_contains(name);
        if (!m) return {};
        if (!m->is_string()) return bad(std::string("\"") + name + "\" is not a string");
        if (out.empty()) out = std::string(m->as_string());
        return {};
      };
      if (Status s = member("endpoint", where.endpoint_url); !s.ok()) return s;
      if (Status s = member("region", where.region); !s.ok()) return s;
    }
  }
  if (where.endpoint_url.empty()) where.endpoint_url = std::string(kDefaultEndpointUrl);
  if (where.region.empty()) where.region = std::string(kDefaultRegion);
  if (auto e = parse_endpoint(where.endpoint_url); !e.ok()) return e.status();
  return where;
}

Result<ServerLocation> locate_server(const LocateOptions& options) {
  auto endpoint = locate_endpoint(options);
  if (!endpoint.ok()) return endpoint.status();
  ServerLocation where;
  where.endpoint_url = std::move(endpoint->endpoint_url);
  where.region = std::move(endpoint->region);
  const fs::path creds = credentials_path(options);
  auto key = sigv4::read_credentials_file(creds.string(), options.profile);
  if (!key.ok()) {
    std::string hint =
        options.data_dir.empty() && !options.shared_credentials_file
            ? "; a server started with `stageline server` writes it on first start (pass "
              "--data-dir DIR for a server with another data directory)"
            : "; pass the data directory of the server with --data-dir DIR";
    return Status(key.status().code(), "no credentials (profile " + options.profile +
                                           "): " + key.status().message() + hint);
  }
  where.key = std::move(*key);
  return where;
}

}  // namespace stageline::api::client
