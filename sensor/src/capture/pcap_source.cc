// PacketSource over libpcap: capture files (pcap, pcapng) and live interfaces.
#include "sensor/capture/packet_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <pcap/pcap.h>

#include "capture/c_handles.h"
#include "sensor/flow/prefetch.h"

namespace sensor {
namespace {

using rules::ErrorCode;
using rules::Fail;

using PcapPtr = CPtr<pcap_t, pcap_close>;

// libpcap's offline errors often start with the path already ("/x.pcap: No such file ...");
// drop that prefix so the message names the path once.
std::string WithoutPathPrefix(const std::string& message, const std::string& path) {
  const std::string prefix = path + ": ";
  if (message.compare(0, prefix.size(), prefix) == 0) {
    return message.substr(prefix.size());
  }
  return message;
}

void FillView(const pcap_pkthdr& header, const u_char* data, int link_type, PacketView* packet) {
  packet->timestamp_us =
      static_cast<int64_t>(header.ts.tv_sec) * 1'000'000 + static_cast<int64_t>(header.ts.tv_usec);
  packet->wire_length = header.len;
  packet->link_type = link_type;
  packet->bytes = std::span<const uint8_t>(data, header.caplen);
}

// Reads a capture file from start to end. Owned by the caller through PacketSourcePtr; not
// thread-safe.
class PcapFileSource final : public PacketSource {
 public:
  PcapFileSource(PcapPtr pcap, std::string path, uint64_t size)
      : pcap_(std::move(pcap)),
        path_(std::move(path)),
        size_(size),
        link_type_(pcap_datalink(pcap_.get())) {}

  Result<bool> Next(PacketView* packet) override {
    if (at_end_) {
      return false;
    }
    if (!error_.empty()) {
      return Fail(ErrorCode::kCapture, error_);
    }
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(pcap_.get(), &header, &data);
    if (rc == 1) {
      FillView(*header, data, link_type_, packet);
      ++stats_.received;
      return true;
    }
    if (rc == PCAP_ERROR_BREAK) {  // no more packets in the file
      at_end_ = true;
      return false;
    }
    // PCAP_ERROR (a truncated or corrupt file, a read error). Remember it: libpcap's state is
    // not defined after an error, so every later call reports the same failure.
    error_ = "capture file " + path_ + ": " + WithoutPathPrefix(pcap_geterr(pcap_.get()), path_);
    return Fail(ErrorCode::kCapture, error_);
  }

  bool at_end() const override { return at_end_; }
  CaptureStats stats() const override { return stats_; }
  std::string name() const override { return "file " + path_; }

  uint64_t bytes_read() const override {
    if (at_end_) {
      return size_;
    }
    FILE* file = pcap_file(pcap_.get());
    if (file == nullptr) {
      return 0;
    }
    const long position = std::ftell(file);
    return position < 0 ? 0 : static_cast<uint64_t>(position);
  }
  uint64_t bytes_total() const override { return size_; }

 private:
  PcapPtr pcap_;
  std::string path_;
  uint64_t size_ = 0;
  int link_type_ = 1;
  bool at_end_ = false;
  std::string error_;  // set once Next() failed
  CaptureStats stats_;
};

// Reads a classic pcap file (not pcapng) straight from a read-only mapping: libpcap's reader costs
// about 500 instructions a packet (two stdio reads and a copy), this one a few dozen. libpcap has
// opened and checked the file first (link type, snap length); pcapng files stay with libpcap.
// Owned by the caller through PacketSourcePtr; not thread-safe.
class MappedPcapFileSource final : public PacketSource {
 public:
  static constexpr size_t kFileHeader = 24;
  static constexpr size_t kRecordHeader = 16;

  MappedPcapFileSource(const uint8_t* map, size_t size, std::string path, int link_type,
                       bool swapped, bool nanoseconds, uint32_t snaplen)
      : map_(map),
        size_(size),
        path_(std::move(path)),
        link_type_(link_type),
        swapped_(swapped),
        nanoseconds_(nanoseconds),
        snaplen_(snaplen) {}
  ~MappedPcapFileSource() override { munmap(const_cast<uint8_t*>(map_), size_); }
  MappedPcapFileSource(const MappedPcapFileSource&) = delete;
  MappedPcapFileSource& operator=(const MappedPcapFileSource&) = delete;

  Result<bool> Next(PacketView* packet) override {
    if (!error_.empty()) {
      return Fail(ErrorCode::kCapture, error_);
    }
    if (offset_ == size_) {
      at_end_ = true;
      return false;
    }
    if (size_ - offset_ < kRecordHeader) {
      return Broken("truncated dump file; tried to read 16 header bytes, only got " +
                    std::to_string(size_ - offset_));
    }
    const uint8_t* h = map_ + offset_;
    ReleaseBehind(offset_);
    const uint32_t sec = Read32(h);
    const uint32_t frac = Read32(h + 4);
    uint32_t caplen = Read32(h + 8);
    const uint32_t len = Read32(h + 12);
    if (caplen > kMaxCaplen) {
      return Broken("invalid packet capture length " + std::to_string(caplen) +
                    ", bigger than the maximum of " + std::to_string(kMaxCaplen));
    }
    if (size_ - offset_ - kRecordHeader < caplen) {
      return Broken("truncated dump file; tried to read " + std::to_string(caplen) +
                    " captured bytes, only got " + std::to_string(size_ - offset_ - kRecordHeader));
    }
    offset_ += kRecordHeader + caplen;
    if (size_ - offset_ >= 128) {
      // The record after this one: its header and first bytes, read by the next call and the
      // decoder a packet from now (RunCapture reads one ahead).
      PrefetchLine(map_ + offset_);
      PrefetchLine(map_ + offset_ + 64);
    }
    if (caplen > snaplen_) {
      caplen = snaplen_;  // as libpcap does: keep the snap length, skip the rest
    }
    packet->timestamp_us = static_cast<int64_t>(sec) * 1'000'000 +
                           static_cast<int64_t>(nanoseconds_ ? frac / 1000 : frac);
    packet->wire_length = len;
    packet->link_type = link_type_;
    packet->bytes = std::span<const uint8_t>(h + kRecordHeader, caplen);
    ++stats_.received;
    return true;
  }

  bool at_end() const override { return at_end_; }
  CaptureStats stats() const override { return stats_; }
  std::string name() const override { return "file " + path_; }
  uint64_t bytes_read() const override { return offset_; }
  uint64_t bytes_total() const override { return size_; }
  // ReleaseBehind drops only pages before the record being read; a dropped page of a private
  // read-only file mapping reads back from the file, so the previous frame stays valid.
  bool frames_outlive_next() const override { return true; }

 private:
  static constexpr uint32_t kMaxCaplen = 262144 * 4;  // libpcap accepts up to its snap maximum

  // Hands the pages already read back to the kernel now and then, so the mapping does not show
  // up as resident memory the size of the file. Only pages wholly before `keep_from` (the record
  // being read) go; the current packet's bytes stay valid.
  void ReleaseBehind(size_t keep_from) {
    static constexpr size_t kChunk = 8u << 20;
    if (keep_from - released_ < kChunk) {
      return;
    }
    static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t end = keep_from / page * page;
    if (end > released_) {
      madvise(const_cast<uint8_t*>(map_) + released_, end - released_, MADV_DONTNEED);
      released_ = end;
    }
  }

  uint32_t Read32(const uint8_t* p) const {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swapped_ ? __builtin_bswap32(v) : v;
  }
  Result<bool> Broken(const std::string& why) {
    error_ = "capture file " + path_ + ": " + why;
    return Fail(ErrorCode::kCapture, error_);
  }

  const uint8_t* map_;
  size_t size_;
  size_t offset_ = kFileHeader;
  size_t released_ = 0;  // pages before this offset were handed back (MADV_DONTNEED)
  std::string path_;
  int link_type_;
  bool swapped_;
  bool nanoseconds_;
  uint32_t snaplen_;
  bool at_end_ = false;
  std::string error_;
  CaptureStats stats_;
};

// Maps `path` when it is a classic pcap file; nullptr otherwise (pcapng, or mmap refused).
PacketSourcePtr MapClassicPcap(const std::string& path, uint64_t size, pcap_t* opened) {
  if (size < MappedPcapFileSource::kFileHeader || size > (uint64_t{1} << 46)) {
    return nullptr;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return nullptr;
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    return nullptr;
  }
  uint32_t magic;
  std::memcpy(&magic, map, 4);
  bool swapped = false;
  bool nanoseconds = false;
  switch (magic) {
    case 0xa1b2c3d4: break;
    case 0xd4c3b2a1: swapped = true; break;
    case 0xa1b23c4d: nanoseconds = true; break;
    case 0x4d3cb2a1: swapped = true; nanoseconds = true; break;
    default:
      munmap(map, size);
      return nullptr;  // pcapng or something else libpcap reads
  }
  madvise(map, size, MADV_SEQUENTIAL);
  const int snaplen = pcap_snapshot(opened);
  return std::make_unique<MappedPcapFileSource>(
      static_cast<const uint8_t*>(map), static_cast<size_t>(size), path, pcap_datalink(opened),
      swapped, nanoseconds, snaplen > 0 ? static_cast<uint32_t>(snaplen) : 262144u);
}

// Reads a live interface. Owned by the caller through PacketSourcePtr; not thread-safe.
//
// The handle is non-blocking and Next() waits in poll() itself, at most timeout_ms. libpcap's
// blocking mode with TPACKET_V3 polls without a timeout and relies on the kernel retiring a
// partly filled ring block; where that timer does not fire, a blocking Next() never returns
// (seen on this project's build VM), and a capture loop could not notice a stop flag.
class PcapLiveSource final : public PacketSource {
 public:
  PcapLiveSource(PcapPtr pcap, std::string interface, std::string warning, int timeout_ms)
      : pcap_(std::move(pcap)),
        interface_(std::move(interface)),
        warning_(std::move(warning)),
        link_type_(pcap_datalink(pcap_.get())),
        fd_(pcap_get_selectable_fd(pcap_.get())),
        timeout_ms_(timeout_ms) {}

  Result<bool> Next(PacketView* packet) override {
    for (int attempt = 0; attempt < 2; ++attempt) {
      pcap_pkthdr* header = nullptr;
      const u_char* data = nullptr;
      const int rc = pcap_next_ex(pcap_.get(), &header, &data);
      if (rc == 1) {
        FillView(*header, data, link_type_, packet);
        ++received_;
        return true;
      }
      if (rc == PCAP_ERROR_BREAK) {
        return false;
      }
      if (rc < 0) {
        return Fail(ErrorCode::kCapture,
                    "interface " + interface_ + ": " + std::string(pcap_geterr(pcap_.get())));
      }
      if (attempt == 0 && fd_ >= 0) {
        pollfd wait{fd_, POLLIN, 0};
        if (::poll(&wait, 1, timeout_ms_) <= 0) {
          return false;  // timeout, or a signal interrupted the wait: the caller checks its flag
        }
      }
    }
    return false;
  }

  bool at_end() const override { return false; }

  CaptureStats stats() const override {
    CaptureStats stats;
    stats.received = received_;
    pcap_stat ps{};
    if (pcap_stats(pcap_.get(), &ps) == 0) {
      stats.kernel_received = ps.ps_recv;
      stats.dropped = ps.ps_drop;
      stats.interface_dropped = ps.ps_ifdrop;
    }
    return stats;
  }

  std::string name() const override { return "interface " + interface_; }
  std::string warning() const override { return warning_; }

 private:
  PcapPtr pcap_;
  std::string interface_;
  std::string warning_;
  int link_type_ = 1;
  int fd_ = -1;
  int timeout_ms_ = 100;
  uint64_t received_ = 0;
};

// The reason pcap_activate() gave, for an error or a warning line.
std::string ActivateMessage(pcap_t* pcap, int rc) {
  std::string message = pcap_statustostr(rc);
  const char* detail = pcap_geterr(pcap);
  if (detail == nullptr || detail[0] == '\0') return message;
  // libpcap often repeats the status text as the detail ("No such device exists"): say it once.
  std::string_view d(detail);
  if (d == message) return message;
  if (d.starts_with(message + ": ")) return std::string(d);
  return message + ": " + std::string(d);
}

}  // namespace

Result<PacketSourcePtr> OpenPcapFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Fail(ErrorCode::kIo, "capture file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kIo, "capture file " + path + ": not a regular file");
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapPtr pcap(pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO,
                                                       errbuf));
  if (!pcap) {
    std::string reason = WithoutPathPrefix(errbuf, path);
    if (st.st_size == 0) {
      reason = "empty file (" + reason + ")";
    }
    return Fail(ErrorCode::kCapture, "capture file " + path + ": " + reason);
  }
  if (PacketSourcePtr mapped = MapClassicPcap(path, static_cast<uint64_t>(st.st_size), pcap.get())) {
    return mapped;
  }
  return PacketSourcePtr(
      std::make_unique<PcapFileSource>(std::move(pcap), path, static_cast<uint64_t>(st.st_size)));
}

Result<PacketSourcePtr> OpenLiveInterface(const CaptureConfig& config) {
  const std::string where = "interface " + config.interface;
  if (config.interface.empty()) {
    return Fail(ErrorCode::kConfig, "capture: no interface given");
  }
  if (config.snaplen <= 0 || config.timeout_ms <= 0 || config.buffer_bytes == 0 ||
      config.buffer_bytes > static_cast<uint64_t>(INT32_MAX)) {
    return Fail(ErrorCode::kConfig, where + ": snaplen, timeout and buffer size must be positive "
                                            "(buffer at most 2 GiB)");
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapPtr pcap(pcap_create(config.interface.c_str(), errbuf));
  if (!pcap) {
    return Fail(ErrorCode::kCapture, where + ": " + errbuf);
  }
  pcap_t* p = pcap.get();
  if (pcap_set_snaplen(p, config.snaplen) != 0 ||
      pcap_set_promisc(p, config.promiscuous ? 1 : 0) != 0 ||
      pcap_set_timeout(p, config.timeout_ms) != 0 ||
      pcap_set_buffer_size(p, static_cast<int>(config.buffer_bytes)) != 0) {
    return Fail(ErrorCode::kCapture, where + ": cannot set capture options");
  }
  std::string warning;
  if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO) != 0) {
    warning = "microsecond timestamps not supported";
  }
  const int rc = pcap_activate(p);
  if (rc < 0) {
    return Fail(ErrorCode::kCapture, where + ": " + ActivateMessage(p, rc));
  }
  if (rc > 0) {
    warning += (warning.empty() ? "" : "; ") + ActivateMessage(p, rc);
  }
  if (!config.bpf_filter.empty()) {
    bpf_program program{};
    if (pcap_compile(p, &program, config.bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      return Fail(ErrorCode::kCapture,
                  where + ": filter '" + config.bpf_filter + "': " + pcap_geterr(p));
    }
    const int set = pcap_setfilter(p, &program);
    pcap_freecode(&program);
    if (set != 0) {
      return Fail(ErrorCode::kCapture,
                  where + ": filter '" + config.bpf_filter + "': " + pcap_geterr(p));
    }
  }
  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    return Fail(ErrorCode::kCapture, where + ": non-blocking mode: " + errbuf);
  }
  return PacketSourcePtr(std::make_unique<PcapLiveSource>(std::move(pcap), config.interface,
                                                          std::move(warning), config.timeout_ms));
}

}  // namespace sensor
