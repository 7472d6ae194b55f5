#include "definitions/document.h"

#include <boost/json.hpp>

#include "base/strings.h"
#include "definitions/json_reader.h"
#include "definitions/yaml_loader.h"
#include "model/pipeline_json.h"

namespace stageline::definitions {

namespace json = boost::json;

std::string_view to_string(Format f) {
  switch (f) {
    case Format::kUnknown:
      return "unknown";
    case Format::kDeclarationJson:
      return "pipeline declaration (JSON)";
    case Format::kCliInputJson:
      return "--cli-input-json document (JSON)";
    case Format::kGetPipelineOutput:
      return "get-pipeline output (JSON)";
    case Format::kDeclarationYaml:
      return "pipeline declaration (YAML)";
    case Format::kCloudFormationJson:
      return "CloudFormation template (JSON)";
    case Format::kCloudFormationYaml:
      return "CloudFormation template (YAML)";
  }
  return "?";
}

bool Document::valid() const {
  if (!readable) return false;
  for (const auto& p : problems)
    if (p.problem.severity == Severity::kError) return false;
  return true;
}

namespace {

ErrorType error_type(model::DecodeError::Kind k) {
  switch (k) {
    case model::DecodeError::Kind::kMissing:
    case model::DecodeError::Kind::kEnum:
      return ErrorType::kValidationException;
    case model::DecodeError::Kind::kType:
    case model::DecodeError::Kind::kUnknownMember:
      return ErrorType::kSerializationException;
  }
  return ErrorType::kSerializationException;
}

std::string_view rule_of(model::DecodeError::Kind k) {
  switch (k) {
    case model::DecodeError::Kind::kMissing:
      return "shape.required";
    case model::DecodeError::Kind::kEnum:
      return "shape.enum";
    case model::DecodeError::Kind::kType:
      return "json.type";
    case model::DecodeError::Kind::kUnknownMember:
      return "json.unknown-member";
  }
  return "json";
}

// True when `path` is `prefix` or lies under it.
bool under(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return true;
  if (path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[';
}

// Decodes and validates one declaration (and its tags), appending problems.
void add_pipeline(Document& doc, std::string origin, const json::value& decl,
                  const json::value* tags, SourceMap lines, const ReadOptions& options) {
  PipelineDefinition def;
  def.origin = std::move(origin);
  def.lines = std::move(lines);
  auto decoded = model::decode_pipeline(decl);
  def.declaration = std::move(decoded.value);
  Problems problems;
  std::vector<std::string> broken;  // paths the decoder could not read
  for (auto& e : decoded.errors) {
    broken.push_back(e.path);
    problems.push_back({Severity::kError, error_type(e.kind), std::string(rule_of(e.kind)), e.path,
                        e.message, e.fix, 0});
  }
  if (tags) {
    auto t = model::decode_tags(*tags, "tags");
    for (auto& e : t.errors)
      problems.push_back({Severity::kError, error_type(e.kind), std::string(rule_of(e.kind)),
                          e.path, e.message, e.fix, 0});
    def.tags = std::move(t.value);
    for (auto& p : validate_tags(def.tags, "tags")) problems.push_back(std::move(p));
  }
  // A value that failed to decode was left empty; validating it again would
  // only repeat the decoder's problem in other words.
  for (auto& p : validate_pipeline(def.declaration, options.validate)) {
    bool repeat = false;
    for (const auto& b : broken) repeat = repeat || under(p.path, b) || (p.path.empty() && false);
    if (!repeat) problems.push_back(std::move(p));
  }
  for (auto& p : problems) {
    if (p.line == 0) p.line = def.lines.line_of(p.path);
    doc.problems.push_back({def.origin, std::move(p)});
  }
  doc.pipelines.push_back(std::move(def));
}

void unreadable(Document& doc, const std::string& message, std::string fix = "") {
  Problem p{Severity::kError,
            ErrorType::kSerializationException,
            "read.syntax",
            "",
            message,
            std::move(fix),
            0};
  // "line N, column M: ..." carries the line.
  if (starts_with(message, "line ")) p.line = std::atoi(message.c_str() + 5);
  doc.problems.push_back({"", std::move(p)});
}

void from_value(Document& doc, const LocatedJson& located, bool yaml, const ReadOptions& options) {
  const json::value& v = located.value;
  if (looks_like_cloudformation(v)) {
    doc.format = yaml ? Format::kCloudFormationYaml : Format::kCloudFormationJson;
    doc.readable = true;
    TemplateResult t = read_cloudformation(located, options.template_options);
    for (auto& p : t.problems) doc.problems.push_back({"", std::move(p)});
    doc.resources = std::move(t.resources);
    if (t.pipelines.empty() && !has_errors(t.problems))
      doc.problems.push_back(
          {"",
           {Severity::kWarning, ErrorType::kTemplateError, "template.no-pipeline", "Resources",
            "the template declares no AWS::CodePipeline::Pipeline resource", "", 0}});
    for (auto& tp : t.pipelines) {
      json::value tags = std::move(tp.tags);
      add_pipeline(doc, tp.logical_id, tp.declaration.value, &tags, std::move(tp.declaration.lines),
                   options);
    }
    return;
  }
  if (!v.is_object()) {
    doc.format = Format::kUnknown;
    unreadable(doc, "the document is " + std::string(v.is_array() ? "a list" : "a scalar") +
                        "; expected a pipeline declaration, a {\"pipeline\": ...} document or a "
                        "CloudFormation template");
    return;
  }
  const json::object& o = v.get_object();
  doc.readable = true;
  if (const json::value* pipeline = o.if_contains("pipeline")) {
    bool has_metadata = o.contains("metadata");
    doc.format = yaml ? Format::kDeclarationYaml
                      : (has_metadata ? Format::kGetPipelineOutput : Format::kCliInputJson);
    if (has_metadata)
      doc.problems.push_back(
          {"",
           {Severity::kNote, ErrorType::kSerializationException, "read.metadata-ignored",
            "metadata",
            "\"metadata\" (pipelineArn, created, updated) is what get-pipeline reports about a "
            "stored pipeline; it is ignored here, and update-pipeline needs it removed",
            "", located.lines.line_of("metadata")}});
    for (const auto& kv : o) {
      std::string key(kv.key());
      if (key == "pipeline" || key == "tags" || key == "metadata") continue;
      std::string near = closest_match(key, {"pipeline", "tags"});
      doc.problems.push_back(
          {"",
           {Severity::kError, ErrorType::kSerializationException, "json.unknown-member", key,
            "unknown member " + quote(key) + " next to \"pipeline\" (allowed: pipeline, tags)",
            near.empty() ? "remove it" : "did you mean " + quote(near) + "?",
            located.lines.line_of(key)}});
    }
    SourceMap lines;
    lines.copy_subtree(located.lines, "pipeline", "");
    lines.copy_subtree(located.lines, "tags", "tags");
    add_pipeline(doc, "pipeline", *pipeline, o.if_contains("tags"), std::move(lines), options);
    return;
  }
  doc.format = yaml ? Format::kDeclarationYaml : Format::kDeclarationJson;
  add_pipeline(doc, "pipeline", v, nullptr, located.lines, options);
}

}  // namespace

Document read_definition(std::string_view text, const ReadOptions& options) {
  Document doc;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    unreadable(doc, "the document is empty");
    return doc;
  }
  // JSON starts with '{' (a leading UTF-8 byte-order mark is tolerated).
  if (text.substr(first, 3) == "\xEF\xBB\xBF") text.remove_prefix(first + 3);
  first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    auto loaded = load_json(text);
    if (!loaded.ok()) {
      unreadable(doc, loaded.status().message());
      return doc;
    }
    for (auto& p : loaded->problems) doc.problems.push_back({"", std::move(p)});
    from_value(doc, loaded->json, false, options);
    return doc;
  }
  auto loaded = load_yaml(text);
  if (!loaded.ok()) {
    unreadable(doc, loaded.status().message());
    return doc;
  }
  from_value(doc, *loaded, true, options);
  return doc;
}

}  // namespace stageline::definitions
