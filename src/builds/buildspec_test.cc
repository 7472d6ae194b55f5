#include "builds/buildspec.h"

#include <gtest/gtest.h>

namespace stageline::builds {
namespace {

TEST(Buildspec, ReadsEveryPartOfAFullBuildspec) {
  auto spec = parse_buildspec(R"(version: 0.2
env:
  shell: bash
  variables:
    GREETING: "hello world"
    COUNT: 3
  parameter-store:
    DB: /app/db
  secrets-manager:
    TOKEN: prod/token:key
  exported-variables:
    - VERSION
    - COMMIT
phases:
  install:
    runtime-versions:
      python: 3.11
    commands:
      - echo install
  pre_build:
    on-failure: CONTINUE
    commands:
      - echo pre
  build:
    commands:
      - make
      - make test
    finally:
      - echo done
  post_build:
    commands:
      - echo post
artifacts:
  files:
    - '**/*'
  name: out
  base-directory: dist
  discard-paths: yes
  exclude-paths: ['*.tmp']
  secondary-artifacts:
    docs:
      files: docs/**/*
reports:
  unit:
    files: [report.xml]
cache:
  paths: ['/root/.m2/**/*']
)");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->version, "0.2");
  EXPECT_EQ(spec->env.shell, "bash");
  ASSERT_EQ(spec->env.variables.size(), 2u);
  EXPECT_EQ(spec->env.variables[0].first, "GREETING");
  EXPECT_EQ(spec->env.variables[0].second, "hello world");
  EXPECT_EQ(spec->env.variables[1].second, "3");
  EXPECT_EQ(spec->env.parameter_store.at(0).second, "/app/db");
  EXPECT_EQ(spec->env.secrets_manager.at(0).second, "prod/token:key");
  EXPECT_EQ(spec->env.exported_variables, (std::vector<std::string>{"VERSION", "COMMIT"}));
  EXPECT_TRUE(spec->install.present);
  ASSERT_EQ(spec->install.runtime_versions.size(), 1u);
  EXPECT_EQ(spec->install.runtime_versions[0].second, "3.11");
  EXPECT_EQ(spec->pre_build.on_failure, OnFailure::kContinue);
  EXPECT_EQ(spec->build.commands, (std::vector<std::string>{"make", "make test"}));
  EXPECT_EQ(spec->build.finally, (std::vector<std::string>{"echo done"}));
  EXPECT_EQ(spec->post_build.commands.size(), 1u);
  EXPECT_TRUE(spec->has_artifacts);
  EXPECT_EQ(spec->artifacts.files, (std::vector<std::string>{"**/*"}));
  EXPECT_EQ(spec->artifacts.name, "out");
  EXPECT_EQ(spec->artifacts.base_directory, "dist");
  EXPECT_TRUE(spec->artifacts.discard_paths);
  EXPECT_EQ(spec->artifacts.exclude_paths, (std::vector<std::string>{"*.tmp"}));
  ASSERT_EQ(spec->secondary_artifacts.size(), 1u);
  EXPECT_EQ(spec->secondary_artifacts[0].first, "docs");
  EXPECT_EQ(spec->secondary_artifacts[0].second.files, (std::vector<std::string>{"docs/**/*"}));
  bool reports = false, cache = false, runtime = false;
  for (const auto& n : spec->notes) {
    reports |= n.starts_with("reports: accepted, not used");
    cache |= n.starts_with("cache: accepted, not used");
    runtime |= n.find("python 3.11 recorded") != std::string::npos;
  }
  EXPECT_TRUE(reports && cache && runtime);
}

TEST(Buildspec, ReadsTheRetryFormsOfOnFailure) {
  auto parse = [](const std::string& value) {
    return parse_buildspec("version: 0.2\nphases:\n  build:\n    on-failure: " + value +
                           "\n    commands: [make]\n");
  };
  auto retry = parse("RETRY");
  ASSERT_TRUE(retry.ok()) << retry.status().message();
  EXPECT_EQ(retry->build.on_failure, OnFailure::kRetry);
  EXPECT_EQ(retry->build.retry_count, 3);
  EXPECT_EQ(retry->build.retry_regex, ".*");
  auto count = parse("RETRY-5");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->build.retry_count, 5);
  EXPECT_EQ(count->build.retry_regex, ".*");
  auto regex = parse("RETRY-exit status 2");
  ASSERT_TRUE(regex.ok());
  EXPECT_EQ(regex->build.retry_count, 3);
  EXPECT_EQ(regex->build.retry_regex, "exit status 2");
  auto both = parse("RETRY-2-status [0-9]");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->build.retry_count, 2);
  EXPECT_EQ(both->build.retry_regex, "status [0-9]");
  auto abort = parse("ABORT");
  ASSERT_TRUE(abort.ok());
  EXPECT_EQ(abort->build.on_failure, OnFailure::kAbort);
  EXPECT_FALSE(parse("RETRY-101").ok());
  EXPECT_FALSE(parse("STOP").ok());
  EXPECT_FALSE(parse("RETRY-2-(unclosed").ok());
}

TEST(Buildspec, ReportsACommandYamlReadAsAMapWithItsLine) {
  auto spec = parse_buildspec(
      "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n      - echo a: b\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("line 6: phases.build.commands[1]"), std::string::npos)
      << spec.status().message();
  EXPECT_NE(spec.status().message().find("quote it"), std::string::npos);
}

TEST(Buildspec, CollectsEveryProblemAndSuggestsTheClosestKey) {
  auto spec = parse_buildspec(
      "version: 0.2\nphase:\n  build:\n    commands: [make]\nartifacts:\n  name: x\n");
  ASSERT_FALSE(spec.ok());
  const std::string& m = spec.status().message();
  EXPECT_NE(m.find("line 2: phase: unknown key 'phase' (did you mean 'phases'?)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("artifacts: needs 'files'"), std::string::npos) << m;
}

TEST(Buildspec, RefusesVersionOneAndAMissingVersion) {
  auto old = parse_buildspec("version: 0.1\nphases:\n  build:\n    commands: [make]\n");
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("0.1 runs each command in its own shell"),
            std::string::npos);
  auto none = parse_buildspec("phases:\n  build:\n    commands: [make]\n");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("version: is required"), std::string::npos)
      << none.status().message();
}

TEST(Buildspec, RequiresCommandsInEveryPhaseButInstall) {
  EXPECT_TRUE(parse_buildspec("version: 0.2\nphases:\n  install:\n    runtime-versions:\n"
                              "      java: corretto17\n")
                  .ok());
  auto spec = parse_buildspec("version: 0.2\nphases:\n  build:\n    finally: [echo]\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("phases.build: needs 'commands'"), std::string::npos)
      << spec.status().message();
}

TEST(Buildspec, RefusesExportingReservedOrInvalidNames) {
  auto spec = parse_buildspec(
      "version: 0.2\nenv:\n  exported-variables: [AWS_REGION, 1BAD, GOOD]\n"
      "phases:\n  build:\n    commands: [make]\n");
  ASSERT_FALSE(spec.ok());
  const std::string& m = spec.status().message();
  EXPECT_NE(m.find("AWS_ and CODEBUILD_ variables cannot be exported"), std::string::npos) << m;
  EXPECT_NE(m.find("'1BAD' is not a variable name"), std::string::npos) << m;
}

TEST(Buildspec, GivesTheLineOfAYamlSyntaxError) {
  auto spec = parse_buildspec("version: 0.2\nphases:\n  build:\n    commands: [make\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_TRUE(spec.status().message().starts_with("buildspec: line ")) << spec.status().message();
}

TEST(Buildspec, RefusesBatchBuildsAndAnUnknownShell) {
  auto spec = parse_buildspec(
      "version: 0.2\nenv:\n  shell: zsh\nbatch:\n  fast-fail: true\n"
      "phases:\n  build:\n    commands: [make]\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("batch builds are not supported"), std::string::npos);
  EXPECT_NE(spec.status().message().find("env.shell: must be bash or /bin/sh"), std::string::npos);
}

}  // namespace
}  // namespace stageline::builds
