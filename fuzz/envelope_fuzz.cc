// libFuzzer target: OpenEnvelope on arbitrary bytes with a fixed key. It must never crash, leak,
// read out of bounds or allocate beyond the limits; every input is either opened or rejected
// with a reason. A valid seed: the envelope hex of tests/data/uplink/envelope_v1_vector.txt.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "uplink/envelope.h"

namespace {

const uplink::VerifyKey& FuzzKey() {
  // The test-vector key: seed 00 01 02 ... 1f (docs/formats.md).
  static const uplink::VerifyKey key = [] {
    std::array<uint8_t, 32> seed{};
    for (size_t i = 0; i < seed.size(); ++i) {
      seed[i] = static_cast<uint8_t>(i);
    }
    auto signing = uplink::SigningKey::FromSeed(seed);
    if (!signing) {
      std::abort();
    }
    return signing->verify_key();
  }();
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uplink::OpenLimits limits;
  limits.max_raw_bytes = 1 << 20;  // keep each run cheap; the code path is the same
  uplink::RejectReason reason = uplink::RejectReason::kNone;
  auto opened = uplink::OpenEnvelope(std::span<const uint8_t>(data, size), FuzzKey(), limits,
                                     &reason);
  if (opened.has_value() != (reason == uplink::RejectReason::kNone)) {
    std::abort();
  }
  if (opened && opened->json_lines.size() != opened->raw_length) {
    std::abort();
  }
  return 0;
}
