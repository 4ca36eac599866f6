#include "uplink/collector/key_rotation.h"

namespace uplink {
namespace {

void PutItem(std::vector<uint8_t>* out, std::span<const uint8_t> bytes) {
  const auto n = static_cast<uint32_t>(bytes.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<uint8_t>(n >> shift));
  out->insert(out->end(), bytes.begin(), bytes.end());
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::vector<uint8_t> KeyRotationMessage(std::string_view sensor_id, const KeyId& old_key_id,
                                        const VerifyKey& new_key) {
  std::vector<uint8_t> message;
  PutItem(&message, Bytes(kKeyRotationDomain));
  PutItem(&message, Bytes(sensor_id));
  PutItem(&message, old_key_id);
  PutItem(&message, new_key.raw());
  return message;
}

rules::Result<std::string> MakeKeyRotationLine(std::string_view sensor_id, const KeyId& old_key_id,
                                               const SigningKey& new_key) {
  auto signature = new_key.Sign(KeyRotationMessage(sensor_id, old_key_id, new_key.verify_key()));
  if (!signature)
    return rules::Fail(signature.error(), "key rotation: ");
  return R"({"type":"key_rotation","old_key_id":")" + ToHex(old_key_id) +
         R"(","new_public_key":")" + ToHex(new_key.verify_key().raw()) +
         R"(","new_key_signature":")" + ToHex(*signature) + R"("})";
}

}  // namespace uplink
