#include "sensor/output/zeek_log.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rules/ip_address.h"
#include "sensor/flow/flow_table.h"

namespace sensor {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kOpen = 1700000000'000000;  // 2023-11-14 22:13:20 UTC
constexpr int64_t kClose = 1700003600'500000;

rules::IpAddress Ip(std::string_view s) { return *rules::IpAddress::Parse(s); }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path ScratchDir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(testing::TempDir()) / "zeek_log_test" / info->name();
  fs::remove_all(dir);
  return dir;
}

// Compares with tests/data/golden/conn/<name>, or rewrites it when UPDATE_GOLDEN=1.
testing::AssertionResult MatchesGolden(const fs::path& written, const std::string& name) {
  fs::path golden = fs::path(TEST_DATA_DIR) / "golden" / "conn" / name;
  std::string actual = ReadFile(written);
  const char* update = std::getenv("UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden, std::ios::binary) << actual;
    return testing::AssertionSuccess();
  }
  if (!fs::exists(golden)) {
    return testing::AssertionFailure() << golden << " missing; run with UPDATE_GOLDEN=1";
  }
  std::string expected = ReadFile(golden);
  if (actual != expected) {
    return testing::AssertionFailure() << written << " differs from " << golden << ":\n"
                                       << actual << "\nexpected:\n" << expected;
  }
  return testing::AssertionSuccess();
}

FlowRecord MakeFlow(std::string_view uid, std::string_view orig_h, uint16_t orig_p,
                    std::string_view resp_h, uint16_t resp_p, uint8_t proto) {
  FlowRecord f;
  f.uid = uid;
  f.id.orig_h = Ip(orig_h);
  f.id.orig_p = orig_p;
  f.id.resp_h = Ip(resp_h);
  f.id.resp_p = resp_p;
  f.id.proto = proto;
  f.key.proto = proto;
  return f;
}

// A fixed set of records covering TCP/UDP/ICMP/other, IPv4/IPv6, set and unset fields and
// strings that need escaping.
std::vector<FlowRecord> GoldenFlows() {
  std::vector<FlowRecord> flows;
  {
    FlowRecord f = MakeFlow("CHhAvVGS1DHFjwGM9", "192.168.1.10", 51234, "93.184.216.34", 80, 6);
    f.start_us = 1700000001'123456;
    f.last_us = 1700000001'623456;
    f.orig = {6, 800, 716, 210, 0};
    f.resp = {5, 2000, 1930, 1790, 0};
    f.tcp.orig.state = TcpEndpointState::kClosed;
    f.tcp.resp.state = TcpEndpointState::kClosed;
    f.history = "ShADadFf";
    f.classification.service = "http";
    f.classification.application = "HTTP";
    flows.push_back(std::move(f));
  }
  {
    FlowRecord f = MakeFlow("C7fIlMZDuRiqjpYbb", "fd00::10", 53124, "2001:db8::53", 53, 17);
    f.start_us = 1700000002'000001;
    f.last_us = 1700000002'020000;
    f.orig = {1, 88, 74, 26, 0};
    f.resp = {1, 130, 116, 68, 0};
    f.history = "^dD";
    f.classification.service = "dns";
    f.classification.application = "DNS";
    flows.push_back(std::move(f));
  }
  {
    FlowRecord f = MakeFlow("CwjjYJ2WqgTbAqiHl6", "10.1.2.3", 8, "10.1.2.4", 0, 1);
    f.start_us = 1700000003'000000;
    f.last_us = 1700000003'000000;  // one packet: duration and bytes unset
    f.orig = {1, 98, 84, 56, 0};
    flows.push_back(std::move(f));
  }
  {
    FlowRecord f = MakeFlow("CUM0KZ3MLUfNB0cl11", "10.0.0.1", 40000, "10.0.0.2", 445, 6);
    f.start_us = 1700000004'000000;
    f.last_us = 1700000064'000000;
    f.orig = {10, 1000, 860, 5000, 300};
    f.resp = {8, 900, 788, 400, 0};
    f.tcp.orig.state = TcpEndpointState::kPartial;
    f.tcp.resp.state = TcpEndpointState::kPartial;
    f.history = "DdAGa";
    f.classification.service = "-";
    f.classification.application = "odd\tname\\with \"quotes\" \xff\x01 and \xc3\xa5";
    flows.push_back(std::move(f));
  }
  {
    FlowRecord f = MakeFlow("CsWt0V3y1wHW0NlAa", "10.0.0.5", 0, "10.0.0.6", 0, 47);
    f.start_us = 1700000005'000000;
    f.last_us = 1700000005'250000;
    f.orig = {2, 300, 272, 248, 0};
    f.resp = {1, 150, 136, 124, 0};
    flows.push_back(std::move(f));
  }
  return flows;
}

void WriteGoldenLogs(const fs::path& dir, ZeekLogFormat format) {
  auto conn = ConnLog::Open(dir.string(), format, kOpen);
  ASSERT_TRUE(conn) << conn.error().message;
  bool local = true;
  for (const FlowRecord& f : GoldenFlows()) {
    auto w = (*conn)->Write(f, local, !local);
    ASSERT_TRUE(w) << w.error().message;
    local = !local;
  }
  ASSERT_TRUE((*conn)->Close(kClose));

  auto weird = WeirdLog::Open(dir.string(), format, kOpen);
  ASSERT_TRUE(weird) << weird.error().message;
  FlowEndpoints id;
  id.orig_h = Ip("10.0.0.1");
  id.orig_p = 40000;
  id.resp_h = Ip("10.0.0.2");
  id.resp_p = 445;
  id.proto = 6;
  ASSERT_TRUE((*weird)->Write({.ts_us = 1700000004'500000, .uid = "CUM0KZ3MLUfNB0cl11",
                               .id = &id, .name = "SYN_with_data", .addl = "",
                               .notice = false, .peer = "kommune-0301-sensor", .source = "TCP"}));
  ASSERT_TRUE((*weird)->Write({.ts_us = 1700000006'000000, .name = "truncated_IP",
                               .addl = "len=20 caplen=14", .peer = "kommune-0301-sensor",
                               .source = "IP"}));
  ASSERT_TRUE((*weird)->Close(kClose));

  auto stats = StatsLog::Open(dir.string(), format, kOpen);
  ASSERT_TRUE(stats) << stats.error().message;
  SensorStatsSnapshot s;
  s.ts_us = 1700000060'000000;
  s.peer = "kommune-0301-sensor";
  s.mem = 212;
  s.pkts_proc = 123456;
  s.bytes_recv = 98765432;
  s.pkts_dropped = 3;
  s.pkts_link = 123459;
  s.active_tcp_conns = 40;
  s.active_udp_conns = 12;
  s.active_icmp_conns = 1;
  s.tcp_conns = 400;
  s.udp_conns = 120;
  s.icmp_conns = 4;
  s.flows_evicted = 0;
  s.dpi_states = 17;
  s.weirds = 2;
  ASSERT_TRUE((*stats)->Write(s));
  ASSERT_TRUE((*stats)->Close(kClose));
}

TEST(ZeekLogTest, WritesGoldenJsonLogs) {
  fs::path dir = ScratchDir();
  WriteGoldenLogs(dir, ZeekLogFormat::kJson);
  EXPECT_TRUE(MatchesGolden(dir / "conn.log", "conn.json"));
  EXPECT_TRUE(MatchesGolden(dir / "weird.log", "weird.json"));
  EXPECT_TRUE(MatchesGolden(dir / "stats.log", "stats.json"));
}

TEST(ZeekLogTest, WritesGoldenTsvLogs) {
  fs::path dir = ScratchDir();
  WriteGoldenLogs(dir, ZeekLogFormat::kTsv);
  EXPECT_TRUE(MatchesGolden(dir / "conn.log", "conn.tsv"));
  EXPECT_TRUE(MatchesGolden(dir / "weird.log", "weird.tsv"));
  EXPECT_TRUE(MatchesGolden(dir / "stats.log", "stats.tsv"));
}

TEST(ZeekLogTest, ConnJsonLineHasZeekShape) {
  fs::path dir = ScratchDir();
  auto conn = ConnLog::Open(dir.string(), ZeekLogFormat::kJson, kOpen);
  ASSERT_TRUE(conn);
  ASSERT_TRUE((*conn)->Write(GoldenFlows()[0], true, false));
  ASSERT_TRUE((*conn)->Flush());
  EXPECT_EQ(ReadFile(dir / "conn.log"),
            "{\"ts\":1700000001.123456,\"uid\":\"CHhAvVGS1DHFjwGM9\",\"id.orig_h\":\"192.168.1.10\","
            "\"id.orig_p\":51234,\"id.resp_h\":\"93.184.216.34\",\"id.resp_p\":80,"
            "\"proto\":\"tcp\",\"service\":\"http\",\"duration\":0.500000,\"orig_bytes\":210,"
            "\"resp_bytes\":1790,\"conn_state\":\"SF\",\"local_orig\":true,\"local_resp\":false,"
            "\"missed_bytes\":0,\"history\":\"ShADadFf\",\"orig_pkts\":6,\"orig_ip_bytes\":716,"
            "\"resp_pkts\":5,\"resp_ip_bytes\":1930,\"app\":\"HTTP\"}\n");
}

TEST(ZeekLogTest, TsvHeaderNamesFieldsAndTypes) {
  fs::path dir = ScratchDir();
  {
    auto conn = ConnLog::Open(dir.string(), ZeekLogFormat::kTsv, kOpen);
    ASSERT_TRUE(conn);
    ASSERT_TRUE((*conn)->Close(kClose));
  }
  EXPECT_EQ(ReadFile(dir / "conn.log"),
            "#separator \\x09\n"
            "#set_separator\t,\n"
            "#empty_field\t(empty)\n"
            "#unset_field\t-\n"
            "#path\tconn\n"
            "#open\t2023-11-14-22-13-20\n"
            "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\t"
            "duration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\t"
            "history\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\tapp\n"
            "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\t"
            "string\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tstring\n"
            "#close\t2023-11-14-23-13-20\n");
}

std::vector<ZeekField> EscapeFields() {
  return {{"s", ZeekType::kString},
          {"set", ZeekType::kStringSet},
          {"vec", ZeekType::kStringVector},
          {"d", ZeekType::kDouble},
          {"e", ZeekType::kEnum},
          {"t", ZeekType::kTime}};
}

void WriteEscapeRows(ZeekLog& log) {
  const std::vector<std::string> set = {"a,b", "-", ""};
  const std::vector<std::string> empty;
  log.Begin();
  log.String("tab\there\\back\nnl\x7f\xff-");
  log.StringSet(set);
  log.StringVector(empty);
  log.Double(0.25);
  log.Enum("tcp");
  log.Time(-1'500000);
  ASSERT_TRUE(log.End());
  log.Begin();
  log.String("-");
  log.Unset();
  log.Unset();
  log.Unset();
  log.Unset();
  log.Time(0);
  ASSERT_TRUE(log.End());
  log.Begin();
  log.String("");
  log.StringSet(empty);
  log.Unset();
  log.Double(3);
  log.Unset();
  log.Time(1);
  ASSERT_TRUE(log.End());
  log.Begin();
  log.String("(empty)");
  log.Unset();
  log.Unset();
  log.Unset();
  log.Unset();
  log.Unset();
  ASSERT_TRUE(log.End());
}

TEST(ZeekLogTest, EscapesTsvLikeZeek) {
  fs::path dir = ScratchDir();
  auto log = ZeekLog::Open(dir.string(), "esc", EscapeFields(), ZeekLogFormat::kTsv, 0);
  ASSERT_TRUE(log) << log.error().message;
  WriteEscapeRows(**log);
  ASSERT_TRUE((*log)->Flush());
  std::string text = ReadFile(dir / "esc.log");
  size_t body = text.find("#types\tstring\tset[string]\tvector[string]\tdouble\tenum\ttime\n");
  ASSERT_NE(body, std::string::npos) << text;
  body = text.find('\n', body) + 1;
  EXPECT_EQ(text.substr(body),
            "tab\\x09here\\x5cback\\x0anl\\x7f\\xff-\ta\\x2cb,\\x2d,(empty)\t(empty)\t0.250000\t"
            "tcp\t-1.500000\n"
            "\\x2d\t-\t-\t-\t-\t0.000000\n"
            "(empty)\t(empty)\t-\t3.000000\t-\t0.000001\n"
            "\\x28empty)\t-\t-\t-\t-\t-\n");
}

TEST(ZeekLogTest, EscapesJsonAndOmitsUnsetFields) {
  fs::path dir = ScratchDir();
  auto log = ZeekLog::Open(dir.string(), "esc", EscapeFields(), ZeekLogFormat::kJson, 0);
  ASSERT_TRUE(log) << log.error().message;
  WriteEscapeRows(**log);
  ASSERT_TRUE((*log)->Close(0));
  EXPECT_EQ(ReadFile(dir / "esc.log"),
            "{\"s\":\"tab\\there\\\\back\\nnl\\u007f\\\\xff-\",\"set\":[\"a,b\",\"-\",\"\"],"
            "\"vec\":[],\"d\":0.25,\"e\":\"tcp\",\"t\":-1.500000}\n"
            "{\"s\":\"-\",\"t\":0.000000}\n"
            "{\"s\":\"\",\"set\":[],\"d\":3.0,\"t\":0.000001}\n"
            "{\"s\":\"(empty)\"}\n");
}

// Every byte that needs escaping is found wherever it sits in a longer string (the plain prefix
// is scanned eight bytes at a time).
TEST(ZeekLogTest, JsonEscapesAtEveryPosition) {
  const std::vector<std::pair<std::string, std::string>> specials = {
      {std::string(1, '\0'), "\\u0000"}, {"\x1f", "\\u001f"}, {"\"", "\\\""},
      {"\\", "\\\\"},              {"\x7f", "\\u007f"}, {"\x80", "\\\\x80"},
      {"\xc3\xa9", "\xc3\xa9"}};
  fs::path dir = ScratchDir();
  auto log =
      ZeekLog::Open(dir.string(), "pos", {{"s", ZeekType::kString}}, ZeekLogFormat::kJson, 0);
  ASSERT_TRUE(log) << log.error().message;
  std::string want;
  for (const auto& [raw, escaped] : specials) {
    for (size_t at = 0; at <= 20; ++at) {
      (*log)->Begin();
      (*log)->String(std::string(at, 'a') + raw + std::string(20 - at, 'b'));
      ASSERT_TRUE((*log)->End());
      want += "{\"s\":\"" + std::string(at, 'a') + escaped + std::string(20 - at, 'b') + "\"}\n";
    }
  }
  ASSERT_TRUE((*log)->Close(0));
  EXPECT_EQ(ReadFile(dir / "pos.log"), want);
}

// Times, counts, ports and addresses at their edges, written without a formatting library.
TEST(ZeekLogTest, FormatsNumbersAndAddressesAtTheirEdges) {
  const std::vector<ZeekField> fields = {{"t", ZeekType::kTime},    {"i", ZeekType::kInterval},
                                         {"c", ZeekType::kCount},   {"p", ZeekType::kPort},
                                         {"a", ZeekType::kAddr},    {"b", ZeekType::kAddr}};
  auto row = [](ZeekLog& log, int64_t t, int64_t i, uint64_t c, uint16_t p, const char* a,
                const char* b) {
    log.Begin();
    log.Time(t);
    log.Interval(i);
    log.Count(c);
    log.Port(p);
    log.Addr(*rules::IpAddress::Parse(a));
    log.Addr(*rules::IpAddress::Parse(b));
    return log.End();
  };
  for (ZeekLogFormat format : {ZeekLogFormat::kJson, ZeekLogFormat::kTsv}) {
    fs::path dir = ScratchDir();
    auto log = ZeekLog::Open(dir.string(), "num", fields, format, 0);
    ASSERT_TRUE(log) << log.error().message;
    ASSERT_TRUE(row(**log, -500'000, -1'000'000, 0, 0, "0.0.0.0", "::"));
    ASSERT_TRUE(row(**log, 1'700'000'000'123'456, 999'999, UINT64_MAX, 65535,
                    "255.255.255.255", "2001:db8::1"));
    ASSERT_TRUE(row(**log, INT64_MAX, -1, 10, 443, "10.0.0.1", "::ffff:1.2.3.4"));
    ASSERT_TRUE((*log)->Close(0));
    std::string text = ReadFile(dir / "num.log");
    if (format == ZeekLogFormat::kJson) {
      EXPECT_EQ(text,
                "{\"t\":-0.500000,\"i\":-1.000000,\"c\":0,\"p\":0,\"a\":\"0.0.0.0\",\"b\":\"::\"}\n"
                "{\"t\":1700000000.123456,\"i\":0.999999,\"c\":18446744073709551615,"
                "\"p\":65535,\"a\":\"255.255.255.255\",\"b\":\"2001:db8::1\"}\n"
                "{\"t\":9223372036854.775807,\"i\":-0.000001,\"c\":10,\"p\":443,"
                "\"a\":\"10.0.0.1\",\"b\":\"1.2.3.4\"}\n");
    } else {
      size_t body = text.find("#types");
      ASSERT_NE(body, std::string::npos);
      body = text.find('\n', body) + 1;
      EXPECT_EQ(text.substr(body, text.find("#close") - body),
                "-0.500000\t-1.000000\t0\t0\t0.0.0.0\t::\n"
                "1700000000.123456\t0.999999\t18446744073709551615\t65535\t255.255.255.255\t"
                "2001:db8::1\n"
                "9223372036854.775807\t-0.000001\t10\t443\t10.0.0.1\t1.2.3.4\n");
    }
  }
}

TEST(ZeekLogTest, JsonAppendsAndTsvAddsHeaderBlock) {
  fs::path dir = ScratchDir();
  for (int i = 0; i < 2; ++i) {
    auto conn = ConnLog::Open(dir.string(), ZeekLogFormat::kJson, kOpen);
    ASSERT_TRUE(conn);
    ASSERT_TRUE((*conn)->Write(GoldenFlows()[2], false, false));
  }  // the destructor flushes and closes
  std::string json = ReadFile(dir / "conn.log");
  EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 2);

  fs::path tsv_dir = dir / "tsv";
  for (int i = 0; i < 2; ++i) {
    auto conn = ConnLog::Open(tsv_dir.string(), ZeekLogFormat::kTsv, kOpen);
    ASSERT_TRUE(conn);
    ASSERT_TRUE((*conn)->Write(GoldenFlows()[2], false, false));
  }
  std::string tsv = ReadFile(tsv_dir / "conn.log");
  size_t fields = 0;
  for (size_t pos = 0; (pos = tsv.find("#fields\t", pos)) != std::string::npos; ++pos) {
    ++fields;
  }
  EXPECT_EQ(fields, 2u);
  EXPECT_NE(tsv.find("#close\t2023-11-14-22-13-23\n"), std::string::npos)
      << "the destructor closes at the last time written";
}

TEST(ZeekLogTest, LargeOutputIsWrittenInChunks) {
  fs::path dir = ScratchDir();
  auto conn = ConnLog::Open(dir.string(), ZeekLogFormat::kJson, kOpen);
  ASSERT_TRUE(conn);
  FlowRecord f = std::move(GoldenFlows()[0]);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE((*conn)->Write(f, true, false));
  }
  // More than one chunk went out before any explicit flush.
  EXPECT_GE(fs::file_size(dir / "conn.log"), 256u * 1024);
  ASSERT_TRUE((*conn)->Close(kClose));
  std::string text = ReadFile(dir / "conn.log");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5000);
}

TEST(ZeekLogTest, UnwritableDirectoryGivesErrorNamingThePath) {
  fs::path dir = ScratchDir();
  fs::create_directories(dir);
  std::ofstream(dir / "not_a_dir") << "x";
  std::string bad = (dir / "not_a_dir" / "logs").string();
  auto conn = ConnLog::Open(bad, ZeekLogFormat::kJson, kOpen);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, rules::ErrorCode::kIo);
  EXPECT_NE(conn.error().message.find(bad), std::string::npos) << conn.error().message;

  // A directory where the log file should be: open fails, naming the file.
  fs::create_directories(dir / "d" / "stats.log");
  auto stats = StatsLog::Open((dir / "d").string(), ZeekLogFormat::kTsv, kOpen);
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find((dir / "d" / "stats.log").string()), std::string::npos)
      << stats.error().message;
}

TEST(ZeekLogTest, WriteErrorNamesTheFile) {
  if (!fs::exists("/dev/full")) {
    GTEST_SKIP() << "no /dev/full";
  }
  fs::path dir = ScratchDir();
  fs::create_directories(dir);
  fs::create_symlink("/dev/full", dir / "conn.log");
  auto conn = ConnLog::Open(dir.string(), ZeekLogFormat::kJson, kOpen);
  ASSERT_TRUE(conn) << conn.error().message;
  ASSERT_TRUE((*conn)->Write(GoldenFlows()[0], true, false));
  auto flushed = (*conn)->Flush();
  ASSERT_FALSE(flushed);
  EXPECT_NE(flushed.error().message.find((dir / "conn.log").string()), std::string::npos)
      << flushed.error().message;
}

TEST(ZeekLogTest, ProtoNames) {
  EXPECT_EQ(ZeekProtoName(6), "tcp");
  EXPECT_EQ(ZeekProtoName(17), "udp");
  EXPECT_EQ(ZeekProtoName(1), "icmp");
  EXPECT_EQ(ZeekProtoName(58), "icmp");
  EXPECT_EQ(ZeekProtoName(47), "unknown_transport");
}

}  // namespace
}  // namespace sensor
