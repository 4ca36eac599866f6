// Test-only stand-in for the decoder and the flow table (written by others in parallel): decodes
// Ethernet (+VLAN), Linux SLL, BSD loopback and raw IP frames to IPv4/IPv6 + TCP/UDP into a
// DecodedPacket, and groups packets into flows in a std::map keyed by the sorted 5-tuple.
// Good enough for the nDPI test captures; it is not the sensor's decoder.
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "sensor/capture/packet_source.h"
#include "sensor/decode/packet.h"
#include "sensor/dpi/classifier.h"
#include "sensor/flow/flow_record.h"
#include "testing/ndpi_result.h"

namespace sensor::testing_harness {

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Fills the IP and transport fields of *out from an IP packet; false when it is not IP.
inline bool DecodeIp(std::span<const uint8_t> ip, DecodedPacket* out) {
  if (ip.empty()) {
    return false;
  }
  const int version = ip[0] >> 4;
  size_t l4_offset = 0;
  if (version == 4) {
    if (ip.size() < 20) {
      return false;
    }
    const size_t ihl = (ip[0] & 0x0f) * 4u;
    const size_t total = Be16(&ip[2]);
    if (ihl < 20 || total < ihl || ip.size() < ihl) {
      return false;
    }
    if (ip.size() > total) {
      ip = ip.first(total);  // drop Ethernet padding
    }
    out->ip_version = 4;
    out->src = rules::IpAddress::FromV4Bytes(&ip[12]);
    out->dst = rules::IpAddress::FromV4Bytes(&ip[16]);
    out->ip_proto = ip[9];
    out->ip_length = static_cast<uint32_t>(total);
    const uint16_t frag = Be16(&ip[6]);
    out->fragment = (frag & 0x3fff) != 0;
    out->first_fragment = out->fragment && (frag & 0x1fff) == 0;
    if (out->fragment && !out->first_fragment) {
      out->ip_packet = ip;
      return true;
    }
    l4_offset = ihl;
  } else if (version == 6) {
    if (ip.size() < 40) {
      return false;
    }
    const size_t total = 40u + Be16(&ip[4]);
    if (ip.size() > total) {
      ip = ip.first(total);
    }
    out->ip_version = 6;
    out->src = rules::IpAddress::FromV6Bytes(&ip[8]);
    out->dst = rules::IpAddress::FromV6Bytes(&ip[24]);
    out->ip_length = static_cast<uint32_t>(total);
    uint8_t next = ip[6];
    l4_offset = 40;
    // Hop-by-hop, routing, destination options: skip; fragment: first fragment only.
    while ((next == 0 || next == 43 || next == 60 || next == 44) && ip.size() >= l4_offset + 8) {
      const uint8_t following = ip[l4_offset];
      if (next == 44) {
        out->fragment = true;
        out->first_fragment = (Be16(&ip[l4_offset + 2]) & 0xfff8) == 0;
        l4_offset += 8;
      } else {
        l4_offset += 8u * (ip[l4_offset + 1] + 1u);
      }
      next = following;
    }
    out->ip_proto = next;
    if (l4_offset > ip.size() || (out->fragment && !out->first_fragment)) {
      out->ip_packet = ip;
      return true;
    }
  } else {
    return false;
  }
  out->ip_packet = ip;
  const std::span<const uint8_t> l4 = ip.subspan(l4_offset);
  if (out->ip_proto == static_cast<uint8_t>(IpProto::kTcp) && l4.size() >= 20) {
    out->src_port = Be16(&l4[0]);
    out->dst_port = Be16(&l4[2]);
    out->tcp_flags = l4[13];
    const size_t header = (l4[12] >> 4) * 4u;
    out->tcp_header_length = static_cast<uint8_t>(header);
    if (header >= 20 && header <= l4.size()) {
      out->payload = l4.subspan(header);
    }
  } else if (out->ip_proto == static_cast<uint8_t>(IpProto::kUdp) && l4.size() >= 8) {
    out->src_port = Be16(&l4[0]);
    out->dst_port = Be16(&l4[2]);
    out->payload = l4.subspan(8);
  } else if (out->ip_proto == static_cast<uint8_t>(IpProto::kTcp) ||
             out->ip_proto == static_cast<uint8_t>(IpProto::kUdp)) {
    out->ip_proto = 0;  // truncated transport header: not a flow we can key
    return false;
  }
  out->payload_length = static_cast<uint32_t>(out->payload.size());
  return true;
}

// Decodes one captured frame; false for non-IP frames.
inline bool DecodeFrame(const PacketView& view, DecodedPacket* out) {
  *out = DecodedPacket{};
  out->timestamp_us = view.timestamp_us;
  out->wire_length = view.wire_length;
  out->cap_length = static_cast<uint32_t>(view.bytes.size());
  std::span<const uint8_t> b = view.bytes;
  switch (view.link_type) {
    case 1: {  // Ethernet, with any number of 802.1Q / 802.1ad tags
      if (b.size() < 14) {
        return false;
      }
      size_t offset = 12;
      uint16_t type = Be16(&b[offset]);
      while ((type == 0x8100 || type == 0x88a8) && b.size() >= offset + 6) {
        if (out->vlan == 0) {
          out->vlan = Be16(&b[offset + 2]) & 0x0fff;
        }
        offset += 4;
        type = Be16(&b[offset]);
      }
      if (type != 0x0800 && type != 0x86dd) {
        return false;
      }
      return DecodeIp(b.subspan(offset + 2), out);
    }
    case 0:     // BSD loopback: 4-byte address family, then IP
    case 109:   // DLT_ENC-like (unused here)
      return b.size() > 4 && DecodeIp(b.subspan(4), out);
    case 113: {  // Linux cooked capture (SLL)
      if (b.size() < 16) {
        return false;
      }
      const uint16_t type = Be16(&b[14]);
      return (type == 0x0800 || type == 0x86dd) && DecodeIp(b.subspan(16), out);
    }
    case 12:   // raw IP
    case 101:  // LINKTYPE_RAW
      return DecodeIp(b, out);
    default:
      return false;
  }
}

// "a:p <-> b:p" with the lower (address, port) first, plus the protocol: how the tests and the
// nDPI result files name a flow.
using TupleKey = std::tuple<std::string, uint8_t>;

inline std::string Endpoint(const rules::IpAddress& addr, uint16_t port, uint8_t version) {
  return version == 6 ? "[" + addr.ToString() + "]:" + std::to_string(port)
                      : addr.ToString() + ":" + std::to_string(port);
}

// One capture's flows after classification.
struct ClassifiedFlow {
  std::string application;
  std::string service;
  bool done = false;
  uint32_t dpi_packets = 0;
  uint64_t packets = 0;
};

struct CaptureResult {
  std::map<std::string, ClassifiedFlow> flows;  // "PROTO lo <-> hi" -> result
  ClassifierStats stats;
  uint64_t live_max = 0;     // highest states_live seen after any packet
  uint64_t packets = 0;
};

inline std::string ProtoName(uint8_t proto) {
  switch (proto) {
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 1:
      return "ICMP";
    case 2:
      return "IGMP";
    case 58:
      return "ICMPV6";
    case 112:
      return "VRRP";
    default:
      return std::to_string(proto);
  }
}

// Runs every packet of `path` through `classifier`, flows keyed as in the nDPI result files
// ("TCP 10.0.0.1:123 <-> 10.0.0.2:80", lower endpoint first), then Finish()es every flow.
inline CaptureResult ClassifyCapture(const std::string& path, Classifier& classifier,
                                     std::string* error) {
  CaptureResult result;
  auto source = OpenPcapFile(path);
  if (!source) {
    *error = source.error().message;
    return result;
  }
  std::map<std::string, std::unique_ptr<FlowRecord>> flows;
  PacketView view;
  DecodedPacket packet;
  while (true) {
    auto more = (*source)->Next(&view);
    if (!more) {
      *error = more.error().message;
      break;
    }
    if (!*more) {
      break;
    }
    ++result.packets;
    if (!DecodeFrame(view, &packet)) {
      continue;
    }
    std::string a = Endpoint(packet.src, packet.src_port, packet.ip_version);
    std::string b = Endpoint(packet.dst, packet.dst_port, packet.ip_version);
    const bool src_low = std::tie(packet.src, packet.src_port) < std::tie(packet.dst, packet.dst_port);
    const std::string name =
        ProtoName(packet.ip_proto) + " " + (src_low ? a : b) + " <-> " + (src_low ? b : a);
    auto& slot = flows[name];
    if (!slot) {
      slot = std::make_unique<FlowRecord>();
      slot->key.proto = packet.ip_proto;
      slot->id = FlowEndpoints{packet.src, packet.src_port, packet.dst, packet.dst_port,
                               packet.ip_proto};
      slot->start_us = packet.timestamp_us;
    }
    FlowRecord& flow = *slot;
    const bool from_orig = packet.src == flow.id.orig_h && packet.src_port == flow.id.orig_p;
    (from_orig ? flow.orig : flow.resp).packets++;
    flow.last_us = packet.timestamp_us;
    classifier.Inspect(flow, packet, from_orig);
    result.live_max = std::max(result.live_max, classifier.stats().states_live);
  }
  for (auto& [name, flow] : flows) {
    classifier.Finish(*flow);
    ClassifiedFlow& out = result.flows[name];
    out.application = flow->classification.application;
    out.service = flow->classification.service;
    out.done = flow->classification.done;
    out.dpi_packets = flow->dpi_packets;
    out.packets = flow->orig.packets + flow->resp.packets;
  }
  result.stats = classifier.stats();
  return result;
}

// Parses the flow lines of an nDPI result file ("\t1\tTCP a:p <-> b:p [proto: 7/HTTP]...") into
// "PROTO lo <-> hi" -> application name ("Unknown" for nDPI's guesses). The file's endpoint order is the client first; the
// key sorts them like ClassifyCapture does (by address, then port).
inline std::map<std::string, std::string> ReadNdpiResult(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  const std::regex line_re(R"(^\t\d+\t(\S+) (\S+) <?-> (\S+) \[proto: [^/]+/([^\]]+)\])");
  // "1.2.3.4:80" or "[fe80::1]:0"
  auto parse = [](const std::string& text, rules::IpAddress* addr, uint16_t* port) {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      return false;
    }
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[') {
      host = host.substr(1, host.size() - 2);
    }
    auto parsed = rules::IpAddress::Parse(host);
    if (!parsed) {
      return false;
    }
    *addr = *parsed;
    *port = static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
    return true;
  };
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (!std::regex_search(line, m, line_re)) {
      continue;
    }
    rules::IpAddress a_addr, b_addr;
    uint16_t a_port = 0, b_port = 0;
    if (!parse(m[2], &a_addr, &a_port) || !parse(m[3], &b_addr, &b_port)) {
      continue;
    }
    const bool a_low = std::tie(a_addr, a_port) < std::tie(b_addr, b_port);
    const std::string a = Endpoint(a_addr, a_port, m[2].str()[0] == '[' ? 6 : 4);
    const std::string b = Endpoint(b_addr, b_port, m[3].str()[0] == '[' ? 6 : 4);
    // nDPI's guesses from the ports or the addresses are no label for the sensor (classifier.h).
    const bool guessed = testing_util::GuessedConfidence(testing_util::ConfidenceOf(line));
    out.emplace(m[1].str() + " " + (a_low ? a : b) + " <-> " + (a_low ? b : a),
                guessed ? "Unknown" : m[4].str());
  }
  return out;
}

}  // namespace sensor::testing_harness
