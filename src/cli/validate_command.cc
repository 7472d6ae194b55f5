#include "cli/validate_command.h"

#include <boost/json.hpp>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "definitions/document.h"
#include "definitions/json_reader.h"

namespace stageline::cli {

namespace json = boost::json;
using definitions::Document;
using definitions::Severity;

namespace {

// Reads the whole file, refusing anything over the definition size limit.
bool read_file(const std::string& name, std::string& text, std::string& error) {
  std::istream* in = &std::cin;
  std::ifstream file;
  if (name != "-") {
    file.open(name, std::ios::binary);
    if (!file) {
      error = "cannot open " + name + ": " + std::strerror(errno);
      return false;
    }
    in = &file;
  }
  std::ostringstream ss;
  char buf[65536];
  while (in->read(buf, sizeof buf) || in->gcount() > 0) {
    ss.write(buf, in->gcount());
    if (static_cast<size_t>(ss.tellp()) > definitions::kMaxDefinitionBytes) {
      error = name + " is larger than the " +
              std::to_string(definitions::kMaxDefinitionBytes / (1024 * 1024)) + " MiB limit";
      return false;
    }
  }
  if (in->bad()) {
    error = "cannot read " + name + ": " + std::strerror(errno);
    return false;
  }
  text = ss.str();
  return true;
}

std::string where(const std::string& file, const Document::Located& l) {
  std::string s = file;
  if (l.problem.line > 0) s += ":" + std::to_string(l.problem.line);
  return s;
}

void print_text(const std::string& file, const Document& doc, std::ostream& out) {
  size_t errors = 0, warnings = 0;
  for (const auto& l : doc.problems) {
    const auto& p = l.problem;
    if (p.severity == Severity::kError) ++errors;
    if (p.severity == Severity::kWarning) ++warnings;
    out << where(file, l) << ": " << to_string(p.severity) << ": ";
    bool many = doc.pipelines.size() > 1 ||
                doc.format == definitions::Format::kCloudFormationYaml ||
                doc.format == definitions::Format::kCloudFormationJson;
    if (!l.origin.empty() && many) out << l.origin << ": ";
    if (!p.path.empty()) out << p.path << ": ";
    out << p.message << " [" << to_string(p.type) << "]\n";
    if (!p.fix.empty()) out << "    fix: " << p.fix << "\n";
  }
  const auto& r = doc.resources;
  if (!r.unmanaged.empty()) {
    out << file << ": note: resources not managed here (kept, not validated):";
    for (const auto& u : r.unmanaged) out << " " << u.logical_id << " (" << u.type << ")";
    out << "\n";
  }
  out << file << ": " << to_string(doc.format) << ", " << doc.pipelines.size() << " pipeline"
      << (doc.pipelines.size() == 1 ? "" : "s");
  for (const auto& p : doc.pipelines)
    out << (p.origin == "pipeline" ? "" : " " + p.origin + ":") << " '" << p.declaration.name
        << "' (" << p.declaration.stages.size() << " stages)";
  out << "; " << errors << " error" << (errors == 1 ? "" : "s") << ", " << warnings << " warning"
      << (warnings == 1 ? "" : "s") << ": " << (doc.valid() ? "valid" : "INVALID") << "\n";
}

void print_json(const std::string& file, const Document& doc, std::ostream& out) {
  json::object o;
  o["file"] = file;
  o["format"] = to_string(doc.format);
  o["valid"] = doc.valid();
  json::array pipelines;
  for (const auto& p : doc.pipelines) {
    json::object po;
    po["origin"] = p.origin;
    po["name"] = p.declaration.name;
    po["stages"] = p.declaration.stages.size();
    pipelines.push_back(std::move(po));
  }
  o["pipelines"] = std::move(pipelines);
  json::array problems;
  for (const auto& l : doc.problems) {
    const auto& p = l.problem;
    json::object po;
    po["severity"] = to_string(p.severity);
    po["type"] = to_string(p.type);
    po["rule"] = p.rule;
    if (!l.origin.empty()) po["origin"] = l.origin;
    po["path"] = p.path;
    if (p.line) po["line"] = p.line;
    po["message"] = p.message;
    if (!p.fix.empty()) po["fix"] = p.fix;
    problems.push_back(std::move(po));
  }
  o["problems"] = std::move(problems);
  json::array unmanaged;
  for (const auto& u : doc.resources.unmanaged) {
    json::object uo;
    uo["logicalId"] = u.logical_id;
    uo["type"] = u.type;
    unmanaged.push_back(std::move(uo));
  }
  o["unmanagedResources"] = std::move(unmanaged);
  out << json::serialize(o) << "\n";
}

}  // namespace

void print_rules(std::ostream& out) {
  out << "| Rule | Severity | AWS error type | What it catches |\n|---|---|---|---|\n";
  for (const auto& r : definitions::validation_rules())
    out << "| `" << r.id << "` | " << to_string(r.severity) << " | " << to_string(r.type) << " | "
        << r.summary << " |\n";
}

int run_validate(const ValidateArgs& args, std::ostream& out, std::ostream& err) {
  std::string text, error;
  if (!read_file(args.file, text, error)) {
    err << "stageline validate: " << error << "\n";
    return kExitUnreadable;
  }
  definitions::ReadOptions options;
  options.template_options.parameter_overrides = args.parameter_overrides;
  options.template_options.region = args.region;
  options.template_options.stack_name = args.stack_name;
  options.validate.region = args.region;
  options.validate.strict = args.strict;
  Document doc = definitions::read_definition(text, options);
  std::string name = args.file == "-" ? "<stdin>" : args.file;
  if (args.output == "json")
    print_json(name, doc, out);
  else
    print_text(name, doc, out);
  if (!doc.readable) return kExitUnreadable;
  return doc.valid() ? kExitValid : kExitInvalid;
}

}  // namespace stageline::cli
