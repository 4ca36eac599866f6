#include "sensor/pipeline/pipeline.h"

#include "sensor/alerts/alerting.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace sensor {
namespace {

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

enum ProtoClass { kTcp, kUdp, kIcmp, kOther };

ProtoClass ClassOf(uint8_t proto) {
  switch (proto) {
    case static_cast<uint8_t>(IpProto::kTcp):
      return kTcp;
    case static_cast<uint8_t>(IpProto::kUdp):
      return kUdp;
    case static_cast<uint8_t>(IpProto::kIcmp):
    case static_cast<uint8_t>(IpProto::kIcmpV6):
      return kIcmp;
    default:
      return kOther;
  }
}

}  // namespace

uint64_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) {
    return 0;
  }
  unsigned long size = 0;
  unsigned long resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2) {
    return 0;
  }
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

Pipeline::Pipeline(const SensorConfig& config, ClassifierPtr classifier, PipelineSinkPtr sink,
                   ExtractorSet* extractors)
    : config_(config),
      classifier_(std::move(classifier)),
      sink_(std::move(sink)),
      extractors_(extractors),
      flows_(config.flows,
             [this](FlowRecord& flow, FlowEndReason reason) { HandleFlowEnd(flow, reason); }) {
  for (const auto& net : config.local_nets) {
    if (net.network().is_v4()) {
      int bits = net.prefix_length();
      uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
      local_v4_.emplace_back(net.network().v4() & mask, mask);
    } else {
      local_v6_.push_back(net);
    }
  }
}

Pipeline::~Pipeline() = default;

bool Pipeline::IsLocal(const rules::IpAddress& address) const {
  if (address.is_v4()) {
    const uint32_t a = address.v4();
    for (const auto& [network, mask] : local_v4_) {
      if ((a & mask) == network) {
        return true;
      }
    }
    return false;
  }
  for (const auto& net : local_v6_) {
    if (net.Contains(address)) {
      return true;
    }
  }
  return false;
}

void Pipeline::HandleFlowEnd(FlowRecord& flow, FlowEndReason reason) {
  if (reason != FlowEndReason::kInterim) {
    if (classifier_ && !flow.classification.done) {
      classifier_->Finish(flow);
    }
    if (extractors_ != nullptr) {
      extractors_->OnFlowEnd(flow);  // after the final label: its ServiceFact names the protocol
    }
    if (ProtoClass c = ClassOf(flow.key.proto); c != kOther) {
      --active_[c];
    }
    if (reason == FlowEndReason::kEvicted) {
      weirds_.Add(Weird::kFlowEvicted);
      ReportWeird(now_us_, Weird::kFlowEvicted, packet_, &flow);
    }
  }
  const bool local_orig = IsLocal(flow.id.orig_h);
  const bool local_resp = IsLocal(flow.id.resp_h);
  if (flow_alerter_ != nullptr && reason != FlowEndReason::kInterim) {
    flow_alerter_->OnFlowEnd(flow, local_orig, local_resp);
  }
  if (observer_ != nullptr && reason != FlowEndReason::kInterim) {
    observer_->OnFlowEnd(flow, local_orig, local_resp);
  }
  sink_->OnFlowEnd(flow, reason, local_orig, local_resp);
}

void Pipeline::ReportWeird(int64_t ts_us, Weird weird, const DecodedPacket& packet,
                           const FlowRecord* flow) {
  uint32_t& logged = weirds_logged_[static_cast<size_t>(weird)];
  if (logged >= config_.logs.weirds_per_interval) {
    return;  // sampled: counted in stats.log, not logged again this interval
  }
  ++logged;
  sink_->OnWeird(ts_us, weird, packet, flow);
}

void Pipeline::OnPacket(const PacketView& frame, const PacketView* next) {
  ++packets_;
  bytes_ += frame.wire_length;
  if (frame.timestamp_us > now_us_) {
    now_us_ = frame.timestamp_us;
  }
  bool usable;
  if (ahead_bytes_ != nullptr && ahead_bytes_ == frame.bytes.data()) {
    std::swap(packet_, ahead_);
    usable = ahead_usable_;
  } else {
    usable = decoder_.Decode(frame, &packet_);
  }
  ahead_bytes_ = nullptr;
  if (next != nullptr) {
    // Decoding is stateless apart from the decoder's counters, so doing it a packet early
    // changes nothing but when the flow table's memory is touched.
    ahead_usable_ = decoder_.Decode(*next, &ahead_);
    ahead_bytes_ = next->bytes.data();
    if (ahead_usable_) flows_.Prefetch(ahead_);
  }
  if (packet_.weird != Weird::kNone) {
    weirds_.Add(packet_.weird);
  }
  if (!usable) {
    if (extractors_ != nullptr && (packet_.is_arp || packet_.ip_version == 0)) {
      extractors_->OnNonIp(packet_, frame.bytes);  // ARP, LLDP, CDP
    }
    if (packet_.weird != Weird::kNone) {
      ReportWeird(now_us_, packet_.weird, packet_, nullptr);
    }
    MaybeWriteStats(now_us_);
    return;
  }
  // Flows see time move forward only, even when a capture's timestamps step back.
  packet_.timestamp_us = now_us_;
  bool from_orig = true;
  FlowRecord& flow = flows_.Update(packet_, &from_orig);
  if (flow.orig.packets + flow.resp.packets == 1) {
    ProtoClass c = ClassOf(flow.key.proto);
    if (c != kOther) {
      ++created_[c];
      ++active_[c];
    }
  }
  if (packet_.weird != Weird::kNone) {
    ReportWeird(now_us_, packet_.weird, packet_, &flow);
  }
  if (classifier_ && !flow.classification.done) {
    classifier_->Inspect(flow, packet_, from_orig);
  }
  if (extractors_ != nullptr) {
    extractors_->OnPacket(flow, packet_, from_orig);
  }
  MaybeWriteStats(now_us_);
}

void Pipeline::Tick(int64_t now_us) {
  if (now_us > now_us_) {
    now_us_ = now_us;
  }
  flows_.Advance(now_us_);
  MaybeWriteStats(now_us_);
}

void Pipeline::MaybeWriteStats(int64_t now_us) {
  if (observer_ != nullptr && now_us >= next_observe_us_) {
    next_observe_us_ = now_us + 1'000'000;
    observer_->OnTime(now_us, packets_, capture_stats_);
  }
  if (next_stats_us_ == 0) {
    next_stats_us_ =
        now_us + std::chrono::duration_cast<std::chrono::microseconds>(config_.logs.stats_interval)
                     .count();
    return;
  }
  if (now_us < next_stats_us_) {
    return;
  }
  StatsRecord stats = CurrentStats();
  stats.ts_us = now_us;
  sink_->OnStats(stats);
  weirds_logged_.fill(0);
  int64_t interval =
      std::chrono::duration_cast<std::chrono::microseconds>(config_.logs.stats_interval).count();
  while (next_stats_us_ <= now_us) {
    next_stats_us_ += interval;
  }
}

StatsRecord Pipeline::CurrentStats() const {
  StatsRecord s;
  s.ts_us = now_us_;
  s.peer = config_.sensor_id;
  s.mem_bytes = ResidentBytes();
  s.pkts_proc = packets_;
  s.bytes_recv = bytes_;
  s.pkts_link = capture_stats_.received;
  s.pkts_dropped = capture_stats_.dropped;
  s.pkts_if_dropped = capture_stats_.interface_dropped;
  s.active_tcp_conns = active_[kTcp];
  s.active_udp_conns = active_[kUdp];
  s.active_icmp_conns = active_[kIcmp];
  s.tcp_conns = created_[kTcp];
  s.udp_conns = created_[kUdp];
  s.icmp_conns = created_[kIcmp];
  s.flows_evicted = flows_.stats().evicted;
  s.dpi_states = classifier_ ? classifier_->stats().states_live : 0;
  uint64_t total = 0;
  for (uint64_t c : weirds_.counts) {
    total += c;
  }
  s.weirds = total;
  return s;
}

rules::Result<> Pipeline::Finish() {
  if (finished_) {
    return {};
  }
  finished_ = true;
  flows_.Flush();
  StatsRecord stats = CurrentStats();
  sink_->OnStats(stats);
  return sink_->Close(now_us_);
}

rules::Result<> RunCapture(PacketSource& source, Pipeline& pipeline,
                           const std::atomic<bool>& stop,
                           const std::function<void(const PacketSource&, uint64_t)>& progress) {
  PacketView frame;
  auto last_progress = std::chrono::steady_clock::now();
  auto last_stats = last_progress;
  uint64_t count = 0;
  // A source whose frames outlive the next read (a mapped file) is read one packet ahead, so the
  // pipeline can prefetch the next packet's flow while it processes this one.
  const bool look_ahead = source.frames_outlive_next();
  PacketView ahead;
  bool have_ahead = false;
  while (!stop.load(std::memory_order_relaxed)) {
    rules::Result<bool> more = true;
    if (have_ahead) {
      frame = ahead;
      have_ahead = false;
    } else {
      more = source.Next(&frame);
    }
    if (more && *more && look_ahead) {
      auto next = source.Next(&ahead);
      if (!next) {
        pipeline.OnPacket(frame);  // the last good packet, then the read error
        ++count;
        more = tl::make_unexpected(next.error());
      } else {
        have_ahead = *next;
      }
    }
    if (!more) {
      pipeline.SetCaptureStats(source.stats());
      (void)pipeline.Finish();  // keep what was processed; the read error is the news
      return rules::Fail(more.error(), "reading " + source.name() + ": ");
    }
    if (*more) {
      pipeline.OnPacket(frame, have_ahead ? &ahead : nullptr);
      ++count;
      if ((count & 0xfff) != 0) {
        continue;
      }
    } else if (source.at_end()) {
      break;
    } else {
      // A quiet live source: let packet time follow the wall clock.
      pipeline.Tick(WallMicros());
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_stats >= std::chrono::seconds(1)) {
      pipeline.SetCaptureStats(source.stats());
      last_stats = now;
    }
    if (progress && now - last_progress >= std::chrono::milliseconds(500)) {
      progress(source, count);
      last_progress = now;
    }
  }
  pipeline.SetCaptureStats(source.stats());
  if (progress) {
    progress(source, count);
  }
  return pipeline.Finish();
}

}  // namespace sensor
