#include "sensor/summary/summariser.h"

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "uplink/spool.h"

namespace sensor {
namespace {

using Json = nlohmann::json;

constexpr int64_t kT0 = 1'700'000'000'000'000;  // packet time, µs
constexpr int64_t kSecond = 1'000'000;

// A spool in a fresh temporary directory, removed at the end.
class TempSpool {
 public:
  TempSpool() {
    static int counter = 0;
    dir_ = (std::filesystem::temp_directory_path() /
            ("summariser_test." + std::to_string(getpid()) + "." + std::to_string(counter++)))
               .string();
    std::filesystem::remove_all(dir_);
  }
  ~TempSpool() { std::filesystem::remove_all(dir_); }
  uplink::SpoolConfig config() const {
    uplink::SpoolConfig c;
    c.dir = dir_;
    return c;
  }
  std::unique_ptr<uplink::SpoolWriter> Writer() const {
    auto w = uplink::SpoolWriter::Open(config());
    EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().message);
    return w ? std::move(*w) : nullptr;
  }
  // Every batch in the spool, in order.
  std::vector<uplink::Batch> Batches() const {
    std::vector<uplink::Batch> out;
    auto reader = uplink::SpoolReader::Open(config());
    EXPECT_TRUE(reader.has_value());
    if (!reader) return out;
    auto refs = (*reader)->List();
    EXPECT_TRUE(refs.has_value());
    for (const auto& ref : *refs) {
      auto batch = (*reader)->Read(ref);
      EXPECT_TRUE(batch.has_value() && batch->has_value());
      if (batch && *batch) out.push_back(**batch);
    }
    return out;
  }

 private:
  std::string dir_;
};

std::vector<Json> Lines(const uplink::Batch& batch) {
  std::vector<Json> out;
  std::string_view text = batch.json_lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    out.push_back(Json::parse(text.substr(0, nl)));
    text.remove_prefix(nl + 1);
  }
  return out;
}

// The lines of a given type across all batches.
std::vector<Json> OfType(const std::vector<uplink::Batch>& batches, const std::string& type) {
  std::vector<Json> out;
  for (const auto& b : batches) {
    for (auto& j : Lines(b)) {
      if (j.value("type", "") == type) out.push_back(std::move(j));
    }
  }
  return out;
}

rules::HostRef Host(const char* ip, std::optional<rules::Mac> mac = std::nullopt) {
  return rules::HostRef{*rules::IpAddress::Parse(ip), mac};
}
rules::FactOrigin At(int64_t ts, std::string raw = "") {
  rules::FactOrigin o;
  o.ts_us = ts;
  o.source = "test";
  o.raw = std::move(raw);
  return o;
}
rules::NameFact Name(const char* ip, std::string name, int64_t ts) {
  rules::NameFact f;
  f.host = Host(ip);
  f.name = std::move(name);
  f.kind = "hostname";
  f.origin = At(ts);
  return f;
}
rules::ServiceFact Service(const char* ip, uint16_t port, std::string protocol, int64_t ts,
                           bool exposed = false) {
  rules::ServiceFact f;
  f.host = Host(ip);
  f.port = port;
  f.transport = 6;
  f.protocol = std::move(protocol);
  f.client = *rules::IpAddress::Parse("10.9.9.9");
  f.exposed = exposed;
  f.origin = At(ts);
  return f;
}
rules::SoftwareFact Software(const char* ip, uint16_t port, std::string role, std::string product,
                             std::string version, std::string raw, int64_t ts) {
  rules::SoftwareFact f;
  f.host = Host(ip);
  f.port = port;
  f.role = std::move(role);
  f.kind = f.role == "server" ? "ssh_banners" : "http_user_agents";
  f.vendor = "Vendor";
  f.product = std::move(product);
  f.version = std::move(version);
  f.origin = At(ts, std::move(raw));
  return f;
}

// Counts what it is given, to check the tee.
class CountingSink : public rules::FactSink {
 public:
  void OnAddress(const rules::AddressFact&) override { ++count; }
  void OnName(const rules::NameFact&) override { ++count; }
  void OnOs(const rules::OsFact&) override { ++count; }
  void OnService(const rules::ServiceFact&) override { ++count; }
  void OnSoftware(const rules::SoftwareFact&) override { ++count; }
  int count = 0;
};

SummariserConfig TestConfig() {
  SummariserConfig c;
  c.sensor_version = "0.1.0-test";
  return c;
}

TEST(SummariserTest, WritesHostServiceSoftwareLinesTheCollectorReads) {
  TempSpool spool;
  CountingSink next;
  Summariser s(TestConfig(), spool.Writer(), &next);
  rules::AddressFact a;
  a.mac = rules::Mac{0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
  a.ip = *rules::IpAddress::Parse("10.0.0.5");
  a.origin = At(kT0);
  s.OnAddress(a);
  s.OnName(Name("10.0.0.5", "printer-2", kT0 + 1));
  rules::OsFact os;
  os.host = Host("10.0.0.5");
  os.vendor = "HP";
  os.product = "JetDirect";
  os.version = "1.2";
  os.origin = At(kT0 + 2);
  s.OnOs(os);
  s.OnService(Service("10.0.0.9", 22, "ssh", kT0 + 3, /*exposed=*/true));
  s.OnSoftware(Software("10.0.0.9", 22, "server", "OpenSSH", "9.2p1",
                        "SSH-2.0-OpenSSH_9.2p1 Debian-2", kT0 + 4));
  EXPECT_EQ(next.count, 5);
  ASSERT_TRUE(s.Close().has_value());

  auto batches = spool.Batches();
  ASSERT_EQ(batches.size(), 1u);
  const uplink::Batch& b = batches[0];
  EXPECT_EQ(b.payload_type, uplink::PayloadType::kInventory);
  EXPECT_EQ(b.window_start_us, kT0);
  EXPECT_EQ(b.window_end_us, kT0 + 4);
  std::string why;
  EXPECT_TRUE(uplink::ValidJsonLines(b.json_lines, &why)) << why;

  auto hosts = OfType(batches, "host");
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_EQ(hosts[0]["host"], "10.0.0.5");
  EXPECT_EQ(hosts[0]["mac"], "00:11:22:33:44:55");
  EXPECT_EQ(hosts[0]["names"], Json::array({"printer-2"}));
  EXPECT_EQ(hosts[0]["os"]["product"], "JetDirect");
  EXPECT_EQ(hosts[0]["os"]["version"], "1.2");
  EXPECT_EQ(hosts[0]["first_seen"], kT0);
  EXPECT_EQ(hosts[0]["last_seen"], kT0 + 2);
  EXPECT_EQ(hosts[1]["host"], "10.0.0.9");
  EXPECT_EQ(hosts[1]["first_seen"], kT0 + 3);
  EXPECT_EQ(hosts[1]["last_seen"], kT0 + 4);  // widened while the batch is open

  auto services = OfType(batches, "service");
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0]["port"], 22);
  EXPECT_EQ(services[0]["proto"], "tcp");
  EXPECT_EQ(services[0]["protocol"], "ssh");
  EXPECT_EQ(services[0]["exposed"], true);

  auto software = OfType(batches, "software");
  ASSERT_EQ(software.size(), 1u);
  EXPECT_EQ(software[0]["role"], "server");
  EXPECT_EQ(software[0]["product"], "OpenSSH");
  EXPECT_EQ(software[0]["version"], "9.2p1");
  EXPECT_EQ(software[0]["raw"], "SSH-2.0-OpenSSH_9.2p1 Debian-2");

  auto health = OfType(batches, "health");
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0]["sensor_version"], "0.1.0-test");
  EXPECT_EQ(health[0]["facts"], 5);
  // The health line is the batch's last line.
  EXPECT_EQ(Lines(b).back()["type"], "health");
}

TEST(SummariserTest, SendsEachChangeOnceAndLastSeenOnlyAfterTheGranularity) {
  TempSpool spool;
  SummariserConfig config = TestConfig();
  config.interval_us = 10 * 3600 * kSecond;  // one batch per Flush in this test
  Summariser s(config, spool.Writer(), nullptr);
  for (int i = 0; i < 100; ++i) {
    s.OnName(Name("10.0.0.7", "ws-7", kT0 + i * kSecond));
    s.OnService(Service("10.0.0.7", 445, "smb", kT0 + i * kSecond));
  }
  ASSERT_TRUE(s.Flush().has_value());
  // Seen again within the hour: nothing new to send, Flush writes nothing.
  s.OnName(Name("10.0.0.7", "ws-7", kT0 + 1800 * kSecond));
  ASSERT_TRUE(s.Flush().has_value());
  EXPECT_EQ(spool.Batches().size(), 1u);
  // An hour later: host and service lines again with the new last_seen, names not repeated.
  s.OnService(Service("10.0.0.7", 445, "smb", kT0 + 3700 * kSecond));
  ASSERT_TRUE(s.Flush().has_value());
  // A new name is a change at once.
  s.OnName(Name("10.0.0.7", "ws-7.kommune.local", kT0 + 3701 * kSecond));
  ASSERT_TRUE(s.Close().has_value());

  auto batches = spool.Batches();
  ASSERT_EQ(batches.size(), 3u);
  auto first = Lines(batches[0]);
  ASSERT_EQ(first.size(), 3u);  // host, service, health
  EXPECT_EQ(first[0]["names"], Json::array({"ws-7"}));
  EXPECT_EQ(first[0]["first_seen"], kT0);
  EXPECT_EQ(first[1]["type"], "service");
  auto second = Lines(batches[1]);
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second[0]["type"], "host");
  EXPECT_FALSE(second[0].contains("names"));
  EXPECT_EQ(second[0]["last_seen"], kT0 + 3700 * kSecond);
  EXPECT_EQ(second[1]["last_seen"], kT0 + 3700 * kSecond);
  EXPECT_EQ(second[1]["protocol"], "smb");
  auto third = Lines(batches[2]);
  ASSERT_EQ(third.size(), 2u);
  EXPECT_EQ(third[0]["names"], Json::array({"ws-7.kommune.local"}));
}

TEST(SummariserTest, ChangedVersionOsAndExposureAreSent) {
  TempSpool spool;
  Summariser s(TestConfig(), spool.Writer(), nullptr);
  s.OnSoftware(Software("10.0.0.9", 22, "server", "OpenSSH", "9.2p1", "b1", kT0));
  s.OnService(Service("10.0.0.9", 22, "ssh", kT0));
  ASSERT_TRUE(s.Flush().has_value());
  s.OnSoftware(Software("10.0.0.9", 22, "server", "OpenSSH", "9.2p1", "b1", kT0 + 1));
  s.OnService(Service("10.0.0.9", 22, "ssh", kT0 + 1));
  ASSERT_TRUE(s.Flush().has_value());
  EXPECT_EQ(spool.Batches().size(), 1u);  // nothing changed
  s.OnSoftware(Software("10.0.0.9", 22, "server", "OpenSSH", "9.6p1", "b2", kT0 + 2));
  // A version-less sighting does not blank the version.
  s.OnSoftware(Software("10.0.0.9", 22, "server", "OpenSSH", "", "", kT0 + 3));
  s.OnService(Service("10.0.0.9", 22, "ssh", kT0 + 4, /*exposed=*/true));
  rules::OsFact low;
  low.host = Host("10.0.0.9");
  low.product = "Linux";
  low.confidence = 80;
  low.origin = At(kT0 + 5);
  s.OnOs(low);
  rules::OsFact lower = low;
  lower.product = "FreeBSD";
  lower.confidence = 30;  // less sure than what was sent: not a change
  s.OnOs(lower);
  ASSERT_TRUE(s.Close().has_value());
  auto batches = spool.Batches();
  ASSERT_EQ(batches.size(), 2u);
  auto software = OfType({batches[1]}, "software");
  ASSERT_EQ(software.size(), 1u);
  EXPECT_EQ(software[0]["version"], "9.6p1");
  auto services = OfType({batches[1]}, "service");
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0]["exposed"], true);
  auto hosts = OfType({batches[1]}, "host");
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0]["os"]["product"], "Linux");
}

TEST(SummariserTest, ClosesABatchEveryIntervalOfPacketTime) {
  TempSpool spool;
  SummariserConfig config = TestConfig();
  config.interval_us = 60 * kSecond;
  Summariser s(config, spool.Writer(), nullptr);
  s.OnName(Name("10.0.0.1", "a", kT0));
  s.OnName(Name("10.0.0.2", "b", kT0 + 59 * kSecond));
  s.OnName(Name("10.0.0.3", "c", kT0 + 60 * kSecond));  // opens the second batch
  EXPECT_EQ(spool.Batches().size(), 1u);
  // The next fact after the interval closes the second batch; ten minutes without a change
  // write no batch.
  s.OnName(Name("10.0.0.3", "c", kT0 + 300 * kSecond));
  EXPECT_EQ(spool.Batches().size(), 2u);
  s.OnName(Name("10.0.0.4", "d", kT0 + 700 * kSecond));
  EXPECT_EQ(spool.Batches().size(), 2u);
  ASSERT_TRUE(s.Close().has_value());
  auto batches = spool.Batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].window_start_us, kT0);
  EXPECT_EQ(batches[0].window_end_us, kT0 + 59 * kSecond);
  EXPECT_EQ(OfType({batches[0]}, "host").size(), 2u);
  EXPECT_EQ(OfType({batches[1]}, "host").size(), 1u);
  EXPECT_EQ(OfType({batches[1]}, "host")[0]["host"], "10.0.0.3");
  EXPECT_EQ(OfType({batches[2]}, "host")[0]["host"], "10.0.0.4");
  EXPECT_EQ(batches[2].window_start_us, kT0 + 700 * kSecond);
  EXPECT_LT(batches[0].batch_seq, batches[1].batch_seq);
}

TEST(SummariserTest, ClosesABatchAtTheSizeBound) {
  TempSpool spool;
  SummariserConfig config = TestConfig();
  config.max_batch_bytes = 4096;
  Summariser s(config, spool.Writer(), nullptr);
  const int kHosts = 200;
  for (int i = 0; i < kHosts; ++i) {
    std::string ip = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    s.OnName(Name(ip.c_str(), "host-" + std::to_string(i), kT0 + i));
  }
  ASSERT_TRUE(s.Close().has_value());
  auto batches = spool.Batches();
  EXPECT_GT(batches.size(), 3u);
  for (const auto& b : batches) EXPECT_LE(b.json_lines.size(), config.max_batch_bytes);
  EXPECT_EQ(OfType(batches, "host").size(), static_cast<size_t>(kHosts));
  EXPECT_EQ(OfType(batches, "health").size(), batches.size());
  EXPECT_EQ(s.stats().batches, batches.size());
}

TEST(SummariserTest, KeepsMailAddressesUrlsAndClientBannersOut) {
  TempSpool spool;
  Summariser s(TestConfig(), spool.Writer(), nullptr);
  s.OnName(Name("10.0.0.5", "alice@kommune.no", kT0));
  s.OnName(Name("10.0.0.5", "ALICE@KOMMUNE.LOCAL", kT0));
  s.OnName(Name("10.0.0.5", "pc-alice", kT0));
  s.OnSoftware(Software("10.0.0.5", 0, "client", "Firefox", "128.0",
                        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                        kT0));
  s.OnSoftware(Software("10.0.0.6", 21, "server", "vsftpd", "3.0.3",
                        "220 (vsFTPd 3.0.3) contact admin@kommune.no", kT0));
  s.OnSoftware(Software("10.0.0.7", 80, "server", "nginx", "1.22",
                        "nginx/1.22 see http://intra.kommune.local/x?user=bob", kT0));
  rules::SoftwareFact ja4 = Software("10.0.0.5", 0, "client", "JA4", "", "t13d1516h2_8daaf6152771_e5627efa2ab1", kT0);
  ja4.kind = "tls_client";
  s.OnSoftware(ja4);
  rules::SoftwareFact unnamed = Software("10.0.0.8", 25, "server", "", "", "220 hello", kT0);
  s.OnSoftware(unnamed);
  ASSERT_TRUE(s.Close().has_value());
  auto batches = spool.Batches();
  ASSERT_EQ(batches.size(), 1u);
  const std::string& text = batches[0].json_lines;
  EXPECT_EQ(text.find('@'), std::string::npos) << text;
  EXPECT_EQ(text.find("Mozilla"), std::string::npos);
  EXPECT_EQ(text.find("://"), std::string::npos);
  EXPECT_EQ(text.find("JA4"), std::string::npos);
  auto hosts = OfType(batches, "host");
  ASSERT_FALSE(hosts.empty());
  EXPECT_EQ(hosts[0]["names"], Json::array({"pc-alice"}));
  auto software = OfType(batches, "software");
  ASSERT_EQ(software.size(), 3u);  // product and version stay, the raw text goes
  for (const auto& sw : software) EXPECT_EQ(sw["raw"], "") << sw.dump();
  EXPECT_EQ(software[0]["product"], "Firefox");
  EXPECT_EQ(software[0]["port"], 0);
  EXPECT_EQ(s.stats().names_dropped, 2u);
  EXPECT_EQ(s.stats().client_raw_dropped, 1u);
  EXPECT_EQ(s.stats().raw_dropped, 2u);
  EXPECT_EQ(s.stats().fingerprints_skipped, 1u);
  EXPECT_EQ(s.stats().software_unnamed, 1u);
}

TEST(SummariserTest, ClientBannersWhenTheConfigAllows) {
  TempSpool spool;
  SummariserConfig config = TestConfig();
  config.client_banners = true;
  Summariser s(config, spool.Writer(), nullptr);
  s.OnSoftware(Software("10.0.0.5", 0, "client", "curl", "8.0", "curl/8.0.1", kT0));
  ASSERT_TRUE(s.Close().has_value());
  auto software = OfType(spool.Batches(), "software");
  ASSERT_EQ(software.size(), 1u);
  EXPECT_EQ(software[0]["raw"], "curl/8.0.1");
}

TEST(SummariserTest, HostsOutsideLocalNetsAndUnspecifiedAddressesAreNotSent) {
  TempSpool spool;
  SummariserConfig config = TestConfig();
  config.local_nets = {*rules::Cidr::Parse("10.0.0.0/8")};
  CountingSink next;
  Summariser s(config, spool.Writer(), &next);
  s.OnName(Name("93.184.216.34", "www.example.com", kT0));  // an SNI of a visited site
  s.OnService(Service("93.184.216.34", 443, "ssl", kT0));
  s.OnName(Name("0.0.0.0", "dhcp-discover", kT0));
  s.OnName(Name("10.0.0.5", "pc-5", kT0));
  EXPECT_EQ(next.count, 4);  // the inventory still gets everything
  ASSERT_TRUE(s.Close().has_value());
  auto batches = spool.Batches();
  auto hosts = OfType(batches, "host");
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0]["host"], "10.0.0.5");
  EXPECT_TRUE(OfType(batches, "service").empty());
  EXPECT_EQ(s.stats().external_hosts, 2u);
  EXPECT_EQ(s.stats().unspecified_hosts, 1u);
}

TEST(SummariserTest, HostileStringsBecomeBoundedValidJson) {
  TempSpool spool;
  SummariserConfig config = TestConfig();
  config.max_string_bytes = 32;
  Summariser s(config, spool.Writer(), nullptr);
  s.OnName(Name("10.0.0.5", std::string("bad\x01\"\\\xff\xfe name ") + std::string(100, 'x'),
                kT0));
  s.OnName(Name("10.0.0.6", std::string(31, 'a') + "\xc3\xa6\xc3\xa6", kT0));  // cut at 32
  ASSERT_TRUE(s.Close().has_value());
  auto batches = spool.Batches();
  ASSERT_EQ(batches.size(), 1u);
  std::string why;
  EXPECT_TRUE(uplink::ValidJsonLines(batches[0].json_lines, &why)) << why;
  auto hosts = OfType(batches, "host");
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_LE(hosts[0]["names"][0].get<std::string>().size(), 32u + 8u);  // U+FFFD is 3 bytes
  EXPECT_EQ(hosts[1]["names"][0], std::string(31, 'a'));
}

TEST(SummariserTest, BoundedDedupeRecordResendsAfterReset) {
  TempSpool spool;
  SummariserConfig config = TestConfig();
  config.max_known_entries = 10;
  Summariser s(config, spool.Writer(), nullptr);
  for (int i = 0; i < 30; ++i) {
    std::string ip = "10.2.0." + std::to_string(i + 1);
    s.OnName(Name(ip.c_str(), "n" + std::to_string(i), kT0));
  }
  EXPECT_GE(s.stats().known_resets, 2u);
  s.OnName(Name("10.2.0.1", "n0", kT0 + 1));  // forgotten, so sent again
  ASSERT_TRUE(s.Close().has_value());
  auto hosts = OfType(spool.Batches(), "host");
  EXPECT_EQ(hosts.size(), 30u);  // 10.2.0.1 merged into one pending line
  EXPECT_EQ(hosts[0]["host"], "10.2.0.1");
  EXPECT_EQ(hosts[0]["last_seen"], kT0 + 1);
}

TEST(SummariserTest, CloseWritesAHealthBatchAndIsIdempotent) {
  TempSpool spool;
  Summariser s(TestConfig(), spool.Writer(), nullptr);
  s.SetCaptureStats(1234, 5);
  ASSERT_TRUE(s.Close().has_value());
  ASSERT_TRUE(s.Close().has_value());
  s.OnName(Name("10.0.0.1", "late", kT0));  // after Close: forwarded only
  auto batches = spool.Batches();
  ASSERT_EQ(batches.size(), 1u);
  auto health = OfType(batches, "health");
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0]["packets"], 1234);
  EXPECT_EQ(health[0]["drops"], 5);
}

}  // namespace
}  // namespace sensor
