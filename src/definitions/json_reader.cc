#include "definitions/json_reader.h"

#include <boost/json.hpp>
#include <set>

#include "base/strings.h"

namespace stageline::definitions {

namespace json = boost::json;

namespace {

// Walks text that Boost.JSON has already accepted, recording the line of each
// value. Because the text is known to be valid and no deeper than
// kMaxJsonDepth, the grammar needs no error handling and recursion is bounded.
class LineScanner {
 public:
  LineScanner(std::string_view text, SourceMap& lines, Problems& problems)
      : t_(text), lines_(lines), problems_(problems) {}

  void run() { value(""); }

 private:
  void ws() {
    while (i_ < t_.size()) {
      char c = t_[i_];
      if (c == '\n') ++line_;
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++i_;
    }
  }

  std::string string() {
    std::string raw;
    ++i_;  // opening quote
    while (i_ < t_.size() && t_[i_] != '"') {
      if (t_[i_] == '\\') {
        raw += t_[i_++];
      }
      raw += t_[i_++];
    }
    ++i_;                                                 // closing quote
    if (raw.find('\\') == std::string::npos) return raw;  // nothing to decode
    // Decode escapes through Boost.JSON so keys match the parsed value exactly.
    json::error_code ec;
    json::value v = json::parse("\"" + raw + "\"", ec);
    return ec ? raw : std::string(v.get_string());
  }

  void value(const std::string& path) {
    ws();
    lines_.set(path, line_);
    if (i_ >= t_.size()) return;
    char c = t_[i_];
    if (c == '{') {
      ++i_;
      std::set<std::string> seen;
      ws();
      if (t_[i_] == '}') {
        ++i_;
        return;
      }
      while (true) {
        ws();
        int key_line = line_;
        std::string key = string();
        std::string child = path_member(path, key);
        if (!seen.insert(key).second)
          problems_.push_back({Severity::kError, ErrorType::kSerializationException,
                               "json.duplicate-key", child,
                               "member " + quote(key) +
                                   " appears more than once in the same "
                                   "object; only the last one would be kept",
                               "remove one of them", key_line});
        ws();
        ++i_;  // ':'
        value(child);
        lines_.set(child, key_line);
        ws();
        if (t_[i_++] == '}') return;
      }
    }
    if (c == '[') {
      ++i_;
      ws();
      if (t_[i_] == ']') {
        ++i_;
        return;
      }
      for (size_t n = 0;; ++n) {
        value(path_index(path, n));
        ws();
        if (t_[i_++] == ']') return;
      }
    }
    if (c == '"') {
      string();
      return;
    }
    while (i_ < t_.size() && t_[i_] != ',' && t_[i_] != '}' && t_[i_] != ']' && t_[i_] != ' ' &&
           t_[i_] != '\n' && t_[i_] != '\r' && t_[i_] != '\t')
      ++i_;
  }

  std::string_view t_;
  SourceMap& lines_;
  Problems& problems_;
  size_t i_ = 0;
  int line_ = 1;
};

}  // namespace

Result<JsonDocument> load_json(std::string_view text) {
  if (text.size() > kMaxDefinitionBytes)
    return Status::invalid("the document is " + std::to_string(text.size()) +
                           " bytes; the limit is " + std::to_string(kMaxDefinitionBytes));
  json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  json::stream_parser p(json::storage_ptr(), opts);
  json::error_code ec;
  size_t used = p.write(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    size_t at = std::min(used, text.size());
    int line = 1, col = 1;
    for (size_t k = 0; k < at; ++k) {
      if (text[k] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string reason = ec.message();
    if (ec == json::error::too_deep)
      reason = "nesting is deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return Status::invalid("line " + std::to_string(line) + ", column " + std::to_string(col) +
                           ": invalid JSON: " + reason);
  }
  JsonDocument doc;
  doc.json.value = p.release();
  LineScanner(text, doc.json.lines, doc.problems).run();
  return doc;
}

}  // namespace stageline::definitions
