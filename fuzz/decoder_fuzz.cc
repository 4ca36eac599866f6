// libFuzzer target for the packet decoder: hostile frames through Decoder::Decode. It must never
// crash or read out of bounds, and every span it returns must lie inside the frame.
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I sensor/include \
//     -I rules/include fuzz/decoder_fuzz.cc sensor/src/decode/*.cc rules/src/ip_address.cc
// Input: the first byte picks the link type (and whether the frame looks cut by a snap length),
// the rest is the frame. Seeds: any Ethernet frame with one extra leading byte 0x00.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "sensor/decode/decoder.h"

namespace {

constexpr int kLinkTypes[] = {1, 1, 1, 1, 12, 101, 228, 229, 0, 108, 113, 276, 147};

void CheckInside(std::span<const uint8_t> span, const std::vector<uint8_t>& frame) {
  if (span.empty()) {
    return;
  }
  if (span.data() < frame.data() || span.data() + span.size() > frame.data() + frame.size()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  static sensor::Decoder decoder;
  uint8_t selector = data[0];
  int link_type = kLinkTypes[(selector & 0x7f) % (sizeof(kLinkTypes) / sizeof(kLinkTypes[0]))];
  // An exact-size heap copy, so that AddressSanitizer sees a read one byte past the frame.
  std::vector<uint8_t> frame(data + 1, data + size);
  sensor::PacketView view;
  view.link_type = link_type;
  view.bytes = {frame.data(), frame.size()};
  view.wire_length = static_cast<uint32_t>(frame.size()) + ((selector & 0x80) != 0 ? 1500 : 0);
  sensor::DecodedPacket packet;
  bool usable = decoder.Decode(view, &packet);
  if (usable && packet.ip_version != 4 && packet.ip_version != 6) {
    std::abort();
  }
  CheckInside(packet.ip_packet, frame);
  CheckInside(packet.payload, frame);
  CheckInside(packet.tcp_options, frame);
  if (packet.payload.size() > packet.payload_length) {
    std::abort();  // the captured part of the payload can never exceed what the headers claim
  }
  return 0;
}
