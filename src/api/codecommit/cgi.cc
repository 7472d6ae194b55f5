#include "api/codecommit/cgi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>

namespace stageline::codecommit {

namespace {

constexpr size_t kStderrKept = 64 * 1024;

std::string errno_text(int err) { return strerror(err); }

// Finds `program` in the PATH of the child's environment, not ours.
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

// Closes a descriptor once, on every path out.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

bool set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// Kills the child's group and reaps it unless released: no child outlives a
// failed run.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGKILL);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  Result<jobs::ExitStatus> wait() {
    int status;
    while (waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) return Status::io("wait for the CGI program: " + errno_text(errno));
    }
    pid_ = -1;
    return jobs::decode_wait_status(status);
  }

 private:
  pid_t pid_;
};

}  // namespace

Result<CgiOutput> run_cgi(const CgiRequest& request) {
  if (request.argv.empty()) return Status::invalid("run CGI program: no program");
  const std::string program = resolve(request.argv[0], request.env);
  if (program.empty())
    return Status::not_found("run CGI program " + request.argv[0] + ": not found on PATH");

  // stdin is a socket, not a pipe: send(MSG_NOSIGNAL) to a child that exits
  // without reading its input fails with EPIPE instead of raising SIGPIPE
  // in the server.
  int in_pair[2], out_pipe[2], err_pipe[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0)
    return Status::io("run CGI program: socketpair: " + errno_text(errno));
  Fd in_child(in_pair[0]), in_parent(in_pair[1]);
  if (pipe2(out_pipe, O_CLOEXEC) != 0)
    return Status::io("run CGI program: pipe: " + errno_text(errno));
  Fd out_parent(out_pipe[0]), out_child(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0)
    return Status::io("run CGI program: pipe: " + errno_text(errno));
  Fd err_parent(err_pipe[0]), err_child(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  if (int rc = posix_spawn_file_actions_init(&actions); rc != 0)
    return Status::io("run CGI program: " + errno_text(rc));
  if (int rc = posix_spawnattr_init(&attr); rc != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return Status::io("run CGI program: " + errno_text(rc));
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  int setup = posix_spawn_file_actions_adddup2(
      &actions, request.body_fd >= 0 ? request.body_fd : in_child.get(), 0);
  if (setup == 0) setup = posix_spawn_file_actions_adddup2(&actions, out_child.get(), 1);
  if (setup == 0) setup = posix_spawn_file_actions_adddup2(&actions, err_child.get(), 2);
  // Sockets of the server that were not opened close-on-exec stay with us.
  if (setup == 0) setup = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (setup == 0) setup = posix_spawnattr_setsigmask(&attr, &none);
  if (setup == 0) setup = posix_spawnattr_setsigdefault(&attr, &all);
  if (setup == 0) setup = posix_spawnattr_setpgroup(&attr, 0);
  if (setup == 0)
    setup = posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  if (setup != 0) {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return Status::io("run CGI program: " + errno_text(setup));
  }

  std::vector<std::string> env_strings;
  for (const auto& [k, v] : request.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = request.argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::io("run CGI program " + program + ": " + errno_text(rc));
  Child child(pid);
  in_child.reset();
  out_child.reset();
  err_child.reset();
  if (!set_nonblocking(in_parent.get()) || !set_nonblocking(out_parent.get()) ||
      !set_nonblocking(err_parent.get()))
    return Status::io("run CGI program: fcntl: " + errno_text(errno));

  CgiOutput result;
  size_t written = 0;
  if (request.body.empty() || request.body_fd >= 0) in_parent.reset();
  const auto deadline = std::chrono::steady_clock::now() + request.timeout;
  char buf[65536];
  while (out_parent.get() >= 0 || err_parent.get() >= 0) {
    pollfd fds[3];
    nfds_t n = 0;
    int in_index = -1, out_index = -1, err_index = -1;
    if (in_parent.get() >= 0) {
      in_index = static_cast<int>(n);
      fds[n++] = pollfd{in_parent.get(), POLLOUT, 0};
    }
    if (out_parent.get() >= 0) {
      out_index = static_cast<int>(n);
      fds[n++] = pollfd{out_parent.get(), POLLIN, 0};
    }
    if (err_parent.get() >= 0) {
      err_index = static_cast<int>(n);
      fds[n++] = pollfd{err_parent.get(), POLLIN, 0};
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return Status{StatusCode::kFailedPrecondition,
                    "CGI program " + request.argv[0] + " ran longer than " +
                        std::to_string(request.timeout.count()) + " ms; killed"};
    int ready = poll(fds, n, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Status::io("run CGI program: poll: " + errno_text(errno));
    }
    if (in_index >= 0 && fds[in_index].revents) {
      ssize_t w = send(in_parent.get(), request.body.data() + written,
                       request.body.size() - written, MSG_NOSIGNAL);
      if (w > 0) written += static_cast<size_t>(w);
      // A child that stops reading its input early (EPIPE) has said what it
      // wants to say on its output; that answer still counts.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == request.body.size())
        in_parent.reset();
    }
    auto drain = [&](int index, Fd& fd, std::string& into, size_t limit, bool hard) -> Status {
      if (index < 0 || !fds[index].revents) return {};
      ssize_t r = read(fd.get(), buf, sizeof buf);
      if (r == 0) {
        fd.reset();
        return {};
      }
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) return {};
        return Status::io("run CGI program: read: " + errno_text(errno));
      }
      size_t take = static_cast<size_t>(r);
      if (into.size() + take > limit) {
        if (hard)
          return Status{StatusCode::kFailedPrecondition,
                        "CGI program " + request.argv[0] + " wrote more than " +
                            std::to_string(limit) + " bytes; killed"};
        take = limit - into.size();
      }
      into.append(buf, take);
      return {};
    };
    if (Status s = drain(out_index, out_parent, result.out, request.output_limit, true); !s.ok())
      return s;
    if (Status s = drain(err_index, err_parent, result.err, kStderrKept, false); !s.ok()) return s;
  }
  in_parent.reset();
  auto exit = child.wait();
  if (!exit.ok()) return exit.status();
  result.exit = *exit;
  return result;
}

Result<http::Response> parse_cgi_response(std::string_view output) {
  http::Response response;
  size_t pos = 0;
  for (;;) {
    size_t eol = output.find('\n', pos);
    if (eol == std::string_view::npos)
      return Status::invalid("CGI response: the header lines do not end with an empty line");
    std::string_view line = output.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return Status::invalid("CGI response: header line without a name: " +
                             std::string(line.substr(0, 100)));
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    if (name.size() == 6 && strncasecmp(name.data(), "Status", 6) == 0) {
      int code = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), code);
      if (ec != std::errc() || end - value.data() != 3 || code < 100 || code > 599)
        return Status::invalid("CGI response: bad Status " + std::string(value.substr(0, 100)));
      response.status = code;
      continue;
    }
    response.headers.emplace_back(std::string(name), std::string(value));
  }
  response.body = std::string(output.substr(pos));
  return response;
}

}  // namespace stageline::codecommit
