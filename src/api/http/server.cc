// The one translation unit of the module that includes Asio and Beast.
//
// Shape: one io_context run by the control thread. The acceptor and every
// connection are C++20 coroutines (co_spawn with a completion handler that
// logs an escaped exception and unregisters the connection; nothing is
// detached). A connection coroutine only does I/O with deadlines: wait for the
// first byte of a request (idle timeout), read the header (header timeout),
// maybe answer 100-continue, read the body (body timeout), call the handler
// synchronously, write the answer (write timeout), repeat. Pipelined requests
// are answered in order because the loop reads the next one only after the
// answer to the previous one was written; the bytes of later requests wait in
// the connection's buffer.
//
// Failure answers (400, 413, 431, 503) end the connection with a "lingering
// close": the response is written, our sending side is shut down, and what the
// client still sends is read and discarded for a short bounded time. Closing
// at once with unread bytes in the socket would make the kernel send a reset,
// and the client would often see "connection reset" instead of our answer.
//
// Lifetimes: coroutine frames hold shared_ptr<Connection>; the server's
// registry holds them too. Code that must run when a connection ends lives in
// the completion handler, never in a destructor, because frames still pending
// when the io_context is destroyed are destroyed without being resumed.
#include <signal.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "api/http/http.h"
#include "api/http/message.h"
#include "base/ids.h"
#include "base/strings.h"

namespace stageline::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kTok = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr size_t kLingerBytes = 64 * 1024 * 1024;
constexpr size_t kMaxRefusing = 64;  // 503 answers being written at once
constexpr std::string_view kHeartbeat = ": heartbeat\n\n";

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

// The event-stream half the owner sees. The connection side drives it
// through set_waker/take/written/detach; all on the control thread.
class StreamImpl final : public EventStream {
 public:
  explicit StreamImpl(size_t limit) : limit_(limit) {}

  bool send(std::string_view event, std::string_view data, std::string_view id) override {
    if (closed_) return false;
    std::string framed = detail::chunk(detail::format_event(event, data, id));
    if (queued_ + framed.size() > limit_) {
      abort();
      return false;
    }
    queued_ += framed.size();
    queue_.push_back(std::move(framed));
    wake(false);
    return true;
  }
  bool closed() const override { return closed_; }
  void close() override {
    if (closed_) return;
    closed_ = true;
    wake(false);
  }
  size_t queued_bytes() const override { return queued_; }

  // The client went away, the queue overflowed, or the server gives up:
  // drop what is queued and end the connection now.
  void abort() {
    closed_ = aborted_ = true;
    queue_.clear();
    queued_ = 0;
    wake(true);
  }
  // The connection is gone: nothing may reach it any more.
  void detach() {
    closed_ = aborted_ = true;
    queue_.clear();
    queued_ = 0;
    waker_ = nullptr;
  }
  void set_waker(std::function<void(bool abort)> w) { waker_ = std::move(w); }
  bool aborted() const { return aborted_; }
  bool empty() const { return queue_.empty(); }
  // Everything queued, concatenated; it still counts against the limit until
  // written() says it reached the socket.
  std::string take() {
    std::string out;
    for (auto& s : queue_) out += s;
    queue_.clear();
    return out;
  }
  void written(size_t n) { queued_ = n > queued_ ? 0 : queued_ - n; }

 private:
  void wake(bool abort) {
    if (waker_) waker_(abort);
  }

  size_t limit_;
  std::deque<std::string> queue_;
  size_t queued_ = 0;
  bool closed_ = false;
  bool aborted_ = false;
  std::function<void(bool)> waker_;
};

struct Connection {
  enum class Phase { kIdle, kBusy, kStream };

  explicit Connection(tcp::socket s) : stream(std::move(s)) {}

  void close() {
    error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.socket().close(ec);
  }

  beast::tcp_stream stream;
  std::string peer;
  Phase phase = Phase::kIdle;
  std::shared_ptr<StreamImpl> event_stream;
};

std::string peer_name(const tcp::socket& s) {
  error_code ec;
  tcp::endpoint ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

bool is_http_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

}  // namespace

class Server::Impl {
 public:
  Impl(Options options, Handler handler, StreamRoute streams)
      : opt_(std::move(options)), handler_(std::move(handler)), streams_(std::move(streams)) {}

  ~Impl() {
    // Streams the owner still holds must not reach into destroyed frames.
    for (const auto& c : conns_) {
      if (c->event_stream) c->event_stream->detach();
    }
  }

  Status start();
  void run();
  void begin_shutdown();
  TimerId after(std::chrono::milliseconds delay, std::function<void()> fn);
  void cancel(TimerId id);
  void on_signal(std::function<void(int)> fn);
  void post(std::function<void()> fn);
  void post_stop() {
    asio::post(ioc_, [this] { begin_shutdown(); });
  }

  int port_ = 0;

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Connection> c);
  asio::awaitable<void> serve_stream(std::shared_ptr<Connection> c, Request req,
                                     detail::ResponseContext ctx);
  asio::awaitable<void> refuse(tcp::socket socket);
  asio::awaitable<bool> write(beast::tcp_stream& s, std::string_view data);
  asio::awaitable<bool> write_file(beast::tcp_stream& s, const FileBody& file);
  asio::awaitable<void> fail(Connection& c, const Response& r, const std::string& request_id);
  asio::awaitable<void> linger(beast::tcp_stream& s);
  asio::awaitable<void> watch_for_close(std::shared_ptr<Connection> c,
                                        std::shared_ptr<StreamImpl> s);
  void finished(const std::shared_ptr<Connection>& c, std::exception_ptr e);
  void force_close_all();
  void complete_shutdown();
  void arm_signals();
  Response call_handler(const Request& req);
  const std::string& date();
  void log(const std::string& m) {
    if (opt_.log) {
      opt_.log(m);
    } else {
      std::fprintf(stderr, "stageline http: %s\n", m.c_str());
    }
  }
  template <typename F>
  void guarded(const char* what, F&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      log(std::string(what) + " threw: " + e.what());
    } catch (...) {
      log(std::string(what) + " threw an unknown exception");
    }
  }

  // Declared first, destroyed last: every I/O object below needs it.
  asio::io_context ioc_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
  Options opt_;
  Handler handler_;
  StreamRoute streams_;
  std::optional<tcp::acceptor> acceptor_;
  std::unordered_set<std::shared_ptr<Connection>> conns_;
  size_t refusing_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  bool shut_down_ = false;
  std::optional<asio::steady_timer> grace_;
  std::unordered_map<std::uint64_t, std::unique_ptr<asio::steady_timer>> timers_;
  std::uint64_t next_timer_ = 1;
  std::optional<asio::signal_set> signals_;
  std::function<void(int)> signal_fn_;
  std::string date_;
  std::time_t date_second_ = 0;
};

// ---------------------------------------------------------------------------
// Listening and accepting

Status Server::Impl::start() {
  STAGELINE_CHECK(!started_);
  Result<detail::ListenAddress> where = detail::parse_listen_address(opt_.listen);
  if (!where.ok()) return where.status();
  error_code ec;
  asio::ip::address address = asio::ip::make_address(where->host, ec);
  if (ec) return Status::invalid("listen address " + quote(opt_.listen) + ": " + ec.message());
  tcp::endpoint endpoint(address, where->port);
  acceptor_.emplace(ioc_);
  auto failed = [&](const char* step) {
    acceptor_.reset();
    return Status::io("listen on " + opt_.listen + ": " + step + ": " + ec.message());
  };
  if (acceptor_->open(endpoint.protocol(), ec)) return failed("socket");
  // Lets a restarted server bind while old connections sit in TIME_WAIT; on
  // Linux it does not let two listeners share a port.
  if (acceptor_->set_option(tcp::acceptor::reuse_address(true), ec)) return failed("SO_REUSEADDR");
  if (acceptor_->bind(endpoint, ec)) {
    if (ec == asio::error::address_in_use) {
      acceptor_.reset();
      return Status::io("address " + opt_.listen + " is in use");
    }
    return failed("bind");
  }
  if (acceptor_->listen(asio::socket_base::max_listen_connections, ec)) return failed("listen");
  port_ = acceptor_->local_endpoint(ec).port();
  started_ = true;
  asio::co_spawn(ioc_, accept_loop(), [this](std::exception_ptr e) {
    if (e) log("accept loop ended by an exception: " + describe(e));
  });
  return {};
}

asio::awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_->async_accept(kTok);
    if (stopping_) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      // Out of file descriptors and the like: back off instead of spinning.
      log("accept: " + ec.message());
      asio::steady_timer pause(ioc_, std::chrono::milliseconds(100));
      co_await pause.async_wait(kTok);
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (conns_.size() >= opt_.max_connections) {
      if (refusing_ >= kMaxRefusing) continue;  // the socket closes as it goes out of scope
      ++refusing_;
      asio::co_spawn(ioc_, refuse(std::move(socket)), [this](std::exception_ptr e) {
        --refusing_;
        if (e) log("refusing a connection: " + describe(e));
      });
      continue;
    }
    auto c = std::make_shared<Connection>(std::move(socket));
    c->peer = peer_name(c->stream.socket());
    conns_.insert(c);
    asio::co_spawn(ioc_, serve(c), [this, c](std::exception_ptr e) { finished(c, e); });
  }
}

asio::awaitable<void> Server::Impl::refuse(tcp::socket socket) {
  beast::tcp_stream s(std::move(socket));
  std::string id = new_uuid();
  detail::ResponseContext ctx{.request_id = id,
                              .date = date(),
                              .server = opt_.server_header,
                              .head = false,
                              .keep_alive = false,
                              .http10 = false};
  std::string out = detail::serialize_response(
      json_error(503, "ServiceUnavailable",
                 "the server has " + std::to_string(opt_.max_connections) +
                     " open connections, its limit; retry later"),
      ctx);
  s.expires_after(kLingerTime);
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(out), kTok);
  if (!ec) co_await linger(s);
  error_code ignored;
  s.socket().close(ignored);
}

void Server::Impl::finished(const std::shared_ptr<Connection>& c, std::exception_ptr e) {
  if (e) log("connection " + c->peer + " ended by an exception: " + describe(e));
  if (c->event_stream) c->event_stream->detach();
  c->close();
  conns_.erase(c);
  if (stopping_ && conns_.empty()) complete_shutdown();
}

// ---------------------------------------------------------------------------
// One connection

asio::awaitable<bool> Server::Impl::write(beast::tcp_stream& s, std::string_view data) {
  s.expires_after(opt_.write_timeout);
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(data), kTok);
  co_return !ec;
}

asio::awaitable<bool> Server::Impl::write_file(beast::tcp_stream& s, const FileBody& file) {
  std::vector<char> buf(256 * 1024);
  uint64_t offset = file.offset(), left = file.length();
  while (left > 0) {
    ssize_t n = ::pread(file.fd(), buf.data(), std::min<uint64_t>(buf.size(), left),
                        static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The length was promised in Content-Length: the connection must end.
      log("read a response body file: " +
          std::string(n < 0 ? std::strerror(errno) : "it is shorter than announced"));
      co_return false;
    }
    if (!co_await write(s, std::string_view(buf.data(), static_cast<size_t>(n)))) co_return false;
    offset += static_cast<uint64_t>(n);
    left -= static_cast<uint64_t>(n);
  }
  co_return true;
}

asio::awaitable<void> Server::Impl::linger(beast::tcp_stream& s) {
  error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  s.expires_after(kLingerTime);
  std::array<char, 4096> sink;
  size_t total = 0;
  while (total < kLingerBytes) {
    auto [rec, n] = co_await s.async_read_some(asio::buffer(sink), kTok);
    if (rec) break;
    total += n;
  }
}

asio::awaitable<void> Server::Impl::fail(Connection& c, const Response& r,
                                         const std::string& request_id) {
  detail::ResponseContext ctx{.request_id = request_id,
                              .date = date(),
                              .server = opt_.server_header,
                              .head = false,
                              .keep_alive = false,
                              .http10 = false};
  std::string out = detail::serialize_response(r, ctx);
  if (co_await write(c.stream, out)) co_await linger(c.stream);
}

asio::awaitable<void> Server::Impl::serve(std::shared_ptr<Connection> c) {
  beast::flat_buffer buffer;
  bool first = true;
  for (;;) {
    // Wait for the first byte of the next request, unless a pipelined one is
    // already buffered. A new connection gets the (shorter) header timeout.
    if (buffer.size() == 0) {
      c->phase = Connection::Phase::kIdle;
      if (stopping_) co_return;
      c->stream.expires_after(first ? opt_.header_timeout : opt_.idle_timeout);
      auto [ec, n] = co_await c->stream.async_read_some(buffer.prepare(4096), kTok);
      if (ec) co_return;  // closed, reset, timed out, or stop()
      buffer.commit(n);
    }
    c->phase = Connection::Phase::kBusy;
    first = false;

    // The header is read on its own, so the body's limit and destination
    // (memory or a spool file) can be chosen from it; the parser then changes
    // body type, as Beast allows before any body byte is parsed.
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt_.header_limit));
    parser.body_limit(boost::none);
    std::string request_id = new_uuid();
    uint64_t limit = opt_.body_limit;
    auto too_large = [&] {
      return json_error(
          413, "RequestEntityTooLargeException",
          "the request body is larger than the limit of " + std::to_string(limit) + " bytes");
    };
    auto malformed = [&](const error_code& ec) {
      return json_error(400, "MalformedHttpRequestException",
                        "malformed HTTP request: " + ec.message());
    };

    c->stream.expires_after(opt_.header_timeout);
    auto [hec, hn] = co_await bhttp::async_read_header(c->stream, buffer, parser, kTok);
    if (hec) {
      if (hec == bhttp::error::header_limit || hec == bhttp::error::buffer_overflow) {
        co_await fail(*c,
                      json_error(431, "RequestHeaderFieldsTooLarge",
                                 "the request line and headers exceed " +
                                     std::to_string(opt_.header_limit) + " bytes"),
                      request_id);
      } else if (is_http_error(hec) && hec != bhttp::error::end_of_stream &&
                 hec != bhttp::error::partial_message) {
        co_await fail(*c, malformed(hec), request_id);
      }
      co_return;  // anything else: the client went away or timed out
    }

    Request req;
    {
      const auto& head = parser.get();
      req.method = std::string(head.method_string());
      req.target = std::string(head.target());
      req.peer = c->peer;
      req.request_id = std::move(request_id);
      for (const auto& field : head) {
        req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
    }
    if (opt_.body_limit_for) {
      std::optional<uint64_t> chosen;
      guarded("the body limit function", [&] { chosen = opt_.body_limit_for(req); });
      if (chosen) limit = *chosen;
    }
    const auto length = parser.content_length();
    if (length && *length > limit) {
      co_await fail(*c, too_large(), req.request_id);
      co_return;
    }
    const bool spool = !parser.is_done() && limit > opt_.body_limit && !opt_.spool_dir.empty() &&
                       (!length || *length > opt_.spool_threshold);
    const bool http10 = parser.get().version() == 10;
    const bool wants_keep_alive = parser.get().keep_alive();

    if (!parser.is_done()) {
      auto expect = parser.get()[bhttp::field::expect];
      if (iequals(expect, "100-continue") &&
          !co_await write(c->stream, "HTTP/1.1 100 Continue\r\n\r\n")) {
        co_return;
      }
    }
    // Removes the spool file however this iteration ends.
    struct SpoolGuard {
      std::string path;
      ~SpoolGuard() {
        if (!path.empty()) ::unlink(path.c_str());
      }
    } spool_guard;
    error_code bec;
    if (spool) {
      bhttp::request_parser<bhttp::file_body> body_parser(std::move(parser));
      body_parser.body_limit(limit);
      spool_guard.path = opt_.spool_dir + "/body-" + req.request_id;
      error_code oec;
      body_parser.get().body().open(spool_guard.path.c_str(), beast::file_mode::write_new, oec);
      if (oec) {
        log("spool a request body to " + spool_guard.path + ": " + oec.message());
        spool_guard.path.clear();
        co_await fail(
            *c,
            json_error(500, "InternalFailure", "internal error (request " + req.request_id + ")"),
            req.request_id);
        co_return;
      }
      // A large body may take long: the timeout bounds each read, not the whole.
      while (!body_parser.is_done()) {
        c->stream.expires_after(opt_.body_timeout);
        auto [ec, n] = co_await bhttp::async_read_some(c->stream, buffer, body_parser, kTok);
        if (ec) {
          bec = ec;
          break;
        }
      }
      body_parser.get().body().file().close(oec);
      req.body_file = spool_guard.path;
    } else if (!parser.is_done()) {
      bhttp::request_parser<bhttp::string_body> body_parser(std::move(parser));
      body_parser.body_limit(limit);
      c->stream.expires_after(opt_.body_timeout);
      auto [ec, n] = co_await bhttp::async_read(c->stream, buffer, body_parser, kTok);
      bec = ec;
      if (!ec) req.body = std::move(body_parser.get().body());
    }
    if (bec) {
      if (bec == bhttp::error::body_limit) {
        co_await fail(*c, too_large(), req.request_id);
      } else if (is_http_error(bec) && bec != bhttp::error::end_of_stream &&
                 bec != bhttp::error::partial_message) {
        co_await fail(*c, malformed(bec), req.request_id);
      }
      co_return;
    }

    bool is_stream = false;
    if (streams_.accepts) {
      guarded("the stream route predicate", [&] { is_stream = streams_.accepts(req); });
    }
    detail::ResponseContext ctx{.request_id = req.request_id,
                                .date = {},
                                .server = opt_.server_header,
                                .head = req.method == "HEAD",
                                .keep_alive = false,
                                .http10 = http10};
    if (is_stream) {
      co_await serve_stream(c, std::move(req), ctx);
      co_return;
    }

    Response response = call_handler(req);
    // Read after the handler: it may have asked the server to stop.
    ctx.keep_alive = wants_keep_alive && !stopping_;
    ctx.date = date();
    std::string out = detail::serialize_response(response, ctx);
    if (!co_await write(c->stream, out)) co_return;
    if (response.file && !ctx.head && response.status != 204 && response.status != 304 &&
        !co_await write_file(c->stream, *response.file)) {
      co_return;
    }
    if (!ctx.keep_alive) co_return;
  }
}

Response Server::Impl::call_handler(const Request& req) {
  try {
    return handler_(req);
  } catch (const std::exception& e) {
    log("handler for " + req.method + " " + quote(req.target) + " (request " + req.request_id +
        ") threw: " + e.what());
  } catch (...) {
    log("handler for " + req.method + " " + quote(req.target) + " (request " + req.request_id +
        ") threw an unknown exception");
  }
  return json_error(500, "InternalFailure", "internal error (request " + req.request_id + ")");
}

// ---------------------------------------------------------------------------
// Event streams

asio::awaitable<void> Server::Impl::serve_stream(std::shared_ptr<Connection> c, Request req,
                                                 detail::ResponseContext ctx) {
  ctx.date = date();
  if (ctx.http10) {
    co_await fail(*c,
                  json_error(400, "MalformedHttpRequestException", "event streams need HTTP/1.1"),
                  req.request_id);
    co_return;
  }
  auto s = std::make_shared<StreamImpl>(opt_.stream_queue_limit);
  std::optional<Response> refusal;
  try {
    if (streams_.handler) {
      refusal = streams_.handler(req, s);
    } else {
      refusal = json_error(404, "ResourceNotFoundException", "no event stream here");
    }
  } catch (const std::exception& e) {
    log("stream handler for " + quote(req.target) + " threw: " + e.what());
    refusal = json_error(500, "InternalFailure", "internal error (request " + req.request_id + ")");
  }
  if (refusal) {
    s->detach();
    std::string out = detail::serialize_response(*refusal, ctx);
    co_await write(c->stream, out);
    co_return;
  }

  c->event_stream = s;
  c->phase = Connection::Phase::kStream;
  if (stopping_) s->close();

  asio::steady_timer wake(ioc_);
  Connection* raw = c.get();  // the waker lives no longer than this frame, which holds `c`
  s->set_waker([raw, &wake](bool abort) {
    if (abort) raw->close();
    wake.cancel();
  });
  if (!co_await write(c->stream, detail::stream_header(ctx))) {
    s->detach();
    co_return;
  }
  // The client never sends anything we want after the stream request; a read
  // that ends (EOF, reset) is how its going away is noticed while idle.
  asio::co_spawn(ioc_, watch_for_close(c, s), [this](std::exception_ptr e) {
    if (e) log("event stream watcher: " + describe(e));
  });

  for (;;) {
    if (s->aborted()) break;
    if (!s->empty()) {
      std::string batch = s->take();
      bool ok = co_await write(c->stream, batch);
      s->written(batch.size());
      if (!ok) break;
      continue;
    }
    if (s->closed()) {
      co_await write(c->stream, detail::kLastChunk);
      break;
    }
    wake.expires_after(opt_.heartbeat_interval);
    auto [ec] = co_await wake.async_wait(kTok);
    if (!ec && !s->closed()) {
      if (!co_await write(c->stream, detail::chunk(kHeartbeat))) break;
    }
  }
  s->detach();
}

asio::awaitable<void> Server::Impl::watch_for_close(std::shared_ptr<Connection> c,
                                                    std::shared_ptr<StreamImpl> s) {
  std::array<char, 512> sink;
  for (;;) {
    auto [ec, n] = co_await c->stream.socket().async_read_some(asio::buffer(sink), kTok);
    if (ec) break;
  }
  if (!s->aborted()) s->abort();
}

// ---------------------------------------------------------------------------
// The control thread's other work

const std::string& Server::Impl::date() {
  auto now = std::chrono::system_clock::now();
  std::time_t second = std::chrono::system_clock::to_time_t(now);
  if (second != date_second_) {
    date_ = detail::http_date(now);
    date_second_ = second;
  }
  return date_;
}

void Server::Impl::post(std::function<void()> fn) {
  asio::post(ioc_, [this, fn = std::move(fn)] { guarded("a posted function", fn); });
}

TimerId Server::Impl::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  std::uint64_t id = next_timer_++;
  auto timer = std::make_unique<asio::steady_timer>(ioc_, delay);
  timer->async_wait([this, id, fn = std::move(fn)](error_code ec) {
    if (ec) return;
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    timers_.erase(it);
    guarded("a timer", fn);
  });
  timers_.emplace(id, std::move(timer));
  return TimerId{id};
}

void Server::Impl::cancel(TimerId id) {
  // Destroying the timer cancels its wait; the handler then sees an error.
  timers_.erase(static_cast<std::uint64_t>(id));
}

void Server::Impl::on_signal(std::function<void(int)> fn) {
  signal_fn_ = std::move(fn);
  if (!signals_) {
    signals_.emplace(ioc_, SIGINT, SIGTERM);
    arm_signals();
  }
}

void Server::Impl::arm_signals() {
  signals_->async_wait([this](error_code ec, int signal) {
    if (ec) return;
    guarded("the signal handler", [&] { signal_fn_(signal); });
    if (signals_) arm_signals();
  });
}

void Server::Impl::run() {
  STAGELINE_CHECK(started_);
  ioc_.run();
}

void Server::Impl::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  if (acceptor_) {
    error_code ignored;
    acceptor_->close(ignored);
  }
  // Copy: closing may not erase from the set under us (completions run later),
  // but keep the loop independent of that.
  std::vector<std::shared_ptr<Connection>> all(conns_.begin(), conns_.end());
  for (const auto& c : all) {
    if (c->phase == Connection::Phase::kIdle) {
      c->close();
    } else if (c->phase == Connection::Phase::kStream && c->event_stream) {
      c->event_stream->close();
    }
  }
  if (conns_.empty()) {
    complete_shutdown();
    return;
  }
  grace_.emplace(ioc_, opt_.shutdown_grace);
  grace_->async_wait([this](error_code ec) {
    if (ec) return;
    if (!conns_.empty()) {
      log("stop: " + std::to_string(conns_.size()) +
          " connection(s) still busy after the grace period; closing them");
    }
    force_close_all();
  });
}

void Server::Impl::force_close_all() {
  std::vector<std::shared_ptr<Connection>> all(conns_.begin(), conns_.end());
  for (const auto& c : all) {
    if (c->event_stream) c->event_stream->abort();
    c->close();
  }
}

void Server::Impl::complete_shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (grace_) grace_->cancel();
  timers_.clear();
  if (signals_) {
    error_code ignored;
    signals_->cancel(ignored);
    signals_.reset();  // restores the default dispositions
  }
  work_.reset();
  ioc_.stop();
}

// ---------------------------------------------------------------------------
// Server

Server::Server(Options options, Handler handler, StreamRoute streams)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(streams))) {}
Server::~Server() = default;
Status Server::start() { return impl_->start(); }
int Server::port() const { return impl_->port_; }
void Server::post(std::function<void()> fn) { impl_->post(std::move(fn)); }
TimerId Server::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  return impl_->after(delay, std::move(fn));
}
void Server::cancel(TimerId id) { impl_->cancel(id); }
void Server::on_signal(std::function<void(int)> fn) { impl_->on_signal(std::move(fn)); }
void Server::run() { impl_->run(); }
void Server::stop() {
  // Through the loop, so stop() is safe from any thread and from handlers.
  impl_->post_stop();
}

}  // namespace stageline::http
