// The result of decoding one frame: the fields the flow table, DPI and the extractors need.
// A plain value filled in by Decoder::Decode(); spans point into the captured frame.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "rules/ip_address.h"
#include "sensor/decode/weird.h"

namespace sensor {

enum class IpProto : uint8_t {
  kIcmp = 1,
  kTcp = 6,
  kUdp = 17,
  kGre = 47,
  kIcmpV6 = 58,
};

// TCP flag bits as on the wire.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;

using MacAddress = std::array<uint8_t, 6>;

struct ArpInfo {
  uint16_t operation = 0;  // 1 request, 2 reply
  MacAddress sender_mac{};
  rules::IpAddress sender_ip;
  MacAddress target_mac{};
  rules::IpAddress target_ip;
};

struct DecodedPacket {
  int64_t timestamp_us = 0;
  uint32_t wire_length = 0;  // the frame's length on the wire (outermost)
  uint32_t cap_length = 0;   // captured bytes of the frame

  // Link layer of the innermost Ethernet header seen (after tunnels).
  MacAddress src_mac{};
  MacAddress dst_mac{};
  bool has_mac = false;
  uint16_t vlan = 0;        // outer 802.1Q/802.1ad VLAN id, 0 when untagged
  uint16_t inner_vlan = 0;  // second tag (QinQ), 0 when absent
  uint8_t tunnel_depth = 0; // GRE/ERSPAN/VXLAN layers removed to reach the inner packet

  bool is_arp = false;
  ArpInfo arp;

  // Network layer (innermost IP header).
  uint8_t ip_version = 0;   // 4 or 6; 0 when the frame carries no IP packet we could decode
  rules::IpAddress src;
  rules::IpAddress dst;
  uint8_t ttl = 0;          // IPv4 TTL or IPv6 hop limit
  uint8_t ip_proto = 0;     // transport protocol after IPv6 extension headers
  uint32_t ip_length = 0;   // IP header + payload as the IP header claims (ip_bytes in conn.log)
  bool fragment = false;        // any fragment
  bool first_fragment = false;  // offset 0 (its transport header is decoded)
  std::span<const uint8_t> ip_packet;  // the captured IP packet from its first header byte (for DPI)

  // Transport layer.
  uint16_t src_port = 0;  // for ICMP: the type (Zeek's convention)
  uint16_t dst_port = 0;  // for ICMP: the code
  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint16_t tcp_window = 0;
  uint8_t tcp_header_length = 0;    // bytes, including options
  std::span<const uint8_t> tcp_options;
  uint32_t payload_length = 0;      // transport payload length per the headers (may exceed captured)
  std::span<const uint8_t> payload; // the captured transport payload

  // The first anomaly met while decoding, kNone when the frame decoded cleanly. A frame with an
  // anomaly may still carry usable fields (a truncated payload still has its ports).
  Weird weird = Weird::kNone;

  bool has_ports() const {
    return ip_proto == static_cast<uint8_t>(IpProto::kTcp) ||
           ip_proto == static_cast<uint8_t>(IpProto::kUdp);
  }
};

}  // namespace sensor
