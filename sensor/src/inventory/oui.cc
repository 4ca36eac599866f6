#include "inventory/oui.h"

#include <algorithm>
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
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  std::string text;
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0 || size >= std::streamoff{UINT32_MAX}) return 0;
  text.resize(static_cast<size_t>(size));
  in.seekg(0, std::ios::beg);
  if (!in.read(text.data(), size)) return 0;
  const size_t digits = static_cast<size_t>(bits / 4);
  const auto file = static_cast<uint32_t>(files_.size());
  size_t n = 0;
  std::vector<std::string> f;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    size_t offset = pos;
    pos = end + 1;
    // The assignment is the second field. Plain lines are read in place; a quote or a CR before
    // the third field takes the full CSV split, as the name's line does at lookup.
    size_t c1 = line.find(',');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(',', c1 + 1);
    std::string_view assignment;
    if (c2 != std::string_view::npos &&
        line.substr(0, c2).find_first_of("\"\r") == std::string_view::npos) {
      assignment = line.substr(c1 + 1, c2 - c1 - 1);
    } else {
      SplitCsv(std::string(line), &f);
      if (f.size() < 3) continue;
      assignment = f[1];
    }
    if (assignment.size() != digits) continue;  // also skips the header line
    uint64_t prefix = 0;
    bool ok = true;
    for (char c : assignment) {
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
    index_.push_back({Key(bits, prefix), file, static_cast<uint32_t>(offset),
                      static_cast<uint32_t>(line.size())});
    ++n;
  }
  files_.push_back(std::move(text));
  return n;
}

size_t MacVendors::Load(const std::string& dir) {
  if (dir.empty()) return 0;
  size_t n = LoadFile(dir + "/oui.csv", 24) + LoadFile(dir + "/mam.csv", 28) +
             LoadFile(dir + "/oui36.csv", 36);
  // Sorted by key with a repeated key's lines in file order; keep the last of each.
  std::stable_sort(index_.begin(), index_.end(),
                   [](const Entry& a, const Entry& b) { return a.key < b.key; });
  std::vector<Entry> unique;
  unique.reserve(index_.size());
  for (size_t i = 0; i < index_.size(); ++i) {
    if (i + 1 < index_.size() && index_[i + 1].key == index_[i].key) continue;
    unique.push_back(index_[i]);
  }
  index_ = std::move(unique);
  names_.clear();
  return n;
}

std::string_view MacVendors::Lookup(const rules::Mac& mac) const {
  if (index_.empty()) return {};
  uint64_t v = MacBits(mac);
  for (int bits : {36, 28, 24}) {
    uint64_t key = Key(bits, v >> (48 - bits));
    auto it = std::lower_bound(index_.begin(), index_.end(), key,
                               [](const Entry& e, uint64_t k) { return e.key < k; });
    if (it == index_.end() || it->key != key) continue;
    auto [name, fresh] = names_.try_emplace(key);
    if (fresh) {
      std::vector<std::string> f;
      SplitCsv(files_[it->file].substr(it->offset, it->length), &f);
      BoundString(f[2], kInventoryMaxStringBytes, &name->second);
      while (!name->second.empty() && name->second.back() == ' ') name->second.pop_back();
    }
    return name->second;
  }
  return {};
}

}  // namespace sensor::inventory_internal
