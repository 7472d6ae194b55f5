// deploy/records: reading the JSON documents CodeDeploy keeps in the store's
// resources table (service "codedeploy"), shared by the deployment service
// and the CodeDeploy API: a string member, milliseconds as the API's epoch
// seconds, a stored document, every record of a kind.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace stageline::deploy {

// o[key] when it is a string, else "".
inline std::string str(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

inline double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// A stored document; {} when it is not a JSON object.
inline boost::json::object parse_doc(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  return !ec && v.is_object() ? std::move(v.as_object()) : boost::json::object();
}

// Every resource of (codedeploy, kind) whose name starts with `prefix`.
Result<std::vector<store::ResourceRecord>> list_records(store::Store& store,
                                                        const std::string& kind,
                                                        const std::string& prefix = "");

}  // namespace stageline::deploy
