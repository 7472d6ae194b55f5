#include "definitions/cloudformation.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "definitions/intrinsics.h"
#include "definitions/json_reader.h"
#include "definitions/yaml_loader.h"

namespace stageline::definitions {
namespace {

namespace json = boost::json;

std::string read_test_file(const std::string& name) {
  std::ifstream in(std::string(STAGELINE_TEST_DATA) + "/cloudformation/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The 1-based line of the first line of `text` that contains `needle`.
int line_containing(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (line.find(needle) != std::string::npos) return n;
  return -1;
}

std::string describe(const Problems& problems) {
  std::string out;
  for (const auto& p : problems) {
    out += std::string(to_string(p.severity)) + " " + p.rule + " at " + p.path + " (line " +
           std::to_string(p.line) + "): " + p.message + (p.fix.empty() ? "" : " | " + p.fix) + "\n";
  }
  return out;
}

Problems errors_of(const Problems& problems) {
  Problems out;
  for (const auto& p : problems)
    if (p.severity == Severity::kError) out.push_back(p);
  return out;
}

const Problem* find_rule(const Problems& problems, std::string_view rule) {
  for (const auto& p : problems)
    if (p.rule == rule) return &p;
  return nullptr;
}

TemplateResult read_yaml(std::string_view text, const TemplateOptions& options = {}) {
  auto doc = load_yaml(text);
  EXPECT_TRUE(doc.ok()) << doc.status().message();
  if (!doc.ok()) return {};
  return read_cloudformation(*doc, options);
}

// Reads a template that must give exactly one pipeline and no error.
TemplatePipeline one_pipeline(std::string_view text, const TemplateOptions& options = {}) {
  TemplateResult r = read_yaml(text, options);
  EXPECT_FALSE(has_errors(r.problems)) << describe(r.problems);
  EXPECT_EQ(r.pipelines.size(), 1u) << describe(r.problems);
  return r.pipelines.empty() ? TemplatePipeline{} : r.pipelines[0];
}

// Evaluates YAML `expression` in the context of `context_yaml` (a template).
class EvaluatorTest : public ::testing::Test {
 protected:
  void load_context(const std::string& yaml, const TemplateOptions& options = {}) {
    options_ = options;
    auto doc = load_yaml(yaml);
    ASSERT_TRUE(doc.ok()) << doc.status().message();
    doc_ = std::move(*doc);
    problems_.clear();
    evaluator_ = std::make_unique<TemplateEvaluator>(doc_, options_, problems_);
    evaluator_->load();
  }

  Evaluated eval(const std::string& expression) {
    auto doc = load_yaml("v: " + expression + "\n");
    EXPECT_TRUE(doc.ok()) << doc.status().message();
    expressions_.push_back(doc->value.at("v"));
    return evaluator_->evaluate(expressions_.back(), "v");
  }

  json::value value_of(const std::string& expression) {
    Evaluated e = eval(expression);
    EXPECT_EQ(e.kind, Evaluated::Kind::kValue) << expression << "\n" << describe(problems_);
    return e.value;
  }

  // Evaluates `expression`, expects failure, and returns the first error.
  Problem error_of(const std::string& expression) {
    size_t before = problems_.size();
    Evaluated e = eval(expression);
    EXPECT_EQ(e.kind, Evaluated::Kind::kFailed) << expression;
    for (size_t i = before; i < problems_.size(); ++i)
      if (problems_[i].severity == Severity::kError) return problems_[i];
    ADD_FAILURE() << "no error for " << expression;
    return {};
  }

  TemplateOptions options_;
  LocatedJson doc_;
  Problems problems_;
  std::unique_ptr<TemplateEvaluator> evaluator_;
  std::vector<json::value> expressions_;
};

const char* kContext = R"(AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Env:
    Type: String
    Default: test
    AllowedValues: [test, prod]
  Subnets:
    Type: CommaDelimitedList
    Default: a,b,c
  Count:
    Type: Number
    Default: 3
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsTest: !Not [!Condition IsProd]
  Both: !And [!Condition IsTest, !Equals [a, a]]
  Either: !Or [!Condition IsProd, !Equals [1, "2"]]
Mappings:
  Images:
    us-east-1: {Build: 'aws/codebuild/standard:7.0', Sizes: [small, large]}
Resources:
  BuildRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: build-role
      AssumeRolePolicyDocument: {}
  DeployRole:
    Type: AWS::IAM::Role
    Properties:
      Path: /service/
      AssumeRolePolicyDocument: {}
  Artifacts:
    Type: AWS::S3::Bucket
  NamedBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub '${AWS::AccountId}-${Env}-artifacts'
  Key:
    Type: AWS::KMS::Key
  KeyAlias:
    Type: AWS::KMS::Alias
    Properties: {AliasName: alias/pipeline, TargetKeyId: !Ref Key}
  Project:
    Type: AWS::CodeBuild::Project
    Properties:
      Name: !Sub '${Env}-build'
      ServiceRole: !GetAtt BuildRole.Arn
      Source: {Type: CODEPIPELINE}
      Artifacts: {Type: CODEPIPELINE}
      Environment: {Type: LINUX_CONTAINER, Image: x, ComputeType: BUILD_GENERAL1_SMALL}
  Topic:
    Type: AWS::SNS::Topic
    Properties: {TopicName: approvals}
  Repo:
    Type: AWS::CodeCommit::Repository
    Properties: {RepositoryName: app}
  Connection:
    Type: AWS::CodeStarConnections::Connection
    Properties: {ConnectionName: github, ProviderType: GitHub}
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties: {Name: main-pipeline}
  Hook:
    Type: AWS::CodePipeline::Webhook
  Managed:
    Type: AWS::IAM::ManagedPolicy
    Properties: {ManagedPolicyName: deployers}
  Inline:
    Type: AWS::IAM::Policy
    Properties: {PolicyName: inline-policy}
  Custom:
    Type: AWS::CodePipeline::CustomActionType
    Properties: {Category: Build, Provider: MyBuilder, Version: '2'}
  Function:
    Type: AWS::Lambda::Function
  ProdOnly:
    Type: AWS::SNS::Topic
    Condition: IsProd
)";

class CloudFormationIntrinsicsTest : public EvaluatorTest {
 protected:
  void SetUp() override { load_context(kContext); }
};

TEST_F(CloudFormationIntrinsicsTest, TheContextTemplateLoadsWithoutErrors) {
  EXPECT_FALSE(has_errors(problems_)) << describe(problems_);
}

TEST_F(CloudFormationIntrinsicsTest, RefGivesParametersAndPseudoParameters) {
  EXPECT_EQ(value_of("!Ref Env"), json::value("test"));
  EXPECT_EQ(value_of("!Ref Count"), json::value("3"));
  EXPECT_EQ(value_of("!Ref Subnets"), json::parse(R"(["a", "b", "c"])"));
  EXPECT_EQ(value_of("!Ref AWS::AccountId"), json::value("123456789012"));
  EXPECT_EQ(value_of("!Ref AWS::Region"), json::value("us-east-1"));
  EXPECT_EQ(value_of("!Ref AWS::StackName"), json::value("stageline"));
  EXPECT_EQ(value_of("!Ref AWS::Partition"), json::value("aws"));
  EXPECT_EQ(value_of("!Ref AWS::URLSuffix"), json::value("amazonaws.com"));
  EXPECT_EQ(value_of("!Ref AWS::NotificationARNs"), json::array());
  std::string stack_id(value_of("!Ref AWS::StackId").as_string());
  EXPECT_EQ(stack_id.rfind("arn:aws:cloudformation:us-east-1:123456789012:stack/stageline/", 0),
            0u);
  EXPECT_EQ(value_of("{Ref: Env}"), json::value("test"));
}

TEST_F(CloudFormationIntrinsicsTest, PseudoParametersFollowTheOptions) {
  TemplateOptions options;
  options.region = "eu-west-1";
  options.account_id = "111122223333";
  options.stack_name = "demo";
  load_context(kContext, options);
  EXPECT_EQ(value_of("!Sub '${AWS::StackName}:${AWS::Region}:${AWS::AccountId}'"),
            json::value("demo:eu-west-1:111122223333"));
  EXPECT_EQ(value_of("!GetAtt DeployRole.Arn"),
            json::value("arn:aws:iam::111122223333:role/service/demo-DeployRole"));
}

TEST_F(CloudFormationIntrinsicsTest, RefAndGetAttResolveEveryManagedType) {
  struct Case {
    const char* expression;
    const char* expected;
  } cases[] = {
      {"!Ref BuildRole", "build-role"},
      {"!GetAtt BuildRole.Arn", "arn:aws:iam::123456789012:role/build-role"},
      {"!GetAtt DeployRole.Arn", "arn:aws:iam::123456789012:role/service/stageline-DeployRole"},
      {"!Ref Artifacts", "stageline-artifacts"},
      {"!GetAtt Artifacts.Arn", "arn:aws:s3:::stageline-artifacts"},
      {"!GetAtt Artifacts.DomainName", "stageline-artifacts.s3.amazonaws.com"},
      {"!GetAtt Artifacts.RegionalDomainName", "stageline-artifacts.s3.us-east-1.amazonaws.com"},
      {"!Ref NamedBucket", "123456789012-test-artifacts"},
      {"!Ref KeyAlias", "alias/pipeline"},
      {"!Ref Project", "test-build"},
      {"!GetAtt Project.Arn", "arn:aws:codebuild:us-east-1:123456789012:project/test-build"},
      {"!Ref Topic", "arn:aws:sns:us-east-1:123456789012:approvals"},
      {"!GetAtt Topic.TopicArn", "arn:aws:sns:us-east-1:123456789012:approvals"},
      {"!GetAtt Topic.TopicName", "approvals"},
      {"!GetAtt Repo.Arn", "arn:aws:codecommit:us-east-1:123456789012:app"},
      {"!GetAtt Repo.Name", "app"},
      {"!GetAtt Repo.CloneUrlHttp", "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/app"},
      {"!GetAtt Repo.CloneUrlSsh", "ssh://git-codecommit.us-east-1.amazonaws.com/v1/repos/app"},
      {"!Ref Pipeline", "main-pipeline"},
      {"!GetAtt Pipeline.Version", "1"},
      {"!Ref Hook", "stageline-Hook"},
      {"!Ref Managed", "arn:aws:iam::123456789012:policy/deployers"},
      {"!GetAtt Managed.PolicyArn", "arn:aws:iam::123456789012:policy/deployers"},
      {"!Ref Inline", "inline-policy"},
      {"!Ref Custom", "Build|Custom|MyBuilder|2"},
      {"!Ref Function", "stageline-Function"},
      {"!GetAtt Function.Arn", "arn:aws:lambda:us-east-1:123456789012:Function/Arn"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(value_of(c.expression), json::value(c.expected)) << c.expression;
  }
  // Ids derived from the stack name and logical id: UUID-shaped and stable.
  std::string key_id(value_of("!Ref Key").as_string());
  EXPECT_EQ(key_id.size(), 36u);
  EXPECT_EQ(key_id[8], '-');
  EXPECT_EQ(value_of("!GetAtt Key.KeyId"), json::value(key_id));
  EXPECT_EQ(value_of("!GetAtt Key.Arn"),
            json::value("arn:aws:kms:us-east-1:123456789012:key/" + key_id));
  EXPECT_EQ(value_of("!Ref Repo"), value_of("!GetAtt Repo.RepositoryId"));
  std::string connection(value_of("!Ref Connection").as_string());
  EXPECT_EQ(connection.rfind("arn:aws:codestar-connections:us-east-1:123456789012:connection/", 0),
            0u);
  EXPECT_EQ(value_of("!GetAtt Connection.ConnectionArn"), json::value(connection));
  std::string role_id(value_of("!GetAtt BuildRole.RoleId").as_string());
  EXPECT_EQ(role_id.rfind("AROA", 0), 0u);
  EXPECT_EQ(role_id.size(), 21u);
  std::string url(value_of("!GetAtt Hook.Url").as_string());
  EXPECT_EQ(url.rfind("https://us-east-1.webhooks.aws/trigger?t=", 0), 0u);
}

TEST_F(CloudFormationIntrinsicsTest, AnUnmanagedTypeGetsPlaceholdersAndOneNote) {
  value_of("!Ref Function");
  value_of("!GetAtt Function.Arn");
  int notes = 0;
  for (const auto& p : problems_)
    if (p.rule == "template.unmanaged-reference") ++notes;
  EXPECT_EQ(notes, 1) << describe(problems_);
  EXPECT_FALSE(has_errors(problems_));
}

TEST_F(CloudFormationIntrinsicsTest, UnknownNamesAreErrorsWithSuggestions) {
  Problem p = error_of("!Ref BuildRol");
  EXPECT_EQ(p.rule, "template.unresolved-reference");
  EXPECT_EQ(p.type, ErrorType::kTemplateError);
  EXPECT_NE(p.fix.find("BuildRole"), std::string::npos) << p.fix;
  p = error_of("!GetAtt Nope.Arn");
  EXPECT_EQ(p.rule, "template.unresolved-reference");
  p = error_of("!GetAtt BuildRole.Arm");
  EXPECT_EQ(p.rule, "template.unknown-attribute");
  EXPECT_NE(p.fix.find("Arn"), std::string::npos) << p.fix;
  p = error_of("!GetAtt Env.Arn");
  EXPECT_NE(p.fix.find("Ref Env"), std::string::npos) << p.fix;
}

TEST_F(CloudFormationIntrinsicsTest, SubReplacesVariablesAttributesAndLiterals) {
  EXPECT_EQ(value_of("!Sub '${AWS::Region}-${Env}-${BuildRole}'"),
            json::value("us-east-1-test-build-role"));
  EXPECT_EQ(value_of("!Sub 'role=${BuildRole.Arn}'"),
            json::value("role=arn:aws:iam::123456789012:role/build-role"));
  EXPECT_EQ(value_of("!Sub 'keep ${!Literal} and $ alone'"),
            json::value("keep ${Literal} and $ alone"));
  EXPECT_EQ(value_of("!Sub ['${A}/${B}', {A: !Ref Env, B: x}]"), json::value("test/x"));
  EXPECT_EQ(value_of("{'Fn::Sub': ['${Env}', {Env: shadowed}]}"), json::value("shadowed"));
  EXPECT_EQ(error_of("!Sub '${Subnets}'").rule, "template.sub");
  EXPECT_EQ(error_of("!Sub '${Missing}'").rule, "template.unresolved-reference");
}

TEST_F(CloudFormationIntrinsicsTest, JoinSelectAndSplitWorkOnLists) {
  EXPECT_EQ(value_of("!Join [':', [a, !Ref Env, 3, true]]"), json::value("a:test:3:true"));
  EXPECT_EQ(value_of("!Join [',', !Ref Subnets]"), json::value("a,b,c"));
  EXPECT_EQ(value_of("!Join ['', [a, !Ref AWS::NoValue, b]]"), json::value("ab"));
  EXPECT_EQ(value_of("!Select [1, !Ref Subnets]"), json::value("b"));
  EXPECT_EQ(value_of("!Select ['0', [x, y]]"), json::value("x"));
  EXPECT_EQ(value_of("!Split [',', 'p,q,,r']"), json::parse(R"(["p", "q", "", "r"])"));
  EXPECT_EQ(value_of("!Select [2, !Split ['/', 'a/b/c']]"), json::value("c"));
  EXPECT_EQ(error_of("!Select [5, [a]]").rule, "template.select");
  EXPECT_EQ(error_of("!Join [',', [{a: b}]]").rule, "template.join");
}

TEST_F(CloudFormationIntrinsicsTest, ConditionsCombineAndIfPicksABranch) {
  EXPECT_EQ(value_of("!If [IsProd, big, small]"), json::value("small"));
  EXPECT_EQ(value_of("!If [IsTest, big, small]"), json::value("big"));
  EXPECT_EQ(value_of("!If [Both, yes-both, no]"), json::value("yes-both"));
  EXPECT_EQ(value_of("!If [Either, yes, no-either]"), json::value("no-either"));
  EXPECT_EQ(value_of("!Equals [!Ref Count, 3]"), json::value(true));
  EXPECT_EQ(value_of("!Not [!Equals [a, b]]"), json::value(true));
  EXPECT_EQ(value_of("!And [!Condition IsTest, !Condition IsProd]"), json::value(false));
  EXPECT_EQ(value_of("!Or [!Condition IsTest, !Condition IsProd]"), json::value(true));
  EXPECT_EQ(error_of("!If [NoSuchCondition, a, b]").rule, "template.unknown-condition");
}

TEST_F(CloudFormationIntrinsicsTest, IfOnlyEvaluatesTheChosenBranch) {
  EXPECT_EQ(value_of("!If [IsProd, !ImportValue never-read, ok]"), json::value("ok"));
  EXPECT_FALSE(has_errors(problems_)) << describe(problems_);
}

TEST_F(CloudFormationIntrinsicsTest, ParameterOverridesDriveConditions) {
  TemplateOptions options;
  options.parameter_overrides["Env"] = "prod";
  load_context(kContext, options);
  EXPECT_EQ(value_of("!If [IsProd, big, small]"), json::value("big"));
  EXPECT_EQ(value_of("!Ref ProdOnly"),
            json::value("arn:aws:sns:us-east-1:123456789012:stageline-ProdOnly"));
}

TEST_F(CloudFormationIntrinsicsTest, RefToAResourceWhoseConditionIsFalseIsAnError) {
  Problem p = error_of("!Ref ProdOnly");
  EXPECT_EQ(p.rule, "template.excluded-resource");
  EXPECT_NE(p.fix.find("Fn::If"), std::string::npos);
}

TEST_F(CloudFormationIntrinsicsTest, FindInMapLooksUpTwoLevels) {
  EXPECT_EQ(value_of("!FindInMap [Images, !Ref 'AWS::Region', Build]"),
            json::value("aws/codebuild/standard:7.0"));
  EXPECT_EQ(value_of("!FindInMap [Images, us-east-1, Sizes]"),
            json::parse(R"(["small", "large"])"));
  Problem p = error_of("!FindInMap [Images, us-east-1, Biuld]");
  EXPECT_NE(p.fix.find("Build"), std::string::npos);
  EXPECT_EQ(error_of("!FindInMap [Images, eu-west-1, Build]").rule, "template.find-in-map");
}

TEST_F(CloudFormationIntrinsicsTest, Base64AndGetAZs) {
  EXPECT_EQ(value_of("!Base64 'hello world'"), json::value("aGVsbG8gd29ybGQ="));
  EXPECT_EQ(value_of("{'Fn::Base64': !Sub '${Env}'}"), json::value("dGVzdA=="));
  EXPECT_EQ(value_of("!GetAZs ''"), json::parse(R"(["us-east-1a", "us-east-1b", "us-east-1c"])"));
  EXPECT_EQ(value_of("!Select [0, !GetAZs eu-west-1]"), json::value("eu-west-1a"));
}

TEST_F(CloudFormationIntrinsicsTest, CidrAndImportValueAreErrorsThatSayWhy) {
  EXPECT_EQ(error_of("!Cidr [10.0.0.0/16, 6, 5]").rule, "template.unsupported-function");
  Problem p = error_of("!ImportValue shared-vpc-id");
  EXPECT_EQ(p.rule, "template.import-value");
  EXPECT_NE(p.message.find("cannot be resolved locally"), std::string::npos);
  EXPECT_NE(p.fix.find("--parameter-overrides"), std::string::npos);
  EXPECT_EQ(error_of("{'Fn::Length': [1, 2]}").rule, "template.unsupported-function");
}

TEST_F(CloudFormationIntrinsicsTest, UnknownFunctionSuggestsTheClosestName) {
  Problem p = error_of("{'Fn::Joinn': [',', [a]]}");
  EXPECT_EQ(p.rule, "template.unknown-function");
  EXPECT_NE(p.fix.find("Fn::Join"), std::string::npos);
}

TEST_F(CloudFormationIntrinsicsTest, NoValueRemovesThePropertyOrListItem) {
  EXPECT_EQ(value_of("{a: 1, b: !Ref AWS::NoValue, c: !If [IsProd, x, !Ref AWS::NoValue]}"),
            json::parse(R"({"a": 1})"));
  EXPECT_EQ(value_of("[a, !Ref AWS::NoValue, !If [IsTest, c, d]]"), json::parse(R"(["a", "c"])"));
  EXPECT_EQ(eval("!Ref AWS::NoValue").kind, Evaluated::Kind::kNoValue);
}

TEST_F(CloudFormationIntrinsicsTest, AFunctionMustBeTheOnlyKeyOfItsObject) {
  EXPECT_EQ(error_of("{Ref: Env, Other: 1}").rule, "template.function-not-alone");
}

TEST_F(CloudFormationIntrinsicsTest, NumbersBecomeDecimalText) {
  EXPECT_EQ(scalar_to_string(json::value(2)), "2");
  EXPECT_EQ(scalar_to_string(json::value(1.5)), "1.5");
  EXPECT_EQ(scalar_to_string(json::value(3.0)), "3");
  EXPECT_EQ(scalar_to_string(json::value(true)), "true");
  EXPECT_EQ(scalar_to_string(json::value(int64_t{123456789012})), "123456789012");
  EXPECT_FALSE(scalar_to_string(json::value(nullptr)).has_value());
}

// --- Parameters

TEST(CloudFormationParametersTest, OverridesAndAllowedValuesAreChecked) {
  const char* text = R"(Parameters:
  Env:
    Type: String
    AllowedValues: [test, prod]
    Default: test
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !Ref Env}
)";
  TemplateOptions options;
  options.parameter_overrides["Env"] = "prd";
  TemplateResult r = read_yaml(text, options);
  const Problem* p = find_rule(r.problems, "template.parameter-not-allowed");
  ASSERT_NE(p, nullptr) << describe(r.problems);
  EXPECT_EQ(p->path, "Parameters.Env");
  EXPECT_EQ(p->line, 2);
  EXPECT_NE(p->fix.find("prod"), std::string::npos) << p->fix;

  options.parameter_overrides["Env"] = "prod";
  r = read_yaml(text, options);
  EXPECT_FALSE(has_errors(r.problems)) << describe(r.problems);
  ASSERT_EQ(r.resources.topics.size(), 1u);
  EXPECT_EQ(r.resources.topics[0].name, "prod");
}

TEST(CloudFormationParametersTest, AParameterWithNoValueIsAnErrorReportedOnce) {
  TemplateResult r = read_yaml(R"(Parameters:
  RepoName: {Type: String}
Resources:
  Repo:
    Type: AWS::CodeCommit::Repository
    Properties: {RepositoryName: !Ref RepoName}
  Topic:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !Sub '${RepoName}-events'}
)");
  Problems errors = errors_of(r.problems);
  ASSERT_EQ(errors.size(), 1u) << describe(r.problems);
  EXPECT_EQ(errors[0].rule, "template.parameter-missing");
  EXPECT_EQ(errors[0].line, 2);
  EXPECT_NE(errors[0].fix.find("--parameter-overrides RepoName="), std::string::npos);
}

TEST(CloudFormationParametersTest, AnOverrideOfAnUnknownParameterIsAnError) {
  TemplateOptions options;
  options.parameter_overrides["Evn"] = "prod";
  TemplateResult r = read_yaml(
      "Parameters:\n  Env: {Type: String, Default: a}\n"
      "Resources:\n  T: {Type: AWS::SNS::Topic}\n",
      options);
  const Problem* p = find_rule(r.problems, "template.override-unknown");
  ASSERT_NE(p, nullptr) << describe(r.problems);
  EXPECT_NE(p->fix.find("Env"), std::string::npos);
}

TEST(CloudFormationParametersTest, SsmParameterTypesUseTheDefaultWithANote) {
  TemplateResult r = read_yaml(R"(Parameters:
  Image:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /images/build
Resources:
  T:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !Ref Image}
)");
  EXPECT_FALSE(has_errors(r.problems)) << describe(r.problems);
  const Problem* p = find_rule(r.problems, "template.parameter-ssm");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->severity, Severity::kNote);
  EXPECT_EQ(r.resources.topics.at(0).name, "/images/build");
}

TEST(CloudFormationParametersTest, NumbersAndLengthsAreChecked) {
  TemplateOptions options;
  options.parameter_overrides = {{"Count", "many"}, {"Name", "toolong"}};
  TemplateResult r = read_yaml(R"(Parameters:
  Count: {Type: Number, Default: 1}
  Name: {Type: String, MaxLength: 3, Default: abc}
  Kind: {Tpye: String}
Resources:
  T: {Type: AWS::SNS::Topic}
)",
                               options);
  EXPECT_NE(find_rule(r.problems, "template.parameter-not-number"), nullptr);
  EXPECT_NE(find_rule(r.problems, "template.parameter-length"), nullptr);
  const Problem* p = find_rule(r.problems, "template.unknown-property");
  ASSERT_NE(p, nullptr) << describe(r.problems);
  EXPECT_EQ(p->type, ErrorType::kSerializationException);
  EXPECT_NE(p->fix.find("Type"), std::string::npos);
}

// --- Sections and resource attributes

TEST(CloudFormationTemplateTest, LooksLikeCloudFormation) {
  EXPECT_TRUE(looks_like_cloudformation(json::parse(R"({"Resources": {}})")));
  EXPECT_TRUE(looks_like_cloudformation(json::parse(R"({"AWSTemplateFormatVersion": "x"})")));
  EXPECT_FALSE(looks_like_cloudformation(json::parse(R"({"name": "p", "stages": []})")));
  EXPECT_FALSE(looks_like_cloudformation(json::parse(R"({"Resources": []})")));
  EXPECT_FALSE(looks_like_cloudformation(json::parse("[1]")));
}

TEST(CloudFormationTemplateTest, TransformIsNotSupported) {
  TemplateResult r = read_yaml(
      "Transform: AWS::Serverless-2016-10-31\nResources:\n  T: {Type: AWS::SNS::Topic}\n");
  const Problem* p = find_rule(r.problems, "template.transform");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->severity, Severity::kError);
  EXPECT_EQ(p->line, 1);
}

TEST(CloudFormationTemplateTest, RulesAreIgnoredAndOutputProblemsAreNotes) {
  TemplateResult r = read_yaml(R"(Rules:
  CheckBootstrapVersion:
    Assertions:
      - Assert: !Not [!Contains [['1'], !Ref BootstrapVersion]]
Resources:
  T: {Type: AWS::SNS::Topic}
Outputs:
  TopicArn:
    Value: !Ref T
    Export: {Name: !Sub '${AWS::StackName}-topic'}
  Broken:
    Value: !ImportValue elsewhere
)");
  EXPECT_FALSE(has_errors(r.problems)) << describe(r.problems);
  const Problem* p = find_rule(r.problems, "template.import-value");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->severity, Severity::kNote);
  EXPECT_EQ(p->line, 12);
}

TEST(CloudFormationTemplateTest, UnknownSectionsAndResourceAttributesAreReported) {
  TemplateResult r = read_yaml(R"(Resource:
  X: {Type: AWS::SNS::Topic}
Resources:
  T:
    Type: AWS::SNS::Topic
    DependOn: X
  U:
    Type: AWS::SNS::Topic
    DependsOn: [T, Nope]
    DeletionPolicy: Keep
)");
  const Problem* section = find_rule(r.problems, "template.unknown-section");
  ASSERT_NE(section, nullptr) << describe(r.problems);
  EXPECT_NE(section->fix.find("Resources"), std::string::npos);
  const Problem* attribute = find_rule(r.problems, "template.unknown-property");
  ASSERT_NE(attribute, nullptr);
  EXPECT_EQ(attribute->path, "Resources.T.DependOn");
  EXPECT_EQ(attribute->line, 6);
  EXPECT_NE(attribute->fix.find("DependsOn"), std::string::npos);
  const Problem* depends = find_rule(r.problems, "template.depends-on");
  ASSERT_NE(depends, nullptr);
  EXPECT_EQ(depends->path, "Resources.U.DependsOn[1]");
  EXPECT_NE(find_rule(r.problems, "template.policy-value"), nullptr);
}

TEST(CloudFormationTemplateTest, ResourceConditionsSkipResources) {
  TemplateResult r = read_yaml(R"(Parameters:
  WithTopic: {Type: String, Default: 'no'}
Conditions:
  MakeTopic: !Equals [!Ref WithTopic, 'yes']
Resources:
  T:
    Type: AWS::SNS::Topic
    Condition: MakeTopic
  Bucket:
    Type: AWS::S3::Bucket
)");
  EXPECT_FALSE(has_errors(r.problems)) << describe(r.problems);
  EXPECT_TRUE(r.resources.topics.empty());
  EXPECT_EQ(r.resources.buckets.size(), 1u);
  EXPECT_NE(find_rule(r.problems, "template.condition-false"), nullptr);
}

TEST(CloudFormationTemplateTest, ReferenceCyclesAreReportedNotFollowed) {
  TemplateResult r = read_yaml(R"(Resources:
  A:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !GetAtt B.TopicName}
  B:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !Sub '${A}-b'}
Conditions:
  C1: !Condition C2
  C2: !Not [!Condition C1]
)");
  EXPECT_NE(find_rule(r.problems, "template.reference-cycle"), nullptr) << describe(r.problems);
  EXPECT_NE(find_rule(r.problems, "template.condition-cycle"), nullptr) << describe(r.problems);
}

TEST(CloudFormationTemplateTest, LongReferenceChainsStopAtTheDepthLimit) {
  std::string text = "Resources:\n";
  for (int i = 0; i < 200; ++i) {
    text += "  T" + std::to_string(i) +
            ":\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Sub '${T" +
            std::to_string(i + 1) + ".TopicName}x'}\n";
  }
  text += "  T200: {Type: AWS::SNS::Topic}\n";
  TemplateResult r = read_yaml(text);
  EXPECT_NE(find_rule(r.problems, "template.reference-depth"), nullptr);
}

TEST(CloudFormationTemplateTest, ConditionsCannotReferToResources) {
  TemplateResult r = read_yaml(R"(Conditions:
  C: !Equals [!Ref T, x]
Resources:
  T: {Type: AWS::SNS::Topic}
)");
  EXPECT_NE(find_rule(r.problems, "template.condition-resource"), nullptr);
}

// --- AWS::CodePipeline::Pipeline

const char* kPipelineHeader = R"(Resources:
  Role:
    Type: AWS::IAM::Role
    Properties: {RoleName: pipeline-role, AssumeRolePolicyDocument: {}}
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      RoleArn: !GetAtt Role.Arn
)";

TEST(CloudFormationPipelineTest, TheSeedTemplateReadsWithoutErrors) {
  std::string text = read_test_file("seed-pipeline.yaml");
  ASSERT_FALSE(text.empty());
  TemplateResult r = read_yaml(text);
  EXPECT_FALSE(has_errors(r.problems)) << describe(r.problems);
  ASSERT_EQ(r.pipelines.size(), 1u);
  const TemplatePipeline& p = r.pipelines[0];
  EXPECT_EQ(p.logical_id, "Pipeline");
  const json::value& d = p.declaration.value;
  EXPECT_EQ(d.at("name"), json::value("my-app-pipeline"));
  EXPECT_EQ(d.at("roleArn"), json::value("arn:aws:iam::123456789012:role/CodePipelineServiceRole"));
  EXPECT_EQ(d.at("artifactStore"),
            json::parse(R"({"type": "S3", "location": "my-pipeline-artifacts-123456789012"})"));
  const json::value& deploy = d.at("stages").at(2);
  EXPECT_EQ(deploy.at("name"), json::value("Deploy"));
  EXPECT_EQ(deploy.at("actions").at(1).at("inputArtifacts").at(0).at("name"),
            json::value("BuildOut"));
  EXPECT_EQ(deploy.at("actions").at(0).at("runOrder"), json::value(1));
  EXPECT_EQ(deploy.at("actions").at(1).at("actionTypeId"),
            json::parse(R"({"category": "Deploy", "owner": "AWS", "provider": "CloudFormation",
                            "version": "1"})"));
  EXPECT_EQ(deploy.at("actions").at(1).at("configuration").at("Capabilities"),
            json::value("CAPABILITY_IAM"));
  EXPECT_EQ(p.declaration.lines.line_of("stages[2].actions[1].inputArtifacts[0].name"),
            line_containing(text, "InputArtifacts: [{ Name: BuildOut }]"));
  EXPECT_EQ(p.declaration.lines.line_of("stages[0].actions[0].configuration.BranchName"),
            line_containing(text, "BranchName: main"));
  EXPECT_EQ(p.declaration.lines.line_of("name"), line_containing(text, "Name: my-app-pipeline"));
  EXPECT_TRUE(p.tags.empty());
}

TEST(CloudFormationPipelineTest, TheCdkTemplateReadsWithoutErrors) {
  std::string text = read_test_file("cdk-pipeline.template.json");
  ASSERT_FALSE(text.empty());
  auto doc = load_json(text);
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  ASSERT_TRUE(looks_like_cloudformation(doc->json.value));
  TemplateResult r = read_cloudformation(doc->json);
  EXPECT_FALSE(has_errors(r.problems)) << describe(r.problems);
  ASSERT_EQ(r.pipelines.size(), 1u);
  const TemplatePipeline& p = r.pipelines[0];
  const json::value& d = p.declaration.value;
  EXPECT_EQ(d.at("name"), json::value("stageline-demo"));
  EXPECT_EQ(d.at("pipelineType"), json::value("V2"));
  EXPECT_EQ(d.at("roleArn"),
            json::value("arn:aws:iam::123456789012:role/stageline-PipelineRoleD68726F7"));
  const json::value& store = d.at("artifactStore");
  EXPECT_EQ(store.at("location"), json::value("stageline-artifactbucket7410c9ef"));
  std::string key_arn(store.at("encryptionKey").at("id").as_string());
  EXPECT_EQ(key_arn.rfind("arn:aws:kms:us-east-1:123456789012:key/", 0), 0u) << key_arn;
  EXPECT_EQ(store.at("encryptionKey").at("type"), json::value("KMS"));
  const json::value& source = d.at("stages").at(0).at("actions").at(0);
  EXPECT_EQ(source.at("configuration").at("RepositoryName"), json::value("stageline-demo"));
  EXPECT_EQ(source.at("configuration").at("PollForSourceChanges"), json::value("false"));
  EXPECT_EQ(source.at("roleArn").as_string().find("arn:aws:iam::123456789012:role/stageline-"), 0u);
  EXPECT_EQ(d.at("stages").at(1).at("actions").at(0).at("configuration").at("ProjectName"),
            json::value("stageline-demo-build"));
  EXPECT_EQ(d.at("stages").at(3).at("actions").at(0).at("configuration").at("BucketName"),
            json::value("stageline-sitebucket397a1860"));
  EXPECT_EQ(p.restart_execution_on_update, true);
  EXPECT_EQ(p.declaration.lines.line_of("stages[1].actions[0].configuration.ProjectName"),
            line_containing(text, "\"ProjectName\": {"));

  // The other resources: typed records, and the types Stageline does not manage.
  const Resources& res = r.resources;
  EXPECT_EQ(res.roles.size(), 7u);
  EXPECT_EQ(res.policies.size(), 6u);
  ASSERT_EQ(res.keys.size(), 1u);
  EXPECT_EQ(res.keys[0].arn, key_arn);
  EXPECT_TRUE(res.keys[0].enable_key_rotation);
  ASSERT_EQ(res.buckets.size(), 2u);
  EXPECT_EQ(res.buckets[0].sse_algorithm, "aws:kms");
  EXPECT_EQ(res.buckets[0].kms_key_id, key_arn);
  EXPECT_EQ(res.buckets[0].versioning_status, "Enabled");
  ASSERT_EQ(res.buckets[0].lifecycle_rules.size(), 1u);
  EXPECT_EQ(res.buckets[0].lifecycle_rules[0].expiration_days, 30);
  EXPECT_EQ(res.buckets[0].lifecycle_rules[0].noncurrent_expiration_days, 7);
  ASSERT_EQ(res.build_projects.size(), 1u);
  const BuildProjectResource& build = res.build_projects[0];
  EXPECT_EQ(build.name, "stageline-demo-build");
  EXPECT_EQ(build.source_type, "CODEPIPELINE");
  EXPECT_NE(build.buildspec.find("make test"), std::string::npos);
  EXPECT_EQ(build.image, "aws/codebuild/standard:7.0");
  EXPECT_EQ(build.timeout_in_minutes, 20);
  EXPECT_EQ(build.encryption_key, key_arn);
  ASSERT_EQ(build.environment_variables.size(), 1u);
  EXPECT_EQ(build.environment_variables[0].name, "STAGE");
  EXPECT_EQ(build.service_role.rfind("arn:aws:iam::123456789012:role/stageline-BuildRole", 0), 0u);
  ASSERT_EQ(res.repositories.size(), 1u);
  EXPECT_EQ(res.repositories[0].name, "stageline-demo");
  bool has_metadata = false, has_rule = false;
  for (const auto& u : res.unmanaged) {
    has_metadata = has_metadata || u.type == "AWS::CDK::Metadata";
    has_rule = has_rule || u.type == "AWS::Events::Rule";
  }
  EXPECT_TRUE(has_metadata);
  EXPECT_TRUE(has_rule);
  // IAM policy documents keep their resolved ARNs.
  std::string policies = json::serialize(res.policies[0].document);
  EXPECT_EQ(policies.find("Fn::"), std::string::npos) << policies;
}

TEST(CloudFormationPipelineTest, ArtifactStoresListBecomesTheApiRegionMap) {
  TemplatePipeline p = one_pipeline(std::string(kPipelineHeader) + R"(      ArtifactStores:
        - Region: us-east-1
          ArtifactStore: {Type: S3, Location: bucket-east}
        - Region: eu-west-1
          ArtifactStore:
            Type: S3
            Location: bucket-west
            EncryptionKey: {Id: alias/west, Type: KMS}
      Stages: []
)");
  EXPECT_EQ(p.declaration.value.at("artifactStores"), json::parse(R"({
      "us-east-1": {"type": "S3", "location": "bucket-east"},
      "eu-west-1": {"type": "S3", "location": "bucket-west",
                    "encryptionKey": {"id": "alias/west", "type": "KMS"}}})"));
  EXPECT_EQ(p.declaration.lines.line_of("artifactStores.eu-west-1.encryptionKey.id"), 16);
  EXPECT_FALSE(p.declaration.value.as_object().contains("artifactStore"));
}

TEST(CloudFormationPipelineTest, ConfigurationScalarsBecomeStrings) {
  TemplatePipeline p = one_pipeline(std::string(kPipelineHeader) + R"(      Stages:
        - Name: Source
          Actions:
            - Name: Get
              ActionTypeId: {Category: Source, Owner: AWS, Provider: S3, Version: 1}
              RunOrder: '2'
              TimeoutInMinutes: 30
              Configuration:
                PollForSourceChanges: false
                Detect: yes
                Count: 3
                Ratio: 1.5
                Account: 123456789012
                Empty: ''
                Overrides: {Env: prod, Tags: [a, b]}
                List: [1, 2]
                Role: !GetAtt Role.Arn
)");
  const json::value& action = p.declaration.value.at("stages").at(0).at("actions").at(0);
  EXPECT_EQ(action.at("configuration"), json::parse(R"({
      "PollForSourceChanges": "false", "Detect": "true", "Count": "3", "Ratio": "1.5",
      "Account": "123456789012", "Empty": "", "Overrides": "{\"Env\":\"prod\",\"Tags\":[\"a\",\"b\"]}",
      "List": "[1,2]", "Role": "arn:aws:iam::123456789012:role/pipeline-role"})"));
  EXPECT_EQ(action.at("actionTypeId").at("version"), json::value("1"));
  EXPECT_EQ(action.at("runOrder"), json::value(2));
  EXPECT_EQ(action.at("timeoutInMinutes"), json::value(30));
}

TEST(CloudFormationPipelineTest, EveryV2MemberMapsToTheApiShape) {
  TemplatePipeline p = one_pipeline(std::string(kPipelineHeader) + R"(      Name: v2
      PipelineType: V2
      ExecutionMode: QUEUED
      ArtifactStore: {Type: S3, Location: b}
      Variables:
        - {Name: Env, DefaultValue: test, Description: target}
      Triggers:
        - ProviderType: CodeStarSourceConnection
          GitConfiguration:
            SourceActionName: Get
            Push:
              - Branches: {Includes: [main], Excludes: [wip]}
                Tags: {Includes: [v*]}
                FilePaths: {Includes: [src/**]}
            PullRequest:
              - Events: [OPEN, UPDATED]
                Branches: {Includes: [main]}
      Stages:
        - Name: Build
          Blockers: [{Name: b, Type: Schedule}]
          BeforeEntry:
            Conditions:
              - Result: FAIL
                Rules:
                  - Name: Check
                    RuleTypeId: {Category: Rule, Owner: AWS, Provider: VariableCheck, Version: '1'}
                    Configuration: {Variable: x, Value: 1, Operator: EQ}
                    InputArtifacts: [{Name: Src}]
                    Commands: [echo hi]
                    Region: us-east-1
                    RoleArn: !GetAtt Role.Arn
          OnSuccess:
            Conditions: [{Result: ROLLBACK, Rules: []}]
          OnFailure:
            Result: RETRY
            RetryConfiguration: {RetryMode: FAILED_ACTIONS}
          Actions:
            - Name: Run
              ActionTypeId: {Category: Compute, Owner: AWS, Provider: Commands, Version: '1'}
              Commands: [make, make test]
              OutputArtifacts: [{Name: Out, Files: [dist/**]}]
              OutputVariables: [VERSION]
              Namespace: RunNs
              Region: us-east-1
              EnvironmentVariables: [{Name: A, Value: b, Type: PLAINTEXT}]
)");
  EXPECT_EQ(p.declaration.value, json::parse(R"({
    "name": "v2",
    "roleArn": "arn:aws:iam::123456789012:role/pipeline-role",
    "artifactStore": {"type": "S3", "location": "b"},
    "stages": [{
      "name": "Build",
      "blockers": [{"name": "b", "type": "Schedule"}],
      "actions": [{
        "name": "Run",
        "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands",
                         "version": "1"},
        "commands": ["make", "make test"],
        "outputArtifacts": [{"name": "Out", "files": ["dist/**"]}],
        "outputVariables": ["VERSION"],
        "region": "us-east-1",
        "namespace": "RunNs",
        "environmentVariables": [{"name": "A", "value": "b", "type": "PLAINTEXT"}]}],
      "onFailure": {"result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}},
      "onSuccess": {"conditions": [{"result": "ROLLBACK", "rules": []}]},
      "beforeEntry": {"conditions": [{"result": "FAIL", "rules": [{
        "name": "Check",
        "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "VariableCheck",
                       "version": "1"},
        "configuration": {"Variable": "x", "Value": "1", "Operator": "EQ"},
        "commands": ["echo hi"],
        "inputArtifacts": [{"name": "Src"}],
        "roleArn": "arn:aws:iam::123456789012:role/pipeline-role",
        "region": "us-east-1"}]}]}}],
    "executionMode": "QUEUED",
    "pipelineType": "V2",
    "variables": [{"name": "Env", "defaultValue": "test", "description": "target"}],
    "triggers": [{
      "providerType": "CodeStarSourceConnection",
      "gitConfiguration": {
        "sourceActionName": "Get",
        "push": [{"tags": {"includes": ["v*"]},
                  "branches": {"includes": ["main"], "excludes": ["wip"]},
                  "filePaths": {"includes": ["src/**"]}}],
        "pullRequest": [{"events": ["OPEN", "UPDATED"],
                         "branches": {"includes": ["main"]}}]}}]})"));
  // Members come out in the API's order, whatever order the template used.
  std::vector<std::string> keys;
  for (const auto& kv : p.declaration.value.as_object()) keys.emplace_back(kv.key());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"name", "roleArn", "artifactStore", "stages", "executionMode",
                                      "pipelineType", "variables", "triggers"}));
}

TEST(CloudFormationPipelineTest, TagsTransitionsAndRestartAreReadBesideTheDeclaration) {
  TemplatePipeline p = one_pipeline(std::string(kPipelineHeader) + R"(      Stages: []
      Tags:
        - {Key: team, Value: platform}
        - {Key: cost, Value: 42}
      DisableInboundStageTransitions:
        - {StageName: Deploy, Reason: freeze}
      RestartExecutionOnUpdate: 'true'
)");
  EXPECT_EQ(json::value(p.tags), json::parse(R"([{"key": "team", "value": "platform"},
                                                  {"key": "cost", "value": "42"}])"));
  ASSERT_EQ(p.disabled_inbound_transitions.size(), 1u);
  EXPECT_EQ(p.disabled_inbound_transitions[0],
            (std::pair<std::string, std::string>{"Deploy", "freeze"}));
  EXPECT_EQ(p.restart_execution_on_update, true);
  EXPECT_FALSE(p.declaration.value.as_object().contains("tags"));
}

TEST(CloudFormationPipelineTest, AMissingNameIsStackNameDashLogicalId) {
  TemplateOptions options;
  options.stack_name = "release";
  TemplatePipeline p = one_pipeline(std::string(kPipelineHeader) + "      Stages: []\n", options);
  EXPECT_EQ(p.declaration.value.at("name"), json::value("release-Pipeline"));
  EXPECT_EQ(p.declaration.value.as_object().begin()->key(), "name");
}

TEST(CloudFormationPipelineTest, AnUnknownPropertyIsReportedWithItsLineAndTheClosestName) {
  std::string text = std::string(kPipelineHeader) + R"(      Stages:
        - Name: Build
          Actions:
            - Name: Compile
              ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: '1'}
              InputArtifact: [{Name: Src}]
      RoleArnn: x
)";
  TemplateResult r = read_yaml(text);
  Problems errors = errors_of(r.problems);
  ASSERT_EQ(errors.size(), 2u) << describe(r.problems);
  auto at = [&](const std::string& path) -> const Problem& {
    for (const auto& p : errors)
      if (p.path == path) return p;
    ADD_FAILURE() << "no problem at " << path << "\n" << describe(r.problems);
    return errors[0];
  };
  const Problem& e = at("Resources.Pipeline.Properties.Stages[0].Actions[0].InputArtifact");
  EXPECT_EQ(e.type, ErrorType::kSerializationException);
  EXPECT_EQ(e.rule, "template.unknown-property");
  EXPECT_EQ(e.line, line_containing(text, "InputArtifact:"));
  EXPECT_NE(e.fix.find("InputArtifacts"), std::string::npos) << e.fix;
  const Problem& role = at("Resources.Pipeline.Properties.RoleArnn");
  EXPECT_EQ(role.line, line_containing(text, "RoleArnn:"));
  EXPECT_NE(role.fix.find("RoleArn"), std::string::npos);
  // The property is dropped; the pipeline is still read.
  ASSERT_EQ(r.pipelines.size(), 1u);
  const json::value& action =
      r.pipelines[0].declaration.value.at("stages").at(0).at("actions").at(0);
  EXPECT_FALSE(action.as_object().contains("inputArtifacts"));
}

TEST(CloudFormationPipelineTest, RulesHaveNoTimeoutInMinutesInCloudFormation) {
  TemplateResult r = read_yaml(std::string(kPipelineHeader) + R"(      Stages:
        - Name: S
          BeforeEntry:
            Conditions:
              - Rules:
                  - Name: R
                    TimeoutInMinutes: 5
          Actions: []
)");
  const Problem* p = find_rule(r.problems, "template.unknown-property");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->path,
            "Resources.Pipeline.Properties.Stages[0].BeforeEntry.Conditions[0].Rules[0]."
            "TimeoutInMinutes");
}

TEST(CloudFormationPipelineTest, WrongTypesAreReportedAndDropped) {
  TemplateResult r = read_yaml(std::string(kPipelineHeader) + R"(      Stages:
        - Name: S
          Actions:
            - Name: A
              RunOrder: first
              Configuration: [a]
              InputArtifacts: {Name: x}
)");
  int type_errors = 0;
  for (const auto& p : r.problems)
    if (p.rule == "template.property-type") ++type_errors;
  EXPECT_EQ(type_errors, 3) << describe(r.problems);
  ASSERT_EQ(r.pipelines.size(), 1u);
  EXPECT_EQ(r.pipelines[0].declaration.value.at("stages").at(0).at("actions").at(0),
            json::parse(R"({"name": "A"})"));
}

TEST(CloudFormationPipelineTest, NoValueAndIfShapeTheDeclarationAndKeepLines) {
  std::string text = std::string(kPipelineHeader) + R"(      Stages:
        - !If
          - IsProd
          - Name: Approve
            Actions: []
          - !Ref AWS::NoValue
        - Name: Build
          Actions:
            - Name: Compile
              RoleArn: !If [IsProd, !GetAtt Role.Arn, !Ref AWS::NoValue]
Conditions:
  IsProd: !Equals [a, b]
)";
  TemplatePipeline p = one_pipeline(text);
  const json::value& stages = p.declaration.value.at("stages");
  ASSERT_EQ(stages.as_array().size(), 1u);
  EXPECT_EQ(stages.at(0).at("name"), json::value("Build"));
  EXPECT_FALSE(stages.at(0).at("actions").at(0).as_object().contains("roleArn"));
  EXPECT_EQ(p.declaration.lines.line_of("stages[0].actions[0].name"),
            line_containing(text, "Name: Compile"));
}

TEST(CloudFormationPipelineTest, AFailedReferenceIsReportedAndTheRestIsStillRead) {
  std::string text =
      std::string(kPipelineHeader) + R"(      ArtifactStore: {Type: S3, Location: !Ref Bucket}
      Stages:
        - Name: Build
          Actions: []
)";
  TemplateResult r = read_yaml(text);
  Problems errors = errors_of(r.problems);
  ASSERT_EQ(errors.size(), 1u) << describe(r.problems);
  EXPECT_EQ(errors[0].path, "Resources.Pipeline.Properties.ArtifactStore.Location.Ref");
  EXPECT_EQ(errors[0].line, line_containing(text, "Location: !Ref Bucket"));
  ASSERT_EQ(r.pipelines.size(), 1u);
  EXPECT_EQ(r.pipelines[0].declaration.value.at("stages").at(0).at("name"), json::value("Build"));
}

TEST(CloudFormationPipelineTest, JsonTemplatesWorkLikeYaml) {
  auto doc = load_json(R"({
  "AWSTemplateFormatVersion": "2010-09-09",
  "Resources": {
    "P": {
      "Type": "AWS::CodePipeline::Pipeline",
      "Properties": {
        "RoleArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/r"},
        "Stages": [{"Name": "S", "Actions": [{"Name": "A", "RunOrder": 1}]}]
      }
    }
  }
})");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  TemplateResult r = read_cloudformation(doc->json);
  EXPECT_FALSE(has_errors(r.problems)) << describe(r.problems);
  ASSERT_EQ(r.pipelines.size(), 1u);
  EXPECT_EQ(r.pipelines[0].declaration.value.at("roleArn"),
            json::value("arn:aws:iam::123456789012:role/r"));
  EXPECT_EQ(r.pipelines[0].declaration.lines.line_of("stages[0].actions[0].runOrder"), 8);
}

// --- Typed records

TEST(CloudFormationResourcesTest, RecordsCarryTheResolvedFields) {
  TemplateResult r = read_yaml(R"(Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: builder
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: codebuild.amazonaws.com}, Action: sts:AssumeRole}]
      ManagedPolicyArns: [!Ref Managed]
      Policies:
        - PolicyName: logs
          PolicyDocument: {Statement: [{Effect: Allow, Action: 'logs:*', Resource: '*'}]}
  Managed:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument: {Statement: []}
      Roles: [!Ref Role]
  Policy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      PolicyDocument: {Statement: [{Effect: Allow, Action: 's3:*', Resource: !Sub '${Bucket.Arn}/*'}]}
      Roles: [!Ref Role]
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration: {Status: Enabled}
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}
      LifecycleConfiguration:
        Rules:
          - {Id: old, Status: Enabled, Prefix: tmp/, ExpirationInDays: 3, NoncurrentVersionExpirationInDays: 1}
  Key:
    Type: AWS::KMS::Key
    Properties: {Description: artifacts, EnableKeyRotation: true, KeyPolicy: {Statement: []}}
  Alias:
    Type: AWS::KMS::Alias
    Properties: {AliasName: alias/artifacts, TargetKeyId: !GetAtt Key.Arn}
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      Subscription: [{Protocol: email, Endpoint: ops@example.com}]
  Repo:
    Type: AWS::CodeCommit::Repository
    Properties: {RepositoryName: app, RepositoryDescription: the app}
  Connection:
    Type: AWS::CodeStarConnections::Connection
    Properties: {ConnectionName: gh, ProviderType: GitHub}
  Project:
    Type: AWS::CodeBuild::Project
    Properties:
      ServiceRole: !GetAtt Role.Arn
      Source: {Type: CODEPIPELINE, BuildSpec: buildspec-ci.yml}
      Artifacts: {Type: CODEPIPELINE}
      Environment:
        Type: LINUX_CONTAINER
        Image: aws/codebuild/standard:7.0
        ComputeType: BUILD_GENERAL1_SMALL
        EnvironmentVariables: [{Name: TOKEN, Value: /ci/token, Type: PARAMETER_STORE}, {Name: A, Value: 1}]
      EncryptionKey: !Ref Alias
  Hook:
    Type: AWS::CodePipeline::Webhook
    Properties:
      Authentication: GITHUB_HMAC
      AuthenticationConfiguration: {SecretToken: s3cret}
      Filters: [{JsonPath: $.ref, MatchEquals: 'refs/heads/{Branch}'}]
      TargetPipeline: pipe
      TargetAction: Source
      TargetPipelineVersion: 1
      RegisterWithThirdParty: true
  Custom:
    Type: AWS::CodePipeline::CustomActionType
    Properties:
      Category: Deploy
      Provider: Rsync
      Version: '1'
      Settings: {EntityUrlTemplate: 'https://example.com'}
      ConfigurationProperties:
        - {Name: Host, Required: true, Key: true, Secret: false, Type: String}
      InputArtifactDetails: {MinimumCount: 1, MaximumCount: 1}
      OutputArtifactDetails: {MinimumCount: 0, MaximumCount: 0}
)");
  EXPECT_FALSE(has_errors(r.problems)) << describe(r.problems);
  const Resources& res = r.resources;
  ASSERT_EQ(res.roles.size(), 1u);
  EXPECT_EQ(res.roles[0].name, "builder");
  EXPECT_EQ(res.roles[0].arn, "arn:aws:iam::123456789012:role/builder");
  EXPECT_EQ(res.roles[0].managed_policy_arns,
            std::vector<std::string>{"arn:aws:iam::123456789012:policy/stageline-Managed"});
  ASSERT_EQ(res.roles[0].policies.size(), 1u);
  EXPECT_EQ(res.roles[0].policies[0].name, "logs");
  EXPECT_EQ(res.roles[0].line, 2);
  ASSERT_EQ(res.managed_policies.size(), 1u);
  EXPECT_EQ(res.managed_policies[0].roles, std::vector<std::string>{"builder"});
  ASSERT_EQ(res.policies.size(), 1u);
  EXPECT_EQ(res.policies[0].document.at("Statement").at(0).at("Resource"),
            json::value("arn:aws:s3:::stageline-bucket/*"));
  ASSERT_EQ(res.buckets.size(), 1u);
  EXPECT_EQ(res.buckets[0].name, "stageline-bucket");
  EXPECT_EQ(res.buckets[0].versioning_status, "Enabled");
  EXPECT_EQ(res.buckets[0].sse_algorithm, "AES256");
  ASSERT_EQ(res.buckets[0].lifecycle_rules.size(), 1u);
  EXPECT_EQ(res.buckets[0].lifecycle_rules[0].prefix, "tmp/");
  EXPECT_EQ(res.buckets[0].lifecycle_rules[0].expiration_days, 3);
  EXPECT_EQ(res.buckets[0].lifecycle_rules[0].noncurrent_expiration_days, 1);
  ASSERT_EQ(res.keys.size(), 1u);
  EXPECT_EQ(res.keys[0].description, "artifacts");
  EXPECT_TRUE(res.keys[0].enable_key_rotation);
  ASSERT_EQ(res.key_aliases.size(), 1u);
  EXPECT_EQ(res.key_aliases[0].target_key_id, res.keys[0].arn);
  ASSERT_EQ(res.topics.size(), 1u);
  EXPECT_EQ(res.topics[0].subscriptions.at(0).endpoint, "ops@example.com");
  EXPECT_EQ(res.topics[0].arn, "arn:aws:sns:us-east-1:123456789012:stageline-Topic");
  ASSERT_EQ(res.repositories.size(), 1u);
  EXPECT_EQ(res.repositories[0].description, "the app");
  EXPECT_EQ(res.repositories[0].clone_url_http,
            "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/app");
  ASSERT_EQ(res.connections.size(), 1u);
  EXPECT_EQ(res.connections[0].provider_type, "GitHub");
  ASSERT_EQ(res.build_projects.size(), 1u);
  const BuildProjectResource& b = res.build_projects[0];
  EXPECT_EQ(b.name, "stageline-Project");
  EXPECT_EQ(b.buildspec, "buildspec-ci.yml");
  EXPECT_EQ(b.compute_type, "BUILD_GENERAL1_SMALL");
  EXPECT_EQ(b.encryption_key, "alias/artifacts");
  EXPECT_EQ(b.timeout_in_minutes, 60);
  ASSERT_EQ(b.environment_variables.size(), 2u);
  EXPECT_EQ(b.environment_variables[0].type, "PARAMETER_STORE");
  EXPECT_EQ(b.environment_variables[1].value, "1");
  EXPECT_EQ(b.environment_variables[1].type, "PLAINTEXT");
  EXPECT_EQ(b.properties.at("ServiceRole"), json::value("arn:aws:iam::123456789012:role/builder"));
  ASSERT_EQ(res.webhooks.size(), 1u);
  EXPECT_EQ(res.webhooks[0].filters.at(0).first, "$.ref");
  EXPECT_EQ(res.webhooks[0].target_pipeline_version, 1);
  EXPECT_TRUE(res.webhooks[0].register_with_third_party);
  ASSERT_EQ(res.custom_action_types.size(), 1u);
  const CustomActionTypeResource& c = res.custom_action_types[0];
  EXPECT_EQ(c.id, "Deploy|Custom|Rsync|1");
  EXPECT_EQ(c.input_artifact_details.maximum_count, 1);
  ASSERT_EQ(c.configuration_properties.size(), 1u);
  EXPECT_TRUE(c.configuration_properties[0].key);
  EXPECT_TRUE(res.unmanaged.empty());
}

TEST(CloudFormationResourcesTest, MissingRequiredPropertiesAreErrors) {
  TemplateResult r = read_yaml(R"(Resources:
  Role:
    Type: AWS::IAM::Role
    Properties: {RoleName: r}
  Project:
    Type: AWS::CodeBuild::Project
    Properties:
      Source: {Type: CODEPIPELINE}
      Environment: {Type: LINUX_CONTAINER, Image: x}
  Alias:
    Type: AWS::KMS::Alias
    Properties: {AliasName: artifacts, TargetKeyId: k}
)");
  std::vector<std::string> messages;
  for (const auto& p : errors_of(r.problems)) messages.push_back(p.message);
  auto mentions = [&](const std::string& s) {
    for (const auto& m : messages)
      if (m.find(s) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(mentions("'Role' needs the property AssumeRolePolicyDocument"))
      << describe(r.problems);
  EXPECT_TRUE(mentions("needs the property ComputeType"));
  EXPECT_TRUE(mentions("needs the property Artifacts"));
  EXPECT_TRUE(mentions("needs the property ServiceRole"));
  EXPECT_TRUE(mentions("must start with alias/"));
  const Problem* p = find_rule(r.problems, "template.required-property");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->line, 4);
  // Records are still produced, so callers can list them.
  EXPECT_EQ(r.resources.roles.size(), 1u);
  EXPECT_EQ(r.resources.build_projects.size(), 1u);
}

TEST(CloudFormationResourcesTest, UnknownPropertiesOfManagedTypesAreReported) {
  TemplateResult r = read_yaml(R"(Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties: {BucketNmae: x}
  Fn:
    Type: AWS::Lambda::Function
    Properties: {Anything: goes}
)");
  const Problem* p = find_rule(r.problems, "template.unknown-property");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->path, "Resources.Bucket.Properties.BucketNmae");
  EXPECT_NE(p->fix.find("BucketName"), std::string::npos);
  ASSERT_EQ(r.resources.unmanaged.size(), 1u);
  EXPECT_EQ(r.resources.unmanaged[0].type, "AWS::Lambda::Function");
  EXPECT_EQ(r.resources.unmanaged[0].line, 5);
}

// --- Hostile templates: problems, never exceptions or hangs.

TEST(CloudFormationRobustnessTest, HostileTemplatesGiveProblemsNotCrashes) {
  std::vector<std::string> texts = {
      "Resources: 5\n",
      "[1, 2]\n",
      "Resources:\n  X: 5\n  Y: {Type: 7}\n  Z: {Type: AWS::SNS::Topic, Properties: [1]}\n",
      "Resources:\n  P:\n    Type: AWS::CodePipeline::Pipeline\n    Properties:\n"
      "      Stages: !Ref AWS::NoValue\n      Name: !Join [',', !Ref Nope]\n",
      "Conditions: {A: !Equals [1]}\nResources:\n  T: {Type: AWS::SNS::Topic, Condition: A}\n",
      "Mappings: {M: 5}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"
      "    Properties: {TopicName: !FindInMap [M, a, b]}\n",
  };
  // A Sub whose variables nest deeply through Fn::If.
  std::string deep = "x";
  for (int i = 0; i < 60; ++i) deep = "!If [C, [" + deep + "], b]";
  texts.push_back(
      "Conditions: {C: !Equals [a, a]}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"
      "    Properties: {TopicName: !Select [0, " +
      deep + "]}\n");
  for (const auto& text : texts) {
    auto doc = load_yaml(text);
    if (!doc.ok()) continue;
    TemplateResult r = read_cloudformation(*doc);
    EXPECT_TRUE(has_errors(r.problems)) << text;
    for (const auto& p : r.problems) EXPECT_FALSE(p.message.empty());
  }
}

}  // namespace
}  // namespace stageline::definitions

namespace stageline::definitions {
namespace {

TEST(CodeBuildProjectInput, SpeaksTheApisNamesWithTheResolvedNameAndRole) {
  BuildProjectResource r;
  r.name = "my-app-build";
  r.service_role = "arn:aws:iam::123456789012:role/cb";
  r.properties = boost::json::parse(R"({"Name": {"Ref": "ignored"},
      "Source": {"Type": "CODEPIPELINE", "BuildSpec": "version: 0.2"},
      "Environment": {"Type": "LINUX_CONTAINER", "Image": "img",
                      "EnvironmentVariables": [{"Name": "A", "Value": "1", "Type": "PLAINTEXT"}]},
      "TimeoutInMinutes": 20})")
                     .as_object();
  boost::json::object in = codebuild_project_input(r);
  EXPECT_EQ(in.at("name"), "my-app-build");
  EXPECT_EQ(in.at("serviceRole"), "arn:aws:iam::123456789012:role/cb");
  EXPECT_EQ(in.at("source").at("buildspec"), "version: 0.2");
  EXPECT_EQ(in.at("source").at("type"), "CODEPIPELINE");
  EXPECT_EQ(in.at("environment").at("environmentVariables").at(0).at("name"), "A");
  EXPECT_EQ(in.at("timeoutInMinutes"), 20);
}

}  // namespace
}  // namespace stageline::definitions
