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


// ---- flow aggregates, alerts, health, log senders, heartbeat ----

namespace more {

FlowRecord Flow(const char* orig, uint16_t orig_port, const char* resp, uint16_t resp_port,
                uint64_t orig_bytes, uint64_t resp_bytes, int64_t ts, std::string service = "") {
  FlowRecord f;
  f.id.orig_h = *rules::IpAddress::Parse(orig);
  f.id.orig_p = orig_port;
  f.id.resp_h = *rules::IpAddress::Parse(resp);
  f.id.resp_p = resp_port;
  f.id.proto = 6;
  f.key.proto = 6;
  f.start_us = ts;
  f.last_us = ts + kSecond;
  f.orig.packets = 3;
  f.orig.payload_bytes = orig_bytes;
  f.resp.packets = resp_bytes > 0 ? 2 : 0;
  f.resp.payload_bytes = resp_bytes;
  if (resp_bytes > 0) {  // a handshake, then data both ways
    f.tcp.orig.syn = f.tcp.resp.syn = f.tcp.syn_ack = f.tcp.established = true;
    f.tcp.resp.saw_data = true;
  }
  f.classification.service = std::move(service);
  return f;
}

SummariserConfig LocalConfig() {
  SummariserConfig c = TestConfig();
  c.local_nets = {*rules::Cidr::Parse("10.0.0.0/8")};
  return c;
}

bool IsLocal(const char* ip) { return std::string_view(ip).substr(0, 3) == "10."; }

void End(Summariser& s, const FlowRecord& f) {
  s.OnFlowEnd(f, IsLocal(f.id.orig_h.ToString().c_str()),
              IsLocal(f.id.resp_h.ToString().c_str()));
}

TEST(SummariserFlowTest, AggregatesPerInternalServiceAndHostInAFlowsBatch) {
  TempSpool spool;
  SummariserConfig config = LocalConfig();
  config.max_peer_addresses = 2;
  Summariser s(config, spool.Writer(), nullptr);
  // Three external clients (one twice) and one internal client of an internal HTTPS server.
  End(s, Flow("198.51.100.1", 40000, "10.0.0.5", 443, 100, 1000, kT0, "ssl"));
  End(s, Flow("198.51.100.2", 40001, "10.0.0.5", 443, 200, 2000, kT0 + kSecond, "ssl"));
  End(s, Flow("198.51.100.1", 40002, "10.0.0.5", 443, 300, 3000, kT0 + 2 * kSecond, "ssl"));
  End(s, Flow("203.0.113.9", 40003, "10.0.0.5", 443, 400, 4000, kT0 + 3 * kSecond, "ssl"));
  End(s, Flow("10.0.0.7", 50000, "10.0.0.5", 443, 10, 20, kT0 + 4 * kSecond, "ssl"));
  // An internal client browsing: counted for the host, its destination never listed.
  End(s, Flow("10.0.0.7", 50001, "192.0.2.80", 80, 500, 5000, kT0 + 5 * kSecond, "http"));
  // A scan of a filtered port: no service line, counted as unanswered for the scanner.
  End(s, Flow("10.0.0.7", 50002, "10.0.0.5", 3389, 0, 0, kT0 + 6 * kSecond));
  // An internet scanner's SYN that a closed port refused with a RST (REJ): no service line.
  FlowRecord refused = Flow("192.0.2.99", 50003, "10.0.0.5", 23, 0, 0, kT0 + 6 * kSecond);
  refused.resp.packets = 1;
  refused.tcp.orig.state = TcpEndpointState::kSynSent;
  refused.tcp.resp.state = TcpEndpointState::kReset;
  ASSERT_EQ(ConnState(refused), "REJ");
  End(s, refused);
  // Between two external hosts: not the member's.
  End(s, Flow("192.0.2.1", 1, "192.0.2.2", 2, 1, 1, kT0));
  ASSERT_TRUE(s.Close().has_value());

  auto batches = spool.Batches();
  ASSERT_EQ(batches.size(), 2u);  // flows, inventory (health)
  EXPECT_EQ(batches[0].payload_type, uplink::PayloadType::kFlows);
  EXPECT_EQ(batches[0].priority, uplink::Priority::kBulk);
  auto services = OfType(batches, "flow_service");
  ASSERT_EQ(services.size(), 1u);
  const Json& svc = services[0];
  EXPECT_EQ(svc["host"], "10.0.0.5");
  EXPECT_EQ(svc["port"], 443);
  EXPECT_EQ(svc["proto"], "tcp");
  EXPECT_EQ(svc["protocol"], "ssl");
  EXPECT_EQ(svc["flows"], 5);
  EXPECT_EQ(svc["internal_flows"], 1);
  EXPECT_EQ(svc["bytes_to_server"], 1010);
  EXPECT_EQ(svc["bytes_to_client"], 10020);
  EXPECT_EQ(svc["external_peers"], 3);
  EXPECT_EQ(svc["peer_addresses"], Json::array({"198.51.100.1", "198.51.100.2"}));
  EXPECT_EQ(svc["first_seen"], kT0);
  EXPECT_EQ(svc["last_seen"], kT0 + 5 * kSecond);

  auto hosts = OfType(batches, "flow_host");
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_EQ(hosts[0]["host"], "10.0.0.5");
  EXPECT_EQ(hosts[0]["flows_as_server"], 7);
  EXPECT_EQ(hosts[0]["flows_as_client"], 0);
  EXPECT_EQ(hosts[0]["external_peers"], 4);  // the scanner talked to it
  EXPECT_EQ(hosts[1]["host"], "10.0.0.7");
  EXPECT_EQ(hosts[1]["flows_as_client"], 3);
  EXPECT_EQ(hosts[1]["unanswered"], 1);
  EXPECT_EQ(hosts[1]["bytes_sent"], 510);
  EXPECT_EQ(hosts[1]["external_peers"], 1);
  EXPECT_FALSE(hosts[1].contains("peer_addresses"));
  EXPECT_EQ(batches[0].json_lines.find("192.0.2.80"), std::string::npos);
  auto health = OfType(batches, "health");
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0]["flows"], 9);
}

TEST(SummariserFlowTest, FlowEntriesAndPeersAreBoundedAndTheCutCounted) {
  TempSpool spool;
  SummariserConfig config = LocalConfig();
  config.max_flow_entries = 4;
  config.max_peers_tracked = 5;
  Summariser s(config, spool.Writer(), nullptr);
  for (int i = 0; i < 20; ++i) {  // 20 external peers of one service: 2 entries
    std::string peer = "198.51.100." + std::to_string(i + 1);
    End(s, Flow(peer.c_str(), 1000, "10.0.0.5", 22, 1, 1, kT0 + i));
  }
  for (int i = 0; i < 10; ++i) {  // new internal hosts: one more entry fits, the rest are cut
    std::string host = "10.0.1." + std::to_string(i + 1);
    End(s, Flow(host.c_str(), 1000, "192.0.2.1", 443, 1, 1, kT0 + i));
  }
  ASSERT_TRUE(s.Close().has_value());
  auto batches = spool.Batches();
  auto services = OfType(batches, "flow_service");
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0]["flows"], 20);
  EXPECT_EQ(services[0]["external_peers"], 5);
  EXPECT_EQ(services[0]["external_peers_capped"], true);
  EXPECT_EQ(OfType(batches, "flow_host").size(), 3u);
  EXPECT_EQ(s.stats().flows_cut, 8u);
  EXPECT_EQ(OfType(batches, "health")[0]["flows_cut"], 8);
}

rules::engine::Alert MakeAlert(std::string evidence) {
  rules::engine::Alert a;
  a.rule_id = "UTK-SW-0001";
  a.rule_version = 2;
  a.title = "OpenSSH with a known vulnerability";
  a.severity = rules::engine::Severity::kHigh;
  a.ts_first_us = kT0;
  a.ts_last_us = kT0 + kSecond;
  a.key = "10.0.0.9:22/openbsd:openssh";
  a.src = *rules::IpAddress::Parse("10.0.0.9");
  a.port = 22;
  a.evidence = std::move(evidence);
  a.cves = {"CVE-2024-6387"};
  a.known_exploited = true;
  return a;
}

TEST(SummariserAlertTest, AlertsBecomeAlertLinesWithoutPersonalEvidence) {
  TempSpool spool;
  SummariserConfig config = TestConfig();
  config.max_alerts_per_window = 2;
  Summariser s(config, spool.Writer(), nullptr);
  s.OnAlert(MakeAlert("SSH-2.0-OpenSSH_9.2p1"));
  s.OnAlert(MakeAlert("GET http://intranet/login?user=kari@kommune.no"));
  s.OnAlert(MakeAlert("over the bound"));
  ASSERT_TRUE(s.Close().has_value());
  auto batches = spool.Batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].payload_type, uplink::PayloadType::kAlerts);
  EXPECT_EQ(batches[0].priority, uplink::Priority::kHigh);
  auto alerts = OfType(batches, "alert");
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0]["rule_id"], "UTK-SW-0001");
  EXPECT_EQ(alerts[0]["rule_version"], 2);
  EXPECT_EQ(alerts[0]["severity"], "high");
  EXPECT_EQ(alerts[0]["kind"], "software");
  EXPECT_EQ(alerts[0]["host"], "10.0.0.9");
  EXPECT_EQ(alerts[0]["port"], 22);
  EXPECT_EQ(alerts[0]["peer"], "");
  EXPECT_EQ(alerts[0]["evidence"], "SSH-2.0-OpenSSH_9.2p1");
  EXPECT_EQ(alerts[0]["cves"], Json::array({"CVE-2024-6387"}));
  EXPECT_EQ(alerts[0]["known_exploited"], true);
  EXPECT_EQ(alerts[0]["first_seen"], kT0);
  EXPECT_EQ(alerts[0]["last_seen"], kT0 + kSecond);
  EXPECT_EQ(alerts[1]["evidence"], "");
  EXPECT_EQ(s.stats().evidence_blanked, 1u);
  EXPECT_EQ(s.stats().alerts_cut, 1u);
  EXPECT_EQ(batches[0].json_lines.find("kari"), std::string::npos);
}

TEST(SummariserAlertTest, PersonalEvidenceWhenTheConfigAllows) {
  TempSpool spool;
  SummariserConfig config = TestConfig();
  config.alert_personal_evidence = true;
  Summariser s(config, spool.Writer(), nullptr);
  s.OnAlert(MakeAlert("user=kari@kommune.no"));
  ASSERT_TRUE(s.Close().has_value());
  auto alerts = OfType(spool.Batches(), "alert");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["evidence"], "user=kari@kommune.no");
}

TEST(SummariserHealthTest, TickClosesAWindowEveryIntervalEvenWithoutFacts) {
  TempSpool spool;
  SummariserConfig config = TestConfig();
  config.interval_us = 60 * kSecond;
  config.disk_paths = {{"spool", std::filesystem::temp_directory_path().string()},
                       {"missing", "/nonexistent/utkikk"}};
  Summariser s(config, spool.Writer(), nullptr);
  uint64_t packets = 0;
  for (int64_t t = 0; t <= 300; t += 10) {  // five minutes of a quiet live capture
    packets += 100;
    s.SetCaptureStats(packets, t / 60);
    s.Tick(kT0 + t * kSecond);
  }
  auto batches = spool.Batches();
  ASSERT_EQ(batches.size(), 5u);
  auto health = OfType(batches, "health");
  ASSERT_EQ(health.size(), 5u);
  for (size_t i = 0; i < batches.size(); ++i) {
    EXPECT_EQ(batches[i].payload_type, uplink::PayloadType::kInventory);
    EXPECT_EQ(batches[i].window_start_us, kT0 + static_cast<int64_t>(i) * 60 * kSecond);
    EXPECT_EQ(Lines(batches[i]).size(), 1u);
  }
  EXPECT_EQ(health[0]["packets"], 700);
  EXPECT_EQ(health[0]["packets_delta"], 700);
  EXPECT_EQ(health[1]["packets"], 1300);
  EXPECT_EQ(health[1]["packets_delta"], 600);
  EXPECT_EQ(health[1]["drops_delta"], 1);
  EXPECT_TRUE(health[0]["clock"].contains("synced"));
  EXPECT_TRUE(health[0]["disk"]["spool"]["free_bytes"].is_number_unsigned());
  EXPECT_TRUE(health[0]["disk"]["missing"].is_null());
  EXPECT_TRUE(health[0]["uptime_s"].is_number());
  // A file read that ends: no Tick, no further heartbeat; Close writes the last one.
  ASSERT_TRUE(s.Close().has_value());
  EXPECT_EQ(spool.Batches().size(), 6u);
}

TEST(SummariserHealthTest, FreeFormHealthFieldsAreCheckedJson) {
  TempSpool spool;
  Summariser s(TestConfig(), spool.Writer(), nullptr);
  EXPECT_TRUE(s.SetHealthField("rules", R"({"files":3,"rules":120})"));
  EXPECT_TRUE(s.SetHealthField("syslog", "[1,2]"));
  EXPECT_FALSE(s.SetHealthField("packets", "1"));      // the summariser's own member
  EXPECT_FALSE(s.SetHealthField("Bad-Name", "1"));     // not [a-z0-9_]
  EXPECT_FALSE(s.SetHealthField("broken", "{\"a\":"));  // not JSON
  EXPECT_FALSE(s.SetHealthField("two", "1\n2"));
  EXPECT_TRUE(s.SetHealthField("syslog", ""));  // removed
  ASSERT_TRUE(s.Close().has_value());
  auto health = OfType(spool.Batches(), "health");
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0]["rules"]["rules"], 120);
  EXPECT_FALSE(health[0].contains("syslog"));
  EXPECT_FALSE(health[0].contains("broken"));
  EXPECT_EQ(health[0]["health_fields_refused"], 4);
}

TEST(SummariserHealthTest, LogSendersAreSentWhenTheyChange) {
  TempSpool spool;
  Summariser s(TestConfig(), spool.Writer(), nullptr);
  LogSenderSummary fw{"10.0.0.1", 10, 1000, {}, kT0, kT0 + kSecond, false};
  fw.severities[3] = 2;
  fw.severities[6] = 8;
  LogSenderSummary sw{"10.0.0.2", 5, 400, {}, kT0, kT0 + 2 * kSecond, false};
  s.SetLogSenders({fw, sw});
  ASSERT_TRUE(s.Flush().has_value());
  sw.quiet = true;  // only the switch changed
  s.SetLogSenders({fw, sw});
  ASSERT_TRUE(s.Flush().has_value());
  s.SetLogSenders({fw, sw});  // nothing changed: no batch
  ASSERT_TRUE(s.Flush().has_value());
  auto batches = spool.Batches();
  ASSERT_EQ(batches.size(), 4u);  // (logstats, inventory) twice
  EXPECT_EQ(batches[0].payload_type, uplink::PayloadType::kLogstats);
  auto first = OfType({batches[0]}, "log_sender");
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0]["sender"], "10.0.0.1");
  EXPECT_EQ(first[0]["messages"], 10);
  EXPECT_EQ(first[0]["severities"], Json::array({0, 0, 0, 2, 0, 0, 8, 0}));
  EXPECT_EQ(first[0]["last_seen"], kT0 + kSecond);
  auto second = OfType({batches[2]}, "log_sender");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0]["sender"], "10.0.0.2");
  EXPECT_EQ(second[0]["quiet"], true);
}

}  // namespace more

}  // namespace
}  // namespace sensor
