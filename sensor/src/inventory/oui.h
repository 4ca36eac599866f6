// MAC vendor names from the IEEE registries as Debian's ieee-data package ships them
// (/usr/share/ieee-data/oui.csv: MA-L, 24-bit prefixes; mam.csv: MA-M, 28 bits; oui36.csv:
// MA-S, 36 bits). Load indexes the files' lines by prefix (cheap: the operator waits for it at
// start-up); a vendor name is unquoted and bounded when first looked up and then kept. Not
// thread-safe (Lookup memoises); the Inventory that owns it uses it from one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/facts.h"

namespace sensor::inventory_internal {

class MacVendors {
 public:
  // Reads oui.csv, mam.csv and oui36.csv from dir, each only when present. Malformed lines are
  // skipped. Returns the number of assignments read.
  size_t Load(const std::string& dir);
  // The organisation for the longest registered prefix of mac; "" when unknown.
  std::string_view Lookup(const rules::Mac& mac) const;
  size_t size() const { return index_.size(); }  // distinct prefixes

  // Locally administered (the U/L bit): randomised or assigned by software, no vendor.
  static bool IsLocallyAdministered(const rules::Mac& mac) { return (mac[0] & 0x02) != 0; }
  static bool IsGroup(const rules::Mac& mac) { return (mac[0] & 0x01) != 0; }

 private:
  size_t LoadFile(const std::string& path, int bits);
  // One assignment: its key (prefix bits, 24, 28 or 36, in the top byte, the prefix value below)
  // and where its line is in files_.
  struct Entry {
    uint64_t key;
    uint32_t file;
    uint32_t offset;
    uint32_t length;
  };
  std::vector<std::string> files_;  // the CSV files' contents
  std::vector<Entry> index_;        // sorted by key; the last line of a repeated key wins
  mutable std::unordered_map<uint64_t, std::string> names_;  // names looked up so far
};

}  // namespace sensor::inventory_internal
