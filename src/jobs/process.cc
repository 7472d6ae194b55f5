#include "jobs/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <thread>

namespace stageline::jobs {

namespace {

std::string errno_text(int err) { return strerror(err); }

// Finds `program` in the PATH of the child's environment (not ours): the
// child's environment is the one the action declared.
std::string resolve(const std::string& program, const std::map<std::string, std::string>& env) {
  if (program.find('/') != std::string::npos) return program;
  auto it = env.find("PATH");
  std::string path = it == env.end() ? "/usr/bin:/bin" : it->second;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    std::string dir =
        path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return "exit code " + std::to_string(code);
  const char* name = strsignal(signal);
  return "killed by signal " + std::to_string(signal) +
         (name ? " (" + std::string(name) + ")" : "");
}

ExitStatus decode_wait_status(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  return s;
}

Process::Process(Process&& o) noexcept : pid_(o.pid_), out_fd_(o.out_fd_), reaped_(o.reaped_) {
  o.pid_ = -1;
  o.out_fd_ = -1;
  o.reaped_ = true;
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    this->~Process();
    pid_ = o.pid_;
    out_fd_ = o.out_fd_;
    reaped_ = o.reaped_;
    o.pid_ = -1;
    o.out_fd_ = -1;
    o.reaped_ = true;
  }
  return *this;
}

Process::~Process() {
  close_output();
  if (pid_ > 0 && !reaped_) {
    kill(-pid_, SIGKILL);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void Process::close_output() {
  if (out_fd_ >= 0) close(out_fd_);
  out_fd_ = -1;
}

Result<bool> Process::read_available(std::string& out) {
  if (out_fd_ < 0) return false;
  char buf[65536];
  while (true) {
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    return Status::io("read output of process " + std::to_string(pid_) + ": " + errno_text(errno));
  }
}

Result<ExitStatus> Process::wait() {
  int status;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR)
      return Status::io("wait for process " + std::to_string(pid_) + ": " + errno_text(errno));
  }
  reaped_ = true;
  return decode_wait_status(status);
}

Result<std::optional<ExitStatus>> Process::poll() {
  int status;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r < 0)
    return Status::io("wait for process " + std::to_string(pid_) + ": " + errno_text(errno));
  if (r == 0) return std::optional<ExitStatus>();
  reaped_ = true;
  return std::optional<ExitStatus>(decode_wait_status(status));
}

Result<ExitStatus> Process::terminate(std::chrono::milliseconds grace) {
  if (reaped_) return Status::internal("terminate: process already waited for");
  kill(-pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    auto polled = poll();
    if (!polled.ok()) return polled.status();
    if (polled->has_value()) {
      kill(-pid_, SIGKILL);  // descendants that ignored SIGTERM
      return **polled;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(-pid_, SIGKILL);
  return wait();
}

Result<Process> spawn(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Status::invalid("spawn: empty command");
  std::string program = resolve(spec.argv[0], spec.env);
  if (program.empty())
    return Status::not_found("spawn " + spec.argv[0] + ": not found in PATH of the action");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::io("spawn: pipe: " + errno_text(errno));
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  // Nothing else is inherited, whatever a library forgot to mark close-on-exec.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  env_strings.reserve(spec.env.size());
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return Status::io("spawn " + spec.argv[0] + ": " + errno_text(rc));
  }
  if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
    int err = errno;
    kill(-pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    return Status::io("spawn: set output non-blocking: " + errno_text(err));
  }
  Process p;
  p.pid_ = pid;
  p.out_fd_ = fds[0];
  return p;
}

}  // namespace stageline::jobs
