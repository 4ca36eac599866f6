// Collapses repeated alerts within their rule's window (rules/engine/alert.h).
#include <algorithm>
#include <limits>

#include "rules/engine/alert.h"

namespace rules::engine {
namespace {

std::string EntryKey(const std::string& rule_id, const std::string& key) {
  std::string k;
  k.reserve(rule_id.size() + key.size() + 1);
  k.append(rule_id).push_back('\x1f');
  k.append(key);
  return k;
}

}  // namespace

bool Suppressor::Admit(const Alert& alert) {
  std::string k = EntryKey(alert.rule_id, alert.key);
  auto it = entries_.find(k);
  if (it != entries_.end() && alert.ts_first_us < it->second.until_us &&
      alert.ts_first_us >= it->second.alert.ts_first_us) {
    Alert& kept = it->second.alert;
    kept.ts_last_us = std::max(kept.ts_last_us, alert.ts_last_us);
    kept.count += alert.count;
    ++suppressed_;
    return false;
  }
  if (it == entries_.end()) {
    if (max_entries_ == 0) return true;
    if (entries_.size() >= max_entries_) MakeRoom(alert.ts_first_us);
    it = entries_.emplace(std::move(k), Entry{}).first;
  }
  int64_t window = std::max<int64_t>(alert.suppress_us, 0);
  it->second.until_us = alert.ts_first_us > std::numeric_limits<int64_t>::max() - window
                            ? std::numeric_limits<int64_t>::max()
                            : alert.ts_first_us + window;
  it->second.alert = alert;
  return true;
}

const Alert* Suppressor::Last(const std::string& rule_id, const std::string& key) const {
  auto it = entries_.find(EntryKey(rule_id, key));
  return it == entries_.end() ? nullptr : &it->second.alert;
}

void Suppressor::MakeRoom(int64_t now_us) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.until_us <= now_us) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  // Still full: drop the quarter whose windows end soonest (amortised O(1) per insertion).
  if (entries_.size() < max_entries_) return;
  std::vector<int64_t> ends;
  ends.reserve(entries_.size());
  for (const auto& [k, e] : entries_) ends.push_back(e.until_us);
  size_t drop = std::max<size_t>(1, entries_.size() / 4);
  std::nth_element(ends.begin(), ends.begin() + static_cast<ptrdiff_t>(drop - 1), ends.end());
  int64_t cut = ends[drop - 1];
  for (auto it = entries_.begin(); it != entries_.end() && drop > 0;) {
    if (it->second.until_us <= cut) {
      it = entries_.erase(it);
      ++evicted_;
      --drop;
    } else {
      ++it;
    }
  }
}

}  // namespace rules::engine
