// Alerts raised by the rules engine, and the Suppressor that collapses repeats of one condition
// (same rule, same key) within the rule's suppression window into the first alert.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "rules/engine/rule.h"

namespace rules::engine {

struct Alert {
  std::string rule_id;
  int rule_version = 1;
  std::string title;
  Severity severity = Severity::kMedium;
  RuleKind kind = RuleKind::kSoftware;
  int64_t ts_first_us = 0;
  int64_t ts_last_us = 0;
  // What the alert is about: "10.0.0.5:22/openbsd:openssh", "10.0.0.5:23/telnet", "10.0.0.7".
  std::string key;
  IpAddress src;          // the client (flows) or the host (facts)
  IpAddress dst;          // the server (flows); unset for facts
  uint16_t port = 0;
  std::string uid;        // the flow uid the evidence comes from ("" for none)
  std::string evidence;   // what matched, one line: the banner, the indicator, the log count
  std::vector<std::string> cves;
  bool known_exploited = false;
  std::vector<std::string> references;
  std::string advice_nb;
  std::string advice_en;
  int64_t suppress_us = 0;  // the rule's window
  uint64_t count = 1;       // events behind this alert (log thresholds, suppressed repeats)
};

// Remembers, per (rule id, key), when the last emitted alert's window ends. Owned by the caller
// (one per evaluating thread, or guarded by the caller); not thread-safe. Memory is bounded by
// max_entries: when full, expired entries go first, then the ones whose window ends soonest.
class Suppressor {
 public:
  explicit Suppressor(size_t max_entries = 100000) : max_entries_(max_entries) {}

  // True when `alert` is new and must be emitted; false when it repeats an emitted alert inside
  // that alert's window (the emitted one's ts_last and count are updated; see Last()).
  bool Admit(const Alert& alert);
  // The emitted alert for (rule_id, key) with ts_last/count covering its suppressed repeats.
  const Alert* Last(const std::string& rule_id, const std::string& key) const;

  size_t size() const { return entries_.size(); }
  uint64_t suppressed() const { return suppressed_; }
  uint64_t evicted() const { return evicted_; }

 private:
  struct Entry {
    int64_t until_us = 0;
    Alert alert;
  };
  void MakeRoom(int64_t now_us);

  size_t max_entries_;
  std::unordered_map<std::string, Entry> entries_;
  uint64_t suppressed_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace rules::engine
