#include "sensor/pipeline/pipeline.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include "sensor/capture/packet_source.h"

namespace sensor {
namespace {

struct Recorded {
  std::vector<std::tuple<std::string, FlowEndReason, bool, bool>> flows;  // uid, reason, locals
  std::vector<std::pair<int64_t, Weird>> weirds;
  std::vector<StatsRecord> stats;
  bool closed = false;
};

class FakeSink : public PipelineSink {
 public:
  explicit FakeSink(Recorded* r) : r_(r) {}
  void OnFlowEnd(const FlowRecord& flow, FlowEndReason reason, bool lo, bool lr) override {
    r_->flows.emplace_back(flow.id.orig_h.ToString() + ">" + flow.id.resp_h.ToString(), reason,
                           lo, lr);
  }
  void OnWeird(int64_t ts, Weird w, const DecodedPacket&, const FlowRecord*) override {
    r_->weirds.emplace_back(ts, w);
  }
  void OnStats(const StatsRecord& s) override { r_->stats.push_back(s); }
  rules::Result<> Close(int64_t) override {
    r_->closed = true;
    return {};
  }

 private:
  Recorded* r_;
};

// An Ethernet/IPv4/UDP frame from src to dst with `payload` bytes.
std::vector<uint8_t> UdpFrame(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                              size_t payload) {
  std::vector<uint8_t> f(14 + 20 + 8 + payload, 0);
  f[0] = 0x02;
  f[6] = 0x02;
  f[11] = 1;
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  uint16_t total = static_cast<uint16_t>(20 + 8 + payload);
  ip[2] = static_cast<uint8_t>(total >> 8);
  ip[3] = static_cast<uint8_t>(total);
  ip[8] = 64;
  ip[9] = 17;
  for (int i = 0; i < 4; ++i) {
    ip[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    ip[16 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
  }
  uint8_t* udp = ip + 20;
  udp[0] = static_cast<uint8_t>(sport >> 8);
  udp[1] = static_cast<uint8_t>(sport);
  udp[2] = static_cast<uint8_t>(dport >> 8);
  udp[3] = static_cast<uint8_t>(dport);
  uint16_t ulen = static_cast<uint16_t>(8 + payload);
  udp[4] = static_cast<uint8_t>(ulen >> 8);
  udp[5] = static_cast<uint8_t>(ulen);
  return f;
}

class PipelineTest : public testing::Test {
 protected:
  PipelineTest() {
    config_.sensor_id = "s1";
    config_.local_nets = {*rules::Cidr::Parse("10.0.0.0/8")};
    config_.logs.stats_interval = std::chrono::seconds(60);
    config_.logs.weirds_per_interval = 3;
    pipeline_ = std::make_unique<Pipeline>(config_, nullptr, std::make_unique<FakeSink>(&r_));
  }
  void Feed(const std::vector<uint8_t>& frame, int64_t ts_us) {
    PacketView v;
    v.timestamp_us = ts_us;
    v.wire_length = static_cast<uint32_t>(frame.size());
    v.bytes = frame;
    pipeline_->OnPacket(v);
  }

  SensorConfig config_;
  Recorded r_;
  std::unique_ptr<Pipeline> pipeline_;
};

constexpr int64_t kT0 = 1'767'600'000'000'000;  // 2026-01-05, in microseconds

TEST_F(PipelineTest, MarksLocalAndExternalEnds) {
  Feed(UdpFrame(0x0A000001, 0x08080808, 40000, 53, 20), kT0);          // internal -> internet
  Feed(UdpFrame(0xC6336401, 0x0A000002, 40001, 3389, 20), kT0 + 10);   // internet -> internal
  ASSERT_TRUE(pipeline_->Finish());
  ASSERT_EQ(r_.flows.size(), 2u);
  EXPECT_EQ(r_.flows[0], std::make_tuple(std::string("10.0.0.1>8.8.8.8"), FlowEndReason::kShutdown,
                                         true, false));
  EXPECT_EQ(r_.flows[1], std::make_tuple(std::string("198.51.100.1>10.0.0.2"),
                                         FlowEndReason::kShutdown, false, true));
  EXPECT_TRUE(r_.closed);
}

TEST_F(PipelineTest, SamplesWeirdsPerIntervalButCountsAll) {
  auto frame = UdpFrame(0x0A000001, 0x0A000002, 1, 2, 0);
  frame.resize(20);  // cut inside the IPv4 header
  for (int i = 0; i < 10; ++i) {
    Feed(frame, kT0 + i);
  }
  EXPECT_EQ(r_.weirds.size(), 3u);  // weirds_per_interval
  // A new stats interval logs again.
  Feed(UdpFrame(0x0A000001, 0x0A000002, 1, 2, 0), kT0 + 61'000'000);
  Feed(frame, kT0 + 61'000'001);
  EXPECT_EQ(r_.weirds.size(), 4u);
  ASSERT_TRUE(pipeline_->Finish());
  EXPECT_EQ(r_.stats.back().weirds, 11u);
  EXPECT_EQ(r_.stats.back().pkts_proc, 12u);
}

TEST_F(PipelineTest, WritesStatsByPacketTime) {
  for (int i = 0; i <= 180; i += 10) {
    Feed(UdpFrame(0x0A000001, 0x0A000002, 1000, 2000, 10), kT0 + int64_t{i} * 1'000'000);
  }
  ASSERT_TRUE(pipeline_->Finish());
  // Records at +60 s, +120 s, +180 s, and the final one.
  ASSERT_EQ(r_.stats.size(), 4u);
  EXPECT_EQ(r_.stats[0].ts_us, kT0 + 60'000'000);
  EXPECT_EQ(r_.stats[0].peer, "s1");
  EXPECT_EQ(r_.stats[0].udp_conns, 1u);
  EXPECT_EQ(r_.stats[0].active_udp_conns, 1u);
  EXPECT_EQ(r_.stats.back().active_udp_conns, 0u);
  EXPECT_EQ(r_.stats.back().pkts_proc, 19u);
}

TEST_F(PipelineTest, TimeNeverStepsBack) {
  Feed(UdpFrame(0x0A000001, 0x0A000002, 1000, 2000, 10), kT0 + 100'000'000);
  Feed(UdpFrame(0x0A000001, 0x0A000002, 1000, 2000, 10), kT0);  // older timestamp
  ASSERT_TRUE(pipeline_->Finish());
  ASSERT_EQ(r_.flows.size(), 1u);  // one flow, not a second one "before" the first
}

TEST_F(PipelineTest, QuietTickExpiresIdleFlows) {
  Feed(UdpFrame(0x0A000001, 0x0A000002, 1000, 2000, 10), kT0);
  pipeline_->Tick(kT0 + 120'000'000);  // past the 1 min UDP idle timeout
  ASSERT_EQ(r_.flows.size(), 1u);
  EXPECT_EQ(std::get<1>(r_.flows[0]), FlowEndReason::kIdle);
}

TEST_F(PipelineTest, AnAnnouncedNextPacketThatDoesNotComeIsDecodedAfresh) {
  auto a = UdpFrame(0x0A000001, 0x0A000002, 1000, 2000, 10);
  auto b = UdpFrame(0x0A000003, 0x0A000004, 1000, 2000, 10);
  auto c = UdpFrame(0x0A000005, 0x0A000006, 1000, 2000, 10);
  PacketView va{kT0, static_cast<uint32_t>(a.size()), 1, a};
  PacketView vb{kT0, static_cast<uint32_t>(b.size()), 1, b};
  PacketView vc{kT0, static_cast<uint32_t>(c.size()), 1, c};
  pipeline_->OnPacket(va, &vb);
  pipeline_->OnPacket(vc);  // not b: b's early decode must not be used
  ASSERT_TRUE(pipeline_->Finish());
  ASSERT_EQ(r_.flows.size(), 2u);
  EXPECT_EQ(std::get<0>(r_.flows[0]), "10.0.0.1>10.0.0.2");
  EXPECT_EQ(std::get<0>(r_.flows[1]), "10.0.0.5>10.0.0.6");
}

// Forwards a source but hides that its frames outlive the next read: RunCapture without
// look-ahead, the reference for the mapped file's look-ahead.
class NoLookAhead : public PacketSource {
 public:
  explicit NoLookAhead(PacketSourcePtr inner) : inner_(std::move(inner)) {}
  rules::Result<bool> Next(PacketView* packet) override { return inner_->Next(packet); }
  bool at_end() const override { return inner_->at_end(); }
  CaptureStats stats() const override { return inner_->stats(); }
  std::string name() const override { return inner_->name(); }

 private:
  PacketSourcePtr inner_;
};

// A classic pcap of `frames` (one microsecond apart), optionally cut inside a last record.
std::string WritePcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames,
                      bool truncated_tail) {
  std::string out;
  auto put32 = [&out](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  auto put16 = [&out](uint16_t v) { out.append(reinterpret_cast<const char*>(&v), 2); };
  put32(0xa1b2c3d4);
  put16(2);
  put16(4);
  put32(0);
  put32(0);
  put32(65535);
  put32(1);  // Ethernet
  uint32_t usec = 0;
  for (const auto& f : frames) {
    put32(1767600000);
    put32(usec++);
    put32(static_cast<uint32_t>(f.size()));
    put32(static_cast<uint32_t>(f.size()));
    out.append(reinterpret_cast<const char*>(f.data()), f.size());
  }
  if (truncated_tail) {
    put32(1767600000);
    put32(usec);
    put32(100);
    put32(100);
    out.append(10, '\0');  // 10 of the 100 bytes the record claims
  }
  std::ofstream(path, std::ios::binary) << out;
  return path;
}

TEST(RunCaptureTest, LookAheadOnAMappedFileGivesTheSameFlowsAndStillReportsATruncatedTail) {
  const std::string dir = testing::TempDir() + "/run_capture_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::vector<std::vector<uint8_t>> frames;
  for (uint32_t i = 0; i < 50; ++i) {
    frames.push_back(UdpFrame(0x0A000001 + i % 7, 0xC0000201, static_cast<uint16_t>(1000 + i % 5),
                              53, 20 + i));
  }
  const std::string path = WritePcap(dir + "/cut.pcap", frames, true);
  SensorConfig config;
  config.sensor_id = "s1";
  std::atomic<bool> stop{false};
  auto run = [&](bool look_ahead, Recorded* r) {
    Pipeline pipeline(config, nullptr, std::make_unique<FakeSink>(r));
    auto source = OpenPcapFile(path);
    EXPECT_TRUE(source.has_value());
    if (!source) return std::string();
    PacketSourcePtr src = std::move(*source);
    if (!look_ahead) src = std::make_unique<NoLookAhead>(std::move(src));
    EXPECT_EQ(src->frames_outlive_next(), look_ahead);
    auto done = RunCapture(*src, pipeline, stop, nullptr);
    EXPECT_EQ(pipeline.packets(), frames.size());  // every whole packet, then the error
    return done ? std::string("no error") : done.error().message;
  };
  Recorded with, without;
  const std::string error_with = run(true, &with);
  const std::string error_without = run(false, &without);
  EXPECT_NE(error_with.find("truncated"), std::string::npos) << error_with;
  EXPECT_NE(error_with.find(path), std::string::npos) << error_with;
  EXPECT_EQ(error_with, error_without);
  ASSERT_EQ(with.flows.size(), 35u);  // 7 sources x 5 ports, all to one DNS server
  EXPECT_EQ(with.flows, without.flows);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sensor
