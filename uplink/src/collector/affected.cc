// Central matching of software rules against the stored inventory (uplink/collector/affected.h).
#include "uplink/collector/affected.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "rules/ip_address.h"

namespace uplink {

rules::Result<std::vector<AffectedRow>> QueryAffected(Collector& collector,
                                                      const rules::engine::RuleSet& rules,
                                                      const std::string& rule_id) {
  const rules::engine::Rule* rule = rules.Find(rule_id);
  if (rule == nullptr) {
    return rules::Fail(rules::ErrorCode::kInvalidArgument, "query affected: no rule '" + rule_id +
                                                               "' in the loaded rule files");
  }
  if (rule->kind != rules::engine::RuleKind::kSoftware) {
    return rules::Fail(rules::ErrorCode::kInvalidArgument,
                       "query affected: rule '" + rule_id + "' is a " +
                           std::string(rules::engine::RuleKindName(rule->kind)) +
                           " rule; only software rules match stored software");
  }
  // The rule names products as "vendor:product" keys (lower case, '_' for ' '); the store is
  // asked by product name, the vendor is checked by the rule itself.
  std::set<std::string> products;
  for (const std::string& key : rule->software.products) {
    std::string product = key.substr(key.find(':') + 1);
    std::replace(product.begin(), product.end(), '_', ' ');
    products.insert(product);
  }
  std::vector<AffectedRow> out;
  for (const std::string& product : products) {
    auto rows = collector.QuerySoftware(SoftwareQuery{product, "", ""});
    if (!rows) return tl::make_unexpected(rows.error());
    for (SoftwareRow& row : *rows) {
      rules::SoftwareFact fact;
      if (auto ip = rules::IpAddress::Parse(row.host)) fact.host.ip = *ip;
      fact.port = static_cast<uint16_t>(row.port);
      fact.role = row.role;
      fact.vendor = row.vendor;
      fact.product = row.product;
      fact.version = row.version;
      fact.cpe23 = row.cpe23;
      fact.origin.raw = row.raw;
      fact.origin.ts_us = row.last_seen_us;
      for (const rules::engine::Alert& alert : rules.Evaluate(fact)) {
        if (alert.rule_id != rule_id) continue;
        out.push_back(AffectedRow{std::move(row), alert.evidence});
        break;
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const AffectedRow& a, const AffectedRow& b) {
    const SoftwareRow& x = a.software;
    const SoftwareRow& y = b.software;
    return std::tie(x.member_id, x.host, x.port, x.role) <
           std::tie(y.member_id, y.host, y.port, y.role);
  });
  return out;
}

}  // namespace uplink
