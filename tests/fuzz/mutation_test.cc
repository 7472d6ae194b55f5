// Randomized mutation test of definitions::read_definition: it takes the seed
// definitions in tests/fuzz/seeds (API JSON, --cli-input-json, get-pipeline
// output, CloudFormation YAML and JSON), mutates them at the byte, structure
// and line level, and feeds each result through the readers and validation.
// Whatever the input, read_definition must keep its contract (see
// document.h): it returns, every problem says something, valid() agrees with
// the problems, and a valid declaration survives encode_pipeline and a second
// read unchanged.
//
// Deterministic: every iteration draws from a std::mt19937_64 seeded from the
// run seed, the case and the iteration number, so one run seed reproduces the
// whole run. Environment:
//   STAGELINE_FUZZ_SEED        run seed (default kDefaultSeed); printed by every case
//   STAGELINE_FUZZ_ITERATIONS  inputs per mutation case (default 25000; 4 cases)
//   STAGELINE_FUZZ_TRACE       file that receives each input just before it is read,
//                              so that the input of a crash or hang is on disk
//   STAGELINE_FUZZ_REPLAY      a file to read through the same checks
//                              (--gtest_filter=MutationTest.ReplayedFileKeepsTheContract)
// Cost (sanitizer build, 2 cores, `ctest -L slow -j2`): 84 s wall; the cases
// take 84 s (yaml-structure), 34 s (json-structure), 31 s (yaml-lines) and
// 6 s (json-bytes), and ctest runs the first alone beside the others.
//
// An input that breaks the contract is saved under fuzz-failures/ in the
// working directory (the build's tests/fuzz) and named in the failure. An
// input that would crash or hang the run is saved by hand in crashers/ with a
// note; until its bug is fixed, kKnownBugs keeps inputs like it out of the run.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "definitions/document.h"
#include "definitions/json_reader.h"
#include "model/pipeline_json.h"

namespace stageline::definitions {
namespace {

namespace json = boost::json;

constexpr uint64_t kDefaultSeed = 20240915;
constexpr long kDefaultIterations = 25000;
constexpr int kMaxReportedFailures = 10;

// ---------------------------------------------------------------- helpers

long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::strtol(v, nullptr, 0);
}

uint64_t run_seed() {
  const char* v = std::getenv("STAGELINE_FUZZ_SEED");
  if (!v || !*v) return kDefaultSeed;
  return std::strtoull(v, nullptr, 0);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// SplitMix64's finaliser: spreads (seed, case, iteration) over the whole
// state of the generator, so neighbouring iterations are unrelated.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Draws with modulo rather than std::uniform_int_distribution, whose output
// differs between standard libraries: a seed must mean the same inputs
// everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  // Uniform in [0, n). REQUIRES: n > 0.
  size_t below(size_t n) { return static_cast<size_t>(gen_() % n); }
  // Uniform in [lo, hi].
  size_t between(size_t lo, size_t hi) { return lo + below(hi - lo + 1); }
  bool one_in(size_t n) { return below(n) == 0; }
  template <typename C>
  const auto& pick(const C& c) {
    return c[below(std::size(c))];
  }
  // Small counts are far more likely than large ones (1 with p=1/2, 2 with 1/4, ...).
  size_t geometric(size_t max) {
    size_t n = 1;
    while (n < max && one_in(2)) ++n;
    return n;
  }

 private:
  std::mt19937_64 gen_;
};

// ---------------------------------------------------------------- seeds

struct Seeds {
  std::vector<std::string> json;             // texts starting with '{'
  std::vector<std::string> yaml;             // the YAML seeds, and the JSON seeds rewritten as YAML
  std::vector<json::value> values;           // the parsed JSON seeds, for structure mutations
  std::vector<std::string> keys;             // every member name of the API and of templates
  std::map<std::string, std::string> files;  // file name -> text

  const std::string& file(const std::string& name) const { return files.at(name); }
};

std::string to_yaml(const json::value& v);

const Seeds& seeds() {
  static const Seeds kSeeds = [] {
    Seeds s;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(STAGELINE_FUZZ_SEEDS))
      files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::string text = read_file(f);
      s.files[f.filename().string()] = text;
      if (f.extension() == ".json") {
        s.json.push_back(text);
        s.values.push_back(json::parse(text));
        s.yaml.push_back(to_yaml(s.values.back()));
      } else {
        s.yaml.push_back(text);
      }
    }
    for (const auto& [shape, members] : model::decoded_shapes())
      s.keys.insert(s.keys.end(), members.begin(), members.end());
    for (const char* k : {"pipeline",
                          "tags",
                          "metadata",
                          "AWSTemplateFormatVersion",
                          "Resources",
                          "Type",
                          "Properties",
                          "Parameters",
                          "Default",
                          "Conditions",
                          "Mappings",
                          "Outputs",
                          "Condition",
                          "DependsOn",
                          "Ref",
                          "Fn::Sub",
                          "Fn::GetAtt",
                          "Fn::Join",
                          "Fn::If",
                          "Fn::FindInMap",
                          "Fn::Select",
                          "Fn::Split",
                          "Fn::Base64",
                          "Fn::ImportValue",
                          "Fn::Equals",
                          "Fn::Not",
                          "Fn::GetAZs",
                          "Fn::Transform",
                          "Transform",
                          "Name",
                          "RoleArn",
                          "ArtifactStore",
                          "ArtifactStores",
                          "Stages",
                          "Actions",
                          "ActionTypeId",
                          "Configuration",
                          "InputArtifacts",
                          "OutputArtifacts",
                          "RunOrder",
                          "Namespace",
                          "PipelineType",
                          "Variables",
                          "Triggers",
                          "Key",
                          "Value",
                          "Location"})
      s.keys.push_back(k);
    return s;
  }();
  return kSeeds;
}

// ---------------------------------------------------------------- YAML emitter

bool plain_yaml_safe(std::string_view s) {
  if (s.empty() || s.size() > 80) return false;
  for (std::string_view word : {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"})
    if (s.size() == word.size() && std::equal(s.begin(), s.end(), word.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        }))
      return false;
  if (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '.' || s[0] == '+' ||
      s[0] == '@')
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '/' && c != '-' &&
        c != '.' && c != '@')
      return false;
  return true;
}

std::string yaml_scalar(const json::value& v) {
  if (v.is_string()) {
    std::string_view s = v.get_string();
    if (plain_yaml_safe(s)) return std::string(s);
  }
  // JSON's string escapes are a subset of YAML's double-quoted ones.
  return json::serialize(v);
}

void emit_yaml(const json::value& v, size_t indent, std::string& out) {
  const std::string pad(indent, ' ');
  auto child = [&](const json::value& c) {
    bool nested =
        (c.is_object() && !c.get_object().empty()) || (c.is_array() && !c.get_array().empty());
    if (!nested) {
      out += ' ';
      out += c.is_object() ? "{}" : c.is_array() ? "[]" : yaml_scalar(c);
      out += '\n';
    } else {
      out += '\n';
      emit_yaml(c, indent + 2, out);
    }
  };
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      out += pad;
      out += yaml_scalar(json::value(kv.key()));
      out += ':';
      child(kv.value());
    }
  } else if (v.is_array()) {
    for (const auto& e : v.get_array()) {
      out += pad;
      out += '-';
      child(e);
    }
  } else {
    out += pad + yaml_scalar(v) + "\n";
  }
}

// Block-style YAML of a JSON value, so that structure mutations reach the
// YAML reader too.
std::string to_yaml(const json::value& v) {
  std::string out;
  if (!v.is_object() && !v.is_array()) return yaml_scalar(v) + "\n";
  if (v.is_object() && v.get_object().empty()) return "{}\n";
  if (v.is_array() && v.get_array().empty()) return "[]\n";
  emit_yaml(v, 0, out);
  return out;
}

// ---------------------------------------------------------------- byte mutations

const std::vector<std::string>& special_tokens() {
  static const std::vector<std::string> kTokens = {"{",
                                                   "}",
                                                   "[",
                                                   "]",
                                                   ":",
                                                   ",",
                                                   "\"",
                                                   "\\",
                                                   std::string(1, '\0'),
                                                   "\xff",
                                                   "\n",
                                                   "\r\n",
                                                   "\t",
                                                   "'",
                                                   "#",
                                                   "#{",
                                                   "${",
                                                   "}}",
                                                   "\\u0000",
                                                   "\\ud800",
                                                   "\\u",
                                                   "\xc3",
                                                   "\xed\xa0\x80",
                                                   "\xef\xbb\xbf",
                                                   "\xf4\x90\x80\x80",
                                                   "\xc0\xaf",
                                                   "!Ref ",
                                                   "!Sub ",
                                                   "!GetAtt ",
                                                   "!Foo ",
                                                   "&a ",
                                                   "*a",
                                                   "<<: *a",
                                                   "- ",
                                                   "? ",
                                                   "|",
                                                   ">-",
                                                   "---",
                                                   "...",
                                                   "%YAML 1.2\n",
                                                   "null",
                                                   "true",
                                                   "-0",
                                                   "1e999",
                                                   "99999999999999999999",
                                                   "-9223372036854775809",
                                                   "0x10",
                                                   "::",
                                                   "Fn::",
                                                   "@",
                                                   "`",
                                                   "%"};
  return kTokens;
}

void mutate_bytes(std::string& s, Rng& rng) {
  if (s.empty()) {
    s = rng.pick(special_tokens());
    return;
  }
  switch (rng.below(8)) {
    case 0: {  // flip a bit
      size_t i = rng.below(s.size());
      s[i] = static_cast<char>(s[i] ^ (1 << rng.below(8)));
      break;
    }
    case 1:  // a random byte
      s.insert(s.begin() + static_cast<ptrdiff_t>(rng.below(s.size() + 1)),
               static_cast<char>(rng.below(256)));
      break;
    case 2:
    case 3:  // a token that means something to JSON or YAML
      s.insert(rng.below(s.size() + 1), rng.pick(special_tokens()));
      break;
    case 4: {  // delete a span
      size_t at = rng.below(s.size());
      size_t n =
          rng.one_in(4) ? rng.between(1, std::max<size_t>(1, s.size() / 8)) : rng.between(1, 16);
      s.erase(at, n);
      break;
    }
    case 5: {  // duplicate a span somewhere else
      size_t at = rng.below(s.size());
      size_t n = std::min(s.size() - at, rng.between(1, 200));
      std::string span = s.substr(at, n);
      s.insert(rng.below(s.size() + 1), span);
      break;
    }
    case 6:  // truncate
      s.resize(rng.below(s.size()));
      break;
    case 7:  // overwrite a byte
      s[rng.below(s.size())] = static_cast<char>(rng.below(256));
      break;
  }
}

// ---------------------------------------------------------------- structure mutations

// A value of the tree in pre-order; its subtree is nodes [index, end).
struct Node {
  json::value* value;
  size_t end;
};

void collect(json::value& v, std::vector<Node>& out) {
  size_t i = out.size();
  out.push_back({&v, 0});
  if (v.is_object())
    for (auto& kv : v.get_object()) collect(kv.value(), out);
  else if (v.is_array())
    for (auto& e : v.get_array()) collect(e, out);
  out[i].end = out.size();
}

std::string hostile_string(Rng& rng) {
  switch (rng.below(14)) {
    case 0:
      return "";
    case 1:
      return std::string(rng.between(90, 130), 'a');  // around the 100-character limits
    case 2:
      return std::string(rng.between(990, 1100), 'x');  // around the 1000 limits
    case 3: {
      std::string s(rng.between(10001, 12000), ' ');
      for (auto& c : s) c = static_cast<char>('!' + rng.below(94));
      return s;
    }
    case 4:
      return "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80 \xe2\x80\xae";
    case 5:
      return std::string("a\0b", 3);
    case 6:
      return "#{SourceVariables.CommitId}";
    case 7:
      return rng.pick(std::array<const char*, 10>{
          "#{", "#{}", "#{.}", "#{a.}", "#{.b}", "#{variables.DeployEnv}", "#{variables.nope}",
          "#{codepipeline.PipelineExecutionId}", "#{codepipeline.Other}", "#{Nowhere.Var} and #{"});
    case 8:
      return "#{" + std::string(rng.between(1, 3000), 'n') + "." + "k}";
    case 9:
      return "${AWS::Region}-${Missing}-${!Literal}";
    case 10:
      return "line one\nline two\r\n\ttab";
    case 11:
      return "BuildOut::" + std::string(rng.between(0, 300), '/');
    case 12:
      return "arn:aws:iam::123456789012:role/" + std::string(rng.between(0, 1100), 'r');
    default:
      return "****";
  }
}

json::value extreme_number(Rng& rng) {
  switch (rng.below(14)) {
    case 0:
      return std::numeric_limits<int64_t>::min();
    case 1:
      return std::numeric_limits<int64_t>::max();
    case 2:
      return std::numeric_limits<uint64_t>::max();
    case 3:
      return 0;
    case 4:
      return -1;
    case 5:
      return 2147483647;
    case 6:
      return int64_t{2147483648};
    case 7:
      return int64_t{-2147483649};
    case 8:
      return 1e308;
    case 9:
      return -1e308;
    case 10:
      return 5e-324;
    case 11:
      return 0.5;
    case 12:
      return 1.0;
    default:
      return static_cast<int64_t>(rng.between(0, 2000));
  }
}

json::value intrinsic(Rng& rng) {
  const char* names[] = {"Pipeline",    "PipelineRole", "Environment", "Stage",
                         "AWS::Region", "AWS::NoValue", "Nope",        "IsProduction"};
  std::string n = rng.pick(names);
  switch (rng.below(10)) {
    case 0:
      return {{"Ref", n}};
    case 1:
      return {{"Fn::Sub", "${" + n + "}-x"}};
    case 2:
      return {{"Fn::GetAtt", json::array{n, "Arn"}}};
    case 3:
      return {{"Fn::Join", json::array{"-", json::array{"a", json::object{{"Ref", n}}}}}};
    case 4:
      return {{"Fn::If", json::array{n, "yes", json::object{{"Ref", "AWS::NoValue"}}}}};
    case 5:
      return {{"Fn::FindInMap", json::array{n, "staging", "Name"}}};
    case 6:
      return {{"Fn::Select", json::array{rng.below(4), json::array{"a", "b"}}}};
    case 7:
      return {{"Fn::Base64", n}};
    case 8:
      return {{"Fn::Sub", json::array{"${X}", json::object{{"X", json::object{{"Ref", n}}}}}}};
    default:
      return {{"Fn::Unknown", n}};
  }
}

json::value random_value(Rng& rng, const json::value& like) {
  switch (rng.below(10)) {
    case 0:
      return nullptr;
    case 1:
      return rng.one_in(2);
    case 2:
      return extreme_number(rng);
    case 3:
      return json::string(hostile_string(rng));
    case 4:
      return json::array{};
    case 5:
      return json::object{};
    case 6:
      return json::array{like};
    case 7:
      return json::object{{"value", like}};
    case 8:
      return intrinsic(rng);
    default:
      return "x";
  }
}

// Applies one structure-aware mutation to `root`.
void mutate_structure(json::value& root, Rng& rng, const Seeds& seeds) {
  std::vector<Node> nodes;
  collect(root, nodes);
  auto any = [&]() -> Node& { return nodes[rng.below(nodes.size())]; };
  auto find = [&](auto pred) -> json::value* {
    for (int tries = 0; tries < 16; ++tries) {
      Node& n = any();
      if (pred(*n.value)) return n.value;
    }
    return nullptr;
  };
  switch (rng.below(12)) {
    case 0: {  // delete a member
      json::value* v =
          find([](const json::value& x) { return x.is_object() && !x.get_object().empty(); });
      if (!v) break;
      auto& o = v->get_object();
      o.erase(o.begin() + static_cast<ptrdiff_t>(rng.below(o.size())));
      break;
    }
    case 1: {  // change a value's type
      Node& n = any();
      json::value copy = *n.value;
      *n.value = random_value(rng, copy);
      break;
    }
    case 2: {  // swap two values, neither inside the other
      size_t a = rng.below(nodes.size()), b = rng.below(nodes.size());
      if (a > b) std::swap(a, b);
      if (a == b || b < nodes[a].end) break;
      std::swap(*nodes[a].value, *nodes[b].value);
      break;
    }
    case 3: {  // duplicate list items, sometimes past every limit
      json::value* v =
          find([](const json::value& x) { return x.is_array() && !x.get_array().empty(); });
      if (!v) break;
      auto& a = v->get_array();
      size_t times = rng.one_in(5) ? rng.between(45, 60) : rng.between(1, 3);
      json::value item = a[rng.below(a.size())];
      for (size_t i = 0; i < times; ++i)
        a.insert(a.begin() + static_cast<ptrdiff_t>(rng.below(a.size() + 1)), item);
      break;
    }
    case 4: {  // hostile strings
      json::value* v = find([](const json::value& x) { return x.is_string(); });
      if (v) *v = json::string(hostile_string(rng));
      break;
    }
    case 5: {  // numbers at the extremes
      json::value* v = find([](const json::value& x) { return x.is_number(); });
      if (!v) v = any().value;
      *v = extreme_number(rng);
      break;
    }
    case 6: {  // deep nesting, mostly around the readers' limits
      Node& n = any();
      size_t depth = rng.one_in(3) ? rng.between(60, 70) : rng.between(1, 200);
      json::value v = std::move(*n.value);
      bool arrays = rng.one_in(2);
      for (size_t i = 0; i < depth; ++i)
        v = arrays ? json::value(json::array{std::move(v)})
                   : json::value(json::object{{"a", std::move(v)}});
      *n.value = std::move(v);
      break;
    }
    case 7: {  // rename a key
      json::value* v =
          find([](const json::value& x) { return x.is_object() && !x.get_object().empty(); });
      if (!v) break;
      json::object& o = v->get_object();
      size_t which = rng.below(o.size());
      json::object renamed;
      size_t i = 0;
      for (auto& kv : o) {
        std::string key(kv.key());
        if (i++ == which) {
          const size_t how =
              key.empty() ? 2 + rng.below(4) : rng.below(6);  // an empty key can only grow
          switch (how) {
            case 0: {  // the first letter in the other case
              const auto c = static_cast<unsigned char>(key[0]);
              key[0] = static_cast<char>(std::isupper(c) ? std::tolower(c) : std::toupper(c));
              break;
            }
            case 1:
              key.pop_back();
              break;
            case 2:
              key += 's';
              break;
            case 3:
              key = "";
              break;
            default:
              key = rng.pick(seeds.keys);
              break;
          }
        }
        renamed[key] = std::move(kv.value());
      }
      o = std::move(renamed);
      break;
    }
    case 8: {  // add a member that some shape knows
      json::value* v = find([](const json::value& x) { return x.is_object(); });
      if (!v) break;
      Node& donor = any();
      v->get_object()[rng.pick(seeds.keys)] =
          rng.one_in(2) ? *donor.value : random_value(rng, *donor.value);
      break;
    }
    case 9: {  // an intrinsic function where a plain value was
      Node& n = any();
      *n.value = intrinsic(rng);
      break;
    }
    case 10: {  // empty a container
      json::value* v = find([](const json::value& x) { return x.is_array() || x.is_object(); });
      if (v && v->is_array()) v->get_array().clear();
      if (v && v->is_object()) v->get_object().clear();
      break;
    }
    default: {  // copy a subtree over another (a stage over an action, ...)
      // The copy is complete before the assignment, so either may contain the other.
      json::value copy = *any().value;
      *any().value = std::move(copy);
      break;
    }
  }
}

// ---------------------------------------------------------------- YAML line mutations

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) {
      if (start < s.size()) lines.push_back(s.substr(start));
      break;
    }
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

size_t indentation(const std::string& line) {
  size_t n = line.find_first_not_of(' ');
  return n == std::string::npos ? line.size() : n;
}

const std::vector<std::string>& yaml_values() {
  static const std::vector<std::string> kValues = {
      "!Ref Environment",
      "!Ref Pipeline",
      "!Ref Nope",
      "!Ref AWS::Region",
      "!Ref AWS::NoValue",
      "!Sub 'x-${Environment}-${AWS::AccountId}'",
      "!Sub '${Pipeline}'",
      "!Sub '${Nope.Arn}'",
      "!Sub ['${A}', {A: !Ref Environment}]",
      "!Sub ['${A}', {A: !Sub '${A}'}]",
      "!GetAtt PipelineRole.Arn",
      "!GetAtt Pipeline.Version",
      "!GetAtt [Nope, Arn]",
      "!Join ['-', [a, !Ref Environment]]",
      "!Join [',', !Ref Environment]",
      "!If [IsProduction, a, b]",
      "!If [Nope, a, !Ref AWS::NoValue]",
      "!If [IsProduction]",
      "!Select [0, [a, b]]",
      "!Select [9, []]",
      "!Split [',', 'a,b']",
      "!Base64 abc",
      "!FindInMap [BucketByEnvironment, staging, Name]",
      "!FindInMap [Nope, a, b]",
      "!Equals [a, a]",
      "!Not [!Equals [a, b]]",
      "!Condition IsProduction",
      "!ImportValue x",
      "!GetAZs ''",
      "!Foo bar",
      "!Foo",
      "!!str 5",
      "!!int x",
      "!!binary aGVsbG8=",
      "!!map",
      "!<!Ref> Environment",
      "&a value",
      "*a",
      "*nope",
      "[*a, *a]",
      "''",
      "\"\"",
      "~",
      "null",
      "yes",
      "No",
      "0x1F",
      "0o17",
      ".inf",
      "-.Inf",
      ".NaN",
      "1e400",
      "-",
      "|",
      ">-",
      "[",
      "{",
      "]",
      "'unterminated",
      "\"unterminated",
      "{a: 1, a: 2}",
      "[a, [b, [c]]]",
      "#{variables.DeployEnv}",
      "${AWS::Region}",
      "a: b: c",
      "@reserved",
      "`reserved",
      "\"\\u0000\"",
      "\"\\xff\"",
      "\"\\ud800\""};
  return kValues;
}

const std::vector<std::string>& yaml_lines() {
  static const std::vector<std::string> kLines = {"---",
                                                  "...",
                                                  "%YAML 1.2",
                                                  "%TAG ! tag:example.com,2000:",
                                                  "<<: *a",
                                                  "<<: [*a, *b]",
                                                  "<<: {Name: merged}",
                                                  "? complex key",
                                                  ": complex value",
                                                  "- item",
                                                  "-",
                                                  "key: value",
                                                  "key:",
                                                  "Name: Injected",
                                                  "Type: AWS::CodePipeline::Pipeline",
                                                  "&a",
                                                  "*a",
                                                  "# comment",
                                                  "\t",
                                                  "key: |",
                                                  "  literal text",
                                                  "key: >",
                                                  "{",
                                                  "}",
                                                  "[",
                                                  "]",
                                                  "'",
                                                  "\"",
                                                  "a: &a {x: 1}",
                                                  "b: *a",
                                                  "Resources: *a",
                                                  "Stages: []",
                                                  "Actions: {}",
                                                  "Conditions:",
                                                  "  C: !Condition C",
                                                  "Pipeline2: *a"};
  return kLines;
}

void mutate_lines(std::string& text, Rng& rng) {
  std::vector<std::string> lines = split_lines(text);
  if (lines.empty()) lines.push_back("");
  size_t i = rng.below(lines.size());
  std::string& line = lines[i];
  switch (rng.below(10)) {
    case 0:  // delete a line
      lines.erase(lines.begin() + static_cast<ptrdiff_t>(i));
      break;
    case 1:  // duplicate a line
      lines.insert(lines.begin() + static_cast<ptrdiff_t>(rng.below(lines.size() + 1)), line);
      break;
    case 2:  // swap two lines
      std::swap(line, lines[rng.below(lines.size())]);
      break;
    case 3: {  // change the indentation
      size_t n = indentation(line);
      switch (rng.below(4)) {
        case 0:
          line.insert(0, rng.between(1, 4), ' ');
          break;
        case 1:
          line.erase(0, std::min(n, rng.between(1, 4)));
          break;
        case 2:
          line.insert(0, "\t");
          break;
        default:
          line.erase(0, n);
          break;
      }
      break;
    }
    case 4:
    case 5: {  // a tag, anchor, alias or odd scalar as a value
      size_t colon = line.find(": ");
      if (colon == std::string::npos && !line.empty() && line.back() == ':')
        colon = line.size() - 1;
      const std::string& v = rng.pick(yaml_values());
      if (colon == std::string::npos) {
        line += (line.empty() ? "" : " ") + v;
      } else if (rng.one_in(3)) {  // keep the value, put a tag or anchor before it
        line.insert(colon + 1, " " + v.substr(0, v.find(' ')));
      } else {
        line = line.substr(0, colon) + ": " + v;
      }
      break;
    }
    case 6: {  // an anchor on one value and an alias or merge key elsewhere
      size_t colon = line.find(':');
      if (colon == std::string::npos) break;
      line.insert(colon + 1, " &a");
      std::string& other = lines[rng.below(lines.size())];
      if (rng.one_in(2)) {
        size_t c = other.find(": ");
        if (c != std::string::npos) other = other.substr(0, c) + ": *a";
      } else {
        lines.insert(lines.begin() + static_cast<ptrdiff_t>(rng.below(lines.size() + 1)),
                     std::string(indentation(other), ' ') + "<<: *a");
      }
      break;
    }
    case 7:  // an odd line, indented like its neighbour
      lines.insert(lines.begin() + static_cast<ptrdiff_t>(i),
                   std::string(indentation(line), ' ') + rng.pick(yaml_lines()));
      break;
    case 8:  // join with the next line
      if (i + 1 < lines.size()) {
        line += " " + lines[i + 1];
        lines.erase(lines.begin() + static_cast<ptrdiff_t>(i + 1));
      }
      break;
    default:  // a long value
      line += std::string(rng.between(100, 5000), 'v');
      break;
  }
  text = join_lines(lines);
  if (rng.one_in(50) && !text.empty()) text.pop_back();  // no final newline
}

// ---------------------------------------------------------------- the contract

std::string describe(const Document& doc) {
  std::string out = "format " + std::string(to_string(doc.format)) +
                    (doc.readable ? ", readable" : ", unreadable") + ", " +
                    std::to_string(doc.problems.size()) + " problem(s)";
  for (size_t i = 0; i < doc.problems.size() && i < 5; ++i) {
    const Problem& p = doc.problems[i].problem;
    out += "\n  " + std::string(to_string(p.severity)) + " " + p.rule + " at '" + p.path +
           "': " + p.message.substr(0, 200);
  }
  return out;
}

bool is_error(const Document::Located& p) { return p.problem.severity == Severity::kError; }

// The contract read_definition keeps for any input. Returns what was broken,
// or "" when nothing was; the document read is left in `*read` when given.
std::string contract_violations(std::string_view text, Document* read = nullptr) {
  Document local;
  Document& doc = read ? *read : local;
  try {
    doc = read_definition(text);
  } catch (const std::exception& e) {
    return std::string("read_definition threw: ") + e.what();
  } catch (...) {
    return "read_definition threw a non-std exception";
  }
  const bool errors = std::any_of(doc.problems.begin(), doc.problems.end(), is_error);
  if (!doc.readable && !errors)
    return "unreadable document without an error problem: " + describe(doc);
  if (doc.readable && doc.format == Format::kUnknown)
    return "readable document of unknown format: " + describe(doc);
  const int lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  for (const auto& p : doc.problems) {
    if (p.problem.message.empty())
      return "problem " + p.problem.rule + " at '" + p.problem.path + "' has no message";
    if (p.problem.rule.empty())
      return "problem at '" + p.problem.path + "' has no rule: " + p.problem.message;
    if (p.problem.line < 0 || p.problem.line > lines)
      return "problem " + p.problem.rule + " points at line " + std::to_string(p.problem.line) +
             " of a " + std::to_string(lines) + "-line input";
  }
  if (doc.valid() == errors)
    return std::string("valid() is ") + (doc.valid() ? "true" : "false") + " but there are " +
           (errors ? "" : "no ") + "error problems: " + describe(doc);
  if (!doc.valid()) return "";
  for (const auto& def : doc.pipelines) {
    std::string encoded = json::serialize(model::encode_pipeline(def.declaration));
    Document again;
    try {
      again = read_definition(encoded);
    } catch (const std::exception& e) {
      return "read_definition of the re-encoded declaration threw: " + std::string(e.what());
    }
    if (again.pipelines.size() != 1)
      return "re-encoded declaration of '" + def.origin + "' read as " +
             std::to_string(again.pipelines.size()) + " pipelines: " + describe(again) +
             "\nre-encoded: " + encoded.substr(0, 2000);
    if (!(again.pipelines[0].declaration == def.declaration))
      return "re-encoded declaration of '" + def.origin +
             "' reads back different\nre-encoded: " + encoded.substr(0, 2000) + "\nagain: " +
             json::serialize(model::encode_pipeline(again.pipelines[0].declaration))
                 .substr(0, 2000);
    if (!again.valid())
      return "valid declaration of '" + def.origin +
             "' is invalid once re-encoded: " + describe(again) +
             "\nre-encoded: " + encoded.substr(0, 2000);
  }
  return "";
}

// ---------------------------------------------------------------- known bugs

// Bugs this test found that are not fixed yet. An input that would hit one
// (it would hang or crash the whole run) is skipped and counted instead of
// read. Once the bug is fixed, delete its entry here and add its crasher to
// FixedCrashersKeepTheirContract.
struct KnownBug {
  const char* crasher;  // in tests/fuzz/crashers
  bool (*hits)(std::string_view text);
};

// None is open. yaml-loadall-top-level-comma.yaml was one (its detector
// parsed each input with YAML::Parser and counted the documents).
const std::vector<KnownBug> kKnownBugs = {};

const char* known_bug(std::string_view text) {
  for (const auto& bug : kKnownBugs)
    if (bug.hits(text)) return bug.crasher;
  return nullptr;
}

void trace(std::string_view text) {
  static const char* path = std::getenv("STAGELINE_FUZZ_TRACE");
  if (!path || !*path) return;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::string save_failure(const std::string& name, std::string_view text) {
  std::filesystem::create_directories("fuzz-failures");
  std::filesystem::path path = std::filesystem::absolute("fuzz-failures") / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  return path.string();
}

// ---------------------------------------------------------------- the mutation cases

enum class Mutator { kJsonBytes, kJsonStructure, kYamlLines, kYamlStructure };

std::string_view name_of(Mutator m) {
  switch (m) {
    case Mutator::kJsonBytes:
      return "json-bytes";
    case Mutator::kJsonStructure:
      return "json-structure";
    case Mutator::kYamlLines:
      return "yaml-lines";
    case Mutator::kYamlStructure:
      return "yaml-structure";
  }
  return "?";
}

std::string make_input(Mutator m, Rng& rng, const Seeds& s) {
  switch (m) {
    case Mutator::kJsonBytes: {
      std::string text = rng.pick(s.json);
      for (size_t n = rng.geometric(4); n > 0; --n) mutate_bytes(text, rng);
      return text;
    }
    case Mutator::kJsonStructure: {
      json::value v = rng.pick(s.values);
      for (size_t n = rng.geometric(4); n > 0; --n) mutate_structure(v, rng, s);
      std::string text = json::serialize(v);
      if (rng.one_in(8)) mutate_bytes(text, rng);
      return text;
    }
    case Mutator::kYamlLines: {
      std::string text = rng.pick(s.yaml);
      for (size_t n = rng.geometric(4); n > 0; --n) mutate_lines(text, rng);
      if (rng.one_in(4)) mutate_bytes(text, rng);
      return text;
    }
    case Mutator::kYamlStructure: {
      json::value v = rng.pick(s.values);
      for (size_t n = rng.geometric(3); n > 0; --n) mutate_structure(v, rng, s);
      std::string text = to_yaml(v);
      if (rng.one_in(4)) mutate_lines(text, rng);
      return text;
    }
  }
  return "";
}

void run_mutations(Mutator m) {
  const uint64_t seed = run_seed();
  const long iterations = env_long("STAGELINE_FUZZ_ITERATIONS", kDefaultIterations);
  const Seeds& s = seeds();
  ASSERT_FALSE(s.json.empty()) << "no seeds in " << STAGELINE_FUZZ_SEEDS;
  std::cout << "[ fuzz     ] " << name_of(m) << ": STAGELINE_FUZZ_SEED=" << seed
            << " STAGELINE_FUZZ_ITERATIONS=" << iterations << std::endl;
  const auto start = std::chrono::steady_clock::now();
  int failures = 0;
  size_t read = 0, valid = 0, readable = 0;
  std::map<std::string, size_t> skipped;  // crasher -> inputs not read
  for (long i = 0; i < iterations && failures < kMaxReportedFailures; ++i) {
    Rng rng(mix(seed ^ mix(static_cast<uint64_t>(m) + 1) ^ mix(static_cast<uint64_t>(i) << 8)));
    const std::string input = make_input(m, rng, s);
    if (const char* bug = known_bug(input)) {
      ++skipped[bug];
      continue;
    }
    trace(input);
    Document doc;
    std::string broken = contract_violations(input, &doc);
    if (!broken.empty()) {
      ++failures;
      std::string file = save_failure(
          std::string(name_of(m)) + "-" + std::to_string(seed) + "-" + std::to_string(i) + ".txt",
          input);
      ADD_FAILURE() << name_of(m) << " iteration " << i << " (seed " << seed << "): " << broken
                    << "\ninput saved to " << file
                    << " (rerun it with STAGELINE_FUZZ_REPLAY=" << file
                    << " --gtest_filter=MutationTest.ReplayedFileKeepsTheContract)";
    }
    // Statistics, so that a mutator that only ever produces garbage shows.
    ++read;
    readable += doc.readable;
    valid += doc.valid();
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::cout << "[ fuzz     ] " << name_of(m) << ": " << read << " inputs read in " << ms
            << " ms: " << readable << " readable, " << valid << " valid" << std::endl;
  for (const auto& [crasher, n] : skipped)
    std::cout << "[ fuzz     ] " << name_of(m) << ": skipped " << n
              << " inputs that hit the unfixed bug of crashers/" << crasher << std::endl;
}

// The mutations start from valid definitions, so that one mutation is often
// all that stands between an input and a valid pipeline.
TEST(MutationTest, SeedsAreValidDefinitions) {
  const Seeds& s = seeds();
  ASSERT_GE(s.files.size(), 5u);
  for (const auto& [name, text] : s.files) {
    std::vector<std::pair<std::string, std::string>> forms = {{name, text}};
    if (name.ends_with(".json")) forms.push_back({name + " as YAML", to_yaml(json::parse(text))});
    for (const auto& [label, form] : forms) {
      Document doc;
      EXPECT_EQ(contract_violations(form, &doc), "") << label;
      EXPECT_TRUE(doc.valid()) << label << ": " << describe(doc);
    }
  }
}

TEST(MutationTest, ByteMutatedJsonKeepsTheContract) { run_mutations(Mutator::kJsonBytes); }
TEST(MutationTest, StructureMutatedJsonKeepsTheContract) { run_mutations(Mutator::kJsonStructure); }
TEST(MutationTest, LineMutatedYamlKeepsTheContract) { run_mutations(Mutator::kYamlLines); }
TEST(MutationTest, StructureMutatedYamlKeepsTheContract) { run_mutations(Mutator::kYamlStructure); }

TEST(MutationTest, ReplayedFileKeepsTheContract) {
  const char* path = std::getenv("STAGELINE_FUZZ_REPLAY");
  if (!path || !*path) GTEST_SKIP() << "set STAGELINE_FUZZ_REPLAY=<file> to replay an input";
  std::string text = read_file(path);
  std::cout << describe(read_definition(text)) << std::endl;
  EXPECT_EQ(contract_violations(text), "");
}

TEST(MutationTest, FixedCrashersKeepTheirContract) {
  // Inputs this test found that broke the contract, once their bug is fixed
  // (files in tests/fuzz/crashers). Add a name only after the fix: an unfixed
  // crasher would take the whole run down.
  const std::vector<std::string> fixed = {
      "yaml-loadall-top-level-comma.yaml",  // YAML::LoadAll looped forever on `"a",`
  };
  for (const auto& name : fixed) {
    std::string text = read_file(std::filesystem::path(STAGELINE_FUZZ_CRASHERS) / name);
    ASSERT_FALSE(text.empty()) << name;
    EXPECT_EQ(contract_violations(text), "") << name;
  }
}

// ---------------------------------------------------------------- hostile inputs

Document read_checked(std::string_view text) {
  Document doc;
  EXPECT_EQ(contract_violations(text, &doc), "") << text.substr(0, 200);
  return doc;
}

TEST(HostileInputTest, HundredThousandNestedBracketsAreUnreadable) {
  const std::string deep(100000, '[');
  EXPECT_FALSE(read_checked(deep).readable);                              // the YAML reader
  EXPECT_FALSE(read_checked("{\"name\": " + deep).readable);              // the JSON reader
  EXPECT_FALSE(read_checked(std::string(100000, '{')).readable);          // JSON, unclosed objects
  EXPECT_FALSE(read_checked("a: " + std::string(100000, '{')).readable);  // YAML flow maps
  std::string closed = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(read_checked("{\"stages\": " + closed + "}").readable);
  EXPECT_FALSE(read_checked("stages: " + closed).readable);
}

TEST(HostileInputTest, DeepBlockNestingIsBounded) {
  // Block-style YAML nesting grows with indentation; 3000 levels stay under the size limit.
  std::string yaml;
  for (size_t i = 0; i < 3000; ++i) yaml += std::string(i, ' ') + "a:\n";
  yaml += std::string(3000, ' ') + "b\n";
  EXPECT_FALSE(read_checked(yaml).readable);
  std::string seqs;
  for (size_t i = 0; i < 50000; ++i) seqs += "- ";
  EXPECT_FALSE(read_checked(seqs + "x\n").readable);
}

TEST(HostileInputTest, InputOverFiveMebibytesIsUnreadable) {
  std::string json = seeds().file("v1-pipeline.json");
  json.insert(json.size() - 2, kMaxDefinitionBytes, ' ');
  Document doc = read_checked(json);
  EXPECT_FALSE(doc.readable);
  std::string yaml = seeds().file("seed-pipeline.yaml");
  yaml += "# " + std::string(kMaxDefinitionBytes, 'c') + "\n";
  EXPECT_FALSE(read_checked(yaml).readable);
}

TEST(HostileInputTest, AliasBombIsBounded) {
  // Nine levels of ten aliases each: 10^9 strings if aliases were copied out.
  std::string yaml =
      "AWSTemplateFormatVersion: '2010-09-09'\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    yaml += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) yaml += ", " + prev;
    yaml += "]\n";
  }
  yaml +=
      "Resources:\n  Pipeline:\n    Type: AWS::CodePipeline::Pipeline\n"
      "    Properties:\n      Name: *l9\n      Stages: *l9\n";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(read_checked(yaml).readable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  // The same bomb in a pipeline declaration rather than a template.
  std::string decl = yaml.substr(yaml.find("l0:"));
  decl = decl.substr(0, decl.find("Resources:")) + "name: p\nstages: *l9\n";
  EXPECT_FALSE(read_checked(decl).readable);
}

bool has_rule(const Document& doc, std::string_view rule) {
  return std::any_of(doc.problems.begin(), doc.problems.end(),
                     [&](const Document::Located& p) { return p.problem.rule == rule; });
}

TEST(HostileInputTest, CyclicReferencesAreProblemsNotHangs) {
  struct Case {
    const char* text;
    const char* rule;
  };
  const Case kCycles[] = {
      {// A condition that is its own condition, through another one.
       "Conditions:\n  A: !Condition B\n  B: !Condition A\n"
       "Resources:\n  Pipeline:\n    Type: AWS::CodePipeline::Pipeline\n    Condition: A\n"
       "    Properties:\n      Name: !If [A, x, y]\n      Stages: []\n",
       "template.condition-cycle"},
      {// The pipeline's name refers to the pipeline itself.
       "Resources:\n  Pipeline:\n    Type: AWS::CodePipeline::Pipeline\n"
       "    Properties:\n      Name: !Ref Pipeline\n      RoleArn: !GetAtt Pipeline.Arn\n"
       "      Stages:\n        - Name: !Sub '${Pipeline}-${Pipeline.Version}'\n"
       "          Actions: []\n",
       "template.reference-cycle"},
      {// A Fn::Sub variable defined through itself: Fn::Sub maps do not
       // nest, so the inner A is a Ref to nothing.
       "Resources:\n  Pipeline:\n    Type: AWS::CodePipeline::Pipeline\n"
       "    Properties:\n      Name: !Sub ['${A}', {A: !Sub ['${A}', {A: !Ref A}]}]\n",
       "template.unresolved-reference"},
      {// A resource that depends on itself, and a parameter that refers to itself.
       "Parameters:\n  P:\n    Type: String\n    Default: !Ref P\n"
       "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      Path: !Ref Pipeline\n"
       "  Pipeline:\n    Type: AWS::CodePipeline::Pipeline\n    DependsOn: Pipeline\n"
       "    Properties:\n      Name: !Ref P\n      RoleArn: !GetAtt Role.Arn\n",
       "template.depends-on"},
      {// A condition cycle and a self-reference in JSON.
       "{\"Conditions\": {\"A\": {\"Fn::And\": [{\"Condition\": \"A\"}, {\"Condition\": \"A\"}]}},"
       " \"Resources\": {\"Pipeline\": {\"Type\": \"AWS::CodePipeline::Pipeline\","
       " \"Properties\": {\"Name\": {\"Fn::If\": [\"A\", {\"Ref\": \"Pipeline\"},"
       " {\"Fn::Sub\": \"${Pipeline}\"}]}}}}}",
       "template.condition-cycle"},
  };
  for (const auto& c : kCycles) {
    const auto start = std::chrono::steady_clock::now();
    Document doc = read_checked(c.text);
    EXPECT_TRUE(has_rule(doc, c.rule)) << c.text << "\n" << describe(doc);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << c.text;
  }
}

TEST(HostileInputTest, NulBytesAreProblems) {
  using namespace std::string_literals;
  const std::string& v1 = seeds().file("v1-pipeline.json");
  const std::string& yaml = seeds().file("seed-pipeline.yaml");
  for (const std::string& text :
       {"\0"s, "{\0}"s, "{\"name\": \"a\0b\"}"s, v1 + "\0"s, "\0"s + v1,
        "name: a\0b\nstages: []\n"s,
        yaml.substr(0, yaml.size() / 2) + "\0"s + yaml.substr(yaml.size() / 2),
        "{\"name\": \"a\\u0000b\", \"stages\": []}"s}) {
    EXPECT_FALSE(read_checked(text).valid()) << text;
  }
  // An escaped NUL is valid JSON, but no name may contain it.
  std::string escaped = v1;
  escaped.replace(escaped.find("\"Build\""), 7, "\"Bu\\u0000ild\"");
  EXPECT_FALSE(read_checked(escaped).valid());
}

TEST(HostileInputTest, InvalidUtf8IsAProblem) {
  const std::string& v1 = seeds().file("v1-pipeline.json");
  const std::string& yaml = seeds().file("seed-pipeline.yaml");
  for (std::string_view bad :
       {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe6\x97", "\xfe\xff", "\x80"}) {
    std::string json = v1;
    json.replace(json.find("Build\""), 5, "Bu" + std::string(bad) + "ild");
    EXPECT_FALSE(read_checked(json).valid()) << "JSON with " << json::serialize(json::string(bad));
    std::string y = yaml;
    y.replace(y.find("Name: Build"), 11, "Name: Bu" + std::string(bad) + "ild");
    read_checked(y);
    read_checked(std::string(bad) + v1);
    read_checked(std::string(bad) + yaml);
  }
  using namespace std::string_literals;
  read_checked("\xff\xfe{\0\"\0n\0\"\0:\0 \0\"\0x\0\"\0}\0"s);  // UTF-16LE with its mark
}

}  // namespace
}  // namespace stageline::definitions
