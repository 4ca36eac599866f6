// Tracks bidirectional flows keyed by a normalised 5-tuple + VLAN. Time comes from packet
// timestamps, so a pcap replay is deterministic. Bounded by max_flows: when full, the least
// recently active flow is evicted (counted, reported through the callback with kEvicted).
// Not thread-safe: one table per capture thread.
//
// Keys: TCP/UDP by addresses + ports; ICMP/ICMPv6 and other IP protocols by the address pair and
// protocol only (ICMP flows report the first packet's type/code as orig_p/resp_p, as Zeek does).
// Originator: the first packet's sender, except a first TCP SYN+ACK, or a first UDP packet from a
// well-known server port to an ephemeral port, which flip the direction (history gets '^').
// Expiry: a flow ends when (table time - its last packet) >= its timeout: the protocol's idle
// timeout, or tcp_close_delay once the TCP flow is closed (FIN both ways, or any RST). A new SYN
// (without ACK) on a closed TCP flow ends it (kClosed) and starts a new one. Long-lived flows are
// reported (kInterim) every report_interval and kept, with cumulative counters.
// Cost: an existing flow is updated without allocation (open addressing + per-class intrusive
// LRU lists; expiry looks at list heads only). Records never move while they are in the table.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "sensor/decode/packet.h"
#include "sensor/flow/flow_record.h"

namespace sensor {

// The `flows:` section of utkikk.yaml.
struct FlowTableConfig {
  std::chrono::milliseconds tcp_idle_timeout{std::chrono::minutes(5)};   // Zeek: 5 min
  std::chrono::milliseconds udp_idle_timeout{std::chrono::minutes(1)};   // Zeek: 1 min
  std::chrono::milliseconds icmp_idle_timeout{std::chrono::minutes(1)};  // Zeek: 1 min
  std::chrono::milliseconds other_idle_timeout{std::chrono::minutes(1)};
  std::chrono::milliseconds tcp_close_delay{std::chrono::seconds(5)};    // Zeek: 5 s after FIN/RST
  std::chrono::milliseconds report_interval{std::chrono::hours(1)};      // interim records
  size_t max_flows = 512 * 1024;
};

struct FlowTableStats {
  uint64_t created = 0;
  uint64_t expired = 0;
  uint64_t evicted = 0;
  uint64_t interim_reports = 0;
  size_t active = 0;
  size_t peak_active = 0;
};

class FlowTable {
 public:
  // Called for every flow that ends (and for interim reports of long-lived flows) with the
  // reason. The record is still owned by the table and is destroyed after the call returns (its
  // DPI state freed through its deleter). The callback must not call back into the table.
  using FlowEndFn = std::function<void(FlowRecord&, FlowEndReason)>;

  FlowTable(const FlowTableConfig& config, FlowEndFn on_end);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Finds or creates the flow of an IP packet (packet.ip_version != 0), updates its counters,
  // TCP state and history, and returns it with *from_orig set to the packet's direction.
  // Expires flows idle at packet.timestamp_us first (time only moves forward).
  FlowRecord& Update(const DecodedPacket& packet, bool* from_orig);
  // Asks the CPU to bring the index slot of `packet`'s flow into the cache, so that an Update()
  // for it a packet later does not wait for memory. Changes nothing else.
  void Prefetch(const DecodedPacket& packet) const;

  // Ends flows whose timeout passed at now_us; reports long-lived ones due for an interim record.
  void Advance(int64_t now_us);
  // Ends every flow (kShutdown), e.g. at the end of a capture file.
  void Flush();

  size_t size() const;
  const FlowTableStats& stats() const;
  // Bytes held by the table: index, record slabs (including free slots) and string heap blocks.
  // DPI state is not included (the classifier counts its own). O(slots): call it per interval.
  size_t memory_bytes() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sensor
