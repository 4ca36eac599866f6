#include "sensor/logs/syslog_parser.h"

#include <string>

#include <gtest/gtest.h>

namespace sensor {
namespace {

SyslogMessage ParseOne(std::string_view raw, int year = 2024) {
  SyslogParser parser(SyslogParserConfig{.default_year = year});
  SyslogMessage m;
  parser.Parse(raw, &m);
  return m;
}

std::string Json(const SyslogMessage& m) {
  std::string out;
  AppendJson(m, &out);
  return out;
}

TEST(SyslogParserTest, ReadsRfc5424WithStructuredDataEscapesAndBom) {
  auto m = ParseOne(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"lic\\]ation\\\\\"][b x=\"y\"] "
      "\xEF\xBB\xBF" "An application event");
  EXPECT_EQ(m.format, "rfc5424");
  EXPECT_EQ(*m.pri, 165);
  EXPECT_EQ(m.timestamp, "2003-10-11T22:14:15.003Z");
  EXPECT_EQ(m.hostname, "mymachine.example.com");
  EXPECT_EQ(m.app_name, "evntslog");
  EXPECT_EQ(m.procid, "");
  EXPECT_EQ(m.msgid, "ID47");
  ASSERT_EQ(m.structured_data.size(), 2u);
  EXPECT_EQ(m.structured_data[0].id, "exampleSDID@32473");
  EXPECT_EQ(m.structured_data[0].params[1].second, "App\"lic]ation\\");
  EXPECT_EQ(m.message, "An application event");  // BOM stripped
}

TEST(SyslogParserTest, RejectsBrokenRfc5424AsRawButKeepsEverything) {
  auto m = ParseOne("<132>1 2006-10-29T01:59:59.156+01:00 host app - - [a i=\"\"ok\"] text");
  EXPECT_EQ(m.format, "raw");
  EXPECT_EQ(*m.pri, 132);
  EXPECT_NE(m.message.find("text"), std::string::npos);
}

TEST(SyslogParserTest, OverlongRfc5424FieldsAreLax) {
  std::string app(60, 'a');
  auto m = ParseOne("<7>1 - host " + app + " - - - hello");
  EXPECT_EQ(m.format, "rfc5424-lax");
  EXPECT_EQ(m.app_name.size(), 48u);
  EXPECT_EQ(m.message, "hello");
}

TEST(SyslogParserTest, ReadsRfc3164WithYearlessTimestampAndPid) {
  auto m = ParseOne("<34>Oct  1 22:14:15 mymachine myapp[42]: 'su root' failed", 2023);
  EXPECT_EQ(m.format, "rfc3164");
  EXPECT_EQ(*m.pri, 34);
  EXPECT_EQ(m.timestamp, "2023-10-01T22:14:15Z");
  EXPECT_EQ(m.hostname, "mymachine");
  EXPECT_EQ(m.app_name, "myapp");
  EXPECT_EQ(m.procid, "42");
  EXPECT_EQ(m.message, "'su root' failed");
}

TEST(SyslogParserTest, KeepsTheZoneOfIsoTimestampsIn3164) {
  auto m = ParseOne("<6>2014-02-10T08:33:15.407935-08:00 host kernel: started");
  EXPECT_EQ(m.timestamp, "2014-02-10T08:33:15.407935-08:00");
  EXPECT_EQ(m.hostname, "host");
  EXPECT_EQ(m.app_name, "kernel");
}

TEST(SyslogParserTest, ReadsCiscoIosSequenceAndUnsyncedClock) {
  auto m = ParseOne("<189>72: *Mar  3 19:57:17.371: %LINK-5-CHANGED: Interface Gi0/2, changed");
  EXPECT_EQ(m.format, "cisco-ios");
  EXPECT_EQ(m.app_name, "LINK-5-CHANGED");
  EXPECT_EQ(m.timestamp, "2024-03-03T19:57:17.371Z");
  EXPECT_EQ(*m.Field("seq"), "72");
  EXPECT_EQ(*m.Field("event_id"), "LINK-CHANGED");
  ASSERT_EQ(m.structured_data.size(), 1u);
  EXPECT_EQ(m.structured_data[0].params[0].second, "0");
}

TEST(SyslogParserTest, ReadsCiscoAsaAddresses) {
  auto m = ParseOne(
      "<166>May 21 2017 00:00:00: %ASA-6-302013: Built inbound TCP connection 1 for "
      "outside:192.0.2.1/4242 (192.0.2.1/4242) to inside:10.0.0.5/22 (10.0.0.5/22)");
  EXPECT_EQ(m.format, "cisco-asa");
  EXPECT_EQ(m.timestamp, "2017-05-21T00:00:00Z");
  EXPECT_EQ(*m.Field("src_ip"), "192.0.2.1");
  EXPECT_EQ(*m.Field("src_port"), "4242");
  EXPECT_EQ(*m.Field("dst_ip"), "10.0.0.5");
  EXPECT_EQ(*m.Field("dst_port"), "22");
  EXPECT_EQ(*m.Field("proto"), "tcp");
  EXPECT_EQ(*m.Field("event_id"), "302013");
}

TEST(SyslogParserTest, ReadsFortigateKeyValues) {
  auto m = ParseOne(
      "<189>date=2021-12-09 time=16:29:06 devname=\"FW1\" devid=\"FGT61\" logid=\"0000000013\" "
      "type=\"traffic\" srcip=10.0.0.13 srcport=57381 dstip=10.1.251.5 dstport=53 proto=17 "
      "action=\"accept\" policyid=7");
  EXPECT_EQ(m.format, "fortigate");
  EXPECT_EQ(*m.Field("src_ip"), "10.0.0.13");
  EXPECT_EQ(*m.Field("dst_port"), "53");
  EXPECT_EQ(*m.Field("action"), "accept");
  EXPECT_EQ(*m.Field("rule"), "7");
}

TEST(SyslogParserTest, ReadsPfsenseFilterlog) {
  auto m = ParseOne(
      "<134>Sep 28 10:38:09 pfSense filterlog: 53,,,1000000301,em0,match,block,in,4,0x0,,64,"
      "420,0,none,6,tcp,460,10.0.2.2,10.0.2.15,53742,22,420,PA,29633380:29633800,1,65535,,");
  EXPECT_EQ(m.format, "pfsense");
  EXPECT_EQ(*m.Field("action"), "block");
  EXPECT_EQ(*m.Field("src_ip"), "10.0.2.2");
  EXPECT_EQ(*m.Field("dst_port"), "22");
  EXPECT_EQ(*m.Field("proto"), "tcp");
}

TEST(SyslogParserTest, ReadsPaloAltoCsv) {
  auto m = ParseOne(
      "<14>Apr 30 06:00:00 pa1 1,2020/02/09 00:00:00,0011,TRAFFIC,end,1,2020/02/09 00:00:00,"
      "10.1.1.1,8.8.8.8,0.0.0.0,0.0.0.0,allow-dns,alice,,dns,vsys1,trust,untrust,e1/1,e1/2,fwd,"
      "2020/02/09 00:00:00,77,1,53000,53,0,0,0x0,udp,allow");
  EXPECT_EQ(m.format, "paloalto");
  EXPECT_EQ(m.hostname, "pa1");
  EXPECT_EQ(*m.Field("src_ip"), "10.1.1.1");
  EXPECT_EQ(*m.Field("rule"), "allow-dns");
  EXPECT_EQ(*m.Field("user"), "alice");
  EXPECT_EQ(*m.Field("dst_port"), "53");
  EXPECT_EQ(*m.Field("action"), "allow");
}

TEST(SyslogParserTest, ReadsSnareAndNxlogWindowsEvents) {
  auto snare = ParseOne(
      "<14>Sep 17 16:37:25 WIN-1 MSWinEventLog\t1\tSecurity\t6862\tFri Sep 17 16:37:25 2021\t"
      "4625\tMicrosoft-Windows-Security-Auditing\tbob\tN/A\tFailure Audit\tWIN-1\tLogon\t\tx");
  EXPECT_EQ(snare.format, "snare");
  EXPECT_EQ(*snare.Field("event_id"), "4625");
  EXPECT_EQ(*snare.Field("host_name"), "WIN-1");
  EXPECT_EQ(*snare.Field("user"), "bob");
  auto nx = ParseOne(
      "<13>Oct  1 10:00:00 dc1 Microsoft-Windows-Security-Auditing[4]: {\"EventID\":4625,"
      "\"Hostname\":\"dc1.example\",\"TargetUserName\":\"eve\",\"IpAddress\":\"192.0.2.9\"}");
  EXPECT_EQ(nx.format, "nxlog");
  EXPECT_EQ(*nx.Field("event_id"), "4625");
  EXPECT_EQ(*nx.Field("user"), "eve");
  EXPECT_EQ(*nx.Field("src_ip"), "192.0.2.9");
}

TEST(SyslogParserTest, ReadsDhcpLeases) {
  auto isc = ParseOne(
      "<30>Jan 27 09:25:31 gw dhcpd[71391]: DHCPACK on 192.168.17.164 to f4:8c:50:9d:eb:35 "
      "(laptop) via em1");
  EXPECT_EQ(isc.format, "isc-dhcpd");
  EXPECT_EQ(*isc.Field("ip"), "192.168.17.164");
  EXPECT_EQ(*isc.Field("mac"), "f4:8c:50:9d:eb:35");
  EXPECT_EQ(*isc.Field("host_name"), "laptop");
  auto dnsmasq = ParseOne(
      "<30>Feb  2 13:02:51 rt dnsmasq-dhcp[2971]: DHCPACK(br1) 192.168.101.149 "
      "ab:cd:ef:01:23:45 phone");
  EXPECT_EQ(dnsmasq.format, "dnsmasq");
  EXPECT_EQ(*dnsmasq.Field("ip"), "192.168.101.149");
  EXPECT_EQ(*dnsmasq.Field("host_name"), "phone");
}

TEST(SyslogParserTest, ReadsSshdAndSudo) {
  auto ssh = ParseOne(
      "Feb  9 11:44:56 srv sshd[1234]: Failed password for invalid user admin from 192.0.2.7 "
      "port 4242 ssh2");
  EXPECT_EQ(ssh.format, "sshd");
  EXPECT_EQ(*ssh.Field("user"), "admin");
  EXPECT_EQ(*ssh.Field("src_ip"), "192.0.2.7");
  EXPECT_EQ(*ssh.Field("src_port"), "4242");
  auto sudo = ParseOne(
      "Apr 27 15:22:23 niban sudo:     dcid : TTY=pts/4 ; PWD=/home/dcid ; USER=root ; "
      "COMMAND=/usr/bin/tail");
  EXPECT_EQ(sudo.format, "sudo");
  EXPECT_EQ(*sudo.Field("user"), "dcid");
  EXPECT_EQ(*sudo.Field("target_user"), "root");
}

TEST(SyslogParserTest, NeverLosesUnparseableInput) {
  for (std::string raw : {std::string("X"), std::string("<999>nope"), std::string("<12"),
                          std::string("\0\0\xff\xfe", 4), std::string(), std::string("<1>1 ")}) {
    auto m = ParseOne(raw);
    std::string json = Json(m);
    EXPECT_FALSE(json.empty());
    if (raw == "X") {
      EXPECT_EQ(m.format, "raw");
      EXPECT_EQ(m.message, "X");
      EXPECT_FALSE(m.pri.has_value());
    }
  }
}

TEST(SyslogParserTest, JsonIsValidUtf8WithReplacementCharacters) {
  SyslogMessage m;
  m.message = std::string("a\xff" "b\n\x01\"", 6);
  std::string json = Json(m);
  EXPECT_EQ(json, "{\"message\":\"a\xEF\xBF\xBD" "b\\n\\u0001\\\"\",\"format\":\"raw\"}");
  m.pri = 165;
  m.SetField("src_ip", "192.0.2.1");
  json.clear();
  AppendJson(m, &json);
  EXPECT_NE(json.find("\"pri\":165,\"facility\":20,\"severity\":5"), std::string::npos);
  EXPECT_NE(json.find("\"fields\":{\"src_ip\":\"192.0.2.1\"}"), std::string::npos);
}

TEST(SyslogParserTest, CutsHostileLongInputAndCountsIt) {
  SyslogParser parser(SyslogParserConfig{.default_year = 2024, .max_message_bytes = 1000});
  SyslogMessage m;
  parser.Parse("<13>Jan  1 00:00:00 h t: " + std::string(100000, 'x'), &m);
  EXPECT_LE(m.message.size(), 1000u);
  EXPECT_EQ(parser.stats().truncated, 1u);
}

}  // namespace
}  // namespace sensor
