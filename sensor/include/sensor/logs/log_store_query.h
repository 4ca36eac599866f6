// What `utkikk logs` needs around ScanLogStore: reading the --since/--until arguments and
// rendering stored records and sender listings as text or JSON (docs/logs.md, "Queries").
// Free functions; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sensor/logs/log_store.h"

namespace sensor {

// Accepts "now", a duration back from now ("90s", "15m", "2h", "7d"), "@UNIX_SECONDS", a date
// "YYYY-MM-DD" (00:00 UTC) or RFC 3339 "YYYY-MM-DDTHH:MM[:SS[.frac]][Z|+HH:MM|-HH:MM]" (no zone
// = UTC; a space may replace the T). Returns microseconds since the epoch.
std::optional<int64_t> ParseQueryTime(std::string_view text, int64_t now_us);

// "2024-05-01T10:00:00.123456Z".
std::string FormatTimeUs(int64_t time_us);

// One line, no newline: "TIME SENDER TRANSPORT RAW" with control and non-UTF-8-safe bytes
// escaped (\n, \t, \xHH), so one record is always one line.
void AppendRecordText(const StoredLogRecord& record, std::string* out);
// One JSON object, no newline: time, sender, transport, severity, raw, and `parsed` (the
// SyslogMessage JSON of docs/logs.md, "Output").
void AppendRecordJson(const StoredLogRecord& record, std::string* out);

// One sender line / object with its state (active, quiet, inactive) at now_us.
void AppendSenderText(const SenderStats& sender, SenderState state, std::string* out);
void AppendSenderJson(const SenderStats& sender, SenderState state, std::string* out);

}  // namespace sensor
