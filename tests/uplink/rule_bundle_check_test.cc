// The collector's check before it signs a rule bundle (uplink/rule_bundle_check.h) and the
// `utkikk-collector rules key / rules publish` commands end to end: the published bundle opens
// with the public key; a version not above the published one, a rule file that does not load and
// a *_file reference outside the bundle are refused with the file, line and column.
#include "uplink/rule_bundle_check.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "uplink/keys.h"
#include "uplink/rule_bundle.h"

namespace uplink {
namespace {

namespace fs = std::filesystem;

const char kIndicatorRule[] =
    "- id: csirt-c2\n"
    "  title: Known C2 address\n"
    "  severity: high\n"
    "  indicator:\n"
    "    ips_file: c2.txt\n";

std::string TestDir() {
  std::string d = fs::temp_directory_path().string() + "/rule_bundle_check_test." +
                  std::to_string(::getpid()) + "." +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

RuleBundle WithRule(const std::string& rule_text) {
  RuleBundle b;
  b.version = 1;
  b.created_s = 1'795'000'000;
  b.expires_s = b.created_s + 86400;
  b.files.push_back({"csirt.yaml", rule_text});
  b.files.push_back({"c2.txt", "# feed\n203.0.113.9\n198.51.100.0/24\n"});
  return b;
}

::testing::AssertionResult RefusedMentioning(const RuleBundle& b, const std::string& dir,
                                             const std::vector<std::string>& needles) {
  auto checked = CheckBundleRules(b, {"/srv/csirt/csirt.yaml"}, dir);
  if (checked) return ::testing::AssertionFailure() << "accepted";
  for (const std::string& n : needles) {
    if (checked.error().message.find(n) == std::string::npos) {
      return ::testing::AssertionFailure() << "'" << n << "' not in: " << checked.error().message;
    }
  }
  if (checked.error().message.find(dir) != std::string::npos) {
    return ::testing::AssertionFailure() << "names the temporary copy: " << checked.error().message;
  }
  return ::testing::AssertionSuccess();
}

TEST(RuleBundleCheckTest, LoadsTheRulesAsTheSensorsWill) {
  const std::string dir = TestDir();
  auto checked = CheckBundleRules(WithRule(kIndicatorRule), {}, dir);
  ASSERT_TRUE(checked) << checked.error().message;
  ASSERT_EQ(checked->rules().size(), 1u);
  EXPECT_EQ(checked->rules()[0].id, "csirt-c2");
  EXPECT_TRUE(fs::is_empty(dir)) << "the temporary copy stays behind";
  fs::remove_all(dir);
}

TEST(RuleBundleCheckTest, FileReferencesOutsideTheBundleAreRefused) {
  const std::string dir = TestDir();
  std::string rule = kIndicatorRule;
  // An absolute path would make the sensors read data the signature does not cover; a relative
  // path into another directory breaks on the sensors, which load the bundle from one directory.
  for (const std::string ref : {"/etc/utkikk/c2.txt", "../lists/c2.txt", "feeds/c2.txt",
                                "missing.txt"}) {
    std::string r = rule;
    r.replace(r.find("c2.txt"), 6, ref);
    EXPECT_TRUE(RefusedMentioning(WithRule(r), dir,
                                  {"/srv/csirt/csirt.yaml:5:", ref, "not a file of the bundle"}))
        << ref;
  }
  // Lists of files too.
  std::string listed = rule;
  listed.replace(listed.find("c2.txt"), 6, "[c2.txt, /tmp/x.txt]");
  EXPECT_TRUE(RefusedMentioning(WithRule(listed), dir, {"/tmp/x.txt"}));
  EXPECT_TRUE(fs::is_empty(dir));
  fs::remove_all(dir);
}

TEST(RuleBundleCheckTest, LoaderErrorsNameTheSourceFile) {
  const std::string dir = TestDir();
  EXPECT_TRUE(RefusedMentioning(WithRule("- id: x\n  title: t\n  severity: dreadful\n"), dir,
                                {"/srv/csirt/csirt.yaml:3:"}));
  RuleBundle lists_only = WithRule(kIndicatorRule);
  lists_only.files.erase(lists_only.files.begin());
  EXPECT_FALSE(CheckBundleRules(lists_only, {}, dir));  // no rule file at all
  RuleBundle twice = WithRule(kIndicatorRule);
  twice.files[1].name = "csirt.yaml";
  auto dup = CheckBundleRules(twice, {}, dir);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("two files named 'csirt.yaml'"), std::string::npos);
  fs::remove_all(dir);
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

TEST(RulesPublishCommandTest, KeyPublishAndRefusals) {
  const std::string dir = TestDir();
  fs::create_directories(dir + "/src");
  std::ofstream(dir + "/collector.yaml") << "store_url: sqlite://" << dir << "/c.db\n"
                                         << "rules_bundle_dir: " << dir << "/bundles\n";
  std::ofstream(dir + "/src/csirt.yaml") << kIndicatorRule;
  std::ofstream(dir + "/src/c2.txt") << "203.0.113.9\n";
  const std::string bin = std::string(COLLECTOR_BIN) + " ";
  const std::string cfg = " --config " + dir + "/collector.yaml";
  int status = -1;

  std::string out = RunCommand(bin + "rules key --out " + dir + "/rules.pem", &status);
  ASSERT_EQ(status, 0) << out;
  auto pub = VerifyKey::LoadPemFile(dir + "/rules.pub.pem");
  ASSERT_TRUE(pub) << pub.error().message;
  EXPECT_NE(out.find(pub->Fingerprint()), std::string::npos) << out;

  const std::string publish = bin + "rules publish" + cfg + " --key " + dir + "/rules.pem";
  const std::string files = " " + dir + "/src/csirt.yaml " + dir + "/src/c2.txt";
  out = RunCommand(publish + " --version 3 --expires-days 10" + files, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("published rule bundle version 3 (2 files, 1 rules"), std::string::npos)
      << out;
  // What the collector offers opens with the public key, in force for 10 days.
  auto version = InstalledBundleVersion(dir + "/bundles");
  ASSERT_TRUE(version);
  EXPECT_EQ(*version, 3u);
  std::ifstream in(dir + "/bundles/v3/bundle.utb", std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto opened = OpenRuleBundle(bytes, *pub, now, 0, nullptr);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->version, 3u);
  EXPECT_GT(opened->expires_s, now + 9 * 86400);
  EXPECT_LE(opened->expires_s, now + 10 * 86400 + 60);
  ASSERT_EQ(opened->files.size(), 2u);
  EXPECT_EQ(opened->files[1].name, "c2.txt");

  // The same version again, and an older one: refused, version 3 stays.
  out = RunCommand(publish + " --version 3" + files, &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("already installed"), std::string::npos) << out;
  out = RunCommand(publish + " --version 2" + files, &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("rollback"), std::string::npos) << out;
  // A list outside the bundle's own files.
  std::ofstream(dir + "/src/csirt.yaml") << std::string(kIndicatorRule) + "    domains_file: "
                                         << dir << "/src/c2.txt\n";
  out = RunCommand(publish + " --version 4" + files, &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find(dir + "/src/csirt.yaml:6:"), std::string::npos) << out;
  EXPECT_EQ(*InstalledBundleVersion(dir + "/bundles"), 3u);
  // Usage errors.
  out = RunCommand(bin + "rules publish" + cfg + " --version 5" + files, &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("--key"), std::string::npos) << out;
  out = RunCommand(publish + " --version 5 --expires-days 0" + files, &status);
  EXPECT_NE(status, 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace uplink
