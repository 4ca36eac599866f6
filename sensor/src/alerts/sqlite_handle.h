// The alert store's own small RAII over the SQLite C API (its connection is separate from the
// inventory's, in the same file). Private to sensor_alerts; not thread-safe (one owner).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "rules/result.h"

namespace sensor::alerts_internal {

struct DbClose {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

inline rules::Error StoreError(sqlite3* db, const std::string& context) {
  return {rules::ErrorCode::kStore,
          context + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory")};
}

inline rules::Result<Db> OpenSqlite(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return tl::make_unexpected(StoreError(db.get(), path));
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

inline rules::Result<Stmt> PrepareSql(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return tl::make_unexpected(StoreError(db, "prepare"));
  return stmt;
}

inline void BindText(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

inline std::string TextAt(sqlite3_stmt* s, int col) {
  const auto* p = sqlite3_column_text(s, col);
  int n = sqlite3_column_bytes(s, col);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))
                      : std::string();
}

}  // namespace sensor::alerts_internal
