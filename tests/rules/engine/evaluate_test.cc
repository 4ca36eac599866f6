// Evaluation: what each kind of rule matches and what its alerts carry, log windows and the
// suppressor.
#include <string>

#include <gtest/gtest.h>

#include "rules/engine/rule_set.h"

namespace rules::engine {
namespace {

IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }

RuleSet Load(const std::string& yaml) {
  auto set = LoadRuleString(yaml, "t.yaml");
  EXPECT_TRUE(set) << set.error().message;
  return set ? std::move(*set) : RuleSet();
}

TEST(EvaluateTest, SoftwareMatchesByCpeOrVendorProductAndCarriesEvidence) {
  RuleSet set = Load(R"(
- id: ssh
  version: 2
  title: regreSSHion
  severity: high
  software:
    product: openbsd:openssh
    cves: [CVE-2024-6387]
    known_exploited: true
    affected: [{introduced: 8.5p1, fixed: 9.8p1}]
  advice_nb: Oppgrader.
  advice_en: Upgrade.
)");
  SoftwareFact f;
  f.host.ip = Ip("10.0.0.5");
  f.port = 22;
  f.vendor = "OpenBSD";
  f.product = "OpenSSH";
  f.version = "9.2p1 Debian-2+deb12u2";
  f.origin = {1000, "ssh", "CabC", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2"};
  auto alerts = set.Evaluate(f);
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& a = alerts[0];
  EXPECT_EQ(a.rule_id, "ssh");
  EXPECT_EQ(a.rule_version, 2);
  EXPECT_EQ(a.severity, Severity::kHigh);
  EXPECT_EQ(a.key, "10.0.0.5:22/openbsd:openssh");
  EXPECT_EQ(a.uid, "CabC");
  EXPECT_EQ(a.ts_first_us, 1000);
  EXPECT_EQ(a.cves, std::vector<std::string>{"CVE-2024-6387"});
  EXPECT_TRUE(a.known_exploited);
  EXPECT_EQ(a.advice_en, "Upgrade.");
  EXPECT_NE(a.evidence.find("9.2p1"), std::string::npos);
  EXPECT_NE(a.evidence.find("SSH-2.0-OpenSSH_9.2p1"), std::string::npos);

  SoftwareFact by_cpe;
  by_cpe.cpe23 = "cpe:2.3:a:OpenBSD:OpenSSH:9.3p1:*:*:*:*:*:*:*";  // version from the CPE
  EXPECT_EQ(set.Evaluate(by_cpe).size(), 1u);
  by_cpe.cpe23 = "cpe:2.3:a:openbsd:openssh:9.8p1:*:*:*:*:*:*:*";
  EXPECT_TRUE(set.Evaluate(by_cpe).empty());
  SoftwareFact unknown_version;
  unknown_version.vendor = "OpenBSD";
  unknown_version.product = "OpenSSH";
  EXPECT_TRUE(set.Evaluate(unknown_version).empty());  // proves nothing
  SoftwareFact other;
  other.vendor = "Dropbear";
  other.product = "Dropbear SSH";
  other.version = "9.0";
  EXPECT_TRUE(set.Evaluate(other).empty());
}

constexpr const char* kPolicy = R"(
- id: rdp-exposed
  title: RDP exposed
  severity: critical
  policy: {port: 3389, exposed: true}
- id: ba-internet
  title: BA to internet
  severity: high
  policy: {orig_zone: building_automation, resp_zone: internet, key: orig}
- id: ics-cross
  title: ICS crossing zones
  severity: high
  policy: {port: 502, cross_zone: true, key: pair}
- id: imap-clear
  title: IMAP without TLS
  severity: medium
  policy: {service: imap, tls: false}
- id: snmp-public
  title: SNMP public
  severity: medium
  policy: {service: snmp, snmp_version: [1, 2c], snmp_community: public}
)";

std::vector<std::string> Ids(const std::vector<Alert>& alerts) {
  std::vector<std::string> ids;
  for (const Alert& a : alerts) ids.push_back(a.rule_id);
  return ids;
}

// role: server leaves out client-side facts (an OpenSSH client's banner is no sshd), a fact
// without a role counts as a server's; role: client the other way round.
TEST(EvaluateTest, SoftwareRoleLeavesOutTheOtherSide) {
  RuleSet set = Load(R"(
- id: sshd
  title: sshd
  severity: high
  software: {product: openbsd:openssh, role: server, affected: [{introduced: 8.5p1, fixed: 9.8p1}]}
- id: agent
  title: ssh-agent
  severity: high
  software: {product: openbsd:openssh, role: client, affected: [{introduced: 5.5, fixed: 9.3p2}]}
- id: any
  title: either
  severity: low
  software: {product: openbsd:openssh, affected: [{introduced: 8.0, fixed: 9.3}]}
)");
  SoftwareFact f;
  f.vendor = "OpenBSD";
  f.product = "OpenSSH";
  f.version = "9.2p1";
  f.role = "server";
  EXPECT_EQ(Ids(set.Evaluate(f)), (std::vector<std::string>{"sshd", "any"}));
  f.role = "";
  EXPECT_EQ(Ids(set.Evaluate(f)), (std::vector<std::string>{"sshd", "any"}));
  f.role = "client";
  EXPECT_EQ(Ids(set.Evaluate(f)), (std::vector<std::string>{"agent", "any"}));
  auto rule = set.Find("sshd");
  ASSERT_NE(rule, nullptr);
  EXPECT_NE(rule->Summary().find("server side only"), std::string::npos) << rule->Summary();
}

TEST(EvaluateTest, PolicyOverFlowsAndZones) {
  RuleSet set = Load(kPolicy);
  Networks n;
  n.local = {*Cidr::Parse("10.0.0.0/8")};
  n.zones.emplace_back("building_automation", std::vector<Cidr>{*Cidr::Parse("10.50.0.0/16")});
  n.zones.emplace_back("ics", std::vector<Cidr>{*Cidr::Parse("10.70.0.0/16")});
  set.SetNetworks(n);

  FlowObservation f;
  f.orig = Ip("198.51.100.1");
  f.resp = Ip("10.1.1.1");
  f.resp_port = 3389;
  f.uid = "C1";
  auto alerts = set.Evaluate(f);
  ASSERT_EQ(Ids(alerts), std::vector<std::string>{"rdp-exposed"});
  EXPECT_EQ(alerts[0].key, "10.1.1.1:3389/unknown");
  EXPECT_EQ(alerts[0].src, f.orig);
  EXPECT_EQ(alerts[0].dst, f.resp);
  EXPECT_EQ(alerts[0].evidence, "198.51.100.1:0 -> 10.1.1.1:3389 unknown (internet -> local)");
  f.exposed = false;  // the extractor knows better (e.g. a NAT'ed VPN pool)
  EXPECT_TRUE(set.Evaluate(f).empty());
  f.exposed.reset();
  f.accepted = false;  // a scanner's SYN that the closed port refused: nothing is exposed
  EXPECT_TRUE(set.Evaluate(f).empty());

  FlowObservation ba;
  ba.orig = Ip("10.50.1.2");
  ba.resp = Ip("93.184.216.34");
  ba.resp_port = 443;
  auto ba_alerts = set.Evaluate(ba);
  ASSERT_EQ(Ids(ba_alerts), std::vector<std::string>{"ba-internet"});
  EXPECT_EQ(ba_alerts[0].key, "10.50.1.2");
  ba.accepted = false;  // a zone rule is about the attempt: the firewall's silence changes nothing
  EXPECT_EQ(Ids(set.Evaluate(ba)), std::vector<std::string>{"ba-internet"});

  FlowObservation modbus;
  modbus.orig = Ip("10.1.1.1");
  modbus.resp = Ip("10.70.0.5");
  modbus.resp_port = 502;
  auto m = set.Evaluate(modbus);
  ASSERT_EQ(Ids(m), std::vector<std::string>{"ics-cross"});
  EXPECT_EQ(m[0].key, "10.1.1.1->10.70.0.5");
  modbus.accepted = false;  // a port names a service: nothing answered on 502
  EXPECT_TRUE(set.Evaluate(modbus).empty());
  modbus.accepted = true;
  modbus.orig = Ip("10.70.0.9");
  EXPECT_TRUE(set.Evaluate(modbus).empty());

  FlowObservation imap;
  imap.orig = Ip("10.1.1.1");
  imap.resp = Ip("10.1.1.2");
  imap.resp_port = 143;
  imap.service = "imap";
  EXPECT_EQ(Ids(set.Evaluate(imap)), std::vector<std::string>{"imap-clear"});
  imap.service = "imap,ssl";  // STARTTLS
  EXPECT_TRUE(set.Evaluate(imap).empty());
  imap.service = "imap";
  imap.accepted = false;
  EXPECT_TRUE(set.Evaluate(imap).empty());

  FlowObservation snmp;
  snmp.orig = Ip("10.1.1.1");
  snmp.resp = Ip("10.1.1.2");
  snmp.service = "snmp";
  snmp.snmp_version = "2c";
  snmp.snmp_community = "public";
  EXPECT_EQ(Ids(set.Evaluate(snmp)), std::vector<std::string>{"snmp-public"});
  snmp.snmp_community = "Public";  // communities are case-sensitive
  EXPECT_TRUE(set.Evaluate(snmp).empty());
}

// A TCP port is a service only when the responder accepted the connection; a UDP request is often
// answered on another flow (TFTP from a new port) or never (syslog), so a UDP port rule still
// matches it. Exposure needs an answer either way.
TEST(EvaluateTest, PortRulesNeedAnAcceptedConnectionOnTcpOnly) {
  RuleSet set = Load(R"(
- id: rlogin
  title: rlogin in use
  severity: high
  policy: {port: 513, transport: tcp}
- id: tftp
  title: TFTP in use
  severity: low
  policy: {port: 69, transport: udp}
- id: bacnet-exposed
  title: BACnet exposed
  severity: high
  policy: {port: 47808, exposed: true}
)");
  Networks n;
  n.local = {*Cidr::Parse("10.0.0.0/8")};
  set.SetNetworks(n);
  FlowObservation rlogin;
  rlogin.orig = Ip("10.1.1.1");
  rlogin.resp = Ip("10.1.1.2");
  rlogin.resp_port = 513;
  EXPECT_EQ(Ids(set.Evaluate(rlogin)), std::vector<std::string>{"rlogin"});
  rlogin.accepted = false;
  EXPECT_TRUE(set.Evaluate(rlogin).empty());

  FlowObservation tftp = rlogin;
  tftp.transport = 17;
  tftp.resp_port = 69;
  EXPECT_EQ(Ids(set.Evaluate(tftp)), std::vector<std::string>{"tftp"});

  FlowObservation bacnet = tftp;
  bacnet.orig = Ip("198.51.100.3");
  bacnet.resp_port = 47808;
  EXPECT_TRUE(set.Evaluate(bacnet).empty());  // a probe nothing answered
  bacnet.accepted = true;
  EXPECT_EQ(Ids(set.Evaluate(bacnet)), std::vector<std::string>{"bacnet-exposed"});
}

// The policy index (rules by service, by port, and the rest) only narrows what is checked: every
// rule a flow matches still raises, in rule order, whichever way it was found.
TEST(EvaluateTest, PolicyIndexKeepsEveryMatchInRuleOrder) {
  RuleSet set = Load(R"(
- id: any-to-ot
  title: anything into the OT zone
  severity: high
  policy: {resp_zone: ot}
- id: http-8080
  title: HTTP on 8080
  severity: low
  policy: {service: http, port: 8080}
- id: port-8080
  title: port 8080
  severity: low
  policy: {port: [8000, 8080]}
- id: http-or-imap-clear
  title: HTTP or IMAP without TLS
  severity: low
  policy: {service: [imap, http], tls: false}
)");
  FlowObservation f;
  f.orig = Ip("10.1.1.1");
  f.resp = Ip("10.9.0.1");
  f.resp_port = 8080;
  f.service = "HTTP";  // items compare case-insensitively
  EXPECT_EQ(Ids(set.Evaluate(f)),
            (std::vector<std::string>{"http-8080", "port-8080", "http-or-imap-clear"}));
  f.service = "imap,http";  // one rule named by two items raises once
  EXPECT_EQ(Ids(set.Evaluate(f)),
            (std::vector<std::string>{"http-8080", "port-8080", "http-or-imap-clear"}));
  f.resp_port = 80;
  EXPECT_EQ(Ids(set.Evaluate(f)), std::vector<std::string>{"http-or-imap-clear"});
  f.service = "";
  f.resp_port = 8000;
  EXPECT_EQ(Ids(set.Evaluate(f)), std::vector<std::string>{"port-8080"});

  // A zone no network defines cannot match; once SetNetworks defines it, the rule runs.
  Networks n;
  n.local = {*Cidr::Parse("10.0.0.0/8")};
  n.zones.emplace_back("OT", std::vector<Cidr>{*Cidr::Parse("10.9.0.0/16")});
  set.SetNetworks(n);
  EXPECT_EQ(Ids(set.Evaluate(f)), (std::vector<std::string>{"any-to-ot", "port-8080"}));
  set.SetNetworks(Networks{});
  EXPECT_EQ(Ids(set.Evaluate(f)), std::vector<std::string>{"port-8080"});
}

TEST(EvaluateTest, PolicyOverServiceFacts) {
  RuleSet set = Load(kPolicy);
  ServiceFact s;
  s.host.ip = Ip("10.1.1.1");
  s.port = 3389;
  s.protocol = "rdp";
  s.client = Ip("10.2.2.2");
  s.exposed = true;
  s.origin.uid = "C9";
  auto alerts = set.Evaluate(s);
  ASSERT_EQ(Ids(alerts), std::vector<std::string>{"rdp-exposed"});
  EXPECT_EQ(alerts[0].uid, "C9");
  s.exposed = false;
  EXPECT_TRUE(set.Evaluate(s).empty());
}

constexpr const char* kIndicators = R"(
- id: bad-net
  title: bad addresses
  severity: high
  indicator:
    ips: [203.0.113.0/24, "2001:db8:bad::/48", 192.0.2.77]
- id: bad-names
  title: bad names
  severity: high
  indicator:
    domains: [evil.example, "*.bad.example"]
    ja3: [e7d705a3286e19ea42f587b344ee6865]
    ja4: [t13d1516h2_8daaf6152771_b186095e22b6]
    cert_fingerprints: ["ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01"]
    user_agents: [EvilBot/1.0]
)";

TEST(EvaluateTest, IndicatorsOnFlows) {
  RuleSet set = Load(kIndicators);
  FlowObservation f;
  f.orig = Ip("10.0.0.5");
  f.resp = Ip("203.0.113.9");
  f.resp_port = 443;
  f.uid = "Cx";
  auto alerts = set.Evaluate(f);
  ASSERT_EQ(Ids(alerts), std::vector<std::string>{"bad-net"});
  EXPECT_EQ(alerts[0].evidence, "responder 203.0.113.9");
  EXPECT_EQ(alerts[0].key, "10.0.0.5->203.0.113.9");
  f.resp = Ip("2001:db8:bad:1::1");
  EXPECT_EQ(set.Evaluate(f).size(), 1u);
  f.resp = Ip("2001:db8:bae::1");
  EXPECT_TRUE(set.Evaluate(f).empty());
  f.orig = Ip("192.0.2.77");  // the originator counts too
  EXPECT_EQ(Ids(set.Evaluate(f)), std::vector<std::string>{"bad-net"});
  f.accepted = false;  // an attempt to or from a listed address is the finding, answered or not
  EXPECT_EQ(Ids(set.Evaluate(f)), std::vector<std::string>{"bad-net"});

  FlowObservation t;
  t.orig = Ip("10.0.0.5");
  t.resp = Ip("10.9.9.9");
  t.sni = "www.BAD.example.";
  EXPECT_EQ(Ids(set.Evaluate(t)), std::vector<std::string>{"bad-names"});
  t.sni = "notbad.example";
  EXPECT_TRUE(set.Evaluate(t).empty());
  t.ja3 = "E7D705A3286E19EA42F587B344EE6865";
  EXPECT_EQ(set.Evaluate(t).size(), 1u);
  t.ja3.clear();
  t.ja4 = "t13d1516h2_8daaf6152771_b186095e22b6";
  EXPECT_EQ(set.Evaluate(t).size(), 1u);
  t.ja4.clear();
  t.cert_sha1 = "abcdef0123456789abcdef0123456789abcdef01";
  EXPECT_EQ(set.Evaluate(t).size(), 1u);
  t.cert_sha1.clear();
  t.user_agent = "EvilBot/1.0";
  EXPECT_EQ(set.Evaluate(t).size(), 1u);
  t.user_agent = "EvilBot/1.01";
  EXPECT_TRUE(set.Evaluate(t).empty());
  // Several hits of one rule make one alert with all the evidence.
  t.user_agent = "EvilBot/1.0";
  t.http_host = "evil.example";
  auto both = set.Evaluate(t);
  ASSERT_EQ(both.size(), 1u);
  EXPECT_EQ(both[0].evidence, "HTTP host evil.example; user agent EvilBot/1.0");
}

TEST(EvaluateTest, IndicatorsOnDnsAnswers) {
  RuleSet set = Load(kIndicators);
  DnsObservation d;
  d.client = Ip("10.0.0.5");
  d.query = "evil.example";
  auto alerts = set.Evaluate(d);
  ASSERT_EQ(Ids(alerts), std::vector<std::string>{"bad-names"});
  EXPECT_EQ(alerts[0].evidence, "query evil.example");
  d.query = "www.evil.example";  // exact, not a suffix
  EXPECT_TRUE(set.Evaluate(d).empty());
  d.answers = {"cdn.bad.example.", "203.0.113.200"};
  EXPECT_EQ(Ids(set.Evaluate(d)), (std::vector<std::string>{"bad-net", "bad-names"}));
  d.answers = {"not an address or name"};
  EXPECT_TRUE(set.Evaluate(d).empty());
}

TEST(EvaluateTest, LogThresholdPerGroupWithinWindow) {
  RuleSet set = Load(R"(
- id: ssh-guess
  title: SSH guessing
  severity: medium
  log:
    program: sshd
    message_regex: 'Failed password for \S+ from (?P<src_ip>\S+)'
    group_by: src_ip
    threshold: 3
    window: 1m
- id: every-panic
  title: kernel panic
  severity: high
  log: {program: kernel, message_contains: panic}
- id: by-field
  title: field
  severity: low
  log: {field: {action: deny}, group_by: user, threshold: 2, window: 10s}
)");
  LogWindows w;
  auto ev = [](const char* program, const std::string& msg, int64_t s) {
    LogEvent e;
    e.ts_us = s * 1000000;
    e.host = "srv";
    e.program = program;
    e.message = msg;
    return e;
  };
  const std::string a = "Failed password for root from 203.0.113.5 port 1 ssh2";
  const std::string b = "Failed password for root from 203.0.113.6 port 1 ssh2";
  EXPECT_TRUE(set.Evaluate(ev("sshd", a, 0), &w).empty());
  EXPECT_TRUE(set.Evaluate(ev("sshd", b, 1), &w).empty());
  EXPECT_TRUE(set.Evaluate(ev("sshd", a, 30), &w).empty());
  EXPECT_TRUE(set.Evaluate(ev("sshd", a, 61), &w).empty());  // the one at 0 left the window
  auto alerts = set.Evaluate(ev("sshd", a, 62), &w);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].key, "srv/203.0.113.5");
  EXPECT_EQ(alerts[0].src, Ip("203.0.113.5"));
  EXPECT_EQ(alerts[0].count, 3u);
  EXPECT_EQ(alerts[0].ts_first_us, 30 * 1000000LL);
  EXPECT_EQ(alerts[0].ts_last_us, 62 * 1000000LL);
  EXPECT_TRUE(set.Evaluate(ev("sshd", a, 63), &w).empty());  // counting starts again
  EXPECT_TRUE(set.Evaluate(ev("su", a, 64), &w).empty());    // other program

  EXPECT_EQ(set.Evaluate(ev("kernel", "Kernel panic - not syncing", 5), &w).size(), 1u);
  EXPECT_TRUE(set.Evaluate(ev("kernel", "all fine", 5), &w).empty());

  LogEvent deny = ev("fw", "x", 0);
  deny.fields = {{"action", "deny"}, {"user", "ola"}};
  EXPECT_TRUE(set.Evaluate(deny, &w).empty());
  deny.ts_us += 1000000;
  EXPECT_EQ(Ids(set.Evaluate(deny, &w)), std::vector<std::string>{"by-field"});
  deny.fields = {{"action", "deny"}};  // no user: nothing to count it under
  EXPECT_TRUE(set.Evaluate(deny, &w).empty());
}

TEST(EvaluateTest, LogWindowsAreBounded) {
  RuleSet set = Load(R"(
- {id: g, title: t, severity: low, log: {program: p, group_by: message, threshold: 2, window: 1h}}
)");
  LogWindows w(100);
  LogEvent e;
  e.program = "p";
  for (int i = 0; i < 1000; ++i) {
    e.message = std::to_string(i);
    EXPECT_TRUE(set.Evaluate(e, &w).empty());
  }
  EXPECT_EQ(w.evicted(), 900u);
}

TEST(SuppressorTest, OneAlertPerKeyPerWindow) {
  Suppressor s;
  Alert a;
  a.rule_id = "r";
  a.key = "10.0.0.1:23/telnet";
  a.suppress_us = 100;
  a.ts_first_us = a.ts_last_us = 1000;
  EXPECT_TRUE(s.Admit(a));
  for (int i = 1; i < 1000; ++i) {
    Alert again = a;
    again.ts_first_us = again.ts_last_us = 1000 + i % 100;
    EXPECT_FALSE(s.Admit(again));
  }
  EXPECT_EQ(s.suppressed(), 999u);
  const Alert* last = s.Last("r", a.key);
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->count, 1000u);
  EXPECT_EQ(last->ts_first_us, 1000);
  EXPECT_EQ(last->ts_last_us, 1099);
  Alert other_key = a;
  other_key.key = "10.0.0.2:23/telnet";
  EXPECT_TRUE(s.Admit(other_key));
  Alert other_rule = a;
  other_rule.rule_id = "r2";
  EXPECT_TRUE(s.Admit(other_rule));
  Alert later = a;
  later.ts_first_us = later.ts_last_us = 1100;  // the window has passed
  EXPECT_TRUE(s.Admit(later));
  EXPECT_EQ(s.Last("r", a.key)->count, 1u);
}

TEST(SuppressorTest, MemoryIsBounded) {
  Suppressor s(1000);
  Alert a;
  a.rule_id = "r";
  a.suppress_us = 1000000;
  for (int i = 0; i < 10000; ++i) {
    a.key = std::to_string(i);
    a.ts_first_us = i;
    EXPECT_TRUE(s.Admit(a));
    EXPECT_LE(s.size(), 1000u);
  }
  EXPECT_GT(s.evicted(), 0u);
  Suppressor none(0);
  EXPECT_TRUE(none.Admit(a));
  EXPECT_TRUE(none.Admit(a));
}

}  // namespace
}  // namespace rules::engine
