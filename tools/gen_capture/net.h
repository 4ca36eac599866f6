// Hosts, the municipal network's layer-2 view, and the frames the generator writes: Ethernet
// with IPv4/UDP/TCP or ARP, checksums included, collected in time order.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "bytes.h"
#include "rules/result.h"

namespace gen_capture {

using Mac = std::array<uint8_t, 6>;
using Ip4 = uint32_t;

constexpr Ip4 MakeIp(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}
std::string IpToString(Ip4 ip);

constexpr Mac kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// Which segment a host sits on; the sensor's SPAN sees each frame once, on the sender's segment.
enum class Segment { kClients, kServers, kInternet };

// One machine. IP ID and TTL belong to the machine, the MAC to its interface. A plain struct,
// owned by the Network; not thread-safe.
struct Host {
  std::string name;
  Mac mac{};
  Ip4 ip = 0;
  Segment segment = Segment::kClients;
  uint8_t ttl = 128;       // 128 Windows, 64 Linux and appliances, 50-ish after internet hops
  uint16_t ip_id = 1;      // next IPv4 identification
  uint16_t next_port = 0;  // next ephemeral source port
  uint16_t EphemeralPort();
};

// Frames in time order, written as a classic pcap (microsecond timestamps, Ethernet). Owns the
// frames; not thread-safe.
class Capture {
 public:
  void Add(int64_t ts_us, Bytes frame);
  size_t frame_count() const { return frames_.size(); }
  // Sorts by time (ties keep insertion order) and writes the file.
  rules::Result<void> WriteTo(const std::string& path);

 private:
  struct Frame {
    int64_t ts_us;
    uint64_t order;
    Bytes data;
  };
  std::vector<Frame> frames_;
};

// The layer-2 view of the network: picks source and destination MACs for a frame between two
// hosts (the router's interface MAC when the frame crosses the firewall). Borrows nothing.
class Network {
 public:
  Network(Mac router_client_side, Mac router_server_side)
      : router_clients_(router_client_side), router_servers_(router_server_side) {}
  // Source and destination MAC of a frame from `from` to `to`, seen on the sender's segment
  // (or, for a sender on the internet, on the receiver's segment behind the firewall).
  void Route(const Host& from, const Host& to, Mac* src, Mac* dst) const;

 private:
  Mac RouterOn(Segment s) const { return s == Segment::kClients ? router_clients_ : router_servers_; }
  Mac router_clients_;
  Mac router_servers_;
};

// Ethernet + IPv4 + UDP, with IP and UDP checksums; frames under 60 bytes are padded.
Bytes UdpFrame(const Mac& src_mac, const Mac& dst_mac, Host& from, Ip4 src_ip, Ip4 dst_ip,
               uint16_t sport, uint16_t dport, const Bytes& payload);

enum TcpFlag : uint8_t { kFin = 1, kSyn = 2, kRst = 4, kPsh = 8, kAck = 16 };

struct TcpHeader {
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  Bytes options;  // already padded to a multiple of 4
};
Bytes TcpFrame(const Mac& src_mac, const Mac& dst_mac, Host& from, Ip4 dst_ip,
               const TcpHeader& tcp, const Bytes& payload);

// ARP request (op 1) or reply (op 2), padded to 60 bytes.
Bytes ArpFrame(const Mac& eth_src, const Mac& eth_dst, uint16_t op, const Mac& sha, Ip4 spa,
               const Mac& tha, Ip4 tpa);

}  // namespace gen_capture
