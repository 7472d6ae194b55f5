// api/client/event_stream: reading server-sent events (a text/event-stream
// response, as Stageline's GET /events sends them; docs/api.md "Live events")
// from a blocking socket. See http_client.h for the module's purpose and
// dependencies. Three pieces, each usable alone:
//   SseParser       the event-stream format (WHATWG HTML, "Server-sent
//                   events", parsing an event stream), fed bytes in any split.
//   ChunkedDecoder  an incremental decoder of a chunked HTTP body.
//   EventStream     one open response: connects, sends a (signed) GET, then
//                   hands out events one at a time, and reports the end of the
//                   stream (closed, reset, or silent past a timeout) as an
//                   error so that the caller reconnects, sending
//                   last_event_id() as Last-Event-ID to resume where it was.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/client/http_client.h"
#include "api/client/socket.h"
#include "api/sigv4/sigv4.h"
#include "base/status.h"

namespace stageline::api::client {

// One dispatched event.
struct SseEvent {
  // The stream's last event id when the event was dispatched: its own id:
  // field, or (as the format says) the latest earlier one; "" if none yet.
  std::string id;
  std::string type = "message";  // its event: field, "message" without one
  std::string data;              // its data: lines joined with "\n"
};

// Parses a text/event-stream incrementally. Lines end with CRLF, LF or CR
// (a CR at the end of one feed and an LF at the start of the next are one
// line end). Fields: data (appended, one line each), event, id (ignored when
// it contains NUL), retry (digits only); a line starting with ':' is a
// comment (Stageline's heartbeats); an unknown field is ignored; a blank line
// dispatches the event, unless no data: line came, which resets the event
// instead. A leading byte-order mark is skipped. Not thread-safe.
class SseParser {
 public:
  // REQUIRES: max_event_bytes > 0.
  explicit SseParser(size_t max_event_bytes = 16u << 20) : max_event_bytes_(max_event_bytes) {}

  // Parses `bytes` and appends every event they complete to `out`, in order.
  // Errors (kIo "malformed event stream: ..."): a line or an event's data
  // longer than max_event_bytes (the parser is then unusable).
  Status feed(std::string_view bytes, std::vector<SseEvent>& out);

  // The last event id buffer ("" before any id: field).
  const std::string& last_event_id() const { return last_id_; }
  // The last valid retry: field, in milliseconds.
  std::optional<std::chrono::milliseconds> retry() const { return retry_; }
  // How many comment lines (heartbeats) were read.
  uint64_t comments() const { return comments_; }

 private:
  Status line(std::string_view text, std::vector<SseEvent>& out);

  size_t max_event_bytes_;
  std::string partial_;    // the current line, not yet ended
  bool after_cr_ = false;  // the previous byte was a CR ending a line
  bool at_start_ = true;   // no byte seen yet (for the BOM)
  std::string bom_;        // a BOM's first bytes, split over feeds
  std::string data_;       // each data: value followed by "\n"
  std::string type_;       // "" = "message"
  std::string last_id_;
  std::optional<std::chrono::milliseconds> retry_;
  uint64_t comments_ = 0;
};

// Decodes a chunked HTTP/1.1 body incrementally: hex size [;extensions]
// CRLF, data, CRLF, ..., a zero size, optional trailers, CRLF. Not
// thread-safe.
class ChunkedDecoder {
 public:
  // Decodes `bytes`, appending the payload to `out`. Bytes after the end of
  // the body are ignored. Errors (kIo "malformed HTTP response: ..."): a bad
  // chunk size, a chunk not followed by CRLF, a size line over 1 KiB.
  Status feed(std::string_view bytes, std::string& out);
  // True once the last (zero-size) chunk and its trailers were read.
  bool finished() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailers, kDone };
  State state_ = State::kSize;
  std::string line_;
  uint64_t left_ = 0;
};

struct EventStreamOptions {
  // Connecting, sending the request and reading the answer's head must each
  // finish within this.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  // With no byte from the server for this long, the stream counts as dropped
  // (Stageline's server sends a heartbeat comment every 15 s).
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(45);
};

// One open text/event-stream response. Move-only; one thread at a time.
class EventStream {
 public:
  // Connects to `endpoint`, sends `request` as it is (the caller signs it;
  // see ApiClient::open_event_stream) and reads the answer's head.
  // Errors: the transport (kIo, as send_http's messages: refused, timed out,
  // reset); an answer other than 200 with a text/event-stream body
  // (kFailedPrecondition "GET /events: HTTP 404: <type>: <message>", the
  // body read as an AWS JSON error when it is one).
  static Result<EventStream> open(const Endpoint& endpoint, const sigv4::HttpRequest& request,
                                  const EventStreamOptions& options = {});

  // The next event, waiting at most `wait` for one (0: only what has already
  // arrived). nullopt when none came in time; heartbeats are not events.
  // Errors (kIo, the message says which): the server ended the stream, the
  // connection was reset, nothing arrived for idle_timeout, or the stream is
  // malformed. Events that arrived before the end are handed out first. After
  // an error every call returns it again: reopen with last_event_id().
  Result<std::optional<SseEvent>> next(std::chrono::milliseconds wait);

  enum class End { kStopped, kTimedOut };
  // Calls `on_event` for each event until it returns false (kStopped) or
  // `timeout` passes (kTimedOut). Errors: as next().
  Result<End> for_each(const std::function<bool(const SseEvent&)>& on_event,
                       std::chrono::milliseconds timeout);

  // The id of the last event handed out, "" before any: the Last-Event-ID
  // that resumes after it.
  const std::string& last_event_id() const { return delivered_id_; }
  // True when an event has already arrived and next(0) returns it.
  bool has_buffered_event() const { return !pending_.empty(); }
  // The answer's head (status 200, its headers; body empty).
  const HttpResponse& head() const { return head_; }

 private:
  EventStream() = default;
  // Reads what the socket has, waiting until `deadline`. Returns false when
  // nothing came in time; sets ended_ when the stream ended.
  bool read_some(detail::Clock::time_point deadline);
  void end(Status why);

  detail::Fd fd_;
  std::string where_;
  EventStreamOptions options_;
  HttpResponse head_;
  bool chunked_ = false;
  ChunkedDecoder chunks_;
  SseParser parser_;
  std::deque<SseEvent> pending_;
  std::string delivered_id_;
  std::optional<Status> ended_;
  detail::Clock::time_point last_byte_{};
};

}  // namespace stageline::api::client
