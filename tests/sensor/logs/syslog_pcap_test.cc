// The syslog captures of the shared corpus (testdata/syslog/pcap, MANIFEST.md there) through the
// sensor's pcap reader and decoder, then the receiver's semantics (a UDP datagram is one message
// with a trailing LF/NUL removed; a TCP stream goes through the RFC 6587 framer) and the parser:
//   - Zeek's traces against Zeek's own syslog.log baselines: the same number of messages, the
//     same facility and severity, and our MSG inside Zeek's message;
//   - nDPI's capture against nDPI's flow list (syslog.pcap.out): every flow nDPI calls Syslog
//     yields as many messages as it has payload packets (UDP) or frames (TCP), none empty.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "sensor/capture/packet_source.h"
#include "sensor/decode/decoder.h"
#include "sensor/logs/syslog_framing.h"
#include "sensor/logs/syslog_parser.h"

namespace sensor {
namespace {

const std::string kPcapDir = std::string(SHARED_DIR) + "/testdata/syslog/pcap/";

constexpr const char* kZeekFacilities[] = {
    "KERN", "USER", "MAIL", "DAEMON", "AUTH", "SYSLOG", "LPR", "NEWS", "UUCP", "CRON",
    "AUTHPRIV", "FTP", "NTP", "AUDIT", "ALERT", "CLOCK", "LOCAL0", "LOCAL1", "LOCAL2",
    "LOCAL3", "LOCAL4", "LOCAL5", "LOCAL6", "LOCAL7"};
constexpr const char* kZeekSeverities[] = {"EMERG",   "ALERT",  "CRIT", "ERR",
                                           "WARNING", "NOTICE", "INFO", "DEBUG"};

// One direction of a flow.
using FlowKey = std::tuple<std::string, uint16_t, std::string, uint16_t, uint8_t>;

struct Message {
  FlowKey flow;
  std::string raw;
};

struct Capture {
  std::vector<Message> messages;              // in capture order (TCP: at the end of the stream)
  std::map<FlowKey, int> payload_packets;     // packets with a payload, per flow direction
  std::map<FlowKey, FramingStats> framing;    // TCP only
  uint64_t packets = 0;
};

// Reads the capture; keeps UDP and TCP payloads of the flows `wanted` accepts.
template <class Wanted>
testing::AssertionResult ReadCapture(const std::string& path, Wanted wanted, Capture* out) {
  auto source = OpenPcapFile(path);
  if (!source) return testing::AssertionFailure() << path << ": " << source.error().message;
  Decoder decoder;
  DecodedPacket p;
  struct Stream {
    SyslogFramer framer;
    uint32_t next_seq = 0;
    bool started = false;
  };
  std::map<FlowKey, Stream> streams;
  PacketView frame;
  while (true) {
    auto more = (*source)->Next(&frame);
    if (!more) return testing::AssertionFailure() << path << ": " << more.error().message;
    if (!*more) break;
    ++out->packets;
    if (!decoder.Decode(frame, &p) || (p.ip_proto != 6 && p.ip_proto != 17)) continue;
    FlowKey key{p.src.ToString(), p.src_port, p.dst.ToString(), p.dst_port, p.ip_proto};
    if (!wanted(key) || p.payload.empty()) continue;
    ++out->payload_packets[key];
    std::string_view payload(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
    if (p.ip_proto == 17) {
      // As the receiver does: one datagram, one message, without a trailing LF or NUL.
      while (!payload.empty() && (payload.back() == '\n' || payload.back() == '\0')) {
        payload.remove_suffix(1);
      }
      out->messages.push_back({key, std::string(payload)});
      continue;
    }
    Stream& s = streams[key];
    if (!s.started) {
      s.started = true;
      s.next_seq = p.tcp_seq;
    }
    // In order, without retransmitted bytes (the traces are clean; this only guards repeats).
    int64_t skip = static_cast<int32_t>(s.next_seq - p.tcp_seq);
    if (skip < 0 || static_cast<size_t>(skip) >= payload.size()) continue;
    payload.remove_prefix(static_cast<size_t>(skip));
    s.next_seq += static_cast<uint32_t>(payload.size());
    s.framer.Feed(payload, [&](std::string_view m) { out->messages.push_back({key, std::string(m)}); });
  }
  for (auto& [key, s] : streams) {
    s.framer.Finish([&](std::string_view m) { out->messages.push_back({key, std::string(m)}); });
    out->framing[key] = s.framer.stats();
  }
  return testing::AssertionSuccess();
}

struct Baseline {
  std::string proto, facility, severity, message;
};

std::vector<Baseline> ReadBaseline(const std::string& path) {
  std::vector<Baseline> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("ts\t", 0) == 0) continue;
    std::vector<std::string> f;
    size_t b = 0;
    while (true) {
      size_t e = line.find('\t', b);
      f.push_back(line.substr(b, e == std::string::npos ? std::string::npos : e - b));
      if (e == std::string::npos) break;
      b = e + 1;
    }
    if (f.size() < 10) continue;
    lines.push_back({f[6], f[7], f[8], f[9]});
  }
  return lines;
}

// Zeek's \xNN escapes undone (the baseline shows the NUL of the single-UDP trace that way).
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

testing::AssertionResult AgreesWithZeek(const std::string& pcap, const std::string& baseline) {
  Capture c;
  auto read = ReadCapture(kPcapDir + "zeek/" + pcap,
                          [](const FlowKey& k) { return std::get<3>(k) == 514; }, &c);
  if (!read) return read;
  std::vector<Baseline> want = ReadBaseline(kPcapDir + "zeek/" + baseline);
  if (want.empty()) return testing::AssertionFailure() << baseline << ": no records";
  if (c.messages.size() != want.size()) {
    return testing::AssertionFailure() << pcap << ": " << c.messages.size() << " messages, Zeek "
                                       << want.size();
  }
  SyslogParser parser;
  std::string problems;
  for (size_t i = 0; i < want.size(); ++i) {
    SyslogMessage m;
    parser.Parse(c.messages[i].raw, &m);
    std::string facility = m.pri ? kZeekFacilities[*m.pri / 8] : "UNSPECIFIED";
    std::string severity = m.pri ? kZeekSeverities[*m.pri % 8] : "UNSPECIFIED";
    std::string proto = std::get<4>(c.messages[i].flow) == 6 ? "tcp" : "udp";
    // Zeek's message is everything after <PRI> (trailing NUL kept, trailing space kept); ours is
    // the MSG after the header, so it must be found inside Zeek's.
    std::string zeek_message = Unescape(want[i].message);
    if (proto != want[i].proto || facility != want[i].facility ||
        severity != want[i].severity || m.message.empty() ||
        zeek_message.find(m.message) == std::string::npos) {
      problems += "\n  #" + std::to_string(i) + ": " + proto + " " + facility + " " + severity +
                  " '" + m.message + "' vs " + want[i].proto + " " + want[i].facility + " " +
                  want[i].severity + " '" + want[i].message + "'";
    }
  }
  if (!problems.empty()) return testing::AssertionFailure() << pcap << ":" << problems;
  std::printf("%s: %zu messages agree with Zeek's syslog.log\n", pcap.c_str(), want.size());
  return testing::AssertionSuccess();
}

TEST(SyslogPcapTest, ZeekTracesAgreeWithZeeksBaselines) {
  EXPECT_TRUE(AgreesWithZeek("syslog-single-udp.pcap",
                             "baseline.scripts.base.protocols.syslog.trace.syslog.log"));
  EXPECT_TRUE(AgreesWithZeek("syslog-missing-pri.pcap",
                             "baseline.scripts.base.protocols.syslog.missing-pri.syslog.log"));
  EXPECT_TRUE(AgreesWithZeek("tcp-syslog.pcap",
                             "baseline.scripts.base.protocols.syslog.tcp-framing.syslog.log"));
  EXPECT_TRUE(AgreesWithZeek(
      "tcp-syslog-nontransparent.pcap",
      "baseline.scripts.base.protocols.syslog.tcp-framing-nontransparent.syslog.log"));
  // Ethernet padding after a one-byte UDP payload is not part of the message.
  EXPECT_TRUE(AgreesWithZeek("fake-syslog-with-padding.pcap",
                             "baseline.core.udp-padding.syslog.log"));
}

struct NdpiFlow {
  FlowKey key;
  int packets = 0;  // client-to-server packets nDPI counted
};

// The flows nDPI classified as Syslog, from its result file.
std::vector<NdpiFlow> NdpiSyslogFlows() {
  std::vector<NdpiFlow> flows;
  std::ifstream in(kPcapDir + "ndpi/syslog.pcap.out");
  std::string line;
  const std::regex flow_re(
      R"(^\s*\d+\s+(UDP|TCP) \[?([0-9a-fA-F.:]+?)\]?:(\d+) -> \[?([0-9a-fA-F.:]+?)\]?:(\d+) (?:\[VLAN: \d+\])?\[proto: [0-9.]+/Syslog\].*\[(\d+) pkts/)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (!std::regex_search(line, m, flow_re)) continue;
    NdpiFlow f;
    f.key = FlowKey{m[2], static_cast<uint16_t>(std::stoi(m[3])), m[4],
                    static_cast<uint16_t>(std::stoi(m[5])), m[1] == "TCP" ? 6 : 17};
    f.packets = std::stoi(m[6]);
    flows.push_back(f);
  }
  return flows;
}

TEST(SyslogPcapTest, NdpiCaptureEveryFlowEveryMessage) {
  std::vector<NdpiFlow> flows = NdpiSyslogFlows();
  ASSERT_EQ(flows.size(), 21u) << "nDPI lists 21 Syslog flows in syslog.pcap.out";
  Capture c;
  ASSERT_TRUE(ReadCapture(
      kPcapDir + "ndpi/syslog.pcap",
      [&](const FlowKey& k) {
        return std::any_of(flows.begin(), flows.end(), [&](const NdpiFlow& f) { return f.key == k; });
      },
      &c));
  SyslogParser parser;
  std::map<FlowKey, int> messages;
  int with_pri = 0, product = 0;
  for (const Message& msg : c.messages) {
    SyslogMessage m;
    parser.Parse(msg.raw, &m);
    EXPECT_FALSE(m.message.empty() && m.hostname.empty() && m.app_name.empty()) << msg.raw;
    ++messages[msg.flow];
    if (m.pri) ++with_pri;
    if (m.format != "rfc5424" && m.format != "rfc3164" && m.format != "raw") ++product;
  }
  int udp_packets = 0, total = 0;
  for (const NdpiFlow& f : flows) {
    SCOPED_TRACE(std::get<0>(f.key) + ":" + std::to_string(std::get<1>(f.key)) + " -> " +
                 std::get<2>(f.key) + ":" + std::to_string(std::get<3>(f.key)));
    EXPECT_GT(messages[f.key], 0);
    if (std::get<4>(f.key) == 17) {
      // Every datagram nDPI counted is one message: none lost, none split.
      EXPECT_EQ(c.payload_packets[f.key], f.packets);
      EXPECT_EQ(messages[f.key], f.packets);
      udp_packets += f.packets;
    } else {
      EXPECT_EQ(c.framing[f.key].incomplete, 0u);
      EXPECT_EQ(c.framing[f.key].oversize + c.framing[f.key].bad_length, 0u);
    }
    total += messages[f.key];
  }
  std::printf("nDPI syslog.pcap: %zu flows, %d messages (%d UDP datagrams), %d with a PRI, "
              "%d recognised by a product parser\n",
              flows.size(), total, udp_packets, with_pri, product);
  EXPECT_EQ(static_cast<size_t>(total), c.messages.size());
  EXPECT_EQ(parser.stats().messages, c.messages.size());
}

}  // namespace
}  // namespace sensor
