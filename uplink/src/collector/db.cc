#include "collector/db.h"

#include <vector>

namespace uplink::collector_internal {

rules::Result<std::vector<SqlRow>> Db::Run(std::string_view sql,
                                           std::initializer_list<SqlValue> params) {
  auto rows = DoRun(sql, std::span<const SqlValue>(params.begin(), params.size()));
  if (!rows)
    return rows;
  ++statements_;
  if (hook_ && !hook_(statements_)) {
    return rules::Fail(rules::ErrorCode::kStore,
                       "statement hook refused statement " + std::to_string(statements_));
  }
  return rows;
}

void Db::Queue(std::string_view sql, std::initializer_list<SqlValue> params) {
  if (queued_error_)
    return;                     // the transaction failed already; Flush() reports it
  if (!pipelines() || hook_) {  // tests with a hook count statements one by one
    if (auto r = Run(sql, params); !r)
      queued_error_ = r.error();
    return;
  }
  queue_.push_back(QueuedStatement{sql, std::vector<SqlValue>(params)});
  constexpr size_t kPipelineDepth = 256;  // bounds what either side buffers unread
  if (queue_.size() >= kPipelineDepth)
    RunQueued();
}

void Db::RunQueued() {
  if (queue_.empty())
    return;
  auto r = DoRunPipelined(queue_);
  statements_ += queue_.size();
  queue_.clear();
  if (!r && !queued_error_)
    queued_error_ = r.error();
}

rules::Result<> Db::Flush() {
  RunQueued();
  if (queued_error_) {
    rules::Error error = std::move(*queued_error_);
    queued_error_.reset();
    return tl::make_unexpected(std::move(error));
  }
  return {};
}

void Db::DiscardQueue() {
  queue_.clear();
  queued_error_.reset();
}

rules::Result<> Db::DoRunPipelined(std::span<const QueuedStatement> statements) {
  for (const QueuedStatement& s : statements) {
    auto r = DoRun(s.sql, s.params);
    if (!r)
      return rules::Fail(r.error(), "");
  }
  return {};
}

rules::Result<std::unique_ptr<Db>> OpenDb(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.starts_with(kSqlite)) {
    const std::string path = url.substr(kSqlite.size());
    if (path.empty()) {
      return rules::Fail(rules::ErrorCode::kConfig, "store url '" + url + "' names no file");
    }
    return OpenSqliteDb(path);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return OpenPostgresDb(url);
  }
  return rules::Fail(rules::ErrorCode::kConfig,
                     "store url '" + url + "': expected sqlite://PATH or postgresql://...");
}

}  // namespace uplink::collector_internal
