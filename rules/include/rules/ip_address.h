// IPv4 and IPv6 addresses as one value type, and CIDR prefixes. IPv4 is kept as an IPv4-mapped
// IPv6 address (::ffff:a.b.c.d) so that one 16-byte key serves both families. Value types,
// thread-compatible.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace rules {

class IpAddress {
 public:
  IpAddress() = default;  // :: (unspecified IPv6)
  static IpAddress FromV4(uint32_t host_order);
  static IpAddress FromV4Bytes(const uint8_t bytes[4]);
  static IpAddress FromV6Bytes(const uint8_t bytes[16]);
  // Accepts dotted IPv4 and RFC 4291 IPv6 text; nullopt for anything else.
  static std::optional<IpAddress> Parse(std::string_view text);

  bool is_v4() const;
  uint32_t v4() const;  // host order; only meaningful when is_v4()
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  // "192.0.2.1" or RFC 5952 "2001:db8::1", the text inet_ntop writes.
  std::string ToString() const;
  // Appends the same text to *out (log writers and the inventory call it per record).
  void AppendTo(std::string* out) const;
  // Writes the same text at out (no terminator) and returns its end; out needs kMaxText bytes.
  // No snprintf/inet_ntop: ~50 instructions for IPv4 and ~150 for IPv6 instead of ~1-5 k.
  static constexpr size_t kMaxText = 45;
  char* Format(char* out) const;

  auto operator<=>(const IpAddress&) const = default;
  bool operator==(const IpAddress&) const = default;

 private:
  std::array<uint8_t, 16> bytes_{};
};

struct IpAddressHash {
  size_t operator()(const IpAddress& a) const noexcept;
};

// An address prefix, e.g. 10.0.0.0/8 or 2001:db8::/32.
class Cidr {
 public:
  Cidr() = default;
  Cidr(IpAddress network, int prefix_length);  // bits past the prefix are cleared
  // "10.0.0.0/8", "2001:db8::/32", or a bare address (a host prefix).
  static std::optional<Cidr> Parse(std::string_view text);
  bool Contains(const IpAddress& a) const;
  const IpAddress& network() const { return network_; }
  // Prefix length in the address's own family: 8 for 10.0.0.0/8.
  int prefix_length() const;
  std::string ToString() const;
  bool operator==(const Cidr&) const = default;

 private:
  IpAddress network_;
  int bits_ = 0;  // over the 128-bit (mapped) form
};

}  // namespace rules
