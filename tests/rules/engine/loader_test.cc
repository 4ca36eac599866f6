// The rule language: every construct loads into the Rule it describes, and every mistake is
// reported as "file:line:column: message".
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "rules/engine/rule_set.h"

namespace rules::engine {
namespace {

std::string ErrorOf(const std::string& yaml) {
  auto set = LoadRuleString(yaml, "t.yaml");
  if (set) return "(loaded)";
  return set.error().message;
}

constexpr const char* kSoftware = R"(
- id: ssh-1
  version: 3
  title: OpenSSH regreSSHion
  severity: high
  suppress: 12h
  references: [https://nvd.nist.gov/vuln/detail/CVE-2024-6387]
  software:
    vendor: OpenBSD
    product: OpenSSH
    scheme: openssh
    cves: [CVE-2024-6387]
    known_exploited: false
    affected:
      - {introduced: "0", fixed: "4.4p1"}
      - {introduced: "8.5p1", fixed: "9.8p1"}
  advice_nb: Oppgrader.
  advice_en: Upgrade.
)";

TEST(LoaderTest, SoftwareRule) {
  auto set = LoadRuleString(kSoftware, "t.yaml");
  ASSERT_TRUE(set) << set.error().message;
  ASSERT_EQ(set->rules().size(), 1u);
  const Rule& r = set->rules()[0];
  EXPECT_EQ(r.id, "ssh-1");
  EXPECT_EQ(r.version, 3);
  EXPECT_EQ(r.kind, RuleKind::kSoftware);
  EXPECT_EQ(r.severity, Severity::kHigh);
  EXPECT_EQ(r.suppress_us, 12LL * 3600 * 1000000);
  EXPECT_EQ(r.where, "t.yaml:2:3");
  EXPECT_EQ(r.software.products, std::vector<std::string>{"openbsd:openssh"});
  EXPECT_EQ(r.software.scheme, VersionScheme::kOpenSsh);
  ASSERT_EQ(r.software.affected.size(), 2u);
  EXPECT_EQ(r.software.affected[1].introduced, "8.5p1");
  EXPECT_EQ(r.advice_nb, "Oppgrader.");
  EXPECT_EQ(r.Summary(),
            "openbsd:openssh (openssh) affected: v < 4.4p1, 8.5p1 <= v < 9.8p1; CVE-2024-6387");
  EXPECT_NE(set->Find("ssh-1"), nullptr);
  EXPECT_EQ(set->Find("nope"), nullptr);
}

TEST(LoaderTest, ProductFormsAndGuessedScheme) {
  auto set = LoadRuleString(R"(
- id: a
  title: t
  severity: low
  software:
    products: ["cpe:2.3:a:openbsd:openssh:*", "Foo Corp:Bar Server"]
    affected: [{last_affected: "1.0"}]
)", "t.yaml");
  ASSERT_TRUE(set) << set.error().message;
  const SoftwareSpec& s = set->rules()[0].software;
  EXPECT_EQ(s.products, (std::vector<std::string>{"openbsd:openssh", "foo_corp:bar_server"}));
  EXPECT_EQ(s.scheme, VersionScheme::kOpenSsh);  // guessed from the first product
  EXPECT_EQ(set->rules()[0].suppress_us, 24LL * 3600 * 1000000);  // the default window
}

TEST(LoaderTest, PackHeaderAndPolicyRule) {
  auto set = LoadRuleString(R"(
name: demo
version: "1"
description: a pack
test_networks: {local: [10.0.0.0/8], zones: {ot: [10.7.0.0/16]}}
rules:
  - id: p
    title: t
    severity: critical
    policy:
      service: [Telnet, ftp]
      port: [23, 21]
      transport: tcp
      tls: false
      cleartext_auth: true
      http_auth: basic
      smb_version: [1]
      snmp_version: ["1", 2c]
      snmp_community: public
      exposed: true
      orig_zone: ot
      resp_zone: [internet]
      cross_zone: true
      key: pair
)", "t.yaml");
  ASSERT_TRUE(set) << set.error().message;
  const Rule& r = set->rules()[0];
  EXPECT_EQ(r.pack, "demo");
  EXPECT_EQ(r.kind, RuleKind::kPolicy);
  EXPECT_EQ(r.policy.services, (std::vector<std::string>{"telnet", "ftp"}));
  EXPECT_EQ(r.policy.ports, (std::vector<uint16_t>{23, 21}));
  EXPECT_EQ(r.policy.transport, 6);
  EXPECT_EQ(r.policy.tls, false);
  EXPECT_EQ(r.policy.smb_versions, std::vector<int>{1});
  EXPECT_EQ(r.policy.key, PolicySpec::Key::kPair);
  EXPECT_EQ(set->UnknownZones(), std::vector<std::string>{"ot"});
  Networks n;
  n.zones.emplace_back("OT", std::vector<Cidr>{*Cidr::Parse("10.7.0.0/16")});
  set->SetNetworks(n);
  EXPECT_TRUE(set->UnknownZones().empty());
}

TEST(LoaderTest, IndicatorRuleInlineAndFromFile) {
  std::string dir = ::testing::TempDir();
  std::string path = dir + "/rules_engine_ips.txt";
  {
    std::ofstream out(path);
    out << "# a feed\n192.0.2.1\n\n198.51.100.0/24   # comment\r\n2001:db8::/32\n";
  }
  auto set = LoadRuleString(R"Y(
- id: i
  title: t
  severity: high
  indicator:
    ips: [203.0.113.5, 10.0.0.0/8]
    ips_file: rules_engine_ips.txt
    domains: [evil.example, "*.bad.example", .worse.example]
    ja3: [E7D705A3286E19EA42F587B344EE6865]
    ja4: [t13d1516h2_8daaf6152771_b186095e22b6]
    cert_fingerprints: ["AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"]
    user_agents: ["Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"]
)Y", "t.yaml", dir);
  ASSERT_TRUE(set) << set.error().message;
  const IndicatorSpec& s = set->rules()[0].indicator;
  EXPECT_EQ(s.ips, 5u);
  EXPECT_EQ(s.domains, 1u);
  EXPECT_EQ(s.domain_suffixes, 2u);
  EXPECT_EQ(s.ja3, 1u);
  EXPECT_EQ(s.ja4, 1u);
  EXPECT_EQ(s.cert_fingerprints, 1u);
  EXPECT_EQ(s.user_agents, 1u);
  EXPECT_EQ(set->stats().cidr_entries, 5u);
  std::remove(path.c_str());
}

TEST(LoaderTest, LogRule) {
  auto set = LoadRuleString(R"(
- id: l
  title: t
  severity: medium
  log:
    program: [SSHD]
    message_contains: Failed
    message_regex: 'from (?P<src_ip>\S+)'
    field: {facility: auth}
    group_by: src_ip
    threshold: 10
    window: 5m
)", "t.yaml");
  ASSERT_TRUE(set) << set.error().message;
  const LogSpec& l = set->rules()[0].log;
  EXPECT_EQ(l.programs, std::vector<std::string>{"sshd"});
  EXPECT_EQ(l.threshold, 10u);
  EXPECT_EQ(l.window_us, 300LL * 1000000);
  EXPECT_EQ(l.field_equals.size(), 1u);
}

TEST(LoaderTest, EmbeddedTestsRunAndReportFailures) {
  auto set = LoadRuleString(R"(
- id: t1
  title: t
  severity: low
  policy: {service: telnet}
  tests:
    - {expect: alert, flow: {service: telnet}}
    - {expect: alert, flow: {service: ssh}}
    - {expect: none, service: {protocol: telnet}}
    - {expect: none, flow: {service: telnet, accepted: false}}
    - {expect: alert, flow: {service: telnet, accepted: false}}
)", "t.yaml");
  ASSERT_TRUE(set) << set.error().message;
  auto failures = RunRuleTests(&*set);
  ASSERT_EQ(failures.size(), 3u);
  EXPECT_EQ(failures[0], "t.yaml:8:7: rule t1: expected an alert, got none");
  EXPECT_EQ(failures[1].rfind("t.yaml:9:7: rule t1: expected no alert, got: ", 0), 0u)
      << failures[1];
  EXPECT_EQ(failures[2], "t.yaml:11:7: rule t1: expected an alert, got none");
}

struct ErrorCase {
  const char* yaml;
  const char* message;
};

TEST(LoaderTest, EveryErrorSaysWhere) {
  const std::string head = "- id: x\n  title: t\n  severity: low\n";
  const ErrorCase cases[] = {
      {"- id: [\n", "t.yaml:2:1: "},  // bad YAML: libyaml's message, with a position
      {"", "t.yaml:1:1: empty rule file"},
      {"42", "t.yaml:1:1: a rule file is a list of rules or a pack mapping"},
      {"- 42", "t.yaml:1:3: a rule must be a mapping"},
      {"- {id: x, title: t, severity: low, colour: red, policy: {service: a}}",
       "t.yaml:1:36: unknown key 'colour'"},
      {"- {title: t, severity: low, policy: {service: a}}", "t.yaml:1:3: missing required key 'id'"},
      {"- {id: 'a b', title: t, severity: low, policy: {service: a}}", "t.yaml:1:8: bad rule id"},
      {"- {id: x, title: t, severity: urgent, policy: {service: a}}",
       "t.yaml:1:31: unknown severity 'urgent' (info, low, medium, high, critical)"},
      {"- {id: x, title: t, severity: low}",
       "t.yaml:1:3: rule 'x' needs exactly one of software, policy, indicator, log"},
      {"- {id: x, title: t, severity: low, policy: {service: a}, log: {program: a}}",
       "needs exactly one of"},
      {"- {id: x, title: t, severity: low, policy: {service: a}}\n"
       "- {id: x, title: t, severity: low, policy: {service: a}}",
       "t.yaml:2:8: duplicate rule id 'x' (first at t.yaml:1:3)"},
      {"- {id: x, title: t, severity: low, suppress: soon, policy: {service: a}}", "t.yaml:1:46: "},
      // software
      {"- {id: x, title: t, severity: low, software: {affected: [{fixed: '1'}]}}",
       "software rule needs a product"},
      {"- {id: x, title: t, severity: low, software: {product: p, affected: [{fixed: '1'}]}}",
       "product 'p' needs a vendor"},
      {"- {id: x, title: t, severity: low, software: {product: 'a:', affected: [{fixed: '1'}]}}",
       "t.yaml:1:56: bad product 'a:' (want vendor:product or a CPE 2.3 name)"},
      {"- {id: x, title: t, severity: low, software: {product: a:b, scheme: roman, "
       "affected: [{fixed: '1'}]}}",
       "t.yaml:1:69: unknown version scheme 'roman'"},
      {"- {id: x, title: t, severity: low, software: {product: a:b, affected: []}}",
       "affected must be a non-empty list of ranges"},
      {"- {id: x, title: t, severity: low, software: {product: a:b, role: daemon, "
       "affected: [{fixed: '1'}]}}",
       "t.yaml:1:67: role must be server or client, not 'daemon'"},
      {"- {id: x, title: t, severity: low, software: {product: a:b, affected: [{fixed: '1'}]},"
       " tests: [{expect: none, software: {cpe: 'cpe:2.3:a:a:b:2', role: both}}]}",
       "role must be server or client, not 'both'"},
      {"- {id: x, title: t, severity: low, software: {product: a:b, affected: [{fixed: abc}]}}",
       "t.yaml:1:80: bad version range: 'abc' is no version"},
      {"- {id: x, title: t, severity: low, software: {product: a:b, "
       "affected: [{introduced: '2.0', fixed: '1.0'}]}}",
       "t.yaml:1:72: bad version range: introduced 2.0 is not before fixed 1.0"},
      {"- {id: x, title: t, severity: low, software: {product: a:b, "
       "affected: [{fixed: '2', last_affected: '1'}]}}",
       "bad version range: fixed and last_affected are exclusive"},
      {"- {id: x, title: t, severity: low, software: {product: a:b, affected: [{introduced: '0'}]}}",
       "bad version range: it covers every version"},
      {"- {id: x, title: t, severity: low, software: {product: a:b, affected: [{fixd: '1'}]}}",
       "unknown key 'fixd'"},
      {"- {id: x, title: t, severity: low, software: {product: a:b, affected: [{fixed: '1'}], "
       "cves: [CVE-24-1]}}",
       "bad CVE id 'CVE-24-1'"},
      // policy
      {"- {id: x, title: t, severity: low, policy: {}}", "policy rule has no condition"},
      {"- {id: x, title: t, severity: low, policy: {port: 70000}}", "t.yaml:1:51: value 70000 is out of range"},
      {"- {id: x, title: t, severity: low, policy: {transport: sctp}}",
       "unknown transport 'sctp' (tcp, udp)"},
      {"- {id: x, title: t, severity: low, policy: {snmp_version: '4'}}", "unknown snmp_version"},
      {"- {id: x, title: t, severity: low, policy: {exposed: maybe}}", "t.yaml:1:54: expected true or false"},
      {"- {id: x, title: t, severity: low, policy: {service: a, key: host}}",
       "unknown key 'host' (service, orig, pair)"},
      // indicators
      {"- {id: x, title: t, severity: low, indicator: {ips: [10.0.0.0/33]}}",
       "t.yaml:1:54: bad IP address or CIDR '10.0.0.0/33'"},
      {"- {id: x, title: t, severity: low, indicator: {ips: [10.0.0.300]}}",
       "bad IP address or CIDR"},
      {"- {id: x, title: t, severity: low, indicator: {domains: ['exa mple.org']}}",
       "bad domain 'exa mple.org'"},
      {"- {id: x, title: t, severity: low, indicator: {ja3: [abc]}}", "bad JA3 hash 'abc'"},
      {"- {id: x, title: t, severity: low, indicator: {ja4: [abc]}}", "bad JA4 fingerprint"},
      {"- {id: x, title: t, severity: low, indicator: {cert_fingerprints: [xyz]}}",
       "bad certificate fingerprint"},
      {"- {id: x, title: t, severity: low, indicator: {ips_file: /nonexistent/feed.txt}}",
       "cannot open indicator file '/nonexistent/feed.txt'"},
      {"- {id: x, title: t, severity: low, indicator: {}}", "indicator rule has no entries"},
      // log
      {"- {id: x, title: t, severity: low, log: {message_regex: 'a(b'}}", "bad regex: "},
      {"- {id: x, title: t, severity: low, log: {program: a, threshold: 5}}",
       "a threshold above 1 needs a window"},
      {"- {id: x, title: t, severity: low, log: {group_by: a}}", "log rule has no condition"},
      // tests
      {"- {id: x, title: t, severity: low, policy: {service: a}, tests: [{expect: maybe, "
       "flow: {}}]}",
       "expect must be 'alert' or 'none'"},
      {"- {id: x, title: t, severity: low, policy: {service: a}, tests: [{expect: none}]}",
       "test has no input"},
      {"- {id: x, title: t, severity: low, policy: {service: a}, tests: [{expect: none, "
       "flow: {orig: nowhere}}]}",
       "bad IP address 'nowhere'"},
      {"- {id: x, title: t, severity: low, policy: {service: a}, tests: [{expect: none, "
       "flow: {accepted: refused}}]}",
       "expected true or false"},
      // pack header
      {"name: p\nrules: 3\n", "t.yaml:2:8: rules must be a list"},
      {"rules: []\n", "t.yaml:1:1: missing required key 'name'"},
      {"name: p\ntest_networks: {zones: {a: [bad]}}\nrules: []\n", "t.yaml:2:28: bad CIDR 'bad'"},
  };
  for (const ErrorCase& c : cases) {
    std::string got = ErrorOf(c.yaml);
    EXPECT_NE(got.find(c.message), std::string::npos)
        << "input:\n" << c.yaml << "\nwant: " << c.message << "\ngot:  " << got;
  }
  (void)head;
}

TEST(LoaderTest, IndicatorFileErrorsNameTheFileAndLine) {
  std::string dir = ::testing::TempDir();
  std::string path = dir + "/rules_engine_bad_domains.txt";
  {
    std::ofstream out(path);
    out << "good.example\n\nbad domain.example\n";
  }
  auto set = LoadRuleString(
      "- {id: x, title: t, severity: low, indicator: {domains_file: rules_engine_bad_domains.txt}}",
      "t.yaml", dir);
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().message, path + ":3:1: bad domain 'bad domain.example'");
  std::remove(path.c_str());
}

TEST(LoaderTest, FilesLoadTogetherAndIdsStayUnique) {
  std::string dir = ::testing::TempDir();
  std::string a = dir + "/rules_engine_a.yaml";
  std::string b = dir + "/rules_engine_b.yaml";
  {
    std::ofstream(a) << "- {id: one, title: t, severity: low, policy: {service: telnet}}\n";
    std::ofstream(b) << "- {id: two, title: t, severity: low, policy: {service: ftp}}\n";
  }
  auto set = LoadRuleFiles({a, b});
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->rules().size(), 2u);
  auto dup = LoadRuleFiles({a, a});
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("duplicate rule id 'one'"), std::string::npos);
  auto missing = LoadRuleFiles({dir + "/rules_engine_none.yaml"});
  EXPECT_FALSE(missing);
  std::remove(a.c_str());
  std::remove(b.c_str());
}

}  // namespace
}  // namespace rules::engine
