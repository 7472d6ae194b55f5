#include "providers/commands/commands_action.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

namespace stageline::providers {
namespace {

namespace fs = std::filesystem;

// A fresh directory removed with everything in it at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "commands_test_XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    if (made == nullptr) std::abort();
    path_ = fs::canonical(made);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Whether process `pid` has ended (exited, killed, or already reaped), waiting
// up to `bound` for it. Uses a pidfd, which becomes readable when it ends.
bool ends_within(pid_t pid, std::chrono::milliseconds bound) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;
  pollfd pfd{fd, POLLIN, 0};
  int ready = ::poll(&pfd, 1, static_cast<int>(bound.count()));
  close(fd);
  return ready == 1;
}

class CommandsActionTest : public ::testing::Test {
 protected:
  CommandsActionTest() {
    fs::create_directory(workspace());
    fs::create_directory(source());
    job_.workspace = workspace();
    job_.inputs = {{"SourceArtifact", source()}};
    job_.base_environment = {{"PATH", "/usr/bin:/bin"}};
    job_.on_output = [this](std::string_view chunk) {
      output_ += chunk;
      ++output_calls_;
    };
  }

  fs::path workspace() const { return dir_.path() / "workspace"; }
  fs::path source() const { return dir_.path() / "source"; }

  CommandsResult run() {
    auto result = run_commands_action(job_);
    EXPECT_TRUE(result.ok()) << result.status().message();
    if (!result.ok()) return {};
    return std::move(result).value();
  }

  ScratchDir dir_;
  CommandsJob job_;
  std::string output_;
  int output_calls_ = 0;
};

TEST_F(CommandsActionTest, CommandsRunInOrderInThePrimaryInputDirectory) {
  job_.commands = {"pwd", "echo one", "echo two"};
  CommandsResult result = run();
  EXPECT_TRUE(result.succeeded);
  EXPECT_EQ(result.summary, "Commands succeeded");
  EXPECT_EQ(result.failed_command, "");
  EXPECT_EQ(output_, source().string() + "\none\ntwo\n");
}

TEST_F(CommandsActionTest, CdAndExportPersistAcrossCommands) {
  job_.commands = {"mkdir sub",
                   "cd sub",
                   "export GREETING=hello",
                   "LOCAL=kept",
                   "echo \"$GREETING $LOCAL $(basename \"$PWD\")\"",
                   "sh -c 'echo child sees $GREETING'"};
  CommandsResult result = run();
  EXPECT_TRUE(result.succeeded);
  EXPECT_EQ(output_, "hello kept sub\nchild sees hello\n");
}

TEST_F(CommandsActionTest, FirstFailingCommandStopsTheRestAndIsNamedInTheSummary) {
  job_.commands = {"echo before", "(exit 2)", "echo never"};
  CommandsResult result = run();
  EXPECT_FALSE(result.succeeded);
  EXPECT_EQ(result.summary, "Command '(exit 2)' exited with code 2");
  EXPECT_EQ(result.failed_command, "(exit 2)");
  EXPECT_EQ(output_, "before\n");
}

TEST_F(CommandsActionTest, ACommandFailsOnItsOwnExitStatusEvenInsideAnAndList) {
  job_.commands = {"false && true", "echo never"};
  CommandsResult result = run();
  EXPECT_FALSE(result.succeeded);
  EXPECT_EQ(result.failed_command, "false && true");
  EXPECT_EQ(output_, "");
}

TEST_F(CommandsActionTest, AnUnbalancedQuoteFailsThatCommandOnly) {
  job_.commands = {"echo fine", "echo 'oops", "echo never"};
  CommandsResult result = run();
  EXPECT_FALSE(result.succeeded);
  EXPECT_EQ(result.failed_command, "echo 'oops");
  EXPECT_EQ(output_.find("never"), std::string::npos);
  EXPECT_EQ(output_.rfind("fine\n", 0), 0u);
}

TEST_F(CommandsActionTest, ACommandThatEndsTheShellEarlyWithSuccessFailsTheAction) {
  job_.commands = {"exit 0", "echo never"};
  CommandsResult result = run();
  EXPECT_FALSE(result.succeeded);
  EXPECT_EQ(result.failed_command, "exit 0");
  EXPECT_EQ(result.summary, "Command 'exit 0' ended the shell before the remaining commands ran");
}

TEST_F(CommandsActionTest, OutputVariablesAreReadBackIncludingOnesSetByCommands) {
  job_.environment = {{"FROM_ACTION", "declared"}};
  job_.commands = {"export BUILT='yes it is'", "PLAIN='a=b;c'", "EMPTY="};
  job_.output_variables = {"FROM_ACTION", "BUILT", "PLAIN", "EMPTY"};
  CommandsResult result = run();
  ASSERT_TRUE(result.succeeded) << result.summary;
  std::map<std::string, std::string> expected = {
      {"FROM_ACTION", "declared"}, {"BUILT", "yes it is"}, {"PLAIN", "a=b;c"}, {"EMPTY", ""}};
  EXPECT_EQ(result.output_variables, expected);
}

// Decision: a listed output variable that is unset after the last command
// fails the action (as CodeBuild fails a build whose exported variable is
// missing), rather than being an infrastructure error or silently empty.
TEST_F(CommandsActionTest, AnOutputVariableLeftUnsetFailsTheAction) {
  job_.commands = {"export SET_ONE=1"};
  job_.output_variables = {"SET_ONE", "NEVER_SET"};
  CommandsResult result = run();
  EXPECT_FALSE(result.succeeded);
  EXPECT_EQ(result.summary, "Output variable 'NEVER_SET' was not set by the commands");
  EXPECT_TRUE(result.output_variables.empty());
}

TEST_F(CommandsActionTest, AnOutputVariableNameThatIsNotAShellNameIsRefused) {
  job_.commands = {"true"};
  job_.output_variables = {"A;rm -rf x"};
  auto result = run_commands_action(job_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CommandsActionTest, TheEnvironmentIsExactlyWhatWasGiven) {
  ASSERT_EQ(setenv("STAGELINE_COMMANDS_TEST_LEAK", "1", 1), 0);
  const char* home = getenv("HOME");
  const std::string saved_home = home ? home : "";
  ASSERT_EQ(setenv("HOME", "/should/not/leak", 1), 0);
  job_.codepipeline_environment = {{"AWS_REGION", "us-east-1"}, {"CODEBUILD_BUILD_ID", "p:1"}};
  job_.environment = {{"AWS_REGION", "eu-west-1"}, {"MINE", "x"}};
  job_.commands = {"env"};
  CommandsResult result = run();
  if (home)
    setenv("HOME", saved_home.c_str(), 1);
  else
    unsetenv("HOME");
  unsetenv("STAGELINE_COMMANDS_TEST_LEAK");
  ASSERT_TRUE(result.succeeded) << result.summary;
  std::map<std::string, std::string> seen;
  std::istringstream lines(output_);
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    ASSERT_NE(eq, std::string::npos) << line;
    seen[line.substr(0, eq)] = line.substr(eq + 1);
  }
  seen.erase("PWD");  // set by /bin/sh itself
  std::map<std::string, std::string> expected = {{"PATH", "/usr/bin:/bin"},
                                                 {"AWS_REGION", "eu-west-1"},
                                                 {"CODEBUILD_BUILD_ID", "p:1"},
                                                 {"CODEBUILD_SRC_DIR", source().string()},
                                                 {"MINE", "x"}};
  EXPECT_EQ(seen, expected);
}

TEST_F(CommandsActionTest, SourceDirectoryVariablesNameEveryInput) {
  fs::create_directory(dir_.path() / "other");
  job_.inputs.push_back({"OtherArtifact", dir_.path() / "other"});
  job_.commands = {"echo \"$CODEBUILD_SRC_DIR\"", "echo \"$CODEBUILD_SRC_DIR_OtherArtifact\""};
  CommandsResult result = run();
  ASSERT_TRUE(result.succeeded) << result.summary;
  EXPECT_EQ(output_, source().string() + "\n" + (dir_.path() / "other").string() + "\n");
}

TEST_F(CommandsActionTest, QuotingHostileCommandsBehaveAsInSh) {
  job_.base_environment["HOME"] = "/home/action";
  job_.commands = {"echo \"a;b\" '$HOME' \\`x\\`", "printf '%s\\n' \"#not a comment\"",
                   "echo one; echo two && echo three # a comment", "echo 'it'\"'\"'s'",
                   "echo \"$HOME\" \\\\ end"};
  CommandsResult result = run();
  ASSERT_TRUE(result.succeeded) << result.summary;
  EXPECT_EQ(output_, "a;b $HOME `x`\n#not a comment\none\ntwo\nthree\nit's\n/home/action \\ end\n");
}

TEST_F(CommandsActionTest, OutputIsStreamedAsItIsProduced) {
  std::string first_chunk;
  job_.on_output = [&](std::string_view chunk) {
    if (output_calls_ == 0) first_chunk = std::string(chunk);
    output_ += chunk;
    ++output_calls_;
  };
  job_.commands = {"echo first", "sleep 0.2", "echo second"};
  CommandsResult result = run();
  ASSERT_TRUE(result.succeeded) << result.summary;
  EXPECT_GE(output_calls_, 2);
  EXPECT_EQ(first_chunk, "first\n");
  EXPECT_EQ(output_, "first\nsecond\n");
}

TEST_F(CommandsActionTest, TimeoutKillsTheShellAndItsBackgroundChildren) {
  const fs::path pid_file = dir_.path() / "background.pid";
  job_.timeout = std::chrono::seconds(1);
  job_.commands = {"sleep 30 & echo $! > '" + pid_file.string() + "'", "sleep 30"};
  auto start = std::chrono::steady_clock::now();
  CommandsResult result = run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_FALSE(result.succeeded);
  EXPECT_EQ(result.summary, "Timed out after 1 second");
  pid_t background = std::stoi(slurp(pid_file));
  EXPECT_TRUE(ends_within(background, std::chrono::seconds(5)));
}

TEST_F(CommandsActionTest, CancellationStopsTheShellAndItsBackgroundChildren) {
  const fs::path pid_file = dir_.path() / "background.pid";
  job_.commands = {"sleep 30 & echo $! > '" + pid_file.string() + "'", "echo started", "sleep 30"};
  job_.cancelled = [this] { return output_.find("started") != std::string::npos; };
  auto start = std::chrono::steady_clock::now();
  CommandsResult result = run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_FALSE(result.succeeded);
  EXPECT_EQ(result.summary, "Stopped");
  pid_t background = std::stoi(slurp(pid_file));
  EXPECT_TRUE(ends_within(background, std::chrono::seconds(5)));
}

TEST_F(CommandsActionTest, BackgroundChildrenLeftBehindDoNotHoldUpASuccessfulRun) {
  const fs::path pid_file = dir_.path() / "background.pid";
  job_.commands = {"sleep 30 & echo $! > '" + pid_file.string() + "'", "echo done"};
  auto start = std::chrono::steady_clock::now();
  CommandsResult result = run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(result.succeeded) << result.summary;
  EXPECT_EQ(output_, "done\n");
  pid_t background = std::stoi(slurp(pid_file));
  EXPECT_TRUE(ends_within(background, std::chrono::seconds(5)));
}

TEST_F(CommandsActionTest, ACommandWithANewlineOrNulIsRefusedBeforeAnythingRuns) {
  for (std::string bad : {std::string("echo a\necho b"), std::string("echo a\0b", 8)}) {
    job_.commands = {"touch ran", bad};
    auto result = run_commands_action(job_);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_FALSE(fs::exists(source() / "ran"));
  }
}

TEST_F(CommandsActionTest, WorkspaceFilesDoNotAppearInThePrimaryInputDirectory) {
  job_.commands = {"touch made", "ls -A"};
  job_.output_variables = {"PATH"};
  CommandsResult result = run();
  ASSERT_TRUE(result.succeeded) << result.summary;
  EXPECT_EQ(output_, "made\n");
  EXPECT_EQ(entries(source()), std::set<std::string>{"made"});
  EXPECT_FALSE(fs::exists(workspace() / "commands.sh")) << "a short script goes to sh -c";
}

TEST_F(CommandsActionTest, AScriptTooLongForOneArgumentRunsFromAFileInTheWorkspace) {
  job_.commands = {"x=" + std::string(70 * 1024, 'a'), "echo ${#x}"};
  CommandsResult result = run();
  ASSERT_TRUE(result.succeeded) << result.summary;
  EXPECT_EQ(output_, "71680\n");
  EXPECT_TRUE(fs::exists(workspace() / "commands.sh"));
  EXPECT_EQ(entries(source()), std::set<std::string>{});
}

}  // namespace
}  // namespace stageline::providers
