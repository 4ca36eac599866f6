// MAC vendor names from the IEEE registries as Debian's ieee-data package ships them
// (/usr/share/ieee-data/oui.csv: MA-L, 24-bit prefixes; mam.csv: MA-M, 28 bits; oui36.csv:
// MA-S, 36 bits). Loaded once; immutable afterwards, so const lookups are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "rules/facts.h"

namespace sensor::inventory_internal {

class MacVendors {
 public:
  // Reads oui.csv, mam.csv and oui36.csv from dir, each only when present. Malformed lines are
  // skipped. Returns the number of assignments read.
  size_t Load(const std::string& dir);
  // The organisation for the longest registered prefix of mac; "" when unknown.
  std::string_view Lookup(const rules::Mac& mac) const;
  size_t size() const { return table_.size(); }

  // Locally administered (the U/L bit): randomised or assigned by software, no vendor.
  static bool IsLocallyAdministered(const rules::Mac& mac) { return (mac[0] & 0x02) != 0; }
  static bool IsGroup(const rules::Mac& mac) { return (mac[0] & 0x01) != 0; }

 private:
  size_t LoadFile(const std::string& path, int bits);
  // Key: prefix bits (24, 28 or 36) in the top byte, the prefix value below.
  std::unordered_map<uint64_t, std::string> table_;
};

}  // namespace sensor::inventory_internal
