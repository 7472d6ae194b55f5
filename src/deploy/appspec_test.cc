#include "deploy/appspec.h"

#include <gtest/gtest.h>

namespace stageline::deploy {
namespace {

TEST(AppSpec, ReadsFilesPermissionsAndHooksInFileOrder) {
  auto spec = parse_appspec(R"(version: 0.0
os: linux
files:
  - source: site
    destination: /var/www/html
  - source: /
    destination: /opt/app
file_exists_behavior: OVERWRITE
permissions:
  - object: /var/www/html
    pattern: "*.sh"
    except: [keep.sh]
    mode: "0750"
    type: [file]
hooks:
  BeforeInstall:
    - location: scripts/before.sh
      timeout: 30
    - location: scripts/also.sh
  ValidateService:
    - location: scripts/validate.sh
      runas: nobody
)");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  ASSERT_EQ(spec->files.size(), 2u);
  EXPECT_EQ(spec->files[0].source, "site");
  EXPECT_EQ(spec->files[0].destination, "/var/www/html");
  EXPECT_EQ(spec->files[1].source, "/");
  EXPECT_EQ(spec->file_exists_behavior, FileExistsBehavior::kOverwrite);
  ASSERT_EQ(spec->permissions.size(), 1u);
  EXPECT_EQ(spec->permissions[0].pattern, "*.sh");
  EXPECT_EQ(spec->permissions[0].except, std::vector<std::string>{"keep.sh"});
  EXPECT_EQ(*spec->permissions[0].mode, 0750u);
  EXPECT_TRUE(spec->permissions[0].files);
  EXPECT_FALSE(spec->permissions[0].directories);
  const auto& before = spec->scripts(kBeforeInstall);
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0].location, "scripts/before.sh");
  EXPECT_EQ(before[0].timeout.count(), 30);
  EXPECT_EQ(before[1].timeout.count(), 3600);
  EXPECT_EQ(spec->scripts(kValidateService)[0].runas, "nobody");
  EXPECT_TRUE(spec->scripts(kApplicationStop).empty());
}

TEST(AppSpec, UnquotedModeIsReadAsOctalDigits) {
  auto spec =
      parse_appspec("version: 0.0\nos: linux\npermissions:\n  - object: /a\n    mode: 644\n");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(*spec->permissions[0].mode, 0644u);
}

TEST(AppSpec, ReportsEveryProblemWithItsLine) {
  auto spec = parse_appspec(R"(version: 1.0
os: linux
files:
  - source: app
    destination: relative/dir
hooks:
  AfterInstal:
    - location: scripts/x.sh
  ValidateService:
    - timeout: 10
)");
  ASSERT_FALSE(spec.ok());
  const std::string m = spec.status().message();
  EXPECT_NE(m.find("line 1: version: must be 0.0"), std::string::npos) << m;
  EXPECT_NE(m.find("line 5: files[0].destination: must be an absolute path"), std::string::npos)
      << m;
  EXPECT_NE(m.find("line 7: hooks.AfterInstal: is not a lifecycle event a script can hook (did "
                   "you mean AfterInstall?)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("line 10: hooks.ValidateService[0].location: is required"), std::string::npos)
      << m;
}

TEST(AppSpec, MalformedYamlNamesTheLine) {
  auto spec = parse_appspec("version: 0.0\nos: linux\nfiles:\n  - source: [a\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("appspec.yml: line "), std::string::npos)
      << spec.status().message();
}

TEST(AppSpec, RejectsPathsThatClimbOutOfTheTarget) {
  auto spec = parse_appspec(
      "version: 0.0\nos: linux\nfiles:\n  - source: a\n    destination: /x/../../etc\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("must not contain '..'"), std::string::npos);
}

TEST(AppSpec, RejectsTimeoutsBeyondAnHourAndSymbolicModes) {
  auto spec = parse_appspec(R"(version: 0.0
os: linux
permissions:
  - object: /a
    mode: u+x
hooks:
  BeforeInstall:
    - location: a.sh
      timeout: 3601
)");
  ASSERT_FALSE(spec.ok());
  const std::string m = spec.status().message();
  EXPECT_NE(m.find("line 5: permissions[0].mode"), std::string::npos) << m;
  EXPECT_NE(m.find("line 9: hooks.BeforeInstall[0].timeout: must be a whole number of seconds "
                   "from 1 to 3600"),
            std::string::npos)
      << m;
}

TEST(AppSpec, WindowsIsRefusedWithTheReason) {
  auto spec = parse_appspec("version: 0.0\nos: windows\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("line 2: os: windows is not supported"), std::string::npos)
      << spec.status().message();
}

TEST(AppSpec, MissingVersionAndOsAreRequired) {
  auto spec = parse_appspec("files: []\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("version: is required"), std::string::npos);
  EXPECT_NE(spec.status().message().find("os: is required"), std::string::npos);
}

}  // namespace
}  // namespace stageline::deploy
