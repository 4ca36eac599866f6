// utkikk alerts: the alerts the sensor raised (the `alerts` table of the inventory database,
// docs/alerts.md) as a table for people or JSON lines for machines.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "commands.h"
#include "sensor/alerts/alert_store.h"
#include "sensor/inventory/inventory.h"
#include "sensor/logs/log_store_query.h"

namespace utkikk_cli {

int RunAlerts(const Args& args);

namespace {

constexpr const char* kAlertsUsage =
    "usage: utkikk alerts [--db PATH] [--since TIME] [--format table|json]\n"
    "  --db PATH      the inventory database (default /var/lib/utkikk/inventory.db)\n"
    "  --since TIME   alerts last seen at or after TIME: RFC 3339 (2024-05-01T10:00:00Z),\n"
    "                 a date, @UNIX, or back from now (90m, 24h, 7d)\n"
    "  --format F     table (default) or json (one object per line)\n";

int BadArgument(const std::string& message) {
  std::fprintf(stderr, "utkikk alerts: %s\n%s", message.c_str(), kAlertsUsage);
  return 2;
}

}  // namespace

int RunAlerts(const Args& args) {
  std::string db = sensor::kDefaultInventoryPath;
  std::string format = "table";
  std::string since;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--db" || a == "--format" || a == "--since") {
      if (i + 1 >= args.size() || args[i + 1].empty()) return BadArgument(a + " needs a value");
      (a == "--db" ? db : a == "--format" ? format : since) = args[++i];
    } else if (a == "--help" || a == "-h") {
      std::fputs(kAlertsUsage, stdout);
      return 0;
    } else {
      return BadArgument("bad argument '" + a + "'");
    }
  }
  sensor::AlertFormat fmt;
  if (format == "table") {
    fmt = sensor::AlertFormat::kTable;
  } else if (format == "json") {
    fmt = sensor::AlertFormat::kJson;
  } else {
    return BadArgument("--format must be table or json, not '" + format + "'");
  }
  int64_t since_us = INT64_MIN;
  if (!since.empty()) {
    int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto t = sensor::ParseQueryTime(since, now_us);
    if (!t) return BadArgument("--since: cannot read '" + since + "' as a time");
    since_us = *t;
  }
  auto alerts = sensor::ReadAlerts(db, since_us);
  if (!alerts) {
    std::fprintf(stderr, "utkikk alerts: %s\n", alerts.error().message.c_str());
    return 1;
  }
  std::string text = sensor::FormatAlerts(*alerts, fmt);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace utkikk_cli
