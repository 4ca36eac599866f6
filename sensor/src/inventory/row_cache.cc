#include "inventory/row_cache.h"

#include <sys/random.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <random>

namespace sensor::inventory_internal {
namespace {

// Little-endian 64-bit load (SipHash reads its input as little-endian words): one load on x86
// instead of eight byte loads and shifts.
uint64_t Load64(const uint8_t* p) {
  uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) {
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r = (r << 8) | ((v >> (8 * i)) & 0xff);
    v = r;
  }
  return v;
}

uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct State {
  uint64_t v0, v1, v2, v3;
  void Round() {
    v0 += v1;
    v1 = Rotl(v1, 13);
    v1 ^= v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = Rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = Rotl(v1, 17);
    v1 ^= v2;
    v2 = Rotl(v2, 32);
  }
  void Compress(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

}  // namespace

RowKey SipHash128(const std::array<uint8_t, 16>& key, std::string_view data) {
  const uint64_t k0 = Load64(key.data());
  const uint64_t k1 = Load64(key.data() + 8);
  // The initialisation constants of the paper ("somepseudorandomlygeneratedbytes").
  State s{0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1, 0x6c7967656e657261ULL ^ k0,
          0x7465646279746573ULL ^ k1};
  s.v1 ^= 0xee;  // 128-bit output
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t n = data.size();
  const size_t whole = n - n % 8;
  for (size_t i = 0; i < whole; i += 8) s.Compress(Load64(p + i));
  uint64_t last = static_cast<uint64_t>(n) << 56;
  for (size_t i = whole; i < n; ++i) last |= static_cast<uint64_t>(p[i]) << (8 * (i - whole));
  s.Compress(last);
  s.v2 ^= 0xee;
  for (int i = 0; i < 4; ++i) s.Round();
  RowKey out;
  out.a = s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
  s.v1 ^= 0xdd;
  for (int i = 0; i < 4; ++i) s.Round();
  out.b = s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
  return out;
}

RowHasher::RowHasher() {
  size_t got = 0;
  while (got < key_.size()) {
    ssize_t r = getrandom(key_.data() + got, key_.size() - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (errno != EINTR) {
      break;  // no getrandom (ENOSYS in an old seccomp profile): the fallback below
    }
  }
  if (got < key_.size()) {
    std::random_device device;
    for (uint8_t& b : key_) b = static_cast<uint8_t>(device());
  }
}

}  // namespace sensor::inventory_internal
