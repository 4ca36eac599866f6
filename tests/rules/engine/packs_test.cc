// Every shipped rule pack loads, and every rule in it passes its own embedded tests: a fact set
// that must alert and one that must not.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rules/engine/rule_set.h"

namespace rules::engine {
namespace {

std::vector<std::string> PackFiles() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(UTKIKK_RULE_PACK_DIR)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(PacksTest, AllPacksLoadTogether) {
  auto set = LoadRuleFiles(PackFiles());
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_GE(set->rules().size(), 60u);
}

TEST(PacksTest, EveryRuleHasAnAlertingAndAQuietTest) {
  auto set = LoadRuleFiles(PackFiles());
  ASSERT_TRUE(set) << set.error().message;
  for (const Rule& rule : set->rules()) {
    bool alert = false;
    bool none = false;
    for (const RuleTest& t : rule.tests) {
      alert = alert || t.expect_alert;
      none = none || !t.expect_alert;
    }
    EXPECT_TRUE(alert && none) << rule.where << ": " << rule.id;
  }
}

TEST(PacksTest, EveryShippedRuleTestPasses) {
  for (const std::string& file : PackFiles()) {
    auto set = LoadRuleFiles({file});
    ASSERT_TRUE(set) << set.error().message;
    std::vector<std::string> failures = RunRuleTests(&*set);
    for (const std::string& f : failures) ADD_FAILURE() << f;
  }
}

TEST(PacksTest, EveryRuleCitesItsSourcesAndAdvises) {
  auto set = LoadRuleFiles(PackFiles());
  ASSERT_TRUE(set) << set.error().message;
  for (const Rule& rule : set->rules()) {
    EXPECT_FALSE(rule.references.empty()) << rule.id;
    EXPECT_FALSE(rule.advice_nb.empty()) << rule.id;
    EXPECT_FALSE(rule.advice_en.empty()) << rule.id;
    EXPECT_FALSE(rule.pack.empty()) << rule.id;
    for (const std::string& cve : rule.software.cves) {
      std::string nvd = "https://nvd.nist.gov/vuln/detail/" + cve;
      EXPECT_NE(std::find(rule.references.begin(), rule.references.end(), nvd),
                rule.references.end())
          << rule.id << " does not cite " << nvd;
    }
    if (rule.software.known_exploited) {
      EXPECT_NE(std::find(rule.references.begin(), rule.references.end(),
                          "https://www.cisa.gov/known-exploited-vulnerabilities-catalog"),
                rule.references.end())
          << rule.id;
    }
  }
}

TEST(PacksTest, ShippedRangesMatchTheAdvisories) {
  // Spot checks of the facts the brief names, independent of the packs' own tests.
  auto set = LoadRuleFiles(PackFiles());
  ASSERT_TRUE(set) << set.error().message;
  auto fires = [&](const std::string& cpe, const std::string& version, const std::string& id) {
    SoftwareFact f;
    f.cpe23 = "cpe:2.3:a:" + cpe + ":" + version;
    f.version = version;
    for (const Alert& a : set->Evaluate(f)) {
      if (a.rule_id == id) return true;
    }
    return false;
  };
  const std::string ssh = "openssh-regresshion-cve-2024-6387";
  EXPECT_TRUE(fires("openbsd:openssh", "8.5p1", ssh));
  EXPECT_TRUE(fires("openbsd:openssh", "9.7p1", ssh));
  EXPECT_TRUE(fires("openbsd:openssh", "4.3p2", ssh));
  EXPECT_FALSE(fires("openbsd:openssh", "4.4p1", ssh));
  EXPECT_FALSE(fires("openbsd:openssh", "8.4p1", ssh));
  EXPECT_FALSE(fires("openbsd:openssh", "9.8p1", ssh));
  const std::string epmm = "ivanti-epmm-cve-2023-35078";
  EXPECT_TRUE(fires("ivanti:endpoint_manager_mobile", "11.10.0.1", epmm));
  EXPECT_FALSE(fires("ivanti:endpoint_manager_mobile", "11.10.0.2", epmm));
  EXPECT_TRUE(fires("ivanti:endpoint_manager_mobile", "11.9.1.0", epmm));
  EXPECT_FALSE(fires("ivanti:endpoint_manager_mobile", "11.9.1.1", epmm));
  EXPECT_TRUE(fires("ivanti:endpoint_manager_mobile", "11.8.1.0", epmm));
  EXPECT_FALSE(fires("ivanti:endpoint_manager_mobile", "11.8.1.1", epmm));
  EXPECT_TRUE(fires("apache:http_server", "2.4.49", "apache-httpd-cve-2021-41773"));
  EXPECT_FALSE(fires("apache:http_server", "2.4.50", "apache-httpd-cve-2021-41773"));
  EXPECT_TRUE(fires("apache:http_server", "2.4.50", "apache-httpd-cve-2021-42013"));
  EXPECT_TRUE(fires("vsftpd_project:vsftpd", "2.3.4", "vsftpd-234-backdoor-cve-2011-2523"));
  EXPECT_FALSE(fires("vsftpd_project:vsftpd", "2.3.5", "vsftpd-234-backdoor-cve-2011-2523"));
  EXPECT_TRUE(fires("fortinet:fortios", "7.2.2", "fortios-sslvpn-cve-2022-42475"));
  EXPECT_FALSE(fires("fortinet:fortios", "7.2.3", "fortios-sslvpn-cve-2022-42475"));
}

}  // namespace
}  // namespace rules::engine
