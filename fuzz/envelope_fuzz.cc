// libFuzzer target: OpenEnvelope on arbitrary bytes with a fixed key. It must never crash, leak,
// read out of bounds or allocate beyond the limits; every input is either opened or rejected
// with a reason. A valid seed: the envelope hex of tests/data/uplink/envelope_v1_vector.txt.
//
// Two modes, chosen by the first byte, so the fuzzer also reaches what lies behind the
// signature: even -> the rest is an envelope; odd -> the next 3 bytes are a claimed raw length
// and the rest is a payload that gets properly signed (internal::SealCompressed) before opening,
// which exercises the zstd and JSON-lines checks with hostile frames.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "uplink/envelope.h"

#include "envelope_internal.h"

namespace {

const uplink::SigningKey& FuzzKey() {
  // The test-vector key: seed 00 01 02 ... 1f (docs/formats.md).
  static const uplink::SigningKey key = [] {
    std::array<uint8_t, 32> seed{};
    for (size_t i = 0; i < seed.size(); ++i) {
      seed[i] = static_cast<uint8_t>(i);
    }
    auto signing = uplink::SigningKey::FromSeed(seed);
    if (!signing) {
      std::abort();
    }
    return std::move(*signing);
  }();
  return key;
}

void Open(std::span<const uint8_t> bytes) {
  uplink::OpenLimits limits;
  limits.max_raw_bytes = 1 << 20;  // keep each run cheap; the code path is the same
  uplink::RejectReason reason = uplink::RejectReason::kNone;
  auto opened = uplink::OpenEnvelope(bytes, FuzzKey().verify_key(), limits, &reason);
  if (opened.has_value() != (reason == uplink::RejectReason::kNone)) {
    std::abort();
  }
  if (opened && (opened->json_lines.size() != opened->raw_length ||
                 !uplink::ValidJsonLines(opened->json_lines, nullptr))) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  std::span<const uint8_t> input(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    Open(input);
    return 0;
  }
  if (input.size() < 3) {
    return 0;
  }
  const uint64_t raw_length = (uint64_t{input[0]} << 16) | (uint64_t{input[1]} << 8) | input[2];
  uplink::EnvelopeHeaderFields fields;
  fields.sensor_id = "fuzz";
  fields.sequence = 1;
  auto sealed = uplink::internal::SealCompressed(fields, raw_length, input.subspan(3), FuzzKey());
  if (sealed) {
    Open(*sealed);
  }
  return 0;
}
