// End to end: the generated demo capture (tools/gen-capture) through the sensor's pipeline with
// the inventory, the alerting tee and the flow alerter, with the shipped packs loaded.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rules/fingerprint.h"
#include "sensor/alerts/alerting.h"
#include "sensor/config.h"
#include "sensor/extract/extractor_set.h"
#include "sensor/inventory/inventory.h"
#include "sensor/pipeline/pipeline.h"

namespace sensor {
namespace {

// The production sink, plus the flow alerter at every flow end (what pipeline.cc does once the
// alerter is wired in).
class AlertingPipelineSink : public PipelineSink {
 public:
  AlertingPipelineSink(PipelineSinkPtr inner, FlowAlerter& flows)
      : inner_(std::move(inner)), flows_(flows) {}
  void OnFlowEnd(const FlowRecord& flow, FlowEndReason reason, bool local_orig,
                 bool local_resp) override {
    inner_->OnFlowEnd(flow, reason, local_orig, local_resp);
    if (reason != FlowEndReason::kInterim) flows_.OnFlowEnd(flow, local_orig, local_resp);
  }
  void OnWeird(int64_t ts_us, Weird weird, const DecodedPacket& packet,
               const FlowRecord* flow) override {
    inner_->OnWeird(ts_us, weird, packet, flow);
  }
  void OnStats(const StatsRecord& stats) override { inner_->OnStats(stats); }
  rules::Result<> Close(int64_t ts_us) override { return inner_->Close(ts_us); }

 private:
  PipelineSinkPtr inner_;
  FlowAlerter& flows_;
};

TEST(DemoCaptureTest, RaisesTheApacheCveAndPolicyAlerts) {
  namespace fs = std::filesystem;
  std::string dir = (fs::temp_directory_path() / ("alerts_demo." + std::to_string(getpid())))
                        .string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string pcap = dir + "/demo.pcap";
  std::string command = std::string(BUILD_DIR) + "/utkikk-gen-capture --out " + pcap +
                        " --minutes 2 > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  SensorConfig config;
  config.local_nets = DefaultLocalNets();
  config.logs.directory = dir;
  config.sensor_id = "demo-sensor";
  auto fingerprints = rules::LoadFingerprintDb(UTKIKK_FINGERPRINT_DIR);
  ASSERT_TRUE(fingerprints.has_value()) << fingerprints.error().message;
  InventoryConfig inventory_config;
  inventory_config.log_dir = dir;
  std::string db = dir + "/inventory.db";
  auto inventory = Inventory::Open(db, inventory_config);
  ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
  auto alerting = OpenAlerting(AlertsSettings{}, db, dir, ZeekLogFormat::kJson, config.sensor_id,
                               config.local_nets, **inventory);
  ASSERT_TRUE(alerting.has_value()) << alerting.error().message;
  ExtractorSet extractors(ExtractConfig{}, &*fingerprints, (*alerting)->facts(), config.local_nets);
  auto sink = OpenZeekLogSink(dir, config.logs.format, config.sensor_id);
  ASSERT_TRUE(sink.has_value()) << sink.error().message;
  auto classifier = MakeNdpiClassifier(ClassifierConfig{});
  ASSERT_TRUE(classifier.has_value()) << classifier.error().message;
  auto source = OpenPcapFile(pcap);
  ASSERT_TRUE(source.has_value()) << source.error().message;
  {
    Pipeline pipeline(config, std::move(*classifier),
                      std::make_unique<AlertingPipelineSink>(std::move(*sink),
                                                             (*alerting)->flows()),
                      &extractors);
    std::atomic<bool> stop{false};
    auto done = RunCapture(**source, pipeline, stop, {});
    ASSERT_TRUE(done.has_value()) << done.error().message;
  }
  // The inventory first: it holds its write transaction until it commits.
  ASSERT_TRUE((*inventory)->Close().has_value());
  ASSERT_TRUE((*alerting)->Close().has_value());
  EXPECT_EQ((*alerting)->stats().store.store_errors, 0u);

  std::set<std::string> notes;
  std::ifstream in(dir + "/notice.log");
  std::string line;
  while (std::getline(in, line)) notes.insert(nlohmann::json::parse(line)["note"]);
  auto rows = ReadAlerts(db, INT64_MIN);
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  std::set<std::string> stored;
  for (const auto& r : *rows) stored.insert(r.rule_id);
  std::string listing;
  for (const auto& n : notes) listing += n + " ";
  std::cout << "demo capture alerts: " << listing << "\n";
  EXPECT_EQ(notes, stored);
  EXPECT_TRUE(notes.count("apache-httpd-cve-2021-41773")) << listing;
  // The SNMP agent answers a v2c request with the community "public" (the extractor's flow
  // attributes); the SMB1-only scanner is refused by the file server, so no SMBv1 alert.
  EXPECT_TRUE(notes.count("policy-snmp-public-community")) << listing;
  EXPECT_FALSE(notes.count("policy-smbv1")) << listing;
  auto apache = std::find_if(rows->begin(), rows->end(), [](const StoredAlert& a) {
    return a.rule_id == "apache-httpd-cve-2021-41773";
  });
  ASSERT_NE(apache, rows->end());
  EXPECT_EQ(apache->src, "10.30.0.20");
  EXPECT_EQ(apache->port, 80);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sensor
