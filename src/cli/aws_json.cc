#include "cli/aws_json.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>

namespace stageline::cli {
namespace {

namespace json = boost::json;

void append_hex4(std::string& out, unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", v & 0xffffu);
  out += buf;
}

// Python's json string encoder. With ensure_ascii=False only '"', '\\' and
// C0 controls are escaped; with ensure_ascii=True every non-ASCII code point is
// too (as \uXXXX, surrogate pairs above the BMP).
void append_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      append_hex4(out, c);
    } else if (c < 0x80 || !ensure_ascii) {
      out += static_cast<char>(c);
    } else {
      // Decode one UTF-8 sequence (Boost.JSON has validated it).
      unsigned cp = 0;
      size_t extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
      cp = c & (0x3f >> extra);
      for (size_t k = 0; k < extra && i + 1 < s.size(); ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[++i]) & 0x3f);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        append_hex4(out, 0xd800 + (cp >> 10));
        append_hex4(out, 0xdc00 + (cp & 0x3ff));
      } else {
        append_hex4(out, cp);
      }
    }
  }
  out += '"';
}

void append_scalar(std::string& out, const json::value& v, bool ensure_ascii) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      out += std::to_string(v.get_int64());
      break;
    case json::kind::uint64:
      out += std::to_string(v.get_uint64());
      break;
    case json::kind::double_:
      out += python_float_repr(v.get_double());
      break;
    case json::kind::string:
      append_string(out, v.get_string(), ensure_ascii);
      break;
    case json::kind::array:
    case json::kind::object:
      break;  // handled by the callers
  }
}

void append_pretty(std::string& out, const json::value& v, int depth) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<size_t>(d) * 4, ' ');
  };
  if (const json::object* o = v.if_object()) {
    if (o->empty()) {
      out += "{}";
      return;
    }
    out += '{';
    bool first = true;
    for (const auto& member : *o) {
      if (!first) out += ',';
      first = false;
      newline(depth + 1);
      append_string(out, member.key(), false);
      out += ": ";
      append_pretty(out, member.value(), depth + 1);
    }
    newline(depth);
    out += '}';
  } else if (const json::array* a = v.if_array()) {
    if (a->empty()) {
      out += "[]";
      return;
    }
    out += '[';
    bool first = true;
    for (const auto& item : *a) {
      if (!first) out += ',';
      first = false;
      newline(depth + 1);
      append_pretty(out, item, depth + 1);
    }
    newline(depth);
    out += ']';
  } else {
    append_scalar(out, v, false);
  }
}

void append_compact(std::string& out, const json::value& v) {
  if (const json::object* o = v.if_object()) {
    out += '{';
    bool first = true;
    for (const auto& member : *o) {
      if (!first) out += ", ";
      first = false;
      append_string(out, member.key(), true);
      out += ": ";
      append_compact(out, member.value());
    }
    out += '}';
  } else if (const json::array* a = v.if_array()) {
    out += '[';
    bool first = true;
    for (const auto& item : *a) {
      if (!first) out += ", ";
      first = false;
      append_compact(out, item);
    }
    out += ']';
  } else {
    append_scalar(out, v, true);
  }
}

}  // namespace

std::string python_float_repr(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  // Shortest round-trip digits in scientific form: "-1.2345e+09".
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  if (ec != std::errc()) return "0.0";  // unreachable: 64 bytes always suffice
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  std::string sign;
  if (!sci.empty() && sci.front() == '-') {
    sign = "-";
    sci.remove_prefix(1);
  }
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits += c;
  int exponent = 0;
  std::string_view exp_text = sci.substr(e + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);

  // Python's float_repr_style "short": exponent notation when the decimal
  // point would sit more than 16 places right or 4 places left of the digits.
  std::string out = sign;
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    } else {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+',
                exponent < 0 ? -exponent : exponent);
  return out + exp_buf;
}

json::value order_like_botocore(const wire::Shape* shape, json::value value) {
  if (shape == nullptr) return value;
  switch (shape->type) {
    case wire::ShapeType::kStructure: {
      json::object* in = value.if_object();
      if (in == nullptr) return value;
      json::object out;
      for (const auto& member : shape->members) {
        if (json::value* v = in->if_contains(member.name))
          out[member.name] = order_like_botocore(member.shape, std::move(*v));
      }
      return out;
    }
    case wire::ShapeType::kList:
      if (json::array* a = value.if_array())
        for (auto& item : *a) item = order_like_botocore(shape->list_member, std::move(item));
      return value;
    case wire::ShapeType::kMap:
      if (json::object* o = value.if_object())
        for (auto& member : *o)
          member.value() = order_like_botocore(shape->map_value, std::move(member.value()));
      return value;
    default:
      return value;
  }
}

std::string format_aws_json(const json::value& value) {
  std::string out;
  append_pretty(out, value, 0);
  return out;
}

std::string python_compact_json(const json::value& value) {
  std::string out;
  append_compact(out, value);
  return out;
}

}  // namespace stageline::cli
