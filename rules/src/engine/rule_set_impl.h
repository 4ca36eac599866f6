// The inside of a RuleSet: the rules and the indexes compiled from them. Private to rules_engine
// (and its white-box tests).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <re2/re2.h>

#include "rules/engine/indicator_index.h"
#include "rules/engine/rule_set.h"

namespace rules::engine {

struct RuleSetImpl {
  std::vector<Rule> rules;
  std::unordered_map<std::string, uint32_t> by_id;
  std::vector<Networks> file_networks;  // test_networks of each file
  std::vector<uint32_t> rule_file;      // rule index -> file index

  // software: normalised vendor:product -> rules
  std::unordered_map<std::string, RuleRefs, StringViewHash, std::equal_to<>> software;
  RuleRefs policy_rules;
  // policy_rules sorted by what a flow must have to match, so a flow is checked only against
  // the rules it could match (IndexPolicies; every candidate is still checked in full).
  struct PolicyIndex {
    std::unordered_map<std::string, RuleRefs, StringViewHash, std::equal_to<>> by_service;
    std::unordered_map<uint16_t, RuleRefs> by_port;  // rules without services, with ports
    RuleRefs others;                                 // rules with neither
  } policy_index;
  RuleRefs log_rules;
  std::vector<std::unique_ptr<re2::RE2>> log_regex;  // per rule; null when none

  // indicators
  CidrIndex ips;
  DomainIndex domains;
  StringIndex ja3;
  StringIndex ja4;
  StringIndex certs;
  StringIndex user_agents;

  // the network model
  CidrIndex local;
  CidrIndex zones;  // "rule" = zone index
  std::vector<std::string> zone_names;
};

// Rebuilds impl->policy_index from policy_rules and the zones SetNetworks defined.
void IndexPolicies(RuleSetImpl* impl);

struct RuleSetAccess {
  static RuleSet Make(std::unique_ptr<RuleSetImpl> impl) {
    IndexPolicies(impl.get());
    RuleSet set;
    set.impl_ = std::move(impl);
    return set;
  }
  static const RuleSetImpl& Impl(const RuleSet& set) { return *set.impl_; }
};

}  // namespace rules::engine
