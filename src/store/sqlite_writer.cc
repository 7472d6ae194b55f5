#include "store/sqlite_writer.h"

#include <charconv>
#include <limits>

#include "base/strings.h"

namespace stageline::store {

Result<bool> SqliteWriter::exists(const char* sql, std::string_view value) {
  auto st = db_.prepare(sql);
  if (!st.ok()) return st.status();
  return st->bind(1, value).next();
}

std::string encode_time_seq_key(const TimeSeqKey& key) {
  return std::to_string(key.time_ms) + "." + std::to_string(key.seq);
}

Result<TimeSeqKey> decode_time_seq_key(const std::string& key) {
  TimeSeqKey out;
  const char* begin = key.data();
  const char* end = key.data() + key.size();
  auto [dot, time_error] = std::from_chars(begin, end, out.time_ms);
  bool ok = time_error == std::errc() && dot != end && *dot == '.';
  if (ok) {
    auto [rest, seq_error] = std::from_chars(dot + 1, end, out.seq);
    ok = seq_error == std::errc() && rest == end;
  }
  if (!ok)
    return Status::invalid("continuation key " + quote(key) + " was not issued by this store");
  return out;
}

Result<TimeSeqKey> descending_start_key(const std::string& after_key) {
  if (after_key.empty())
    return TimeSeqKey{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()};
  return decode_time_seq_key(after_key);
}

}  // namespace stageline::store
