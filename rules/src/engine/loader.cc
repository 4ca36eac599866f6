// Reads rule files into a RuleSet (rules/engine/rule_set.h). Every error is
// "file:line:column: message", from the YAML node it is about.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/rule_set_impl.h"
#include "rules/yaml.h"

namespace rules::engine {
namespace {

constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxIndicatorFileBytes = 256u << 20;
constexpr int64_t kTestBaseUs = 1700000000LL * 1000000;  // 2023-11-14, the time of test inputs

// A node's value as a list of strings: a scalar is a list of one.
Result<std::vector<std::string>> StringOrList(const YamlNode& node) {
  if (node.is_scalar()) {
    auto s = node.AsString();
    if (!s) return tl::make_unexpected(s.error());
    return std::vector<std::string>{*s};
  }
  return node.AsStringList();
}

// A software side: "server" or "client" (a rule's condition, or a test fact's).
Result<std::string> Role(const YamlNode& node) {
  auto role = node.AsString();
  if (!role) return role;
  if (*role != "server" && *role != "client") {
    return tl::make_unexpected(node.ErrorAt("role must be server or client, not '" + *role + "'"));
  }
  return role;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> LowerAll(std::vector<std::string> v) {
  for (std::string& s : v) s = Lower(std::move(s));
  return v;
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool ValidCve(const std::string& id) {
  // CVE-YYYY-NNNN with four or more digits in the sequence number.
  if (id.size() < 13 || id.compare(0, 4, "CVE-") != 0 || id[8] != '-') return false;
  for (size_t i = 4; i < id.size(); ++i) {
    if (i == 8) continue;
    if (!std::isdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  return true;
}

bool HasDigit(const std::string& s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// "cpe:2.3:a:openbsd:openssh[:...]" or "openbsd:openssh" -> "openbsd:openssh".
std::optional<std::string> ProductFromText(const std::string& text) {
  std::string t = text;
  if (t.rfind("cpe:2.3:", 0) == 0) {
    t = t.substr(8);
    if (t.size() < 2 || t[1] != ':') return std::nullopt;
    t = t.substr(2);
  }
  size_t colon = t.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= t.size()) return std::nullopt;
  size_t end = t.find(':', colon + 1);
  std::string vendor = t.substr(0, colon);
  std::string product = t.substr(colon + 1, end == std::string::npos ? end : end - colon - 1);
  if (product.empty()) return std::nullopt;
  return ProductKey(vendor, product);
}

struct FileContext {
  std::string path;      // for messages
  std::string base_dir;  // resolves *_file
  size_t file_index = 0;
};

class Loader {
 public:
  explicit Loader(RuleSetImpl* impl) : impl_(impl) {}

  Result<> LoadDocument(const YamlNode& root, const FileContext& ctx);

 private:
  Result<> LoadRule(const YamlNode& node, const FileContext& ctx, const std::string& pack);
  Result<> LoadSoftware(const YamlNode& node, Rule* rule);
  Result<> LoadPolicy(const YamlNode& node, Rule* rule);
  Result<> LoadIndicator(const YamlNode& node, const FileContext& ctx, Rule* rule,
                         uint32_t index);
  Result<> LoadLog(const YamlNode& node, Rule* rule, std::unique_ptr<re2::RE2>* regex);
  Result<> LoadTests(const YamlNode& node, Rule* rule);
  Result<Networks> LoadNetworks(const YamlNode& node);

  RuleSetImpl* impl_;
};

Result<std::vector<Cidr>> CidrList(const YamlNode& node) {
  auto items = StringOrList(node);
  if (!items) return tl::make_unexpected(items.error());
  std::vector<Cidr> out;
  for (const std::string& s : *items) {
    auto c = Cidr::Parse(s);
    if (!c) return tl::make_unexpected(node.ErrorAt("bad CIDR '" + s + "'"));
    out.push_back(*c);
  }
  return out;
}

Result<Networks> Loader::LoadNetworks(const YamlNode& node) {
  Networks n;
  MappingReader r(node);
  r.Optional("local", [&](const YamlNode& v) -> Result<> {
    auto c = CidrList(v);
    if (!c) return tl::make_unexpected(c.error());
    n.local = std::move(*c);
    return {};
  });
  r.Optional("zones", [&](const YamlNode& v) -> Result<> {
    if (!v.is_mapping()) return tl::make_unexpected(v.ErrorAt("zones must be a mapping"));
    for (const auto& [k, cidrs] : v.entries()) {
      auto c = CidrList(cidrs);
      if (!c) return tl::make_unexpected(c.error());
      n.zones.emplace_back(k.scalar(), std::move(*c));
    }
    return {};
  });
  if (auto done = r.Finish(); !done) return tl::make_unexpected(done.error());
  return n;
}

Result<> Loader::LoadDocument(const YamlNode& root, const FileContext& ctx) {
  if (root.kind() == YamlNode::Kind::kNull) {
    return tl::make_unexpected(Error{ErrorCode::kConfig, ctx.path + ":1:1: empty rule file"});
  }
  if (root.is_sequence()) {
    impl_->file_networks.emplace_back();
    for (const YamlNode& item : root.items()) {
      if (auto ok = LoadRule(item, ctx, ""); !ok) return ok;
    }
    return {};
  }
  if (!root.is_mapping()) {
    return tl::make_unexpected(root.ErrorAt("a rule file is a list of rules or a pack mapping"));
  }
  std::string pack;
  Networks networks;
  const YamlNode* rules = nullptr;
  MappingReader r(root);
  r.Required("name", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    pack = *s;
    return {};
  });
  r.Optional("version", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    return {};
  });
  r.Optional("description", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    return {};
  });
  r.Optional("test_networks", [&](const YamlNode& v) -> Result<> {
    auto n = LoadNetworks(v);
    if (!n) return tl::make_unexpected(n.error());
    networks = std::move(*n);
    return {};
  });
  r.Required("rules", [&](const YamlNode& v) -> Result<> {
    if (!v.is_sequence()) return tl::make_unexpected(v.ErrorAt("rules must be a list"));
    rules = &v;
    return {};
  });
  if (auto done = r.Finish(); !done) return done;
  impl_->file_networks.push_back(std::move(networks));
  for (const YamlNode& item : rules->items()) {
    if (auto ok = LoadRule(item, ctx, pack); !ok) return ok;
  }
  return {};
}

Result<> Loader::LoadRule(const YamlNode& node, const FileContext& ctx, const std::string& pack) {
  if (!node.is_mapping()) return tl::make_unexpected(node.ErrorAt("a rule must be a mapping"));
  Rule rule;
  rule.where = node.mark().ToString();
  rule.pack = pack;
  const uint32_t index = static_cast<uint32_t>(impl_->rules.size());
  std::unique_ptr<re2::RE2> regex;
  int bodies = 0;
  const YamlNode* tests = nullptr;
  auto str = [](std::string* out) {
    return [out](const YamlNode& v) -> Result<> {
      auto s = v.AsString();
      if (!s) return tl::make_unexpected(s.error());
      *out = *s;
      return {};
    };
  };
  MappingReader r(node);
  r.Required("id", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    if (!ValidId(*s)) {
      return tl::make_unexpected(
          v.ErrorAt("bad rule id '" + *s + "' (letters, digits, '-', '_', '.'; at most 128)"));
    }
    if (impl_->by_id.count(*s) != 0) {
      return tl::make_unexpected(v.ErrorAt("duplicate rule id '" + *s + "' (first at " +
                                           impl_->rules[impl_->by_id[*s]].where + ")"));
    }
    rule.id = *s;
    return {};
  });
  r.Optional("version", [&](const YamlNode& v) -> Result<> {
    auto n = v.AsInt(1, std::numeric_limits<int>::max());
    if (!n) return tl::make_unexpected(n.error());
    rule.version = static_cast<int>(*n);
    return {};
  });
  r.Required("title", str(&rule.title));
  r.Optional("description", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    return {};
  });
  r.Required("severity", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    auto sev = SeverityFromName(*s);
    if (!sev) {
      return tl::make_unexpected(
          v.ErrorAt("unknown severity '" + *s + "' (info, low, medium, high, critical)"));
    }
    rule.severity = *sev;
    return {};
  });
  r.Optional("references", [&](const YamlNode& v) -> Result<> {
    auto l = StringOrList(v);
    if (!l) return tl::make_unexpected(l.error());
    rule.references = std::move(*l);
    return {};
  });
  r.Optional("suppress", [&](const YamlNode& v) -> Result<> {
    auto d = v.AsDuration();
    if (!d) return tl::make_unexpected(d.error());
    if (d->count() < 0 || d->count() > 366LL * 24 * 3600 * 1000) {
      return tl::make_unexpected(v.ErrorAt("suppress must be between 0 and 366d"));
    }
    rule.suppress_us = static_cast<int64_t>(d->count()) * 1000;
    return {};
  });
  r.Optional("advice_nb", str(&rule.advice_nb));
  r.Optional("advice_en", str(&rule.advice_en));
  r.Optional("software", [&](const YamlNode& v) -> Result<> {
    ++bodies;
    rule.kind = RuleKind::kSoftware;
    return LoadSoftware(v, &rule);
  });
  r.Optional("policy", [&](const YamlNode& v) -> Result<> {
    ++bodies;
    rule.kind = RuleKind::kPolicy;
    return LoadPolicy(v, &rule);
  });
  r.Optional("indicator", [&](const YamlNode& v) -> Result<> {
    ++bodies;
    rule.kind = RuleKind::kIndicator;
    return LoadIndicator(v, ctx, &rule, index);
  });
  r.Optional("log", [&](const YamlNode& v) -> Result<> {
    ++bodies;
    rule.kind = RuleKind::kLog;
    return LoadLog(v, &rule, &regex);
  });
  r.Optional("tests", [&](const YamlNode& v) -> Result<> {
    tests = &v;
    return {};
  });
  if (auto done = r.Finish(); !done) return done;
  if (bodies != 1) {
    return tl::make_unexpected(node.ErrorAt(
        "rule '" + rule.id + "' needs exactly one of software, policy, indicator, log"));
  }
  if (tests != nullptr) {
    if (auto ok = LoadTests(*tests, &rule); !ok) return ok;
  }
  switch (rule.kind) {
    case RuleKind::kSoftware:
      for (const std::string& p : rule.software.products) {
        RuleRefs& refs = impl_->software[p];
        if (refs.empty() || refs.back() != index) refs.push_back(index);
      }
      break;
    case RuleKind::kPolicy: impl_->policy_rules.push_back(index); break;
    case RuleKind::kLog: impl_->log_rules.push_back(index); break;
    case RuleKind::kIndicator: break;
  }
  impl_->by_id.emplace(rule.id, index);
  impl_->rule_file.push_back(static_cast<uint32_t>(ctx.file_index));
  impl_->rules.push_back(std::move(rule));
  impl_->log_regex.push_back(std::move(regex));
  return {};
}

Result<> Loader::LoadSoftware(const YamlNode& node, Rule* rule) {
  SoftwareSpec& s = rule->software;
  std::string vendor;
  std::string product;
  std::optional<VersionScheme> scheme;
  const YamlNode* at = &node;
  auto add_products = [&](const YamlNode& v) -> Result<> {
    auto l = StringOrList(v);
    if (!l) return tl::make_unexpected(l.error());
    for (const std::string& p : *l) {
      auto key = ProductFromText(p);
      if (!key) {
        return tl::make_unexpected(
            v.ErrorAt("bad product '" + p + "' (want vendor:product or a CPE 2.3 name)"));
      }
      s.products.push_back(*key);
    }
    return {};
  };
  MappingReader r(node);
  r.Optional("vendor", [&](const YamlNode& v) -> Result<> {
    auto x = v.AsString();
    if (!x) return tl::make_unexpected(x.error());
    vendor = *x;
    return {};
  });
  r.Optional("product", [&](const YamlNode& v) -> Result<> {
    if (v.is_scalar() && v.scalar().find(':') == std::string::npos) {
      product = v.scalar();
      at = &v;
      return {};
    }
    return add_products(v);
  });
  r.Optional("products", add_products);
  r.Optional("cpe", add_products);
  r.Optional("scheme", [&](const YamlNode& v) -> Result<> {
    auto x = v.AsString();
    if (!x) return tl::make_unexpected(x.error());
    scheme = SchemeFromName(*x);
    if (!scheme) {
      return tl::make_unexpected(v.ErrorAt(
          "unknown version scheme '" + *x +
          "' (generic, openssh, debian, semver, windows-build, cisco)"));
    }
    return {};
  });
  const YamlNode* affected = nullptr;
  r.Required("affected", [&](const YamlNode& v) -> Result<> {
    if (!v.is_sequence() || v.items().empty()) {
      return tl::make_unexpected(v.ErrorAt("affected must be a non-empty list of ranges"));
    }
    affected = &v;
    return {};
  });
  r.Optional("cves", [&](const YamlNode& v) -> Result<> {
    auto l = StringOrList(v);
    if (!l) return tl::make_unexpected(l.error());
    for (const std::string& c : *l) {
      if (!ValidCve(c)) return tl::make_unexpected(v.ErrorAt("bad CVE id '" + c + "'"));
    }
    s.cves = std::move(*l);
    return {};
  });
  r.Optional("known_exploited", [&](const YamlNode& v) -> Result<> {
    auto b = v.AsBool();
    if (!b) return tl::make_unexpected(b.error());
    s.known_exploited = *b;
    return {};
  });
  r.Optional("role", [&](const YamlNode& v) -> Result<> {
    auto role = Role(v);
    if (!role) return tl::make_unexpected(role.error());
    s.role = std::move(*role);
    return {};
  });
  if (auto done = r.Finish(); !done) return done;
  if (!product.empty()) {
    if (vendor.empty()) {
      return tl::make_unexpected(at->ErrorAt("product '" + product + "' needs a vendor"));
    }
    s.products.push_back(ProductKey(vendor, product));
  } else if (!vendor.empty()) {
    return tl::make_unexpected(node.ErrorAt("vendor '" + vendor + "' needs a product"));
  }
  if (s.products.empty()) {
    return tl::make_unexpected(node.ErrorAt("software rule needs a product"));
  }
  s.scheme = scheme ? *scheme : GuessScheme(s.products.front());
  for (const YamlNode& item : affected->items()) {
    VersionRange range;
    MappingReader rr(item);
    auto version = [&item](std::string* out) {
      return [out, &item](const YamlNode& v) -> Result<> {
        auto x = v.AsString();
        if (!x) return tl::make_unexpected(x.error());
        if (!HasDigit(*x)) {
          return tl::make_unexpected(v.ErrorAt("bad version range: '" + *x + "' is no version"));
        }
        (void)item;
        *out = *x;
        return {};
      };
    };
    rr.Optional("introduced", version(&range.introduced));
    rr.Optional("fixed", version(&range.fixed));
    rr.Optional("last_affected", version(&range.last_affected));
    if (!item.is_mapping()) {
      return tl::make_unexpected(
          item.ErrorAt("bad version range: want {introduced, fixed | last_affected}"));
    }
    if (auto done = rr.Finish(); !done) return done;
    if (!range.fixed.empty() && !range.last_affected.empty()) {
      return tl::make_unexpected(
          item.ErrorAt("bad version range: fixed and last_affected are exclusive"));
    }
    bool from_start = range.introduced.empty() || range.introduced == "0";
    if (from_start && range.fixed.empty() && range.last_affected.empty()) {
      return tl::make_unexpected(
          item.ErrorAt("bad version range: it covers every version; give introduced, fixed or "
                       "last_affected"));
    }
    if (!from_start && !range.fixed.empty() &&
        CompareVersions(range.introduced, range.fixed, s.scheme) >= 0) {
      return tl::make_unexpected(item.ErrorAt("bad version range: introduced " +
                                              range.introduced + " is not before fixed " +
                                              range.fixed));
    }
    if (!from_start && !range.last_affected.empty() &&
        CompareVersions(range.introduced, range.last_affected, s.scheme) > 0) {
      return tl::make_unexpected(item.ErrorAt("bad version range: introduced " +
                                              range.introduced + " is after last_affected " +
                                              range.last_affected));
    }
    s.affected.push_back(std::move(range));
  }
  return {};
}

Result<> Loader::LoadPolicy(const YamlNode& node, Rule* rule) {
  PolicySpec& p = rule->policy;
  int conditions = 0;
  auto strings = [&](std::vector<std::string>* out) {
    return [&conditions, out](const YamlNode& v) -> Result<> {
      auto l = StringOrList(v);
      if (!l) return tl::make_unexpected(l.error());
      *out = LowerAll(std::move(*l));
      ++conditions;
      return {};
    };
  };
  auto flag = [&](std::optional<bool>* out) {
    return [&conditions, out](const YamlNode& v) -> Result<> {
      auto b = v.AsBool();
      if (!b) return tl::make_unexpected(b.error());
      *out = *b;
      ++conditions;
      return {};
    };
  };
  MappingReader r(node);
  r.Optional("service", strings(&p.services));
  r.Optional("port", [&](const YamlNode& v) -> Result<> {
    std::vector<const YamlNode*> items;
    if (v.is_sequence()) {
      for (const YamlNode& i : v.items()) items.push_back(&i);
    } else {
      items.push_back(&v);
    }
    for (const YamlNode* i : items) {
      auto n = i->AsInt(1, 65535);
      if (!n) return tl::make_unexpected(n.error());
      p.ports.push_back(static_cast<uint16_t>(*n));
    }
    ++conditions;
    return {};
  });
  r.Optional("transport", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    if (*s == "tcp") {
      p.transport = 6;
    } else if (*s == "udp") {
      p.transport = 17;
    } else {
      return tl::make_unexpected(v.ErrorAt("unknown transport '" + *s + "' (tcp, udp)"));
    }
    ++conditions;
    return {};
  });
  r.Optional("tls", flag(&p.tls));
  r.Optional("cleartext_auth", flag(&p.cleartext_auth));
  r.Optional("http_auth", strings(&p.http_auth));
  r.Optional("smb_version", [&](const YamlNode& v) -> Result<> {
    std::vector<const YamlNode*> items;
    if (v.is_sequence()) {
      for (const YamlNode& i : v.items()) items.push_back(&i);
    } else {
      items.push_back(&v);
    }
    for (const YamlNode* i : items) {
      auto n = i->AsInt(1, 3);
      if (!n) return tl::make_unexpected(n.error());
      p.smb_versions.push_back(static_cast<int>(*n));
    }
    ++conditions;
    return {};
  });
  r.Optional("snmp_version", strings(&p.snmp_versions));
  r.Optional("snmp_community", [&](const YamlNode& v) -> Result<> {
    auto l = StringOrList(v);  // community strings are case-sensitive
    if (!l) return tl::make_unexpected(l.error());
    p.snmp_communities = std::move(*l);
    ++conditions;
    return {};
  });
  r.Optional("exposed", flag(&p.exposed));
  r.Optional("orig_zone", strings(&p.orig_zones));
  r.Optional("resp_zone", strings(&p.resp_zones));
  r.Optional("cross_zone", flag(&p.cross_zone));
  r.Optional("key", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    if (*s == "service") {
      p.key = PolicySpec::Key::kService;
    } else if (*s == "orig") {
      p.key = PolicySpec::Key::kOrig;
    } else if (*s == "pair") {
      p.key = PolicySpec::Key::kPair;
    } else {
      return tl::make_unexpected(v.ErrorAt("unknown key '" + *s + "' (service, orig, pair)"));
    }
    return {};
  });
  if (auto done = r.Finish(); !done) return done;
  if (conditions == 0) return tl::make_unexpected(node.ErrorAt("policy rule has no condition"));
  for (const std::string& v : p.snmp_versions) {
    if (v != "1" && v != "2c" && v != "3") {
      return tl::make_unexpected(node.ErrorAt("unknown snmp_version '" + v + "' (1, 2c, 3)"));
    }
  }
  return {};
}

// Where an indicator entry came from, for messages.
struct EntrySource {
  const YamlNode* node = nullptr;  // inline list
  std::string file;                // or a file and line
  int line = 0;
  Error ErrorAt(const std::string& message) const {
    if (node != nullptr) return node->ErrorAt(message);
    return Error{ErrorCode::kConfig, file + ":" + std::to_string(line) + ":1: " + message};
  }
};

enum class IndicatorKind { kIp, kDomain, kJa3, kJa4, kCert, kUserAgent };

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c));
  });
}

std::string StripColons(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ':'), s.end());
  return Lower(std::move(s));
}

Result<> AddIndicator(RuleSetImpl* impl, IndicatorSpec* spec, IndicatorKind kind,
                      std::string entry, uint32_t rule, const EntrySource& src) {
  switch (kind) {
    case IndicatorKind::kIp: {
      auto c = Cidr::Parse(entry);
      if (!c) return tl::make_unexpected(src.ErrorAt("bad IP address or CIDR '" + entry + "'"));
      impl->ips.Add(*c, rule);
      ++spec->ips;
      return {};
    }
    case IndicatorKind::kDomain: {
      bool suffix = false;
      std::string_view name = entry;
      if (name.rfind("*.", 0) == 0) {
        suffix = true;
        name.remove_prefix(2);
      } else if (name.rfind('.', 0) == 0) {
        suffix = true;
        name.remove_prefix(1);
      }
      std::string n;
      if (!NormaliseDomain(name, &n) || n.find('*') != std::string::npos ||
          n.find("..") != std::string::npos || n.front() == '.') {
        return tl::make_unexpected(src.ErrorAt("bad domain '" + entry + "'"));
      }
      if (suffix) {
        impl->domains.AddSuffix(n, rule);
        ++spec->domain_suffixes;
      } else {
        impl->domains.AddExact(n, rule);
        ++spec->domains;
      }
      return {};
    }
    case IndicatorKind::kJa3: {
      std::string h = Lower(entry);
      if (h.size() != 32 || !IsHex(h)) {
        return tl::make_unexpected(src.ErrorAt("bad JA3 hash '" + entry + "' (32 hex digits)"));
      }
      impl->ja3.Add(std::move(h), rule);
      ++spec->ja3;
      return {};
    }
    case IndicatorKind::kJa4: {
      // t13d1516h2_8daaf6152771_b186095e22b6: three '_'-separated parts.
      if (std::count(entry.begin(), entry.end(), '_') != 2 || entry.size() > 64) {
        return tl::make_unexpected(src.ErrorAt("bad JA4 fingerprint '" + entry + "'"));
      }
      impl->ja4.Add(Lower(entry), rule);
      ++spec->ja4;
      return {};
    }
    case IndicatorKind::kCert: {
      std::string h = StripColons(entry);
      if ((h.size() != 40 && h.size() != 64) || !IsHex(h)) {
        return tl::make_unexpected(src.ErrorAt(
            "bad certificate fingerprint '" + entry + "' (SHA-1 or SHA-256 in hex)"));
      }
      impl->certs.Add(std::move(h), rule);
      ++spec->cert_fingerprints;
      return {};
    }
    case IndicatorKind::kUserAgent:
      if (entry.empty()) return tl::make_unexpected(src.ErrorAt("empty user agent"));
      impl->user_agents.Add(std::move(entry), rule);
      ++spec->user_agents;
      return {};
  }
  return {};
}

Result<> LoadIndicatorFile(RuleSetImpl* impl, IndicatorSpec* spec, IndicatorKind kind,
                           const YamlNode& at, const std::string& path, uint32_t rule) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::make_unexpected(at.ErrorAt("cannot open indicator file '" + path + "'"));
  std::string line;
  EntrySource src;
  src.file = path;
  size_t bytes = 0;
  while (std::getline(in, line)) {
    ++src.line;
    bytes += line.size() + 1;
    if (bytes > kMaxIndicatorFileBytes) {
      return tl::make_unexpected(at.ErrorAt("indicator file '" + path + "' is over 256 MiB"));
    }
    size_t hash = line.find('#');
    if (kind != IndicatorKind::kUserAgent && hash != std::string::npos) line.resize(hash);
    if (kind == IndicatorKind::kUserAgent && !line.empty() && line[0] == '#') continue;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    if (auto ok = AddIndicator(impl, spec, kind, line.substr(start), rule, src); !ok) return ok;
  }
  return {};
}

Result<> Loader::LoadIndicator(const YamlNode& node, const FileContext& ctx, Rule* rule,
                               uint32_t index) {
  IndicatorSpec& spec = rule->indicator;
  MappingReader r(node);
  auto inline_list = [&](IndicatorKind kind) {
    return [this, &spec, kind, index](const YamlNode& v) -> Result<> {
      if (!v.is_sequence()) return tl::make_unexpected(v.ErrorAt("want a list"));
      for (const YamlNode& item : v.items()) {
        auto s = item.AsString();
        if (!s) return tl::make_unexpected(s.error());
        EntrySource src;
        src.node = &item;
        if (auto ok = AddIndicator(impl_, &spec, kind, *s, index, src); !ok) return ok;
      }
      return {};
    };
  };
  auto from_file = [&](IndicatorKind kind) {
    return [this, &spec, &ctx, kind, index](const YamlNode& v) -> Result<> {
      auto l = StringOrList(v);
      if (!l) return tl::make_unexpected(l.error());
      for (const std::string& f : *l) {
        std::string path = (!f.empty() && f[0] == '/') ? f : ctx.base_dir + "/" + f;
        if (auto ok = LoadIndicatorFile(impl_, &spec, kind, v, path, index); !ok) return ok;
      }
      return {};
    };
  };
  const std::pair<const char*, IndicatorKind> kinds[] = {
      {"ips", IndicatorKind::kIp},     {"domains", IndicatorKind::kDomain},
      {"ja3", IndicatorKind::kJa3},    {"ja4", IndicatorKind::kJa4},
      {"cert_fingerprints", IndicatorKind::kCert},
      {"user_agents", IndicatorKind::kUserAgent},
  };
  for (const auto& [name, kind] : kinds) {
    r.Optional(name, inline_list(kind));
    r.Optional(std::string(name) + "_file", from_file(kind));
  }
  if (auto done = r.Finish(); !done) return done;
  if (spec.ips + spec.domains + spec.domain_suffixes + spec.ja3 + spec.ja4 +
          spec.cert_fingerprints + spec.user_agents == 0) {
    return tl::make_unexpected(node.ErrorAt("indicator rule has no entries"));
  }
  return {};
}

Result<> Loader::LoadLog(const YamlNode& node, Rule* rule, std::unique_ptr<re2::RE2>* regex) {
  LogSpec& l = rule->log;
  int conditions = 0;
  const YamlNode* window_node = nullptr;
  MappingReader r(node);
  r.Optional("program", [&](const YamlNode& v) -> Result<> {
    auto x = StringOrList(v);
    if (!x) return tl::make_unexpected(x.error());
    l.programs = LowerAll(std::move(*x));
    ++conditions;
    return {};
  });
  r.Optional("message_contains", [&](const YamlNode& v) -> Result<> {
    auto x = StringOrList(v);
    if (!x) return tl::make_unexpected(x.error());
    l.message_contains = std::move(*x);
    ++conditions;
    return {};
  });
  r.Optional("message_regex", [&](const YamlNode& v) -> Result<> {
    auto x = v.AsString();
    if (!x) return tl::make_unexpected(x.error());
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(8 << 20);
    auto re = std::make_unique<re2::RE2>(*x, options);
    if (!re->ok()) return tl::make_unexpected(v.ErrorAt("bad regex: " + re->error()));
    l.message_regex = *x;
    *regex = std::move(re);
    ++conditions;
    return {};
  });
  r.Optional("field", [&](const YamlNode& v) -> Result<> {
    if (!v.is_mapping()) return tl::make_unexpected(v.ErrorAt("field must be a mapping"));
    for (const auto& [k, val] : v.entries()) {
      auto x = val.AsString();
      if (!x) return tl::make_unexpected(x.error());
      l.field_equals.emplace_back(k.scalar(), *x);
    }
    ++conditions;
    return {};
  });
  r.Optional("group_by", [&](const YamlNode& v) -> Result<> {
    auto x = v.AsString();
    if (!x) return tl::make_unexpected(x.error());
    l.group_by = *x;
    return {};
  });
  r.Optional("threshold", [&](const YamlNode& v) -> Result<> {
    auto n = v.AsInt(1, 100000);
    if (!n) return tl::make_unexpected(n.error());
    l.threshold = static_cast<uint32_t>(*n);
    return {};
  });
  r.Optional("window", [&](const YamlNode& v) -> Result<> {
    auto d = v.AsDuration();
    if (!d) return tl::make_unexpected(d.error());
    if (d->count() <= 0 || d->count() > 7LL * 24 * 3600 * 1000) {
      return tl::make_unexpected(v.ErrorAt("window must be between 1ms and 7d"));
    }
    l.window_us = static_cast<int64_t>(d->count()) * 1000;
    window_node = &v;
    return {};
  });
  if (auto done = r.Finish(); !done) return done;
  if (conditions == 0) return tl::make_unexpected(node.ErrorAt("log rule has no condition"));
  if (l.threshold > 1 && l.window_us == 0) {
    return tl::make_unexpected(node.ErrorAt("a threshold above 1 needs a window"));
  }
  (void)window_node;
  return {};
}

// ---- embedded tests ----

Result<IpAddress> Ip(const YamlNode& v) {
  auto s = v.AsString();
  if (!s) return tl::make_unexpected(s.error());
  auto a = IpAddress::Parse(*s);
  if (!a) return tl::make_unexpected(v.ErrorAt("bad IP address '" + *s + "'"));
  return *a;
}

Result<int64_t> At(const YamlNode& v) {
  auto d = v.AsDuration();
  if (!d) return tl::make_unexpected(d.error());
  return kTestBaseUs + static_cast<int64_t>(d->count()) * 1000;
}

#define UTKIKK_TRY_ASSIGN(target, expr)                      \
  do {                                                       \
    auto tmp_ = (expr);                                      \
    if (!tmp_) return tl::make_unexpected(tmp_.error());     \
    target = std::move(*tmp_);                               \
  } while (0)

Result<SoftwareFact> ReadSoftware(const YamlNode& node) {
  SoftwareFact f;
  f.host.ip = *IpAddress::Parse("10.0.0.10");
  f.role = "server";
  f.origin.ts_us = kTestBaseUs;
  MappingReader r(node);
  r.Optional("host", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.host.ip, Ip(v));
    return {};
  });
  r.Optional("port", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.port, v.AsInt(0, 65535));
    return {};
  });
  r.Optional("vendor", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.vendor, v.AsString());
    return {};
  });
  r.Optional("product", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.product, v.AsString());
    return {};
  });
  r.Optional("version", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.version, v.AsString());
    return {};
  });
  r.Optional("cpe", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.cpe23, v.AsString());
    return {};
  });
  r.Optional("raw", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.origin.raw, v.AsString());
    return {};
  });
  r.Optional("role", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.role, Role(v));
    return {};
  });
  r.Optional("at", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.origin.ts_us, At(v));
    return {};
  });
  if (auto done = r.Finish(); !done) return tl::make_unexpected(done.error());
  return f;
}

Result<ServiceFact> ReadService(const YamlNode& node) {
  ServiceFact f;
  f.host.ip = *IpAddress::Parse("10.0.0.10");
  f.client = *IpAddress::Parse("10.0.0.20");
  f.origin.ts_us = kTestBaseUs;
  MappingReader r(node);
  r.Optional("host", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.host.ip, Ip(v));
    return {};
  });
  r.Optional("client", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.client, Ip(v));
    return {};
  });
  r.Optional("port", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.port, v.AsInt(0, 65535));
    return {};
  });
  r.Optional("transport", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    f.transport = *s == "udp" ? 17 : 6;
    return {};
  });
  r.Optional("protocol", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.protocol, v.AsString());
    return {};
  });
  r.Optional("exposed", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.exposed, v.AsBool());
    return {};
  });
  r.Optional("at", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.origin.ts_us, At(v));
    return {};
  });
  if (auto done = r.Finish(); !done) return tl::make_unexpected(done.error());
  return f;
}

Result<FlowObservation> ReadFlow(const YamlNode& node) {
  FlowObservation f;
  f.orig = *IpAddress::Parse("10.0.0.20");
  f.resp = *IpAddress::Parse("10.0.0.10");
  f.orig_port = 50000;
  f.ts_us = kTestBaseUs;
  f.uid = "Ctest";
  MappingReader r(node);
  auto ip = [](IpAddress* out) {
    return [out](const YamlNode& v) -> Result<> {
      UTKIKK_TRY_ASSIGN(*out, Ip(v));
      return {};
    };
  };
  auto port = [](uint16_t* out) {
    return [out](const YamlNode& v) -> Result<> {
      UTKIKK_TRY_ASSIGN(*out, v.AsInt(0, 65535));
      return {};
    };
  };
  auto text = [](std::string* out) {
    return [out](const YamlNode& v) -> Result<> {
      UTKIKK_TRY_ASSIGN(*out, v.AsString());
      return {};
    };
  };
  auto flag = [](std::optional<bool>* out) {
    return [out](const YamlNode& v) -> Result<> {
      UTKIKK_TRY_ASSIGN(*out, v.AsBool());
      return {};
    };
  };
  r.Optional("orig", ip(&f.orig));
  r.Optional("resp", ip(&f.resp));
  r.Optional("orig_port", port(&f.orig_port));
  r.Optional("port", port(&f.resp_port));
  r.Optional("transport", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    f.transport = *s == "udp" ? 17 : 6;
    return {};
  });
  r.Optional("accepted", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.accepted, v.AsBool());
    return {};
  });
  r.Optional("service", text(&f.service));
  r.Optional("tls", flag(&f.tls));
  r.Optional("cleartext_auth", flag(&f.cleartext_auth));
  r.Optional("http_auth", text(&f.http_auth));
  r.Optional("smb_version", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.smb_version, v.AsInt(0, 3));
    return {};
  });
  r.Optional("snmp_version", text(&f.snmp_version));
  r.Optional("snmp_community", text(&f.snmp_community));
  r.Optional("exposed", flag(&f.exposed));
  r.Optional("ja3", text(&f.ja3));
  r.Optional("ja4", text(&f.ja4));
  r.Optional("sni", text(&f.sni));
  r.Optional("http_host", text(&f.http_host));
  r.Optional("user_agent", text(&f.user_agent));
  r.Optional("cert_sha256", text(&f.cert_sha256));
  r.Optional("cert_sha1", text(&f.cert_sha1));
  r.Optional("at", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(f.ts_us, At(v));
    return {};
  });
  if (auto done = r.Finish(); !done) return tl::make_unexpected(done.error());
  return f;
}

Result<DnsObservation> ReadDns(const YamlNode& node) {
  DnsObservation d;
  d.client = *IpAddress::Parse("10.0.0.20");
  d.server = *IpAddress::Parse("10.0.0.53");
  d.ts_us = kTestBaseUs;
  d.uid = "Dtest";
  MappingReader r(node);
  r.Optional("client", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(d.client, Ip(v));
    return {};
  });
  r.Optional("query", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(d.query, v.AsString());
    return {};
  });
  r.Optional("answers", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(d.answers, StringOrList(v));
    return {};
  });
  r.Optional("at", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(d.ts_us, At(v));
    return {};
  });
  if (auto done = r.Finish(); !done) return tl::make_unexpected(done.error());
  return d;
}

// One log entry of a test; `repeat: N` with `every: 10s` makes N events.
Result<> ReadLogs(const YamlNode& node, std::vector<LogEvent>* out) {
  LogEvent e;
  e.host = "server1";
  e.ts_us = kTestBaseUs;
  int64_t repeat = 1;
  int64_t every_us = 1000000;
  MappingReader r(node);
  r.Optional("host", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(e.host, v.AsString());
    return {};
  });
  r.Optional("program", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(e.program, v.AsString());
    return {};
  });
  r.Optional("message", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(e.message, v.AsString());
    return {};
  });
  r.Optional("fields", [&](const YamlNode& v) -> Result<> {
    if (!v.is_mapping()) return tl::make_unexpected(v.ErrorAt("fields must be a mapping"));
    for (const auto& [k, val] : v.entries()) {
      auto x = val.AsString();
      if (!x) return tl::make_unexpected(x.error());
      e.fields.emplace_back(k.scalar(), *x);
    }
    return {};
  });
  r.Optional("at", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(e.ts_us, At(v));
    return {};
  });
  r.Optional("repeat", [&](const YamlNode& v) -> Result<> {
    UTKIKK_TRY_ASSIGN(repeat, v.AsInt(1, 10000));
    return {};
  });
  r.Optional("every", [&](const YamlNode& v) -> Result<> {
    auto d = v.AsDuration();
    if (!d) return tl::make_unexpected(d.error());
    every_us = static_cast<int64_t>(d->count()) * 1000;
    return {};
  });
  if (auto done = r.Finish(); !done) return done;
  for (int64_t i = 0; i < repeat; ++i) {
    out->push_back(e);
    e.ts_us += every_us;
  }
  return {};
}

template <class T, class Fn>
Result<> ReadOneOrMany(const YamlNode& v, Fn read, std::vector<T>* out) {
  std::vector<const YamlNode*> items;
  if (v.is_sequence()) {
    for (const YamlNode& i : v.items()) items.push_back(&i);
  } else {
    items.push_back(&v);
  }
  for (const YamlNode* i : items) {
    auto x = read(*i);
    if (!x) return tl::make_unexpected(x.error());
    out->push_back(std::move(*x));
  }
  return {};
}

Result<> Loader::LoadTests(const YamlNode& node, Rule* rule) {
  if (!node.is_sequence()) return tl::make_unexpected(node.ErrorAt("tests must be a list"));
  for (const YamlNode& item : node.items()) {
    RuleTest t;
    t.where = item.mark().ToString();
    bool has_expect = false;
    MappingReader r(item);
    r.Required("expect", [&](const YamlNode& v) -> Result<> {
      auto s = v.AsString();
      if (!s) return tl::make_unexpected(s.error());
      if (*s != "alert" && *s != "none") {
        return tl::make_unexpected(v.ErrorAt("expect must be 'alert' or 'none'"));
      }
      t.expect_alert = *s == "alert";
      has_expect = true;
      return {};
    });
    r.Optional("software", [&](const YamlNode& v) -> Result<> {
      return ReadOneOrMany(v, ReadSoftware, &t.software);
    });
    r.Optional("service", [&](const YamlNode& v) -> Result<> {
      return ReadOneOrMany(v, ReadService, &t.services);
    });
    r.Optional("flow", [&](const YamlNode& v) -> Result<> {
      return ReadOneOrMany(v, ReadFlow, &t.flows);
    });
    r.Optional("dns", [&](const YamlNode& v) -> Result<> {
      return ReadOneOrMany(v, ReadDns, &t.dns);
    });
    r.Optional("log", [&](const YamlNode& v) -> Result<> {
      if (!v.is_sequence()) return ReadLogs(v, &t.logs);
      for (const YamlNode& i : v.items()) {
        if (auto ok = ReadLogs(i, &t.logs); !ok) return ok;
      }
      return {};
    });
    if (!item.is_mapping()) return tl::make_unexpected(item.ErrorAt("a test must be a mapping"));
    if (auto done = r.Finish(); !done) return done;
    if (t.software.empty() && t.services.empty() && t.flows.empty() && t.dns.empty() &&
        t.logs.empty()) {
      return tl::make_unexpected(item.ErrorAt("test has no input (software, service, flow, "
                                              "dns or log)"));
    }
    (void)has_expect;
    rule->tests.push_back(std::move(t));
  }
  return {};
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<RuleSet> LoadRuleFiles(const std::vector<std::string>& paths) {
  auto impl = std::make_unique<RuleSetImpl>();
  Loader loader(impl.get());
  for (const std::string& path : paths) {
    auto root = ParseYamlFile(path);
    if (!root) return tl::make_unexpected(root.error());
    FileContext ctx{path, DirOf(path), impl->file_networks.size()};
    if (auto ok = loader.LoadDocument(*root, ctx); !ok) return tl::make_unexpected(ok.error());
  }
  return RuleSetAccess::Make(std::move(impl));
}

Result<RuleSet> LoadRuleString(std::string_view text, const std::string& name,
                               const std::string& base_dir) {
  auto impl = std::make_unique<RuleSetImpl>();
  Loader loader(impl.get());
  auto root = ParseYamlString(text, name);
  if (!root) return tl::make_unexpected(root.error());
  FileContext ctx{name, base_dir, 0};
  if (auto ok = loader.LoadDocument(*root, ctx); !ok) return tl::make_unexpected(ok.error());
  return RuleSetAccess::Make(std::move(impl));
}

}  // namespace rules::engine
