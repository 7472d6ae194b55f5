#include "api/wire/wire.h"

#include <boost/json.hpp>

#include "api/wire/json_text.h"
#include "api/wire/validate.h"
#include "base/strings.h"

namespace stageline::wire {

namespace json = boost::json;

namespace {

constexpr std::string_view kJson11 = "application/x-amz-json-1.1";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Error common_error(CommonError kind, std::string message) {
  auto make = [&](const char* type, int status) {
    Error e;
    e.type = type;
    e.message = std::move(message);
    e.http_status = status;
    return e;
  };
  switch (kind) {
    case CommonError::kValidation:
      return make("ValidationException", 400);
    case CommonError::kSerialization:
      return make("SerializationException", 400);
    case CommonError::kUnknownOperation:
      return make("UnknownOperationException", 400);
    case CommonError::kInternalFailure:
      return make("InternalFailure", 500);
    case CommonError::kServiceUnavailable:
      return make("ServiceUnavailable", 503);
    case CommonError::kThrottling:
      return make("ThrottlingException", 400);
    case CommonError::kAccessDenied:
      return make("AccessDeniedException", 403);
    case CommonError::kIncompleteSignature:
      return make("IncompleteSignature", 403);
    case CommonError::kInvalidSignature:
      return make("InvalidSignatureException", 400);
    case CommonError::kMissingAuthenticationToken:
      return make("MissingAuthenticationTokenException", 403);
    case CommonError::kUnrecognizedClient:
      return make("UnrecognizedClientException", 403);
    case CommonError::kExpiredToken:
      return make("ExpiredTokenException", 403);
    case CommonError::kNotAuthorized:
      return make("NotAuthorized", 401);
    case CommonError::kRequestEntityTooLarge:
      return make("RequestEntityTooLargeException", 413);
    case CommonError::kMalformedHttpRequest:
      return make("MalformedHttpRequestException", 400);
  }
  STAGELINE_CHECK(false);
  return {};
}

Error modeled_error(const ServiceModel& model, std::string_view type, std::string message) {
  const Shape* shape = model.find_shape(type);
  STAGELINE_CHECK(shape != nullptr && shape->exception);
  Error e;
  e.type = shape->error_code.empty() ? shape->name : shape->error_code;
  e.message = std::move(message);
  e.http_status = shape->http_status.value_or(shape->fault ? 500 : 400);
  return e;
}

Response encode_error(const Error& error) {
  Response r;
  r.http_status = error.http_status;
  switch (error.body) {
    case Error::Body::kJson: {
      json::object body;
      body["__type"] = error.type;
      if (!error.message.empty()) body["message"] = error.message;
      r.content_type = std::string(kJson11);
      r.body = to_json(body);
      return r;
    }
    case Error::Body::kCoralEnvelope: {
      json::object output;
      output["__type"] = "com.amazon.coral.service#" + error.type;
      output["message"] = nullptr;
      json::object body;
      body["Output"] = std::move(output);
      body["Version"] = "1.0";
      r.content_type = "application/json";
      r.body = to_json(body);
      return r;
    }
    case Error::Body::kXml:
      r.content_type = "application/xml";
      r.body = "<" + error.type + "/>\n";
      return r;
  }
  return r;
}

std::string content_type(const ServiceModel& model) {
  return "application/x-amz-json-" + model.metadata().json_version;
}

Outcome<Routed> Dispatcher::route(const Request& request) const {
  // 1. Content-Type.
  std::string media;
  if (request.content_type) {
    media = to_lower(trim(request.content_type->substr(0, request.content_type->find(';'))));
  }
  if (media != content_type(model_)) {
    Error e = common_error(CommonError::kUnknownOperation, "");
    e.detail = "Content-Type '" + std::string(request.content_type.value_or("")) + "' is not " +
               content_type(model_);
    if (media == "application/json") {
      e.http_status = 200;
      e.body = Error::Body::kCoralEnvelope;
    } else {
      e.http_status = 404;
      e.body = Error::Body::kXml;
    }
    return e;
  }

  // 2. The body.
  Routed routed;
  if (request.body.empty()) {
    routed.body = json::object();
  } else {
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 64;
    routed.body = json::parse(request.body, ec, {}, options);
    if (ec || !(routed.body.is_object() || routed.body.is_array())) {
      Error e = common_error(CommonError::kSerialization, "");
      e.detail = ec ? "body is not JSON: " + ec.message() : "body is a JSON scalar";
      return e;
    }
  }

  // 3. X-Amz-Target.
  const std::string_view target = request.target.value_or("");
  const std::string& prefix = model_.metadata().target_prefix;
  const Operation* op = nullptr;
  if (target.size() > prefix.size() && target.starts_with(prefix) && target[prefix.size()] == '.') {
    op = model_.find_operation(target.substr(prefix.size() + 1));
  }
  if (!op) {
    Error e = common_error(CommonError::kUnknownOperation, "");
    if (!request.target) {
      e.detail = "no X-Amz-Target header";
    } else {
      e.detail = "X-Amz-Target " + quote(target) + " names no operation of " +
                 model_.metadata().service_id;
      std::vector<std::string> names;
      for (const Operation* o : model_.operations()) names.push_back(prefix + "." + o->name);
      const std::string suggestion = closest_match(target, names);
      if (!suggestion.empty()) e.detail += " (did you mean " + suggestion + "?)";
    }
    return e;
  }
  routed.operation = op;
  return routed;
}

Outcome<Call> Dispatcher::decode(Routed routed) const {
  STAGELINE_CHECK(routed.operation != nullptr);
  Outcome<DecodedInput> decoded = decode_input(routed.operation->input, std::move(routed.body));
  if (!decoded.ok()) return decoded.error();
  const std::vector<std::string> problems = validate_input(routed.operation->input, decoded->input);
  if (!problems.empty()) {
    return common_error(CommonError::kValidation, validation_message(problems));
  }
  Call call;
  call.operation = routed.operation;
  call.input = std::move(decoded->input);
  call.warnings = std::move(decoded->warnings);
  return call;
}

Outcome<Call> Dispatcher::dispatch(const Request& request) const {
  Outcome<Routed> routed = route(request);
  if (!routed.ok()) return routed.error();
  return decode(std::move(routed).value());
}

Result<Response> encode_output(const Operation& operation, const json::value& output,
                               OutputCheck check) {
#ifdef NDEBUG
  const bool checking = check == OutputCheck::kAlways;
#else
  const bool checking = check != OutputCheck::kNever;
#endif
  if (checking) {
    const std::vector<std::string> problems = check_output(operation.output, output);
    if (!problems.empty()) {
      return Status::internal("output of " + operation.name + " does not match " +
                              (operation.output ? operation.output->name : "an empty output") +
                              ": " + join(problems, "; "));
    }
  }
  Response r;
  r.http_status = 200;
  r.content_type = std::string(kJson11);
  r.body = operation.output ? to_json(output) : "{}";
  return r;
}

}  // namespace stageline::wire
