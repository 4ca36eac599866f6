// The on-disk format of the log store (docs/logs.md, "Store format"): segment files, blocks,
// records, and the file helpers the writer and the readers share. Private to sensor_syslog.
// Free functions over values; thread-compatible.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/ip_address.h"
#include "rules/result.h"
#include "sensor/logs/log_store.h"

namespace sensor::store_format {

inline constexpr char kSendersFile[] = "senders.tsv";
inline constexpr char kSegmentMagic[8] = {'U', 'T', 'K', 'L', 'S', 'E', 'G', '1'};
inline constexpr char kBlockMagic[4] = {'U', 'L', 'B', '1'};
inline constexpr size_t kSegmentHeaderBytes = 16;  // magic + creation time (i64 LE)
inline constexpr size_t kBlockFixedBytes = 36;     // before the sender list
inline constexpr size_t kRecordHeaderBytes = 30;   // u32 len, i64 time, 16 addr, u8, u8
inline constexpr uint32_t kMaxBlockRawBytes = 64u * 1024 * 1024;

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};

struct BlockHeader {
  uint32_t records = 0;
  int64_t min_time_us = 0;
  int64_t max_time_us = 0;
  std::vector<rules::IpAddress> senders;  // sorted, distinct
};

// CRC-32C (Castagnoli), as in RFC 3720 appendix B.4; `crc` chains calls.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

void AppendRecord(const LogRecord& record, std::string* out);
// Decodes AppendRecord output; on_record gets each record (raw points into `records`) and
// returns false to stop. False when the bytes are not whole records.
bool ForEachRecord(std::string_view records, const std::function<bool(const LogRecord&)>& fn);
// Compresses `records` (AppendRecord output) into a complete block: header, payload, CRC.
rules::Result<> BuildBlock(const BlockHeader& header, const std::string& records, int level,
                           ZSTD_CCtx* cctx, std::string* out);
std::string SegmentHeader(int64_t time_us);

std::string SegmentPath(const std::string& dir, uint64_t number);  // dir/seg-0000000000000001.uls
rules::Result<std::vector<uint64_t>> ListSegments(const std::string& dir);  // ascending

struct SegmentSummary {
  uint64_t file_bytes = 0;
  uint64_t valid_bytes = 0;  // up to the end of the last good block
  uint64_t records = 0;
  int64_t max_time_us = 0;
};
// Walks the block headers of a segment; with verify_crc also reads each block and checks its CRC
// (the last segment on open, where a crash can have left a torn block).
rules::Result<> SummarizeSegment(const std::string& path, bool verify_crc, SegmentSummary* out);

// Reads a segment from `offset` (a block start): blocks whose header passes `want` are verified
// and decoded, and each record goes to on_record (false stops). Stops at the first invalid block
// (counted in bad_blocks).
rules::Result<> ReadSegment(const std::string& path, uint64_t offset,
                            const std::function<bool(const BlockHeader&)>& want,
                            const std::function<bool(const StoredLogRecord&)>& on_record,
                            LogScanStats* stats);

rules::Result<> WriteAll(int fd, std::string_view data);
void SyncDirectory(const std::string& dir);
// Writes path.tmp, fsyncs it and renames it over path.
rules::Result<> WriteFileAtomically(const std::string& path, const std::string& text);
// kNotFound when the file does not exist.
rules::Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace sensor::store_format
