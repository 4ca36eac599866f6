// The sensor and the signed rule bundle the uplink installs: the bundle's rules replace the
// configured ones when it verifies; a tampered, rolled-back or foreign bundle is refused with its
// reason and the sensor runs the configured rules (at the start) or keeps the running bundle
// (later); a new version is picked up by CheckBundle; rules-expiring and rules-expired alerts.
#include "sensor/alerts/rule_source.h"

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "sensor/alerts/alerting.h"
#include "uplink/rule_bundle.h"

namespace sensor {
namespace {

namespace fs = std::filesystem;

uplink::SigningKey Key(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return *uplink::SigningKey::FromSeed(seed);
}

std::string Rule(const std::string& id) {
  // Non-ASCII UTF-8 as in the shipped packs (the Norwegian advice).
  return "- id: " + id + "\n  title: Telnet in use\n  severity: high\n"
         "  advice_nb: Slå av Telnet – bruk SSH (æøå)\n"
         "  policy: {service: telnet}\n";
}

class RuleSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path().string() + "/rule_source_test." + std::to_string(getpid()) +
           "." + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto pem = rules_key_.verify_key().ToPem();
    ASSERT_TRUE(pem);
    std::ofstream(dir_ + "/rules.pub.pem") << *pem;
    now_ = static_cast<int64_t>(std::time(nullptr));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string bundles() const { return dir_ + "/bundles"; }

  // rule_text: the rule file's content (default: one valid rule with id rule_id).
  void Install(uint64_t version, const uplink::SigningKey& key, int64_t expires_in_s,
               const std::string& rule_id, const std::string& rule_text = "") {
    uplink::RuleBundle b;
    b.version = version;
    b.created_s = now_ - 60;
    b.expires_s = now_ + expires_in_s;
    b.files.push_back({"csirt.yaml", rule_text.empty() ? Rule(rule_id) : rule_text});
    auto bytes = uplink::BuildRuleBundle(b, key);
    ASSERT_TRUE(bytes) << bytes.error().message;
    // Installed as the uplink does, without the uplink's check (the sensor must check itself).
    b.key_id = key.key_id();
    ASSERT_TRUE(uplink::InstallRuleBundle(bundles(), *bytes, b));
  }

  AlertsSettings Settings() const {
    AlertsSettings s;
    s.rule_files = {"policy-cleartext.yaml"};  // the configured (shipped) rules
    s.bundle_dir = bundles();
    s.rules_public_key = dir_ + "/rules.pub.pem";
    return s;
  }

  std::unique_ptr<Alerting> Open() {
    auto opened = OpenAlerting(Settings(), dir_ + "/inventory.db", dir_, ZeekLogFormat::kJson,
                               "s1", {}, next_);
    EXPECT_TRUE(opened) << (opened ? "" : opened.error().message);
    return opened ? std::move(*opened) : nullptr;
  }

  static bool HasRule(const Alerting& a, const std::string& id) {
    for (const auto& r : a.rule_set().rules()) {
      if (r.id == id) return true;
    }
    return false;
  }

  uint64_t StateFile() const {
    std::ifstream state(dir_ + "/inventory.db.rules-bundle");
    uint64_t accepted = 0;
    state >> accepted;
    return accepted;
  }

  std::string Notices() const {
    std::ifstream in(dir_ + "/notice.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string dir_;
  int64_t now_ = 0;
  uplink::SigningKey rules_key_ = Key(7);
  rules::NullFactSink next_;
};

TEST_F(RuleSourceTest, AVerifiedBundleReplacesTheConfiguredRules) {
  Install(3, rules_key_, 30 * 86400, "csirt-telnet-v3");
  auto a = Open();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rules_state().bundle_version, 3u);
  EXPECT_TRUE(HasRule(*a, "csirt-telnet-v3"));
  EXPECT_FALSE(HasRule(*a, "policy-telnet"));
  EXPECT_NE(a->rules_state().Json().find("\"bundle_version\":3"), std::string::npos);
  EXPECT_EQ(StateFile(), 3u);
}

TEST_F(RuleSourceTest, NoBundleInstalledRunsTheConfiguredRules) {
  auto a = Open();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rules_state().bundle_version, 0u);
  EXPECT_EQ(a->rules_state().bundle_error, "");
  EXPECT_GT(a->rule_set().rules().size(), 0u);
}

TEST_F(RuleSourceTest, RefusedBundlesAtTheStartLeaveTheConfiguredRules) {
  // Another key.
  Install(3, Key(9), 30 * 86400, "foreign");
  auto a = Open();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rules_state().bundle_version, 0u);
  EXPECT_NE(a->rules_state().bundle_error.find("wrong key"), std::string::npos)
      << a->rules_state().bundle_error;
  EXPECT_FALSE(HasRule(*a, "foreign"));
  EXPECT_GT(a->rule_set().rules().size(), 0u);  // never no rules
  // A loose file edited after the install.
  fs::remove_all(bundles());
  Install(4, rules_key_, 30 * 86400, "csirt-telnet-v4");
  std::ofstream(bundles() + "/v4/csirt.yaml", std::ios::app) << "# edited\n";
  a = Open();
  ASSERT_TRUE(a);
  EXPECT_NE(a->rules_state().bundle_error.find("tampered"), std::string::npos)
      << a->rules_state().bundle_error;
  // Rollback below what this sensor accepted before (kept across restarts in its state file).
  fs::remove_all(bundles());
  std::ofstream(dir_ + "/inventory.db.rules-bundle") << "9\n";
  Install(5, rules_key_, 30 * 86400, "csirt-telnet-v5");
  a = Open();
  ASSERT_TRUE(a);
  EXPECT_NE(a->rules_state().bundle_error.find("rollback"), std::string::npos)
      << a->rules_state().bundle_error;
  EXPECT_FALSE(HasRule(*a, "csirt-telnet-v5"));
  // Expired.
  fs::remove_all(bundles());
  fs::remove(dir_ + "/inventory.db.rules-bundle");
  Install(6, rules_key_, -30, "csirt-telnet-v6");  // created 60 s ago, expired 30 s ago
  a = Open();
  ASSERT_TRUE(a);
  EXPECT_NE(a->rules_state().bundle_error.find("expired"), std::string::npos)
      << a->rules_state().bundle_error;
}

TEST_F(RuleSourceTest, CheckBundlePicksUpANewVersionAndKeepsItWhenTheNextIsBad) {
  Install(1, rules_key_, 30 * 86400, "csirt-telnet-v1");
  auto a = Open();
  ASSERT_TRUE(a);
  bool reloaded = true;
  ASSERT_TRUE(a->CheckBundle(now_ * 1'000'000, &reloaded));
  EXPECT_FALSE(reloaded);  // nothing new
  Install(2, rules_key_, 30 * 86400, "csirt-telnet-v2");
  ASSERT_TRUE(a->CheckBundle(now_ * 1'000'000, &reloaded));
  EXPECT_TRUE(reloaded);
  EXPECT_EQ(a->rules_state().bundle_version, 2u);
  EXPECT_TRUE(HasRule(*a, "csirt-telnet-v2"));
  // Version 3 from another key lands in the directory: refused, version 2 keeps running.
  Install(3, Key(9), 30 * 86400, "foreign");
  auto refused = a->CheckBundle(now_ * 1'000'000, &reloaded);
  EXPECT_FALSE(refused);
  EXPECT_FALSE(reloaded);
  EXPECT_EQ(a->rules_state().bundle_version, 2u);
  EXPECT_TRUE(HasRule(*a, "csirt-telnet-v2"));
  EXPECT_NE(a->rules_state().last_error.find("wrong key"), std::string::npos);
}

TEST_F(RuleSourceTest, ExpiringAndExpiredBundlesRaiseAlertsAndKeepRunning) {
  Install(1, rules_key_, 3 * 86400, "csirt-telnet-v1");  // expires in three days
  auto a = Open();
  ASSERT_TRUE(a);
  bool reloaded = false;
  ASSERT_TRUE(a->CheckBundle(now_ * 1'000'000, &reloaded));
  ASSERT_TRUE(a->Flush());
  EXPECT_NE(Notices().find("rules-expiring"), std::string::npos) << Notices();
  // Four days later the bundle has expired: still running, and rules-expired is raised.
  ASSERT_TRUE(a->CheckBundle((now_ + 4 * 86400) * 1'000'000, &reloaded));
  ASSERT_TRUE(a->Flush());
  EXPECT_NE(Notices().find("rules-expired"), std::string::npos) << Notices();
  EXPECT_TRUE(HasRule(*a, "csirt-telnet-v1"));
  EXPECT_EQ(a->rules_state().bundle_version, 1u);
}

TEST_F(RuleSourceTest, ExpiryIsReportedInTheHealthStateAndTheBundleStays) {
  Install(1, rules_key_, 3 * 86400, "csirt-telnet-v1");
  auto a = Open();
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->rules_state().bundle_expired);
  EXPECT_NE(a->rules_state().Json().find("\"bundle_expired\":false"), std::string::npos);
  bool reloaded = false;
  ASSERT_TRUE(a->CheckBundle((now_ + 4 * 86400) * 1'000'000, &reloaded));
  EXPECT_TRUE(a->rules_state().bundle_expired);
  EXPECT_NE(a->rules_state().Json().find("\"bundle_expired\":true"), std::string::npos);
  EXPECT_EQ(a->rules_state().bundle_error, "");  // not refused: it is the last good set
  EXPECT_EQ(a->rules_state().bundle_version, 1u);
}

TEST_F(RuleSourceTest, AfterARestartTheExpiredLastGoodBundleStillRuns) {
  // Version 6 ran on this sensor before (state file) and has expired since: it is the last good
  // set, so the restarted sensor runs it, flagged, instead of falling back to the shipped packs.
  Install(6, rules_key_, -30, "csirt-telnet-v6");
  std::ofstream(dir_ + "/inventory.db.rules-bundle") << "6\n";
  auto a = Open();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rules_state().bundle_version, 6u);
  EXPECT_TRUE(a->rules_state().bundle_expired);
  EXPECT_TRUE(HasRule(*a, "csirt-telnet-v6"));
  bool reloaded = false;
  ASSERT_TRUE(a->CheckBundle(now_ * 1'000'000, &reloaded));
  ASSERT_TRUE(a->Flush());
  EXPECT_NE(Notices().find("rules-expired"), std::string::npos) << Notices();
  // The same expired version never accepted before: refused (a replayed old bundle).
  a.reset();
  fs::remove(dir_ + "/inventory.db.rules-bundle");
  a = Open();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rules_state().bundle_version, 0u);
  EXPECT_NE(a->rules_state().bundle_error.find("expired"), std::string::npos)
      << a->rules_state().bundle_error;
  EXPECT_FALSE(HasRule(*a, "csirt-telnet-v6"));
  EXPECT_GT(a->rule_set().rules().size(), 0u);
}

TEST_F(RuleSourceTest, ABundleWhoseRulesDoNotLoadNeverStopsTheSensor) {
  // Signed and intact, but a rule this sensor's loader refuses (e.g. a construct of a newer
  // release): at the start the configured rules run, the version is not accepted.
  const std::string broken = "- id: from-the-future\n  title: x\n  severity: high\n"
                             "  quantum: {entangled: true}\n";
  Install(4, rules_key_, 30 * 86400, "", broken);
  auto a = Open();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rules_state().bundle_version, 0u);
  EXPECT_NE(a->rules_state().bundle_error.find("rule bundle version 4"), std::string::npos)
      << a->rules_state().bundle_error;
  EXPECT_TRUE(HasRule(*a, "policy-telnet"));
  EXPECT_EQ(StateFile(), 0u);
  // Not retried every minute: the refused version is remembered.
  bool reloaded = true;
  ASSERT_TRUE(a->CheckBundle(now_ * 1'000'000, &reloaded));
  EXPECT_FALSE(reloaded);
  EXPECT_EQ(a->rules_state().reloads, 0u);
  // Later a good version 5 arrives and runs; then a broken version 6: version 5 stays, and the
  // health state says 5, not 6.
  Install(5, rules_key_, 30 * 86400, "csirt-telnet-v5");
  ASSERT_TRUE(a->CheckBundle(now_ * 1'000'000, &reloaded));
  EXPECT_TRUE(reloaded);
  EXPECT_EQ(StateFile(), 5u);
  Install(6, rules_key_, 30 * 86400, "", broken);
  auto refused = a->CheckBundle(now_ * 1'000'000, &reloaded);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("rule bundle version 6"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(a->rules_state().bundle_version, 5u);
  EXPECT_TRUE(HasRule(*a, "csirt-telnet-v5"));
  EXPECT_EQ(StateFile(), 5u);
  const uint64_t failures = a->rules_state().reload_failures;
  ASSERT_TRUE(a->CheckBundle(now_ * 1'000'000, &reloaded));  // not retried
  EXPECT_EQ(a->rules_state().reload_failures, failures);
}

TEST_F(RuleSourceTest, ABundleReadingFilesOutsideItselfIsRefused) {
  // Signed with the right key, but its rule reads an indicator list from elsewhere on the
  // sensor: data the signature does not cover.
  std::ofstream(dir_ + "/outside.txt") << "203.0.113.9\n";
  Install(2, rules_key_, 30 * 86400, "",
          "- id: csirt-c2\n  title: C2\n  severity: high\n  indicator:\n    ips_file: " + dir_ +
              "/outside.txt\n");
  auto a = Open();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rules_state().bundle_version, 0u);
  EXPECT_NE(a->rules_state().bundle_error.find("file reference"), std::string::npos)
      << a->rules_state().bundle_error;
  EXPECT_NE(a->rules_state().bundle_error.find("/v2/csirt.yaml:5:"), std::string::npos)
      << a->rules_state().bundle_error;
  EXPECT_FALSE(HasRule(*a, "csirt-c2"));
  EXPECT_TRUE(HasRule(*a, "policy-telnet"));
}

TEST_F(RuleSourceTest, ADamagedStateFileRefusesBundlesButTheSensorRuns) {
  Install(3, rules_key_, 30 * 86400, "csirt-telnet-v3");
  std::ofstream(dir_ + "/inventory.db.rules-bundle") << "\x01\x02garbage";
  auto a = Open();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rules_state().bundle_version, 0u);
  EXPECT_NE(a->rules_state().bundle_error.find("rollback guard unreadable"), std::string::npos)
      << a->rules_state().bundle_error;
  EXPECT_NE(a->rules_state().bundle_error.find("inventory.db.rules-bundle"), std::string::npos)
      << a->rules_state().bundle_error;
  EXPECT_TRUE(HasRule(*a, "policy-telnet"));
}

TEST_F(RuleSourceTest, ARefusedBundleIsNotReloadedEveryMinute) {
  Install(3, Key(9), 30 * 86400, "foreign");
  auto a = Open();
  ASSERT_TRUE(a);
  bool reloaded = true;
  for (int minute = 0; minute < 3; ++minute) {
    ASSERT_TRUE(a->CheckBundle((now_ + minute * 60) * 1'000'000, &reloaded));
    EXPECT_FALSE(reloaded);
  }
  EXPECT_EQ(a->rules_state().reloads, 0u);
  EXPECT_EQ(a->rules_state().reload_failures, 0u);
}

TEST(RuleSourceSettingsTest, BundleDirAndKeyGoTogether) {
  auto yaml = rules::ParseYamlString("bundle_dir: /var/lib/utkikk/rules\n", "utkikk.yaml");
  ASSERT_TRUE(yaml);
  AlertsSettings s;
  auto read = ReadAlertsSettings(*yaml, &s);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("rules_public_key"), std::string::npos)
      << read.error().message;
}

}  // namespace
}  // namespace sensor
