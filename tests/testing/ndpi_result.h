// Reads the flow lines of ndpiReader's result files (nDPI's regression output, "-v 2" text) so
// tests can compare the sensor's flows with them. Test-only helper.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace testing_util {

struct NdpiFlowLine {
  std::string l4;          // "TCP", "UDP", "ICMP", "ICMPV6", "IGMP", ...
  std::string src;         // address as printed (IPv6 without brackets)
  uint16_t src_port = 0;
  std::string dst;
  uint16_t dst_port = 0;
  uint16_t vlan = 0;
  std::string proto;       // "TLS.ntop", "DNS", "Unknown" (names after the "N.M/" ids)
  std::string master;      // the first name: "TLS" of "TLS.ntop"
  uint64_t src_packets = 0;
  uint64_t src_bytes = 0;
  uint64_t dst_packets = 0;
  uint64_t dst_bytes = 0;
  bool undetected = false; // listed under "Undetected flows"
  bool guessed = false;    // GuessedConfidence of its "[Confidence: ...]"
};

// ndpiReader's "[Confidence: X]" for a label guessed from ports or addresses, not from payload:
// "Match by port", "Match by IP" (4.2), "IP address" (4.11). The sensor gives such flows none.
inline bool GuessedConfidence(std::string_view confidence) {
  return confidence == "Match by port" || confidence == "Match by IP" ||
         confidence == "IP address";
}

// The X of a result line's "[Confidence: X]", "" when the line has none.
inline std::string_view ConfidenceOf(std::string_view line) {
  constexpr std::string_view kOpen = "[Confidence: ";
  const size_t at = line.find(kOpen);
  if (at == std::string_view::npos) return {};
  line.remove_prefix(at + kOpen.size());
  return line.substr(0, line.find(']'));
}

// Parses every flow line of `path`; an empty vector with *error set when the file is unreadable.
std::vector<NdpiFlowLine> ReadNdpiResult(const std::string& path, std::string* error);

}  // namespace testing_util
