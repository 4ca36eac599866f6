#include "rules/facts.h"

namespace rules {

std::string MacToString(const Mac& mac) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(17, ':');
  for (size_t i = 0; i < 6; ++i) {
    out[i * 3] = kHex[mac[i] >> 4];
    out[i * 3 + 1] = kHex[mac[i] & 0xf];
  }
  return out;
}

}  // namespace rules
