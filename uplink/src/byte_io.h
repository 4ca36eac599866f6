// Big-endian writing into a byte vector and a bounds-checked big-endian reader over hostile
// bytes (no exceptions: a failed read returns false and leaves the reader where it was).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace uplink::internal {

inline void PutU8(std::vector<uint8_t>* out, uint8_t v) {
  out->push_back(v);
}
inline void PutU16(std::vector<uint8_t>* out, uint16_t v) {
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v));
}
inline void PutU32(std::vector<uint8_t>* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<uint8_t>(v >> shift));
  }
}
inline void PutU64(std::vector<uint8_t>* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<uint8_t>(v >> shift));
  }
}
inline void PutBytes(std::vector<uint8_t>* out, std::span<const uint8_t> bytes) {
  out->insert(out->end(), bytes.begin(), bytes.end());
}
inline void PutBytes(std::vector<uint8_t>* out, std::string_view bytes) {
  out->insert(out->end(), bytes.begin(), bytes.end());
}

inline uint64_t LoadU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  bool ReadU8(uint8_t* out) {
    if (data_.empty()) {
      return false;
    }
    *out = data_[0];
    data_ = data_.subspan(1);
    return true;
  }
  bool ReadU16(uint16_t* out) {
    uint64_t v = 0;
    if (!ReadBe(2, &v)) {
      return false;
    }
    *out = static_cast<uint16_t>(v);
    return true;
  }
  bool ReadU32(uint32_t* out) {
    uint64_t v = 0;
    if (!ReadBe(4, &v)) {
      return false;
    }
    *out = static_cast<uint32_t>(v);
    return true;
  }
  bool ReadU64(uint64_t* out) { return ReadBe(8, out); }
  bool ReadI64(int64_t* out) {
    uint64_t v = 0;
    if (!ReadBe(8, &v)) {
      return false;
    }
    *out = static_cast<int64_t>(v);
    return true;
  }
  bool ReadBytes(size_t n, std::span<const uint8_t>* out) {
    if (data_.size() < n) {
      return false;
    }
    *out = data_.first(n);
    data_ = data_.subspan(n);
    return true;
  }
  size_t remaining() const { return data_.size(); }
  std::span<const uint8_t> rest() const { return data_; }

 private:
  bool ReadBe(size_t n, uint64_t* out) {
    if (data_.size() < n) {
      return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      v = (v << 8) | data_[i];
    }
    *out = v;
    data_ = data_.subspan(n);
    return true;
  }
  std::span<const uint8_t> data_;
};

}  // namespace uplink::internal
