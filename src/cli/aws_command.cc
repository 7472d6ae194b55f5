#include "cli/aws_command.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "api/client/api_client.h"
#include "base/strings.h"

namespace stageline::cli {

Result<AwsInvocation> plan_aws(const std::vector<std::string>& args, const ClientEnvironment& env) {
  AwsInvocation plan;
  plan.argv.push_back("aws");
  api::client::LocateOptions where;
  where.default_data_dir = env.default_data_dir;
  where.shared_credentials_file = env.shared_credentials_file;
  bool has_endpoint = false, has_region = false, has_profile = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--data-dir" || starts_with(a, "--data-dir=")) {
      if (a == "--data-dir") {
        if (i + 1 >= args.size()) return Status::invalid("--data-dir needs a directory");
        where.data_dir = args[++i];
      } else {
        where.data_dir = a.substr(11);
      }
      continue;
    }
    if (a == "--endpoint-url" || starts_with(a, "--endpoint-url=")) has_endpoint = true;
    if (a == "--region" || starts_with(a, "--region=")) has_region = true;
    if (a == "--profile" || starts_with(a, "--profile=")) has_profile = true;
    plan.argv.push_back(a);
  }
  if (!has_endpoint || !has_region) {
    auto endpoint = api::client::locate_endpoint(where);
    if (!endpoint.ok()) return endpoint.status();
    if (!has_endpoint) {
      plan.argv.push_back("--endpoint-url");
      plan.argv.push_back(endpoint->endpoint_url);
    }
    if (!has_region) {
      plan.argv.push_back("--region");
      plan.argv.push_back(endpoint->region);
    }
  }
  if (!where.data_dir.empty() || !env.shared_credentials_file) {
    plan.set_env.emplace_back("AWS_SHARED_CREDENTIALS_FILE",
                              api::client::credentials_path(where).string());
    plan.unset_env = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"};
    if (!has_profile) {
      plan.unset_env.push_back("AWS_PROFILE");
      plan.unset_env.push_back("AWS_DEFAULT_PROFILE");
    }
  }
  return plan;
}

int run_aws(const std::vector<std::string>& args, const ClientEnvironment& env, std::ostream& err) {
  auto plan = plan_aws(args, env);
  if (!plan.ok()) {
    err << "stageline aws: " << plan.status().message() << "\n";
    return kExitUsage;
  }
  for (const auto& [name, value] : plan->set_env) ::setenv(name.c_str(), value.c_str(), 1);
  for (const auto& name : plan->unset_env) ::unsetenv(name.c_str());
  std::vector<char*> argv;
  for (auto& a : plan->argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  err.flush();
  ::execvp("aws", argv.data());
  const int e = errno;
  if (e == ENOENT) {
    err << "stageline aws: the aws CLI is not installed (no `aws` on PATH); install it (Debian: "
           "apt-get install awscli) or use the native verbs, e.g. `stageline list-pipelines`\n";
  } else {
    err << "stageline aws: exec aws: " << std::strerror(e) << "\n";
  }
  return 127;
}

}  // namespace stageline::cli
