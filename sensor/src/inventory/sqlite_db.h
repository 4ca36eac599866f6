// Thin RAII over the SQLite C API for the inventory: the connection and prepared statements,
// bound parameters only. Private to sensor_inventory. Not thread-safe (one owner).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "capture/c_handles.h"
#include "rules/result.h"

namespace sensor::inventory_internal {

using SqlitePtr = CPtr<sqlite3, sqlite3_close_v2>;
using StmtPtr = CPtr<sqlite3_stmt, sqlite3_finalize>;

// "<context>: <sqlite message>" as a kStore error.
rules::Error DbError(sqlite3* db, const std::string& context);

// Opens path with flags (SQLITE_OPEN_*); the error names the path.
rules::Result<SqlitePtr> OpenDb(const std::string& path, int flags);
rules::Result<> Exec(sqlite3* db, const char* sql);
rules::Result<StmtPtr> Prepare(sqlite3* db, std::string_view sql);

// Parameter binding, 1-based like SQLite.
inline void Bind(sqlite3_stmt* s, int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
inline void Bind(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
inline void BindNull(sqlite3_stmt* s, int i) { sqlite3_bind_null(s, i); }

// A column as a string ("" for NULL); length-aware, so embedded bytes are kept.
std::string ColumnText(sqlite3_stmt* s, int col);
inline int64_t ColumnInt(sqlite3_stmt* s, int col) { return sqlite3_column_int64(s, col); }
inline bool ColumnIsNull(sqlite3_stmt* s, int col) {
  return sqlite3_column_type(s, col) == SQLITE_NULL;
}

// Steps a statement: true when a row is there, false when done; resets on done or error.
rules::Result<bool> Step(sqlite3* db, sqlite3_stmt* s, const char* what);

// Reads PRAGMA user_version and checks the schema: creates it in an empty database, fails for a
// foreign or newer one. `path` is for messages.
rules::Result<> EnsureSchema(sqlite3* db, const std::string& path, bool writable);

}  // namespace sensor::inventory_internal
