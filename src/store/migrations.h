// store/migrations: the numbered schema migrations of the SQLite store and
// the code that applies them. Private to the store module; the resulting
// schema is documented in docs/store-schema.md, which lists every migration.
//
// A migration is never edited once released: a change to the schema is a new
// migration with the next number. Each is applied in its own write
// transaction together with its schema_version row, so a crash leaves the
// database at the previous version or the next, never between. Applying is
// idempotent: reopening a migrated database applies nothing.
#pragma once

#include <span>

#include "base/status.h"
#include "store/sqlite_connection.h"

namespace stageline::store {

struct Migration {
  int version;              // 1, 2, 3, ... without gaps
  const char* description;  // one line, shown in schema_version
  const char* sql;          // one or more statements
};

// Every migration this build knows, in version order.
std::span<const Migration> migrations();

// The highest version in migrations().
int latest_schema_version();

// The value of PRAGMA application_id in a Stageline database ("STLN").
inline constexpr int kApplicationId = 0x53544C4E;

// Brings the database on `connection` up to latest_schema_version(). Refuses
// (kFailedPrecondition) a database that is not Stageline's (a foreign
// application_id, or tables but no schema_version) or whose schema version is
// newer than this build's; kIo if SQLite fails.
Status migrate(sqlite::Connection& connection);

// The schema version of the database on `connection` (0 if none).
Result<int> read_schema_version(sqlite::Connection& connection);

}  // namespace stageline::store
