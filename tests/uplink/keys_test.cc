#include "uplink/keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace uplink {
namespace {

std::vector<uint8_t> FromHex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string ScratchDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = ::testing::TempDir() + "/uplink_keys_" + info->name();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// RFC 8032 section 7.1, TEST 1 (empty message).
constexpr std::string_view kRfcSecret =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfcPublic =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kRfcSignature =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf"
    "9b46bd25bf5f0595bbe24655141438e7a100b";

TEST(KeysTest, SeedGivesRfc8032KeyAndSignature) {
  auto key = SigningKey::FromSeed(FromHex(kRfcSecret));
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(ToHex(key->verify_key().raw()), kRfcPublic);
  auto sig = key->Sign({});
  ASSERT_TRUE(sig);
  EXPECT_EQ(ToHex(*sig), kRfcSignature);
  EXPECT_TRUE(key->verify_key().Verify({}, *sig));
}

TEST(KeysTest, KeyIdIsTruncatedSha256OfRawPublicKey) {
  auto key = SigningKey::FromSeed(FromHex(kRfcSecret));
  ASSERT_TRUE(key);
  const Sha256Digest full = Sha256(key->verify_key().raw());
  EXPECT_EQ(ToHex(key->key_id()), ToHex(full).substr(0, 32));
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  const std::string abc = "abc";
  EXPECT_EQ(ToHex(Sha256(std::span(reinterpret_cast<const uint8_t*>(abc.data()), 3))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(KeysTest, FingerprintIsOpensshStyle) {
  auto key = SigningKey::FromSeed(FromHex(kRfcSecret));
  ASSERT_TRUE(key);
  const std::string fp = key->verify_key().Fingerprint();
  ASSERT_EQ(fp.rfind("SHA256:", 0), 0u);
  EXPECT_EQ(fp.size(), 7u + 43u);  // 32 bytes in unpadded base64
  EXPECT_EQ(fp.find('='), std::string::npos);
  auto other = SigningKey::Generate();
  ASSERT_TRUE(other);
  EXPECT_NE(other->verify_key().Fingerprint(), fp);
}

TEST(KeysTest, VerifyRejectsTamperedOrMisSizedSignatures) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key);
  const std::vector<uint8_t> msg = {1, 2, 3};
  auto sig = key->Sign(msg);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(key->verify_key().Verify(msg, *sig));
  auto bad = *sig;
  bad[10] ^= 4;
  EXPECT_FALSE(key->verify_key().Verify(msg, bad));
  EXPECT_FALSE(key->verify_key().Verify(msg, std::span(*sig).first(63)));
  EXPECT_FALSE(key->verify_key().Verify(std::vector<uint8_t>{1, 2, 4}, *sig));
}

TEST(KeysTest, PemRoundTrips) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key);
  auto pem = key->ToPem();
  ASSERT_TRUE(pem);
  EXPECT_NE(pem->find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  auto back = SigningKey::FromPem(*pem);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->verify_key().raw(), key->verify_key().raw());

  auto pub_pem = key->verify_key().ToPem();
  ASSERT_TRUE(pub_pem);
  EXPECT_NE(pub_pem->find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
  auto pub = VerifyKey::FromPem(*pub_pem);
  ASSERT_TRUE(pub) << pub.error().message;
  EXPECT_EQ(pub->key_id(), key->key_id());

  EXPECT_FALSE(SigningKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"));
  EXPECT_FALSE(VerifyKey::FromPem(*pem));  // a private key is not a public key block
  EXPECT_FALSE(VerifyKey::FromRaw(std::vector<uint8_t>(31, 1)));
  EXPECT_FALSE(SigningKey::FromSeed(std::vector<uint8_t>(33, 1)));
}

TEST(KeysTest, SavesWithMode0600AndNeverOverwrites) {
  const std::string dir = ScratchDir();
  const std::string path = dir + "/sensor.key";
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key);
  auto saved = key->SavePemFile(path);
  ASSERT_TRUE(saved) << saved.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(dir + "/.tmp-sensor.key"));

  auto loaded = SigningKey::LoadPemFile(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->key_id(), key->key_id());

  auto other = SigningKey::Generate();
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->SavePemFile(path));
  loaded = SigningKey::LoadPemFile(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->key_id(), key->key_id()) << "the first key must survive";

  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto loose = SigningKey::LoadPemFile(path);
  ASSERT_FALSE(loose);
  EXPECT_NE(loose.error().message.find("chmod 600"), std::string::npos);
  EXPECT_EQ(SigningKey::LoadPemFile(dir + "/missing.key").error().code,
            rules::ErrorCode::kNotFound);
}

TEST(KeysTest, LoadsPublicKeyFile) {
  const std::string dir = ScratchDir();
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key);
  auto pem = key->verify_key().ToPem();
  ASSERT_TRUE(pem);
  std::ofstream(dir + "/sensor.pub") << *pem;
  auto pub = VerifyKey::LoadPemFile(dir + "/sensor.pub");
  ASSERT_TRUE(pub) << pub.error().message;
  EXPECT_EQ(pub->Fingerprint(), key->verify_key().Fingerprint());
}

}  // namespace
}  // namespace uplink
