// The log store's on-disk format (log_store_format.h, docs/logs.md "Store format").
#include "log_store_format.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

namespace sensor::store_format {

namespace {

using rules::ErrorCode;
using rules::Fail;
using rules::Result;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

template <class T>
void PutLe(T v, std::string* out) {
  uint64_t u = static_cast<uint64_t>(v);
  for (size_t i = 0; i < sizeof(T); ++i) out->push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

template <class T>
T GetLe(const char* p) {
  uint64_t u = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    u |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  }
  return static_cast<T>(u);
}

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// pread of exactly n bytes; false on a short read (end of file).
Result<bool> ReadAt(int fd, uint64_t offset, size_t n, std::string* out) {
  out->resize(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, out->data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kIo, Errno("pread"));
    }
    if (r == 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

struct BlockLayout {
  BlockHeader header;
  uint32_t payload_bytes = 0;
  uint32_t raw_bytes = 0;
  uint64_t total_bytes = 0;  // header, senders, payload, CRC
};

// Reads and checks a block header at `offset`; false when it is missing, torn or implausible.
Result<bool> ReadBlockHeader(int fd, uint64_t offset, uint64_t file_bytes, BlockLayout* b,
                             std::string* buf) {
  if (offset + kBlockFixedBytes > file_bytes) return false;
  auto ok = ReadAt(fd, offset, kBlockFixedBytes, buf);
  if (!ok || !*ok) return ok;
  const char* p = buf->data();
  if (std::memcmp(p, kBlockMagic, 4) != 0) return false;
  b->payload_bytes = GetLe<uint32_t>(p + 4);
  b->raw_bytes = GetLe<uint32_t>(p + 8);
  b->header.records = GetLe<uint32_t>(p + 12);
  uint32_t senders = GetLe<uint32_t>(p + 16);
  b->header.min_time_us = GetLe<int64_t>(p + 20);
  b->header.max_time_us = GetLe<int64_t>(p + 28);
  if (b->raw_bytes > kMaxBlockRawBytes || b->header.records == 0 ||
      uint64_t{b->header.records} * kRecordHeaderBytes > b->raw_bytes ||
      senders == 0 || senders > b->header.records ||
      b->payload_bytes > ZSTD_compressBound(b->raw_bytes) ||
      b->header.min_time_us > b->header.max_time_us) {
    return false;
  }
  b->total_bytes = kBlockFixedBytes + uint64_t{senders} * 16 + b->payload_bytes + 4;
  if (offset + b->total_bytes > file_bytes) return false;
  std::string list;
  ok = ReadAt(fd, offset + kBlockFixedBytes, size_t{senders} * 16, &list);
  if (!ok || !*ok) return ok;
  b->header.senders.clear();
  for (uint32_t i = 0; i < senders; ++i) {
    b->header.senders.push_back(
        rules::IpAddress::FromV6Bytes(reinterpret_cast<const uint8_t*>(list.data() + i * 16)));
  }
  return true;
}

// Reads the whole block and checks its CRC; *payload gets the compressed bytes.
Result<bool> VerifyBlock(int fd, uint64_t offset, const BlockLayout& b, std::string* block) {
  auto ok = ReadAt(fd, offset, b.total_bytes, block);
  if (!ok || !*ok) return ok;
  uint32_t stored = GetLe<uint32_t>(block->data() + b.total_bytes - 4);
  return Crc32c(std::string_view(*block).substr(0, b.total_bytes - 4)) == stored;
}

Result<uint64_t> FileSize(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Fail(ErrorCode::kIo, Errno(path));
  return static_cast<uint64_t>(st.st_size);
}

Result<int> OpenForRead(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, Errno(path));
  return fd;
}

Result<bool> CheckSegmentHeader(int fd, uint64_t file_bytes, std::string* buf) {
  if (file_bytes < kSegmentHeaderBytes) return false;
  auto ok = ReadAt(fd, 0, kSegmentHeaderBytes, buf);
  if (!ok || !*ok) return ok;
  return std::memcmp(buf->data(), kSegmentMagic, 8) == 0;
}

}  // namespace

uint32_t Crc32c(std::string_view data, uint32_t crc) {
  crc = ~crc;
  for (char ch : data) crc = kCrcTable[(crc ^ static_cast<uint8_t>(ch)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void AppendRecord(const LogRecord& r, std::string* out) {
  PutLe<uint32_t>(static_cast<uint32_t>(kRecordHeaderBytes - 4 + r.raw.size()), out);
  PutLe<int64_t>(r.receive_time_us, out);
  out->append(reinterpret_cast<const char*>(r.sender.bytes().data()), 16);
  out->push_back(static_cast<char>(r.transport));
  out->push_back(static_cast<char>(r.severity >= 0 && r.severity < 8 ? r.severity : 0xff));
  out->append(r.raw);
}

bool ForEachRecord(std::string_view raw, const std::function<bool(const LogRecord&)>& fn) {
  size_t at = 0;
  LogRecord r;
  while (at < raw.size()) {
    if (raw.size() - at < kRecordHeaderBytes) return false;
    uint32_t len = GetLe<uint32_t>(raw.data() + at);
    if (len < kRecordHeaderBytes - 4 || len > raw.size() - at - 4) return false;
    const char* p = raw.data() + at + 4;
    r.receive_time_us = GetLe<int64_t>(p);
    r.sender = rules::IpAddress::FromV6Bytes(reinterpret_cast<const uint8_t*>(p + 8));
    uint8_t transport = static_cast<uint8_t>(p[24]);
    r.transport = transport <= 2 ? static_cast<SyslogTransport>(transport) : SyslogTransport::kUdp;
    uint8_t severity = static_cast<uint8_t>(p[25]);
    r.severity = severity < 8 ? severity : -1;
    r.raw = std::string_view(p + 26, len - (kRecordHeaderBytes - 4));
    at += 4 + len;
    if (!fn(r)) return true;
  }
  return true;
}

Result<> BuildBlock(const BlockHeader& header, const std::string& records, int level,
                    ZSTD_CCtx* cctx, std::string* out) {
  if (records.size() > kMaxBlockRawBytes) return Fail(ErrorCode::kInternal, "block too large");
  out->clear();
  out->append(kBlockMagic, 4);
  PutLe<uint32_t>(0, out);  // payload size, patched below
  PutLe<uint32_t>(static_cast<uint32_t>(records.size()), out);
  PutLe<uint32_t>(header.records, out);
  PutLe<uint32_t>(static_cast<uint32_t>(header.senders.size()), out);
  PutLe<int64_t>(header.min_time_us, out);
  PutLe<int64_t>(header.max_time_us, out);
  for (const rules::IpAddress& a : header.senders) {
    out->append(reinterpret_cast<const char*>(a.bytes().data()), 16);
  }
  size_t head = out->size();
  size_t bound = ZSTD_compressBound(records.size());
  out->resize(head + bound);
  size_t n = ZSTD_compressCCtx(cctx, out->data() + head, bound, records.data(), records.size(),
                               level);
  if (ZSTD_isError(n)) {
    return Fail(ErrorCode::kCompress, std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  out->resize(head + n);
  std::string size;
  PutLe<uint32_t>(static_cast<uint32_t>(n), &size);
  out->replace(4, 4, size);
  PutLe<uint32_t>(Crc32c(*out), out);
  return {};
}

std::string SegmentHeader(int64_t time_us) {
  std::string out(kSegmentMagic, 8);
  PutLe<int64_t>(time_us, &out);
  return out;
}

std::string SegmentPath(const std::string& dir, uint64_t number) {
  char name[64];
  std::snprintf(name, sizeof(name), "/seg-%016llu.uls", static_cast<unsigned long long>(number));
  return dir + name;
}

Result<std::vector<uint64_t>> ListSegments(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) {
    return Fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, Errno("log store " + dir));
  }
  std::vector<uint64_t> numbers;
  while (dirent* e = ::readdir(d.get())) {
    std::string_view name = e->d_name;
    if (name.size() != 24 || name.substr(0, 4) != "seg-" || name.substr(20) != ".uls") continue;
    std::string digits(name.substr(4, 16));
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    numbers.push_back(std::strtoull(digits.c_str(), nullptr, 10));
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

Result<> SummarizeSegment(const std::string& path, bool verify_crc, SegmentSummary* out) {
  auto fd_or = OpenForRead(path);
  if (!fd_or) return tl::make_unexpected(fd_or.error());
  Fd fd(*fd_or);
  auto size = FileSize(fd.get(), path);
  if (!size) return tl::make_unexpected(size.error());
  *out = SegmentSummary{};
  out->file_bytes = *size;
  std::string buf;
  auto head_ok = CheckSegmentHeader(fd.get(), *size, &buf);
  if (!head_ok) return tl::make_unexpected(head_ok.error());
  if (!*head_ok) return {};  // valid_bytes 0: the whole file is cut
  out->max_time_us = GetLe<int64_t>(buf.data() + 8);
  uint64_t offset = kSegmentHeaderBytes;
  BlockLayout b;
  std::string block;
  while (true) {
    auto ok = ReadBlockHeader(fd.get(), offset, *size, &b, &buf);
    if (!ok) return tl::make_unexpected(ok.error());
    if (!*ok) break;
    if (verify_crc) {
      auto good = VerifyBlock(fd.get(), offset, b, &block);
      if (!good) return tl::make_unexpected(good.error());
      if (!*good) break;
    }
    offset += b.total_bytes;
    out->records += b.header.records;
    out->max_time_us = std::max(out->max_time_us, b.header.max_time_us);
  }
  out->valid_bytes = offset;
  return {};
}

Result<> ReadSegment(const std::string& path, uint64_t offset,
                     const std::function<bool(const BlockHeader&)>& want,
                     const std::function<bool(const StoredLogRecord&)>& on_record,
                     LogScanStats* stats) {
  auto fd_or = OpenForRead(path);
  if (!fd_or) return tl::make_unexpected(fd_or.error());
  Fd fd(*fd_or);
  auto size = FileSize(fd.get(), path);
  if (!size) return tl::make_unexpected(size.error());
  std::string buf;
  auto head_ok = CheckSegmentHeader(fd.get(), *size, &buf);
  if (!head_ok) return tl::make_unexpected(head_ok.error());
  if (!*head_ok) {
    if (*size > 0) ++stats->bad_blocks;
    return {};
  }
  offset = std::max<uint64_t>(offset, kSegmentHeaderBytes);
  BlockLayout b;
  std::string block;
  std::string raw;
  StoredLogRecord record;
  while (offset < *size) {
    auto ok = ReadBlockHeader(fd.get(), offset, *size, &b, &buf);
    if (!ok) return tl::make_unexpected(ok.error());
    if (!*ok) {
      ++stats->bad_blocks;  // torn or foreign bytes: nothing after them is trusted
      return {};
    }
    if (!want(b.header)) {
      ++stats->blocks_skipped;
      offset += b.total_bytes;
      continue;
    }
    auto good = VerifyBlock(fd.get(), offset, b, &block);
    if (!good) return tl::make_unexpected(good.error());
    size_t payload_at = kBlockFixedBytes + b.header.senders.size() * 16;
    raw.resize(b.raw_bytes);
    size_t n = 0;
    if (*good) {
      n = ZSTD_decompress(raw.data(), raw.size(), block.data() + payload_at, b.payload_bytes);
    }
    if (!*good || ZSTD_isError(n) || n != b.raw_bytes) {
      ++stats->bad_blocks;
      return {};
    }
    ++stats->blocks_read;
    offset += b.total_bytes;
    uint32_t seen = 0;
    bool stopped = false;
    bool whole = ForEachRecord(raw, [&](const LogRecord& r) {
      ++seen;
      record.receive_time_us = r.receive_time_us;
      record.sender = r.sender;
      record.transport = r.transport;
      record.severity = r.severity;
      record.raw.assign(r.raw);
      stopped = !on_record(record);
      return !stopped;
    });
    if (stopped) return {};
    if (!whole || seen != b.header.records) {
      ++stats->bad_blocks;
      return {};
    }
  }
  return {};
}

Result<> WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kIo, Errno("write"));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

void SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

Result<> WriteFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int raw_fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (raw_fd < 0) return Fail(ErrorCode::kIo, Errno(tmp));
  Fd fd(raw_fd);
  if (auto ok = WriteAll(fd.get(), text); !ok) return Fail(ok.error(), tmp + ": ");
  if (::fdatasync(fd.get()) != 0) return Fail(ErrorCode::kIo, Errno(tmp + ": fdatasync"));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Fail(ErrorCode::kIo, Errno(path));
  return {};
}

Result<std::string> ReadWholeFile(const std::string& path) {
  auto fd_or = OpenForRead(path);
  if (!fd_or) return tl::make_unexpected(fd_or.error());
  Fd fd(*fd_or);
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kIo, Errno(path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (64u << 20)) return Fail(ErrorCode::kRejected, path + ": too large");
  }
  return out;
}

}  // namespace sensor::store_format
