// Tracks bidirectional flows keyed by a normalised 5-tuple + VLAN. Time comes from packet
// timestamps, so a pcap replay is deterministic. Bounded by max_flows: when full, the least
// recently active flow is evicted (counted, reported through the callback with kEvicted).
// Not thread-safe: one table per capture thread.
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
  // reason. The record is still owned by the table and is destroyed after the call returns.
  using FlowEndFn = std::function<void(FlowRecord&, FlowEndReason)>;

  FlowTable(const FlowTableConfig& config, FlowEndFn on_end);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Finds or creates the flow of an IP packet (packet.ip_version != 0), updates its counters,
  // TCP state and history, and returns it with *from_orig set to the packet's direction.
  // Expires flows idle at packet.timestamp_us first (time only moves forward).
  FlowRecord& Update(const DecodedPacket& packet, bool* from_orig);

  // Ends flows whose timeout passed at now_us; reports long-lived ones due for an interim record.
  void Advance(int64_t now_us);
  // Ends every flow (kShutdown), e.g. at the end of a capture file.
  void Flush();

  size_t size() const;
  const FlowTableStats& stats() const;
  // Approximate bytes held by the table and its records (for stats.log).
  size_t memory_bytes() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sensor
