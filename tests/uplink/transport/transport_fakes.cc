#include "transport_fakes.h"

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace uplink::testing {

rules::Result<void> FakeSide::Publish(const TransportMessage& m) {
  if (!link_.connected) return rules::Fail(rules::ErrorCode::kPeerUnavailable, "down");
  ++stats_.published;
  if (sensor_) {
    if (m.kind == MessageKind::kEnvelope) ++link_.envelopes_published;
    if (!link_.lose_up) link_.up.push_back(m);
  } else if (!link_.lose_down) {
    link_.down.push_back(m);
  }
  return {};
}

std::vector<TransportMessage> FakeSide::Poll(std::chrono::milliseconds, size_t max) {
  std::deque<TransportMessage>& q = sensor_ ? link_.down : link_.up;
  std::vector<TransportMessage> out;
  while (!q.empty() && out.size() < max) {
    out.push_back(std::move(q.front()));
    q.pop_front();
  }
  stats_.received += out.size();
  return out;
}

IngestOutcome FakeCollector::Ingest(std::span<const uint8_t> bytes) {
  ++ingested;
  IngestOutcome out;
  RejectReason reason = RejectReason::kNone;
  auto opened = OpenEnvelope(bytes, key_, OpenLimits{}, &reason);
  if (!opened) {
    out.reason = std::string(RejectReasonName(reason));
    return out;
  }
  out.sensor_id = opened->fields.sensor_id;
  out.sequence = opened->fields.sequence;
  if (!reject_with.empty()) {
    out.reason = reject_with;
    return out;
  }
  auto it = stored.find(out.sequence);
  if (it != stored.end()) {
    if (std::equal(it->second.begin(), it->second.end(), bytes.begin(), bytes.end())) {
      out.ack = out.duplicate = true;
    } else {
      out.reason = "replay_different_content";
    }
    return out;
  }
  stored.emplace(out.sequence, std::vector<uint8_t>(bytes.begin(), bytes.end()));
  stored_lines.push_back(opened->json_lines);
  out.ack = true;
  return out;
}

std::string FreshDir(const std::string& leaf) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "uplink_transport" /
                              (std::string(info->test_suite_name()) + "." + info->name()) / leaf;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  return dir.string();
}

void PutBatches(const std::string& spool_dir, int first, int n) {
  SpoolConfig config;
  config.dir = spool_dir;
  auto writer = SpoolWriter::Open(config);
  ASSERT_TRUE(writer) << writer.error().message;
  for (int i = first; i < first + n; ++i) {
    auto put = (*writer)->Put(MakeBatch(
        PayloadType::kInventory, 1700000000000000 + i, 1700000000000000, 1700000000000000 + i,
        "{\"type\":\"host\",\"host\":\"10.0." + std::to_string(i / 250) + "." +
            std::to_string(i % 250) + "\"}\n"));
    ASSERT_TRUE(put) << put.error().message;
  }
}

size_t CountFiles(const std::string& dir, const std::string& suffix) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() >= suffix.size() && name.ends_with(suffix) && name[0] != '.') ++n;
  }
  return n;
}

TestPki MakeTestPki(const std::string& dir, const std::string& sensor) {
  const std::string pki = std::string(TEST_DATA_DIR) + "/../../tools/pki";
  const std::string quiet = " >/dev/null 2>&1";
  EXPECT_EQ(std::system((pki + " init " + dir + quiet).c_str()), 0);
  EXPECT_EQ(std::system((pki + " collector " + dir + " col" + quiet).c_str()), 0);
  EXPECT_EQ(std::system((pki + " sensor " + dir + " " + sensor + quiet).c_str()), 0);
  // A client certificate from the wrong CA: the collector-server CA.
  EXPECT_EQ(std::system((pki + " collector " + dir + " impostor" + quiet).c_str()), 0);
  TestPki out;
  out.collector = {dir + "/collector-col.crt", dir + "/collector-col.key",
                   dir + "/sensor-client-ca.crt", ""};
  out.sensor = {dir + "/sensor-" + sensor + ".crt", dir + "/sensor-" + sensor + ".key",
                dir + "/collector-server-ca.crt", ""};
  out.wrong_sensor = {dir + "/collector-impostor.crt", dir + "/collector-impostor.key",
                      dir + "/collector-server-ca.crt", ""};
  return out;
}

}  // namespace uplink::testing
