#include "builds/runner.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "base/files.h"
#include "builds/build_service.h"
#include "builds/test_util.h"

namespace stageline::builds {
namespace {

using testing::ScratchDir;

struct Harness {
  ScratchDir dir;
  std::vector<std::string> lines;
  int uploads = 0;
  Status upload_status;

  BuildJob job(const std::string& buildspec) {
    auto spec = parse_buildspec(buildspec);
    EXPECT_TRUE(spec.ok()) << spec.status().message();
    BuildJob j;
    if (spec.ok()) j.spec = *spec;
    std::filesystem::create_directories(dir / "ctl");
    std::filesystem::create_directories(dir / "src");
    j.control_dir = dir / "ctl";
    j.source_dir = dir / "src";
    j.environment = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", dir.path().string()}};
    j.now_ms = testing::wall_ms;
    j.on_line = [this](std::string_view l) { lines.emplace_back(l); };
    j.upload_artifacts = [this] {
      ++uploads;
      return upload_status;
    };
    return j;
  }
  bool logged(const std::string& text) const {
    for (const auto& l : lines)
      if (l == text) return true;
    return false;
  }
};

const PhaseRecord* phase(const BuildResult& r, const std::string& type) {
  for (const auto& p : r.phases)
    if (p.type == type) return &p;
  return nullptr;
}

std::vector<std::string> phase_types(const BuildResult& r) {
  std::vector<std::string> out;
  for (const auto& p : r.phases) out.push_back(p.type);
  return out;
}

TEST(BuildRunner, RunsEveryPhaseInOrderInOneShell) {
  Harness run;
  auto result = run_build(run.job(R"yaml(version: 0.2
phases:
  install:
    commands:
      - export FROM_INSTALL=installed
      - mkdir sub && cd sub
  pre_build:
    commands:
      - my_fn() { echo "fn says $1"; }
  build:
    commands:
      - echo "$FROM_INSTALL in $(basename "$PWD")"
      - my_fn hi
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
)yaml"));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->status, "SUCCEEDED") << result->message;
  EXPECT_TRUE(run.logged("installed in sub"));
  EXPECT_TRUE(run.logged("fn says hi"));
  EXPECT_TRUE(run.logged("succeeding=1"));
  EXPECT_TRUE(run.logged("[Container] Running command my_fn hi"));
  EXPECT_EQ(phase_types(*result),
            (std::vector<std::string>{"SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE",
                                      "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD",
                                      "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"}));
  for (const auto& p : result->phases) {
    if (p.type == "COMPLETED") {
      EXPECT_EQ(p.status, "");
      EXPECT_EQ(p.end_ms, 0);
    } else {
      EXPECT_EQ(p.status, "SUCCEEDED") << p.type;
      EXPECT_GE(p.end_ms, p.start_ms);
    }
  }
  EXPECT_EQ(run.uploads, 1);
}

TEST(BuildRunner, EnvShellPicksPlainShAndStateStillCarriesOver) {
  Harness run;
  auto result =
      run_build(run.job("version: 0.2\nenv:\n  shell: /bin/sh\nphases:\n  build:\n    commands:\n"
                        "      - mkdir d && cd d && X=kept\n"
                        "      - echo \"$X in $(basename \"$PWD\") ${BASH_VERSION:-no-bash}\"\n"));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->status, "SUCCEEDED") << result->message;
  EXPECT_TRUE(run.logged("kept in d no-bash"));
}

TEST(BuildRunner, OutputWithoutAFinalNewlineStaysWithItsCommand) {
  Harness run;
  auto result = run_build(
      run.job("version: 0.2\nphases:\n  build:\n    commands: ['printf partial', 'echo next']\n"));
  ASSERT_TRUE(result.ok());
  auto at = std::find(run.lines.begin(), run.lines.end(), "partial");
  ASSERT_NE(at, run.lines.end());
  ASSERT_NE(at + 1, run.lines.end());
  EXPECT_EQ(*(at + 1), "[Container] Running command echo next");
}

TEST(BuildRunner, AFailedBuildPhaseStillRunsPostBuildAndUploads) {
  Harness run;
  auto result = run_build(run.job(R"yaml(version: 0.2
phases:
  build:
    commands:
      - echo compiling
      - exit_with() { return $1; }; exit_with 2
      - echo never
    finally:
      - echo cleanup
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
)yaml"));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->status, "FAILED");
  EXPECT_EQ(result->failed_phase, "BUILD");
  EXPECT_FALSE(run.logged("never"));
  EXPECT_TRUE(run.logged("cleanup"));
  EXPECT_TRUE(run.logged("succeeding=0"));
  EXPECT_EQ(run.uploads, 1);
  const PhaseRecord* build = phase(*result, "BUILD");
  ASSERT_NE(build, nullptr);
  EXPECT_EQ(build->status, "FAILED");
  ASSERT_EQ(build->contexts.size(), 1u);
  EXPECT_EQ(build->contexts[0].first, "COMMAND_EXECUTION_ERROR");
  EXPECT_EQ(build->contexts[0].second,
            "Error while executing command: exit_with() { return $1; }; exit_with 2. Reason: "
            "exit status 2");
  EXPECT_EQ(phase(*result, "POST_BUILD")->status, "SUCCEEDED");
  EXPECT_NE(result->message.find("Phase BUILD failed"), std::string::npos);
}

TEST(BuildRunner, AFailedPreBuildSkipsToFinalizing) {
  Harness run;
  auto result = run_build(run.job(R"yaml(version: 0.2
phases:
  pre_build:
    commands: [false]
  build:
    commands: [echo building]
  post_build:
    commands: [echo post]
)yaml"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, "FAILED");
  EXPECT_EQ(result->failed_phase, "PRE_BUILD");
  EXPECT_EQ(phase(*result, "BUILD"), nullptr);
  EXPECT_EQ(phase(*result, "POST_BUILD"), nullptr);
  EXPECT_EQ(phase(*result, "UPLOAD_ARTIFACTS"), nullptr);
  EXPECT_NE(phase(*result, "FINALIZING"), nullptr);
  EXPECT_EQ(run.uploads, 0);
  EXPECT_FALSE(run.logged("building"));
}

TEST(BuildRunner, OnFailureAbortSkipsPostBuildAndContinueGoesOn) {
  Harness abort_run;
  auto aborted = run_build(abort_run.job(
      "version: 0.2\nphases:\n  build:\n    on-failure: ABORT\n    commands: [false]\n"
      "  post_build:\n    commands: [echo post]\n"));
  ASSERT_TRUE(aborted.ok());
  EXPECT_EQ(aborted->status, "FAILED");
  EXPECT_EQ(phase(*aborted, "POST_BUILD"), nullptr);
  EXPECT_EQ(abort_run.uploads, 0);

  Harness continue_run;
  auto continued = run_build(continue_run.job(
      "version: 0.2\nphases:\n  pre_build:\n    on-failure: CONTINUE\n    commands: [false]\n"
      "  build:\n    commands: [echo building]\n"));
  ASSERT_TRUE(continued.ok());
  EXPECT_EQ(continued->status, "FAILED");
  EXPECT_EQ(continued->failed_phase, "PRE_BUILD");
  EXPECT_TRUE(continue_run.logged("building"));
}

TEST(BuildRunner, RetryRunsTheFailedPhaseAgainWhileTheCountLasts) {
  Harness run;
  auto result = run_build(run.job(R"yaml(version: 0.2
phases:
  build:
    on-failure: RETRY-2
    commands:
      - TRIES=$((${TRIES:-0} + 1)); echo "try $TRIES"
      - test "$TRIES" -ge 3
)yaml"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, "SUCCEEDED") << result->message;
  EXPECT_TRUE(run.logged("try 3"));

  Harness no_match;
  auto failed =
      run_build(no_match.job("version: 0.2\nphases:\n  build:\n    on-failure: RETRY-5-status 7\n"
                             "    commands: ['echo once', 'false']\n"));
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->status, "FAILED");
  int onces = 0;
  for (const auto& l : no_match.lines) onces += l == "once";
  EXPECT_EQ(onces, 1);
}

TEST(BuildRunner, ExportedVariablesAreReadAfterPostBuild) {
  Harness run;
  auto result = run_build(run.job(R"yaml(version: 0.2
env:
  exported-variables: [VERSION, LATE, NEVER_SET]
phases:
  build:
    commands:
      - VERSION="1.2 beta"
  post_build:
    commands:
      - export LATE=yes
)yaml"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exported_variables,
            (std::map<std::string, std::string>{{"VERSION", "1.2 beta"}, {"LATE", "yes"}}));
}

TEST(BuildRunner, ACommandThatEndsTheShellFailsAndLaterCommandsGetANewShell) {
  Harness run;
  auto result =
      run_build(run.job("version: 0.2\nphases:\n  build:\n    commands: ['export A=1', 'exit 3']\n"
                        "  post_build:\n    commands: ['echo \"A=${A:-unset}\"']\n"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, "FAILED");
  EXPECT_NE(result->message.find("Reason: exit status 3"), std::string::npos) << result->message;
  EXPECT_TRUE(run.logged("A=unset"));
}

TEST(BuildRunner, TheTimeoutKillsTheBuildAndItsBackgroundProcesses) {
  Harness run;
  BuildJob job = run.job(
      "version: 0.2\nphases:\n  build:\n    commands: ['sleep 30 & echo started', 'sleep 30']\n"
      "  post_build:\n    commands: [echo post]\n");
  job.timeout = std::chrono::seconds(1);
  const auto start = std::chrono::steady_clock::now();
  auto result = run_build(job);
  ASSERT_TRUE(result.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(result->status, "TIMED_OUT");
  EXPECT_EQ(phase(*result, "BUILD")->status, "TIMED_OUT");
  EXPECT_EQ(phase(*result, "POST_BUILD"), nullptr);
  EXPECT_TRUE(run.logged("started"));
}

TEST(BuildRunner, CancellationStopsTheBuild) {
  Harness run;
  BuildJob job = run.job("version: 0.2\nphases:\n  build:\n    commands: ['sleep 30']\n");
  auto polls = std::make_shared<int>(0);
  job.cancelled = [polls] { return ++*polls > 3; };
  auto result = run_build(job);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, "STOPPED");
}

TEST(BuildRunner, AFailedUploadFailsTheBuild) {
  Harness run;
  run.upload_status = Status::not_found("no matching artifact paths found");
  auto result = run_build(run.job("version: 0.2\nphases:\n  build:\n    commands: [true]\n"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, "FAILED");
  EXPECT_EQ(result->failed_phase, "UPLOAD_ARTIFACTS");
  EXPECT_EQ(phase(*result, "UPLOAD_ARTIFACTS")->contexts.at(0).first, "CLIENT_ERROR");
}

TEST(BuildRunner, TheEnvironmentIsExactlyTheOneGiven) {
  Harness run;
  setenv("STAGELINE_BUILDS_TEST_LEAK", "leaked", 1);
  BuildJob job = run.job(
      "version: 0.2\nphases:\n  build:\n    commands: ['echo "
      "\"leak=${STAGELINE_BUILDS_TEST_LEAK:-no}"
      " given=$GIVEN\"', 'read line || echo stdin-empty']\n");
  job.environment["GIVEN"] = "yes";
  auto result = run_build(job);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(run.logged("leak=no given=yes"));
  EXPECT_TRUE(run.logged("stdin-empty"));
}

TEST(BuildRunner, EnvironmentLayersLetOverridesWinOverProjectOverBuildspec) {
  auto spec = parse_buildspec(
      "version: 0.2\nenv:\n  variables: {A: spec, B: spec, C: spec}\nphases:\n  build:\n"
      "    commands: [true]\n");
  ASSERT_TRUE(spec.ok());
  auto env = compose_environment({{"PATH", "/bin"}, {"A", "base"}}, {{"CODEBUILD_BUILD_ID", "p:1"}},
                                 *spec, {{"B", "project"}, {"C", "project"}}, {{"C", "override"}});
  EXPECT_EQ(env.at("A"), "spec");
  EXPECT_EQ(env.at("B"), "project");
  EXPECT_EQ(env.at("C"), "override");
  EXPECT_EQ(env.at("CODEBUILD_BUILD_ID"), "p:1");
  EXPECT_EQ(env.at("PATH"), "/bin");
}

bool any_line_contains(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

TEST(BuildRunner, MasksSecretValuesEvenWhenTheShellWritesThemInPieces) {
  Harness run;
  BuildJob job = run.job(R"yaml(version: 0.2
phases:
  build:
    commands:
      - printf '%s' "$TOKEN" > token.txt
      - echo "token is $TOKEN"
      - printf 'half sup3r'; sleep 0.2; printf 's3cret-value end\n'
      - echo sup3rs3cret-value
)yaml");
  job.environment["TOKEN"] = "sup3rs3cret-value";
  job.secret_values = {"sup3rs3cret-value"};
  auto result = run_build(job);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->status, "SUCCEEDED") << result->message;
  // The real value reached the commands...
  EXPECT_EQ(read_file(run.dir / "src" / "token.txt"), "sup3rs3cret-value");
  // ...and never the log, not even split across two writes (the sleep
  // makes the shell's two printf calls arrive in separate reads).
  EXPECT_TRUE(run.logged("token is ***"));
  EXPECT_TRUE(run.logged("half *** end"));
  EXPECT_TRUE(run.logged("[Container] Running command echo ***"));
  // (The command that prints the halves quotes them; the others must not.)
  std::vector<std::string> output;
  for (const auto& l : run.lines)
    if (!l.starts_with("[Container] Running command printf 'half")) output.push_back(l);
  EXPECT_FALSE(any_line_contains(output, "sup3r"));
  EXPECT_FALSE(any_line_contains(output, "s3cret-value"));
}

class FakeResolver final : public secrets::ValueResolver {
 public:
  Result<std::string> parameter(const std::string& name) override {
    if (name == "/ci/token") return std::string("param-value");
    return Status::not_found("parameter does not exist: " + name);
  }
  Result<std::string> secret(const std::string& reference) override {
    if (reference == "db:password") return std::string("secret-value");
    return Status::not_found("ResourceNotFoundException: no such secret (secret " + reference +
                             ")");
  }
};

TEST(ResolveVariables, ResolvesEveryKindAndRecordsTheValuesToMask) {
  auto spec = parse_buildspec(
      "version: 0.2\nenv:\n  parameter-store: {P: /ci/token}\n  secrets-manager: {S: "
      "db:password}\nphases:\n  build:\n    commands: [true]\n");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  FakeResolver resolver;
  ResolvedVariables vars = resolve_variables(
      *spec, {{"PROJ", "/ci/token", "PARAMETER_STORE"}},
      {{"PLAIN", "text", "PLAINTEXT"}, {"OV", "db:password", "SECRETS_MANAGER"}}, &resolver);
  ASSERT_EQ(vars.failure_code, "") << vars.failure_message;
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(vars.buildspec, (Pairs{{"P", "param-value"}, {"S", "secret-value"}}));
  EXPECT_EQ(vars.project, (Pairs{{"PROJ", "param-value"}}));
  EXPECT_EQ(vars.overrides, (Pairs{{"PLAIN", "text"}, {"OV", "secret-value"}}));
  EXPECT_EQ(vars.secret_values.size(), 4u);
  EXPECT_EQ(std::count(vars.secret_values.begin(), vars.secret_values.end(), "text"), 0);
}

TEST(ResolveVariables, AMissingSecretFailsNamingItAndAMissingResolverRefuses) {
  auto spec = parse_buildspec(
      "version: 0.2\nenv:\n  secrets-manager: {S: ghost:key}\nphases:\n  build:\n"
      "    commands: [true]\n");
  ASSERT_TRUE(spec.ok());
  FakeResolver resolver;
  ResolvedVariables vars = resolve_variables(*spec, {}, {}, &resolver);
  EXPECT_EQ(vars.failure_code, "Secrets Manager Error");
  EXPECT_NE(vars.failure_message.find("ghost:key"), std::string::npos) << vars.failure_message;
  ResolvedVariables none =
      resolve_variables(Buildspec{}, {{"P", "/x", "PARAMETER_STORE"}}, {}, nullptr);
  EXPECT_EQ(none.failure_code, "Decrypted Variables Error");
  EXPECT_NE(none.failure_message.find("/x"), std::string::npos);
}

// A TCP listener on 127.0.0.1 of the test's network namespace.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 4) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd); }
};

const char* kProbe = R"yaml(version: 0.2
phases:
  build:
    commands:
      - echo inside > here.txt
      - if touch /etc/stageline-sandbox-probe 2>/dev/null; then rm -f /etc/stageline-sandbox-probe; echo etc=writable; else echo etc=read-only; fi
      - if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then echo net=yes; else echo net=no; fi
)yaml";

TEST(BuildRunner, SandboxedBuildCannotWriteEtcNorReachTheNetwork) {
  if (access("/usr/bin/bwrap", X_OK) != 0 || geteuid() != 0)
    GTEST_SKIP() << "needs /usr/bin/bwrap and root (issue #6: bubblewrap in ./x's packages)";
  Listener listener;
  ASSERT_GT(listener.port, 0);
  Harness run;
  BuildJob job = run.job(kProbe);
  job.environment["PORT"] = std::to_string(listener.port);
  job.sandbox.enabled = true;
  job.sandbox.bwrap = "/usr/bin/bwrap";
  auto result = run_build(job);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->status, "SUCCEEDED") << result->message;
  EXPECT_EQ(read_file(run.dir / "src" / "here.txt"), "inside\n");
  EXPECT_TRUE(run.logged("etc=read-only"));
  EXPECT_TRUE(run.logged("net=no"));

  Harness plain;
  BuildJob open = plain.job(kProbe);
  open.environment["PORT"] = std::to_string(listener.port);
  auto unsandboxed = run_build(open);
  ASSERT_TRUE(unsandboxed.ok());
  EXPECT_TRUE(plain.logged("etc=writable"));
  EXPECT_TRUE(plain.logged("net=yes"));

  Harness networked;
  BuildJob with_net = networked.job(kProbe);
  with_net.environment["PORT"] = std::to_string(listener.port);
  with_net.sandbox.enabled = true;
  with_net.sandbox.network = true;
  with_net.sandbox.bwrap = "/usr/bin/bwrap";
  ASSERT_TRUE(run_build(with_net).ok());
  EXPECT_TRUE(networked.logged("etc=read-only"));
  EXPECT_TRUE(networked.logged("net=yes"));
}

TEST(BuildRunner, SandboxWithoutBwrapFailsProvisioningAndRunsNothing) {
  Harness run;
  BuildJob job =
      run.job("version: 0.2\nphases:\n  build:\n    commands: [\"echo ran > ran.txt\"]\n");
  job.sandbox.enabled = true;
  job.sandbox.bwrap = "/nonexistent/bwrap";
  auto result = run_build(job);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->status, "FAILED");
  EXPECT_EQ(result->failed_phase, "PROVISIONING");
  EXPECT_NE(result->message.find("/nonexistent/bwrap is not installed"), std::string::npos)
      << result->message;
  EXPECT_FALSE(std::filesystem::exists(run.dir / "src" / "ran.txt"));
}

}  // namespace
}  // namespace stageline::builds
