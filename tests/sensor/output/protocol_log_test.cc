// The protocol logs (sensor/output/protocol_log.h): the writer on fixed records against golden
// files (tests/data/golden/protocol_logs, TSV and JSON, every field set and unset once, strings
// that need escaping), and the extractors feeding it on hand-made hostile packets (oversized and
// truncated heads, a truncated ServerHello, control bytes, a DNS response that is cut short):
// bounded strings, a clear line or none, never a crash. Against Zeek's own baselines on its
// traces: tests/sensor/pipeline/protocol_logs_test.cc.
#include "sensor/output/protocol_log.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "extract/parsers.h"
#include "sensor/extract/extractor_set.h"
#include "sensor/extract/pcap_runner.h"

namespace sensor {
namespace {

namespace fs = std::filesystem;

rules::IpAddress Ip(std::string_view s) { return *rules::IpAddress::Parse(s); }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path ScratchDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::temp_directory_path() / ("protocol_log_test." + std::to_string(getpid()) +
                                              "." + info->test_suite_name() + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Compares with tests/data/golden/protocol_logs/<name>, or rewrites it when UPDATE_GOLDEN=1.
::testing::AssertionResult MatchesGolden(const fs::path& written, const std::string& name) {
  fs::path golden = fs::path(TEST_DATA_DIR) / "golden" / "protocol_logs" / name;
  std::string actual = ReadFile(written);
  const char* update = std::getenv("UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden, std::ios::binary) << actual;
    return ::testing::AssertionSuccess();
  }
  if (!fs::exists(golden)) {
    return ::testing::AssertionFailure() << golden << " missing; run with UPDATE_GOLDEN=1";
  }
  std::string expected = ReadFile(golden);
  if (actual != expected) {
    return ::testing::AssertionFailure() << written << " differs from " << golden << ":\n"
                                         << actual << "\nexpected:\n" << expected;
  }
  return ::testing::AssertionSuccess();
}

FlowRecord MakeFlow(std::string_view uid, std::string_view orig_h, uint16_t orig_p,
                    std::string_view resp_h, uint16_t resp_p, uint8_t proto, int64_t start_us) {
  FlowRecord f;
  f.uid = uid;
  f.id = {Ip(orig_h), orig_p, Ip(resp_h), resp_p, proto};
  f.key.proto = proto;
  f.start_us = start_us;
  f.attributes = std::make_unique<FlowAttributes>();
  return f;
}

constexpr int64_t kT0 = 1700000000'000000;  // 2023-11-14 22:13:20 UTC

// Every log with set and unset fields, IPv4 and IPv6, and strings that need escaping.
void WriteGoldenRecords(ProtocolLogs* logs) {
  {
    FlowRecord f = MakeFlow("CSsh1", "192.168.1.79", 51880, "131.159.21.1", 22, 6, kT0 + 1'000001);
    f.attributes->ssh_version = 2;
    f.attributes->ssh_direction = 2;
    f.attributes->ssh_client = "SSH-2.0-OpenSSH_5.9";
    f.attributes->ssh_server = "SSH-2.0-OpenSSH_5.8";
    logs->OnFlowEnd(f);
    FlowRecord g = MakeFlow("CSsh2", "2001:db8::7", 40000, "fd00::22", 2200, 6, kT0 + 2'000000);
    g.attributes->ssh_version = 1;
    g.attributes->ssh_direction = 1;
    g.attributes->ssh_client = "SSH-1.5-odd\tclient \xff";  // escaped, never a raw tab
    logs->OnFlowEnd(g);
  }
  {
    FlowRecord f = MakeFlow("CHttp1", "10.0.0.18", 49321, "198.51.100.80", 80, 6, kT0 + 3'500000);
    FlowAttributes& a = *f.attributes;
    a.http_method = "GET";
    a.http_host = "intranett.kommune.example";
    a.http_uri = "/sak?id=1\t2&navn=\xc3\xa5se";
    a.http_referrer = "http://intranett.kommune.example/";
    a.http_version = "1.1";
    a.user_agent = "Mozilla/5.0 (X11; Linux x86_64)";
    a.http_request_body_len = 0;
    a.http_response_body_len = 4705;
    a.http_status = 200;
    a.http_status_msg = "OK";
    a.http_server = "Apache/2.4.57 (Debian)";
    a.http_powered_by = "PHP/8.2.7";
    logs->OnFlowEnd(f);
    FlowRecord g = MakeFlow("CHttp2", "10.0.0.19", 49322, "10.0.0.80", 8080, 6, kT0 + 4'000000);
    g.attributes->http_status = 502;  // the response only (the request was before the capture)
    g.attributes->http_status_msg = "Bad Gateway";
    logs->OnFlowEnd(g);
  }
  {
    FlowRecord f = MakeFlow("CSsl1", "192.168.4.149", 54324, "74.125.239.97", 443, 6,
                            kT0 + 5'000000);
    FlowAttributes& a = *f.attributes;
    a.tls = true;
    a.tls_established = true;
    a.tls_version = 0x0301;
    a.tls_cipher = 0xc011;
    a.tls_curve = 23;
    a.sni = "ssl.gstatic.com";
    a.cert_sha256 = "a580247a25324adf4add5af648de4ac5798030dfd622f26a5f2280d7528ae244";
    a.tls_subject = "CN=*.gstatic.com,O=Google Inc,L=Mountain View,ST=California,C=US";
    a.tls_issuer = "CN=Google Internet Authority,O=Google Inc,C=US";
    a.ja3 = "d0ec4b50a944b182fc10ff51f883ccf7";
    a.ja4 = "t10d1310h1_2a284e3b0c56_eb7ed5bc7ebd";
    logs->OnFlowEnd(f);
    FlowRecord g = MakeFlow("CSsl2", "10.0.0.5", 50001, "10.0.0.6", 443, 6, kT0 + 6'000000);
    g.attributes->tls = true;
    g.attributes->tls_established = true;
    g.attributes->tls_version = 0x0304;
    g.attributes->tls_cipher = 0x1301;
    g.attributes->tls_curve = 4588;  // X25519MLKEM768; the certificate is encrypted in 1.3
    g.attributes->sni = "vpn.kommune.example";
    logs->OnFlowEnd(g);
    FlowRecord h = MakeFlow("CSsl3", "10.0.0.5", 50002, "10.0.0.7", 8443, 6, kT0 + 7'000000);
    h.attributes->tls = true;  // a ClientHello, no answer
    h.attributes->ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";
    logs->OnFlowEnd(h);
  }
  FlowRecord udp = MakeFlow("CDns1", "10.0.0.18", 53124, "10.0.0.53", 53, 17, kT0 + 8'000000);
  {
    DnsTransaction d;
    d.ts_us = kT0 + 8'012345;
    d.flow = &udp;
    d.trans_id = 0x1234;
    d.query = "www.kommune.example";
    d.qclass = 1;
    d.qtype = 1;
    d.rd = d.ra = true;
    d.answers = {"web.kommune.example", "192.0.2.10", "192.0.2.11"};
    d.ttls_us = {3600'000000, 300'000000, 300'000000};
    logs->OnDns(d);
    DnsTransaction nx;
    nx.ts_us = kT0 + 9'000000;
    nx.flow = &udp;
    nx.trans_id = 7;
    nx.query = "ingen\ttab.example";
    nx.qclass = 1;
    nx.qtype = 28;
    nx.rcode = 3;
    nx.aa = true;
    logs->OnDns(nx);
    DnsTransaction refused;
    refused.ts_us = kT0 + 9'500000;
    refused.flow = &udp;
    refused.trans_id = 8;
    refused.rcode = 5;  // no question: qclass and qtype unset, rejected
    refused.tc = true;
    refused.z = 1;
    logs->OnDns(refused);
  }
  FlowRecord dhcp = MakeFlow("CDhcp1", "0.0.0.0", 68, "255.255.255.255", 67, 17, kT0 + 10'000000);
  {
    DhcpTransaction d;
    d.ts_us = kT0 + 10'000000;
    d.flow = &dhcp;
    d.mac = {0x90, 0xb1, 0x1c, 0x99, 0x49, 0x29};
    d.host_name = "btest.is.cool";
    d.requested_addr = Ip("128.2.6.189");
    d.msg_type = "DISCOVER";
    d.vendor_class = "MSFT 5.0";
    logs->OnDhcp(d);
    DhcpTransaction ack;
    ack.ts_us = kT0 + 10'250000;
    ack.flow = &dhcp;
    ack.mac = d.mac;
    ack.server_addr = Ip("128.2.1.2");
    ack.client_fqdn = "btest.is.cool";
    ack.domain = "cmu.edu";
    ack.assigned_addr = Ip("128.2.6.189");
    ack.lease_time_us = 900'000000;
    ack.msg_type = "ACK";
    logs->OnDhcp(ack);
  }
}

// Writes the golden records in `format` into a scratch directory; the caller checks and removes it.
struct GoldenOutput {
  fs::path dir;
  ProtocolLogStats stats;
  std::string close_error;  // "" when Close succeeded
};
GoldenOutput WriteGolden(ZeekLogFormat format) {
  GoldenOutput out;
  out.dir = ScratchDir();
  ProtocolLogs logs(out.dir.string(), format);
  WriteGoldenRecords(&logs);
  auto closed = logs.Close(kT0 + 3600'000000);
  if (!closed) out.close_error = closed.error().message;
  out.stats = logs.stats();
  return out;
}

// Every record written, and each of the five files equal to its golden file.
::testing::AssertionResult MatchesEveryGolden(const GoldenOutput& out, const std::string& ext) {
  const ProtocolLogStats& s = out.stats;
  if (s.ssh != 2 || s.http != 2 || s.ssl != 3 || s.dns != 3 || s.dhcp != 2) {
    return ::testing::AssertionFailure()
           << "records ssh " << s.ssh << " http " << s.http << " ssl " << s.ssl << " dns "
           << s.dns << " dhcp " << s.dhcp << ", expected 2 2 3 3 2";
  }
  for (const char* log : {"ssh", "http", "ssl", "dns", "dhcp"}) {
    auto matched = MatchesGolden(out.dir / (std::string(log) + ".log"), std::string(log) + ext);
    if (!matched) return matched;
  }
  return ::testing::AssertionSuccess();
}

TEST(ProtocolLogGoldenTest, Tsv) {
  GoldenOutput out = WriteGolden(ZeekLogFormat::kTsv);
  EXPECT_EQ(out.close_error, "");
  EXPECT_TRUE(MatchesEveryGolden(out, ".tsv"));
  fs::remove_all(out.dir);
}

TEST(ProtocolLogGoldenTest, Json) {
  GoldenOutput out = WriteGolden(ZeekLogFormat::kJson);
  EXPECT_EQ(out.close_error, "");
  EXPECT_TRUE(MatchesEveryGolden(out, ".json"));
  fs::remove_all(out.dir);
}

TEST(ProtocolLogGoldenTest, NoRecordNoFile) {
  fs::path dir = ScratchDir();
  {
    ProtocolLogs logs(dir.string(), ZeekLogFormat::kTsv);
    FlowRecord plain = MakeFlow("C0", "10.0.0.1", 1, "10.0.0.2", 2, 6, kT0);
    logs.OnFlowEnd(plain);  // attributes, but nothing any of the logs carries
    plain.attributes.reset();
    logs.OnFlowEnd(plain);
    ASSERT_TRUE(logs.Close(kT0).has_value());
  }
  EXPECT_TRUE(fs::is_empty(dir));
  fs::remove_all(dir);
}

TEST(ProtocolLogGoldenTest, UnwritableDirectoryIsAnErrorNotACrash) {
  ProtocolLogs logs("/proc/no-such-dir/protocol-logs", ZeekLogFormat::kJson);
  FlowRecord f = MakeFlow("C1", "10.0.0.1", 1, "10.0.0.2", 22, 6, kT0);
  f.attributes->ssh_version = 2;
  f.attributes->ssh_client = "SSH-2.0-x";
  logs.OnFlowEnd(f);
  logs.OnFlowEnd(f);  // no retry per record
  EXPECT_EQ(logs.stats().write_errors, 1u);
  EXPECT_EQ(logs.stats().ssh, 0u);
  auto closed = logs.Close(kT0);
  ASSERT_FALSE(closed.has_value());
  EXPECT_NE(closed.error().message.find("/proc/no-such-dir"), std::string::npos)
      << closed.error().message;
}

// ---- The extractors feeding the logs on hostile input.

const rules::IpAddress kClient = Ip("198.51.100.7");
const rules::IpAddress kServer = Ip("10.0.0.5");

class ProtocolLogExtractTest : public ::testing::Test {
 protected:
  ProtocolLogExtractTest()
      : dir_(ScratchDir()),
        logs_(dir_.string(), ZeekLogFormat::kTsv),
        extract_(ExtractConfig{}, sensor::testing::TestFingerprints(), sink_,
                 {*rules::Cidr::Parse("10.0.0.0/8")}) {
    extract_.SetProtocolLogs(&logs_);
  }
  ~ProtocolLogExtractTest() override { fs::remove_all(dir_); }

  void StartTcp(uint16_t port) {
    flow_ = FlowRecord();
    flow_.key.proto = 6;
    flow_.id = {kClient, 50000, kServer, port, 6};
    flow_.uid = "Chostile";
    flow_.start_us = kT0;
    flow_.tcp.established = true;
    flow_.history = "ShAD";
    flow_.tcp.orig.syn = flow_.tcp.resp.syn = true;
    flow_.tcp.orig.isn = 999;
    flow_.tcp.resp.isn = 89999;
    seq_[0] = seq_[1] = 0;
  }
  // One TCP segment after the previous one of its direction, split at 1400 bytes.
  void Send(bool from_orig, const std::string& bytes) {
    for (size_t at = 0; at < bytes.size(); at += 1400) {
      std::string_view part = std::string_view(bytes).substr(at, 1400);
      DecodedPacket p;
      p.ip_version = 4;
      p.ip_proto = 6;
      p.src = from_orig ? kClient : kServer;
      p.dst = from_orig ? kServer : kClient;
      p.tcp_seq = (from_orig ? 1000 : 90000) + seq_[from_orig ? 0 : 1];
      seq_[from_orig ? 0 : 1] += static_cast<uint32_t>(part.size());
      p.payload = {reinterpret_cast<const uint8_t*>(part.data()), part.size()};
      p.timestamp_us = kT0 + 1000;
      (from_orig ? flow_.orig : flow_.resp).packets++;
      if (flow_.orig.packets + flow_.resp.packets == 1) flow_.orig.packets++;  // SYN before
      extract_.OnPacket(flow_, p, from_orig);
    }
  }
  void SendUdp(uint16_t port, const std::string& bytes, bool from_orig) {
    DecodedPacket p;
    p.ip_version = 4;
    p.ip_proto = 17;
    p.src = from_orig ? kClient : kServer;
    p.dst = from_orig ? kServer : kClient;
    p.src_port = from_orig ? 50001 : port;
    p.dst_port = from_orig ? port : 50001;
    p.payload = {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
    p.payload_length = static_cast<uint32_t>(bytes.size());
    p.timestamp_us = kT0 + 2000;
    (from_orig ? flow_.orig : flow_.resp).packets++;
    extract_.OnPacket(flow_, p, from_orig);
  }
  void StartUdp(uint16_t port) {
    flow_ = FlowRecord();
    flow_.key.proto = 17;
    flow_.id = {kClient, 50001, kServer, port, 17};
    flow_.uid = "Cudp";
    flow_.start_us = kT0;
  }
  // The data lines of one TSV log, split into fields.
  std::vector<std::vector<std::string>> Lines(const std::string& log) {
    extract_.OnFlowEnd(flow_);
    EXPECT_TRUE(logs_.Flush().has_value());
    std::vector<std::vector<std::string>> out;
    std::ifstream in(dir_ / (log + ".log"));
    std::vector<std::string> fields;
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> parts;
      std::stringstream ss(line);
      for (std::string p; std::getline(ss, p, '\t');) parts.push_back(p);
      if (line.rfind("#fields\t", 0) == 0) fields = parts;
      if (!line.empty() && line[0] != '#') {
        EXPECT_EQ(parts.size() + 1, fields.size()) << "a raw tab or newline in: " << line;
        out.push_back(std::move(parts));
      }
    }
    return out;
  }

  fs::path dir_;
  ProtocolLogs logs_;
  sensor::testing::RecordingSink sink_;
  ExtractorSet extract_;
  FlowRecord flow_;
  uint32_t seq_[2] = {0, 0};
};

// Field positions (0-based) in the TSV lines: ts uid id.orig_h id.orig_p id.resp_h id.resp_p ...
constexpr size_t kHttpUri = 9, kHttpReferrer = 10, kHttpRequestLen = 13, kHttpResponseLen = 14;

TEST_F(ProtocolLogExtractTest, HttpUriIsBoundedAt8KiB) {
  StartTcp(80);
  Send(true, "GET /" + std::string(12000, 'a') + " HTTP/1.1\r\nHost: h.example\r\nReferer: " +
                 std::string(3000, 'r') + "\r\nContent-Length: 99999999999999999999\r\n\r\n");
  Send(false, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
  auto lines = Lines("http");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0][kHttpUri].size(), 8192u);
  EXPECT_EQ(lines[0][kHttpReferrer], std::string(3000, 'r'));
  EXPECT_EQ(lines[0][kHttpRequestLen], "-");   // an unreadable Content-Length is not a length
  EXPECT_EQ(lines[0][kHttpResponseLen], "0");  // 204 has no body, whatever it declares
}

TEST_F(ProtocolLogExtractTest, HttpHeadBeyondTheByteBoundIsNotLogged) {
  StartTcp(80);
  Send(true, "GET /" + std::string(40000, 'a') + " HTTP/1.1\r\nHost: h.example\r\n\r\n");
  EXPECT_TRUE(Lines("http").empty());
}

TEST_F(ProtocolLogExtractTest, HttpChunkedAndCloseDelimitedBodiesAreUnknown) {
  StartTcp(80);
  Send(true, "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  Send(false, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody until close");
  auto lines = Lines("http");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0][kHttpRequestLen], "-");
  EXPECT_EQ(lines[0][kHttpResponseLen], "-");
}

TEST_F(ProtocolLogExtractTest, SshBannerWithControlBytesIsEscapedAndBounded) {
  StartTcp(22);
  Send(false, "SSH-2.0-Evil\tServer\x01\x7f" + std::string(1000, 'x') + "\r\n");
  Send(true, "SSH-2.0-OpenSSH_9.2p1\r\n");
  auto lines = Lines("ssh");
  ASSERT_EQ(lines.size(), 1u);
  const auto& l = lines[0];
  EXPECT_EQ(l[6], "2");
  EXPECT_EQ(l[7], "-");        // auth_success
  EXPECT_EQ(l[8], "INBOUND");  // a remote client to a server in 10.0.0.0/8
  EXPECT_EQ(l[9], "SSH-2.0-OpenSSH_9.2p1");
  EXPECT_LE(l[10].size(), 4u * 255);  // bounded before escaping
  EXPECT_EQ(l[10].find('\t'), std::string::npos);
}

// A minimal TLS 1.2 ClientHello record (RFC 5246 7.4.1.2) with one suite and no extensions.
std::string ClientHelloRecord() {
  std::string body = "\x03\x03" + std::string(32, '\x11') + std::string("\x00\x00\x02\xc0\x2f\x01\x00", 7);
  std::string hs = "\x01" + std::string("\x00\x00", 2) + static_cast<char>(body.size()) + body;
  return std::string("\x16\x03\x01\x00", 4) + static_cast<char>(hs.size()) + hs;
}

TEST_F(ProtocolLogExtractTest, TruncatedServerHelloLeavesTheHandshakeUnestablished) {
  StartTcp(443);
  Send(true, ClientHelloRecord());
  // A ServerHello message of 10 bytes: its record is complete, its body is not a ServerHello.
  std::string body = std::string("\x03\x03", 2) + std::string(8, '\x22');
  std::string hs = "\x02" + std::string("\x00\x00", 2) + static_cast<char>(body.size()) + body;
  Send(false, std::string("\x16\x03\x03\x00", 4) + static_cast<char>(hs.size()) + hs);
  ExtractStats before = extract_.stats();
  auto lines = Lines("ssl");
  ASSERT_EQ(lines.size(), 1u);
  const auto& l = lines[0];
  EXPECT_EQ(l[6], "-");  // version
  EXPECT_EQ(l[7], "-");  // cipher
  EXPECT_EQ(l[8], "-");  // curve
  EXPECT_EQ(l[10], "F");  // established
  EXPECT_EQ(l[14].size(), 32u);  // ja3 of the ClientHello
  EXPECT_GE(before.malformed, 1u);
}

TEST_F(ProtocolLogExtractTest, Tls13ServerHelloNamesVersionCipherAndGroup) {
  StartTcp(443);
  Send(true, ClientHelloRecord());
  // legacy_version, random, empty session id, TLS_AES_128_GCM_SHA256, no compression, then
  // supported_versions (0x0304) and key_share (x25519 with a 32-byte key).
  std::string ext = std::string("\x00\x2b\x00\x02\x03\x04", 6) +
                    std::string("\x00\x33\x00\x24\x00\x1d\x00\x20", 8) + std::string(32, '\x33');
  std::string body = std::string("\x03\x03", 2) + std::string(32, '\x22') +
                     std::string("\x00\x13\x01\x00\x00", 5) + static_cast<char>(ext.size()) + ext;
  std::string hs = "\x02" + std::string("\x00\x00", 2) + static_cast<char>(body.size()) + body;
  Send(false, std::string("\x16\x03\x03\x00", 4) + static_cast<char>(hs.size()) + hs);
  auto lines = Lines("ssl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0][6], "TLSv13");
  EXPECT_EQ(lines[0][7], "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(lines[0][8], "x25519");
  EXPECT_EQ(lines[0][10], "T");
}

// A DNS response header (RFC 1035 4.1.1) and the question for "a.example" IN A.
std::string DnsResponseHead(uint16_t answers) {
  std::string m("\xbe\xef\x81\x80\x00\x01\x00", 7);
  m += static_cast<char>(answers);
  m += std::string("\x00\x00\x00\x00", 4);
  m += std::string("\x01" "a" "\x07" "example" "\x00" "\x00\x01\x00\x01", 15);
  return m;
}

TEST_F(ProtocolLogExtractTest, DnsResponseCutShortIsNotACrash) {
  StartUdp(53);
  std::string m = DnsResponseHead(2);
  // One whole A record (name = pointer to the question), then one cut in its RDATA.
  std::string rr("\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x0a", 16);
  SendUdp(53, std::string("\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12) +
                  m.substr(12), true);
  SendUdp(53, m + rr + rr.substr(0, 13), false);
  auto lines = Lines("dns");
  // Either the parser keeps what it read or refuses the message; a line must be well-formed.
  for (const auto& l : lines) {
    EXPECT_EQ(l[8], "a.example");
    EXPECT_EQ(l[7], "48879");  // trans_id 0xbeef
  }
}

TEST_F(ProtocolLogExtractTest, DnsPointerLoopIsNotACrash) {
  StartUdp(53);
  std::string m = DnsResponseHead(1);
  // An answer whose name points at itself.
  std::string rr("\xc0\x1b\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x0a", 16);
  SendUdp(53, m + rr, false);
  for (const auto& l : Lines("dns")) EXPECT_EQ(l[8], "a.example");
}

TEST_F(ProtocolLogExtractTest, DnsAnswersMatchTheirTtls) {
  StartUdp(53);
  std::string m = DnsResponseHead(2);
  std::string a1("\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x0a", 16);
  std::string a2("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x0b", 16);
  SendUdp(53, m + a1 + a2, false);
  auto lines = Lines("dns");
  ASSERT_EQ(lines.size(), 1u);
  const auto& l = lines[0];
  EXPECT_EQ(l[6], "udp");
  EXPECT_EQ(l[9], "1");  // qclass
  EXPECT_EQ(l[10], "C_INTERNET");
  EXPECT_EQ(l[12], "A");
  EXPECT_EQ(l[14], "NOERROR");
  EXPECT_EQ(l[20], "192.0.2.10,192.0.2.11");
  EXPECT_EQ(l[21], "3600.000000,60.000000");
  EXPECT_EQ(l[22], "F");
}

// ---- Parser pieces the logs need, on truncated and oversized input.

TEST(ProtocolLogParsersTest, ServerKeyExchangeCurve) {
  auto bytes = [](std::string_view s) {
    return extract::Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  std::string ok = std::string("\x03\x00\x17\x41", 4) + std::string(65, '\x04');
  EXPECT_EQ(extract::EcdheServerCurve(bytes(ok)), 23);
  EXPECT_FALSE(extract::EcdheServerCurve(bytes(ok.substr(0, 30))));  // point cut short
  EXPECT_FALSE(extract::EcdheServerCurve(bytes(ok.substr(0, 3))));
  EXPECT_FALSE(extract::EcdheServerCurve(bytes(std::string("\x01\x00\x17\x01\x00", 5))));
  EXPECT_FALSE(extract::EcdheServerCurve(bytes("")));
  EXPECT_TRUE(extract::IsEcdheCipher(0xc02f));
  EXPECT_TRUE(extract::IsEcdheCipher(0xcca8));
  EXPECT_FALSE(extract::IsEcdheCipher(0x009c));  // RSA key exchange
  EXPECT_FALSE(extract::IsEcdheCipher(0x1301));  // TLS 1.3: the group is in key_share
}

TEST(ProtocolLogParsersTest, ServerHelloKeyShareTruncated) {
  std::string body = std::string("\x03\x03", 2) + std::string(32, '\x22') +
                     std::string("\x00\x13\x01\x00\x00\x0a\x00\x33\x00\x24\x00\x1d", 12);
  auto hello = extract::ParseServerHello(
      extract::Bytes(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  EXPECT_FALSE(hello.has_value());  // the extension claims 36 bytes of 10
}

TEST(ProtocolLogParsersTest, HttpHeadLengths) {
  auto head = extract::ParseHttpHead(
      "HTTP/1.1 200 OK\r\nContent-Length: 4705\r\nX-Powered-By: PHP/8.2\r\n\r\n");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->content_length, 4705);
  EXPECT_FALSE(head->length_unknown);
  EXPECT_EQ(head->powered_by, "PHP/8.2");
  auto bad = extract::ParseHttpHead("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n");
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->content_length, -1);
  EXPECT_TRUE(bad->length_unknown);
  auto big = extract::ParseHttpHead("HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456\r\n\r\n");
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->content_length, -1);
  EXPECT_TRUE(big->length_unknown);
}

}  // namespace
}  // namespace sensor
