#include "sensor/alerts/alerting.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rules/yaml.h"
#include "sensor/alerts/alert_store.h"

namespace sensor {
namespace {

using Json = nlohmann::json;

constexpr int64_t kT0 = 1'700'000'000'000'000;  // packet time, µs
constexpr int64_t kSecond = 1'000'000;
constexpr const char* kApacheRule = "apache-httpd-cve-2021-41773";

// A fresh temporary directory, removed at the end.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("alerting_test." + std::to_string(getpid()) + "." + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Counts what the tee forwards.
class CountingSink : public rules::FactSink {
 public:
  void OnAddress(const rules::AddressFact&) override { ++others; }
  void OnName(const rules::NameFact&) override { ++others; }
  void OnOs(const rules::OsFact&) override { ++others; }
  void OnService(const rules::ServiceFact&) override { ++services; }
  void OnSoftware(const rules::SoftwareFact&) override { ++software; }
  int services = 0;
  int software = 0;
  int others = 0;
};

rules::IpAddress Ip(const char* text) { return *rules::IpAddress::Parse(text); }

rules::SoftwareFact Apache(const std::string& version, int64_t ts) {
  rules::SoftwareFact f;
  f.host.ip = Ip("10.30.0.20");
  f.port = 80;
  f.role = "server";
  f.kind = "http_servers";
  f.vendor = "Apache";
  f.product = "HTTP Server";
  f.version = version;
  f.cpe23 = "cpe:2.3:a:apache:http_server:" + version + ":*:*:*:*:*:*:*";
  f.origin.ts_us = ts;
  f.origin.source = "http";
  f.origin.uid = "CApache1";
  f.origin.raw = "Apache/" + version + " (Debian)";
  return f;
}

rules::ServiceFact Service(const char* host, uint16_t port, const char* protocol,
                           const char* client, bool exposed, int64_t ts) {
  rules::ServiceFact f;
  f.host.ip = Ip(host);
  f.port = port;
  f.protocol = protocol;
  f.client = Ip(client);
  f.exposed = exposed;
  f.origin.ts_us = ts;
  f.origin.uid = "CService1";
  return f;
}

FlowRecord Flow(const char* orig, uint16_t orig_port, const char* resp, uint16_t resp_port,
                const char* service, bool answered, int64_t ts) {
  FlowRecord flow;
  flow.uid = "CFlow1";
  flow.start_us = ts;
  flow.last_us = ts + kSecond;
  flow.id.orig_h = Ip(orig);
  flow.id.orig_p = orig_port;
  flow.id.resp_h = Ip(resp);
  flow.id.resp_p = resp_port;
  flow.id.proto = 6;
  flow.key.proto = 6;
  flow.classification.service = service;
  flow.orig.packets = 3;
  if (answered) {
    flow.tcp.syn_ack = true;
    flow.tcp.established = true;
    flow.resp.packets = 2;
  }
  return flow;
}

class AlertingTest : public ::testing::Test {
 protected:
  std::string db() const { return dir_.path() + "/inventory.db"; }
  std::string notice_path() const { return dir_.path() + "/notice.log"; }

  AlertsSettings Settings() const {
    AlertsSettings s;
    s.rule_files = {"software-servers.yaml", "policy-cleartext.yaml", "policy-exposure.yaml",
                    std::string(TEST_DATA_DIR) + "/alerts/indicator-ips.yaml"};
    return s;
  }

  std::unique_ptr<Alerting> Open() {
    auto opened = OpenAlerting(Settings(), db(), dir_.path(), ZeekLogFormat::kJson, "sensor-test",
                               {*rules::Cidr::Parse("10.0.0.0/8")}, next_);
    EXPECT_TRUE(opened.has_value()) << (opened ? "" : opened.error().message);
    return opened ? std::move(*opened) : nullptr;
  }

  std::vector<Json> Notices(const std::string& note = "") const {
    std::vector<Json> out;
    std::ifstream in(notice_path());
    std::string line;
    while (std::getline(in, line)) {
      Json j = Json::parse(line);
      if (note.empty() || j["note"] == note) out.push_back(j);
    }
    return out;
  }

  std::vector<StoredAlert> Rows(const std::string& rule = "") const {
    auto rows = ReadAlerts(db(), INT64_MIN);
    EXPECT_TRUE(rows.has_value()) << (rows ? "" : rows.error().message);
    std::vector<StoredAlert> out;
    if (!rows) return out;
    for (auto& r : *rows) {
      if (rule.empty() || r.rule_id == rule) out.push_back(r);
    }
    return out;
  }

  TempDir dir_;
  CountingSink next_;
};

TEST_F(AlertingTest, VulnerableApacheRaisesCveAlertInNoticeLogAndTable) {
  auto alerting = Open();
  ASSERT_NE(alerting, nullptr);
  alerting->facts().OnSoftware(Apache("2.4.49", kT0));
  ASSERT_TRUE(alerting->Flush().has_value());
  EXPECT_EQ(next_.software, 1);  // forwarded to the inventory

  auto notices = Notices(kApacheRule);
  ASSERT_EQ(notices.size(), 1u);
  const Json& n = notices[0];
  EXPECT_EQ(n["sub"], "CVE-2021-41773");
  EXPECT_EQ(n["src"], "10.30.0.20");
  EXPECT_EQ(n["p"], 80);
  EXPECT_EQ(n["n"], 1);
  EXPECT_EQ(n["uid"], "CApache1");
  EXPECT_EQ(n["peer_descr"], "sensor-test");
  EXPECT_EQ(n["actions"], Json::array({"Notice::ACTION_LOG"}));
  EXPECT_EQ(n["severity"], "critical");
  EXPECT_EQ(n["rule_version"], 1);
  EXPECT_FALSE(n.contains("id.orig_h"));  // a fact, not a connection
  EXPECT_NE(n["msg"].get<std::string>().find("Apache/2.4.49 (Debian)"), std::string::npos);

  auto rows = Rows(kApacheRule);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 1u);
  EXPECT_EQ(rows[0].first_seen_us, kT0);
  EXPECT_EQ(rows[0].last_seen_us, kT0);
  EXPECT_EQ(rows[0].key, "10.30.0.20:80/apache:http_server");
  EXPECT_EQ(rows[0].cves, std::vector<std::string>{"CVE-2021-41773"});
  EXPECT_TRUE(rows[0].known_exploited);
  EXPECT_EQ(rows[0].uid, "CApache1");
  EXPECT_FALSE(rows[0].advice_nb.empty());
  EXPECT_FALSE(rows[0].advice_en.empty());
  EXPECT_EQ(rows[0].severity, "critical");
}

TEST_F(AlertingTest, RepeatInsideWindowUpdatesCountWithoutNewNotice) {
  auto alerting = Open();
  ASSERT_NE(alerting, nullptr);
  alerting->facts().OnSoftware(Apache("2.4.49", kT0));
  alerting->facts().OnSoftware(Apache("2.4.49", kT0 + 60 * kSecond));
  ASSERT_TRUE(alerting->Flush().has_value());
  EXPECT_EQ(Notices(kApacheRule).size(), 1u);
  auto rows = Rows(kApacheRule);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 2u);
  EXPECT_EQ(rows[0].first_seen_us, kT0);
  EXPECT_EQ(rows[0].last_seen_us, kT0 + 60 * kSecond);

  // After the flush, a repeat still lands in the same row.
  alerting->facts().OnSoftware(Apache("2.4.49", kT0 + 120 * kSecond));
  ASSERT_TRUE(alerting->Close().has_value());
  rows = Rows(kApacheRule);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 3u);
  EXPECT_EQ(rows[0].last_seen_us, kT0 + 120 * kSecond);
  // Every Apache rule that matched (41773, 42013, ...) had its two repeats suppressed.
  EXPECT_GE(alerting->stats().emitted, 2u);
  EXPECT_EQ(alerting->stats().suppressed, 2 * alerting->stats().emitted);
}

TEST_F(AlertingTest, SecondRunOverSameCaptureUpdatesRowsInsteadOfAdding) {
  for (int run = 0; run < 2; ++run) {
    auto alerting = Open();
    ASSERT_NE(alerting, nullptr);
    alerting->facts().OnSoftware(Apache("2.4.49", kT0));
    ASSERT_TRUE(alerting->Close().has_value());
    if (run == 1) {
      EXPECT_EQ(alerting->stats().store.renoticed_skipped, alerting->stats().emitted);
      EXPECT_EQ(alerting->stats().store.rows_inserted, 0u);
    }
  }
  EXPECT_EQ(Notices(kApacheRule).size(), 1u);  // the second run's alert is inside the window
  auto rows = Rows(kApacheRule);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 2u);
}

TEST_F(AlertingTest, LaterRunAfterWindowWritesNewNoticeButKeepsOneRow) {
  for (int64_t ts : {kT0, kT0 + int64_t{30} * 24 * 3600 * kSecond}) {
    auto alerting = Open();
    ASSERT_NE(alerting, nullptr);
    alerting->facts().OnSoftware(Apache("2.4.49", ts));
    ASSERT_TRUE(alerting->Close().has_value());
  }
  EXPECT_EQ(Notices(kApacheRule).size(), 2u);
  auto rows = Rows(kApacheRule);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].first_seen_us, kT0);
  EXPECT_EQ(rows[0].last_seen_us, kT0 + int64_t{30} * 24 * 3600 * kSecond);
}

TEST_F(AlertingTest, PatchedVersionRaisesNothing) {
  auto alerting = Open();
  ASSERT_NE(alerting, nullptr);
  alerting->facts().OnSoftware(Apache("2.4.62", kT0));
  ASSERT_TRUE(alerting->Close().has_value());
  EXPECT_EQ(next_.software, 1);
  EXPECT_EQ(alerting->stats().alerts, 0u);
  EXPECT_FALSE(std::filesystem::exists(notice_path()));  // no alerts, no notice.log
  EXPECT_TRUE(Rows().empty());
}

TEST_F(AlertingTest, TelnetAndExposedRdpServicesRaisePolicyAlerts) {
  auto alerting = Open();
  ASSERT_NE(alerting, nullptr);
  alerting->facts().OnService(Service("10.1.2.3", 23, "telnet", "10.1.9.9", false, kT0));
  alerting->facts().OnService(Service("10.30.0.30", 3389, "rdp", "198.51.100.7", true, kT0));
  alerting->facts().OnService(Service("10.30.0.31", 3389, "rdp", "10.1.9.9", false, kT0));
  ASSERT_TRUE(alerting->Flush().has_value());
  EXPECT_EQ(next_.services, 3);
  auto telnet = Notices("policy-telnet");
  ASSERT_EQ(telnet.size(), 1u);
  EXPECT_EQ(telnet[0]["id.resp_h"], "10.1.2.3");
  EXPECT_EQ(telnet[0]["id.resp_p"], 23);
  EXPECT_EQ(telnet[0]["proto"], "tcp");
  auto rdp = Notices("exposed-rdp");
  ASSERT_EQ(rdp.size(), 1u);  // the internal client's RDP is not exposure
  EXPECT_EQ(rdp[0]["dst"], "10.30.0.30");
  EXPECT_EQ(rdp[0]["severity"], "critical");
  auto rows = Rows("exposed-rdp");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].key, "10.30.0.30:3389/rdp");
  EXPECT_EQ(rows[0].kind, "policy");
}

TEST_F(AlertingTest, FlowToIndicatorAddressRaisesIndicatorAlert) {
  auto alerting = Open();
  ASSERT_NE(alerting, nullptr);
  alerting->flows().OnFlowEnd(Flow("10.1.9.9", 50123, "203.0.113.66", 443, "ssl", true, kT0),
                              true, false);
  alerting->flows().OnFlowEnd(Flow("10.1.9.9", 50124, "203.0.113.67", 443, "ssl", true, kT0),
                              true, false);
  ASSERT_TRUE(alerting->Flush().has_value());
  auto notices = Notices("test-indicator-c2");
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0]["uid"], "CFlow1");
  EXPECT_EQ(notices[0]["id.orig_h"], "10.1.9.9");
  EXPECT_EQ(notices[0]["id.orig_p"], 50123);
  EXPECT_EQ(notices[0]["id.resp_h"], "203.0.113.66");
  EXPECT_EQ(notices[0]["id.resp_p"], 443);
  EXPECT_NE(notices[0]["msg"].get<std::string>().find("responder 203.0.113.66"),
            std::string::npos);
  auto rows = Rows("test-indicator-c2");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].proto, "tcp");
  EXPECT_EQ(rows[0].uid, "CFlow1");
  EXPECT_EQ(alerting->stats().flows_evaluated, 2u);
}

TEST_F(AlertingTest, DnsAnswerWithIndicatorAddressRaisesIndicatorAlert) {
  auto alerting = Open();
  ASSERT_NE(alerting, nullptr);
  rules::engine::DnsObservation dns;
  dns.ts_us = kT0;
  dns.uid = "CDns1";
  dns.client = Ip("10.1.9.9");
  dns.server = Ip("10.1.0.53");
  dns.query = "c2.example.net";
  dns.answers = {"192.0.2.1", "203.0.113.66"};
  alerting->OnDns(dns);
  dns.answers = {"192.0.2.1"};
  alerting->OnDns(dns);  // a clean answer raises nothing
  ASSERT_TRUE(alerting->Flush().has_value());
  auto notices = Notices("test-indicator-c2");
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0]["uid"], "CDns1");
  EXPECT_NE(notices[0]["msg"].get<std::string>().find("answer 203.0.113.66"), std::string::npos);
}

TEST_F(AlertingTest, ReloadKeepsTheLastGoodSetAndTheSuppression) {
  const std::string file = dir_.path() + "/reload.yaml";
  auto write = [&](const std::string& ips) {
    std::ofstream(file) << "- id: reload-c2\n  title: Reload test\n  severity: high\n"
                           "  suppress: 1h\n  indicator:\n    ips: ["
                        << ips << "]\n";
  };
  write("203.0.113.66");
  AlertsSettings settings;
  settings.rule_files = {file};
  auto opened = OpenAlerting(settings, db(), dir_.path(), ZeekLogFormat::kJson, "sensor-test",
                             {*rules::Cidr::Parse("10.0.0.0/8")}, next_);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  Alerting& alerting = **opened;
  auto flow_to = [&](const char* resp, uint16_t port) {
    alerting.flows().OnFlowEnd(Flow("10.1.9.9", port, resp, 443, "ssl", true, kT0), true, false);
  };
  flow_to("203.0.113.66", 50001);
  EXPECT_EQ(alerting.stats().emitted, 1u);

  std::ofstream(file) << "- id: reload-c2\n  title: [broken\n";  // bad YAML
  auto refused = alerting.Reload();
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message.rfind(file + ":", 0), 0u)  // file:line:column: ...
      << refused.error().message;
  EXPECT_EQ(alerting.rules_state().reload_failures, 1u);
  EXPECT_EQ(alerting.rules_state().last_error, refused.error().message);
  EXPECT_NE(alerting.rules_state().Json().find("\"reload_failures\":1"), std::string::npos);
  flow_to("203.0.113.66", 50002);  // the old set still runs (and suppresses the repeat)
  EXPECT_EQ(alerting.stats().alerts, 2u);
  EXPECT_EQ(alerting.stats().emitted, 1u);

  write("203.0.113.66, 203.0.113.99");
  ASSERT_TRUE(alerting.Reload().has_value());
  EXPECT_EQ(alerting.rules_state().reloads, 1u);
  EXPECT_EQ(alerting.rules_state().last_error, "");
  flow_to("203.0.113.66", 50003);  // same key as before the reload: still suppressed
  flow_to("203.0.113.99", 50004);  // new in the reloaded set
  EXPECT_EQ(alerting.stats().emitted, 2u);
  ASSERT_TRUE(alerting.Flush().has_value());
  EXPECT_EQ(Notices("reload-c2").size(), 2u);
}

// Internet scanners probe every port of every address: a port that never answered, or that
// refused the SYN with a RST (Zeek's REJ), is neither exposed nor a service in use.
TEST_F(AlertingTest, UnansweredOrRefusedFlowIsNotExposureNorUse) {
  auto alerting = Open();
  ASSERT_NE(alerting, nullptr);
  alerting->flows().OnFlowEnd(Flow("192.0.2.10", 40000, "10.30.0.30", 3389, "", false, kT0),
                              false, true);
  FlowRecord refused = Flow("192.0.2.10", 40002, "10.30.0.30", 3389, "", false, kT0);
  refused.resp.packets = 1;
  refused.tcp.orig.state = TcpEndpointState::kSynSent;
  refused.tcp.resp.rst = true;
  refused.tcp.resp.state = TcpEndpointState::kReset;
  ASSERT_EQ(ConnState(refused), "REJ");
  alerting->flows().OnFlowEnd(refused, false, true);
  FlowRecord rlogin = Flow("10.30.0.9", 1023, "10.30.0.30", 513, "", false, kT0);
  rlogin.tcp.orig.state = TcpEndpointState::kSynSent;
  rlogin.tcp.orig.syn = true;
  alerting->flows().OnFlowEnd(rlogin, true, true);
  ASSERT_TRUE(alerting->Flush().has_value());
  EXPECT_TRUE(Notices("exposed-rdp").empty());
  EXPECT_TRUE(Notices("policy-rsh-rlogin").empty());
  alerting->flows().OnFlowEnd(Flow("192.0.2.10", 40001, "10.30.0.30", 3389, "rdp", true, kT0),
                              false, true);
  ASSERT_TRUE(alerting->Flush().has_value());
  EXPECT_EQ(Notices("exposed-rdp").size(), 1u);
}

TEST_F(AlertingTest, FlowAttributesFromTheExtractorsReachThePolicyRules) {
  auto alerting = Open();
  ASSERT_NE(alerting, nullptr);
  // nDPI calls SMB on 445 "netbios-ssn"; the extractor saw an SMB1 dialect chosen.
  FlowRecord smb1 = Flow("10.1.9.9", 50200, "10.30.0.40", 445, "netbios-ssn", true, kT0);
  smb1.attributes = std::make_unique<FlowAttributes>();
  smb1.attributes->service = "smb";
  smb1.attributes->smb_version = 1;
  FlowRecord smb3 = Flow("10.1.9.9", 50201, "10.30.0.41", 445, "netbios-ssn", true, kT0);
  smb3.attributes = std::make_unique<FlowAttributes>();
  smb3.attributes->service = "smb";
  smb3.attributes->smb_version = 3;
  FlowRecord snmp = Flow("10.1.9.9", 50202, "10.30.0.2", 161, "snmp", true, kT0);
  snmp.id.proto = snmp.key.proto = 17;
  snmp.attributes = std::make_unique<FlowAttributes>();
  snmp.attributes->snmp_version = "2c";
  snmp.attributes->snmp_community = "public";
  for (FlowRecord* f : {&smb1, &smb3, &snmp}) alerting->flows().OnFlowEnd(*f, true, true);
  ASSERT_TRUE(alerting->Flush().has_value());
  auto smb = Notices("policy-smbv1");
  ASSERT_EQ(smb.size(), 1u);
  EXPECT_EQ(smb[0]["id.resp_h"], "10.30.0.40");
  auto community = Notices("policy-snmp-public-community");
  ASSERT_EQ(community.size(), 1u);
  EXPECT_EQ(community[0]["id.resp_h"], "10.30.0.2");
  // The observed community is never evidence (it is a password); the title names the rule's.
  EXPECT_EQ(community[0]["sub"].get<std::string>().find("public"), std::string::npos);
  // Nothing of one flow's attributes carries over to the next flow evaluated: an SNMP request
  // without a community, then FTPS (TLS seen) and plain FTP (no attributes at all).
  FlowRecord no_community = Flow("10.1.9.9", 50204, "10.30.0.3", 161, "snmp", true, kT0);
  no_community.id.proto = no_community.key.proto = 17;
  no_community.attributes = std::make_unique<FlowAttributes>();
  no_community.attributes->snmp_version = "2c";
  FlowRecord ftps = Flow("10.1.9.9", 50205, "10.30.0.4", 21, "ftp", true, kT0);
  ftps.attributes = std::make_unique<FlowAttributes>();
  ftps.attributes->tls = true;
  FlowRecord ftp = Flow("10.1.9.9", 50206, "10.30.0.5", 21, "ftp", true, kT0);
  for (FlowRecord* f : {&snmp, &no_community, &ftps, &ftp}) {
    alerting->flows().OnFlowEnd(*f, true, true);
  }
  ASSERT_TRUE(alerting->Flush().has_value());
  EXPECT_EQ(Notices("policy-snmp-public-community").size(), 1u);
  auto ftp_notices = Notices("policy-ftp-without-tls");
  ASSERT_EQ(ftp_notices.size(), 1u);
  EXPECT_EQ(ftp_notices[0]["id.resp_h"], "10.30.0.5");

  rules::engine::FlowObservation o = FlowAlerter::Observe(snmp, true, true);
  EXPECT_EQ(o.snmp_version, "2c");
  EXPECT_EQ(o.snmp_community, "public");
  FlowRecord tls = Flow("10.1.9.9", 50203, "198.51.100.9", 443, "ssl", true, kT0);
  tls.attributes = std::make_unique<FlowAttributes>();
  tls.attributes->tls = true;
  tls.attributes->sni = "example.org";
  tls.attributes->ja3 = "0123456789abcdef0123456789abcdef";
  tls.attributes->cert_sha256 = std::string(64, 'a');
  o = FlowAlerter::Observe(tls, true, false);
  EXPECT_EQ(o.tls, std::optional<bool>(true));
  EXPECT_EQ(o.sni, "example.org");
  EXPECT_EQ(o.ja3, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(o.cert_sha256, std::string(64, 'a'));
  // An unanswered flow keeps DPI's empty service whatever the extractors thought.
  FlowRecord scan = Flow("192.0.2.10", 40000, "10.30.0.40", 445, "", false, kT0);
  scan.attributes = std::make_unique<FlowAttributes>();
  scan.attributes->service = "smb";
  EXPECT_EQ(FlowAlerter::Observe(scan, false, true).service, "");
}

TEST_F(AlertingTest, ServiceFactAndFlowOfOneTelnetServerRaiseOneAlert) {
  auto alerting = Open();
  ASSERT_NE(alerting, nullptr);
  alerting->flows().OnFlowEnd(Flow("10.1.9.9", 41000, "10.1.2.3", 23, "telnet", true, kT0), true,
                              true);
  alerting->facts().OnService(Service("10.1.2.3", 23, "telnet", "10.1.9.9", false, kT0));
  ASSERT_TRUE(alerting->Close().has_value());
  EXPECT_EQ(Notices("policy-telnet").size(), 1u);
  auto rows = Rows("policy-telnet");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 2u);
}

TEST_F(AlertingTest, LockedDatabaseKeepsRowsUntilTheLockIsGone) {
  auto alerting = Open();
  ASSERT_NE(alerting, nullptr);
  // Another connection (the inventory, on the same thread in the sensor) holds the write lock.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  alerting->facts().OnSoftware(Apache("2.4.49", kT0));
  EXPECT_TRUE(alerting->Flush().has_value());  // does not wait, does not fail
  EXPECT_EQ(Notices(kApacheRule).size(), 1u);  // notice.log does not wait for the table
  EXPECT_TRUE(Rows().empty());
  EXPECT_EQ(alerting->stats().store.busy_retries, 1u);
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_TRUE(alerting->Flush().has_value());
  EXPECT_EQ(Rows(kApacheRule).size(), 1u);
  EXPECT_EQ(alerting->stats().store.store_errors, 0u);
}

TEST_F(AlertingTest, BrokenRuleFileIsRefusedWithFileLineColumn) {
  std::string broken = dir_.path() + "/broken.yaml";
  std::ofstream(broken) << "- id: x\n  title: t\n  severity: dreadful\n"
                           "  policy: {service: telnet}\n";
  AlertsSettings s;
  s.rule_files = {broken};
  auto opened = OpenAlerting(s, db(), dir_.path(), ZeekLogFormat::kJson, "s", {}, next_);
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().message.find(broken + ":3:"), std::string::npos)
      << opened.error().message;
}

TEST_F(AlertingTest, DefaultRuleFilesAreEveryShippedPack) {
  AlertsSettings s;
  auto files = RuleFiles(s);
  ASSERT_TRUE(files.has_value()) << files.error().message;
  EXPECT_GE(files->size(), 5u);
  for (const auto& f : *files) EXPECT_EQ(std::filesystem::path(f).extension(), ".yaml");
  auto alerting = OpenAlerting(s, db(), dir_.path(), ZeekLogFormat::kJson, "s", {}, next_);
  ASSERT_TRUE(alerting.has_value()) << alerting.error().message;
  EXPECT_GE((*alerting)->rule_set().rules().size(), 60u);
}

TEST(AlertsSettingsTest, ReadsEveryKey) {
  auto yaml = rules::ParseYamlString(
      "enabled: false\npacks_dir: /opt/packs\nrule_files: [a.yaml, /b.yaml]\n"
      "zones:\n  building_automation: [10.50.0.0/16]\n  water_works: [10.60.0.0/16, 10.61.0.1]\n",
      "utkikk.yaml");
  ASSERT_TRUE(yaml.has_value());
  AlertsSettings s;
  ASSERT_TRUE(ReadAlertsSettings(*yaml, &s).has_value());
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(s.packs_dir, "/opt/packs");
  ASSERT_EQ(s.zones.size(), 2u);
  EXPECT_EQ(s.zones[1].first, "water_works");
  EXPECT_EQ(s.zones[1].second.size(), 2u);
  auto files = RuleFiles(s);
  ASSERT_TRUE(files.has_value());
  EXPECT_EQ(*files, (std::vector<std::string>{"/opt/packs/a.yaml", "/b.yaml"}));
}

TEST(AlertsSettingsTest, ErrorsNameFileLineColumn) {
  struct Case {
    const char* text;
    const char* where;
  };
  for (const Case& c : {Case{"enabled: maybe\n", "utkikk.yaml:1:10:"},
                        Case{"rule_file: [a]\n", "utkikk.yaml:1:1:"},
                        Case{"zones:\n  ics: [10.0.0.0/33]\n", "utkikk.yaml:2:9:"},
                        Case{"zones:\n  internet: [10.0.0.0/8]\n", "utkikk.yaml:2:3:"}}) {
    auto yaml = rules::ParseYamlString(c.text, "utkikk.yaml");
    ASSERT_TRUE(yaml.has_value());
    AlertsSettings s;
    auto read = ReadAlertsSettings(*yaml, &s);
    ASSERT_FALSE(read.has_value()) << c.text;
    EXPECT_EQ(read.error().message.rfind(c.where, 0), 0u) << read.error().message;
  }
}

}  // namespace
}  // namespace sensor
