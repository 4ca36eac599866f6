#include "inventory/oui.h"

#include <fstream>

#include "inventory/text.h"
#include "sensor/inventory/inventory.h"

namespace sensor::inventory_internal {
namespace {

uint64_t MacBits(const rules::Mac& mac) {
  uint64_t v = 0;
  for (uint8_t b : mac) v = (v << 8) | b;
  return v;  // 48 bits
}

uint64_t Key(int bits, uint64_t prefix) { return (static_cast<uint64_t>(bits) << 56) | prefix; }

// Splits one CSV record (RFC 4180 quoting, no embedded newlines in these files) into fields.
void SplitCsv(const std::string& line, std::vector<std::string>* fields) {
  fields->clear();
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields->push_back(std::move(cur));
      cur.clear();
    } else if (c != '\r') {
      cur.push_back(c);
    }
  }
  fields->push_back(std::move(cur));
}

}  // namespace

size_t MacVendors::LoadFile(const std::string& path, int bits) {
  std::ifstream in(path);
  if (!in) return 0;
  size_t n = 0;
  std::string line;
  std::vector<std::string> f;
  const size_t digits = static_cast<size_t>(bits / 4);
  while (std::getline(in, line)) {
    SplitCsv(line, &f);
    if (f.size() < 3 || f[1].size() != digits) continue;  // also skips the header line
    uint64_t prefix = 0;
    bool ok = true;
    for (char c : f[1]) {
      int d = (c >= '0' && c <= '9') ? c - '0'
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (d < 0) {
        ok = false;
        break;
      }
      prefix = (prefix << 4) | static_cast<uint64_t>(d);
    }
    if (!ok) continue;
    std::string name;
    BoundString(f[2], kInventoryMaxStringBytes, &name);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    table_[Key(bits, prefix)] = std::move(name);
    ++n;
  }
  return n;
}

size_t MacVendors::Load(const std::string& dir) {
  if (dir.empty()) return 0;
  return LoadFile(dir + "/oui.csv", 24) + LoadFile(dir + "/mam.csv", 28) +
         LoadFile(dir + "/oui36.csv", 36);
}

std::string_view MacVendors::Lookup(const rules::Mac& mac) const {
  if (table_.empty()) return {};
  uint64_t v = MacBits(mac);
  for (int bits : {36, 28, 24}) {
    auto it = table_.find(Key(bits, v >> (48 - bits)));
    if (it != table_.end()) return it->second;
  }
  return {};
}

}  // namespace sensor::inventory_internal
