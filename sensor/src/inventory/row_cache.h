// The inventory's in-memory index of its rows: a flat, open-addressing hash table keyed by a
// 128-bit keyed hash (SipHash-2-4, 128-bit output, random key per process) of the row's key
// bytes, instead of std::unordered_map<std::string, ...>.
//
// Why: with a few hundred thousand rows, a node-based map costs two or three cache misses per
// look-up (bucket, node, the key string on the heap); on the benchmark capture those look-ups
// were the largest single item of the sensor's profile (~8 % of the wall time, perf). A flat table
// of 24-byte slots costs one miss, and the key strings are not kept at all.
//
// Why 128 bits and a secret key: two different row keys with the same hash would share a row (a
// fact would silently land on another host's row). With 128 bits the chance is negligible, and
// because the key is random per process, hostile banners cannot be crafted to collide (the
// keyless hashes of the standard library have seed-independent multi-collisions).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

#include "sensor/flow/huge_pages.h"
#include "sensor/flow/prefetch.h"

namespace sensor::inventory_internal {

struct RowKey {
  uint64_t a = 0;
  uint64_t b = 0;
  bool operator==(const RowKey&) const = default;
};

// SipHash-2-4 with 128-bit output (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
// 2012; the reference implementation's `outlen == 16` variant). out[0..7] is `a` and out[8..15]
// is `b`, both little-endian, so the bytes equal OpenSSL's SIPHASH MAC with size 16.
RowKey SipHash128(const std::array<uint8_t, 16>& key, std::string_view data);

// Makes RowKeys with one random key (getrandom) for the life of the object.
class RowHasher {
 public:
  RowHasher();
  explicit RowHasher(const std::array<uint8_t, 16>& key) : key_(key) {}
  RowKey operator()(std::string_view bytes) const { return SipHash128(key_, bytes); }

 private:
  std::array<uint8_t, 16> key_{};
};

// A map RowKey -> V. Values live in a deque, so pointers to them stay valid until Clear().
template <class V>
class RowMap {
 public:
  RowMap() { Reset(); }

  V* Find(const RowKey& k) {
    for (size_t i = k.a & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.index == kEmpty) return nullptr;
      if (s.key == k) return &values_[s.index];
    }
  }

  // `k` must not be present.
  V* Insert(const RowKey& k, const V& value) {
    if ((values_.size() + 1) * 2 > slots_.size()) Grow();
    values_.push_back(value);
    Place(k, static_cast<uint32_t>(values_.size() - 1));
    return &values_.back();
  }

  size_t size() const { return values_.size(); }

  // Makes room for n entries (no growth until then), so that Prefetch hints stay right.
  void Reserve(size_t n) {
    size_t slots = slots_.size();
    while (n * 2 > slots) slots *= 2;
    if (slots != slots_.size()) Rehash(slots);
  }
  // Asks the CPU for the line where k's probe starts (a bulk load hides the cache misses of a
  // table too large for the caches by prefetching a batch of keys before inserting them).
  void Prefetch(const RowKey& k) const { PrefetchLine(&slots_[k.a & mask_]); }

  void Clear() {
    values_.clear();
    Reset();
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    RowKey key;
    uint32_t index = kEmpty;
  };

  void Reset() {
    slots_.assign(1024, Slot{});
    mask_ = slots_.size() - 1;
  }

  void Place(const RowKey& k, uint32_t index) {
    size_t i = k.a & mask_;
    while (slots_[i].index != kEmpty) i = (i + 1) & mask_;
    slots_[i].key = k;
    slots_[i].index = index;
  }

  void Grow() { Rehash(slots_.size() * 2); }

  void Rehash(size_t slots) {
    std::vector<Slot, HugePageAllocator<Slot>> old;
    old.swap(slots_);
    slots_.assign(slots, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.index != kEmpty) Place(s.key, s.index);
    }
  }

  // Huge pages from 2 MiB on (a municipal inventory's ~170,000 rows: 12 MiB of slots, looked up
  // at random per fact).
  std::vector<Slot, HugePageAllocator<Slot>> slots_;
  size_t mask_ = 0;
  std::deque<V> values_;
};

}  // namespace sensor::inventory_internal
