// Hostile input: every layer truncated at every byte, random bytes, and mutated valid frames.
// Each case is decoded from a heap buffer of exactly its size, so a sanitizer build catches any
// read past the end; the spans the decoder returns must lie inside the frame.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sensor/decode/decoder.h"
#include "sensor/decode/frame_builder.h"

namespace sensor {
namespace {

using frames::Bytes;
using frames::Cat;
using frames::Ethernet;
using frames::Gre;
using frames::Ipv4;
using frames::Ipv6;
using frames::Tcp;
using frames::Udp;
using frames::Vxlan;

struct Sample {
  std::string name;
  Bytes frame;
  size_t headers;  // bytes of headers; the rest is payload a snap length may cut silently
  int link_type = 1;
};

Bytes Payload() { return Bytes{'d', 'a', 't', 'a'}; }

std::vector<Sample> Samples() {
  std::vector<Sample> s;
  Bytes ip = Ipv4(6, Tcp(1, 2, kTcpAck, Payload(), {1, 1, 1, 0}), {.options = {1, 1, 1, 0}});
  s.push_back({"eth_ipv4_tcp", Ethernet(0x0800, ip), 0});
  s.push_back({"raw_ipv4_tcp", ip, 0, 12});
  s.push_back({"null_ipv4_tcp", Cat({2, 0, 0, 0}, ip), 0, 0});
  s.push_back({"sll_ipv4_tcp",
               Cat({0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00}, ip), 0, 113});
  s.push_back({"sll2_ipv4_tcp",
               Cat({0x08, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0}, ip), 0, 276});
  s.push_back({"qinq_ipv6_ext_udp",
               Ethernet(0x86dd,
                        Ipv6(0, frames::Ipv6Ext(44, frames::Ipv6Fragment(17, 0, true,
                                                                            Udp(1, 2, Payload())),
                                                 1)),
                        {{0x88a8, 10}, {0x8100, 20}}),
               0});
  s.push_back({"ipv4_icmp", Ethernet(0x0800, Ipv4(1, frames::Icmp(8, 0, Payload()))), 0});
  s.push_back({"mpls_pw", Ethernet(0x8847, frames::Mpls({1, 2}, Cat({0, 0, 0, 0},
                                                                     Ethernet(0x0800, ip)))),
               0});
  Bytes arp = {0, 1, 0x08, 0x00, 6, 4, 0, 1};
  arp.resize(28, 7);
  s.push_back({"arp", Ethernet(0x0806, arp), 0});
  Bytes pppoe = {0x11, 0, 0, 1, 0, static_cast<uint8_t>(ip.size() + 2), 0x00, 0x21};
  s.push_back({"pppoe", Ethernet(0x8864, Cat(pppoe, ip)), 0});
  Bytes inner = Ethernet(0x0800, ip, {{0x8100, 3}});
  s.push_back({"gre_ipv4", Ethernet(0x0800, Ipv4(47, Gre(0x0800, ip, true, true, true))), 0});
  s.push_back({"erspan2", Ethernet(0x0800, Ipv4(47, Gre(0x88be, frames::ErspanII(5, inner),
                                                        false, false, true))),
               0});
  s.push_back({"erspan3", Ethernet(0x0800, Ipv4(47, Gre(0x22eb, frames::ErspanIII(5, true,
                                                                                   inner),
                                                        false, false, true))),
               0});
  s.push_back({"vxlan", Ethernet(0x0800, Ipv4(17, Udp(9, 4789, Vxlan(7, inner)))), 0});
  Bytes ip6 = Ipv6(6, Tcp(1, 80, kTcpSyn, Payload()));
  s.push_back({"teredo", Ethernet(0x0800, Ipv4(17, Udp(3544, 9,
                                                      Cat({0, 0, 1, 2, 3, 4, 5, 6}, ip6)))),
               0});
  Bytes gtp = {0x34, 0xff, 0, static_cast<uint8_t>(ip.size() + 8), 0, 0, 0, 1,
               0, 0, 0, 0x85, 1, 0x10, 0x09, 0x00};
  s.push_back({"gtpu", Ethernet(0x0800, Ipv4(17, Udp(2152, 2152, Cat(gtp, ip)))), 0});
  for (Sample& sample : s) {
    sample.headers = sample.frame.size() - Payload().size();
  }
  s[8].headers = s[8].frame.size();  // ARP has no payload
  return s;
}

// The decoder's spans must point inside the frame.
void ExpectInside(std::span<const uint8_t> span, const Bytes& frame, const std::string& what) {
  if (span.empty()) {
    return;
  }
  EXPECT_GE(span.data(), frame.data()) << what;
  EXPECT_LE(span.data() + span.size(), frame.data() + frame.size()) << what;
}

void ExpectSpansInside(const DecodedPacket& p, const Bytes& frame, const std::string& what) {
  ExpectInside(p.ip_packet, frame, what + " ip_packet");
  ExpectInside(p.payload, frame, what + " payload");
  ExpectInside(p.tcp_options, frame, what + " tcp_options");
}

bool DecodeBytes(Decoder& decoder, const Bytes& frame, DecodedPacket* packet, int link_type,
         uint32_t wire_length) {
  PacketView view;
  view.link_type = link_type;
  view.bytes = {frame.data(), frame.size()};
  view.wire_length = wire_length;
  return decoder.Decode(view, packet);
}

TEST(DecoderRobustnessTest, SamplesDecodeCleanly) {
  for (const Sample& s : Samples()) {
    Decoder decoder;
    DecodedPacket p;
    DecodeBytes(decoder, s.frame, &p, s.link_type, static_cast<uint32_t>(s.frame.size()));
    EXPECT_EQ(p.weird, Weird::kNone) << s.name << ": " << WeirdName(p.weird);
    if (s.name != "arp") {
      EXPECT_NE(p.ip_version, 0) << s.name;
      EXPECT_TRUE(p.src_port != 0 || p.dst_port != 0) << s.name;
    }
  }
}

TEST(DecoderRobustnessTest, EveryTruncationIsAnAnomaly) {
  for (const Sample& s : Samples()) {
    for (size_t n = 0; n < s.frame.size(); ++n) {
      Bytes cut(s.frame.begin(), s.frame.begin() + static_cast<std::ptrdiff_t>(n));
      Decoder decoder;
      DecodedPacket p;
      std::string what = s.name + " cut at " + std::to_string(n);
      // Truncated on the wire: the headers' lengths disagree with the frame.
      DecodeBytes(decoder, cut, &p, s.link_type, static_cast<uint32_t>(n));
      EXPECT_NE(p.weird, Weird::kNone) << what;
      EXPECT_EQ(decoder.stats().malformed, 1u) << what;
      ExpectSpansInside(p, cut, what);
      // Cut by the snap length only: an anomaly only when a header is incomplete.
      DecodedPacket q;
      DecodeBytes(decoder, cut, &q, s.link_type, static_cast<uint32_t>(s.frame.size()));
      ExpectSpansInside(q, cut, what + " (snaplen)");
      if (n >= s.headers) {
        EXPECT_EQ(q.weird, Weird::kNone) << what << ": " << WeirdName(q.weird);
        EXPECT_EQ(q.payload_length, Payload().size()) << what;
      }
    }
  }
}

TEST(DecoderRobustnessTest, SurvivesRandomBytes) {
  std::mt19937 rng(20261122);
  const int kLinkTypes[] = {0, 1, 12, 101, 108, 113, 228, 229, 276, 9999};
  Decoder decoder;
  DecodedPacket p;
  for (int i = 0; i < 100000; ++i) {
    Bytes frame(rng() % 160);
    for (auto& b : frame) {
      b = static_cast<uint8_t>(rng());
    }
    // Bias toward the interesting paths: a real EtherType or IP version half of the time.
    if (frame.size() > 14 && (i & 1)) {
      static const uint16_t kTypes[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x8847, 0x8864, 0x0806};
      uint16_t t = kTypes[rng() % 7];
      frame[12] = static_cast<uint8_t>(t >> 8);
      frame[13] = static_cast<uint8_t>(t);
      frame[14] = static_cast<uint8_t>((frame[14] & 0x0f) | (t == 0x86dd ? 0x60 : 0x40));
    }
    int link = kLinkTypes[rng() % 10];
    uint32_t wire = static_cast<uint32_t>(frame.size() + (rng() % 4 == 0 ? rng() % 2000 : 0));
    DecodeBytes(decoder, frame, &p, link, wire);
    ExpectSpansInside(p, frame, "random " + std::to_string(i));
  }
  EXPECT_EQ(decoder.stats().frames, 100000u);
  EXPECT_GT(decoder.stats().malformed, 0u);
}

TEST(DecoderRobustnessTest, SurvivesMutatedFrames) {
  std::mt19937 rng(4242);
  std::vector<Sample> samples = Samples();
  Decoder decoder;
  DecodedPacket p;
  uint64_t decoded = 0;
  for (int i = 0; i < 100000; ++i) {
    const Sample& s = samples[rng() % samples.size()];
    Bytes frame = s.frame;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      frame[rng() % frame.size()] = static_cast<uint8_t>(rng());
    }
    if (rng() % 3 == 0) {
      frame.resize(rng() % (frame.size() + 1));
    }
    decoded += DecodeBytes(decoder, frame, &p, s.link_type, static_cast<uint32_t>(frame.size())) ? 1 : 0;
    ExpectSpansInside(p, frame, s.name + " mutation " + std::to_string(i));
  }
  EXPECT_GT(decoded, 0u);
  EXPECT_GT(decoder.stats().malformed, 0u);
}

}  // namespace
}  // namespace sensor
