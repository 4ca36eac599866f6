// A rule as loaded from a rule file (docs/rules.md, "The rule language"): the common header and
// one kind-specific body. Rules are value types owned by their RuleSet; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/engine/observations.h"
#include "rules/facts.h"
#include "rules/version.h"

namespace rules::engine {

enum class Severity { kInfo, kLow, kMedium, kHigh, kCritical };
enum class RuleKind { kSoftware, kPolicy, kIndicator, kLog };

std::string_view SeverityName(Severity s);                  // "info" ... "critical"
std::optional<Severity> SeverityFromName(std::string_view name);
std::string_view RuleKindName(RuleKind k);                  // "software" ...

// software: a product with OSV-style affected ranges.
struct SoftwareSpec {
  std::vector<std::string> products;  // normalised "vendor:product" keys (lowercase, '_' for ' ')
  VersionScheme scheme = VersionScheme::kGeneric;
  std::vector<VersionRange> affected;
  std::vector<std::string> cves;
  bool known_exploited = false;       // listed in CISA's KEV catalogue
  // "server": not facts from a program's client side (an OpenSSH client banner says nothing of
  // an sshd); "client": client-side facts only; "": either.
  std::string role;
};

// policy: conditions over services and flows, AND-ed; list values are OR-ed.
struct PolicySpec {
  std::vector<std::string> services;        // any of these in the flow's service field
  std::vector<uint16_t> ports;              // responder port
  uint8_t transport = 0;                    // 0: any
  std::optional<bool> tls;
  std::optional<bool> cleartext_auth;
  std::vector<std::string> http_auth;       // "basic"
  std::vector<int> smb_versions;
  std::vector<std::string> snmp_versions;   // "1", "2c"
  std::vector<std::string> snmp_communities;
  std::optional<bool> exposed;
  std::vector<std::string> orig_zones;      // zone names, or "internet" / "local"
  std::vector<std::string> resp_zones;
  std::optional<bool> cross_zone;           // orig and resp in different zones
  enum class Key { kService, kOrig, kPair } key = Key::kService;
};

// indicator: lists of bad things. The entries live in the RuleSet's indexes, not here.
struct IndicatorSpec {
  size_t ips = 0;  // addresses and CIDRs
  size_t domains = 0;
  size_t domain_suffixes = 0;
  size_t ja3 = 0;
  size_t ja4 = 0;
  size_t cert_fingerprints = 0;
  size_t user_agents = 0;
};

// log: matching events, counted per group over a sliding window.
struct LogSpec {
  std::vector<std::string> programs;               // any of (case-insensitive)
  std::vector<std::string> message_contains;       // all of (substring, case-sensitive)
  std::string message_regex;                       // RE2; named groups become fields
  std::vector<std::pair<std::string, std::string>> field_equals;
  std::string group_by;                            // a field name; "" = one group
  uint32_t threshold = 1;
  int64_t window_us = 0;                           // 0 with threshold 1: every event
};

// An embedded test from the rule file: inputs and whether they must raise an alert.
struct RuleTest {
  std::string where;  // "file:line:column" of the test
  bool expect_alert = true;
  std::vector<SoftwareFact> software;
  std::vector<ServiceFact> services;
  std::vector<FlowObservation> flows;
  std::vector<DnsObservation> dns;
  std::vector<LogEvent> logs;
};

struct Rule {
  std::string id;
  int version = 1;
  std::string title;
  Severity severity = Severity::kMedium;
  std::vector<std::string> references;
  int64_t suppress_us = 24LL * 3600 * 1000000;  // one alert per key per window
  std::string advice_nb;
  std::string advice_en;
  std::string where;  // "file:line:column" of the rule
  std::string pack;   // the pack name, "" for a bare list
  RuleKind kind = RuleKind::kSoftware;
  SoftwareSpec software;
  PolicySpec policy;
  IndicatorSpec indicator;
  LogSpec log;
  std::vector<RuleTest> tests;

  // One line for `utkikk rules check`: "openssh:openbsd 2 ranges, CVE-2024-6387".
  std::string Summary() const;
};

// "OpenBSD", "OpenSSH" -> "openbsd:openssh"; spaces become '_'.
std::string ProductKey(std::string_view vendor, std::string_view product);

}  // namespace rules::engine
