// console/assets: the web console's static files. The files of web/ are
// compiled into the binary (src/console/CMakeLists.txt), so a server needs no
// files beside it and no network; for development, a directory can be served
// instead (`stageline server --console-dir web`). Each answer carries a strong
// ETag (a hash of the bytes) and Cache-Control: no-cache, so a browser
// revalidates and gets 304 until the server's files change.
//
// Depends on base, api/http and api/sigv4 (for SHA-256).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "api/http/http.h"

namespace stageline::console {

namespace generated {
// One embedded file, as the build wrote it.
struct RawAsset {
  const char* path;  // relative to web/, e.g. "app.js"
  const unsigned char* data;
  std::size_t size;
};
std::span<const RawAsset> raw_assets();
}  // namespace generated

// The Content-Type the console serves a file with: base/content_type.h's,
// with "; charset=utf-8" on text types.
std::string console_content_type(std::string_view path);

// The strong ETag of some bytes: a quoted prefix of their SHA-256.
std::string etag_of(std::string_view bytes);

// Where the console's files come from.
class Assets {
 public:
  // The embedded files when `dir` is empty, else the files under `dir`
  // read on every request.
  explicit Assets(std::string dir = "");

  // Answers GET (and HEAD: the server sends no body bytes) for `path`
  // (relative to the console root, no leading '/'; "" is index.html): 200
  // with the file, 304 when `if_none_match` names its ETag, 404 for a file
  // that does not exist or a path that leaves the directory ("..",
  // absolute, NUL, backslash).
  http::Response get(std::string_view path, std::string_view if_none_match) const;

  // The embedded files' paths, sorted (empty when web/ had none).
  static std::span<const generated::RawAsset> embedded() { return generated::raw_assets(); }

 private:
  std::string dir_;
};

}  // namespace stageline::console
