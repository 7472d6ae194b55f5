#include "definitions/yaml_loader.h"

// depthguard.h is included for its side effect on the build: yaml-cpp 0.7
// bounds its own recursion with DepthGuard (500 levels, then DeepRecursion).
// NestingScan below is a fast heuristic, not a parser, so that guard is the
// backstop for anything the heuristic misjudges; building against a yaml-cpp
// without it (< 0.7) must fail rather than silently lose the stack bound.
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "base/strings.h"

namespace stageline::definitions {

namespace json = boost::json;

namespace {

std::string position(int line, int column) {
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": ";
}

Status invalid_at(int line, int column, const std::string& reason) {
  if (line <= 0) return Status::invalid(reason);
  if (column <= 0) return Status::invalid("line " + std::to_string(line) + ": " + reason);
  return Status::invalid(position(line, column) + reason);
}

// ---------------------------------------------------------------------------
// Input checks: UTF-8, control characters, line breaks.

// Copies `text` to `out` with CRLF and lone CR turned into LF and a leading
// byte-order mark dropped, rejecting bytes that are not UTF-8 and the control
// characters YAML does not allow. yaml-cpp would otherwise guess at UTF-16 from
// NUL bytes or let raw controls through into values.
Status normalise(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  size_t i = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
  int line = 1;
  int column = 1;
  auto bad = [&](const std::string& what) { return invalid_at(line, column, what); };
  auto byte_at = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  while (i < text.size()) {
    unsigned char b = byte_at(i);
    if (b == '\r') {
      out += '\n';
      i += (i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
      ++line;
      column = 1;
      continue;
    }
    if (b == '\n') {
      out += '\n';
      ++i;
      ++line;
      column = 1;
      continue;
    }
    if (b < 0x80) {
      if ((b < 0x20 && b != '\t') || b == 0x7F) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", b);
        return bad(std::string("control character ") + hex + " is not allowed in YAML");
      }
      out += static_cast<char>(b);
      ++i;
      ++column;
      continue;
    }
    // Multi-byte sequence: the lead byte fixes the length and the range of
    // the first continuation byte (no overlongs, no surrogates, <= U+10FFFF).
    size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      length = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      length = 3;
      if (b == 0xE0) low = 0xA0;
      if (b == 0xED) high = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      length = 4;
      if (b == 0xF0) low = 0x90;
      if (b == 0xF4) high = 0x8F;
    }
    bool ok = length > 0 && i + length <= text.size();
    for (size_t k = 1; ok && k < length; ++k) {
      unsigned char c = byte_at(i + k);
      unsigned char lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xBF;
      ok = c >= lo && c <= hi;
    }
    if (!ok) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", b);
      return bad(std::string("byte ") + hex + " is not valid UTF-8; save the file as UTF-8");
    }
    // C1 controls (U+0080..U+009F) other than NEL are not printable YAML.
    if (b == 0xC2 && byte_at(i + 1) <= 0x9F && byte_at(i + 1) != 0x85) {
      return bad("a C1 control character is not allowed in YAML");
    }
    out.append(text.substr(i, length));
    i += length;
    ++column;
  }
  return {};
}

// ---------------------------------------------------------------------------
// Nesting scan.
//
// yaml-cpp builds its whole token queue and node graph before we see a node:
// 2.5 million '[' cost it 600 MB before its own depth guard fires, and each
// value costs it about 500 bytes. NestingScan reads the text once, line by
// line, and refuses it before yaml-cpp runs when collections nest deeper than
// max_depth or there are far more values than max_nodes. It knows just enough
// YAML to not be fooled by ordinary text: brackets count only at the start of
// a token (not inside quoted or plain scalars, comments, tags or block
// scalars), and block nesting is the stack of increasing indentation columns,
// plus the column after each "- " or "? " on the same line. It is a heuristic
// that over-counts a little (a scalar value on its own line counts as a
// level); yaml-cpp's DepthGuard stays the hard bound for inputs built to fool
// it, and the converter checks depth again on the parsed graph.
class NestingScan {
 public:
  NestingScan(std::string_view text, const YamlLimits& limits) : text_(text), limits_(limits) {}

  Status run() {
    size_t pos = 0;
    while (pos <= text_.size()) {
      size_t eol = text_.find('\n', pos);
      if (eol == std::string_view::npos) eol = text_.size();
      ++line_no_;
      Status st = scan_line(text_.substr(pos, eol - pos));
      if (!st.ok()) return st;
      pos = eol + 1;
    }
    return {};
  }

 private:
  enum class Quote { kNone, kSingle, kDouble };

  static bool blank(char c) { return c == ' ' || c == '\t'; }
  static bool flow_indicator(char c) {
    return c == ',' || c == '[' || c == ']' || c == '{' || c == '}';
  }

  int depth() const { return flow_ + static_cast<int>(indents_.size()); }

  Status too_deep(size_t index) const {
    return invalid_at(line_no_, static_cast<int>(index) + 1,
                      "collections nest deeper than " + std::to_string(limits_.max_depth) +
                          " levels; Stageline refuses documents nested this deeply");
  }

  Status push_indent(int column, size_t index) {
    if (!indents_.empty() && column <= indents_.back()) return {};
    indents_.push_back(column);
    if (depth() > limits_.max_depth) return too_deep(index);
    return {};
  }

  Status count_value(size_t index) {
    // A mapping entry is two tokens (key and value) but one value.
    if (++tokens_ > 2 * limits_.max_nodes + 16) {
      return invalid_at(line_no_, static_cast<int>(index) + 1,
                        "the document holds more than " + std::to_string(limits_.max_nodes) +
                            " values; Stageline refuses documents this large");
    }
    return {};
  }

  Status scan_line(std::string_view line) {
    size_t first = line.find_first_not_of(" \t");
    if (block_scalar_parent_) {
      size_t indent = line.find_first_not_of(' ');
      if (first == std::string_view::npos ||
          (indent != std::string_view::npos && static_cast<int>(indent) > *block_scalar_parent_)) {
        return {};
      }
      block_scalar_parent_.reset();
    }
    size_t i = 0;
    if (quote_ == Quote::kNone) {
      if (first == std::string_view::npos || line[first] == '#') return {};
      if (flow_ == 0) {
        size_t indent = line.find_first_not_of(' ');
        if (line[indent] == '\t') {
          return invalid_at(line_no_, static_cast<int>(indent) + 1,
                            "a tab indents this line; YAML indentation must use spaces");
        }
        bool marker = (line.substr(0, 3) == "---" || line.substr(0, 3) == "...") &&
                      (line.size() == 3 || blank(line[3]));
        if (marker) {
          indents_.clear();
          i = 3;
        } else if (line[0] == '%') {
          return {};  // a directive
        } else {
          while (!indents_.empty() && indents_.back() > static_cast<int>(first)) {
            indents_.pop_back();
          }
          Status st = push_indent(static_cast<int>(first), first);
          if (!st.ok()) return st;
          i = first;
        }
      } else {
        i = first;
      }
    }
    return scan_tokens(line, i);
  }

  Status scan_tokens(std::string_view line, size_t i) {
    bool after_indicator = false;  // a "- " or "? " was just read (block context)
    bool after_closed = false;     // a quote, ']' or '}' just closed: ':' is a value
    while (i < line.size()) {
      char c = line[i];
      if (quote_ == Quote::kSingle) {
        if (c == '\'') {
          if (i + 1 < line.size() && line[i + 1] == '\'') {
            i += 2;
            continue;
          }
          quote_ = Quote::kNone;
          after_closed = true;
        }
        ++i;
        continue;
      }
      if (quote_ == Quote::kDouble) {
        if (c == '\\') {
          i += 2;
          continue;
        }
        if (c == '"') {
          quote_ = Quote::kNone;
          after_closed = true;
        }
        ++i;
        continue;
      }
      if (blank(c)) {
        ++i;
        continue;
      }
      if (c == '#') return {};  // a comment runs to the end of the line
      if ((c == '|' || c == '>') && flow_ == 0) {
        // A block scalar: the lines below that are indented deeper than the
        // node holding it are its text.
        Status st = count_value(i);
        if (!st.ok()) return st;
        block_scalar_parent_ = indents_.empty() ? -1 : indents_.back();
        return {};
      }
      if (after_indicator && flow_ == 0) {
        Status st = push_indent(static_cast<int>(i), i);
        if (!st.ok()) return st;
      }
      after_indicator = false;
      bool next_blank = i + 1 >= line.size() || blank(line[i + 1]);
      if (c == '\'' || c == '"') {
        Status st = count_value(i);
        if (!st.ok()) return st;
        quote_ = c == '\'' ? Quote::kSingle : Quote::kDouble;
        ++i;
        continue;
      }
      after_closed = false;
      if (c == '[' || c == '{') {
        Status st = count_value(i);
        if (!st.ok()) return st;
        ++flow_;
        if (depth() > limits_.max_depth) return too_deep(i);
        ++i;
        continue;
      }
      if (c == ']' || c == '}') {
        if (flow_ > 0) --flow_;
        after_closed = true;
        ++i;
        continue;
      }
      if (c == ',') {
        ++i;
        continue;
      }
      if ((c == '-' || c == '?') && next_blank) {
        after_indicator = flow_ == 0;
        ++i;
        continue;
      }
      if (c == ':' &&
          (next_blank || (flow_ > 0 && (flow_indicator(line[i + 1]) || after_closed)))) {
        ++i;
        continue;
      }
      if (c == '!' || c == '&' || c == '*') {
        if (c == '*') {
          Status st = count_value(i);
          if (!st.ok()) return st;
        }
        bool verbatim = c == '!' && i + 1 < line.size() && line[i + 1] == '<';
        ++i;
        while (i < line.size() && !blank(line[i])) {
          if (verbatim && line[i] == '>') {
            ++i;
            break;
          }
          if (!verbatim && (flow_ > 0 || c != '!') && flow_indicator(line[i])) break;
          ++i;
        }
        continue;
      }
      // A plain scalar: runs to ": ", " #", the end of the line, or in a flow
      // collection to a flow indicator.
      Status st = count_value(i);
      if (!st.ok()) return st;
      while (i < line.size()) {
        char p = line[i];
        if (p == ':' && (i + 1 >= line.size() || blank(line[i + 1]) ||
                         (flow_ > 0 && flow_indicator(line[i + 1])))) {
          break;
        }
        if (blank(p) && i + 1 < line.size() && line[i + 1] == '#') break;
        if (flow_ > 0 && flow_indicator(p)) break;
        ++i;
      }
    }
    return {};
  }

  std::string_view text_;
  const YamlLimits& limits_;
  int line_no_ = 0;
  Quote quote_ = Quote::kNone;
  int flow_ = 0;
  std::vector<int> indents_;
  std::optional<int> block_scalar_parent_;
  size_t tokens_ = 0;
};

// ---------------------------------------------------------------------------
// Scalars.

bool one_of(std::string_view s, std::initializer_list<std::string_view> options) {
  for (auto o : options)
    if (s == o) return true;
  return false;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// The value of a plain (unquoted, untagged) scalar, resolved the way
// CloudFormation's YAML 1.1 parser does: an unquoted YES or off reaches AWS as
// the boolean true or false (aws/aws-cli#5257 quotes them for that reason).
// The forms that surprise people more than they help (octal 0123, sexagesimal
// 1:30, 1_000, hex) stay strings, so account ids with a leading zero survive.
json::value resolve_plain(const std::string& s) {
  if (one_of(s, {"", "~", "null", "Null", "NULL"})) return nullptr;
  if (one_of(s, {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})) return true;
  if (one_of(s, {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})) return false;
  std::string_view body = s;
  if (body[0] == '+' || body[0] == '-') body.remove_prefix(1);
  if (body.empty()) return json::string(s);
  // Integers: 0 or no leading zero.
  if (all_digits(body) && (body.size() == 1 || body[0] != '0')) {
    std::string digits(s[0] == '+' ? s.substr(1) : s);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec == std::errc() && ptr == digits.data() + digits.size()) return v;
    return json::string(s);  // does not fit int64: keep every digit
  }
  // Floats: digits with one '.', and/or an exponent; no leading zero before
  // another digit.
  size_t e = body.find_first_of("eE");
  std::string_view mantissa = body.substr(0, e);
  std::string_view exponent = e == std::string_view::npos ? "" : body.substr(e + 1);
  size_t dot = mantissa.find('.');
  std::string_view whole = mantissa.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : mantissa.substr(dot + 1);
  bool mantissa_ok =
      (whole.empty() || all_digits(whole)) && (fraction.empty() || all_digits(fraction)) &&
      (!whole.empty() || !fraction.empty()) && !(whole.size() > 1 && whole[0] == '0');
  bool has_exponent = e != std::string_view::npos;
  if (has_exponent && !exponent.empty() && (exponent[0] == '+' || exponent[0] == '-')) {
    exponent.remove_prefix(1);
  }
  bool exponent_ok = !has_exponent || all_digits(exponent);
  if (mantissa_ok && exponent_ok && (dot != std::string_view::npos || has_exponent)) {
    std::string text(s[0] == '+' ? s.substr(1) : s);
    double v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(v)) return v;
  }
  return json::string(s);
}

// CloudFormation short-form tags and the long-form key each becomes.
const std::map<std::string, std::string, std::less<>>& short_forms() {
  static const auto* forms = new std::map<std::string, std::string, std::less<>>{
      {"!Ref", "Ref"},
      {"!Condition", "Condition"},
      {"!GetAtt", "Fn::GetAtt"},
      {"!Sub", "Fn::Sub"},
      {"!Join", "Fn::Join"},
      {"!Select", "Fn::Select"},
      {"!Split", "Fn::Split"},
      {"!If", "Fn::If"},
      {"!Equals", "Fn::Equals"},
      {"!Not", "Fn::Not"},
      {"!And", "Fn::And"},
      {"!Or", "Fn::Or"},
      {"!FindInMap", "Fn::FindInMap"},
      {"!Base64", "Fn::Base64"},
      {"!Cidr", "Fn::Cidr"},
      {"!GetAZs", "Fn::GetAZs"},
      {"!ImportValue", "Fn::ImportValue"},
      {"!Transform", "Fn::Transform"},
      {"!Length", "Fn::Length"},
      {"!ToJsonString", "Fn::ToJsonString"},
      // Rule-specific functions (Rules sections).
      {"!Contains", "Fn::Contains"},
      {"!EachMemberEquals", "Fn::EachMemberEquals"},
      {"!EachMemberIn", "Fn::EachMemberIn"},
      {"!RefAll", "Fn::RefAll"},
      {"!ValueOf", "Fn::ValueOf"},
      {"!ValueOfAll", "Fn::ValueOfAll"},
  };
  return *forms;
}

constexpr std::string_view kCoreTag = "tag:yaml.org,2002:";

// ---------------------------------------------------------------------------
// Conversion of the parsed graph.

// Walks the node graph yaml-cpp built and produces JSON. Aliases are shared
// nodes in that graph, so an alias bomb is small there and huge here: every
// value and scalar byte produced is counted against the limits. An anchor used
// inside its own node makes the graph cyclic; the ancestor check reports it.
class Converter {
 public:
  Converter(const YamlLimits& limits, SourceMap& lines) : limits_(limits), lines_(lines) {}

  Status convert(const YAML::Node& node, const std::string& path, int depth, json::value& out,
                 bool apply_tag = true) {
    if (depth > limits_.max_depth) {
      return error_at(node, "collections nest deeper than " + std::to_string(limits_.max_depth) +
                                " levels; Stageline refuses documents nested this deeply");
    }
    if (++nodes_ > limits_.max_nodes) {
      return error_at(node, "the document expands to more than " +
                                std::to_string(limits_.max_nodes) +
                                " values once aliases are expanded (an alias bomb?)");
    }
    const std::string tag = apply_tag ? node.Tag() : std::string("?");
    if (apply_tag && !tag.empty() && tag != "?" && tag != "!" && tag.rfind(kCoreTag, 0) != 0) {
      return convert_short_form(tag, node, path, depth, out);
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out = nullptr;
        return {};
      case YAML::NodeType::Scalar:
        return convert_scalar(node, tag, out);
      case YAML::NodeType::Sequence: {
        if (!tag.empty() && tag != "?" && tag != "!" && tag != std::string(kCoreTag) + "seq") {
          return error_at(node, "tag '" + tag + "' does not apply to a sequence");
        }
        Ancestor guard(this, node);
        if (guard.cycle) return cycle_error(node);
        json::array array;
        array.reserve(node.size());
        size_t index = 0;
        for (const YAML::Node& item : node) {
          std::string child = path_index(path, index++);
          lines_.set(child, line_of(item));
          json::value v;
          Status st = convert(item, child, depth + 1, v);
          if (!st.ok()) return st;
          array.push_back(std::move(v));
        }
        out = std::move(array);
        return {};
      }
      case YAML::NodeType::Map: {
        if (!tag.empty() && tag != "?" && tag != "!" && tag != std::string(kCoreTag) + "map") {
          return error_at(node, "tag '" + tag + "' does not apply to a mapping");
        }
        Ancestor guard(this, node);
        if (guard.cycle) return cycle_error(node);
        json::object object;
        Status st = convert_members(node, path, depth, object, /*only_absent=*/false);
        if (!st.ok()) return st;
        out = std::move(object);
        return {};
      }
    }
    return error_at(node, "unexpected YAML node");
  }

 private:
  // Keeps `node` on the ancestor stack while it is converted.
  struct Ancestor {
    Ancestor(Converter* c, const YAML::Node& node) : converter(c) {
      for (const YAML::Node& a : c->ancestors_) {
        if (a.is(node)) cycle = true;
      }
      c->ancestors_.push_back(node);
    }
    ~Ancestor() { converter->ancestors_.pop_back(); }
    Ancestor(const Ancestor&) = delete;
    Ancestor& operator=(const Ancestor&) = delete;
    Converter* converter;
    bool cycle = false;
  };

  static int line_of(const YAML::Node& node) {
    YAML::Mark mark = node.Mark();
    return mark.line >= 0 ? mark.line + 1 : 0;
  }

  static Status error_at(const YAML::Node& node, const std::string& reason) {
    YAML::Mark mark = node.Mark();
    if (mark.line < 0) return Status::invalid(reason);
    return invalid_at(mark.line + 1, mark.column + 1, reason);
  }

  static Status cycle_error(const YAML::Node& node) {
    return error_at(node, "an alias refers to a node that contains it, so it never ends");
  }

  Status add_bytes(size_t n, const YAML::Node& node) {
    output_bytes_ += n;
    if (output_bytes_ > limits_.max_output_bytes) {
      return error_at(node, "the document expands to more than " +
                                std::to_string(limits_.max_output_bytes) +
                                " bytes of text once aliases are expanded (an alias bomb?)");
    }
    return {};
  }

  Status convert_scalar(const YAML::Node& node, const std::string& tag, json::value& out) {
    const std::string& text = node.Scalar();
    Status st = add_bytes(text.size(), node);
    if (!st.ok()) return st;
    if (tag == "?" || tag.empty()) {
      out = resolve_plain(text);
      return {};
    }
    if (tag == "!") {
      out = json::string(text);
      return {};
    }
    std::string_view core = std::string_view(tag).substr(kCoreTag.size());
    if (core == "str" || core == "binary" || core == "timestamp") {
      out = json::string(text);
      return {};
    }
    json::value resolved = resolve_plain(text);
    if ((core == "int" && resolved.is_int64()) || (core == "bool" && resolved.is_bool()) ||
        (core == "null" && resolved.is_null())) {
      out = std::move(resolved);
      return {};
    }
    if (core == "float" && (resolved.is_double() || resolved.is_int64())) {
      out = resolved.is_double() ? resolved.as_double() : static_cast<double>(resolved.as_int64());
      return {};
    }
    return error_at(node, "'" + text + "' is not a valid !!" + std::string(core));
  }

  Status convert_short_form(const std::string& tag, const YAML::Node& node, const std::string& path,
                            int depth, json::value& out) {
    auto it = short_forms().find(tag);
    if (it == short_forms().end()) {
      std::vector<std::string> known;
      for (const auto& [name, _] : short_forms()) known.push_back(name);
      std::string suggestion = closest_match(tag, known);
      return error_at(node, "unknown tag '" + tag + "'" +
                                (suggestion.empty() ? std::string("; CloudFormation knows !Ref, "
                                                                  "!GetAtt, !Sub and the other "
                                                                  "intrinsic function tags")
                                                    : "; did you mean '" + suggestion + "'?"));
    }
    const std::string& key = it->second;
    std::string child = path_member(path, key);
    lines_.set(child, line_of(node));
    json::value content;
    if (node.IsScalar() || node.IsNull()) {
      std::string text = node.IsScalar() ? node.Scalar() : std::string();
      Status st = add_bytes(text.size(), node);
      if (!st.ok()) return st;
      size_t dot = text.find('.');
      if (key == "Fn::GetAtt" && dot != std::string::npos) {
        content =
            json::array{json::string(text.substr(0, dot)), json::string(text.substr(dot + 1))};
        lines_.set(path_index(child, 0), line_of(node));
        lines_.set(path_index(child, 1), line_of(node));
      } else {
        content = json::string(text);
      }
    } else {
      Status st = convert(node, child, depth + 1, content, /*apply_tag=*/false);
      if (!st.ok()) return st;
    }
    json::object object;
    object.emplace(key, std::move(content));
    out = std::move(object);
    return {};
  }

  // Converts the members of mapping `node` into `object`. With `only_absent`
  // (a merged mapping), keys already present are skipped instead of being
  // duplicates. Explicit keys are read before `<<` merges, so they win; among
  // merged mappings the first wins, as YAML's merge type says.
  Status convert_members(const YAML::Node& node, const std::string& path, int depth,
                         json::object& object, bool only_absent) {
    std::vector<YAML::Node> merges;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies: the iterator's proxy dies at the end of each expression.
      const YAML::Node key_node = it->first;
      const YAML::Node value = it->second;
      if (!key_node.IsScalar()) {
        return error_at(key_node, key_node.IsNull()
                                      ? "a mapping key is empty"
                                      : "a mapping key must be a scalar, not a collection");
      }
      const std::string& key = key_node.Scalar();
      if (key == "<<" && key_node.Tag() == "?") {
        merges.push_back(value);
        continue;
      }
      if (object.contains(key)) {
        if (only_absent) continue;
        return error_at(key_node, "duplicate key '" + key + "' (first at line " +
                                      std::to_string(lines_.line_of(path_member(path, key))) + ")");
      }
      Status st = add_bytes(key.size(), key_node);
      if (!st.ok()) return st;
      std::string child = path_member(path, key);
      lines_.set(child, line_of(key_node));
      json::value v;
      st = convert(value, child, depth + 1, v);
      if (!st.ok()) return st;
      object.emplace(key, std::move(v));
    }
    for (const YAML::Node& merge : merges) {
      std::vector<YAML::Node> sources;
      if (merge.IsMap()) {
        sources.push_back(merge);
      } else if (merge.IsSequence()) {
        for (const YAML::Node& item : merge) sources.push_back(item);
      }
      if (sources.empty() && !merge.IsSequence()) {
        return error_at(merge, "a '<<' merge key needs a mapping or a sequence of mappings");
      }
      for (const YAML::Node& source : sources) {
        if (!source.IsMap()) {
          return error_at(source, "a '<<' merge key needs a mapping or a sequence of mappings");
        }
        if (depth + 1 > limits_.max_depth) {
          return error_at(source, "merge keys nest deeper than " +
                                      std::to_string(limits_.max_depth) + " levels");
        }
        Ancestor guard(this, source);
        if (guard.cycle) return cycle_error(source);
        Status st = convert_members(source, path, depth + 1, object, /*only_absent=*/true);
        if (!st.ok()) return st;
      }
    }
    return {};
  }

  const YamlLimits& limits_;
  SourceMap& lines_;
  std::vector<YAML::Node> ancestors_;
  size_t nodes_ = 0;
  size_t output_bytes_ = 0;
};

// Notes where a second document with content starts. Parser events only: no
// nodes are built.
class DocumentCounter : public YAML::EventHandler {
 public:
  int second_document_line = 0;

  void OnDocumentStart(const YAML::Mark& mark) override {
    ++documents_;
    start_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { content(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    content(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    content(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    content(mark);
  }
  void OnMapEnd() override {}

 private:
  void content(const YAML::Mark& mark) {
    if (documents_ >= 2 && second_document_line == 0) {
      second_document_line = (start_.line >= 0 ? start_.line : mark.line) + 1;
    }
  }
  int documents_ = 0;
  YAML::Mark start_ = YAML::Mark::null_mark();
};

Status from_yaml_exception(const YAML::Exception& e) {
  std::string reason = e.msg;
  if (dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr) {
    reason = "collections nest deeper than yaml-cpp's limit of 500 levels";
  }
  if (e.mark.is_null()) return Status::invalid(reason);
  return invalid_at(e.mark.line + 1, e.mark.column + 1, reason);
}

}  // namespace

Result<LocatedJson> load_yaml(std::string_view text, const YamlLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::invalid("the document is " + std::to_string(text.size()) +
                           " bytes; Stageline reads YAML documents of at most " +
                           std::to_string(limits.max_bytes) + " bytes");
  }
  try {
    std::string normalised;
    Status st = normalise(text, normalised);
    if (!st.ok()) return st;
    st = NestingScan(normalised, limits).run();
    if (!st.ok()) return st;
    // Count the documents first, reading at most two: YAML::LoadAll loops
    // forever, allocating, on some inputs (a stray "," after a document).
    std::istringstream stream(normalised);
    YAML::Parser parser(stream);
    DocumentCounter counter;
    for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
    }
    if (counter.second_document_line > 0) {
      return invalid_at(counter.second_document_line, 0,
                        "a second YAML document starts here; Stageline reads one document per "
                        "file");
    }
    YAML::Node document = YAML::Load(normalised);
    LocatedJson out;
    YAML::Mark mark = document.Mark();
    out.lines.set("", mark.line >= 0 ? mark.line + 1 : 1);
    Converter converter(limits, out.lines);
    st = converter.convert(document, "", 0, out.value);
    if (!st.ok()) return st;
    return out;
  } catch (const YAML::Exception& e) {
    return from_yaml_exception(e);
  } catch (const std::bad_alloc&) {
    return Status::invalid("the document needs more memory than is available to parse");
  } catch (const std::exception& e) {
    return Status::internal(std::string("parse YAML: ") + e.what());
  } catch (...) {
    return Status::internal("parse YAML: unknown exception");
  }
}

}  // namespace stageline::definitions
