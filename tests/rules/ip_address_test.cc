#include "rules/ip_address.h"

#include <arpa/inet.h>

#include <cstring>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace rules {
namespace {

TEST(IpAddressTest, ParsesAndPrintsBothFamilies) {
  auto v4 = IpAddress::Parse("192.0.2.17");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->v4(), 0xC0000211u);
  EXPECT_EQ(v4->ToString(), "192.0.2.17");
  auto v6 = IpAddress::Parse("2001:DB8:0:0::1");
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->is_v4());
  EXPECT_EQ(v6->ToString(), "2001:db8::1");
}

TEST(IpAddressTest, AppendToMatchesToString) {
  for (const char* text : {"0.0.0.0", "1.2.3.4", "10.0.100.255", "255.255.255.255", "::1",
                           "2001:db8::42", "::ffff:1.2.3.4"}) {
    auto a = IpAddress::Parse(text);
    ASSERT_TRUE(a) << text;
    std::string out = "x";
    a->AppendTo(&out);
    EXPECT_EQ(out, "x" + a->ToString());
  }
  EXPECT_EQ(IpAddress::Parse("::ffff:1.2.3.4")->ToString(), "1.2.3.4");
}

// Format writes what inet_ntop writes, for every mix of zero and non-zero groups (zero runs of
// each length and place, the embedded IPv4 forms) and for random addresses.
TEST(IpAddressTest, FormatAgreesWithInetNtop) {
  auto check = [](const uint8_t bytes[16]) {
    IpAddress a = IpAddress::FromV6Bytes(bytes);
    char want[INET6_ADDRSTRLEN];
    if (a.is_v4()) {
      ASSERT_NE(inet_ntop(AF_INET, bytes + 12, want, sizeof want), nullptr);
    } else {
      ASSERT_NE(inet_ntop(AF_INET6, bytes, want, sizeof want), nullptr);
    }
    char got[IpAddress::kMaxText];
    ASSERT_EQ(std::string(got, a.Format(got)), want);
  };
  const uint16_t values[] = {0, 1, 0xffff, 0x0a0b};
  for (uint32_t combo = 0; combo < (1u << 16); ++combo) {
    uint8_t bytes[16];
    for (int w = 0; w < 8; ++w) {
      uint16_t v = values[(combo >> (2 * w)) & 3];
      bytes[2 * w] = static_cast<uint8_t>(v >> 8);
      bytes[2 * w + 1] = static_cast<uint8_t>(v);
    }
    check(bytes);
  }
  std::mt19937 rng(5952);
  for (int n = 0; n < 20000; ++n) {
    uint8_t bytes[16];
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng() % 3 == 0 ? 0 : rng());
    check(bytes);
  }
}

// Parse reads dotted IPv4 exactly as inet_pton does (leading zeros, empty and extra octets,
// values over 255, stray characters), checked on strings made of digits, dots and a few others.
TEST(IpAddressTest, ParseAgreesWithInetPtonForIpv4) {
  std::mt19937 rng(4);
  const char alphabet[] = "0123456789..........12 x+-";
  int valid = 0;
  for (int n = 0; n < 200000; ++n) {
    std::string text;
    size_t len = rng() % 17;
    for (size_t i = 0; i < len; ++i) text.push_back(alphabet[rng() % (sizeof alphabet - 1)]);
    if (text.find(':') != std::string::npos) continue;
    uint8_t want[4];
    const bool ok = inet_pton(AF_INET, text.c_str(), want) == 1;
    auto got = IpAddress::Parse(text);
    ASSERT_EQ(got.has_value(), ok) << "'" << text << "'";
    if (ok) {
      ++valid;
      EXPECT_TRUE(got->is_v4());
      EXPECT_EQ(0, std::memcmp(got->bytes().data() + 12, want, 4)) << text;
    }
  }
  EXPECT_GT(valid, 100);  // the generator does make addresses
  for (const char* good : {"0.0.0.0", "255.255.255.255", "10.0.100.1"}) {
    EXPECT_TRUE(IpAddress::Parse(good)) << good;
  }
  for (const char* bad : {"01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3", "1.2.3.4.", ".1.2.3.4",
                          "1..2.3", "1.2.3.4 ", "1.2.3.-4"}) {
    EXPECT_FALSE(IpAddress::Parse(bad)) << bad;
  }
  // A NUL ends the text for inet_pton; Parse refuses the whole string instead.
  EXPECT_FALSE(IpAddress::Parse(std::string_view("1.2.3.4\0junk", 12)));
  EXPECT_FALSE(IpAddress::Parse(std::string_view("::1\0junk", 8)));
}

TEST(IpAddressTest, RejectsGarbage) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::g", "abc", "1.2.3.4 "}) {
    EXPECT_FALSE(IpAddress::Parse(bad)) << bad;
  }
}

TEST(CidrTest, ContainsByPrefix) {
  auto net = Cidr::Parse("10.1.0.0/16");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->Contains(*IpAddress::Parse("10.1.255.3")));
  EXPECT_FALSE(net->Contains(*IpAddress::Parse("10.2.0.1")));
  EXPECT_FALSE(net->Contains(*IpAddress::Parse("::ffff:10.2.0.1")));
  EXPECT_EQ(net->prefix_length(), 16);
  EXPECT_EQ(Cidr::Parse("10.1.2.3/8")->ToString(), "10.0.0.0/8");
  auto v6 = Cidr::Parse("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->Contains(*IpAddress::Parse("fd12::1")));
  EXPECT_FALSE(v6->Contains(*IpAddress::Parse("fe80::1")));
  EXPECT_TRUE(Cidr::Parse("0.0.0.0/0")->Contains(*IpAddress::Parse("8.8.8.8")));
  EXPECT_FALSE(Cidr::Parse("0.0.0.0/0")->Contains(*IpAddress::Parse("2001:db8::1")));
}

TEST(CidrTest, RejectsBadPrefixes) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "::/129", "/8", "10.0.0/8"}) {
    EXPECT_FALSE(Cidr::Parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace rules
