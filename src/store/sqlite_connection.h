// store/sqlite_connection: a thin RAII layer over the sqlite3 C API, private
// to the store module. A Connection owns one sqlite3 handle and a cache of
// prepared statements keyed by their SQL text; a Statement is one use of a
// cached statement, and resets it when it goes away. Every SQLite result code
// is checked here and turned into a Status whose message is SQLite's own
// ("database is locked"); callers put in front what they were doing.
// Not thread-safe: the owner (SqliteStore) serializes every call.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace stageline::store::sqlite {

class Connection;

// One use of a cached prepared statement: bind, step, read columns. Move-only;
// its destructor resets the statement and clears its bindings so the next use
// starts clean.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds parameter `index` (1-based). A bind failure is kept and returned by
  // the next next()/run(), so calls can be chained.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind_null(int index);
  // Binds `value`, or NULL when it is empty.
  Statement& bind_or_null(int index, std::string_view value);

  // Binds args to parameters 1, 2, ... in order.
  template <typename... Args>
  Statement& bind_all(const Args&... args) {
    int index = 0;
    (bind(++index, args), ...);
    return *this;
  }

  // Steps once. true: a row is ready for the column accessors; false: done.
  Result<bool> next();

  // Steps until done, ignoring rows. Returns the number of rows the statement
  // inserted, updated or deleted.
  Result<int> run();

  // Column accessors for the current row (0-based). column_text of NULL is "".
  int64_t column_int64(int col) const;
  std::string column_text(int col);
  bool column_is_null(int col) const;

  // Ok unless a column accessor failed (SQLite ran out of memory converting a
  // value); a row decoder checks it once after reading its columns.
  const Status& column_status() const { return column_status_; }

 private:
  friend class Connection;
  Statement(Connection& connection, sqlite3_stmt* stmt, bool* in_use);

  Connection* connection_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
  Status bind_status_;
  Status column_status_;
};

// One open database connection. Owned by one SqliteStore.
class Connection {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" opens a
  // private in-memory database. kIo if SQLite cannot open it.
  static Result<std::unique_ptr<Connection>> open(const std::string& path);

  // Finalizes every cached statement, then closes the handle.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more SQL statements that return no rows we need
  // (migrations, pragmas with no result).
  Status exec(const char* sql);

  // The prepared statement for `sql`, compiled on first use and cached.
  // REQUIRES: the previous Statement for the same `sql` has gone away (a
  // statement is never used twice at once; breaking this aborts).
  Result<Statement> prepare(std::string_view sql);

  // Sets the busy handler to wait up to `timeout_ms` for a lock.
  Status set_busy_timeout(int timeout_ms);

  // True while a transaction is open (SQLite may roll one back by itself
  // after some errors, which this shows).
  bool in_transaction() const;

  // The Status for SQLite result code `rc`, with the connection's message.
  Status error(int rc) const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Cached>> cache_;
};

// An open write transaction: BEGIN IMMEDIATE takes the write lock up front,
// so a transaction never fails half-way for want of it (with a plain BEGIN,
// two readers that both start writing deadlock and one gets SQLITE_BUSY).
// Destroying it without commit() rolls back.
class WriteTransaction {
 public:
  // Waits up to the busy timeout for the write lock. If an earlier rollback
  // failed and left a transaction open, rolls that back first.
  static Result<WriteTransaction> begin(Connection& connection);

  WriteTransaction(WriteTransaction&& other) noexcept;
  WriteTransaction& operator=(WriteTransaction&&) = delete;
  ~WriteTransaction();

  // Commits. On failure the transaction is rolled back and the error returned.
  Status commit();
  // Rolls back; ok if SQLite had already rolled it back after an error.
  Status rollback();

 private:
  explicit WriteTransaction(Connection& connection) : connection_(&connection) {}
  Connection* connection_;
};

// The Status for SQLite result code `rc` (extended) and message `message`: a
// violated primary or unique key is kAlreadyExists, a violated foreign key
// (the parent row is missing) kNotFound, misuse kInternal, and every other
// failure (busy, locked, I/O, corrupt, not a database, full) kIo.
Status status_from_sqlite(int rc, std::string_view message);

}  // namespace stageline::store::sqlite
