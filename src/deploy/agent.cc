#include "deploy/agent.h"

#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "base/files.h"
#include "jobs/process.h"

namespace stageline::deploy {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

constexpr size_t kLogTail = 2048;
constexpr milliseconds kTick{50};
constexpr milliseconds kKillGrace{2000};

std::string tail(const std::string& text) {
  return text.size() <= kLogTail ? text : text.substr(text.size() - kLogTail);
}

// A user of the system, looked up once per hook.
struct UserEntry {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

std::optional<UserEntry> lookup_user(const std::string& name) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
    return std::nullopt;
  return UserEntry{pw.pw_uid, pw.pw_gid, pw.pw_dir ? pw.pw_dir : "/"};
}

std::optional<uid_t> lookup_uid(const std::string& name) {
  if (auto u = lookup_user(name)) return u->uid;
  return std::nullopt;
}

std::optional<gid_t> lookup_gid(const std::string& name) {
  struct group gr;
  struct group* found = nullptr;
  std::vector<char> buf(16384);
  if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || found == nullptr)
    return std::nullopt;
  return gr.gr_gid;
}

std::string relative_string(const fs::path& p, const fs::path& root) {
  return p.lexically_relative(root).generic_string();
}

// The target directory joined with an appspec path ("/var/www" ->
// <target>/var/www); the parser already refused "..".
fs::path rooted(const fs::path& target, const std::string& absolute) {
  return target / fs::path(absolute).relative_path();
}

// ---- Install: the files of the previous Install, the copy, permissions ----

struct Manifest {
  std::vector<std::string> files;  // relative to the target directory
  std::vector<std::string> dirs;   // in creation order
};

Manifest read_manifest(const fs::path& file) {
  Manifest m;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 3) continue;
    if (line[0] == 'f') m.files.push_back(line.substr(2));
    if (line[0] == 'd') m.dirs.push_back(line.substr(2));
  }
  return m;
}

Status write_manifest(const fs::path& file, const Manifest& m) {
  std::string text;
  for (const auto& d : m.dirs) text += "d " + d + "\n";
  for (const auto& f : m.files) text += "f " + f + "\n";
  return write_file(file, text);
}

// Removes what the previous Install created: its files, then its
// directories that are empty now, deepest first.
Status remove_installed(const fs::path& target, const Manifest& m) {
  for (const auto& f : m.files) {
    std::error_code ec;
    fs::remove(target / f, ec);
    if (ec) return Status::io("remove " + (target / f).string() + ": " + ec.message());
  }
  std::vector<std::string> dirs = m.dirs;
  std::sort(dirs.begin(), dirs.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& d : dirs) {
    std::error_code ec;
    if (fs::is_directory(target / d, ec) && fs::is_empty(target / d, ec))
      fs::remove(target / d, ec);
  }
  return {};
}

class Installer {
 public:
  Installer(const fs::path& revision, const fs::path& target, const AppSpec& spec)
      : revision_(revision), target_(target), spec_(spec) {}

  const Manifest& manifest() const { return manifest_; }

  Status install() {
    for (size_t i = 0; i < spec_.files.size(); ++i) {
      const FileMapping& m = spec_.files[i];
      const std::string src_rel =
          m.source == "/" ? "" : fs::path(m.source).relative_path().string();
      const fs::path src = src_rel.empty() ? revision_ : revision_ / src_rel;
      const fs::path dest_root = rooted(target_, m.destination);
      std::error_code ec;
      const auto st = fs::symlink_status(src, ec);
      if (ec || !fs::exists(st))
        return Status::not_found("files[" + std::to_string(i) + "]: source " + m.source +
                                 " is not in the revision");
      if (fs::is_directory(st)) {
        if (Status s = make_dirs(dest_root); !s.ok()) return s;
        fs::recursive_directory_iterator it(src, ec), end;
        if (ec) return Status::io("read " + src.string() + ": " + ec.message());
        for (; it != end; it.increment(ec)) {
          if (ec) return Status::io("read " + src.string() + ": " + ec.message());
          const fs::path to = dest_root / it->path().lexically_relative(src);
          if (it->is_directory() && !it->is_symlink()) {
            if (Status s = make_dirs(to); !s.ok()) return s;
          } else if (Status s = copy_one(it->path(), to); !s.ok()) {
            return s;
          }
        }
      } else {
        if (Status s = make_dirs(dest_root); !s.ok()) return s;
        if (Status s = copy_one(src, dest_root / src.filename()); !s.ok()) return s;
      }
    }
    return {};
  }

  Status apply_permissions() {
    for (size_t i = 0; i < spec_.permissions.size(); ++i) {
      const Permission& p = spec_.permissions[i];
      const std::string where = "permissions[" + std::to_string(i) + "] (" + p.object + ")";
      const fs::path object = rooted(target_, p.object);
      std::error_code ec;
      const auto st = fs::symlink_status(object, ec);
      if (ec || !fs::exists(st))
        return Status::not_found(where + ": " + object.string() + " does not exist");
      std::optional<uid_t> uid;
      std::optional<gid_t> gid;
      if (!p.owner.empty() && !(uid = lookup_uid(p.owner)))
        return Status::invalid(where + ": owner " + p.owner + " is not a user of this host");
      if (!p.group.empty() && !(gid = lookup_gid(p.group)))
        return Status::invalid(where + ": group " + p.group + " is not a group of this host");
      if (!fs::is_directory(st)) {
        if (Status s = apply(object, p, uid, gid, where); !s.ok()) return s;
        continue;
      }
      fs::recursive_directory_iterator it(object, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        if (it->is_symlink()) continue;
        const bool dir = it->is_directory();
        if ((dir && !p.directories) || (!dir && !p.files)) continue;
        const std::string name = it->path().filename().string();
        if (p.pattern != "**" && fnmatch(p.pattern.c_str(), name.c_str(), 0) != 0) continue;
        if (std::any_of(p.except.begin(), p.except.end(), [&](const std::string& e) {
              return fnmatch(e.c_str(), name.c_str(), 0) == 0;
            }))
          continue;
        if (Status s = apply(it->path(), p, uid, gid, where); !s.ok()) return s;
      }
      if (ec) return Status::io(where + ": read " + object.string() + ": " + ec.message());
    }
    return {};
  }

 private:
  Status apply(const fs::path& path, const Permission& p, std::optional<uid_t> uid,
               std::optional<gid_t> gid, const std::string& where) {
    if (p.mode && ::chmod(path.c_str(), *p.mode) != 0)
      return Status::io(where + ": chmod " + path.string() + ": " + strerror(errno));
    if ((uid || gid) && ::lchown(path.c_str(), uid ? *uid : static_cast<uid_t>(-1),
                                 gid ? *gid : static_cast<gid_t>(-1)) != 0)
      return Status::io(
          where + ": chown " + path.string() + ": " + strerror(errno) +
          (geteuid() != 0 ? " (owner and group need the server to run as root)" : ""));
    return {};
  }

  Status make_dirs(const fs::path& dir) {
    std::vector<fs::path> missing;
    for (fs::path p = dir; !p.empty() && p != target_ && p != p.root_path(); p = p.parent_path()) {
      std::error_code ec;
      if (fs::exists(p, ec)) break;
      missing.push_back(p);
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::io("create directory " + dir.string() + ": " + ec.message());
    for (auto it = missing.rbegin(); it != missing.rend(); ++it)
      manifest_.dirs.push_back(relative_string(*it, target_));
    return {};
  }

  Status copy_one(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    const bool exists = fs::exists(fs::symlink_status(to, ec));
    if (exists) {
      switch (spec_.file_exists_behavior) {
        case FileExistsBehavior::kDisallow:
          return Status(StatusCode::kAlreadyExists,
                        "The deployment failed because a specified file already exists at this "
                        "location: " +
                            to.string() + " (set file_exists_behavior to OVERWRITE or RETAIN)");
        case FileExistsBehavior::kRetain:
          return {};
        case FileExistsBehavior::kOverwrite:
          fs::remove(to, ec);
          break;
      }
    }
    if (Status s = make_dirs(to.parent_path()); !s.ok()) return s;
    if (fs::is_symlink(fs::symlink_status(from, ec)))
      fs::copy_symlink(from, to, ec);
    else
      fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) return Status::io("copy " + from.string() + " to " + to.string() + ": " + ec.message());
    manifest_.files.push_back(relative_string(to, target_));
    return {};
  }

  fs::path revision_;
  fs::path target_;
  const AppSpec& spec_;
  Manifest manifest_;
};

Status copy_tree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directories(to.parent_path(), ec);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return Status::io("copy the revision to " + to.string() + ": " + ec.message());
  return {};
}

// The run of one instance's lifecycle: the events and their records.
class Lifecycle {
 public:
  explicit Lifecycle(const InstanceDeployment& d) : d_(d) {
    for (const std::string& name : lifecycle_events()) {
      LifecycleEventRecord r;
      r.name = name;
      result_.events.push_back(std::move(r));
    }
  }

  InstanceResult run() {
    std::error_code ec;
    fs::create_directories(d_.state_dir / "revisions", ec);
    fs::create_directories(d_.target_dir, ec);
    if (ec)
      return fail_now(0, "UnknownError", "",
                      "create target directory " + d_.target_dir.string() + ": " + ec.message());
    const fs::path revision = d_.state_dir / "revisions" / d_.deployment_id;
    std::optional<AppSpec> spec;

    // ApplicationStop: the scripts of the last good revision.
    begin(0);
    if (auto previous = last_good_revision(d_.state_dir)) {
      auto previous_spec = load_appspec(*previous);
      if (previous_spec.ok()) {
        if (!run_scripts(0, *previous_spec, *previous)) return finish();
      } else {
        line("ApplicationStop: the last good revision's appspec cannot be read (" +
             previous_spec.status().message() + "); nothing to stop");
      }
    }
    succeed(0);
    if (stopped()) return finish();

    // DownloadBundle: our own copy, which later rollbacks redeploy.
    begin(1);
    if (Status s = copy_tree(d_.bundle_dir, revision); !s.ok())
      return fail(1, "UnknownError", "", s.message());
    auto loaded = load_appspec(revision);
    if (!loaded.ok()) return fail(1, "UnknownError", "appspec.yml", loaded.status().message());
    spec = std::move(*loaded);
    succeed(1);
    if (stopped()) return finish();

    begin(2);
    if (!run_scripts(2, *spec, revision)) return finish();
    succeed(2);
    if (stopped()) return finish();

    // Install.
    begin(3);
    const fs::path manifest_file = d_.state_dir / "installed";
    if (Status s = remove_installed(d_.target_dir, read_manifest(manifest_file)); !s.ok())
      return fail(3, "UnknownError", "", "remove the previous revision's files: " + s.message());
    Installer installer(revision, d_.target_dir, *spec);
    Status installed = installer.install();
    // What was created is recorded even when the copy failed half-way, so
    // the next Install (a rollback) removes it.
    if (Status s = write_manifest(manifest_file, installer.manifest()); !s.ok() && installed.ok())
      installed = s;
    if (installed.ok()) installed = installer.apply_permissions();
    if (!installed.ok()) return fail(3, "UnknownError", "", installed.message());
    line("Install: " + std::to_string(installer.manifest().files.size()) + " files into " +
         d_.target_dir.string());
    succeed(3);

    for (size_t i = 4; i < result_.events.size(); ++i) {
      if (stopped()) return finish();
      begin(i);
      if (!run_scripts(i, *spec, revision)) return finish();
      succeed(i);
    }
    if (Status s = write_file(d_.state_dir / "last-good", d_.deployment_id + "\n"); !s.ok())
      return fail(result_.events.size() - 1, "UnknownError", "", s.message());
    result_.status = "Succeeded";
    return finish();
  }

 private:
  void line(const std::string& text) {
    if (d_.on_line) d_.on_line("[" + d_.instance_name + "] " + text);
  }
  void progress() {
    if (d_.on_progress) d_.on_progress(result_.events);
  }
  bool stopped() {
    if (!d_.cancelled || !d_.cancelled()) return false;
    result_.status = "Stopped";
    result_.message = "instance " + d_.instance_name + ": the deployment was stopped";
    return true;
  }
  void begin(size_t i) {
    result_.events[i].status = "InProgress";
    result_.events[i].start_ms = d_.now_ms();
    progress();
  }
  void succeed(size_t i) {
    auto& e = result_.events[i];
    e.status = "Succeeded";
    e.end_ms = d_.now_ms();
    e.error_code = "Success";
    e.message = "Succeeded";
    progress();
  }
  InstanceResult fail(size_t i, const std::string& code, const std::string& script,
                      const std::string& message) {
    auto& e = result_.events[i];
    e.status = "Failed";
    e.end_ms = d_.now_ms();
    e.error_code = code;
    e.script_name = script;
    e.message = message;
    result_.status = "Failed";
    result_.message = "instance " + d_.instance_name + ": " + e.name + " failed: " + message;
    line(e.name + " failed: " + message);
    // The failed revision's copy is never redeployed.
    std::error_code ec;
    fs::remove_all(d_.state_dir / "revisions" / d_.deployment_id, ec);
    return finish();
  }
  InstanceResult fail_now(size_t i, const std::string& code, const std::string& script,
                          const std::string& message) {
    begin(i);
    return fail(i, code, script, message);
  }
  InstanceResult finish() {
    if (result_.status.empty()) result_.status = "Stopped";
    for (auto& e : result_.events) {
      if (e.status == "Pending") e.status = "Skipped";
      if (e.status == "InProgress") {
        e.status = result_.status == "Stopped" ? "Failed" : e.status;
        e.end_ms = d_.now_ms();
      }
    }
    progress();
    return result_;
  }

  // Runs the scripts of event `i`; false (with the event failed) when one
  // fails or the run is cancelled.
  bool run_scripts(size_t i, const AppSpec& spec, const fs::path& revision) {
    auto& e = result_.events[i];
    std::map<std::string, std::string> env = d_.base_environment;
    for (const auto& [k, v] : d_.extra_environment) env[k] = v;
    env["LIFECYCLE_EVENT"] = e.name;
    env["DEPLOYMENT_ID"] = d_.deployment_id;
    env["APPLICATION_NAME"] = d_.application_name;
    env["DEPLOYMENT_GROUP_NAME"] = d_.deployment_group_name;
    env["DEPLOYMENT_GROUP_ID"] = d_.deployment_group_id;
    env["STAGELINE_TARGET_DIR"] = d_.target_dir.string();
    env["STAGELINE_INSTANCE_NAME"] = d_.instance_name;
    std::string output;
    for (const HookScript& script : spec.scripts(e.name)) {
      line(e.name + ": running " + script.location);
      HookRun run = run_hook(
          script, revision, env,
          [&](std::string_view text) { line(e.name + ": " + std::string(text)); }, d_.cancelled);
      output += run.output;
      e.log_tail = tail(output);
      if (run.error_code != "Success") {
        if (d_.cancelled && d_.cancelled()) {
          stopped();
          e.status = "Failed";
          e.error_code = "ScriptFailed";
          e.script_name = script.location;
          e.message = "the deployment was stopped";
          return false;
        }
        fail(i, run.error_code, script.location, "script " + script.location + " " + run.message);
        return false;
      }
    }
    return true;
  }

  const InstanceDeployment& d_;
  InstanceResult result_;
};

}  // namespace

const std::vector<std::string>& lifecycle_events() {
  static const std::vector<std::string> kEvents = {
      kApplicationStop, "DownloadBundle",  kBeforeInstall,  "Install",
      kAfterInstall,    kApplicationStart, kValidateService};
  return kEvents;
}

InstanceResult deploy_revision(const InstanceDeployment& deployment) {
  STAGELINE_CHECK(deployment.now_ms != nullptr);
  return Lifecycle(deployment).run();
}

std::optional<fs::path> last_good_revision(const fs::path& state_dir) {
  auto id = read_file(state_dir / "last-good");
  if (!id) return std::nullopt;
  while (!id->empty() && (id->back() == '\n' || id->back() == ' ')) id->pop_back();
  if (id->empty() || id->find('/') != std::string::npos) return std::nullopt;
  const fs::path dir = state_dir / "revisions" / *id;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  return dir;
}

void prune_revisions(const fs::path& state_dir) {
  const auto keep = last_good_revision(state_dir);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(state_dir / "revisions", ec)) {
    if (keep && entry.path() == *keep) continue;
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
  }
}

HookRun run_hook(const HookScript& script, const fs::path& revision_dir,
                 const std::map<std::string, std::string>& environment,
                 const std::function<void(std::string_view)>& on_line,
                 const std::function<bool()>& cancelled) {
  HookRun run;
  const fs::path path = revision_dir / fs::path(script.location).relative_path();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    run.error_code = "ScriptMissing";
    run.message = "does not exist at the specified location: " + path.string();
    return run;
  }
  // As the CodeDeploy agent does: a script that is not executable is made so.
  if (::access(path.c_str(), X_OK) != 0) {
    fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add, ec);
    if (ec) {
      run.error_code = "ScriptNotExecutable";
      run.message = "is not executable and cannot be made so: " + ec.message();
      return run;
    }
  }
  jobs::ProcessSpec spec;
  spec.env = environment;
  spec.cwd = revision_dir.string();
  spec.argv = {path.string()};
  if (!script.runas.empty()) {
    auto user = lookup_user(script.runas);
    if (!user) {
      run.error_code = "ScriptFailed";
      run.message = "cannot run as " + script.runas + ": no such user on this host";
      return run;
    }
    if (user->uid != geteuid()) {
      if (geteuid() != 0) {
        run.error_code = "ScriptFailed";
        run.message = "cannot run as " + script.runas + ": the server runs as uid " +
                      std::to_string(geteuid()) +
                      ", not as root, so it can run hooks only as itself (remove runas, or run "
                      "the server as root)";
        return run;
      }
      // setpriv (util-linux) switches uid, gid and groups in the child
      // before it execs the script: posix_spawn cannot, and a fork here
      // would have to stay async-signal-safe up to exec.
      spec.argv = {"/usr/bin/setpriv",
                   "--reuid=" + std::to_string(user->uid),
                   "--regid=" + std::to_string(user->gid),
                   "--init-groups",
                   "--",
                   path.string()};
      spec.env["HOME"] = user->home;
      spec.env["USER"] = script.runas;
      spec.env["LOGNAME"] = script.runas;
    }
  }
  auto spawned = jobs::spawn(spec);
  if (!spawned.ok()) {
    run.error_code = "ScriptFailed";
    run.message = "could not start: " + spawned.status().message();
    return run;
  }
  jobs::Process process = std::move(*spawned);
  const auto deadline = steady_clock::now() + script.timeout;
  std::string pending;
  auto forward = [&](bool all) {
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
      if (on_line) on_line(std::string_view(pending).substr(start, nl - start));
    pending.erase(0, start);
    if (all && !pending.empty()) {
      if (on_line) on_line(pending);
      pending.clear();
    }
  };
  auto drain = [&] {
    std::string chunk;
    auto more = process.read_available(chunk);
    run.output += chunk;
    pending += chunk;
    forward(false);
    if (more.ok() && !*more) process.close_output();
  };
  while (true) {
    pollfd fd{process.output_fd(), POLLIN, 0};
    if (process.output_fd() >= 0)
      ::poll(&fd, 1, static_cast<int>(kTick.count()));
    else
      std::this_thread::sleep_for(kTick);
    drain();
    auto polled = process.poll();
    if (!polled.ok()) {
      run.error_code = "UnknownError";
      run.message = polled.status().message();
      return run;
    }
    if (polled->has_value()) {
      // The script has ended; what it left running (a daemon ApplicationStart
      // started) may hold the pipe open, so only what is there now is read.
      drain();
      forward(true);
      const jobs::ExitStatus status = **polled;
      if (status.success()) {
        run.error_code = "Success";
      } else {
        run.error_code = "ScriptFailed";
        run.message = status.exited ? "exited with code " + std::to_string(status.code)
                                    : "was " + status.describe();
      }
      return run;
    }
    const bool cancel = cancelled && cancelled();
    if (cancel || steady_clock::now() >= deadline) {
      (void)process.terminate(kKillGrace);
      drain();
      forward(true);
      run.error_code = cancel ? "ScriptFailed" : "ScriptTimedOut";
      run.message = cancel ? "was stopped with the deployment"
                           : "timed out after " + std::to_string(script.timeout.count()) +
                                 " seconds (the appspec's timeout); its process group was killed";
      return run;
    }
  }
}

}  // namespace stageline::deploy
