// Signed rule bundles: every refusal with its reason, every byte of a small bundle tampered with,
// rollback and expiry, the install layout and its crash safety, and the reader's re-check of the
// installed files. The test vector of docs/formats.md comes from VectorForTheDocs.
#include "uplink/rule_bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace uplink {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1'795'000'000;  // 2026-11-18

SigningKey KeyFromByte(uint8_t b) {
  std::array<uint8_t, kEd25519SeedSize> seed{};
  seed.fill(b);
  return *SigningKey::FromSeed(seed);
}

RuleBundle Sample(uint64_t version = 7) {
  RuleBundle b;
  b.version = version;
  b.created_s = kNow - 3600;
  b.expires_s = kNow + 30 * 86400;
  // UTF-8 beyond ASCII, as in the packs' Norwegian advice (bytes >= 0x80 everywhere).
  b.files.push_back({"csirt-software.yaml", "- id: x\n  advice_nb: Oppdater til 9.8p1 – æøå\n"});
  b.files.push_back({"bad-domains.txt", "evil.example\n"});
  return b;
}

std::vector<uint8_t> Build(const RuleBundle& b, const SigningKey& key) {
  auto bytes = BuildRuleBundle(b, key);
  EXPECT_TRUE(bytes) << bytes.error().message;
  return bytes ? *bytes : std::vector<uint8_t>{};
}

::testing::AssertionResult RefusedWith(std::span<const uint8_t> bytes, const VerifyKey& key,
                                       int64_t now, uint64_t installed, BundleRejection expected) {
  BundleRejection why = BundleRejection::kNone;
  auto opened = OpenRuleBundle(bytes, key, now, installed, &why);
  if (opened) return ::testing::AssertionFailure() << "accepted";
  if (why != expected) {
    return ::testing::AssertionFailure()
           << "refused as '" << BundleRejectionName(why) << "', expected '"
           << BundleRejectionName(expected) << "': " << opened.error().message;
  }
  if (opened.error().message.find(std::string(BundleRejectionName(expected))) ==
      std::string::npos) {
    return ::testing::AssertionFailure() << "message lacks the reason: " << opened.error().message;
  }
  return ::testing::AssertionSuccess();
}

std::string TempDir(const std::string& name) {
  std::string d = fs::temp_directory_path().string() + "/utkikk-bundle-" + name + "-" +
                  std::to_string(::getpid());
  fs::remove_all(d);
  return d;
}

TEST(RuleBundleTest, OpensWhatWasBuilt) {
  SigningKey key = KeyFromByte(1);
  auto bytes = Build(Sample(), key);
  BundleRejection why = BundleRejection::kMalformed;
  auto opened = OpenRuleBundle(bytes, key.verify_key(), kNow, 6, &why);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(why, BundleRejection::kNone);
  EXPECT_EQ(opened->version, 7u);
  EXPECT_EQ(opened->key_id, key.key_id());
  ASSERT_EQ(opened->files.size(), 2u);
  EXPECT_EQ(opened->files[0].name, "csirt-software.yaml");
  EXPECT_EQ(opened->files[1].content, "evil.example\n");
}

TEST(RuleBundleTest, EveryRefusalHasItsReason) {
  SigningKey key = KeyFromByte(1);
  SigningKey other = KeyFromByte(2);
  const VerifyKey& vk = key.verify_key();
  auto bytes = Build(Sample(), key);

  EXPECT_TRUE(RefusedWith(Build(Sample(), other), vk, kNow, 0, BundleRejection::kWrongKey));
  EXPECT_TRUE(RefusedWith(bytes, vk, kNow, 9, BundleRejection::kRollback));
  EXPECT_TRUE(RefusedWith(bytes, vk, kNow, 7, BundleRejection::kAlreadyInstalled));
  EXPECT_TRUE(RefusedWith(bytes, vk, kNow + 31 * 86400, 0, BundleRejection::kExpired));
  EXPECT_TRUE(RefusedWith(bytes, vk, kNow - 3 * 86400, 0, BundleRejection::kNotYetValid));
  std::vector<uint8_t> junk = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_TRUE(RefusedWith(junk, vk, kNow, 0, BundleRejection::kMalformed));

  // Unsigned: the same layout with a zero signature length.
  std::string manifest = RuleBundleManifest([&] {
    RuleBundle b = Sample();
    b.key_id = key.key_id();
    return b;
  }());
  std::vector<uint8_t> unsigned_bundle(kRuleBundleMagic.begin(), kRuleBundleMagic.end());
  for (int shift = 24; shift >= 0; shift -= 8) {
    unsigned_bundle.push_back(static_cast<uint8_t>(manifest.size() >> shift));
  }
  unsigned_bundle.insert(unsigned_bundle.end(), manifest.begin(), manifest.end());
  unsigned_bundle.push_back(0);
  unsigned_bundle.push_back(0);
  EXPECT_TRUE(RefusedWith(unsigned_bundle, vk, kNow, 0, BundleRejection::kUnsigned));

  // A file changed after signing: its hash no longer matches the signed manifest.
  std::vector<uint8_t> tampered = bytes;
  tampered.back() ^= 0x20;
  EXPECT_TRUE(RefusedWith(tampered, vk, kNow, 0, BundleRejection::kTampered));
  // Bytes appended after the last file.
  std::vector<uint8_t> longer = bytes;
  longer.push_back('x');
  EXPECT_TRUE(RefusedWith(longer, vk, kNow, 0, BundleRejection::kTampered));
  // The manifest changed after signing (here: the version).
  std::vector<uint8_t> forged = bytes;
  std::string text(forged.begin(), forged.end());
  size_t at = text.find("version 7\n");
  ASSERT_NE(at, std::string::npos);
  forged[at + 8] = '9';
  EXPECT_TRUE(RefusedWith(forged, vk, kNow, 0, BundleRejection::kBadSignature));
}

TEST(RuleBundleTest, BadNamesAreRefusedWhenBuilding) {
  SigningKey key = KeyFromByte(1);
  for (const char* name : {"../etc/passwd", "a/b.yaml", ".hidden", "", "x y"}) {
    RuleBundle b = Sample();
    b.files[0].name = name;
    EXPECT_FALSE(BuildRuleBundle(b, key)) << name;
  }
  RuleBundle twice = Sample();
  twice.files[1].name = twice.files[0].name;
  EXPECT_FALSE(BuildRuleBundle(twice, key));
}

TEST(RuleBundleTest, EverySingleByteChangeIsRefused) {
  SigningKey key = KeyFromByte(1);
  RuleBundle small;
  small.version = 3;
  small.created_s = kNow;
  small.expires_s = kNow + 86400;
  small.files.push_back({"r.yaml", "- id: a\n"});
  auto bytes = Build(small, key);
  ASSERT_TRUE(OpenRuleBundle(bytes, key.verify_key(), kNow, 0, nullptr));
  size_t accepted = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> changed = bytes;
      changed[i] ^= mask;
      if (OpenRuleBundle(changed, key.verify_key(), kNow, 0, nullptr)) ++accepted;
    }
  }
  EXPECT_EQ(accepted, 0u) << "of " << bytes.size() * 3 << " single-byte changes";
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(OpenRuleBundle(std::span(bytes).first(n), key.verify_key(), kNow, 0, nullptr))
        << "truncated to " << n;
  }
}

TEST(RuleBundleTest, InstallKeepsThePreviousVersionAndRemovesOlder) {
  SigningKey key = KeyFromByte(1);
  std::string dir = TempDir("install");
  for (uint64_t v : {1, 2, 3}) {
    auto bytes = Build(Sample(v), key);
    auto opened = OpenRuleBundle(bytes, key.verify_key(), kNow, v - 1, nullptr);
    ASSERT_TRUE(opened) << opened.error().message;
    ASSERT_TRUE(InstallRuleBundle(dir, bytes, *opened));
    EXPECT_EQ(*InstalledBundleVersion(dir), v);
  }
  EXPECT_FALSE(fs::exists(dir + "/v1"));
  EXPECT_TRUE(fs::exists(dir + "/v2/bundle.utb"));
  EXPECT_TRUE(fs::exists(dir + "/v3/csirt-software.yaml"));
  auto loaded = LoadInstalledBundle(dir, key.verify_key(), kNow, 2, nullptr);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->bundle.version, 3u);
  ASSERT_EQ(loaded->paths.size(), 2u);
  EXPECT_EQ(loaded->paths[0], dir + "/v3/csirt-software.yaml");
  fs::remove_all(dir);
}

TEST(RuleBundleTest, ACrashBeforeTheSwitchLeavesTheOldVersionInForce) {
  SigningKey key = KeyFromByte(1);
  std::string dir = TempDir("crash");
  auto v1 = Build(Sample(1), key);
  ASSERT_TRUE(InstallRuleBundle(dir, v1, *OpenRuleBundle(v1, key.verify_key(), kNow, 0, nullptr)));
  // Crash 1: a half-written temporary of v2. Crash 2: a complete v2 directory that `current`
  // never named, with a damaged file.
  fs::create_directories(dir + "/.tmp-v2");
  std::ofstream(dir + "/.tmp-v2/bundle.utb") << "half";
  fs::create_directories(dir + "/v2");
  std::ofstream(dir + "/v2/csirt-software.yaml") << "garbage";
  auto loaded = LoadInstalledBundle(dir, key.verify_key(), kNow, 0, nullptr);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->bundle.version, 1u);
  // Installing v2 again starts from scratch and succeeds.
  auto v2 = Build(Sample(2), key);
  ASSERT_TRUE(InstallRuleBundle(dir, v2, *OpenRuleBundle(v2, key.verify_key(), kNow, 1, nullptr)));
  loaded = LoadInstalledBundle(dir, key.verify_key(), kNow, 1, nullptr);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->bundle.version, 2u);
  EXPECT_FALSE(fs::exists(dir + "/.tmp-v2"));
  fs::remove_all(dir);
}

TEST(RuleBundleTest, TheReaderTrustsNothingInTheDirectory) {
  SigningKey key = KeyFromByte(1);
  SigningKey other = KeyFromByte(2);
  std::string dir = TempDir("reader");
  auto v5 = Build(Sample(5), key);
  ASSERT_TRUE(InstallRuleBundle(dir, v5, *OpenRuleBundle(v5, key.verify_key(), kNow, 0, nullptr)));
  BundleRejection why;
  // A loose file edited after the install.
  { std::ofstream(dir + "/v5/bad-domains.txt", std::ios::app) << "more.example\n"; }
  EXPECT_FALSE(LoadInstalledBundle(dir, key.verify_key(), kNow, 0, &why));
  EXPECT_EQ(why, BundleRejection::kTampered);
  // Re-installed cleanly, then: a rollback below what the reader accepted before, another key,
  // and expiry.
  fs::remove_all(dir);
  ASSERT_TRUE(InstallRuleBundle(dir, v5, *OpenRuleBundle(v5, key.verify_key(), kNow, 0, nullptr)));
  EXPECT_FALSE(LoadInstalledBundle(dir, key.verify_key(), kNow, 6, &why));
  EXPECT_EQ(why, BundleRejection::kRollback);
  EXPECT_FALSE(LoadInstalledBundle(dir, other.verify_key(), kNow, 0, &why));
  EXPECT_EQ(why, BundleRejection::kWrongKey);
  EXPECT_FALSE(LoadInstalledBundle(dir, key.verify_key(), kNow + 40 * 86400, 0, &why));
  EXPECT_EQ(why, BundleRejection::kExpired);
  // A reader keeping its last good set may take it expired; every other check still applies.
  auto kept = LoadInstalledBundle(dir, key.verify_key(), kNow + 40 * 86400, 5, &why, true);
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_LE(kept->bundle.expires_s, kNow + 40 * 86400);
  EXPECT_FALSE(LoadInstalledBundle(dir, other.verify_key(), kNow + 40 * 86400, 5, &why, true));
  EXPECT_EQ(why, BundleRejection::kWrongKey);
  EXPECT_TRUE(LoadInstalledBundle(dir, key.verify_key(), kNow, 5, &why));  // a restart
  // `current` naming a version whose bundle is another version.
  fs::rename(dir + "/v5", dir + "/v9");
  std::ofstream(dir + "/current") << "v9\n";
  EXPECT_FALSE(LoadInstalledBundle(dir, key.verify_key(), kNow, 0, &why));
  EXPECT_EQ(why, BundleRejection::kTampered);
  std::ofstream(dir + "/current") << "nonsense";
  EXPECT_FALSE(LoadInstalledBundle(dir, key.verify_key(), kNow, 0, &why));
  fs::remove_all(dir);
  EXPECT_FALSE(LoadInstalledBundle(dir, key.verify_key(), kNow, 0, &why));  // nothing installed
}

TEST(RuleBundleTest, FileReferencesMustNameTheBundlesOwnFiles) {
  RuleBundle b = Sample();
  b.files[0].content = "- id: x\n  indicator:\n    domains_file: bad-domains.txt\n";
  EXPECT_TRUE(CheckRuleFileReferences(b, {}));
  for (const std::string ref : {"/etc/passwd", "../bad-domains.txt", "lists/bad-domains.txt",
                                "other.txt"}) {
    b.files[0].content = "- id: x\n  indicator:\n    domains_file: [bad-domains.txt, " + ref +
                         "]\n";
    auto checked = CheckRuleFileReferences(b, {"DIR/v7/csirt-software.yaml"});
    ASSERT_FALSE(checked) << ref;
    EXPECT_NE(checked.error().message.find("DIR/v7/csirt-software.yaml:3:"), std::string::npos)
        << checked.error().message;
  }
  b.files[0].name = "notes.txt";  // not a rule file: not read as YAML
  EXPECT_TRUE(CheckRuleFileReferences(b, {}));
}

// Prints the vector docs/formats.md shows (seed 0x01 x 32, one file), and checks it is stable.
TEST(RuleBundleTest, VectorForTheDocs) {
  SigningKey key = KeyFromByte(1);
  RuleBundle b;
  b.version = 1;
  b.created_s = 1795000000;
  b.expires_s = 1797592000;
  b.files.push_back({"example.yaml", "[]\n"});
  auto bytes = Build(b, key);
  std::ostringstream hex;
  for (uint8_t c : bytes) hex << "0123456789abcdef"[c >> 4] << "0123456789abcdef"[c & 15];
  std::printf("rule bundle test vector (%zu bytes):\n%s\n", bytes.size(), hex.str().c_str());
  // The bytes docs/formats.md prints (Ed25519 is deterministic, so they never change).
  EXPECT_EQ(hex.str(),
            "55544b52554c4531000000bf75746b696b6b2d72756c652d62756e646c6520310a76657273696f6e20"
            "310a6372656174656420313739353030303030300a6578706972657320313739373539323030300a6b"
            "65792033343735306639386264353966636663393436646134356161616265393333620a66696c6520"
            "333735313765356633646336363831396636316635613762623861636531393231323832343135663130"
            "353531643264656661356333656230393835623537302033206578616d706c652e79616d6c0a004098"
            "fcc93d946054475f0c27d0405f7b31f2602afeba1dbee343ab0664b609b8a7a809f55685a2b179f906"
            "a285f3bf0c83a24b3c3b120e2bb54e7d685261144d0b5b5d0a");
  auto again = Build(b, key);
  EXPECT_EQ(bytes, again);  // Ed25519 is deterministic: the vector is reproducible
}

}  // namespace
}  // namespace uplink
