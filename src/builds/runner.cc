#include "builds/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <regex>

#include "base/files.h"
#include "base/strings.h"
#include "jobs/process.h"
#include "secrets/masker.h"

namespace stageline::builds {

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kTick{50};
constexpr size_t kMaxLine = 64 * 1024;  // longer lines are cut

std::string sh_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += "'";
  return out;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// The program for `shell` ("bash", "/bin/sh" or "": bash when PATH has it).
std::string pick_shell(const std::string& shell, const std::map<std::string, std::string>& env) {
  if (shell == "/bin/sh") return "/bin/sh";
  auto path = env.find("PATH");
  if (path != env.end()) {
    size_t start = 0;
    while (start <= path->second.size()) {
      size_t end = path->second.find(':', start);
      if (end == std::string::npos) end = path->second.size();
      const std::string dir = path->second.substr(start, end - start);
      if (!dir.empty() && access((dir + "/bash").c_str(), X_OK) == 0) return dir + "/bash";
      start = end + 1;
    }
  }
  if (access("/bin/bash", X_OK) == 0) return "/bin/bash";
  return "/bin/sh";
}

// `program` itself when it holds a '/', else the first executable of that
// name on PATH; "" when there is none.
std::string find_program(const std::string& program,
                         const std::map<std::string, std::string>& env) {
  if (program.find('/') != std::string::npos)
    return access(program.c_str(), X_OK) == 0 ? program : "";
  auto path = env.find("PATH");
  const std::string dirs = path != env.end() ? path->second : "/usr/bin:/bin";
  for (const std::string& dir : split(dirs, ':'))
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0)
      return dir + "/" + program;
  return "";
}

// How one command ended.
struct CommandEnd {
  enum class Kind { kDone, kShellEnded, kTimedOut, kStopped };
  Kind kind = Kind::kDone;
  int code = 0;  // kDone: the exit status; kShellEnded: the shell's
  std::string describe;
};

// The long-lived shell of a build and the protocol that feeds it commands
// (see runner.h). Owns the process; the destructor kills its group.
class ShellSession {
 public:
  ShellSession(const BuildJob& job, steady_clock::time_point deadline)
      : job_(job), deadline_(deadline), masker_(job.secret_values) {}
  ~ShellSession() { stop(); }

  bool running() const { return running_; }

  Status start() {
    const fs::path in = job_.control_dir / "in.fifo";
    const fs::path status = job_.control_dir / "status.fifo";
    std::error_code ec;
    fs::remove(in, ec);
    fs::remove(status, ec);
    if (mkfifo(in.c_str(), 0600) != 0 || mkfifo(status.c_str(), 0600) != 0)
      return Status::io("make the shell's FIFOs in " + job_.control_dir.string() + ": " +
                        strerror(errno));
    // O_RDWR on the FIFO the shell reads: opening never blocks, and the
    // shell's own open finds a writer. The status FIFO is opened for
    // reading first, non-blocking, so the shell's open for writing succeeds.
    in_ = Fd(::open(in.c_str(), O_RDWR | O_CLOEXEC));
    status_ = Fd(::open(status.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (in_.get() < 0 || status_.get() < 0)
      return Status::io("open the shell's FIFOs: " + std::string(strerror(errno)));
    const std::string ctl = sh_quote(job_.control_dir.string());
    std::string script = "exec 3<" + ctl + "/in.fifo 4>" + ctl + "/status.fifo || exit 125\n";
    script +=
        "while IFS= read -r __stageline_n <&3; do\n"
        "  . " +
        ctl +
        "/cmd-\"$__stageline_n\" 3<&- 4>&-\n"
        "  printf '%s %s\\n' \"$__stageline_n\" \"$?\" >&4\n"
        "done\n";
    jobs::ProcessSpec spec;
    spec.argv = {pick_shell(job_.spec.env.shell, job_.environment), "-c", script, "build"};
    spec.env = job_.environment;
    spec.cwd = job_.source_dir.string();
    if (job_.sandbox.enabled) {
      const std::string bwrap = find_program(job_.sandbox.bwrap, job_.environment);
      if (bwrap.empty())
        return Status::invalid(
            "the project asks for the bubblewrap sandbox (tag stageline:sandbox)"
            " but " +
            job_.sandbox.bwrap +
            " is not installed; install the bubblewrap package or remove "
            "the tag");
      // --tmpfs /tmp comes before the binds, so a workspace under /tmp is
      // bound on top of the private /tmp rather than hidden by it.
      std::vector<std::string> argv = {bwrap,  "--ro-bind", "/",     "/",       "--dev",
                                       "/dev", "--proc",    "/proc", "--tmpfs", "/tmp"};
      std::vector<fs::path> rw = job_.sandbox.writable;
      rw.push_back(job_.control_dir);
      rw.push_back(job_.source_dir);
      for (const fs::path& dir : rw) {
        argv.insert(argv.end(), {"--bind", dir.string(), dir.string()});
      }
      if (!job_.sandbox.network) argv.push_back("--unshare-net");
      argv.insert(argv.end(), {"--die-with-parent", "--chdir", job_.source_dir.string(), "--"});
      argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
      spec.argv = std::move(argv);
      spec.env["TMPDIR"] = "/tmp";
      spec.env["HOME"] = "/tmp";
    }
    auto spawned = jobs::spawn(spec);
    if (!spawned.ok()) return spawned.status().with_context("start the build's shell");
    process_ = std::move(*spawned);
    pidfd_ = Fd(static_cast<int>(syscall(SYS_pidfd_open, process_.pid(), 0)));
    running_ = true;
    return {};
  }

  // Runs `text` in the shell. `log` prints "[Container] Running command".
  Result<CommandEnd> run(const std::string& text, bool log) {
    if (!running_) {
      if (Status s = start(); !s.ok()) return s;
    }
    const uint64_t n = ++counter_;
    if (Status s = write_file(job_.control_dir / ("cmd-" + std::to_string(n)), text + "\n");
        !s.ok())
      return s;
    if (log) line("[Container] Running command " + text);
    const std::string request = std::to_string(n) + "\n";
    if (::write(in_.get(), request.data(), request.size()) != static_cast<ssize_t>(request.size()))
      return Status::io("send a command to the build's shell: " + std::string(strerror(errno)));
    while (true) {
      if (job_.cancelled && job_.cancelled()) {
        kill_group();
        return CommandEnd{CommandEnd::Kind::kStopped, 0, "Stopped"};
      }
      const auto now = steady_clock::now();
      if (now >= deadline_) {
        kill_group();
        return CommandEnd{CommandEnd::Kind::kTimedOut, 0, "Build timed out"};
      }
      const auto wait = std::min(kTick, std::chrono::ceil<milliseconds>(deadline_ - now));
      pollfd fds[3] = {
          {process_.output_fd(), POLLIN, 0}, {status_.get(), POLLIN, 0}, {pidfd_.get(), POLLIN, 0}};
      if (::poll(fds, 3, static_cast<int>(wait.count())) < 0 && errno != EINTR)
        return Status::io("watch the build's shell: " + std::string(strerror(errno)));
      if (Status s = pump(); !s.ok()) return s;
      if (auto code = read_status(n)) {
        pump_all();
        flush();  // a last line without '\n' belongs to this command
        return CommandEnd{CommandEnd::Kind::kDone, *code, "exit status " + std::to_string(*code)};
      }
      if (fds[2].revents != 0 || (pidfd_.get() < 0 && exited())) {
        // The shell is gone: the status line, if any, is already written.
        if (auto code = read_status(n)) {
          pump_all();
          flush();
          return CommandEnd{CommandEnd::Kind::kDone, *code, "exit status " + std::to_string(*code)};
        }
        return shell_ended();
      }
    }
  }

  // Kills the group, forwards what is left of the output, reaps the shell.
  void stop() {
    if (!running_) return;
    kill_group();
  }

  void line(std::string_view text) {
    if (job_.on_line) job_.on_line(text);
  }

  // Forwards any partial line held back.
  void flush() {
    append(masker_.flush());
    if (!partial_.empty()) {
      line(partial_);
      partial_.clear();
    }
  }

 private:
  bool exited() {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(process_.pid()), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
      return false;
    return info.si_pid == process_.pid();
  }

  std::optional<int> read_status(uint64_t n) {
    char buf[256];
    while (true) {
      ssize_t got = ::read(status_.get(), buf, sizeof buf);
      if (got <= 0) break;
      status_text_.append(buf, static_cast<size_t>(got));
    }
    std::optional<int> result;
    size_t nl;
    while ((nl = status_text_.find('\n')) != std::string::npos) {
      const std::string entry = status_text_.substr(0, nl);
      status_text_.erase(0, nl + 1);
      const size_t space = entry.find(' ');
      if (space == std::string::npos) continue;
      if (entry.substr(0, space) == std::to_string(n))
        result = std::atoi(entry.c_str() + space + 1);
    }
    return result;
  }

  Status pump() {
    if (process_.output_fd() < 0) return {};
    std::string chunk;
    auto more = process_.read_available(chunk);
    if (!more.ok()) return more.status();
    // Masked before lines are cut, so neither a split read nor the cut of
    // a long line can let part of a secret through.
    append(masker_.feed(chunk));
    if (!*more) process_.close_output();
    return {};
  }

  void append(std::string_view text) {
    for (char c : text) {
      if (c == '\n') {
        line(partial_);
        partial_.clear();
      } else {
        partial_ += c;
        if (partial_.size() >= kMaxLine) {
          line(partial_);
          partial_.clear();
        }
      }
    }
  }

  // Reads what the pipe holds now (after a command ended, its output is in
  // the pipe already, unless a background process still writes).
  void pump_all() {
    for (int i = 0; i < 64 && process_.output_fd() >= 0; ++i) {
      pollfd pfd{process_.output_fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 0) <= 0) break;
      if (!pump().ok()) break;
    }
  }

  CommandEnd shell_ended() {
    kill_group();
    CommandEnd end;
    end.kind = CommandEnd::Kind::kShellEnded;
    end.code = last_exit_.exited ? last_exit_.code : 128 + last_exit_.signal;
    end.describe = "the command ended the shell with " + last_exit_.describe();
    line("[Container] The command ended the shell (" + last_exit_.describe() +
         "); later commands run in a new shell");
    return end;
  }

  void kill_group() {
    if (!running_) return;
    // The shell is alive or a zombie, so its group id is still its own.
    ::kill(-process_.pid(), SIGKILL);
    pump_all();
    flush();
    auto status = process_.wait();
    last_exit_ = status.ok() ? *status : jobs::ExitStatus{};
    process_ = jobs::Process();
    pidfd_.reset();
    in_.reset();
    status_.reset();
    status_text_.clear();
    running_ = false;
  }

  const BuildJob& job_;
  steady_clock::time_point deadline_;
  jobs::Process process_;
  Fd in_, status_, pidfd_;
  std::string status_text_;
  std::string partial_;
  secrets::SecretMasker masker_;
  uint64_t counter_ = 0;
  bool running_ = false;
  jobs::ExitStatus last_exit_;
};

// The record of the build so far and its callbacks.
class Recorder {
 public:
  explicit Recorder(const BuildJob& job) : job_(job) {}
  PhaseRecord& begin(const std::string& type) {
    PhaseRecord p;
    p.type = type;
    p.start_ms = job_.now_ms();
    phases_.push_back(std::move(p));
    if (job_.on_progress) job_.on_progress(phases_);
    return phases_.back();
  }
  void end(const std::string& status) {
    PhaseRecord& p = phases_.back();
    p.status = status;
    p.end_ms = job_.now_ms();
    if (job_.on_progress) job_.on_progress(phases_);
  }
  std::vector<PhaseRecord>& phases() { return phases_; }

 private:
  const BuildJob& job_;
  std::vector<PhaseRecord> phases_;
};

struct PhaseOutcome {
  std::string status;  // SUCCEEDED, FAILED, TIMED_OUT, STOPPED
  std::string code;    // COMMAND_EXECUTION_ERROR, ...
  std::string message;
};

// Runs `commands` in order until one fails.
Result<PhaseOutcome> run_commands(ShellSession& shell, const std::vector<std::string>& commands) {
  for (const std::string& command : commands) {
    auto end = shell.run(command, true);
    if (!end.ok()) return end.status();
    switch (end->kind) {
      case CommandEnd::Kind::kTimedOut:
        return PhaseOutcome{"TIMED_OUT", "BUILD_TIMED_OUT", "Build timed out"};
      case CommandEnd::Kind::kStopped:
        return PhaseOutcome{"STOPPED", "BUILD_STOPPED", "Build stopped"};
      case CommandEnd::Kind::kDone:
      case CommandEnd::Kind::kShellEnded:
        // `exit 0` ends the shell without an error: the phase goes on.
        if (end->code == 0) continue;
        return PhaseOutcome{"FAILED", "COMMAND_EXECUTION_ERROR",
                            "Error while executing command: " + command + ". Reason: exit status " +
                                std::to_string(end->code)};
    }
  }
  return PhaseOutcome{"SUCCEEDED", "", ""};
}

// One buildspec phase: commands, then finally; RETRY runs it again.
Result<PhaseOutcome> run_phase(ShellSession& shell, const Phase& phase) {
  int retries_left = phase.on_failure == OnFailure::kRetry ? phase.retry_count : 0;
  while (true) {
    auto main = run_commands(shell, phase.commands);
    if (!main.ok()) return main.status();
    if (main->status == "TIMED_OUT" || main->status == "STOPPED") return *main;
    auto after = run_commands(shell, phase.finally);
    if (!after.ok()) return after.status();
    if (after->status == "TIMED_OUT" || after->status == "STOPPED") return *after;
    PhaseOutcome result = main->status == "SUCCEEDED" ? *after : *main;
    if (result.status == "SUCCEEDED" || retries_left <= 0) return result;
    bool matches = false;
    try {
      matches = std::regex_search(result.message, std::regex(phase.retry_regex));
    } catch (const std::regex_error&) {
      matches = false;  // checked by the parser; a surprise here just stops retrying
    }
    if (!matches) return result;
    --retries_left;
    shell.line("[Container] Retrying the phase (on-failure RETRY; " + std::to_string(retries_left) +
               " retries left)");
  }
}

Status check_environment(const std::map<std::string, std::string>& env) {
  for (const auto& [name, value] : env) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos)
      return Status::invalid("environment variable " + name +
                             ": a name must be non-empty without '=' or NUL");
    if (value.find('\0') != std::string::npos)
      return Status::invalid("environment variable " + name + ": the value holds a NUL");
  }
  return {};
}

}  // namespace

std::map<std::string, std::string> compose_environment(
    const std::map<std::string, std::string>& base,
    const std::map<std::string, std::string>& builtins, const Buildspec& spec,
    const std::vector<std::pair<std::string, std::string>>& project,
    const std::vector<std::pair<std::string, std::string>>& overrides,
    const std::vector<std::pair<std::string, std::string>>& buildspec_secrets) {
  std::map<std::string, std::string> env = base;
  for (const auto& [k, v] : builtins) env[k] = v;
  for (const auto& [k, v] : spec.env.variables) env[k] = v;
  for (const auto& [k, v] : buildspec_secrets) env[k] = v;
  for (const auto& [k, v] : project) env[k] = v;
  for (const auto& [k, v] : overrides) env[k] = v;
  return env;
}

Result<BuildResult> run_build(const BuildJob& job) {
  STAGELINE_CHECK(job.now_ms);
  if (Status s = check_environment(job.environment); !s.ok()) return s.with_context("run build");
  const auto deadline = steady_clock::now() + job.timeout;
  BuildJob shell_job = job;  // the session reads its environment
  shell_job.environment["CODEBUILD_BUILD_SUCCEEDING"] = "1";
  // Every line reaches the caller masked: the shell's (masked as a stream
  // by the session) and the runner's own, which quote commands.
  const secrets::SecretMasker line_masker(job.secret_values);
  if (job.on_line && !line_masker.empty())
    shell_job.on_line = [&job, &line_masker](std::string_view text) {
      job.on_line(line_masker.mask(text));
    };
  ShellSession shell(shell_job, deadline);
  Recorder rec(job);
  BuildResult result;
  result.status = "SUCCEEDED";

  auto fail = [&](const std::string& phase, const PhaseOutcome& o) {
    PhaseRecord& p = rec.phases().back();
    if (!o.code.empty()) p.contexts.emplace_back(o.code, o.message);
    if (result.failed_phase.empty()) {
      result.failed_phase = phase;
      result.message = "Phase " + phase + " failed: " + o.code + ": " + o.message;
    }
    if (o.status == "TIMED_OUT" || o.status == "STOPPED" || o.status == "FAULT")
      result.status = o.status;
    else if (result.status == "SUCCEEDED")
      result.status = "FAILED";
  };
  auto log = [&](const std::string& text) {
    if (shell_job.on_line) shell_job.on_line(text);
  };

  for (const char* t : {"SUBMITTED", "QUEUED"}) {
    rec.begin(t);
    rec.end("SUCCEEDED");
  }
  for (const auto& note : job.spec.notes) log("[Container] Note: " + note);

  rec.begin("PROVISIONING");
  if (Status s = shell.start(); !s.ok()) {
    fail("PROVISIONING", {"FAILED", "CLIENT_ERROR", s.message()});
    rec.end("FAILED");
  } else {
    rec.end("SUCCEEDED");
  }

  bool skip_to_finalizing = result.status != "SUCCEEDED";
  if (!skip_to_finalizing) {
    rec.begin("DOWNLOAD_SOURCE");
    Status s = job.download_source ? job.download_source() : Status();
    if (!s.ok()) {
      fail("DOWNLOAD_SOURCE", {"FAILED", "CLIENT_ERROR", s.message()});
      rec.end("FAILED");
      skip_to_finalizing = true;
    } else {
      rec.end("SUCCEEDED");
    }
  }

  bool build_failed = false;  // for CODEBUILD_BUILD_SUCCEEDING
  bool upload = !skip_to_finalizing;
  const std::pair<const char*, const Phase*> phases[] = {{"INSTALL", &job.spec.install},
                                                         {"PRE_BUILD", &job.spec.pre_build},
                                                         {"BUILD", &job.spec.build},
                                                         {"POST_BUILD", &job.spec.post_build}};
  for (const auto& [type, phase] : phases) {
    if (skip_to_finalizing) break;
    const std::string t = type;
    rec.begin(t);
    log("[Container] Entering phase " + t);
    if (build_failed) {
      auto set = shell.run("export CODEBUILD_BUILD_SUCCEEDING=0", false);
      if (!set.ok()) return set.status().with_context("run build");
    }
    auto outcome = run_phase(shell, *phase);
    if (!outcome.ok()) return outcome.status().with_context("run build: phase " + t);
    rec.end(outcome->status);
    log("[Container] Phase complete: " + t + " State: " + outcome->status);
    if (outcome->status == "SUCCEEDED") continue;
    log("[Container] Phase context status code: " + outcome->code +
        " Message: " + outcome->message);
    fail(t, *outcome);
    build_failed = true;
    if (outcome->status == "TIMED_OUT" || outcome->status == "STOPPED") {
      skip_to_finalizing = true;
      upload = false;
      break;
    }
    if (phase->on_failure == OnFailure::kAbort) {
      skip_to_finalizing = true;
      upload = false;
      break;
    }
    if (phase->on_failure == OnFailure::kContinue) continue;
    // The default transitions of §17.4.
    if (t == "INSTALL" || t == "PRE_BUILD") {
      skip_to_finalizing = true;
      upload = false;
      break;
    }
    // BUILD: POST_BUILD still runs; POST_BUILD: upload is still attempted.
  }

  // Exported variables: their values at the end of POST_BUILD.
  if (!job.spec.env.exported_variables.empty() && shell.running()) {
    const fs::path out = job.control_dir / "exported";
    std::string script = "{\n  :\n";
    for (const auto& name : job.spec.env.exported_variables)
      script += "  if [ \"${" + name + "+set}\" = set ]; then printf 'S%s\\0' \"$" + name +
                "\"; else printf 'U\\0'; fi\n";
    script += "} >| " + sh_quote(out.string());
    auto end = shell.run(script, false);
    if (!end.ok()) return end.status().with_context("run build: read exported variables");
    if (auto text = read_file(out); text && end->kind == CommandEnd::Kind::kDone) {
      size_t pos = 0;
      for (const auto& name : job.spec.env.exported_variables) {
        const size_t nul = text->find('\0', pos);
        if (nul == std::string::npos || nul == pos) break;
        if ((*text)[pos] == 'S')
          result.exported_variables[name] = text->substr(pos + 1, nul - pos - 1);
        pos = nul + 1;
      }
    }
  }
  shell.stop();

  if (upload) {
    rec.begin("UPLOAD_ARTIFACTS");
    log("[Container] Entering phase UPLOAD_ARTIFACTS");
    Status s = job.upload_artifacts ? job.upload_artifacts() : Status();
    if (!s.ok()) {
      log("[Container] Phase context status code: CLIENT_ERROR Message: " + s.message());
      rec.end("FAILED");
      fail("UPLOAD_ARTIFACTS", {"FAILED", "CLIENT_ERROR", s.message()});
    } else {
      rec.end("SUCCEEDED");
    }
  }
  rec.begin("FINALIZING");
  rec.end("SUCCEEDED");
  rec.begin("COMPLETED");
  log("[Container] Build " + result.status);
  result.phases = rec.phases();
  return result;
}

}  // namespace stageline::builds
