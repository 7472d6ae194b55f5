#include "store/sqlite_connection.h"

#include <sqlite3.h>

#include <climits>

namespace stageline::store::sqlite {

Status status_from_sqlite(int rc, std::string_view message) {
  std::string text(message);
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return {StatusCode::kAlreadyExists, std::move(text)};
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return {StatusCode::kNotFound, std::move(text)};
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
      return Status::internal(std::move(text));
    default:
      return Status::io(std::move(text));
  }
}

// ---- Statement ---------------------------------------------------------------

Statement::Statement(Connection& connection, sqlite3_stmt* stmt, bool* in_use)
    : connection_(&connection), stmt_(stmt), in_use_(in_use) {
  *in_use_ = true;
}

Statement::Statement(Statement&& other) noexcept
    : connection_(other.connection_),
      stmt_(other.stmt_),
      in_use_(other.in_use_),
      bind_status_(std::move(other.bind_status_)),
      column_status_(std::move(other.column_status_)) {
  other.stmt_ = nullptr;
  other.in_use_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  // sqlite3_reset returns the error of the last step, which next()/run()
  // already reported; sqlite3_clear_bindings always returns SQLITE_OK.
  static_cast<void>(sqlite3_reset(stmt_));
  static_cast<void>(sqlite3_clear_bindings(stmt_));
  *in_use_ = false;
}

Statement& Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = connection_->error(rc);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  if (value.size() > static_cast<size_t>(INT_MAX)) {
    if (bind_status_.ok()) bind_status_ = Status::invalid("a text value is larger than 2 GiB");
    return *this;
  }
  // SQLITE_TRANSIENT: SQLite copies the bytes, so `value` may die after this.
  int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                             SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = connection_->error(rc);
  return *this;
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = connection_->error(rc);
  return *this;
}

Statement& Statement::bind_or_null(int index, std::string_view value) {
  return value.empty() ? bind_null(index) : bind(index, value);
}

Result<bool> Statement::next() {
  if (!bind_status_.ok()) return bind_status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return connection_->error(rc);
}

Result<int> Statement::run() {
  for (;;) {
    auto row = next();
    if (!row.ok()) return row.status();
    if (!*row) break;
  }
  return sqlite3_changes(sqlite3_db_handle(stmt_));
}

int64_t Statement::column_int64(int col) const { return sqlite3_column_int64(stmt_, col); }

bool Statement::column_is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::string Statement::column_text(int col) {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) {
    // NULL text for a non-NULL value means the conversion ran out of memory.
    if (sqlite3_column_type(stmt_, col) != SQLITE_NULL && column_status_.ok())
      column_status_ = connection_->error(SQLITE_NOMEM);
    return {};
  }
  int size = sqlite3_column_bytes(stmt_, col);
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

// ---- Connection --------------------------------------------------------------

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path) {
  sqlite3* db = nullptr;
  // NOMUTEX: SqliteStore serializes every use of the connection itself.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status status = status_from_sqlite(rc, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    // A failed open may still allocate a handle, which must be closed; with
    // no statements prepared, close cannot fail.
    if (db != nullptr) STAGELINE_CHECK(sqlite3_close(db) == SQLITE_OK);
    return status;
  }
  // Extended codes tell a primary-key violation from other constraint errors.
  rc = sqlite3_extended_result_codes(db, 1);
  if (rc != SQLITE_OK) {
    Status status = status_from_sqlite(rc, sqlite3_errstr(rc));
    STAGELINE_CHECK(sqlite3_close(db) == SQLITE_OK);
    return status;
  }
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  for (auto& [sql, cached] : cache_) {
    STAGELINE_CHECK(!cached->in_use);  // a Statement outlived its connection
    // finalize repeats the last step's error, which was already reported.
    static_cast<void>(sqlite3_finalize(cached->stmt));
  }
  // Every statement is finalized, so close can only fail on a bug.
  STAGELINE_CHECK(sqlite3_close(db_) == SQLITE_OK);
}

Status Connection::error(int rc) const {
  // The handle's message belongs to the last failed call; when the code
  // differs (an error raised here, not by SQLite) use the generic text.
  const char* message =
      sqlite3_extended_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  return status_from_sqlite(rc, message);
}

Status Connection::exec(const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string text = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return status_from_sqlite(sqlite3_extended_errcode(db_), text);
}

Result<Statement> Connection::prepare(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return error(rc);
    // Only comments or whitespace: a bug in the caller's SQL.
    STAGELINE_CHECK(stmt != nullptr);
    auto cached = std::make_unique<Cached>();
    cached->stmt = stmt;
    it = cache_.emplace(std::string(sql), std::move(cached)).first;
  }
  STAGELINE_CHECK(!it->second->in_use);  // the same statement used twice at once
  return Statement(*this, it->second->stmt, &it->second->in_use);
}

Status Connection::set_busy_timeout(int timeout_ms) {
  int rc = sqlite3_busy_timeout(db_, timeout_ms);
  if (rc != SQLITE_OK) return error(rc);
  return {};
}

bool Connection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace stageline::store::sqlite

namespace stageline::store::sqlite {

// ---- WriteTransaction --------------------------------------------------------

Result<WriteTransaction> WriteTransaction::begin(Connection& connection) {
  if (connection.in_transaction()) {
    // Left open by a rollback that failed in a destructor; its writes must
    // not reach the next commit.
    auto rolled_back = connection.exec("ROLLBACK");
    if (!rolled_back.ok()) return rolled_back.with_context("roll back an earlier transaction");
  }
  auto begun = connection.exec("BEGIN IMMEDIATE");
  if (!begun.ok()) return begun.with_context("begin transaction");
  return WriteTransaction(connection);
}

WriteTransaction::WriteTransaction(WriteTransaction&& other) noexcept
    : connection_(other.connection_) {
  other.connection_ = nullptr;
}

WriteTransaction::~WriteTransaction() {
  if (connection_ == nullptr) return;
  // A failure leaves the transaction open; the next begin() rolls it back
  // before starting, so nothing written here is ever committed.
  static_cast<void>(rollback());
}

Status WriteTransaction::commit() {
  Connection* connection = connection_;
  if (connection == nullptr) return Status::internal("commit: the transaction has ended");
  connection_ = nullptr;
  if (!connection->in_transaction())
    return Status::io("commit: SQLite rolled the transaction back after an earlier error");
  auto committed = connection->exec("COMMIT");
  if (committed.ok()) return {};
  // If this rollback fails too, the next begin() retries it.
  if (connection->in_transaction()) static_cast<void>(connection->exec("ROLLBACK"));
  return committed.with_context("commit");
}

Status WriteTransaction::rollback() {
  Connection* connection = connection_;
  connection_ = nullptr;
  if (connection == nullptr || !connection->in_transaction()) return {};
  auto rolled_back = connection->exec("ROLLBACK");
  if (!rolled_back.ok()) return rolled_back.with_context("roll back");
  return {};
}

}  // namespace stageline::store::sqlite
