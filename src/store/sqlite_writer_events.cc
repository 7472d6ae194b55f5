// The event log of api/events: EventBridge-shaped state-change events, each
// with a seq that only grows (reference section 14).

#include "base/strings.h"
#include "store/sqlite_writer.h"

namespace stageline::store {

Result<std::vector<EventRecord>> SqliteWriter::read_events(int64_t after_seq,
                                                           const std::string& pipeline_name,
                                                           int limit) {
  STAGELINE_CHECK(limit >= 1);
  const std::string context =
      "read events after seq " + std::to_string(after_seq) +
      (pipeline_name.empty() ? std::string() : " of pipeline " + quote(pipeline_name));
  auto st = pipeline_name.empty()
                ? db_.prepare(
                      "SELECT seq, time_at_ms, pipeline_name, event_json FROM events"
                      " WHERE seq > ? ORDER BY seq LIMIT ?")
                : db_.prepare(
                      "SELECT seq, time_at_ms, pipeline_name, event_json FROM events"
                      " WHERE pipeline_name = ? AND seq > ? ORDER BY seq LIMIT ?");
  if (!st.ok()) return st.status().with_context(context);
  if (pipeline_name.empty())
    st->bind_all(after_seq, int64_t{limit});
  else
    st->bind_all(pipeline_name, after_seq, int64_t{limit});
  auto rows = collect_rows<EventRecord>(*st, [](sqlite::Statement& row) -> Result<EventRecord> {
    EventRecord event{row.column_int64(0), row.column_int64(1), row.column_text(2),
                      row.column_text(3)};
    if (!row.column_status().ok()) return row.column_status();
    return event;
  });
  if (!rows.ok()) return rows.status().with_context(context);
  return rows;
}

Result<int64_t> SqliteWriter::last_event_seq() {
  const std::string context = "read the last event seq";
  // AUTOINCREMENT keeps the highest seq ever given in sqlite_sequence, even
  // when the rows that had it are gone.
  auto st =
      db_.prepare("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)");
  if (!st.ok()) return st.status().with_context(context);
  auto row = st->next();
  if (!row.ok()) return row.status().with_context(context);
  STAGELINE_CHECK(*row);  // a scalar query always gives a row
  return st->column_int64(0);
}

Result<int64_t> SqliteWriter::append_event(const EventRecord& event) {
  const std::string context = "append an event of pipeline " + quote(event.pipeline_name);
  auto st = db_.prepare(
      "INSERT INTO events (time_at_ms, pipeline_name, event_json) VALUES (?, ?, ?)"
      " RETURNING seq");
  if (!st.ok()) return st.status().with_context(context);
  auto row = st->bind_all(event.time_ms, event.pipeline_name, event.json).next();
  if (!row.ok()) return row.status().with_context(context);
  STAGELINE_CHECK(*row);  // RETURNING gives the inserted row
  const int64_t seq = st->column_int64(0);
  // Step to the end so the insert is complete before the statement resets.
  auto end = st->next();
  if (!end.ok()) return end.status().with_context(context);
  return seq;
}

Result<int64_t> SqliteWriter::prune_events(TimestampMs older_than_ms, int64_t keep_rows) {
  STAGELINE_CHECK(keep_rows >= 0);
  const std::string context = "prune the event log";
  auto by_age = db_.prepare("DELETE FROM events WHERE time_at_ms < ?");
  if (!by_age.ok()) return by_age.status().with_context(context + ": by age");
  auto aged = by_age->bind(1, older_than_ms).run();
  if (!aged.ok()) return aged.status().with_context(context + ": by age");
  // The oldest rows beyond the newest keep_rows: those below the seq of the
  // keep_rows-th newest (none when there are not that many).
  auto by_count = keep_rows == 0
                      ? db_.prepare("DELETE FROM events")
                      : db_.prepare(
                            "DELETE FROM events WHERE seq < coalesce("
                            "(SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?), 0)");
  if (!by_count.ok()) return by_count.status().with_context(context + ": by count");
  if (keep_rows > 0) by_count->bind(1, keep_rows - 1);
  auto counted = by_count->run();
  if (!counted.ok()) return counted.status().with_context(context + ": by count");
  return int64_t{*aged} + int64_t{*counted};
}

}  // namespace stageline::store
