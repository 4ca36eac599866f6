#include "sensor/logs/syslog_framing.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sensor {
namespace {

std::vector<std::string> FeedInChunks(SyslogFramer* framer, std::string_view stream,
                                      size_t chunk) {
  std::vector<std::string> out;
  auto on = [&](std::string_view m) { out.emplace_back(m); };
  for (size_t i = 0; i < stream.size(); i += chunk) {
    framer->Feed(stream.substr(i, chunk), on);
  }
  framer->Finish(on);
  return out;
}

TEST(SyslogFramerTest, SplitsOctetCountedAndLfFramesMixedAtAnyChunkSize) {
  std::string stream =
      "51 <13>Oct 11 22:14:15 mymachine su: 'su root' failed <14>Oct 11 22:14:16 m su: x\n"
      "<15>1 - - - - - - third\r\n16 <1>1 - - - - - -";
  for (size_t chunk : {1u, 2u, 7u, 1000u}) {
    SyslogFramer framer;
    auto frames = FeedInChunks(&framer, stream, chunk);
    ASSERT_EQ(frames.size(), 4u) << "chunk " << chunk;
    EXPECT_EQ(frames[0], "<13>Oct 11 22:14:15 mymachine su: 'su root' failed ");
    EXPECT_EQ(frames[1], "<14>Oct 11 22:14:16 m su: x");
    EXPECT_EQ(frames[2], "<15>1 - - - - - - third");
    EXPECT_EQ(frames[3], "<1>1 - - - - - -");
    EXPECT_EQ(framer.stats().octet_counted, 2u);
  }
}

TEST(SyslogFramerTest, AcceptsNulTerminatorsAndTheCiscoAsaSpace) {
  SyslogFramer framer;
  const std::string stream("<1>a\0<2>b\n <3>c\n", 15);
  auto frames = FeedInChunks(&framer, stream, 3);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[2], "<3>c");
}

TEST(SyslogFramerTest, DigitLeadingLineIsNotAnOctetCount) {
  SyslogFramer framer;
  auto frames = FeedInChunks(&framer, "2024-01-01 something\n", 4);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], "2024-01-01 something");
}

TEST(SyslogFramerTest, CutsEndlessLinesAndSkipsOversizeCounts) {
  SyslogFramer framer(64);
  std::string stream = std::string(10000, 'A') + "\n<1>ok\n" + "999999 " + std::string(50, 'B');
  std::vector<std::string> frames;
  auto on = [&](std::string_view m) { frames.emplace_back(m); };
  for (size_t i = 0; i < stream.size(); i += 100) {
    framer.Feed(std::string_view(stream).substr(i, 100), on);
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].size(), 64u);
  EXPECT_EQ(frames[1], "<1>ok");
  EXPECT_EQ(framer.stats().truncated, 1u);
  EXPECT_EQ(framer.stats().oversize, 1u);
}

}  // namespace
}  // namespace sensor
