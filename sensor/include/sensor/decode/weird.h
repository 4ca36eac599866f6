// Named anomalies (Zeek calls them "weirds"): malformed or surprising input that is counted and
// logged to weird.log, never a crash. Names follow Zeek's where Zeek has one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sensor {

#define SENSOR_WEIRDS(X)                                       \
  X(kNone, "none")                                             \
  X(kTruncatedLinkHeader, "truncated_link_header")             \
  X(kUnknownLinkType, "unknown_link_type")                     \
  X(kTruncatedVlan, "truncated_vlan_header")                   \
  X(kTooManyVlanTags, "too_many_vlan_tags")                    \
  X(kTruncatedMpls, "truncated_mpls_header")                   \
  X(kTooManyMplsLabels, "too_many_mpls_labels")                \
  X(kUnknownEtherType, "unknown_ether_type")                   \
  X(kTruncatedArp, "truncated_ARP")                            \
  X(kBadArp, "bad_ARP")                                        \
  X(kTruncatedIpHeader, "truncated_IP")                        \
  X(kBadIpVersion, "bad_IP_version")                           \
  X(kBadIpHeaderLength, "bad_IP_header_length")                \
  X(kIpLengthTooShort, "IP_length_too_short")                  \
  X(kTruncatedIpPacket, "truncated_IP_packet")                 \
  X(kBadIpv4Options, "bad_IPv4_options")                       \
  X(kFragment, "fragment")                                     \
  X(kNonFirstFragment, "non_first_fragment")                   \
  X(kTruncatedIpv6Extension, "truncated_IPv6_extension_header") \
  X(kTooManyIpv6Extensions, "too_many_IPv6_extension_headers") \
  X(kTruncatedTcpHeader, "truncated_TCP_header")               \
  X(kBadTcpHeaderLength, "bad_TCP_header_len")                 \
  X(kTruncatedUdpHeader, "truncated_UDP_header")               \
  X(kBadUdpLength, "bad_UDP_length")                           \
  X(kTruncatedIcmpHeader, "truncated_ICMP_header")             \
  X(kTruncatedGre, "truncated_GRE")                            \
  X(kUnknownGreVersion, "unknown_gre_version")                 \
  X(kUnknownGreProtocol, "unknown_gre_protocol")               \
  X(kTruncatedErspan, "truncated_ERSPAN")                      \
  X(kTruncatedVxlan, "truncated_VXLAN")                        \
  X(kTunnelTooDeep, "exceeded_tunnel_max_depth")               \
  X(kUnknownIpProtocol, "unknown_protocol")                    \
  X(kSynWithData, "SYN_with_data")                             \
  X(kFlowEvicted, "flow_evicted_table_full")                   \
  X(kFlowTableFull, "flow_table_full")                         \
  X(kGreRouting, "GRE_routing_present")                        \
  X(kTruncatedGtp, "truncated_GTPv1")

enum class Weird : uint8_t {
#define SENSOR_WEIRD_ENUM(id, name) id,
  SENSOR_WEIRDS(SENSOR_WEIRD_ENUM)
#undef SENSOR_WEIRD_ENUM
      kCount
};

inline constexpr size_t kWeirdCount = static_cast<size_t>(Weird::kCount);

constexpr std::string_view WeirdName(Weird w) {
  constexpr std::array<std::string_view, kWeirdCount> kNames = {
#define SENSOR_WEIRD_NAME(id, name) name,
      SENSOR_WEIRDS(SENSOR_WEIRD_NAME)
#undef SENSOR_WEIRD_NAME
  };
  size_t i = static_cast<size_t>(w);
  return i < kWeirdCount ? kNames[i] : "unknown";
}

// Per-name counters; one per decoder or pipeline. Not thread-safe.
struct WeirdCounters {
  std::array<uint64_t, kWeirdCount> counts{};
  void Add(Weird w) { ++counts[static_cast<size_t>(w)]; }
  uint64_t operator[](Weird w) const { return counts[static_cast<size_t>(w)]; }
};

}  // namespace sensor
