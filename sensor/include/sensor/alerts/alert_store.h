// Where alerts go: an AlertSink. The production one writes Zeek's notice.log (through ZeekLog)
// and the `alerts` table of the inventory's SQLite file (docs/alerts.md, "Storage"). The reading
// side for `utkikk alerts` is here too: ReadAlerts and the table/JSON-lines formatters.
//
//   auto store = sensor::OpenAlertStore(db_path, log_dir, ZeekLogFormat::kJson, "sensor-1");
//   (*store)->OnAlert(alert, {});   // a new condition: notice.log line + row (or row update)
//   (*store)->OnRepeat(alert);      // the same condition inside its window: count/last_seen
//   (*store)->Close(ts_us);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/engine/alert.h"
#include "rules/result.h"
#include "sensor/output/zeek_log.h"

namespace sensor {

// What the Alert record does not carry about the connection behind it (notice.log's id.orig_p
// and proto). Zero: unknown (written unset).
struct AlertConn {
  uint16_t orig_port = 0;
  uint8_t transport = 0;
};

// Named counters of an AlertSink; a snapshot.
struct AlertStoreStats {
  uint64_t alerts = 0;          // OnAlert calls
  uint64_t repeats = 0;         // OnRepeat calls
  uint64_t notices = 0;         // notice.log lines written
  uint64_t renoticed_skipped = 0;  // alerts already noticed in their window by an earlier run
  uint64_t rows_inserted = 0;   // new rows in `alerts`
  uint64_t rows_updated = 0;    // last_seen/count updates written
  uint64_t busy_retries = 0;    // flush points that found the file locked (rows kept)
  uint64_t rows_dropped = 0;    // rows given up: kept rows hit their bound while locked
  uint64_t store_errors = 0;    // SQLite or log write failures (see last_error())
};

// Receives the alerts the Suppressor let through (OnAlert) and the ones it collapsed into them
// (OnRepeat). Called from one thread (the packet thread); implementations are not thread-safe.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void OnAlert(const rules::engine::Alert& alert, const AlertConn& conn) = 0;
  virtual void OnRepeat(const rules::engine::Alert& alert) = 0;
  virtual rules::Result<> Flush() = 0;
  // Flushes and closes; ts_us stamps notice.log's #close line (TSV). Later calls do nothing.
  virtual rules::Result<> Close(int64_t ts_us) = 0;
  virtual AlertStoreStats stats() const = 0;
  virtual std::optional<rules::Error> last_error() const = 0;
};
using AlertSinkPtr = std::unique_ptr<AlertSink>;

// notice.log in log_dir ("" = no notice.log; the file is created at the first notice) and the
// `alerts` table in db_path ("" = no table), created if missing. The table lives in the inventory's file: open the Inventory first, since it
// refuses to create its schema in a file that already holds other tables. A condition (rule id,
// key) has one row; a later alert of it (another run over the same capture, a restart) updates
// last_seen/count, and writes a notice.log line only when the last line's window has passed.
// Repeats are kept in memory and written at Flush/Close or after flush_interval_us of packet time.
// Owned by its creator (OpenAlerting); not thread-safe.
rules::Result<AlertSinkPtr> OpenAlertStore(const std::string& db_path, const std::string& log_dir,
                                           ZeekLogFormat format, const std::string& sensor_id,
                                           int64_t flush_interval_us = 10'000'000);

// notice.log's fields: Zeek's Notice::Info (file_* and remote_location.* always unset) plus
// `severity` and `rule_version` at the end.
std::vector<ZeekField> NoticeFields();

// One row of the `alerts` table.
struct StoredAlert {
  std::string rule_id;
  int rule_version = 1;
  std::string kind;      // "software", "policy", "indicator", "log"
  std::string severity;  // "info" ... "critical"
  std::string title;
  std::string key;       // "10.0.0.5:80/apache:http_server", "10.0.0.5:23/telnet"
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
  uint64_t count = 0;
  std::string src;       // "" when unset
  std::string dst;
  uint16_t port = 0;
  std::string proto;     // "tcp", "udp", "" unknown
  std::string uid;       // flow uid of the first evidence
  std::string evidence;
  std::vector<std::string> cves;
  bool known_exploited = false;
  std::vector<std::string> references;
  std::string advice_nb;
  std::string advice_en;
  std::string sensor_id;
};

// Rows with last_seen >= since_us, newest first. A database without the table (no alert yet)
// gives an empty list; a missing file is an error.
rules::Result<std::vector<StoredAlert>> ReadAlerts(const std::string& db_path, int64_t since_us);

enum class AlertFormat { kTable, kJson };
// Table: a header and one line per alert (last seen, severity, rule, host:port, title, CVEs,
// count), control bytes escaped. JSON: one object per line with every column.
std::string FormatAlerts(const std::vector<StoredAlert>& alerts, AlertFormat format);

}  // namespace sensor
