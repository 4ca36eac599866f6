#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sensor/dpi/flow_harness.h"
#include "sensor/dpi/classifier.h"

namespace sensor {
namespace {

using testing_harness::ClassifyCapture;
using testing_harness::CaptureResult;
using testing_harness::ReadNdpiResult;

const std::string kNdpiDir = std::string(SHARED_DIR) + "/testdata/ndpi/";

ClassifierPtr MakeOrDie(const ClassifierConfig& config = {}) {
  auto classifier = MakeNdpiClassifier(config);
  EXPECT_TRUE(classifier) << classifier.error().message;
  return classifier ? std::move(*classifier) : nullptr;
}

CaptureResult Classify(const std::string& file, const ClassifierConfig& config = {}) {
  ClassifierPtr classifier = MakeOrDie(config);
  std::string error;
  CaptureResult result = ClassifyCapture(kNdpiDir + "pcap/" + file, *classifier, &error);
  EXPECT_TRUE(error.empty()) << error;
  return result;
}

// Captures whose labels nDPI 4.2 gives exactly as the 4.11 result files do (checked once over
// all 56 captures; the others differ only where 4.11 added dissectors or renamed protocols).
const std::vector<std::string> kAgreeingCaptures = {
    "dns.pcap",      "http.pcapng",  "ftp.pcap",         "443-safari.pcap", "imap.pcap",
    "smtp.pcap",     "kerberos.pcap", "mysql.pcapng",    "pgsql2.pcapng",   "syslog.pcap",
    "netbios.pcap",  "rdp2.pcap",    "tls-rdn-extract.pcap", "NTPv4.pcap", "mssql_tds.pcap",
};

TEST(NdpiClassifierTest, LabelsMatchNdpiResultFiles) {
  for (const std::string& file : kAgreeingCaptures) {
    const CaptureResult result = Classify(file);
    const auto want = ReadNdpiResult(kNdpiDir + "result/" + file + ".out");
    ASSERT_FALSE(want.empty()) << file;
    int compared = 0;
    for (const auto& [name, flow] : result.flows) {
      const auto it = want.find(name);
      if (it == want.end()) {
        continue;  // e.g. flows the result file lists under a different key (PPPoE)
      }
      ++compared;
      const std::string got = flow.application.empty() ? "Unknown" : flow.application;
      EXPECT_EQ(got, it->second) << file << ": " << name;
    }
    EXPECT_GE(compared, 1) << file;
    EXPECT_EQ(result.stats.states_live, 0u) << file;
  }
}

// Looks a flow up by a substring of its key ("TCP a:p <-> b:p").
const testing_harness::ClassifiedFlow* FindFlow(const CaptureResult& result,
                                                const std::string& part) {
  for (const auto& [name, flow] : result.flows) {
    if (name.find(part) != std::string::npos) {
      return &flow;
    }
  }
  return nullptr;
}

TEST(NdpiClassifierTest, NamesAndZeekServicesOfKnownFlows) {
  struct Case {
    std::string file, flow, application, service;
  };
  const std::vector<Case> cases = {
      {"dns.pcap", "192.168.170.20:53", "DNS.Google", "dns"},
      {"http.pcapng", "216.58.208.142:80", "HTTP.Google", "http"},
      {"443-safari.pcap", "178.62.197.130:443", "TLS.ntop", "ssl"},
      {"ftp.pcap", "90.130.70.73:21 ", "FTP_CONTROL", "ftp"},
      {"ftp.pcap", "90.130.70.73:25685", "FTP_DATA", "ftp-data"},
      {"imap.pcap", ":143 ", "IMAP", "imap"},
      {"smtp.pcap", ":25 ", "SMTP", "smtp"},
      {"mysql.pcapng", "192.168.88.200:3306", "MySQL", "mysql"},
      {"pgsql2.pcapng", ":60102", "PostgreSQL", "postgresql"},
      {"kerberos.pcap", "172.16.8.8:88 <-> 172.16.8.201:49157", "Kerberos", "krb_tcp"},
      {"kerberos.pcap", "172.16.8.8:389 <-> 172.16.8.201:49161", "LDAP", "ldap"},
      {"kerberos.pcap", "172.16.8.8:445 <-> 172.16.8.201:49156", "SMBv23", "smb"},
      {"NTPv4.pcap", ":123", "NTP", "ntp"},
      {"rdp2.pcap", ":3389", "RDP", "rdp"},
  };
  std::map<std::string, CaptureResult> results;
  for (const Case& c : cases) {
    if (!results.count(c.file)) {
      results[c.file] = Classify(c.file);
    }
    const auto* flow = FindFlow(results[c.file], c.flow);
    ASSERT_NE(flow, nullptr) << c.file << " " << c.flow;
    EXPECT_EQ(flow->application, c.application) << c.file << " " << c.flow;
    EXPECT_EQ(flow->service, c.service) << c.file << " " << c.flow;
    EXPECT_TRUE(flow->done);
  }
}

TEST(NdpiClassifierTest, StatesAreFreedOnceFlowsAreClassifiedOrFinished) {
  for (const std::string file : {"ftp.pcap", "443-safari.pcap", "kerberos.pcap",
                                 "alexa-app.pcapng", "gnutella.pcap"}) {
    const CaptureResult result = Classify(file);
    EXPECT_EQ(result.stats.states_live, 0u) << file;
    EXPECT_GT(result.stats.packets_inspected, 0u) << file;
    EXPECT_LE(result.stats.packets_inspected, result.packets) << file;
    // Every flow that carried payload ended in either a verdict or a give-up.
    uint64_t done = 0;
    for (const auto& [name, flow] : result.flows) {
      done += flow.done ? 1 : 0;
    }
    EXPECT_EQ(result.stats.flows_classified + result.stats.flows_given_up, done) << file;
  }
}

TEST(NdpiClassifierTest, SkippingPayloadlessPacketsKeepsLabelsAndSavesCalls) {
  ClassifierConfig all;
  all.skip_payloadless = false;
  uint64_t skipped_total = 0;
  uint64_t fed_total = 0;
  for (const std::string file : {"ftp.pcap", "alexa-app.pcapng", "443-safari.pcap",
                                 "http.pcapng", "smtp-starttls.pcap"}) {
    const CaptureResult skipping = Classify(file);
    const CaptureResult feeding = Classify(file, all);
    ASSERT_EQ(skipping.flows.size(), feeding.flows.size());
    for (const auto& [name, flow] : skipping.flows) {
      const auto& other = feeding.flows.at(name);
      if (flow.done || other.done) {  // flows without payload are not handed over when skipping
        EXPECT_EQ(flow.application, other.application) << file << ": " << name;
        EXPECT_EQ(flow.service, other.service) << file << ": " << name;
      }
    }
    EXPECT_LE(skipping.stats.packets_inspected, feeding.stats.packets_inspected) << file;
    skipped_total += skipping.stats.packets_inspected;
    fed_total += feeding.stats.packets_inspected;
  }
  EXPECT_LT(skipped_total, fed_total);
}

TEST(NdpiClassifierTest, StoppingAtTheFirstVerdictCanMissTheCertificateName) {
  // tls-rdn-extract.pcap has no SNI: only the server certificate names Microsoft.
  ClassifierConfig first_verdict;
  first_verdict.max_extra_packets = 0;
  const CaptureResult first = Classify("tls-rdn-extract.pcap", first_verdict);
  const auto* quick = FindFlow(first, ":443");
  ASSERT_NE(quick, nullptr);
  EXPECT_EQ(quick->application, "TLS");
  const CaptureResult full = Classify("tls-rdn-extract.pcap");
  const auto* flow = FindFlow(full, ":443");
  ASSERT_NE(flow, nullptr);
  EXPECT_EQ(flow->application, "TLS.Microsoft");
  EXPECT_EQ(flow->service, "ssl");
}

TEST(NdpiClassifierTest, BareDnsVerdictWaitsForTheAnswer) {
  // The query alone says "DNS"; the answer names Apple (nDPI result file: DNS.Apple).
  const CaptureResult result = Classify("iphone.pcap");
  const auto* flow = FindFlow(result, "192.168.2.1:53 <-> 192.168.2.17:51007");
  ASSERT_NE(flow, nullptr);
  EXPECT_EQ(flow->application, "DNS.Apple");
  EXPECT_EQ(flow->service, "dns");
  EXPECT_EQ(result.stats.states_live, 0u);
}

// A synthetic IPv4/UDP packet of `flow` with a payload nDPI cannot recognise.
struct SyntheticPacket {
  std::vector<uint8_t> bytes;
  DecodedPacket decoded;
};

SyntheticPacket MakeUdp(uint16_t sport, uint16_t dport, uint32_t seq, size_t payload_size) {
  SyntheticPacket p;
  p.bytes.assign(28 + payload_size, 0);
  uint8_t* ip = p.bytes.data();
  const size_t total = p.bytes.size();
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(total >> 8);
  ip[3] = static_cast<uint8_t>(total);
  ip[8] = 64;
  ip[9] = 17;
  const uint8_t src[4] = {10, 1, 2, 3};
  const uint8_t dst[4] = {10, 9, 8, 7};
  std::copy(src, src + 4, ip + 12);
  std::copy(dst, dst + 4, ip + 16);
  uint8_t* udp = ip + 20;
  udp[0] = static_cast<uint8_t>(sport >> 8);
  udp[1] = static_cast<uint8_t>(sport);
  udp[2] = static_cast<uint8_t>(dport >> 8);
  udp[3] = static_cast<uint8_t>(dport);
  udp[4] = static_cast<uint8_t>((8 + payload_size) >> 8);
  udp[5] = static_cast<uint8_t>(8 + payload_size);
  uint32_t x = seq * 2654435761u + 12345;  // deterministic noise
  for (size_t i = 0; i < payload_size; ++i) {
    x = x * 1103515245u + 12345u;
    udp[8 + i] = static_cast<uint8_t>(x >> 24);
  }
  PacketView view;
  view.timestamp_us = 1'700'000'000'000'000 + int64_t{seq} * 1000;
  view.link_type = 12;  // raw IP
  view.wire_length = static_cast<uint32_t>(total);
  view.bytes = p.bytes;
  EXPECT_TRUE(testing_harness::DecodeFrame(view, &p.decoded));
  return p;
}

FlowRecord NewFlow(const DecodedPacket& packet) {
  FlowRecord flow;
  flow.key.proto = packet.ip_proto;
  flow.id = FlowEndpoints{packet.src, packet.src_port, packet.dst, packet.dst_port,
                          packet.ip_proto};
  return flow;
}

TEST(NdpiClassifierTest, LongUnknownFlowHoldsAtMostOneStateAndGivesUp) {
  ClassifierPtr classifier = MakeOrDie();
  SyntheticPacket first = MakeUdp(40000, 47123, 0, 200);
  FlowRecord flow = NewFlow(first.decoded);
  for (uint32_t i = 0; i < 5000; ++i) {
    SyntheticPacket p = MakeUdp(40000, 47123, i, 200);
    classifier->Inspect(flow, p.decoded, true);
    ASSERT_LE(classifier->stats().states_live, 1u);
  }
  EXPECT_TRUE(flow.classification.done);
  EXPECT_EQ(flow.dpi, nullptr);
  EXPECT_EQ(classifier->stats().states_live, 0u);
  EXPECT_EQ(classifier->stats().flows_given_up, 1u);
  EXPECT_EQ(classifier->stats().packets_inspected, ClassifierConfig{}.max_packets_per_flow);
  classifier->Finish(flow);  // nothing left to do
  EXPECT_EQ(classifier->stats().flows_given_up, 1u);
}

TEST(NdpiClassifierTest, ManyShortFlowsLeaveNoState) {
  ClassifierPtr classifier = MakeOrDie();
  for (uint16_t port = 20000; port < 22000; ++port) {
    SyntheticPacket p = MakeUdp(port, 47123, port, 64);
    FlowRecord flow = NewFlow(p.decoded);
    classifier->Inspect(flow, p.decoded, true);
    ASSERT_LE(classifier->stats().states_live, 1u);
    classifier->Finish(flow);
    EXPECT_TRUE(flow.classification.done);
  }
  EXPECT_EQ(classifier->stats().states_live, 0u);
  EXPECT_EQ(classifier->stats().flows_classified + classifier->stats().flows_given_up, 2000u);
}

TEST(NdpiClassifierTest, StateDroppedWithItsFlowIsCountedEvenAfterTheClassifier) {
  ClassifierPtr classifier = MakeOrDie();
  SyntheticPacket p = MakeUdp(40001, 47124, 1, 100);
  auto flow = std::make_unique<FlowRecord>(NewFlow(p.decoded));
  auto other = std::make_unique<FlowRecord>(NewFlow(p.decoded));
  classifier->Inspect(*flow, p.decoded, true);
  classifier->Inspect(*other, p.decoded, true);
  ASSERT_NE(flow->dpi, nullptr);
  EXPECT_EQ(classifier->stats().states_live, 2u);
  flow.reset();  // e.g. the flow table evicts it without Finish()
  EXPECT_EQ(classifier->stats().states_live, 1u);
  classifier.reset();
  other.reset();  // the state outlives the classifier safely (checked under ASan)
}

TEST(NdpiClassifierTest, PacketsWithoutPayloadOrIpAreNotInspected) {
  ClassifierPtr classifier = MakeOrDie();
  SyntheticPacket empty = MakeUdp(40002, 47125, 1, 0);
  FlowRecord flow = NewFlow(empty.decoded);
  classifier->Inspect(flow, empty.decoded, true);
  DecodedPacket arp;  // no IP at all
  arp.is_arp = true;
  classifier->Inspect(flow, arp, true);
  EXPECT_EQ(classifier->stats().packets_inspected, 0u);
  EXPECT_EQ(flow.dpi, nullptr);
  classifier->Finish(flow);
  EXPECT_FALSE(flow.classification.done);
  EXPECT_EQ(classifier->stats().states_live, 0u);
}

TEST(NdpiClassifierTest, RejectsZeroPacketLimit) {
  ClassifierConfig config;
  config.max_packets_per_flow = 0;
  auto classifier = MakeNdpiClassifier(config);
  ASSERT_FALSE(classifier);
  EXPECT_EQ(classifier.error().code, rules::ErrorCode::kConfig);
}

}  // namespace
}  // namespace sensor
