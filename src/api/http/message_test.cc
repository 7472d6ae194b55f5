#include "api/http/message.h"

#include <gtest/gtest.h>

namespace stageline::http {
namespace {

using detail::ResponseContext;

ResponseContext context() {
  return ResponseContext{.request_id = "rid-1",
                         .date = "Sun, 06 Nov 1994 08:49:37 GMT",
                         .server = "Stageline",
                         .head = false,
                         .keep_alive = true,
                         .http10 = false};
}

TEST(Request, FindsHeadersWhateverTheirCase) {
  Request r;
  r.headers = {{"X-Amz-Target", "CodePipeline_20150709.ListPipelines"}, {"Empty", ""}};
  EXPECT_EQ(r.header("x-amz-target"), "CodePipeline_20150709.ListPipelines");
  EXPECT_EQ(r.header("missing"), "");
  EXPECT_TRUE(r.has_header("EMPTY"));
  EXPECT_FALSE(r.has_header("missing"));
}

TEST(Request, SplitsTheTargetIntoPathAndQuery) {
  Request r;
  r.target = "/events?pipeline=p&x=1";
  EXPECT_EQ(r.path(), "/events");
  EXPECT_EQ(r.query(), "pipeline=p&x=1");
  r.target = "/";
  EXPECT_EQ(r.path(), "/");
  EXPECT_EQ(r.query(), "");
}

TEST(SerializeResponse, AddsRequestIdDateServerAndContentLength) {
  Response r;
  r.headers = {{"Content-Type", "application/x-amz-json-1.1"}};
  r.body = "{}";
  EXPECT_EQ(detail::serialize_response(r, context()),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/x-amz-json-1.1\r\n"
            "x-amzn-RequestId: rid-1\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: Stageline\r\n"
            "Content-Length: 2\r\n"
            "\r\n{}");
}

TEST(SerializeResponse, KeepsARequestIdTheHandlerSetAndReplacesItsContentLength) {
  Response r;
  r.headers = {{"X-Amzn-RequestId", "mine"}, {"Content-Length", "999"}, {"Connection", "x"}};
  r.body = "abc";
  std::string out = detail::serialize_response(r, context());
  EXPECT_NE(out.find("X-Amzn-RequestId: mine\r\n"), std::string::npos);
  EXPECT_EQ(out.find("rid-1"), std::string::npos);
  EXPECT_EQ(out.find("999"), std::string::npos);
  EXPECT_EQ(out.find("Connection: x"), std::string::npos);
  EXPECT_NE(out.find("Content-Length: 3\r\n"), std::string::npos);
}

TEST(SerializeResponse, DropsHeadersThatWouldSplitTheResponse) {
  Response r;
  r.headers = {{"X-Evil", "a\r\nSet-Cookie: b"}, {"Bad Name", "v"}, {"X-Good", "v"}};
  std::string out = detail::serialize_response(r, context());
  EXPECT_EQ(out.find("Set-Cookie"), std::string::npos);
  EXPECT_EQ(out.find("Bad Name"), std::string::npos);
  EXPECT_NE(out.find("X-Good: v\r\n"), std::string::npos);
}

TEST(SerializeResponse, SaysConnectionCloseWhenTheConnectionEnds) {
  ResponseContext c = context();
  c.keep_alive = false;
  EXPECT_NE(detail::serialize_response({}, c).find("Connection: close\r\n"), std::string::npos);
  c.keep_alive = true;
  c.http10 = true;
  EXPECT_NE(detail::serialize_response({}, c).find("Connection: keep-alive\r\n"),
            std::string::npos);
}

TEST(SerializeResponse, SendsNoBodyForHeadButItsLength) {
  ResponseContext c = context();
  c.head = true;
  Response r;
  r.body = "hello";
  std::string out = detail::serialize_response(r, c);
  EXPECT_NE(out.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

TEST(SerializeResponse, SendsNeitherBodyNorLengthWith204) {
  Response r;
  r.status = 204;
  r.body = "ignored";
  std::string out = detail::serialize_response(r, context());
  EXPECT_EQ(out.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u);
  EXPECT_EQ(out.find("Content-Length"), std::string::npos);
  EXPECT_EQ(out.find("ignored"), std::string::npos);
}

TEST(SerializeResponse, TurnsAnImpossibleStatusInto500) {
  Response r;
  r.status = 100;
  std::string out = detail::serialize_response(r, context());
  EXPECT_EQ(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u);
  EXPECT_NE(out.find("InternalFailure"), std::string::npos);
}

TEST(JsonError, HasTheAwsJsonErrorShapeWithEscapedMessage) {
  Response r = json_error(413, "RequestEntityTooLargeException", "too \"big\"\n");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, R"({"__type":"RequestEntityTooLargeException","message":"too \"big\"\n"})");
  EXPECT_EQ(r.headers.at(0).second, "application/x-amz-json-1.1");
}

TEST(FormatEvent, WritesIdEventAndOneDataLinePerLine) {
  EXPECT_EQ(detail::format_event("stage", "a\nb\r\nc\rd", "7"),
            "id: 7\nevent: stage\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(detail::format_event("", "{}", ""), "data: {}\n\n");
  EXPECT_EQ(detail::format_event("", "", ""), "data: \n\n");
}

TEST(FormatEvent, CannotBeSplitByNewlinesInTheEventNameOrId) {
  EXPECT_EQ(detail::format_event("x\ndata: evil", "d", "1\n2"),
            "id: 12\nevent: xdata: evil\ndata: d\n\n");
}

TEST(Chunk, FramesThePayloadWithItsHexSize) {
  EXPECT_EQ(detail::chunk(std::string(26, 'a')), "1a\r\n" + std::string(26, 'a') + "\r\n");
}

TEST(HttpDate, IsAnImfFixdate) {
  EXPECT_EQ(detail::http_date(std::chrono::system_clock::from_time_t(784111777)),
            "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(ParseListenAddress, AcceptsIpv4Ipv6AndLocalhost) {
  auto a = detail::parse_listen_address("127.0.0.1:7300");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7300);
  auto b = detail::parse_listen_address("[::1]:0");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  auto c = detail::parse_listen_address("localhost:80");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "127.0.0.1");
}

TEST(ParseListenAddress, RejectsWhatIsNotALiteralWithAPort) {
  for (const char* bad :
       {"", "7300", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "::1:80",
        "[::1]80", "[::1", "[nope]:80", "example.com:80", "1.2.3:80", "127.0.0.1:7x"}) {
    auto r = detail::parse_listen_address(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find("listen address"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace stageline::http
