// artifacts/unique_fd: owns one POSIX file descriptor and closes it when it
// goes out of scope. Move-only. A caller that must know whether close(2)
// failed (a file it wrote) calls close() and checks the Status; the destructor
// is for descriptors whose close cannot lose data (read-only, or already
// failed). Not thread-safe: one owner at a time.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "base/status.h"

namespace stageline::artifacts {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Gives up ownership: the caller closes the returned descriptor.
  int release() { return std::exchange(fd_, -1); }

  // Closes the descriptor and reports a failure of close(2) (EIO, ENOSPC on
  // some file systems). The descriptor is gone either way.
  Status close() {
    if (fd_ < 0) return {};
    int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0 && errno != EINTR) {
      int err = errno;
      std::string text = std::generic_category().message(err);
      if (err == ENOSPC || err == EDQUOT) text = "disk full (" + text + ")";
      return Status::io("close: " + text);
    }
    return {};
  }

 private:
  void reset() {
    // Only descriptors whose close(2) cannot lose data reach here (see the class comment).
    if (fd_ >= 0) (void)::close(fd_);
    fd_ = -1;
  }

  int fd_ = -1;
};

}  // namespace stageline::artifacts
