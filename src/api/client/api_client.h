// api/client/api_client: AWS JSON 1.1 calls to Stageline (or any service of
// that protocol), signed with SigV4, and where the local server is. See
// http_client.h for the module's purpose and dependencies.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/client/event_stream.h"
#include "api/client/http_client.h"
#include "api/sigv4/keys.h"
#include "base/status.h"

namespace stageline::api::client {

inline constexpr std::string_view kCodePipelineTargetPrefix = "CodePipeline_20150709";

// An error the service answered with ({"__type", "message"}), read as
// botocore reads it: the type without any "namespace#" prefix or ":suffix";
// "message", else "Message"; without a __type, the HTTP status as the type.
struct ServiceError {
  std::string type;
  std::string message;
  int http_status = 0;
  // How many times the call was retried before this answer, and whether the
  // retries ran out (botocore's ResponseMetadata RetryAttempts and
  // MaxAttemptsReached, which the aws CLI prints as "(reached max retries:
  // N)").
  int retry_attempts = 0;
  bool max_attempts_reached = false;
};

// What a call returned: the output (an object; {} for an empty body) or the
// service's error.
struct Reply {
  boost::json::object output;
  std::optional<ServiceError> error;
};

// Where a server is and how to sign for it.
struct ServerLocation {
  std::string endpoint_url;  // e.g. http://127.0.0.1:7300
  std::string region;
  sigv4::Key key;
};

// How failed calls are retried: the aws CLI's standard retry mode (botocore
// retries/standard.py; reference section 1.5). An attempt is retried when it
// got a 500, 502, 503 or 504, a 429, a throttling error (ThrottlingException,
// Throttling, ThrottledException, RequestThrottledException,
// TooManyRequestsException, LimitExceededException, ... the list of
// is_retryable_error), a transient error (RequestTimeout,
// RequestTimeoutException, PriorRequestNotComplete), or no answer because the
// connection was refused, reset or closed early, or not set up in time. Never
// any other 4xx, a malformed answer, or a read that timed out (the server may
// be working on it). Before attempt i + 1 it waits rand(0, 1) * min(base *
// 2^(i-1), max_backoff): truncated binary exponential back-off with full
// jitter, so with the defaults rand * 1 s, then rand * 2 s.
struct RetryOptions {
  int max_attempts = 3;  // in all, the first included; 1 never retries
  std::chrono::milliseconds base = std::chrono::seconds(1);
  std::chrono::milliseconds max_backoff = std::chrono::seconds(20);
  // Waits between attempts; empty: std::this_thread::sleep_for. Tests record.
  std::function<void(std::chrono::milliseconds)> sleep;
  // A number in [0, 1) for the jitter; empty: a per-thread random engine.
  std::function<double()> random;
};

// Whether the standard retry mode retries this answer.
bool is_retryable_error(const ServiceError& error);
// Whether it retries an attempt that got no answer for this reason.
bool is_retryable_failure(TransportFailure failure);
// The wait before attempt `failed_attempt` + 1 (failed_attempt is 1-based),
// for a jitter `random` in [0, 1).
std::chrono::milliseconds retry_delay(int failed_attempt, double random,
                                      const RetryOptions& options);

struct ClientOptions {
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
  std::string service = "codepipeline";  // the SigV4 signing name
  std::function<std::chrono::system_clock::time_point()> clock = [] {
    return std::chrono::system_clock::now();
  };
  RetryOptions retry;
};

// Calls operations of one server. Holds no connection between calls (each is
// one request on a new connection). Thread-compatible: one thread at a time.
class ApiClient {
 public:
  // Errors: the endpoint URL does not parse (see parse_endpoint).
  static Result<ApiClient> create(ServerLocation location, ClientOptions options = {});

  // POSTs `input` to "/" with X-Amz-Target "<target_prefix>.<operation>",
  // Content-Type application/x-amz-json-1.1, signed (again for each attempt).
  // Retried as RetryOptions says. A 2xx answer gives its output; any other
  // answer, once no retry is left or it is not retryable, gives its
  // ServiceError. Errors (Status): the transport (see send_http; after the
  // retries, the last attempt's error with " (after N attempts)"), signing,
  // or a body that is not a JSON object.
  Result<Reply> send(std::string_view target_prefix, std::string_view operation,
                     const boost::json::object& input);

  // As send, with a service error turned into kFailedPrecondition
  // "TypeName: message".
  Result<boost::json::value> call(std::string_view target_prefix, std::string_view operation,
                                  const boost::json::object& input);

  // Opens GET `target` (a path and query such as "/events?pipeline=app") as a
  // stream of server-sent events, signed with SigV4 like every call, sending
  // `last_event_id` as Last-Event-ID unless it is empty. Not retried (a
  // caller that follows a stream reconnects by itself). Errors: see
  // EventStream::open.
  Result<EventStream> open_event_stream(std::string_view target, std::string_view last_event_id,
                                        const EventStreamOptions& options = {});

  // One signed request to a Stageline extension path (GET /logs/ID, POST
  // /action-types, ...) or a REST service (S3): `body` sent with
  // `content_type` when it is not empty, `headers` added (and signed). Not
  // retried. The answer whatever its status; errors (Status): signing and
  // the transport (see send_http).
  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view content_type = "", std::string body = "",
                               const std::vector<sigv4::Header>& headers = {});

  const ServerLocation& location() const { return location_; }
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  ApiClient(ServerLocation location, Endpoint endpoint, ClientOptions options)
      : location_(std::move(location)), endpoint_(std::move(endpoint)), options_(options) {}

  ServerLocation location_;
  Endpoint endpoint_;
  ClientOptions options_;
};

// Reads an AWS JSON error body (any text) as botocore does (see ServiceError).
ServiceError parse_service_error(int http_status, std::string_view body);

// How to find the server, from the command line and the environment.
struct LocateOptions {
  std::string endpoint_url;                // --endpoint-url ("": not given)
  std::string region;                      // --region ("": not given)
  std::filesystem::path data_dir;          // --data-dir ("": not given)
  std::string profile = "default";         // --profile
  std::filesystem::path default_data_dir;  // the server's default data directory
  // $AWS_SHARED_CREDENTIALS_FILE, when set and not empty.
  std::optional<std::filesystem::path> shared_credentials_file;
};

inline constexpr std::string_view kDefaultEndpointUrl = "http://127.0.0.1:7300";
inline constexpr std::string_view kDefaultRegion = "us-east-1";

// The data directory whose server.json and credentials count: --data-dir, else
// the default one.
std::filesystem::path effective_data_dir(const LocateOptions& options);

// Which credentials file to read: DATA_DIR/credentials when --data-dir is
// given, else $AWS_SHARED_CREDENTIALS_FILE when set, else the default data
// directory's credentials.
std::filesystem::path credentials_path(const LocateOptions& options);

// Where the server listens, without its credentials.
struct EndpointInfo {
  std::string endpoint_url;
  std::string region;
};

// The endpoint is --endpoint-url, else "endpoint" of DATA_DIR/server.json
// (which a running `stageline server` writes), else http://127.0.0.1:7300; the
// region is --region, else "region" of server.json, else us-east-1. Errors
// (kInvalidArgument): a server.json that is not a JSON object with string
// members, or a bad endpoint URL.
Result<EndpointInfo> locate_endpoint(const LocateOptions& options);

// Resolves the server: the endpoint is --endpoint-url, else "endpoint" of
// DATA_DIR/server.json (which a running `stageline server` writes), else
// http://127.0.0.1:7300; the region is --region, else "region" of server.json,
// else us-east-1; the key is profile `profile` of credentials_path().
// Errors: kIo/kNotFound for an unreadable credentials file or profile (the
// message says how to get one); kInvalidArgument for a server.json that is not
// a JSON object with string members, or a bad endpoint URL.
Result<ServerLocation> locate_server(const LocateOptions& options);

}  // namespace stageline::api::client
