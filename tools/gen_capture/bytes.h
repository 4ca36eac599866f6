// Byte-buffer helpers for building packets: big- and little-endian appends, back-patching of
// length fields, and a small deterministic random generator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gen_capture {

using Bytes = std::vector<uint8_t>;

// Appends to a byte vector it borrows (the caller owns the vector and must keep it alive).
// Not thread-safe.
class ByteWriter {
 public:
  explicit ByteWriter(Bytes* out) : out_(out) {}

  size_t size() const { return out_->size(); }
  void U8(uint32_t v) { out_->push_back(static_cast<uint8_t>(v)); }
  void U16(uint32_t v) {
    U8(v >> 8);
    U8(v);
  }
  void U24(uint32_t v) {
    U8(v >> 16);
    U16(v);
  }
  void U32(uint32_t v) {
    U16(v >> 16);
    U16(v);
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v >> 32));
    U32(static_cast<uint32_t>(v));
  }
  void U16Le(uint32_t v) {
    U8(v);
    U8(v >> 8);
  }
  void U32Le(uint32_t v) {
    U16Le(v);
    U16Le(v >> 16);
  }
  void U64Le(uint64_t v) {
    U32Le(static_cast<uint32_t>(v));
    U32Le(static_cast<uint32_t>(v >> 32));
  }
  void Append(const Bytes& b) { out_->insert(out_->end(), b.begin(), b.end()); }
  void Append(std::string_view s) { out_->insert(out_->end(), s.begin(), s.end()); }
  void Zeros(size_t n) { out_->insert(out_->end(), n, 0); }
  // UTF-16LE of an ASCII string (NTLMSSP, SMB2 paths).
  void Utf16Le(std::string_view s) {
    for (char c : s) {
      U16Le(static_cast<uint8_t>(c));
    }
  }
  // Overwrites an already written field at `pos`.
  void PatchU16(size_t pos, uint32_t v) {
    (*out_)[pos] = static_cast<uint8_t>(v >> 8);
    (*out_)[pos + 1] = static_cast<uint8_t>(v);
  }
  void PatchU24(size_t pos, uint32_t v) {
    (*out_)[pos] = static_cast<uint8_t>(v >> 16);
    PatchU16(pos + 1, v);
  }
  void PatchU32(size_t pos, uint32_t v) {
    PatchU16(pos, v >> 16);
    PatchU16(pos + 2, v);
  }
  void PatchU16Le(size_t pos, uint32_t v) {
    (*out_)[pos] = static_cast<uint8_t>(v);
    (*out_)[pos + 1] = static_cast<uint8_t>(v >> 8);
  }
  void PatchU32Le(size_t pos, uint32_t v) {
    PatchU16Le(pos, v);
    PatchU16Le(pos + 2, v >> 16);
  }

 private:
  Bytes* out_;
};

// SplitMix64: small, fast and fully specified, so the same seed gives the same stream with any
// compiler and standard library (std:: distributions are not specified bit-for-bit).
// A value type; not thread-safe.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi] (inclusive); the tiny modulo bias does not matter here.
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(int percent) { return Range(0, 99) < percent; }
  Bytes RandomBytes(size_t n) {
    Bytes b(n);
    for (auto& x : b) {
      x = static_cast<uint8_t>(Next());
    }
    return b;
  }
  // A new independent stream, e.g. one per host, so hosts do not shift each other's choices.
  Rng Fork(uint64_t label) { return Rng(Next() ^ (label * 0x2545f4914f6cdd1dULL)); }
  template <class T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Range(0, static_cast<int64_t>(v.size()) - 1))];
  }

 private:
  uint64_t state_;
};

}  // namespace gen_capture
