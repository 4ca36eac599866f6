// Windows-network protocols: SMB1 ([MS-CIFS]), SMB2/3 ([MS-SMB2]), NTLMSSP ([MS-NLMP]),
// DCE-RPC framing (The Open Group C706 chapter 12), Kerberos (RFC 4120), RDP X.224 and client core
// data ([MS-RDPBCGR] 2.2.1), and the PostgreSQL backend's ParameterStatus (PostgreSQL docs,
// "Frontend/Backend Protocol: Message Formats"). Hostile input: every length is checked against
// the span; nothing is read past it.
#include <algorithm>
#include <cstring>

#include "extract/parsers.h"

namespace sensor::extract {
namespace {

uint16_t Le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t Le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

constexpr uint8_t kNtlmSignature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

// A NUL-terminated OEM string at `pos`, cleaned; advances `pos` past the NUL (or to the end).
std::string OemString(Bytes data, size_t* pos, size_t max = 256) {
  size_t start = std::min(*pos, data.size());
  size_t end = start;
  while (end < data.size() && data[end] != 0) ++end;
  *pos = end + 1;
  return CleanText(AsText(data.subspan(start, end - start)), max);
}

// A NUL-terminated UTF-16LE string at `pos`; advances `pos` past the terminator.
std::string Utf16String(Bytes data, size_t* pos, size_t max = 256) {
  size_t start = std::min(*pos, data.size());
  size_t end = start;
  while (end + 1 < data.size() && (data[end] != 0 || data[end + 1] != 0)) end += 2;
  *pos = end + 2;
  return Utf16LeToText(data.subspan(start, std::min(end, data.size()) - start), max);
}

}  // namespace

std::optional<TlvHeader> ReadTlvHeader(Bytes b) {
  if (b.size() < 2 || (b[0] & 0x1f) == 0x1f) return std::nullopt;
  TlvHeader h{b[0], 2, b[1]};
  if (h.length & 0x80) {
    size_t n = h.length & 0x7f;
    if (n == 0 || n > 4 || b.size() < 2 + n) return std::nullopt;  // indefinite or too long
    h.length = 0;
    for (size_t i = 0; i < n; ++i) h.length = (h.length << 8) | b[2 + i];
    h.size += n;
  }
  return h;
}

std::optional<Tlv> ReadTlv(Bytes* in) {
  Bytes b = *in;
  auto h = ReadTlvHeader(b);
  if (!h || h->length > b.size() - h->size) return std::nullopt;
  Tlv t{h->tag, b.subspan(h->size, h->length)};
  *in = b.subspan(h->size + h->length);
  return t;
}

std::string Utf16LeToText(Bytes in, size_t max) {
  std::string out;
  for (size_t i = 0; i + 1 < in.size() && out.size() < max; i += 2) {
    uint16_t c = Le16(&in[i]);
    if (c == 0) break;
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// ---- SMB.

std::optional<size_t> NbssMessageLength(Bytes stream) {
  if (stream.size() < 4) return 0;
  uint8_t type = stream[0];
  // 0x00 session message, 0x81 request, 0x82 positive / 0x83 negative response, 0x85 keepalive.
  if (type != 0x00 && type != 0x81 && type != 0x82 && type != 0x83 && type != 0x85) {
    return std::nullopt;
  }
  if (stream[1] & 0xfe) return std::nullopt;  // RFC 1002: 7 reserved bits, then the length's 17th
  size_t length = (size_t{stream[1] & 1u} << 16) | (size_t{stream[2]} << 8) | stream[3];
  if (stream.size() < 4 + length) return 0;
  return 4 + length;
}

bool LooksLikeSmb(Bytes s) {
  if (s.size() < 8) return false;
  if (s[0] == 0x81 && s[1] == 0 && s[2] == 0 && s[3] == 68) return true;  // two encoded names
  if (s[0] == 0x82 && s[1] == 0 && s[2] == 0 && s[3] == 0) return true;
  return s[0] == 0 && (s[4] == 0xff || s[4] == 0xfe) && s[5] == 'S' && s[6] == 'M' && s[7] == 'B';
}

std::optional<SmbMessage> ParseSmb(Bytes body) {
  SmbMessage m;
  if (body.size() >= 64 && body[0] == 0xfe && body[1] == 'S' && body[2] == 'M' && body[3] == 'B') {
    m.version = 2;
    m.command = Le16(&body[12]);
    m.response = (Le32(&body[16]) & 1) != 0;  // SMB2_FLAGS_SERVER_TO_REDIR
    if (m.command == 0 && m.response && body.size() >= 64 + 6) {
      m.dialect_revision = Le16(&body[64 + 4]);  // StructureSize, SecurityMode, DialectRevision
    }
    return m;
  }
  if (body.size() < 35 || body[0] != 0xff || body[1] != 'S' || body[2] != 'M' || body[3] != 'B') {
    return std::nullopt;
  }
  m.version = 1;
  m.command = body[4];
  m.response = (body[9] & 0x80) != 0;            // SMB_FLAGS_REPLY
  bool unicode = (Le16(&body[10]) & 0x8000) != 0;  // SMB_FLAGS2_UNICODE
  size_t wc = body[32];
  size_t words = 33, bc_at = 33 + 2 * wc;
  if (bc_at + 2 > body.size()) return m;
  size_t bc = Le16(&body[bc_at]);
  size_t bytes_at = bc_at + 2;
  Bytes bytes = body.subspan(bytes_at, std::min(bc, body.size() - bytes_at));
  if (m.command == 0x72) {  // SMB_COM_NEGOTIATE
    if (!m.response) {
      for (size_t p = 0; p < bytes.size() && m.dialects.size() < 16;) {
        if (bytes[p] != 0x02) break;  // buffer format: dialect
        ++p;
        m.dialects.push_back(OemString(bytes, &p, 64));
      }
    } else if (wc >= 1) {
      uint16_t index = Le16(&body[words]);
      if (index != 0xffff) m.dialect_index = index;
    }
  } else if (m.command == 0x73 && !m.response && (wc == 12 || wc == 13)) {
    // SMB_COM_SESSION_SETUP_ANDX request ([MS-CIFS] 2.2.4.53.1, [MS-SMB] 2.2.4.6.1): the
    // client's NativeOS / NativeLanMan. wc 12: SecurityBlobLength (word 7), blob, strings;
    // wc 13: OEM and Unicode password lengths (words 7, 8), passwords, AccountName,
    // PrimaryDomain, then the strings. The account name is a user name: skipped, not kept.
    size_t p = 0;
    if (wc == 12) {
      p = Le16(&body[words + 14]);
    } else {
      p = size_t{Le16(&body[words + 14])} + Le16(&body[words + 16]);
    }
    if (unicode && ((bytes_at + p) & 1)) ++p;
    if (p >= bytes.size()) return m;
    auto next = [&]() { return unicode ? Utf16String(bytes, &p) : OemString(bytes, &p); };
    if (wc == 13) {
      (void)next();  // AccountName
      (void)next();  // PrimaryDomain
    }
    m.native_os = next();
    m.native_lanman = next();
  } else if (m.command == 0x73 && m.response && (wc == 3 || wc == 4)) {
    // SMB_COM_SESSION_SETUP_ANDX response: [SecurityBlob] [Pad] NativeOS NativeLanMan.
    size_t p = 0;
    if (wc == 4) p = Le16(&body[words + 6]);  // SecurityBlobLength
    if (unicode && ((bytes_at + p) & 1)) ++p;  // strings are 2-aligned to the header
    if (p >= bytes.size()) return m;
    if (unicode) {
      m.native_os = Utf16String(bytes, &p);
      m.native_lanman = Utf16String(bytes, &p);
    } else {
      m.native_os = OemString(bytes, &p);
      m.native_lanman = OemString(bytes, &p);
    }
  }
  return m;
}

std::string Smb2DialectName(uint16_t revision) {
  switch (revision) {
    case 0x0202: return "2.0.2";
    case 0x0210: return "2.1";
    case 0x0300: return "3.0";
    case 0x0302: return "3.0.2";
    case 0x0311: return "3.1.1";
    default: return {};
  }
}

// ---- NTLMSSP.

std::optional<NtlmMessage> ParseNtlm(Bytes msg) {
  if (msg.size() < 12 || std::memcmp(msg.data(), kNtlmSignature, 8) != 0) return std::nullopt;
  NtlmMessage m;
  m.type = Le32(&msg[8]);
  // A security buffer (Len, MaxLen, Offset) at `at`; empty when out of bounds.
  auto field = [&](size_t at) -> Bytes {
    if (at + 8 > msg.size()) return {};
    size_t len = Le16(&msg[at]);
    size_t offset = Le32(&msg[at + 4]);
    if (offset > msg.size() || len > msg.size() - offset) return {};
    return msg.subspan(offset, len);
  };
  auto version = [&](size_t at, uint32_t flags) {
    // NTLMSSP_NEGOTIATE_VERSION (0x02000000): ProductMajor, ProductMinor, ProductBuild (LE16).
    if ((flags & 0x02000000u) == 0 || at + 8 > msg.size()) return;
    if (msg[at] == 0 || msg[at] > 20) return;
    m.version = std::to_string(msg[at]) + "." + std::to_string(msg[at + 1]) + "." +
                std::to_string(Le16(&msg[at + 2]));
  };
  auto text = [](Bytes b, bool unicode) {
    return unicode ? Utf16LeToText(b) : CleanText(AsText(b), 256);
  };
  switch (m.type) {
    case 1: {  // NEGOTIATE: flags@12 DomainNameFields@16 WorkstationFields@24 Version@32
      if (msg.size() < 16) return std::nullopt;
      uint32_t flags = Le32(&msg[12]);
      m.domain = text(field(16), false);  // OEM by definition
      m.workstation = text(field(24), false);
      version(32, flags);
      return m;
    }
    case 2: {  // CHALLENGE: TargetName@12 flags@20 challenge@24 TargetInfo@40 Version@48
      if (msg.size() < 48) return std::nullopt;
      uint32_t flags = Le32(&msg[20]);
      version(48, flags);
      Bytes info = field(40);
      for (size_t p = 0; p + 4 <= info.size();) {
        uint16_t id = Le16(&info[p]);
        size_t len = Le16(&info[p + 2]);
        if (id == 0 || p + 4 + len > info.size()) break;  // MsvAvEOL
        Bytes v = info.subspan(p + 4, len);
        switch (id) {
          case 1: m.nb_computer = Utf16LeToText(v); break;
          case 2: m.nb_domain = Utf16LeToText(v); break;
          case 3: m.dns_computer = Utf16LeToText(v); break;
          case 4: m.dns_domain = Utf16LeToText(v); break;
          case 5: m.dns_tree = Utf16LeToText(v); break;
          default: break;
        }
        p += 4 + len;
      }
      return m;
    }
    case 3: {  // AUTHENTICATE: Domain@28 User@36 Workstation@44 flags@60 Version@64
      if (msg.size() < 64) return std::nullopt;
      uint32_t flags = Le32(&msg[60]);
      bool unicode = (flags & 1) != 0;  // NTLMSSP_NEGOTIATE_UNICODE
      m.domain = text(field(28), unicode);
      m.user = text(field(36), unicode);
      m.workstation = text(field(44), unicode);
      // The VERSION field is there only when the payload does not start at 64.
      if (Le32(&msg[32]) >= 72 || Le32(&msg[40]) >= 72) version(64, flags);
      return m;
    }
    default:
      return std::nullopt;
  }
}

std::optional<NtlmMessage> FindNtlm(Bytes data) {
  const uint8_t* end = data.data() + data.size();
  for (const uint8_t* p = data.data(); p + 12 <= end;) {
    p = static_cast<const uint8_t*>(std::memchr(p, 'N', static_cast<size_t>(end - p)));
    if (p == nullptr || p + 12 > end) break;
    if (std::memcmp(p, kNtlmSignature, 8) == 0) {
      return ParseNtlm(Bytes(p, static_cast<size_t>(end - p)));
    }
    ++p;
  }
  return std::nullopt;
}

std::optional<std::string> Base64Decode(std::string_view text, size_t max) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') break;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
      if (out.size() > max) return std::nullopt;
    }
  }
  return out;
}

std::optional<NtlmMessage> FindHttpNtlm(std::string_view head) {
  // RFC 4559 (Negotiate) and [MS-NTHT] 2.2: "NTLM <base64>" or "Negotiate <base64 of NTLMSSP>".
  for (std::string_view scheme : {"NTLM ", "Negotiate TlRMTVNTU"}) {
    size_t at = head.find(scheme);
    if (at == std::string_view::npos) continue;
    at += scheme == "NTLM " ? 5 : 10;
    size_t end = head.find_first_of("\r\n ,", at);
    std::string_view token = head.substr(at, end == std::string_view::npos ? head.size() - at
                                                                            : end - at);
    if (token.size() < 16) continue;
    auto raw = Base64Decode(token);
    if (!raw) continue;
    return ParseNtlm(Bytes(reinterpret_cast<const uint8_t*>(raw->data()), raw->size()));
  }
  return std::nullopt;
}

// ---- DCE-RPC.

std::optional<size_t> DceRpcPduLength(Bytes s, bool first) {
  // A connection starts with bind (11) / alter_context (14) or their answers (12, 13, 15), with
  // PFC_FIRST_FRAG set; checked on as many bytes as there are (SOCKS5 also starts with 05).
  if ((!s.empty() && s[0] != 5) || (s.size() >= 2 && s[1] > 1)) return std::nullopt;
  if (first && s.size() >= 3 && !(s[2] >= 11 && s[2] <= 15)) return std::nullopt;
  if (first && s.size() >= 4 && (s[3] & 0x01) == 0) return std::nullopt;
  if (s.size() < 16) return 0;
  uint8_t ptype = s[2];
  if (ptype > 20) return std::nullopt;
  bool little = (s[4] & 0x10) != 0;
  size_t frag = little ? Le16(&s[8]) : static_cast<size_t>((s[8] << 8) | s[9]);
  if (frag < 16) return std::nullopt;
  if (s.size() < frag) return 0;
  return frag;
}

// ---- Kerberos.

namespace {

// GeneralString / KerberosString inside a [n] context tag.
std::string KerberosString(Bytes v) {
  Bytes in = v;
  auto t = ReadTlv(&in);
  if (!t || t->tag != 0x1b) return {};
  return CleanText(AsText(t->value), 255);
}

// PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF KerberosString }
std::vector<std::string> PrincipalName(Bytes v) {
  std::vector<std::string> out;
  Bytes in = v;
  auto seq = ReadTlv(&in);
  if (!seq || seq->tag != 0x30) return out;
  Bytes fields = seq->value;
  while (auto f = ReadTlv(&fields)) {
    if (f->tag != 0xa1) continue;
    Bytes inner = f->value;
    auto list = ReadTlv(&inner);
    if (!list || list->tag != 0x30) break;
    Bytes items = list->value;
    while (out.size() < 4) {
      auto s = ReadTlv(&items);
      if (!s) break;
      if (s->tag == 0x1b) out.push_back(CleanText(AsText(s->value), 255));
    }
  }
  return out;
}

}  // namespace

std::optional<KerberosMessage> ParseKerberos(Bytes message) {
  Bytes in = message;
  auto app = ReadTlv(&in);
  if (!app) return std::nullopt;
  KerberosMessage m;
  // [APPLICATION 10..13], constructed: 0x6a AS-REQ, 0x6b AS-REP, 0x6c TGS-REQ, 0x6d TGS-REP.
  if (app->tag < 0x6a || app->tag > 0x6d) return std::nullopt;
  m.msg_type = static_cast<uint8_t>(app->tag - 0x60);
  Bytes body = app->value;
  auto seq = ReadTlv(&body);
  if (!seq || seq->tag != 0x30) return std::nullopt;
  Bytes fields = seq->value;
  bool request = m.msg_type == 10 || m.msg_type == 12;
  bool pvno = false;
  while (auto f = ReadTlv(&fields)) {
    if (f->tag == (request ? 0xa1 : 0xa0)) pvno = true;  // KDC-REQ pvno [1], KDC-REP pvno [0]
    if (request && f->tag == 0xa4) {
      // KDC-REQ-BODY ::= SEQUENCE { kdc-options [0], cname [1], realm [2], sname [3], ... }
      Bytes b = f->value;
      auto req = ReadTlv(&b);
      if (!req || req->tag != 0x30) return std::nullopt;
      Bytes items = req->value;
      while (auto i = ReadTlv(&items)) {
        if (i->tag == 0xa1) m.cname = PrincipalName(i->value);
        if (i->tag == 0xa2) m.realm = KerberosString(i->value);
        if (i->tag == 0xa3) m.sname = PrincipalName(i->value);
      }
    } else if (!request) {
      // KDC-REP ::= SEQUENCE { pvno [0], msg-type [1], padata [2], crealm [3], cname [4], ... }
      if (f->tag == 0xa3) m.realm = KerberosString(f->value);
      if (f->tag == 0xa4) m.cname = PrincipalName(f->value);
    }
  }
  if (!pvno || m.realm.empty()) return std::nullopt;
  return m;
}

// ---- PostgreSQL.

bool LooksLikePostgresServer(Bytes s) {
  // After the startup message the backend answers 'R' AuthenticationXXX (length 8..) or, to an
  // SSLRequest, a single 'S'/'N' (which we do not follow).
  return s.size() >= 9 && s[0] == 'R' && s[1] == 0 && s[2] == 0 && Be32(&s[1]) >= 8 &&
         Be32(&s[1]) < 2048;
}

std::optional<std::string> PostgresServerVersion(Bytes s) {
  for (size_t p = 0; p + 5 <= s.size();) {
    uint8_t type = s[p];
    size_t len = Be32(&s[p + 1]);
    if (len < 4 || len > 65536) return std::nullopt;
    if (p + 1 + len > s.size()) return std::nullopt;  // incomplete
    if (type == 'S') {  // ParameterStatus: name NUL value NUL
      Bytes v = s.subspan(p + 5, len - 4);
      std::string_view text = AsText(v);
      size_t nul = text.find('\0');
      if (nul != std::string_view::npos && text.substr(0, nul) == "server_version") {
        std::string_view value = text.substr(nul + 1);
        value = value.substr(0, value.find('\0'));
        return CleanText(value, 128);
      }
    } else if (type == 'Z' || type == 'E') {
      return std::string();  // ReadyForQuery or an error: no version will come
    }
    p += 1 + len;
  }
  return std::nullopt;
}

// ---- RDP.

std::optional<size_t> TpktLength(Bytes s) {
  if (s.size() < 4) return s.empty() || s[0] == 3 ? std::optional<size_t>(0) : std::nullopt;
  if (s[0] != 3 || s[1] != 0) return std::nullopt;
  size_t len = (size_t{s[2]} << 8) | s[3];
  if (len < 7) return std::nullopt;
  if (s.size() < len) return 0;
  return len;
}

std::optional<RdpConnection> ParseRdpConnection(Bytes tpkt) {
  // TPKT(4) X.224: LI(1) code(1) dst-ref(2) src-ref(2) class(1) [cookie CRLF] [RDP_NEG_*]
  if (tpkt.size() < 11 || tpkt[0] != 3) return std::nullopt;
  size_t li = tpkt[4];
  uint8_t code = tpkt[5] & 0xf0;
  if (code != 0xe0 && code != 0xd0) return std::nullopt;  // CR / CC
  if (5 + li > tpkt.size() || li < 6) return std::nullopt;
  RdpConnection c;
  c.request = code == 0xe0;
  Bytes var = tpkt.subspan(11, 5 + li - 11);
  std::string_view text = AsText(var);
  if (c.request && text.substr(0, 8) == "Cookie: ") {
    size_t crlf = text.find("\r\n");
    if (crlf == std::string_view::npos) return std::nullopt;
    std::string_view cookie = text.substr(8, crlf - 8);
    if (cookie.substr(0, 9) == "mstshash=") cookie.remove_prefix(9);
    c.cookie = CleanText(cookie, 64);
    var = var.subspan(crlf + 2);
  } else if (c.request && text.substr(0, 2) != "\x01\x00" && text.find("\r\n") != text.npos) {
    var = var.subspan(text.find("\r\n") + 2);  // a routing token
  }
  // RDP_NEG_REQ (1) / RDP_NEG_RSP (2) / RDP_NEG_FAILURE (3): type, flags, length 8, value.
  if (var.size() >= 8 && Le16(&var[2]) == 8) {
    if (var[0] == 3) {
      c.failure = true;
    } else if (var[0] == 1 || var[0] == 2) {
      c.protocols = Le32(&var[4]);
    }
  } else if (!c.request) {
    c.protocols = 0;  // no negotiation: standard RDP security
  }
  return c;
}

std::optional<RdpClientCore> FindRdpClientCore(Bytes data) {
  // TS_UD_HEADER type CS_CORE (0xC001), length >= 132 up to clientName; version 0x0008000x.
  for (size_t p = 0; p + 8 + 24 + 32 <= data.size(); ++p) {
    if (data[p] != 0x01 || data[p + 1] != 0xc0) continue;
    size_t len = Le16(&data[p + 2]);
    uint32_t version = Le32(&data[p + 4]);
    if (len < 8 + 16 + 32 || len > data.size() - p || (version >> 16) != 0x0008) continue;
    RdpClientCore core;
    core.version = version;
    // version(4) width(2) height(2) colorDepth(2) SASSequence(2) keyboardLayout(4) build(4)
    core.build = Le32(&data[p + 4 + 16]);
    core.client_name = Utf16LeToText(data.subspan(p + 4 + 20, 32), 15);
    return core;
  }
  return std::nullopt;
}

std::string RdpProtocolName(uint32_t selected) {
  // [MS-RDPBCGR] 2.2.1.2.1: PROTOCOL_RDP 0, PROTOCOL_SSL 1, PROTOCOL_HYBRID 2, PROTOCOL_RDSTLS 4,
  // PROTOCOL_HYBRID_EX 8, PROTOCOL_RDSAAD 0x10.
  switch (selected) {
    case 0: return "RDP";
    case 1: return "TLS";
    case 2: return "CredSSP";
    case 4: return "RDSTLS";
    case 8: return "CredSSP-EX";
    case 16: return "RDSAAD";
    default: return "unknown";
  }
}

}  // namespace sensor::extract
