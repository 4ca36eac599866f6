// White-box seams of the envelope for tests, test vectors and tools: not a public API.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rules/result.h"
#include "uplink/envelope.h"

namespace uplink::internal {

// The exact bytes the Ed25519 signature covers (docs/formats.md, "Signed message").
std::vector<uint8_t> EnvelopeSignedMessage(const EnvelopeHeaderFields& fields, const KeyId& key_id,
                                           uint64_t raw_length, uint64_t compressed_length,
                                           const Sha256Digest& payload_sha256);

// Builds and signs an envelope around an already-compressed payload, trusting `raw_length`
// and checking nothing about the frame: lets tests forge well-signed hostile payloads (bombs,
// wrong lengths, trailing frames). Field values are still checked.
rules::Result<std::vector<uint8_t>> SealCompressed(const EnvelopeHeaderFields& fields,
                                                   uint64_t raw_length,
                                                   std::span<const uint8_t> compressed,
                                                   const SigningKey& key);

}  // namespace uplink::internal
