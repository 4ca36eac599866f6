// The SQLite backend: WAL journal, synchronous=FULL (a commit survives power loss), a busy
// timeout so that the command line can read while the daemon writes, and cached statements.
#include <map>
#include <memory>
#include <string>

#include <sqlite3.h>

#include "c_handles.h"
#include "collector/db.h"

namespace uplink::collector_internal {
namespace {

using internal::CPtr;
using SqlitePtr = CPtr<sqlite3, sqlite3_close_v2>;
using StmtPtr = CPtr<sqlite3_stmt, sqlite3_finalize>;

// Owns the connection and its prepared statements; thread-compatible.
class SqliteDb : public Db {
 public:
  SqliteDb(SqlitePtr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
  ~SqliteDb() override {
    statements_.clear();  // finalize before the connection closes
  }

  std::string_view kind() const override { return "sqlite"; }

  rules::Result<> ExecScript(const std::string& sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string message = err != nullptr ? err : sqlite3_errmsg(db_.get());
      sqlite3_free(err);
      return Failure(message);
    }
    return {};
  }
  rules::Result<> Begin() override { return ExecScript("BEGIN IMMEDIATE"); }
  rules::Result<> Commit() override { return ExecScript("COMMIT"); }
  rules::Result<> Rollback() override {
    if (sqlite3_get_autocommit(db_.get()) != 0)
      return {};  // nothing open (already rolled back)
    return ExecScript("ROLLBACK");
  }

 protected:
  rules::Result<std::vector<SqlRow>> DoRun(std::string_view sql,
                                           std::span<const SqlValue> params) override {
    auto stmt = Prepare(sql);
    if (!stmt)
      return rules::Fail(stmt.error(), "");
    sqlite3_stmt* s = *stmt;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string name = "$" + std::to_string(i + 1);
      const int index = sqlite3_bind_parameter_index(s, name.c_str());
      if (index == 0)
        continue;  // the statement does not use this parameter
      int rc = SQLITE_OK;
      if (const auto* v = std::get_if<int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(s, index, *v);
      } else if (const auto* t = std::get_if<std::string>(&params[i])) {
        rc = sqlite3_bind_text(s, index, t->data(), static_cast<int>(t->size()), SQLITE_STATIC);
      } else {
        rc = sqlite3_bind_null(s, index);
      }
      if (rc != SQLITE_OK)
        return Failure("bind " + name);
    }
    std::vector<SqlRow> rows;
    for (;;) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE)
        break;
      if (rc != SQLITE_ROW) {
        auto failure = Failure(std::string(sql.substr(0, 40)));
        sqlite3_reset(s);
        return failure;
      }
      const int columns = sqlite3_column_count(s);
      SqlRow row(static_cast<size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(s, c) == SQLITE_NULL)
          continue;
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
        row[static_cast<size_t>(c)] = std::string(text != nullptr ? text : "",
                                                  static_cast<size_t>(sqlite3_column_bytes(s, c)));
      }
      rows.push_back(std::move(row));
    }
    sqlite3_reset(s);
    return rows;
  }

 private:
  rules::Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end())
      return it->second.get();
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
      return Failure("prepare");
    }
    StmtPtr stmt(raw);
    sqlite3_stmt* result = stmt.get();
    statements_.emplace(std::string(sql), std::move(stmt));
    return result;
  }

  tl::unexpected<rules::Error> Failure(const std::string& what) const {
    return rules::Fail(rules::ErrorCode::kStore,
                       "sqlite " + path_ + ": " + what + ": " + sqlite3_errmsg(db_.get()));
  }

  SqlitePtr db_;
  std::string path_;
  std::map<std::string, StmtPtr, std::less<>> statements_;
};

}  // namespace

rules::Result<std::unique_ptr<Db>> OpenSqliteDb(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  SqlitePtr db(raw);
  if (rc != SQLITE_OK) {
    return rules::Fail(
        rules::ErrorCode::kStore,
        "sqlite " + path + ": open: " + (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  auto result = std::make_unique<SqliteDb>(std::move(db), path);
  if (auto r = result->ExecScript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"); !r) {
    return rules::Fail(r.error(), "");
  }
  return std::unique_ptr<Db>(std::move(result));
}

}  // namespace uplink::collector_internal
