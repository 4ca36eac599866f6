// A minimal SQL connection the collector's store is written against, with two backends:
// SQLite (embedded) and PostgreSQL (libpq). Statements use "$1, $2, ..." placeholders, which
// both accept; values are bound as integers, text or NULL, and read back as text.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rules/result.h"

namespace uplink::collector_internal {

using SqlValue = std::variant<std::nullptr_t, int64_t, std::string>;
using SqlRow = std::vector<std::optional<std::string>>;  // nullopt: SQL NULL

// Called after each statement Run() executed successfully; returning false makes Run() fail
// (fault injection for tests). The argument counts statements since the connection opened.
using StatementHook = std::function<bool(uint64_t statement_index)>;

// One connection. Owns its C handle; thread-compatible.
class Db {
 public:
  virtual ~Db() = default;
  virtual std::string_view kind() const = 0;  // "sqlite" or "postgresql"
  // Several statements without parameters (the schema).
  virtual rules::Result<> ExecScript(const std::string& sql) = 0;
  virtual rules::Result<> Begin() = 0;
  virtual rules::Result<> Commit() = 0;
  virtual rules::Result<> Rollback() = 0;

  // One statement with parameters; the rows it returns (none for INSERT/UPDATE).
  rules::Result<std::vector<SqlRow>> Run(std::string_view sql,
                                         std::initializer_list<SqlValue> params = {});
  void set_statement_hook(StatementHook hook) { hook_ = std::move(hook); }

  // Statements whose rows are not needed (INSERT, UPSERT): run at once, or, where the backend
  // pipelines (PostgreSQL), sent in groups without waiting for each reply. The first error is
  // returned by Flush(), which must come before the transaction commits or anything is read.
  void Queue(std::string_view sql, std::initializer_list<SqlValue> params);
  rules::Result<> Flush();
  void DiscardQueue();

 protected:
  struct QueuedStatement {
    std::string_view sql;  // a string that outlives the queue (the statements are constants)
    std::vector<SqlValue> params;
  };
  // True when the backend implements DoRunPipelined.
  virtual bool pipelines() const { return false; }
  virtual rules::Result<> DoRunPipelined(std::span<const QueuedStatement> statements);

  virtual rules::Result<std::vector<SqlRow>> DoRun(std::string_view sql,
                                                   std::span<const SqlValue> params) = 0;

 private:
  void RunQueued();

  StatementHook hook_;
  uint64_t statements_ = 0;
  std::vector<QueuedStatement> queue_;
  std::optional<rules::Error> queued_error_;
};

rules::Result<std::unique_ptr<Db>> OpenSqliteDb(const std::string& path);
rules::Result<std::unique_ptr<Db>> OpenPostgresDb(const std::string& url);
// Chooses the backend from the URL scheme (see CollectorConfig::store_url).
rules::Result<std::unique_ptr<Db>> OpenDb(const std::string& url);

}  // namespace uplink::collector_internal
