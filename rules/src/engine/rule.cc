// Names, product keys and one-line summaries of rules (rules/engine/rule.h).
#include "rules/engine/rule.h"

#include <array>

namespace rules::engine {
namespace {

constexpr std::array<std::string_view, 5> kSeverityNames = {"info", "low", "medium", "high",
                                                            "critical"};

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out.append(sep);
    out.append(s);
  }
  return out;
}

std::string RangeText(const VersionRange& r) {
  std::string out;
  bool from_start = r.introduced.empty() || r.introduced == "0";
  if (!from_start) out = r.introduced + " <= v";
  if (!r.fixed.empty()) out += (out.empty() ? "v < " : " < ") + r.fixed;
  if (!r.last_affected.empty()) out += (out.empty() ? "v <= " : " <= ") + r.last_affected;
  if (out.empty()) out = "all versions";
  return out;
}

}  // namespace

std::string_view SeverityName(Severity s) { return kSeverityNames[static_cast<size_t>(s)]; }

std::optional<Severity> SeverityFromName(std::string_view name) {
  for (size_t i = 0; i < kSeverityNames.size(); ++i) {
    if (kSeverityNames[i] == name) return static_cast<Severity>(i);
  }
  return std::nullopt;
}

std::string_view RuleKindName(RuleKind k) {
  switch (k) {
    case RuleKind::kSoftware: return "software";
    case RuleKind::kPolicy: return "policy";
    case RuleKind::kIndicator: return "indicator";
    case RuleKind::kLog: return "log";
  }
  return "?";
}

std::string ProductKey(std::string_view vendor, std::string_view product) {
  std::string key;
  key.reserve(vendor.size() + product.size() + 1);
  auto put = [&key](std::string_view part) {
    for (char c : part) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c == ' ') c = '_';
      key.push_back(c);
    }
  };
  put(vendor);
  key.push_back(':');
  put(product);
  return key;
}

const std::string* LogEvent::Field(std::string_view name) const {
  if (name == "host") return &host;
  if (name == "program") return &program;
  if (name == "message") return &message;
  for (const auto& [k, v] : fields) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string Rule::Summary() const {
  std::string s;
  switch (kind) {
    case RuleKind::kSoftware: {
      s = Join(software.products, "|") + " (" + std::string(SchemeName(software.scheme)) + ")";
      std::vector<std::string> ranges;
      for (const VersionRange& r : software.affected) ranges.push_back(RangeText(r));
      s += " affected: " + Join(ranges, ", ");
      if (!software.cves.empty()) s += "; " + Join(software.cves, ", ");
      if (software.known_exploited) s += "; known exploited";
      if (!software.role.empty()) s += "; " + software.role + " side only";
      break;
    }
    case RuleKind::kPolicy: {
      std::vector<std::string> c;
      const PolicySpec& p = policy;
      if (!p.services.empty()) c.push_back("service " + Join(p.services, "|"));
      if (!p.ports.empty()) {
        std::vector<std::string> ports;
        for (uint16_t port : p.ports) ports.push_back(std::to_string(port));
        c.push_back("port " + Join(ports, "|"));
      }
      if (p.transport == 6) c.push_back("tcp");
      if (p.transport == 17) c.push_back("udp");
      if (p.tls) c.push_back(*p.tls ? "with TLS" : "without TLS");
      if (p.cleartext_auth) c.push_back(*p.cleartext_auth ? "cleartext auth" : "no cleartext auth");
      if (!p.http_auth.empty()) c.push_back("http auth " + Join(p.http_auth, "|"));
      if (!p.smb_versions.empty()) {
        std::vector<std::string> v;
        for (int x : p.smb_versions) v.push_back(std::to_string(x));
        c.push_back("smb version " + Join(v, "|"));
      }
      if (!p.snmp_versions.empty()) c.push_back("snmp version " + Join(p.snmp_versions, "|"));
      if (!p.snmp_communities.empty()) {
        c.push_back("snmp community " + Join(p.snmp_communities, "|"));
      }
      if (p.exposed) c.push_back(*p.exposed ? "exposed to the internet" : "not exposed");
      if (!p.orig_zones.empty()) c.push_back("from zone " + Join(p.orig_zones, "|"));
      if (!p.resp_zones.empty()) c.push_back("to zone " + Join(p.resp_zones, "|"));
      if (p.cross_zone) c.push_back(*p.cross_zone ? "crossing zones" : "within a zone");
      s = Join(c, ", ");
      break;
    }
    case RuleKind::kIndicator: {
      const IndicatorSpec& i = indicator;
      std::vector<std::string> c;
      auto add = [&c](size_t n, const char* what) {
        if (n > 0) c.push_back(std::to_string(n) + " " + what);
      };
      add(i.ips, "addresses/CIDRs");
      add(i.domains, "domains");
      add(i.domain_suffixes, "domain suffixes");
      add(i.ja3, "JA3");
      add(i.ja4, "JA4");
      add(i.cert_fingerprints, "certificate fingerprints");
      add(i.user_agents, "user agents");
      s = Join(c, ", ");
      break;
    }
    case RuleKind::kLog: {
      std::vector<std::string> c;
      if (!log.programs.empty()) c.push_back("program " + Join(log.programs, "|"));
      for (const std::string& m : log.message_contains) c.push_back("message contains '" + m + "'");
      if (!log.message_regex.empty()) c.push_back("message ~ /" + log.message_regex + "/");
      for (const auto& [k, v] : log.field_equals) c.push_back(k + " == '" + v + "'");
      s = Join(c, ", ");
      if (log.threshold > 1) {
        s += "; >= " + std::to_string(log.threshold) + " in " +
             std::to_string(log.window_us / 1000000) + "s";
        if (!log.group_by.empty()) s += " per " + log.group_by;
      }
      break;
    }
  }
  return s;
}

}  // namespace rules::engine
