#include "sensor/inventory/inventory.h"

#include <chrono>
#include <cstdio>
#include <optional>

#include <gtest/gtest.h>

#include "inventory/oui.h"
#include "inventory/text.h"
#include "sensor/inventory/report.h"
#include "sensor/inventory/inventory_test_util.h"

namespace sensor {
namespace {

using namespace inventory_test;  // NOLINT: test helpers

const rules::Mac kMacA = MacOf(0xdc, 0xa6, 0x32, 0x00, 0x00, 0x0a);  // Raspberry Pi (fixture)
const rules::Mac kMacB = MacOf(0x98, 0xe7, 0x43, 0x00, 0x00, 0x0b);  // Dell (fixture)

InventoryConfig TestConfig(const fs::path& dir, bool logs = false,
                           ZeekLogFormat format = ZeekLogFormat::kJson) {
  InventoryConfig c;
  c.oui_dir = std::string(TEST_DATA_DIR) + "/inventory/ieee";
  if (logs) c.log_dir = (dir / "logs").string();
  c.log_format = format;
  return c;
}

std::unique_ptr<Inventory> OpenOrDie(const fs::path& db, const InventoryConfig& config) {
  auto inv = Inventory::Open(db.string(), config);
  EXPECT_TRUE(inv.has_value()) << (inv ? "" : inv.error().message);
  return inv ? std::move(*inv) : nullptr;
}

TEST(InventoryTest, CreatesVersionedSchema) {
  fs::path dir = ScratchDir();
  auto inv = OpenOrDie(dir / "inv.db", TestConfig(dir));
  ASSERT_NE(inv, nullptr);
  ASSERT_TRUE(inv->Close());
  EXPECT_EQ(Rows(dir / "inv.db", "PRAGMA user_version"),
            std::vector<std::string>{std::to_string(kInventorySchemaVersion)});
  EXPECT_EQ(Rows(dir / "inv.db", "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  EXPECT_EQ(Rows(dir / "inv.db", "SELECT count(*) FROM hosts"), std::vector<std::string>{"0"});
}

// MAC A holds 10.0.0.5, then the lease goes to MAC B: A's OS must stay with A.
TEST(InventoryTest, DhcpReleaseDoesNotMoveOs) {
  fs::path dir = ScratchDir();
  auto inv = OpenOrDie(dir / "inv.db", TestConfig(dir));
  ASSERT_NE(inv, nullptr);
  inv->OnAddress({kMacA, Ip("10.0.0.5"), At(kT0, "dhcp")});
  inv->OnOs(Os(Host("10.0.0.5", kMacA), "Microsoft", "Windows 10", "10.0.19045", "Windows", 80,
               At(kT0 + kSecond, "ntlm")));
  // A fact without a MAC while A holds the address goes to A.
  inv->OnName(Name(Host("10.0.0.5"), "pc-a.example.org", "fqdn", At(kT0 + 2 * kSecond, "dns")));
  inv->OnAddress({kMacB, Ip("10.0.0.5"), At(kT0 + 3600 * kSecond, "dhcp")});
  inv->OnOs(Os(Host("10.0.0.5"), "Debian", "Debian GNU/Linux", "12", "Linux", 60,
               At(kT0 + 3601 * kSecond, "ssh")));
  inv->OnOs(Os(Host("10.0.0.5", kMacB), "", "Linux", "", "Linux", 30,
               At(kT0 + 3602 * kSecond, "tcp-syn")));
  ASSERT_TRUE(inv->Close());

  EXPECT_EQ(Rows(dir / "inv.db",
                 "SELECT h.key, o.source, o.product FROM host_os o JOIN hosts h ON h.id = "
                 "o.host_id ORDER BY o.id"),
            (std::vector<std::string>{"dc:a6:32:00:00:0a|ntlm|Windows 10",
                                      "98:e7:43:00:00:0b|ssh|Debian GNU/Linux",
                                      "98:e7:43:00:00:0b|tcp-syn|Linux"}));
  EXPECT_EQ(Rows(dir / "inv.db",
                 "SELECT h.key, a.ip, a.first_seen, a.last_seen FROM host_addresses a JOIN hosts "
                 "h ON h.id = a.host_id ORDER BY a.id"),
            (std::vector<std::string>{
                "dc:a6:32:00:00:0a|10.0.0.5|" + std::to_string(kT0) + "|" +
                    std::to_string(kT0 + 2 * kSecond),
                "98:e7:43:00:00:0b|10.0.0.5|" + std::to_string(kT0 + 3600 * kSecond) + "|" +
                    std::to_string(kT0 + 3602 * kSecond)}));
  EXPECT_EQ(Rows(dir / "inv.db",
                 "SELECT h.key, n.name FROM host_names n JOIN hosts h ON h.id = n.host_id"),
            std::vector<std::string>{"dc:a6:32:00:00:0a|pc-a.example.org"});
  // No host keyed by the IP itself: both facts had a MAC owner.
  EXPECT_EQ(Rows(dir / "inv.db", "SELECT count(*) FROM hosts WHERE key_kind = 'ip'"),
            std::vector<std::string>{"0"});

  // The best guess per host: highest confidence, then most recent.
  auto hosts = ReadInventory((dir / "inv.db").string(), {});
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 2u);
  for (const auto& h : *hosts) {
    ASSERT_FALSE(h.os.empty());
    EXPECT_EQ(h.os.front().product,
              h.mac == "dc:a6:32:00:00:0a" ? "Windows 10" : "Debian GNU/Linux");
  }
}

// Facts without a MAC about an address follow its owner as soon as one appears, also right after
// a fact resolved the address to a host of its own (ResolveHost remembers recent resolutions).
TEST(InventoryTest, FactsWithoutMacFollowANewOwnerAtOnce) {
  fs::path dir = ScratchDir();
  auto inv = OpenOrDie(dir / "inv.db", TestConfig(dir));
  ASSERT_NE(inv, nullptr);
  inv->OnName(Name(Host("10.0.0.7"), "before.example.org", "fqdn", At(kT0, "dns")));
  inv->OnName(Name(Host("10.0.0.7"), "before2.example.org", "fqdn", At(kT0, "dns")));
  inv->OnAddress({kMacA, Ip("10.0.0.7"), At(kT0 + kSecond, "dhcp")});
  inv->OnName(Name(Host("10.0.0.7"), "after.example.org", "fqdn", At(kT0 + kSecond, "dns")));
  inv->OnAddress({kMacB, Ip("10.0.0.7"), At(kT0 + 2 * kSecond, "dhcp")});
  inv->OnName(Name(Host("10.0.0.7"), "later.example.org", "fqdn", At(kT0 + 2 * kSecond, "dns")));
  ASSERT_TRUE(inv->Close());
  EXPECT_EQ(Rows(dir / "inv.db",
                 "SELECT h.key, n.name FROM host_names n JOIN hosts h ON h.id = n.host_id "
                 "ORDER BY n.id"),
            (std::vector<std::string>{"10.0.0.7|before.example.org", "10.0.0.7|before2.example.org",
                                      "dc:a6:32:00:00:0a|after.example.org",
                                      "98:e7:43:00:00:0b|later.example.org"}));
}

// The facts of a small capture, at time offset `shift`.
void FeedCapture(Inventory& inv, int64_t shift) {
  for (int rep = 0; rep < 3; ++rep) {
    int64_t t = kT0 + shift + rep * 10 * kSecond;
    inv.OnAddress({kMacA, Ip("10.0.0.5"), At(t, "arp")});
    inv.OnName(Name(Host("10.0.0.5", kMacA), "files01", "hostname", At(t, "dhcp")));
    inv.OnOs(Os(Host("10.0.0.5", kMacA), "Debian", "Debian GNU/Linux", "12", "Linux", 70,
                At(t, "ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")));
    inv.OnService(Service(Host("10.0.0.5", kMacA), 22, 6, "ssh", false, At(t, "ssh")));
    inv.OnSoftware(Software(Host("10.0.0.5", kMacA), 22, "server", "ssh_banners", "OpenBSD",
                            "OpenSSH", "9.2p1", "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*",
                            At(t, "ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")));
    inv.OnService(Service(Host("203.0.113.9"), 443, 6, "ssl", false, At(t, "tls")));
  }
}

std::vector<std::string> DumpWithout(const fs::path& db, bool with_last_seen) {
  std::vector<std::string> all;
  for (const char* table :
       {"hosts", "host_addresses", "host_names", "host_os", "services", "software"}) {
    std::string cols = with_last_seen ? "*" : "*, 0 AS zero";
    auto rows = Rows(db, std::string("SELECT * FROM ") + table + " ORDER BY id");
    if (!with_last_seen) {
      // Drop the last_seen column by name.
      auto names = Rows(db, std::string("SELECT group_concat(name, ',') FROM pragma_table_info('") +
                                table + "') WHERE name <> 'last_seen'");
      rows = Rows(db, "SELECT " + names.at(0) + " FROM " + table + " ORDER BY id");
    }
    for (auto& r : rows) all.push_back(std::string(table) + ":" + r);
  }
  return all;
}

TEST(InventoryTest, SecondRunChangesOnlyLastSeen) {
  fs::path dir = ScratchDir();
  fs::path db = dir / "inv.db";
  {
    auto inv = OpenOrDie(db, TestConfig(dir));
    ASSERT_NE(inv, nullptr);
    FeedCapture(*inv, 0);
    ASSERT_TRUE(inv->Close());
  }
  auto first_full = DumpWithout(db, true);
  auto first = DumpWithout(db, false);
  ASSERT_EQ(first.size(), 9u);  // 2 hosts, 2 addresses, name, os, 2 services, software
  {
    auto inv = OpenOrDie(db, TestConfig(dir));
    FeedCapture(*inv, 0);  // the same capture again
    ASSERT_TRUE(inv->Close());
    EXPECT_EQ(inv->stats().rows_inserted, 0u);
    EXPECT_EQ(inv->stats().rows_touched, 0u);
  }
  EXPECT_EQ(DumpWithout(db, true), first_full);
  {
    auto inv = OpenOrDie(db, TestConfig(dir));
    FeedCapture(*inv, 86400 * kSecond);  // the same traffic a day later
    ASSERT_TRUE(inv->Close());
  }
  EXPECT_EQ(DumpWithout(db, false), first);
  EXPECT_NE(DumpWithout(db, true), first_full);
  EXPECT_EQ(Rows(db, "SELECT last_seen FROM software"),
            std::vector<std::string>{std::to_string(kT0 + 86400 * kSecond + 20 * kSecond)});
  EXPECT_EQ(Rows(db, "SELECT count(*) FROM changes"), std::vector<std::string>{"0"});
}

// A tiny cache is dropped again and again: the rows and the logs must not change.
TEST(InventoryTest, TinyCacheGivesTheSameResult) {
  fs::path dir = ScratchDir();
  InventoryConfig config = TestConfig(dir, true);
  config.max_cache_entries = 3;
  config.batch_facts = 2;
  auto inv = OpenOrDie(dir / "inv.db", config);
  ASSERT_NE(inv, nullptr);
  FeedCapture(*inv, 0);
  ASSERT_TRUE(inv->Close());
  EXPECT_GT(inv->stats().cache_resets, 3u);
  EXPECT_GT(inv->stats().commits, 3u);
  EXPECT_EQ(inv->stats().store_errors, 0u);

  fs::path ref_dir = dir / "ref";
  fs::create_directories(ref_dir);
  auto ref = OpenOrDie(ref_dir / "inv.db", TestConfig(ref_dir, true));
  ASSERT_NE(ref, nullptr);
  FeedCapture(*ref, 0);
  ASSERT_TRUE(ref->Close());
  EXPECT_EQ(DumpWithout(dir / "inv.db", true), DumpWithout(ref_dir / "inv.db", true));
  for (const char* name : {"known_hosts.log", "known_services.log", "software.log"}) {
    EXPECT_EQ(ReadFile(dir / "logs" / name), ReadFile(ref_dir / "logs" / name)) << name;
  }
}

TEST(InventoryTest, VersionChangeIsRecordedNotOverwritten) {
  fs::path dir = ScratchDir();
  fs::path db = dir / "inv.db";
  auto inv = OpenOrDie(db, TestConfig(dir));
  ASSERT_NE(inv, nullptr);
  auto host = Host("10.0.0.5", kMacA);
  inv->OnSoftware(Software(host, 22, "server", "ssh_banners", "OpenBSD", "OpenSSH", "9.2p1", "",
                           At(kT0, "ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")));
  inv->OnSoftware(Software(host, 22, "server", "ssh_banners", "OpenBSD", "OpenSSH", "9.2p1", "",
                           At(kT0 + 100 * kSecond, "ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")));
  inv->OnSoftware(Software(host, 22, "server", "ssh_banners", "OpenBSD", "OpenSSH", "9.6p1", "",
                           At(kT0 + 200 * kSecond, "ssh", "SSH-2.0-OpenSSH_9.6p1 Debian-5")));
  inv->OnOs(Os(host, "Debian", "Debian GNU/Linux", "12", "Linux", 70, At(kT0, "ssh")));
  inv->OnOs(Os(host, "Debian", "Debian GNU/Linux", "13", "Linux", 70,
               At(kT0 + 200 * kSecond, "ssh")));
  ASSERT_TRUE(inv->Close());
  EXPECT_EQ(Rows(db, "SELECT version, first_seen, last_seen FROM software ORDER BY id"),
            (std::vector<std::string>{
                "9.2p1|" + std::to_string(kT0) + "|" + std::to_string(kT0 + 100 * kSecond),
                "9.6p1|" + std::to_string(kT0 + 200 * kSecond) + "|" +
                    std::to_string(kT0 + 200 * kSecond)}));
  auto changes = ReadInventoryChanges(db.string(), {});
  ASSERT_TRUE(changes) << changes.error().message;
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ((*changes)[0].what, "os");
  EXPECT_EQ((*changes)[0].old_value, "Debian Debian GNU/Linux 12");
  EXPECT_EQ((*changes)[0].new_value, "Debian Debian GNU/Linux 13");
  EXPECT_EQ((*changes)[1].what, "software");
  EXPECT_EQ((*changes)[1].subject, "OpenSSH");
  EXPECT_EQ((*changes)[1].port, 22);
  EXPECT_EQ((*changes)[1].old_value, "9.2p1");
  EXPECT_EQ((*changes)[1].new_value, "9.6p1");
  EXPECT_EQ((*changes)[1].host, "10.0.0.5");
}

TEST(InventoryTest, OnceExposedStaysExposed) {
  fs::path dir = ScratchDir();
  fs::path db = dir / "inv.db";
  auto inv = OpenOrDie(db, TestConfig(dir));
  ASSERT_NE(inv, nullptr);
  auto host = Host("10.0.0.7", kMacB);
  inv->OnService(Service(host, 443, 6, "ssl", false, At(kT0, "tls")));
  inv->OnService(Service(host, 443, 6, "ssl", true, At(kT0 + 5 * kSecond, "tls")));
  inv->OnService(Service(host, 443, 6, "ssl", false, At(kT0 + 9 * kSecond, "tls")));
  inv->OnService(Service(host, 443, 6, "ssh", false, At(kT0 + 9 * kSecond, "ssh")));
  ASSERT_TRUE(inv->Close());
  EXPECT_EQ(Rows(db, "SELECT protocol, exposed, first_exposed_seen, first_seen, last_seen FROM "
                     "services ORDER BY id"),
            (std::vector<std::string>{
                "ssl|1|" + std::to_string(kT0 + 5 * kSecond) + "|" + std::to_string(kT0) + "|" +
                    std::to_string(kT0 + 9 * kSecond),
                "ssh|0|NULL|" + std::to_string(kT0 + 9 * kSecond) + "|" +
                    std::to_string(kT0 + 9 * kSecond)}));
}

TEST(InventoryTest, MacVendorAndRandomisedMac) {
  fs::path dir = ScratchDir();
  fs::path db = dir / "inv.db";
  auto inv = OpenOrDie(db, TestConfig(dir));
  ASSERT_NE(inv, nullptr);
  inv->OnAddress({kMacA, Ip("10.0.0.5"), At(kT0, "arp")});
  inv->OnAddress({MacOf(0x70, 0xb3, 0xd5, 0xf2, 0xf1, 0x23), Ip("10.0.0.6"), At(kT0, "arp")});
  inv->OnAddress({MacOf(0x70, 0xb3, 0xd5, 0x00, 0x01, 0x23), Ip("10.0.0.8"), At(kT0, "arp")});
  inv->OnAddress({MacOf(0xda, 0xa6, 0x32, 0x11, 0x22, 0x33), Ip("10.0.0.9"), At(kT0, "dhcp")});
  inv->OnAddress({MacOf(0x00, 0x11, 0x22, 0x33, 0x44, 0x55), Ip("10.0.0.10"), At(kT0, "arp")});
  ASSERT_TRUE(inv->Close());
  EXPECT_EQ(Rows(db, "SELECT key, vendor, mac_random FROM hosts ORDER BY id"),
            (std::vector<std::string>{
                "dc:a6:32:00:00:0a|Raspberry Pi Trading Ltd|0",
                "70:b3:d5:f2:f1:23|TELEPLATFORMS|0",                 // MA-S beats MA-L
                "70:b3:d5:00:01:23|IEEE Registration Authority|0",  // only the MA-L block
                "da:a6:32:11:22:33|NULL|1",                          // locally administered
                "00:11:22:33:44:55|NULL|0"}));                       // not in the fixture
}

TEST(MacVendorsTest, ReadsDebianIeeeCsv) {
  inventory_internal::MacVendors v;
  EXPECT_EQ(v.Load(std::string(TEST_DATA_DIR) + "/inventory/ieee"), 5u);  // bad line skipped
  EXPECT_EQ(v.Lookup(MacOf(0x00, 0x00, 0x5e, 0x00, 0x01, 0x01)), "ICANN, IANA Department");
  EXPECT_EQ(v.Lookup(MacOf(0x98, 0xe7, 0x43, 1, 2, 3)), "Dell Inc.");
  EXPECT_EQ(v.Lookup(MacOf(0x98, 0xe7, 0x44, 1, 2, 3)), "");
  inventory_internal::MacVendors none;
  EXPECT_EQ(none.Load(std::string(TEST_DATA_DIR) + "/inventory/no-such-dir"), 0u);
  EXPECT_EQ(none.Lookup(MacOf(0x98, 0xe7, 0x43, 1, 2, 3)), "");
}

TEST(MacVendorsTest, ReadsTheInstalledRegistries) {
  const std::string dir = "/usr/share/ieee-data";
  if (!fs::exists(dir + "/oui.csv")) GTEST_SKIP() << "Debian's ieee-data is not installed";
  inventory_internal::MacVendors v;
  EXPECT_GT(v.Load(dir), 30000u);
  EXPECT_EQ(v.Lookup(MacOf(0x98, 0xe7, 0x43, 1, 2, 3)), "Dell Inc.");
}

TEST(InventoryTest, NamesKeepTheirSources) {
  fs::path dir = ScratchDir();
  fs::path db = dir / "inv.db";
  auto inv = OpenOrDie(db, TestConfig(dir));
  ASSERT_NE(inv, nullptr);
  auto host = Host("10.0.0.5", kMacA);
  inv->OnName(Name(host, "FILES01", "netbios", At(kT0, "nbns")));
  inv->OnName(Name(host, "files01", "hostname", At(kT0 + kSecond, "dhcp")));
  inv->OnName(Name(host, "files01.example.org", "fqdn", At(kT0 + 2 * kSecond, "dns")));
  inv->OnName(Name(host, "files01", "hostname", At(kT0 + 3 * kSecond, "dhcp")));
  inv->OnName(Name(Host("192.0.2.80"), "www.example.org", "sni", At(kT0, "tls")));
  ASSERT_TRUE(inv->Close());
  EXPECT_EQ(Rows(db, "SELECT h.key, name, kind, source, n.first_seen, n.last_seen FROM "
                     "host_names n JOIN hosts h ON h.id = n.host_id ORDER BY n.id"),
            (std::vector<std::string>{
                "dc:a6:32:00:00:0a|FILES01|netbios|nbns|" + std::to_string(kT0) + "|" +
                    std::to_string(kT0),
                "dc:a6:32:00:00:0a|files01|hostname|dhcp|" + std::to_string(kT0 + kSecond) + "|" +
                    std::to_string(kT0 + 3 * kSecond),
                "dc:a6:32:00:00:0a|files01.example.org|fqdn|dns|" +
                    std::to_string(kT0 + 2 * kSecond) + "|" + std::to_string(kT0 + 2 * kSecond),
                "192.0.2.80|www.example.org|sni|tls|" + std::to_string(kT0) + "|" +
                    std::to_string(kT0)}));
}

void FeedForLogs(Inventory& inv, int64_t shift) {
  auto host = Host("10.0.0.5", kMacA);
  inv.OnService(Service(host, 443, 6, "ssh", true, At(kT0 + shift, "ssh")));
  inv.OnService(Service(host, 443, 6, "ssl", false, At(kT0 + shift + 1, "tls")));
  inv.OnService(Service(host, 443, 6, "ssl", false, At(kT0 + shift + 2, "tls")));
  inv.OnSoftware(Software(host, 443, "server", "ssh_banners", "OpenBSD", "OpenSSH", "9.2p1",
                          "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*",
                          At(kT0 + shift + 3, "ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")));
  inv.OnSoftware(Software(Host("10.0.0.9"), 0, "client", "http_user_agents", "", "", "", "",
                          At(kT0 + shift + 4, "http", "Wget/1.21.3")));
  inv.OnSoftware(Software(Host("10.0.0.9"), 0, "client", "http_user_agents", "", "", "", "",
                          At(kT0 + shift + 5, "http", "Wget/1.21.3")));
  inv.OnSoftware(Software(Host("198.51.100.1"), 80, "server", "http_servers", "", "nginx",
                          "1.22.1", "", At(kT0 + shift + 6, "http", "")));
}

// Feeds the facts for the log tests; returns the directory holding logs/.
fs::path WriteLogs(ZeekLogFormat format) {
  fs::path dir = ScratchDir();
  auto inv = OpenOrDie(dir / "inv.db", TestConfig(dir, true, format));
  if (inv == nullptr) return dir;
  FeedForLogs(*inv, 0);
  EXPECT_TRUE(inv->Close());
  return dir;
}

constexpr const char* kInventoryLogs[] = {"known_hosts.log", "known_services.log",
                                          "software.log"};

TEST(InventoryTest, ZeekLogsJson) {
  fs::path dir = WriteLogs(ZeekLogFormat::kJson);
  for (const char* name : kInventoryLogs) {
    EXPECT_TRUE(MatchesGolden(ReadFile(dir / "logs" / name), std::string("logs-json/") + name));
  }
}

TEST(InventoryTest, ZeekLogsTsv) {
  fs::path dir = WriteLogs(ZeekLogFormat::kTsv);
  for (const char* name : kInventoryLogs) {
    EXPECT_TRUE(MatchesGolden(ReadFile(dir / "logs" / name), std::string("logs-tsv/") + name));
  }
}

TEST(InventoryTest, ZeekLogsOncePerRun) {
  fs::path dir = ScratchDir();
  for (int run = 0; run < 2; ++run) {
    auto inv = OpenOrDie(dir / "inv.db", TestConfig(dir, true));
    ASSERT_NE(inv, nullptr);
    FeedForLogs(*inv, 0);
    FeedForLogs(*inv, 3600 * kSecond);
    ASSERT_TRUE(inv->Close());
  }
  // Zeek's known_* semantics: each thing once per run; JSON files are appended to.
  std::string hosts = ReadFile(dir / "logs" / "known_hosts.log");
  EXPECT_EQ(std::count(hosts.begin(), hosts.end(), '\n'), 2 * 3);
  std::string services = ReadFile(dir / "logs" / "known_services.log");
  EXPECT_EQ(std::count(services.begin(), services.end(), '\n'), 2 * 2);
  std::string software = ReadFile(dir / "logs" / "software.log");
  EXPECT_EQ(std::count(software.begin(), software.end(), '\n'), 2 * 3);
}

TEST(InventoryTest, ReopenKeepsEverything) {
  fs::path dir = ScratchDir();
  fs::path db = dir / "inv.db";
  {
    auto inv = OpenOrDie(db, TestConfig(dir));
    ASSERT_NE(inv, nullptr);
    FeedCapture(*inv, 0);
    // No Close(): the destructor must flush and commit too.
  }
  auto before = DumpWithout(db, true);
  EXPECT_EQ(before.size(), 9u);
  {
    auto inv = OpenOrDie(db, TestConfig(dir));
    ASSERT_NE(inv, nullptr);
    // The address owner map survives: a MAC-less fact for 10.0.0.5 still goes to MAC A.
    inv->OnName(Name(Host("10.0.0.5"), "files01.example.org", "fqdn", At(kT0, "dns")));
    ASSERT_TRUE(inv->Close());
  }
  EXPECT_EQ(Rows(db, "SELECT h.key FROM host_names n JOIN hosts h ON h.id = n.host_id WHERE "
                     "n.kind = 'fqdn'"),
            std::vector<std::string>{"dc:a6:32:00:00:0a"});
  EXPECT_EQ(Rows(db, "SELECT count(*) FROM hosts"), std::vector<std::string>{"2"});
}

// Tables empty at Open skip the lookup of a new row; tables that have rows must still find them.
TEST(InventoryTest, PartlyFilledDatabaseFindsItsRows) {
  fs::path dir = ScratchDir();
  fs::path db = dir / "inv.db";
  {
    auto inv = OpenOrDie(db, TestConfig(dir));
    ASSERT_NE(inv, nullptr);
    inv->OnAddress({kMacA, Ip("10.0.0.5"), At(kT0, "dhcp")});
    ASSERT_TRUE(inv->Close());
  }
  {
    auto inv = OpenOrDie(db, TestConfig(dir));
    ASSERT_NE(inv, nullptr);
    inv->OnAddress({kMacA, Ip("10.0.0.5"), At(kT0 + kSecond, "dhcp")});
    inv->OnName(Name(Host("10.0.0.5"), "pc-a.example.org", "fqdn", At(kT0 + 2 * kSecond, "dns")));
    inv->OnName(Name(Host("10.0.0.5"), "pc-a.example.org", "fqdn", At(kT0 + 3 * kSecond, "dns")));
    ASSERT_TRUE(inv->Close());
    EXPECT_EQ(inv->stats().rows_inserted, 1u);  // only the name is new
  }
  for (const char* table : {"hosts", "host_addresses", "host_names"}) {
    EXPECT_EQ(Rows(db, std::string("SELECT count(*) FROM ") + table),
              std::vector<std::string>{"1"})
        << table;
  }
  EXPECT_EQ(Rows(db, "SELECT last_seen FROM host_names"),
            std::vector<std::string>{std::to_string(kT0 + 3 * kSecond)});
}

TEST(InventoryTest, GarbageFileIsAnErrorNotACrash) {
  fs::path dir = ScratchDir();
  fs::path db = dir / "garbage.db";
  {
    std::ofstream out(db, std::ios::binary);
    for (int i = 0; i < 8192; ++i) out.put(static_cast<char>((i * 7919) & 0xff));
  }
  auto inv = Inventory::Open(db.string(), TestConfig(dir));
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, rules::ErrorCode::kStore);
  EXPECT_NE(inv.error().message.find(db.string()), std::string::npos) << inv.error().message;
  EXPECT_NE(inv.error().message.find("not a database"), std::string::npos) << inv.error().message;
  auto read = ReadInventory(db.string(), {});
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, rules::ErrorCode::kStore);

  // Another program's SQLite database is refused too, and left alone.
  fs::path other = dir / "other.db";
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(other.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "CREATE TABLE t(x); INSERT INTO t VALUES(1)", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  auto inv2 = Inventory::Open(other.string(), TestConfig(dir));
  ASSERT_FALSE(inv2);
  EXPECT_NE(inv2.error().message.find("not an Utkikk inventory"), std::string::npos);
  EXPECT_EQ(Rows(other, "SELECT x FROM t"), std::vector<std::string>{"1"});

  auto missing = ReadInventory((dir / "missing.db").string(), {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, rules::ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir / "missing.db"));  // reading never creates
}

TEST(InventoryTest, HostileStringsAreBoundedAndStoredSafely) {
  fs::path dir = ScratchDir();
  fs::path db = dir / "inv.db";
  auto inv = OpenOrDie(db, TestConfig(dir, true));
  ASSERT_NE(inv, nullptr);
  std::string huge(100000, 'A');
  std::string nasty = std::string("a\0b", 3) + "\xff\xfe" + "'); DROP TABLE hosts; --" +
                      "\xe2\x82" + "\\" + "\xc3\xa6";
  inv->OnName(Name(Host("10.0.0.5", kMacA), huge, "hostname", At(kT0, "dhcp")));
  inv->OnName(Name(Host("10.0.0.5", kMacA), nasty, nasty, At(kT0, nasty)));
  inv->OnSoftware(Software(Host("10.0.0.5", kMacA), 80, "server", "http_servers", nasty, huge,
                           nasty, nasty, At(kT0, "http", huge + nasty)));
  ASSERT_TRUE(inv->Close());
  EXPECT_GE(inv->stats().strings_cut, 2u);
  EXPECT_GE(inv->stats().strings_escaped, 3u);
  EXPECT_EQ(Rows(db, "SELECT max(length(CAST(name AS BLOB))) FROM host_names"),
            std::vector<std::string>{std::to_string(kInventoryMaxStringBytes)});
  EXPECT_EQ(Rows(db, "SELECT name FROM host_names WHERE kind <> 'hostname'"),
            std::vector<std::string>{
                "a\\x00b\\xff\\xfe'); DROP TABLE hosts; --\\xe2\\x82\\\\\xc3\xa6"});
  EXPECT_EQ(Rows(db, "SELECT length(CAST(raw AS BLOB)) <= 1024, length(CAST(product AS BLOB)) "
                     "FROM software"),
            std::vector<std::string>{"1|1024"});
  EXPECT_EQ(Rows(db, "SELECT count(*) FROM hosts"), std::vector<std::string>{"1"});
  EXPECT_EQ(Rows(db, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

TEST(InventoryTextTest, BoundStringCutsOnBoundaries) {
  std::string out;
  auto r = inventory_internal::BoundString("ab\xc3\xa6", 3, &out);
  EXPECT_EQ(out, "ab");  // never half a character
  EXPECT_TRUE(r.cut);
  r = inventory_internal::BoundString(std::string("x\0", 2), 4, &out);
  EXPECT_EQ(out, "x");  // never half an escape
  EXPECT_TRUE(r.cut);
  EXPECT_TRUE(r.escaped);
  r = inventory_internal::BoundString("\xed\xa0\x80 \xf0\x9f\x98\x80", 100, &out);
  EXPECT_EQ(out, "\\xed\\xa0\\x80 \xf0\x9f\x98\x80");  // a surrogate is not UTF-8; an emoji is
}

TEST(InventoryTest, LastSeenIsCoarsenedButExactAfterFlush) {
  fs::path dir = ScratchDir();
  fs::path db = dir / "inv.db";
  auto inv = OpenOrDie(db, TestConfig(dir));
  ASSERT_NE(inv, nullptr);
  auto host = Host("10.0.0.5", kMacA);
  for (int i = 0; i <= 300; ++i) {  // one fact a second for five minutes
    inv->OnService(Service(host, 22, 6, "ssh", false, At(kT0 + i * kSecond, "ssh")));
  }
  InventoryStats s = inv->stats();
  EXPECT_EQ(s.facts, 301u);
  EXPECT_EQ(s.rows_inserted, 3u);         // host, address, service
  EXPECT_LE(s.rows_touched, 3u * 5u);     // about once a minute per row
  EXPECT_GE(s.cache_hits, 3u * 290u);
  ASSERT_TRUE(inv->Flush());
  EXPECT_EQ(Rows(db, "SELECT last_seen FROM services"),
            std::vector<std::string>{std::to_string(kT0 + 300 * kSecond)});
  EXPECT_EQ(Rows(db, "SELECT last_seen FROM hosts"),
            std::vector<std::string>{std::to_string(kT0 + 300 * kSecond)});
  ASSERT_TRUE(inv->Close());
}

// A restarted sensor reads its rows into the cache at Open (Preload); the result of a second run
// must be what the row-by-row SELECT path gives (a cache too small for the rows skips the
// preload), logs included.
TEST(InventoryTest, PreloadedRowsGiveTheSameSecondRun) {
  fs::path dir = ScratchDir();
  size_t rows = 0;
  for (const char* sub : {"preload", "select"}) {
    fs::path d = dir / sub;
    fs::create_directories(d);
    auto first = OpenOrDie(d / "inv.db", TestConfig(d, false));
    ASSERT_NE(first, nullptr);
    FeedCapture(*first, 0);
    ASSERT_TRUE(first->Close());
    rows = first->stats().rows_inserted;
  }
  ASSERT_GT(rows, 5u);
  for (const char* sub : {"preload", "select"}) {
    fs::path d = dir / sub;
    InventoryConfig config = TestConfig(d, true);
    if (std::string_view(sub) == "select") config.max_cache_entries = rows;  // no preload
    auto second = OpenOrDie(d / "inv.db", config);
    ASSERT_NE(second, nullptr);
    FeedCapture(*second, 0);               // the same traffic: nothing changes
    FeedCapture(*second, 600 * kSecond);   // newer traffic: last_seen moves
    ASSERT_TRUE(second->Close());
    EXPECT_EQ(second->stats().rows_inserted, 0u) << sub;
    EXPECT_EQ(second->stats().cache_resets, 0u) << sub;
  }
  EXPECT_EQ(DumpWithout(dir / "preload" / "inv.db", true),
            DumpWithout(dir / "select" / "inv.db", true));
  for (const char* name : {"known_hosts.log", "known_services.log", "software.log"}) {
    std::string preloaded = ReadFile(dir / "preload" / "logs" / name);
    EXPECT_FALSE(preloaded.empty()) << name;
    EXPECT_EQ(preloaded, ReadFile(dir / "select" / "logs" / name)) << name;
  }
}

// A browser (or a scanner) sends many User-Agent strings for one product and version: one row,
// the first banner kept as evidence; a new version is still a new row. A JA3/JA4 hash is the
// identity of a TLS client, so each hash keeps its own row; so does an unnamed banner.
TEST(InventoryTest, NamedClientSoftwareIsOneRowPerVersion) {
  fs::path dir = ScratchDir();
  fs::path db = dir / "inv.db";
  auto host = Host("10.0.0.9");
  auto feed = [&](Inventory& inv, int64_t shift) {
    const char* agents[] = {"Mozilla/5.00 (Nikto/2.1.6) (Test:000013)",
                            "Mozilla/5.00 (Nikto/2.1.6) (Test:000014)"};
    int64_t t = kT0 + shift;
    for (const char* ua : agents) {
      inv.OnSoftware(Software(host, 0, "client", "http_user_agents", "", "Unknown browser", "5.0",
                              "", At(t++, "http", ua)));
    }
    inv.OnSoftware(Software(host, 0, "client", "http_user_agents", "", "Unknown browser", "5.1",
                            "", At(t++, "http", "Mozilla/5.1 (Test:000015)")));
    inv.OnSoftware(Software(host, 0, "client", "http_user_agents", "", "", "", "",
                            At(t++, "http", "x1")));
    inv.OnSoftware(Software(host, 0, "client", "http_user_agents", "", "", "", "",
                            At(t++, "http", "x2")));
    inv.OnSoftware(Software(host, 0, "client", "tls_client", "", "JA3", "", "",
                            At(t++, "tls", "2201d8e006f8f005a6b415f61e677532")));
    inv.OnSoftware(Software(host, 0, "client", "tls_client", "", "JA3", "", "",
                            At(t++, "tls", "d0ee3237a14bbd89ca4d2b5356ab20ba")));
  };
  const std::vector<std::string> expected{
      "Unknown browser|5.0|Mozilla/5.00 (Nikto/2.1.6) (Test:000013)",
      "Unknown browser|5.1|Mozilla/5.1 (Test:000015)",
      "||x1",
      "||x2",
      "JA3||2201d8e006f8f005a6b415f61e677532",
      "JA3||d0ee3237a14bbd89ca4d2b5356ab20ba"};
  {
    auto inv = OpenOrDie(db, TestConfig(dir));
    ASSERT_NE(inv, nullptr);
    feed(*inv, 0);
    ASSERT_TRUE(inv->Close());
  }
  EXPECT_EQ(Rows(db, "SELECT product, version, raw FROM software ORDER BY id"), expected);
  // A second run (rows found by SELECT, not in a complete cache) adds nothing.
  auto inv = OpenOrDie(db, TestConfig(dir));
  ASSERT_NE(inv, nullptr);
  feed(*inv, kSecond);
  ASSERT_TRUE(inv->Close());
  EXPECT_EQ(Rows(db, "SELECT product, version, raw FROM software ORDER BY id"), expected);
  auto changes = ReadInventoryChanges(db.string(), {});
  ASSERT_TRUE(changes) << changes.error().message;
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].old_value, "5.0");
  EXPECT_EQ((*changes)[0].new_value, "5.1");
}

// Not an assertion: prints what a fact costs on this machine.
TEST(InventoryTest, CostPerFact) {
  fs::path dir = ScratchDir();
  auto inv = OpenOrDie(dir / "inv.db", TestConfig(dir));
  ASSERT_NE(inv, nullptr);
  constexpr int kFacts = 50000;
  std::vector<rules::ServiceFact> facts;
  for (int i = 0; i < 500; ++i) {
    uint8_t b = static_cast<uint8_t>(i & 0xff);
    auto host = rules::HostRef{rules::IpAddress::FromV4(0x0a000000u + static_cast<uint32_t>(i)),
                               MacOf(0x98, 0xe7, 0x43, 0, static_cast<uint8_t>(i >> 8), b)};
    facts.push_back(Service(host, static_cast<uint16_t>(22 + i % 3), 6, "ssh", i % 7 == 0,
                            At(kT0, "ssh")));
  }
  auto feed = [&](int64_t base) {
    for (int i = 0; i < kFacts; ++i) {
      rules::ServiceFact& f = facts[static_cast<size_t>(i) % facts.size()];
      f.origin.ts_us = base + i * 1000;  // 1000 facts per second of packet time
      inv->OnService(f);
    }
  };
  auto t0 = std::chrono::steady_clock::now();
  feed(kT0);  // 1500 new rows, then mostly cache hits
  auto start = std::chrono::steady_clock::now();
  feed(kT0 + 50 * kSecond);  // steady state: cache hits, a last_seen touch a minute per row
  auto mid = std::chrono::steady_clock::now();
  ASSERT_TRUE(inv->Close());
  auto end = std::chrono::steady_clock::now();
  auto ns = [](auto d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); };
  std::printf("[ cost ] %d service facts over 500 hosts: first pass %.0f ns/fact, steady "
              "%.0f ns/fact (new rows: %llu, touches: %llu, commits: %llu), close %.1f ms\n",
              kFacts, static_cast<double>(ns(start - t0)) / kFacts,
              static_cast<double>(ns(mid - start)) / kFacts,
              static_cast<unsigned long long>(inv->stats().rows_inserted),
              static_cast<unsigned long long>(inv->stats().rows_touched),
              static_cast<unsigned long long>(inv->stats().commits),
              static_cast<double>(ns(end - mid)) / 1e6);
}

}  // namespace
}  // namespace sensor
