#include "definitions/yaml_loader.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <random>
#include <string>

namespace stageline::definitions {
namespace {

namespace json = boost::json;

json::value load_ok(std::string_view text) {
  auto result = load_yaml(text);
  EXPECT_TRUE(result.ok()) << result.status().message();
  if (!result.ok()) return nullptr;
  return result->value;
}

std::string load_error(std::string_view text, const YamlLimits& limits = {}) {
  auto result = load_yaml(text, limits);
  EXPECT_FALSE(result.ok()) << "unexpectedly parsed: " << json::serialize(result->value);
  return result.ok() ? std::string() : result.status().message();
}

TEST(YamlLoaderTest, RefShortFormBecomesLongForm) {
  EXPECT_EQ(load_ok("a: !Ref Env\n"), json::parse(R"({"a": {"Ref": "Env"}})"));
}

TEST(YamlLoaderTest, GetAttShortFormsBecomeALogicalIdAndAttributeList) {
  EXPECT_EQ(
      load_ok("a: !GetAtt Role.Arn\nb: !GetAtt [Role, Arn]\nc: !GetAtt Db.Endpoint.Address\n"),
      json::parse(R"({"a": {"Fn::GetAtt": ["Role", "Arn"]},
                            "b": {"Fn::GetAtt": ["Role", "Arn"]},
                            "c": {"Fn::GetAtt": ["Db", "Endpoint.Address"]}})"));
}

TEST(YamlLoaderTest, EveryIntrinsicShortFormBecomesItsFnKey) {
  json::value v = load_ok(R"(
sub: !Sub '${AWS::StackName}-x'
sub2: !Sub ['x-${A}', {A: !Ref Env}]
join: !Join [':', [a, !Ref 'AWS::Region']]
select: !Select [0, !GetAZs '']
split: !Split [',', 'a,b']
if: !If [IsProd, 1, !Ref 'AWS::NoValue']
equals: !Equals [!Ref Env, prod]
not: !Not [!Condition IsProd]
and: !And [!Condition A, !Condition B]
or: !Or [!Condition A, !Condition B]
map: !FindInMap [M, !Ref 'AWS::Region', Ami]
b64: !Base64 hello
cidr: !Cidr [10.0.0.0/16, 6, 5]
azs: !GetAZs
import: !ImportValue shared-vpc
cond: !Condition IsProd
)");
  EXPECT_EQ(v, json::parse(R"({
    "sub": {"Fn::Sub": "${AWS::StackName}-x"},
    "sub2": {"Fn::Sub": ["x-${A}", {"A": {"Ref": "Env"}}]},
    "join": {"Fn::Join": [":", ["a", {"Ref": "AWS::Region"}]]},
    "select": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
    "split": {"Fn::Split": [",", "a,b"]},
    "if": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]},
    "equals": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
    "not": {"Fn::Not": [{"Condition": "IsProd"}]},
    "and": {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]},
    "or": {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]},
    "map": {"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "Ami"]},
    "b64": {"Fn::Base64": "hello"},
    "cidr": {"Fn::Cidr": ["10.0.0.0/16", 6, 5]},
    "azs": {"Fn::GetAZs": ""},
    "import": {"Fn::ImportValue": "shared-vpc"},
    "cond": {"Condition": "IsProd"}})"));
}

TEST(YamlLoaderTest, ShortFormContentIsTextEvenWhenItLooksLikeANumber) {
  EXPECT_EQ(load_ok("a: !Ref 123\nb: !Base64 true\n"),
            json::parse(R"({"a": {"Ref": "123"}, "b": {"Fn::Base64": "true"}})"));
}

TEST(YamlLoaderTest, UnknownTagIsAnErrorWithItsLineAndASuggestion) {
  std::string error = load_error("a: 1\nb: !Reff Env\n");
  EXPECT_NE(error.find("line 2, column 4"), std::string::npos) << error;
  EXPECT_NE(error.find("!Reff"), std::string::npos) << error;
  EXPECT_NE(error.find("!Ref"), std::string::npos) << error;
}

TEST(YamlLoaderTest, PlainScalarsResolveLikeCloudFormation) {
  json::value v = load_ok(R"(
t1: true
t2: True
t3: yes
f1: false
f2: OFF
n1: null
n2: ~
n3:
i1: 42
i2: -7
i3: +5
account: 123456789012
huge: 123456789012345678901234567890
zero: 0
octal: 0123
under: 1_000
hex: 0x1F
f: 1.5
e: 2.5e3
dotted: 1.10
version: 1.2.3
inf: .inf
word: hello world
)");
  const json::object& o = v.as_object();
  EXPECT_EQ(o.at("t1"), json::value(true));
  EXPECT_EQ(o.at("t2"), json::value(true));
  EXPECT_EQ(o.at("t3"), json::value(true));
  EXPECT_EQ(o.at("f1"), json::value(false));
  EXPECT_EQ(o.at("f2"), json::value(false));
  EXPECT_TRUE(o.at("n1").is_null());
  EXPECT_TRUE(o.at("n2").is_null());
  EXPECT_TRUE(o.at("n3").is_null());
  EXPECT_EQ(o.at("i1"), json::value(42));
  EXPECT_EQ(o.at("i2"), json::value(-7));
  EXPECT_EQ(o.at("i3"), json::value(5));
  EXPECT_EQ(o.at("account"), json::value(int64_t{123456789012}));
  EXPECT_EQ(o.at("huge"), json::value("123456789012345678901234567890"));
  EXPECT_EQ(o.at("zero"), json::value(0));
  EXPECT_EQ(o.at("octal"), json::value("0123"));
  EXPECT_EQ(o.at("under"), json::value("1_000"));
  EXPECT_EQ(o.at("hex"), json::value("0x1F"));
  EXPECT_EQ(o.at("f"), json::value(1.5));
  EXPECT_EQ(o.at("e"), json::value(2500.0));
  EXPECT_EQ(o.at("dotted"), json::value(1.1));
  EXPECT_EQ(o.at("version"), json::value("1.2.3"));
  EXPECT_EQ(o.at("inf"), json::value(".inf"));
  EXPECT_EQ(o.at("word"), json::value("hello world"));
}

TEST(YamlLoaderTest, QuotedAndBlockScalarsAreAlwaysStrings) {
  json::value v =
      load_ok("a: \"42\"\nb: 'true'\nc: ''\nd: |\n  line 1\n  line 2\ne: >-\n  x\n  y\n");
  EXPECT_EQ(v, json::parse(R"({"a": "42", "b": "true", "c": "", "d": "line 1\nline 2\n",
                               "e": "x y"})"));
}

TEST(YamlLoaderTest, CoreTagsApply) {
  EXPECT_EQ(load_ok("a: !!str 42\nb: !!int '7'\nc: !!bool 'true'\n"),
            json::parse(R"({"a": "42", "b": 7, "c": true})"));
  EXPECT_NE(load_error("a: !!int seven\n").find("line 1"), std::string::npos);
}

TEST(YamlLoaderTest, MergeKeysCopyTheKeysThatAreNotThere) {
  json::value v = load_ok(R"(
base: &base {Type: S3, Location: bucket-a}
other: &other {Location: bucket-b, Region: eu-west-1}
store:
  <<: [*base, *other]
  Location: mine
)");
  EXPECT_EQ(v.at("store"),
            json::parse(R"({"Location": "mine", "Type": "S3", "Region": "eu-west-1"})"));
}

TEST(YamlLoaderTest, MergedKeysKeepTheLinesOfTheirSource) {
  auto result = load_yaml("base: &base\n  Type: S3\nstore:\n  <<: *base\n  Location: x\n");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->lines.line_of("store.Type"), 2);
  EXPECT_EQ(result->lines.line_of("store.Location"), 5);
}

TEST(YamlLoaderTest, AMergeKeyNeedsAMapping) {
  EXPECT_NE(load_error("a:\n  <<: 5\n").find("merge"), std::string::npos);
}

TEST(YamlLoaderTest, QuotedMergeKeyIsAnOrdinaryKey) {
  EXPECT_EQ(load_ok("a:\n  '<<': 5\n"), json::parse(R"({"a": {"<<": 5}})"));
}

TEST(YamlLoaderTest, AliasesAreExpanded) {
  EXPECT_EQ(load_ok("x: &art [{Name: Out}]\ny: *art\n"),
            json::parse(R"({"x": [{"Name": "Out"}], "y": [{"Name": "Out"}]})"));
}

TEST(YamlLoaderTest, LinesPointAtTheKeysAndItems) {
  auto result = load_yaml(R"(AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Stages:
        - Name: Source
          Actions: []
        - Name: Build
          Actions:
            - Name: Compile
              InputArtifacts:
                - Name: SourceOut
              RoleArn: !GetAtt Role.Arn
)");
  ASSERT_TRUE(result.ok()) << result.status().message();
  const SourceMap& lines = result->lines;
  EXPECT_EQ(lines.line_of(""), 1);
  EXPECT_EQ(lines.line_of("Resources"), 2);
  EXPECT_EQ(lines.line_of("Resources.Pipeline.Properties.Stages[1]"), 9);
  EXPECT_EQ(lines.line_of("Resources.Pipeline.Properties.Stages[1].Actions[0].Name"), 11);
  EXPECT_EQ(
      lines.line_of("Resources.Pipeline.Properties.Stages[1].Actions[0].InputArtifacts[0].Name"),
      13);
  EXPECT_EQ(
      lines.line_of("Resources.Pipeline.Properties.Stages[1].Actions[0].RoleArn.Fn::GetAtt[1]"),
      14);
}

TEST(YamlLoaderTest, WindowsLineEndingsKeepLines) {
  auto result = load_yaml("a: 1\r\nb:\r\n  c: x\r\n");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->value, json::parse(R"({"a": 1, "b": {"c": "x"}})"));
  EXPECT_EQ(result->lines.line_of("b.c"), 3);
}

TEST(YamlLoaderTest, DuplicateKeyIsAnErrorNamingBothLines) {
  std::string error = load_error("a: 1\nb: 2\na: 3\n");
  EXPECT_NE(error.find("line 3"), std::string::npos) << error;
  EXPECT_NE(error.find("first at line 1"), std::string::npos) << error;
}

TEST(YamlLoaderTest, ASecondDocumentIsAnError) {
  EXPECT_NE(load_error("a: 1\n---\nb: 2\n").find("second YAML document"), std::string::npos);
}

TEST(YamlLoaderTest, EmptyDocumentIsNull) {
  EXPECT_TRUE(load_ok("").is_null());
  EXPECT_TRUE(load_ok("# only a comment\n").is_null());
}

TEST(YamlLoaderTest, SyntaxErrorsNameLineAndColumn) {
  std::string error = load_error("a: [1, 2\nb: 3\n");
  EXPECT_EQ(error.rfind("line ", 0), 0u) << error;
  EXPECT_NE(error.find("column"), std::string::npos) << error;
}

TEST(YamlLoaderTest, NonScalarKeyIsAnError) {
  EXPECT_NE(load_error("? [a, b]\n: c\n").find("key"), std::string::npos);
}

// --- Hostile input: each gives a Status, never a crash, hang or huge allocation.

TEST(YamlLoaderTest, DeepFlowNestingIsRefusedBeforeParsing) {
  std::string error = load_error(std::string(100000, '['));
  EXPECT_NE(error.find("nest deeper than 64"), std::string::npos) << error;
  EXPECT_NE(error.find("line 1, column 64"), std::string::npos) << error;
}

TEST(YamlLoaderTest, DeepFlowMappingsAreRefused) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "{a: ";
  EXPECT_NE(load_error(text).find("nest deeper"), std::string::npos);
}

TEST(YamlLoaderTest, DeepCompactSequencesAreRefused) {
  std::string text;
  for (int i = 0; i < 50000; ++i) text += "- ";
  text += "x\n";
  EXPECT_NE(load_error(text).find("nest deeper"), std::string::npos);
}

TEST(YamlLoaderTest, DeepIndentationIsRefused) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += std::string(i, ' ') + "a:\n";
  EXPECT_NE(load_error(text).find("nest deeper"), std::string::npos);
}

TEST(YamlLoaderTest, ReasonableNestingAndBracketsInsideTextAreAccepted) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += std::string(2 * i, ' ') + "k" + std::to_string(i) + ":\n";
  text += std::string(60, ' ') + "leaf: '" + std::string(100, '[') + "'\n";
  text += std::string(60, ' ') + "plain: a" + std::string(100, '{') + "\n";
  text += std::string(60, ' ') + "script: |\n";
  for (int i = 0; i < 100; ++i) text += std::string(62 + i, ' ') + "[ \"it's\n";
  text += std::string(60, ' ') + "after: [[1]]\n";
  json::value v = load_ok(text);
  ASSERT_TRUE(v.is_object());
}

TEST(YamlLoaderTest, AliasBombIsRefused) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", " : "") + prev;
    text += "]\n";
  }
  YamlLimits limits;
  limits.max_nodes = 100000;  // the default (1,000,000) works the same, ten times slower
  std::string error = load_error(text, limits);
  EXPECT_NE(error.find("alias bomb"), std::string::npos) << error;
}

TEST(YamlLoaderTest, LongStringAliasBombIsRefusedByTheByteLimit) {
  std::string text = "a: &s '" + std::string(100000, 'x') + "'\nb: [";
  for (int i = 0; i < 1000; ++i) text += (i ? ", *s" : "*s");
  text += "]\n";
  YamlLimits limits;
  limits.max_output_bytes = 10 * 1024 * 1024;
  EXPECT_NE(load_error(text, limits).find("bytes of text"), std::string::npos);
}

TEST(YamlLoaderTest, SelfReferentialAliasIsRefused) {
  EXPECT_NE(load_error("a: &x [1, *x]\n").find("contains it"), std::string::npos);
  EXPECT_NE(load_error("a: &x {b: *x}\n").find("contains it"), std::string::npos);
  EXPECT_NE(load_error("a: &x {<<: *x}\n").find("contains it"), std::string::npos);
}

TEST(YamlLoaderTest, HugeInputIsRefused) {
  std::string text(6 * 1024 * 1024, 'a');
  EXPECT_NE(load_error(text).find("at most"), std::string::npos);
}

TEST(YamlLoaderTest, ManyValuesAreRefusedBeforeParsing) {
  YamlLimits limits;
  limits.max_nodes = 1000;
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "- x\n";
  EXPECT_NE(load_error(text, limits).find("more than 1000 values"), std::string::npos);
}

TEST(YamlLoaderTest, InvalidUtf8IsRefusedWithItsPosition) {
  std::string error = load_error("a: 1\nb: \xC3\x28\n");
  EXPECT_NE(error.find("line 2, column 4"), std::string::npos) << error;
  EXPECT_NE(error.find("UTF-8"), std::string::npos) << error;
}

TEST(YamlLoaderTest, ControlCharactersAreRefused) {
  EXPECT_NE(load_error(std::string("a: x\0y\n", 7)).find("0x00"), std::string::npos);
  EXPECT_NE(load_error("a: \x1b[31m\n").find("0x1B"), std::string::npos);
}

TEST(YamlLoaderTest, GarbageBytesGiveAStatus) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::string text(1 + rng() % 400, '\0');
    for (char& c : text) c = static_cast<char>(rng() % 256);
    auto result = load_yaml(text);
    (void)result;  // any Status or value is fine; it must not crash
  }
}

TEST(YamlLoaderTest, TabIndentedFileIsRefused) {
  std::string error = load_error("Resources:\n\tPipeline:\n\t\tType: X\n");
  EXPECT_NE(error.find("line 2, column 1"), std::string::npos) << error;
  EXPECT_NE(error.find("tab"), std::string::npos) << error;
}

// Regression: YAML::LoadAll never returns on these (it allocates until memory
// runs out), so load_yaml must not call it.
TEST(YamlLoaderTest, AStrayCommaAfterADocumentDoesNotHang) {
  for (const char* text : {",", "\"a\",\n", "- a\n,", "{a: b},", "[a], b", "%YAML 1.2\n--- !!str,",
                           "!foo,", "a: 1\n---\n,"}) {
    auto result = load_yaml(text);
    (void)result;
  }
}

TEST(YamlLoaderTest, MutatedTemplatesNeverCrash) {
  const std::string seed = R"(Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      RoleArn: !GetAtt [Role, Arn]
      Stages:
        - Name: "Source"
          Actions: [{Name: A, ActionTypeId: {Category: Source}, Configuration: {B: 'x'}}]
        - <<: &m {Name: Build}
          Actions:
            - Name: !Sub '${AWS::StackName}-b'
              Configuration: |
                text [ { '
)";
  const std::string alphabet = "[]{}:,-?!&*|>'\"#\n \t<%@`\\abc12";
  std::mt19937 rng(7);
  for (int round = 0; round < 1000; ++round) {
    std::string text = seed;
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 1:
          if (at < text.size()) text.erase(at, 1 + rng() % 5);
          break;
        default:
          if (at < text.size()) text[at] = alphabet[rng() % alphabet.size()];
      }
    }
    auto result = load_yaml(text);
    (void)result;
  }
}

}  // namespace
}  // namespace stageline::definitions
