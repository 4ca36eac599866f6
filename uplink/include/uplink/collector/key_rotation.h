// Key rotation by a message signed with both keys (docs/analysts-guide.md, "Key rotation by the
// sensor"; docs/formats.md, "Summary payloads"): the sensor puts a `key_rotation` line, signed by
// its new key, into an envelope it signs with its enrolled (old) key. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/result.h"
#include "uplink/keys.h"

namespace uplink {

inline constexpr std::string_view kKeyRotationDomain = "UTKIKK-KEY-ROTATION-V1";

// The bytes the new key signs: u32-length-prefixed items (as in the envelope's signed message)
// domain, sensor id, old key id (16 bytes), new raw public key (32 bytes).
std::vector<uint8_t> KeyRotationMessage(std::string_view sensor_id, const KeyId& old_key_id,
                                        const VerifyKey& new_key);

// The JSON line (without '\n') announcing `new_key` for `sensor_id`, whose envelopes are now
// signed with `old_key_id`.
rules::Result<std::string> MakeKeyRotationLine(std::string_view sensor_id, const KeyId& old_key_id,
                                               const SigningKey& new_key);

}  // namespace uplink
