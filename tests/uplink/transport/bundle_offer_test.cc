// The collector offers a newly published rule bundle without waiting to be asked
// (CollectorServer::OfferNewerBundle): only to uplinks that reported an older version, each
// once, a bounded number per call; requests are still answered as before. And the offline path:
// `utkikk-uplink --install-bundle FILE` with the same checks.
#include <cstdio>
#include <ctime>
#include <fstream>

#include <gtest/gtest.h>

#include "transport_fakes.h"
#include "uplink/rule_bundle.h"
#include "uplink/transport/collector_server.h"

namespace uplink {
namespace {

using std::chrono::milliseconds;

TransportMessage Request(const std::string& sensor, uint64_t installed) {
  TransportMessage m;
  m.kind = MessageKind::kBundleRequest;
  m.sensor_id = sensor;
  m.sequence = installed;
  return m;
}

TEST(BundleOfferTest, ANewBundleIsOfferedToUplinksThatRunAnOlderOne) {
  testing::FakeLink link;
  testing::FakeSide collector_side(link, false);
  CollectorServer server(collector_side, [](std::span<const uint8_t>) { return IngestOutcome{}; });
  OfferedBundle published;  // nothing published yet
  server.SetBundleProvider([&] { return published; });
  EXPECT_EQ(server.OfferNewerBundle(), 0u);  // nobody asked yet

  // Three uplinks ask; nothing is published, so nothing is sent.
  link.up.push_back(Request("s1", 0));
  link.up.push_back(Request("s2", 0));
  link.up.push_back(Request("s3", 7));
  server.RunOnce(milliseconds(0));
  EXPECT_TRUE(link.down.empty());
  EXPECT_EQ(server.OfferNewerBundle(), 0u);

  // Version 7 is published: s1 and s2 get it unasked, s3 (already at 7) does not.
  published = OfferedBundle{7, {1, 2, 3}};
  EXPECT_EQ(server.OfferNewerBundle(), 2u);
  ASSERT_EQ(link.down.size(), 2u);
  for (const TransportMessage& m : link.down) {
    EXPECT_EQ(m.kind, MessageKind::kBundleOffer);
    EXPECT_EQ(m.sequence, 7u);
    EXPECT_EQ(m.envelope, published.bytes);
    EXPECT_NE(m.sensor_id, "s3");
  }
  link.down.clear();
  EXPECT_EQ(server.OfferNewerBundle(), 0u);  // each once
  EXPECT_TRUE(link.down.empty());

  // An uplink that refused it (say, another key) reports its old version again when it asks:
  // the answer is the offer, as before.
  link.up.push_back(Request("s1", 0));
  server.RunOnce(milliseconds(0));
  ASSERT_EQ(link.down.size(), 1u);
  EXPECT_EQ(link.down[0].sensor_id, "s1");
  link.down.clear();
  EXPECT_EQ(server.OfferNewerBundle(), 0u);
  EXPECT_EQ(server.stats().bundle_offers, 3u);
  EXPECT_EQ(server.stats().bundle_requests, 4u);
}

TEST(BundleOfferTest, OffersAreSpreadOverCallsAndNeedAPeer) {
  testing::FakeLink link;
  testing::FakeSide collector_side(link, false);
  CollectorServer server(collector_side, [](std::span<const uint8_t>) { return IngestOutcome{}; });
  OfferedBundle published;
  server.SetBundleProvider([&] { return published; });
  for (int i = 0; i < 40; ++i) link.up.push_back(Request("s" + std::to_string(i), 1));
  server.RunOnce(milliseconds(0), 64);
  published = OfferedBundle{2, {9}};
  link.connected = false;  // no peer: nothing is sent and nothing is marked as offered
  EXPECT_EQ(server.OfferNewerBundle(16), 0u);
  link.connected = true;
  EXPECT_EQ(server.OfferNewerBundle(16), 16u);
  EXPECT_EQ(server.OfferNewerBundle(16), 16u);
  EXPECT_EQ(server.OfferNewerBundle(16), 8u);
  EXPECT_EQ(server.OfferNewerBundle(16), 0u);
  EXPECT_EQ(link.down.size(), 40u);
}

std::string RunCommand(const std::string& command, int* status) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  *status = ::pclose(pipe);
  return output;
}

SigningKey KeyFromByte(uint8_t b) {
  std::array<uint8_t, kEd25519SeedSize> seed{};
  seed.fill(b);
  return *SigningKey::FromSeed(seed);
}

TEST(InstallBundleCommandTest, VerifiesAndInstallsABundleCarriedByHand) {
  const std::string dir = testing::FreshDir("install");
  const SigningKey rules_key = KeyFromByte(3);
  std::ofstream(dir + "/rules.pub.pem") << *rules_key.verify_key().ToPem();
  // The sensor's files need not exist for --install-bundle: it only reads the rules settings.
  std::ofstream(dir + "/uplink.yaml")
      << "sensor_id: s1\nspool_dir: " << dir << "/spool\nstate_dir: " << dir
      << "/state\nsigning_key: " << dir << "/none.pem\ntls_cert: " << dir
      << "/none.crt\ntls_key: " << dir << "/none.key\ntls_ca: " << dir << "/none.ca\n";
  std::ofstream(dir + "/with-rules.yaml")
      << std::ifstream(dir + "/uplink.yaml").rdbuf() << "rules_public_key: " << dir
      << "/rules.pub.pem\nrules_bundle_dir: " << dir << "/bundles\n";
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto write = [&](uint64_t version, const SigningKey& key, const std::string& name) {
    RuleBundle b;
    b.version = version;
    b.created_s = now - 60;
    b.expires_s = now + 86400;
    b.files.push_back({"csirt.yaml", "[]\n"});
    auto bytes = BuildRuleBundle(b, key);
    ASSERT_TRUE(bytes);
    std::ofstream(dir + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes->data()),
               static_cast<std::streamsize>(bytes->size()));
  };
  write(2, rules_key, "v2.utb");
  write(1, rules_key, "v1.utb");
  write(5, KeyFromByte(4), "foreign.utb");
  const std::string bin = std::string(BUILD_DIR) + "/utkikk-uplink --config " + dir;
  int status = -1;
  std::string out = RunCommand(bin + "/uplink.yaml --install-bundle " + dir + "/v2.utb", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("rules_public_key"), std::string::npos) << out;

  out = RunCommand(bin + "/with-rules.yaml --install-bundle " + dir + "/v2.utb", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(InstalledBundleVersion(dir + "/bundles").value_or(0), 2u);
  for (const auto& [file, reason] : std::vector<std::pair<std::string, std::string>>{
           {"v2.utb", "already installed"},
           {"v1.utb", "rollback"},
           {"foreign.utb", "wrong key"},
           {"missing.utb", "cannot read"}}) {
    out = RunCommand(bin + "/with-rules.yaml --install-bundle " + dir + "/" + file, &status);
    EXPECT_NE(status, 0) << file;
    EXPECT_NE(out.find(reason), std::string::npos) << file << ": " << out;
  }
  EXPECT_EQ(InstalledBundleVersion(dir + "/bundles").value_or(0), 2u);
}

}  // namespace
}  // namespace uplink
