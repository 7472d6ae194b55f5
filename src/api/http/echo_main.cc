// stageline_http_echo: the transport alone, for manual checks with curl.
//   stageline_http_echo [listen]          (default 127.0.0.1:7300)
//   curl -d '{"a":1}' http://127.0.0.1:7300/       echoes the body
//   curl -N http://127.0.0.1:7300/events           one "tick" event a second
// SIGINT or SIGTERM stops it gracefully.
#include <cstdio>
#include <memory>
#include <vector>

#include "api/http/http.h"

using namespace stageline::http;

int main(int argc, char** argv) {
  Server::Options options;
  if (argc > 1) options.listen = argv[1];
  std::vector<std::shared_ptr<EventStream>> streams;
  Server::StreamRoute route;
  route.accepts = [](const Request& r) { return r.method == "GET" && r.path() == "/events"; };
  route.handler = [&](const Request&, std::shared_ptr<EventStream> s) -> std::optional<Response> {
    streams.push_back(std::move(s));
    return std::nullopt;
  };
  Server server(
      options,
      [](const Request& r) {
        Response res;
        res.headers.emplace_back("Content-Type", std::string(r.header("Content-Type")));
        res.body = r.body;
        return res;
      },
      route);
  if (auto s = server.start(); !s.ok()) {
    std::fprintf(stderr, "stageline_http_echo: %s\n", s.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "listening on port %d\n", server.port());
  int n = 0;
  std::function<void()> tick = [&] {
    std::erase_if(streams, [](const auto& s) { return s->closed(); });
    for (auto& s : streams) s->send("tick", "{\"n\":" + std::to_string(n) + "}", std::to_string(n));
    ++n;
    server.after(std::chrono::seconds(1), tick);
  };
  server.after(std::chrono::seconds(1), tick);
  server.on_signal([&](int) { server.stop(); });
  server.run();
  return 0;
}
