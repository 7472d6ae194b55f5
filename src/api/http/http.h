// api/http: the HTTP/1.1 transport of the API server, and the server's event
// loop. One control thread runs everything: it accepts connections, reads
// requests, calls the synchronous Handler, writes responses, runs timers,
// functions posted from other threads and signal callbacks. The engine, which
// is not thread-safe, lives on that same thread and needs no locks.
//
// What it does for every connection: keep-alive and pipelining (answers in
// order), Content-Length and chunked request bodies, Expect: 100-continue,
// limits (body -> 413, header -> 431, malformed -> 400, too many connections ->
// 503), slow-client timeouts (header, body, idle, write), and the
// x-amzn-RequestId, Date, Server and Content-Length headers on every response
// (reference §1.3). Server-sent-event streams (text/event-stream, chunked,
// heartbeat comments, a bounded queue per stream) for paths the StreamRoute
// accepts.
//
// Depends on base only. This header includes no Asio or Beast headers (the one
// Beast translation unit is server.cc), so the rest of the server never
// compiles them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace stageline::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// One HTTP request as received, complete with its body (chunked bodies are
// already decoded).
struct Request {
  std::string method;      // "POST"
  std::string target;      // path?query, exactly as received
  std::string peer;        // "127.0.0.1:53122" or "[::1]:53122"
  std::string request_id;  // the x-amzn-RequestId the response will carry
  Headers headers;         // in order received; names as sent
  std::string body;
  // Set when the body was spooled to a file (see Options::spool_dir): its
  // path, and `body` is empty. The server removes the file once the handler
  // has returned; a handler that wants the bytes moves or copies them.
  std::string body_file;

  // The value of the first header called `name` (case-insensitive), or "" when
  // there is none. has_header tells an empty value from a missing header.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // The target before '?' and after it ("" when there is no '?').
  std::string_view path() const;
  std::string_view query() const;
};

// A response body read from an open file, so a large object is streamed
// from disk rather than held in memory: `length` bytes from `offset`. Owns
// `fd` (closed on destruction).
class FileBody {
 public:
  FileBody(int fd, uint64_t offset, uint64_t length) : fd_(fd), offset_(offset), length_(length) {}
  ~FileBody();
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;
  int fd() const { return fd_; }
  uint64_t offset() const { return offset_; }
  uint64_t length() const { return length_; }

 private:
  int fd_;
  uint64_t offset_;
  uint64_t length_;
};

// The handler's answer. The server adds Content-Length (always its own),
// x-amzn-RequestId, Date and Server unless the handler set them, and
// Connection when the connection closes. Headers containing CR or LF are
// dropped (they would split the response).
struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When set, the body is these bytes of a file instead of `body` (which is
  // then ignored); Content-Length is file->length(). A HEAD answer may set it
  // to announce the length without sending the bytes.
  std::shared_ptr<FileBody> file;
};

// A response `{"__type":type,"message":message}` with Content-Type
// application/x-amz-json-1.1: the AWS JSON 1.1 error shape (reference §1.4).
Response json_error(int status, std::string_view type, std::string_view message);

// An open server-sent-event stream to one client. The StreamHandler receives
// it; the owner (e.g. the engine's subscriber list) keeps the shared_ptr as
// long as it wants to send. It may outlive the connection and the Server:
// send() then returns false. Control thread only.
class EventStream {
 public:
  virtual ~EventStream() = default;

  // Queues one event: "id: <id>\nevent: <event>\ndata: <line>\n...\n\n";
  // `event` and `id` are omitted when empty, `data` is split into one data:
  // line per line. Returns false when the stream is closed, or when the event
  // would grow the queue past Options::stream_queue_limit: a consumer that
  // does not keep up is cut off (the stream closes) rather than let memory grow.
  virtual bool send(std::string_view event, std::string_view data, std::string_view id = {}) = 0;

  // True once the client went away, the queue overflowed, close() was called
  // or the server stopped. Never becomes false again.
  virtual bool closed() const = 0;

  // Ends the stream: what is queued is still written, then the connection
  // closes.
  virtual void close() = 0;

  // Bytes queued and not yet written to the socket; never more than
  // Options::stream_queue_limit.
  virtual size_t queued_bytes() const = 0;
};

// Strong id of a timer made with Server::after.
enum class TimerId : std::uint64_t {};

// The HTTP server and the control thread's event loop. Thread safety: post()
// and stop() may be called from any thread; everything else from the control
// thread (the one that calls run()), or from any single thread before run().
class Server {
 public:
  struct Options {
    // "host:port" with an IPv4 literal, "[IPv6]:port", or "localhost:port";
    // port 0 picks an ephemeral port (see port()).
    std::string listen = "127.0.0.1:7300";
    size_t body_limit = 6 * 1024 * 1024;  // bytes, after chunked decoding
    // Decides the body limit of one request from its request line and
    // headers (the Request has no body yet), e.g. 5 GiB for S3 PUTs;
    // std::nullopt, or no function, means body_limit.
    std::function<std::optional<uint64_t>(const Request&)> body_limit_for;
    // Where bodies of requests whose limit is above body_limit are written
    // when they are longer than spool_threshold (or of unknown length), so a
    // connection never holds more than body_limit of body in memory. Empty:
    // such bodies are kept in memory too.
    std::string spool_dir;
    size_t spool_threshold = 1024 * 1024;
    size_t header_limit = 16 * 1024;                   // bytes: request line + headers
    std::chrono::milliseconds header_timeout{10'000};  // request line + headers
    std::chrono::milliseconds body_timeout{30'000};    // the whole body (spooled: each read)
    std::chrono::milliseconds idle_timeout{60'000};    // between keep-alive requests
    std::chrono::milliseconds write_timeout{30'000};   // each response write
    size_t max_connections = 1024;                     // beyond it: 503 and close
    std::string server_header = "Stageline";
    std::chrono::milliseconds heartbeat_interval{15'000};  // SSE comment lines
    size_t stream_queue_limit = 1024 * 1024;               // bytes per SSE stream
    std::chrono::milliseconds shutdown_grace{5'000};       // stop(): in-flight bound
    // Where the server reports its own trouble (accept failures, handler
    // exceptions). Empty: standard error. Runs on the control thread.
    std::function<void(const std::string&)> log;
  };

  // Answers one request. Runs on the control thread and should return
  // quickly: while it runs, no other connection is served. An exception it
  // throws becomes a 500 InternalFailure.
  using Handler = std::function<Response(const Request&)>;

  // Opens a stream for a request the route accepts. Return std::nullopt to
  // accept (the 200 text/event-stream header is written and events follow),
  // or a Response to refuse (e.g. 404 or 403; the stream is then closed).
  using StreamHandler =
      std::function<std::optional<Response>(const Request&, std::shared_ptr<EventStream>)>;
  struct StreamRoute {
    std::function<bool(const Request&)> accepts;  // empty: no streams
    StreamHandler handler;
  };

  Server(Options options, Handler handler, StreamRoute streams = {});
  ~Server();  // REQUIRES: run() is not running.
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. Errors: a malformed listen address (kInvalidArgument),
  // "address 127.0.0.1:7300 is in use" or another bind failure (kIo).
  // REQUIRES: called once, before run().
  Status start();

  // The bound port (the real one when listen asked for port 0); 0 before a
  // successful start().
  int port() const;

  // Runs `fn` on the control thread, once, in posting order. Thread-safe: this
  // is how job-runner threads hand results to the engine. Functions posted
  // after run() has returned never run.
  void post(std::function<void()> fn);

  // Runs `fn` on the control thread after `delay`, unless cancelled first.
  TimerId after(std::chrono::milliseconds delay, std::function<void()> fn);
  // Cancels a pending timer; does nothing if it already ran or was cancelled.
  void cancel(TimerId id);

  // Delivers SIGINT and SIGTERM to `fn` on the control thread (installs the
  // process's handlers for both; call once).
  void on_signal(std::function<void(int)> fn);

  // Runs the event loop on the calling thread, which becomes the control
  // thread, until stop() has completed. REQUIRES: start() succeeded.
  void run();

  // Graceful stop, from any thread: stop accepting, close idle connections,
  // let requests already being read or answered finish (at most
  // Options::shutdown_grace, then they are cut), end the event streams, cancel
  // timers, and return from run().
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stageline::http
