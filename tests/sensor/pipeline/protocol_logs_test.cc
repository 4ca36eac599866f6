// ssh.log, http.log, ssl.log, dns.log and dhcp.log from Zeek's own traces through the sensor path
// (pcap -> decoder -> flows -> nDPI -> extractors -> ProtocolLogs), compared with Zeek's
// baselines (../shared/testdata/MANIFEST.md: Z07, Z11, Z14, Z29, Z30) field by field where both
// log the same thing. Differences by design (docs/inventory.md "Protocol logs"): one line per
// flow's first transaction (HTTP), one dhcp.log line per message rather than per exchange, the
// leaf certificate only in cert_chain_fps.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rules/fingerprint.h"
#include "sensor/config.h"
#include "sensor/extract/extractor_set.h"
#include "sensor/inventory/inventory.h"
#include "sensor/output/protocol_log.h"
#include "sensor/pipeline/pipeline.h"

namespace sensor {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const std::string kZeek = std::string(SHARED_DIR) + "/testdata/zeek/testing/btest/";

class ProtocolLogRun {
 public:
  explicit ProtocolLogRun(const std::string& pcap) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::temp_directory_path() /
            ("protocol_logs." + std::to_string(getpid()) + "." + info->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Run(pcap);
  }
  ~ProtocolLogRun() { fs::remove_all(dir_); }

  std::vector<Json> Lines(const std::string& log) const {
    std::vector<Json> out;
    std::ifstream in(dir_ + "/" + log + ".log");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(Json::parse(line));
    }
    return out;
  }

 private:
  void Run(const std::string& pcap) {
    SensorConfig config;
    config.local_nets = DefaultLocalNets();
    config.logs.directory = dir_;
    auto fingerprints = rules::LoadFingerprintDb(UTKIKK_FINGERPRINT_DIR);
    ASSERT_TRUE(fingerprints.has_value()) << fingerprints.error().message;
    auto inventory = Inventory::Open(dir_ + "/inventory.db", InventoryConfig{});
    ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
    ProtocolLogs logs(dir_, ZeekLogFormat::kJson);
    ExtractorSet extractors(ExtractConfig{}, &*fingerprints, **inventory, config.local_nets);
    extractors.SetProtocolLogs(&logs);
    auto sink = OpenZeekLogSink(dir_, config.logs.format, "protocol-logs");
    ASSERT_TRUE(sink.has_value()) << sink.error().message;
    auto classifier = MakeNdpiClassifier(ClassifierConfig{});
    ASSERT_TRUE(classifier.has_value()) << classifier.error().message;
    // A path relative to Zeek's Traces, or one under the shared test data.
    auto source = OpenPcapFile(pcap.rfind(SHARED_DIR, 0) == 0 ? pcap : kZeek + "Traces/" + pcap);
    ASSERT_TRUE(source.has_value()) << source.error().message;
    {
      Pipeline pipeline(config, std::move(*classifier), std::move(*sink), &extractors);
      std::atomic<bool> stop{false};
      auto done = RunCapture(**source, pipeline, stop, {});
      ASSERT_TRUE(done.has_value()) << done.error().message;
    }
    ASSERT_TRUE(logs.Close(0).has_value()) << logs.error();
    ASSERT_TRUE((*inventory)->Close().has_value());
  }

  std::string dir_;
};

// Zeek's TSV baseline as maps from field name to value.
std::vector<std::map<std::string, std::string>> Baseline(const std::string& path) {
  std::vector<std::map<std::string, std::string>> out;
  std::ifstream in(kZeek + "Baseline/" + path);
  std::vector<std::string> fields;
  for (std::string line; std::getline(in, line);) {
    auto split = [](const std::string& s) {
      std::vector<std::string> parts;
      std::stringstream ss(s);
      for (std::string p; std::getline(ss, p, '\t');) parts.push_back(p);
      return parts;
    };
    if (line.rfind("#fields\t", 0) == 0) {
      fields = split(line.substr(8));
    } else if (!line.empty() && line[0] != '#') {
      auto values = split(line);
      std::map<std::string, std::string> row;
      for (size_t i = 0; i < fields.size() && i < values.size(); ++i) row[fields[i]] = values[i];
      out.push_back(std::move(row));
    }
  }
  return out;
}

std::string Key(const std::string& orig_h, const std::string& orig_p) {
  return orig_h + ":" + orig_p;
}

::testing::AssertionResult SshAgrees(const std::string& pcap, const std::string& baseline) {
  ProtocolLogRun run(pcap);
  std::map<std::string, Json> ours;
  for (const Json& j : run.Lines("ssh")) {
    ours[Key(j["id.orig_h"], std::to_string(j["id.orig_p"].get<int>()))] = j;
  }
  auto expected = Baseline(baseline);
  if (expected.empty()) return ::testing::AssertionFailure() << "no baseline lines";
  std::ostringstream problems;
  for (const auto& row : expected) {
    auto it = ours.find(Key(row.at("id.orig_h"), row.at("id.orig_p")));
    if (it == ours.end()) {
      problems << "\n  missing " << row.at("id.orig_h") << ":" << row.at("id.orig_p");
      continue;
    }
    const Json& j = it->second;
    if (j.value("client", "") != row.at("client") || j.value("server", "") != row.at("server") ||
        std::to_string(j.value("version", 0)) != row.at("version") ||
        j.value("direction", "-") != row.at("direction") ||
        std::to_string(j["id.resp_p"].get<int>()) != row.at("id.resp_p")) {
      problems << "\n  " << j.dump() << " vs Zeek client=" << row.at("client")
               << " server=" << row.at("server") << " version=" << row.at("version")
               << " direction=" << row.at("direction");
    }
  }
  if (!problems.str().empty()) return ::testing::AssertionFailure() << problems.str();
  return ::testing::AssertionSuccess() << expected.size() << " sessions agree";
}

// conn.log's `service` for every connection in Zeek's conn.log baselines (Z07, Z14, Z33): SSH on
// 22 and on non-standard ports, FTP control and data, DHCP. Connections are matched by their two
// endpoints in either order (Zeek turns a DHCP reply's connection round, "^" in its history).
// `explained`: "a:p-b:p" of connections whose service differs from Zeek's, with the reason.
::testing::AssertionResult ConnServiceAgrees(const std::string& pcap, const std::string& baseline,
                                             const std::map<std::string, std::string>& explained) {
  auto pair_key = [](const std::string& a, const std::string& ap, const std::string& b,
                     const std::string& bp) {
    return std::min(Key(a, ap), Key(b, bp)) + "-" + std::max(Key(a, ap), Key(b, bp));
  };
  ProtocolLogRun run(pcap);
  std::map<std::string, std::string> ours;
  for (const Json& j : run.Lines("conn")) {
    ours[pair_key(j["id.orig_h"], std::to_string(j["id.orig_p"].get<int>()), j["id.resp_h"],
                  std::to_string(j["id.resp_p"].get<int>()))] = j.value("service", "-");
  }
  auto expected = Baseline(baseline);
  if (expected.empty()) return ::testing::AssertionFailure() << "no baseline lines";
  std::ostringstream problems;
  size_t agreeing = 0;
  for (const auto& row : expected) {
    const std::string key =
        pair_key(row.at("id.orig_h"), row.at("id.orig_p"), row.at("id.resp_h"), row.at("id.resp_p"));
    auto it = ours.find(key);
    if (it == ours.end()) {
      problems << "\n  missing " << key;
    } else if (it->second == row.at("service")) {
      ++agreeing;
      if (explained.count(key)) problems << "\n  " << key << " agrees now: drop its explanation";
    } else if (!explained.count(key)) {
      problems << "\n  " << key << ": " << it->second << " vs Zeek " << row.at("service");
    }
  }
  if (!problems.str().empty()) return ::testing::AssertionFailure() << problems.str();
  return ::testing::AssertionSuccess() << agreeing << " of " << expected.size() << " agree";
}

TEST(ProtocolLogsTest, ConnServiceAgreesWithZeek) {
  EXPECT_TRUE(ConnServiceAgrees("ssh/ssh.pcap", "scripts.base.protocols.ssh.basic/conn.log", {}));
  EXPECT_TRUE(ConnServiceAgrees("ftp/ipv4.pcap", "scripts.base.protocols.ftp.ftp-ipv4/conn.log",
                                {}));
  EXPECT_TRUE(ConnServiceAgrees(
      "dhcp/dhcp.pcap", "scripts.base.protocols.dhcp.dhcp-all-msg-types/conn.log", {}));
}

// The service is the protocol the parsers confirmed from a TCP flow's payload, also where nDPI
// 4.2's label says otherwise or nothing; nDPI's label stays in `app`.
TEST(ProtocolLogsTest, ConnServiceIsTheProtocolThePayloadShowed) {
  const std::string ndpi = std::string(SHARED_DIR) + "/testdata/ndpi/pcap/";
  auto conn = [](const ProtocolLogRun& run, int resp_p) {
    std::vector<Json> out;
    for (const Json& j : run.Lines("conn")) {
      if (j["id.resp_p"].get<int>() == resp_p && j["proto"] == "tcp") out.push_back(j);
    }
    return out;
  };
  {  // SMB2 on 445: nDPI says NetBIOS.SMBv23 (Zeek service of NetBIOS: netbios-ssn).
    ProtocolLogRun run(ndpi + "smb_deletefile.pcap");
    auto flows = conn(run, 445);
    ASSERT_FALSE(flows.empty());
    for (const Json& j : flows) {
      EXPECT_EQ(j.value("service", ""), "smb") << j.dump();
      EXPECT_EQ(j.value("app", ""), "NetBIOS.SMBv23") << j.dump();
    }
  }
  {  // DCE-RPC on a dynamic port, which nDPI does not name.
    ProtocolLogRun run(ndpi + "kerberos.pcap");
    auto flows = conn(run, 49155);
    ASSERT_FALSE(flows.empty());
    for (const Json& j : flows) EXPECT_EQ(j.value("service", ""), "dce_rpc") << j.dump();
    // LDAP binds and searches of a domain controller, which nDPI 4.2 only guesses from port
    // 389 (no app); and port 445 without payload, which nDPI guesses is SMB: no service.
    auto ldap = conn(run, 389);
    ASSERT_FALSE(ldap.empty());
    size_t with_payload = 0;
    for (const Json& j : ldap) {
      if (j.value("orig_bytes", 0) == 0) continue;
      ++with_payload;
      EXPECT_EQ(j.value("service", ""), "ldap") << j.dump();
    }
    EXPECT_GT(with_payload, 0u);
    for (const Json& j : conn(run, 445)) {
      if (j.value("orig_bytes", 0) == 0 && j.value("resp_bytes", 0) == 0) {
        EXPECT_FALSE(j.contains("service")) << j.dump();
        EXPECT_FALSE(j.contains("app")) << j.dump();
      }
    }
  }
  {  // RTSP heads read like HTTP's, but RTSP is not HTTP: no service from them.
    ProtocolLogRun run(ndpi + "rtsp.pcap");
    auto flows = conn(run, 8554);
    ASSERT_FALSE(flows.empty());
    size_t with_payload = 0;
    for (const Json& j : flows) {
      EXPECT_FALSE(j.contains("service")) << j.dump();
      if (j.value("orig_bytes", 0) > 0) {
        ++with_payload;
        EXPECT_EQ(j.value("app", ""), "RTSP") << j.dump();
      }
    }
    EXPECT_GT(with_payload, 0u);
  }
}

TEST(ProtocolLogsTest, Z07SshLogAgreesWithZeek) {
  EXPECT_TRUE(SshAgrees("ssh/ssh.pcap", "scripts.base.protocols.ssh.basic/ssh.log"));
}

TEST(ProtocolLogsTest, Z11SshVersion199) {
  EXPECT_TRUE(
      SshAgrees("ssh/ssh_version_199.pcap", "scripts.base.protocols.ssh.ssh_version_199/ssh.log"));
}

TEST(ProtocolLogsTest, Z29SslLogAgreesWithZeek) {
  ProtocolLogRun run("tls/tls-conn-with-extensions.pcap");
  auto ours = run.Lines("ssl");
  auto zeek = Baseline("scripts.base.protocols.ssl.basic/ssl.log");
  ASSERT_EQ(zeek.size(), 1u);
  ASSERT_EQ(ours.size(), 1u);
  const Json& j = ours[0];
  const auto& z = zeek[0];
  EXPECT_EQ(j["id.orig_h"], z.at("id.orig_h"));
  EXPECT_EQ(std::to_string(j["id.orig_p"].get<int>()), z.at("id.orig_p"));
  EXPECT_EQ(j["version"], z.at("version"));
  EXPECT_EQ(j["cipher"], z.at("cipher"));
  EXPECT_EQ(j["curve"], z.at("curve"));  // from the ServerKeyExchange
  EXPECT_EQ(j["server_name"], z.at("server_name"));
  EXPECT_EQ(j["established"], z.at("established") == "T");
  // Zeek lists the chain; the sensor hashes the leaf, which is Zeek's first.
  ASSERT_TRUE(j.contains("cert_chain_fps"));
  EXPECT_EQ(z.at("cert_chain_fps").substr(0, 64), j["cert_chain_fps"][0]);
  EXPECT_NE(j.value("subject", "").find("gstatic.com"), std::string::npos) << j.dump();
  // Both in RFC 2253 order, as Zeek writes them (its known-certs baseline of the same issuer:
  // "CN=Google Internet Authority G2,O=Google Inc,C=US").
  EXPECT_EQ(j.value("subject", "").rfind("CN=", 0), 0u) << j.dump();
  EXPECT_EQ(j.value("issuer", "").rfind("CN=", 0), 0u) << j.dump();
  EXPECT_NE(j.value("issuer", "").find(",O=Google Inc,C=US"), std::string::npos) << j.dump();
  EXPECT_EQ(j.value("ja3", "").size(), 32u);
}

TEST(ProtocolLogsTest, Z30HttpLogHasTheFirstTransaction) {
  ProtocolLogRun run("http/get.pcap");
  auto ours = run.Lines("http");
  ASSERT_EQ(ours.size(), 1u);
  const Json& j = ours[0];
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["host"], "bro.org");
  EXPECT_FALSE(j.value("uri", "").empty());
  EXPECT_EQ(j["version"], "1.1");
  EXPECT_EQ(j["user_agent"], "Wget/1.14 (darwin12.2.0)");
  EXPECT_EQ(j["status_code"], 200);
  EXPECT_EQ(j["status_msg"], "OK");
  EXPECT_EQ(j["server"], "Apache/2.4.3 (Fedora)");
  // all-headers-event's `out`: no body in the GET, Content-Length 4705 in the response.
  EXPECT_EQ(j["request_body_len"], 0);
  EXPECT_EQ(j["response_body_len"], 4705);
  EXPECT_FALSE(j.contains("referrer"));
}

TEST(ProtocolLogsTest, Z14DhcpLogHasEveryMessageZeekMerged) {
  ProtocolLogRun run("dhcp/dhcp.pcap");
  std::multiset<std::string> ours_types;
  std::set<std::string> names, domains, assigned;
  std::set<double> leases;
  for (const Json& j : run.Lines("dhcp")) {
    for (const auto& t : j["msg_types"]) ours_types.insert(t.get<std::string>());
    EXPECT_EQ(j["mac"], "90:b1:1c:99:49:29");
    if (j.contains("host_name")) names.insert(j["host_name"]);
    if (j.contains("domain")) domains.insert(j["domain"]);
    if (j.contains("assigned_addr")) assigned.insert(j["assigned_addr"]);
    if (j.contains("lease_time")) leases.insert(j["lease_time"].get<double>());
  }
  std::multiset<std::string> zeek_types;
  for (const auto& row : Baseline("scripts.base.protocols.dhcp.dhcp-all-msg-types/dhcp.log")) {
    std::stringstream ss(row.at("msg_types"));
    for (std::string t; std::getline(ss, t, ',');) zeek_types.insert(t);
  }
  EXPECT_EQ(ours_types, zeek_types);
  EXPECT_TRUE(names.count("btest.is.cool"));
  EXPECT_TRUE(domains.count("cmu.edu"));
  EXPECT_TRUE(assigned.count("128.2.6.189"));
  EXPECT_TRUE(leases.count(900.0));
  // Zeek's client_addr/server_addr: the ends' addresses unless 0.0.0.0 or broadcast (its merged
  // first line has 128.2.6.97 and 128.2.6.152, its RELEASE and INFORM lines neither).
  for (const Json& j : run.Lines("dhcp")) {
    const std::string type = j["msg_types"][0];
    if (type == "OFFER") {
      EXPECT_EQ(j.value("client_addr", "-"), "128.2.6.97") << j.dump();
      EXPECT_EQ(j.value("server_addr", "-"), "128.2.6.152") << j.dump();
    } else if (type == "RELEASE" || type == "INFORM") {
      EXPECT_FALSE(j.contains("client_addr")) << j.dump();
      EXPECT_FALSE(j.contains("server_addr")) << j.dump();
    }
  }
}

TEST(ProtocolLogsTest, DnsLogHasQueriesAnswersAndTtls) {
  ProtocolLogRun run("dns/mdns.pcap");
  auto ours = run.Lines("dns");
  ASSERT_FALSE(ours.empty());
  size_t with_answers = 0;
  for (const Json& j : ours) {
    EXPECT_TRUE(j.contains("trans_id"));
    EXPECT_EQ(j["proto"], "udp");
    if (j.contains("answers")) {
      ++with_answers;
      EXPECT_EQ(j["answers"].size(), j["TTLs"].size()) << j.dump();
    }
  }
  EXPECT_GT(with_answers, 0u);
}

// FoxIO's ja4 tls-handshake.pcapng (testdata/ja4) against tshark 4.0.17, per connection:
//   tshark -r tls-handshake.pcapng -Y 'tls.handshake.type==2 || tls.handshake.type==12' -T fields
//     -e tcp.dstport -e tls.handshake.extensions.supported_version -e tls.handshake.version
//     -e tls.handshake.extensions_key_share_group -e tls.handshake.server_named_curve
// 59 TCP handshakes: TLS 1.3 with x25519 (48) or secp256r1 (5) key shares, TLS 1.2 ECDHE with
// secp256r1 (5) or secp384r1 (1) in the ServerKeyExchange (all 59 agree connection by connection
// with that command; here the totals).
TEST(ProtocolLogsTest, SslVersionAndCurveAgreeWithTshark) {
  ProtocolLogRun run(std::string(SHARED_DIR) + "/testdata/ja4/pcap/tls-handshake.pcapng");
  std::map<std::string, int> counts;
  for (const Json& j : run.Lines("ssl")) {
    counts[j.value("version", "-") + " " + j.value("curve", "-")]++;
  }
  std::map<std::string, int> expected = {{"TLSv13 x25519", 48},
                                         {"TLSv13 secp256r1", 5},
                                         {"TLSv12 secp256r1", 5},
                                         {"TLSv12 secp384r1", 1}};
  EXPECT_EQ(counts, expected);
}

// nDPI's dns.pcap (MANIFEST.md, ndpi/pcap) against tshark 4.0.17's reading of it:
//   tshark -r dns.pcap -Y dns.flags.response==1 -T fields -e dns.id -e dns.qry.name
//          -e dns.qry.type -e dns.flags.rcode -e dns.a -e dns.resp.ttl
// 0xdca2 www.l.google.com 28 0 / 0xbc1f www.example.com 28 0 / 0x7843 e7.whatsapp.net 1 0 with
// eight A records, TTL 491 each.
TEST(ProtocolLogsTest, DnsLogAgreesWithTshark) {
  ProtocolLogRun run(std::string(SHARED_DIR) + "/testdata/ndpi/pcap/dns.pcap");
  std::map<int, Json> ours;
  for (const Json& j : run.Lines("dns")) ours[j["trans_id"].get<int>()] = j;
  ASSERT_EQ(ours.size(), 3u);
  EXPECT_EQ(ours[0xdca2]["query"], "www.l.google.com");
  EXPECT_EQ(ours[0xdca2]["qtype_name"], "AAAA");
  EXPECT_EQ(ours[0xbc1f]["query"], "www.example.com");
  EXPECT_EQ(ours[0xbc1f]["rcode_name"], "NOERROR");
  const Json& w = ours[0x7843];
  EXPECT_EQ(w["query"], "e7.whatsapp.net");
  EXPECT_EQ(w["qtype"], 1);
  EXPECT_EQ(w["qclass_name"], "C_INTERNET");
  const std::vector<std::string> expected = {
      "169.45.219.235", "169.47.40.142", "169.45.248.121", "108.168.176.234",
      "169.45.248.189", "169.45.248.180", "169.53.81.79", "169.45.219.232"};
  EXPECT_EQ(w["answers"].get<std::vector<std::string>>(), expected);
  ASSERT_EQ(w["TTLs"].size(), 8u);
  for (const auto& ttl : w["TTLs"]) EXPECT_EQ(ttl.get<double>(), 491.0);
  EXPECT_EQ(w["rejected"], false);
}

}  // namespace
}  // namespace sensor
