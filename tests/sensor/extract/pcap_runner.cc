#include "sensor/extract/pcap_runner.h"

#include <utility>

#include <gtest/gtest.h>

#include "sensor/capture/packet_source.h"
#include "sensor/decode/decoder.h"
#include "sensor/dpi/classifier.h"
#include "sensor/flow/flow_table.h"

namespace sensor::testing {

const rules::FingerprintDb* TestFingerprints() {
  static auto* db = [] {
    auto loaded = rules::LoadFingerprintDb(UTKIKK_FINGERPRINT_DIR);
    EXPECT_TRUE(loaded.has_value()) << loaded.error().message;
    return loaded ? new rules::FingerprintDb(std::move(*loaded)) : nullptr;
  }();
  return db;
}

bool RunCapture(const std::string& path, RecordingSink* sink, ExtractStats* stats,
                const std::vector<rules::Cidr>& local_nets, const ExtractConfig& config,
                ExtractorSet::DnsObserver dns_observer) {
  auto source = OpenPcapFile(path);
  if (!source) {
    ADD_FAILURE() << path << ": " << source.error().message;
    return false;
  }
  auto classifier = MakeNdpiClassifier(ClassifierConfig{});
  if (!classifier) {
    ADD_FAILURE() << classifier.error().message;
    return false;
  }
  ExtractorSet extract(config, TestFingerprints(), *sink, local_nets);
  extract.SetDnsObserver(std::move(dns_observer));
  EXPECT_EQ(extract.warning(), "");
  Decoder decoder;
  FlowTable flows(FlowTableConfig{}, [&](FlowRecord& flow, FlowEndReason reason) {
    if (reason == FlowEndReason::kInterim) return;
    if (!flow.classification.done) (*classifier)->Finish(flow);
    extract.OnFlowEnd(flow);
  });
  PacketView view;
  DecodedPacket packet;
  int64_t now = 0;
  while (true) {
    auto more = (*source)->Next(&view);
    if (!more) {
      ADD_FAILURE() << path << ": " << more.error().message;
      return false;
    }
    if (!*more) break;
    if (!decoder.Decode(view, &packet)) {
      extract.OnNonIp(packet, view.bytes);  // ARP, LLDP, CDP
      continue;
    }
    now = std::max(now, packet.timestamp_us);
    packet.timestamp_us = now;
    bool from_orig = true;
    FlowRecord& flow = flows.Update(packet, &from_orig);
    if (!flow.classification.done) (*classifier)->Inspect(flow, packet, from_orig);
    extract.OnPacket(flow, packet, from_orig);
  }
  flows.Flush();
  if (stats != nullptr) *stats = extract.stats();
  return true;
}

}  // namespace sensor::testing
