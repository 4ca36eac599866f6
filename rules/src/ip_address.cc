#include "rules/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace rules {
namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

IpAddress IpAddress::FromV4(uint32_t host_order) {
  uint8_t b[4] = {static_cast<uint8_t>(host_order >> 24), static_cast<uint8_t>(host_order >> 16),
                  static_cast<uint8_t>(host_order >> 8), static_cast<uint8_t>(host_order)};
  return FromV4Bytes(b);
}

IpAddress IpAddress::FromV4Bytes(const uint8_t bytes[4]) {
  IpAddress a;
  std::memcpy(a.bytes_.data(), kV4MappedPrefix, 12);
  std::memcpy(a.bytes_.data() + 12, bytes, 4);
  return a;
}

IpAddress IpAddress::FromV6Bytes(const uint8_t bytes[16]) {
  IpAddress a;
  std::memcpy(a.bytes_.data(), bytes, 16);
  return a;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 45) {
    return std::nullopt;
  }
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t out[16];
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, out) == 1) {
      return FromV4Bytes(out);
    }
    return std::nullopt;
  }
  if (inet_pton(AF_INET6, buf, out) == 1) {
    return FromV6Bytes(out);
  }
  return std::nullopt;
}

bool IpAddress::is_v4() const { return std::memcmp(bytes_.data(), kV4MappedPrefix, 12) == 0; }

uint32_t IpAddress::v4() const {
  return (uint32_t{bytes_[12]} << 24) | (uint32_t{bytes_[13]} << 16) | (uint32_t{bytes_[14]} << 8) |
         uint32_t{bytes_[15]};
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    inet_ntop(AF_INET, bytes_.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buf, sizeof(buf));
  }
  return buf;
}

void IpAddress::AppendTo(std::string* out) const {
  if (!is_v4()) {
    out->append(ToString());
    return;
  }
  char buf[16];
  char* p = buf;
  for (int i = 12; i < 16; ++i) {
    unsigned v = bytes_[i];
    if (v >= 100) {
      *p++ = static_cast<char>('0' + v / 100);
      v %= 100;
      *p++ = static_cast<char>('0' + v / 10);
      *p++ = static_cast<char>('0' + v % 10);
    } else if (v >= 10) {
      *p++ = static_cast<char>('0' + v / 10);
      *p++ = static_cast<char>('0' + v % 10);
    } else {
      *p++ = static_cast<char>('0' + v);
    }
    if (i < 15) {
      *p++ = '.';
    }
  }
  out->append(buf, static_cast<size_t>(p - buf));
}

size_t IpAddressHash::operator()(const IpAddress& a) const noexcept {
  uint64_t hi;
  uint64_t lo;
  std::memcpy(&hi, a.bytes().data(), 8);
  std::memcpy(&lo, a.bytes().data() + 8, 8);
  uint64_t h = hi * 0x9E3779B97F4A7C15ULL ^ lo;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 32;
  return static_cast<size_t>(h);
}

Cidr::Cidr(IpAddress network, int prefix_length) {
  bits_ = network.is_v4() ? prefix_length + 96 : prefix_length;
  if (bits_ < 0) bits_ = 0;
  if (bits_ > 128) bits_ = 128;
  std::array<uint8_t, 16> b = network.bytes();
  for (int i = 0; i < 16; ++i) {
    int keep = bits_ - i * 8;
    if (keep >= 8) continue;
    b[i] = keep <= 0 ? 0 : static_cast<uint8_t>(b[i] & (0xff << (8 - keep)));
  }
  network_ = IpAddress::FromV6Bytes(b.data());
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  size_t slash = text.find('/');
  auto addr = IpAddress::Parse(text.substr(0, slash));
  if (!addr) {
    return std::nullopt;
  }
  int max = addr->is_v4() ? 32 : 128;
  int len = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) {
      return std::nullopt;
    }
    len = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      len = len * 10 + (c - '0');
    }
    if (len > max) {
      return std::nullopt;
    }
  }
  return Cidr(*addr, len);
}

bool Cidr::Contains(const IpAddress& a) const {
  const auto& x = a.bytes();
  const auto& n = network_.bytes();
  int full = bits_ / 8;
  if (std::memcmp(x.data(), n.data(), static_cast<size_t>(full)) != 0) {
    return false;
  }
  int rest = bits_ % 8;
  if (rest == 0) {
    return true;
  }
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (x[full] & mask) == n[full];
}

int Cidr::prefix_length() const { return network_.is_v4() && bits_ >= 96 ? bits_ - 96 : bits_; }

std::string Cidr::ToString() const {
  return network_.ToString() + "/" + std::to_string(prefix_length());
}

}  // namespace rules
