// jobs/process: starts the child processes of actions the way the style guide
// asks: posix_spawn, a new process group per child, stdin on /dev/null,
// stdout and stderr into one pipe, no other descriptor inherited, and an
// explicit, complete environment. Stopping signals the whole group: SIGTERM,
// then SIGKILL after a grace period. The wait status is decoded here only.
// Depends on base. Thread-compatible: one owner per Process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace stageline::jobs {

struct ProcessSpec {
  std::vector<std::string> argv;           // argv[0] is the program, resolved against env PATH
  std::map<std::string, std::string> env;  // the complete environment
  std::string cwd;                         // "" keeps the parent's
};

// How a child ended.
struct ExitStatus {
  bool exited = false;  // true: `code` is valid; false: killed by `signal`
  int code = 0;
  int signal = 0;
  bool success() const { return exited && code == 0; }
  // "exit code 3", "killed by signal 9 (Killed)".
  std::string describe() const;
};

// A running child and the read end of its output pipe. Movable, not copyable.
// The destructor kills the group (SIGKILL) and reaps the child if the owner
// did not wait for it, so no child outlives its owner unnoticed.
class Process {
 public:
  Process() = default;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  pid_t pid() const { return pid_; }
  // The read end of the stdout+stderr pipe (non-blocking, close-on-exec);
  // -1 after close_output().
  int output_fd() const { return out_fd_; }
  void close_output();

  // Reads what is available now into `out`; returns false at end of output.
  Result<bool> read_available(std::string& out);

  // Blocks until the child ends (REQUIRES: not yet waited).
  Result<ExitStatus> wait();
  // Non-blocking: the status if the child has ended, else nullopt.
  Result<std::optional<ExitStatus>> poll();

  // SIGTERM to the group; SIGKILL to the group once `grace` has passed
  // without the child ending. Returns how it ended.
  Result<ExitStatus> terminate(std::chrono::milliseconds grace);

 private:
  friend Result<Process> spawn(const ProcessSpec& spec);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool reaped_ = false;
};

// Starts the child. Fails when the program cannot be found or executed, with
// a message naming it ("spawn make: No such file or directory").
Result<Process> spawn(const ProcessSpec& spec);

// Decodes a waitpid status.
ExitStatus decode_wait_status(int status);

}  // namespace stageline::jobs
