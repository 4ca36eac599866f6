// `utkikk alerts` (tools/utkikk/cmd_alerts.cc) over a database written by the alert store,
// compared with golden files in tests/data/alerts/.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "sensor/alerts/alert_store.h"

namespace utkikk_cli {
int RunAlerts(const Args& args);
}  // namespace utkikk_cli

namespace sensor {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kSecond = 1'000'000;

rules::IpAddress Ip(const char* text) { return *rules::IpAddress::Parse(text); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AlertsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("alerts_cli_test." + std::to_string(getpid())))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = OpenAlertStore(db(), "", ZeekLogFormat::kJson, "kommune-0301-sensor");
    ASSERT_TRUE(store.has_value()) << store.error().message;

    rules::engine::Alert apache;
    apache.rule_id = "apache-httpd-cve-2021-41773";
    apache.title = "Apache HTTP Server 2.4.49: path traversal and file disclosure (CVE-2021-41773)";
    apache.severity = rules::engine::Severity::kCritical;
    apache.ts_first_us = apache.ts_last_us = kT0;
    apache.key = "10.30.0.20:80/apache:http_server";
    apache.src = Ip("10.30.0.20");
    apache.port = 80;
    apache.uid = "CDemo1";
    apache.evidence = "Apache HTTP Server 2.4.49 (banner: Apache/2.4.49 (Debian))";
    apache.cves = {"CVE-2021-41773"};
    apache.known_exploited = true;
    apache.references = {"https://nvd.nist.gov/vuln/detail/CVE-2021-41773"};
    apache.advice_nb = "Oppgrader.";
    apache.advice_en = "Upgrade.";
    apache.suppress_us = 24LL * 3600 * kSecond;
    (*store)->OnAlert(apache, {0, 6});
    rules::engine::Alert repeat = apache;
    repeat.ts_first_us = repeat.ts_last_us = kT0 + 90 * kSecond;
    (*store)->OnRepeat(repeat);

    rules::engine::Alert telnet;
    telnet.rule_id = "policy-telnet";
    telnet.title = "Telnet in use";
    telnet.kind = rules::engine::RuleKind::kPolicy;
    telnet.ts_first_us = telnet.ts_last_us = kT0 + 30 * kSecond;
    telnet.key = "10.1.2.3:23/telnet";
    telnet.src = Ip("10.1.9.9");
    telnet.dst = Ip("10.1.2.3");
    telnet.port = 23;
    telnet.evidence = "10.1.9.9:41000 -> 10.1.2.3:23 telnet\x1b[31m";  // hostile bytes escaped
    telnet.suppress_us = 7LL * 24 * 3600 * kSecond;
    (*store)->OnAlert(telnet, {41000, 6});
    ASSERT_TRUE((*store)->Close(kT0 + 100 * kSecond).has_value());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string db() const { return dir_ + "/inventory.db"; }

  // Runs the command; returns its stdout.
  std::string Run(const utkikk_cli::Args& args, int* status) {
    ::testing::internal::CaptureStdout();
    *status = utkikk_cli::RunAlerts(args);
    return ::testing::internal::GetCapturedStdout();
  }

  void ExpectGolden(const std::string& name, const std::string& actual) {
    std::string path = std::string(TEST_DATA_DIR) + "/alerts/" + name;
    if (std::getenv("UTKIKK_UPDATE_GOLDEN") != nullptr) {
      std::ofstream(path) << actual;
    }
    EXPECT_EQ(actual, ReadFile(path)) << "golden file " << path;
  }

  std::string dir_;
};

TEST_F(AlertsCliTest, TableMatchesGolden) {
  int status = -1;
  std::string out = Run({"--db", db()}, &status);
  EXPECT_EQ(status, 0);
  ExpectGolden("alerts_table.golden", out);
}

TEST_F(AlertsCliTest, JsonLinesMatchGolden) {
  int status = -1;
  std::string out = Run({"--db", db(), "--format", "json"}, &status);
  EXPECT_EQ(status, 0);
  ExpectGolden("alerts_json.golden", out);
  std::istringstream lines(out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);  // every line is one valid object
    EXPECT_TRUE(j.contains("rule"));
    ++n;
  }
  EXPECT_EQ(n, 2);
}

TEST_F(AlertsCliTest, SinceFiltersByLastSeen) {
  int status = -1;
  // RFC 3339: the Apache alert was last seen at +90 s, telnet at +30 s.
  std::string out =
      Run({"--db", db(), "--since", "2023-11-14T22:14:00Z", "--format", "json"}, &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("apache-httpd-cve-2021-41773"), std::string::npos);
  EXPECT_EQ(out.find("policy-telnet"), std::string::npos);
  // Relative: nothing in the last 24 hours (the alerts are from 2023).
  out = Run({"--db", db(), "--since", "24h"}, &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, "no alerts\n");
}

TEST_F(AlertsCliTest, BadArgumentsAndMissingDatabase) {
  int status = -1;
  Run({"--format", "xml"}, &status);
  EXPECT_EQ(status, 2);
  Run({"--since", "yesterday-ish"}, &status);
  EXPECT_EQ(status, 2);
  Run({"--db", dir_ + "/missing.db"}, &status);
  EXPECT_EQ(status, 1);
}

}  // namespace
}  // namespace sensor
