#include "api/wire/wire.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/wire/embedded.h"

namespace stageline::wire {
namespace {

namespace json = boost::json;

Request request(std::optional<std::string_view> target, std::string_view body,
                std::optional<std::string_view> type = "application/x-amz-json-1.1") {
  Request r;
  r.target = target;
  r.content_type = type;
  r.body = body;
  return r;
}

Response answer(const Request& r) {
  const Dispatcher dispatcher(codepipeline_model());
  Outcome<Call> out = dispatcher.dispatch(r);
  EXPECT_FALSE(out.ok());
  if (out.ok()) return {};
  return encode_error(out.error());
}

TEST(Dispatcher, EveryCodePipelineOperationRoutesToItself) {
  const Dispatcher dispatcher(codepipeline_model());
  size_t n = 0;
  for (const Operation* op : codepipeline_model().operations()) {
    const std::string target = "CodePipeline_20150709." + op->name;
    Outcome<Routed> routed = dispatcher.route(request(target, "{}"));
    ASSERT_TRUE(routed.ok()) << op->name << ": " << routed.error().detail;
    EXPECT_EQ(routed->operation, op);
    // Decoding {} either succeeds or names the missing required members.
    Outcome<Call> call = dispatcher.decode(std::move(routed).value());
    if (!call.ok()) {
      EXPECT_EQ(call.error().type, "ValidationException") << op->name;
      EXPECT_NE(call.error().message.find("Member must not be null"), std::string::npos);
    }
    ++n;
  }
  EXPECT_EQ(n, 44u);
}

TEST(Dispatcher, AnEmptyBodyIsAnEmptyObject) {
  const Dispatcher dispatcher(codepipeline_model());
  Outcome<Call> call = dispatcher.dispatch(request("CodePipeline_20150709.ListPipelines", ""));
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->operation->name, "ListPipelines");
  EXPECT_TRUE(call->input.empty());
}

TEST(Dispatcher, UnknownOperationsAnswerAsAwsDoes) {
  for (std::optional<std::string_view> target :
       {std::optional<std::string_view>("CodePipeline_20150709.ListPipeline"),
        std::optional<std::string_view>("CodePipeline_20150709.listPipelines"),
        std::optional<std::string_view>("CodeBuild_20161006.ListPipelines"),
        std::optional<std::string_view>("CodePipeline_20150709"),
        std::optional<std::string_view>("CodePipeline_20150709."),
        std::optional<std::string_view>(""), std::optional<std::string_view>()}) {
    const Response r = answer(request(target, "{}"));
    EXPECT_EQ(r.http_status, 400) << target.value_or("(none)");
    EXPECT_EQ(r.content_type, "application/x-amz-json-1.1");
    EXPECT_EQ(r.body, R"({"__type":"UnknownOperationException"})");
  }
  const Dispatcher dispatcher(codepipeline_model());
  Outcome<Routed> routed = dispatcher.route(request("CodePipeline_20150709.ListPipelinez", "{}"));
  EXPECT_NE(routed.error().detail.find("did you mean CodePipeline_20150709.ListPipelines"),
            std::string::npos)
      << routed.error().detail;
}

TEST(Dispatcher, AnUnparseableBodyIsASerializationErrorBeforeTheTargetIsChecked) {
  for (std::string_view body :
       {"{", "{\"name\":}", "nul", "null", "\"x\"", "42", "{} {}", "{\"a\":1,}", "\xFF"}) {
    const Response r = answer(request("CodePipeline_20150709.Nope", body));
    EXPECT_EQ(r.http_status, 400) << body;
    EXPECT_EQ(r.body, R"({"__type":"SerializationException"})") << body;
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "[";
  EXPECT_EQ(answer(request("CodePipeline_20150709.ListPipelines", deep)).body,
            R"({"__type":"SerializationException"})");
}

TEST(Dispatcher, ContentTypeParametersAndCaseDoNotMatter) {
  const Dispatcher dispatcher(codepipeline_model());
  for (std::string_view type :
       {"application/x-amz-json-1.1", "application/x-amz-json-1.1; charset=utf-8",
        "Application/X-Amz-Json-1.1"}) {
    EXPECT_TRUE(
        dispatcher.dispatch(request("CodePipeline_20150709.ListPipelines", "{}", type)).ok())
        << type;
  }
}

TEST(Dispatcher, AWrongContentTypeGetsAwsLegacyAnswers) {
  Response r = answer(request("CodePipeline_20150709.ListPipelines", "{}", "application/json"));
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"Output":{"__type":"com.amazon.coral.service#UnknownOperationException",)"
                    R"("message":null},"Version":"1.0"})");
  for (std::optional<std::string_view> type :
       {std::optional<std::string_view>("text/plain"),
        std::optional<std::string_view>("application/x-amz-json-1.0"),
        std::optional<std::string_view>()}) {
    r = answer(request("CodePipeline_20150709.ListPipelines", "{}", type));
    EXPECT_EQ(r.http_status, 404);
    EXPECT_EQ(r.body, "<UnknownOperationException/>\n");
  }
}

TEST(Errors, EncodeAsTypeAndMessage) {
  const Response r =
      encode_error(modeled_error(codepipeline_model(), "PipelineNotFoundException",
                                 "Account '123456789012' does not have a pipeline with name 'x'"));
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.content_type, "application/x-amz-json-1.1");
  EXPECT_EQ(r.body,
            R"({"__type":"PipelineNotFoundException","message":"Account '123456789012' does not )"
            R"(have a pipeline with name 'x'"})");
  const json::value body =
      json::parse(encode_error(common_error(CommonError::kValidation, "a \"quoted\"\nline")).body);
  EXPECT_EQ(body.at("message").as_string(), "a \"quoted\"\nline");
}

TEST(Errors, CommonErrorsCarryTheirHttpStatus) {
  const std::pair<CommonError, int> table[] = {
      {CommonError::kInternalFailure, 500},
      {CommonError::kServiceUnavailable, 503},
      {CommonError::kThrottling, 400},
      {CommonError::kAccessDenied, 403},
      {CommonError::kIncompleteSignature, 403},
      {CommonError::kInvalidSignature, 400},
      {CommonError::kMissingAuthenticationToken, 403},
      {CommonError::kUnrecognizedClient, 403},
      {CommonError::kExpiredToken, 403},
      {CommonError::kNotAuthorized, 401},
      {CommonError::kRequestEntityTooLarge, 413},
      {CommonError::kMalformedHttpRequest, 400},
  };
  for (const auto& [kind, status] : table) {
    EXPECT_EQ(common_error(kind, "m").http_status, status);
  }
  EXPECT_EQ(common_error(CommonError::kInternalFailure, "").type, "InternalFailure");
  EXPECT_EQ(common_error(CommonError::kThrottling, "").type, "ThrottlingException");
}

TEST(Errors, ModeledErrorsUseTheModelsHttpStatus) {
  Result<ServiceModel> model = ServiceModel::parse(R"({
    "metadata": {"protocol": "json", "targetPrefix": "T", "jsonVersion": "1.1"},
    "operations": {},
    "shapes": {
      "Gone": {"type": "structure", "members": {}, "exception": true,
               "error": {"httpStatusCode": 410}},
      "Broken": {"type": "structure", "members": {}, "exception": true, "fault": true},
      "Coded": {"type": "structure", "members": {}, "exception": true,
                "error": {"code": "Legacy.Code", "httpStatusCode": 409}}
    }})");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(modeled_error(*model, "Gone", "").http_status, 410);
  EXPECT_EQ(modeled_error(*model, "Broken", "").http_status, 500);
  EXPECT_EQ(modeled_error(*model, "Coded", "").type, "Legacy.Code");
  EXPECT_EQ(modeled_error(*model, "Coded", "").http_status, 409);
}

}  // namespace
}  // namespace stageline::wire
