#include "api/client/event_stream.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "api/client/api_client.h"
#include "base/strings.h"

namespace stageline::api::client {
namespace {

using detail::Clock;

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr size_t kMaxHeadBytes = 64 * 1024;
constexpr size_t kMaxChunkLine = 1024;

Status malformed_stream(const std::string& why) {
  return Status::io("malformed event stream: " + why);
}

}  // namespace

// ---- SseParser ----------------------------------------------------------------

Status SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  // The byte-order mark may itself arrive split over feeds.
  while (at_start_ && !bytes.empty()) {
    if (bytes.front() != kBom[bom_.size()]) {
      at_start_ = false;
      // Bytes held as a possible BOM were ordinary text after all.
      std::string held = std::move(bom_);
      bom_.clear();
      if (!held.empty())
        if (Status s = feed(held, out); !s.ok()) return s;
      break;
    }
    bom_ += bytes.front();
    bytes.remove_prefix(1);
    if (bom_.size() == kBom.size()) {
      at_start_ = false;
      bom_.clear();
    }
  }
  if (at_start_) return {};

  while (!bytes.empty()) {
    if (after_cr_ && bytes.front() == '\n') bytes.remove_prefix(1);
    after_cr_ = false;
    size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      if (partial_.size() + bytes.size() > max_event_bytes_)
        return malformed_stream("a line longer than " + std::to_string(max_event_bytes_) +
                                " bytes");
      partial_.append(bytes);
      return {};
    }
    after_cr_ = bytes[end] == '\r';
    Status s;
    if (partial_.empty()) {
      s = line(bytes.substr(0, end), out);
    } else {
      if (partial_.size() + end > max_event_bytes_)
        return malformed_stream("a line longer than " + std::to_string(max_event_bytes_) +
                                " bytes");
      partial_.append(bytes.substr(0, end));
      std::string whole = std::move(partial_);
      partial_.clear();
      s = line(whole, out);
    }
    if (!s.ok()) return s;
    bytes.remove_prefix(end + 1);
  }
  return {};
}

Status SseParser::line(std::string_view text, std::vector<SseEvent>& out) {
  if (text.empty()) {
    // Dispatch: an event without data resets instead.
    if (!data_.empty()) {
      data_.pop_back();  // the "\n" after the last data line
      out.push_back(SseEvent{.id = last_id_,
                             .type = type_.empty() ? std::string("message") : std::move(type_),
                             .data = std::move(data_)});
    }
    data_.clear();
    type_.clear();
    return {};
  }
  if (text.front() == ':') {
    ++comments_;
    return {};
  }
  std::string_view field = text;
  std::string_view value;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    field = text.substr(0, colon);
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_event_bytes_)
      return malformed_stream("an event's data is longer than " + std::to_string(max_event_bytes_) +
                              " bytes");
    data_.append(value);
    data_ += '\n';
  } else if (field == "event") {
    type_ = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
  } else if (field == "retry") {
    uint64_t ms = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (!value.empty() && ec == std::errc() && end == value.data() + value.size() &&
        value.find_first_not_of("0123456789") == std::string_view::npos)
      retry_ = std::chrono::milliseconds(ms);
  }
  return {};
}

// ---- ChunkedDecoder -------------------------------------------------------------

Status ChunkedDecoder::feed(std::string_view bytes, std::string& out) {
  auto bad = [](const std::string& why) { return Status::io("malformed HTTP response: " + why); };
  while (!bytes.empty() && state_ != State::kDone) {
    switch (state_) {
      case State::kSize:
      case State::kTrailers:
      case State::kDataEnd: {
        size_t lf = bytes.find('\n');
        std::string_view piece = bytes.substr(0, lf);
        if (line_.size() + piece.size() > kMaxChunkLine) return bad("a chunk-size line over 1 KiB");
        line_.append(piece);
        if (lf == std::string_view::npos) return {};
        bytes.remove_prefix(lf + 1);
        std::string_view l = line_;
        if (l.empty() || l.back() != '\r') return bad("a chunk line not ended by CRLF");
        l.remove_suffix(1);
        if (state_ == State::kDataEnd) {
          if (!l.empty()) return bad("a chunk is not followed by CRLF");
          state_ = State::kSize;
        } else if (state_ == State::kTrailers) {
          if (l.empty()) state_ = State::kDone;  // the blank line after any trailers
        } else {
          std::string_view size_text = l.substr(0, l.find(';'));
          while (!size_text.empty() && (size_text.back() == ' ' || size_text.back() == '\t'))
            size_text.remove_suffix(1);
          uint64_t size = 0;
          auto [end, ec] =
              std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
          if (size_text.empty() || ec != std::errc() || end != size_text.data() + size_text.size())
            return bad("bad chunk size " + quote(size_text));
          left_ = size;
          state_ = size == 0 ? State::kTrailers : State::kData;
        }
        line_.clear();
        break;
      }
      case State::kData: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(left_, bytes.size()));
        out.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        left_ -= take;
        if (left_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDone:
        break;
    }
  }
  return {};
}

// ---- EventStream ------------------------------------------------------------------

Result<EventStream> EventStream::open(const Endpoint& endpoint, const sigv4::HttpRequest& request,
                                      const EventStreamOptions& options) {
  EventStream s;
  s.where_ = endpoint.display();
  s.options_ = options;
  const std::string what =
      request.method + " " + request.target.substr(0, request.target.find('?'));
  detail::Connected connected = detail::connect_endpoint(endpoint, options.connect_timeout);
  if (!connected.failure.ok()) return connected.failure.status;
  s.fd_ = std::move(connected.fd);
  const int fd = s.fd_.get();
  const Clock::time_point deadline = Clock::now() + options.connect_timeout;
  if (detail::Failure f = detail::send_all(fd, detail::serialize_request(request, /*close=*/false),
                                           deadline, s.where_, options.connect_timeout);
      !f.ok())
    return f.status;

  // The head; whatever follows it in the buffer is the start of the body.
  std::string buffer;
  char chunk[16384];
  size_t head_end = std::string::npos;
  bool eof = false;
  auto timed_out = [&] {
    return Status::io(what + " on " + s.where_ + ": no answer within " +
                      std::to_string(options.connect_timeout.count()) + " ms");
  };
  while (head_end == std::string::npos && !eof) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int ready = detail::wait_for(fd, POLLIN, deadline);
      if (ready == 0) return timed_out();
      if (ready < 0) return Status::io("read from " + s.where_ + ": " + std::strerror(errno));
      continue;
    }
    if (n < 0) return Status::io("read from " + s.where_ + ": " + std::strerror(errno));
    if (n == 0) {
      eof = true;
      break;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    head_end = buffer.find("\r\n\r\n");
    if (head_end == std::string::npos && buffer.size() > kMaxHeadBytes)
      return Status::io("malformed HTTP response from " + s.where_ + ": headers over 64 KiB");
  }
  if (head_end == std::string::npos)
    return Status::io(what + " on " + s.where_ + ": the server closed the connection " +
                      (buffer.empty() ? "without answering" : "inside the headers"));
  auto head = parse_http_head(std::string_view(buffer).substr(0, head_end));
  if (!head.ok()) return head.status().with_context(what + " on " + s.where_);
  s.head_ = std::move(*head);
  const std::string content_type = to_lower(s.head_.header("Content-Type").value_or(""));
  if (s.head_.status != 200 || content_type.rfind("text/event-stream", 0) != 0) {
    // Read the (short) error answer to say what it was.
    std::string answer = buffer;
    for (;;) {
      auto parsed = parse_http_response(answer, eof, 1 << 20);
      if (!parsed.ok() || parsed->has_value()) {
        std::string detail = "HTTP " + std::to_string(s.head_.status);
        if (parsed.ok()) {
          ServiceError e = parse_service_error(s.head_.status, (*parsed)->body);
          if (s.head_.status == 200)
            detail += " with Content-Type " + quote(content_type) + ", not text/event-stream";
          else if (e.type != std::to_string(s.head_.status) || !e.message.empty())
            detail += ": " + e.type + (e.message.empty() ? "" : ": " + e.message);
        }
        return Status(StatusCode::kFailedPrecondition, what + " on " + s.where_ + ": " + detail);
      }
      ssize_t n = 0;
      if (detail::wait_for(fd, POLLIN, deadline) <= 0) {
        eof = true;
        continue;
      }
      n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        eof = true;
      } else {
        answer.append(chunk, static_cast<size_t>(n));
      }
    }
  }
  auto te = s.head_.header("Transfer-Encoding");
  s.chunked_ = te && iequals(*te, "chunked");
  s.last_byte_ = Clock::now();
  std::string_view rest = std::string_view(buffer).substr(head_end + 4);
  if (!rest.empty()) {
    std::string payload;
    Status st =
        s.chunked_ ? s.chunks_.feed(rest, payload) : (payload = std::string(rest), Status());
    if (st.ok()) {
      std::vector<SseEvent> events;
      st = s.parser_.feed(payload, events);
      for (auto& e : events) s.pending_.push_back(std::move(e));
    }
    if (!st.ok()) s.end(st);
    if (s.chunked_ && s.chunks_.finished()) s.end(Status::io("the server ended the event stream"));
  }
  if (eof) s.end(Status::io("the server ended the event stream"));
  return s;
}

void EventStream::end(Status why) {
  if (!ended_) ended_ = why.with_context("events from " + where_);
  fd_.reset();
}

bool EventStream::read_some(Clock::time_point deadline) {
  char chunk[16384];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const Clock::time_point idle_deadline = last_byte_ + options_.idle_timeout;
      const int ready = detail::wait_for(fd_.get(), POLLIN, std::min(deadline, idle_deadline));
      if (ready < 0) {
        end(Status::io(std::strerror(errno)));
        return true;
      }
      if (ready == 0) {
        // wait_for rounds down to whole milliseconds: check which deadline
        // really passed, and wait again for the rest if neither did.
        const Clock::time_point now = Clock::now();
        if (now >= idle_deadline) {
          end(Status::io("nothing arrived for " + std::to_string(options_.idle_timeout.count()) +
                         " ms, not even a heartbeat"));
          return true;
        }
        if (now >= deadline) return false;
      }
      continue;
    }
    if (n < 0) {
      end(Status::io(errno == ECONNRESET ? "the connection was reset" : std::strerror(errno)));
      return true;
    }
    if (n == 0) {
      end(Status::io("the server closed the connection"));
      return true;
    }
    last_byte_ = Clock::now();
    std::string_view bytes(chunk, static_cast<size_t>(n));
    std::string payload;
    if (chunked_) {
      if (Status s = chunks_.feed(bytes, payload); !s.ok()) {
        end(s);
        return true;
      }
      bytes = payload;
    }
    std::vector<SseEvent> events;
    Status s = parser_.feed(bytes, events);
    for (auto& e : events) pending_.push_back(std::move(e));
    if (!s.ok()) end(s);
    if (chunked_ && chunks_.finished()) end(Status::io("the server ended the event stream"));
    return true;
  }
}

Result<std::optional<SseEvent>> EventStream::next(std::chrono::milliseconds wait) {
  const Clock::time_point deadline = Clock::now() + wait;
  for (;;) {
    if (!pending_.empty()) {
      SseEvent e = std::move(pending_.front());
      pending_.pop_front();
      delivered_id_ = e.id;
      return std::optional<SseEvent>(std::move(e));
    }
    if (ended_) return *ended_;
    if (!read_some(deadline)) return std::optional<SseEvent>();
  }
}

Result<EventStream::End> EventStream::for_each(const std::function<bool(const SseEvent&)>& on_event,
                                               std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto e = next(std::max(left, std::chrono::milliseconds(0)));
    if (!e.ok()) return e.status();
    if (!e->has_value()) {
      if (Clock::now() >= deadline) return End::kTimedOut;
      continue;
    }
    if (!on_event(**e)) return End::kStopped;
  }
}

}  // namespace stageline::api::client
