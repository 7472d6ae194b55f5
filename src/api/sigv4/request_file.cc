#include "api/sigv4/request_file.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "base/strings.h"

namespace stageline::api::sigv4 {

namespace json = boost::json;

Result<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return Status::invalid("base64: unexpected character " + quote(std::string(1, c)));
    acc = ((acc << 6) | static_cast<uint32_t>(v)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

Result<HttpRequest> request_from_json(std::string_view json_text) {
  boost::system::error_code ec;
  json::value doc = json::parse(json_text, ec);
  if (ec) return Status::invalid("request JSON: " + ec.message());
  const json::object* o = doc.if_object();
  if (o == nullptr) return Status::invalid("request JSON: not an object");
  auto str = [&](const char* k) -> Result<std::string> {
    const json::value* v = o->if_contains(k);
    if (v == nullptr || !v->is_string())
      return Status::invalid(std::string("request JSON: '") + k + "' is missing or not a string");
    return std::string(v->as_string());
  };
  HttpRequest r;
  auto method = str("method");
  if (!method.ok()) return method.status();
  auto target = str("target");
  if (!target.ok()) return target.status();
  auto body = str("body_base64");
  if (!body.ok()) return body.status();
  auto decoded = base64_decode(*body);
  if (!decoded.ok()) return decoded.status().with_context("request JSON: body_base64");
  r.method = std::move(*method);
  r.target = std::move(*target);
  r.body = std::move(*decoded);
  const json::value* headers = o->if_contains("headers");
  if (headers == nullptr || !headers->is_array())
    return Status::invalid("request JSON: 'headers' is missing or not an array");
  for (const json::value& h : headers->as_array()) {
    const json::array* pair = h.if_array();
    if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_string())
      return Status::invalid("request JSON: each header must be [name, value]");
    r.headers.emplace_back(std::string((*pair)[0].as_string()),
                           std::string((*pair)[1].as_string()));
  }
  return r;
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io("open " + quote(path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::io("read " + quote(path));
  return ss.str();
}

}  // namespace stageline::api::sigv4
