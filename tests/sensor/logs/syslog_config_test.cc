// The `syslog:` configuration section and utkikk-syslogd's config file.
#include "sensor/logs/syslog_config.h"

#include <gtest/gtest.h>

namespace sensor {
namespace {

TEST(SyslogConfigTest, ReadsListenersLimitsAndStore) {
  auto c = ReadSyslogdConfigString(R"(member_id: kommune-test
syslog:
  listeners:
    - transport: udp
      address: 127.0.0.1
      allowed_senders: [10.0.0.0/8, 192.0.2.7]
    - transport: tcp
      port: 1514
    - transport: tls
      cert: /etc/utkikk/syslog.crt
      key: /etc/utkikk/syslog.key
      ca: /etc/utkikk/ca.crt
      require_client_cert: true
  limits:
    max_message_bytes: 16KiB
    max_connections: 100
    max_connections_per_sender: 10
    idle_timeout: 5m
    frame_timeout: 30s
    max_messages_per_second: 5000
  store:
    directory: /var/lib/utkikk/logs
    max_bytes: 2GiB
    max_age: 30d
    segment_bytes: 16MiB
    flush_interval: 100ms
)", "test.yaml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->member_id, "kommune-test");
  const SyslogConfig& s = c->syslog;
  EXPECT_TRUE(s.enabled);
  ASSERT_EQ(s.listeners.size(), 3u);
  EXPECT_EQ(s.listeners[0].transport, SyslogTransport::kUdp);
  EXPECT_EQ(s.listeners[0].port, 514);
  EXPECT_EQ(s.listeners[0].address, "127.0.0.1");
  ASSERT_EQ(s.listeners[0].allowed_senders.size(), 2u);
  EXPECT_TRUE(s.listeners[0].allowed_senders[0].Contains(*rules::IpAddress::Parse("10.9.8.7")));
  EXPECT_EQ(s.listeners[1].port, 1514);
  EXPECT_EQ(s.listeners[2].port, 6514);
  EXPECT_TRUE(s.listeners[2].require_client_cert);
  EXPECT_EQ(s.limits.max_message_bytes, 16u * 1024);
  EXPECT_EQ(s.limits.max_connections, 100u);
  EXPECT_EQ(s.limits.frame_timeout, std::chrono::seconds(30));
  EXPECT_EQ(s.limits.max_messages_per_second, 5000u);
  EXPECT_EQ(s.store.directory, "/var/lib/utkikk/logs");
  EXPECT_EQ(s.store.max_bytes, 2ull << 30);
  EXPECT_EQ(s.store.max_age, std::chrono::hours(24 * 30));
  EXPECT_EQ(s.store.flush_interval, std::chrono::milliseconds(100));
}

TEST(SyslogConfigTest, RejectsMistakesWithPositions) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"member_id: x\nsyslog:\n  listeners:\n    - transport: udp\n      prot: 5\n"
       "  store: {directory: /tmp/x}\n", "t.yaml:5:7"},
      {"member_id: x\nsyslog:\n  listeners:\n    - transport: sctp\n  store: {directory: d}\n",
       "transport must be udp, tcp or tls"},
      {"member_id: x\nsyslog:\n  listeners:\n    - transport: tls\n  store: {directory: d}\n",
       "needs cert and key"},
      {"member_id: x\nsyslog:\n  listeners:\n    - {transport: udp, allowed_senders: [10.0.0.0/33]}\n"
       "  store: {directory: d}\n", "not an address or CIDR"},
      {"member_id: x\nsyslog:\n  listeners:\n    - {transport: tcp, require_client_cert: true}\n"
       "  store: {directory: d}\n", "are for tls"},
      {"member_id: x\nsyslog:\n  listeners: []\n  store: {directory: d}\n", "non-empty list"},
      {"member_id: x\nsyslog:\n  listeners:\n    - {transport: udp}\n", "store"},
      {"syslog:\n  listeners:\n    - {transport: udp}\n  store: {directory: d}\n", "member_id"},
      {"member_id: x\nextra: 1\nsyslog:\n  listeners:\n    - {transport: udp}\n"
       "  store: {directory: d}\n", "extra"},
      {"member_id: x\nsyslog:\n  listeners:\n    - {transport: udp, port: 70000}\n"
       "  store: {directory: d}\n", "t.yaml:4:"},
  };
  for (const Case& c : cases) {
    auto r = ReadSyslogdConfigString(c.yaml, "t.yaml");
    ASSERT_FALSE(r) << c.yaml;
    EXPECT_NE(r.error().message.find(c.error), std::string::npos)
        << c.yaml << "\n=> " << r.error().message;
  }
}

}  // namespace
}  // namespace sensor
