#include "sensor/flow/flow_table.h"

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "rules/ip_address.h"
#include "sensor/decode/packet.h"

namespace sensor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kSec = 1'000'000;

rules::IpAddress Ip(std::string_view s) { return *rules::IpAddress::Parse(s); }

DecodedPacket Base(int64_t ts, std::string_view src, uint16_t sp, std::string_view dst,
                   uint16_t dp, uint8_t proto, uint32_t header_len, uint32_t len) {
  DecodedPacket p;
  p.timestamp_us = ts;
  p.ip_version = 4;
  p.src = Ip(src);
  p.dst = Ip(dst);
  p.src_port = sp;
  p.dst_port = dp;
  p.ip_proto = proto;
  p.payload_length = len;
  p.ip_length = 20 + header_len + len;
  p.wire_length = 14 + p.ip_length;
  p.cap_length = p.wire_length;
  return p;
}

DecodedPacket Tcp(int64_t ts, std::string_view src, uint16_t sp, std::string_view dst, uint16_t dp,
                  uint8_t flags, uint32_t seq, uint32_t len = 0, uint16_t window = 1024) {
  DecodedPacket p = Base(ts, src, sp, dst, dp, 6, 20, len);
  p.tcp_flags = flags;
  p.tcp_seq = seq;
  p.tcp_window = window;
  p.tcp_header_length = 20;
  return p;
}

DecodedPacket Udp(int64_t ts, std::string_view src, uint16_t sp, std::string_view dst, uint16_t dp,
                  uint32_t len = 10) {
  return Base(ts, src, sp, dst, dp, 17, 8, len);
}

DecodedPacket Icmp(int64_t ts, std::string_view src, std::string_view dst, uint8_t type,
                   uint8_t code, uint32_t len = 56) {
  return Base(ts, src, type, dst, code, 1, 8, len);
}

// What the callback saw (records are owned by the table, so copy the interesting parts).
struct Ended {
  std::string uid;
  FlowEndReason reason;
  std::string history;
  std::string state;
  FlowEndpoints id;
  DirectionStats orig;
  DirectionStats resp;
  int64_t start_us;
  int64_t last_us;
  bool accepted;  // ResponderAccepted
};

struct Harness {
  explicit Harness(FlowTableConfig config = {})
      : table(config, [this](FlowRecord& f, FlowEndReason r) {
          ended.push_back(
              {f.uid, r, f.history, ConnState(f), f.id, f.orig, f.resp, f.start_us, f.last_us,
               ResponderAccepted(f)});
        }) {}

  FlowRecord& Feed(const DecodedPacket& p, bool* from_orig = nullptr) {
    bool dir = false;
    FlowRecord& r = table.Update(p, &dir);
    if (from_orig != nullptr) {
      *from_orig = dir;
    }
    return r;
  }

  std::vector<Ended> ended;
  FlowTable table;
};

constexpr uint8_t S = kTcpSyn;
constexpr uint8_t A = kTcpAck;
constexpr uint8_t F = kTcpFin;
constexpr uint8_t R = kTcpRst;
constexpr uint8_t P = kTcpPsh;

constexpr std::string_view kCli = "10.0.0.1";
constexpr std::string_view kSrv = "10.0.0.2";

// A client packet (from 10.0.0.1:40000) or a server packet (from 10.0.0.2:80).
DecodedPacket C(int64_t ts, uint8_t flags, uint32_t seq, uint32_t len = 0) {
  return Tcp(ts, kCli, 40000, kSrv, 80, flags, seq, len);
}
DecodedPacket Sv(int64_t ts, uint8_t flags, uint32_t seq, uint32_t len = 0) {
  return Tcp(ts, kSrv, 80, kCli, 40000, flags, seq, len);
}

TEST(FlowTableTest, UdpFlowExpiresAfterIdleTimeoutByPacketTime) {
  Harness h;
  h.Feed(Udp(0, kCli, 5000, kSrv, 6000));
  h.Feed(Udp(59 * kSec, "10.0.0.3", 5000, kSrv, 6000));
  EXPECT_TRUE(h.ended.empty());
  h.table.Advance(60 * kSec - 1);
  EXPECT_TRUE(h.ended.empty());
  h.table.Advance(60 * kSec);
  ASSERT_EQ(h.ended.size(), 1u);
  EXPECT_EQ(h.ended[0].reason, FlowEndReason::kIdle);
  EXPECT_EQ(h.ended[0].id.orig_h, Ip(kCli));
  EXPECT_EQ(h.ended[0].state, "S0");
  EXPECT_EQ(h.table.size(), 1u);
  EXPECT_EQ(h.table.stats().expired, 1u);
}

TEST(FlowTableTest, TcpAndIcmpHaveTheirOwnTimeouts) {
  FlowTableConfig config;
  config.tcp_idle_timeout = seconds(300);
  config.icmp_idle_timeout = seconds(30);
  Harness h(config);
  h.Feed(C(0, S, 100));
  h.Feed(Icmp(0, kCli, kSrv, 8, 0));
  h.table.Advance(31 * kSec);
  ASSERT_EQ(h.ended.size(), 1u);
  EXPECT_EQ(h.ended[0].id.proto, 1);
  h.table.Advance(299 * kSec);
  EXPECT_EQ(h.ended.size(), 1u);
  h.table.Advance(300 * kSec);
  ASSERT_EQ(h.ended.size(), 2u);
  EXPECT_EQ(h.ended[1].id.proto, 6);
  EXPECT_EQ(h.ended[1].reason, FlowEndReason::kIdle);
  EXPECT_EQ(h.table.size(), 0u);
}

TEST(FlowTableTest, PacketAfterExpiryStartsNewFlow) {
  Harness h;
  std::string first = h.Feed(Udp(0, kCli, 5000, kSrv, 6000)).uid;
  FlowRecord& second = h.Feed(Udp(61 * kSec, kCli, 5000, kSrv, 6000));
  ASSERT_EQ(h.ended.size(), 1u);
  EXPECT_EQ(h.ended[0].uid, first);
  EXPECT_EQ(h.ended[0].reason, FlowEndReason::kIdle);
  EXPECT_NE(second.uid, first);
  EXPECT_EQ(second.orig.packets, 1u);
  EXPECT_EQ(second.start_us, 61 * kSec);
  EXPECT_EQ(h.table.size(), 1u);
}

TEST(FlowTableTest, ExpiredFlowFoundBeforeTheSweepStartsNewFlow) {
  Harness h;
  std::string first = h.Feed(Udp(0, kCli, 5000, kSrv, 6000)).uid;
  h.Feed(Udp(60 * kSec - 50'000, "10.0.0.3", 5000, kSrv, 6000));  // sweeps at 59.95 s
  EXPECT_TRUE(h.ended.empty());
  // 50 ms later the sweep is not due yet, but the lookup sees the flow is past its timeout.
  FlowRecord& again = h.Feed(Udp(60 * kSec, kSrv, 6000, kCli, 5000));
  ASSERT_EQ(h.ended.size(), 1u);
  EXPECT_EQ(h.ended[0].uid, first);
  EXPECT_EQ(h.ended[0].reason, FlowEndReason::kIdle);
  EXPECT_NE(again.uid, first);
  EXPECT_EQ(again.id.orig_h, Ip(kSrv));  // the new flow's first sender is its originator
}

TEST(FlowTableTest, ClosedTcpFlowLingersForCloseDelay) {
  FlowTableConfig config;
  config.tcp_close_delay = seconds(5);
  Harness h(config);
  h.Feed(C(0, S, 100));
  h.Feed(Sv(1000, S | A, 500));
  h.Feed(C(2000, A, 101));
  h.Feed(C(3000, F | A, 101));
  h.Feed(Sv(4000, F | A, 501));
  h.Feed(C(1 * kSec, A, 102));  // the last ACK keeps it alive
  h.table.Advance(5 * kSec);
  EXPECT_TRUE(h.ended.empty());
  h.table.Advance(6 * kSec);
  ASSERT_EQ(h.ended.size(), 1u);
  EXPECT_EQ(h.ended[0].reason, FlowEndReason::kClosed);
  EXPECT_EQ(h.ended[0].state, "SF");
  EXPECT_EQ(h.ended[0].history, "ShAFf");
}

TEST(FlowTableTest, NewSynAfterCloseStartsNewFlow) {
  Harness h;
  h.Feed(C(0, S, 100));
  h.Feed(Sv(1000, R | A, 0));
  ASSERT_EQ(h.table.size(), 1u);
  FlowRecord& again = h.Feed(C(2000, S, 9000));
  ASSERT_EQ(h.ended.size(), 1u);
  EXPECT_EQ(h.ended[0].reason, FlowEndReason::kClosed);
  EXPECT_EQ(h.ended[0].state, "REJ");
  EXPECT_EQ(h.ended[0].history, "Sr");
  EXPECT_EQ(again.history, "S");
  EXPECT_EQ(again.orig.packets, 1u);
  EXPECT_NE(again.uid, h.ended[0].uid);
  // A retransmitted SYN on an open flow does not.
  h.Feed(C(3000, S, 9000));
  EXPECT_EQ(h.ended.size(), 1u);
  EXPECT_EQ(h.table.size(), 1u);
}

TEST(FlowTableTest, EvictsLeastRecentlyActiveFlowWhenFull) {
  FlowTableConfig config;
  config.max_flows = 3;
  Harness h(config);
  h.Feed(Udp(0, "10.0.0.1", 1000, kSrv, 6000));
  h.Feed(Udp(1000, "10.0.0.2", 1000, kSrv, 6000));
  h.Feed(C(2000, S, 1));
  h.Feed(Udp(3000, "10.0.0.1", 1000, kSrv, 6000));  // the first becomes recent again
  h.Feed(Icmp(4000, "10.0.0.9", kSrv, 8, 0));
  ASSERT_EQ(h.ended.size(), 1u);
  EXPECT_EQ(h.ended[0].reason, FlowEndReason::kEvicted);
  EXPECT_EQ(h.ended[0].id.orig_h, Ip("10.0.0.2"));
  EXPECT_EQ(h.table.size(), 3u);
  EXPECT_EQ(h.table.stats().evicted, 1u);
  h.Feed(Udp(5000, "10.0.0.8", 1000, kSrv, 6000));
  ASSERT_EQ(h.ended.size(), 2u);
  EXPECT_EQ(h.ended[1].id.proto, 6);  // the TCP flow was next-oldest
  EXPECT_EQ(h.table.stats().peak_active, 3u);
}

TEST(FlowTableTest, ManyFlowsStayBoundedAndFindable) {
  FlowTableConfig config;
  config.max_flows = 3000;
  Harness h(config);
  for (uint32_t i = 0; i < 20000; ++i) {
    DecodedPacket p = Udp(i, "10.0.0.1", static_cast<uint16_t>(1024 + i % 60000), kSrv,
                          static_cast<uint16_t>(7000 + i / 60000));
    p.src = rules::IpAddress::FromV4(0x0a000000u + i);
    h.Feed(p);
    ASSERT_LE(h.table.size(), 3000u);
  }
  EXPECT_EQ(h.table.stats().evicted, 17000u);
  // The newest 3000 are all still there: feeding them again creates nothing.
  for (uint32_t i = 17000; i < 20000; ++i) {
    DecodedPacket p = Udp(20000 + i, "10.0.0.1", static_cast<uint16_t>(1024 + i % 60000), kSrv,
                          static_cast<uint16_t>(7000 + i / 60000));
    p.src = rules::IpAddress::FromV4(0x0a000000u + i);
    EXPECT_EQ(h.Feed(p).orig.packets, 2u);
  }
  EXPECT_EQ(h.table.stats().created, 20000u);
  EXPECT_GT(h.table.memory_bytes(), 3000 * sizeof(FlowRecord));
}

// 200,000 live flows: the index grows past 2 MiB onto its huge-page mapping (and is re-mapped on
// every doubling after that); every flow stays findable through the moves, and Prefetch, which
// only touches memory, changes nothing.
TEST(FlowTableTest, ALargeIndexOnItsOwnMappingKeepsEveryFlowFindable) {
  FlowTableConfig config;
  config.max_flows = 400000;
  Harness h(config);
  constexpr uint32_t kFlows = 200000;
  auto packet = [](uint32_t i, int64_t ts) {
    DecodedPacket p = Udp(ts, "10.0.0.1", static_cast<uint16_t>(1024 + i % 60000), kSrv, 53);
    p.src = rules::IpAddress::FromV4(0x0a000000u + i);
    return p;
  };
  for (uint32_t i = 0; i < kFlows; ++i) {
    DecodedPacket p = packet(i, 1);
    h.table.Prefetch(p);
    h.Feed(p);
  }
  ASSERT_EQ(h.table.size(), kFlows);
  for (uint32_t i = 0; i < kFlows; i += 7) {
    ASSERT_EQ(h.Feed(packet(i, 2)).orig.packets, 2u) << i;
  }
  EXPECT_EQ(h.table.stats().created, kFlows);
  EXPECT_GT(h.table.memory_bytes(), size_t{kFlows} * 2 * 8);  // index slots alone
  h.table.Flush();
  EXPECT_EQ(h.ended.size(), kFlows);
  EXPECT_EQ(h.table.size(), 0u);
}

TEST(FlowTableTest, ReportsLongLivedFlowsWithCumulativeCounters) {
  FlowTableConfig config;
  config.report_interval = seconds(10);
  Harness h(config);
  for (int i = 0; i <= 12; ++i) {
    h.Feed(Udp(i * 2 * kSec, kCli, 5000, kSrv, 6000));
  }
  ASSERT_EQ(h.ended.size(), 2u);
  EXPECT_EQ(h.ended[0].reason, FlowEndReason::kInterim);
  EXPECT_EQ(h.ended[1].reason, FlowEndReason::kInterim);
  EXPECT_EQ(h.ended[0].uid, h.ended[1].uid);
  EXPECT_EQ(h.ended[0].orig.packets, 5u);   // packets at 0..8 s, reported at 10 s
  EXPECT_EQ(h.ended[1].orig.packets, 10u);  // cumulative
  EXPECT_EQ(h.table.stats().interim_reports, 2u);
  EXPECT_EQ(h.table.size(), 1u);
  h.table.Flush();
  ASSERT_EQ(h.ended.size(), 3u);
  EXPECT_EQ(h.ended[2].reason, FlowEndReason::kShutdown);
  EXPECT_EQ(h.ended[2].orig.packets, 13u);
}

TEST(FlowTableTest, BothDirectionsShareOneFlow) {
  Harness h;
  bool from_orig = false;
  FlowRecord& a = h.Feed(Udp(0, kCli, 40000, kSrv, 9999), &from_orig);
  EXPECT_TRUE(from_orig);
  FlowRecord& b = h.Feed(Udp(10, kSrv, 9999, kCli, 40000, 20), &from_orig);
  EXPECT_FALSE(from_orig);
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(b.id.orig_h, Ip(kCli));
  EXPECT_EQ(b.id.orig_p, 40000);
  EXPECT_EQ(b.id.resp_p, 9999);
  EXPECT_EQ(b.orig.payload_bytes, 10u);
  EXPECT_EQ(b.resp.payload_bytes, 20u);
  EXPECT_EQ(b.resp.ip_bytes, 48u);
  EXPECT_EQ(b.resp.wire_bytes, 62u);
  EXPECT_EQ(b.history, "Dd");
  EXPECT_EQ(ConnState(b), "SF");
  EXPECT_TRUE(ResponderAccepted(b));
  // Another VLAN is another flow.
  DecodedPacket tagged = Udp(20, kCli, 40000, kSrv, 9999);
  tagged.vlan = 7;
  EXPECT_NE(&h.Feed(tagged), &a);
  EXPECT_EQ(h.table.size(), 2u);
}

TEST(FlowTableTest, SynAckFirstFlipsDirection) {
  Harness h;
  bool from_orig = true;
  FlowRecord& f = h.Feed(Sv(0, S | A, 500), &from_orig);
  EXPECT_FALSE(from_orig);
  EXPECT_EQ(f.id.orig_h, Ip(kCli));
  EXPECT_EQ(f.id.orig_p, 40000);
  EXPECT_EQ(f.id.resp_h, Ip(kSrv));
  EXPECT_EQ(f.id.resp_p, 80);
  h.Feed(C(10, A, 101), &from_orig);
  EXPECT_TRUE(from_orig);
  EXPECT_EQ(f.history, "^hA");
  EXPECT_EQ(f.resp.packets, 1u);
  EXPECT_EQ(f.orig.packets, 1u);
}

TEST(FlowTableTest, UdpFromServerPortFlipsDirection) {
  Harness h;
  bool from_orig = true;
  FlowRecord& f = h.Feed(Udp(0, "192.0.2.53", 53, kCli, 50000, 80), &from_orig);
  EXPECT_FALSE(from_orig);
  EXPECT_EQ(f.id.orig_h, Ip(kCli));
  EXPECT_EQ(f.id.orig_p, 50000);
  EXPECT_EQ(f.id.resp_p, 53);
  EXPECT_EQ(f.history, "^d");
  EXPECT_EQ(f.resp.payload_bytes, 80u);
  // Both ports well known (NTP 123 -> 123): no flip.
  FlowRecord& ntp = h.Feed(Udp(0, "192.0.2.1", 123, kCli, 123), &from_orig);
  EXPECT_TRUE(from_orig);
  EXPECT_EQ(ntp.id.orig_h, Ip("192.0.2.1"));
  // Server port to a low port that is not one: no flip either.
  FlowRecord& low = h.Feed(Udp(0, "192.0.2.2", 53, kCli, 999), &from_orig);
  EXPECT_TRUE(from_orig);
  EXPECT_EQ(low.history, "D");
}

TEST(FlowTableTest, IcmpKeysByAddressesAndReportsTypeAndCode) {
  Harness h;
  bool from_orig = false;
  FlowRecord& f = h.Feed(Icmp(0, kCli, kSrv, 8, 0), &from_orig);
  EXPECT_TRUE(from_orig);
  FlowRecord& g = h.Feed(Icmp(5, kSrv, kCli, 0, 0, 56), &from_orig);
  EXPECT_FALSE(from_orig);
  EXPECT_EQ(&f, &g);
  EXPECT_EQ(f.id.orig_p, 8);
  EXPECT_EQ(f.id.resp_p, 0);
  EXPECT_EQ(f.key.lo_port, 0);
  EXPECT_EQ(f.orig.payload_bytes, 56u);
  EXPECT_EQ(ConnState(f), "SF");
  // Another IP protocol (GRE): address pair + proto.
  DecodedPacket gre = Base(0, kCli, 0, kSrv, 0, 47, 4, 100);
  FlowRecord& other = h.Feed(gre);
  EXPECT_EQ(ConnState(other), "S0");
  EXPECT_FALSE(ResponderAccepted(other));  // nothing came back
  EXPECT_TRUE(ResponderAccepted(f));       // the echo reply
  EXPECT_EQ(h.table.size(), 2u);
}

TEST(FlowTableTest, CountsTcpBytesBySequenceWithRetransmissionsAndGaps) {
  Harness h;
  h.Feed(C(0, S, 1000));
  h.Feed(Sv(1, S | A, 5000));
  h.Feed(C(2, A, 1001));
  h.Feed(C(3, P | A, 1001, 100));   // 1001..1100
  h.Feed(C(4, P | A, 1001, 100));   // retransmission
  h.Feed(C(5, P | A, 1301, 100));   // 200 bytes missed
  h.Feed(C(6, P | A, 1351, 100));   // overlaps: 50 new
  FlowRecord& f = h.Feed(Sv(7, P | A, 5001, 50));
  EXPECT_EQ(f.orig.payload_bytes, 450u);
  EXPECT_EQ(f.orig.missed_bytes, 200u);
  EXPECT_EQ(f.resp.payload_bytes, 50u);
  EXPECT_EQ(f.resp.missed_bytes, 0u);
  EXPECT_EQ(f.orig.packets, 6u);
  EXPECT_EQ(f.orig.ip_bytes, 6u * 40 + 400);
  EXPECT_EQ(f.history, "ShADTGd");
  // FIN takes one sequence number but is no payload.
  h.Feed(C(8, F | A, 1451));
  h.Feed(Sv(9, F | A, 5051));
  EXPECT_EQ(f.orig.payload_bytes, 450u);
  EXPECT_EQ(ConnState(f), "SF");
}

TEST(FlowTableTest, SequenceNumbersWrapAround) {
  Harness h;
  h.Feed(C(0, S, 0xffffff00u));
  h.Feed(Sv(1, S | A, 7));
  h.Feed(C(2, A, 0xffffff01u));
  FlowRecord& f = h.Feed(C(3, A, 0xffffff01u, 1000));  // crosses 2^32
  h.Feed(C(4, A, 0xffffff01u + 1000, 500));
  EXPECT_EQ(f.orig.payload_bytes, 1500u);
  EXPECT_EQ(f.orig.missed_bytes, 0u);
}

TEST(FlowTableTest, MidStreamZeroWindowAndInconsistentFlags) {
  Harness h;
  FlowRecord& f = h.Feed(C(0, A, 77, 10));
  h.Feed(Tcp(1, kSrv, 80, kCli, 40000, A, 900, 0, 0));
  h.Feed(C(2, S | F, 87));
  EXPECT_EQ(f.history, "DawISF");
  EXPECT_EQ(f.orig.payload_bytes, 10u);
}

// Every conn_state, with its history, from the packets that produce it, and whether the
// responder accepted the connection.
struct ConnStateCase {
  std::string_view name;
  std::vector<std::pair<bool, uint8_t>> packets;  // (from client, flags); data: see `data`
  std::string_view state;
  std::string_view history;
  bool accepted;         // ResponderAccepted: a service answered, not a refusal or silence
  int data_packet = -1;  // index of a packet carrying 10 bytes
};

TEST(FlowTableTest, ConnStateCoversEveryZeekValue) {
  const std::vector<ConnStateCase> cases = {
      {"S0", {{true, S}}, "S0", "S", false},
      {"S1", {{true, S}, {false, S | A}, {true, A}, {true, P | A}, {false, A}}, "S1", "ShADa",
       true, 3},
      {"SF", {{true, S}, {false, S | A}, {true, A}, {true, F | A}, {false, F | A}, {true, A}},
       "SF", "ShAFf", true},
      {"REJ", {{true, S}, {false, R | A}}, "REJ", "Sr", false},
      {"S2", {{true, S}, {false, S | A}, {true, A}, {true, F | A}}, "S2", "ShAF", true},
      {"S3", {{true, S}, {false, S | A}, {true, A}, {false, F | A}}, "S3", "ShAf", true},
      {"RSTO", {{true, S}, {false, S | A}, {true, A}, {true, R}}, "RSTO", "ShAR", true},
      {"RSTR", {{true, S}, {false, S | A}, {true, A}, {false, R}}, "RSTR", "ShAr", true},
      {"RSTOS0", {{true, S}, {true, R}}, "RSTOS0", "SR", false},
      {"RSTRH", {{false, S | A}, {false, R}}, "RSTRH", "^hr", true},
      {"SH", {{true, S}, {true, F}}, "SH", "SF", false},
      {"SHR", {{false, S | A}, {false, F | A}}, "SHR", "^hf", true},
      {"OTH", {{true, P | A}, {false, A}}, "OTH", "Da", true, 0},
      // Joined midway, and the server's only packet is a RST: a refusal, like REJ.
      {"RSTRH, only a RST back", {{true, P | A}, {false, R}}, "RSTRH", "Dr", false, 0},
  };
  for (const ConnStateCase& c : cases) {
    SCOPED_TRACE(c.name);
    Harness h;
    uint32_t cseq = 1000, sseq = 5000;
    for (size_t i = 0; i < c.packets.size(); ++i) {
      auto [client, flags] = c.packets[i];
      uint32_t len = static_cast<int>(i) == c.data_packet ? 10 : 0;
      uint32_t& seq = client ? cseq : sseq;
      h.Feed(client ? C(static_cast<int64_t>(i), flags, seq, len)
                    : Sv(static_cast<int64_t>(i), flags, seq, len));
      seq += len + ((flags & (S | F)) ? 1 : 0);
    }
    h.table.Flush();
    ASSERT_EQ(h.ended.size(), 1u);
    EXPECT_EQ(h.ended[0].state, c.state);
    EXPECT_EQ(h.ended[0].history, c.history);
    EXPECT_EQ(h.ended[0].accepted, c.accepted);
  }
}

TEST(FlowTableTest, UidsAreUniqueAndDeterministic) {
  auto run = [] {
    std::vector<std::string> uids;
    Harness h;
    for (uint16_t port = 1024; port < 6024; ++port) {
      uids.push_back(h.Feed(Udp(port, kCli, port, kSrv, 53)).uid);
    }
    return uids;
  };
  std::vector<std::string> a = run();
  std::vector<std::string> b = run();
  EXPECT_EQ(a, b);
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()).size(), a.size());
  for (const std::string& uid : a) {
    ASSERT_EQ(uid.size(), 18u);
    EXPECT_EQ(uid[0], 'C');
    for (char ch : uid.substr(1)) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch))) << uid;
    }
  }
}

TEST(FlowTableTest, FlushEndsFlowsInStartTimeOrder) {
  Harness h;
  h.Feed(Udp(0, "10.0.0.1", 1000, kSrv, 6000));          // slot 0
  h.Feed(Udp(1 * kSec, "10.0.0.2", 1000, kSrv, 6000));   // slot 1
  h.Feed(Udp(2 * kSec, "10.0.0.3", 1000, kSrv, 6000));   // slot 2
  h.Feed(Udp(60 * kSec, "10.0.0.4", 1000, kSrv, 6000));  // 10.0.0.1 expires; slot 0 reused
  h.Feed(Udp(61 * kSec, "10.0.0.5", 1000, kSrv, 6000));  // 10.0.0.2 expires
  ASSERT_EQ(h.ended.size(), 2u);
  h.ended.clear();
  h.table.Flush();
  ASSERT_EQ(h.ended.size(), 3u);
  EXPECT_EQ(h.ended[0].id.orig_h, Ip("10.0.0.3"));
  EXPECT_EQ(h.ended[1].id.orig_h, Ip("10.0.0.4"));
  EXPECT_EQ(h.ended[2].id.orig_h, Ip("10.0.0.5"));
  for (const Ended& e : h.ended) {
    EXPECT_EQ(e.reason, FlowEndReason::kShutdown);
  }
  EXPECT_EQ(h.table.size(), 0u);
}

TEST(FlowTableTest, MemoryEstimateGrowsWithFlows) {
  Harness h;
  size_t empty = h.table.memory_bytes();
  for (uint16_t port = 1024; port < 3024; ++port) {
    h.Feed(Udp(port, kCli, port, kSrv, 53));
  }
  EXPECT_GT(h.table.memory_bytes(), empty + 2000 * sizeof(FlowRecord));
}

}  // namespace
}  // namespace sensor
