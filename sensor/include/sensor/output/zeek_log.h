// Zeek-compatible log files: conn.log, weird.log and stats.log as Zeek JSON lines
// (LogAscii::use_json=T) or Zeek TSV with its header lines, so analysts can use zeek-cut, jq and
// their existing tooling. All times are packet times passed in by the caller, so a pcap replay
// writes the same bytes every time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/ip_address.h"
#include "rules/result.h"
#include "sensor/flow/flow_record.h"

namespace sensor {

// Mirrors sensor::LogFormat (config.h includes the flow headers, so it cannot be included here);
// the pipeline maps one onto the other.
enum class ZeekLogFormat { kJson, kTsv };

// The Zeek types a field can have; the TSV #types line names them.
enum class ZeekType {
  kTime,
  kString,
  kAddr,
  kPort,
  kEnum,
  kInterval,
  kCount,
  kBool,
  kDouble,
  kStringSet,     // set[string]
  kStringVector,  // vector[string]
  kIntervalVector,  // vector[interval]
};

struct ZeekField {
  std::string name;  // e.g. "id.orig_h"
  ZeekType type;
};

// One log stream, <directory>/<path>.log. A record is written by calling Begin(), then exactly one
// setter (or Unset()) per field in field order, then End(). Lines are built in memory and written
// in large chunks; Flush() pushes them to the file, Close() (or the destructor) flushes and, for
// TSV, writes the #close line.
// JSON: an existing file is appended to. TSV: a new or empty file starts with the header block; an
// existing one gets a new header block appended (zeek-cut re-reads #fields).
// Owned by its creator; not thread-safe.
class ZeekLog {
 public:
  static rules::Result<std::unique_ptr<ZeekLog>> Open(const std::string& directory,
                                                      const std::string& path,
                                                      std::vector<ZeekField> fields,
                                                      ZeekLogFormat format, int64_t open_time_us);
  ~ZeekLog();
  ZeekLog(const ZeekLog&) = delete;
  ZeekLog& operator=(const ZeekLog&) = delete;

  void Begin();
  void Time(int64_t us);
  void String(std::string_view s);
  void Addr(const rules::IpAddress& a);
  void Port(uint16_t p);
  void Enum(std::string_view s);
  void Interval(int64_t us);
  void Count(uint64_t n);
  void Bool(bool b);
  void Double(double d);
  void StringSet(std::span<const std::string> items);     // written in the given order
  void StringVector(std::span<const std::string> items);
  void IntervalVector(std::span<const int64_t> items_us);
  void Unset();
  // Ends the record; writes the buffer to the file when it is large. An error names the file.
  rules::Result<> End();

  rules::Result<> Flush();
  // Flushes and closes; TSV gets "#close <close_time>". Later calls do nothing.
  rules::Result<> Close(int64_t close_time_us);

  const std::string& file_path() const;
  const std::vector<ZeekField>& fields() const;

 private:
  class Impl;
  explicit ZeekLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// conn.log: one line per ended flow (and per interim report of a long-lived flow).
// Owned by its creator; not thread-safe.
class ConnLog {
 public:
  static rules::Result<std::unique_ptr<ConnLog>> Open(const std::string& directory,
                                                      ZeekLogFormat format, int64_t open_time_us);
  // Zeek's conn.log fields plus `app` (nDPI's application name) at the end.
  static std::vector<ZeekField> Fields();

  rules::Result<> Write(const FlowRecord& flow, bool local_orig, bool local_resp);
  rules::Result<> Flush() { return log_->Flush(); }
  rules::Result<> Close(int64_t close_time_us) { return log_->Close(close_time_us); }

 private:
  explicit ConnLog(std::unique_ptr<ZeekLog> log) : log_(std::move(log)) {}
  std::unique_ptr<ZeekLog> log_;
};

// One weird.log record. Packet-level weirds have no flow: uid empty and id null (unset fields).
struct WeirdRecord {
  int64_t ts_us = 0;
  std::string_view uid;
  const FlowEndpoints* id = nullptr;
  std::string_view name;    // e.g. "truncated_IP"
  std::string_view addl;    // extra detail, "" = unset
  bool notice = false;
  std::string_view peer;    // the sensor id
  std::string_view source;  // "" = unset; e.g. "IP", "TCP"
};

// weird.log with Zeek's fields. Owned by its creator; not thread-safe.
class WeirdLog {
 public:
  static rules::Result<std::unique_ptr<WeirdLog>> Open(const std::string& directory,
                                                       ZeekLogFormat format, int64_t open_time_us);
  static std::vector<ZeekField> Fields();

  rules::Result<> Write(const WeirdRecord& weird);
  rules::Result<> Flush() { return log_->Flush(); }
  rules::Result<> Close(int64_t close_time_us) { return log_->Close(close_time_us); }

 private:
  explicit WeirdLog(std::unique_ptr<ZeekLog> log) : log_(std::move(log)) {}
  std::unique_ptr<ZeekLog> log_;
};

// One stats.log record (per stats interval), with Zeek-like names. Counters named *_conns without
// "active_" count flows created in the interval; the capture counters are unset when the source
// cannot tell (e.g. a pcap file).
struct SensorStatsSnapshot {
  int64_t ts_us = 0;
  std::string peer;                 // the sensor id
  uint64_t mem = 0;                 // resident memory, MiB
  uint64_t pkts_proc = 0;           // packets processed in the interval
  uint64_t bytes_recv = 0;          // bytes received in the interval
  std::optional<uint64_t> pkts_dropped;     // dropped by the kernel/capture (pcap ps_drop)
  std::optional<uint64_t> pkts_link;        // seen on the link (pcap ps_recv)
  std::optional<uint64_t> pkts_if_dropped;  // dropped by the interface (pcap ps_ifdrop)
  uint64_t active_tcp_conns = 0;
  uint64_t active_udp_conns = 0;
  uint64_t active_icmp_conns = 0;
  uint64_t tcp_conns = 0;
  uint64_t udp_conns = 0;
  uint64_t icmp_conns = 0;
  uint64_t flows_evicted = 0;
  uint64_t dpi_states = 0;
  uint64_t weirds = 0;
};

// stats.log. Owned by its creator; not thread-safe.
class StatsLog {
 public:
  static rules::Result<std::unique_ptr<StatsLog>> Open(const std::string& directory,
                                                       ZeekLogFormat format, int64_t open_time_us);
  static std::vector<ZeekField> Fields();

  rules::Result<> Write(const SensorStatsSnapshot& stats);
  rules::Result<> Flush() { return log_->Flush(); }
  rules::Result<> Close(int64_t close_time_us) { return log_->Close(close_time_us); }

 private:
  explicit StatsLog(std::unique_ptr<ZeekLog> log) : log_(std::move(log)) {}
  std::unique_ptr<ZeekLog> log_;
};

// Zeek's `proto` enum value for an IP protocol number: "tcp", "udp", "icmp" or
// "unknown_transport".
std::string_view ZeekProtoName(uint8_t ip_proto);

}  // namespace sensor
