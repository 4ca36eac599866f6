// The PostgreSQL backend through libpq: parameters sent as text (the server infers their types
// from the statement), results read as text.
#include <map>
#include <memory>
#include <string>

#include "c_handles.h"
#include "collector/db.h"
#include <libpq-fe.h>

namespace uplink::collector_internal {
namespace {

using internal::CPtr;
using PgConnPtr = CPtr<PGconn, PQfinish>;
using PgResultPtr = CPtr<PGresult, PQclear>;

// Removes a password from a URI before it goes into an error message.
std::string Redact(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme)
    return url;
  const size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at)
    return url;
  return url.substr(0, colon) + ":***" + url.substr(at);
}

// Owns the connection and the names of its server-side prepared statements; thread-compatible.
class PostgresDb : public Db {
 public:
  PostgresDb(PgConnPtr conn, std::string url) : conn_(std::move(conn)), url_(Redact(url)) {}

  std::string_view kind() const override { return "postgresql"; }

  rules::Result<> ExecScript(const std::string& sql) override {
    PgResultPtr res(PQexec(conn_.get(), sql.c_str()));
    return Check(res.get(), sql);
  }
  rules::Result<> Begin() override { return ExecScript("BEGIN"); }
  rules::Result<> Commit() override { return ExecScript("COMMIT"); }
  rules::Result<> Rollback() override {
    if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE)
      return {};
    return ExecScript("ROLLBACK");
  }

 protected:
  rules::Result<std::vector<SqlRow>> DoRun(std::string_view sql_view,
                                           std::span<const SqlValue> params) override {
    const std::string sql(sql_view);
    const ParamValues values = Values(params);
    auto name = Prepared(sql, params.size());
    if (!name)
      return rules::Fail(name.error(), "");
    PgResultPtr res(PQexecPrepared(conn_.get(), (*name)->c_str(), static_cast<int>(params.size()),
                                   values.pointers.data(), nullptr, nullptr, 0));
    if (auto ok = Check(res.get(), sql); !ok)
      return rules::Fail(ok.error(), "");
    std::vector<SqlRow> rows;
    const int n = PQntuples(res.get());
    const int columns = PQnfields(res.get());
    rows.reserve(static_cast<size_t>(n));
    for (int r = 0; r < n; ++r) {
      SqlRow row(static_cast<size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(res.get(), r, c) != 0)
          continue;
        row[static_cast<size_t>(c)] = std::string(
            PQgetvalue(res.get(), r, c), static_cast<size_t>(PQgetlength(res.get(), r, c)));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  bool pipelines() const override { return true; }

  // libpq pipeline mode (PostgreSQL 14+): send every statement, one sync, then read the replies.
  rules::Result<> DoRunPipelined(std::span<const QueuedStatement> statements) override {
    std::vector<const std::string*> names;
    names.reserve(statements.size());
    for (const QueuedStatement& s : statements) {  // prepared outside the pipeline
      auto name = Prepared(std::string(s.sql), s.params.size());
      if (!name)
        return rules::Fail(name.error(), "");
      names.push_back(*name);
    }
    if (PQenterPipelineMode(conn_.get()) != 1) {
      return rules::Fail(rules::ErrorCode::kStore,
                         "postgresql " + url_ + ": pipeline mode: " + PQerrorMessage(conn_.get()));
    }
    std::string first_error;
    for (size_t i = 0; i < statements.size() && first_error.empty(); ++i) {
      const ParamValues values = Values(statements[i].params);
      if (PQsendQueryPrepared(conn_.get(), names[i]->c_str(),
                              static_cast<int>(statements[i].params.size()), values.pointers.data(),
                              nullptr, nullptr, 0) != 1) {
        first_error = PQerrorMessage(conn_.get());
      }
    }
    if (PQpipelineSync(conn_.get()) != 1 && first_error.empty()) {
      first_error = PQerrorMessage(conn_.get());
    }
    // Drain every reply up to the sync, even after an error (later ones say "aborted").
    for (;;) {
      PgResultPtr res(PQgetResult(conn_.get()));
      if (!res) {
        if (PQstatus(conn_.get()) != CONNECTION_OK) {
          if (first_error.empty())
            first_error = PQerrorMessage(conn_.get());
          break;
        }
        continue;  // the end of one statement's replies
      }
      const ExecStatusType status = PQresultStatus(res.get());
      if (status == PGRES_PIPELINE_SYNC)
        break;
      if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && first_error.empty()) {
        first_error = PQresultErrorMessage(res.get());
      }
    }
    if (PQexitPipelineMode(conn_.get()) != 1 && first_error.empty()) {
      first_error = PQerrorMessage(conn_.get());
    }
    if (!first_error.empty()) {
      while (!first_error.empty() && (first_error.back() == '\n' || first_error.back() == ' ')) {
        first_error.pop_back();
      }
      return rules::Fail(rules::ErrorCode::kStore,
                         "postgresql " + url_ + ": pipelined statements: " + first_error);
    }
    return {};
  }

 private:
  struct ParamValues {
    std::vector<std::string> texts;
    std::vector<const char*> pointers;
  };
  static ParamValues Values(std::span<const SqlValue> params) {
    ParamValues v;
    v.texts.resize(params.size());
    v.pointers.assign(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (const auto* n = std::get_if<int64_t>(&params[i])) {
        v.texts[i] = std::to_string(*n);
        v.pointers[i] = v.texts[i].c_str();
      } else if (const auto* t = std::get_if<std::string>(&params[i])) {
        v.pointers[i] = t->c_str();
      }
    }
    return v;
  }

  // Prepared once per connection (session-scoped, not undone by a rollback): the server parses
  // and plans each statement once instead of per line. Returns the statement's name.
  rules::Result<const std::string*> Prepared(const std::string& sql, size_t param_count) {
    auto name = prepared_.find(sql);
    if (name == prepared_.end()) {
      const std::string statement = "utkikk_" + std::to_string(prepared_.size());
      PgResultPtr prep(PQprepare(conn_.get(), statement.c_str(), sql.c_str(),
                                 static_cast<int>(param_count), nullptr));
      if (auto ok = Check(prep.get(), sql); !ok)
        return rules::Fail(ok.error(), "");
      name = prepared_.emplace(sql, statement).first;
    }
    return &name->second;
  }

  rules::Result<> Check(const PGresult* res, const std::string& sql) const {
    const ExecStatusType status = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
      return {};
    std::string message = res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn_.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    return rules::Fail(rules::ErrorCode::kStore,
                       "postgresql " + url_ + ": " + sql.substr(0, 40) + ": " + message);
  }

  PgConnPtr conn_;
  std::string url_;
  std::map<std::string, std::string, std::less<>> prepared_;  // SQL -> statement name
};

}  // namespace

rules::Result<std::unique_ptr<Db>> OpenPostgresDb(const std::string& url) {
  PgConnPtr conn(PQconnectdb(url.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    std::string message = conn ? PQerrorMessage(conn.get()) : "out of memory";
    while (!message.empty() && message.back() == '\n')
      message.pop_back();
    return rules::Fail(rules::ErrorCode::kStore,
                       "postgresql " + Redact(url) + ": connect: " + message);
  }
  auto db = std::make_unique<PostgresDb>(std::move(conn), url);
  // Quiet "relation already exists, skipping" notices from CREATE ... IF NOT EXISTS.
  if (auto r = db->ExecScript("SET client_min_messages TO WARNING"); !r) {
    return rules::Fail(r.error(), "");
  }
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace uplink::collector_internal
