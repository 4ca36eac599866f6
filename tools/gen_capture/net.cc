#include "net.h"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace gen_capture {
namespace {

constexpr size_t kMinFrame = 60;  // Ethernet minimum without FCS

void AppendEthernet(ByteWriter& w, const Mac& dst, const Mac& src, uint16_t ethertype) {
  for (uint8_t b : dst) {
    w.U8(b);
  }
  for (uint8_t b : src) {
    w.U8(b);
  }
  w.U16(ethertype);
}

uint32_t SumWords(const uint8_t* p, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) {
    sum += (static_cast<uint32_t>(p[i]) << 8) | p[i + 1];
  }
  if (n % 2 == 1) {
    sum += static_cast<uint32_t>(p[n - 1]) << 8;
  }
  return sum;
}

uint16_t FoldChecksum(uint32_t sum) {
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

// Internet checksum of an L4 segment with the IPv4 pseudo-header (RFC 768, RFC 793).
uint16_t L4Checksum(Ip4 src, Ip4 dst, uint8_t proto, const Bytes& segment) {
  uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto +
                 static_cast<uint32_t>(segment.size());
  return FoldChecksum(SumWords(segment.data(), segment.size(), sum));
}

Bytes Ipv4Frame(const Mac& src_mac, const Mac& dst_mac, Host& from, Ip4 src_ip, Ip4 dst_ip,
                uint8_t proto, bool dont_fragment, const Bytes& l4) {
  Bytes frame;
  frame.reserve(34 + l4.size());
  ByteWriter w(&frame);
  AppendEthernet(w, dst_mac, src_mac, 0x0800);
  size_t ip_start = w.size();
  w.U8(0x45);
  w.U8(0);
  w.U16(static_cast<uint32_t>(20 + l4.size()));
  w.U16(from.ip_id++);
  w.U16(dont_fragment ? 0x4000 : 0);
  w.U8(from.ttl);
  w.U8(proto);
  w.U16(0);
  w.U32(src_ip);
  w.U32(dst_ip);
  w.PatchU16(ip_start + 10, FoldChecksum(SumWords(frame.data() + ip_start, 20, 0)));
  w.Append(l4);
  if (frame.size() < kMinFrame) {
    frame.resize(kMinFrame, 0);
  }
  return frame;
}

}  // namespace

std::string IpToString(Ip4 ip) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
                ip & 255);
  return buf;
}

uint16_t Host::EphemeralPort() {
  if (next_port < 49152) {
    next_port = static_cast<uint16_t>(49152 + (ip * 2654435761u) % 8000);
  }
  return next_port++;
}

void Capture::Add(int64_t ts_us, Bytes frame) {
  frames_.push_back(Frame{ts_us, frames_.size(), std::move(frame)});
}

rules::Result<void> Capture::WriteTo(const std::string& path) {
  std::stable_sort(frames_.begin(), frames_.end(), [](const Frame& a, const Frame& b) {
    return a.ts_us < b.ts_us;
  });
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) {
    return rules::Fail(rules::ErrorCode::kIo, path + ": cannot open for writing");
  }
  // Classic pcap, little-endian, microsecond timestamps, LINKTYPE_ETHERNET (1).
  Bytes header;
  ByteWriter w(&header);
  w.U32Le(0xa1b2c3d4);
  w.U16Le(2);
  w.U16Le(4);
  w.U32Le(0);
  w.U32Le(0);
  w.U32Le(65535);
  w.U32Le(1);
  bool ok = std::fwrite(header.data(), 1, header.size(), f.get()) == header.size();
  for (const Frame& frame : frames_) {
    if (!ok) {
      break;
    }
    Bytes rec;
    ByteWriter r(&rec);
    r.U32Le(static_cast<uint32_t>(frame.ts_us / 1000000));
    r.U32Le(static_cast<uint32_t>(frame.ts_us % 1000000));
    r.U32Le(static_cast<uint32_t>(frame.data.size()));
    r.U32Le(static_cast<uint32_t>(frame.data.size()));
    ok = std::fwrite(rec.data(), 1, rec.size(), f.get()) == rec.size() &&
         std::fwrite(frame.data.data(), 1, frame.data.size(), f.get()) == frame.data.size();
  }
  FILE* raw = f.release();
  if (std::fclose(raw) != 0 || !ok) {
    return rules::Fail(rules::ErrorCode::kIo, path + ": write failed");
  }
  return {};
}

void Network::Route(const Host& from, const Host& to, Mac* src, Mac* dst) const {
  if (from.segment == Segment::kInternet) {
    *src = RouterOn(to.segment);
    *dst = to.mac;
    return;
  }
  *src = from.mac;
  *dst = from.segment == to.segment ? to.mac : RouterOn(from.segment);
}

Bytes UdpFrame(const Mac& src_mac, const Mac& dst_mac, Host& from, Ip4 src_ip, Ip4 dst_ip,
               uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes udp;
  ByteWriter w(&udp);
  w.U16(sport);
  w.U16(dport);
  w.U16(static_cast<uint32_t>(8 + payload.size()));
  w.U16(0);
  w.Append(payload);
  uint16_t sum = L4Checksum(src_ip, dst_ip, 17, udp);
  w.PatchU16(6, sum == 0 ? 0xffff : sum);
  return Ipv4Frame(src_mac, dst_mac, from, src_ip, dst_ip, 17, false, udp);
}

Bytes TcpFrame(const Mac& src_mac, const Mac& dst_mac, Host& from, Ip4 dst_ip,
               const TcpHeader& tcp, const Bytes& payload) {
  Bytes seg;
  ByteWriter w(&seg);
  w.U16(tcp.sport);
  w.U16(tcp.dport);
  w.U32(tcp.seq);
  w.U32(tcp.ack);
  w.U8(static_cast<uint32_t>((20 + tcp.options.size()) / 4) << 4);
  w.U8(tcp.flags);
  w.U16(tcp.window);
  w.U16(0);
  w.U16(0);
  w.Append(tcp.options);
  w.Append(payload);
  w.PatchU16(16, L4Checksum(from.ip, dst_ip, 6, seg));
  return Ipv4Frame(src_mac, dst_mac, from, from.ip, dst_ip, 6, true, seg);
}

Bytes ArpFrame(const Mac& eth_src, const Mac& eth_dst, uint16_t op, const Mac& sha, Ip4 spa,
               const Mac& tha, Ip4 tpa) {
  Bytes frame;
  ByteWriter w(&frame);
  AppendEthernet(w, eth_dst, eth_src, 0x0806);
  w.U16(1);
  w.U16(0x0800);
  w.U8(6);
  w.U8(4);
  w.U16(op);
  for (uint8_t b : sha) {
    w.U8(b);
  }
  w.U32(spa);
  for (uint8_t b : tha) {
    w.U8(b);
  }
  w.U32(tpa);
  frame.resize(kMinFrame, 0);
  return frame;
}

}  // namespace gen_capture
