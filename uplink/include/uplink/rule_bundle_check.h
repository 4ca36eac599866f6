// The collector's check of a rule bundle before it is signed: its rules must load exactly as a
// sensor will load them — from one directory holding only the bundle's files — so every
// `*_file` reference (an indicator list) must name a file of the bundle, without a path.
// A reference to another directory would break on the sensors or, with an absolute path, pull
// data into the rules that the signature does not cover. (docs/rules.md "Distribution").
#pragma once

#include "rules/engine/rule_set.h"
#include "rules/result.h"
#include "uplink/rule_bundle.h"

namespace uplink {

// bundle.files: the names and contents to be signed; sources[i]: where files[i] was read
// (used in messages, "SOURCE:line:column: ..."; may be empty, then the name is used).
// Writes the files to a temporary directory under temp_root, loads the *.yaml among them in
// bundle order with rules::engine::LoadRuleFiles and removes the directory again.
rules::Result<rules::engine::RuleSet> CheckBundleRules(const RuleBundle& bundle,
                                                       const std::vector<std::string>& sources,
                                                       const std::string& temp_root);

}  // namespace uplink
