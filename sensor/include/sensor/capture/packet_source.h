// Where packets come from: a capture file (pcap or pcapng) or a live interface, through libpcap.
// The caller owns a source (PacketSourcePtr). One source per capture thread; not thread-safe.
//
// Stopping a live capture from a signal handler: Next() waits at most CaptureConfig::timeout_ms
// and then returns false, so the capture loop simply checks a flag the handler sets
// (`volatile std::sig_atomic_t` or a lock-free std::atomic<bool>) between calls. No call into
// the source from the handler is needed (pcap_breakloop() only serves pcap_loop/pcap_dispatch).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "rules/result.h"

namespace sensor {

using rules::Result;

// One captured frame. `bytes` stays valid until the next call to Next().
struct PacketView {
  int64_t timestamp_us = 0;        // packet time (from the capture), not wall time
  uint32_t wire_length = 0;        // length on the wire; bytes.size() may be shorter (snaplen)
  int link_type = 1;               // DLT_* value; 1 = Ethernet
  std::span<const uint8_t> bytes;  // the captured part of the frame
};

// Counters of the capture itself. For a live interface they come from pcap_stats().
struct CaptureStats {
  uint64_t received = 0;          // packets handed to the sensor by Next()
  uint64_t kernel_received = 0;   // pcap_stats ps_recv (live only): packets that passed the filter
  uint64_t dropped = 0;           // pcap_stats ps_drop: dropped for lack of buffer space
  uint64_t interface_dropped = 0; // pcap_stats ps_ifdrop: dropped by the interface or driver
};

// Capture settings (the `capture:` section of utkikk.yaml).
struct CaptureConfig {
  std::string interface;                  // live interface name, e.g. "eth1"
  int snaplen = 1600;                     // bytes kept of each frame
  uint64_t buffer_bytes = 64ULL << 20;    // kernel ring buffer; libpcap's 2 MiB drops at 100 kpps
  bool promiscuous = true;
  std::string bpf_filter;                 // empty: everything
  int timeout_ms = 100;                   // how long Next() may wait for a packet on a live source
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  // true: *packet filled. false: end of input (a file ended) or, for a live source, no packet
  // arrived within the timeout (check at_end()). An error: the source broke.
  virtual Result<bool> Next(PacketView* packet) = 0;
  // True once a file has been read to its end; never for a live interface.
  virtual bool at_end() const = 0;
  virtual CaptureStats stats() const = 0;
  // A description for logs: "file /x/y.pcap" or "interface eth1".
  virtual std::string name() const = 0;
  // A warning from opening the source that did not stop it (pcap_activate's warnings, e.g.
  // "promiscuous mode not supported"), for the caller to log once; empty when there was none.
  virtual std::string warning() const { return {}; }
  // Bytes of the file read so far and its size (both 0 for live sources), for progress lines.
  virtual uint64_t bytes_read() const { return 0; }
  virtual uint64_t bytes_total() const { return 0; }
  // True when a frame's bytes stay valid across the next call to Next() (a mapped file), so the
  // caller may look one packet ahead (RunCapture's prefetch); libpcap's buffers do not.
  virtual bool frames_outlive_next() const { return false; }
};
using PacketSourcePtr = std::unique_ptr<PacketSource>;

// A missing, unreadable or non-capture file gives an error whose message names the path and the
// reason in one line (kIo when the file cannot be opened, kCapture when libpcap refuses it).
// Timestamps are read with microsecond precision (pcapng nanoseconds are scaled down). A file
// that ends in the middle of a packet yields its whole packets, then an error from Next().
Result<PacketSourcePtr> OpenPcapFile(const std::string& path);
// Opens, activates and filters a live interface; CAP_NET_RAW is needed only for this call.
// Errors name the interface (or the BPF filter) and libpcap's message; kCapture.
Result<PacketSourcePtr> OpenLiveInterface(const CaptureConfig& config);

}  // namespace sensor
