// Action logs: numbered lines, appended in batches.

#include "store/sqlite_writer.h"

namespace stageline::store {

Result<std::vector<model::LogLine>> SqliteWriter::read_logs(const std::string& action_execution_id,
                                                            int64_t from_seq, int limit) {
  STAGELINE_CHECK(limit >= 1);
  const std::string context = "read logs of action execution " + action_execution_id +
                              " from line " + std::to_string(from_seq);
  auto st = db_.prepare(
      "SELECT seq, logged_at_ms, line FROM action_logs"
      " WHERE action_execution_id = ? AND seq >= ? ORDER BY seq LIMIT ?");
  if (!st.ok()) return st.status().with_context(context);
  st->bind_all(action_execution_id, from_seq, int64_t{limit});
  auto rows =
      collect_rows<model::LogLine>(*st, [&](sqlite::Statement& row) -> Result<model::LogLine> {
        model::LogLine line{action_execution_id, row.column_int64(0), row.column_int64(1),
                            row.column_text(2)};
        if (!row.column_status().ok()) return row.column_status();
        return line;
      });
  if (!rows.ok()) return rows.status().with_context(context);
  return rows;
}

Result<int64_t> SqliteWriter::append_logs(const std::string& action_execution_id,
                                          const std::vector<model::LogLine>& lines) {
  const std::string context = "append " + std::to_string(lines.size()) +
                              " log lines to action execution " + action_execution_id;
  auto found = exists("SELECT 1 FROM action_executions WHERE id = ?", action_execution_id);
  if (!found.ok()) return found.status().with_context(context);
  if (!*found) return Status::not_found("no action execution has this id").with_context(context);

  // The last seq is read inside the same write transaction as the inserts,
  // so two batches for one action execution cannot take the same numbers.
  STAGELINE_CHECK(db_.in_transaction());
  int64_t seq = 0;
  {
    auto st =
        db_.prepare("SELECT coalesce(max(seq), 0) FROM action_logs WHERE action_execution_id = ?");
    if (!st.ok()) return st.status().with_context(context);
    auto row = st->bind(1, action_execution_id).next();
    if (!row.ok()) return row.status().with_context(context);
    STAGELINE_CHECK(*row);  // an aggregate always gives a row
    seq = st->column_int64(0);
  }
  for (const auto& line : lines) {
    ++seq;
    auto st = db_.prepare(
        "INSERT INTO action_logs (action_execution_id, seq, logged_at_ms, line)"
        " VALUES (?, ?, ?, ?)");
    if (!st.ok()) return st.status().with_context(context);
    auto inserted = st->bind_all(action_execution_id, seq, line.time_ms, line.text).run();
    if (!inserted.ok()) return inserted.status().with_context(context);
  }
  return seq;
}

}  // namespace stageline::store
