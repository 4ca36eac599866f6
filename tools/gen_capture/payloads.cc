#include "payloads.h"

#include <time.h>

#include <cstdio>
#include <map>

namespace gen_capture {
namespace {

void AppendMac(ByteWriter& w, const Mac& mac) {
  for (uint8_t b : mac) {
    w.U8(b);
  }
}

// ---------------------------------------------------------------- DHCP

void BootpHeader(ByteWriter& w, uint8_t op, uint32_t xid, Ip4 yiaddr, Ip4 siaddr,
                 const Mac& chaddr) {
  w.U8(op);
  w.U8(1);  // Ethernet
  w.U8(6);
  w.U8(0);
  w.U32(xid);
  w.U16(0);  // secs
  w.U16(0);  // flags: unicast replies
  w.U32(0);  // ciaddr
  w.U32(yiaddr);
  w.U32(siaddr);
  w.U32(0);  // giaddr
  AppendMac(w, chaddr);
  w.Zeros(10 + 64 + 128);  // chaddr padding, sname, file
  w.U32(0x63825363);       // magic cookie
}

void Option(ByteWriter& w, uint8_t code, const Bytes& value) {
  w.U8(code);
  w.U8(static_cast<uint32_t>(value.size()));
  w.Append(value);
}

Bytes IpBytes(Ip4 ip) { return {uint8_t(ip >> 24), uint8_t(ip >> 16), uint8_t(ip >> 8), uint8_t(ip)}; }

Bytes U32Bytes(uint32_t v) { return IpBytes(v); }

void EndAndPad(Bytes& msg) {
  msg.push_back(255);
  if (msg.size() < 300) {
    msg.resize(300, 0);  // BOOTP minimum message size (RFC 951)
  }
}

// ---------------------------------------------------------------- DNS

// Writes DNS names with message compression (RFC 1035 4.1.4).
class DnsWriter {
 public:
  explicit DnsWriter(Bytes* out) : out_(out), w_(out) {}
  ByteWriter& w() { return w_; }
  void Name(const std::string& name) {
    std::string rest = name;
    while (!rest.empty()) {
      auto it = offsets_.find(rest);
      if (it != offsets_.end()) {
        w_.U16(0xc000 | it->second);
        return;
      }
      if (out_->size() < 0x3fff) {
        offsets_[rest] = static_cast<uint16_t>(out_->size());
      }
      size_t dot = rest.find('.');
      std::string label = rest.substr(0, dot);
      w_.U8(static_cast<uint32_t>(label.size()));
      w_.Append(label);
      rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
    }
    w_.U8(0);
  }
  void Header(uint16_t id, uint16_t flags, int qd, int an, int ns) {
    w_.U16(id);
    w_.U16(flags);
    w_.U16(qd);
    w_.U16(an);
    w_.U16(ns);
    w_.U16(0);
  }
  // Resource record header; returns the rdlength position to patch.
  size_t Record(const std::string& name, uint16_t type, uint32_t ttl) {
    Name(name);
    w_.U16(type);
    w_.U16(1);
    w_.U32(ttl);
    size_t pos = w_.size();
    w_.U16(0);
    return pos;
  }
  void EndRecord(size_t rdlength_pos) {
    w_.PatchU16(rdlength_pos, static_cast<uint32_t>(w_.size() - rdlength_pos - 2));
  }

 private:
  Bytes* out_;
  ByteWriter w_;
  std::map<std::string, uint16_t> offsets_;
};

// ---------------------------------------------------------------- TLS

uint16_t Grease(Rng& rng) {
  uint16_t x = static_cast<uint16_t>(rng.Range(0, 15));
  return static_cast<uint16_t>(0x0a0a | (x << 12) | (x << 4));
}

// Wraps handshake bodies: type, 24-bit length.
void Handshake(ByteWriter& w, uint8_t type, const Bytes& body) {
  w.U8(type);
  w.U24(static_cast<uint32_t>(body.size()));
  w.Append(body);
}

Bytes Record(uint8_t content_type, uint16_t version, const Bytes& fragment) {
  Bytes out;
  ByteWriter w(&out);
  w.U8(content_type);
  w.U16(version);
  w.U16(static_cast<uint32_t>(fragment.size()));
  w.Append(fragment);
  return out;
}

void Extension(ByteWriter& w, uint16_t type, const Bytes& data) {
  w.U16(type);
  w.U16(static_cast<uint32_t>(data.size()));
  w.Append(data);
}

Bytes U16List(const std::vector<uint16_t>& values, int length_bytes) {
  Bytes out;
  ByteWriter w(&out);
  uint32_t len = static_cast<uint32_t>(values.size() * 2);
  if (length_bytes == 1) {
    w.U8(len);
  } else {
    w.U16(len);
  }
  for (uint16_t v : values) {
    w.U16(v);
  }
  return out;
}

Bytes AlpnList(const std::vector<std::string>& protocols) {
  Bytes list;
  ByteWriter lw(&list);
  for (const auto& p : protocols) {
    lw.U8(static_cast<uint32_t>(p.size()));
    lw.Append(p);
  }
  Bytes out;
  ByteWriter w(&out);
  w.U16(static_cast<uint32_t>(list.size()));
  w.Append(list);
  return out;
}

Bytes ServerNameExt(const std::string& sni) {
  Bytes out;
  ByteWriter w(&out);
  w.U16(static_cast<uint32_t>(sni.size() + 3));
  w.U8(0);
  w.U16(static_cast<uint32_t>(sni.size()));
  w.Append(sni);
  return out;
}

Bytes KeyShare(const std::vector<std::pair<uint16_t, Bytes>>& shares) {
  Bytes list;
  ByteWriter lw(&list);
  for (const auto& [group, key] : shares) {
    lw.U16(group);
    lw.U16(static_cast<uint32_t>(key.size()));
    lw.Append(key);
  }
  Bytes out;
  ByteWriter w(&out);
  w.U16(static_cast<uint32_t>(list.size()));
  w.Append(list);
  return out;
}

// ---------------------------------------------------------------- SSH

void SshString(ByteWriter& w, std::string_view s) {
  w.U32(static_cast<uint32_t>(s.size()));
  w.Append(s);
}
void SshString(ByteWriter& w, const Bytes& b) {
  w.U32(static_cast<uint32_t>(b.size()));
  w.Append(b);
}

// Binary packet (RFC 4253 6): length, padding length, payload, random padding to 8 bytes.
Bytes SshPacket(Rng& rng, const Bytes& payload) {
  size_t pad = 8 - (5 + payload.size()) % 8;
  if (pad < 4) {
    pad += 8;
  }
  Bytes out;
  ByteWriter w(&out);
  w.U32(static_cast<uint32_t>(1 + payload.size() + pad));
  w.U8(static_cast<uint32_t>(pad));
  w.Append(payload);
  w.Append(rng.RandomBytes(pad));
  return out;
}

// ---------------------------------------------------------------- SMB2

constexpr uint16_t kSmb2Negotiate = 0, kSmb2SessionSetup = 1, kSmb2TreeConnect = 3;
constexpr uint32_t kStatusMoreProcessing = 0xc0000016;

uint64_t FileTime(int64_t us) { return static_cast<uint64_t>(us) * 10 + 116444736000000000ULL; }

void Smb2Header(ByteWriter& w, uint16_t command, bool response, uint32_t status,
                const SmbIds& ids, const Bytes& signature = {}) {
  w.Append(Bytes{0xfe, 'S', 'M', 'B'});
  w.U16Le(64);
  w.U16Le(1);  // credit charge
  w.U32Le(status);
  w.U16Le(command);
  w.U16Le(response ? 33 : 31);  // credits granted / requested
  uint32_t flags = response ? 1 : 0;
  if (!signature.empty()) {
    flags |= 8;
  }
  w.U32Le(flags);
  w.U32Le(0);  // next command
  w.U64Le(ids.message_id);
  w.U32Le(response ? 0 : 0xfeff);  // process id
  w.U32Le(ids.tree_id);
  w.U64Le(ids.session_id);
  if (signature.empty()) {
    w.Zeros(16);
  } else {
    w.Append(signature);
  }
}

// NetBIOS session service header (RFC 1002 4.3.1) around an SMB message.
Bytes NetBios(const Bytes& smb) {
  Bytes out;
  ByteWriter w(&out);
  w.U8(0);
  w.U24(static_cast<uint32_t>(smb.size()));
  w.Append(smb);
  return out;
}

// ASN.1 DER tag-length-value.
Bytes Der(uint8_t tag, const Bytes& content) {
  Bytes out;
  ByteWriter w(&out);
  w.U8(tag);
  size_t n = content.size();
  if (n < 128) {
    w.U8(static_cast<uint32_t>(n));
  } else if (n < 256) {
    w.U8(0x81);
    w.U8(static_cast<uint32_t>(n));
  } else {
    w.U8(0x82);
    w.U16(static_cast<uint32_t>(n));
  }
  w.Append(content);
  return out;
}
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

const Bytes kSpnegoOid = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};                     // 1.3.6.1.5.5.2
const Bytes kNtlmOid = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};  // NTLMSSP

// GSS-API initial token with a SPNEGO negTokenInit offering NTLMSSP (RFC 4178 4.2.1).
Bytes SpnegoInit(const Bytes& mech_token) {
  Bytes mech_types = Der(0xa0, Der(0x30, Der(0x06, kNtlmOid)));
  Bytes fields = mech_types;
  if (!mech_token.empty()) {
    fields = Cat({fields, Der(0xa2, Der(0x04, mech_token))});
  }
  return Der(0x60, Cat({Der(0x06, kSpnegoOid), Der(0xa0, Der(0x30, fields))}));
}

// negTokenResp (RFC 4178 4.2.2).
Bytes SpnegoResponse(int neg_state, bool with_mech, const Bytes& token, const Bytes& mic) {
  Bytes fields;
  if (neg_state >= 0) {
    fields = Der(0xa0, Der(0x0a, {static_cast<uint8_t>(neg_state)}));
  }
  if (with_mech) {
    fields = Cat({fields, Der(0xa1, Der(0x06, kNtlmOid))});
  }
  if (!token.empty()) {
    fields = Cat({fields, Der(0xa2, Der(0x04, token))});
  }
  if (!mic.empty()) {
    fields = Cat({fields, Der(0xa3, Der(0x04, mic))});
  }
  return Der(0xa1, Der(0x30, fields));
}

// NTLMSSP VERSION structure (MS-NLMP 2.2.2.10).
void NtlmVersion(ByteWriter& w, uint8_t major, uint8_t minor, uint16_t build) {
  w.U8(major);
  w.U8(minor);
  w.U16Le(build);
  w.Zeros(3);
  w.U8(15);  // NTLMSSP_REVISION_W2K3
}

void AvPair(ByteWriter& w, uint16_t id, const std::string& utf16_value) {
  w.U16Le(id);
  w.U16Le(static_cast<uint32_t>(utf16_value.size() * 2));
  w.Utf16Le(utf16_value);
}

// The file server's target information (MS-NLMP 2.2.2.1).
Bytes TargetInfo(int64_t now_us, bool with_eol) {
  Bytes out;
  ByteWriter w(&out);
  AvPair(w, 2, "KOMMUNE");
  AvPair(w, 1, "FIL01");
  AvPair(w, 4, "kommune.local");
  AvPair(w, 3, "fil01.kommune.local");
  AvPair(w, 5, "kommune.local");
  w.U16Le(7);
  w.U16Le(8);
  w.U64Le(FileTime(now_us));
  if (with_eol) {
    w.U32Le(0);
  }
  return out;
}

// NTLMSSP message signature used as SPNEGO mechListMIC (MS-NLMP 2.2.2.9.1): version 1,
// checksum, sequence number.
Bytes NtlmVerifier(Rng& rng, uint32_t seq) {
  Bytes out;
  ByteWriter w(&out);
  w.U32Le(1);
  w.Append(rng.RandomBytes(8));
  w.U32Le(seq);
  return out;
}

Bytes Smb2Message(uint16_t command, bool response, uint32_t status, const SmbIds& ids,
                  const Bytes& body, const Bytes& signature = {}) {
  Bytes smb;
  ByteWriter w(&smb);
  Smb2Header(w, command, response, status, ids, signature);
  w.Append(body);
  return NetBios(smb);
}

// Session setup request body (MS-SMB2 2.2.5) carrying `blob`.
Bytes SessionSetupBody(const Bytes& blob) {
  Bytes body;
  ByteWriter w(&body);
  w.U16Le(25);
  w.U8(0);
  w.U8(1);  // signing enabled
  w.U32Le(1);
  w.U32Le(0);
  w.U16Le(64 + 24);
  w.U16Le(static_cast<uint32_t>(blob.size()));
  w.U64Le(0);
  w.Append(blob);
  return body;
}

Bytes SessionSetupResponseBody(const Bytes& blob) {
  Bytes body;
  ByteWriter w(&body);
  w.U16Le(9);
  w.U16Le(0);
  w.U16Le(64 + 8);
  w.U16Le(static_cast<uint32_t>(blob.size()));
  w.Append(blob);
  return body;
}

void PadTo8(ByteWriter& w, size_t base) {
  while ((w.size() - base) % 8 != 0) {
    w.U8(0);
  }
}

// ---------------------------------------------------------------- SNMP / BER

Bytes BerInteger(int64_t v) {
  Bytes out;
  do {
    out.insert(out.begin(), static_cast<uint8_t>(v & 0xff));
    v >>= 8;
  } while (v != 0 && v != -1);
  if ((out[0] & 0x80) != 0 && v == 0) {
    out.insert(out.begin(), 0);
  }
  return Der(0x02, out);
}

Bytes SnmpMessage(uint8_t pdu_tag, uint32_t request_id, const std::string& community,
                  const Bytes& varbinds) {
  Bytes pdu = Der(pdu_tag, Cat({BerInteger(request_id), BerInteger(0), BerInteger(0),
                                Der(0x30, varbinds)}));
  return Der(0x30, Cat({BerInteger(1), Der(0x04, Bytes(community.begin(), community.end())), pdu}));
}

// ---------------------------------------------------------------- time

struct tm UtcTm(int64_t us) {
  time_t t = static_cast<time_t>(us / 1000000);
  struct tm tm_utc{};
  gmtime_r(&t, &tm_utc);
  return tm_utc;
}

}  // namespace

// ================================================================ DHCP

std::vector<uint8_t> WindowsParameterList() {
  return {1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252};
}

Bytes DhcpClientMessage(DhcpType type, uint32_t xid, const DhcpClientInfo& client,
                        Ip4 requested, Ip4 server_id) {
  Bytes msg;
  ByteWriter w(&msg);
  BootpHeader(w, 1, xid, 0, 0, client.mac);
  Option(w, 53, {static_cast<uint8_t>(type)});
  Bytes client_id = {1};
  client_id.insert(client_id.end(), client.mac.begin(), client.mac.end());
  Option(w, 61, client_id);
  if (requested != 0) {
    Option(w, 50, IpBytes(requested));
  }
  if (server_id != 0) {
    Option(w, 54, IpBytes(server_id));
  }
  Option(w, 12, Bytes(client.host_name.begin(), client.host_name.end()));
  if (!client.vendor_class.empty()) {
    Option(w, 60, Bytes(client.vendor_class.begin(), client.vendor_class.end()));
  }
  Option(w, 55, Bytes(client.parameter_list.begin(), client.parameter_list.end()));
  EndAndPad(msg);
  return msg;
}

Bytes DhcpServerMessage(DhcpType type, uint32_t xid, const Mac& client_mac, Ip4 yiaddr,
                        const DhcpServerInfo& server) {
  Bytes msg;
  ByteWriter w(&msg);
  BootpHeader(w, 2, xid, yiaddr, 0, client_mac);
  Option(w, 53, {static_cast<uint8_t>(type)});
  Option(w, 54, IpBytes(server.server));
  Option(w, 51, U32Bytes(server.lease_s));
  Option(w, 1, IpBytes(server.mask));
  Option(w, 3, IpBytes(server.router));
  Option(w, 6, IpBytes(server.dns));
  Option(w, 15, Bytes(server.domain.begin(), server.domain.end()));
  EndAndPad(msg);
  return msg;
}

// ================================================================ DNS

Bytes DnsQuery(uint16_t id, const std::string& name, uint16_t qtype) {
  Bytes msg;
  DnsWriter d(&msg);
  d.Header(id, 0x0100, 1, 0, 0);
  d.Name(name);
  d.w().U16(qtype);
  d.w().U16(1);
  return msg;
}

Bytes DnsAnswer(uint16_t id, const std::string& name, uint16_t qtype, const std::string& cname,
                const std::vector<Bytes>& addresses, const std::string& ptr_target,
                uint32_t ttl) {
  Bytes msg;
  DnsWriter d(&msg);
  int count = static_cast<int>(addresses.size()) + (cname.empty() ? 0 : 1) +
              (ptr_target.empty() ? 0 : 1);
  d.Header(id, 0x8180, 1, count, 0);
  d.Name(name);
  d.w().U16(qtype);
  d.w().U16(1);
  std::string owner = name;
  if (!cname.empty()) {
    size_t pos = d.Record(name, kDnsCname, ttl);
    d.Name(cname);
    d.EndRecord(pos);
    owner = cname;
  }
  if (!ptr_target.empty()) {
    size_t pos = d.Record(name, kDnsPtr, ttl);
    d.Name(ptr_target);
    d.EndRecord(pos);
  }
  for (const Bytes& a : addresses) {
    size_t pos = d.Record(owner, a.size() == 16 ? kDnsAaaa : kDnsA, ttl);
    d.w().Append(a);
    d.EndRecord(pos);
  }
  return msg;
}

Bytes DnsNegative(uint16_t id, const std::string& name, uint16_t qtype, int rcode,
                  const std::string& zone) {
  Bytes msg;
  DnsWriter d(&msg);
  d.Header(id, static_cast<uint16_t>(0x8180 | rcode), 1, 0, 1);
  d.Name(name);
  d.w().U16(qtype);
  d.w().U16(1);
  size_t pos = d.Record(zone, 6, 3600);
  d.Name("dc01." + zone);
  d.Name("hostmaster." + zone);
  d.w().U32(2025120101);
  d.w().U32(900);
  d.w().U32(600);
  d.w().U32(86400);
  d.w().U32(3600);
  d.EndRecord(pos);
  return msg;
}

// ================================================================ TLS

Bytes TlsClientHello(Rng& rng, TlsClientKind kind, const std::string& sni, Bytes* client_random) {
  *client_random = rng.RandomBytes(32);
  Bytes ext;
  ByteWriter e(&ext);
  std::vector<uint16_t> suites;
  Bytes x25519 = rng.RandomBytes(32);
  if (kind == TlsClientKind::kChromium) {
    uint16_t g1 = Grease(rng), g2 = Grease(rng), g3 = Grease(rng), g4 = Grease(rng);
    suites = {g1,     0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
              0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    Extension(e, g2, {});
    if (!sni.empty()) {
      Extension(e, 0, ServerNameExt(sni));
    }
    Extension(e, 23, {});
    Extension(e, 0xff01, {0});
    Extension(e, 10, U16List({g3, 0x001d, 0x0017, 0x0018}, 2));
    Extension(e, 11, {1, 0});
    Extension(e, 35, {});
    Extension(e, 16, AlpnList({"h2", "http/1.1"}));
    Extension(e, 5, {1, 0, 0, 0, 0});
    Extension(e, 13, U16List({0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}, 2));
    Extension(e, 18, {});
    Extension(e, 51, KeyShare({{g3, {0}}, {0x001d, x25519}}));
    Extension(e, 45, {1, 1});
    Extension(e, 43, U16List({g1, 0x0304, 0x0303}, 1));
    Extension(e, 27, {2, 0, 2});
    Extension(e, 17513, {0, 3, 2, 'h', '2'});
    Extension(e, g4, {0});
  } else if (kind == TlsClientKind::kFirefox) {
    suites = {0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030,
              0xc00a, 0xc009, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    if (!sni.empty()) {
      Extension(e, 0, ServerNameExt(sni));
    }
    Extension(e, 23, {});
    Extension(e, 0xff01, {0});
    Extension(e, 10, U16List({0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101}, 2));
    Extension(e, 11, {1, 0});
    Extension(e, 35, {});
    Extension(e, 16, AlpnList({"h2", "http/1.1"}));
    Extension(e, 5, {1, 0, 0, 0, 0});
    Extension(e, 34, U16List({0x0403, 0x0503, 0x0603, 0x0203}, 2));
    Bytes p256 = rng.RandomBytes(65);
    p256[0] = 4;
    Extension(e, 51, KeyShare({{0x001d, x25519}, {0x0017, p256}}));
    Extension(e, 43, U16List({0x0304, 0x0303}, 1));
    Extension(e, 13, U16List({0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501,
                              0x0601, 0x0203, 0x0201},
                             2));
    Extension(e, 45, {1, 1});
    Extension(e, 28, {0x40, 0x01});
  } else {
    // OpenSSL 3 as curl, PowerShell-on-Linux or an RDP scanner use it (offers Ed25519).
    suites = {0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8, 0xccaa, 0xc02b,
              0xc02f, 0x009e, 0xc024, 0xc028, 0x006b, 0xc023, 0xc027, 0x0067, 0xc00a, 0xc014,
              0x0039, 0xc009, 0xc013, 0x0033, 0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f,
              0x00ff};
    if (!sni.empty()) {
      Extension(e, 0, ServerNameExt(sni));
    }
    Extension(e, 11, {3, 0, 1, 2});
    Extension(e, 10, U16List({0x001d, 0x0017, 0x001e, 0x0019, 0x0018}, 2));
    Extension(e, 35, {});
    if (!sni.empty()) {
      Extension(e, 16, AlpnList({"http/1.1"}));
    }
    Extension(e, 22, {});
    Extension(e, 23, {});
    Extension(e, 13, U16List({0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x081a, 0x081b, 0x081c,
                              0x0809, 0x080a, 0x080b, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501,
                              0x0601},
                             2));
    Extension(e, 43, U16List({0x0304, 0x0303}, 1));
    Extension(e, 45, {1, 1});
    Extension(e, 51, KeyShare({{0x001d, x25519}}));
  }
  Bytes body;
  ByteWriter b(&body);
  b.U16(0x0303);
  b.Append(*client_random);
  b.U8(32);
  b.Append(rng.RandomBytes(32));
  b.Append(U16List(suites, 2));
  b.U8(1);
  b.U8(0);
  size_t hello_len = 4 + body.size() + 2 + ext.size();
  if (kind == TlsClientKind::kChromium && hello_len < 508) {
    // Chromium pads the hello message to 512 bytes (RFC 7685).
    Extension(e, 21, Bytes(512 - hello_len - 4, 0));
  }
  b.U16(static_cast<uint32_t>(ext.size()));
  b.Append(ext);
  Bytes hs;
  ByteWriter h(&hs);
  Handshake(h, 1, body);
  return Record(22, 0x0301, hs);
}

Bytes TlsServerHello12(const Tls12ServerFlight& f, const Bytes& session_id) {
  Bytes body;
  ByteWriter b(&body);
  b.U16(0x0303);
  b.Append(f.server_random);
  b.U8(static_cast<uint32_t>(session_id.size()));
  b.Append(session_id);
  b.U16(0xc02b);  // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (Ed25519 certificates: RFC 8422)
  b.U8(0);
  Bytes ext;
  ByteWriter e(&ext);
  Extension(e, 0xff01, {0});
  Extension(e, 11, {3, 0, 1, 2});
  Extension(e, 23, {});
  Extension(e, 16, AlpnList({"http/1.1"}));
  b.U16(static_cast<uint32_t>(ext.size()));
  b.Append(ext);
  Bytes hs;
  ByteWriter h(&hs);
  Handshake(h, 2, body);
  return Record(22, 0x0303, hs);
}

Bytes TlsKeyExchangeSignedData(const Bytes& client_random, const Tls12ServerFlight& f) {
  Bytes data = client_random;
  ByteWriter w(&data);
  w.Append(f.server_random);
  w.U8(3);  // named_curve
  w.U16(0x001d);
  w.U8(32);
  w.Append(f.server_public);
  return data;
}

Bytes TlsCertificateAndKeyExchange(const Tls12ServerFlight& f, const Bytes& signature) {
  Bytes cert_body;
  ByteWriter c(&cert_body);
  c.U24(static_cast<uint32_t>(f.certificate_der.size() + 3));
  c.U24(static_cast<uint32_t>(f.certificate_der.size()));
  c.Append(f.certificate_der);
  Bytes ske;
  ByteWriter s(&ske);
  s.U8(3);
  s.U16(0x001d);
  s.U8(32);
  s.Append(f.server_public);
  s.U16(0x0807);  // ed25519
  s.U16(static_cast<uint32_t>(signature.size()));
  s.Append(signature);
  Bytes out;
  ByteWriter w(&out);
  Bytes hs;
  ByteWriter h(&hs);
  Handshake(h, 11, cert_body);
  w.Append(Record(22, 0x0303, hs));
  hs.clear();
  Handshake(h, 12, ske);
  w.Append(Record(22, 0x0303, hs));
  hs.clear();
  Handshake(h, 14, {});
  w.Append(Record(22, 0x0303, hs));
  return out;
}

Bytes TlsClientKeyExchangeFinished(Rng& rng) {
  Bytes cke;
  ByteWriter c(&cke);
  c.U8(32);
  c.Append(rng.RandomBytes(32));
  Bytes hs;
  ByteWriter h(&hs);
  Handshake(h, 16, cke);
  Bytes out = Record(22, 0x0303, hs);
  ByteWriter w(&out);
  w.Append(Record(20, 0x0303, {1}));
  w.Append(Record(22, 0x0303, rng.RandomBytes(40)));  // nonce 8 + Finished 16 + tag 16
  return out;
}

Bytes TlsServerFinished(Rng& rng) {
  Bytes out = Record(20, 0x0303, {1});
  ByteWriter w(&out);
  w.Append(Record(22, 0x0303, rng.RandomBytes(40)));
  return out;
}

Bytes TlsServerHello13(Rng& rng, const Bytes& session_id) {
  Bytes body;
  ByteWriter b(&body);
  b.U16(0x0303);
  b.Append(rng.RandomBytes(32));
  b.U8(static_cast<uint32_t>(session_id.size()));
  b.Append(session_id);
  b.U16(0x1301);
  b.U8(0);
  Bytes ext;
  ByteWriter e(&ext);
  Extension(e, 43, {3, 4});
  Bytes ks;
  ByteWriter k(&ks);
  k.U16(0x001d);
  k.U16(32);
  k.Append(rng.RandomBytes(32));
  Extension(e, 51, ks);
  b.U16(static_cast<uint32_t>(ext.size()));
  b.Append(ext);
  Bytes hs;
  ByteWriter h(&hs);
  Handshake(h, 2, body);
  Bytes out = Record(22, 0x0303, hs);
  ByteWriter w(&out);
  w.Append(Record(20, 0x0303, {1}));
  // EncryptedExtensions, Certificate, CertificateVerify, Finished: one encrypted record.
  w.Append(Record(23, 0x0303, rng.RandomBytes(static_cast<size_t>(rng.Range(2400, 4200)))));
  return out;
}

Bytes TlsClientFinished13(Rng& rng) {
  Bytes out = Record(20, 0x0303, {1});
  ByteWriter w(&out);
  w.Append(Record(23, 0x0303, rng.RandomBytes(53)));
  return out;
}

Bytes TlsApplicationData(Rng& rng, size_t plaintext_len, bool tls13) {
  return Record(23, 0x0303, rng.RandomBytes(plaintext_len + (tls13 ? 17 : 24)));
}

// ================================================================ SSH

Bytes SshKexInit(Rng& rng, bool server) {
  Bytes p;
  ByteWriter w(&p);
  w.U8(20);
  w.Append(rng.RandomBytes(16));
  if (server) {
    SshString(w, std::string_view(
                     "sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
                     "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
                     "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
                     "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
                     "diffie-hellman-group14-sha256,kex-strict-s-v00@openssh.com"));
    SshString(w, std::string_view("rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519"));
  } else {
    SshString(w, std::string_view(
                     "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
                     "ecdh-sha2-nistp384,ecdh-sha2-nistp521,sntrup761x25519-sha512@openssh.com,"
                     "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
                     "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-c"));
    SshString(w, std::string_view(
                     "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"
                     "rsa-sha2-512-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,"
                     "rsa-sha2-512,rsa-sha2-256"));
  }
  std::string_view ciphers =
      "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"
      "aes256-gcm@openssh.com";
  std::string_view macs =
      "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
      "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
      "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1";
  std::string_view compression = server ? "none,zlib@openssh.com" : "none,zlib@openssh.com,zlib";
  SshString(w, ciphers);
  SshString(w, ciphers);
  SshString(w, macs);
  SshString(w, macs);
  SshString(w, compression);
  SshString(w, compression);
  SshString(w, std::string_view(""));
  SshString(w, std::string_view(""));
  w.U8(0);
  w.U32(0);
  return SshPacket(rng, p);
}

Bytes SshEcdhInit(Rng& rng) {
  Bytes p;
  ByteWriter w(&p);
  w.U8(30);
  SshString(w, rng.RandomBytes(32));
  return SshPacket(rng, p);
}

Bytes SshEcdhReply(Rng& rng, const Bytes& host_public_key) {
  Bytes key_blob;
  ByteWriter k(&key_blob);
  SshString(k, std::string_view("ssh-ed25519"));
  SshString(k, host_public_key);
  Bytes sig_blob;
  ByteWriter s(&sig_blob);
  SshString(s, std::string_view("ssh-ed25519"));
  SshString(s, rng.RandomBytes(64));
  Bytes p;
  ByteWriter w(&p);
  w.U8(31);
  SshString(w, key_blob);
  SshString(w, rng.RandomBytes(32));
  SshString(w, sig_blob);
  Bytes out = SshPacket(rng, p);
  // OpenSSH sends NEWKEYS in the same flight.
  ByteWriter o(&out);
  o.Append(SshNewKeys(rng));
  return out;
}

Bytes SshNewKeys(Rng& rng) { return SshPacket(rng, {21}); }

Bytes SshEncrypted(Rng& rng, size_t payload_len) {
  size_t body = (payload_len + 1 + 4 + 7) / 8 * 8;
  return rng.RandomBytes(4 + body + 16);
}

// ================================================================ SMB

Bytes Smb2NegotiateRequest(Rng& rng, const SmbIds& ids) {
  Bytes smb;
  ByteWriter w(&smb);
  Smb2Header(w, kSmb2Negotiate, false, 0, ids);
  const std::vector<uint16_t> dialects = {0x0202, 0x0210, 0x0300, 0x0302, 0x0311};
  w.U16Le(36);
  w.U16Le(static_cast<uint32_t>(dialects.size()));
  w.U16Le(1);  // signing enabled
  w.U16Le(0);
  w.U32Le(0x7f);
  w.Append(rng.RandomBytes(16));  // client GUID
  size_t ctx_offset_pos = w.size();
  w.U32Le(0);
  w.U16Le(2);
  w.U16Le(0);
  for (uint16_t d : dialects) {
    w.U16Le(d);
  }
  PadTo8(w, 0);
  w.PatchU32Le(ctx_offset_pos, static_cast<uint32_t>(w.size()));
  // SMB2_PREAUTH_INTEGRITY_CAPABILITIES: SHA-512 and a 32-byte salt.
  w.U16Le(1);
  w.U16Le(38);
  w.U32Le(0);
  w.U16Le(1);
  w.U16Le(32);
  w.U16Le(1);
  w.Append(rng.RandomBytes(32));
  PadTo8(w, 0);
  // SMB2_ENCRYPTION_CAPABILITIES: AES-128-GCM, AES-128-CCM.
  w.U16Le(2);
  w.U16Le(6);
  w.U32Le(0);
  w.U16Le(2);
  w.U16Le(2);
  w.U16Le(1);
  return NetBios(smb);
}

Bytes Smb2NegotiateResponse(Rng& rng, const SmbIds& ids, int64_t now_us) {
  Bytes blob = SpnegoInit({});
  Bytes smb;
  ByteWriter w(&smb);
  Smb2Header(w, kSmb2Negotiate, true, 0, ids);
  w.U16Le(65);
  w.U16Le(1);
  w.U16Le(0x0311);
  w.U16Le(2);
  w.Append(rng.RandomBytes(16));  // server GUID
  w.U32Le(0x2f);
  w.U32Le(8388608);
  w.U32Le(8388608);
  w.U32Le(8388608);
  w.U64Le(FileTime(now_us));
  w.U64Le(0);
  w.U16Le(128);
  w.U16Le(static_cast<uint32_t>(blob.size()));
  size_t ctx_offset_pos = w.size();
  w.U32Le(0);
  w.Append(blob);
  PadTo8(w, 0);
  w.PatchU32Le(ctx_offset_pos, static_cast<uint32_t>(w.size()));
  w.U16Le(1);
  w.U16Le(38);
  w.U32Le(0);
  w.U16Le(1);
  w.U16Le(32);
  w.U16Le(1);
  w.Append(rng.RandomBytes(32));
  PadTo8(w, 0);
  w.U16Le(2);
  w.U16Le(4);
  w.U32Le(0);
  w.U16Le(1);
  w.U16Le(2);
  return NetBios(smb);
}

Bytes Smb2SessionSetupNegotiate(const SmbIds& ids) {
  Bytes ntlm;
  ByteWriter n(&ntlm);
  n.Append(std::string_view("NTLMSSP\0", 8));
  n.U32Le(1);
  n.U32Le(0xe2088297);
  n.U16Le(0);
  n.U16Le(0);
  n.U32Le(0);
  n.U16Le(0);
  n.U16Le(0);
  n.U32Le(0);
  NtlmVersion(n, 10, 0, 19041);
  return Smb2Message(kSmb2SessionSetup, false, 0, ids, SessionSetupBody(SpnegoInit(ntlm)));
}

Bytes Smb2SessionSetupChallenge(Rng& rng, const SmbIds& ids, int64_t now_us) {
  const std::string target = "KOMMUNE";
  Bytes info = TargetInfo(now_us, true);
  Bytes ntlm;
  ByteWriter n(&ntlm);
  n.Append(std::string_view("NTLMSSP\0", 8));
  n.U32Le(2);
  uint32_t name_len = static_cast<uint32_t>(target.size() * 2);
  n.U16Le(name_len);
  n.U16Le(name_len);
  n.U32Le(56);
  n.U32Le(0xe28a8215);
  n.Append(rng.RandomBytes(8));  // server challenge
  n.Zeros(8);
  n.U16Le(static_cast<uint32_t>(info.size()));
  n.U16Le(static_cast<uint32_t>(info.size()));
  n.U32Le(56 + name_len);
  NtlmVersion(n, 10, 0, 20348);  // Windows Server 2022
  n.Utf16Le(target);
  n.Append(info);
  Bytes blob = SpnegoResponse(1, true, ntlm, {});
  return Smb2Message(kSmb2SessionSetup, true, kStatusMoreProcessing, ids,
                     SessionSetupResponseBody(blob));
}

Bytes Smb2SessionSetupAuthenticate(Rng& rng, const SmbIds& ids, const std::string& user,
                                   const std::string& workstation, int64_t now_us) {
  // NTLMv2 response (MS-NLMP 2.2.2.8): NTProofStr, then the client's blob.
  Bytes nt;
  ByteWriter t(&nt);
  t.Append(rng.RandomBytes(16));
  t.U8(1);
  t.U8(1);
  t.Zeros(6);
  t.U64Le(FileTime(now_us));
  t.Append(rng.RandomBytes(8));
  t.Zeros(4);
  t.Append(TargetInfo(now_us, false));
  t.U16Le(6);  // MsvAvFlags: MIC present
  t.U16Le(4);
  t.U32Le(2);
  t.U32Le(0);  // MsvAvEOL
  t.Zeros(4);
  const std::string domain = "KOMMUNE";
  Bytes ntlm;
  ByteWriter n(&ntlm);
  n.Append(std::string_view("NTLMSSP\0", 8));
  n.U32Le(3);
  uint32_t off = 88;
  auto field = [&](uint32_t len) {
    n.U16Le(len);
    n.U16Le(len);
    n.U32Le(off);
    off += len;
  };
  uint32_t dom_len = static_cast<uint32_t>(domain.size() * 2);
  uint32_t user_len = static_cast<uint32_t>(user.size() * 2);
  uint32_t ws_len = static_cast<uint32_t>(workstation.size() * 2);
  field(24);  // LM response: zeros with NTLMv2 and a MIC
  field(static_cast<uint32_t>(nt.size()));
  field(dom_len);
  field(user_len);
  field(ws_len);
  field(16);
  n.U32Le(0xe2888215);
  NtlmVersion(n, 10, 0, 19041);
  n.Append(rng.RandomBytes(16));  // MIC
  n.Zeros(24);
  n.Append(nt);
  n.Utf16Le(domain);
  n.Utf16Le(user);
  n.Utf16Le(workstation);
  n.Append(rng.RandomBytes(16));
  Bytes blob = SpnegoResponse(-1, false, ntlm, NtlmVerifier(rng, 0));
  return Smb2Message(kSmb2SessionSetup, false, 0, ids, SessionSetupBody(blob));
}

Bytes Smb2SessionSetupDone(Rng& rng, const SmbIds& ids) {
  Bytes blob = SpnegoResponse(0, false, {}, NtlmVerifier(rng, 0));
  return Smb2Message(kSmb2SessionSetup, true, 0, ids, SessionSetupResponseBody(blob),
                     rng.RandomBytes(16));
}

Bytes Smb2TreeConnect(Rng& rng, const SmbIds& ids, const std::string& unc) {
  Bytes body;
  ByteWriter w(&body);
  w.U16Le(9);
  w.U16Le(0);
  w.U16Le(64 + 8);
  w.U16Le(static_cast<uint32_t>(unc.size() * 2));
  w.Utf16Le(unc);
  return Smb2Message(kSmb2TreeConnect, false, 0, ids, body, rng.RandomBytes(16));
}

Bytes Smb2TreeConnectResponse(Rng& rng, const SmbIds& ids) {
  Bytes body;
  ByteWriter w(&body);
  w.U16Le(16);
  w.U8(1);  // disk share
  w.U8(0);
  w.U32Le(0x00000800);  // SMB2_SHAREFLAG_ACCESS_BASED_DIRECTORY_ENUM
  w.U32Le(0);
  w.U32Le(0x001f01ff);
  return Smb2Message(kSmb2TreeConnect, true, 0, ids, body, rng.RandomBytes(16));
}

Bytes Smb1Negotiate(uint16_t pid, uint16_t mid) {
  Bytes smb;
  ByteWriter w(&smb);
  w.Append(Bytes{0xff, 'S', 'M', 'B'});
  w.U8(0x72);
  w.U32Le(0);
  w.U8(0x18);
  w.U16Le(0xc001);
  w.U16Le(0);
  w.Zeros(8);
  w.U16Le(0);
  w.U16Le(0xffff);
  w.U16Le(pid);
  w.U16Le(0);
  w.U16Le(mid);
  w.U8(0);  // word count
  Bytes dialects;
  for (const char* d : {"PC NETWORK PROGRAM 1.0", "LANMAN1.0", "LM1.2X002", "LANMAN2.1",
                        "NT LM 0.12"}) {
    dialects.push_back(2);
    dialects.insert(dialects.end(), d, d + std::char_traits<char>::length(d) + 1);
  }
  w.U16Le(static_cast<uint32_t>(dialects.size()));
  w.Append(dialects);
  return NetBios(smb);
}

// ================================================================ small protocols

Bytes NtpPacket(Rng& rng, bool server, int64_t now_us, int64_t origin_us) {
  auto ntp_time = [](int64_t us) {
    uint64_t sec = static_cast<uint64_t>(us / 1000000) + 2208988800ULL;
    uint64_t frac = (static_cast<uint64_t>(us % 1000000) << 32) / 1000000;
    return (sec << 32) | frac;
  };
  Bytes p;
  ByteWriter w(&p);
  if (!server) {
    w.U8(0xdb);  // LI 3 (unsynchronised), version 3, mode 3: as Windows' w32time sends it
    w.U8(0);
    w.U8(10);
    w.U8(0xe9);
    w.U32(0);
    w.U32(0x00010000);
    w.U32(0);
    w.U64(0);
    w.U64(0);
    w.U64(0);
    w.U64(ntp_time(now_us));
  } else {
    w.U8(0x1c);  // LI 0, version 3, mode 4
    w.U8(3);
    w.U8(10);
    w.U8(0xe8);
    w.U32(static_cast<uint32_t>(rng.Range(0x0100, 0x0400)));
    w.U32(static_cast<uint32_t>(rng.Range(0x0200, 0x1000)));
    w.U32(MakeIp(10, 30, 0, 1));
    w.U64(ntp_time(now_us - rng.Range(10000000, 60000000)));
    w.U64(ntp_time(origin_us));
    w.U64(ntp_time(now_us - 40));
    w.U64(ntp_time(now_us));
  }
  return p;
}

Bytes EncodeOid(const std::vector<uint32_t>& oid) {
  Bytes out;
  out.push_back(static_cast<uint8_t>(oid[0] * 40 + oid[1]));
  for (size_t i = 2; i < oid.size(); ++i) {
    uint32_t v = oid[i];
    Bytes tmp;
    tmp.insert(tmp.begin(), static_cast<uint8_t>(v & 0x7f));
    while ((v >>= 7) != 0) {
      tmp.insert(tmp.begin(), static_cast<uint8_t>(0x80 | (v & 0x7f)));
    }
    out.insert(out.end(), tmp.begin(), tmp.end());
  }
  return out;
}

Bytes SnmpGet(uint32_t request_id, const std::string& community,
              const std::vector<std::vector<uint32_t>>& oids) {
  Bytes varbinds;
  for (const auto& oid : oids) {
    Bytes vb = Der(0x30, Cat({Der(0x06, EncodeOid(oid)), Bytes{0x05, 0x00}}));
    varbinds.insert(varbinds.end(), vb.begin(), vb.end());
  }
  return SnmpMessage(0xa0, request_id, community, varbinds);
}

Bytes SnmpResponse(uint32_t request_id, const std::string& community,
                   const std::vector<SnmpValue>& values) {
  Bytes varbinds;
  for (const auto& v : values) {
    Bytes vb = Der(0x30, Cat({Der(0x06, EncodeOid(v.oid)), Der(v.tag, v.value)}));
    varbinds.insert(varbinds.end(), vb.begin(), vb.end());
  }
  return SnmpMessage(0xa2, request_id, community, varbinds);
}

Bytes RdpConnectionRequest(const std::string& cookie_user) {
  std::string cookie = "Cookie: mstshash=" + cookie_user + "\r\n";
  Bytes x224;
  ByteWriter x(&x224);
  x.U8(static_cast<uint32_t>(6 + cookie.size() + 8));  // length indicator
  x.U8(0xe0);                                           // connection request
  x.U16(0);
  x.U16(0);
  x.U8(0);
  x.Append(cookie);
  x.Append(Bytes{1, 0, 8, 0, 0x0b, 0, 0, 0});  // RDP_NEG_REQ: TLS | CredSSP | CredSSP-EX
  Bytes out;
  ByteWriter w(&out);
  w.U8(3);
  w.U8(0);
  w.U16(static_cast<uint32_t>(4 + x224.size()));
  w.Append(x224);
  return out;
}

Bytes RdpConnectionConfirm() {
  return {3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0x1f, 8, 0, 2, 0, 0, 0};
}

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// ================================================================ time

std::string HttpDate(int64_t us) {
  struct tm t = UtcTm(us);
  char buf[64];
  strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &t);
  return buf;
}

std::string Rfc3164Time(int64_t us, int tz_hours) {
  struct tm t = UtcTm(us + int64_t{tz_hours} * 3600 * 1000000);
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s %2d %02d:%02d:%02d", kMonths[t.tm_mon], t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec);
  return buf;
}

std::string Rfc5424Time(int64_t us) {
  struct tm t = UtcTm(us);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<int>(us % 1000000));
  return buf;
}

std::string LocalDate(int64_t us, int tz_hours) {
  struct tm t = UtcTm(us + int64_t{tz_hours} * 3600 * 1000000);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday);
  return buf;
}

std::string LocalTime(int64_t us, int tz_hours) {
  struct tm t = UtcTm(us + int64_t{tz_hours} * 3600 * 1000000);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d", t.tm_hour, t.tm_min, t.tm_sec);
  return buf;
}

}  // namespace gen_capture
