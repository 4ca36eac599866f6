// The stateless parsers behind ExtractorSet, on bytes built here.
#include "extract/parsers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sensor::extract {
namespace {

Bytes B(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

void Put16(std::vector<uint8_t>* v, uint16_t x) {
  v->push_back(static_cast<uint8_t>(x >> 8));
  v->push_back(static_cast<uint8_t>(x));
}

TEST(ParsersTest, SshSoftwareAfterProtoVersion) {
  EXPECT_EQ(SshSoftware("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2"),
            "OpenSSH_9.2p1 Debian-2+deb12u2");
  EXPECT_EQ(SshSoftware("SSH-1.99-Cisco-1.25"), "Cisco-1.25");
  EXPECT_FALSE(SshSoftware("SSH-2.0-"));
  EXPECT_FALSE(SshSoftware("SSH-x.y-foo"));
  EXPECT_FALSE(SshSoftware("HTTP/1.1 200 OK"));
  EXPECT_EQ(FirstLine("SSH-2.0-a\r\nrest"), "SSH-2.0-a");
  EXPECT_FALSE(FirstLine("SSH-2.0-no-end-yet"));
}

TEST(ParsersTest, HttpHeadsRequestAndResponse) {
  auto req = ParseHttpHead("GET / HTTP/1.1\r\nHost: Example.org:8080\r\nuser-agent: curl/8.0\r\n\r\n");
  ASSERT_TRUE(req);
  EXPECT_TRUE(req->request);
  EXPECT_EQ(req->host, "Example.org");
  EXPECT_EQ(req->user_agent, "curl/8.0");
  auto resp = ParseHttpHead("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nX-Powered-By: PHP/8.2\r\n\r\n");
  ASSERT_TRUE(resp);
  EXPECT_FALSE(resp->request);
  EXPECT_EQ(resp->server, "nginx/1.22.1");
  EXPECT_EQ(resp->powered_by, "PHP/8.2");
  EXPECT_FALSE(ParseHttpHead("GET / HTTP/1.1\r\nHost: a\r\n"));  // incomplete
  EXPECT_FALSE(ParseHttpHead("\x16\x03\x01 not http\r\n\r\n"));
  auto ssdp = ParseHttpHead("NOTIFY * HTTP/1.1\r\nSERVER: Linux/5.4 UPnP/1.0 MiniUPnPd/2.1\r\n\r\n");
  ASSERT_TRUE(ssdp);
  EXPECT_EQ(ssdp->server, "Linux/5.4 UPnP/1.0 MiniUPnPd/2.1");
  // Control characters never reach a fact.
  auto bad = ParseHttpHead(std::string("GET / HTTP/1.0\r\nUser-Agent: a\x01\x7f" "b\r\n\r\n"));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->user_agent, "a??b");
}

TEST(ParsersTest, FtpDataConnectionAnnouncements) {
  auto at = [](const std::optional<FtpDataTarget>& t) {
    if (!t) return std::string("none");
    return (t->address ? t->address->ToString() : std::string("server")) + ":" +
           std::to_string(t->port);
  };
  // RFC 959: 227 with h1,h2,h3,h4,p1,p2 (port p1*256+p2), the parentheses optional.
  EXPECT_EQ(at(FtpPassiveReply("227 Entering Passive Mode (199,233,217,249,221,90)")),
            "199.233.217.249:56666");
  EXPECT_EQ(at(FtpPassiveReply("227 Entering Passive Mode 10,0,0,1,4,1")), "10.0.0.1:1025");
  EXPECT_EQ(at(FtpPassiveReply("227 =10,0,0,1,0,21")), "10.0.0.1:21");
  // RFC 2428: 229 names the port only, the address is the control connection's server.
  EXPECT_EQ(at(FtpPassiveReply("229 Entering Extended Passive Mode (|||6446|)")), "server:6446");
  EXPECT_EQ(at(FtpPassiveReply("229 Extended Passive (!!!21!)")), "server:21");
  EXPECT_EQ(at(FtpPortCommand("PORT 141,142,220,235,131,46")), "141.142.220.235:33582");
  EXPECT_EQ(at(FtpPortCommand("port 10,0,0,2,0,80")), "10.0.0.2:80");
  EXPECT_EQ(at(FtpPortCommand("EPRT |1|132.235.1.2|6275|")), "132.235.1.2:6275");
  EXPECT_EQ(at(FtpPortCommand("EPRT |2|1080::8:800:200C:417A|5282|")), "1080::8:800:200c:417a:5282");
  // Not announcements, or malformed: nothing.
  for (const char* line :
       {"227 Entering Passive Mode (256,0,0,1,1,1)", "227 Entering Passive Mode (1,2,3,4,0,0)",
        "227 Entering Passive Mode (1,2,3,4,5)", "227 Entering Passive Mode (1,2,3,4,5,6789)",
        "227 No address", "229 Entering Extended Passive Mode (|||0|)",
        "229 Entering Extended Passive Mode (|||70000|)", "229 (||6446|)", "229 (", "200 PORT ok",
        "150 Opening BINARY mode data connection (1,2,3,4,5,6)", ""}) {
    EXPECT_EQ(at(FtpPassiveReply(line)), "none") << line;
  }
  for (const char* line :
       {"PORT", "PORT ", "PORT 1,2,3,4,5", "PORT 1,2,3,4,5,x", "PORTS 1,2,3,4,5,6",
        "EPRT |1|::1|80|", "EPRT |2|10.0.0.1|80|", "EPRT |3|10.0.0.1|80|", "EPRT |1|10.0.0.1|0|",
        "EPRT |1|10.0.0.1|80", "EPRT ", "EPRT x", "LIST", ""}) {
    EXPECT_EQ(at(FtpPortCommand(line)), "none") << line;
  }
}

TEST(ParsersTest, Greetings) {
  EXPECT_EQ(ClassifyGreeting("220 (vsFTPd 3.0.3)"), GreetingKind::kFtpOrSmtp);
  EXPECT_EQ(GreetingText("220 (vsFTPd 3.0.3)", GreetingKind::kFtpOrSmtp), "(vsFTPd 3.0.3)");
  EXPECT_EQ(ClassifyGreeting("+OK Dovecot ready."), GreetingKind::kPop);
  EXPECT_EQ(GreetingText("+OK Dovecot ready.", GreetingKind::kPop), "Dovecot ready.");
  EXPECT_EQ(ClassifyGreeting("* OK [CAPABILITY IMAP4rev1] Dovecot ready."), GreetingKind::kImap);
  EXPECT_EQ(GreetingText("* OK [CAPABILITY IMAP4rev1] Dovecot ready.", GreetingKind::kImap),
            "Dovecot ready.");
  EXPECT_EQ(ClassifyGreeting("2200"), GreetingKind::kNone);
}

TEST(ParsersTest, MySqlGreeting) {
  std::string version = "10.11.6-MariaDB-0+deb12u1";
  std::string body = std::string("\x0a") + version + std::string(1, '\0') + std::string(40, 'x');
  std::string packet = {static_cast<char>(body.size()), 0, 0, 0};
  packet += body;
  EXPECT_EQ(MySqlServerVersion(B(packet)), version);
  packet[3] = 1;  // sequence id must be 0
  EXPECT_FALSE(MySqlServerVersion(B(packet)));
  EXPECT_FALSE(MySqlServerVersion(B(std::string("\x05\x00\x00\x00\x0a", 5))));
}

std::vector<uint8_t> BuildClientHello() {
  std::vector<uint8_t> ext;
  auto add_ext = [&](uint16_t type, std::vector<uint8_t> data) {
    Put16(&ext, type);
    Put16(&ext, static_cast<uint16_t>(data.size()));
    ext.insert(ext.end(), data.begin(), data.end());
  };
  add_ext(0x0a0a, {});                                     // GREASE
  std::string host = "example.org";
  std::vector<uint8_t> sni;
  Put16(&sni, static_cast<uint16_t>(host.size() + 3));
  sni.push_back(0);
  Put16(&sni, static_cast<uint16_t>(host.size()));
  sni.insert(sni.end(), host.begin(), host.end());
  add_ext(0, sni);
  add_ext(10, {0, 4, 0x00, 0x1d, 0x00, 0x17});             // x25519, secp256r1
  add_ext(11, {1, 0});                                     // uncompressed
  add_ext(13, {0, 4, 0x04, 0x03, 0x08, 0x04});
  add_ext(16, {0, 3, 2, 'h', '2'});
  add_ext(43, {4, 0x03, 0x04, 0x03, 0x03});
  std::vector<uint8_t> body;
  Put16(&body, 0x0303);
  body.insert(body.end(), 32, 0);  // random
  body.push_back(0);               // session id
  Put16(&body, 6);
  Put16(&body, 0x1a1a);            // GREASE
  Put16(&body, 0x1301);
  Put16(&body, 0xc02b);
  body.push_back(1);
  body.push_back(0);               // null compression
  Put16(&body, static_cast<uint16_t>(ext.size()));
  body.insert(body.end(), ext.begin(), ext.end());
  return body;
}

TEST(ParsersTest, ClientHelloJa3Ja4) {
  std::vector<uint8_t> body = BuildClientHello();
  auto hello = ParseClientHello(body);
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->sni, "example.org");
  EXPECT_EQ(hello->alpn, "h2");
  EXPECT_EQ(Ja3Text(*hello), "771,4865-49195,0-10-11-13-16-43,29-23,0");
  EXPECT_EQ(Ja3(*hello).size(), 32u);
  // t, TLS 1.3 from supported_versions, SNI, 2 ciphers, 6 extensions, ALPN h2.
  EXPECT_EQ(Ja4Raw(*hello), "t13d0206h2_1301,c02b_000a,000b,000d,002b_0403,0804");
  EXPECT_EQ(Ja4(*hello).substr(0, 11), "t13d0206h2_");
  EXPECT_EQ(Ja4(*hello).substr(11, 12), Sha256Hex("1301,c02b").substr(0, 12));
  // Truncated anywhere: no crash, no hello.
  for (size_t n = 0; n < 40; ++n) {
    EXPECT_FALSE(ParseClientHello(Bytes(body.data(), n))) << n;
  }
  EXPECT_TRUE(IsGrease(0xfafa));
  EXPECT_FALSE(IsGrease(0x0a1a));
}

TEST(ParsersTest, TlsHandshakeReaderAcrossRecords) {
  std::vector<uint8_t> body = BuildClientHello();
  std::vector<uint8_t> hs = {1, 0, static_cast<uint8_t>(body.size() >> 8),
                             static_cast<uint8_t>(body.size())};
  hs.insert(hs.end(), body.begin(), body.end());
  // Split the handshake message over two records.
  std::vector<uint8_t> stream;
  size_t half = hs.size() / 2;
  for (auto [from, to] : {std::pair<size_t, size_t>{0, half}, {half, hs.size()}}) {
    stream.insert(stream.end(), {22, 3, 1, static_cast<uint8_t>((to - from) >> 8),
                                 static_cast<uint8_t>(to - from)});
    stream.insert(stream.end(), hs.begin() + static_cast<long>(from),
                  hs.begin() + static_cast<long>(to));
  }
  TlsHandshakeReader reader;
  EXPECT_TRUE(reader.LooksLikeTls(stream));
  int messages = 0;
  reader.Feed(Bytes(stream.data(), stream.size() - 3), [&](uint8_t, Bytes) { ++messages; });
  EXPECT_EQ(messages, 0);
  reader.Feed(stream, [&](uint8_t type, Bytes b) {
    ++messages;
    EXPECT_EQ(type, 1);
    EXPECT_TRUE(ParseClientHello(b));
  });
  EXPECT_EQ(messages, 1);
  EXPECT_FALSE(reader.malformed());
}

std::vector<uint8_t> BuildDhcp(uint8_t op, uint8_t type) {
  std::vector<uint8_t> d(240, 0);
  d[0] = op;
  d[1] = 1;
  d[2] = 6;
  d[16] = 192, d[17] = 0, d[18] = 2, d[19] = 7;  // yiaddr
  for (int i = 0; i < 6; ++i) d[28 + i] = static_cast<uint8_t>(0x10 + i);
  d[236] = 99, d[237] = 130, d[238] = 83, d[239] = 99;
  auto opt = [&](uint8_t code, std::string v) {
    d.push_back(code);
    d.push_back(static_cast<uint8_t>(v.size()));
    d.insert(d.end(), v.begin(), v.end());
  };
  opt(53, std::string(1, static_cast<char>(type)));
  opt(12, "laptop-17");
  opt(60, "MSFT 5.0");
  opt(55, std::string("\x01\x03\x06\x0f", 4));
  opt(81, std::string("\x04\x00\x00\x06laptop\x07" "example\x03org\x00", 24));
  d.push_back(255);
  return d;
}

TEST(ParsersTest, DhcpOptions) {
  auto d = BuildDhcp(1, 3);
  auto m = ParseDhcp(d);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, 3);
  EXPECT_EQ(m->host_name, "laptop-17");
  EXPECT_EQ(m->vendor_class, "MSFT 5.0");
  EXPECT_EQ(m->param_list, "1,3,6,15");
  EXPECT_EQ(m->fqdn, "laptop.example.org");
  EXPECT_EQ(rules::MacToString(m->chaddr), "10:11:12:13:14:15");
  EXPECT_EQ(m->yiaddr.ToString(), "192.0.2.7");
  d[238] = 0;  // no magic cookie: not DHCP
  EXPECT_FALSE(ParseDhcp(d));
  auto t = BuildDhcp(1, 3);
  t.resize(t.size() - 10);  // an option running past the end
  EXPECT_FALSE(ParseDhcp(t));
}

TEST(ParsersTest, DnsAnswersAndPtr) {
  // Response: www.example.org A 192.0.2.1 (answer name compressed to the question).
  std::string q = std::string("\x03www\x07" "example\x03org\x00", 17);
  std::string msg = std::string("\x12\x34\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00", 12) + q +
                    std::string("\x00\x01\x00\x01", 4) +
                    std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01", 16) +
                    std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x02", 16);
  auto m = ParseDns(B(msg));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->response);
  ASSERT_EQ(m->answers.size(), 2u);
  EXPECT_EQ(m->answers[0].name, "www.example.org");
  EXPECT_EQ(m->answers[1].address.ToString(), "192.0.2.2");
  // A pointer loop ends, without answers.
  std::string loop = std::string("\x00\x00\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c", 14);
  EXPECT_FALSE(ParseDns(B(loop)));
  EXPECT_EQ(PtrNameToAddress("1.2.0.192.in-addr.arpa")->ToString(), "192.0.2.1");
  EXPECT_FALSE(PtrNameToAddress("1.2.0.999.in-addr.arpa"));
  EXPECT_EQ(PtrNameToAddress("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
                ->ToString(),
            "2001:db8::1");
}

TEST(ParsersTest, NbnsName) {
  // Registration of "WORKSTATION1" <00> with address 192.0.2.9 in the additional section.
  std::string name = "WORKSTATION1";
  name.resize(15, ' ');
  name.push_back('\0');
  std::string encoded;
  for (char c : name) {
    encoded.push_back(static_cast<char>('A' + ((static_cast<uint8_t>(c) >> 4) & 15)));
    encoded.push_back(static_cast<char>('A' + (static_cast<uint8_t>(c) & 15)));
  }
  std::string qname = std::string(1, 32) + encoded + std::string(1, '\0');
  std::string msg = std::string("\x00\x01\x29\x10\x00\x01\x00\x00\x00\x00\x00\x01", 12) + qname +
                    std::string("\x00\x20\x00\x01", 4) + std::string("\xc0\x0c", 2) +
                    std::string("\x00\x20\x00\x01\x00\x04\x93\xe0\x00\x06\x00\x00\xc0\x00\x02\x09", 16);
  auto m = ParseDns(B(msg), true);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(m->answers[0].name, "WORKSTATION1");
  EXPECT_EQ(m->answers[0].address.ToString(), "192.0.2.9");
}


// ---- Certificates: the DER walker against OpenSSL's d2i_X509 on certificates built here.

using Der = std::vector<uint8_t>;

Der Tlv(uint8_t tag, const Der& value) {
  Der out = {tag};
  size_t n = value.size();
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else if (n < 0x100) {
    out.insert(out.end(), {0x81, static_cast<uint8_t>(n)});
  } else {
    out.insert(out.end(), {0x82, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
  }
  out.insert(out.end(), value.begin(), value.end());
  return out;
}
Der Cat(std::initializer_list<Der> parts) {
  Der out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Der Str(const std::string& s) { return Der(s.begin(), s.end()); }
Der Attr(Der oid, uint8_t tag, const Der& value) {
  return Tlv(0x31, Tlv(0x30, Cat({Tlv(0x06, oid), Tlv(tag, value)})));
}
const Der kCn = {0x55, 0x04, 0x03}, kO = {0x55, 0x04, 0x0a}, kC = {0x55, 0x04, 0x06};

struct CertParts {
  Der subject, issuer, extensions;  // extensions: the SEQUENCE OF Extension, or empty
  Der not_before = Tlv(23, Str("240131120000Z")), not_after = Tlv(24, Str("20341231235959Z"));
  bool version = true;
};

Der BuildCert(const CertParts& p) {
  Der alg = Tlv(0x30, Cat({Tlv(0x06, {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02})}));
  Der point(65, 0x11);
  point[0] = 0x04;
  Der spki = Tlv(0x30, Cat({Tlv(0x30, Cat({Tlv(0x06, {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01}),
                                           Tlv(0x06, {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
                                                      0x07})})),
                            Tlv(0x03, Cat({{0x00}, point}))}));
  Der tbs = Cat({p.version ? Tlv(0xa0, Tlv(0x02, {0x02})) : Der{}, Tlv(0x02, {0x01, 0x23}), alg,
                 Tlv(0x30, p.issuer), Tlv(0x30, Cat({p.not_before, p.not_after})),
                 Tlv(0x30, p.subject), spki,
                 p.extensions.empty() ? Der{} : Tlv(0xa3, Tlv(0x30, p.extensions))});
  return Tlv(0x30, Cat({Tlv(0x30, tbs), alg, Tlv(0x03, Der(9, 0x00))}));
}

Der San(const Der& names) {
  return Tlv(0x30, Cat({Tlv(0x06, {0x55, 0x1d, 0x11}), Tlv(0x04, Tlv(0x30, names))}));
}

// Whether the project's certificate walker and OpenSSL agree on `der` (both refuse it, or both
// read the same fields); the failure names the field that differs.
::testing::AssertionResult SameAsOpenSsl(const Der& der, const std::string& what) {
  auto fast = ParseCertificate(der);
  auto ref = ParseCertificateOpenSsl(der);
  if (fast.has_value() != ref.has_value()) {
    return ::testing::AssertionFailure() << what << ": walker " << (fast ? "reads" : "refuses")
                                         << " it, OpenSSL " << (ref ? "reads" : "refuses") << " it";
  }
  if (!fast) return ::testing::AssertionSuccess();
  auto differ = [&](const char* field, const auto& a, const auto& b) {
    return ::testing::AssertionFailure() << what << ": " << field << " differs: '"
                                         << ::testing::PrintToString(a) << "' vs OpenSSL '"
                                         << ::testing::PrintToString(b) << "'";
  };
  if (fast->subject != ref->subject) return differ("subject", fast->subject, ref->subject);
  if (fast->subject_rfc2253 != ref->subject_rfc2253) {
    return differ("subject_rfc2253", fast->subject_rfc2253, ref->subject_rfc2253);
  }
  if (fast->issuer != ref->issuer) return differ("issuer", fast->issuer, ref->issuer);
  if (fast->issuer_rfc2253 != ref->issuer_rfc2253) {
    return differ("issuer_rfc2253", fast->issuer_rfc2253, ref->issuer_rfc2253);
  }
  if (fast->not_before != ref->not_before) {
    return differ("not_before", fast->not_before, ref->not_before);
  }
  if (fast->not_after != ref->not_after) return differ("not_after", fast->not_after, ref->not_after);
  if (fast->common_name != ref->common_name) {
    return differ("common_name", fast->common_name, ref->common_name);
  }
  if (fast->dns_names != ref->dns_names) return differ("dns_names", fast->dns_names, ref->dns_names);
  return ::testing::AssertionSuccess();
}

std::vector<std::pair<std::string, Der>> TestCertificates() {
  std::vector<std::pair<std::string, Der>> out;
  CertParts plain;
  plain.subject = Cat({Attr(kC, 19, Str("NO")), Attr(kO, 12, Str("Kommune, IT")),
                       Attr(kCn, 12, Str("www.example.org"))});
  plain.issuer = Cat({Attr(kC, 19, Str("US")), Attr(kCn, 19, Str("Example CA"))});
  plain.extensions = San(Cat({Tlv(0x82, Str("www.example.org")), Tlv(0x82, Str("example.org")),
                              Tlv(0x87, {10, 0, 0, 1}), Tlv(0x81, Str("a@example.org"))}));
  out.emplace_back("plain", BuildCert(plain));
  CertParts v1 = plain;
  v1.version = false;
  v1.extensions.clear();
  out.emplace_back("v1", BuildCert(v1));
  CertParts odd = plain;  // Latin-1, BMP, a multi-valued RDN, an unknown attribute type
  odd.subject = Cat({Attr(kO, 20, Str("R\xe5" "dhus")),
                     Attr(kCn, 30, {0x00, 'e', 0x00, 'x', 0x00, 0xe6, 0x00, '.', 0x00, 'n'}),
                     Tlv(0x31, Cat({Tlv(0x30, Cat({Tlv(0x06, {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82,
                                                          0x37, 0x99}),
                                                  Tlv(12, Str("x+y"))})),
                                    Tlv(0x30, Cat({Tlv(0x06, kCn), Tlv(22, Str("b\x01z"))}))}))});
  odd.extensions = Cat({Tlv(0x30, Cat({Tlv(0x06, {0x55, 0x1d, 0x13}), Tlv(0x01, {0xff}),
                                       Tlv(0x04, Tlv(0x30, {}))})),
                        San(Cat({Tlv(0xa0, Cat({Tlv(0x06, {0x2b, 0x06, 0x01}),
                                                Tlv(0xa0, Tlv(12, Str("x")))})),
                                 Tlv(0x82, Str("odd.example"))}))});
  out.emplace_back("odd", BuildCert(odd));
  CertParts twice = plain;  // a repeated subjectAltName counts as none
  twice.extensions = Cat({plain.extensions, plain.extensions});
  out.emplace_back("twice", BuildCert(twice));
  CertParts bad_utf8 = plain;
  bad_utf8.subject = Attr(kCn, 12, {'a', 0xc3});
  out.emplace_back("bad utf8", BuildCert(bad_utf8));
  CertParts bad_time = plain;
  bad_time.not_before = Tlv(23, Str("2401311200"));
  out.emplace_back("bad time", BuildCert(bad_time));
  return out;
}

TEST(CertificateTest, WalkerMatchesOpenSsl) {
  for (const auto& [what, der] : TestCertificates()) {
    EXPECT_TRUE(SameAsOpenSsl(der, what));
  }
  auto plain = ParseCertificate(TestCertificates().front().second);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->subject, "C=NO, O=Kommune, IT, CN=www.example.org");
  EXPECT_EQ(plain->subject_rfc2253, "CN=www.example.org,O=Kommune\\, IT,C=NO");
  EXPECT_EQ(plain->issuer, "C=US, CN=Example CA");
  EXPECT_EQ(plain->not_before, "2024-01-31T12:00:00Z");
  EXPECT_EQ(plain->not_after, "2034-12-31T23:59:59Z");
  EXPECT_EQ(plain->dns_names, (std::vector<std::string>{"www.example.org", "example.org"}));
}

TEST(CertificateTest, DamagedCertificatesMatchOpenSsl) {
  for (const auto& [what, der] : TestCertificates()) {
    for (size_t n = 0; n < der.size(); n += 3) {
      EXPECT_TRUE(SameAsOpenSsl(Der(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(n)),
                                what + " cut at " + std::to_string(n)));
    }
    for (size_t i = 0; i < der.size(); i += 1) {
      for (uint8_t x : {0x01, 0x20, 0x80, 0xff}) {
        Der bent = der;
        bent[i] ^= x;
        EXPECT_TRUE(SameAsOpenSsl(bent, what + " byte " + std::to_string(i) + " ^ " +
                                            std::to_string(x)));
      }
    }
  }
}

}  // namespace
}  // namespace sensor::extract

namespace sensor::extract {
namespace {

std::string HexOf(std::span<const uint8_t> b) {
  std::string out;
  for (uint8_t c : b) {
    out.push_back("0123456789abcdef"[c >> 4]);
    out.push_back("0123456789abcdef"[c & 15]);
  }
  return out;
}

// RFC 9001 Appendix A.1: the client Initial keys for Destination Connection ID 8394c8f03e515708.
TEST(QuicInitialTest, ClientKeysMatchRfc9001AppendixA) {
  const std::array<uint8_t, 8> dcid = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
  auto keys = QuicClientInitialKeys(1, dcid);
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(HexOf(keys->key), "1f369613dd76d5467730efcbe3b1a22d");
  EXPECT_EQ(HexOf(keys->iv), "fa044b2f42a3fd3b46fb255c");
  EXPECT_EQ(HexOf(keys->hp), "9f50449e04a0e810283a1e9933adedd2");
  EXPECT_FALSE(QuicClientInitialKeys(0x6b3343cf, dcid).has_value());  // v2: other labels
}

TEST(QuicInitialTest, HostileDatagramsAreRefused) {
  std::vector<uint8_t> d(1200, 0);
  d[0] = 0xc3;
  d[4] = 1;      // version 1
  d[5] = 200;    // DCID longer than 20
  EXPECT_FALSE(QuicInitialCrypto(d).has_value());
  d[5] = 8;      // a plausible header whose AEAD tag cannot verify
  d[15] = 0;     // SCID length
  d[16] = 0;     // token length
  d[17] = 0x44;  // length 0x400 (two-byte varint)
  d[18] = 0x00;
  EXPECT_FALSE(QuicInitialCrypto(d).has_value());
  d.resize(30);  // length beyond the datagram
  EXPECT_FALSE(QuicInitialCrypto(d).has_value());
}

}  // namespace
}  // namespace sensor::extract
