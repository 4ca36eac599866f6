// The passive inventory: hosts, their addresses, names, OS guesses, services and software, with
// first and last seen, kept in one SQLite file that survives restarts (schema: docs/inventory.md),
// and the Zeek-compatible known_hosts.log, known_services.log and software.log.
//
//   auto inv = sensor::Inventory::Open("/var/lib/utkikk/inventory.db", config);
//   if (!inv) { log(inv.error().message); ... }  // "...: file is not a database"
//   extractors.reset(new ExtractorSet(..., **inv, ...));   // Inventory is a rules::FactSink
//   ...
//   (*inv)->Close();
//
// Hosts are keyed by MAC when a fact names one (the local segment) and by IP otherwise, so a DHCP
// re-lease does not carry one machine's OS over to the next. A fact without a MAC whose IP is
// currently held by a known MAC (the latest address fact or MAC-bearing fact for that IP) goes
// to that MAC's host.
//
// Cost: every fact is first looked up in an in-memory cache of what is stored (key -> last seen);
// SQLite is touched only for a new row or when last_seen has moved by more than
// last_seen_granularity_us (the exact latest last_seen is written on Flush/Close). Writes are
// batched in transactions committed every batch_facts writes or batch_interval_us of packet time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/facts.h"
#include "rules/result.h"
#include "sensor/output/zeek_log.h"

namespace sensor {

inline constexpr const char* kDefaultInventoryPath = "/var/lib/utkikk/inventory.db";
// The schema version written to PRAGMA user_version.
inline constexpr int kInventorySchemaVersion = 1;
// Every string from a fact is stored escaped (bytes that are not printable UTF-8 become \xNN)
// and cut to at most this many bytes, on a character boundary.
inline constexpr size_t kInventoryMaxStringBytes = 1024;

struct InventoryConfig {
  // Where known_hosts.log, known_services.log and software.log go; "" writes no logs.
  std::string log_dir;
  ZeekLogFormat log_format = ZeekLogFormat::kJson;
  // Directory of Debian's ieee-data CSV files (oui.csv, and mam.csv/oui36.csv when present),
  // read at Open; "" or a missing directory: no vendor names.
  std::string oui_dir = "/usr/share/ieee-data";
  size_t batch_facts = 2000;                     // commit after this many row writes
  int64_t batch_interval_us = 1'000'000;         // ... or this much packet time
  int64_t last_seen_granularity_us = 60'000'000; // last_seen moves in SQLite at most this often
  size_t max_cache_entries = 1'000'000;          // the cache is dropped (and rebuilt) beyond this
};

// One device that sends syslog to the sensor, as the `log_senders` table keeps it (one row per
// sender address, replaced on every update; docs/logs.md, "Per-sender statistics").
struct InventoryLogSender {
  std::string sender;  // the address, as text
  uint64_t messages = 0, bytes = 0;
  std::array<uint64_t, 8> severities{};  // by syslog severity 0 (emerg) .. 7 (debug)
  uint64_t no_severity = 0;              // messages without a PRI
  uint64_t dropped = 0;                  // refused by the receiver (policy, rate, queue)
  int64_t first_seen_us = 0, last_seen_us = 0;  // receive time (wall clock)
  bool quiet = false;  // was steady, then silent (log-sender-quiet)
};

// Named counters; a snapshot.
struct InventoryStats {
  uint64_t facts = 0;             // facts received
  uint64_t cache_hits = 0;        // facts that needed no SQL
  uint64_t rows_inserted = 0;     // new rows (hosts, addresses, names, OS, services, software)
  uint64_t rows_touched = 0;      // last_seen / exposure updates written
  uint64_t commits = 0;           // transactions committed
  uint64_t strings_cut = 0;       // strings longer than kInventoryMaxStringBytes
  uint64_t strings_escaped = 0;   // strings with bytes that had to be escaped
  uint64_t store_errors = 0;      // SQLite or log write failures (see last_error())
  uint64_t cache_resets = 0;      // times the cache hit max_cache_entries
};

// Owned by the pipeline (one per sensor); not thread-safe: call it from one thread (the packet
// thread). The SQLite file may be read at the same time by other processes (WAL).
class Inventory : public rules::FactSink {
 public:
  // Opens or creates the database (and the log directory's files lazily, at the first record).
  // Fails with kStore for a file that is not an inventory database or has a newer schema.
  static rules::Result<std::unique_ptr<Inventory>> Open(const std::string& path,
                                                        const InventoryConfig& config);
  ~Inventory() override;  // Close(), errors counted
  Inventory(const Inventory&) = delete;
  Inventory& operator=(const Inventory&) = delete;

  void OnAddress(const rules::AddressFact& fact) override;
  void OnName(const rules::NameFact& fact) override;
  void OnOs(const rules::OsFact& fact) override;
  void OnService(const rules::ServiceFact& fact) override;
  void OnSoftware(const rules::SoftwareFact& fact) override;

  // Replaces the rows of these senders in `log_senders` (others stay) and commits.
  rules::Result<> SetLogSenders(const std::vector<InventoryLogSender>& senders);

  // Writes pending last_seen values, commits, flushes the logs.
  rules::Result<> Flush();
  // Flush, then close the logs (at the latest packet time seen) and the database. Later calls
  // and facts after Close do nothing.
  rules::Result<> Close();

  InventoryStats stats() const;
  // The most recent store error, if any (facts return nothing, so errors are kept here).
  std::optional<rules::Error> last_error() const;

  class Impl;  // public only for the helpers in src/inventory/

 private:
  explicit Inventory(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sensor
