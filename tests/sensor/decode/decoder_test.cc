#include "sensor/decode/decoder.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rules/ip_address.h"
#include "sensor/decode/frame_builder.h"

namespace sensor {
namespace {

using frames::Addr;
using frames::Bytes;
using frames::Cat;
using frames::Ethernet;
using frames::Gre;
using frames::Icmp;
using frames::Ipv4;
using frames::Ipv4Options;
using frames::Ipv6;
using frames::Ipv6Ext;
using frames::Ipv6Fragment;
using frames::Mpls;
using frames::Tcp;
using frames::Udp;
using frames::Vxlan;

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

rules::IpAddress Ip(const char* text) { return *rules::IpAddress::Parse(text); }

// Decodes a copy of `frame` with its wire length equal to its size unless told otherwise. The
// copy lives until the next call, like a capture buffer, so tests may pass temporaries and still
// read the packet's spans.
bool DecodeBytes(Decoder& decoder, const Bytes& frame, DecodedPacket* packet, int link_type = 1,
                 uint32_t wire_length = 0) {
  static Bytes* const kBuffer = new Bytes;
  *kBuffer = frame;
  const Bytes& bytes = *kBuffer;
  PacketView view;
  view.timestamp_us = 42;
  view.link_type = link_type;
  view.bytes = {bytes.data(), bytes.size()};
  view.wire_length = wire_length != 0 ? wire_length : static_cast<uint32_t>(bytes.size());
  return decoder.Decode(view, packet);
}

std::string PayloadText(const DecodedPacket& p) {
  return std::string(p.payload.begin(), p.payload.end());
}

Bytes Text(const char* s) { return Bytes(s, s + std::char_traits<char>::length(s)); }

Bytes Ipv4Tcp() { return Ipv4(kTcp, Tcp(40000, 443, kTcpSyn | kTcpAck, Text("hello"))); }
Bytes Ipv4Udp() { return Ipv4(kUdp, Udp(5353, 53, Text("query"))); }

// Checks the inner packet of a tunnel test: Ipv4Udp() with the given tunnel depth.
void ExpectInnerIpv4Udp(const DecodedPacket& p, int depth) {
  EXPECT_EQ(p.weird, Weird::kNone) << WeirdName(p.weird);
  EXPECT_EQ(p.tunnel_depth, depth);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.src, Ip("192.0.2.1"));
  EXPECT_EQ(p.dst, Ip("198.51.100.2"));
  EXPECT_EQ(p.ip_proto, kUdp);
  EXPECT_EQ(p.src_port, 5353);
  EXPECT_EQ(p.dst_port, 53);
  EXPECT_EQ(PayloadText(p), "query");
  EXPECT_EQ(p.ip_length, 20u + 8u + 5u);
  EXPECT_EQ(p.ip_packet.size(), 33u);
}

// ---- Ethernet, IPv4, TCP --------------------------------------------------------------------

TEST(DecoderTest, DecodesEthernetIpv4TcpFields) {
  Decoder decoder;
  DecodedPacket p;
  Bytes options = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02};  // MSS, NOP, NOP, SACK-ok
  Bytes frame = Ethernet(0x0800, Ipv4(kTcp, Tcp(40000, 443, kTcpSyn, Text("hi"), options,
                                                0x01020304, 0x0a0b0c0d, 29200),
                                      {.ttl = 57}));
  ASSERT_TRUE(DecodeBytes(decoder, frame, &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.timestamp_us, 42);
  EXPECT_EQ(p.cap_length, frame.size());
  EXPECT_EQ(p.wire_length, frame.size());
  EXPECT_TRUE(p.has_mac);
  EXPECT_EQ(p.dst_mac, (MacAddress{0x02, 0, 0, 0, 0, 0x02}));
  EXPECT_EQ(p.src_mac, (MacAddress{0x02, 0, 0, 0, 0, 0x01}));
  EXPECT_EQ(p.vlan, 0);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.src, Ip("192.0.2.1"));
  EXPECT_EQ(p.dst, Ip("198.51.100.2"));
  EXPECT_EQ(p.ttl, 57);
  EXPECT_EQ(p.ip_proto, kTcp);
  EXPECT_EQ(p.ip_length, 20u + 28u + 2u);
  EXPECT_EQ(Bytes(p.ip_packet.begin(), p.ip_packet.end()), Bytes(frame.begin() + 14, frame.end()));
  EXPECT_EQ(p.ip_packet.size(), 50u);
  EXPECT_FALSE(p.fragment);
  EXPECT_EQ(p.src_port, 40000);
  EXPECT_EQ(p.dst_port, 443);
  EXPECT_EQ(p.tcp_flags, kTcpSyn);
  EXPECT_EQ(p.tcp_seq, 0x01020304u);
  EXPECT_EQ(p.tcp_ack, 0x0a0b0c0du);
  EXPECT_EQ(p.tcp_window, 29200);
  EXPECT_EQ(p.tcp_header_length, 28);
  EXPECT_EQ(Bytes(p.tcp_options.begin(), p.tcp_options.end()), options);
  EXPECT_EQ(p.payload_length, 2u);
  EXPECT_EQ(PayloadText(p), "hi");
  EXPECT_TRUE(p.has_ports());
  EXPECT_EQ(decoder.stats().frames, 1u);
  EXPECT_EQ(decoder.stats().ipv4, 1u);
  EXPECT_EQ(decoder.stats().malformed, 0u);
}

TEST(DecoderTest, ResetsThePacketBetweenFrames) {
  Decoder decoder;
  DecodedPacket p;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4Tcp()), &p));
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x88cc, Bytes(30, 0)), &p));
  EXPECT_EQ(p.ip_version, 0);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_TRUE(p.payload.empty());
}

TEST(DecoderTest, TrimsEthernetPadding) {
  Decoder decoder;
  DecodedPacket p;
  Bytes frame = Ethernet(0x0800, Ipv4(kUdp, Udp(1, 2, Text("x"))));
  frame.resize(60, 0);  // minimum Ethernet frame
  ASSERT_TRUE(DecodeBytes(decoder, frame, &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.ip_packet.size(), 29u);
  EXPECT_EQ(p.payload_length, 1u);
  EXPECT_EQ(PayloadText(p), "x");
}

TEST(DecoderTest, SnaplenCutIsNotAnAnomaly) {
  Decoder decoder;
  DecodedPacket p;
  Bytes frame = Ethernet(0x0800, Ipv4(kTcp, Tcp(1, 2, kTcpAck, Bytes(1000, 'a'))));
  uint32_t wire = static_cast<uint32_t>(frame.size());
  frame.resize(100);
  ASSERT_TRUE(DecodeBytes(decoder, frame, &p, 1, wire));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.ip_length, 1040u);
  EXPECT_EQ(p.ip_packet.size(), 86u);
  EXPECT_EQ(p.payload_length, 1000u);
  EXPECT_EQ(p.payload.size(), 100u - 54u);
}

TEST(DecoderTest, IpLengthPastTheWireIsTruncatedIpPacket) {
  Decoder decoder;
  DecodedPacket p;
  Bytes frame = Ethernet(0x0800, Ipv4(kUdp, Udp(1, 2, Text("abc")), {.total_length = 400}));
  ASSERT_TRUE(DecodeBytes(decoder, frame, &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedIpPacket);
  EXPECT_EQ(p.ip_length, 31u);
  EXPECT_EQ(PayloadText(p), "abc");
  EXPECT_EQ(decoder.weirds()[Weird::kTruncatedIpPacket], 1u);
  EXPECT_EQ(decoder.stats().malformed, 1u);
}

TEST(DecoderTest, ZeroIpv4TotalLengthIsTakenAsSegmentationOffload) {
  Decoder decoder;
  DecodedPacket p;
  Bytes frame = Ethernet(0x0800, Ipv4(kTcp, Tcp(1, 2, kTcpAck, Text("abc")), {.total_length = 0}));
  ASSERT_TRUE(DecodeBytes(decoder, frame, &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.ip_length, 43u);
  EXPECT_EQ(PayloadText(p), "abc");
}

TEST(DecoderTest, RejectsBrokenIpv4Headers) {
  Decoder decoder;
  DecodedPacket p;
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x0800, Ipv6(kTcp, {})), &p));
  EXPECT_EQ(p.weird, Weird::kBadIpVersion);
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kTcp, Bytes(20, 0), {.ihl = 4})), &p));
  EXPECT_EQ(p.weird, Weird::kBadIpHeaderLength);
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kTcp, Bytes(20, 0), {.ihl = 15})), &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedIpHeader);
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kTcp, Bytes(20, 0), {.total_length = 19})), &p));
  EXPECT_EQ(p.weird, Weird::kIpLengthTooShort);
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x0800, Bytes(19, 0x45)), &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedIpHeader);
  EXPECT_EQ(decoder.stats().malformed, 5u);
}

TEST(DecoderTest, SkipsIpv4OptionsAndFlagsBadOnes) {
  Decoder decoder;
  DecodedPacket p;
  // NOP, record route (length 7, pointer 4, one slot) = 8 bytes
  Bytes good = {0x01, 0x07, 0x07, 0x04, 0, 0, 0, 0};
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kTcp, Tcp(1, 2, 0, Text("p")), {.options = good})),
                  &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.src_port, 1);
  EXPECT_EQ(PayloadText(p), "p");
  // End-of-list followed by padding is fine too.
  Bytes eol = {0x00, 0xff, 0xff, 0xff};
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kTcp, Tcp(1, 2, 0, {}), {.options = eol})), &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  // An option claiming more than the header holds: flagged, and the packet still decodes.
  Bytes bad = {0x44, 0x20, 0x05, 0x00};
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kTcp, Tcp(1, 2, 0, Text("p")), {.options = bad})),
                  &p));
  EXPECT_EQ(p.weird, Weird::kBadIpv4Options);
  EXPECT_EQ(p.src_port, 1);
  EXPECT_EQ(p.dst_port, 2);
  Bytes zero_length = {0x44, 0x00, 0x00, 0x00};
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kTcp, Tcp(1, 2, 0, {}), {.options = zero_length})),
                  &p));
  EXPECT_EQ(p.weird, Weird::kBadIpv4Options);
}

TEST(DecoderTest, DecodesTransportOfFirstFragmentOnly) {
  Decoder decoder;
  DecodedPacket p;
  ASSERT_TRUE(DecodeBytes(decoder,
                  Ethernet(0x0800, Ipv4(kUdp, Udp(1, 2, Bytes(16, 'a'), 1000),
                                        {.fragment_field = 0x2000})),
                  &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_TRUE(p.fragment);
  EXPECT_TRUE(p.first_fragment);
  EXPECT_EQ(p.src_port, 1);
  EXPECT_EQ(p.dst_port, 2);

  EXPECT_FALSE(DecodeBytes(decoder,
                   Ethernet(0x0800, Ipv4(kUdp, Bytes(24, 'b'), {.fragment_field = 0x0003})), &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_TRUE(p.fragment);
  EXPECT_FALSE(p.first_fragment);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.src, Ip("192.0.2.1"));
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(decoder.stats().fragments, 2u);
  EXPECT_EQ(decoder.stats().ipv4, 2u);
}

// ---- Link types -----------------------------------------------------------------------------

TEST(DecoderTest, DecodesRawIpLinkTypes) {
  Decoder decoder;
  DecodedPacket p;
  for (int link : {12, 101, 228}) {
    ASSERT_TRUE(DecodeBytes(decoder, Ipv4Tcp(), &p, link)) << link;
    EXPECT_EQ(p.ip_version, 4);
    EXPECT_EQ(p.dst_port, 443);
    EXPECT_FALSE(p.has_mac);
  }
  for (int link : {12, 101, 229}) {
    ASSERT_TRUE(DecodeBytes(decoder, Ipv6(kUdp, Udp(7, 8, Text("x"))), &p, link)) << link;
    EXPECT_EQ(p.ip_version, 6);
    EXPECT_EQ(p.dst_port, 8);
  }
  EXPECT_FALSE(DecodeBytes(decoder, Bytes{0x50, 0, 0, 0}, &p, 12));
  EXPECT_EQ(p.weird, Weird::kBadIpVersion);
  EXPECT_FALSE(DecodeBytes(decoder, Bytes{}, &p, 101));
  EXPECT_EQ(p.weird, Weird::kTruncatedIpHeader);
}

TEST(DecoderTest, DecodesNullAndLoopFamilies) {
  Decoder decoder;
  DecodedPacket p;
  ASSERT_TRUE(DecodeBytes(decoder, Cat({2, 0, 0, 0}, Ipv4Tcp()), &p, 0));  // little-endian host
  EXPECT_EQ(p.ip_version, 4);
  ASSERT_TRUE(DecodeBytes(decoder, Cat({0, 0, 0, 2}, Ipv4Tcp()), &p, 0));  // big-endian host
  EXPECT_EQ(p.ip_version, 4);
  ASSERT_TRUE(DecodeBytes(decoder, Cat({30, 0, 0, 0}, Ipv6(kUdp, Udp(1, 2, {}))), &p, 0));  // macOS
  EXPECT_EQ(p.ip_version, 6);
  ASSERT_TRUE(DecodeBytes(decoder, Cat({0, 0, 0, 24}, Ipv6(kUdp, Udp(1, 2, {}))), &p, 108));  // OpenBSD
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_FALSE(DecodeBytes(decoder, Cat({7, 0, 0, 0}, Ipv4Tcp()), &p, 0));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_FALSE(DecodeBytes(decoder, Bytes{2, 0}, &p, 0));
  EXPECT_EQ(p.weird, Weird::kTruncatedLinkHeader);
}

TEST(DecoderTest, DecodesLinuxCookedCaptures) {
  Decoder decoder;
  DecodedPacket p;
  Bytes sll = {0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 0x09, 0, 0, 0x08, 0x00};
  ASSERT_TRUE(DecodeBytes(decoder, Cat(sll, Ipv4Tcp()), &p, 113));
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.dst_port, 443);
  EXPECT_TRUE(p.has_mac);
  EXPECT_EQ(p.src_mac, (MacAddress{0x02, 0, 0, 0, 0, 0x09}));

  Bytes sll2 = {0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 0x0a, 0, 0};
  ASSERT_TRUE(DecodeBytes(decoder, Cat(sll2, Ipv6(kUdp, Udp(1, 2, {}))), &p, 276));
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.src_mac, (MacAddress{0x02, 0, 0, 0, 0, 0x0a}));

  EXPECT_FALSE(DecodeBytes(decoder, Bytes(15, 0), &p, 113));
  EXPECT_EQ(p.weird, Weird::kTruncatedLinkHeader);
  EXPECT_FALSE(DecodeBytes(decoder, Bytes(19, 0), &p, 276));
  EXPECT_EQ(p.weird, Weird::kTruncatedLinkHeader);
}

TEST(DecoderTest, UnknownLinkTypeIsAWeird) {
  Decoder decoder;
  DecodedPacket p;
  EXPECT_FALSE(DecodeBytes(decoder, Ipv4Tcp(), &p, 127));
  EXPECT_EQ(p.weird, Weird::kUnknownLinkType);
  EXPECT_EQ(decoder.weirds()[Weird::kUnknownLinkType], 1u);
}

// ---- Link layer: 802.3, VLAN, MPLS, PPPoE, ARP ----------------------------------------------

TEST(DecoderTest, NonIpFramesAreNotAnomalies) {
  Decoder decoder;
  DecodedPacket p;
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(38, Bytes(38, 0x42)), &p));  // 802.3 + LLC (STP)
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_TRUE(p.has_mac);
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x88cc, Bytes(40, 0)), &p));  // LLDP
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(decoder.stats().non_ip, 2u);
  EXPECT_EQ(decoder.stats().malformed, 0u);
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x05ff, Bytes(40, 0)), &p));  // neither length nor type
  EXPECT_EQ(p.weird, Weird::kUnknownEtherType);
  EXPECT_FALSE(DecodeBytes(decoder, Bytes(13, 0), &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedLinkHeader);
}

TEST(DecoderTest, DecodesVlanAndQinQ) {
  Decoder decoder;
  DecodedPacket p;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4Tcp(), {{0x8100, 0x2000 | 101}}), &p));
  EXPECT_EQ(p.vlan, 101);  // priority bits dropped
  EXPECT_EQ(p.inner_vlan, 0);
  EXPECT_EQ(p.dst_port, 443);
  for (uint16_t outer : {0x88a8, 0x9100}) {
    ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x86dd, Ipv6(kUdp, Udp(1, 2, {})),
                                      {{outer, 200}, {0x8100, 300}}),
                    &p));
    EXPECT_EQ(p.vlan, 200);
    EXPECT_EQ(p.inner_vlan, 300);
    EXPECT_EQ(p.ip_version, 6);
  }
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4Tcp(), {{0x88a8, 1}, {0x8100, 2}, {0x8100, 3}}),
                  &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4Tcp(),
                                     {{0x88a8, 1}, {0x8100, 2}, {0x8100, 3}, {0x8100, 4}}),
                   &p));
  EXPECT_EQ(p.weird, Weird::kTooManyVlanTags);
  Bytes cut = Ethernet(0x0800, {}, {{0x8100, 5}});
  cut.resize(16);
  EXPECT_FALSE(DecodeBytes(decoder, cut, &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedVlan);
}

TEST(DecoderTest, DecodesMplsLabelStacks) {
  Decoder decoder;
  DecodedPacket p;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x8847, Mpls({100, 200}, Ipv4Udp())), &p));
  ExpectInnerIpv4Udp(p, 0);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x8848, Mpls({16}, Ipv6(kUdp, Udp(1, 2, {})))), &p));
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.weird, Weird::kNone);

  // Ethernet pseudowire, with and without the control word.
  Bytes inner = Ethernet(0x0800, Ipv4Udp(), {{0x8100, 77}});
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x8847, Mpls({300}, Cat({0, 0, 0, 0}, inner))), &p));
  ExpectInnerIpv4Udp(p, 1);
  EXPECT_EQ(p.vlan, 77);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x8847, Mpls({300}, inner)), &p));
  ExpectInnerIpv4Udp(p, 1);

  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x8847, Mpls({300}, Bytes(30, 0x11))), &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x8847, Bytes{0, 1, 0}), &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedMpls);
  Bytes deep(4 * 20, 0);  // twenty labels, none with the bottom-of-stack bit
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x8847, deep), &p));
  EXPECT_EQ(p.weird, Weird::kTooManyMplsLabels);
}

TEST(DecoderTest, DecodesPppoeSessions) {
  Decoder decoder;
  DecodedPacket p;
  Bytes ip = Ipv4Udp();
  Bytes pppoe = {0x11, 0x00, 0x12, 0x34};
  frames::Put16(&pppoe, static_cast<uint16_t>(ip.size() + 2));
  frames::Put16(&pppoe, 0x0021);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x8864, Cat(pppoe, ip)), &p));
  ExpectInnerIpv4Udp(p, 0);
  pppoe[7] = 0x57;
  Bytes ip6 = Ipv6(kUdp, Udp(1, 2, {}));
  pppoe[4] = 0;
  pppoe[5] = static_cast<uint8_t>(ip6.size() + 2);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x8864, Cat(pppoe, ip6)), &p));
  EXPECT_EQ(p.ip_version, 6);
  pppoe[6] = 0xc0;  // LCP
  pppoe[7] = 0x21;
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x8864, Cat(pppoe, Bytes(10, 0))), &p));
  EXPECT_EQ(p.weird, Weird::kNone);
}

TEST(DecoderTest, DecodesArp) {
  Decoder decoder;
  DecodedPacket p;
  Bytes arp = {0, 1, 0x08, 0x00, 6, 4, 0, 2};
  Bytes sender_mac = {0x02, 0xaa, 0, 0, 0, 1};
  Bytes target_mac = {0x02, 0xbb, 0, 0, 0, 2};
  frames::Append(&arp, sender_mac);
  frames::Append(&arp, Addr("10.0.0.1"));
  frames::Append(&arp, target_mac);
  frames::Append(&arp, Addr("10.0.0.2"));
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x0806, arp), &p));
  EXPECT_TRUE(p.is_arp);
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.arp.operation, 2);
  EXPECT_EQ(p.arp.sender_mac, (MacAddress{0x02, 0xaa, 0, 0, 0, 1}));
  EXPECT_EQ(p.arp.sender_ip, Ip("10.0.0.1"));
  EXPECT_EQ(p.arp.target_mac, (MacAddress{0x02, 0xbb, 0, 0, 0, 2}));
  EXPECT_EQ(p.arp.target_ip, Ip("10.0.0.2"));
  EXPECT_EQ(p.ip_version, 0);
  EXPECT_EQ(decoder.stats().arp, 1u);

  arp.resize(20);
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x0806, arp), &p));
  EXPECT_TRUE(p.is_arp);
  EXPECT_EQ(p.weird, Weird::kTruncatedArp);
  Bytes bad = {0, 1, 0x08, 0x00, 0, 0, 0, 1};
  bad.resize(28, 0);
  EXPECT_FALSE(DecodeBytes(decoder, Ethernet(0x0806, bad), &p));
  EXPECT_EQ(p.weird, Weird::kBadArp);
}

// ---- IPv6 -----------------------------------------------------------------------------------

TEST(DecoderTest, DecodesIpv6Fields) {
  Decoder decoder;
  DecodedPacket p;
  Bytes frame = Ethernet(0x86dd, Ipv6(kTcp, Tcp(5000, 22, kTcpAck | kTcpPsh, Text("ssh")),
                                      "fe80::1", "ff02::fb", 255));
  ASSERT_TRUE(DecodeBytes(decoder, frame, &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.src, Ip("fe80::1"));
  EXPECT_EQ(p.dst, Ip("ff02::fb"));
  EXPECT_EQ(p.ttl, 255);
  EXPECT_EQ(p.ip_proto, kTcp);
  EXPECT_EQ(p.ip_length, 40u + 23u);
  EXPECT_EQ(p.ip_packet.size(), 63u);
  EXPECT_EQ(p.tcp_flags, kTcpAck | kTcpPsh);
  EXPECT_EQ(PayloadText(p), "ssh");
  EXPECT_EQ(decoder.stats().ipv6, 1u);
}

TEST(DecoderTest, WalksIpv6ExtensionHeaders) {
  Decoder decoder;
  DecodedPacket p;
  Bytes udp = Udp(546, 547, Text("dhcp"));
  Bytes chain = Ipv6Ext(43, Ipv6Ext(60, Ipv6Ext(kUdp, udp, 0), 2), 1);  // hop, routing, dst
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x86dd, Ipv6(0, chain)), &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.ip_proto, kUdp);
  EXPECT_EQ(p.src_port, 546);
  EXPECT_EQ(PayloadText(p), "dhcp");

  // AH: length in 4-octet units minus 2 (here 12 + 12 bytes of ICV = 24 bytes, field 4).
  Bytes ah = {kTcp, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1};
  ah.resize(24, 0x5a);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x86dd, Ipv6(51, Cat(ah, Tcp(1, 2, 0, {})))), &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.ip_proto, kTcp);
  EXPECT_EQ(p.dst_port, 2);

  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x86dd, Ipv6(59, {})), &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.ip_proto, 59);

  Bytes many = Udp(1, 2, {});
  for (int i = 0; i < 9; ++i) {
    many = Ipv6Ext(i == 0 ? kUdp : 60, many);
  }
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x86dd, Ipv6(60, many)), &p));
  EXPECT_EQ(p.weird, Weird::kTooManyIpv6Extensions);
  EXPECT_EQ(p.src_port, 0);

  Bytes cut = Ipv6Ext(kUdp, {}, 3);  // claims 32 bytes
  cut.resize(16);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x86dd, Ipv6(0, cut)), &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedIpv6Extension);
}

TEST(DecoderTest, DecodesIpv6Fragments) {
  Decoder decoder;
  DecodedPacket p;
  ASSERT_TRUE(DecodeBytes(decoder,
                  Ethernet(0x86dd, Ipv6(44, Ipv6Fragment(kUdp, 0, true, Udp(1, 2, Text("a"))))),
                  &p));
  EXPECT_TRUE(p.fragment);
  EXPECT_TRUE(p.first_fragment);
  EXPECT_EQ(p.ip_proto, kUdp);
  EXPECT_EQ(p.src_port, 1);
  EXPECT_FALSE(DecodeBytes(decoder,
                   Ethernet(0x86dd, Ipv6(44, Ipv6Fragment(kUdp, 100, false, Bytes(16, 1)))), &p));
  EXPECT_TRUE(p.fragment);
  EXPECT_FALSE(p.first_fragment);
  EXPECT_EQ(p.ip_proto, kUdp);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.weird, Weird::kNone);
  // An atomic fragment (offset 0, no more fragments) is a whole packet.
  ASSERT_TRUE(DecodeBytes(decoder,
                  Ethernet(0x86dd, Ipv6(44, Ipv6Fragment(kTcp, 0, false, Tcp(3, 4, 0, {})))), &p));
  EXPECT_FALSE(p.fragment);
  EXPECT_EQ(p.dst_port, 4);
  EXPECT_EQ(decoder.stats().fragments, 2u);
}

// ---- Transport ------------------------------------------------------------------------------

TEST(DecoderTest, ChecksTcpHeaderLength) {
  Decoder decoder;
  DecodedPacket p;
  Bytes tcp = Tcp(1, 2, kTcpSyn, {});
  tcp[12] = 0x40;  // data offset 4 words
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kTcp, tcp)), &p));
  EXPECT_EQ(p.weird, Weird::kBadTcpHeaderLength);
  EXPECT_EQ(p.ip_version, 4);
  tcp[12] = 0xf0;  // 60 bytes, more than the segment
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kTcp, tcp)), &p));
  EXPECT_EQ(p.weird, Weird::kBadTcpHeaderLength);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kTcp, Bytes(19, 0))), &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedTcpHeader);
}

TEST(DecoderTest, ChecksUdpLength) {
  Decoder decoder;
  DecodedPacket p;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(1, 2, Text("abcd"), 10))), &p));
  EXPECT_EQ(p.weird, Weird::kNone);  // a UDP length shorter than the IP payload wins
  EXPECT_EQ(PayloadText(p), "ab");
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(1, 2, Text("abcd"), 7))), &p));
  EXPECT_EQ(p.weird, Weird::kBadUdpLength);
  EXPECT_EQ(PayloadText(p), "abcd");
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(1, 2, Text("abcd"), 500))), &p));
  EXPECT_EQ(p.weird, Weird::kBadUdpLength);
  EXPECT_EQ(p.payload_length, 4u);
  EXPECT_EQ(PayloadText(p), "abcd");
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Bytes(7, 0))), &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedUdpHeader);
}

TEST(DecoderTest, IcmpTypeAndCodeAreThePorts) {
  Decoder decoder;
  DecodedPacket p;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(1, Icmp(8, 0, Text("ping")))), &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.ip_proto, 1);
  EXPECT_EQ(p.src_port, 8);
  EXPECT_EQ(p.dst_port, 0);
  EXPECT_EQ(PayloadText(p), "ping");
  EXPECT_FALSE(p.has_ports());
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x86dd, Ipv6(58, Icmp(135, 0, Bytes(16, 0)))), &p));
  EXPECT_EQ(p.ip_proto, 58);
  EXPECT_EQ(p.src_port, 135);
  EXPECT_EQ(p.payload_length, 16u);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(1, Bytes{3, 1, 0})), &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedIcmpHeader);
  EXPECT_EQ(p.src_port, 3);
  EXPECT_EQ(p.dst_port, 1);
}

TEST(DecoderTest, OtherIpProtocolsKeepTheirPayload) {
  Decoder decoder;
  DecodedPacket p;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(112, Bytes(20, 0x21))), &p));  // VRRP
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.ip_proto, 112);
  EXPECT_EQ(p.payload_length, 20u);
  EXPECT_EQ(p.src_port, 0);
}

// ---- Tunnels --------------------------------------------------------------------------------

TEST(DecoderTest, DecapsulatesGre) {
  Decoder decoder;
  DecodedPacket p;
  Ipv4Options outer{.src = "203.0.113.1", .dst = "203.0.113.2"};
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, Gre(0x0800, Ipv4Udp()), outer)), &p));
  ExpectInnerIpv4Udp(p, 1);
  EXPECT_EQ(decoder.stats().tunnelled, 1u);
  ASSERT_TRUE(DecodeBytes(decoder,
                  Ethernet(0x0800, Ipv4(47, Gre(0x0800, Ipv4Udp(), true, true, true), outer)), &p));
  ExpectInnerIpv4Udp(p, 1);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, Gre(0x86dd, Ipv6(kTcp, Tcp(1, 2, 0, {}))),
                                                 outer)),
                  &p));
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.dst_port, 2);
  EXPECT_EQ(p.tunnel_depth, 1);

  // Transparent Ethernet bridging: the inner MACs and VLAN are reported.
  Bytes inner = Ethernet(0x0800, Ipv4Udp(), {{0x8100, 12}});
  inner[5] = 0x77;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, Gre(0x6558, inner, false, true)), {{0x8100, 1}}),
                  &p));
  ExpectInnerIpv4Udp(p, 1);
  EXPECT_EQ(p.vlan, 12);
  EXPECT_EQ(p.dst_mac[5], 0x77);
}

TEST(DecoderTest, FlagsBrokenGreAndKeepsTheOuterPacket) {
  Decoder decoder;
  DecodedPacket p;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, Gre(0x1234, Bytes(10, 0)))), &p));
  EXPECT_EQ(p.weird, Weird::kUnknownGreProtocol);
  EXPECT_EQ(p.ip_proto, 47);
  EXPECT_EQ(p.tunnel_depth, 0);
  Bytes v2 = Gre(0x0800, Ipv4Udp());
  v2[1] = 2;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, v2)), &p));
  EXPECT_EQ(p.weird, Weird::kUnknownGreVersion);
  Bytes routing = Gre(0x0800, Ipv4Udp());
  routing[0] = 0x40;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, routing)), &p));
  EXPECT_EQ(p.weird, Weird::kGreRouting);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, Bytes{0xb0, 0x00, 0x08, 0x00, 0, 0})), &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedGre);
  EXPECT_EQ(p.ip_version, 4);
}

TEST(DecoderTest, DecapsulatesPptpGre) {
  Decoder decoder;
  DecodedPacket p;
  Bytes ip = Ipv4Udp();
  Bytes gre = {0x30, 0x01, 0x88, 0x0b};  // K, S, version 1, PPP
  frames::Put16(&gre, static_cast<uint16_t>(ip.size() + 4));
  frames::Put16(&gre, 0x0042);  // call id
  frames::Put32(&gre, 1);       // sequence
  gre.insert(gre.end(), {0xff, 0x03, 0x00, 0x21});
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, Cat(gre, ip))), &p));
  ExpectInnerIpv4Udp(p, 1);
}

TEST(DecoderTest, DecapsulatesErspan) {
  Decoder decoder;
  DecodedPacket p;
  Bytes mirrored = Ethernet(0x0800, Ipv4Udp());
  // Type I: no sequence bit, no ERSPAN header.
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, Gre(0x88be, mirrored))), &p));
  ExpectInnerIpv4Udp(p, 1);
  EXPECT_EQ(p.vlan, 0);
  // Type II: the session's VLAN is used for an untagged mirrored frame.
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, Gre(0x88be, frames::ErspanII(42, mirrored),
                                                         false, false, true))),
                  &p));
  ExpectInnerIpv4Udp(p, 1);
  EXPECT_EQ(p.vlan, 42);
  Bytes tagged = Ethernet(0x0800, Ipv4Udp(), {{0x8100, 7}});
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, Gre(0x88be, frames::ErspanII(42, tagged),
                                                         false, false, true))),
                  &p));
  EXPECT_EQ(p.vlan, 7);
  // Type III, with and without the platform-specific subheader.
  for (bool subheader : {false, true}) {
    ASSERT_TRUE(DecodeBytes(decoder,
                    Ethernet(0x0800, Ipv4(47, Gre(0x22eb, frames::ErspanIII(9, subheader,
                                                                             mirrored),
                                                  false, false, true))),
                    &p));
    ExpectInnerIpv4Udp(p, 1);
    EXPECT_EQ(p.vlan, 9);
  }
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(47, Gre(0x88be, Bytes(5, 0), false, false, true))),
                  &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedErspan);
  EXPECT_EQ(p.tunnel_depth, 0);
}

TEST(DecoderTest, DecapsulatesVxlan) {
  Decoder decoder;
  DecodedPacket p;
  Bytes inner = Ethernet(0x0800, Ipv4Udp());
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(50000, 4789, Vxlan(1001, inner)))), &p));
  ExpectInnerIpv4Udp(p, 1);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(50000, 4789, Bytes(5, 8)))), &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedVxlan);
  EXPECT_EQ(p.dst_port, 4789);
  // Without the I flag it is just UDP to that port.
  Bytes not_vxlan = Vxlan(1, inner);
  not_vxlan[0] = 0;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(50000, 4789, not_vxlan))), &p));
  EXPECT_EQ(p.tunnel_depth, 0);
  EXPECT_EQ(p.dst_port, 4789);

  Decoder custom(DecoderConfig{.vxlan_port = 8472});
  ASSERT_TRUE(DecodeBytes(custom, Ethernet(0x0800, Ipv4(kUdp, Udp(1, 8472, Vxlan(1, inner)))), &p));
  ExpectInnerIpv4Udp(p, 1);
}

TEST(DecoderTest, BoundsTunnelDepth) {
  Decoder decoder(DecoderConfig{.max_tunnel_depth = 2});
  DecodedPacket p;
  Bytes frame = Ethernet(0x0800, Ipv4Udp());
  for (int i = 0; i < 2; ++i) {
    frame = Ethernet(0x0800, Ipv4(kUdp, Udp(1, 4789, Vxlan(1, frame))));
  }
  ASSERT_TRUE(DecodeBytes(decoder, frame, &p));
  ExpectInnerIpv4Udp(p, 2);
  frame = Ethernet(0x0800, Ipv4(47, Gre(0x6558, frame)));
  ASSERT_TRUE(DecodeBytes(decoder, frame, &p));
  EXPECT_EQ(p.weird, Weird::kTunnelTooDeep);
  EXPECT_EQ(p.tunnel_depth, 2);
  EXPECT_EQ(p.dst_port, 4789);  // the innermost packet that could be opened
}

TEST(DecoderTest, DecapsulatesIpInIp) {
  Decoder decoder;
  DecodedPacket p;
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(4, Ipv4Udp())), &p));
  ExpectInnerIpv4Udp(p, 1);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(41, Ipv6(kUdp, Udp(1, 2, {})))), &p));
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.tunnel_depth, 1);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x86dd, Ipv6(4, Ipv4Udp())), &p));
  ExpectInnerIpv4Udp(p, 1);
}

TEST(DecoderTest, DecapsulatesTeredo) {
  Decoder decoder;
  DecodedPacket p;
  Bytes inner = Ipv6(kTcp, Tcp(1234, 80, kTcpSyn, {}), "2001:0:4136:e378::1", "2001:db8::80");
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(3544, 50000, inner))), &p));
  EXPECT_EQ(p.weird, Weird::kNone);
  EXPECT_EQ(p.tunnel_depth, 1);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.src, Ip("2001:0:4136:e378::1"));
  EXPECT_EQ(p.dst_port, 80);
  // Origin indication, and authentication + origin indications.
  Bytes origin = {0, 0, 0x12, 0x34, 1, 2, 3, 4};
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(50000, 3544, Cat(origin, inner)))),
                  &p));
  EXPECT_EQ(p.tunnel_depth, 1);
  EXPECT_EQ(p.dst_port, 80);
  Bytes auth = {0, 1, 2, 1, 'i', 'd', 'a'};
  auth.resize(auth.size() + 9, 0);
  ASSERT_TRUE(DecodeBytes(decoder,
                  Ethernet(0x0800, Ipv4(kUdp, Udp(50000, 3544, Cat(Cat(auth, origin), inner)))),
                  &p));
  EXPECT_EQ(p.tunnel_depth, 1);
  EXPECT_EQ(p.dst_port, 80);
  // Between a Teredo client and a peer on other ports: found by content (a Teredo address and an
  // exact-length IPv6 packet), but not for other IPv6 that merely looks similar.
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(40000, 50000, inner))), &p));
  EXPECT_EQ(p.tunnel_depth, 1);
  EXPECT_EQ(p.dst_port, 80);
  Bytes native = Ipv6(kTcp, Tcp(1234, 80, kTcpSyn, {}), "2001:db8::1", "2001:db8::80");
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(40000, 50000, native))), &p));
  EXPECT_EQ(p.tunnel_depth, 0);
  EXPECT_EQ(p.dst_port, 50000);
  Bytes padded = Cat(inner, Bytes(4, 0));
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(40000, 50000, padded))), &p));
  EXPECT_EQ(p.tunnel_depth, 0);
  // Not IPv6 inside: ordinary UDP.
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(50000, 3544, Bytes(60, 0x45)))), &p));
  EXPECT_EQ(p.tunnel_depth, 0);
  EXPECT_EQ(p.weird, Weird::kNone);
}

TEST(DecoderTest, DecapsulatesGtpU) {
  Decoder decoder;
  DecodedPacket p;
  Bytes ip = Ipv4Udp();
  Bytes gtp = {0x30, 0xff};
  frames::Put16(&gtp, static_cast<uint16_t>(ip.size()));
  frames::Put32(&gtp, 0xdeadbeef);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(2152, 2152, Cat(gtp, ip)))), &p));
  ExpectInnerIpv4Udp(p, 1);
  // With the E flag and a PDU session container extension header (type 0x85, 1 unit).
  Bytes ext = {0x34, 0xff};
  frames::Put16(&ext, static_cast<uint16_t>(ip.size() + 8));
  frames::Put32(&ext, 0xdeadbeef);
  ext.insert(ext.end(), {0, 0, 0, 0x85, 1, 0x10, 0x09, 0x00});
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(2152, 2152, Cat(ext, ip)))), &p));
  ExpectInnerIpv4Udp(p, 1);
  // A truncated extension chain.
  Bytes cut = ext;
  cut[12] = 3;  // claims 12 bytes
  cut.resize(14);
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(2152, 2152, cut))), &p));
  EXPECT_EQ(p.weird, Weird::kTruncatedGtp);
  EXPECT_EQ(p.tunnel_depth, 0);
  // Echo request: plain UDP.
  Bytes echo = {0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0};
  ASSERT_TRUE(DecodeBytes(decoder, Ethernet(0x0800, Ipv4(kUdp, Udp(2152, 2152, echo))), &p));
  EXPECT_EQ(p.tunnel_depth, 0);
  EXPECT_EQ(p.weird, Weird::kNone);
}

}  // namespace
}  // namespace sensor
