// Evaluation of a compiled RuleSet (rules/engine/rule_set.h).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <deque>
#include <list>
#include <unordered_map>

#include "engine/rule_set_impl.h"

namespace rules::engine {
namespace {

constexpr size_t kMaxEvidence = 512;

std::string Bounded(std::string s) {
  if (s.size() > kMaxEvidence) s.resize(kMaxEvidence);
  return s;
}

Alert MakeAlert(const Rule& rule, int64_t ts_us) {
  Alert a;
  a.rule_id = rule.id;
  a.rule_version = rule.version;
  a.title = rule.title;
  a.severity = rule.severity;
  a.kind = rule.kind;
  a.ts_first_us = ts_us;
  a.ts_last_us = ts_us;
  a.references = rule.references;
  a.advice_nb = rule.advice_nb;
  a.advice_en = rule.advice_en;
  a.suppress_us = rule.suppress_us;
  if (rule.kind == RuleKind::kSoftware) {
    a.cves = rule.software.cves;
    a.known_exploited = rule.software.known_exploited;
  }
  return a;
}

void SortUnique(RuleRefs* refs) {
  std::sort(refs->begin(), refs->end());
  refs->erase(std::unique(refs->begin(), refs->end()), refs->end());
}

// "cpe:2.3:a:openbsd:openssh:9.2p1:..." -> {"openbsd:openssh", "9.2p1"}.
bool SplitCpe(std::string_view cpe, std::string* key, std::string* version) {
  if (cpe.rfind("cpe:2.3:", 0) != 0) return false;
  cpe.remove_prefix(8);
  std::string_view parts[4];
  for (int i = 0; i < 4; ++i) {
    size_t colon = cpe.find(':');
    parts[i] = cpe.substr(0, colon);
    cpe = colon == std::string_view::npos ? std::string_view() : cpe.substr(colon + 1);
  }
  if (parts[1].empty() || parts[2].empty()) return false;
  *key = ProductKey(parts[1], parts[2]);
  *version = (parts[3] == "*" || parts[3] == "-") ? "" : std::string(parts[3]);
  return true;
}

bool ContainsToken(std::string_view list, std::string_view token) {
  // list is "imap,ssl"; compares case-insensitively.
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    if (item.size() == token.size() &&
        std::equal(item.begin(), item.end(), token.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool EqualsLower(std::string_view value, const std::vector<std::string>& lowered) {
  for (const std::string& want : lowered) {
    if (ContainsToken(value, want) && value.find(',') == std::string_view::npos) return true;
  }
  return false;
}

// The most specific zone of an address: a configured zone, else "local", else "internet".
std::string_view ZoneOf(const RuleSetImpl& impl, const IpAddress& a, RuleRefs* scratch) {
  scratch->clear();
  impl.zones.Lookup(a, scratch);
  if (!scratch->empty()) return impl.zone_names[scratch->front()];
  scratch->clear();
  impl.local.Lookup(a, scratch);
  return scratch->empty() ? std::string_view("internet") : std::string_view("local");
}

bool InZones(const RuleSetImpl& impl, const IpAddress& a, std::string_view primary,
             const std::vector<std::string>& wanted, RuleRefs* scratch) {
  for (const std::string& z : wanted) {
    if (z == primary) return true;
    if (z == "local" && primary != "internet") return true;
  }
  // An address in nested zones is in each of them.
  scratch->clear();
  impl.zones.Lookup(a, scratch);
  for (uint32_t zi : *scratch) {
    if (std::find(wanted.begin(), wanted.end(), impl.zone_names[zi]) != wanted.end()) return true;
  }
  return false;
}

// The zones of a flow's two ends, looked up once per flow on first need (the policy rules of a
// pack mostly ask the same question; each look-up probes every configured prefix length).
struct FlowZones {
  bool known = false;
  std::string_view orig;
  std::string_view resp;
  RuleRefs scratch;

  void Resolve(const RuleSetImpl& impl, const FlowObservation& f) {
    if (known) return;
    orig = ZoneOf(impl, f.orig, &scratch);
    resp = ZoneOf(impl, f.resp, &scratch);
    known = true;
  }
};

bool PolicyMatches(const RuleSetImpl& impl, const PolicySpec& p, const FlowObservation& f,
                   FlowZones* zones, std::string* why) {
  // A service, a TCP port or an exposure (below) is something a responder offers: a closed
  // port that refused a scanner's SYN, or one that never answered, offers none. A UDP port still
  // matches a request without an answer on its flow: TFTP answers from a new port (RFC 1350,
  // section 4), syslog and traps are never answered. Zone rules see every attempt (a water
  // works PLC trying the internet is the finding, answered or not).
  if (!f.accepted && (!p.services.empty() || (!p.ports.empty() && f.transport == 6))) {
    return false;
  }
  if (!p.services.empty()) {
    bool any = false;
    for (const std::string& s : p.services) any = any || ContainsToken(f.service, s);
    if (!any) return false;
  }
  if (!p.ports.empty() &&
      std::find(p.ports.begin(), p.ports.end(), f.resp_port) == p.ports.end()) {
    return false;
  }
  if (p.transport != 0 && p.transport != f.transport) return false;
  if (p.tls) {
    bool tls = f.tls.value_or(ContainsToken(f.service, "ssl") || ContainsToken(f.service, "tls"));
    if (tls != *p.tls) return false;
  }
  if (p.cleartext_auth && (!f.cleartext_auth || *f.cleartext_auth != *p.cleartext_auth)) {
    return false;
  }
  if (!p.http_auth.empty() && !EqualsLower(f.http_auth, p.http_auth)) return false;
  if (!p.smb_versions.empty() &&
      std::find(p.smb_versions.begin(), p.smb_versions.end(), f.smb_version) ==
          p.smb_versions.end()) {
    return false;
  }
  if (!p.snmp_versions.empty() && !EqualsLower(f.snmp_version, p.snmp_versions)) return false;
  if (!p.snmp_communities.empty() &&
      std::find(p.snmp_communities.begin(), p.snmp_communities.end(), f.snmp_community) ==
          p.snmp_communities.end()) {
    return false;
  }
  bool need_zones = p.exposed.has_value() || !p.orig_zones.empty() || !p.resp_zones.empty() ||
                    p.cross_zone.has_value();
  if (need_zones) zones->Resolve(impl, f);
  std::string_view orig_zone = zones->orig;
  std::string_view resp_zone = zones->resp;
  RuleRefs& scratch = zones->scratch;
  if (p.exposed) {
    bool exposed =
        f.accepted && f.exposed.value_or(orig_zone == "internet" && resp_zone != "internet");
    if (exposed != *p.exposed) return false;
  }
  if (!p.orig_zones.empty() && !InZones(impl, f.orig, orig_zone, p.orig_zones, &scratch)) {
    return false;
  }
  if (!p.resp_zones.empty() && !InZones(impl, f.resp, resp_zone, p.resp_zones, &scratch)) {
    return false;
  }
  if (p.cross_zone && (orig_zone != resp_zone) != *p.cross_zone) return false;
  if (need_zones) {
    *why = " (" + std::string(orig_zone) + " -> " + std::string(resp_zone) + ")";
  }
  return true;
}

std::string Endpoint(const IpAddress& a, uint16_t port) {
  std::string s = a.ToString();
  if (!a.is_v4()) s = "[" + s + "]";
  return s + ":" + std::to_string(port);
}

// The policy rules a flow could match, ascending (rule order): those naming one of the flow's
// services, those naming its responder port, and those that name neither. PolicyMatches checks
// each in full; this only leaves out rules a flow cannot match (~22 checks a flow to ~1).
void PolicyCandidates(const RuleSetImpl& impl, const FlowObservation& f, RuleRefs* out) {
  const RuleSetImpl::PolicyIndex& index = impl.policy_index;
  out->assign(index.others.begin(), index.others.end());
  auto add = [out](const RuleRefs& refs) { out->insert(out->end(), refs.begin(), refs.end()); };
  if (!index.by_port.empty()) {
    if (auto it = index.by_port.find(f.resp_port); it != index.by_port.end()) add(it->second);
  }
  if (!index.by_service.empty()) {
    // f.service is "imap,ssl": each item, lowered, as ContainsToken compares.
    std::string_view list = f.service;
    std::string token;
    while (!list.empty()) {
      size_t comma = list.find(',');
      token.assign(list.substr(0, comma));
      for (char& c : token) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (auto it = index.by_service.find(token); it != index.by_service.end()) add(it->second);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
}

void PolicyAlerts(const RuleSetImpl& impl, const FlowObservation& f, std::vector<Alert>* out) {
  FlowZones zones;
  thread_local RuleRefs candidates;  // kept: no allocation per flow once it has grown
  PolicyCandidates(impl, f, &candidates);
  for (uint32_t index : candidates) {
    const Rule& rule = impl.rules[index];
    std::string why;
    if (!PolicyMatches(impl, rule.policy, f, &zones, &why)) continue;
    Alert a = MakeAlert(rule, f.ts_us);
    a.src = f.orig;
    a.dst = f.resp;
    a.port = f.resp_port;
    a.uid = f.uid;
    std::string service = f.service.empty() ? "unknown" : f.service;
    switch (rule.policy.key) {
      case PolicySpec::Key::kService:
        a.key = Endpoint(f.resp, f.resp_port) + "/" + service;
        break;
      case PolicySpec::Key::kOrig: a.key = f.orig.ToString(); break;
      case PolicySpec::Key::kPair: a.key = f.orig.ToString() + "->" + f.resp.ToString(); break;
    }
    a.evidence = Bounded(Endpoint(f.orig, f.orig_port) + " -> " + Endpoint(f.resp, f.resp_port) +
                         " " + service + why);
    out->push_back(std::move(a));
  }
}

// Collects (rule, what matched) pairs, then raises one alert per rule.
struct Hits {
  std::vector<std::pair<uint32_t, std::string>> items;
  RuleRefs scratch;
  void Take(const std::string& what) {
    for (uint32_t r : scratch) items.emplace_back(r, what);
    scratch.clear();
  }
};

void IndicatorFlowHits(const RuleSetImpl& impl, const FlowObservation& f, Hits* h) {
  if (impl.ips.size() > 0) {
    impl.ips.Lookup(f.resp, &h->scratch);
    if (!h->scratch.empty()) h->Take("responder " + f.resp.ToString());
    impl.ips.Lookup(f.orig, &h->scratch);
    if (!h->scratch.empty()) h->Take("originator " + f.orig.ToString());
  }
  if (impl.domains.size() > 0) {
    if (!f.sni.empty()) {
      impl.domains.Lookup(f.sni, &h->scratch);
      if (!h->scratch.empty()) h->Take("TLS server name " + f.sni);
    }
    if (!f.http_host.empty()) {
      impl.domains.Lookup(f.http_host, &h->scratch);
      if (!h->scratch.empty()) h->Take("HTTP host " + f.http_host);
    }
  }
  auto lower = [](std::string s) {
    std::string out;
    for (char c : s) {
      if (c == ':') continue;
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
  };
  if (!f.ja3.empty() && impl.ja3.size() > 0) {
    impl.ja3.Lookup(lower(f.ja3), &h->scratch);
    if (!h->scratch.empty()) h->Take("JA3 " + f.ja3);
  }
  if (!f.ja4.empty() && impl.ja4.size() > 0) {
    std::string ja4 = f.ja4;
    std::transform(ja4.begin(), ja4.end(), ja4.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    impl.ja4.Lookup(ja4, &h->scratch);
    if (!h->scratch.empty()) h->Take("JA4 " + f.ja4);
  }
  if (impl.certs.size() > 0) {
    for (const std::string* c : {&f.cert_sha256, &f.cert_sha1}) {
      if (c->empty()) continue;
      impl.certs.Lookup(lower(*c), &h->scratch);
      if (!h->scratch.empty()) h->Take("certificate " + *c);
    }
  }
  if (!f.user_agent.empty() && impl.user_agents.size() > 0) {
    impl.user_agents.Lookup(f.user_agent, &h->scratch);
    if (!h->scratch.empty()) h->Take("user agent " + f.user_agent);
  }
}

void IndicatorAlerts(const RuleSetImpl& impl, Hits* h, int64_t ts_us, const std::string& uid,
                     const IpAddress& src, const IpAddress& dst, uint16_t port,
                     std::vector<Alert>* out) {
  if (h->items.empty()) return;
  std::stable_sort(h->items.begin(), h->items.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < h->items.size();) {
    uint32_t r = h->items[i].first;
    Alert a = MakeAlert(impl.rules[r], ts_us);
    a.src = src;
    a.dst = dst;
    a.port = port;
    a.uid = uid;
    std::string evidence;
    std::string key;
    for (; i < h->items.size() && h->items[i].first == r; ++i) {
      if (evidence.find(h->items[i].second) != std::string::npos) continue;
      if (!evidence.empty()) evidence += "; ";
      evidence += h->items[i].second;
      if (key.empty()) key = h->items[i].second.substr(h->items[i].second.rfind(' ') + 1);
    }
    a.key = src.ToString() + "->" + key;
    a.evidence = Bounded(evidence);
    out->push_back(std::move(a));
  }
}

}  // namespace

RuleSet::RuleSet() : impl_(std::make_unique<RuleSetImpl>()) {}
RuleSet::~RuleSet() = default;
RuleSet::RuleSet(RuleSet&&) noexcept = default;
RuleSet& RuleSet::operator=(RuleSet&&) noexcept = default;

const std::vector<Rule>& RuleSet::rules() const { return impl_->rules; }

const Rule* RuleSet::Find(std::string_view id) const {
  auto it = impl_->by_id.find(std::string(id));
  return it == impl_->by_id.end() ? nullptr : &impl_->rules[it->second];
}

IndexStats RuleSet::stats() const {
  IndexStats s;
  s.software_products = impl_->software.size();
  s.cidr_entries = impl_->ips.size();
  s.cidr_prefix_lengths = impl_->ips.prefix_lengths();
  s.domain_entries = impl_->domains.size();
  s.string_entries = impl_->ja3.size() + impl_->ja4.size() + impl_->certs.size() +
                     impl_->user_agents.size();
  return s;
}

void IndexPolicies(RuleSetImpl* impl) {
  RuleSetImpl::PolicyIndex index;
  // A zone condition naming only zones that are not configured can never hold (InZones).
  auto reachable = [impl](const std::vector<std::string>& zones) {
    if (zones.empty()) return true;
    for (const std::string& z : zones) {
      if (z == "internet" || z == "local" ||
          std::find(impl->zone_names.begin(), impl->zone_names.end(), z) !=
              impl->zone_names.end()) {
        return true;
      }
    }
    return false;
  };
  for (uint32_t i : impl->policy_rules) {
    const PolicySpec& p = impl->rules[i].policy;
    if (!reachable(p.orig_zones) || !reachable(p.resp_zones)) continue;
    if (!p.services.empty()) {
      for (const std::string& s : p.services) {
        RuleRefs& refs = index.by_service[s];
        if (refs.empty() || refs.back() != i) refs.push_back(i);
      }
    } else if (!p.ports.empty()) {
      for (uint16_t port : p.ports) {
        RuleRefs& refs = index.by_port[port];
        if (refs.empty() || refs.back() != i) refs.push_back(i);
      }
    } else {
      index.others.push_back(i);
    }
  }
  impl->policy_index = std::move(index);
}

void RuleSet::SetNetworks(const Networks& networks) {
  impl_->local = CidrIndex();
  impl_->zones = CidrIndex();
  impl_->zone_names.clear();
  for (const Cidr& c : networks.local) impl_->local.Add(c, 0);
  for (const auto& [name, cidrs] : networks.zones) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto it = std::find(impl_->zone_names.begin(), impl_->zone_names.end(), lower);
    uint32_t index = static_cast<uint32_t>(it - impl_->zone_names.begin());
    if (it == impl_->zone_names.end()) impl_->zone_names.push_back(lower);
    for (const Cidr& c : cidrs) impl_->zones.Add(c, index);
  }
  IndexPolicies(impl_.get());
}

std::vector<std::string> RuleSet::UnknownZones() const {
  std::vector<std::string> unknown;
  for (uint32_t i : impl_->policy_rules) {
    const PolicySpec& p = impl_->rules[i].policy;
    for (const auto* list : {&p.orig_zones, &p.resp_zones}) {
      for (const std::string& z : *list) {
        if (z == "internet" || z == "local") continue;
        if (std::find(impl_->zone_names.begin(), impl_->zone_names.end(), z) !=
            impl_->zone_names.end()) {
          continue;
        }
        if (std::find(unknown.begin(), unknown.end(), z) == unknown.end()) unknown.push_back(z);
      }
    }
  }
  return unknown;
}

std::vector<Alert> RuleSet::Evaluate(const SoftwareFact& fact) const {
  std::vector<Alert> alerts;
  std::string keys[2];
  std::string cpe_version;
  int n = 0;
  if (SplitCpe(fact.cpe23, &keys[0], &cpe_version)) ++n;
  if (!fact.vendor.empty() && !fact.product.empty()) {
    std::string k = ProductKey(fact.vendor, fact.product);
    if (n == 0 || k != keys[0]) keys[n++] = std::move(k);
  }
  RuleRefs refs;
  for (int i = 0; i < n; ++i) {
    auto it = impl_->software.find(keys[i]);
    if (it != impl_->software.end()) refs.insert(refs.end(), it->second.begin(), it->second.end());
  }
  if (refs.empty()) return alerts;
  SortUnique(&refs);
  const std::string& raw_version = fact.version.empty() ? cpe_version : fact.version;
  for (uint32_t index : refs) {
    const Rule& rule = impl_->rules[index];
    // A fact without a role counts as a server's, as the inventory keeps it.
    if (!rule.software.role.empty() &&
        (rule.software.role == "client") != (fact.role == "client")) {
      continue;
    }
    auto version = NormaliseVersion(raw_version, rule.software.scheme);
    if (!version) continue;  // an unknown version proves nothing
    if (!IsAffected(*version, rule.software.affected, rule.software.scheme)) continue;
    Alert a = MakeAlert(rule, fact.origin.ts_us);
    a.src = fact.host.ip;
    a.port = fact.port;
    a.key = fact.host.ip.ToString() + ":" + std::to_string(fact.port) + "/" + keys[0];
    a.uid = fact.origin.uid;
    std::string product = fact.vendor.empty() ? keys[0] : fact.vendor + " " + fact.product;
    a.evidence = Bounded(product + " " + *version +
                         (fact.origin.raw.empty() ? "" : " (banner: " + fact.origin.raw + ")"));
    alerts.push_back(std::move(a));
  }
  return alerts;
}

std::vector<Alert> RuleSet::Evaluate(const ServiceFact& fact) const {
  FlowObservation flow;
  flow.ts_us = fact.origin.ts_us;
  flow.uid = fact.origin.uid;
  flow.orig = fact.client;
  flow.resp = fact.host.ip;
  flow.resp_port = fact.port;
  flow.transport = fact.transport;
  flow.service = fact.protocol;
  flow.exposed = fact.exposed;
  std::vector<Alert> alerts;
  PolicyAlerts(*impl_, flow, &alerts);
  return alerts;
}

std::vector<Alert> RuleSet::Evaluate(const FlowObservation& flow) const {
  std::vector<Alert> alerts;
  PolicyAlerts(*impl_, flow, &alerts);
  Hits hits;
  IndicatorFlowHits(*impl_, flow, &hits);
  IndicatorAlerts(*impl_, &hits, flow.ts_us, flow.uid, flow.orig, flow.resp, flow.resp_port,
                  &alerts);
  return alerts;
}

std::vector<Alert> RuleSet::Evaluate(const DnsObservation& dns) const {
  std::vector<Alert> alerts;
  Hits hits;
  if (impl_->domains.size() > 0 && !dns.query.empty()) {
    impl_->domains.Lookup(dns.query, &hits.scratch);
    if (!hits.scratch.empty()) hits.Take("query " + dns.query);
  }
  for (const std::string& answer : dns.answers) {
    if (auto ip = IpAddress::Parse(answer)) {
      if (impl_->ips.size() == 0) continue;
      impl_->ips.Lookup(*ip, &hits.scratch);
    } else if (impl_->domains.size() > 0) {
      impl_->domains.Lookup(answer, &hits.scratch);
    }
    if (!hits.scratch.empty()) hits.Take("answer " + answer);
  }
  IndicatorAlerts(*impl_, &hits, dns.ts_us, dns.uid, dns.client, dns.server, 53, &alerts);
  return alerts;
}

// ---- log rules ----

struct LogWindows::State {
  struct Group {
    std::deque<int64_t> times;
    std::list<std::string>::iterator lru;
  };
  struct PerRule {
    std::unordered_map<std::string, Group> groups;
    std::list<std::string> lru;  // most recent at the front
  };
  size_t max_groups;
  std::unordered_map<uint32_t, PerRule> rules;
  uint64_t evicted = 0;
};

LogWindows::LogWindows(size_t max_groups_per_rule) : state_(std::make_unique<State>()) {
  state_->max_groups = std::max<size_t>(1, max_groups_per_rule);
}
LogWindows::~LogWindows() = default;
LogWindows::LogWindows(LogWindows&&) noexcept = default;
LogWindows& LogWindows::operator=(LogWindows&&) noexcept = default;
uint64_t LogWindows::evicted() const { return state_->evicted; }

std::vector<Alert> RuleSet::Evaluate(const LogEvent& event, LogWindows* windows) const {
  std::vector<Alert> alerts;
  for (uint32_t index : impl_->log_rules) {
    const Rule& rule = impl_->rules[index];
    const LogSpec& l = rule.log;
    if (!l.programs.empty()) {
      std::string program = event.program;
      std::transform(program.begin(), program.end(), program.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (std::find(l.programs.begin(), l.programs.end(), program) == l.programs.end()) continue;
    }
    bool ok = true;
    for (const std::string& m : l.message_contains) {
      if (event.message.find(m) == std::string::npos) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    for (const auto& [k, v] : l.field_equals) {
      const std::string* have = event.Field(k);
      if (have == nullptr || *have != v) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    std::string group;
    const re2::RE2* re = impl_->log_regex[index].get();
    if (re != nullptr) {
      int n = re->NumberOfCapturingGroups();
      std::vector<re2::StringPiece> caps(static_cast<size_t>(n) + 1);
      if (!re->Match(event.message, 0, event.message.size(), RE2::UNANCHORED, caps.data(),
                     n + 1)) {
        continue;
      }
      if (!l.group_by.empty()) {
        auto named = re->NamedCapturingGroups();
        auto it = named.find(l.group_by);
        if (it != named.end()) group = std::string(caps[static_cast<size_t>(it->second)]);
      }
    }
    if (!l.group_by.empty() && group.empty()) {
      const std::string* g = event.Field(l.group_by);
      if (g == nullptr || g->empty()) continue;  // nothing to count it under
      group = *g;
    }
    int64_t first = event.ts_us;
    uint64_t count = 1;
    if (l.threshold > 1) {
      LogWindows::State& st = *windows->state_;
      LogWindows::State::PerRule& pr = st.rules[index];
      auto it = pr.groups.find(group);
      if (it == pr.groups.end()) {
        if (pr.groups.size() >= st.max_groups) {
          pr.groups.erase(pr.lru.back());
          pr.lru.pop_back();
          ++st.evicted;
        }
        pr.lru.push_front(group);
        it = pr.groups.emplace(group, LogWindows::State::Group{{}, pr.lru.begin()}).first;
      } else {
        pr.lru.splice(pr.lru.begin(), pr.lru, it->second.lru);
      }
      std::deque<int64_t>& times = it->second.times;
      times.push_back(event.ts_us);
      while (!times.empty() && times.front() <= event.ts_us - l.window_us) times.pop_front();
      while (times.size() > l.threshold) times.pop_front();
      if (times.size() < l.threshold) continue;
      first = times.front();
      count = times.size();
      times.clear();  // the next alert needs a full threshold again
    }
    Alert a = MakeAlert(rule, first);
    a.ts_last_us = event.ts_us;
    a.count = count;
    a.key = event.host + (group.empty() ? "" : "/" + group);
    if (auto ip = IpAddress::Parse(group)) a.src = *ip;
    std::string counted = count > 1 ? std::to_string(count) + " events in " +
                                          std::to_string((event.ts_us - first) / 1000000) +
                                          "s; last: "
                                    : "";
    a.evidence = Bounded(counted + event.host + " " + event.program + ": " + event.message);
    alerts.push_back(std::move(a));
  }
  return alerts;
}

// ---- embedded tests ----

std::vector<std::string> RunRuleTests(RuleSet* set_ptr) {
  RuleSet& set = *set_ptr;
  const RuleSetImpl& impl = RuleSetAccess::Impl(set);
  std::vector<std::string> failures;
  // The private networks every test runs with unless its file gives test_networks.local.
  std::vector<Cidr> private_nets;
  for (const char* c : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}) {
    private_nets.push_back(*Cidr::Parse(c));
  }
  size_t current_file = SIZE_MAX;
  for (size_t ri = 0; ri < impl.rules.size(); ++ri) {
    const Rule& rule = impl.rules[ri];
    if (rule.tests.empty()) continue;
    if (impl.rule_file[ri] != current_file) {
      current_file = impl.rule_file[ri];
      Networks n = impl.file_networks[current_file];
      if (n.local.empty()) n.local = private_nets;
      set.SetNetworks(n);
    }
    for (const RuleTest& t : rule.tests) {
      std::vector<Alert> alerts;
      auto take = [&](std::vector<Alert> got) {
        for (Alert& a : got) {
          if (a.rule_id == rule.id) alerts.push_back(std::move(a));
        }
      };
      for (const SoftwareFact& f : t.software) take(set.Evaluate(f));
      for (const ServiceFact& f : t.services) take(set.Evaluate(f));
      for (const FlowObservation& f : t.flows) take(set.Evaluate(f));
      for (const DnsObservation& d : t.dns) take(set.Evaluate(d));
      LogWindows windows;
      for (const LogEvent& e : t.logs) take(set.Evaluate(e, &windows));
      if (t.expect_alert && alerts.empty()) {
        failures.push_back(t.where + ": rule " + rule.id + ": expected an alert, got none");
      } else if (!t.expect_alert && !alerts.empty()) {
        failures.push_back(t.where + ": rule " + rule.id + ": expected no alert, got: " +
                           alerts.front().evidence);
      }
    }
  }
  return failures;
}

}  // namespace rules::engine
