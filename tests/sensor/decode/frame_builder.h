// Builds test frames layer by layer from bytes: each function returns a header followed by the
// payload it is given, with length fields filled in. Test-only; values, no state.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "rules/ip_address.h"

namespace sensor::frames {

using Bytes = std::vector<uint8_t>;

inline constexpr uint8_t kDstMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
inline constexpr uint8_t kSrcMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

inline void Put8(Bytes* b, uint8_t v) { b->push_back(v); }
inline void Put16(Bytes* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}
inline void Put32(Bytes* b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
inline void Append(Bytes* b, const Bytes& more) { b->insert(b->end(), more.begin(), more.end()); }
inline Bytes Cat(Bytes a, const Bytes& b) {
  Append(&a, b);
  return a;
}

inline Bytes Addr(const char* text) {
  auto a = rules::IpAddress::Parse(text);
  const auto& bytes = a->bytes();
  if (a->is_v4()) {
    return Bytes(bytes.begin() + 12, bytes.end());
  }
  return Bytes(bytes.begin(), bytes.end());
}

// Ethernet II with optional tags: each tag is {TPID, VLAN id}.
inline Bytes Ethernet(uint16_t type, const Bytes& payload,
                      std::initializer_list<std::pair<uint16_t, uint16_t>> tags = {}) {
  Bytes b(12);
  for (int i = 0; i < 6; ++i) {
    b[i] = kDstMac[i];
    b[6 + i] = kSrcMac[i];
  }
  for (const auto& [tpid, id] : tags) {
    Put16(&b, tpid);
    Put16(&b, id);
  }
  Put16(&b, type);
  Append(&b, payload);
  return b;
}

struct Ipv4Options {
  const char* src = "192.0.2.1";
  const char* dst = "198.51.100.2";
  uint8_t ttl = 64;
  uint16_t fragment_field = 0;  // flags (MF 0x2000) and offset in 8-byte units
  Bytes options;                // padded by the caller to a multiple of 4
  int total_length = -1;        // override of the total length field
  int ihl = -1;                 // override of the header length (in 4-byte words)
};

inline Bytes Ipv4(uint8_t proto, const Bytes& payload, const Ipv4Options& o = {}) {
  size_t header = 20 + o.options.size();
  Bytes b;
  Put8(&b, static_cast<uint8_t>(0x40 | (o.ihl >= 0 ? o.ihl : header / 4)));
  Put8(&b, 0);
  Put16(&b, static_cast<uint16_t>(o.total_length >= 0 ? o.total_length
                                                      : header + payload.size()));
  Put16(&b, 0x1234);
  Put16(&b, o.fragment_field);
  Put8(&b, o.ttl);
  Put8(&b, proto);
  Put16(&b, 0);  // checksum (not checked)
  Append(&b, Addr(o.src));
  Append(&b, Addr(o.dst));
  Append(&b, o.options);
  Append(&b, payload);
  return b;
}

inline Bytes Ipv6(uint8_t next, const Bytes& payload, const char* src = "2001:db8::1",
                  const char* dst = "2001:db8::2", uint8_t hop_limit = 63) {
  Bytes b;
  Put32(&b, 0x60000000);
  Put16(&b, static_cast<uint16_t>(payload.size()));
  Put8(&b, next);
  Put8(&b, hop_limit);
  Append(&b, Addr(src));
  Append(&b, Addr(dst));
  Append(&b, payload);
  return b;
}

// A generic IPv6 extension header (hop-by-hop, routing, destination options): 8 * (units + 1).
inline Bytes Ipv6Ext(uint8_t next, const Bytes& payload, uint8_t units = 0) {
  Bytes b;
  Put8(&b, next);
  Put8(&b, units);
  b.resize(8 * (units + 1), 0);
  Append(&b, payload);
  return b;
}

inline Bytes Ipv6Fragment(uint8_t next, uint16_t offset_units, bool more, const Bytes& payload) {
  Bytes b;
  Put8(&b, next);
  Put8(&b, 0);
  Put16(&b, static_cast<uint16_t>(offset_units << 3 | (more ? 1 : 0)));
  Put32(&b, 0xabcdef01);
  Append(&b, payload);
  return b;
}

inline Bytes Tcp(uint16_t sport, uint16_t dport, uint8_t flags, const Bytes& payload,
                 const Bytes& options = {}, uint32_t seq = 1000, uint32_t ack = 2000,
                 uint16_t window = 8192) {
  Bytes b;
  Put16(&b, sport);
  Put16(&b, dport);
  Put32(&b, seq);
  Put32(&b, ack);
  Put8(&b, static_cast<uint8_t>(((20 + options.size()) / 4) << 4));
  Put8(&b, flags);
  Put16(&b, window);
  Put16(&b, 0);
  Put16(&b, 0);
  Append(&b, options);
  Append(&b, payload);
  return b;
}

inline Bytes Udp(uint16_t sport, uint16_t dport, const Bytes& payload, int length = -1) {
  Bytes b;
  Put16(&b, sport);
  Put16(&b, dport);
  Put16(&b, static_cast<uint16_t>(length >= 0 ? length : 8 + payload.size()));
  Put16(&b, 0);
  Append(&b, payload);
  return b;
}

inline Bytes Icmp(uint8_t type, uint8_t code, const Bytes& payload) {
  Bytes b = {type, code, 0, 0, 0x12, 0x34, 0x00, 0x01};
  Append(&b, payload);
  return b;
}

// GRE version 0 with the optional checksum, key and sequence words present when asked.
inline Bytes Gre(uint16_t protocol, const Bytes& payload, bool checksum = false, bool key = false,
                 bool sequence = false) {
  Bytes b;
  Put16(&b, static_cast<uint16_t>((checksum ? 0x8000 : 0) | (key ? 0x2000 : 0) |
                                  (sequence ? 0x1000 : 0)));
  Put16(&b, protocol);
  if (checksum) {
    Put32(&b, 0);
  }
  if (key) {
    Put32(&b, 0x11223344);
  }
  if (sequence) {
    Put32(&b, 7);
  }
  Append(&b, payload);
  return b;
}

inline Bytes ErspanII(uint16_t vlan, const Bytes& frame) {
  Bytes b;
  Put16(&b, static_cast<uint16_t>(0x1000 | vlan));  // version 1
  Put16(&b, 0x0005);                                // session 5
  Put32(&b, 0);
  Append(&b, frame);
  return b;
}

inline Bytes ErspanIII(uint16_t vlan, bool platform_subheader, const Bytes& frame) {
  Bytes b;
  Put16(&b, static_cast<uint16_t>(0x2000 | vlan));  // version 2
  Put16(&b, 0x0005);
  Put32(&b, 0x01020304);                            // timestamp
  Put16(&b, 0);                                     // SGT
  Put16(&b, platform_subheader ? 1 : 0);            // P, FT 0 (Ethernet), HW id, D, Gra, O
  if (platform_subheader) {
    Put32(&b, 0xaaaaaaaa);
    Put32(&b, 0xbbbbbbbb);
  }
  Append(&b, frame);
  return b;
}

inline Bytes Vxlan(uint32_t vni, const Bytes& frame) {
  Bytes b = {0x08, 0, 0, 0};
  Put32(&b, vni << 8);
  Append(&b, frame);
  return b;
}

inline Bytes Mpls(std::initializer_list<uint32_t> labels, const Bytes& payload) {
  Bytes b;
  size_t i = 0;
  for (uint32_t label : labels) {
    bool bottom = ++i == labels.size();
    Put32(&b, label << 12 | (bottom ? 0x100u : 0u) | 64u);
  }
  Append(&b, payload);
  return b;
}

inline Bytes Bytes0(size_t n, uint8_t fill = 0xee) { return Bytes(n, fill); }

}  // namespace sensor::frames
