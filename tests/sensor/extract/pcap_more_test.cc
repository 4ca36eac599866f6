// The issue-3 sources over real captures (MANIFEST.md Z21 SNMP, Z22 RDP, Z24 NTLM in DCE-RPC,
// Z26 SMB1 LANMAN, Z35 NTP; nDPI's kerberos, RDP-over-TLS and SMTP STARTTLS captures) and p0f.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "sensor/extract/pcap_runner.h"

namespace sensor {
namespace {

using testing::RecordingSink;
using testing::RunCapture;

const std::string kZeek = std::string(SHARED_DIR) + "/testdata/zeek/testing/btest/Traces/";
const std::string kNdpi = std::string(SHARED_DIR) + "/testdata/ndpi/pcap/";

::testing::AssertionResult HasName(const RecordingSink& s, const std::string& ip,
                                   const std::string& name, const std::string& kind) {
  for (const auto& f : s.names) {
    if (f.host.ip.ToString() == ip && f.name == name && f.kind == kind) {
      return ::testing::AssertionSuccess();
    }
  }
  auto r = ::testing::AssertionFailure() << "no name " << name << " (" << kind << ") on " << ip
                                         << "; names:";
  for (const auto& f : s.names) r << " " << f.host.ip.ToString() << "=" << f.name << "/" << f.kind;
  return r;
}

const rules::SoftwareFact* FindSoftware(const RecordingSink& s, const std::string& ip,
                                        const std::string& kind) {
  for (const auto& f : s.software) {
    if (f.host.ip.ToString() == ip && f.kind == kind) return &f;
  }
  return nullptr;
}

TEST(ExtractMoreTest, NtlmInDceRpcNamesAndWindowsBuild) {
  RecordingSink s;
  ASSERT_TRUE(RunCapture(kZeek + "dce-rpc/dce_rpc_ntlm.pcapng", &s));
  // Z24: ntlm.log server names; tshark: client CBTH-WS-1, domain BLACKCLOVER, build 18362.
  EXPECT_TRUE(HasName(s, "10.10.10.121", "CBTH-WS-2", "netbios"));
  EXPECT_TRUE(HasName(s, "10.10.10.121", "CBTH-WS-2.blackclover.local", "fqdn"));
  EXPECT_TRUE(HasName(s, "10.10.10.121", "blackclover.local", "domain"));
  EXPECT_TRUE(HasName(s, "10.10.10.120", "CBTH-WS-1", "netbios"));
  EXPECT_TRUE(HasName(s, "10.10.10.120", "BLACKCLOVER", "domain"));
  bool os = std::any_of(s.os.begin(), s.os.end(), [](const rules::OsFact& f) {
    return f.host.ip.ToString() == "10.10.10.120" && f.product == "Windows 10 1903" &&
           f.version == "10.0.18362" && f.origin.source == "ntlm";
  });
  EXPECT_TRUE(os);
}

TEST(ExtractMoreTest, NtlmOverHttpWebdav) {
  RecordingSink s;
  ASSERT_TRUE(RunCapture(kNdpi + "webdav.pcap", &s));
  // tshark: CHALLENGE target DLP-TEST-R5, build 20348; AUTHENTICATE host ivan-Latitude-E6540.
  EXPECT_TRUE(HasName(s, "198.244.151.63", "DLP-TEST-R5", "netbios"));
  EXPECT_TRUE(HasName(s, "192.168.16.173", "ivan-Latitude-E6540", "netbios"));
  bool os = std::any_of(s.os.begin(), s.os.end(), [](const rules::OsFact& f) {
    return f.host.ip.ToString() == "198.244.151.63" && f.product == "Windows Server 2022" &&
           f.version == "10.0.20348" && f.confidence == 80;
  });
  EXPECT_TRUE(os);
}

TEST(ExtractMoreTest, Smb1LanmanDialectIsSmbVersion1) {
  RecordingSink s;
  ASSERT_TRUE(RunCapture(kZeek + "smb/cifs_negotiate_lanman.pcap", &s));
  const auto* f = FindSoftware(s, "10.0.0.1", "smb");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->product, "SMB");
  EXPECT_EQ(f->version, "1");
  EXPECT_EQ(f->origin.raw,
            "dialect=LANMAN2.1; offered=PC NETWORK PROGRAM 1.0,LANMAN1.0,LM1.2X002,LANMAN2.1");
  bool service = std::any_of(s.services.begin(), s.services.end(),
                             [](const auto& x) { return x.protocol == "smb" && x.port == 445; });
  EXPECT_TRUE(service);
}

TEST(ExtractMoreTest, SnmpSysNameOfThePrinter) {
  RecordingSink s;
  ASSERT_TRUE(RunCapture(kZeek + "snmp/snmpv1_get.pcap", &s));
  EXPECT_TRUE(HasName(s, "172.31.19.73", "B6300", "hostname"));  // Z21
  bool service = std::any_of(s.services.begin(), s.services.end(),
                             [](const auto& x) { return x.protocol == "snmp" && x.port == 161; });
  EXPECT_TRUE(service);
}

TEST(ExtractMoreTest, RdpClientNameAndBuildButNoCookie) {
  RecordingSink s;
  ASSERT_TRUE(RunCapture(kZeek + "rdp/rdp-proprietary-encryption.pcap", &s));
  EXPECT_TRUE(HasName(s, "172.21.128.16", "FROG-POND", "netbios"));  // Z22
  const auto* client = FindSoftware(s, "172.21.128.16", "rdp_client");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->version, "6000");
  const auto* server = FindSoftware(s, "10.226.24.52", "rdp");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->origin.raw, "selected=RDP");
  // The cookie (mstshash=FTBCO\A70) is a user name: it appears in no fact.
  for (const auto& f : s.software) EXPECT_EQ(f.origin.raw.find("FTBCO"), std::string::npos);
  for (const auto& f : s.names) EXPECT_EQ(f.origin.raw.find("FTBCO"), std::string::npos);
}

TEST(ExtractMoreTest, S7commCotpIsNotRdp) {
  // S7comm (port 102) opens with the same TPKT + X.224 Connection Request as RDP.
  RecordingSink s;
  ExtractStats st;
  ASSERT_TRUE(RunCapture(kNdpi + "s7comm.pcap", &s, &st));
  EXPECT_EQ(st.rdp, 0u);
  for (const auto& f : s.software) EXPECT_NE(f.kind, "rdp");
  for (const auto& f : s.services) EXPECT_NE(f.protocol, "rdp");
}

TEST(ExtractMoreTest, NtpServersVersionStratumReference) {
  RecordingSink s;
  ASSERT_TRUE(RunCapture(kZeek + "ntp/ntp.pcap", &s));
  for (const char* server : {"80.211.52.109", "212.45.144.88"}) {  // Z35
    const auto* f = FindSoftware(s, server, "ntp");
    ASSERT_NE(f, nullptr) << server;
    EXPECT_EQ(f->version, "4");
    EXPECT_EQ(f->origin.raw.rfind("NTPv4 stratum=", 0), 0u) << f->origin.raw;
  }
}

TEST(ExtractMoreTest, KerberosRealmAndMachineAccount) {
  RecordingSink s;
  ASSERT_TRUE(RunCapture(kNdpi + "kerberos.pcap", &s));
  EXPECT_TRUE(HasName(s, "172.16.8.8", "HAPPYCRAFT.ORG", "realm"));
  EXPECT_TRUE(HasName(s, "172.16.8.201", "HAPPYCRAFT.ORG", "realm"));
  EXPECT_TRUE(HasName(s, "172.16.8.201", "JOHNSON-PC", "netbios"));
}

TEST(ExtractMoreTest, RdpOverTlsCertificateAfterX224) {
  RecordingSink s;
  ASSERT_TRUE(RunCapture(kNdpi + "rdp_over_tls.pcap", &s));
  const auto* rdp = FindSoftware(s, "89.31.79.12", "rdp");
  ASSERT_NE(rdp, nullptr);
  EXPECT_EQ(rdp->origin.raw, "selected=CredSSP");
  const auto* cert = FindSoftware(s, "89.31.79.12", "x509_subjects");
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(cert->origin.raw, "CN=topsalon");
  EXPECT_TRUE(HasName(s, "89.31.79.12", "topsalon", "cert"));
}

TEST(ExtractMoreTest, SmtpStarttlsCertificate) {
  RecordingSink s;
  ExtractStats st;
  ASSERT_TRUE(RunCapture(kNdpi + "smtp-starttls.pcap", &s, &st));
  EXPECT_GE(st.starttls, 1u);
  EXPECT_TRUE(HasName(s, "173.194.68.26", "alt1.aspmx.l.google.com", "cert"));
  EXPECT_NE(FindSoftware(s, "173.194.68.26", "smtp_banners"), nullptr);  // the greeting still
}

TEST(ExtractMoreTest, P0fOsFromSynAndSynAck) {
  if (!std::filesystem::exists("/etc/p0f/p0f.fp")) GTEST_SKIP() << "package p0f missing";
  ExtractConfig config;
  config.p0f_database = "/etc/p0f/p0f.fp";
  RecordingSink s;
  ExtractStats st;
  ASSERT_TRUE(RunCapture(kZeek + "http/get.pcap", &s, &st, {}, config));
  EXPECT_GT(st.p0f_packets, 0u);
  std::vector<const rules::OsFact*> p0f;
  for (const auto& f : s.os) {
    if (f.origin.source == "p0f") p0f.push_back(&f);
  }
  ASSERT_FALSE(p0f.empty());
  for (const auto* f : p0f) {
    std::printf("  p0f %s %s %s (%d) %s\n", f->host.ip.ToString().c_str(), f->product.c_str(),
                f->version.c_str(), f->confidence, f->origin.raw.c_str());
    EXPECT_LE(f->confidence, 40);
    EXPECT_NE(f->origin.raw.find(" -> "), std::string::npos);
  }
  // Missing file: p0f off with a warning, not an error.
  config.p0f_database = "/nonexistent/p0f.fp";
  ExtractorSet off(config, nullptr, s, {});
  EXPECT_NE(off.warning().find("/nonexistent/p0f.fp"), std::string::npos);
}

// No capture in the test data carries LLDP or an SNMP sysDescr: frames built here, through the
// same entry points the pipeline uses.
TEST(ExtractMoreTest, LldpFrameThroughOnNonIp) {
  RecordingSink s;
  ExtractorSet extract(ExtractConfig{}, testing::TestFingerprints(), s, {});
  std::vector<uint8_t> f = {0x01, 0x80, 0xc2, 0, 0, 0x0e, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55,
                            0x88, 0xcc};
  auto tlv = [&](uint8_t type, const std::string& v) {
    f.push_back(static_cast<uint8_t>(type << 1 | (v.size() >> 8)));
    f.push_back(static_cast<uint8_t>(v.size()));
    f.insert(f.end(), v.begin(), v.end());
  };
  tlv(1, std::string("\x04\x02\x11\x22\x33\x44\x55", 7));
  tlv(5, "core-sw1");
  tlv(6, "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11, "
         "RELEASE SOFTWARE (fc3)");
  tlv(8, std::string("\x05\x01\x0a\x00\x00\x02\x02\x00\x00\x00\x01\x00", 12));
  f.push_back(0);
  f.push_back(0);
  DecodedPacket p;  // what the decoder leaves for an Ethernet frame without IP
  p.timestamp_us = 1'000'000;
  p.has_mac = true;
  extract.OnNonIp(p, f);
  extract.OnNonIp(p, f);  // the next advertisement, 30 s later: not reported again
  ASSERT_EQ(s.names.size(), 1u);
  EXPECT_EQ(s.names[0].name, "core-sw1");
  EXPECT_EQ(s.names[0].kind, "lldp");
  EXPECT_EQ(s.names[0].host.ip.ToString(), "10.0.0.2");
  ASSERT_TRUE(s.names[0].host.mac);
  EXPECT_EQ(rules::MacToString(*s.names[0].host.mac), "02:11:22:33:44:55");
  ASSERT_EQ(s.software.size(), 1u);
  EXPECT_EQ(s.software[0].kind, "snmp_sysdescr");
  EXPECT_EQ(s.software[0].origin.source, "lldp");
  std::printf("  lldp: %s %s %s; os facts %zu\n", s.software[0].vendor.c_str(),
              s.software[0].product.c_str(), s.software[0].version.c_str(), s.os.size());
  EXPECT_EQ(s.addresses.size(), 1u);
  EXPECT_EQ(extract.stats().neighbors, 2u);
  p.has_mac = false;  // the same bytes from a link without Ethernet headers: not LLDP
  extract.OnNonIp(p, f);
  EXPECT_EQ(extract.stats().neighbors, 2u);
}

TEST(ExtractMoreTest, SnmpGetResponseSysDescrThroughOnPacket) {
  RecordingSink s;
  ExtractorSet extract(ExtractConfig{}, testing::TestFingerprints(), s, {});
  auto tlv = [](uint8_t tag, const std::string& v) {
    return std::string(1, static_cast<char>(tag)) + static_cast<char>(v.size()) + v;
  };
  std::string descr = "Linux gw 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 x86_64";
  std::string bind = tlv(0x30, tlv(0x06, std::string("\x2b\x06\x01\x02\x01\x01\x01\x00", 8)) +
                                   tlv(0x04, descr));
  std::string pdu = tlv(0xa2, tlv(0x02, "\x01") + tlv(0x02, std::string(1, '\0')) +
                                  tlv(0x02, std::string(1, '\0')) + tlv(0x30, bind));
  std::string msg = tlv(0x30, tlv(0x02, "\x01") + tlv(0x04, "public") + pdu);
  const auto client = rules::IpAddress::FromV4(0xc0a80105), agent = rules::IpAddress::FromV4(0xc0a80101);
  FlowRecord flow;
  flow.key.proto = 17;
  flow.id = {client, 40000, agent, 161, 17};
  flow.orig.packets = 1;
  flow.resp.packets = 1;
  DecodedPacket p;
  p.ip_version = 4;
  p.ip_proto = 17;
  p.src = agent;
  p.src_port = 161;
  p.dst_port = 40000;
  p.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  extract.OnPacket(flow, p, false);
  extract.OnFlowEnd(flow);
  ASSERT_EQ(s.software.size(), 1u);
  EXPECT_EQ(s.software[0].host.ip, agent);
  EXPECT_EQ(s.software[0].port, 161);
  EXPECT_EQ(s.software[0].kind, "snmp_sysdescr");
  EXPECT_EQ(s.software[0].origin.raw, descr);
  EXPECT_FALSE(s.os.empty());  // the database names Linux (Debian)
  for (const auto& o : s.os) std::printf("  snmp os: %s %s %s\n", o.vendor.c_str(), o.product.c_str(), o.version.c_str());
  ASSERT_EQ(s.services.size(), 1u);
  EXPECT_EQ(s.services[0].protocol, "snmp");
  EXPECT_EQ(extract.stats().snmp, 1u);
}

}  // namespace
}  // namespace sensor
