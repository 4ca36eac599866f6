// The collector offers a newly published rule bundle without waiting to be asked
// (CollectorServer::OfferNewerBundle): only to uplinks that reported an older version, each
// once, a bounded number per call; requests are still answered as before.
#include <gtest/gtest.h>

#include "transport_fakes.h"
#include "uplink/transport/collector_server.h"

namespace uplink {
namespace {

using std::chrono::milliseconds;

TransportMessage Request(const std::string& sensor, uint64_t installed) {
  TransportMessage m;
  m.kind = MessageKind::kBundleRequest;
  m.sensor_id = sensor;
  m.sequence = installed;
  return m;
}

TEST(BundleOfferTest, ANewBundleIsOfferedToUplinksThatRunAnOlderOne) {
  testing::FakeLink link;
  testing::FakeSide collector_side(link, false);
  CollectorServer server(collector_side, [](std::span<const uint8_t>) { return IngestOutcome{}; });
  OfferedBundle published;  // nothing published yet
  server.SetBundleProvider([&] { return published; });
  EXPECT_EQ(server.OfferNewerBundle(), 0u);  // nobody asked yet

  // Three uplinks ask; nothing is published, so nothing is sent.
  link.up.push_back(Request("s1", 0));
  link.up.push_back(Request("s2", 0));
  link.up.push_back(Request("s3", 7));
  server.RunOnce(milliseconds(0));
  EXPECT_TRUE(link.down.empty());
  EXPECT_EQ(server.OfferNewerBundle(), 0u);

  // Version 7 is published: s1 and s2 get it unasked, s3 (already at 7) does not.
  published = OfferedBundle{7, {1, 2, 3}};
  EXPECT_EQ(server.OfferNewerBundle(), 2u);
  ASSERT_EQ(link.down.size(), 2u);
  for (const TransportMessage& m : link.down) {
    EXPECT_EQ(m.kind, MessageKind::kBundleOffer);
    EXPECT_EQ(m.sequence, 7u);
    EXPECT_EQ(m.envelope, published.bytes);
    EXPECT_NE(m.sensor_id, "s3");
  }
  link.down.clear();
  EXPECT_EQ(server.OfferNewerBundle(), 0u);  // each once
  EXPECT_TRUE(link.down.empty());

  // An uplink that refused it (say, another key) reports its old version again when it asks:
  // the answer is the offer, as before.
  link.up.push_back(Request("s1", 0));
  server.RunOnce(milliseconds(0));
  ASSERT_EQ(link.down.size(), 1u);
  EXPECT_EQ(link.down[0].sensor_id, "s1");
  link.down.clear();
  EXPECT_EQ(server.OfferNewerBundle(), 0u);
  EXPECT_EQ(server.stats().bundle_offers, 3u);
  EXPECT_EQ(server.stats().bundle_requests, 4u);
}

TEST(BundleOfferTest, OffersAreSpreadOverCallsAndNeedAPeer) {
  testing::FakeLink link;
  testing::FakeSide collector_side(link, false);
  CollectorServer server(collector_side, [](std::span<const uint8_t>) { return IngestOutcome{}; });
  OfferedBundle published;
  server.SetBundleProvider([&] { return published; });
  for (int i = 0; i < 40; ++i) link.up.push_back(Request("s" + std::to_string(i), 1));
  server.RunOnce(milliseconds(0), 64);
  published = OfferedBundle{2, {9}};
  link.connected = false;  // no peer: nothing is sent and nothing is marked as offered
  EXPECT_EQ(server.OfferNewerBundle(16), 0u);
  link.connected = true;
  EXPECT_EQ(server.OfferNewerBundle(16), 16u);
  EXPECT_EQ(server.OfferNewerBundle(16), 16u);
  EXPECT_EQ(server.OfferNewerBundle(16), 8u);
  EXPECT_EQ(server.OfferNewerBundle(16), 0u);
  EXPECT_EQ(link.down.size(), 40u);
}

}  // namespace
}  // namespace uplink
