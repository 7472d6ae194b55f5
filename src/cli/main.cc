// The stageline executable: parses the command line (CLI11 stays in this one
// translation unit) and hands each verb to its command function.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/action_types_command.h"
#include "cli/apply_command.h"
#include "cli/approve_command.h"
#include "cli/aws_command.h"
#include "cli/client_verbs.h"
#include "cli/logs.h"
#include "cli/repo_command.h"
#include "cli/s3_command.h"
#include "cli/validate_command.h"
#include "cli/watch.h"
#include "server/api_server.h"
#include "server/keys_command.h"
#include "server/local_run.h"

int main(int argc, char** argv) {
  CLI::App app{"Stageline: a self-hosted CI/CD orchestrator that implements AWS CodePipeline"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "stageline 0.1.0");

  stageline::cli::ValidateArgs validate;
  std::vector<std::string> overrides;
  auto* v = app.add_subcommand(
      "validate",
      "Read a pipeline definition (API JSON, --cli-input-json, get-pipeline output, or a "
      "CloudFormation template in YAML or JSON) and report every problem. Exit 0 valid, 1 "
      "invalid, 2 unreadable.");
  bool list_rules = false;
  v->add_option("file", validate.file, "definition file, or - for standard input");
  v->add_flag("--list-rules", list_rules, "print every rule as a Markdown table and exit");
  // One Key=Value per flag, so the file name after it is never taken for a value.
  v->add_option("--parameter-overrides", overrides,
                "a template parameter as Key=Value (repeat the flag for more)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  v->add_option("--output", validate.output, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  v->add_flag("--strict", validate.strict, "treat warnings as errors");
  v->add_option("--region", validate.region, "the pipeline's region (default us-east-1)");
  v->add_option("--stack-name", validate.stack_name, "stack name for templates (AWS::StackName)");

  stageline::server::RunArgs run;
  std::vector<std::string> run_sources, run_variables, run_overrides;
  auto* r = app.add_subcommand(
      "run",
      "Run one pipeline definition locally, in-process, and exit 0 when the execution "
      "Succeeded, 1 otherwise.");
  r->add_option("file", run.file, "definition file (any format validate reads)");
  r->add_flag("--resume", run.resume,
              "continue the executions a stopped or killed run left in --data-dir");
  r->add_option("--data-dir", run.data_dir,
                "keep state here (default: a temporary directory, removed afterwards)");
  r->add_option("--source", run_sources,
                "ACTION=PATH: the source action reads the files of this directory (not .git)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  r->add_option("--variable", run_variables, "name=value: a pipeline-level variable")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  r->add_option("--parameter-overrides", run_overrides, "Key=Value for a template parameter")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  r->add_option("--pipeline", run.pipeline, "which pipeline of a template holding several");
  bool run_approve = false, run_reject = false;
  auto* approve_flag = r->add_flag("--approve", run_approve, "approve every manual approval");
  r->add_flag("--reject", run_reject, "reject every manual approval")->excludes(approve_flag);
  r->add_option("--region", run.region, "the pipeline's region (default us-east-1)");

  stageline::server::ServerArgs server;
  auto* sv = app.add_subcommand("server", "serve the AWS APIs of pipelines (SigV4) on one port");
  sv->add_option("--data-dir", server.data_dir,
                 "where the store, artifacts and credentials live (default: "
                 "$XDG_DATA_HOME/stageline or ~/.local/share/stageline)");
  sv->add_option("--listen", server.listen, "ADDR:PORT to listen on (default 127.0.0.1:7300)");
  sv->add_option("--region", server.region, "the region it answers for (default us-east-1)");
  sv->add_option("--account-id", server.account_id,
                 "the 12-digit account id in ARNs (default 111122223333)");
  sv->add_option("--poll-interval", server.poll_interval_s,
                 "seconds between polls of the git servers behind connections (default 30)")
      ->check(CLI::Range(1, 86400));
  sv->add_option("--lifecycle-interval", server.lifecycle_interval_s,
                 "seconds between applications of the buckets' lifecycle rules (default 3600)")
      ->check(CLI::Range(1, 7 * 86400));
  sv->add_option("--console-dir", server.console_dir,
                 "serve the web console's files from this directory instead of the copy built "
                 "in (for working on web/)")
      ->check(CLI::ExistingDirectory);

  stageline::server::KeysArgs keys;
  auto* k = app.add_subcommand("keys", "manage the access keys the server accepts");
  k->add_option("command", keys.verb, "create NAME | list | delete ID | disable ID | enable ID")
      ->required();
  k->add_option("name-or-id", keys.argument, "the user name (create) or the access key id");
  k->add_option("--data-dir", keys.data_dir, "the server's data directory");
  k->add_option("--account-id", keys.account_id, "the account of a new key's user");

  // The client verbs read their own arguments (the aws CLI's conventions, see
  // cli/client_verbs.h): CLI11 only picks the verb and hands over the rest.
  std::vector<std::pair<const stageline::cli::VerbSpec*, CLI::App*>> verbs;
  for (const auto& spec : stageline::cli::client_verbs()) {
    auto* c = app.add_subcommand(std::string(spec.name), std::string(spec.summary));
    c->prefix_command();
    c->set_help_flag();
    c->group("Client verbs (as `aws codepipeline VERB`; VERB --help for flags)");
    verbs.emplace_back(&spec, c);
  }
  auto* w = app.add_subcommand(
      "watch",
      "follow a pipeline execution until it ends (EXECUTION_ID [--pipeline-name NAME]); exit 0 "
      "when it Succeeded, 1 otherwise");
  w->prefix_command();
  w->set_help_flag();
  auto* lg = app.add_subcommand(
      "logs",
      "print the output of an execution's actions (EXECUTION_ID --pipeline-name NAME [--action "
      "NAME] [--follow])");
  lg->prefix_command();
  lg->set_help_flag();
  auto* at = app.add_subcommand(
      "action-types",
      "register a third-party action type with the server (register FILE.json) or list the "
      "registered ones (list)");
  at->prefix_command();
  at->set_help_flag();
  auto* repo = app.add_subcommand(
      "repo",
      "CodeCommit repositories on the server: create NAME [--description D] (prints the clone "
      "URL), list, credential get (a git credential helper)");
  repo->prefix_command();
  repo->set_help_flag();
  auto* apply = app.add_subcommand(
      "apply",
      "make a CloudFormation template's buckets, topics, repositories, CodeBuild projects and "
      "pipelines on the server (TEMPLATE [--parameter-overrides K=V])");
  apply->prefix_command();
  apply->set_help_flag();
  auto* s3 = app.add_subcommand(
      "s3",
      "buckets and objects on the server, as aws s3 prints them: mb s3://B, ls [s3://B[/P]] "
      "[--recursive], cp SOURCE DEST");
  s3->prefix_command();
  s3->set_help_flag();
  auto* approve = app.add_subcommand(
      "approve",
      "approve the manual approval waiting at PIPELINE STAGE ACTION [--summary TEXT] (finds its "
      "token)");
  approve->prefix_command();
  approve->set_help_flag();
  auto* reject = app.add_subcommand(
      "reject",
      "reject the manual approval waiting at PIPELINE STAGE ACTION [--summary TEXT] (finds its "
      "token)");
  reject->prefix_command();
  reject->set_help_flag();
  auto* aws = app.add_subcommand(
      "aws",
      "run the installed aws CLI against the local server (endpoint, region and credentials "
      "filled in), e.g. stageline aws codepipeline list-action-types");
  aws->prefix_command();
  aws->set_help_flag();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return e.get_exit_code() == 0 ? 0 : (code == 0 ? 0 : 2);
  }

  stageline::cli::ClientEnvironment client_env;
  client_env.default_data_dir = stageline::server::default_data_dir();
  if (const char* f = std::getenv("AWS_SHARED_CREDENTIALS_FILE"); f && *f)
    client_env.shared_credentials_file = f;
  for (const auto& [spec, c] : verbs)
    if (c->parsed())
      return stageline::cli::run_client_verb(*spec, c->remaining(), client_env, std::cout,
                                             std::cerr);
  if (w->parsed())
    return stageline::cli::run_watch(w->remaining(), client_env, std::cout, std::cerr);
  if (lg->parsed())
    return stageline::cli::run_logs(lg->remaining(), client_env, std::cout, std::cerr);
  if (apply->parsed())
    return stageline::cli::run_apply(apply->remaining(), client_env, std::cout, std::cerr);
  if (s3->parsed())
    return stageline::cli::run_s3(s3->remaining(), client_env, std::cin, std::cout, std::cerr);
  if (approve->parsed())
    return stageline::cli::run_approve(true, approve->remaining(), client_env, std::cout,
                                       std::cerr);
  if (reject->parsed())
    return stageline::cli::run_approve(false, reject->remaining(), client_env, std::cout,
                                       std::cerr);
  if (aws->parsed()) return stageline::cli::run_aws(aws->remaining(), client_env, std::cerr);
  if (repo->parsed())
    return stageline::cli::run_repo(repo->remaining(), client_env, std::cin, std::cout, std::cerr);
  if (at->parsed())
    return stageline::cli::run_action_types(at->remaining(), client_env, std::cout, std::cerr);

  if (sv->parsed()) return stageline::server::run_server(server, std::cout, std::cerr);
  if (k->parsed()) {
    if ((keys.verb != "list") && keys.argument.empty()) {
      std::cerr << "stageline keys " << keys.verb << ": a "
                << (keys.verb == "create" ? "user name" : "access key id") << " is required\n";
      return 2;
    }
    return stageline::server::run_keys(keys, std::cout, std::cerr);
  }
  if (r->parsed()) {
    if (run.file.empty() && !run.resume) {
      std::cerr << "stageline run: a FILE is required (or --resume --data-dir DIR)\n";
      return 2;
    }
    auto split = [](const std::string& kv, const char* flag, std::string& k, std::string& value) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "stageline run: " << flag << " takes NAME=VALUE, got '" << kv << "'\n";
        return false;
      }
      k = kv.substr(0, eq);
      value = kv.substr(eq + 1);
      return true;
    };
    std::string k, value;
    for (const auto& kv : run_sources) {
      if (!split(kv, "--source", k, value)) return 2;
      run.sources[k] = value;
    }
    for (const auto& kv : run_variables) {
      if (!split(kv, "--variable", k, value)) return 2;
      run.variables.emplace_back(k, value);
    }
    for (const auto& kv : run_overrides) {
      if (!split(kv, "--parameter-overrides", k, value)) return 2;
      run.parameter_overrides[k] = value;
    }
    if (run_approve) run.approve = true;
    if (run_reject) run.approve = false;
    return stageline::server::run_local(run, std::cout, std::cerr);
  }
  if (v->parsed()) {
    if (list_rules) {
      stageline::cli::print_rules(std::cout);
      return 0;
    }
    if (validate.file.empty()) {
      std::cerr << "stageline validate: a FILE is required (or - for standard input)\n"
                << app.help() << "\n";
      return 2;
    }
    for (const auto& kv : overrides) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "stageline validate: --parameter-overrides takes Key=Value, got '" << kv
                  << "'\n";
        return 2;
      }
      validate.parameter_overrides[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return stageline::cli::run_validate(validate, std::cout, std::cerr);
  }
  return 2;
}
