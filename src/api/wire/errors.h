// api/wire/errors: AWS JSON 1.1 error responses. One Error value per failed
// call; encode_error turns it into the status, content type and body AWS
// sends. The mapping of error types to HTTP statuses lives here, once (see
// common_error and modeled_error; the table is in wire.h).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/status.h"

namespace stageline::wire {

class ServiceModel;

// An HTTP response of the wire layer: what the transport writes.
struct Response {
  int http_status = 200;
  std::string content_type;
  std::string body;
};

struct Error {
  // How the body is framed. Only the content-type errors use the last two
  // (AWS answers them in these legacy shapes; see wire.h).
  enum class Body { kJson, kCoralEnvelope, kXml };

  std::string type;     // "__type", e.g. "ValidationException"
  std::string message;  // "" sends no "message" member, as AWS does for some
  int http_status = 400;
  std::string detail;  // for the server's log only; never sent
  Body body = Body::kJson;
};

// The errors every AWS JSON service can answer, whatever its model says.
enum class CommonError {
  kValidation,                  // ValidationException 400
  kSerialization,               // SerializationException 400
  kUnknownOperation,            // UnknownOperationException 400
  kInternalFailure,             // InternalFailure 500
  kServiceUnavailable,          // ServiceUnavailable 503
  kThrottling,                  // ThrottlingException 400
  kAccessDenied,                // AccessDeniedException 403
  kIncompleteSignature,         // IncompleteSignature 403
  kInvalidSignature,            // InvalidSignatureException 400
  kMissingAuthenticationToken,  // MissingAuthenticationTokenException 403
  kUnrecognizedClient,          // UnrecognizedClientException 403
  kExpiredToken,                // ExpiredTokenException 403
  kNotAuthorized,               // NotAuthorized 401
  kRequestEntityTooLarge,       // RequestEntityTooLargeException 413
  kMalformedHttpRequest,        // MalformedHttpRequestException 400
};

Error common_error(CommonError kind, std::string message);

// A modeled exception of `model` (e.g. "PipelineNotFoundException"): HTTP
// status from the shape's error.httpStatusCode, else 400 (500 when the shape
// is a fault). REQUIRES: `type` names an exception shape of the model (a
// typo is a bug: CHECK).
Error modeled_error(const ServiceModel& model, std::string_view type, std::string message);

// {"__type":"<type>","message":"..."} with content-type
// application/x-amz-json-1.1 (or the legacy framings of Error::Body).
Response encode_error(const Error& error);

// A value or the Error to answer with (shaped like std::expected).
template <typename T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : v_(std::move(value)) {}      // NOLINT: implicit like std::expected
  Outcome(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const Error& error() const { return std::get<Error>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace stageline::wire
