// Broker over mutual TLS on 127.0.0.1 with a throwaway PKI: round trip, refusal of peers without
// a proper client certificate, refusal to start without TLS material, and the whole chain
// (spool -> Shipper -> Broker -> CollectorServer -> the real SQLite collector) with a restart.
#include "uplink/transport/transport.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "transport_fakes.h"
#include "uplink/collector/collector.h"
#include "uplink/rule_bundle.h"
#include "uplink/transport/collector_server.h"
#include "uplink/transport/shipper.h"

namespace uplink {
namespace {

using std::chrono::milliseconds;

// Polls `step` until `done` or a generous upper bound (not a timing assertion).
bool WaitFor(const std::function<bool()>& done, const std::function<void()>& step = [] {
  std::this_thread::sleep_for(milliseconds(20));
}) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    step();
  }
  return done();
}

struct Peers {
  testing::TestPki pki;
  std::unique_ptr<BrokerListener> listener;
  TransportPtr client;
};

Peers Connect(const std::string& sensor) {
  Peers p;
  p.pki = testing::MakeTestPki(testing::FreshDir("pki"), sensor);
  BrokerListenOptions listen;
  listen.tls = p.pki.collector;
  auto l = ListenBroker(listen);
  EXPECT_TRUE(l) << l.error().message;
  if (!l) return p;
  p.listener = std::move(*l);
  EXPECT_NE(p.listener->bound_port(), 0);
  BrokerConnectOptions connect;
  connect.tls = p.pki.sensor;
  connect.sensor_id = sensor;
  connect.port = p.listener->bound_port();
  connect.retry = std::chrono::seconds(1);
  auto c = ConnectBroker(connect);
  EXPECT_TRUE(c) << c.error().message;
  if (c) p.client = std::move(*c);
  return p;
}

TEST(BrokerTransportTest, RoundTripOverMutualTls) {
  Peers p = Connect("s1");
  ASSERT_TRUE(p.listener && p.client);
  ASSERT_TRUE(WaitFor([&] { return p.client->peer_count() > 0 && p.listener->peer_count() > 0; }));
  TransportMessage env;
  env.kind = MessageKind::kEnvelope;
  env.sensor_id = "s1";
  env.sequence = 7;
  env.envelope = {0, 1, 2, 255, 0, 128};  // binary, with NULs
  // Broker may drop what is published before the subscription has propagated: resend until
  // it arrives, exactly as the uplink does.
  std::vector<TransportMessage> got;
  ASSERT_TRUE(WaitFor([&] { return !got.empty(); }, [&] {
    ASSERT_TRUE(p.client->Publish(env));
    got = p.listener->Poll(milliseconds(200), 8);
  }));
  EXPECT_EQ(got[0].kind, MessageKind::kEnvelope);
  EXPECT_EQ(got[0].sensor_id, "s1");
  EXPECT_EQ(got[0].sequence, 7u);
  EXPECT_EQ(got[0].envelope, env.envelope);
  TransportMessage ack;
  ack.kind = MessageKind::kAck;
  ack.sensor_id = "s1";
  ack.sequence = 7;
  ack.status = AckStatus::kRejected;
  ack.reason = "unknown_sensor";
  std::vector<TransportMessage> acks;
  ASSERT_TRUE(WaitFor([&] { return !acks.empty(); }, [&] {
    ASSERT_TRUE(p.listener->Publish(ack));
    acks = p.client->Poll(milliseconds(200), 8);
  }));
  EXPECT_EQ(acks[0].kind, MessageKind::kAck);
  EXPECT_EQ(acks[0].status, AckStatus::kRejected);
  EXPECT_EQ(acks[0].reason, "unknown_sensor");
}

// Waits until the refused client has tried (and failed) a few times, then checks that the
// listener never peered and never received anything.
void ExpectRefused(BrokerListener& listener, Transport& client) {
  TransportMessage env;
  env.kind = MessageKind::kEnvelope;
  env.sensor_id = "s1";
  env.sequence = 1;
  env.envelope = {1};
  int rounds = 0;
  ASSERT_TRUE(WaitFor([&] { return client.stats().errors >= 2 || rounds >= 100; }, [&] {
    ++rounds;
    (void)client.Publish(env);
    std::vector<TransportMessage> got = listener.Poll(milliseconds(50), 8);
    EXPECT_TRUE(got.empty());
  }));
  EXPECT_EQ(listener.peer_count(), 0u);
  EXPECT_EQ(client.peer_count(), 0u);
  EXPECT_EQ(listener.stats().received, 0u);
  EXPECT_EQ(client.stats().published, 0u);  // never had a peer to publish to
}

TEST(BrokerTransportTest, RefusesAPeerWithoutClientCertificate) {
  Peers p = Connect("s1");
  ASSERT_TRUE(p.listener);
  p.client.reset();
  // Broker's fallback: TLS without any certificate (anonymous cipher suites).
  auto anonymous = ConnectBrokerAnonymousForTest("s1", "127.0.0.1", p.listener->bound_port());
  ASSERT_TRUE(anonymous) << anonymous.error().message;
  ExpectRefused(*p.listener, **anonymous);
}

TEST(BrokerTransportTest, RefusesAClientCertificateFromTheWrongCa) {
  Peers p = Connect("s1");
  ASSERT_TRUE(p.listener);
  p.client.reset();
  BrokerConnectOptions connect;
  connect.tls = p.pki.wrong_sensor;
  connect.sensor_id = "s1";
  connect.port = p.listener->bound_port();
  connect.retry = std::chrono::seconds(1);
  auto impostor = ConnectBroker(connect);
  ASSERT_TRUE(impostor) << impostor.error().message;
  ExpectRefused(*p.listener, **impostor);
}

TEST(BrokerTransportTest, RefusesToStartWithoutCompleteTlsMaterial) {
  testing::TestPki pki = testing::MakeTestPki(testing::FreshDir("pki"), "s1");
  BrokerListenOptions listen;
  listen.tls = pki.collector;
  listen.tls.ca.clear();
  auto l = ListenBroker(listen);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, rules::ErrorCode::kConfig);
  BrokerConnectOptions connect;
  connect.tls = pki.sensor;
  connect.sensor_id = "s1";
  connect.tls.cert.clear();
  EXPECT_FALSE(ConnectBroker(connect));
  connect.tls = pki.sensor;
  connect.tls.key = pki.collector.key;  // a key that does not match the certificate
  auto mismatched = ConnectBroker(connect);
  ASSERT_FALSE(mismatched);
  EXPECT_NE(mismatched.error().message.find("does not match"), std::string::npos);
  connect.tls = pki.sensor;
  connect.tls.ca = pki.sensor.key;  // not a certificate
  EXPECT_FALSE(ConnectBroker(connect));
}

// The whole chain with the real collector library and its SQLite store; the uplink is
// restarted while acks are outstanding, and the collector acks the resends as duplicates.
TEST(BrokerTransportTest, ShipsSpoolToRealCollectorAcrossAnUplinkRestart) {
  Peers p = Connect("s1");
  ASSERT_TRUE(p.listener && p.client);
  std::array<uint8_t, 32> seed{};
  seed[3] = 9;
  SigningKey key = *SigningKey::FromSeed(seed);
  CollectorConfig cc;
  cc.store_url = "sqlite://" + testing::FreshDir("store") + "/collector.db";
  auto collector = Collector::Open(cc);
  ASSERT_TRUE(collector) << collector.error().message;
  ASSERT_TRUE((*collector)->Enroll("member-1", "s1", key.verify_key()));
  bool drop_acks = true;
  CollectorServer server(*p.listener, [&](std::span<const uint8_t> bytes) {
    IngestOutcome out = (*collector)->Ingest(bytes);
    if (drop_acks && out.ack) out.reason = "store_error", out.ack = false;  // stored, ack lost
    return out;
  });
  ShipperConfig config;
  config.sensor_id = "s1";
  config.spool_dir = testing::FreshDir("spool");
  config.state_dir = testing::FreshDir("state");
  config.window = 8;
  config.ack_timeout = milliseconds(300);
  config.rescan_interval = milliseconds(50);
  constexpr int kBatches = 300;
  testing::PutBatches(config.spool_dir, 0, kBatches);
  SystemClock clock;
  {
    auto shipper = Shipper::Open(config, key, *p.client, clock);
    ASSERT_TRUE(shipper) << shipper.error().message;
    const bool ok = WaitFor([&] { return (*collector)->stats().stored >= 8; }, [&] {
      ASSERT_TRUE((*shipper)->RunOnce(milliseconds(10)));
      server.RunOnce(milliseconds(10));
    });
    ASSERT_TRUE(ok);
  }  // uplink gone with 8 envelopes stored but never acknowledged
  drop_acks = false;
  auto shipper = Shipper::Open(config, key, *p.client, clock);
  ASSERT_TRUE(shipper) << shipper.error().message;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return (*shipper)->Idle(); }, [&] {
    ASSERT_TRUE((*shipper)->RunOnce(milliseconds(5)));
    server.RunOnce(milliseconds(5), 256);
  }));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const CollectorStats stats = (*collector)->stats();
  EXPECT_EQ(stats.stored, uint64_t{kBatches});
  EXPECT_GE(stats.duplicates, 8u);
  EXPECT_EQ((*shipper)->stats().loaded_from_outbox, 8u);
  EXPECT_EQ(testing::CountFiles(config.spool_dir, ".batch"), 0u);
  EXPECT_LE((*shipper)->stats().max_in_flight, 8u);
  std::printf("loopback TLS, window 8, SQLite collector: %d envelopes in %.2f s = %.0f/s\n",
              kBatches, seconds, kBatches / seconds);
}


// Rule bundles over the same link: the uplink asks with the version it has, the collector offers
// a newer one, the uplink verifies it with the rules key and installs it; a bundle signed with
// another key is offered too and refused, and the installed version stays.
TEST(BrokerTransportTest, CollectorOffersANewerRuleBundleAndTheUplinkInstallsIt) {
  Peers p = Connect("s1");
  ASSERT_TRUE(p.listener && p.client);
  std::array<uint8_t, 32> seed{};
  seed[0] = 1;
  SigningKey sensor_key = *SigningKey::FromSeed(seed);
  seed[0] = 2;
  SigningKey rules_key = *SigningKey::FromSeed(seed);
  seed[0] = 3;
  SigningKey impostor = *SigningKey::FromSeed(seed);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto make = [&](uint64_t version, const SigningKey& key) {
    RuleBundle b;
    b.version = version;
    b.created_s = now;
    b.expires_s = now + 86400;
    b.files.push_back({"csirt.yaml", "[]\n"});
    return *BuildRuleBundle(b, key);
  };
  OfferedBundle offer{4, make(4, rules_key)};
  CollectorServer server(*p.listener, [](std::span<const uint8_t>) { return IngestOutcome{}; });
  server.SetBundleProvider([&] { return offer; });

  const std::string bundle_dir = testing::FreshDir("bundles");
  std::vector<std::string> refusals;
  ShipperConfig config;
  config.sensor_id = "s1";
  config.spool_dir = testing::FreshDir("spool");
  config.state_dir = testing::FreshDir("state");
  config.bundle_interval = milliseconds(100);
  config.bundle_version = [&] { return InstalledBundleVersion(bundle_dir).value_or(0); };
  config.on_bundle_offer = [&](uint64_t, const std::vector<uint8_t>& bytes) {
    auto opened = OpenRuleBundle(bytes, rules_key.verify_key(), now,
                                 InstalledBundleVersion(bundle_dir).value_or(0), nullptr);
    if (!opened) {
      refusals.push_back(opened.error().message);
      return;
    }
    ASSERT_TRUE(InstallRuleBundle(bundle_dir, bytes, *opened));
  };
  SystemClock clock;
  auto shipper = Shipper::Open(config, sensor_key, *p.client, clock);
  ASSERT_TRUE(shipper) << shipper.error().message;
  auto step = [&] {
    ASSERT_TRUE((*shipper)->RunOnce(milliseconds(10)));
    server.RunOnce(milliseconds(10));
  };
  ASSERT_TRUE(WaitFor([&] { return InstalledBundleVersion(bundle_dir).value_or(0) == 4; }, step));
  EXPECT_GE(server.stats().bundle_offers, 1u);
  // Another key's bundle with a higher version: offered, refused, nothing changes.
  offer = OfferedBundle{5, make(5, impostor)};
  ASSERT_TRUE(WaitFor([&] { return !refusals.empty(); }, step));
  EXPECT_NE(refusals[0].find("wrong key"), std::string::npos) << refusals[0];
  EXPECT_EQ(InstalledBundleVersion(bundle_dir).value_or(0), 4u);
  // The CSIRT publishes version 6: it arrives.
  offer = OfferedBundle{6, make(6, rules_key)};
  ASSERT_TRUE(WaitFor([&] { return InstalledBundleVersion(bundle_dir).value_or(0) == 6; }, step));
}

}  // namespace
}  // namespace uplink
