// Facts and log events from parsed syslog messages (sensor/logs/log_facts.h): the DHCP lease
// lines and sshd lines of the shared corpus (testdata/syslog/cases.jsonl) against what their
// sources assert, plus the forms the corpus lacks (ISC dhcpd "DHCPACK on", Windows DHCP).
#include "sensor/logs/log_facts.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sensor/logs/json_value.h"
#include "sensor/logs/syslog_parser.h"

namespace sensor {
namespace {

constexpr int64_t kNow = 1'795'000'000'000'000;  // 2026-11-18T11:06:40Z

struct Case {
  std::string id;
  std::string product;
  std::string raw;
  JsonValue expected;
};

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  std::ifstream in(std::string(SHARED_DIR) + "/testdata/syslog/cases.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto v = ParseJson(line);
    if (!v || !v->is_object()) continue;
    Case c;
    c.id = v->Get("id") ? v->Get("id")->text : "";
    c.product = v->Get("product") ? v->Get("product")->text : "";
    if (const JsonValue* b64 = v->Get("raw_b64")) {
      auto bytes = DecodeBase64(b64->text);
      if (!bytes) continue;
      c.raw = *bytes;
    } else if (const JsonValue* raw = v->Get("raw")) {
      c.raw = raw->text;
    }
    if (const JsonValue* e = v->Get("expected")) c.expected = *e;
    cases.push_back(std::move(c));
  }
  return cases;
}

const std::string* Text(const JsonValue& v, std::string_view key) {
  const JsonValue* m = v.Get(key);
  return m != nullptr && m->is_string() ? &m->text : nullptr;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

LogFacts FactsOf(std::string_view raw) {
  SyslogParser parser;
  SyslogMessage m;
  parser.Parse(raw, &m);
  LogFacts facts;
  DhcpLeaseFacts(m, LogMessageTimeUs(m, kNow), raw, &facts);
  return facts;
}

rules::engine::LogEvent EventOf(std::string_view raw) {
  SyslogParser parser;
  SyslogMessage m;
  parser.Parse(raw, &m);
  return ToLogEvent(m, LogMessageTimeUs(m, kNow), *rules::IpAddress::Parse("192.0.2.9"));
}

std::string EventField(const rules::engine::LogEvent& e, std::string_view name) {
  const std::string* v = e.Field(name);
  return v ? *v : "";
}

TEST(LogFactsTest, IscDhcpdAckOnGivesAddressAndName) {
  const char* raw =
      "<30>Nov 18 10:00:00 gw dhcpd[812]: DHCPACK on 10.1.2.3 to aa:bb:cc:dd:ee:0f (laptop-7) "
      "via eth0";
  LogFacts f = FactsOf(raw);
  ASSERT_EQ(f.addresses.size(), 1u);
  EXPECT_EQ(f.addresses[0].ip.ToString(), "10.1.2.3");
  EXPECT_EQ(rules::MacToString(f.addresses[0].mac), "aa:bb:cc:dd:ee:0f");
  EXPECT_EQ(f.addresses[0].origin.source, "dhcp-log");
  EXPECT_EQ(f.addresses[0].origin.raw, raw);
  ASSERT_EQ(f.names.size(), 1u);
  EXPECT_EQ(f.names[0].name, "laptop-7");
  EXPECT_EQ(f.names[0].kind, "hostname");
  EXPECT_EQ(f.names[0].host.ip.ToString(), "10.1.2.3");
  ASSERT_TRUE(f.names[0].host.mac.has_value());
  EXPECT_EQ(EventField(EventOf(raw), "event"), "dhcp_lease");
}

TEST(LogFactsTest, OffersRequestsReleasesAndClientsGiveNoFacts) {
  for (const char* raw : {
           "<30>Nov 18 10:00:00 gw dhcpd[812]: DHCPOFFER on 10.1.2.3 to aa:bb:cc:dd:ee:0f via eth0",
           "<30>Nov 18 10:00:00 gw dhcpd[812]: DHCPREQUEST for 10.1.2.3 from aa:bb:cc:dd:ee:0f "
           "via eth0",
           "<30>Nov 18 10:00:00 gw dhcpd[812]: DHCPRELEASE of 10.1.2.3 from aa:bb:cc:dd:ee:0f "
           "via eth0",
           "<30>Nov 18 10:00:00 pc dhclient[90]: DHCPACK of 10.1.2.3 from 10.1.2.1",
       }) {
    LogFacts f = FactsOf(raw);
    EXPECT_TRUE(f.addresses.empty() && f.names.empty()) << raw;
  }
}

TEST(LogFactsTest, WindowsDhcpAuditLineViaNxlog) {
  // The DHCP Server audit log layout (Microsoft Learn), forwarded raw by NXLog.
  LogFacts f = FactsOf(
      "<14>Nov 18 10:00:00 dhcp01 DhcpSrvLog: 10,11/18/26,10:00:00,Assign,10.20.0.44,"
      "PC-0044.kommune.local,001122AABB0C,,2883598093,0,,,,,,,,,0");
  ASSERT_EQ(f.addresses.size(), 1u);
  EXPECT_EQ(f.addresses[0].ip.ToString(), "10.20.0.44");
  EXPECT_EQ(rules::MacToString(f.addresses[0].mac), "00:11:22:aa:bb:0c");
  ASSERT_EQ(f.names.size(), 1u);
  EXPECT_EQ(f.names[0].name, "PC-0044.kommune.local");
  // NXLog JSON from xm_csv: IPAddress/MACAddress; its Hostname is the DHCP server, not a name.
  LogFacts j = FactsOf(
      "<14>Nov 18 10:00:00 dhcp01 nxlog: {\"EventID\":11,\"Hostname\":\"dhcp01\","
      "\"IPAddress\":\"10.20.0.45\",\"MACAddress\":\"00-11-22-AA-BB-0D\"}");
  ASSERT_EQ(j.addresses.size(), 1u);
  EXPECT_EQ(rules::MacToString(j.addresses[0].mac), "00:11:22:aa:bb:0d");
  EXPECT_TRUE(j.names.empty());
  // Event 12 is a release.
  EXPECT_TRUE(FactsOf("12,11/18/26,10:00:00,Release,10.20.0.44,PC-0044,001122AABB0C,,1,0")
                  .addresses.empty());
}

// Every DHCP server case of the corpus: a fact appears exactly for lease grants, and its MAC and
// IP are the ones the source asserts.
TEST(LogFactsTest, CorpusDhcpLeases) {
  std::vector<Case> cases = LoadCases();
  ASSERT_GT(cases.size(), 700u) << "testdata/syslog/cases.jsonl not found under " << SHARED_DIR;
  int checked = 0, agree = 0, with_facts = 0;
  std::string disagreements;
  for (const Case& c : cases) {
    if (c.product != "isc-dhcpd" && c.product != "kea" && c.product != "dnsmasq") continue;
    LogFacts f = FactsOf(c.raw);
    // What the source says about the lease: its MAC, its address, and whether it is a grant.
    std::string mac, ip;
    bool grant = false;
    if (const std::string* hw = Text(c.expected, "hwaddr")) mac = hw->substr(hw->rfind(' ') + 1);
    if (const std::string* m = Text(c.expected, "mac")) mac = *m;
    if (const std::string* a = Text(c.expected, "address")) ip = *a;
    if (const std::string* a = Text(c.expected, "ip")) ip = *a;
    if (const std::string* a = Text(c.expected, "action")) grant = *a == "assigned";
    if (const std::string* e = Text(c.expected, "dhcp_event")) grant = *e == "DHCPACK";
    if (const std::string* t = Text(c.expected, "dhcp_type")) {
      grant = *t == "DHCPACK" && Text(c.expected, "dhcp_client_hw_addr") != nullptr;
      if (grant) mac = *Text(c.expected, "dhcp_client_hw_addr");
    }
    if (c.expected.Get("lease_event") != nullptr) grant = false;  // "not a lease grant"
    bool asserted = !mac.empty() || c.expected.Get("lease_event") != nullptr ||
                    Text(c.expected, "dhcp_type") != nullptr;
    if (!asserted) continue;
    ++checked;
    bool ok = true;
    if (grant && !mac.empty()) {
      ok = f.addresses.size() == 1 &&
           Lower(rules::MacToString(f.addresses[0].mac)) == Lower(mac) &&
           (ip.empty() || f.addresses[0].ip.ToString() == ip);
    } else {
      ok = f.addresses.empty();
    }
    if (!f.addresses.empty()) ++with_facts;
    if (ok) {
      ++agree;
    } else {
      disagreements += c.id + " ";
    }
  }
  std::printf("DHCP lease facts: %d/%d corpus cases agree, %d with a fact\n", agree, checked,
              with_facts);
  EXPECT_GE(checked, 25);
  EXPECT_GE(with_facts, 20);
  EXPECT_EQ(agree, checked) << disagreements;
}

// sshd cases with crowdsec's verdict: ssh_failed-auth -> auth_failure, ssh_success-auth ->
// auth_success, with the same source address.
TEST(LogFactsTest, CorpusSshdEvents) {
  std::vector<Case> cases = LoadCases();
  int checked = 0, agree = 0;
  std::string disagreements;
  for (const Case& c : cases) {
    if (c.product != "linux-sshd") continue;
    const JsonValue* cs = c.expected.Get("crowdsec");
    const JsonValue* stage = cs ? cs->Get("s01-parse/crowdsecurity/sshd-logs") : nullptr;
    const JsonValue* meta = stage ? stage->Get("Meta") : nullptr;
    const std::string* type = meta ? Text(*meta, "log_type") : nullptr;
    if (type == nullptr) continue;
    std::string want = *type == "ssh_failed-auth"    ? "auth_failure"
                       : *type == "ssh_success-auth" ? "auth_success"
                                                     : "";
    if (want.empty()) continue;
    ++checked;
    rules::engine::LogEvent e = EventOf(c.raw);
    const std::string* src = Text(*meta, "source_ip");
    bool ok = EventField(e, "event") == want && (src == nullptr || EventField(e, "src_ip") == *src);
    if (ok) {
      ++agree;
    } else {
      disagreements += c.id + "(" + EventField(e, "event") + ") ";
    }
  }
  std::printf("sshd log events: %d/%d crowdsec cases agree\n", agree, checked);
  EXPECT_GE(checked, 10);
  EXPECT_GE(agree * 100, checked * 90) << disagreements;
}

TEST(LogFactsTest, EventsOfOtherProducts) {
  rules::engine::LogEvent ssh = EventOf(
      "<38>Nov 18 10:00:00 srv sshd[1]: Failed password for root from 203.0.113.5 port 1 ssh2");
  EXPECT_EQ(ssh.host, "srv");
  EXPECT_EQ(ssh.program, "sshd");
  EXPECT_EQ(EventField(ssh, "event"), "auth_failure");
  EXPECT_EQ(EventField(ssh, "user"), "root");
  EXPECT_EQ(EventField(ssh, "severity"), "6");
  EXPECT_EQ(EventField(ssh, "sender"), "192.0.2.9");
  EXPECT_EQ(EventField(EventOf("<38>Nov 18 10:00:00 srv sshd[1]: Accepted publickey for ola from "
                               "10.0.0.4 port 40000 ssh2"),
                       "event"),
            "auth_success");
  EXPECT_EQ(EventField(EventOf("<13>Nov 18 10:00:00 dc01 nxlog: {\"EventID\":4625,"
                               "\"TargetUserName\":\"ola\",\"IpAddress\":\"10.0.0.8\"}"),
                       "event"),
            "auth_failure");
  EXPECT_EQ(EventField(EventOf("<166>Nov 18 10:00:00 asa %ASA-4-106023: Deny tcp src "
                               "outside:198.51.100.1/4000 dst inside:10.0.0.5/22 by access-group "
                               "\"in\" [0x0, 0x0]"),
                       "event"),
            "firewall_deny");
  // No PRI, no host name: the sender stands for the host.
  rules::engine::LogEvent bare = EventOf("hello");
  EXPECT_EQ(bare.host, "192.0.2.9");
  EXPECT_EQ(EventField(bare, "event"), "");
}

TEST(LogFactsTest, MessageTime) {
  int64_t us = 0;
  ASSERT_TRUE(ParseRfc3339Us("2026-11-18T10:00:00.5+01:00", &us));
  EXPECT_EQ(us, 1'794'992'400'500'000);
  EXPECT_FALSE(ParseRfc3339Us("2026-11-18T10:00:00", &us));  // no zone
  EXPECT_FALSE(ParseRfc3339Us("2026-13-18T10:00:00Z", &us));
  SyslogMessage m;
  m.timestamp = "2026-11-18T10:00:00Z";
  EXPECT_EQ(LogMessageTimeUs(m, 1'794'996'060'000'000), 1'794'996'000'000'000);
  // A clock a year off: the receive time.
  EXPECT_EQ(LogMessageTimeUs(m, 1'827'000'000'000'000), 1'827'000'000'000'000);
}

TEST(LogFactsTest, ParseMacForms) {
  rules::Mac mac{};
  EXPECT_TRUE(ParseMac("AA-bb-CC-dd-EE-ff", &mac));
  EXPECT_EQ(rules::MacToString(mac), "aa:bb:cc:dd:ee:ff");
  EXPECT_TRUE(ParseMac("0011223344ff", &mac));
  EXPECT_FALSE(ParseMac("aa:bb-cc:dd:ee:ff", &mac));
  EXPECT_FALSE(ParseMac("aa:bb:cc:dd:ee", &mac));
  EXPECT_FALSE(ParseMac("zz:bb:cc:dd:ee:ff", &mac));
}

}  // namespace
}  // namespace sensor
