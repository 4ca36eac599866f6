#include "sensor/config.h"

#include <gtest/gtest.h>

namespace sensor {
namespace {

TEST(SensorConfigTest, ReadsEverySectionAndKeepsDefaults) {
  auto config = ParseSensorConfig(R"(member_id: kommune-0301
capture:
  interface: eth1
  snaplen: 2048
  buffer_size: 128MiB
  promiscuous: false
  filter: "not port 22"
local_nets: [10.20.0.0/16, "2001:db8:1::/48"]
flows:
  udp_idle_timeout: 30s
  max_flows: 200000
logs:
  directory: /tmp/x
  format: tsv
inventory:
  database: /tmp/inv.db
  enabled: false
)",
                                  "utkikk.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->member_id, "kommune-0301");
  EXPECT_EQ(config->sensor_id, "kommune-0301-sensor");
  EXPECT_EQ(config->capture.interface, "eth1");
  EXPECT_EQ(config->capture.snaplen, 2048);
  EXPECT_EQ(config->capture.buffer_bytes, 128ULL << 20);
  EXPECT_FALSE(config->capture.promiscuous);
  EXPECT_EQ(config->capture.bpf_filter, "not port 22");
  ASSERT_EQ(config->local_nets.size(), 2u);
  EXPECT_EQ(config->local_nets[1].ToString(), "2001:db8:1::/48");
  EXPECT_EQ(config->flows.udp_idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config->flows.tcp_idle_timeout, std::chrono::minutes(5));
  EXPECT_EQ(config->flows.max_flows, 200000u);
  EXPECT_EQ(config->logs.directory, "/tmp/x");
  EXPECT_EQ(config->logs.format, LogFormat::kTsv);
  EXPECT_EQ(config->inventory.database, "/tmp/inv.db");
  EXPECT_FALSE(config->inventory.enabled);
}

TEST(SensorConfigTest, ReadsSummarySection) {
  auto config = ParseSensorConfig(
      "member_id: m\nsummary:\n  enabled: true\n  spool_directory: /tmp/spool\n  interval: 5m\n",
      "s.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->summary.enabled);
  EXPECT_EQ(config->summary.spool_directory, "/tmp/spool");
  auto bad = ParseSensorConfig("member_id: m\nsummary:\n  enable: true\n", "s.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("s.yaml:3:3: unknown key 'enable'", 0), 0u)
      << bad.error().message;
}

TEST(SensorConfigTest, DefaultsLocalNetsToPrivateRanges) {
  auto config = ParseSensorConfig("member_id: m1\n", "c.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->local_nets.size(), DefaultLocalNets().size());
  EXPECT_EQ(config->logs.format, LogFormat::kJson);
}

struct BadCase {
  const char* name;
  const char* text;
  const char* message;
};

class SensorConfigErrorTest : public testing::TestWithParam<BadCase> {};

TEST_P(SensorConfigErrorTest, NamesFileLineColumn) {
  auto config = ParseSensorConfig(GetParam().text, "utkikk.yaml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, rules::ErrorCode::kConfig);
  EXPECT_EQ(config.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SensorConfigErrorTest,
    testing::Values(
        BadCase{"MissingMemberId", "capture: {}\n", "utkikk.yaml:1:1: missing required key 'member_id'"},
        BadCase{"UnknownKey", "member_id: m\nmembr: x\n",
                "utkikk.yaml:2:1: unknown key 'membr' (known here: alerts, capture, flows, inventory, "
                "local_nets, logs, member_id, sensor_id, summary, syslog, user)"},
        BadCase{"SnaplenOutOfRange", "member_id: m\ncapture:\n  snaplen: 10\n",
                "utkikk.yaml:3:12: value 10 is out of range [64, 262144]"},
        BadCase{"BadCidr", "member_id: m\nlocal_nets: [10.0.0.0/33]\n",
                "utkikk.yaml:2:14: '10.0.0.0/33' is not a network such as 10.0.0.0/8 or "
                "2001:db8::/32"},
        BadCase{"BadLogFormat", "member_id: m\nlogs:\n  format: xml\n",
                "utkikk.yaml:3:11: format must be json or tsv, not 'xml'"},
        BadCase{"ZeroTimeout", "member_id: m\nflows:\n  tcp_idle_timeout: 0s\n",
                "utkikk.yaml:3:21: timeout must be between 1s and 7d"},
        BadCase{"BadId", "member_id: bad id!\n",
                "utkikk.yaml:1:12: an id may hold letters, digits, '-', '_' and '.', not 'bad "
                "id!'"},
        BadCase{"YamlSyntax", "member_id: m\ncapture: [\n",
                "utkikk.yaml:3:1: while parsing a flow node: did not find expected node content"}),
    [](const testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(SensorConfigTest, ProtocolLogsSwitch) {
  auto defaults = ParseSensorConfig("member_id: m\n", "c.yaml");
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_TRUE(defaults->logs.protocol_logs);
  auto off = ParseSensorConfig("member_id: m\nlogs:\n  protocol_logs: false\n", "c.yaml");
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_FALSE(off->logs.protocol_logs);
  auto bad = ParseSensorConfig("member_id: m\nlogs:\n  protocol_logs: sometimes\n", "c.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "c.yaml:3:18: expected true or false, not 'sometimes'");
}

TEST(SensorConfigTest, MissingFileNamesThePath) {
  auto config = LoadSensorConfig("/nonexistent/utkikk.yaml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message, "/nonexistent/utkikk.yaml: cannot open: No such file or directory");
}

}  // namespace
}  // namespace sensor
