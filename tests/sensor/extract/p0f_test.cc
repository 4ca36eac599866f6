// p0f: the signature file reader (Debian's /etc/p0f/p0f.fp and bad text) and the SYN matcher on
// packets built here.
#include "extract/p0f.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

namespace sensor::extract {
namespace {

constexpr const char* kDebianDb = "/etc/p0f/p0f.fp";

// An IPv4 TCP SYN (or SYN+ACK) with the given options, as the decoder would describe it.
struct Syn {
  std::vector<uint8_t> bytes;
  DecodedPacket packet;
};
Syn MakeSyn(uint8_t ttl, uint16_t window, std::vector<uint8_t> options, bool ack = false,
            bool df = true, uint16_t ip_id = 0x1234) {
  while (options.size() % 4) options.push_back(0);
  Syn s;
  auto& b = s.bytes;
  size_t tcp_len = 20 + options.size();
  b = {0x45, 0, 0, static_cast<uint8_t>(20 + tcp_len), static_cast<uint8_t>(ip_id >> 8),
       static_cast<uint8_t>(ip_id), static_cast<uint8_t>(df ? 0x40 : 0), 0, ttl, 6, 0, 0,
       192, 0, 2, 1, 192, 0, 2, 2};
  std::vector<uint8_t> tcp = {0xc3, 0x50, 0, 22, 0, 0, 1, 0, 0, 0, 0, static_cast<uint8_t>(ack),
                              static_cast<uint8_t>(tcp_len / 4 << 4),
                              static_cast<uint8_t>(kTcpSyn | (ack ? kTcpAck : 0)),
                              static_cast<uint8_t>(window >> 8), static_cast<uint8_t>(window),
                              0, 0, 0, 0};
  b.insert(b.end(), tcp.begin(), tcp.end());
  b.insert(b.end(), options.begin(), options.end());
  s.packet.ip_version = 4;
  s.packet.ttl = ttl;
  s.packet.tcp_flags = static_cast<uint8_t>(kTcpSyn | (ack ? kTcpAck : 0));
  s.packet.ip_packet = s.bytes;
  return s;
}

// mss 1460, sok, ts (non-zero own stamp), nop, ws 7: Linux's layout.
std::vector<uint8_t> LinuxOptions() {
  return {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
}

TEST(P0fTest, ObservesOptionsQuirksAndRawSignature) {
  Syn s = MakeSyn(61, 29200, LinuxOptions());
  auto o = ObserveSyn(s.packet);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->olayout, "mss,sok,ts,nop,ws");
  EXPECT_EQ(o->mss, 1460);
  EXPECT_EQ(o->scale, 7);
  EXPECT_EQ(o->quirks, uint32_t{kQuirkDf | kQuirkIdPlus});
  EXPECT_EQ(o->RawSignature(), "4:61+3:0:1460:mss*20,7:mss,sok,ts,nop,ws:df,id+:0");
  // Truncated headers: no observation, no crash.
  for (size_t n = 0; n < s.bytes.size(); ++n) {
    DecodedPacket p = s.packet;
    p.ip_packet = std::span<const uint8_t>(s.bytes).first(n);
    (void)ObserveSyn(p);
  }
}

TEST(P0fTest, ParsesSectionsAndReportsBadLines) {
  auto db = ParseP0f(
      "; comment\n[mtu]\nlabel = Ethernet\nsig = 1500\n"
      "[tcp:request]\nlabel = s:unix:Linux:3.11 and newer\n"
      "sig = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0\n"
      "sig = *:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0\n"
      "label = g:win:Windows:NT kernel\nsig = *:128:0:*:%8192,8:mss,nop,ws,nop,nop,sok:df,id+:0\n"
      "[http:request]\nlabel = s:!:Firefox:10.x\nsig = odd:stuff\n",
      "test.fp");
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ((*db)->size(), 3u);
  Syn s = MakeSyn(61, 29200, LinuxOptions());
  auto m = (*db)->Match(*ObserveSyn(s.packet), false);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->label->name, "Linux");
  EXPECT_EQ(m->label->flavor, "3.11 and newer");
  EXPECT_FALSE(m->fuzzy);
  EXPECT_EQ(m->line, 8);
  // The same packet as a SYN+ACK: no [tcp:response] signatures here.
  EXPECT_FALSE((*db)->Match(*ObserveSyn(s.packet), true));
  // Without DF (and so without id+): only p0f's fuzzy match.
  Syn nodf = MakeSyn(61, 29200, LinuxOptions(), false, false, 0);
  auto f = (*db)->Match(*ObserveSyn(nodf.packet), false);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->fuzzy);

  auto bad = ParseP0f("[tcp:request]\nlabel = s:unix:Linux:3.x\nsig = *:64:0:*:mss*20\n", "x.fp");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("x.fp:3: ", 0), 0u) << bad.error().message;
  bad = ParseP0f("[tcp:request]\nsig = *:64:0:*:mss*20,10:mss:df:0\n", "y.fp");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("y.fp:2:"), std::string::npos);
  bad = ParseP0f("[tcp:request]\nlabel = s:unix:L:x\nsig = *:64:0:*:8192,0:mss:weird:0\n", "z.fp");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("unknown quirk 'weird'"), std::string::npos);
  bad = ParseP0f("[tcp:request]\nlabel = s:unix:L:x\nsig = *:64:0:*:mss*99999999,0:mss::0\n", "w.fp");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("w.fp:3: bad wsize"), std::string::npos);
  EXPECT_FALSE(LoadP0f("/nonexistent/p0f.fp"));
}

TEST(P0fTest, DebianDatabaseNamesLinuxAndWindowsSyns) {
  if (!std::filesystem::exists(kDebianDb)) GTEST_SKIP() << kDebianDb << " (package p0f) missing";
  auto db = LoadP0f(kDebianDb);
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_GT((*db)->size(), 100u);
  Syn linux_syn = MakeSyn(57, 29200, LinuxOptions());
  auto m = (*db)->Match(*ObserveSyn(linux_syn.packet), false);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->label->name, "Linux");
  EXPECT_FALSE(m->fuzzy);
  // Windows 7/8/10: mss, nop, ws 8, nop, nop, sok; window 8192 (or 64240), TTL 128.
  Syn win = MakeSyn(127, 8192, {2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2});
  auto w = (*db)->Match(*ObserveSyn(win.packet), false);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->label->name, "Windows");
  std::printf("p0f: %zu signatures; windows SYN -> %s %s\n", (*db)->size(),
              w->label->name.c_str(), w->label->flavor.c_str());
}

}  // namespace
}  // namespace sensor::extract
