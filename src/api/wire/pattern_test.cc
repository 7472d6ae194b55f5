#include "api/wire/pattern.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "api/wire/embedded.h"

namespace stageline::wire {
namespace {

TEST(Pattern, MatchesTheWholeValueAsAwsDoes) {
  const Pattern p = Pattern::compile(R"([A-Za-z0-9.@\-_]+)");
  EXPECT_EQ(p.fidelity(), PatternFidelity::kExact);
  EXPECT_TRUE(p.matches("my-app_pipeline.v2@x"));
  EXPECT_FALSE(p.matches("x y"));  // 'x' alone matches: AWS still refuses it
  EXPECT_FALSE(p.matches(""));
}

// Every pattern of the CodePipeline model, with values from the API
// reference's examples (or the shape's documented format) that must match,
// and values that must not.
TEST(Pattern, EveryCodePipelinePatternAcceptsItsExamplesAndRefusesOthers) {
  struct Case {
    std::vector<std::string> good, bad;
  };
  const std::map<std::string, Case> cases = {
      {"AccountId", {{"123456789012"}, {"12345678901", "12345678901a"}}},
      {"ActionConfigurationQueryableValue", {{"my_value-1"}, {"a b", "a.b"}}},
      {"ActionName", {{"Source", "Deploy.Prod@1_x-y"}, {"my action", "a/b"}}},
      {"ActionNamespace", {{"SourceVariables", "ns@1-_"}, {"a.b"}}},
      {"ActionProvider", {{"CodeStarSourceConnection", "My_Provider-1"}, {"A.B"}}},
      {"ActionTypeOwner", {{"AWS", "ThirdParty"}, {"Custom", "AWSThirdParty"}}},
      {"AllowedAccount", {{"111122223333", "*"}, {"**", "1*"}}},
      {"ApprovalToken", {{"1a2b3c4d-573f-4ea7-a339-EXAMPLE11111"}, {}}},
      {"ArtifactName", {{"SourceArtifact", "Build_Output-1"}, {"a.b"}}},
      {"ArtifactStoreLocation",
       {{"codepipeline-us-east-2-1234567890", "my.bucket"}, {"my_bucket"}}},
      {"ClientId",
       {{"d0a82860-1234-4abc-9def-0123456789ab"}, {"D0A82860-1234-4ABC-9DEF-0123456789AB"}}},
      {"ClientRequestToken", {{"d0a82860-1234-4abc-9def-0123456789ab"}, {"a_b"}}},
      {"DisabledReason", {{"Disabled for maintenance (again)!"}, {"no_underscores"}}},
      {"EnvironmentVariableName", {{"MY_VAR_1"}, {"MY-VAR"}}},
      {"EnvironmentVariableValue", {{"anything at all", ""}, {"two\nlines"}}},
      {"GitBranchNamePattern", {{"main", "release/**"}, {}}},
      {"GitFilePathPattern", {{"src/**/*.cc"}, {}}},
      {"JobId", {{"f4f4ff82-2d11-EXAMPLE"}, {}}},
      {"LambdaFunctionArn",
       {{"arn:aws:lambda:us-east-1:123456789012:function:my-fn"},
        {"arn:aws:lambda:us-east-1:1234:function:my-fn"}}},
      {"OutputVariablesKey", {{"CommitId", "my@key-1_x"}, {"a.b"}}},
      {"PipelineArn",
       {{"arn:aws:codepipeline:us-east-2:123456789012:MyFirstPipeline"}, {"arn:aws:s3:::bucket"}}},
      {"PipelineExecutionId", {{"3137f7cb-7cf7-039j-s83l-d7eu3EXAMPLE"}, {}}},
      {"PipelineName", {{"MyFirstPipeline", "my-app-pipeline"}, {"my pipeline"}}},
      {"PipelineVariableDescription", {{"The release tag", ""}, {"line\nbreak"}}},
      {"PipelineVariableName", {{"ReleaseTag", "var@1-_"}, {"a.b"}}},
      {"PipelineVariableValue", {{"v1.2.3", ""}, {"a\rb"}}},
      {"ResourceArn",
       {{"arn:aws:codepipeline:us-east-1:123456789012:MyPipeline",
         "arn:aws-cn:codepipeline:cn-north-1:123456789012:webhook:x"},
        {"arn:aws:codepipeline:us-east-1:12345678901:MyPipeline"}}},
      {"RoleArn",
       {{"arn:aws:iam::123456789012:role/CodePipelineServiceRole",
         "arn:aws-us-gov:iam::123456789012:role/service-role/x"},
        {"arn:aws:iam::123456789012:user/bob"}}},
      {"RuleExecutionToken", {{"token-1.2"}, {"token_1"}}},
      {"RuleName", {{"MyDeploymentRule", "a.b@c-d_e"}, {"a b"}}},
      {"RuleProvider", {{"DeploymentWindow", "Lambda_Invoke-1"}, {"a.b"}}},
      {"StageName", {{"Source", "Deploy-Prod"}, {"Deploy Prod"}}},
      {"Version", {{"1", "v2_beta-1"}, {"1.0"}}},
      {"WebhookName", {{"MyWebhook", "my.webhook@1"}, {"my webhook"}}},
  };
  // The UUID-shaped ids: AWS's own examples contain "EXAMPLE", which the
  // pattern refuses; real ids are lower-case hex.
  const std::map<std::string, std::string> uuid_shapes = {
      {"ApprovalToken", "1a2b3c4d-573f-4ea7-a339-0123456789ab"},
      {"JobId", "f4f4ff82-2d11-4abc-9def-0123456789ab"},
      {"PipelineExecutionId", "3137f7cb-7cf7-439a-b83c-d7ee30123456"},
  };
  const ServiceModel& model = codepipeline_model();
  size_t checked = 0;
  for (const Shape* shape : model.shapes()) {
    if (!shape->pattern) continue;
    ++checked;
    SCOPED_TRACE(shape->name + " " + shape->pattern->source());
    ASSERT_EQ(shape->pattern->fidelity(), PatternFidelity::kExact) << shape->pattern->note();
    auto it = cases.find(shape->name);
    ASSERT_NE(it, cases.end()) << "add examples for this pattern";
    if (auto u = uuid_shapes.find(shape->name); u != uuid_shapes.end()) {
      EXPECT_TRUE(shape->pattern->matches(u->second));
      EXPECT_FALSE(shape->pattern->matches(it->second.good[0]));
      continue;
    }
    for (const std::string& v : it->second.good) EXPECT_TRUE(shape->pattern->matches(v)) << v;
    for (const std::string& v : it->second.bad) EXPECT_FALSE(shape->pattern->matches(v)) << v;
  }
  EXPECT_EQ(checked, cases.size());
}

TEST(Pattern, EveryPatternOfEveryEmbeddedModelCompiles) {
  for (const EmbeddedModel& embedded : embedded_models()) {
    const ServiceModel& model = embedded_service_model(embedded.service);
    for (const Shape* shape : model.shapes()) {
      if (!shape->pattern) continue;
      EXPECT_NE(shape->pattern->fidelity(), PatternFidelity::kUnenforced)
          << embedded.service << " " << shape->name << " " << shape->pattern->source() << ": "
          << shape->pattern->note();
    }
  }
}

TEST(Pattern, ConnectionsPatternsMatchTheirDocumentedFormats) {
  const ServiceModel& model = embedded_service_model("codeconnections");
  auto match = [&](const char* shape, const char* value) {
    const Shape* s = model.find_shape(shape);
    EXPECT_NE(s, nullptr) << shape;
    return s && s->pattern && s->pattern->matches(value);
  };
  EXPECT_TRUE(
      match("ConnectionArn", "arn:aws:codeconnections:us-west-2:123456789012:connection/abc-123"));
  EXPECT_TRUE(match("HostArn", "arn:aws:codeconnections:us-west-2:123456789012:host/My-Host-1"));
  EXPECT_FALSE(match("HostArn", "arn:aws:codeconnections:us-west-2:123456789012:connection/x"));
  EXPECT_TRUE(match("VpcId", "vpc-0123abcd"));
  EXPECT_TRUE(match("VpcId", "vpc-0123abcd456789012"));
  EXPECT_FALSE(match("VpcId", "vpc-0123"));
  EXPECT_TRUE(match("RepositoryLinkId", "0123abcd-0123-4abc-9def-0123456789ab"));
  EXPECT_TRUE(match("ConnectionName", "multi\nline is fine"));  // [\s\S]*
}

TEST(Pattern, TranslatesNestedClassesAndIntersections) {
  const Pattern p = Pattern::compile(R"([\p{Print}&&[^|:/]]+)");
  EXPECT_EQ(p.fidelity(), PatternFidelity::kExact) << p.note();
  EXPECT_TRUE(p.matches("hello world!"));
  EXPECT_FALSE(p.matches("a|b"));
  EXPECT_FALSE(p.matches("a/b"));
  EXPECT_FALSE(p.matches("tab\there"));
  const Pattern nested = Pattern::compile(R"([a-c[x-z]]+)");
  EXPECT_TRUE(nested.matches("abxz"));
  EXPECT_FALSE(nested.matches("d"));
}

TEST(Pattern, UnicodeCategoriesAreApproximatedAndMarkedSo) {
  const Pattern p = Pattern::compile(R"(^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$)");
  EXPECT_EQ(p.fidelity(), PatternFidelity::kApproximate);
  EXPECT_TRUE(p.matches("Team: Ünïcødé 東京 42"));
  EXPECT_FALSE(p.matches("semi;colon"));
  const Pattern any = Pattern::compile(R"([\P{M}\p{M}]{1,5000})");
  EXPECT_TRUE(any.matches("x\ny"));
}

TEST(Pattern, JavaOnlySyntaxNeverCrashes) {
  // Possessive quantifiers, lookbehind, \Q..\E, inline flags, \A..\z,
  // escaped surrogate pairs, huge counts.
  EXPECT_TRUE(Pattern::compile("a++b").matches("aab"));
  EXPECT_TRUE(Pattern::compile("[a-z]+(?<!-)").matches("abc"));
  EXPECT_TRUE(Pattern::compile(R"(\Qa.b\E)").matches("a.b"));
  EXPECT_FALSE(Pattern::compile(R"(\Qa.b\E)").matches("axb"));
  EXPECT_TRUE(Pattern::compile("^(?i)(true|false)$").matches("TrUe"));
  EXPECT_TRUE(Pattern::compile("(?s).{1,3}").matches("a\nb"));
  EXPECT_FALSE(Pattern::compile(".{1,3}").matches("a\nb"));
  EXPECT_TRUE(Pattern::compile(R"(\Asnap-[0-9a-f]{8}\z)").matches("snap-0123abcd"));
  EXPECT_TRUE(Pattern::compile(R"([\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF]*)")
                  .matches("emoji \xF0\x9F\x98\x80 ok"));
  EXPECT_TRUE(Pattern::compile("^.{1,100000}$").matches("x"));
}

TEST(Pattern, AMalformedPatternIsUnenforcedNotACrash) {
  for (const char* bad : {"[a-", "(", "\\", "a{2,1}", "*a", "[z-a]", "(?x)a", "\\k<n>"}) {
    const Pattern p = Pattern::compile(bad);
    EXPECT_EQ(p.fidelity(), PatternFidelity::kUnenforced) << bad;
    EXPECT_FALSE(p.note().empty()) << bad;
    EXPECT_TRUE(p.matches("anything")) << bad;
  }
}

TEST(Pattern, LongAndHostileValuesFinishQuickly) {
  const std::string long_value(Pattern::kMaxMatchLength, 'a');
  EXPECT_TRUE(Pattern::compile(".*").matches(long_value));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(Pattern::compile("(a+)+b").matches(std::string(5000, 'a')));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Pattern, InvalidUtf8NeverMatches) {
  const Pattern p = Pattern::compile(".*");
  EXPECT_FALSE(p.matches("\xC0\xAF"));      // overlong '/'
  EXPECT_FALSE(p.matches("\xED\xA0\x80"));  // a surrogate
  EXPECT_FALSE(p.matches("\xFF"));
  EXPECT_EQ(utf8_length("h\xC3\xA9llo"), 5u);
}

}  // namespace
}  // namespace stageline::wire
