// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF), as used
// by iSCSI (RFC 3720 appendix B.4) and leveldb. Software table, no hardware instructions.
#pragma once

#include <cstdint>
#include <span>

namespace uplink::internal {

uint32_t Crc32c(std::span<const uint8_t> data);

}  // namespace uplink::internal
