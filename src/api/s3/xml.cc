#include "api/s3/xml.h"

#include <charconv>

namespace stageline::api::s3::xml {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string element(std::string_view name, std::string_view text) {
  return "<" + std::string(name) + ">" + escape(text) + "</" + std::string(name) + ">";
}

const Node* Node::child(std::string_view n) const {
  for (const auto& c : children)
    if (c.name == n) return &c;
  return nullptr;
}

std::vector<const Node*> Node::all(std::string_view n) const {
  std::vector<const Node*> out;
  for (const auto& c : children)
    if (c.name == n) out.push_back(&c);
  return out;
}

std::string Node::child_text(std::string_view n) const {
  const Node* c = child(n);
  return c ? c->text : std::string();
}

namespace {

constexpr int kMaxDepth = 32;

class Parser {
 public:
  explicit Parser(std::string_view doc) : doc_(doc) {}

  Result<Node> document() {
    skip_misc();
    if (starts("<?xml")) {
      size_t end = doc_.find("?>", pos_);
      if (end == std::string_view::npos) return error("an unterminated XML declaration");
      pos_ = end + 2;
    }
    skip_misc();
    Node root;
    if (auto s = parse_element(root, 0); !s.ok()) return s;
    skip_misc();
    if (pos_ != doc_.size()) return error("nothing after the root element");
    return root;
  }

 private:
  bool starts(std::string_view s) const { return doc_.substr(pos_, s.size()) == s; }

  Status error(std::string_view what) const {
    return Status::invalid("malformed XML at byte " + std::to_string(pos_) + ": " +
                           std::string(what));
  }

  void skip_space() {
    while (pos_ < doc_.size() &&
           (doc_[pos_] == ' ' || doc_[pos_] == '\t' || doc_[pos_] == '\n' || doc_[pos_] == '\r'))
      ++pos_;
  }

  // Whitespace and comments.
  void skip_misc() {
    for (;;) {
      skip_space();
      if (!starts("<!--")) return;
      size_t end = doc_.find("-->", pos_);
      pos_ = end == std::string_view::npos ? doc_.size() : end + 3;
    }
  }

  static bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':';
  }

  std::string name() {
    size_t start = pos_;
    while (pos_ < doc_.size() && name_char(doc_[pos_])) ++pos_;
    std::string n(doc_.substr(start, pos_ - start));
    size_t colon = n.rfind(':');
    return colon == std::string::npos ? n : n.substr(colon + 1);
  }

  Status decode_text(std::string_view raw, std::string& out) {
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '&') {
        out += raw[i];
        continue;
      }
      size_t semi = raw.find(';', i);
      if (semi == std::string_view::npos) return error("an unterminated entity");
      std::string_view entity = raw.substr(i + 1, semi - i - 1);
      if (entity == "amp") {
        out += '&';
      } else if (entity == "lt") {
        out += '<';
      } else if (entity == "gt") {
        out += '>';
      } else if (entity == "quot") {
        out += '"';
      } else if (entity == "apos") {
        out += '\'';
      } else if (entity.size() > 1 && entity[0] == '#') {
        bool hex = entity[1] == 'x';
        std::string_view digits = entity.substr(hex ? 2 : 1);
        unsigned code = 0;
        auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), code, hex ? 16 : 10);
        if (ec != std::errc() || end != digits.data() + digits.size() || code == 0 ||
            code > 0x10FFFF)
          return error("a bad character reference");
        // UTF-8.
        if (code < 0x80) {
          out += static_cast<char>(code);
        } else if (code < 0x800) {
          out += static_cast<char>(0xC0 | (code >> 6));
          out += static_cast<char>(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
          out += static_cast<char>(0xE0 | (code >> 12));
          out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
          out += static_cast<char>(0xF0 | (code >> 18));
          out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
          out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (code & 0x3F));
        }
      } else {
        return error("an unknown entity");
      }
      i = semi;
    }
    return {};
  }

  Status parse_element(Node& node, int depth) {
    if (depth > kMaxDepth) return error("elements nested too deeply");
    if (!starts("<")) return error("an element");
    ++pos_;
    node.name = name();
    if (node.name.empty()) return error("an element name");
    // Attributes are skipped (xmlns is the only one S3 documents carry).
    for (;;) {
      skip_space();
      if (pos_ >= doc_.size()) return error("the end of a start tag");
      if (starts("/>")) {
        pos_ += 2;
        return {};
      }
      if (doc_[pos_] == '>') {
        ++pos_;
        break;
      }
      if (name().empty()) return error("an attribute name");
      skip_space();
      if (!starts("=")) return error("'=' after an attribute name");
      ++pos_;
      skip_space();
      if (pos_ >= doc_.size() || (doc_[pos_] != '"' && doc_[pos_] != '\''))
        return error("a quoted attribute value");
      char q = doc_[pos_++];
      size_t end = doc_.find(q, pos_);
      if (end == std::string_view::npos) return error("the end of an attribute value");
      pos_ = end + 1;
    }
    for (;;) {
      size_t lt = doc_.find('<', pos_);
      if (lt == std::string_view::npos) return error("the end tag of " + node.name);
      if (auto s = decode_text(doc_.substr(pos_, lt - pos_), node.text); !s.ok()) return s;
      pos_ = lt;
      if (starts("<!--")) {
        skip_misc();
        continue;
      }
      if (starts("</")) {
        pos_ += 2;
        std::string end_name = name();
        skip_space();
        if (end_name != node.name || !starts(">"))
          return error("</" + node.name + "> to close <" + node.name + ">");
        ++pos_;
        return {};
      }
      Node child;
      if (auto s = parse_element(child, depth + 1); !s.ok()) return s;
      node.children.push_back(std::move(child));
    }
  }

  std::string_view doc_;
  size_t pos_ = 0;
};

}  // namespace

Result<Node> parse(std::string_view document) { return Parser(document).document(); }

}  // namespace stageline::api::s3::xml
