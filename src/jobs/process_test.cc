#include "jobs/process.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace stageline::jobs {
namespace {

ProcessSpec sh(const std::string& script) {
  return {{"/bin/sh", "-c", script}, {{"PATH", "/usr/bin:/bin"}, {"ONLY", "this"}}, ""};
}

// Reads until end of output (poll, never sleep-and-hope).
std::string drain(Process& p) {
  std::string out;
  while (true) {
    auto more = p.read_available(out);
    EXPECT_TRUE(more.ok());
    if (!more.ok() || !*more) return out;
    pollfd fd{p.output_fd(), POLLIN, 0};
    ::poll(&fd, 1, 10000);
  }
}

TEST(ProcessTest, CapturesStdoutAndStderrAndTheExitCode) {
  auto p = spawn(sh("echo out; echo err >&2; exit 3"));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(drain(*p), "out\nerr\n");
  auto st = p->wait();
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->success());
  EXPECT_EQ(st->describe(), "exit code 3");
}

TEST(ProcessTest, TheEnvironmentIsExactlyTheOneGiven) {
  auto p = spawn(sh("env | sort"));
  ASSERT_TRUE(p.ok());
  std::string out = drain(*p);
  EXPECT_NE(out.find("ONLY=this\n"), std::string::npos);
  EXPECT_EQ(out.find("HOME="), std::string::npos) << out;
  EXPECT_TRUE(p->wait()->success());
}

TEST(ProcessTest, StdinIsDevNullAndTheWorkingDirectoryIsSet) {
  auto spec = sh("cat; pwd");
  spec.cwd = "/tmp";
  auto p = spawn(spec);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(drain(*p), "/tmp\n");
  EXPECT_TRUE(p->wait()->success());
}

TEST(ProcessTest, NoDescriptorOfTheParentLeaksIntoTheChild) {
  int leaked = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaked, 0);
  auto p = spawn(sh("ls /proc/self/fd | wc -l"));
  ASSERT_TRUE(p.ok());
  // 0, 1, 2 and the directory ls reads.
  EXPECT_EQ(drain(*p), "4\n");
  EXPECT_TRUE(p->wait()->success());
  ::close(leaked);
}

TEST(ProcessTest, TerminateKillsTheWholeGroupIncludingChildrenThatIgnoreSigterm) {
  auto p = spawn(sh("trap '' TERM; sleep 60 & echo $!; wait"));
  ASSERT_TRUE(p.ok());
  std::string out;
  while (out.find('\n') == std::string::npos) {
    ASSERT_TRUE(p->read_available(out).ok());
    pollfd fd{p->output_fd(), POLLIN, 0};
    ::poll(&fd, 1, 10000);
  }
  pid_t grandchild = std::stoi(out);
  auto st = p->terminate(std::chrono::milliseconds(200));
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->exited);
  EXPECT_EQ(st->signal, SIGKILL);
  // The grandchild is gone too (or a zombie of init): signal 0 fails or it is reaped soon.
  for (int i = 0; i < 1000 && ::kill(grandchild, 0) == 0; ++i) {
    std::string stat_path = "/proc/" + std::to_string(grandchild) + "/stat";
    std::ifstream in(stat_path);
    std::string pid, comm, state;
    in >> pid >> comm >> state;
    if (state == "Z" || !in) break;
    usleep(1000);
  }
  std::ifstream in("/proc/" + std::to_string(grandchild) + "/stat");
  std::string pid, comm, state;
  in >> pid >> comm >> state;
  EXPECT_TRUE(!in || state == "Z") << "grandchild still running: " << state;
}

TEST(ProcessTest, AMissingProgramIsAClearError) {
  auto p = spawn({{"no-such-program-xyz"}, {{"PATH", "/usr/bin:/bin"}}, ""});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("no-such-program-xyz"), std::string::npos);
}

TEST(ProcessTest, WaitStatusIsDecodedInOnePlace) {
  EXPECT_EQ(decode_wait_status(0).describe(), "exit code 0");
  EXPECT_EQ(decode_wait_status(SIGKILL).signal, SIGKILL);
}

}  // namespace
}  // namespace stageline::jobs
