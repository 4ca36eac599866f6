#include "sensor/capture/packet_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sensor {
namespace {

const std::string kPcapDir = std::string(SHARED_DIR) + "/testdata/ndpi/pcap/";

struct ReadOutcome {
  int packets = 0;
  bool clean_end = false;
  std::string error;
  int64_t first_us = 0;
  std::vector<int> link_types;
};

ReadOutcome ReadAll(PacketSource& source) {
  ReadOutcome out;
  PacketView packet;
  while (true) {
    auto more = source.Next(&packet);
    if (!more) {
      out.error = more.error().message;
      return out;
    }
    if (!*more) {
      out.clean_end = source.at_end();
      return out;
    }
    if (out.packets == 0) {
      out.first_us = packet.timestamp_us;
    }
    EXPECT_LE(packet.bytes.size(), packet.wire_length);
    out.link_types.push_back(packet.link_type);
    ++out.packets;
  }
}

std::string TempPath(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / (std::string("pcap_source_") + info->name());
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// Packet counts determined once with `capinfos -c` (and `tcpdump -r FILE | wc -l`).
TEST(PcapSourceTest, ReadsEveryPacketOfPcapFilesThenEnds) {
  for (const auto& [file, count] : std::vector<std::pair<std::string, int>>{
           {"443-safari.pcap", 41}, {"ftp.pcap", 209}, {"dns.pcap", 5}}) {
    auto source = OpenPcapFile(kPcapDir + file);
    ASSERT_TRUE(source) << source.error().message;
    EXPECT_EQ((*source)->name(), "file " + kPcapDir + file);
    EXPECT_EQ((*source)->bytes_total(), std::filesystem::file_size(kPcapDir + file));
    const ReadOutcome out = ReadAll(**source);
    EXPECT_TRUE(out.error.empty()) << out.error;
    EXPECT_TRUE(out.clean_end) << file;
    EXPECT_EQ(out.packets, count) << file;
    EXPECT_EQ((*source)->stats().received, static_cast<uint64_t>(count));
    EXPECT_EQ((*source)->bytes_read(), (*source)->bytes_total());
    for (int link_type : out.link_types) {
      EXPECT_EQ(link_type, 1);  // Ethernet
    }
    // Calling Next() after the end keeps saying "end".
    PacketView packet;
    auto again = (*source)->Next(&packet);
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
  }
}

TEST(PcapSourceTest, ReadsPcapngWithNanosecondsAsMicroseconds) {
  auto source = OpenPcapFile(kPcapDir + "http.pcapng");
  ASSERT_TRUE(source) << source.error().message;
  const ReadOutcome out = ReadAll(**source);
  EXPECT_TRUE(out.clean_end) << out.error;
  EXPECT_EQ(out.packets, 10);
  // First packet: 2022-02-02 (tcpdump -tt: 1643804530.497437xxx); microseconds since 1970.
  EXPECT_GT(out.first_us, int64_t{1'600'000'000} * 1'000'000);
  EXPECT_LT(out.first_us, int64_t{1'700'000'000} * 1'000'000);
}

TEST(PcapSourceTest, ReportsLinkTypeOfNonEthernetCaptures) {
  auto source = OpenPcapFile(kPcapDir + "rtsp.pcap");  // Linux cooked capture
  ASSERT_TRUE(source) << source.error().message;
  const ReadOutcome out = ReadAll(**source);
  EXPECT_TRUE(out.clean_end) << out.error;
  EXPECT_EQ(out.packets, 568);
  ASSERT_FALSE(out.link_types.empty());
  EXPECT_EQ(out.link_types.front(), 113);  // DLT_LINUX_SLL
}

TEST(PcapSourceTest, MissingFileNamesPathAndReason) {
  const std::string path = TempPath("does-not-exist.pcap");
  auto source = OpenPcapFile(path);
  ASSERT_FALSE(source);
  EXPECT_EQ(source.error().code, rules::ErrorCode::kIo);
  EXPECT_NE(source.error().message.find(path), std::string::npos) << source.error().message;
  EXPECT_NE(source.error().message.find("No such file"), std::string::npos)
      << source.error().message;
  EXPECT_EQ(source.error().message.find('\n'), std::string::npos);
}

TEST(PcapSourceTest, DirectoryIsRefused) {
  auto source = OpenPcapFile(::testing::TempDir());
  ASSERT_FALSE(source);
  EXPECT_NE(source.error().message.find(::testing::TempDir()), std::string::npos);
}

TEST(PcapSourceTest, TextFileIsNotACapture) {
  const std::string path = TempPath("notes.txt");
  std::ofstream(path) << "this is not a capture file\nbut it is long enough to have a header\n";
  auto source = OpenPcapFile(path);
  ASSERT_FALSE(source);
  EXPECT_EQ(source.error().code, rules::ErrorCode::kCapture);
  EXPECT_NE(source.error().message.find(path), std::string::npos) << source.error().message;
  EXPECT_EQ(source.error().message.find('\n'), std::string::npos) << source.error().message;
  // The path appears once: libpcap's own "path: " prefix is not repeated.
  EXPECT_EQ(source.error().message.find(path), source.error().message.rfind(path));
}

TEST(PcapSourceTest, EmptyFileIsNotACapture) {
  const std::string path = TempPath("empty.pcap");
  std::ofstream(path).close();
  auto source = OpenPcapFile(path);
  ASSERT_FALSE(source);
  EXPECT_NE(source.error().message.find(path), std::string::npos) << source.error().message;
  EXPECT_NE(source.error().message.find("empty"), std::string::npos) << source.error().message;
}

// Byte offsets of each record in a classic pcap file (24-byte file header, 16-byte record
// headers with the captured length at offset 8, little-endian here).
std::vector<size_t> RecordOffsets(const std::vector<char>& bytes) {
  std::vector<size_t> offsets;
  size_t offset = 24;
  while (offset + 16 <= bytes.size()) {
    offsets.push_back(offset);
    uint32_t caplen = 0;
    for (int i = 3; i >= 0; --i) {
      caplen = caplen << 8 | static_cast<uint8_t>(bytes[offset + 8 + i]);
    }
    offset += 16 + caplen;
  }
  return offsets;
}

TEST(PcapSourceTest, TruncatedFileYieldsWholePacketsThenAClearError) {
  std::ifstream in(kPcapDir + "443-safari.pcap", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(static_cast<uint8_t>(bytes[0]), 0xd4);  // little-endian microsecond pcap
  const std::vector<size_t> offsets = RecordOffsets(bytes);
  ASSERT_EQ(offsets.size(), 41u);
  for (const size_t cut : {offsets[20] + 16 + 10, offsets[40] + 8}) {  // mid-data, mid-header
    const std::string path = TempPath("cut-" + std::to_string(cut) + ".pcap");
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(cut));
    auto source = OpenPcapFile(path);
    ASSERT_TRUE(source) << source.error().message;
    const ReadOutcome out = ReadAll(**source);
    const int whole = cut < offsets[40] ? 20 : 40;
    EXPECT_EQ(out.packets, whole);
    if (!out.error.empty()) {
      EXPECT_NE(out.error.find(path), std::string::npos) << out.error;
      EXPECT_NE(out.error.find("truncated"), std::string::npos) << out.error;
      PacketView packet;
      EXPECT_FALSE((*source)->Next(&packet));  // stays broken, does not crash
    } else {
      EXPECT_TRUE(out.clean_end);
    }
  }
}

TEST(PcapSourceTest, BadInterfaceAndBadFilterAreErrors) {
  CaptureConfig config;
  config.interface = "no-such-if0";
  auto missing = OpenLiveInterface(config);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no-such-if0"), std::string::npos)
      << missing.error().message;

  CaptureConfig empty;
  EXPECT_FALSE(OpenLiveInterface(empty));

  if (geteuid() != 0) {
    GTEST_SKIP() << "opening lo needs root";
  }
  config.interface = "lo";
  config.bpf_filter = "udp and port";
  auto bad_filter = OpenLiveInterface(config);
  ASSERT_FALSE(bad_filter);
  EXPECT_EQ(bad_filter.error().code, rules::ErrorCode::kCapture);
  EXPECT_NE(bad_filter.error().message.find("'udp and port'"), std::string::npos)
      << bad_filter.error().message;
}

TEST(PcapSourceTest, CapturesUdpOnLoopback) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "live capture needs root (CAP_NET_RAW)";
  }
  // A receiving socket on a kernel-chosen port, so no ICMP unreachable comes back.
  const int receiver = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(receiver, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(receiver, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(receiver, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const uint16_t port = ntohs(addr.sin_port);

  CaptureConfig config;
  config.interface = "lo";
  config.bpf_filter = "udp and port " + std::to_string(port);
  config.timeout_ms = 50;
  config.buffer_bytes = 4 << 20;
  auto source = OpenLiveInterface(config);
  ASSERT_TRUE(source) << source.error().message;
  EXPECT_EQ((*source)->name(), "interface lo");
  EXPECT_FALSE((*source)->at_end());

  const int sender = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(sender, 0);
  constexpr int kDatagrams = 5;
  const std::string payload = "utkikk-capture-test";
  for (int i = 0; i < kDatagrams; ++i) {
    const std::string text = payload + std::to_string(i);
    ASSERT_EQ(sendto(sender, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&addr),
                     sizeof(addr)),
              static_cast<ssize_t>(text.size()));
  }

  int seen = 0;
  int timeouts = 0;
  PacketView packet;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (seen < kDatagrams && std::chrono::steady_clock::now() < deadline) {
    auto more = (*source)->Next(&packet);
    ASSERT_TRUE(more) << more.error().message;
    if (!*more) {
      ++timeouts;
      EXPECT_FALSE((*source)->at_end());  // a timeout is not the end
      continue;
    }
    EXPECT_EQ(packet.link_type, 1);  // Linux lo is DLT_EN10MB
    const std::string bytes(packet.bytes.begin(), packet.bytes.end());
    EXPECT_NE(bytes.find(payload + std::to_string(seen)), std::string::npos);
    ++seen;
  }
  EXPECT_EQ(seen, kDatagrams);
  // Nothing else matches the filter: the next call times out.
  auto more = (*source)->Next(&packet);
  ASSERT_TRUE(more);
  EXPECT_FALSE(*more);
  const CaptureStats stats = (*source)->stats();
  EXPECT_EQ(stats.received, static_cast<uint64_t>(kDatagrams));
  EXPECT_GE(stats.kernel_received, static_cast<uint64_t>(kDatagrams));
  EXPECT_EQ(stats.dropped, 0u);
  close(sender);
  close(receiver);
}

}  // namespace
}  // namespace sensor
