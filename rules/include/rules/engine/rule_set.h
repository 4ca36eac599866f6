// A set of rules compiled into indexes, and its evaluation. Load with LoadRuleFiles (or
// LoadRuleString for tests); every error says "file:line:column: message". Evaluation is pure:
// no I/O, no clock (times come from the inputs). A loaded RuleSet is immutable; const methods
// may be called from any number of threads. Log rules count events over time, in a LogWindows
// the caller owns (one per thread). Alerts are not de-duplicated here: pass them through a
// Suppressor (rules/engine/alert.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/engine/alert.h"
#include "rules/engine/observations.h"
#include "rules/engine/rule.h"
#include "rules/facts.h"
#include "rules/result.h"

namespace rules::engine {

struct RuleSetImpl;
class LogWindows;

struct IndexStats {
  size_t software_products = 0;  // distinct vendor:product keys
  size_t cidr_entries = 0;
  size_t cidr_prefix_lengths = 0;
  size_t domain_entries = 0;
  size_t string_entries = 0;     // JA3, JA4, certificate fingerprints, user agents
};

class RuleSet {
 public:
  RuleSet();
  ~RuleSet();
  RuleSet(RuleSet&&) noexcept;
  RuleSet& operator=(RuleSet&&) noexcept;

  const std::vector<Rule>& rules() const;
  const Rule* Find(std::string_view id) const;
  IndexStats stats() const;

  // The networks policy rules refer to (local networks, zones). Call before evaluating.
  void SetNetworks(const Networks& networks);
  // The names of zones rules refer to that SetNetworks did not define ("internet", "local"
  // are built in).
  std::vector<std::string> UnknownZones() const;

  // Each returns the alerts of every matching rule, in rule order.
  std::vector<Alert> Evaluate(const SoftwareFact& fact) const;  // software rules
  std::vector<Alert> Evaluate(const ServiceFact& fact) const;   // policy rules
  std::vector<Alert> Evaluate(const FlowObservation& flow) const;  // policy + indicator rules
  std::vector<Alert> Evaluate(const DnsObservation& dns) const;    // indicator rules
  std::vector<Alert> Evaluate(const LogEvent& event, LogWindows* windows) const;  // log rules

 private:
  friend struct RuleSetAccess;  // rules/src/engine/rule_set_impl.h
  std::unique_ptr<RuleSetImpl> impl_;
};

// Per-rule, per-group event times for log rules. Owned by the caller, not thread-safe. Bounded:
// at most max_groups groups per rule (the least recently used goes first) and at most
// `threshold` times per group.
class LogWindows {
 public:
  explicit LogWindows(size_t max_groups_per_rule = 10000);
  ~LogWindows();
  LogWindows(LogWindows&&) noexcept;
  LogWindows& operator=(LogWindows&&) noexcept;
  uint64_t evicted() const;

 private:
  friend class RuleSet;
  struct State;
  std::unique_ptr<State> state_;
};

// Loads rule files (each a list of rules, or a pack mapping with `rules:`) into one set. Rule
// ids must be unique across all files. Indicator `*_file` paths are relative to the rule file.
Result<RuleSet> LoadRuleFiles(const std::vector<std::string>& paths);
// The same from text; `name` stands for the file in messages, `base_dir` resolves `*_file`.
Result<RuleSet> LoadRuleString(std::string_view text, const std::string& name,
                               const std::string& base_dir = ".");

// Runs the tests embedded in the rules (`tests:`), each with a fresh LogWindows, under the
// networks of its file's `test_networks` (local defaults to the RFC 1918 and ULA ranges); this
// replaces the set's networks. Only the alerts of the rule under test count. Returns one line
// per failure: "file:line:column: rule ID: expected an alert, got none".
std::vector<std::string> RunRuleTests(RuleSet* set);

}  // namespace rules::engine
