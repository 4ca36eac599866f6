// Datagram protocols: DHCP (RFC 2131/2132, option 81 RFC 4702), DNS (RFC 1035; mDNS RFC 6762 and
// LLMNR RFC 4795 share the format), NBNS (RFC 1002 section 4).
#include <algorithm>
#include <cstring>

#include "extract/parsers.h"

namespace sensor::extract {
namespace {

constexpr size_t kBootpFixed = 236;            // op .. file
constexpr uint8_t kMagic[4] = {99, 130, 83, 99};  // RFC 2131 3: the options cookie

// Decodes a (possibly compressed) DNS name at *pos; advances *pos past it in the message.
// At most 16 pointer jumps and 255 bytes of output; false when it does not parse.
bool ReadDnsName(Bytes msg, size_t* pos, std::string* out) {
  out->clear();
  size_t p = *pos;
  bool jumped = false;
  for (int jumps = 0; jumps <= 16;) {
    if (p >= msg.size()) return false;
    uint8_t len = msg[p];
    if (len == 0) {
      if (!jumped) *pos = p + 1;
      return true;
    }
    if ((len & 0xc0) == 0xc0) {
      if (p + 1 >= msg.size()) return false;
      if (!jumped) *pos = p + 2;
      jumped = true;
      p = (size_t{len & 0x3fu} << 8) | msg[p + 1];
      ++jumps;
      continue;
    }
    if ((len & 0xc0) != 0 || p + 1 + len > msg.size()) return false;
    if (!out->empty()) out->push_back('.');
    for (size_t i = 0; i < len; ++i) {
      uint8_t c = msg[p + 1 + i];
      out->push_back(c >= 0x21 && c < 0x7f ? static_cast<char>(c) : '?');
    }
    if (out->size() > 255) return false;
    p += 1 + len;
  }
  return false;
}

// NetBIOS first-level decoding (RFC 1001 14.1): 32 letters 'A'..'P' -> 16 bytes; the 16th byte is
// the suffix (service type). Returns the name with trailing blanks removed, "" when malformed.
std::string DecodeNetbios(std::string_view encoded) {
  size_t dot = encoded.find('.');  // scope id follows
  encoded = encoded.substr(0, dot);
  if (encoded.size() != 32) return {};
  std::string out;
  for (size_t i = 0; i + 1 < 32; i += 2) {
    char hi = encoded[i], lo = encoded[i + 1];
    if (hi < 'A' || hi > 'P' || lo < 'A' || lo > 'P') return {};
    out.push_back(static_cast<char>(((hi - 'A') << 4) | (lo - 'A')));
  }
  out.pop_back();  // suffix byte
  while (!out.empty() && (out.back() == ' ' || out.back() == '\0')) out.pop_back();
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return out;
}

}  // namespace

std::optional<DhcpMessage> ParseDhcp(Bytes d) {
  if (d.size() < kBootpFixed + 4 || std::memcmp(d.data() + kBootpFixed, kMagic, 4) != 0) {
    return std::nullopt;
  }
  DhcpMessage m;
  m.op = d[0];
  if ((m.op != 1 && m.op != 2) || d[1] != 1 || d[2] != 6) {
    return std::nullopt;  // Ethernet hardware addresses only
  }
  m.ciaddr = rules::IpAddress::FromV4Bytes(d.data() + 12);
  m.yiaddr = rules::IpAddress::FromV4Bytes(d.data() + 16);
  std::copy_n(d.data() + 28, 6, m.chaddr.begin());
  size_t p = kBootpFixed + 4;
  while (p < d.size()) {
    uint8_t code = d[p];
    if (code == 255) break;
    if (code == 0) {
      ++p;
      continue;
    }
    if (p + 1 >= d.size()) return std::nullopt;
    size_t len = d[p + 1];
    if (p + 2 + len > d.size()) return std::nullopt;
    Bytes v = d.subspan(p + 2, len);
    switch (code) {
      case 53:
        if (len >= 1) m.type = v[0];
        break;
      case 50:
        if (len == 4) m.requested = rules::IpAddress::FromV4Bytes(v.data());
        break;
      case 12:
        m.host_name = CleanText(AsText(v), 255);
        break;
      case 60:
        m.vendor_class = CleanText(AsText(v), 255);
        break;
      case 15:
        m.domain = CleanText(AsText(v), 255);
        break;
      case 51:
        if (len == 4) {
          m.lease_time_s = (uint32_t{v[0]} << 24) | (uint32_t{v[1]} << 16) |
                           (uint32_t{v[2]} << 8) | v[3];
        }
        break;
      case 54:
        if (len == 4) m.server_id = rules::IpAddress::FromV4Bytes(v.data());
        break;
      case 55:
        m.param_list.clear();
        for (uint8_t c : v) {
          if (!m.param_list.empty()) m.param_list.push_back(',');
          m.param_list += std::to_string(c);
        }
        break;
      case 81:  // flags, rcode1, rcode2, domain name (wire format when the E bit is set)
        if (len > 3) {
          Bytes name = v.subspan(3);
          if (v[0] & 0x04) {
            size_t pos = 0;
            std::string decoded;
            if (ReadDnsName(name, &pos, &decoded)) m.fqdn = decoded;
            // ReadDnsName may follow pointers inside the option only; fine for names.
          } else {
            m.fqdn = CleanText(AsText(name), 255);
          }
        }
        break;
      default:
        break;
    }
    p += 2 + len;
  }
  return m;
}

std::optional<DnsMessage> ParseDns(Bytes d, bool netbios) {
  if (d.size() < 12) return std::nullopt;
  DnsMessage m;
  m.id = static_cast<uint16_t>((d[0] << 8) | d[1]);
  m.response = (d[2] & 0x80) != 0;
  m.opcode = (d[2] >> 3) & 0x0f;
  m.aa = (d[2] & 0x04) != 0;
  m.tc = (d[2] & 0x02) != 0;
  m.rd = (d[2] & 0x01) != 0;
  m.ra = (d[3] & 0x80) != 0;
  m.z = (d[3] >> 4) & 0x07;
  m.rcode = d[3] & 0x0f;
  size_t qd = (size_t{d[4]} << 8) | d[5];
  size_t an = (size_t{d[6]} << 8) | d[7];
  size_t ns = (size_t{d[8]} << 8) | d[9];
  size_t ar = (size_t{d[10]} << 8) | d[11];
  size_t pos = 12;
  std::string name;
  for (size_t i = 0; i < qd; ++i) {
    if (!ReadDnsName(d, &pos, &name) || pos + 4 > d.size()) return std::nullopt;
    if (i == 0) {
      m.query = netbios ? DecodeNetbios(name) : name;
      m.qtype = static_cast<uint16_t>((d[pos] << 8) | d[pos + 1]);
      m.qclass = static_cast<uint16_t>((d[pos + 2] << 8) | d[pos + 3]);
    }
    pos += 4;
  }
  size_t records = std::min<size_t>(an + ns + ar, 256);
  for (size_t i = 0; i < records; ++i) {
    if (!ReadDnsName(d, &pos, &name) || pos + 10 > d.size()) {
      return m.answers.empty() ? std::nullopt : std::optional<DnsMessage>(std::move(m));
    }
    uint16_t type = static_cast<uint16_t>((d[pos] << 8) | d[pos + 1]);
    size_t rdlen = (size_t{d[pos + 8]} << 8) | d[pos + 9];
    size_t rdata = pos + 10;
    if (rdata + rdlen > d.size()) break;
    pos = rdata + rdlen;
    bool in_authority = i >= an && i < an + ns;
    if (in_authority || m.answers.size() >= 64) continue;
    DnsAnswer a;
    a.type = type;
    a.ttl = (uint32_t{d[pos - rdlen - 6]} << 24) | (uint32_t{d[pos - rdlen - 5]} << 16) |
            (uint32_t{d[pos - rdlen - 4]} << 8) | d[pos - rdlen - 3];
    a.additional = i >= an + ns;
    if (netbios) {
      if (type != 32 || rdlen < 6) continue;  // NB: (flags, address) entries
      a.name = DecodeNetbios(name);
      if (a.name.empty() || a.name == "*") continue;
      a.address = rules::IpAddress::FromV4Bytes(d.data() + rdata + 2);
    } else if (type == 1 && rdlen == 4) {
      a.name = name;
      a.address = rules::IpAddress::FromV4Bytes(d.data() + rdata);
    } else if (type == 28 && rdlen == 16) {
      a.name = name;
      a.address = rules::IpAddress::FromV6Bytes(d.data() + rdata);
    } else if (type == 12 || type == 5) {
      size_t tpos = rdata;
      if (!ReadDnsName(d, &tpos, &a.target)) continue;
      a.name = name;
    } else {
      continue;
    }
    m.answers.push_back(std::move(a));
  }
  return m;
}

std::optional<rules::IpAddress> PtrNameToAddress(std::string_view name) {
  auto ends_with_ci = [](std::string_view s, std::string_view suffix) {
    if (s.size() < suffix.size()) return false;
    for (size_t i = 0; i < suffix.size(); ++i) {
      char c = s[s.size() - suffix.size() + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != suffix[i]) return false;
    }
    return true;
  };
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (ends_with_ci(name, ".in-addr.arpa")) {
    std::string_view labels = name.substr(0, name.size() - 13);
    uint8_t bytes[4];
    int n = 0;
    while (!labels.empty() && n < 4) {
      size_t dot = labels.rfind('.');
      std::string_view label = dot == std::string_view::npos ? labels : labels.substr(dot + 1);
      labels = dot == std::string_view::npos ? std::string_view() : labels.substr(0, dot);
      if (label.empty() || label.size() > 3) return std::nullopt;
      int v = 0;
      for (char c : label) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
      }
      if (v > 255) return std::nullopt;
      bytes[n++] = static_cast<uint8_t>(v);
    }
    if (n != 4 || !labels.empty()) return std::nullopt;
    return rules::IpAddress::FromV4Bytes(bytes);
  }
  if (ends_with_ci(name, ".ip6.arpa")) {
    std::string_view nibbles = name.substr(0, name.size() - 9);
    if (nibbles.size() != 63) return std::nullopt;
    uint8_t bytes[16] = {};
    for (int i = 0; i < 32; ++i) {
      char c = nibbles[static_cast<size_t>(i) * 2];
      if (i < 31 && nibbles[static_cast<size_t>(i) * 2 + 1] != '.') return std::nullopt;
      int v;
      if (c >= '0' && c <= '9') v = c - '0';
      else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
      else return std::nullopt;
      int nibble = 31 - i;  // the first label is the lowest nibble
      bytes[nibble / 2] |= static_cast<uint8_t>(nibble % 2 == 0 ? v << 4 : v);
    }
    return rules::IpAddress::FromV6Bytes(bytes);
  }
  return std::nullopt;
}

}  // namespace sensor::extract
