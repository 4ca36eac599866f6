// The local log store: append-only, zstd-compressed segment files with a time and sender index
// in every block header, bounded by size and age, and per-sender statistics persisted beside
// them. The on-disk format is described in docs/logs.md ("Store format").
//
// Durability: a record is durable once the block holding it has been written and fdatasync'ed.
// Blocks are written when full or flush_interval after their first record; fdatasync runs at
// most once per flush_interval (and on Flush() and close). A kill -9 loses at most the records
// of that window; a torn last block is detected by its CRC-32C and cut off on the next Open().
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/ip_address.h"
#include "rules/result.h"
#include "sensor/logs/syslog_config.h"

namespace sensor {

// One received message as handed to the store.
struct LogRecord {
  int64_t receive_time_us = 0;  // wall clock, microseconds since the Unix epoch
  rules::IpAddress sender;
  SyslogTransport transport = SyslogTransport::kUdp;
  int severity = -1;            // 0..7 from the parsed PRI, -1 when there is none
  std::string_view raw;         // the message, transport framing removed, bytes as received
};

// One record read back.
struct StoredLogRecord {
  int64_t receive_time_us = 0;
  rules::IpAddress sender;
  SyslogTransport transport = SyslogTransport::kUdp;
  int severity = -1;
  std::string raw;
};

// Per sender address, over the store's lifetime (persisted in senders.tsv).
struct SenderStats {
  rules::IpAddress sender;
  uint64_t messages = 0;
  uint64_t bytes = 0;
  std::array<uint64_t, 8> severities{};  // by severity 0 (emerg) .. 7 (debug)
  uint64_t no_severity = 0;
  uint64_t dropped = 0;                   // refused by the receiver (rate, queue, policy)
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
  // Messages per wall-clock hour for the 24 hours ending with the hour of last_seen_us:
  // hourly[h % 24] for hour number h = time_us / 3600e6.
  std::array<uint32_t, 24> hourly{};
};

enum class SenderState {
  kActive,    // sent something within quiet_after
  kQuiet,     // was steady (quiet_min_per_hour for quiet_steady_hours), silent for quiet_after
  kInactive,  // silent for quiet_after, but was never steady
};
const char* SenderStateName(SenderState state);
SenderState ClassifySender(const SenderStats& stats, const LogStoreConfig& config, int64_t now_us);

struct LogStoreStats {
  uint64_t appended = 0;          // records accepted by Append()
  uint64_t written = 0;           // records in blocks written to a segment
  uint64_t durable = 0;           // records in blocks written and fdatasync'ed
  uint64_t blocks = 0;
  uint64_t bytes_raw = 0;         // record bytes before compression
  uint64_t bytes_stored = 0;      // block bytes written
  uint64_t fsyncs = 0;
  uint64_t segments = 0;          // segment files now present
  uint64_t segments_dropped = 0;  // removed by the size or age bound (lifetime, persisted)
  uint64_t records_dropped = 0;   // records in those segments (lifetime, persisted)
  uint64_t torn_blocks = 0;       // invalid tail blocks cut off at Open()
  uint64_t write_errors = 0;
  uint64_t queued_bytes = 0;      // appended but not yet written
};

// The writing side. One LogStore per directory (it takes an flock on LOCK). Append() and the
// accessors are thread-safe; a background thread compresses and writes blocks.
class LogStore {
 public:
  virtual ~LogStore() = default;  // flushes, fsyncs and persists the sender statistics
  virtual void Append(const LogRecord& record) = 0;
  // Counts a message the receiver refused from this sender.
  virtual void NoteDropped(const rules::IpAddress& sender, uint64_t count) = 0;
  // Writes and fsyncs everything appended before the call; returns the first write error.
  virtual rules::Result<> Flush() = 0;
  virtual LogStoreStats stats() const = 0;
  virtual std::vector<SenderStats> Senders() const = 0;
  virtual const LogStoreConfig& config() const = 0;
};

rules::Result<std::unique_ptr<LogStore>> OpenLogStore(const LogStoreConfig& config);

// The reading side; works on a directory a running LogStore writes to (it sees what is written).
struct LogQuery {
  int64_t since_us = std::numeric_limits<int64_t>::min();  // receive time, inclusive
  int64_t until_us = std::numeric_limits<int64_t>::max();  // exclusive
  std::optional<rules::IpAddress> sender;                  // uses the block sender index
  std::string host_name;  // parsed HOSTNAME equals this (case-insensitive)
  std::string grep;       // raw message contains this
};

struct LogScanStats {
  uint64_t segments = 0;
  uint64_t blocks_read = 0;     // decompressed
  uint64_t blocks_skipped = 0;  // excluded by the index
  uint64_t bad_blocks = 0;      // CRC or structure errors (the rest of that segment is skipped)
  uint64_t records = 0;         // handed to the callback
};

// Calls on_record for each matching record in receive order per segment, oldest segment first;
// on_record returns false to stop.
rules::Result<LogScanStats> ScanLogStore(
    const std::string& directory, const LogQuery& query,
    const std::function<bool(const StoredLogRecord&)>& on_record);

// The persisted per-sender statistics (senders.tsv).
rules::Result<std::vector<SenderStats>> ReadSenderStats(const std::string& directory);

}  // namespace sensor
