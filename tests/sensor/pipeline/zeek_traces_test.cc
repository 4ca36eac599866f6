// The Zeek traces of ../shared/testdata/MANIFEST.md (section 1) through the whole sensor path —
// pcap -> decoder -> flows -> nDPI -> extractors -> Inventory (SQLite) — and the inventory
// database checked against Zeek's baselines (known_hosts, known_services, software, ssh.log,
// dhcp.log) and the versions the MANIFEST says tshark verified. One test per MANIFEST entry.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rules/fingerprint.h"
#include "sensor/config.h"
#include "sensor/extract/extractor_set.h"
#include "sensor/inventory/inventory.h"
#include "sensor/inventory/inventory_test_util.h"
#include "sensor/pipeline/pipeline.h"

namespace sensor {
namespace {

namespace fs = std::filesystem;

const std::string kTraces = std::string(SHARED_DIR) + "/testdata/zeek/testing/btest/Traces/";

// The inventory a capture leaves behind, read back with SQL.
class TraceInventory {
 public:
  // Runs `pcap` (relative to the Zeek Traces folder) with `local_nets` (empty: the defaults).
  TraceInventory(const std::string& pcap, std::vector<rules::Cidr> local_nets = {}) {
    Run(pcap, std::move(local_nets));
  }
  ~TraceInventory() { fs::remove_all(dir_); }

 private:
  void Run(const std::string& pcap, std::vector<rules::Cidr> local_nets) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::temp_directory_path() /
            ("zeek_traces." + std::to_string(getpid()) + "." + info->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    SensorConfig config;
    config.local_nets = local_nets.empty() ? DefaultLocalNets() : local_nets;
    config.logs.directory = dir_;
    auto fingerprints = rules::LoadFingerprintDb(UTKIKK_FINGERPRINT_DIR);
    ASSERT_TRUE(fingerprints.has_value()) << fingerprints.error().message;
    InventoryConfig inventory_config;
    inventory_config.log_dir = dir_;
    db_ = dir_ + "/inventory.db";
    auto inventory = Inventory::Open(db_, inventory_config);
    ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
    ExtractorSet extractors(ExtractConfig{}, &*fingerprints, **inventory, config.local_nets);
    auto sink = OpenZeekLogSink(dir_, config.logs.format, "zeek-traces");
    ASSERT_TRUE(sink.has_value()) << sink.error().message;
    auto classifier = MakeNdpiClassifier(ClassifierConfig{});
    ASSERT_TRUE(classifier.has_value()) << classifier.error().message;
    auto source = OpenPcapFile(kTraces + pcap);
    ASSERT_TRUE(source.has_value()) << source.error().message;
    {
      Pipeline pipeline(config, std::move(*classifier), std::move(*sink), &extractors);
      std::atomic<bool> stop{false};
      auto done = RunCapture(**source, pipeline, stop, {});
      ASSERT_TRUE(done.has_value()) << done.error().message;
    }
    ASSERT_TRUE((*inventory)->Close().has_value());
  }

 public:
  // Every row of `sql`, columns joined by '|'.
  std::set<std::string> Rows(const std::string& sql) const {
    auto rows = inventory_test::Rows(db_, sql);
    return std::set<std::string>(rows.begin(), rows.end());
  }

  std::set<std::string> Addresses() const { return Rows("SELECT ip FROM host_addresses"); }
  // "ip|port|transport|protocol" of every service.
  std::set<std::string> Services() const {
    return Rows("SELECT ip, port, transport, protocol FROM services");
  }
  // "ip|port|role|vendor|product|version" of every software row, in lower case (the
  // fingerprint database's names: "Apache|HTTPD", "OpenBSD|OpenSSH", "Exim|exim").
  std::set<std::string> Software() const {
    return Rows("SELECT ip, port, role, lower(vendor), lower(product), version FROM software");
  }
  std::set<std::string> RawBanners() const { return Rows("SELECT raw FROM software"); }
  std::set<std::string> Names() const { return Rows("SELECT lower(name) FROM host_names"); }

 private:
  std::string dir_;
  std::string db_;
};

// Whether some row of `rows` contains `part`.
::testing::AssertionResult Has(const std::set<std::string>& rows, const std::string& part) {
  for (const auto& r : rows) {
    if (r.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  }
  std::string all;
  for (const auto& r : rows) all += "\n  " + r;
  return ::testing::AssertionFailure() << "no row contains '" << part << "' in:" << all;
}

// Z02 known-hosts: wikipedia.pcap with Site::local_nets = 141.142.0.0/16; the ALL variant lists
// the local host and the three remote ones.
TEST(ZeekTracesTest, Z02KnownHostsLocalAndRemote) {
  TraceInventory inv("wikipedia.pcap", {*rules::Cidr::Parse("141.142.0.0/16")});
  auto addresses = inv.Addresses();
  for (const char* host : {"141.142.220.118", "208.80.152.118", "208.80.152.3", "208.80.152.2"}) {
    EXPECT_TRUE(addresses.count(host)) << host;
  }
  // tshark extra: the Firefox on Ubuntu 10.04 User-Agent of the local host.
  EXPECT_TRUE(Has(inv.Software(), "141.142.220.118|0|client||firefox|3.6.15"));
}

// Z04 known-services-multi: sslh on 192.168.2.230:443 serves SSH and TLS; two services.
TEST(ZeekTracesTest, Z04SshAndSslOnOnePort) {
  TraceInventory inv("ssl-and-ssh-using-sslh.pcap");
  auto services = inv.Services();
  EXPECT_TRUE(services.count("192.168.2.230|443|6|ssh"));
  EXPECT_TRUE(services.count("192.168.2.230|443|6|ssl"));
}

// Z06 teredo-known-services: DNS on 192.168.2.1:53/udp; the Teredo tunnel (3544/udp) itself is
// not a service.
TEST(ZeekTracesTest, Z06TeredoIsNoService) {
  TraceInventory inv("tunnels/Teredo.pcap");
  auto services = inv.Services();
  EXPECT_TRUE(services.count("192.168.2.1|53|17|dns"));
  for (const auto& s : services) EXPECT_EQ(s.find("|3544|"), std::string::npos) << s;
}

// Z33 ftp-ipv4: two passive (227) and two active (PORT) transfers. Their data connections are
// not services of the hosts that accepted them (an FTP server's ephemeral ports, and the
// client's for PORT): only the control port is.
TEST(ZeekTracesTest, Z33FtpDataConnectionsAreNoServices) {
  TraceInventory inv("ftp/ipv4.pcap");
  EXPECT_EQ(inv.Services(), std::set<std::string>{"199.233.217.249|21|6|ftp"});
}

// Z07 ssh basic: server and client versions, on port 22 and on the non-standard 2200 and 41644.
TEST(ZeekTracesTest, Z07SshVersionsIncludingOddPorts) {
  TraceInventory inv("ssh/ssh.pcap");
  auto raw = inv.RawBanners();
  for (const char* banner :
       {"SSH-1.99-OpenSSH_6.6.1p1 Ubuntu-2ubuntu2", "SSH-2.0-paramiko_1.15.2",
        "SSH-2.0-OpenSSH_5.9p1 Debian-5ubuntu1.1",
        "SSH-1.99-OpenSSH_3.4+p1+gssapi+OpenSSH_3.7.1buf_fix+2006100301", "SSH-2.0-OpenSSH_5.3",
        "SSH-2.0-OpenSSH_5.8", "SSH-2.0-OpenSSH_6.7", "SSH-2.0-OpenSSH_5.9",
        "SSH-2.0-OpenSSH_6.2", "SSH-2.0-OpenSSH_6.6"}) {
    EXPECT_TRUE(Has(raw, banner)) << banner;
  }
  auto software = inv.Software();
  EXPECT_TRUE(Has(software, "192.168.2.158|22|server|openbsd|openssh|6.6.1p1"));
  EXPECT_TRUE(Has(software, "192.168.2.158|2200|server|"));
  EXPECT_TRUE(Has(software, "paramiko|1.15.2"));
  EXPECT_TRUE(Has(software, "128.2.6.88|41644|server|openbsd|openssh|5.9p1"));
}

// Z08 curve25519 kex: client OpenSSH 7.4, server OpenSSH 7.5 on 192.168.1.32:22.
TEST(ZeekTracesTest, Z08SshClientAndServer) {
  TraceInventory inv("ssh/ssh_kex_curve25519.pcap");
  auto software = inv.Software();
  EXPECT_TRUE(Has(software, "192.168.1.32|22|server|openbsd|openssh|7.5"));
  EXPECT_TRUE(Has(software, "192.168.1.100|0|client|openbsd|openssh|7.4"));
}

// Z11 ssh_version_199: a Cisco device, SSH-2.0-Cisco-1.25 on 10.0.0.2:22.
TEST(ZeekTracesTest, Z11CiscoSsh) {
  TraceInventory inv("ssh/ssh_version_199.pcap");
  EXPECT_TRUE(Has(inv.RawBanners(), "SSH-2.0-Cisco-1.25"));
  EXPECT_TRUE(Has(inv.RawBanners(), "SSH-1.99-Cisco-1.25"));
}

// Z14 / Z15 DHCP: the client's host names.
TEST(ZeekTracesTest, Z14Z15DhcpHostNames) {
  {
    TraceInventory inv("dhcp/dhcp.pcap");
    EXPECT_TRUE(Has(inv.Names(), "btest.is.cool"));
  }
  {
    TraceInventory inv("dhcp/dhcp_discover_param_req_and_client_id.pcap");
    EXPECT_TRUE(Has(inv.Names(), "test0000"));
  }
}

// Z18 smtp: the server greetings tshark shows (Zeek does not parse them).
TEST(ZeekTracesTest, Z18SmtpServerBanners) {
  TraceInventory inv("smtp.pcap");
  auto raw = inv.RawBanners();
  EXPECT_TRUE(Has(raw, "Exim 4.69"));
  EXPECT_TRUE(Has(raw, "SubEthaSMTP"));
  EXPECT_TRUE(Has(inv.Software(), "74.53.140.153|25|server|exim|exim|4.69"));
}

// Z18 smtp: the mail user agents of smtp.log (X-Mailer / User-Agent of the message header), as
// client software of the sending hosts — and no mail address anywhere in the inventory.
TEST(ZeekTracesTest, Z18MailUserAgents) {
  TraceInventory inv("smtp.pcap");
  auto raw = inv.Rows("SELECT h.ip, s.role, s.raw FROM software s JOIN "
                      "host_addresses h ON h.host_id = s.host_id WHERE s.kind = "
                      "'smtp_mail_clients'");
  EXPECT_TRUE(raw.count("10.10.1.4|client|Microsoft Office Outlook 12.0")) << ::testing::PrintToString(raw);
  EXPECT_TRUE(raw.count("192.168.133.100|client|Apple Mail (2.2102)")) << ::testing::PrintToString(raw);
  auto outlook = inv.Rows("SELECT product, version FROM software WHERE kind = 'smtp_mail_clients' "
                          "AND raw LIKE '%Outlook%'");
  EXPECT_TRUE(outlook.count("Microsoft Office Outlook|12.0")) << ::testing::PrintToString(outlook);
  EXPECT_TRUE(inv.Rows("SELECT raw FROM software WHERE raw LIKE '%@%'").empty());
  EXPECT_TRUE(inv.Rows("SELECT name FROM host_names WHERE name LIKE '%@%'").empty());
}

// Z19 mysql: the server greeting's version 5.0.54 on 192.168.0.254:3306.
TEST(ZeekTracesTest, Z19MysqlServerVersion) {
  TraceInventory inv("mysql/mysql.pcap");
  EXPECT_TRUE(Has(inv.Software(), "192.168.0.254|3306|server|oracle|mysql|5.0.54"));
}

// Z29 ssl basic: the certificate and SNI names of 74.125.224.79.
TEST(ZeekTracesTest, Z29TlsNames) {
  TraceInventory inv("tls/tls-conn-with-extensions.pcap");
  auto names = inv.Names();
  EXPECT_TRUE(Has(names, "ssl.gstatic.com"));
  EXPECT_TRUE(Has(names, "*.gstatic.com"));
}

// Z30 all-headers: Apache/2.4.3 (Fedora) server and the Wget/1.14 client.
TEST(ZeekTracesTest, Z30HttpServerAndClient) {
  TraceInventory inv("http/get.pcap");
  auto software = inv.Software();
  EXPECT_TRUE(Has(software, "|80|server|apache|httpd|2.4.3"));
  EXPECT_TRUE(Has(software, "|0|client||wget|1.14"));
}

// Z01 flash-version: the AdobeAIR 2.6 browser and the Apache server (no version).
TEST(ZeekTracesTest, Z01BrowserAndServer) {
  TraceInventory inv("http/flash-version.pcap");
  EXPECT_TRUE(Has(inv.RawBanners(), "AdobeAIR/2.6"));
  EXPECT_TRUE(Has(inv.Software(), "208.85.41.42|80|server|apache|httpd|"));
}

// Z37 mDNS: the announced host name.
TEST(ZeekTracesTest, Z37MdnsHostName) {
  TraceInventory inv("dns/mdns.pcap");
  EXPECT_TRUE(Has(inv.Names(), "johanna-qemu-virtual-machine.local"));
}

}  // namespace
}  // namespace sensor
