// base/temp_dir: a fresh directory under $TMPDIR (or /tmp) that is removed,
// with everything in it, when the object goes. For tests and for commands
// that need a scratch directory for their own lifetime (`stageline run`
// without --data-dir keeps its own, which may be kept on request).
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace stageline {

class TempDir {
 public:
  // `prefix` names what the directory is for: /tmp/<prefix>-XXXXXX. Aborts
  // when no directory can be made (a test cannot go on without it).
  explicit TempDir(const std::string& prefix = "stageline") {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

}  // namespace stageline
