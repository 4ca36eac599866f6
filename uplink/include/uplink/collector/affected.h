// Central matching (docs/analysts-guide.md, "Which members are affected"): a software rule
// evaluated against the software every member has already sent, with the same engine and the
// same version comparison as the sensors (rules::engine::RuleSet::Evaluate), so a rule that
// arrives today finds last month's inventory.
#pragma once

#include <string>
#include <vector>

#include "rules/engine/rule_set.h"
#include "rules/result.h"
#include "uplink/collector/collector.h"

namespace uplink {

struct AffectedRow {
  SoftwareRow software;  // member, host, port, role, vendor, product, version, raw, times
  std::string evidence;  // what the rule says about it (the alert's evidence)
};

// The stored software the software rule `rule_id` of `rules` matches, ordered by member, host,
// port. Only the rule's products are read (by the case-insensitive product index); every row is
// then evaluated by the rule itself. Fails for an unknown id or a rule that is not a software
// rule.
rules::Result<std::vector<AffectedRow>> QueryAffected(Collector& collector,
                                                      const rules::engine::RuleSet& rules,
                                                      const std::string& rule_id);

}  // namespace uplink
