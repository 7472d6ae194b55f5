#include "api/wire/json_text.h"

#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>

namespace stageline::wire {

namespace json = boost::json;

namespace {

void write(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      out += std::to_string(v.get_int64());
      return;
    case json::kind::uint64:
      out += std::to_string(v.get_uint64());
      return;
    case json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";
        return;
      }
      char buf[400];
      // Fixed notation stays readable for every magnitude a timestamp or a
      // size has; past 1e21 scientific is shorter and still valid JSON.
      const auto format =
          std::fabs(d) < 1e21 ? std::chars_format::fixed : std::chars_format::general;
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, format);
      if (ec != std::errc()) {
        out += json::serialize(v);
        return;
      }
      out.append(buf, end);
      return;
    }
    case json::kind::string:
      out += json::serialize(v);  // Boost's escaping is correct JSON
      return;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const json::value& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        write(e, out);
      }
      out.push_back(']');
      return;
    }
    case json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, e] : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        out += json::serialize(json::value(key));
        out.push_back(':');
        write(e, out);
      }
      out.push_back('}');
      return;
    }
  }
}

}  // namespace

std::string to_json(const json::value& value) {
  std::string out;
  write(value, out);
  return out;
}

json::value epoch_seconds(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  if (ms.count() % 1000 == 0) return json::value(static_cast<int64_t>(ms.count() / 1000));
  return json::value(static_cast<double>(ms.count()) / 1000.0);
}

}  // namespace stageline::wire
