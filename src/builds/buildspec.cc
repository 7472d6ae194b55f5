#include "builds/buildspec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>

#include "base/strings.h"

namespace stageline::builds {

namespace {

// Collects every problem of one buildspec, each with its line and path.
class Problems {
 public:
  void add(const YAML::Node& at, const std::string& path, const std::string& what) {
    const int line = at.IsDefined() ? at.Mark().line + 1 : 0;
    std::string text = line > 0 ? "line " + std::to_string(line) + ": " : "";
    list_.push_back(text + path + ": " + what);
  }
  bool empty() const { return list_.empty(); }
  Status status() const { return Status::invalid("buildspec: " + join(list_, "; ")); }

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

bool is_scalar(const YAML::Node& n) { return n.IsScalar(); }

// A scalar's text; problems for anything else.
bool read_string(const YAML::Node& n, const std::string& path, Problems& problems,
                 std::string& out) {
  if (!is_scalar(n)) {
    problems.add(n, path, "must be a string, not " + kind_of(n));
    return false;
  }
  out = n.Scalar();
  return true;
}

bool read_bool(const YAML::Node& n, const std::string& path, Problems& problems, bool& out) {
  std::string text;
  if (!read_string(n, path, problems, text)) return false;
  const std::string v = to_lower(text);
  if (v == "yes" || v == "true" || v == "on") {
    out = true;
    return true;
  }
  if (v == "no" || v == "false" || v == "off") {
    out = false;
    return true;
  }
  problems.add(n, path, "must be yes or no, not " + quote(text));
  return false;
}

// A list of strings; a single string is read as a list of one (CodeBuild
// accepts `files: '**/*'`).
std::vector<std::string> read_strings(const YAML::Node& n, const std::string& path,
                                      Problems& problems, bool is_command) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  if (!n.IsSequence()) {
    problems.add(n, path, "must be a list of strings, not " + kind_of(n));
    return out;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node item = n[i];
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    if (item.IsScalar()) {
      out.push_back(item.Scalar());
    } else if (is_command && item.IsMap()) {
      problems.add(item, item_path,
                   "a command must be a string; quote it, since ': ' makes YAML read a map");
    } else {
      problems.add(item, item_path, "must be a string, not " + kind_of(item));
    }
  }
  return out;
}

// A map of NAME: value, in file order.
std::vector<std::pair<std::string, std::string>> read_string_map(const YAML::Node& n,
                                                                 const std::string& path,
                                                                 Problems& problems,
                                                                 bool names_are_variables) {
  std::vector<std::pair<std::string, std::string>> out;
  if (n.IsNull()) return out;
  if (!n.IsMap()) {
    problems.add(n, path, "must be a map of names to values, not " + kind_of(n));
    return out;
  }
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    const std::string item_path = path + "." + name;
    if (names_are_variables && !is_shell_name(name)) {
      problems.add(kv.first, item_path,
                   "is not a variable name (letters, digits and '_', not starting with a digit)");
      continue;
    }
    std::string value;
    if (kv.second.IsNull()) {
      value = "";
    } else if (!read_string(kv.second, item_path, problems, value)) {
      continue;
    }
    out.emplace_back(name, value);
  }
  return out;
}

// Checks the keys of map `n` against `known`; unknown ones are problems
// with the closest known name.
void check_keys(const YAML::Node& n, const std::string& path, const std::vector<std::string>& known,
                Problems& problems) {
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string message = "unknown key " + quote(key);
    if (std::string near = closest_match(key, known); !near.empty())
      message += " (did you mean '" + near + "'?)";
    else
      message += " (expected one of: " + join(known, ", ") + ")";
    problems.add(kv.first, path.empty() ? key : path + "." + key, message);
  }
}

void read_on_failure(const YAML::Node& n, const std::string& path, Problems& problems,
                     Phase& phase) {
  std::string text;
  if (!read_string(n, path, problems, text)) return;
  if (text == "ABORT") {
    phase.on_failure = OnFailure::kAbort;
    return;
  }
  if (text == "CONTINUE") {
    phase.on_failure = OnFailure::kContinue;
    return;
  }
  // RETRY, RETRY-<count>, RETRY-<regex>, RETRY-<count>-<regex>.
  if (text == "RETRY" || text.starts_with("RETRY-")) {
    phase.on_failure = OnFailure::kRetry;
    phase.retry_count = 3;
    phase.retry_regex = ".*";
    std::string rest = text.size() > 5 ? text.substr(6) : "";
    if (rest.empty() && text.size() > 5) {
      problems.add(n, path, "RETRY- needs a count, a regular expression or both after the '-'");
      return;
    }
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits > 0 && (digits == rest.size() || rest[digits] == '-')) {
      if (digits > 3 || std::stoi(rest.substr(0, digits)) > 100) {
        problems.add(n, path, "the retry count must be 0 to 100");
        return;
      }
      phase.retry_count = std::stoi(rest.substr(0, digits));
      rest = digits == rest.size() ? "" : rest.substr(digits + 1);
    }
    if (!rest.empty()) {
      try {
        std::regex check(rest);
      } catch (const std::regex_error&) {
        problems.add(n, path, quote(rest) + " is not a valid regular expression");
        return;
      }
      phase.retry_regex = rest;
    }
    return;
  }
  problems.add(n, path,
               "must be ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or "
               "RETRY-<count>-<regex>, not " +
                   quote(text));
}

void read_phase(const YAML::Node& n, const std::string& name, Problems& problems, Phase& phase) {
  const std::string path = "phases." + name;
  phase.present = true;
  phase.line = n.Mark().line + 1;
  if (n.IsNull()) {
    if (name != "install") problems.add(n, path, "needs 'commands'");
    return;
  }
  if (!n.IsMap()) {
    problems.add(n, path, "must be a map with 'commands', not " + kind_of(n));
    return;
  }
  check_keys(n, path, {"run-as", "on-failure", "runtime-versions", "commands", "finally"},
             problems);
  if (n["run-as"]) read_string(n["run-as"], path + ".run-as", problems, phase.run_as);
  if (n["on-failure"]) read_on_failure(n["on-failure"], path + ".on-failure", problems, phase);
  if (const YAML::Node rv = n["runtime-versions"]) {
    if (name != "install") {
      problems.add(rv, path + ".runtime-versions", "is allowed in the install phase only");
    } else {
      phase.runtime_versions = read_string_map(rv, path + ".runtime-versions", problems, false);
      if (rv.IsMap() && rv.size() == 0)
        problems.add(rv, path + ".runtime-versions", "needs at least one runtime");
    }
  }
  if (const YAML::Node c = n["commands"]) {
    if (!c.IsNull()) phase.commands = read_strings(c, path + ".commands", problems, true);
  } else if (name != "install") {
    problems.add(n, path, "needs 'commands'");
  }
  if (const YAML::Node f = n["finally"]) {
    if (!f.IsNull()) phase.finally = read_strings(f, path + ".finally", problems, true);
  }
}

void read_artifact(const YAML::Node& n, const std::string& path, Problems& problems,
                   ArtifactSpec& out, bool primary) {
  if (!n.IsMap()) {
    problems.add(n, path, "must be a map with 'files', not " + kind_of(n));
    return;
  }
  std::vector<std::string> known = {"files",          "name",          "discard-paths",
                                    "base-directory", "exclude-paths", "enable-symlinks",
                                    "s3-prefix"};
  if (primary) known.push_back("secondary-artifacts");
  check_keys(n, path, known, problems);
  if (const YAML::Node f = n["files"]) {
    out.files = read_strings(f, path + ".files", problems, false);
    if (out.files.empty() && !f.IsScalar()) problems.add(f, path + ".files", "needs a glob");
  } else {
    problems.add(n, path, "needs 'files'");
  }
  if (n["name"]) read_string(n["name"], path + ".name", problems, out.name);
  if (n["discard-paths"])
    read_bool(n["discard-paths"], path + ".discard-paths", problems, out.discard_paths);
  if (n["base-directory"])
    read_string(n["base-directory"], path + ".base-directory", problems, out.base_directory);
  if (n["exclude-paths"])
    out.exclude_paths = read_strings(n["exclude-paths"], path + ".exclude-paths", problems, false);
  if (n["enable-symlinks"])
    read_bool(n["enable-symlinks"], path + ".enable-symlinks", problems, out.enable_symlinks);
  if (n["s3-prefix"]) read_string(n["s3-prefix"], path + ".s3-prefix", problems, out.s3_prefix);
  if (out.base_directory.starts_with("/") || out.base_directory.find("..") != std::string::npos)
    problems.add(n["base-directory"], path + ".base-directory",
                 "must be a relative path inside the source directory");
}

void read_env(const YAML::Node& n, Problems& problems, Buildspec& spec) {
  if (n.IsNull()) return;
  if (!n.IsMap()) {
    problems.add(n, "env", "must be a map, not " + kind_of(n));
    return;
  }
  check_keys(n, "env",
             {"shell", "variables", "parameter-store", "secrets-manager", "exported-variables",
              "git-credential-helper"},
             problems);
  if (const YAML::Node s = n["shell"]) {
    if (read_string(s, "env.shell", problems, spec.env.shell) && spec.env.shell != "bash" &&
        spec.env.shell != "/bin/sh")
      problems.add(s, "env.shell",
                   "must be bash or /bin/sh on Linux, not " + quote(spec.env.shell));
  }
  if (n["variables"])
    spec.env.variables = read_string_map(n["variables"], "env.variables", problems, true);
  if (n["parameter-store"])
    spec.env.parameter_store =
        read_string_map(n["parameter-store"], "env.parameter-store", problems, true);
  if (n["secrets-manager"])
    spec.env.secrets_manager =
        read_string_map(n["secrets-manager"], "env.secrets-manager", problems, true);
  if (const YAML::Node e = n["exported-variables"]) {
    spec.env.exported_variables = read_strings(e, "env.exported-variables", problems, false);
    for (size_t i = 0; i < spec.env.exported_variables.size(); ++i) {
      const std::string& name = spec.env.exported_variables[i];
      const std::string path = "env.exported-variables[" + std::to_string(i) + "]";
      if (!is_shell_name(name))
        problems.add(e, path, quote(name) + " is not a variable name");
      else if (name.starts_with("AWS_") || name.starts_with("CODEBUILD_"))
        problems.add(e, path, quote(name) + ": AWS_ and CODEBUILD_ variables cannot be exported");
    }
  }
  if (const YAML::Node g = n["git-credential-helper"]) {
    if (read_bool(g, "env.git-credential-helper", problems, spec.env.git_credential_helper) &&
        spec.env.git_credential_helper)
      spec.notes.push_back(
          "env.git-credential-helper: accepted; git in the build uses the build's own "
          "environment and HOME (no credential helper is set up)");
  }
}

}  // namespace

bool is_shell_name(std::string_view s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

Result<Buildspec> parse_buildspec(std::string_view yaml) {
  YAML::Node loaded;
  try {
    loaded = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Status::invalid("buildspec: line " + std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  const YAML::Node root = loaded;
  if (!root.IsMap()) return Status::invalid("buildspec: must be a YAML map with 'version: 0.2'");
  Buildspec spec;
  Problems problems;
  try {
    check_keys(
        root, "",
        {"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"},
        problems);
    if (const YAML::Node v = root["version"]) {
      if (read_string(v, "version", problems, spec.version)) {
        if (spec.version == "0.1")
          problems.add(v, "version",
                       "0.1 runs each command in its own shell and is not supported; use 0.2");
        else if (spec.version != "0.2")
          problems.add(v, "version", "must be 0.2, not " + quote(spec.version));
      }
    } else {
      problems.add(root, "version", "is required (version: 0.2)");
    }
    if (root["run-as"]) read_string(root["run-as"], "run-as", problems, spec.run_as);
    if (root["env"]) read_env(root["env"], problems, spec);
    if (root["proxy"]) spec.notes.push_back("proxy: accepted, not used (builds run on this host)");
    if (const YAML::Node b = root["batch"]) {
      problems.add(b, "batch", "batch builds are not supported by Stageline");
    }
    if (const YAML::Node phases = root["phases"]) {
      if (!phases.IsMap()) {
        problems.add(phases, "phases", "must be a map of phases, not " + kind_of(phases));
      } else {
        check_keys(phases, "phases", {"install", "pre_build", "build", "post_build"}, problems);
        if (phases["install"]) read_phase(phases["install"], "install", problems, spec.install);
        if (phases["pre_build"])
          read_phase(phases["pre_build"], "pre_build", problems, spec.pre_build);
        if (phases["build"]) read_phase(phases["build"], "build", problems, spec.build);
        if (phases["post_build"])
          read_phase(phases["post_build"], "post_build", problems, spec.post_build);
      }
    }
    if (const YAML::Node a = root["artifacts"]) {
      spec.has_artifacts = true;
      read_artifact(a, "artifacts", problems, spec.artifacts, true);
      if (const YAML::Node s = a.IsMap() ? a["secondary-artifacts"] : YAML::Node()) {
        if (!s.IsMap()) {
          problems.add(s, "artifacts.secondary-artifacts",
                       "must be a map of artifact identifiers, not " + kind_of(s));
        } else {
          for (const auto& kv : s) {
            ArtifactSpec secondary;
            const std::string id = kv.first.Scalar();
            read_artifact(kv.second, "artifacts.secondary-artifacts." + id, problems, secondary,
                          false);
            spec.secondary_artifacts.emplace_back(id, std::move(secondary));
          }
        }
      }
    }
    if (root["reports"])
      spec.notes.push_back("reports: accepted, not used (no report groups in Stageline yet)");
    if (root["cache"]) spec.notes.push_back("cache: accepted, not used (every build starts clean)");
    for (const Phase* p : {&spec.install}) {
      for (const auto& [runtime, version] : p->runtime_versions)
        spec.notes.push_back("runtime-versions: " + runtime + " " + version +
                             " recorded; the build uses what is installed on this host");
    }
    for (const Phase* p : {&spec.install, &spec.pre_build, &spec.build, &spec.post_build}) {
      if (!p->run_as.empty())
        spec.notes.push_back("run-as " + p->run_as +
                             " recorded; commands run as the server's user");
    }
    if (!spec.run_as.empty())
      spec.notes.push_back("run-as " + spec.run_as +
                           " recorded; commands run as the server's user");
  } catch (const YAML::Exception& e) {
    return Status::invalid("buildspec: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!problems.empty()) return problems.status();
  return spec;
}

}  // namespace stageline::builds
