// The sensor's packet path: decode -> flow table -> nDPI, with flow ends, anomalies and periodic
// statistics handed to a sink (the Zeek-style logs in production, a fake in tests).
// One pipeline per capture thread; not thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/result.h"
#include "sensor/capture/packet_source.h"
#include "sensor/config.h"
#include "sensor/decode/decoder.h"
#include "sensor/dpi/classifier.h"
#include "sensor/extract/extractor_set.h"

namespace sensor {
class FlowAlerter;  // sensor/alerts/alerting.h
}  // namespace sensor
#include "sensor/flow/flow_table.h"

namespace sensor {

// One stats.log record: what the sensor did since it started (counters are cumulative).
struct StatsRecord {
  int64_t ts_us = 0;
  std::string peer;             // sensor id
  uint64_t mem_bytes = 0;       // resident set size
  uint64_t pkts_proc = 0;       // frames processed
  uint64_t bytes_recv = 0;      // wire bytes of those frames
  uint64_t pkts_link = 0;       // packets libpcap received
  uint64_t pkts_dropped = 0;    // pcap ps_drop
  uint64_t pkts_if_dropped = 0; // pcap ps_ifdrop
  uint64_t active_tcp_conns = 0;
  uint64_t active_udp_conns = 0;
  uint64_t active_icmp_conns = 0;
  uint64_t tcp_conns = 0;       // flows created, by protocol
  uint64_t udp_conns = 0;
  uint64_t icmp_conns = 0;
  uint64_t flows_evicted = 0;
  uint64_t dpi_states = 0;      // nDPI flow states alive
  uint64_t weirds = 0;          // anomalies counted
};

// Where the pipeline's results go. Implementations own their files; called from the capture
// thread only.
class PipelineSink {
 public:
  virtual ~PipelineSink() = default;
  // A flow ended (or, with kInterim, a long-lived flow's periodic report).
  virtual void OnFlowEnd(const FlowRecord& flow, FlowEndReason reason, bool local_orig,
                         bool local_resp) = 0;
  // An anomaly; `packet` holds what was decoded (addresses may be unset), `flow` may be null.
  virtual void OnWeird(int64_t ts_us, Weird weird, const DecodedPacket& packet,
                       const FlowRecord* flow) = 0;
  virtual void OnStats(const StatsRecord& stats) = 0;
  // Flushes and closes everything; ts_us is the time to stamp on closing lines.
  virtual rules::Result<> Close(int64_t ts_us) = 0;
};
using PipelineSinkPtr = std::unique_ptr<PipelineSink>;

// The production sink: conn.log, weird.log and stats.log in `dir`, Zeek JSON or TSV; `peer` (the
// sensor id) goes into weird.log's peer field.
rules::Result<PipelineSinkPtr> OpenZeekLogSink(const std::string& dir, LogFormat format,
                                               const std::string& peer);

// Sees flow ends and the passing of time next to the sink (the summariser). Called from the
// capture thread.
class PipelineObserver {
 public:
  virtual ~PipelineObserver() = default;
  // Every ended flow (not interim reports); local_* as for conn.log.
  virtual void OnFlowEnd(const FlowRecord& flow, bool local_orig, bool local_resp) = 0;
  // Pipeline time reached now_us: about once per second of packet time, and on every Tick.
  // `packets`: frames processed so far; `capture`: the latest capture counters.
  virtual void OnTime(int64_t now_us, uint64_t packets, const CaptureStats& capture) = 0;
};

class Pipeline {
 public:
  // `extractors` (may be null: no inventory) is borrowed and must outlive the pipeline.
  Pipeline(const SensorConfig& config, ClassifierPtr classifier, PipelineSinkPtr sink,
           ExtractorSet* extractors = nullptr);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Rules on flows (may be null); borrowed, must outlive the pipeline. Called at every flow end.
  void SetFlowAlerter(FlowAlerter* alerter) { flow_alerter_ = alerter; }
  // May be null; borrowed, must outlive the pipeline.
  void SetObserver(PipelineObserver* observer) { observer_ = observer; }

  // `next`, when given, is the packet that will follow: it is decoded now and its flow's index
  // slot prefetched while `frame` is processed, and the next OnPacket(*next) uses that decode.
  // Its bytes must stay valid until then (PacketSource::frames_outlive_next).
  void OnPacket(const PacketView& frame, const PacketView* next = nullptr);
  // Lets time pass without packets (a live source that is quiet): expires flows, writes stats.
  void Tick(int64_t now_us);
  // Capture counters to put into the next stats record.
  void SetCaptureStats(const CaptureStats& stats) { capture_stats_ = stats; }
  // Ends every flow, writes a final stats record and closes the sink.
  rules::Result<> Finish();

  StatsRecord CurrentStats() const;
  const WeirdCounters& weirds() const { return weirds_; }
  uint64_t packets() const { return packets_; }

 private:
  void HandleFlowEnd(FlowRecord& flow, FlowEndReason reason);
  void ReportWeird(int64_t ts_us, Weird weird, const DecodedPacket& packet,
                   const FlowRecord* flow);
  bool IsLocal(const rules::IpAddress& address) const;
  void MaybeWriteStats(int64_t now_us);

  const SensorConfig& config_;
  std::vector<std::pair<uint32_t, uint32_t>> local_v4_;  // (network, mask) of IPv4 local_nets
  std::vector<rules::Cidr> local_v6_;                    // the IPv6 ones
  Decoder decoder_;
  ClassifierPtr classifier_;
  PipelineSinkPtr sink_;
  ExtractorSet* extractors_;
  FlowAlerter* flow_alerter_ = nullptr;
  PipelineObserver* observer_ = nullptr;
  int64_t next_observe_us_ = 0;  // packet time of the next OnTime
  FlowTable flows_;
  DecodedPacket packet_;
  DecodedPacket ahead_;                      // the decode of the packet announced as `next`
  const uint8_t* ahead_bytes_ = nullptr;     // its frame's bytes; nullptr: none pending
  bool ahead_usable_ = false;
  CaptureStats capture_stats_;
  WeirdCounters weirds_;           // decoder and flow anomalies together
  std::array<uint32_t, kWeirdCount> weirds_logged_{};  // this interval, for sampling
  uint64_t packets_ = 0;
  uint64_t bytes_ = 0;
  int64_t now_us_ = 0;             // latest packet time seen
  int64_t next_stats_us_ = 0;      // 0: not started
  std::array<uint64_t, 3> created_{};  // flows created: tcp, udp, icmp
  std::array<uint64_t, 3> active_{};   // flows alive: tcp, udp, icmp
  bool finished_ = false;
};

// Runs `source` through `pipeline` until the source ends or `stop` becomes true, then calls
// Finish(). `progress` (may be empty) is called about twice a second of wall time.
rules::Result<> RunCapture(PacketSource& source, Pipeline& pipeline,
                           const std::atomic<bool>& stop,
                           const std::function<void(const PacketSource&, uint64_t)>& progress);

// Resident set size of this process, from /proc/self/statm (0 if unknown).
uint64_t ResidentBytes();

}  // namespace sensor
