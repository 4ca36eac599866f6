// Decodes every packet of real captures from the shared test data (read in place with libpcap)
// and checks the per-layer totals. The expected numbers were measured with this decoder and
// cross-checked with capinfos (packet counts) and the captures' known content.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "sensor/decode/decoder.h"

namespace sensor {
namespace {

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapPtr = std::unique_ptr<pcap_t, PcapCloser>;

struct Totals {
  DecoderStats stats;
  WeirdCounters weirds;
  uint64_t usable = 0;     // Decode() returned true
  uint64_t tcp = 0;
  uint64_t udp = 0;
  uint64_t with_ports = 0; // usable TCP/UDP packets with both ports set
};

std::string NdpiPcap(const std::string& name) {
  return std::string(SHARED_DIR) + "/testdata/ndpi/pcap/" + name;
}

Totals DecodeFile(const std::string& path) {
  Totals totals;
  char errbuf[PCAP_ERRBUF_SIZE];
  PcapPtr pcap(pcap_open_offline(path.c_str(), errbuf));
  EXPECT_TRUE(pcap) << path << ": " << errbuf;
  if (!pcap) {
    return totals;
  }
  Decoder decoder;
  DecodedPacket packet;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(pcap.get(), &header, &data) == 1) {
    PacketView view;
    view.timestamp_us = static_cast<int64_t>(header->ts.tv_sec) * 1000000 + header->ts.tv_usec;
    view.wire_length = header->len;
    view.link_type = pcap_datalink(pcap.get());
    view.bytes = {data, header->caplen};
    if (decoder.Decode(view, &packet)) {
      ++totals.usable;
      totals.tcp += packet.ip_proto == 6;
      totals.udp += packet.ip_proto == 17;
      totals.with_ports += packet.has_ports() && packet.src_port != 0 && packet.dst_port != 0;
    }
  }
  totals.stats = decoder.stats();
  totals.weirds = decoder.weirds();
  return totals;
}

std::string WeirdSummary(const WeirdCounters& weirds) {
  std::string out;
  for (size_t i = 0; i < kWeirdCount; ++i) {
    if (weirds.counts[i] != 0) {
      out += std::string(WeirdName(static_cast<Weird>(i))) + "=" +
             std::to_string(weirds.counts[i]) + " ";
    }
  }
  return out;
}

std::vector<std::string> CaptureFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    auto ext = entry.path().extension();
    if (ext == ".pcap" || ext == ".pcapng") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(DecoderPcapTest, DecodesDnsCapture) {
  Totals t = DecodeFile(NdpiPcap("dns.pcap"));
  EXPECT_EQ(t.stats.frames, 5u);
  EXPECT_EQ(t.stats.ipv4, 5u);
  EXPECT_EQ(t.udp, 5u);
  EXPECT_EQ(t.with_ports, 5u);
  EXPECT_EQ(t.stats.malformed, 0u) << WeirdSummary(t.weirds);
}

TEST(DecoderPcapTest, DecodesMixedLanCapture) {
  // A phone on Wi-Fi: IPv4, some IPv6, ARP and a few non-IP frames.
  Totals t = DecodeFile(NdpiPcap("iphone.pcap"));
  EXPECT_EQ(t.stats.frames, 500u);
  EXPECT_EQ(t.stats.ipv4, 474u);
  EXPECT_EQ(t.stats.ipv6, 12u);
  EXPECT_EQ(t.stats.arp, 10u);
  EXPECT_EQ(t.stats.non_ip, 4u);
  EXPECT_EQ(t.usable, 486u);
  EXPECT_EQ(t.stats.malformed, 0u) << WeirdSummary(t.weirds);
}

TEST(DecoderPcapTest, DecodesVlanPppoeAndSixInFour) {
  // nDPI's syslog sample carries 802.1Q-tagged frames, PPPoE sessions and IPv6-in-IPv4.
  Totals t = DecodeFile(NdpiPcap("syslog.pcap"));
  EXPECT_EQ(t.stats.frames, 94u);
  EXPECT_EQ(t.stats.ipv4, 88u);
  EXPECT_EQ(t.stats.ipv6, 6u);
  EXPECT_EQ(t.stats.tunnelled, 6u);
  EXPECT_EQ(t.with_ports, 94u);
  EXPECT_EQ(t.stats.malformed, 0u) << WeirdSummary(t.weirds);
}

TEST(DecoderPcapTest, DecodesNullAndCookedLinkTypes) {
  Totals null_link = DecodeFile(NdpiPcap("opc-ua.pcap"));  // DLT_NULL
  EXPECT_EQ(null_link.stats.frames, 381u);
  EXPECT_EQ(null_link.tcp, 381u);
  EXPECT_EQ(null_link.stats.malformed, 0u) << WeirdSummary(null_link.weirds);
  Totals sll = DecodeFile(NdpiPcap("rtsp.pcap"));  // DLT_LINUX_SLL
  EXPECT_EQ(sll.stats.frames, 568u);
  EXPECT_EQ(sll.tcp, 568u);
  EXPECT_EQ(sll.stats.malformed, 0u) << WeirdSummary(sll.weirds);
  Totals raw = DecodeFile(std::string(SHARED_DIR) + "/testdata/syslog/pcap/zeek/tcp-syslog.pcap");
  EXPECT_EQ(raw.stats.frames, 10u);  // LINKTYPE_IPV4
  EXPECT_EQ(raw.tcp, 10u);
  EXPECT_EQ(raw.stats.malformed, 0u) << WeirdSummary(raw.weirds);
}

TEST(DecoderPcapTest, DecapsulatesTeredoCapture) {
  // Zeek's Teredo trace: 4 packets on the Teredo server port 3544 and 25 between a Teredo
  // client and a peer on ephemeral ports, all IPv6 inside UDP over IPv4.
  Totals t = DecodeFile(std::string(SHARED_DIR) + "/testdata/zeek/testing/btest/Traces/tunnels/"
                        "Teredo.pcap");
  EXPECT_EQ(t.stats.frames, 78u);
  EXPECT_EQ(t.stats.tunnelled, 29u);
  EXPECT_EQ(t.stats.ipv6, 29u);
  EXPECT_EQ(t.stats.ipv4, 49u);
  EXPECT_EQ(t.stats.malformed, 0u) << WeirdSummary(t.weirds);
}

TEST(DecoderPcapTest, NdpiSamplesHaveNoAnomalies) {
  // All of nDPI's samples are clean, except the first frame of gnutella.pcap, which was captured
  // with 4 of its 60 bytes: a truncated link header.
  uint64_t frames = 0;
  for (const std::string& path : CaptureFiles(std::string(SHARED_DIR) + "/testdata/ndpi/pcap")) {
    Totals t = DecodeFile(path);
    frames += t.stats.frames;
    EXPECT_GT(t.stats.frames, 0u) << path;
    EXPECT_EQ(t.stats.frames, t.stats.ipv4 + t.stats.ipv6 + t.stats.arp + t.stats.non_ip +
                                  t.weirds[Weird::kTruncatedLinkHeader])
        << path;
    if (path.ends_with("/gnutella.pcap")) {
      EXPECT_EQ(t.stats.malformed, 1u) << WeirdSummary(t.weirds);
      EXPECT_EQ(t.weirds[Weird::kTruncatedLinkHeader], 1u);
    } else {
      EXPECT_EQ(t.stats.malformed, 0u) << path << ": " << WeirdSummary(t.weirds);
    }
  }
  EXPECT_GT(frames, 10000u);
}

}  // namespace
}  // namespace sensor
