#include "api/codecommit/cgi.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace stageline::codecommit {
namespace {

TEST(CgiResponse, StatusSetsTheCodeAndOtherHeadersAreKeptInOrder) {
  auto r = parse_cgi_response(
      "Status: 404 Not Found\r\nContent-Type: text/plain\r\nX-A:  b\r\n\r\nbody\r\nmore");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 404);
  ASSERT_EQ(r->headers.size(), 2u);
  EXPECT_EQ(r->headers[0], (std::pair<std::string, std::string>("Content-Type", "text/plain")));
  EXPECT_EQ(r->headers[1].second, "b");
  EXPECT_EQ(r->body, "body\r\nmore");
}

TEST(CgiResponse, WithoutStatusTheAnswerIs200AndBareNewlinesWork) {
  auto r = parse_cgi_response("Content-Type: application/x-git\n\n\x01\x02");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "\x01\x02");
}

TEST(CgiResponse, OutputWithoutTheEmptyLineOrWithABadHeaderIsRefused) {
  EXPECT_FALSE(parse_cgi_response("Content-Type: x\r\n").ok());
  EXPECT_FALSE(parse_cgi_response("").ok());
  EXPECT_FALSE(parse_cgi_response("no colon here\r\n\r\n").ok());
  EXPECT_FALSE(parse_cgi_response("Status: 99 Odd\r\n\r\n").ok());
  EXPECT_FALSE(parse_cgi_response("Status: abc\r\n\r\n").ok());
}

CgiRequest shell(std::string script) {
  CgiRequest r;
  r.argv = {"sh", "-c", std::move(script)};
  r.env = {{"PATH", "/usr/bin:/bin"}, {"ONLY", "this"}};
  return r;
}

TEST(RunCgi, TheBodyGoesToStandardInputAndTheOutputsComeBackApart) {
  std::string body(3 * 1024 * 1024, 'x');  // more than a pipe buffer both ways
  CgiRequest r = shell("echo \"$ONLY $HOME\" >&2; cat");
  r.body = body;
  auto out = run_cgi(r);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE(out->exit.success());
  EXPECT_EQ(out->out, body);
  EXPECT_EQ(out->err, "this \n") << "the environment is exactly the one given";
}

TEST(RunCgi, ASpooledBodyIsReadFromItsFile) {
  char path[] = "/tmp/cgi-body-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  std::string body(7 * 1024 * 1024, 'y');  // above the server's in-memory body limit
  ASSERT_EQ(::write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
  ASSERT_EQ(::lseek(fd, 0, SEEK_SET), 0);
  CgiRequest r = shell("wc -c");
  r.body = "ignored when a descriptor is given";
  r.body_fd = fd;
  auto out = run_cgi(r);
  ::close(fd);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(std::stoul(out->out), body.size());
}

TEST(RunCgi, AChildThatIgnoresItsInputStillAnswers) {
  CgiRequest r = shell("echo early; exit 3");
  std::string body(8 * 1024 * 1024, 'y');
  r.body = body;
  auto out = run_cgi(r);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->out, "early\n");
  EXPECT_EQ(out->exit.describe(), "exit code 3");
}

TEST(RunCgi, AChildPastItsTimeoutOrOutputLimitIsKilled) {
  CgiRequest slow = shell("exec sleep 30");
  slow.timeout = std::chrono::milliseconds(50);
  EXPECT_EQ(run_cgi(slow).status().code(), StatusCode::kFailedPrecondition);
  CgiRequest loud = shell("exec yes");
  loud.output_limit = 1000;
  EXPECT_EQ(run_cgi(loud).status().code(), StatusCode::kFailedPrecondition);
}

TEST(RunCgi, AProgramNotOnPathIsNotFound) {
  CgiRequest r;
  r.argv = {"no-such-program-here"};
  r.env = {{"PATH", "/nonexistent"}};
  EXPECT_EQ(run_cgi(r).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace stageline::codecommit
