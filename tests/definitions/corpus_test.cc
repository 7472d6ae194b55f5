// The definition corpus: every file under invalid/ must produce the problem
// its .expect.json names (rule, path, AWS type, and message text), and every
// file under valid/ and examples/ must read with no error and survive
// decode -> encode -> decode unchanged. Cases are made by make_corpus.py.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "definitions/document.h"
#include "model/pipeline_json.h"

namespace stageline::definitions {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> files(const fs::path& dir, bool definitions_only = true) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (definitions_only && name.find(".expect.") != std::string::npos) continue;
    std::string ext = e.path().extension().string();
    if (ext == ".json" || ext == ".yaml" || ext == ".yml") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string describe(const Document& doc) {
  std::string s;
  for (const auto& l : doc.problems)
    s += "  [" + std::string(to_string(l.problem.severity)) + "] " + l.problem.rule + " " +
         l.problem.path + ": " + l.problem.message + "\n";
  return s;
}

TEST(CorpusTest, EveryInvalidDefinitionReportsItsExpectedProblem) {
  auto cases = files(fs::path(STAGELINE_CORPUS) / "invalid");
  ASSERT_GE(cases.size(), 40u);
  for (const auto& file : cases) {
    SCOPED_TRACE(file.filename().string());
    fs::path expect_file = file;
    expect_file.replace_extension(".expect.json");
    json::value expect = json::parse(slurp(expect_file));
    std::string rule(expect.at("rule").as_string()), path(expect.at("path").as_string()),
        type(expect.at("type").as_string()), message(expect.at("message").as_string());
    Document doc = read_definition(slurp(file));
    EXPECT_FALSE(doc.valid());
    bool found = false;
    for (const auto& l : doc.problems) {
      const auto& p = l.problem;
      if (p.rule == rule && p.path == path && to_string(p.type) == type &&
          p.message.find(message) != std::string::npos && p.severity == Severity::kError) {
        found = true;
        EXPECT_GT(p.line, 0) << "no source line for " << p.path;
      }
    }
    EXPECT_TRUE(found) << "expected " << rule << " at " << path << " (" << type << "): " << message
                       << "\ngot:\n"
                       << describe(doc);
  }
}

TEST(CorpusTest, EveryErrorRuleHasAnInvalidExample) {
  std::set<std::string> covered;
  for (const auto& file : files(fs::path(STAGELINE_CORPUS) / "invalid", false))
    if (file.string().find(".expect.json") != std::string::npos)
      covered.insert(std::string(json::parse(slurp(file)).at("rule").as_string()));
  // Rules whose examples live elsewhere, or that no file can reach:
  // syntax errors and --parameter-overrides are covered by the CLI test
  // (tests/e2e/validate_examples.sh); template.not-object is pre-empted by the
  // format detection (a non-object is read.syntax); template.too-deep is a
  // defence behind the loaders' own 64-level limit; template.internal guards
  // against bugs in the evaluator.
  const std::set<std::string> elsewhere = {"read.syntax", "template.override-unknown",
                                           "template.not-object", "template.too-deep",
                                           "template.internal"};
  for (const auto& r : validation_rules()) {
    if (r.severity != Severity::kError || elsewhere.count(std::string(r.id))) continue;
    EXPECT_TRUE(covered.count(std::string(r.id))) << "rule " << r.id << " has no invalid example";
  }
  for (const auto& id : covered) {
    bool known = false;
    for (const auto& r : validation_rules()) known = known || r.id == id;
    EXPECT_TRUE(known) << "corpus names unknown rule " << id;
  }
}

// Decode -> encode -> decode must be the identity on a valid declaration, and
// for API JSON the encoded document must equal the input.
void expect_round_trip(const fs::path& file, const Document& doc) {
  for (const auto& p : doc.pipelines) {
    json::value encoded = model::encode_pipeline(p.declaration);
    auto again = model::decode_pipeline(encoded);
    EXPECT_TRUE(again.ok());
    EXPECT_EQ(again.value, p.declaration);
  }
  if (doc.format == Format::kDeclarationJson || doc.format == Format::kCliInputJson ||
      doc.format == Format::kGetPipelineOutput) {
    json::value in = json::parse(slurp(file));
    const json::value& decl = in.as_object().contains("pipeline") ? in.at("pipeline") : in;
    ASSERT_EQ(doc.pipelines.size(), 1u);
    EXPECT_EQ(model::encode_pipeline(doc.pipelines[0].declaration), decl)
        << json::serialize(model::encode_pipeline(doc.pipelines[0].declaration));
    if (in.as_object().contains("tags")) {
      EXPECT_EQ(model::encode_tags(doc.pipelines[0].tags), in.at("tags"));
    }
  }
}

void expect_valid_dir(const fs::path& dir) {
  auto cases = files(dir);
  ASSERT_FALSE(cases.empty());
  for (const auto& file : cases) {
    if (file.filename().string().find("misspelled") != std::string::npos) continue;
    SCOPED_TRACE(file.filename().string());
    Document doc = read_definition(slurp(file));
    EXPECT_TRUE(doc.valid()) << describe(doc);
    EXPECT_FALSE(doc.pipelines.empty());
    expect_round_trip(file, doc);
  }
}

TEST(CorpusTest, EveryValidDefinitionIsValidAndRoundTrips) {
  expect_valid_dir(fs::path(STAGELINE_CORPUS) / "valid");
}

TEST(CorpusTest, EveryExampleIsValidAndRoundTrips) { expect_valid_dir(STAGELINE_EXAMPLES); }

}  // namespace
}  // namespace stageline::definitions
