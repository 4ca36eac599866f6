// The look-up structures behind indicator rules, built once at load: a CIDR index (one hash
// table per prefix length present, so a look-up costs one hash probe per distinct length), a
// domain index (exact names, and suffixes found by probing each parent name: one probe per
// label) and a string index (JA3, JA4, certificate fingerprints, user agents). Every entry maps
// to the rules (by index in the RuleSet) that listed it. Built single-threaded; after that,
// const look-ups from any number of threads are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/ip_address.h"

namespace rules::engine {

using RuleRefs = std::vector<uint32_t>;  // rule indexes, ascending, no duplicates

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class StringIndex {
 public:
  void Add(std::string key, uint32_t rule);
  // Appends the rules listing `key` to *out (unsorted across calls).
  void Lookup(std::string_view key, RuleRefs* out) const;
  size_t size() const { return map_.size(); }

 private:
  std::unordered_map<std::string, RuleRefs, StringViewHash, std::equal_to<>> map_;
};

class CidrIndex {
 public:
  void Add(const Cidr& cidr, uint32_t rule);
  void Lookup(const IpAddress& address, RuleRefs* out) const;
  size_t size() const { return size_; }
  size_t prefix_lengths() const { return by_length_.size(); }

 private:
  struct Table {
    int bits;  // over the 128-bit mapped form
    std::unordered_map<IpAddress, RuleRefs, IpAddressHash> map;
  };
  std::vector<Table> by_length_;  // longest first
  size_t size_ = 0;
};

// Names are compared lowercase without a trailing dot. A suffix entry "example.org" matches
// example.org and every name below it.
class DomainIndex {
 public:
  void AddExact(std::string_view name, uint32_t rule);
  void AddSuffix(std::string_view name, uint32_t rule);
  void Lookup(std::string_view name, RuleRefs* out) const;
  size_t size() const { return exact_.size() + suffix_.size(); }

 private:
  StringIndex exact_;
  StringIndex suffix_;
};

// "Example.ORG." -> "example.org"; false when the name is empty, longer than 253 bytes or has
// bytes outside letters, digits, '-', '_', '.' and '*'.
bool NormaliseDomain(std::string_view name, std::string* out);

}  // namespace rules::engine
