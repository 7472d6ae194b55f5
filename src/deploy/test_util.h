// Test helpers of src/deploy: a temporary directory and revisions written
// inline. Tests only.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "base/files.h"
#include "base/temp_dir.h"

namespace stageline::deploy::testing {

class TempDir : public stageline::TempDir {
 public:
  TempDir() : stageline::TempDir("deploy_test") {}
};

inline void put(const std::filesystem::path& file, const std::string& text, bool exec = false) {
  std::filesystem::create_directories(file.parent_path());
  if (!write_file(file, text).ok()) std::abort();
  if (exec) ::chmod(file.c_str(), 0755);
}

// A hook script that appends "<tag> $LIFECYCLE_EVENT" to $LOG_FILE, then
// runs `extra`.
inline std::string hook(const std::string& tag, const std::string& extra = "") {
  return "#!/bin/sh\necho \"" + tag + " $LIFECYCLE_EVENT\" >> \"$LOG_FILE\"\n" + extra + "\n";
}

// A revision whose every scriptable event appends to the log, tagged `tag`;
// `validate_extra` runs at the end of ValidateService.
inline void make_revision(const std::filesystem::path& dir, const std::string& tag,
                          const std::string& index, const std::string& validate_extra = "") {
  put(dir / "appspec.yml", R"(version: 0.0
os: linux
files:
  - source: site
    destination: /var/www
permissions:
  - object: /var/www
    pattern: "*.cgi"
    mode: "0750"
    type: [file]
hooks:
  ApplicationStop:
    - location: scripts/hook.sh
  BeforeInstall:
    - location: scripts/hook.sh
  AfterInstall:
    - location: scripts/hook.sh
  ApplicationStart:
    - location: scripts/hook.sh
  ValidateService:
    - location: scripts/validate.sh
      timeout: 2
)");
  put(dir / "site" / "index.html", index);
  put(dir / "site" / (tag + ".cgi"), "cgi " + tag);
  put(dir / "scripts" / "hook.sh", hook(tag), true);
  put(dir / "scripts" / "validate.sh", hook(tag, validate_extra), true);
}

}  // namespace stageline::deploy::testing
