#include "console/assets.h"

#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "api/sigv4/crypto.h"
#include "base/content_type.h"

namespace stageline::console {

namespace {

// True if `path` stays inside the directory it is relative to.
bool safe_relative_path(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string_view::npos ||
      path.find('\\') != std::string_view::npos)
    return false;
  for (std::string_view rest = path; !rest.empty();) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return true;
}

// The ETags listed in If-None-Match ("*" matches every one).
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match == "*") return true;
  for (std::string_view rest = if_none_match; !rest.empty();) {
    size_t comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (one.starts_with("W/")) one.remove_prefix(2);  // weak comparison, RFC 9110 13.1.2
    if (one == etag) return true;
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return false;
}

http::Response not_found(std::string_view path) {
  http::Response r;
  r.status = 404;
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  r.body = "The console has no file '" + std::string(path) + "'\n";
  return r;
}

}  // namespace

std::string console_content_type(std::string_view path) {
  std::string type(stageline::content_type_for(path));
  if (type.starts_with("text/")) type += "; charset=utf-8";  // web/ is UTF-8
  return type;
}

std::string etag_of(std::string_view bytes) {
  return "\"" + api::sigv4::sha256_hex(bytes).substr(0, 32) + "\"";
}

Assets::Assets(std::string dir) : dir_(std::move(dir)) {}

http::Response Assets::get(std::string_view path, std::string_view if_none_match) const {
  if (path.empty()) path = "index.html";
  if (!safe_relative_path(path)) return not_found(path);
  std::string bytes;
  std::string etag;
  if (dir_.empty()) {
    const generated::RawAsset* found = nullptr;
    for (const auto& a : generated::raw_assets())
      if (path == a.path) found = &a;
    if (found == nullptr) return not_found(path);
    // The embedded files never change while the server runs: hash each once.
    static std::vector<std::string> etags = [] {
      std::vector<std::string> out;
      for (const auto& a : generated::raw_assets())
        out.push_back(etag_of({reinterpret_cast<const char*>(a.data), a.size}));
      return out;
    }();
    etag = etags[static_cast<size_t>(found - generated::raw_assets().data())];
    bytes.assign(reinterpret_cast<const char*>(found->data), found->size);
  } else {
    std::ifstream in(dir_ + "/" + std::string(path), std::ios::binary);
    if (!in) return not_found(path);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (!in && !in.eof()) return not_found(path);
    bytes = std::move(buffer).str();
    etag = etag_of(bytes);
  }
  http::Response r;
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (etag_matches(if_none_match, etag)) {
    r.status = 304;
    return r;
  }
  r.headers.emplace_back("Content-Type", console_content_type(path));
  r.body = std::move(bytes);
  return r;
}

}  // namespace stageline::console
