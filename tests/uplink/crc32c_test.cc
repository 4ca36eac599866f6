#include "crc32c.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace uplink::internal {
namespace {

TEST(Crc32cTest, KnownValues) {
  const std::string check = "123456789";  // the standard CRC check input: 0xE3069283
  EXPECT_EQ(Crc32c(std::span(reinterpret_cast<const uint8_t*>(check.data()), check.size())),
            0xE3069283u);
  // RFC 3720 appendix B.4: 32 bytes of zeros, of 0xFF, and 0..31.
  EXPECT_EQ(Crc32c(std::vector<uint8_t>(32, 0x00)), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::vector<uint8_t>(32, 0xFF)), 0x62A8AB43u);
  std::vector<uint8_t> ascending(32);
  for (size_t i = 0; i < 32; ++i) {
    ascending[i] = static_cast<uint8_t>(i);
  }
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32c({}), 0u);
}

}  // namespace
}  // namespace uplink::internal
