// The local log store: round trip, index use, torn blocks, retention, sender statistics and
// "went quiet" detection.
#include "sensor/logs/log_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "logs/log_store_format.h"
#include "sensor/logs/log_store_query.h"

namespace sensor {
namespace {

namespace fs = std::filesystem;
using rules::IpAddress;

constexpr int64_t kHourUs = 3600LL * 1000 * 1000;

std::string TempDir(const std::string& name) {
  std::string dir = fs::temp_directory_path().string() + "/utkikk-log-store-" + name + "-" +
                    std::to_string(::getpid());
  fs::remove_all(dir);
  return dir;
}

LogStoreConfig SmallConfig(const std::string& dir) {
  LogStoreConfig c;
  c.directory = dir;
  c.block_bytes = 4096;
  c.segment_bytes = 8 * 1024;
  c.max_age = std::chrono::milliseconds(0);
  return c;
}

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

std::vector<StoredLogRecord> ReadAll(const std::string& dir, const LogQuery& q = {},
                                     LogScanStats* stats = nullptr) {
  std::vector<StoredLogRecord> out;
  auto scan = ScanLogStore(dir, q, [&](const StoredLogRecord& r) {
    out.push_back(r);
    return true;
  });
  EXPECT_TRUE(scan.has_value()) << scan.error().message;
  if (stats && scan) *stats = *scan;
  return out;
}

TEST(LogStoreTest, StoresRecordsByteForByte) {
  std::string dir = TempDir("roundtrip");
  std::vector<std::string> sent;
  auto config = SmallConfig(dir);
  config.segment_bytes = 8192;
  {
    auto store = OpenLogStore(config);
    ASSERT_TRUE(store) << store.error().message;
    for (int i = 0; i < 2000; ++i) {
      std::string raw = "<13>1 2024-01-01T00:00:00Z h app - - - message " + std::to_string(i);
      if (i % 7 == 0) raw += std::string("\xff\x00\n binary", 10);
      sent.push_back(raw);
      (*store)->Append(LogRecord{1000 + i, Ip(i % 2 ? "192.0.2.1" : "2001:db8::5"),
                                 SyslogTransport::kTcp, i % 9 == 8 ? -1 : 5, raw});
    }
    ASSERT_TRUE((*store)->Flush());
    LogStoreStats s = (*store)->stats();
    EXPECT_EQ(s.appended, 2000u);
    EXPECT_EQ(s.durable, 2000u);
    EXPECT_GT(s.segments, 1u);  // 8 KiB segments roll
  }
  auto all = ReadAll(dir);
  ASSERT_EQ(all.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(all[i].raw, sent[i]);
    EXPECT_EQ(all[i].receive_time_us, static_cast<int64_t>(1000 + i));
    EXPECT_EQ(all[i].transport, SyslogTransport::kTcp);
    EXPECT_EQ(all[i].severity, i % 9 == 8 ? -1 : 5);
  }
  fs::remove_all(dir);
}

TEST(LogStoreTest, QueriesUseTimeAndSenderIndex) {
  std::string dir = TempDir("query");
  {
    auto store = OpenLogStore(SmallConfig(dir));
    ASSERT_TRUE(store);
    for (int i = 0; i < 3000; ++i) {
      // Sender 10.0.0.9 only in the last 100 records, so most blocks do not hold it.
      const char* ip = i >= 2900 ? "10.0.0.9" : "10.0.0.1";
      std::string raw = "<14>Jan  1 00:00:00 " + std::string(i % 2 ? "fw1" : "web") +
                        " prog: n=" + std::to_string(i);
      (*store)->Append(LogRecord{i * 1000LL, Ip(ip), SyslogTransport::kUdp, 6, raw});
      if (i % 500 == 499) {
        ASSERT_TRUE((*store)->Flush());
      }
    }
  }
  LogQuery by_sender;
  by_sender.sender = Ip("10.0.0.9");
  LogScanStats stats;
  auto hits = ReadAll(dir, by_sender, &stats);
  EXPECT_EQ(hits.size(), 100u);
  EXPECT_GT(stats.blocks_skipped, stats.blocks_read);

  LogQuery by_time;
  by_time.since_us = 1000 * 1000;
  by_time.until_us = 1010 * 1000;
  hits = ReadAll(dir, by_time, &stats);
  ASSERT_EQ(hits.size(), 10u);
  EXPECT_NE(hits[0].raw.find("n=1000"), std::string::npos);
  EXPECT_GT(stats.blocks_skipped, 0u);

  LogQuery by_host;
  by_host.host_name = "FW1";
  by_host.grep = "n=29";
  hits = ReadAll(dir, by_host);
  EXPECT_EQ(hits.size(), 56u);  // odd n among n=29, 290..299, 2900..2999
  fs::remove_all(dir);
}

TEST(LogStoreTest, TornLastBlockIsCutAndOlderSegmentsStayIntact) {
  std::string dir = TempDir("torn");
  auto config = SmallConfig(dir);
  {
    auto store = OpenLogStore(config);
    ASSERT_TRUE(store);
    for (int i = 0; i < 1500; ++i) {
      (*store)->Append(LogRecord{i, Ip("192.0.2.7"), SyslogTransport::kUdp, 3,
                                 "message number " + std::to_string(i) + std::string(40, 'x')});
    }
    ASSERT_TRUE((*store)->Flush());
  }
  auto numbers = store_format::ListSegments(dir);
  ASSERT_TRUE(numbers);
  ASSERT_GE(numbers->size(), 2u);
  std::string last = store_format::SegmentPath(dir, numbers->back());
  std::string first = store_format::SegmentPath(dir, numbers->front());
  auto first_bytes = store_format::ReadWholeFile(first);
  ASSERT_TRUE(first_bytes);
  // Simulate a crash in the middle of a block write: a valid-looking header, half a payload.
  auto last_bytes = store_format::ReadWholeFile(last);
  ASSERT_TRUE(last_bytes);
  size_t before = last_bytes->size();
  std::string torn = last_bytes->substr(store_format::kSegmentHeaderBytes, 200);
  {
    std::ofstream out(last, std::ios::app | std::ios::binary);
    out << torn;
  }
  LogScanStats stats;
  EXPECT_EQ(ReadAll(dir, {}, &stats).size(), 1500u);
  EXPECT_EQ(stats.bad_blocks, 1u);
  {
    auto store = OpenLogStore(config);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ((*store)->stats().torn_blocks, 1u);
    (*store)->Append(LogRecord{5000, Ip("192.0.2.7"), SyslogTransport::kUdp, 3, "after"});
    ASSERT_TRUE((*store)->Flush());
  }
  EXPECT_EQ(fs::file_size(last), before);
  EXPECT_EQ(*store_format::ReadWholeFile(first), *first_bytes);
  auto all = ReadAll(dir, {}, &stats);
  EXPECT_EQ(stats.bad_blocks, 0u);
  ASSERT_EQ(all.size(), 1501u);
  EXPECT_EQ(all.back().raw, "after");

  // A flipped byte inside a block is caught by the CRC.
  {
    std::fstream f(first, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(store_format::kSegmentHeaderBytes + 60);
    f.put('\x5a');
  }
  all = ReadAll(dir, {}, &stats);
  EXPECT_EQ(stats.bad_blocks, 1u);
  EXPECT_LT(all.size(), 1501u);
  fs::remove_all(dir);
}

TEST(LogStoreTest, SizeBoundDropsOldestSegmentsAndCountsThem) {
  std::string dir = TempDir("bound");
  auto config = SmallConfig(dir);
  config.max_bytes = 200 * 1024;
  config.segment_bytes = 32 * 1024;
  config.compression_level = 1;
  uint64_t total = 20000;
  {
    auto store = OpenLogStore(config);
    ASSERT_TRUE(store);
    std::string noise;
    uint32_t x = 12345;
    for (uint64_t i = 0; i < total; ++i) {
      noise.clear();
      for (int k = 0; k < 40; ++k) {  // poorly compressible
        x = x * 1103515245u + 12345u;
        noise.push_back(static_cast<char>('a' + (x >> 16) % 26));
      }
      (*store)->Append(LogRecord{static_cast<int64_t>(i), Ip("192.0.2.8"), SyslogTransport::kUdp,
                                 1, std::to_string(i) + " " + noise});
    }
    ASSERT_TRUE((*store)->Flush());
    LogStoreStats s = (*store)->stats();
    EXPECT_GT(s.segments_dropped, 0u);
    uint64_t on_disk = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".uls") on_disk += e.file_size();
    }
    EXPECT_LE(on_disk, config.max_bytes + config.segment_bytes);
    auto kept = ReadAll(dir);
    EXPECT_EQ(kept.size() + s.records_dropped, total);
    ASSERT_FALSE(kept.empty());
    EXPECT_EQ(kept.back().raw.substr(0, 6), "19999 ");  // the newest survive
  }
  // The drop counters are persisted.
  auto store = OpenLogStore(config);
  ASSERT_TRUE(store);
  EXPECT_GT((*store)->stats().segments_dropped, 0u);
  fs::remove_all(dir);
}

TEST(LogStoreTest, AgeBoundDropsOldSegments) {
  std::string dir = TempDir("age");
  auto config = SmallConfig(dir);
  config.max_age = std::chrono::hours(1);
  config.segment_bytes = 4096;
  int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  auto store = OpenLogStore(config);
  ASSERT_TRUE(store);
  for (int i = 0; i < 3000; ++i) {
    int64_t t = i < 1500 ? now - 2 * kHourUs : now;
    (*store)->Append(LogRecord{t, Ip("192.0.2.9"), SyslogTransport::kUdp, 1,
                               "message " + std::to_string(i) + std::string(30, 'y')});
  }
  ASSERT_TRUE((*store)->Flush());
  EXPECT_GT((*store)->stats().segments_dropped, 0u) << (*store)->stats().segments;
  // Only whole segments go; a segment mixing old and new records is kept.
  LogQuery old;
  old.until_us = now - kHourUs;
  EXPECT_LT(ReadAll(dir, old).size(), 1500u);
  fs::remove_all(dir);
}

TEST(LogStoreTest, SenderStatisticsArePersistedAndQuietSendersDetected) {
  std::string dir = TempDir("senders");
  auto config = SmallConfig(dir);
  config.quiet_min_per_hour = 5;
  config.quiet_steady_hours = 3;
  config.quiet_after = std::chrono::hours(1);
  int64_t base = 500000 * kHourUs;  // an hour boundary
  {
    auto store = OpenLogStore(config);
    ASSERT_TRUE(store);
    // Steady: 10 messages in each of hours 0..4.
    for (int h = 0; h < 5; ++h) {
      for (int i = 0; i < 10; ++i) {
        (*store)->Append(LogRecord{base + h * kHourUs + i * 1000, Ip("10.1.1.1"),
                                   SyslogTransport::kTcp, i % 8, "steady"});
      }
    }
    // Sporadic: a message in hour 0 and hour 4.
    for (int h : {0, 4}) {
      (*store)->Append(LogRecord{base + h * kHourUs, Ip("10.1.1.2"), SyslogTransport::kUdp, -1,
                                 "sporadic message"});
    }
    (*store)->NoteDropped(Ip("10.1.1.2"), 3);
    ASSERT_TRUE((*store)->Flush());
  }
  auto senders = ReadSenderStats(dir);
  ASSERT_TRUE(senders) << senders.error().message;
  ASSERT_EQ(senders->size(), 2u);
  const SenderStats& steady = (*senders)[0];
  const SenderStats& sporadic = (*senders)[1];
  EXPECT_EQ(steady.sender, Ip("10.1.1.1"));
  EXPECT_EQ(steady.messages, 50u);
  EXPECT_EQ(steady.bytes, 300u);
  EXPECT_EQ(steady.severities[0], 10u);  // i = 0 and 8 in each of 5 hours
  EXPECT_EQ(steady.first_seen_us, base);
  EXPECT_EQ(steady.last_seen_us, base + 4 * kHourUs + 9000);
  EXPECT_EQ(sporadic.messages, 2u);
  EXPECT_EQ(sporadic.no_severity, 2u);
  EXPECT_EQ(sporadic.dropped, 3u);

  int64_t soon = base + 4 * kHourUs + 30 * 60 * 1000000LL;
  int64_t later = base + 7 * kHourUs;
  EXPECT_EQ(ClassifySender(steady, config, soon), SenderState::kActive);
  EXPECT_EQ(ClassifySender(steady, config, later), SenderState::kQuiet);
  EXPECT_EQ(ClassifySender(sporadic, config, later), SenderState::kInactive);

  // Reopening keeps counting on top of the persisted figures.
  {
    auto store = OpenLogStore(config);
    ASSERT_TRUE(store);
    (*store)->Append(LogRecord{base + 5 * kHourUs, Ip("10.1.1.1"), SyslogTransport::kTcp, 2, "x"});
    ASSERT_TRUE((*store)->Flush());
    auto live = (*store)->Senders();
    ASSERT_EQ(live.size(), 2u);
    EXPECT_EQ(live[0].messages, 51u);
  }
  fs::remove_all(dir);
}

TEST(LogStoreTest, SecondWriterIsRefused) {
  std::string dir = TempDir("lock");
  auto a = OpenLogStore(SmallConfig(dir));
  ASSERT_TRUE(a);
  auto b = OpenLogStore(SmallConfig(dir));
  EXPECT_FALSE(b);
  fs::remove_all(dir);
}

// Readers face files damaged in any way: every truncation and many byte flips must neither
// crash nor invent records.
TEST(LogStoreTest, DamagedSegmentsNeverCrashReaders) {
  std::string dir = TempDir("damage");
  auto config = SmallConfig(dir);
  config.block_bytes = 512;
  {
    auto store = OpenLogStore(config);
    ASSERT_TRUE(store);
    for (int i = 0; i < 60; ++i) {
      (*store)->Append(LogRecord{i, Ip(i % 3 ? "192.0.2.1" : "::1"), SyslogTransport::kTcp, 2,
                                 "<10>damage test " + std::to_string(i)});
      if (i % 10 == 9) {
        ASSERT_TRUE((*store)->Flush());
      }
    }
  }
  auto numbers = store_format::ListSegments(dir);
  ASSERT_TRUE(numbers);
  std::string path = store_format::SegmentPath(dir, numbers->front());
  std::string original = *store_format::ReadWholeFile(path);
  auto count = [&] {
    size_t n = 0;
    auto scan = ScanLogStore(dir, {}, [&](const StoredLogRecord& r) {
      EXPECT_NE(r.raw.find("damage test"), std::string::npos);
      ++n;
      return true;
    });
    EXPECT_TRUE(scan);
    return n;
  };
  size_t full = count();
  ASSERT_EQ(full, 60u);
  for (size_t cut = 0; cut < original.size(); cut += 13) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << original.substr(0, cut);
    EXPECT_LE(count(), full);
  }
  uint32_t x = 7;
  for (int round = 0; round < 150; ++round) {
    std::string damaged = original;
    x = x * 1103515245u + 12345u;
    size_t at = (x >> 8) % damaged.size();
    damaged[at] = static_cast<char>(damaged[at] ^ (1 + (x & 0x7f)));
    std::ofstream(path, std::ios::binary | std::ios::trunc) << damaged;
    EXPECT_LE(count(), full);
    // The writer opening a damaged last segment cuts it at the damage and goes on.
    if (round % 50 == 0 && numbers->size() == 1) {
      auto store = OpenLogStore(config);
      ASSERT_TRUE(store) << store.error().message;
    }
  }
  fs::remove_all(dir);
}

TEST(LogStoreQueryTest, ParsesTimeArguments) {
  int64_t now = 1714557600LL * 1000000;  // 2024-05-01T10:00:00Z
  EXPECT_EQ(ParseQueryTime("now", now), now);
  EXPECT_EQ(ParseQueryTime("15m", now), now - 900LL * 1000000);
  EXPECT_EQ(ParseQueryTime("2h", now), now - 7200LL * 1000000);
  EXPECT_EQ(ParseQueryTime("7d", now), now - 7 * 86400LL * 1000000);
  EXPECT_EQ(ParseQueryTime("@1714557600", 0), now);
  EXPECT_EQ(ParseQueryTime("2024-05-01", 0), now - 10 * 3600LL * 1000000);
  EXPECT_EQ(ParseQueryTime("2024-05-01T10:00:00Z", 0), now);
  EXPECT_EQ(ParseQueryTime("2024-05-01 10:00", 0), now);
  EXPECT_EQ(ParseQueryTime("2024-05-01T12:00:00.5+02:00", 0), now + 500000);
  for (const char* bad : {"", "yesterday", "2024-13-01", "2024-05-01T25:00", "15x", "@",
                          "2024-05-01T10:00:00Zjunk", "-5m"}) {
    EXPECT_FALSE(ParseQueryTime(bad, now)) << bad;
  }
  EXPECT_EQ(FormatTimeUs(now + 42), "2024-05-01T10:00:00.000042Z");
}

TEST(LogStoreQueryTest, RendersRecordsAsOneLineTextAndJson) {
  StoredLogRecord r;
  r.receive_time_us = 1714557600LL * 1000000;
  r.sender = Ip("192.0.2.1");
  r.transport = SyslogTransport::kTls;
  r.severity = 4;
  r.raw = std::string("<12>May  1 10:00:00 fw1 sshd[7]: two\nlines \x01\xff", 45);
  std::string text;
  AppendRecordText(r, &text);
  EXPECT_EQ(text, "2024-05-01T10:00:00.000000Z 192.0.2.1 tls "
                  "<12>May  1 10:00:00 fw1 sshd[7]: two\\nlines \\x01\xff");
  std::string json;
  AppendRecordJson(r, &json);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_NE(json.find("\"transport\":\"tls\",\"severity\":4"), std::string::npos) << json;
  EXPECT_NE(json.find("\"hostname\":\"fw1\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"app_name\":\"sshd\""), std::string::npos) << json;

  SenderStats s;
  s.sender = Ip("192.0.2.1");
  s.messages = 3;
  s.dropped = 1;
  s.first_seen_us = r.receive_time_us;
  s.last_seen_us = r.receive_time_us;
  std::string sender;
  AppendSenderJson(s, SenderState::kQuiet, &sender);
  EXPECT_EQ(sender.substr(0, 79),
            "{\"sender\":\"192.0.2.1\",\"state\":\"quiet\",\"messages\":3,\"bytes\":0,\"dropped\":1,\"first");
}

}  // namespace
}  // namespace sensor
