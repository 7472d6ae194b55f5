// sigv4_check: a small tool around stageline_sigv4 for end-to-end tests and
// for debugging a client that cannot authenticate.
//
//   sigv4_check genkey --credentials-file F [--profile P] [--principal ARN]
//       makes a new access key, writes it to F (AWS shared credentials file
//       format, mode 0600) and prints its access key id.
//   sigv4_check verify --credentials-file F [--profile P] --request R.json
//       [--region us-east-1] [--service codepipeline]
//       verifies the captured request R.json (request_file.h) with the key of
//       profile P against the current time. Prints "OK <id> <service>
//       <region>" and exits 0, or prints "<__type> (<HTTP status>): <message>"
//       and the server-side detail, and exits 1. Exit 2: usage or I/O error.
#include <cstdio>
#include <map>
#include <string>

#include "api/sigv4/keys.h"
#include "api/sigv4/request_file.h"
#include "api/sigv4/sigv4.h"

namespace sigv4 = stageline::api::sigv4;

namespace {

int usage(const char* why) {
  std::fprintf(stderr,
               "sigv4_check: %s\n"
               "usage: sigv4_check genkey --credentials-file F [--profile P] [--principal ARN]\n"
               "       sigv4_check verify --credentials-file F [--profile P] --request R.json "
               "[--region R] [--service S]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("no command");
  std::string command = argv[1];
  std::map<std::string, std::string> flags = {
      {"--profile", "default"},
      {"--principal", "arn:aws:iam::000000000000:user/admin"},
      {"--region", "us-east-1"},
      {"--service", "codepipeline"}};
  for (int i = 2; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return usage(("no value for " + flag).c_str());
    if (flag != "--credentials-file" && !flags.count(flag) && flag != "--request")
      return usage(("unknown flag " + flag).c_str());
    flags[flag] = argv[i + 1];
  }
  if (!flags.count("--credentials-file")) return usage("--credentials-file is required");
  const std::string& file = flags["--credentials-file"];

  if (command == "genkey") {
    auto key = sigv4::generate_key(flags["--principal"]);
    if (!key.ok()) return std::fprintf(stderr, "%s\n", key.status().message().c_str()), 2;
    if (auto s = sigv4::write_credentials_file(file, *key, flags["--profile"]); !s.ok())
      return std::fprintf(stderr, "%s\n", s.message().c_str()), 2;
    std::printf("%s\n", key->access_key_id.c_str());
    return 0;
  }
  if (command != "verify") return usage(("unknown command " + command).c_str());
  if (!flags.count("--request")) return usage("--request is required");
  auto key = sigv4::read_credentials_file(file, flags["--profile"]);
  if (!key.ok()) return std::fprintf(stderr, "%s\n", key.status().message().c_str()), 2;
  key->principal = "(from " + file + ")";
  auto text = sigv4::read_text_file(flags["--request"]);
  if (!text.ok()) return std::fprintf(stderr, "%s\n", text.status().message().c_str()), 2;
  auto request = sigv4::request_from_json(*text);
  if (!request.ok()) return std::fprintf(stderr, "%s\n", request.status().message().c_str()), 2;

  sigv4::InMemoryKeySource keys;
  keys.put(*key);
  sigv4::VerifierOptions options;
  options.region = flags["--region"];
  options.services = {flags["--service"]};
  sigv4::Verifier verifier(options, keys);
  sigv4::AuthResult result = verifier.verify(request->view());
  if (result.ok()) {
    const sigv4::Identity& id = result.identity();
    std::printf("OK %s %s %s%s\n", id.access_key_id.c_str(), id.service.c_str(), id.region.c_str(),
                id.presigned ? " presigned" : "");
    return 0;
  }
  const sigv4::AuthFailure& f = result.failure();
  std::printf("%s (%d): %s\n", std::string(f.aws_type()).c_str(), f.http_status(),
              f.message.c_str());
  if (!f.detail.empty()) std::printf("detail: %s\n", f.detail.c_str());
  return 1;
}
