#include "deploy/appspec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>

#include "base/files.h"
#include "base/strings.h"

namespace stageline::deploy {

namespace {

const std::vector<std::string>& hook_events() {
  static const std::vector<std::string> kEvents = {
      kApplicationStop,    kBeforeInstall,       kAfterInstall,
      kApplicationStart,   kValidateService,     "BeforeBlockTraffic",
      "AfterBlockTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"};
  return kEvents;
}

class Problems {
 public:
  void add(const YAML::Node& at, const std::string& path, const std::string& what) {
    const int line = at.IsDefined() ? at.Mark().line + 1 : 0;
    list_.push_back((line > 0 ? "line " + std::to_string(line) + ": " : std::string()) + path +
                    ": " + what);
  }
  bool empty() const { return list_.empty(); }
  Status status() const { return Status::invalid("appspec.yml: " + join(list_, "; ")); }

 private:
  std::vector<std::string> list_;
};

std::string kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "empty";
    default:
      return "a value";
  }
}

bool read_string(const YAML::Node& n, const std::string& path, Problems& problems,
                 std::string& out) {
  if (!n.IsScalar()) {
    problems.add(n, path, "must be a string, not " + kind_of(n));
    return false;
  }
  out = n.Scalar();
  return true;
}

// Rejects map keys outside `known`, suggesting the closest one.
void check_keys(const YAML::Node& map, const std::string& path,
                const std::vector<std::string>& known, Problems& problems) {
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string what = "is not an AppSpec key";
    if (std::string near = closest_match(key, known); !near.empty())
      what += " (did you mean " + near + "?)";
    problems.add(kv.first, path.empty() ? key : path + "." + key, what);
  }
}

bool is_absolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

// ".." anywhere would let a revision write outside the target directory.
bool has_dot_dot(const std::string& p) {
  for (const std::string& part : split(p, '/'))
    if (part == "..") return true;
  return false;
}

void read_files(const YAML::Node& n, Problems& problems, AppSpec& spec) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) {
    problems.add(n, "files", "must be a list of {source, destination}, not " + kind_of(n));
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node item = n[i];
    const std::string path = "files[" + std::to_string(i) + "]";
    if (!item.IsMap()) {
      problems.add(item, path, "must be a map with source and destination, not " + kind_of(item));
      continue;
    }
    check_keys(item, path, {"source", "destination"}, problems);
    FileMapping m;
    bool good = true;
    for (const char* key : {"source", "destination"}) {
      const YAML::Node v = item[key];
      if (!v.IsDefined()) {
        problems.add(item, path + "." + key, "is required");
        good = false;
        continue;
      }
      std::string text;
      if (!read_string(v, path + "." + key, problems, text)) {
        good = false;
        continue;
      }
      if (std::string(key) == "source") {
        if (has_dot_dot(text)) {
          problems.add(v, path + ".source", "must not contain '..'");
          good = false;
        }
        m.source = text;
      } else {
        if (!is_absolute(text)) {
          problems.add(v, path + ".destination",
                       "must be an absolute path (it is rooted under the instance's target "
                       "directory), not " +
                           quote(text));
          good = false;
        } else if (has_dot_dot(text)) {
          problems.add(v, path + ".destination", "must not contain '..'");
          good = false;
        }
        m.destination = text;
      }
    }
    if (good) spec.files.push_back(std::move(m));
  }
}

std::optional<mode_t> parse_mode(const std::string& text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    value = value * 8 + static_cast<unsigned>(c - '0');
  }
  return static_cast<mode_t>(value);
}

void read_permissions(const YAML::Node& n, Problems& problems, AppSpec& spec) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) {
    problems.add(n, "permissions", "must be a list, not " + kind_of(n));
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node item = n[i];
    const std::string path = "permissions[" + std::to_string(i) + "]";
    if (!item.IsMap()) {
      problems.add(item, path, "must be a map with at least object, not " + kind_of(item));
      continue;
    }
    check_keys(item, path,
               {"object", "pattern", "except", "owner", "group", "mode", "acls", "context", "type"},
               problems);
    Permission p;
    const YAML::Node object = item["object"];
    if (!object.IsDefined()) {
      problems.add(item, path + ".object", "is required");
      continue;
    }
    if (!read_string(object, path + ".object", problems, p.object)) continue;
    if (!is_absolute(p.object) || has_dot_dot(p.object)) {
      problems.add(object, path + ".object", "must be an absolute path without '..'");
      continue;
    }
    if (const YAML::Node v = item["pattern"]; v.IsDefined())
      read_string(v, path + ".pattern", problems, p.pattern);
    if (const YAML::Node v = item["except"]; v.IsDefined()) {
      if (v.IsSequence()) {
        for (size_t j = 0; j < v.size(); ++j) {
          std::string e;
          if (read_string(v[j], path + ".except[" + std::to_string(j) + "]", problems, e))
            p.except.push_back(e);
        }
      } else {
        problems.add(v, path + ".except", "must be a list of patterns, not " + kind_of(v));
      }
    }
    if (const YAML::Node v = item["owner"]; v.IsDefined())
      read_string(v, path + ".owner", problems, p.owner);
    if (const YAML::Node v = item["group"]; v.IsDefined())
      read_string(v, path + ".group", problems, p.group);
    if (const YAML::Node v = item["mode"]; v.IsDefined()) {
      std::string text;
      if (read_string(v, path + ".mode", problems, text)) {
        p.mode = parse_mode(text);
        if (!p.mode)
          problems.add(v, path + ".mode",
                       "must be up to four octal digits such as 644 or \"0755\", not " +
                           quote(text) + " (symbolic modes like u+x are not allowed)");
      }
    }
    for (const char* unsupported : {"acls", "context"}) {
      if (item[unsupported].IsDefined())
        problems.add(item[unsupported], path + "." + unsupported,
                     "is not supported by Stageline (set ACLs and SELinux contexts in a hook)");
    }
    if (const YAML::Node v = item["type"]; v.IsDefined()) {
      if (!v.IsSequence()) {
        problems.add(v, path + ".type", "must be a list of file and/or directory");
      } else {
        p.files = p.directories = false;
        for (size_t j = 0; j < v.size(); ++j) {
          std::string t;
          if (!read_string(v[j], path + ".type[" + std::to_string(j) + "]", problems, t)) continue;
          if (t == "file")
            p.files = true;
          else if (t == "directory")
            p.directories = true;
          else
            problems.add(v[j], path + ".type[" + std::to_string(j) + "]",
                         "must be file or directory, not " + quote(t));
        }
      }
    }
    spec.permissions.push_back(std::move(p));
  }
}

void read_hooks(const YAML::Node& n, Problems& problems, AppSpec& spec) {
  if (n.IsNull()) return;
  if (!n.IsMap()) {
    problems.add(n, "hooks", "must be a map of lifecycle events to scripts, not " + kind_of(n));
    return;
  }
  for (const auto& kv : n) {
    const std::string event = kv.first.Scalar();
    const std::string path = "hooks." + event;
    const auto& events = hook_events();
    if (std::find(events.begin(), events.end(), event) == events.end()) {
      std::string what = "is not a lifecycle event a script can hook";
      if (std::string near = closest_match(event, events); !near.empty())
        what += " (did you mean " + near + "?)";
      problems.add(kv.first, path, what);
      continue;
    }
    std::vector<HookScript>& scripts = spec.hooks[event];
    if (kv.second.IsNull()) continue;
    if (!kv.second.IsSequence()) {
      problems.add(
          kv.second, path,
          "must be a list of scripts ({location, timeout, runas}), not " + kind_of(kv.second));
      continue;
    }
    for (size_t i = 0; i < kv.second.size(); ++i) {
      const YAML::Node item = kv.second[i];
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      if (!item.IsMap()) {
        problems.add(item, item_path, "must be a map with location, not " + kind_of(item));
        continue;
      }
      check_keys(item, item_path, {"location", "timeout", "runas"}, problems);
      HookScript h;
      const YAML::Node location = item["location"];
      if (!location.IsDefined()) {
        problems.add(item, item_path + ".location", "is required");
        continue;
      }
      if (!read_string(location, item_path + ".location", problems, h.location)) continue;
      if (h.location.empty() || has_dot_dot(h.location)) {
        problems.add(location, item_path + ".location",
                     "must be a path inside the revision, not " + quote(h.location));
        continue;
      }
      if (const YAML::Node v = item["timeout"]; v.IsDefined()) {
        std::string text;
        if (read_string(v, item_path + ".timeout", problems, text)) {
          int seconds = 0;
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
          if (ec != std::errc() || end != text.data() + text.size() || seconds < 1 ||
              seconds > 3600)
            problems.add(v, item_path + ".timeout",
                         "must be a whole number of seconds from 1 to 3600, not " + quote(text));
          else
            h.timeout = std::chrono::seconds(seconds);
        }
      }
      if (const YAML::Node v = item["runas"]; v.IsDefined())
        read_string(v, item_path + ".runas", problems, h.runas);
      scripts.push_back(std::move(h));
    }
  }
}

}  // namespace

const std::vector<HookScript>& AppSpec::scripts(const std::string& event) const {
  static const std::vector<HookScript> kNone;
  auto it = hooks.find(event);
  return it == hooks.end() ? kNone : it->second;
}

Result<AppSpec> parse_appspec(std::string_view text) {
  // yaml-cpp reports malformed YAML by exception; it never leaves this file.
  Problems problems;
  AppSpec spec;
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap())
      return Status::invalid(
          "appspec.yml: line 1: must be a map with version, os, files and "
          "hooks, not " +
          kind_of(root));
    check_keys(root, "", {"version", "os", "files", "permissions", "hooks", "file_exists_behavior"},
               problems);
    const YAML::Node version = root["version"];
    std::string v;
    if (!version.IsDefined())
      problems.add(root, "version", "is required (version: 0.0)");
    else if (read_string(version, "version", problems, v) && v != "0.0")
      problems.add(version, "version", "must be 0.0, not " + quote(v));
    const YAML::Node os = root["os"];
    if (!os.IsDefined()) {
      problems.add(root, "os", "is required (os: linux)");
    } else if (read_string(os, "os", problems, spec.os) && spec.os != "linux") {
      problems.add(os, "os",
                   spec.os == "windows"
                       ? "windows is not supported: instances here are Linux directories"
                       : "must be linux or windows, not " + quote(spec.os));
    }
    if (const YAML::Node n = root["files"]; n.IsDefined()) read_files(n, problems, spec);
    if (const YAML::Node n = root["permissions"]; n.IsDefined())
      read_permissions(n, problems, spec);
    if (const YAML::Node n = root["hooks"]; n.IsDefined()) read_hooks(n, problems, spec);
    if (const YAML::Node n = root["file_exists_behavior"]; n.IsDefined()) {
      std::string b;
      if (read_string(n, "file_exists_behavior", problems, b)) {
        if (b == "DISALLOW")
          spec.file_exists_behavior = FileExistsBehavior::kDisallow;
        else if (b == "OVERWRITE")
          spec.file_exists_behavior = FileExistsBehavior::kOverwrite;
        else if (b == "RETAIN")
          spec.file_exists_behavior = FileExistsBehavior::kRetain;
        else
          problems.add(n, "file_exists_behavior",
                       "must be DISALLOW, OVERWRITE or RETAIN, not " + quote(b));
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::invalid("appspec.yml: line " + std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!problems.empty()) return problems.status();
  return spec;
}

Result<AppSpec> load_appspec(const std::filesystem::path& revision_dir) {
  for (const char* name : {"appspec.yml", "appspec.yaml"}) {
    const std::filesystem::path file = revision_dir / name;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) continue;
    auto text = read_file(file);
    if (!text) return Status::io("read " + file.string());
    return parse_appspec(*text);
  }
  return Status::not_found(
      "the revision has no appspec.yml (or appspec.yaml) at its root; CodeDeploy needs one to "
      "know which files to install and which hooks to run");
}

}  // namespace stageline::deploy
