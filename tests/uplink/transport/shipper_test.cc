// The uplink's shipping loop against an in-memory link and a fake collector: ack protocol,
// window bound, resend after timeout, outage, restart with the same sealed bytes, gap reports.
#include "uplink/transport/shipper.h"

#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "transport_fakes.h"
#include "uplink/transport/collector_server.h"

namespace uplink {
namespace {

using std::chrono::milliseconds;
using testing::FakeClock;
using testing::FakeCollector;
using testing::FakeLink;
using testing::FakeSide;

SigningKey TestKey() {
  std::array<uint8_t, 32> seed{};
  seed[0] = 7;
  return *SigningKey::FromSeed(seed);
}

// Everything one test needs: spool, state dir, key, link, fake collector and its server loop.
struct Rig {
  Rig() : key(TestKey()), collector(key.verify_key()), sensor_side(link, true),
          collector_side(link, false),
          server(collector_side, [this](std::span<const uint8_t> b) {
            return collector.Ingest(b);
          }) {
    config.sensor_id = "sensor-1";
    config.spool_dir = testing::FreshDir("spool");
    config.state_dir = testing::FreshDir("state");
    config.window = 4;
    config.ack_timeout = milliseconds(1000);
    config.heartbeat_interval = milliseconds(500);
    config.silence_timeout = milliseconds(5000);
    config.rescan_interval = milliseconds(100);
  }
  std::unique_ptr<Shipper> Open() {
    auto s = Shipper::Open(config, key, sensor_side, clock);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }
  // Alternates the two loops `rounds` times, advancing the clock by `step` each round.
  void Run(Shipper& shipper, int rounds, milliseconds step = milliseconds(10)) {
    for (int i = 0; i < rounds; ++i) {
      auto ran = shipper.RunOnce(milliseconds(0));
      ASSERT_TRUE(ran) << ran.error().message;
      server.RunOnce(milliseconds(0));
      clock.Advance(step);
    }
  }
  size_t Outbox() { return testing::CountFiles(config.state_dir + "/outbox", ".env"); }
  size_t Spool() { return testing::CountFiles(config.spool_dir, ".batch"); }

  SigningKey key;
  FakeCollector collector;
  FakeClock clock;
  FakeLink link;
  FakeSide sensor_side;
  FakeSide collector_side;
  CollectorServer server;
  ShipperConfig config;
};

TEST(ShipperTest, AckedBatchesLeaveSpoolAndOutbox) {
  Rig rig;
  testing::PutBatches(rig.config.spool_dir, 0, 10);
  auto shipper = rig.Open();
  rig.Run(*shipper, 20);
  EXPECT_EQ(rig.collector.stored.size(), 10u);
  EXPECT_EQ(rig.Spool(), 0u);
  EXPECT_EQ(rig.Outbox(), 0u);
  EXPECT_TRUE(shipper->Idle());
  EXPECT_EQ(shipper->stats().acked, 10u);
  EXPECT_EQ(shipper->stats().resent, 0u);
  // Sequences 1..10, each batch's payload exactly once.
  std::set<std::string> lines(rig.collector.stored_lines.begin(), rig.collector.stored_lines.end());
  EXPECT_EQ(lines.size(), 10u);
  EXPECT_EQ(rig.collector.stored.begin()->first, 1u);
  EXPECT_EQ(rig.collector.stored.rbegin()->first, 10u);
}

TEST(ShipperTest, WindowBoundsEnvelopesInFlightAndResendsAfterTimeout) {
  Rig rig;
  testing::PutBatches(rig.config.spool_dir, 0, 30);
  rig.link.lose_down = true;  // the collector stores but its acks never arrive
  auto shipper = rig.Open();
  rig.Run(*shipper, 5);
  EXPECT_EQ(shipper->stats().in_flight, 4u);
  EXPECT_EQ(shipper->stats().sent, 4u);
  EXPECT_EQ(rig.Outbox(), 4u);  // sealed ahead no further than the window
  EXPECT_EQ(rig.collector.stored.size(), 4u);
  rig.clock.Advance(milliseconds(1000));
  rig.Run(*shipper, 1);
  EXPECT_EQ(shipper->stats().resent, 4u);
  EXPECT_EQ(shipper->stats().max_in_flight, 4u);
  rig.link.lose_down = false;
  rig.clock.Advance(milliseconds(1000));
  rig.Run(*shipper, 40);
  EXPECT_EQ(rig.collector.stored.size(), 30u);
  EXPECT_GE(shipper->stats().duplicates, 4u);  // the resent four were acked as duplicates
  EXPECT_EQ(rig.Spool(), 0u);
  EXPECT_LE(shipper->stats().max_in_flight, 4u);
}

TEST(ShipperTest, CollectorDownThenUpDeliversEverythingOnce) {
  Rig rig;
  rig.link.connected = false;
  auto shipper = rig.Open();
  // A long outage in many steps: batches keep arriving, nothing can be published.
  for (int round = 0; round < 20; ++round) {
    testing::PutBatches(rig.config.spool_dir, round * 10, 10);
    rig.Run(*shipper, 5, milliseconds(60000));
    EXPECT_LE(shipper->stats().in_flight, 4u);
    EXPECT_LE(rig.Outbox(), 4u);
  }
  EXPECT_EQ(rig.link.envelopes_published, 0u);
  EXPECT_EQ(rig.Spool(), 200u);
  rig.link.connected = true;
  rig.Run(*shipper, 200);
  EXPECT_EQ(rig.collector.stored.size(), 200u);
  EXPECT_EQ(rig.collector.ingested, 200u);  // nothing sent twice
  EXPECT_EQ(rig.Spool(), 0u);
  EXPECT_LE(shipper->stats().max_in_flight, 4u);
}

TEST(ShipperTest, RestartResendsTheSameSealedBytes) {
  Rig rig;
  testing::PutBatches(rig.config.spool_dir, 0, 3);
  rig.link.lose_down = true;
  std::map<uint64_t, std::vector<uint8_t>> first_bytes;
  {
    auto shipper = rig.Open();
    rig.Run(*shipper, 3);
    first_bytes = rig.collector.stored;
    ASSERT_EQ(first_bytes.size(), 3u);
  }  // the uplink dies before any ack arrives
  rig.link.lose_down = false;
  rig.link.up.clear();
  // The collector lost nothing, but we compare what it receives again with what it stored.
  std::vector<std::vector<uint8_t>> resent;
  auto shipper = rig.Open();
  ASSERT_TRUE(shipper->RunOnce(milliseconds(0)));
  for (const auto& m : rig.link.up) resent.push_back(m.envelope);
  rig.Run(*shipper, 5);
  ASSERT_EQ(resent.size(), 3u);
  for (const auto& bytes : resent) {
    bool same = false;
    for (const auto& [seq, stored] : first_bytes) same = same || stored == bytes;
    EXPECT_TRUE(same);
  }
  EXPECT_EQ(shipper->stats().loaded_from_outbox, 3u);
  EXPECT_EQ(shipper->stats().sealed, 0u);
  EXPECT_EQ(shipper->stats().duplicates, 3u);
  EXPECT_EQ(rig.collector.stored.size(), 3u);
  EXPECT_EQ(rig.Spool(), 0u);
  EXPECT_EQ(rig.Outbox(), 0u);
}

TEST(ShipperTest, TransientRejectIsRetriedAfterTheTimeout) {
  Rig rig;
  testing::PutBatches(rig.config.spool_dir, 0, 2);
  rig.collector.reject_with = "store_error";
  auto shipper = rig.Open();
  rig.Run(*shipper, 5);
  EXPECT_EQ(shipper->stats().rejected_transient, 2u);
  EXPECT_EQ(rig.Spool(), 2u);
  EXPECT_EQ(rig.Outbox(), 2u);
  rig.collector.reject_with.clear();
  rig.clock.Advance(milliseconds(1000));
  rig.Run(*shipper, 5);
  EXPECT_EQ(rig.collector.stored.size(), 2u);
  EXPECT_EQ(rig.Spool(), 0u);
}

TEST(ShipperTest, PermanentRejectIsSetAsideAndReportedAsGap) {
  Rig rig;
  testing::PutBatches(rig.config.spool_dir, 0, 1);
  rig.collector.reject_with = "bad_payload";
  auto shipper = rig.Open();
  rig.Run(*shipper, 1);  // sent and rejected; the reject reaches the uplink next round
  rig.collector.reject_with.clear();
  rig.Run(*shipper, 5);
  EXPECT_EQ(shipper->stats().rejected_permanent, 1u);
  EXPECT_EQ(shipper->stats().gap_reports, 1u);
  EXPECT_EQ(rig.Spool(), 0u);
  EXPECT_EQ(testing::CountFiles(rig.config.state_dir + "/rejected", ".bad_payload"), 1u);
  ASSERT_EQ(rig.collector.stored_lines.size(), 1u);
  EXPECT_NE(rig.collector.stored_lines[0].find("\"reason\":\"rejected_bad_payload\""),
            std::string::npos);
}

TEST(ShipperTest, ReplayWithDifferentContentIsSealedAgainUnderANewSequence) {
  Rig rig;
  testing::PutBatches(rig.config.spool_dir, 0, 1);
  rig.collector.stored[1] = {1, 2, 3};  // something else already holds sequence 1
  auto shipper = rig.Open();
  rig.Run(*shipper, 10);
  EXPECT_EQ(shipper->stats().resealed, 1u);
  EXPECT_EQ(rig.collector.stored.size(), 2u);
  EXPECT_EQ(rig.collector.stored.count(2), 1u);
  EXPECT_EQ(rig.Spool(), 0u);
}

TEST(ShipperTest, DuplicateAckCompletesLikeStored) {
  Rig rig;
  testing::PutBatches(rig.config.spool_dir, 0, 1);
  rig.link.lose_down = true;
  auto shipper = rig.Open();
  rig.Run(*shipper, 2);
  rig.link.lose_down = false;
  rig.clock.Advance(milliseconds(1000));
  rig.Run(*shipper, 3);
  EXPECT_EQ(shipper->stats().duplicates, 1u);
  EXPECT_EQ(rig.Spool(), 0u);
  EXPECT_EQ(rig.Outbox(), 0u);
}

TEST(ShipperTest, CorruptSpoolFileIsReportedAsGapAndDoesNotBlock) {
  Rig rig;
  testing::PutBatches(rig.config.spool_dir, 0, 3);
  // Flip a payload byte of the second batch: its CRC no longer matches.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(rig.config.spool_dir)) {
    if (e.path().extension() == ".batch") names.push_back(e.path().string());
  }
  std::sort(names.begin(), names.end());
  {
    std::fstream f(names[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(50);
    f.put('X');
  }
  auto shipper = rig.Open();
  rig.Run(*shipper, 10);
  EXPECT_EQ(shipper->stats().quarantined, 1u);
  EXPECT_EQ(shipper->stats().gap_reports, 1u);
  EXPECT_EQ(rig.collector.stored.size(), 3u);  // two batches and one gap report
  bool gap = false;
  for (const auto& l : rig.collector.stored_lines) {
    gap = gap || l.find("spool_quarantined") != std::string::npos;
  }
  EXPECT_TRUE(gap);
}

TEST(ShipperTest, SilentPartitionLeadsToReconnectAndResend) {
  Rig rig;
  testing::PutBatches(rig.config.spool_dir, 0, 2);
  rig.link.lose_up = true;  // connected, but nothing gets through and nothing comes back
  auto shipper = rig.Open();
  rig.Run(*shipper, 60, milliseconds(100));
  EXPECT_GE(rig.link.reconnects, 1u);
  EXPECT_GE(shipper->stats().heartbeats, 1u);
  rig.link.lose_up = false;
  rig.Run(*shipper, 30, milliseconds(100));
  EXPECT_EQ(rig.collector.stored.size(), 2u);
  EXPECT_EQ(rig.Spool(), 0u);
}

TEST(ShipperTest, SecondUplinkOnTheSameStateDirectoryIsRefused) {
  Rig rig;
  auto first = rig.Open();
  auto second = Shipper::Open(rig.config, rig.key, rig.sensor_side, rig.clock);
  EXPECT_FALSE(second);
}

TEST(CollectorServerTest, AnswersHeartbeatsAndRejectsMismatchedHeaders) {
  Rig rig;
  testing::PutBatches(rig.config.spool_dir, 0, 1);
  TransportMessage hb;
  hb.kind = MessageKind::kHeartbeat;
  hb.sensor_id = "sensor-1";
  hb.sequence = 42;
  rig.link.up.push_back(hb);
  rig.server.RunOnce(milliseconds(0));
  ASSERT_EQ(rig.link.down.size(), 1u);
  EXPECT_EQ(rig.link.down[0].kind, MessageKind::kHeartbeatReply);
  EXPECT_EQ(rig.link.down[0].sequence, 42u);
  rig.link.down.clear();
  // An envelope whose message claims another sequence than its header.
  auto shipper = rig.Open();
  ASSERT_TRUE(shipper->RunOnce(milliseconds(0)));
  ASSERT_EQ(rig.link.up.size(), 1u);
  rig.link.up[0].sequence = 99;
  rig.server.RunOnce(milliseconds(0));
  ASSERT_EQ(rig.link.down.size(), 1u);
  EXPECT_EQ(rig.link.down[0].status, AckStatus::kRejected);
  EXPECT_EQ(rig.link.down[0].reason, "header_mismatch");
  EXPECT_EQ(rig.server.stats().mismatched, 1u);
  // Garbage is rejected with the envelope's reason.
  TransportMessage junk;
  junk.kind = MessageKind::kEnvelope;
  junk.sensor_id = "sensor-1";
  junk.sequence = 5;
  junk.envelope = {1, 2, 3};
  rig.link.up.push_back(junk);
  rig.link.down.clear();
  rig.server.RunOnce(milliseconds(0));
  ASSERT_EQ(rig.link.down.size(), 1u);
  EXPECT_EQ(rig.link.down[0].reason, "bad_magic");
}

}  // namespace
}  // namespace uplink
