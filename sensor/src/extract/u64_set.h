// A set of 64-bit keys in one flat, open-addressing array: the extractors' "seen this run"
// sets (service and p0f keys, up to ExtractConfig::max_service_keys each). One probe sequence in
// contiguous memory per insert instead of std::unordered_set's node allocation and pointer chase
// (~1.5 % of the sensor's time on the benchmark capture, perf).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sensor::extract {

class U64Set {
 public:
  U64Set() { Clear(); }

  // true when `key` was not in the set.
  bool Insert(uint64_t key) {
    if (key == 0) {
      bool added = !has_zero_;
      has_zero_ = true;
      size_ += added;
      return added;
    }
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    if (!Place(key)) return false;
    ++size_;
    return true;
  }

  size_t size() const { return size_; }

  void Clear() {
    slots_.assign(1024, 0);
    size_ = 0;
    has_zero_ = false;
  }

 private:
  // The keys are hashes already, but of uneven quality (FNV steps over an address hash): a
  // splitmix64 finaliser spreads them over the slots.
  static uint64_t Mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

  bool Place(uint64_t key) {
    size_t mask = slots_.size() - 1;
    for (size_t i = Mix(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == key) return false;
      if (slots_[i] == 0) {
        slots_[i] = key;
        return true;
      }
    }
  }

  void Grow() {
    std::vector<uint64_t> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, 0);
    for (uint64_t k : old) {
      if (k != 0) Place(k);
    }
  }

  std::vector<uint64_t> slots_;  // 0 = empty (key 0 is has_zero_)
  size_t size_ = 0;
  bool has_zero_ = false;
};

}  // namespace sensor::extract
