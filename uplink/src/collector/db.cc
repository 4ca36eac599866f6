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
