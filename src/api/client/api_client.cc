#include "api/client/api_client.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>
#include <thread>

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

bool is_retryable_error(const ServiceError& error) {
  // botocore retries/standard.py: TransientRetryableChecker (the status codes
  // and the transient codes) and ThrottledRetryableChecker; reference
  // section 1.5 adds 429 (as throttling) for clients that read the status.
  static constexpr std::string_view kCodes[] = {
      "RequestTimeout",
      "RequestTimeoutException",
      "PriorRequestNotComplete",
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "TransactionInProgressException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "LimitExceededException",
      "RequestThrottled",
      "SlowDown",
      "EC2ThrottledException",
  };
  switch (error.http_status) {
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      break;
  }
  return std::find(std::begin(kCodes), std::end(kCodes), error.type) != std::end(kCodes);
}

bool is_retryable_failure(TransportFailure failure) {
  switch (failure) {
    case TransportFailure::kRefused:
    case TransportFailure::kReset:
    case TransportFailure::kConnectTimeout:
      return true;
    case TransportFailure::kNone:
    case TransportFailure::kResolve:
    case TransportFailure::kTimeout:
    case TransportFailure::kMalformed:
    case TransportFailure::kOther:
      return false;
  }
  return false;
}

std::chrono::milliseconds retry_delay(int failed_attempt, double random,
                                      const RetryOptions& options) {
  using std::chrono::milliseconds;
  // base * 2^(attempt - 1), capped; the cap also keeps the shift small.
  milliseconds cap = options.max_backoff;
  milliseconds grown = options.base;
  for (int i = 1; i < failed_attempt && grown < cap; ++i) grown *= 2;
  const double jitter = std::clamp(random, 0.0, 1.0);
  return milliseconds(
      static_cast<int64_t>(jitter * static_cast<double>(std::min(grown, cap).count())));
}

namespace {

double default_random() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace

Result<Reply> ApiClient::send(std::string_view target_prefix, std::string_view operation,
                              const json::object& input) {
  const RetryOptions& retry = options_.retry;
  const int max_attempts = std::max(1, retry.max_attempts);
  const std::string body = json::serialize(input);
  auto wait = [&](int failed_attempt) {
    auto delay =
        retry_delay(failed_attempt, retry.random ? retry.random() : default_random(), retry);
    if (retry.sleep)
      retry.sleep(delay);
    else
      std::this_thread::sleep_for(delay);
  };
  for (int attempt = 1;; ++attempt) {
    sigv4::HttpRequest request;
    request.method = "POST";
    request.target = "/";
    request.headers = {
        {"Host", endpoint_.host_header()},
        {"X-Amz-Target", std::string(target_prefix) + "." + std::string(operation)},
        {"Content-Type", "application/x-amz-json-1.1"},
        {"Accept-Encoding", "identity"},
    };
    request.body = body;
    if (Status s = sigv4::sign(request, location_.key, location_.region, options_.service,
                               options_.clock());
        !s.ok())
      return s.with_context("sign " + std::string(operation));
    request.headers.emplace_back("User-Agent", "stageline/0.1.0");

    HttpExchange exchange =
        exchange_http(endpoint_, request, HttpOptions{.timeout = options_.timeout});
    if (!exchange.response.ok()) {
      if (attempt < max_attempts && is_retryable_failure(exchange.failure)) {
        wait(attempt);
        continue;
      }
      if (attempt == 1) return exchange.response.status();
      const Status& last = exchange.response.status();
      return Status(last.code(),
                    last.message() + " (after " + std::to_string(attempt) + " attempts)");
    }
    HttpResponse& response = *exchange.response;

    Reply reply;
    if (response.status < 200 || response.status > 299) {
      ServiceError error = parse_service_error(response.status, response.body);
      if (attempt < max_attempts && is_retryable_error(error)) {
        wait(attempt);
        continue;
      }
      // As botocore's MaxAttemptsChecker: the last allowed attempt counts as
      // reaching the maximum whether or not its answer was retryable.
      error.retry_attempts = attempt - 1;
      error.max_attempts_reached = attempt >= max_attempts;
      reply.error = std::move(error);
      return reply;
    }
    if (response.body.empty()) return reply;
    json::error_code ec;
    json::value v = json::parse(response.body, ec);
    if (ec || !v.is_object())
      return Status::io(std::string(operation) + " on " + endpoint_.display() +
                        ": the response is not a JSON object" + (ec ? ": " + ec.message() : ""));
    reply.output = std::move(v.as_object());
    return reply;
  }
}

Result<EventStream> ApiClient::open_event_stream(std::string_view target,
                                                 std::string_view last_event_id,
                                                 const EventStreamOptions& options) {
  sigv4::HttpRequest request;
  request.method = "GET";
  request.target = std::string(target);
  request.headers = {
      {"Host", endpoint_.host_header()},
      {"Accept", "text/event-stream"},
  };
  if (!last_event_id.empty()) request.headers.emplace_back("Last-Event-ID", last_event_id);
  if (Status s =
          sigv4::sign(request, location_.key, location_.region, options_.service, options_.clock());
      !s.ok())
    return s.with_context("sign GET " + std::string(target));
  request.headers.emplace_back("User-Agent", "stageline/0.1.0");
  return EventStream::open(endpoint_, request, options);
}

Result<HttpResponse> ApiClient::request(std::string_view method, std::string_view target,
                                        std::string_view content_type, std::string body,
                                        const std::vector<sigv4::Header>& headers) {
  sigv4::HttpRequest request;
  request.method = std::string(method);
  request.target = std::string(target);
  request.headers = {{"Host", endpoint_.host_header()}};
  if (!content_type.empty()) request.headers.emplace_back("Content-Type", content_type);
  request.headers.insert(request.headers.end(), headers.begin(), headers.end());
  request.body = std::move(body);
  if (Status s =
          sigv4::sign(request, location_.key, location_.region, options_.service, options_.clock());
      !s.ok())
    return s.with_context("sign " + request.method + " " + request.target);
  request.headers.emplace_back("User-Agent", "stageline/0.1.0");
  return send_http(endpoint_, request, {});
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
