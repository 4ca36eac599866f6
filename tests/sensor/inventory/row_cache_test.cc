// The inventory's row index: SipHash-2-4-128 against OpenSSL's SIPHASH MAC (an independent
// implementation), and the flat map's find/insert/grow/clear with stable value pointers.
#include "inventory/row_cache.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <random>
#include <string>

#include <gtest/gtest.h>

namespace sensor::inventory_internal {
namespace {

std::array<uint8_t, 16> OpenSslSipHash128(const std::array<uint8_t, 16>& key,
                                          const std::string& data) {
  std::array<uint8_t, 16> out{};
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  size_t size = 16;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                         OSSL_PARAM_construct_end()};
  size_t len = 0;
  bool ok = EVP_MAC_init(ctx, key.data(), key.size(), params) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()),
                           data.size()) == 1 &&
            EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == 16;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  EXPECT_TRUE(ok);
  return out;
}

std::array<uint8_t, 16> Bytes(const RowKey& k) {
  std::array<uint8_t, 16> out{};
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(k.a >> (8 * i));
    out[8 + i] = static_cast<uint8_t>(k.b >> (8 * i));
  }
  return out;
}

TEST(RowCacheTest, SipHash128MatchesOpenSsl) {
  std::mt19937_64 rng(7);
  std::array<uint8_t, 16> key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);  // reference key
  std::string data;
  for (int len = 0; len <= 100; ++len) {
    EXPECT_EQ(Bytes(SipHash128(key, data)), OpenSslSipHash128(key, data)) << "length " << len;
    data.push_back(static_cast<char>(len));  // the reference vectors' messages: 00 01 02 ...
  }
  for (int round = 0; round < 200; ++round) {
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    std::string random(rng() % 300, '\0');
    for (char& c : random) c = static_cast<char>(rng());
    ASSERT_EQ(Bytes(SipHash128(key, random)), OpenSslSipHash128(key, random)) << round;
  }
}

TEST(RowCacheTest, KeysDependOnTheSecret) {
  RowHasher one;
  RowHasher two;
  EXPECT_NE(one("hosts:10.0.0.1"), two("hosts:10.0.0.1"));
  EXPECT_EQ(one("hosts:10.0.0.1"), one("hosts:10.0.0.1"));
  EXPECT_NE(one("hosts:10.0.0.1"), one("hosts:10.0.0.2"));
}

// 200,000 rows: the slots grow past 2 MiB onto their huge-page mapping (huge_pages.h) and
// through three doublings there.
TEST(RowCacheTest, MapFindsInsertsGrowsAndKeepsPointers) {
  RowHasher hash(std::array<uint8_t, 16>{1, 2, 3});
  RowMap<int> map;
  std::vector<int*> pointers;
  constexpr int kRows = 200000;
  for (int i = 0; i < kRows; ++i) {
    RowKey k = hash("row " + std::to_string(i));
    ASSERT_EQ(map.Find(k), nullptr) << i;
    pointers.push_back(map.Insert(k, i));
  }
  EXPECT_EQ(map.size(), size_t{kRows});
  for (int i = 0; i < kRows; ++i) {
    int* found = map.Find(hash("row " + std::to_string(i)));
    ASSERT_NE(found, nullptr) << i;
    EXPECT_EQ(found, pointers[static_cast<size_t>(i)]);  // the growth moved no value
    EXPECT_EQ(*found, i);
  }
  EXPECT_EQ(map.Find(hash("row 200000")), nullptr);
  map.Clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.Find(hash("row 1")), nullptr);
  map.Insert(hash("row 1"), 5);
  EXPECT_EQ(*map.Find(hash("row 1")), 5);
}

// Reserve makes room at once, keeps what is there and never shrinks; Prefetch is only a hint.
TEST(RowCacheTest, ReserveKeepsEntriesAndPointers) {
  RowHasher hash(std::array<uint8_t, 16>{4, 5, 6});
  RowMap<int> map;
  int* first = map.Insert(hash("a"), 1);
  map.Reserve(100000);
  map.Reserve(10);
  EXPECT_EQ(map.Find(hash("a")), first);
  for (int i = 0; i < 100000; ++i) {
    RowKey k = hash("row " + std::to_string(i));
    map.Prefetch(k);
    map.Insert(k, i);
  }
  for (int i = 0; i < 100000; i += 997) {
    ASSERT_NE(map.Find(hash("row " + std::to_string(i))), nullptr) << i;
    EXPECT_EQ(*map.Find(hash("row " + std::to_string(i))), i);
  }
  EXPECT_EQ(*map.Find(hash("a")), 1);
  EXPECT_EQ(map.size(), 100001u);
}

}  // namespace
}  // namespace sensor::inventory_internal
