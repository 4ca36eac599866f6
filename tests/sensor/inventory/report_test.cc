#include "sensor/inventory/report.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "commands.h"
#include "sensor/inventory/inventory.h"
#include "sensor/inventory/inventory_test_util.h"

namespace utkikk_cli {
int RunInventory(const Args& args);  // tools/utkikk/cmd_inventory.cc
int RunFlows(const Args& args);      // tools/utkikk/cmd_flows.cc
}  // namespace utkikk_cli

namespace sensor {
namespace {

using namespace inventory_test;  // NOLINT: test helpers

// A small municipal network: a file server (MAC, DHCP re-lease history, SSH upgraded), a web
// server reached from outside, a laptop with a randomised MAC, and a host beyond the router.
void BuildSample(const fs::path& db) {
  InventoryConfig c;
  c.oui_dir = std::string(TEST_DATA_DIR) + "/inventory/ieee";
  auto inv = Inventory::Open(db.string(), c);
  ASSERT_TRUE(inv) << inv.error().message;
  Inventory& i = **inv;
  auto files = Host("10.1.0.10", MacOf(0xdc, 0xa6, 0x32, 0, 0, 0x10));
  auto web = Host("10.1.0.20", MacOf(0x98, 0xe7, 0x43, 0, 0, 0x20));
  auto laptop = Host("10.1.0.77", MacOf(0x3a, 0x11, 0x22, 0x33, 0x44, 0x55));
  i.OnAddress({*files.mac, Ip("10.1.0.10"), At(kT0, "dhcp")});
  i.OnName(Name(files, "files01", "hostname", At(kT0, "dhcp")));
  i.OnName(Name(Host("10.1.0.10"), "files01.kommune.example", "fqdn", At(kT0 + kSecond, "dns")));
  i.OnOs(Os(files, "Debian", "Debian GNU/Linux", "12", "Linux", 70,
            At(kT0, "ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")));
  i.OnOs(Os(files, "", "Linux", "", "Linux", 40, At(kT0, "tcp-syn")));
  i.OnService(Service(files, 22, 6, "ssh", false, At(kT0 + 2 * kSecond, "ssh")));
  i.OnSoftware(Software(files, 22, "server", "ssh_banners", "OpenBSD", "OpenSSH", "9.2p1",
                        "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*",
                        At(kT0 + 2 * kSecond, "ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")));
  i.OnSoftware(Software(files, 22, "server", "ssh_banners", "OpenBSD", "OpenSSH", "9.6p1",
                        "cpe:2.3:a:openbsd:openssh:9.6p1:*:*:*:*:*:*:*",
                        At(kT0 + 86400 * kSecond, "ssh", "SSH-2.0-OpenSSH_9.6p1 Debian-5")));
  i.OnService(Service(files, 445, 6, "smb", false, At(kT0 + 3 * kSecond, "smb")));
  i.OnService(Service(web, 443, 6, "ssl", true, At(kT0 + 5 * kSecond, "tls")));
  i.OnService(Service(web, 80, 6, "http", false, At(kT0 + 6 * kSecond, "http")));
  i.OnSoftware(Software(web, 80, "server", "http_servers", "F5", "nginx", "1.22.1",
                        "cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*",
                        At(kT0 + 6 * kSecond, "http", "nginx/1.22.1")));
  i.OnName(Name(web, "www.kommune.example", "cert", At(kT0 + 5 * kSecond, "tls")));
  i.OnOs(Os(web, "Microsoft", "Windows Server 2022", "10.0.20348", "Windows", 90,
            At(kT0 + 5 * kSecond, "ntlm")));
  i.OnAddress({*laptop.mac, Ip("10.1.0.77"), At(kT0 + 7 * kSecond, "dhcp")});
  i.OnName(Name(laptop, "Anna's \"laptop\", 2nd", "hostname", At(kT0 + 7 * kSecond, "dhcp")));
  i.OnSoftware(Software(laptop, 0, "client", "http_user_agents", "Mozilla", "Firefox", "115.0",
                        "", At(kT0 + 8 * kSecond, "http",
                               "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko Firefox/115.0")));
  i.OnService(Service(Host("192.0.2.44"), 25, 6, "smtp", false, At(kT0 + 9 * kSecond, "smtp")));
  i.OnSoftware(Software(Host("192.0.2.44"), 25, "server", "smtp_banners", "", "", "", "",
                        At(kT0 + 9 * kSecond, "smtp", "mail.example.net ESMTP ready")));
  ASSERT_TRUE(i.Close());
}

// Runs `utkikk inventory ARGS`, returns its stdout; *code gets the exit code.
std::string RunCli(const utkikk_cli::Args& args, int* code) {
  testing::internal::CaptureStdout();
  *code = utkikk_cli::RunInventory(args);
  std::fflush(stdout);
  return testing::internal::GetCapturedStdout();
}

class InventoryCliTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = ScratchDir();
    db_ = (dir_ / "inventory.db").string();
    BuildSample(db_);
  }
  std::string Run(utkikk_cli::Args args, int expected_code = 0) {
    args.insert(args.begin(), {"--db", db_});
    int code = -1;
    std::string out = RunCli(args, &code);
    EXPECT_EQ(code, expected_code);
    return out;
  }
  fs::path dir_;
  std::string db_;
};

TEST_F(InventoryCliTest, TableGolden) {
  EXPECT_TRUE(MatchesGolden(Run({}), "inventory.txt"));
}
TEST_F(InventoryCliTest, JsonGolden) {
  EXPECT_TRUE(MatchesGolden(Run({"--format", "json"}), "inventory.jsonl"));
}
TEST_F(InventoryCliTest, CsvGolden) {
  EXPECT_TRUE(MatchesGolden(Run({"--format", "csv"}), "inventory.csv"));
}
TEST_F(InventoryCliTest, ExposedGolden) {
  EXPECT_TRUE(MatchesGolden(Run({"--exposed"}), "exposed.txt"));
}
TEST_F(InventoryCliTest, ChangesGolden) {
  EXPECT_TRUE(MatchesGolden(Run({"--changes"}), "changes.txt"));
  EXPECT_TRUE(MatchesGolden(Run({"--changes", "--format", "json"}), "changes.jsonl"));
}

TEST_F(InventoryCliTest, HostFilter) {
  std::string out = Run({"--host", "10.1.0.20", "--format", "json"});
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_NE(out.find("\"host\":\"10.1.0.20\""), std::string::npos);
  EXPECT_EQ(Run({"--host", "10.9.9.9", "--format", "json"}), "");
}

TEST_F(InventoryCliTest, JsonLinesAreJsonWithEverything) {
  std::string out = Run({"--format", "json", "--host", "10.1.0.10"});
  EXPECT_NE(out.find("\"vendor\":\"Raspberry Pi Trading Ltd\""), std::string::npos);
  EXPECT_NE(out.find("\"version\":\"9.6p1\""), std::string::npos);
  EXPECT_NE(out.find("\"version\":\"9.2p1\""), std::string::npos);
  EXPECT_NE(out.find("\"source\":\"dns\""), std::string::npos);
}

TEST(InventoryReportTest, SoftwareLabels) {
  const InventorySoftware named{.vendor = "OpenBSD", .product = "OpenSSH", .version = "9.2p1",
                                .raw = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u5"};
  EXPECT_EQ(named.Label(), "OpenBSD OpenSSH 9.2p1");
  const InventorySoftware unnamed{.raw = "mail.example.net ESMTP ready"};
  EXPECT_EQ(unnamed.Label(), "mail.example.net ESMTP ready");
  // A JA3/JA4 row is only useful with its value.
  const InventorySoftware ja4{.role = "client", .kind = "tls_client", .product = "JA4",
                              .raw = "t13d1516h2_8daaf6152771_e5627efa2ab1"};
  EXPECT_EQ(ja4.Label(), "JA4 t13d1516h2_8daaf6152771_e5627efa2ab1");
}

// `utkikk flows` lists the services of conn.log, not FTP transfers (ftp-data), as the inventory.
TEST(FlowsCliTest, FtpTransfersAreNoServices) {
  const fs::path dir = ScratchDir();
  std::ofstream(dir / "conn.log")
      << R"({"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.2","id.orig_p":50000,"id.resp_h":"10.0.0.1",)"
      << R"("id.resp_p":21,"proto":"tcp","service":"ftp","conn_state":"SF","app":"FTP_CONTROL"})"
      << "\n"
      << R"({"ts":2.0,"uid":"C2","id.orig_h":"10.0.0.2","id.orig_p":50001,"id.resp_h":"10.0.0.1",)"
      << R"("id.resp_p":56666,"proto":"tcp","service":"ftp-data","conn_state":"SF"})" << "\n";
  testing::internal::CaptureStdout();
  const int code = utkikk_cli::RunFlows({"--log-dir", dir.string()});
  std::fflush(stdout);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("21/tcp"), std::string::npos) << out;
  EXPECT_EQ(out.find("56666"), std::string::npos) << out;
  EXPECT_NE(out.find("1 services that answered"), std::string::npos) << out;
}

TEST(InventoryCliArgsTest, BadArgumentsExitTwo) {
  int code = 0;
  testing::internal::CaptureStderr();
  EXPECT_EQ(RunCli({"--bogus"}, &code), "");
  EXPECT_EQ(code, 2);
  RunCli({"--format", "xml"}, &code);
  EXPECT_EQ(code, 2);
  RunCli({"--host", "not-an-ip"}, &code);
  EXPECT_EQ(code, 2);
  RunCli({"--db"}, &code);
  EXPECT_EQ(code, 2);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("utkikk inventory: bad argument '--bogus'"), std::string::npos) << err;
}

TEST(InventoryCliArgsTest, MissingDatabaseExitsOneWithOneLine) {
  fs::path dir = ScratchDir();
  int code = 0;
  testing::internal::CaptureStderr();
  RunCli({"--db", (dir / "none.db").string()}, &code);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 1);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("no inventory database"), std::string::npos) << err;
  {
    std::ofstream(dir / "junk.db") << std::string(4096, 'x');
  }
  testing::internal::CaptureStderr();
  RunCli({"--db", (dir / "junk.db").string()}, &code);
  err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("not a database"), std::string::npos) << err;
}

}  // namespace
}  // namespace sensor
