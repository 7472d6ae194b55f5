#include "api/client/event_stream.h"

#include <string>
#include <vector>

#include "api/client/api_client.h"
#include "api/client/test_server.h"
#include "api/sigv4/sigv4.h"
#include "gtest/gtest.h"

namespace stageline::api::client {
namespace {

using testing::ScriptedServer;
using namespace std::chrono_literals;

// Everything in one string, events compared as "id|type|data".
std::vector<std::string> describe(const std::vector<SseEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.id + "|" + e.type + "|" + e.data);
  return out;
}

std::vector<std::string> parse_in_pieces(std::string_view text, const std::vector<size_t>& cuts) {
  SseParser parser;
  std::vector<SseEvent> events;
  size_t from = 0;
  for (size_t cut : cuts) {
    EXPECT_TRUE(parser.feed(text.substr(from, cut - from), events).ok());
    from = cut;
  }
  EXPECT_TRUE(parser.feed(text.substr(from), events).ok());
  return describe(events);
}

// A stream with every feature: a BOM, comments (heartbeats), CRLF, CR and LF
// line ends, multi-line data, an id that carries over, an event without data,
// a field without a colon, a value without the optional space, an unknown
// field, retry.
constexpr std::string_view kStream =
    "\xEF\xBB\xBF: heartbeat\n\n"
    "id: 7\r\nevent: CodePipeline Stage Execution State Change\r\ndata: {\"a\":1}\r\n\r\n"
    "data: first line\rdata:second line\r\rid: 9\nevent: x\n\n"
    "data\nunknown: y\nretry: 1500\n\n"
    "id: 10\nevent: ping\n\n"
    "data: last\n\n"
    "data: never finished\n";

std::vector<std::string> expected_events() {
  return {
      "7|CodePipeline Stage Execution State Change|{\"a\":1}",
      "7|message|first line\nsecond line",
      "9|message|",
      "10|message|last",
  };
}

TEST(SseParser, ReadsEveryFieldAndLineEndingOfTheFormat) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.feed(kStream, events).ok());
  EXPECT_EQ(describe(events), expected_events());
  EXPECT_EQ(parser.comments(), 1u);
  EXPECT_EQ(parser.last_event_id(), "10");
  ASSERT_TRUE(parser.retry().has_value());
  EXPECT_EQ(parser.retry()->count(), 1500);
}

TEST(SseParser, GivesTheSameEventsHoweverTheBytesAreSplit) {
  // Every single cut, then one byte at a time: a CR at the end of one piece
  // and its LF at the start of the next are one line end, and a BOM may be
  // split too.
  for (size_t cut = 0; cut <= kStream.size(); ++cut)
    EXPECT_EQ(parse_in_pieces(kStream, {cut}), expected_events()) << "cut at " << cut;
  std::vector<size_t> every;
  for (size_t i = 1; i < kStream.size(); ++i) every.push_back(i);
  EXPECT_EQ(parse_in_pieces(kStream, every), expected_events());
}

TEST(SseParser, KeepsABomLookalikeThatIsNotOne) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.feed("\xEF", events).ok());
  ASSERT_TRUE(parser.feed("data: x\n\n", events).ok());
  // "\xEF" began the first line, so the field is "\xEFdata" (unknown): no event.
  EXPECT_TRUE(events.empty());
  ASSERT_TRUE(parser.feed("data: y\n\n", events).ok());
  EXPECT_EQ(describe(events), std::vector<std::string>{"|message|y"});
}

TEST(SseParser, IgnoresAnIdWithANulAndARetryThatIsNotDigits) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(
      parser.feed(std::string("id: 3\n\nid: 4\0x\nretry: 1s\ndata: d\n\n", 34), events).ok());
  EXPECT_EQ(describe(events), std::vector<std::string>{"3|message|d"});
  EXPECT_FALSE(parser.retry().has_value());
}

TEST(SseParser, RefusesALineLongerThanItsLimit) {
  SseParser parser(16);
  std::vector<SseEvent> events;
  EXPECT_TRUE(parser.feed("data: 0123456", events).ok());
  Status s = parser.feed("789abcdef", events);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("longer than 16 bytes"), std::string::npos) << s.message();
}

constexpr std::string_view kChunked =
    "7\r\nid: 1\nd\r\n"
    "1A;ext=1\r\nata: {\"state\":\"STARTED\"}\n\n\r\n"
    "0\r\nTrailer: x\r\n\r\n"
    "ignored";

TEST(ChunkedDecoder, DecodesAChunkedBodyFedOneByteAtATime) {
  ChunkedDecoder whole;
  std::string a;
  ASSERT_TRUE(whole.feed(kChunked, a).ok());
  EXPECT_TRUE(whole.finished());
  EXPECT_EQ(a, "id: 1\ndata: {\"state\":\"STARTED\"}\n\n");
  ChunkedDecoder bytes;
  std::string b;
  for (char c : kChunked) ASSERT_TRUE(bytes.feed(std::string_view(&c, 1), b).ok());
  EXPECT_EQ(b, a);
  EXPECT_TRUE(bytes.finished());
}

TEST(ChunkedDecoder, RejectsABadSizeAndAChunkWithoutItsCrlf) {
  ChunkedDecoder bad_size;
  std::string out;
  EXPECT_FALSE(bad_size.feed("zz\r\n", out).ok());
  ChunkedDecoder no_crlf;
  Status s = no_crlf.feed("2\r\nabX\r\n", out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not followed by CRLF"), std::string::npos) << s.message();
}

// --- EventStream against a real socket -----------------------------------------

std::string chunk(std::string_view payload) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx", payload.size());
  return std::string(size) + "\r\n" + std::string(payload) + "\r\n";
}

constexpr std::string_view kStreamHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

sigv4::Key test_key() {
  return sigv4::Key{.access_key_id = "AKIAIOSFODNN7EXAMPLE",
                    .secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    .principal = "arn:aws:iam::111122223333:user/admin",
                    .enabled = true};
}

ApiClient client_for(const std::string& url) {
  auto c = ApiClient::create(
      ServerLocation{.endpoint_url = url, .region = "us-east-1", .key = test_key()},
      ClientOptions{.timeout = 10s,
                    .service = "codepipeline",
                    .clock = [] { return std::chrono::system_clock::now(); },
                    .retry = RetryOptions{}});
  EXPECT_TRUE(c.ok()) << c.status().message();
  return std::move(*c);
}

TEST(EventStream, HandsOutEachEventThenReportsTheEndWithTheIdToResumeFrom) {
  ScriptedServer server({ScriptedServer::reply(
      std::string(kStreamHead) + chunk(": heartbeat\n\n") +
      chunk("id: 41\nevent: A\ndata: {\"n\":1}\n\nid: 42\nev") +
      chunk("ent: B\ndata: {\"n\":2}\n\n") + chunk("id: 43\ndata: cut") + "0\r\n\r\n")});
  ApiClient client = client_for(server.url());
  auto stream = client.open_event_stream("/events?pipeline=app", "");
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  EXPECT_EQ(stream->head().status, 200);
  std::vector<SseEvent> got;
  for (;;) {
    auto e = stream->next(5s);
    if (!e.ok()) {
      EXPECT_NE(e.status().message().find("the server ended the event stream"), std::string::npos)
          << e.status().message();
      break;
    }
    ASSERT_TRUE(e->has_value()) << "no event within 5 s";
    got.push_back(**e);
  }
  EXPECT_EQ(describe(got), (std::vector<std::string>{"41|A|{\"n\":1}", "42|B|{\"n\":2}"}));
  // The half-sent event 43 was never handed out: resume after 42.
  EXPECT_EQ(stream->last_event_id(), "42");
  EXPECT_FALSE(stream->next(0ms).ok());  // still ended
}

TEST(EventStream, SendsASignedGetWithLastEventIdThatTheServerVerifierAccepts) {
  ScriptedServer server({ScriptedServer::reply(std::string(kStreamHead) + "0\r\n\r\n")});
  ApiClient client = client_for(server.url());
  auto stream = client.open_event_stream("/events?pipeline=app&after=3", "12");
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  ASSERT_EQ(server.requests().size(), 1u);
  const std::string raw = server.requests()[0];
  EXPECT_EQ(raw.substr(0, raw.find("\r\n")), "GET /events?pipeline=app&after=3 HTTP/1.1");
  auto parsed = parse_http_response("HTTP/1.1 200 OK" + raw.substr(raw.find("\r\n")), true);
  ASSERT_TRUE(parsed.ok() && parsed->has_value());
  EXPECT_EQ((*parsed)->header("Last-Event-ID").value_or(""), "12");
  sigv4::HttpRequest request{.method = "GET",
                             .target = "/events?pipeline=app&after=3",
                             .headers = (*parsed)->headers,
                             .body = ""};
  sigv4::InMemoryKeySource keys;
  keys.put(test_key());
  sigv4::Verifier verifier(sigv4::VerifierOptions{}, keys);
  auto auth = verifier.verify(request.view());
  EXPECT_TRUE(auth.ok()) << auth.status().message();
}

TEST(EventStream, ReportsAnAnswerOtherThanAStreamAsUnsupported) {
  const std::string body = R"({"__type":"UnknownOperationException","message":"no such route"})";
  ScriptedServer server({ScriptedServer::reply(
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body)});
  ApiClient client = client_for(server.url());
  auto stream = client.open_event_stream("/events", "");
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(
      stream.status().message().find("GET /events on 127.0.0.1:" + std::to_string(server.port()) +
                                     ": HTTP 404: UnknownOperationException: no such route"),
      std::string::npos)
      << stream.status().message();
}

TEST(EventStream, CountsASilentStreamAsDroppedAfterTheIdleTimeout) {
  ScriptedServer server(
      {ScriptedServer::reply_and_hold(std::string(kStreamHead) + chunk("id: 5\ndata: x\n\n"))});
  ApiClient client = client_for(server.url());
  auto stream = client.open_event_stream(
      "/events", "", EventStreamOptions{.connect_timeout = 5s, .idle_timeout = 150ms});
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  auto first = stream->next(5s);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->id, "5");
  // Nothing within 10 ms is not an error; nothing within the idle timeout is.
  auto none = stream->next(10ms);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->has_value());
  auto dropped = stream->next(5s);
  ASSERT_FALSE(dropped.ok());
  EXPECT_NE(dropped.status().message().find("nothing arrived for 150 ms"), std::string::npos)
      << dropped.status().message();
  EXPECT_EQ(stream->last_event_id(), "5");
}

TEST(EventStream, ForEachStopsWhenTheCallbackSaysSoAndTimesOutOtherwise) {
  ScriptedServer server({ScriptedServer::reply_and_hold(
      std::string(kStreamHead) + chunk("id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n"))});
  ApiClient client = client_for(server.url());
  auto stream = client.open_event_stream("/events", "");
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  std::vector<std::string> seen;
  auto end = stream->for_each(
      [&](const SseEvent& e) {
        seen.push_back(e.data);
        return e.id != "2";
      },
      5s);
  ASSERT_TRUE(end.ok()) << end.status().message();
  EXPECT_EQ(*end, EventStream::End::kStopped);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(stream->has_buffered_event());
  auto rest = stream->for_each(
      [&](const SseEvent& e) {
        seen.push_back(e.data);
        return true;
      },
      50ms);
  ASSERT_TRUE(rest.ok()) << rest.status().message();
  EXPECT_EQ(*rest, EventStream::End::kTimedOut);
  EXPECT_EQ(seen.back(), "c");
  EXPECT_EQ(stream->last_event_id(), "3");
}

}  // namespace
}  // namespace stageline::api::client
