// The sensor's flows against ndpiReader's on nDPI's own regression captures
// (../shared/testdata/ndpi): every flow of every capture must agree on the 5-tuple and on
// packets and bytes per direction, and the protocol label must agree wherever nDPI 4.2 knows the
// protocol. Every difference is listed, with its reason, in kExplained below.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <ndpi_api.h>

#include "sensor/pipeline/pipeline.h"
#include "testing/ndpi_result.h"

namespace sensor {
namespace {

struct SeenFlow {
  std::string a_addr;
  uint16_t a_port = 0;
  std::string b_addr;
  uint16_t b_port = 0;
  uint8_t proto = 0;
  uint16_t vlan = 0;
  uint64_t a_packets = 0, a_bytes = 0, b_packets = 0, b_bytes = 0;
  std::string application;
  int records = 0;
};

class RecordingSink : public PipelineSink {
 public:
  explicit RecordingSink(std::vector<FlowRecord>* out) : out_(out) {}
  void OnFlowEnd(const FlowRecord& flow, FlowEndReason reason, bool, bool) override {
    if (reason == FlowEndReason::kInterim) return;
    FlowRecord copy;
    copy.key = flow.key;
    copy.id = flow.id;
    copy.orig = flow.orig;
    copy.resp = flow.resp;
    copy.classification = flow.classification;
    out_->push_back(std::move(copy));
  }
  void OnWeird(int64_t, Weird, const DecodedPacket&, const FlowRecord*) override {}
  void OnStats(const StatsRecord&) override {}
  rules::Result<> Close(int64_t) override { return {}; }

 private:
  std::vector<FlowRecord>* out_;
};

std::string ProtoName(uint8_t p) {
  switch (p) {
    case 6: return "TCP";
    case 17: return "UDP";
    case 1: return "ICMP";
    case 58: return "ICMPV6";
    case 2: return "IGMP";
    case 112: return "VRRP";
    default: return std::to_string(p);
  }
}

using FlowId = std::tuple<std::string, std::string, uint16_t, std::string, uint16_t>;

FlowId Canonical(const std::string& l4, const std::string& a, uint16_t ap, const std::string& b,
                 uint16_t bp) {
  if (std::tie(a, ap) <= std::tie(b, bp)) return {l4, a, ap, b, bp};
  return {l4, b, bp, a, ap};
}

std::vector<std::string> Captures() {
  std::vector<std::string> names;
  std::string dir = std::string(SHARED_DIR) + "/testdata/ndpi/pcap";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.find(".pcap") != std::string::npos) names.push_back(n);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Runs Debian's ndpiReader (nDPI 4.2, the library the sensor links) on a capture and returns its
// flow lines: what nDPI 4.2 says of each flow is the label the sensor must give ("Unknown" where
// nDPI only guessed from the ports or the addresses).
std::map<std::tuple<std::string, std::string, uint16_t, std::string, uint16_t>, std::string>
Ndpi42Labels(const std::string& pcap) {
  std::map<std::tuple<std::string, std::string, uint16_t, std::string, uint16_t>, std::string> out;
  // One file per capture and process: CTest runs these tests in parallel.
  std::string base = pcap.substr(pcap.find_last_of('/') + 1);
  std::string tmp = testing::TempDir() + "ndpi42-" + std::to_string(getpid()) + "-" + base + ".out";
  std::string cmd = "ndpiReader -i '" + pcap + "' -v 2 > '" + tmp + "' 2>/dev/null";
  const int status = std::system(cmd.c_str());
  std::string error;
  const auto entries = testing_util::ReadNdpiResult(tmp, &error);
  std::remove(tmp.c_str());  // one file per capture and run: do not leave them behind
  if (status != 0) return out;
  for (const auto& e : entries) {
    auto src = rules::IpAddress::Parse(e.src);
    auto dst = rules::IpAddress::Parse(e.dst);
    std::string a = src ? src->ToString() : e.src, b = dst ? dst->ToString() : e.dst;
    auto key = std::tie(a, e.src_port) <= std::tie(b, e.dst_port)
                   ? std::make_tuple(e.l4, a, e.src_port, b, e.dst_port)
                   : std::make_tuple(e.l4, b, e.dst_port, a, e.src_port);
    std::string& label = out[key];
    // nDPI's guesses from ports or addresses are no label for the sensor (classifier.h).
    if (label.empty() || label == "Unknown") label = e.guessed ? "Unknown" : e.proto;
  }
  return out;
}

// Every difference from ndpiReader, with its reason. A difference not listed fails the test, and
// so does a listed one that no longer happens (the list never goes stale).
struct Explained {
  const char* capture;
  const char* difference;  // the difference line as the test prints it (a prefix is enough)
  const char* reason;
};
constexpr Explained kExplained[] = {
    {"capwap.pcap", "label ICMPV6 :: 0 <-> ff02::1:ff72:7710 0: ndpiReader 4.2 ?",
     "the sensor opens CAPWAP data tunnels (UDP 5247, wireless frames from an access point) and "
     "counts the inner packets as flows of their own, as nDPI 4.11 (the results file) does, with "
     "the same labels; Debian's ndpiReader 4.2 does not, so it has no label for them"},
    {"capwap.pcap", "label ICMPV6 fe80::fd:7a4c:8d72:7710 0 <-> ff02::16 0: ndpiReader 4.2 ?",
     "CAPWAP, as above"},
    {"capwap.pcap", "label ICMPV6 fe80::fd:7a4c:8d72:7710 0 <-> ff02::2 0: ndpiReader 4.2 ?",
     "CAPWAP, as above"},
    {"capwap.pcap", "label IGMP 169.254.87.121 0 <-> 224.0.0.251 0: ndpiReader 4.2 ?",
     "CAPWAP, as above"},
    {"capwap.pcap", "label UDP 0.0.0.0 68 <-> 255.255.255.255 67: ndpiReader 4.2 ?",
     "CAPWAP, as above"},
    {"capwap.pcap", "counters UDP 192.168.10.10 12380 <-> 192.168.10.9 5247",
     "CAPWAP, as above: the 16 inner packets stay in the tunnel's own flow"},
    {"gnutella.pcap", "label UDP 10.0.2.15 28681 <-> 104.156.226.72 53258",
     "one host talking to hundreds of Gnutella peers over UDP: nDPI labels such flows partly "
     "from state shared across flows (its cache of Gnutella peers); the sensor gives a flow up "
     "after 20 packets, ndpiReader only at the end of the capture, so that shared state differs "
     "for these two flows"},
    {"gnutella.pcap", "label UDP 10.0.2.15 28681 <-> 104.238.172.250 23548", "as above"},
};

class NdpiAgreementTest : public testing::TestWithParam<std::string> {};

TEST_P(NdpiAgreementTest, FlowsAgreeWithNdpiReader) {
  const std::string name = GetParam();
  const std::string pcap = std::string(SHARED_DIR) + "/testdata/ndpi/pcap/" + name;
  std::string error;
  auto expected = testing_util::ReadNdpiResult(
      std::string(SHARED_DIR) + "/testdata/ndpi/result/" + name + ".out", &error);
  ASSERT_TRUE(error.empty()) << error;

  SensorConfig config;
  config.sensor_id = "test";
  config.local_nets = DefaultLocalNets();
  std::vector<FlowRecord> flows;
  auto classifier = MakeNdpiClassifier(ClassifierConfig{});
  ASSERT_TRUE(classifier) << classifier.error().message;
  Pipeline pipeline(config, std::move(*classifier), std::make_unique<RecordingSink>(&flows));
  auto source = OpenPcapFile(pcap);
  ASSERT_TRUE(source) << source.error().message;
  std::atomic<bool> stop{false};
  auto done = RunCapture(**source, pipeline, stop, nullptr);
  ASSERT_TRUE(done) << done.error().message;

  // ndpiReader keeps one flow per 5-tuple for the whole capture; the sensor, like Zeek, starts
  // a new one when a closed TCP connection's ports are reused or a flow idled out. Sum them.
  std::map<FlowId, SeenFlow> seen;
  for (const auto& f : flows) {
    std::string l4 = ProtoName(f.key.proto);
    std::string o = f.id.orig_h.ToString(), r = f.id.resp_h.ToString();
    bool ports = f.key.proto == 6 || f.key.proto == 17;
    uint16_t op = ports ? f.id.orig_p : 0, rp = ports ? f.id.resp_p : 0;
    FlowId id = Canonical(l4, o, op, r, rp);
    SeenFlow& s = seen[id];
    s.a_addr = std::get<1>(id);
    s.a_port = std::get<2>(id);
    s.b_addr = std::get<3>(id);
    s.b_port = std::get<4>(id);
    bool orig_is_a = o == s.a_addr && op == s.a_port;
    const DirectionStats& a = orig_is_a ? f.orig : f.resp;
    const DirectionStats& b = orig_is_a ? f.resp : f.orig;
    s.a_packets += a.packets;
    s.a_bytes += a.wire_bytes;
    s.b_packets += b.packets;
    s.b_bytes += b.wire_bytes;
    if (s.application.empty()) s.application = f.classification.application;
    ++s.records;
  }

  // ndpiReader may also split one 5-tuple into several flows (a packet after a RST); sum those too.
  struct Expected {
    std::string a_addr;
    uint16_t a_port = 0;
    uint64_t a_packets = 0, a_bytes = 0, b_packets = 0, b_bytes = 0;
    std::string proto;
    std::string master;
    std::string label;
  };
  std::map<FlowId, Expected> wanted;
  for (const auto& e : expected) {
    auto src = rules::IpAddress::Parse(e.src);
    auto dst = rules::IpAddress::Parse(e.dst);
    std::string s_addr = src ? src->ToString() : e.src;
    std::string d_addr = dst ? dst->ToString() : e.dst;
    FlowId id = Canonical(e.l4, s_addr, e.src_port, d_addr, e.dst_port);
    Expected& w = wanted[id];
    w.a_addr = std::get<1>(id);
    w.a_port = std::get<2>(id);
    bool src_is_a = s_addr == w.a_addr && e.src_port == w.a_port;
    w.a_packets += src_is_a ? e.src_packets : e.dst_packets;
    w.a_bytes += src_is_a ? e.src_bytes : e.dst_bytes;
    w.b_packets += src_is_a ? e.dst_packets : e.src_packets;
    w.b_bytes += src_is_a ? e.dst_bytes : e.src_bytes;
    if (w.proto.empty() || w.proto == "Unknown") {
      w.proto = e.proto;
      w.master = e.master;
    }
    w.label = e.l4 + " " + std::get<1>(id) + " " + std::to_string(std::get<2>(id)) + " <-> " +
              std::get<3>(id) + " " + std::to_string(std::get<4>(id));
  }

  int matched = 0;
  std::vector<std::string> differences;
  std::vector<std::string> label_differences;
  int labels_as_411 = 0;
  const auto labels42 = Ndpi42Labels(pcap);
  std::set<FlowId> used;
  for (const auto& [id, w] : wanted) {
    auto it = seen.find(id);
    if (it == seen.end()) {
      differences.push_back("missing " + w.label);
      continue;
    }
    used.insert(id);
    const SeenFlow& s = it->second;
    if (s.a_packets != w.a_packets || s.a_bytes != w.a_bytes || s.b_packets != w.b_packets ||
        s.b_bytes != w.b_bytes) {
      differences.push_back("counters " + w.label + ": ndpiReader " +
                            std::to_string(w.a_packets) + "/" + std::to_string(w.a_bytes) +
                            " <-> " + std::to_string(w.b_packets) + "/" +
                            std::to_string(w.b_bytes) + ", sensor " + std::to_string(s.a_packets) +
                            "/" + std::to_string(s.a_bytes) + " <-> " +
                            std::to_string(s.b_packets) + "/" + std::to_string(s.b_bytes));
      continue;
    }
    ++matched;
    auto l42 = labels42.find(id);
    std::string want = l42 == labels42.end() ? "?" : l42->second;
    std::string have = s.application.empty() ? "Unknown" : s.application;
    if (want != have) {
      label_differences.push_back("label " + w.label + ": ndpiReader 4.2 " + want + " (4.11 " +
                                  w.proto + "), sensor " + have);
    } else if (want == w.proto) {
      ++labels_as_411;
    }
  }
  for (const auto& [id, s] : seen) {
    if (!used.count(id)) {
      differences.push_back("extra " + std::get<0>(id) + " " + s.a_addr + " " +
                            std::to_string(s.a_port) + " <-> " + s.b_addr + " " +
                            std::to_string(s.b_port));
    }
  }
  std::printf("%s: %zu flows (%zu 5-tuples) in ndpiReader's result, %d agree, %zu differences\n",
              name.c_str(), expected.size(), wanted.size(), matched, differences.size());
  differences.insert(differences.end(), label_differences.begin(), label_differences.end());
  std::set<const Explained*> used_explanations;
  for (const auto& d : differences) {
    const Explained* why = nullptr;
    for (const auto& e : kExplained) {
      if (name == e.capture && d.rfind(e.difference, 0) == 0) why = &e;
    }
    if (why != nullptr) {
      used_explanations.insert(why);
      std::printf("  explained: %s\n", d.c_str());
    } else {
      ADD_FAILURE() << name << ": unexplained difference: " << d;
    }
  }
  for (const auto& e : kExplained) {
    if (name == e.capture && !used_explanations.count(&e)) {
      ADD_FAILURE() << name << ": listed difference no longer happens: " << e.difference;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Captures, NdpiAgreementTest, testing::ValuesIn(Captures()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace sensor
