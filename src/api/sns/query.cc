#include "api/sns/query.h"

#include <charconv>

#include "api/s3/xml.h"
#include "api/sigv4/canonical.h"
#include "base/strings.h"

namespace stageline::sns {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string form_encode(std::string_view s) { return api::sigv4::uri_encode(s, false); }

Status parse_form(std::string_view text, Form& form) {
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name = form_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : form_decode(pair.substr(eq + 1));
    if (name.empty()) return Status::invalid("a parameter has no name");
    if (!form.emplace(name, std::move(value)).second)
      return Status::invalid("parameter " + quote(name) + " is given more than once");
  }
  return Status();
}

Result<std::map<std::string, std::string>> form_map(const Form& form, std::string_view prefix) {
  // Entries by their index N, whatever order the form lists them in.
  std::map<int, std::pair<const std::string*, const std::string*>> entries;
  const std::string start = std::string(prefix) + ".entry.";
  for (auto it = form.lower_bound(start); it != form.end() && it->first.starts_with(start); ++it) {
    std::string_view rest = std::string_view(it->first).substr(start.size());
    size_t dot = rest.find('.');
    int n = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc() || dot == std::string_view::npos || end != rest.data() + dot || n < 1)
      return Status::invalid("parameter " + quote(it->first) + " is not " + std::string(prefix) +
                             ".entry.N.key or .value");
    std::string_view field = rest.substr(dot + 1);
    if (field == "key")
      entries[n].first = &it->second;
    else if (field == "value")
      entries[n].second = &it->second;
    else
      return Status::invalid("parameter " + quote(it->first) + " is not " + std::string(prefix) +
                             ".entry.N.key or .value");
  }
  std::map<std::string, std::string> out;
  for (const auto& [n, kv] : entries) {
    const std::string name = std::string(prefix) + ".entry." + std::to_string(n);
    if (kv.first == nullptr) return Status::invalid(name + " has a value and no key");
    if (kv.second == nullptr) return Status::invalid(name + " has a key and no value");
    if (!out.emplace(*kv.first, *kv.second).second)
      return Status::invalid(std::string(prefix) + " names " + quote(*kv.first) + " twice");
  }
  return out;
}

std::string xml_escape(std::string_view text) { return api::s3::xml::escape(text); }

std::string xml_element(std::string_view name, std::string_view text) {
  std::string out;
  out.append("<").append(name).append(">").append(xml_escape(text));
  out.append("</").append(name).append(">");
  return out;
}

std::string response_xml(std::string_view action, const std::string* result_xml,
                         std::string_view request_id) {
  std::string out = "<";
  out.append(action).append("Response xmlns=\"").append(kXmlns).append("\">");
  if (result_xml != nullptr) {
    out.append("<").append(action).append("Result>").append(*result_xml);
    out.append("</").append(action).append("Result>");
  }
  out.append("<ResponseMetadata>").append(xml_element("RequestId", request_id));
  out.append("</ResponseMetadata></").append(action).append("Response>");
  return out;
}

std::string error_xml(int http_status, std::string_view code, std::string_view message,
                      std::string_view request_id) {
  std::string out = "<ErrorResponse xmlns=\"";
  out.append(kXmlns).append("\"><Error>");
  out.append(xml_element("Type", http_status >= 500 ? "Receiver" : "Sender"));
  out.append(xml_element("Code", code)).append(xml_element("Message", message));
  out.append("</Error>").append(xml_element("RequestId", request_id));
  out.append("</ErrorResponse>");
  return out;
}

std::string attributes_xml(const std::map<std::string, std::string>& attributes) {
  std::string out;
  for (const auto& [key, value] : attributes)
    out.append("<entry>")
        .append(xml_element("key", key))
        .append(xml_element("value", value))
        .append("</entry>");
  return out;
}

}  // namespace stageline::sns
