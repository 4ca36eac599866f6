#include "inventory/sqlite_db.h"

#include <string>

#include "sensor/inventory/inventory.h"

namespace sensor::inventory_internal {
namespace {

using rules::ErrorCode;
using rules::Fail;
using rules::Result;

// 'UTKI': marks the file as an Utkikk inventory (PRAGMA application_id).
constexpr int kApplicationId = 0x55544b49;

// Schema version 1; docs/inventory.md describes every column. Times are microseconds since the
// epoch, packet time. Strings are bounded and escaped (kInventoryMaxStringBytes).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE hosts(
  id INTEGER PRIMARY KEY,
  key_kind TEXT NOT NULL CHECK (key_kind IN ('mac', 'ip')),
  key TEXT NOT NULL,
  mac TEXT,
  vendor TEXT,
  mac_random INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  UNIQUE (key_kind, key));
CREATE TABLE host_addresses(
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id),
  ip TEXT NOT NULL,
  source TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  UNIQUE (host_id, ip));
CREATE INDEX host_addresses_ip ON host_addresses(ip);
CREATE TABLE host_names(
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id),
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  UNIQUE (host_id, name, kind, source));
CREATE TABLE host_os(
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id),
  source TEXT NOT NULL,
  vendor TEXT NOT NULL,
  product TEXT NOT NULL,
  version TEXT NOT NULL,
  family TEXT NOT NULL,
  confidence INTEGER NOT NULL,
  raw TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  UNIQUE (host_id, source, vendor, product, version, family));
CREATE TABLE services(
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id),
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  transport INTEGER NOT NULL,
  protocol TEXT NOT NULL,
  application TEXT NOT NULL,
  exposed INTEGER NOT NULL DEFAULT 0,
  first_exposed_seen INTEGER,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  UNIQUE (host_id, ip, port, transport, protocol));
CREATE TABLE software(
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id),
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  transport INTEGER NOT NULL,
  role TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  vendor TEXT NOT NULL,
  product TEXT NOT NULL,
  version TEXT NOT NULL,
  cpe23 TEXT NOT NULL,
  raw TEXT NOT NULL,
  source TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  UNIQUE (host_id, port, transport, role, kind, vendor, product, version, raw));
CREATE VIEW changes AS
SELECT * FROM (
  SELECT n.first_seen AS ts, n.host_id AS host_id, 'software' AS what, n.port AS port,
         n.transport AS transport, n.role AS role, n.name AS subject,
         (SELECT o.version FROM software o
           WHERE o.host_id = n.host_id AND o.port = n.port AND o.transport = n.transport
             AND o.role = n.role AND o.kind = n.kind AND o.name = n.name AND o.id < n.id
           ORDER BY o.id DESC LIMIT 1) AS old_value,
         n.version AS new_value
    FROM software n
  UNION ALL
  SELECT n.first_seen, n.host_id, 'os', 0, 0, '', n.source,
         (SELECT trim(o.vendor || ' ' || o.product || ' ' || o.version) FROM host_os o
           WHERE o.host_id = n.host_id AND o.source = n.source AND o.id < n.id
           ORDER BY o.id DESC LIMIT 1),
         trim(n.vendor || ' ' || n.product || ' ' || n.version)
    FROM host_os n)
WHERE old_value IS NOT NULL AND old_value <> new_value;
)sql";

Result<int> PragmaInt(sqlite3* db, const char* sql) {
  auto stmt = Prepare(db, sql);
  if (!stmt) return tl::make_unexpected(stmt.error());
  auto row = Step(db, stmt->get(), sql);
  if (!row) return tl::make_unexpected(row.error());
  return *row ? static_cast<int>(ColumnInt(stmt->get(), 0)) : 0;
}

}  // namespace

rules::Error DbError(sqlite3* db, const std::string& context) {
  return rules::Error{ErrorCode::kStore,
                      context + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory")};
}

Result<SqlitePtr> OpenDb(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqlitePtr db(raw);
  if (rc != SQLITE_OK) {
    return tl::make_unexpected(DbError(db.get(), path));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), 2000);
  return db;
}

Result<> Exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string text = msg != nullptr ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    return Fail(ErrorCode::kStore, text);
  }
  return {};
}

Result<StmtPtr> Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) {
    return tl::make_unexpected(DbError(db, "prepare"));
  }
  return stmt;
}

std::string ColumnText(sqlite3_stmt* s, int col) {
  const auto* p = sqlite3_column_text(s, col);
  int n = sqlite3_column_bytes(s, col);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))
                      : std::string();
}

Result<bool> Step(sqlite3* db, sqlite3_stmt* s, const char* what) {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(s);
    return false;
  }
  auto error = DbError(db, what);
  sqlite3_reset(s);
  return tl::make_unexpected(std::move(error));
}

Result<> EnsureSchema(sqlite3* db, const std::string& path, bool writable) {
  // The first read of the header: a garbage file fails here ("file is not a database").
  auto version = PragmaInt(db, "PRAGMA user_version");
  if (!version) return Fail(version.error(), path + ": ");
  auto app_id = PragmaInt(db, "PRAGMA application_id");
  if (!app_id) return Fail(app_id.error(), path + ": ");
  auto tables = PragmaInt(db, "SELECT count(*) FROM sqlite_master");
  if (!tables) return Fail(tables.error(), path + ": ");
  if (*version == 0 && *app_id == 0 && *tables == 0) {
    if (!writable) return Fail(ErrorCode::kStore, path + ": empty database, no inventory yet");
    std::string sql = "BEGIN IMMEDIATE;";
    sql += kSchemaV1;
    sql += "PRAGMA application_id = " + std::to_string(kApplicationId) + ";";
    sql += "PRAGMA user_version = " + std::to_string(kInventorySchemaVersion) + ";COMMIT;";
    auto created = Exec(db, sql.c_str());
    if (!created) {
      (void)Exec(db, "ROLLBACK");
      return Fail(created.error(), path + ": creating the schema: ");
    }
    return {};
  }
  if (*app_id != kApplicationId) {
    return Fail(ErrorCode::kStore, path + ": not an Utkikk inventory database");
  }
  if (*version > kInventorySchemaVersion) {
    return Fail(ErrorCode::kStore, path + ": schema version " + std::to_string(*version) +
                                       " is newer than this program's (" +
                                       std::to_string(kInventorySchemaVersion) + ")");
  }
  if (*version < 1) {
    return Fail(ErrorCode::kStore, path + ": unknown schema version " + std::to_string(*version));
  }
  return {};
}

}  // namespace sensor::inventory_internal
