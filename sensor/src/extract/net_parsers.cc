// Network-management protocols: SNMP v1/v2c (RFC 1157, RFC 3416; OIDs from RFC 3418 SNMPv2-MIB),
// NTP (RFC 5905 mode 4; RFC 1305 appendix B mode 6 control messages), LLDP (IEEE 802.1AB-2016
// clause 8) and CDP (Cisco Discovery Protocol, as documented by Wireshark's packet-cdp.c and
// Cisco's "CDP" configuration guides). Every length is checked against the span.
#include <algorithm>
#include <cstring>

#include "extract/parsers.h"

namespace sensor::extract {
namespace {

// 1.3.6.1.2.1.1.{1,2,5}.0 in BER: 2b 06 01 02 01 01 N 00.
constexpr uint8_t kSystemPrefix[6] = {0x2b, 0x06, 0x01, 0x02, 0x01, 0x01};

std::optional<int64_t> BerInteger(const Tlv& t) {
  if (t.tag != 0x02 || t.value.empty() || t.value.size() > 8) return std::nullopt;
  int64_t v = static_cast<int8_t>(t.value[0]);
  for (size_t i = 1; i < t.value.size(); ++i) v = v * 256 + t.value[i];
  return v;
}

std::string OidText(Bytes v) {
  std::string out;
  uint64_t acc = 0;
  bool first = true;
  for (size_t i = 0; i < v.size() && out.size() < 128; ++i) {
    acc = (acc << 7) | (v[i] & 0x7f);
    if (v[i] & 0x80) {
      if (acc > (uint64_t{1} << 56)) return {};
      continue;
    }
    if (first) {
      uint64_t a = acc < 80 ? acc / 40 : 2;
      out = std::to_string(a) + "." + std::to_string(acc - a * 40);
      first = false;
    } else {
      out += "." + std::to_string(acc);
    }
    acc = 0;
  }
  return out;
}

}  // namespace

std::optional<SnmpMessage> ParseSnmp(Bytes payload) {
  Bytes in = payload;
  auto msg = ReadTlv(&in);
  if (!msg || msg->tag != 0x30) return std::nullopt;
  Bytes fields = msg->value;
  auto version = ReadTlv(&fields);
  auto v = version ? BerInteger(*version) : std::nullopt;
  if (!v || (*v != 0 && *v != 1 && *v != 3)) return std::nullopt;
  SnmpMessage m;
  m.version = static_cast<int>(*v);
  if (m.version == 3) return m;  // USM: the rest is a different structure (often encrypted)
  auto community = ReadTlv(&fields);
  if (!community || community->tag != 0x04) return std::nullopt;
  m.community = CleanText(AsText(community->value), 64);
  auto pdu = ReadTlv(&fields);
  if (!pdu || pdu->tag < 0xa0 || pdu->tag > 0xa8) return std::nullopt;
  m.pdu = pdu->tag;
  if (m.pdu == 0xa4) return m;  // v1 Trap-PDU: enterprise, agent-addr, ... (not read)
  Bytes p = pdu->value;
  for (int i = 0; i < 3; ++i) {  // request-id, error-status, error-index
    auto t = ReadTlv(&p);
    if (!t || t->tag != 0x02) return std::nullopt;
  }
  auto list = ReadTlv(&p);
  if (!list || list->tag != 0x30) return std::nullopt;
  Bytes binds = list->value;
  for (int n = 0; n < 64; ++n) {
    auto bind = ReadTlv(&binds);
    if (!bind || bind->tag != 0x30) break;
    Bytes b = bind->value;
    auto oid = ReadTlv(&b);
    auto value = ReadTlv(&b);
    if (!oid || oid->tag != 0x06 || !value) continue;
    if (oid->value.size() != 8 || std::memcmp(oid->value.data(), kSystemPrefix, 6) != 0 ||
        oid->value[7] != 0) {
      continue;
    }
    switch (oid->value[6]) {
      case 1:
        if (value->tag == 0x04) m.sys_descr = CleanText(AsText(value->value), 512);
        break;
      case 2:
        if (value->tag == 0x06) m.sys_object_id = OidText(value->value);
        break;
      case 5:
        if (value->tag == 0x04) m.sys_name = CleanText(AsText(value->value), 255);
        break;
      default:
        break;
    }
  }
  return m;
}

std::string SnmpVersionName(int version) {
  return version == 0 ? "1" : version == 1 ? "2c" : version == 3 ? "3" : "";
}

std::optional<NtpMessage> ParseNtp(Bytes s) {
  if (s.size() < 12) return std::nullopt;
  NtpMessage m;
  m.version = (s[0] >> 3) & 7;
  m.mode = s[0] & 7;
  if (m.version < 1 || m.version > 4) return std::nullopt;
  if (m.mode == 6) {
    // Control message: LI/VN/Mode, R/E/M/Op, sequence, status, association, offset, count, data.
    if ((s[1] & 0x80) == 0) return m;  // a request
    size_t count = (size_t{s[10]} << 8) | s[11];
    Bytes data = s.subspan(12, std::min(count, s.size() - 12));
    std::string_view text = AsText(data);
    size_t at = text.find("version=\"");
    if (at != std::string_view::npos) {
      size_t end = text.find('"', at + 9);
      if (end != std::string_view::npos) {
        m.version_text = CleanText(text.substr(at + 9, end - at - 9), 256);
      }
    }
    return m;
  }
  if (s.size() < 48 || m.mode < 1 || m.mode > 5) return std::nullopt;
  m.stratum = s[1];
  if (m.mode == 4 || m.mode == 5) {
    if (m.stratum == 1 || m.stratum == 0) {
      // A four-character ASCII code ("GPS", "PPS", "DCF"; kiss codes at stratum 0).
      for (int i = 12; i < 16 && s[i] != 0; ++i) {
        m.reference_id.push_back(s[i] >= 0x20 && s[i] < 0x7f ? static_cast<char>(s[i]) : '?');
      }
    } else if (m.stratum < 16) {
      m.reference_id = rules::IpAddress::FromV4Bytes(&s[12]).ToString();
    }
  }
  return m;
}

std::optional<NeighborInfo> ParseLldpOrCdp(Bytes frame) {
  if (frame.size() < 14) return std::nullopt;
  size_t at = 12;
  uint16_t type = static_cast<uint16_t>((frame[at] << 8) | frame[at + 1]);
  while ((type == 0x8100 || type == 0x88a8) && at + 6 <= frame.size()) {
    at += 4;
    type = static_cast<uint16_t>((frame[at] << 8) | frame[at + 1]);
  }
  at += 2;
  NeighborInfo n;
  if (type == 0x88cc) {
    Bytes t = frame.subspan(std::min(at, frame.size()));
    for (size_t p = 0; p + 2 <= t.size();) {
      uint8_t tlv = t[p] >> 1;
      size_t len = (size_t{t[p] & 1u} << 8) | t[p + 1];
      if (tlv == 0 || p + 2 + len > t.size()) break;  // End of LLDPDU
      Bytes v = t.subspan(p + 2, len);
      switch (tlv) {
        case 1:  // Chassis ID; subtype 4: MAC address
          if (v.size() == 7 && v[0] == 4) {
            rules::Mac mac;
            std::copy(v.begin() + 1, v.end(), mac.begin());
            n.chassis_mac = mac;
          }
          break;
        case 5: n.system_name = CleanText(AsText(v), 255); break;
        case 6: n.system_description = CleanText(AsText(v), 512); break;
        case 8:  // Management Address: string length, subtype (IANA 1 IPv4, 2 IPv6), address
          if (!n.management && v.size() >= 2) {
            size_t alen = v[0];
            if (alen == 5 && v[1] == 1 && v.size() >= 6) {
              n.management = rules::IpAddress::FromV4Bytes(&v[2]);
            } else if (alen == 17 && v[1] == 2 && v.size() >= 18) {
              n.management = rules::IpAddress::FromV6Bytes(&v[2]);
            }
          }
          break;
        default: break;
      }
      p += 2 + len;
    }
    return n;
  }
  // CDP: 802.3 length, LLC AA AA 03, SNAP OUI 00 00 0C, PID 0x2000.
  if (type > 1500 || at + 8 + 4 > frame.size()) return std::nullopt;
  static constexpr uint8_t kSnap[8] = {0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00};
  if (std::memcmp(&frame[at], kSnap, 8) != 0) return std::nullopt;
  Bytes t = frame.subspan(at + 8 + 4);  // version, ttl, checksum
  for (size_t p = 0; p + 4 <= t.size();) {
    uint16_t tlv = static_cast<uint16_t>((t[p] << 8) | t[p + 1]);
    size_t len = (size_t{t[p + 2]} << 8) | t[p + 3];
    if (len < 4 || p + len > t.size()) break;
    Bytes v = t.subspan(p + 4, len - 4);
    switch (tlv) {
      case 0x0001: n.system_name = CleanText(AsText(v), 255); break;
      case 0x0005: n.system_description = CleanText(AsText(v), 512); break;
      case 0x0006: n.platform = CleanText(AsText(v), 255); break;
      case 0x0002:  // Addresses: count(4) then {ptype, plen, proto, alen(2), addr}
      case 0x0016:  // Management addresses, same layout
        if (!n.management && v.size() >= 4 + 2 + 1 + 2 + 4) {
          size_t q = 4;
          if (v[q] == 1 && v[q + 1] == 1 && v[q + 2] == 0xcc && v[q + 3] == 0 && v[q + 4] == 4 &&
              q + 9 <= v.size()) {
            n.management = rules::IpAddress::FromV4Bytes(&v[q + 5]);
          }
        }
        break;
      default: break;
    }
    p += len;
  }
  return n;
}

}  // namespace sensor::extract
