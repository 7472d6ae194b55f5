// api/wire: the AWS JSON 1.1 wire layer. It turns an HTTP request (the
// X-Amz-Target and Content-Type headers and the body) into a validated call
// of an operation of a botocore service model, and an outcome (an output
// value or an Error) into the HTTP response AWS would send. It knows nothing
// of pipelines: any AWS JSON 1.x service described by a service-2.json
// works (CodePipeline, CodeConnections and CodeStar Connections are
// embedded; see embedded.h and models/README.md).
//
// Depends on base and Boost.JSON (and OpenSSL's HMAC for page tokens); never
// on Asio/Beast, the engine or the store. The server links it and owns the
// HTTP transport, authentication and the handlers.
//
// Pieces: model.h (ServiceModel), pattern.h (Java patterns), validate.h
// (decode, validate, check_output), errors.h (Error, Response, the status
// table), json_text.h (AWS number style), pagination.h (next tokens),
// embedded.h (the compiled-in models).
//
// Contract of Dispatcher::dispatch, in AWS's order of checks:
//   1. Content-Type (media type, case-insensitive, parameters ignored) must
//      be application/x-amz-json-<jsonVersion>, else the legacy answers
//      below (AWS checks authentication before this one; see route()).
//   2. The body must be JSON (an empty body means {}; max depth 64) and
//      not a scalar or null, else SerializationException with no message.
//   3. X-Amz-Target must be "<targetPrefix>.<Operation>" of the model
//      (exact, case-sensitive), else UnknownOperationException, 400, no
//      message; a missing header is the same.
//   4. JSON types against the input shape: SerializationException with
//      Coral's message ("Start of structure or map found where not
//      expected.", "class java.lang.String can not be converted to an
//      Integer", ...). Unknown members are dropped and reported as warnings.
//   5. Constraints: ValidationException "N validation error(s) detected:
//      ..." listing at most 10, in model order.
//   The result is a Call: the operation and its normalized input.
//
// Error mapping (errors.h; one switch in wire.cc):
//   __type                               HTTP  body
//   ValidationException                  400   {"__type","message"}
//   SerializationException               400   message only for type errors
//   UnknownOperationException            400   no message
//   modeled exceptions of the model      error.httpStatusCode, else 400
//                                              (500 for a fault)
//   InternalFailure                      500
//   ServiceUnavailable                   503
//   ThrottlingException                  400   (retried by every SDK)
//   AccessDeniedException                403
//   IncompleteSignature                  403
//   InvalidSignatureException            400
//   MissingAuthenticationTokenException  403
//   UnrecognizedClientException          403
//   ExpiredTokenException                403
//   NotAuthorized                        401
//   RequestEntityTooLargeException       413
//   MalformedHttpRequestException        400
//   wrong Content-Type application/json  200   {"Output":{"__type":
//                                              "com.amazon.coral.service#
//                                              UnknownOperationException",
//                                              "message":null},"Version":"1.0"}
//   any other or no Content-Type         404   <UnknownOperationException/>
// Every JSON error body is {"__type":"<Type>","message":"<text>"} with
// Content-Type application/x-amz-json-1.1. The member is "message": botocore
// reads "message" then "Message" (parsers.py), the JS SDK v3 reads either
// (reference §1.4); AWS itself is inconsistent (dynalite records "Message"
// for SerializationException and "message" for ValidationException).
//
// AWS behaviours, verified (with the source) or assumed:
//   verified  Patterns match the whole value (cfn-lint#2149: 'x y' refused
//             by [A-Za-z0-9.@\-_]+, reference §1.4).
//   verified  Message format "Value '<v>' at '<path>' failed to satisfy
//             constraint: <c>", joined with "; " after "N validation errors
//             detected: " (reference §1.4; terraform-provider-aws#41023 shows
//             8 errors in walk order). Paths: members joined by '.', list
//             elements ".<1-based index>.member", map entries
//             ".<key>.member" (dynalite's tests run against DynamoDB:
//             "requestItems.aa;.member.1.member.deleteRequest.key").
//   verified  "Value null at '<path>' ... Member must not be null" for a
//             missing required member (dynalite; DynamoDB).
//   verified  A list of scalars is judged once: "Value '[GET, POST]' at
//             'cors.allowMethods' failed to satisfy constraint: Member must
//             satisfy constraint: [Member must have length less than or
//             equal to 6, Member must have length greater than or equal to
//             0, Member must satisfy regular expression pattern: .*]" (a
//             Lambda error quoted in a public repository; ACM alike). Maps
//             alike: "Map keys must satisfy constraint: [...]" (EventBridge,
//             value rendered '{k=v, k2=v2}') and "Map value must satisfy
//             constraint: [...]" (CodePipeline itself, aws-cdk#19767,
//             terraform-provider-aws#41023), keys before values.
//   verified  CodePipeline echoes no value for its configuration maps
//             ("Value at 'pipeline.stages.1.member.actions.1.member.
//             configuration'"), as Lambda does for its sensitive environment
//             variables: sensitive shapes print "Value at", and
//             codepipeline_model() marks ActionConfigurationMap sensitive.
//   verified  At most 10 problems are listed (dynalite stops collecting at
//             10; its suite runs against DynamoDB).
//   verified  Member path segments start lower-case even when the wire name
//             does not (DynamoDB's TableName is reported as 'tableName').
//   verified  Deserialization messages and the Java class names by number
//             size (Short/Integer/Long/Double), "Expected list or null",
//             "Expected map or null", "Expected null", the Blob messages, a
//             fraction floored for integers, "true"/"false" strings read as
//             booleans (dynalite and kinesalite suites, run against AWS).
//   verified  Unknown target, missing target, unparseable body and the
//             content-type answers (kinesalite, JSON 1.1; aws-sdk-net#1536
//             shows a real 400 {"__type":"UnknownOperationException"}).
//   verified  Unknown members are ignored (Coral drops them; dynalite and
//             kinesalite do the same; botocore refuses them client-side, so
//             only other clients send them). We report them as warnings.
//   assumed   The order of several problems: members in model order, and for
//             one string value length, then pattern, then enum.
//   assumed   The messages for an integer out of range ("class
//             java.lang.Long can not be converted to an Integer"), a string
//             for a timestamp, a null list element; lengths count code
//             points (the Smithy definition), not UTF-16 units.
//   differs   An empty body is read as {} (the lead's contract); Kinesis and
//             DynamoDB answer SerializationException. botocore always sends
//             at least {}.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire/errors.h"
#include "api/wire/model.h"
#include "base/status.h"

namespace stageline::wire {

// What the wire layer needs of an HTTP request. Absent headers are nullopt.
struct Request {
  std::optional<std::string_view> target;        // X-Amz-Target
  std::optional<std::string_view> content_type;  // Content-Type
  std::string_view body;
};

// A request whose operation is known and whose body is JSON, not yet
// checked against the input shape.
struct Routed {
  const Operation* operation = nullptr;
  boost::json::value body;
};

// A validated call: hand `input` to the operation's handler.
struct Call {
  const Operation* operation = nullptr;
  boost::json::object input;          // members typed and normalized
  std::vector<std::string> warnings;  // unknown members ignored; log them
};

enum class OutputCheck {
  kDebugOnly,  // check in builds without NDEBUG (tests, debug servers)
  kAlways,
  kNever,
};

// Routes and validates requests for one service model. Holds a reference to
// the model, which must outlive it. Immutable; thread-safe.
class Dispatcher {
 public:
  explicit Dispatcher(const ServiceModel& model) : model_(model) {}

  // Steps 1-3 of the contract: what AWS checks before authentication, so a
  // server can answer these errors first, as AWS does.
  Outcome<Routed> route(const Request& request) const;
  // Steps 4-5.
  Outcome<Call> decode(Routed routed) const;
  // route() then decode().
  Outcome<Call> dispatch(const Request& request) const;

  const ServiceModel& model() const { return model_; }

 private:
  const ServiceModel& model_;
};

// The 200 response for `output` of `operation`: content-type
// application/x-amz-json-1.1, body "{}" when the operation has no output.
// With checking on, a value that departs from the output shape (see
// check_output in validate.h) is a kInternal Status listing every problem:
// a bug in a handler, to log and answer with InternalFailure.
Result<Response> encode_output(const Operation& operation, const boost::json::value& output,
                               OutputCheck check = OutputCheck::kDebugOnly);

// The expected Content-Type of `model`: application/x-amz-json-1.1.
std::string content_type(const ServiceModel& model);

}  // namespace stageline::wire
