// definitions_bench: how long it takes to read, validate and write pipeline
// definitions, each measured beside the floor it cannot beat, in the same run:
//
//   ReadV2Json         read_definition of a V2 API JSON pipeline (5 stages,
//                      20 actions) | floor JsonParseV2: boost::json::parse of
//                      the same text
//   ReadSeedYaml       read_definition of the seed's CloudFormation template
//                      | floor YamlLoadSeed: YAML::Load of the same text
//   ReadLarge/S        read_definition of S stages x 20 actions, every action
//                      consuming an earlier artifact and variables; items are
//                      actions, so items/s that hold from S=10 to S=50 mean the
//                      readers and validation scale linearly | floor
//                      JsonParseLarge/S
//   ValidateLarge/S    validate_pipeline alone on the decoded declaration
//   EncodeV2, EncodeLarge/S   encode_pipeline + serialize | floor
//                      SerializeV2, SerializeLarge/S: serialize of the
//                      already-encoded value
//
// Every input is generated here (or quoted from the seed), so the numbers do
// not move when example files change. Each benchmark checks once that its
// input reads as a valid pipeline, so the error paths are never what is timed.
// Results: bench/RESULTS.md. Run: ./x bench (release build).

#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <string>

#include "definitions/document.h"
#include "definitions/validation.h"
#include "model/pipeline_json.h"

namespace stageline::definitions {
namespace {

namespace json = boost::json;

// The template of the seed document (shared/seed/codepipeline-overview.txt), verbatim.
constexpr const char* kSeedTemplate = R"(Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: my-app-pipeline
      RoleArn: arn:aws:iam::123456789012:role/CodePipelineServiceRole
      ArtifactStore:
        Type: S3
        Location: my-pipeline-artifacts-123456789012
      Stages:
        - Name: Source
          Actions:
            - Name: GitHubSource
              ActionTypeId: { Category: Source, Owner: AWS, Provider: CodeStarSourceConnection, Version: "1" }
              Configuration:
                ConnectionArn: arn:aws:codestar-connections:us-east-1:123456789012:connection/abcd1234
                FullRepositoryId: my-org/my-app
                BranchName: main
              OutputArtifacts: [{ Name: SourceOut }]
        - Name: Build
          Actions:
            - Name: BuildAndTest
              ActionTypeId: { Category: Build, Owner: AWS, Provider: CodeBuild, Version: "1" }
              Configuration: { ProjectName: my-app-build }
              InputArtifacts: [{ Name: SourceOut }]
              OutputArtifacts: [{ Name: BuildOut }]
        - Name: Deploy
          Actions:
            - Name: ApproveDeploy
              ActionTypeId: { Category: Approval, Owner: AWS, Provider: Manual, Version: "1" }
              RunOrder: 1
            - Name: DeployStack
              ActionTypeId: { Category: Deploy, Owner: AWS, Provider: CloudFormation, Version: "1" }
              RunOrder: 2
              InputArtifacts: [{ Name: BuildOut }]
              Configuration:
                ActionMode: CREATE_UPDATE
                StackName: my-app-stack
                TemplatePath: BuildOut::template.yaml
                Capabilities: CAPABILITY_IAM
                RoleArn: arn:aws:iam::123456789012:role/CfnDeployRole
)";

// ------------------------------------------------------------ inputs

// Indented like `aws codepipeline get-pipeline` output (4 spaces), since
// whitespace is part of what the readers scan.
void pretty(const json::value& v, std::string& out, int indent) {
  const std::string pad(static_cast<size_t>(indent + 4), ' ');
  const std::string close(static_cast<size_t>(indent), ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : v.get_object()) {
      out += first ? "" : ",\n";
      first = false;
      out += pad + json::serialize(json::value(kv.key())) + ": ";
      pretty(kv.value(), out, indent + 4);
    }
    out += "\n" + close + "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& e : v.get_array()) {
      out += first ? "" : ",\n";
      first = false;
      out += pad;
      pretty(e, out, indent + 4);
    }
    out += "\n" + close + "]";
  } else {
    out += json::serialize(v);
  }
}

std::string pretty(const json::value& v) {
  std::string out;
  pretty(v, out, 0);
  return out + "\n";
}

json::object type_id(const char* category, const char* provider) {
  return {{"category", category}, {"owner", "AWS"}, {"provider", provider}, {"version", "1"}};
}

json::array artifacts(std::initializer_list<std::string> names) {
  json::array a;
  for (const auto& n : names) a.push_back(json::object{{"name", n}});
  return a;
}

json::object base_pipeline(const std::string& name) {
  return {
      {"name", name},
      {"roleArn", "arn:aws:iam::123456789012:role/CodePipelineServiceRole"},
      {"artifactStore", {{"type", "S3"}, {"location", "bench-artifacts-123456789012"}}},
      {"pipelineType", "V2"},
      {"executionMode", "QUEUED"},
      {"variables", json::array{json::object{{"name", "Env"}, {"defaultValue", "staging"}},
                                json::object{{"name", "Region"}, {"defaultValue", "us-east-1"}}}}};
}

// A pipeline as a team would write it: two sources, a build stage with tests
// and a Commands action, staging with conditions, approval, production.
// 5 stages, 20 actions.
std::string realistic_v2_json() {
  json::object p = base_pipeline("web-shop");
  p["triggers"] = json::array{json::object{
      {"providerType", "CodeStarSourceConnection"},
      {"gitConfiguration",
       {{"sourceActionName", "App"},
        {"push", json::array{json::object{{"branches", {{"includes", json::array{"main"}}}}}}}}}}};
  auto source = [](const char* name, const char* ns, const char* repo, const char* out) {
    return json::object{
        {"name", name},
        {"namespace", ns},
        {"actionTypeId", type_id("Source", "CodeStarSourceConnection")},
        {"configuration",
         {{"ConnectionArn",
           "arn:aws:codestar-connections:us-east-1:123456789012:connection/abcd1234"},
          {"FullRepositoryId", repo},
          {"BranchName", "main"}}},
        {"outputArtifacts", artifacts({out})}};
  };
  auto codebuild = [](const char* name, const char* category, int run_order,
                      std::initializer_list<std::string> in, std::initializer_list<std::string> out,
                      const char* ns) {
    json::object a{{"name", name},
                   {"actionTypeId", type_id(category, "CodeBuild")},
                   {"runOrder", run_order},
                   {"configuration",
                    {{"ProjectName", std::string("web-shop-") + name},
                     {"EnvironmentVariables",
                      "[{\"name\":\"COMMIT\",\"value\":\"#{AppSource.CommitId}\","
                      "\"type\":\"PLAINTEXT\"},{\"name\":\"ENV\",\"value\":\"#{variables.Env}\","
                      "\"type\":\"PLAINTEXT\"}]"}}},
                   {"inputArtifacts", artifacts(in)}};
    if (in.size() > 1) a["configuration"].as_object()["PrimarySource"] = *in.begin();
    if (out.size()) a["outputArtifacts"] = artifacts(out);
    if (ns) a["namespace"] = ns;
    return a;
  };
  auto cfn = [](const char* name, const char* stack, const char* in, int run_order) {
    return json::object{{"name", name},
                        {"actionTypeId", type_id("Deploy", "CloudFormation")},
                        {"runOrder", run_order},
                        {"configuration",
                         {{"ActionMode", "CREATE_UPDATE"},
                          {"StackName", std::string(stack) + "-#{variables.Env}"},
                          {"TemplatePath", std::string(in) + "::template.yaml"},
                          {"ParameterOverrides", "{\"Image\": \"#{Image.IMAGE_URI}\"}"},
                          {"Capabilities", "CAPABILITY_IAM"},
                          {"RoleArn", "arn:aws:iam::123456789012:role/CfnDeployRole"}}},
                        {"inputArtifacts", artifacts({in})}};
  };
  auto manual = [](const char* name, int run_order) {
    return json::object{{"name", name},
                        {"actionTypeId", type_id("Approval", "Manual")},
                        {"runOrder", run_order},
                        {"configuration", {{"CustomData", "Release #{AppSource.CommitId}?"}}}};
  };
  auto commands = [](const char* name, int run_order, const char* in) {
    return json::object{
        {"name", name},
        {"actionTypeId", type_id("Compute", "Commands")},
        {"runOrder", run_order},
        {"commands", json::array{"npm ci", "npm run smoke -- --env #{variables.Env}"}},
        {"inputArtifacts", artifacts({in})},
        {"environmentVariables",
         json::array{json::object{{"name", "COMMIT"}, {"value", "#{AppSource.CommitId}"}}}}};
  };
  json::object variable_gate{
      {"conditions",
       json::array{json::object{
           {"result", "FAIL"},
           {"rules", json::array{json::object{
                         {"name", "OnMain"},
                         {"ruleTypeId", {{"category", "Rule"}, {"provider", "VariableCheck"}}},
                         {"configuration",
                          {{"Variable", "#{AppSource.BranchName}"},
                           {"Value", "main"},
                           {"Operator", "EQ"}}}}}}}}}};
  p["stages"] = json::array{
      json::object{
          {"name", "Source"},
          {"actions", json::array{source("App", "AppSource", "shop/web", "AppSrc"),
                                  source("Infra", "InfraSource", "shop/infra", "InfraSrc")}}},
      json::object{
          {"name", "Build"},
          {"actions",
           json::array{
               codebuild("Lint", "Test", 1, {"AppSrc"}, {}, nullptr),
               codebuild("UnitTests", "Test", 1, {"AppSrc"}, {"TestReports"}, nullptr),
               codebuild("Image", "Build", 2, {"AppSrc", "InfraSrc"}, {"ImageDef"}, "Image"),
               codebuild("Templates", "Build", 2, {"InfraSrc"}, {"Templates"}, nullptr),
               commands("Audit", 3, "AppSrc")}},
          {"onFailure",
           {{"result", "RETRY"}, {"retryConfiguration", {{"retryMode", "FAILED_ACTIONS"}}}}}},
      json::object{
          {"name", "Staging"},
          {"beforeEntry", variable_gate},
          {"actions",
           json::array{cfn("Network", "net", "Templates", 1), cfn("Database", "db", "Templates", 1),
                       cfn("Service", "svc", "Templates", 2), commands("Smoke", 3, "AppSrc"),
                       codebuild("Integration", "Test", 3, {"AppSrc"}, {}, nullptr)}},
          {"onFailure", {{"result", "ROLLBACK"}}}},
      json::object{{"name", "Approval"},
                   {"actions", json::array{manual("ProductOwner", 1), manual("Security", 1)}}},
      json::object{
          {"name", "Production"},
          {"actions",
           json::array{
               cfn("ProdNetwork", "net", "Templates", 1), cfn("ProdDatabase", "db", "Templates", 1),
               cfn("ProdService", "svc", "Templates", 2), commands("ProdSmoke", 3, "AppSrc"),
               json::object{
                   {"name", "Reports"},
                   {"actionTypeId", type_id("Deploy", "S3")},
                   {"runOrder", 3},
                   {"configuration", {{"BucketName", "web-shop-reports"}, {"Extract", "true"}}},
                   {"inputArtifacts", artifacts({"TestReports"})}},
               manual("Announce", 4)}}}};
  return pretty(p);
}

// `stages` stages of 20 actions. Stage 0 holds 20 source actions; every later
// action is a CodeBuild action that consumes the artifact of the action in
// the same column one stage up and, in its configuration, a variable of that
// action and a pipeline variable, then produces its own artifact and
// namespace. So every artifact and variable rule has work on every action.
std::string large_json(int stages) {
  constexpr int kActions = 20;
  json::object p = base_pipeline("large-" + std::to_string(stages));
  json::array stage_list;
  for (int s = 0; s < stages; ++s) {
    json::array actions;
    for (int a = 0; a < kActions; ++a) {
      std::string id = std::to_string(s) + "x" + std::to_string(a);
      std::string prev = std::to_string(s - 1) + "x" + std::to_string(a);
      json::object action;
      if (s == 0) {
        action = {{"name", "Source" + id},
                  {"namespace", "N" + id},
                  {"actionTypeId", type_id("Source", "CodeStarSourceConnection")},
                  {"configuration",
                   {{"ConnectionArn",
                     "arn:aws:codestar-connections:us-east-1:123456789012:connection/abcd1234"},
                    {"FullRepositoryId", "org/repo" + std::to_string(a)},
                    {"BranchName", "main"}}}};
      } else {
        std::string var = s == 1 ? "CommitId" : "IMAGE_TAG";
        action = {{"name", "Build" + id},
                  {"namespace", "N" + id},
                  {"actionTypeId", type_id("Build", "CodeBuild")},
                  {"configuration",
                   {{"ProjectName", "project-" + id},
                    {"EnvironmentVariables",
                     "[{\"name\":\"UPSTREAM\",\"value\":\"#{N" + prev + "." + var +
                         "}\",\"type\":\"PLAINTEXT\"},{\"name\":\"ENV\",\"value\":\"#{"
                         "variables.Env}\",\"type\":\"PLAINTEXT\"}]"}}},
                  {"inputArtifacts", artifacts({"A" + prev})}};
      }
      action["outputArtifacts"] = artifacts({"A" + id});
      actions.push_back(std::move(action));
    }
    stage_list.push_back(json::object{{"name", "Stage" + std::to_string(s)}, {"actions", actions}});
  }
  p["stages"] = std::move(stage_list);
  return pretty(p);
}

// Stops the benchmark unless `text` reads as a valid pipeline.
bool check_valid(benchmark::State& state, const std::string& text) {
  Document doc = read_definition(text);
  if (doc.valid() && doc.pipelines.size() == 1) return true;
  std::string why = doc.problems.empty() ? std::string(to_string(doc.format))
                                         : doc.problems.front().problem.path + ": " +
                                               doc.problems.front().problem.message;
  state.SkipWithError(("input is not a valid pipeline: " + why).c_str());
  return false;
}

size_t action_count(const std::string& text) {
  size_t n = 0;
  const json::value pipeline = json::parse(text);
  for (const auto& st : pipeline.at("stages").as_array()) n += st.at("actions").as_array().size();
  return n;
}

const std::string& v2_text() {
  static const std::string kText = realistic_v2_json();
  return kText;
}

const std::string& large_text(int stages) {
  static const std::string k10 = large_json(10);
  static const std::string k50 = large_json(50);
  return stages == 10 ? k10 : k50;
}

// ------------------------------------------------------------ (a) API JSON

void ReadV2Json(benchmark::State& state) {
  const std::string& text = v2_text();
  if (!check_valid(state, text)) return;
  for (auto _ : state) benchmark::DoNotOptimize(read_definition(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetLabel(std::to_string(action_count(text)) + " actions, " + std::to_string(text.size()) +
                 " bytes");
}

void JsonParseV2(benchmark::State& state) {
  const std::string& text = v2_text();
  for (auto _ : state) benchmark::DoNotOptimize(json::parse(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetLabel("floor of ReadV2Json");
}

// ------------------------------------------------------------ (b) CloudFormation YAML

void ReadSeedYaml(benchmark::State& state) {
  const std::string text = kSeedTemplate;
  if (!check_valid(state, text)) return;
  for (auto _ : state) benchmark::DoNotOptimize(read_definition(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void YamlLoadSeed(benchmark::State& state) {
  const std::string text = kSeedTemplate;
  for (auto _ : state) benchmark::DoNotOptimize(YAML::Load(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetLabel("floor of ReadSeedYaml");
}

// ------------------------------------------------------------ (c) scaling

void ReadLarge(benchmark::State& state) {
  const std::string& text = large_text(static_cast<int>(state.range(0)));
  if (!check_valid(state, text)) return;
  const size_t actions = action_count(text);
  for (auto _ : state) benchmark::DoNotOptimize(read_definition(text));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * actions));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetLabel(std::to_string(actions) + " actions");
}

void JsonParseLarge(benchmark::State& state) {
  const std::string& text = large_text(static_cast<int>(state.range(0)));
  const size_t actions = action_count(text);
  for (auto _ : state) benchmark::DoNotOptimize(json::parse(text));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * actions));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetLabel("floor of ReadLarge");
}

void ValidateLarge(benchmark::State& state) {
  const std::string& text = large_text(static_cast<int>(state.range(0)));
  if (!check_valid(state, text)) return;
  const model::PipelineDeclaration decl = read_definition(text).pipelines.at(0).declaration;
  const size_t actions = action_count(text);
  for (auto _ : state) benchmark::DoNotOptimize(validate_pipeline(decl));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * actions));
  state.SetLabel(std::to_string(actions) + " actions");
}

// ------------------------------------------------------------ (d) writing

void Encode(benchmark::State& state, const std::string& text) {
  if (!check_valid(state, text)) return;
  const model::PipelineDeclaration decl = read_definition(text).pipelines.at(0).declaration;
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out = json::serialize(model::encode_pipeline(decl));
    bytes += out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void Serialize(benchmark::State& state, const std::string& text) {
  if (!check_valid(state, text)) return;
  const json::value encoded =
      model::encode_pipeline(read_definition(text).pipelines.at(0).declaration);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out = json::serialize(encoded);
    bytes += out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetLabel("floor of Encode");
}

void EncodeV2(benchmark::State& state) { Encode(state, v2_text()); }
void SerializeV2(benchmark::State& state) { Serialize(state, v2_text()); }
void EncodeLarge(benchmark::State& state) {
  Encode(state, large_text(static_cast<int>(state.range(0))));
}
void SerializeLarge(benchmark::State& state) {
  Serialize(state, large_text(static_cast<int>(state.range(0))));
}

BENCHMARK(ReadV2Json)->Unit(benchmark::kMicrosecond);
BENCHMARK(JsonParseV2)->Unit(benchmark::kMicrosecond);
BENCHMARK(ReadSeedYaml)->Unit(benchmark::kMicrosecond);
BENCHMARK(YamlLoadSeed)->Unit(benchmark::kMicrosecond);
BENCHMARK(ReadLarge)->Arg(10)->Arg(50)->Unit(benchmark::kMicrosecond);
BENCHMARK(JsonParseLarge)->Arg(10)->Arg(50)->Unit(benchmark::kMicrosecond);
BENCHMARK(ValidateLarge)->Arg(10)->Arg(50)->Unit(benchmark::kMicrosecond);
BENCHMARK(EncodeV2)->Unit(benchmark::kMicrosecond);
BENCHMARK(SerializeV2)->Unit(benchmark::kMicrosecond);
BENCHMARK(EncodeLarge)->Arg(10)->Arg(50)->Unit(benchmark::kMicrosecond);
BENCHMARK(SerializeLarge)->Arg(10)->Arg(50)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace stageline::definitions

BENCHMARK_MAIN();
