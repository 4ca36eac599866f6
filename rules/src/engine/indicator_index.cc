// CIDR, domain and string indexes for indicator rules (rules/engine/indicator_index.h).
#include "rules/engine/indicator_index.h"

#include <endian.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace rules::engine {
namespace {

void AddRef(RuleRefs* refs, uint32_t rule) {
  auto it = std::lower_bound(refs->begin(), refs->end(), rule);
  if (it == refs->end() || *it != rule) refs->insert(it, rule);
}

void AppendRefs(const RuleRefs& refs, RuleRefs* out) {
  out->insert(out->end(), refs.begin(), refs.end());
}

// The 128-bit mapped form with every bit past `bits` cleared: two 64-bit halves in network
// order (this runs for every prefix length of every look-up, so no per-byte loop).
IpAddress Mask(const IpAddress& a, int bits) {
  uint64_t half[2];
  std::memcpy(half, a.bytes().data(), 16);
  for (int i = 0; i < 2; ++i) {
    int keep = std::clamp(bits - 64 * i, 0, 64);
    uint64_t mask = keep == 0 ? 0 : ~uint64_t{0} << (64 - keep);
    half[i] &= htobe64(mask);
  }
  uint8_t out[16];
  std::memcpy(out, half, 16);
  return IpAddress::FromV6Bytes(out);
}

}  // namespace

void StringIndex::Add(std::string key, uint32_t rule) { AddRef(&map_[std::move(key)], rule); }

void StringIndex::Lookup(std::string_view key, RuleRefs* out) const {
  auto it = map_.find(key);
  if (it != map_.end()) AppendRefs(it->second, out);
}

void CidrIndex::Add(const Cidr& cidr, uint32_t rule) {
  int bits = cidr.prefix_length() + (cidr.network().is_v4() ? 96 : 0);
  auto it = std::find_if(by_length_.begin(), by_length_.end(),
                         [bits](const Table& t) { return t.bits == bits; });
  if (it == by_length_.end()) {
    Table t;
    t.bits = bits;
    it = by_length_.insert(std::upper_bound(by_length_.begin(), by_length_.end(), t,
                                            [](const Table& a, const Table& b) {
                                              return a.bits > b.bits;
                                            }),
                           std::move(t));
  }
  RuleRefs& refs = it->map[Mask(cidr.network(), bits)];
  if (refs.empty()) ++size_;
  AddRef(&refs, rule);
}

void CidrIndex::Lookup(const IpAddress& address, RuleRefs* out) const {
  for (const Table& t : by_length_) {
    auto it = t.map.find(t.bits == 128 ? address : Mask(address, t.bits));
    if (it != t.map.end()) AppendRefs(it->second, out);
  }
}

bool NormaliseDomain(std::string_view name, std::string* out) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  out->resize(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == '*';
    if (!ok) return false;
    (*out)[i] = c;
  }
  return true;
}

void DomainIndex::AddExact(std::string_view name, uint32_t rule) {
  std::string n;
  if (NormaliseDomain(name, &n)) exact_.Add(std::move(n), rule);
}

void DomainIndex::AddSuffix(std::string_view name, uint32_t rule) {
  std::string n;
  if (NormaliseDomain(name, &n)) suffix_.Add(std::move(n), rule);
}

void DomainIndex::Lookup(std::string_view name, RuleRefs* out) const {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return;
  char buf[253];
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view n(buf, name.size());
  exact_.Lookup(n, out);
  if (suffix_.size() == 0) return;
  // example.org, then each parent: one probe per label.
  while (!n.empty()) {
    suffix_.Lookup(n, out);
    size_t dot = n.find('.');
    if (dot == std::string_view::npos) break;
    n.remove_prefix(dot + 1);
  }
}

}  // namespace rules::engine
