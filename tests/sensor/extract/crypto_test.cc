// The extractors' hashes, HMAC and AES (sensor/src/extract/crypto.h) against published vectors:
// RFC 1321 and FIPS 180-2 digests, RFC 4231 HMAC-SHA256, FIPS-197 C.1 AES-128 and the GCM
// specification's (McGrew and Viega, 2005) test cases 3 and 4 for AES-128-GCM.
#include "extract/crypto.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sensor::extract {
namespace {

std::vector<uint8_t> Unhex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(CryptoTest, DigestsMatchTheirStandards) {
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // The reused context starts clean every time.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CryptoTest, HmacSha256MatchesRfc4231) {
  Sha256Digest mac;
  const std::vector<uint8_t> key1(20, 0x0b);
  ASSERT_TRUE(HmacSha256(key1, Bytes("Hi There"), &mac));
  EXPECT_EQ(Hex(mac), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  ASSERT_TRUE(HmacSha256(Bytes("Jefe"), Bytes("what do ya want for nothing?"), &mac));
  EXPECT_EQ(Hex(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const std::vector<uint8_t> key6(131, 0xaa);  // longer than a block: hashed first
  ASSERT_TRUE(HmacSha256(key6, Bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
                         &mac));
  EXPECT_EQ(Hex(mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(CryptoTest, Aes128BlockMatchesFips197) {
  const auto key = Unhex("000102030405060708090a0b0c0d0e0f");
  const auto plain = Unhex("00112233445566778899aabbccddeeff");
  uint8_t out[16];
  ASSERT_TRUE(Aes128Block(key.data(), plain.data(), out));
  EXPECT_EQ(Hex(out), "69c4e0d86a7b0430d8cdb78070b4c55a");
}

TEST(CryptoTest, Aes128GcmOpensTheSpecificationsCasesAndRefusesATamperedTag) {
  const auto key = Unhex("feffe9928665731c6d6a8f9467308308");
  const auto nonce = Unhex("cafebabefacedbaddecaf888");
  const std::string plain =
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
  // Test case 3: no additional data.
  auto sealed = Unhex(
      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
      "4d5c2af327cd64a62cf35abd2ba6fab4");
  std::vector<uint8_t> out(sealed.size() - 16);
  ASSERT_TRUE(Aes128GcmOpen(key.data(), nonce.data(), {}, sealed, out.data()));
  EXPECT_EQ(Hex(out), plain);
  // Test case 4: additional data, 60 bytes of text.
  const auto aad = Unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  sealed = Unhex(
      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
      "5bc94fbc3221a5db94fae95ae7121a47");
  out.assign(sealed.size() - 16, 0);
  ASSERT_TRUE(Aes128GcmOpen(key.data(), nonce.data(), aad, sealed, out.data()));
  EXPECT_EQ(Hex(out), plain.substr(0, 120));
  sealed.back() ^= 1;
  EXPECT_FALSE(Aes128GcmOpen(key.data(), nonce.data(), aad, sealed, out.data()));
  const std::vector<uint8_t> too_short(15, 0);
  EXPECT_FALSE(Aes128GcmOpen(key.data(), nonce.data(), {}, too_short, out.data()));
}

}  // namespace
}  // namespace sensor::extract
