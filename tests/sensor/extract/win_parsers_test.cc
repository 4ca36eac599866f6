// The issue-3 parsers (win_parsers.cc, net_parsers.cc) on bytes built here: SMB1/SMB2, NTLMSSP,
// DCE-RPC framing, Kerberos, PostgreSQL, RDP, SNMP, NTP, LLDP and CDP; and every prefix and
// byte-flip of each message, which must never read out of bounds (the ASan build checks).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "extract/parsers.h"

namespace sensor::extract {
namespace {

using Buf = std::vector<uint8_t>;

Bytes B(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

void Le16(Buf* v, uint16_t x) {
  v->push_back(static_cast<uint8_t>(x));
  v->push_back(static_cast<uint8_t>(x >> 8));
}
void Le32(Buf* v, uint32_t x) {
  Le16(v, static_cast<uint16_t>(x));
  Le16(v, static_cast<uint16_t>(x >> 16));
}
void Be16(Buf* v, uint16_t x) {
  v->push_back(static_cast<uint8_t>(x >> 8));
  v->push_back(static_cast<uint8_t>(x));
}
void Be32(Buf* v, uint32_t x) {
  Be16(v, static_cast<uint16_t>(x >> 16));
  Be16(v, static_cast<uint16_t>(x));
}
void Text(Buf* v, const std::string& s) { v->insert(v->end(), s.begin(), s.end()); }
Buf Utf16(const std::string& s) {
  Buf v;
  for (char c : s) Le16(&v, static_cast<uint8_t>(c));
  return v;
}
// DER TLV with short or long length.
Buf Tlv(uint8_t tag, const Buf& value) {
  Buf v{tag};
  if (value.size() < 128) {
    v.push_back(static_cast<uint8_t>(value.size()));
  } else {
    v.push_back(0x82);
    Be16(&v, static_cast<uint16_t>(value.size()));
  }
  v.insert(v.end(), value.begin(), value.end());
  return v;
}
Buf Str(uint8_t tag, const std::string& s) { return Tlv(tag, Buf(s.begin(), s.end())); }
Buf Cat(std::initializer_list<Buf> parts) {
  Buf v;
  for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

// Every prefix and every single-byte corruption must parse or fail, never crash.
template <typename Fn>
void Hostile(const Buf& good, Fn&& parse) {
  for (size_t n = 0; n <= good.size(); ++n) {
    Buf prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    parse(Bytes(prefix));
  }
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t x : {0x00, 0xff, 0x80, 0x7f}) {
      Buf bad = good;
      bad[i] = x;
      parse(Bytes(bad));
    }
  }
}

// ---- NTLMSSP.

Buf NtlmChallenge() {
  Buf info;
  auto av = [&](uint16_t id, const std::string& s) {
    Buf u = Utf16(s);
    Le16(&info, id);
    Le16(&info, static_cast<uint16_t>(u.size()));
    info.insert(info.end(), u.begin(), u.end());
  };
  av(2, "EXAMPLE");
  av(1, "FS01");
  av(4, "example.local");
  av(3, "fs01.example.local");
  av(5, "example.local");
  Le16(&info, 0);
  Le16(&info, 0);
  Buf target = Utf16("EXAMPLE");
  Buf m;
  Text(&m, std::string("NTLMSSP\0", 8));
  Le32(&m, 2);
  Le16(&m, static_cast<uint16_t>(target.size()));
  Le16(&m, static_cast<uint16_t>(target.size()));
  Le32(&m, 56);
  Le32(&m, 0x02000000u | 0x00800000u | 1u);  // VERSION, TARGET_INFO, UNICODE
  for (int i = 0; i < 16; ++i) m.push_back(0x11);  // challenge, reserved
  Le16(&m, static_cast<uint16_t>(info.size()));
  Le16(&m, static_cast<uint16_t>(info.size()));
  Le32(&m, static_cast<uint32_t>(56 + target.size()));
  m.insert(m.end(), {10, 0});  // 10.0
  Le16(&m, 20348);
  m.insert(m.end(), {0, 0, 0, 15});
  m.insert(m.end(), target.begin(), target.end());
  m.insert(m.end(), info.begin(), info.end());
  return m;
}

Buf NtlmAuthenticate() {
  Buf domain = Utf16("EXAMPLE"), user = Utf16("alice"), ws = Utf16("WS07");
  Buf m;
  Text(&m, std::string("NTLMSSP\0", 8));
  Le32(&m, 3);
  uint32_t off = 72;
  auto field = [&](size_t len, uint32_t at) {
    Le16(&m, static_cast<uint16_t>(len));
    Le16(&m, static_cast<uint16_t>(len));
    Le32(&m, at);
  };
  field(0, off);                                          // LM
  field(0, off);                                          // NT
  field(domain.size(), off);                              // domain
  field(user.size(), off + static_cast<uint32_t>(domain.size()));
  field(ws.size(), off + static_cast<uint32_t>(domain.size() + user.size()));
  field(0, off);                                          // session key
  Le32(&m, 0x02000000u | 1u);
  m.insert(m.end(), {6, 1});
  Le16(&m, 7601);
  m.insert(m.end(), {0, 0, 0, 15});
  m.insert(m.end(), domain.begin(), domain.end());
  m.insert(m.end(), user.begin(), user.end());
  m.insert(m.end(), ws.begin(), ws.end());
  return m;
}

TEST(WinParsersTest, NtlmChallengeTargetInfoAndVersion) {
  Buf m = NtlmChallenge();
  Buf wrapped = Cat({Buf{1, 2, 3, 'N', 'T'}, m});  // FindNtlm skips what comes before
  auto n = FindNtlm(wrapped);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->type, 2u);
  EXPECT_EQ(n->version, "10.0.20348");
  EXPECT_EQ(n->nb_computer, "FS01");
  EXPECT_EQ(n->nb_domain, "EXAMPLE");
  EXPECT_EQ(n->dns_computer, "fs01.example.local");
  EXPECT_EQ(n->dns_domain, "example.local");
  EXPECT_EQ(n->dns_tree, "example.local");
  Hostile(m, [](Bytes b) { (void)ParseNtlm(b); });
}

TEST(WinParsersTest, NtlmAuthenticateWorkstationDomainUser) {
  Buf m = NtlmAuthenticate();
  auto n = ParseNtlm(m);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->type, 3u);
  EXPECT_EQ(n->domain, "EXAMPLE");
  EXPECT_EQ(n->user, "alice");
  EXPECT_EQ(n->workstation, "WS07");
  EXPECT_EQ(n->version, "6.1.7601");
  Hostile(m, [](Bytes b) { (void)ParseNtlm(b); });
}

TEST(WinParsersTest, NtlmInHttpAuthorizationHeader) {
  // "TlRMTVNTUAABAAAA..." is base64 of "NTLMSSP\0" + type 1.
  Buf m;
  Text(&m, std::string("NTLMSSP\0", 8));
  Le32(&m, 1);
  Le32(&m, 0);
  for (int i = 0; i < 16; ++i) m.push_back(0);
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < m.size(); i += 3) {
    uint32_t v = uint32_t{m[i]} << 16 | (i + 1 < m.size() ? m[i + 1] << 8 : 0) |
                 (i + 2 < m.size() ? m[i + 2] : 0);
    b64 += kAlphabet[(v >> 18) & 63];
    b64 += kAlphabet[(v >> 12) & 63];
    b64 += i + 1 < m.size() ? kAlphabet[(v >> 6) & 63] : '=';
    b64 += i + 2 < m.size() ? kAlphabet[v & 63] : '=';
  }
  auto n = FindHttpNtlm("GET / HTTP/1.1\r\nAuthorization: NTLM " + b64 + "\r\n\r\n");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->type, 1u);
  EXPECT_FALSE(FindHttpNtlm("GET / HTTP/1.1\r\nAuthorization: NTLM !!!!!!!!!!!!!!!!!!!!\r\n"));
}

// ---- SMB.

Buf Smb1Header(uint8_t command, bool reply, bool unicode) {
  Buf h{0xff, 'S', 'M', 'B', command, 0, 0, 0, 0};
  h.push_back(reply ? 0x80 : 0x00);
  Le16(&h, unicode ? 0x8000 : 0);
  while (h.size() < 32) h.push_back(0);
  return h;
}
Buf Nbss(const Buf& body) {
  Buf v{0, 0};
  Be16(&v, static_cast<uint16_t>(body.size()));
  v.insert(v.end(), body.begin(), body.end());
  return v;
}

TEST(WinParsersTest, Smb1NegotiateDialectsAndChoice) {
  Buf req = Smb1Header(0x72, false, false);
  req.push_back(0);  // word count
  Buf dialects;
  for (const char* d : {"PC NETWORK PROGRAM 1.0", "LANMAN1.0", "NT LM 0.12"}) {
    dialects.push_back(2);
    Text(&dialects, d);
    dialects.push_back(0);
  }
  Le16(&req, static_cast<uint16_t>(dialects.size()));
  req.insert(req.end(), dialects.begin(), dialects.end());
  Buf stream = Nbss(req);
  EXPECT_TRUE(LooksLikeSmb(stream));
  EXPECT_EQ(NbssMessageLength(stream), stream.size());
  EXPECT_EQ(NbssMessageLength(Bytes(stream).first(10)), 0u);  // incomplete
  auto m = ParseSmb(Bytes(stream).subspan(4));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->version, 1);
  EXPECT_FALSE(m->response);
  ASSERT_EQ(m->dialects.size(), 3u);
  EXPECT_EQ(m->dialects[2], "NT LM 0.12");

  Buf resp = Smb1Header(0x72, true, false);
  resp.push_back(1);
  Le16(&resp, 1);  // LANMAN1.0
  Le16(&resp, 0);
  auto r = ParseSmb(resp);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->response);
  EXPECT_EQ(r->dialect_index, 1);
  Hostile(req, [](Bytes b) { (void)ParseSmb(b); });
}

TEST(WinParsersTest, Smb1SessionSetupNativeOsUnicode) {
  Buf resp = Smb1Header(0x73, true, true);
  resp.push_back(3);  // no extended security
  for (int i = 0; i < 6; ++i) resp.push_back(0);
  Buf bytes{0};  // pad: the strings are 2-aligned (header 32 + 1 + 6 + 2 = 41)
  Buf os = Utf16("Windows Server 2003 3790 Service Pack 2"), lm = Utf16("Windows Server 2003 5.2");
  bytes.insert(bytes.end(), os.begin(), os.end());
  Le16(&bytes, 0);
  bytes.insert(bytes.end(), lm.begin(), lm.end());
  Le16(&bytes, 0);
  Le16(&resp, static_cast<uint16_t>(bytes.size()));
  resp.insert(resp.end(), bytes.begin(), bytes.end());
  auto m = ParseSmb(resp);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->native_os, "Windows Server 2003 3790 Service Pack 2");
  EXPECT_EQ(m->native_lanman, "Windows Server 2003 5.2");
  Hostile(resp, [](Bytes b) { (void)ParseSmb(b); });
}

TEST(WinParsersTest, Smb1SessionSetupRequestClientNativeOsWithoutAccount) {
  Buf req = Smb1Header(0x73, false, false);
  req.push_back(13);
  Buf words(26, 0);
  words[14] = 3;  // OEMPasswordLength
  words[16] = 0;  // UnicodePasswordLength
  req.insert(req.end(), words.begin(), words.end());
  Buf bytes{'p', 'w', 0};
  for (const char* s : {"alice", "WORKGROUP", "Windows 2000 2195", "Windows 2000 5.0"}) {
    Text(&bytes, s);
    bytes.push_back(0);
  }
  Le16(&req, static_cast<uint16_t>(bytes.size()));
  req.insert(req.end(), bytes.begin(), bytes.end());
  auto m = ParseSmb(req);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->response);
  EXPECT_EQ(m->native_os, "Windows 2000 2195");
  EXPECT_EQ(m->native_lanman, "Windows 2000 5.0");
  Hostile(req, [](Bytes b) { (void)ParseSmb(b); });
}

TEST(WinParsersTest, Smb2NegotiateDialectRevision) {
  Buf h{0xfe, 'S', 'M', 'B'};
  Le16(&h, 64);
  while (h.size() < 12) h.push_back(0);
  Le16(&h, 0);  // NEGOTIATE
  Le16(&h, 0);
  Le32(&h, 1);  // SERVER_TO_REDIR
  while (h.size() < 64) h.push_back(0);
  Le16(&h, 65);
  Le16(&h, 1);
  Le16(&h, 0x0311);
  auto m = ParseSmb(h);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->version, 2);
  EXPECT_EQ(m->dialect_revision, 0x0311);
  EXPECT_EQ(Smb2DialectName(0x0311), "3.1.1");
  EXPECT_EQ(Smb2DialectName(0x0210), "2.1");
  EXPECT_EQ(Smb2DialectName(0x02ff), "");
  EXPECT_FALSE(LooksLikeSmb(B("GET / HTTP/1.1\r\n")));
}

TEST(WinParsersTest, DceRpcPduFraming) {
  Buf pdu{5, 0, 11, 3, 0x10, 0, 0, 0};
  Le16(&pdu, 24);
  Le16(&pdu, 0);
  Le32(&pdu, 1);
  for (int i = 0; i < 8; ++i) pdu.push_back(0);
  EXPECT_EQ(DceRpcPduLength(pdu, true), 24u);
  EXPECT_EQ(DceRpcPduLength(Bytes(pdu).first(20), true), 0u);
  EXPECT_EQ(DceRpcPduLength(Bytes(pdu).first(0), false), 0u);
  pdu[2] = 0;  // a request cannot start a connection
  EXPECT_FALSE(DceRpcPduLength(pdu, true));
  EXPECT_EQ(DceRpcPduLength(pdu, false), 24u);
  EXPECT_FALSE(DceRpcPduLength(B("SSH-2.0-OpenSSH_9.2\r\n"), true));
  Buf socks5{5, 1, 0, 1, 192, 0, 2, 1, 0, 80};  // a SOCKS5 CONNECT is no bind
  EXPECT_FALSE(DceRpcPduLength(socks5, true));
}

// ---- Kerberos.

Buf Principal(int type, std::vector<std::string> parts) {
  Buf names;
  for (const auto& p : parts) {
    Buf s = Str(0x1b, p);
    names.insert(names.end(), s.begin(), s.end());
  }
  return Tlv(0x30, Cat({Tlv(0xa0, Tlv(0x02, {static_cast<uint8_t>(type)})),
                        Tlv(0xa1, Tlv(0x30, names))}));
}

Buf AsReq() {
  Buf body = Tlv(0x30, Cat({Tlv(0xa0, Tlv(0x03, {0, 0x40, 0x81, 0, 0x10})),
                            Tlv(0xa1, Principal(1, {"WS07$"})),
                            Tlv(0xa2, Str(0x1b, "EXAMPLE.LOCAL")),
                            Tlv(0xa3, Principal(2, {"krbtgt", "EXAMPLE.LOCAL"}))}));
  return Tlv(0x6a, Tlv(0x30, Cat({Tlv(0xa1, Tlv(0x02, {5})), Tlv(0xa2, Tlv(0x02, {10})),
                                   Tlv(0xa4, body)})));
}

TEST(WinParsersTest, KerberosAsReqRealmAndNames) {
  Buf m = AsReq();
  auto k = ParseKerberos(m);
  ASSERT_TRUE(k) << "AS-REQ";
  EXPECT_EQ(k->msg_type, 10);
  EXPECT_EQ(k->realm, "EXAMPLE.LOCAL");
  ASSERT_EQ(k->cname.size(), 1u);
  EXPECT_EQ(k->cname[0], "WS07$");
  ASSERT_EQ(k->sname.size(), 2u);
  EXPECT_EQ(k->sname[0], "krbtgt");
  Hostile(m, [](Bytes b) { (void)ParseKerberos(b); });
  EXPECT_FALSE(ParseKerberos(B("\x30\x03\x02\x01\x00")));
}

// ---- PostgreSQL.

TEST(WinParsersTest, PostgresParameterStatusServerVersion) {
  Buf s{'R'};
  Be32(&s, 8);
  Be32(&s, 0);  // AuthenticationOk
  auto param = [&](const std::string& k, const std::string& v) {
    s.push_back('S');
    Be32(&s, static_cast<uint32_t>(4 + k.size() + 1 + v.size() + 1));
    Text(&s, k);
    s.push_back(0);
    Text(&s, v);
    s.push_back(0);
  };
  param("client_encoding", "UTF8");
  EXPECT_TRUE(LooksLikePostgresServer(s));
  EXPECT_FALSE(PostgresServerVersion(s));  // not yet
  param("server_version", "15.5 (Debian 15.5-0+deb12u1)");
  EXPECT_EQ(PostgresServerVersion(s), "15.5 (Debian 15.5-0+deb12u1)");
  Buf ready{'Z', 0, 0, 0, 5, 'I'};
  EXPECT_EQ(PostgresServerVersion(ready), "");  // ReadyForQuery without a version: give up
  Hostile(s, [](Bytes b) { (void)PostgresServerVersion(b); });
}

// ---- RDP.

TEST(WinParsersTest, RdpConnectionRequestConfirmAndClientCore) {
  Buf x224{0, 0xe0, 0, 0, 0, 0, 0};
  Text(&x224, "Cookie: mstshash=alice\r\n");
  x224.insert(x224.end(), {1, 0, 8, 0});
  Le32(&x224, 3);  // TLS | CredSSP
  x224[0] = static_cast<uint8_t>(x224.size() - 1);
  Buf cr{3, 0};
  Be16(&cr, static_cast<uint16_t>(4 + x224.size()));
  cr.insert(cr.end(), x224.begin(), x224.end());
  EXPECT_EQ(TpktLength(cr), cr.size());
  auto c = ParseRdpConnection(cr);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->request);
  EXPECT_EQ(c->cookie, "alice");
  EXPECT_EQ(c->protocols, 3u);
  Hostile(cr, [](Bytes b) { (void)ParseRdpConnection(b); });

  Buf cc{3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0};
  Le32(&cc, 2);
  auto s = ParseRdpConnection(cc);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->request);
  EXPECT_EQ(s->protocols, 2u);
  EXPECT_EQ(RdpProtocolName(2), "CredSSP");

  Buf core{0x01, 0xc0};
  Le16(&core, 4 + 4 + 12 + 4 + 32 + 20);  // the whole block
  Le32(&core, 0x00080004);
  for (int i = 0; i < 12; ++i) core.push_back(0);  // width .. keyboardLayout
  Le32(&core, 7601);
  Buf name = Utf16("FROG-POND");
  name.resize(32, 0);
  core.insert(core.end(), name.begin(), name.end());
  core.resize(core.size() + 20, 0);
  auto k = FindRdpClientCore(Cat({Buf(40, 0x7f), core}));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->build, 7601u);
  EXPECT_EQ(k->client_name, "FROG-POND");
  Hostile(core, [](Bytes b) { (void)FindRdpClientCore(b); });
}

// ---- SNMP.

Buf SnmpResponse() {
  auto oid = [](uint8_t n) { return Tlv(0x06, {0x2b, 6, 1, 2, 1, 1, n, 0}); };
  Buf binds = Cat({Tlv(0x30, Cat({oid(1), Str(0x04, "Linux gw 6.1.0-18-amd64 #1 SMP Debian")})),
                   Tlv(0x30, Cat({oid(2), Tlv(0x06, {0x2b, 6, 1, 4, 1, 0x88, 0x6d, 3})})),
                   Tlv(0x30, Cat({oid(5), Str(0x04, "gw.example.local")}))});
  Buf pdu = Tlv(0xa2, Cat({Tlv(0x02, {0x12}), Tlv(0x02, {0}), Tlv(0x02, {0}), Tlv(0x30, binds)}));
  return Tlv(0x30, Cat({Tlv(0x02, {1}), Str(0x04, "public"), pdu}));
}

TEST(NetParsersTest, SnmpGetResponseSystemGroup) {
  Buf m = SnmpResponse();
  auto s = ParseSnmp(m);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->version, 1);
  EXPECT_EQ(SnmpVersionName(s->version), "2c");
  EXPECT_EQ(s->community, "public");
  EXPECT_EQ(s->pdu, 0xa2);
  EXPECT_EQ(s->sys_descr, "Linux gw 6.1.0-18-amd64 #1 SMP Debian");
  EXPECT_EQ(s->sys_name, "gw.example.local");
  EXPECT_EQ(s->sys_object_id, "1.3.6.1.4.1.1133.3");
  Hostile(m, [](Bytes b) { (void)ParseSnmp(b); });
  EXPECT_FALSE(ParseSnmp(B("\x30\x03\x02\x01\x07")));  // no such version
}

// ---- NTP.

TEST(NetParsersTest, NtpServerReplyAndReadvarVersion) {
  Buf r(48, 0);
  r[0] = (4 << 3) | 4;  // v4, server
  r[1] = 2;
  r[12] = 192;
  r[13] = 0;
  r[14] = 2;
  r[15] = 1;
  auto m = ParseNtp(r);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->version, 4);
  EXPECT_EQ(m->mode, 4);
  EXPECT_EQ(m->stratum, 2);
  EXPECT_EQ(m->reference_id, "192.0.2.1");
  r[1] = 1;
  std::copy_n("GPS", 3, r.begin() + 12);
  r[15] = 0;
  EXPECT_EQ(ParseNtp(r)->reference_id, "GPS");

  std::string vars = "version=\"ntpd 4.2.8p15@1.3728-o Wed Sep 23 11:46:38 UTC 2020 (1)\", "
                     "processor=\"x86_64\"";
  Buf c{(2 << 3) | 6, 0x82, 0, 1, 0, 0, 0, 0, 0, 0};
  Be16(&c, static_cast<uint16_t>(vars.size()));
  Text(&c, vars);
  auto v = ParseNtp(c);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->mode, 6);
  EXPECT_EQ(v->version_text, "ntpd 4.2.8p15@1.3728-o Wed Sep 23 11:46:38 UTC 2020 (1)");
  Hostile(c, [](Bytes b) { (void)ParseNtp(b); });
}

// ---- LLDP and CDP.

TEST(NetParsersTest, LldpSystemNameDescriptionChassisManagement) {
  Buf f{0x01, 0x80, 0xc2, 0, 0, 0x0e, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x88, 0xcc};
  auto tlv = [&](uint8_t type, const Buf& v) {
    f.push_back(static_cast<uint8_t>(type << 1 | (v.size() >> 8)));
    f.push_back(static_cast<uint8_t>(v.size()));
    f.insert(f.end(), v.begin(), v.end());
  };
  tlv(1, {4, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55});
  tlv(2, {5, 'g', 'e', '1'});
  tlv(3, {0, 120});
  std::string descr = "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE";
  tlv(5, Buf{'s', 'w', '1'});
  tlv(6, Buf(descr.begin(), descr.end()));
  tlv(8, {5, 1, 10, 0, 0, 2, 2, 0, 0, 0, 1, 0});
  tlv(0, {});
  auto n = ParseLldpOrCdp(f);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->system_name, "sw1");
  EXPECT_EQ(n->system_description, descr);
  ASSERT_TRUE(n->chassis_mac);
  EXPECT_EQ(rules::MacToString(*n->chassis_mac), "00:11:22:33:44:55");
  ASSERT_TRUE(n->management);
  EXPECT_EQ(n->management->ToString(), "10.0.0.2");
  Hostile(f, [](Bytes b) { (void)ParseLldpOrCdp(b); });
}

TEST(NetParsersTest, CdpDeviceIdSoftwarePlatformAddress) {
  Buf body{2, 180, 0, 0};  // version, ttl, checksum
  auto tlv = [&](uint16_t type, const Buf& v) {
    Be16(&body, type);
    Be16(&body, static_cast<uint16_t>(4 + v.size()));
    body.insert(body.end(), v.begin(), v.end());
  };
  std::string sw = "Cisco IOS Software, Version 12.2(55)SE";
  tlv(1, Buf{'r', 't', 'r', '1'});
  tlv(2, {0, 0, 0, 1, 1, 1, 0xcc, 0, 4, 192, 0, 2, 7});
  tlv(5, Buf(sw.begin(), sw.end()));
  tlv(6, Buf{'c', 'i', 's', 'c', 'o', ' ', 'W', 'S'});
  Buf f{0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
  Be16(&f, static_cast<uint16_t>(8 + body.size()));
  f.insert(f.end(), {0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00});
  f.insert(f.end(), body.begin(), body.end());
  auto n = ParseLldpOrCdp(f);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->system_name, "rtr1");
  EXPECT_EQ(n->system_description, sw);
  EXPECT_EQ(n->platform, "cisco WS");
  ASSERT_TRUE(n->management);
  EXPECT_EQ(n->management->ToString(), "192.0.2.7");
  Hostile(f, [](Bytes b) { (void)ParseLldpOrCdp(b); });
}

}  // namespace
}  // namespace sensor::extract
