// deploy: CodeDeploy for on-premises style instances (docs/codedeploy.md).
// An instance is a target directory on this host; a deployment copies a
// revision (the CodeDeploy action's input artifact) into the target
// directory of every instance its deployment group matches, running the
// appspec's lifecycle hooks, and rolls an instance that fails back to its
// last good revision. This header: the AppSpec file (reference §18).
//
// Module layout: appspec (this file, pure), tag_filter (which instances a
// deployment group targets, pure), agent (the lifecycle on one instance:
// files, permissions, hook processes, the per-instance revision store),
// deployment_service (deployment records and the order of instances,
// rollback), codedeploy_action (the Deploy/AWS/CodeDeploy provider).
// Depends on base, store (resources table), jobs (process spawning, the
// ActionProvider interface), engine (ActionStart/ActionOutcome) and
// yaml-cpp. Never on HTTP, SigV4 or the API modules.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stageline::deploy {

// One `files` entry: `source` relative to the revision root ("/" or "" is
// the whole revision), `destination` an absolute directory, which Stageline
// roots under the instance's target directory.
struct FileMapping {
  std::string source;
  std::string destination;
};

enum class FileExistsBehavior { kDisallow, kOverwrite, kRetain };

// One `permissions` entry (Linux only). `mode` is the octal value given.
struct Permission {
  std::string object;          // absolute, rooted under the target directory
  std::string pattern = "**";  // a file name pattern (fnmatch) or "**" for all
  std::vector<std::string> except;
  std::string owner;
  std::string group;
  std::optional<mode_t> mode;
  bool files = true;        // `type` lists file
  bool directories = true;  // `type` lists directory
};

struct HookScript {
  std::string location;  // relative to the revision root
  std::chrono::seconds timeout{3600};
  std::string runas;  // "" runs as the server's user
};

// The lifecycle events a script may hook, in the order an in-place
// deployment without a load balancer runs them (reference §18).
inline constexpr const char* kApplicationStop = "ApplicationStop";
inline constexpr const char* kBeforeInstall = "BeforeInstall";
inline constexpr const char* kAfterInstall = "AfterInstall";
inline constexpr const char* kApplicationStart = "ApplicationStart";
inline constexpr const char* kValidateService = "ValidateService";

struct AppSpec {
  std::string os = "linux";
  std::vector<FileMapping> files;
  FileExistsBehavior file_exists_behavior = FileExistsBehavior::kDisallow;
  std::vector<Permission> permissions;
  // Event name -> its scripts in file order. The traffic events
  // (BeforeBlockTraffic, ...) are accepted and kept but never run: an
  // on-premises deployment here has no load balancer.
  std::map<std::string, std::vector<HookScript>> hooks;

  const std::vector<HookScript>& scripts(const std::string& event) const;
};

// Parses appspec.yml text. Every problem is reported at once in one
// kInvalidArgument Status: "appspec.yml: line 4: files[0].destination: must
// be an absolute path; line 9: hooks.AfterInstal: is not a lifecycle event
// (did you mean AfterInstall?)".
Result<AppSpec> parse_appspec(std::string_view text);

// Reads appspec.yml (or appspec.yaml) at the root of `revision_dir`.
// kNotFound when neither exists, else what parse_appspec says.
Result<AppSpec> load_appspec(const std::filesystem::path& revision_dir);

}  // namespace stageline::deploy
