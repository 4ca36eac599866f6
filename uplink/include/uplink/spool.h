// The spool: a directory of closed summary batches between the sensor (writer) and the uplink
// (reader). File layout and naming are specified in docs/formats.md ("Spool").
//
// Who numbers what: the sensor, which never holds the signing key, numbers its batches with a
// *batch sequence* (SpoolWriter, counter file "batch.seq" in the spool). The batch sequence
// orders the spool and names the files. The uplink, which holds the key, gives each envelope
// its own *envelope sequence* from its own SequenceCounter when it seals a batch; the collector
// de-duplicates on (sensor id, envelope sequence).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/result.h"
#include "uplink/payload_type.h"

namespace uplink {

// Which batches go first when the spool is full: the lowest class, oldest first. Gap batches
// (which report drops) are never dropped to make room; they have their own small reserve.
enum class Priority : uint8_t {
  kBulk = 0,    // flow aggregates
  kNormal = 1,  // log statistics, health
  kHigh = 2,    // inventory, alerts
  kGap = 3,     // gap reports
};
Priority DefaultPriority(PayloadType type);

struct Batch {
  PayloadType payload_type = PayloadType::kInventory;
  Priority priority = Priority::kHigh;
  uint64_t batch_seq = 0;       // assigned by SpoolWriter::Put (ignored on input)
  int64_t created_at_us = 0;    // when the sensor closed the batch, µs since the epoch
  int64_t window_start_us = 0;  // time window the batch covers
  int64_t window_end_us = 0;
  std::string json_lines;  // must pass ValidJsonLines
};

// Makes a batch with the default priority for its type.
Batch MakeBatch(PayloadType type, int64_t created_at_us, int64_t window_start_us,
                int64_t window_end_us, std::string json_lines);

struct SpoolConfig {
  std::string dir;                                 // created (0700) by the writer if missing
  uint64_t max_bytes = uint64_t{256} << 20;        // bound for all non-gap batch files
  uint64_t gap_reserve_bytes = uint64_t{1} << 20;  // separate bound for gap batch files
  uint32_t max_batch_bytes = uint32_t{64} << 20;   // largest JSON-lines payload of one batch
  uint64_t sequence_block = 1024;                  // batch.seq reservation block
};

struct SpoolWriterStats {
  uint64_t batches_put = 0;
  uint64_t bytes_put = 0;        // file bytes
  uint64_t dropped_batches = 0;  // removed to make room, or refused (all types)
  uint64_t dropped_bytes = 0;
  std::array<uint64_t, 7> dropped_by_type{};  // index = PayloadType value
  uint64_t refused_batches = 0;               // new batches that did not fit (also in dropped_*)
  uint64_t gap_batches_written = 0;
  uint64_t gap_records_lost = 0;    // drops that could not be recorded (gap reserve full)
  uint64_t temp_files_removed = 0;  // leftovers of a crash, cleaned at Open
};

struct PutOutcome {
  uint64_t batch_seq = 0;
  uint32_t dropped_batches = 0;  // older batches removed to make room for this one
};

// Writes batches into the spool. Owns a lock on "<dir>/.lock" (flock), so one writer per spool
// directory at a time. Not thread-safe: one thread calls Put(). The reader may run
// concurrently in another process.
class SpoolWriter {
 public:
  // Creates the directory (and quarantine/) if needed, takes the lock, removes leftover
  // temporary files of a crash, and opens the batch sequence counter.
  static rules::Result<std::unique_ptr<SpoolWriter>> Open(const SpoolConfig& config);
  ~SpoolWriter();

  // Writes the batch atomically (hidden temporary file, fsync, rename, fsync of the directory).
  // When the spool would exceed max_bytes, drops the lowest-priority, oldest batches whose class
  // is not above this batch's, and records every drop in a gap batch written before the victims
  // are removed. If even that does not make room, the batch itself is refused: kSpoolFull, and
  // the refusal is recorded the same way. kInvalidArgument for a payload that is not JSON lines
  // or is too large.
  rules::Result<PutOutcome> Put(const Batch& batch);

  const SpoolWriterStats& stats() const { return stats_; }

 private:
  struct State;
  explicit SpoolWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  SpoolWriterStats stats_;
};

// A ready batch as listed by SpoolReader::List().
struct BatchRef {
  uint64_t batch_seq = 0;
  Priority priority = Priority::kBulk;
  std::string file_name;  // inside the spool directory
  uint64_t file_bytes = 0;
};

enum class QuarantineReason {
  kTooLarge = 0,  // longer than any valid batch file
  kTruncated,     // shorter than its header and stated lengths
  kBadMagic,
  kBadVersion,
  kBadCrc,      // the CRC-32C trailer does not match: bit rot or a torn write
  kBadHeader,   // unknown type or priority, window reversed, name and header disagree
  kBadPayload,  // not JSON lines
};
inline constexpr size_t kQuarantineReasonCount = 7;
std::string_view QuarantineReasonName(QuarantineReason reason);

struct SpoolReaderStats {
  uint64_t batches_read = 0;
  uint64_t batches_removed = 0;
  uint64_t vanished = 0;  // listed, then gone before reading (dropped by the writer)
  std::array<uint64_t, kQuarantineReasonCount> quarantined{};  // index = QuarantineReason
};

// Reads and removes batches. Ignores hidden files (temporary files in progress or left by a
// crash) and anything that is not named like a batch. Not thread-safe: one thread uses it.
class SpoolReader {
 public:
  static rules::Result<std::unique_ptr<SpoolReader>> Open(const SpoolConfig& config);

  // Ready batches in batch-sequence order.
  rules::Result<std::vector<BatchRef>> List();
  // The batch, or nullopt when the file was corrupt (moved to quarantine/ and counted) or has
  // vanished. An error only for I/O failures that say nothing about the file's content.
  rules::Result<std::optional<Batch>> Read(const BatchRef& ref);
  // Deletes a batch after the collector acknowledged it. Already gone is fine.
  rules::Result<void> Remove(const BatchRef& ref);

  const SpoolReaderStats& stats() const { return stats_; }

 private:
  explicit SpoolReader(SpoolConfig config) : config_(std::move(config)) {}
  rules::Result<void> Quarantine(const BatchRef& ref, QuarantineReason reason);
  SpoolConfig config_;
  SpoolReaderStats stats_;
};

}  // namespace uplink
