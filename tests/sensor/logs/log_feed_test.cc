// The hand-over from the receiver thread to the packet thread (LogFeed), the per-sender watch
// that raises log-sender-quiet (LogSenderWatch), and the inventory's log_senders table with the
// "sends logs" line of `utkikk inventory`.
#include "sensor/logs/log_feed.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "sensor/alerts/alerting.h"
#include "sensor/inventory/inventory.h"
#include "sensor/inventory/report.h"
#include "sensor/logs/syslog_parser.h"

namespace sensor {
namespace {

namespace fs = std::filesystem;
using rules::IpAddress;

constexpr int64_t kHourUs = 3'600'000'000;

struct FakeFacts : rules::FactSink {
  std::vector<rules::AddressFact> addresses;
  std::vector<rules::NameFact> names;
  void OnAddress(const rules::AddressFact& f) override { addresses.push_back(f); }
  void OnName(const rules::NameFact& f) override { names.push_back(f); }
  void OnOs(const rules::OsFact&) override {}
  void OnService(const rules::ServiceFact&) override {}
  void OnSoftware(const rules::SoftwareFact&) override {}
};

void Feed(LogFeed* feed, std::string_view raw, int64_t receive_us = 1'795'000'000'000'000) {
  SyslogParser parser;
  SyslogMessage m;
  parser.Parse(raw, &m);
  LogRecord r;
  r.receive_time_us = receive_us;
  r.sender = *IpAddress::Parse("10.0.0.2");
  r.raw = raw;
  feed->OnMessage(r, m);
}

TEST(LogFeedTest, FactsToTheSinkEventsToTheHandler) {
  LogFeed feed;
  Feed(&feed, "<30>Nov 18 10:00:00 gw dhcpd[1]: DHCPACK on 10.1.2.3 to aa:bb:cc:dd:ee:01 (pc-1) "
              "via eth0");
  Feed(&feed, "<38>Nov 18 10:00:01 srv sshd[2]: Failed password for root from 203.0.113.5 port "
              "1 ssh2");
  FakeFacts facts;
  std::vector<rules::engine::LogEvent> events;
  EXPECT_EQ(feed.Drain(&facts, [&](const rules::engine::LogEvent& e) { events.push_back(e); }),
            4u);
  ASSERT_EQ(facts.addresses.size(), 1u);
  EXPECT_EQ(facts.addresses[0].ip.ToString(), "10.1.2.3");
  ASSERT_EQ(facts.names.size(), 1u);
  EXPECT_EQ(facts.names[0].name, "pc-1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(*events[0].Field("event"), "dhcp_lease");
  EXPECT_EQ(*events[1].Field("event"), "auth_failure");
  EXPECT_EQ(*events[1].Field("sender"), "10.0.0.2");
  LogFeedStats s = feed.stats();
  EXPECT_EQ(s.messages, 2u);
  EXPECT_EQ(s.facts, 2u);
  EXPECT_EQ(s.events, 2u);
  EXPECT_EQ(s.delivered, 4u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(feed.Drain(&facts, {}), 0u);
}

TEST(LogFeedTest, FullQueueDropsAndCounts) {
  LogFeed feed(3);
  for (int i = 0; i < 5; ++i) Feed(&feed, "<13>Nov 18 10:00:00 h app: line");
  LogFeedStats s = feed.stats();
  EXPECT_EQ(s.queued, 3u);
  EXPECT_EQ(s.events, 3u);
  EXPECT_EQ(s.dropped_events, 2u);
  // A byte bound as well: one big message does not fit in 1 KiB.
  LogFeed small(100, true, 1024);
  Feed(&small, "<13>Nov 18 10:00:00 h app: " + std::string(2000, 'x'));
  EXPECT_EQ(small.stats().dropped_events, 1u);
  EXPECT_EQ(small.stats().queued, 0u);
  // Without log rules only facts are queued.
  LogFeed facts_only(100, false);
  Feed(&facts_only, "<13>Nov 18 10:00:00 h app: line");
  EXPECT_EQ(facts_only.stats().queued, 0u);
}

// One producer thread, one consumer: every item is delivered or counted as dropped.
TEST(LogFeedTest, ProducerAndConsumerThreadsLoseNothingUncounted) {
  LogFeed feed(256);
  constexpr int kMessages = 20000;
  std::thread producer([&] {
    for (int i = 0; i < kMessages; ++i) {
      Feed(&feed, "<30>Nov 18 10:00:00 gw dhcpd[1]: DHCPACK on 10.1.2.3 to aa:bb:cc:dd:ee:01 "
                  "via eth0");
    }
  });
  FakeFacts facts;
  uint64_t events = 0;
  size_t delivered = 0;
  while (feed.stats().messages < static_cast<uint64_t>(kMessages)) {
    delivered += feed.Drain(&facts, [&](const rules::engine::LogEvent&) { ++events; });
  }
  producer.join();
  delivered += feed.Drain(&facts, [&](const rules::engine::LogEvent&) { ++events; });
  LogFeedStats s = feed.stats();
  EXPECT_EQ(delivered, s.delivered);
  EXPECT_EQ(facts.addresses.size() + events + s.dropped_facts + s.dropped_events,
            2u * kMessages);
  EXPECT_LE(s.peak_queued, 256u);
}

SenderStats Steady(int64_t last_seen_us, uint32_t per_hour) {
  SenderStats s;
  s.sender = *IpAddress::Parse("10.0.0.9");
  s.last_seen_us = last_seen_us;
  s.first_seen_us = last_seen_us - 5 * kHourUs;
  int64_t hour = last_seen_us / kHourUs;
  for (int i = 0; i <= 4; ++i) s.hourly[(hour - i) % 24] = per_hour;
  s.messages = 5 * per_hour;
  return s;
}

TEST(LogSenderWatchTest, SteadySenderGoingQuietRaisesOneAlertPerQuietPeriod) {
  LogStoreConfig config;  // 10 an hour for 3 hours, then 1 h of silence
  LogSenderWatch watch(config);
  const int64_t t = 1'795'000'000'000'000;
  std::vector<rules::engine::Alert> alerts;
  auto states = watch.Update({Steady(t, 20)}, t + kHourUs / 2, &alerts);
  ASSERT_EQ(states.size(), 1u);
  EXPECT_FALSE(states[0].quiet);
  EXPECT_TRUE(alerts.empty());

  states = watch.Update({Steady(t, 20)}, t + 2 * kHourUs, &alerts);
  EXPECT_TRUE(states[0].quiet);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].rule_id, kLogSenderQuietRule);
  EXPECT_EQ(alerts[0].kind, rules::engine::RuleKind::kLog);
  EXPECT_EQ(alerts[0].key, "10.0.0.9");
  EXPECT_EQ(alerts[0].src.ToString(), "10.0.0.9");
  EXPECT_NE(alerts[0].evidence.find("silent for 120 min"), std::string::npos) << alerts[0].evidence;

  watch.Update({Steady(t, 20)}, t + 3 * kHourUs, &alerts);  // still the same quiet period
  EXPECT_EQ(alerts.size(), 1u);
  // It speaks again, then goes quiet again: a new alert.
  watch.Update({Steady(t + 4 * kHourUs, 20)}, t + 4 * kHourUs, &alerts);
  EXPECT_EQ(alerts.size(), 1u);
  watch.Update({Steady(t + 4 * kHourUs, 20)}, t + 6 * kHourUs, &alerts);
  EXPECT_EQ(alerts.size(), 2u);
  // A sender that was never steady is inactive, not quiet.
  watch.Update({Steady(t, 2)}, t + 9 * kHourUs, &alerts);
  EXPECT_EQ(alerts.size(), 2u);
}

TEST(LogSendersInventoryTest, HostThatSendsLogsShowsInTheReport) {
  std::string dir = fs::temp_directory_path().string() + "/utkikk-logfeed-inventory-" +
                    std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string db = dir + "/inventory.db";
  {
    auto inv = Inventory::Open(db, InventoryConfig{.log_dir = "", .oui_dir = ""});
    ASSERT_TRUE(inv) << inv.error().message;
    rules::AddressFact a;
    a.mac = {0x02, 0, 0, 0, 0, 0x09};
    a.ip = *IpAddress::Parse("10.0.0.9");
    a.origin.ts_us = 1'795'000'000'000'000;
    a.origin.source = "arp";
    (*inv)->OnAddress(a);
    InventoryLogSender l;
    l.sender = "10.0.0.9";
    l.messages = 120;
    l.bytes = 9000;
    l.severities[6] = 100;
    l.severities[3] = 20;
    l.first_seen_us = 1'795'000'000'000'000;
    l.last_seen_us = 1'795'000'360'000'000;
    l.quiet = true;
    ASSERT_TRUE((*inv)->SetLogSenders({l}));
    l.messages = 121;  // replaced, not added
    ASSERT_TRUE((*inv)->SetLogSenders({l}));
    InventoryLogSender other = l;
    other.sender = "10.0.0.77";  // not a host the sensor saw
    ASSERT_TRUE((*inv)->SetLogSenders({other}));
    ASSERT_TRUE((*inv)->Close());
  }
  auto hosts = ReadInventory(db, {});
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 1u);
  ASSERT_TRUE((*hosts)[0].logs.has_value());
  EXPECT_EQ((*hosts)[0].logs->messages, 121u);
  EXPECT_EQ((*hosts)[0].logs->severities[3], 20u);
  EXPECT_TRUE((*hosts)[0].logs->quiet);
  std::string table = FormatInventory(*hosts, InventoryFormat::kTable);
  EXPECT_NE(table.find("sends logs: 121 messages, 9000 bytes from 10.0.0.9"), std::string::npos)
      << table;
  EXPECT_NE(table.find("WENT QUIET"), std::string::npos) << table;
  std::string json = FormatInventory(*hosts, InventoryFormat::kJson);
  EXPECT_NE(json.find("\"logs\":{\"sender\":\"10.0.0.9\",\"messages\":121"), std::string::npos)
      << json;
  fs::remove_all(dir);
}

// Log events reach the shipped log rules through Alerting::OnLogEvent, and the quiet-sender
// alert goes through Alerting::Raise: both end in notice.log.
TEST(LogAlertsTest, LogEventsAndQuietSendersRaiseThroughAlerting) {
  std::string dir = fs::temp_directory_path().string() + "/utkikk-logfeed-alerts-" +
                    std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string db = dir + "/inventory.db";
  auto inv = Inventory::Open(db, InventoryConfig{.log_dir = "", .oui_dir = ""});
  ASSERT_TRUE(inv) << inv.error().message;
  AlertsSettings settings;
  settings.rule_files = {"logs-authentication.yaml"};
  auto alerting = OpenAlerting(settings, db, dir, ZeekLogFormat::kJson, "t", {}, **inv);
  ASSERT_TRUE(alerting) << alerting.error().message;
  LogFeed feed;
  const int64_t t = 1'795'000'000'000'000;
  for (int i = 0; i < 10; ++i) {
    Feed(&feed, "Failed password for root from 203.0.113.5 port 1 ssh2", t + i * 1'000'000);
  }
  // Feed() parses a bare MSG (no header): give it the program the rule asks for.
  feed.Drain(&(*alerting)->facts(), [&](const rules::engine::LogEvent& e) {
    rules::engine::LogEvent with_program = e;
    with_program.program = "sshd";
    (*alerting)->OnLogEvent(with_program);
  });
  LogSenderWatch watch{LogStoreConfig{}};
  std::vector<rules::engine::Alert> quiet;
  watch.Update({Steady(t, 20)}, t + 2 * kHourUs, &quiet);
  ASSERT_EQ(quiet.size(), 1u);
  (*alerting)->Raise(quiet);
  EXPECT_EQ((*alerting)->stats().emitted, 2u);
  ASSERT_TRUE((*alerting)->Close());
  ASSERT_TRUE((*inv)->Close());
  std::ifstream in(dir + "/notice.log");
  std::stringstream notice;
  notice << in.rdbuf();
  EXPECT_NE(notice.str().find("\"note\":\"log-ssh-password-guessing\""), std::string::npos)
      << notice.str();
  EXPECT_NE(notice.str().find("\"note\":\"log-sender-quiet\""), std::string::npos)
      << notice.str();
  EXPECT_NE(notice.str().find("silent for 120 min"), std::string::npos) << notice.str();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sensor
