#include "uplink/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "uplink/sequence_counter.h"

#include "byte_io.h"
#include "crc32c.h"
#include "file_util.h"

namespace uplink {

using rules::ErrorCode;
using rules::Fail;

namespace {

// Batch file (docs/formats.md, "Batch file"):
//   magic 8 | version u16 | payload type u8 | priority u8 | batch seq u64 | created u64 |
//   window start u64 | window end u64 | payload length u32 | JSON lines | CRC-32C u32
constexpr std::array<uint8_t, 8> kBatchMagic = {0x89, 'U', 'T', 'K', 'B', 0x0D, 0x0A, 0x1A};
constexpr uint16_t kBatchVersion = 1;
constexpr size_t kBatchHeaderSize = 48;
constexpr size_t kBatchOverhead = kBatchHeaderSize + 4;
constexpr const char* kQuarantineDir = "quarantine";
constexpr const char* kCounterFile = "batch.seq";
constexpr const char* kLockFile = ".lock";
constexpr size_t kSeqDigits = 20;

// "00000000000000000042-p2.batch"
std::string BatchFileName(uint64_t seq, Priority priority) {
  char name[64];
  std::snprintf(name, sizeof name, "%020llu-p%u.batch", static_cast<unsigned long long>(seq),
                static_cast<unsigned>(priority));
  return name;
}

bool ParseBatchFileName(const std::string& name, uint64_t* seq, Priority* priority) {
  if (name.size() != kSeqDigits + 9 || name.compare(kSeqDigits, 2, "-p") != 0 ||
      name.compare(kSeqDigits + 3, 6, ".batch") != 0) {
    return false;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < kSeqDigits; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) {
      return false;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  const char p = name[kSeqDigits + 2];
  if (p < '0' || p > '3' || v == 0) {
    return false;
  }
  *seq = v;
  *priority = static_cast<Priority>(p - '0');
  return true;
}

std::vector<uint8_t> EncodeBatch(const Batch& b) {
  std::vector<uint8_t> out;
  out.reserve(kBatchOverhead + b.json_lines.size());
  internal::PutBytes(&out, kBatchMagic);
  internal::PutU16(&out, kBatchVersion);
  internal::PutU8(&out, static_cast<uint8_t>(b.payload_type));
  internal::PutU8(&out, static_cast<uint8_t>(b.priority));
  internal::PutU64(&out, b.batch_seq);
  internal::PutU64(&out, static_cast<uint64_t>(b.created_at_us));
  internal::PutU64(&out, static_cast<uint64_t>(b.window_start_us));
  internal::PutU64(&out, static_cast<uint64_t>(b.window_end_us));
  internal::PutU32(&out, static_cast<uint32_t>(b.json_lines.size()));
  internal::PutBytes(&out, b.json_lines);
  internal::PutU32(&out, internal::Crc32c(out));
  return out;
}

// Parses the fixed header; false if too short or not a batch header of this version.
bool DecodeBatchHeader(std::span<const uint8_t> bytes, Batch* b, uint32_t* payload_length,
                       QuarantineReason* why) {
  if (bytes.size() >= kBatchMagic.size() &&
      !std::equal(kBatchMagic.begin(), kBatchMagic.end(), bytes.begin())) {
    *why = QuarantineReason::kBadMagic;
    return false;
  }
  internal::ByteReader r(bytes);
  std::span<const uint8_t> magic;
  uint16_t version = 0;
  uint8_t type = 0;
  uint8_t priority = 0;
  if (!r.ReadBytes(kBatchMagic.size(), &magic) || !r.ReadU16(&version)) {
    *why = QuarantineReason::kTruncated;
    return false;
  }
  if (version != kBatchVersion) {
    *why = QuarantineReason::kBadVersion;
    return false;
  }
  if (!r.ReadU8(&type) || !r.ReadU8(&priority) || !r.ReadU64(&b->batch_seq) ||
      !r.ReadI64(&b->created_at_us) || !r.ReadI64(&b->window_start_us) ||
      !r.ReadI64(&b->window_end_us) || !r.ReadU32(payload_length)) {
    *why = QuarantineReason::kTruncated;
    return false;
  }
  auto payload_type = PayloadTypeFromByte(type);
  if (!payload_type || priority > static_cast<uint8_t>(Priority::kGap)) {
    *why = QuarantineReason::kBadHeader;
    return false;
  }
  b->payload_type = *payload_type;
  b->priority = static_cast<Priority>(priority);
  return true;
}

// Full check of a batch file's bytes.
std::optional<Batch> DecodeBatch(std::span<const uint8_t> bytes, const BatchRef& ref,
                                 QuarantineReason* why) {
  Batch b;
  uint32_t payload_length = 0;
  if (!DecodeBatchHeader(bytes, &b, &payload_length, why)) {
    return std::nullopt;
  }
  const uint64_t expected = uint64_t{kBatchOverhead} + payload_length;
  if (bytes.size() != expected) {
    *why = bytes.size() < expected ? QuarantineReason::kTruncated : QuarantineReason::kBadHeader;
    return std::nullopt;
  }
  const size_t body = bytes.size() - 4;
  const uint32_t stored =
      static_cast<uint32_t>((uint32_t{bytes[body]} << 24) | (uint32_t{bytes[body + 1]} << 16) |
                            (uint32_t{bytes[body + 2]} << 8) | bytes[body + 3]);
  if (stored != internal::Crc32c(bytes.first(body))) {
    *why = QuarantineReason::kBadCrc;
    return std::nullopt;
  }
  if (b.batch_seq != ref.batch_seq || b.priority != ref.priority ||
      b.window_start_us > b.window_end_us) {
    *why = QuarantineReason::kBadHeader;
    return std::nullopt;
  }
  b.json_lines.assign(reinterpret_cast<const char*>(bytes.data()) + kBatchHeaderSize,
                      payload_length);
  if (!ValidJsonLines(b.json_lines, nullptr)) {
    *why = QuarantineReason::kBadPayload;
    return std::nullopt;
  }
  return b;
}

// Ready batch files of `dir`, in batch-sequence order. Hidden and foreign names are skipped.
rules::Result<std::vector<BatchRef>> ScanBatches(const std::string& dir) {
  internal::Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid()) {
    return Fail(ErrorCode::kIo, internal::ErrnoMessage("open spool", dir, errno));
  }
  DIR* d = ::fdopendir(dfd.get());
  if (d == nullptr) {
    return Fail(ErrorCode::kIo, internal::ErrnoMessage("read spool", dir, errno));
  }
  dfd.release();  // now owned by the DIR stream
  std::unique_ptr<DIR, int (*)(DIR*)> stream(d, ::closedir);
  std::vector<BatchRef> refs;
  while (struct dirent* e = ::readdir(d)) {
    BatchRef ref;
    ref.file_name = e->d_name;
    if (!ParseBatchFileName(ref.file_name, &ref.batch_seq, &ref.priority)) {
      continue;
    }
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
      continue;  // gone meanwhile, or not a plain file
    }
    ref.file_bytes = static_cast<uint64_t>(st.st_size);
    refs.push_back(std::move(ref));
  }
  std::sort(refs.begin(), refs.end(),
            [](const BatchRef& a, const BatchRef& b) { return a.batch_seq < b.batch_seq; });
  return refs;
}

rules::Result<void> MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Fail(ErrorCode::kIo, internal::ErrnoMessage("mkdir", path, errno));
  }
  return {};
}

// Appends a JSON string literal (the few characters our own values could need escaped).
void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
    }
    out->push_back(c);
  }
  out->push_back('"');
}

// Drops of one payload type, aggregated into one gap record line.
struct DropSummary {
  uint64_t batches = 0;
  uint64_t bytes = 0;
  uint64_t first_seq = UINT64_MAX;
  uint64_t last_seq = 0;
  int64_t window_start_us = INT64_MAX;
  int64_t window_end_us = INT64_MIN;
};

}  // namespace

Priority DefaultPriority(PayloadType type) {
  switch (type) {
    case PayloadType::kFlows:
      return Priority::kBulk;
    case PayloadType::kLogstats:
    case PayloadType::kHealth:
      return Priority::kNormal;
    case PayloadType::kInventory:
    case PayloadType::kAlerts:
      return Priority::kHigh;
    case PayloadType::kGap:
      return Priority::kGap;
  }
  return Priority::kBulk;
}

Batch MakeBatch(PayloadType type, int64_t created_at_us, int64_t window_start_us,
                int64_t window_end_us, std::string json_lines) {
  Batch b;
  b.payload_type = type;
  b.priority = DefaultPriority(type);
  b.created_at_us = created_at_us;
  b.window_start_us = window_start_us;
  b.window_end_us = window_end_us;
  b.json_lines = std::move(json_lines);
  return b;
}

std::string_view QuarantineReasonName(QuarantineReason reason) {
  switch (reason) {
    case QuarantineReason::kTooLarge:
      return "too_large";
    case QuarantineReason::kTruncated:
      return "truncated";
    case QuarantineReason::kBadMagic:
      return "bad_magic";
    case QuarantineReason::kBadVersion:
      return "bad_version";
    case QuarantineReason::kBadCrc:
      return "bad_crc";
    case QuarantineReason::kBadHeader:
      return "bad_header";
    case QuarantineReason::kBadPayload:
      return "bad_payload";
  }
  return "unknown";
}

// ---- SpoolWriter ----

struct SpoolWriter::State {
  SpoolConfig config;
  internal::Fd lock;
  std::unique_ptr<SequenceCounter> counter;
};

SpoolWriter::SpoolWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
SpoolWriter::~SpoolWriter() = default;

rules::Result<std::unique_ptr<SpoolWriter>> SpoolWriter::Open(const SpoolConfig& config) {
  if (config.dir.empty()) {
    return Fail(ErrorCode::kConfig, "spool: no directory configured");
  }
  for (const std::string& d : {config.dir, config.dir + "/" + kQuarantineDir}) {
    if (auto made = MakeDir(d); !made) {
      return Fail(made.error(), "spool: ");
    }
  }
  auto state = std::make_unique<State>();
  state->config = config;
  const std::string lock_path = config.dir + "/" + kLockFile;
  state->lock = internal::Fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!state->lock.valid()) {
    return Fail(ErrorCode::kIo, internal::ErrnoMessage("spool: open", lock_path, errno));
  }
  if (::flock(state->lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return Fail(ErrorCode::kIo, "spool " + config.dir + ": in use by another writer");
  }
  SpoolWriterStats stats;
  // Leftovers of a crash between create and rename: never complete, never listed; remove.
  {
    DIR* d = ::opendir(config.dir.c_str());
    if (d == nullptr) {
      return Fail(ErrorCode::kIo, internal::ErrnoMessage("spool: read", config.dir, errno));
    }
    std::unique_ptr<DIR, int (*)(DIR*)> stream(d, ::closedir);
    std::vector<std::string> stale;
    while (struct dirent* e = ::readdir(d)) {
      if (std::string_view(e->d_name).starts_with(internal::kTempPrefix)) {
        stale.emplace_back(e->d_name);
      }
    }
    for (const std::string& name : stale) {
      if (::unlinkat(::dirfd(d), name.c_str(), 0) == 0) {
        ++stats.temp_files_removed;
      }
    }
    if (!stale.empty()) {
      if (auto synced = internal::FsyncDir(config.dir); !synced) {
        return Fail(synced.error(), "spool: ");
      }
    }
  }
  auto counter = SequenceCounter::Open(config.dir + "/" + kCounterFile, config.sequence_block);
  if (!counter) {
    return Fail(counter.error(), "spool: ");
  }
  state->counter = std::move(*counter);
  // If the counter file was lost, never reuse a number still on disk.
  auto refs = ScanBatches(config.dir);
  if (!refs) {
    return Fail(refs.error(), "");
  }
  if (!refs->empty()) {
    state->counter->AdvancePast(refs->back().batch_seq);
  }
  std::unique_ptr<SpoolWriter> writer(new SpoolWriter(std::move(state)));
  writer->stats_ = stats;
  return writer;
}

rules::Result<PutOutcome> SpoolWriter::Put(const Batch& input) {
  const SpoolConfig& config = state_->config;
  std::string why;
  if (input.json_lines.size() > config.max_batch_bytes) {
    return Fail(ErrorCode::kInvalidArgument,
                "spool put: payload of " + std::to_string(input.json_lines.size()) +
                    " bytes exceeds " + std::to_string(config.max_batch_bytes));
  }
  if (!ValidJsonLines(input.json_lines, &why)) {
    return Fail(ErrorCode::kInvalidArgument, "spool put: not JSON lines: " + why);
  }
  if (input.window_start_us > input.window_end_us ||
      !PayloadTypeFromByte(static_cast<uint8_t>(input.payload_type)) ||
      static_cast<uint8_t>(input.priority) > static_cast<uint8_t>(Priority::kGap)) {
    return Fail(ErrorCode::kInvalidArgument, "spool put: bad window, type or priority");
  }
  const uint64_t size = kBatchOverhead + input.json_lines.size();
  auto refs = ScanBatches(config.dir);
  if (!refs) {
    return Fail(refs.error(), "spool put: ");
  }
  uint64_t regular_total = 0;
  uint64_t gap_total = 0;
  for (const BatchRef& r : *refs) {
    (r.priority == Priority::kGap ? gap_total : regular_total) += r.file_bytes;
  }

  auto write = [&](Batch b) -> rules::Result<uint64_t> {
    auto seq = state_->counter->Next();
    if (!seq) {
      return Fail(seq.error(), "spool put: ");
    }
    b.batch_seq = *seq;
    auto written = internal::WriteFileAtomic(config.dir, BatchFileName(*seq, b.priority),
                                             EncodeBatch(b), 0600, /*replace=*/false);
    if (!written) {
      return Fail(written.error(), "spool put: ");
    }
    ++stats_.batches_put;
    stats_.bytes_put += kBatchOverhead + b.json_lines.size();
    return *seq;
  };

  if (input.priority == Priority::kGap) {
    if (gap_total + size > config.gap_reserve_bytes) {
      ++stats_.refused_batches;
      ++stats_.dropped_batches;
      stats_.dropped_bytes += size;
      ++stats_.dropped_by_type[static_cast<uint8_t>(input.payload_type)];
      ++stats_.gap_records_lost;
      return Fail(ErrorCode::kSpoolFull, "spool full: gap reserve exhausted");
    }
    auto seq = write(input);
    if (!seq) {
      return Fail(seq.error(), "");
    }
    return PutOutcome{*seq, 0};
  }

  // Choose victims: lowest class first, oldest first, never above the new batch's class.
  std::vector<BatchRef> victims;
  uint64_t freed = 0;
  if (regular_total + size > config.max_bytes) {
    std::vector<BatchRef> candidates;
    for (const BatchRef& r : *refs) {
      if (r.priority != Priority::kGap && r.priority <= input.priority) {
        candidates.push_back(r);
      }
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const BatchRef& a, const BatchRef& b) { return a.priority < b.priority; });
    for (const BatchRef& c : candidates) {
      if (regular_total - freed + size <= config.max_bytes) {
        break;
      }
      victims.push_back(c);
      freed += c.file_bytes;
    }
  }
  const bool refused = regular_total - freed + size > config.max_bytes;
  if (refused) {
    victims.clear();  // dropping them would not help; keep them
  }

  // Summarise what is lost, per payload type, from the victims' headers (and the refused batch).
  std::map<uint8_t, DropSummary> drops;
  auto note = [&](PayloadType type, uint64_t seq, uint64_t bytes, int64_t start, int64_t end) {
    DropSummary& s = drops[static_cast<uint8_t>(type)];
    ++s.batches;
    s.bytes += bytes;
    s.first_seq = std::min(s.first_seq, seq);
    s.last_seq = std::max(s.last_seq, seq);
    s.window_start_us = std::min(s.window_start_us, start);
    s.window_end_us = std::max(s.window_end_us, end);
    ++stats_.dropped_batches;
    stats_.dropped_bytes += bytes;
    ++stats_.dropped_by_type[static_cast<uint8_t>(type)];
  };
  std::vector<BatchRef> removable;
  for (const BatchRef& v : victims) {
    internal::Fd fd(::open((config.dir + "/" + v.file_name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      continue;  // the reader removed it meanwhile: nothing lost
    }
    std::array<uint8_t, kBatchHeaderSize> header{};
    Batch h;
    uint32_t length = 0;
    QuarantineReason ignored{};
    const ssize_t n = ::pread(fd.get(), header.data(), header.size(), 0);
    if (n == static_cast<ssize_t>(header.size()) &&
        DecodeBatchHeader(header, &h, &length, &ignored)) {
      note(h.payload_type, v.batch_seq, v.file_bytes, h.window_start_us, h.window_end_us);
    } else {
      // Corrupt header: still a loss; the type is unknown, so count it under its priority's
      // usual type.
      note(v.priority == Priority::kBulk ? PayloadType::kFlows : PayloadType::kLogstats,
           v.batch_seq, v.file_bytes, 0, 0);
    }
    removable.push_back(v);
  }
  if (refused) {
    ++stats_.refused_batches;
    note(input.payload_type, 0, size, input.window_start_us, input.window_end_us);
  }

  if (!drops.empty()) {
    std::string lines;
    Batch gap = MakeBatch(PayloadType::kGap, input.created_at_us, INT64_MAX, 0, "");
    for (const auto& [type, s] : drops) {
      lines += "{\"kind\":\"spool_drop\",\"reason\":";
      AppendJsonString(&lines, refused ? "refused" : "spool_full");
      lines += ",\"payload_type\":";
      AppendJsonString(&lines, PayloadTypeName(static_cast<PayloadType>(type)));
      lines +=
          ",\"batches\":" + std::to_string(s.batches) + ",\"bytes\":" + std::to_string(s.bytes);
      if (s.last_seq != 0) {
        lines += ",\"first_batch_seq\":" + std::to_string(s.first_seq) +
                 ",\"last_batch_seq\":" + std::to_string(s.last_seq);
      }
      lines += ",\"window_start_us\":" + std::to_string(s.window_start_us) +
               ",\"window_end_us\":" + std::to_string(s.window_end_us) + "}\n";
      gap.window_start_us = std::min(gap.window_start_us, s.window_start_us);
      gap.window_end_us = std::max(gap.window_end_us, s.window_end_us);
    }
    gap.json_lines = std::move(lines);
    const uint64_t gap_size = kBatchOverhead + gap.json_lines.size();
    if (gap_total + gap_size <= config.gap_reserve_bytes) {
      auto written = write(std::move(gap));  // recorded before anything is deleted
      if (!written) {
        return Fail(written.error(), "");
      }
      ++stats_.gap_batches_written;
    } else {
      for (const auto& [type, s] : drops) {
        stats_.gap_records_lost += s.batches;
      }
    }
  }
  if (refused) {
    return Fail(ErrorCode::kSpoolFull,
                "spool full: " + std::string(PayloadTypeName(input.payload_type)) + " batch of " +
                    std::to_string(size) + " bytes refused");
  }
  for (const BatchRef& v : removable) {
    ::unlink((config.dir + "/" + v.file_name).c_str());  // ENOENT: the reader was faster
  }
  if (!removable.empty()) {
    if (auto synced = internal::FsyncDir(config.dir); !synced) {
      return Fail(synced.error(), "spool put: ");
    }
  }
  auto seq = write(input);
  if (!seq) {
    return Fail(seq.error(), "");
  }
  return PutOutcome{*seq, static_cast<uint32_t>(removable.size())};
}

// ---- SpoolReader ----

rules::Result<std::unique_ptr<SpoolReader>> SpoolReader::Open(const SpoolConfig& config) {
  struct stat st {};
  if (::stat(config.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail(ErrorCode::kNotFound, "spool " + config.dir + ": no such directory");
  }
  if (auto made = MakeDir(config.dir + "/" + kQuarantineDir); !made) {
    return Fail(made.error(), "spool: ");
  }
  return std::unique_ptr<SpoolReader>(new SpoolReader(config));
}

rules::Result<std::vector<BatchRef>> SpoolReader::List() {
  return ScanBatches(config_.dir);
}

rules::Result<std::optional<Batch>> SpoolReader::Read(const BatchRef& ref) {
  bool too_large = false;
  auto data = internal::ReadFileBounded(config_.dir + "/" + ref.file_name,
                                        kBatchOverhead + config_.max_batch_bytes, &too_large);
  if (!data) {
    if (data.error().code == ErrorCode::kNotFound) {
      ++stats_.vanished;
      return std::optional<Batch>();
    }
    return Fail(data.error(), "spool read: ");
  }
  QuarantineReason why = QuarantineReason::kTooLarge;
  std::optional<Batch> batch;
  if (!too_large) {
    batch = DecodeBatch(*data, ref, &why);
  }
  if (!batch) {
    if (auto moved = Quarantine(ref, why); !moved) {
      return Fail(moved.error(), "");
    }
    return std::optional<Batch>();
  }
  ++stats_.batches_read;
  return batch;
}

rules::Result<void> SpoolReader::Remove(const BatchRef& ref) {
  const std::string path = config_.dir + "/" + ref.file_name;
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) {
      return {};
    }
    return Fail(ErrorCode::kIo, internal::ErrnoMessage("spool remove", path, errno));
  }
  ++stats_.batches_removed;
  return internal::FsyncDir(config_.dir);
}

rules::Result<void> SpoolReader::Quarantine(const BatchRef& ref, QuarantineReason reason) {
  const std::string from = config_.dir + "/" + ref.file_name;
  const std::string qdir = config_.dir + "/" + kQuarantineDir;
  const std::string to =
      qdir + "/" + ref.file_name + "." + std::string(QuarantineReasonName(reason));
  if (::rename(from.c_str(), to.c_str()) != 0) {
    if (errno == ENOENT) {
      ++stats_.vanished;
      return {};
    }
    return Fail(ErrorCode::kIo, internal::ErrnoMessage("spool quarantine", from, errno));
  }
  ++stats_.quarantined[static_cast<size_t>(reason)];
  if (auto synced = internal::FsyncDir(qdir); !synced) {
    return Fail(synced.error(), "");
  }
  return internal::FsyncDir(config_.dir);
}

}  // namespace uplink
