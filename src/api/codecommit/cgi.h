// api/codecommit/cgi: runs a CGI program (RFC 3875) for one HTTP request, as
// GitHttp runs `git http-backend`: the request body on its standard input,
// the response (CGI header lines, a blank line, the body) read from its
// standard output, its standard error kept apart for the log.
//
// The child is started with posix_spawn in a new process group, with an
// explicit, complete environment and no descriptor but 0, 1 and 2; it is
// killed (the whole group) when it outlives the timeout or writes more than
// the output limit. Blocking: the call returns when the child has ended.
// Thread-compatible.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/http.h"
#include "base/status.h"
#include "jobs/process.h"

namespace stageline::codecommit {

struct CgiRequest {
  std::vector<std::string> argv;           // argv[0] is resolved against env PATH
  std::map<std::string, std::string> env;  // the complete environment
  std::string_view body;                   // written to standard input
  // When >= 0 (a request body the HTTP server spooled to a file, opened and
  // positioned at 0), the child reads its standard input from this
  // descriptor instead of `body`. Owned by the caller.
  int body_fd = -1;
  std::chrono::milliseconds timeout{60'000};
  size_t output_limit = 256 * 1024 * 1024;  // bytes of standard output
};

struct CgiOutput {
  std::string out;  // standard output, complete
  std::string err;  // standard error (at most 64 KiB kept)
  jobs::ExitStatus exit;
};

// Runs the program to its end. Errors: kNotFound when the program is not on
// PATH, kIo when a system call fails, kFailedPrecondition when the child
// ran past the timeout or the output limit (it is killed then).
Result<CgiOutput> run_cgi(const CgiRequest& request);

// Reads a CGI response: header lines ("Name: value", LF or CRLF) up to an
// empty line, then the body. "Status: 404 Not Found" sets the status (200
// without it); the other headers are kept in order. Errors
// (kInvalidArgument): no empty line ending the headers, a line without ':',
// a Status that is not a 3-digit code from 100 to 599.
Result<http::Response> parse_cgi_response(std::string_view output);

}  // namespace stageline::codecommit
