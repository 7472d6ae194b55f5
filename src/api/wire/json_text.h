// api/wire/json_text: JSON text the way AWS writes it. Boost.JSON prints
// doubles in scientific notation (1.446137312204E9); AWS sends timestamps as
// plain epoch seconds with a fraction (1446137312.204), which every SDK reads.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <string>

namespace stageline::wire {

// Compact JSON text of `value`; doubles in plain decimal notation (shortest
// form that reads back the same), non-finite doubles as null.
std::string to_json(const boost::json::value& value);

// A timestamp member's value: epoch seconds with millisecond precision, as
// AWS sends them (reference §1.3).
boost::json::value epoch_seconds(std::chrono::system_clock::time_point t);

}  // namespace stageline::wire
