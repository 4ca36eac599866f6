// Decodes captured frames into DecodedPacket without exceptions and without trusting any length
// field: Ethernet, 802.1Q/802.1ad (QinQ), MPLS, IPv4 (options, fragments), IPv6 (extension
// headers), TCP, UDP, ICMP/ICMPv6, ARP, and the tunnels a remote SPAN arrives in (GRE incl.
// ERSPAN I/II/III, VXLAN, IP-in-IP, Teredo, GTP-U, PPTP). A malformed frame is a named,
// counted anomaly (weird), never a crash.
// One decoder per capture thread; not thread-safe.
#pragma once

#include <cstdint>

#include "sensor/capture/packet_source.h"
#include "sensor/decode/packet.h"
#include "sensor/decode/weird.h"

namespace sensor {

struct DecoderConfig {
  uint16_t vxlan_port = 4789;  // UDP port whose payload is decapsulated as VXLAN
  int max_tunnel_depth = 4;
};

// What went through the decoder, by layer (for stats.log).
struct DecoderStats {
  uint64_t frames = 0;
  uint64_t ipv4 = 0;
  uint64_t ipv6 = 0;
  uint64_t arp = 0;
  uint64_t non_ip = 0;       // frames with no IP packet (LLDP, STP, ...), not anomalies
  uint64_t fragments = 0;
  uint64_t tunnelled = 0;    // frames that had a tunnel layer removed
  uint64_t malformed = 0;    // frames that raised a weird
};

class Decoder {
 public:
  explicit Decoder(const DecoderConfig& config = {});
  // Fills *packet from `frame` (packet is reset first). Returns true when the frame carries an
  // IP packet the flow table can use (then ip_version != 0), false otherwise: ARP, non-IP, broken
  // before or in the IP header, or a non-first fragment (its IP fields are filled, fragment is
  // true and first_fragment false, but it has no transport header, so it must not make a flow).
  // A packet broken after the IP header (truncated TCP header, bad UDP length, ...) still returns
  // true with what could be read. A tunnel (GRE, ERSPAN, VXLAN, IP-in-IP, Teredo, GTP-U, MPLS
  // pseudowire) is removed and the innermost packet reported; a tunnel that cannot be opened
  // (too deep, truncated tunnel header) leaves the outer packet as the result. A frame cut by the
  // snap length (bytes.size() < wire_length) is not an anomaly. packet->weird names the first
  // anomaly met either way; it is counted in weirds() and stats().malformed.
  bool Decode(const PacketView& frame, DecodedPacket* packet);
  const WeirdCounters& weirds() const { return weirds_; }
  const DecoderStats& stats() const { return stats_; }

 private:
  DecoderConfig config_;
  WeirdCounters weirds_;
  DecoderStats stats_;
};

}  // namespace sensor
