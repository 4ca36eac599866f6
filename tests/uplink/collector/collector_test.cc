#include "uplink/collector/collector.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <zstd.h>

#include "rules/engine/rule_set.h"
#include "uplink/collector/affected.h"
#include "uplink/collector/key_rotation.h"
#include "uplink/collector/query_format.h"
#include "uplink/envelope.h"

#include "collector/collector_internal.h"
#include "collector/db.h"
#include "envelope_internal.h"
#include <nlohmann/json.hpp>

namespace uplink {
namespace {

using collector_internal::Db;

constexpr const char* kSensor = "kommune-01.sensor-a";
constexpr const char* kMember = "kommune-01";

SigningKey KeyFromSeed(uint8_t first) {
  std::array<uint8_t, 32> seed{};
  for (size_t i = 0; i < seed.size(); ++i)
    seed[i] = static_cast<uint8_t>(first + i);
  auto key = SigningKey::FromSeed(seed);
  EXPECT_TRUE(key) << key.error().message;
  return std::move(*key);
}

EnvelopeHeaderFields Fields(uint64_t seq, PayloadType type = PayloadType::kInventory,
                            const std::string& sensor = kSensor) {
  EnvelopeHeaderFields f;
  f.sensor_id = sensor;
  f.sequence = seq;
  f.created_at_us = 1700000000123456;
  f.window_start_us = 1699999940000000;
  f.window_end_us = 1700000000000000;
  f.payload_type = type;
  return f;
}

std::vector<uint8_t> Seal(const EnvelopeHeaderFields& f, std::string_view lines,
                          const SigningKey& key) {
  auto sealed = SealEnvelope(f, lines, key);
  EXPECT_TRUE(sealed) << sealed.error().message;
  return sealed ? *sealed : std::vector<uint8_t>{};
}

const char kInventory[] =
    R"({"type":"host","host":"10.0.0.5","mac":"00:11:22:33:44:55","vendor":"HP","names":["printer-2","printer-2.kommune.local"],"os":{"vendor":"HP","product":"JetDirect","version":"1.2"}})"
    "\n"
    R"({"type":"service","host":"10.0.0.5","port":9100,"proto":"tcp","protocol":"","exposed":false})"
    "\n"
    R"({"type":"service","host":"10.0.0.9","port":443,"proto":"tcp","protocol":"ssl","exposed":true,"first_seen":1699999950000000,"last_seen":1699999990000000})"
    "\n"
    R"({"type":"software","host":"10.0.0.9","port":443,"role":"server","vendor":"Ivanti","product":"EPMM","version":"11.10.0.2","cpe23":"cpe:2.3:a:ivanti:endpoint_manager_mobile:11.10.0.2:*:*:*:*:*:*:*","raw":"MobileIron"})"
    "\n"
    R"({"type":"software","host":"10.0.0.9","port":22,"role":"server","vendor":"OpenBSD","product":"OpenSSH","version":"9.2p1","cpe23":"","raw":"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"})"
    "\n";

// The store under test: SQLite in a temporary file, or PostgreSQL from UTKIKK_TEST_PG_URL
// (tests/uplink/collector/with_postgres.sh starts a throwaway server and sets it).
class CollectorTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      const char* url = std::getenv("UTKIKK_TEST_PG_URL");
      if (url == nullptr || *url == '\0') {
        GTEST_SKIP() << "UTKIKK_TEST_PG_URL not set (run under "
                        "tests/uplink/collector/with_postgres.sh for the PostgreSQL variant)";
      }
      config_.store_url = url;
      auto db = collector_internal::OpenDb(url);
      ASSERT_TRUE(db) << db.error().message;
      ASSERT_TRUE((*db)->ExecScript(
          "DROP TABLE IF EXISTS collector_meta, sensor_keys, envelopes, hosts, host_names, "
          "services, software, gaps, records, flow_services, flow_hosts, alerts, log_senders, "
          "health_latest, health_history"));
    } else {
      const auto* info = testing::UnitTest::GetInstance()->current_test_info();
      std::string name = std::string(info->name());
      for (char& c : name)
        c = (c == '/') ? '_' : c;
      path_ = testing::TempDir() + "collector_" + name + ".db";
      for (const char* suffix : {"", "-wal", "-shm"})
        std::remove((path_ + suffix).c_str());
      config_.store_url = "sqlite://" + path_;
    }
    Reopen();
  }
  void Reopen() {
    collector_.reset();
    auto c = Collector::Open(config_);
    ASSERT_TRUE(c) << c.error().message;
    collector_ = std::move(*c);
  }
  void EnrollDefault() {
    auto e = collector_->Enroll(kMember, kSensor, key_.verify_key());
    ASSERT_TRUE(e) << e.error().message;
  }
  // One value from a separate connection (what another reader would see).
  int64_t Count(const std::string& sql) {
    auto db = collector_internal::OpenDb(config_.store_url);
    EXPECT_TRUE(db) << db.error().message;
    if (!db)
      return -1;
    auto rows = (*db)->Run(sql);
    EXPECT_TRUE(rows) << rows.error().message;
    if (!rows || rows->empty() || !rows->front()[0])
      return -1;
    return std::stoll(*rows->front()[0]);
  }
  int64_t StoredRows() {
    return Count(
        "SELECT (SELECT COUNT(*) FROM envelopes) + (SELECT COUNT(*) FROM hosts) + "
        "(SELECT COUNT(*) FROM host_names) + (SELECT COUNT(*) FROM services) + "
        "(SELECT COUNT(*) FROM software) + (SELECT COUNT(*) FROM gaps) + "
        "(SELECT COUNT(*) FROM records) + (SELECT COUNT(*) FROM flow_services) + "
        "(SELECT COUNT(*) FROM flow_hosts) + (SELECT COUNT(*) FROM alerts) + "
        "(SELECT COUNT(*) FROM log_senders) + (SELECT COUNT(*) FROM health_latest) + "
        "(SELECT COUNT(*) FROM health_history)");
  }

  CollectorConfig config_;
  std::string path_;
  std::unique_ptr<Collector> collector_;
  SigningKey key_ = KeyFromSeed(0);
};

INSTANTIATE_TEST_SUITE_P(Stores, CollectorTest, testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST_P(CollectorTest, StoresInventoryAndAnswersQueries) {
  EnrollDefault();
  const IngestOutcome out = collector_->Ingest(Seal(Fields(1), kInventory, key_));
  ASSERT_TRUE(out.ack) << out.reason << ": " << out.message;
  EXPECT_FALSE(out.duplicate);
  EXPECT_EQ(out.sensor_id, kSensor);
  EXPECT_EQ(out.sequence, 1u);

  auto hosts = collector_->QueryHosts(kMember);
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 2u);
  const HostRow& printer = (*hosts)[0];
  EXPECT_EQ(printer.host, "10.0.0.5");
  EXPECT_EQ(printer.mac, "00:11:22:33:44:55");
  EXPECT_EQ(printer.os_product, "JetDirect");
  EXPECT_EQ(printer.names, (std::vector<std::string>{"printer-2", "printer-2.kommune.local"}));
  ASSERT_EQ(printer.services.size(), 1u);
  EXPECT_EQ(printer.services[0].port, 9100);
  EXPECT_EQ(printer.first_seen_us, 1699999940000000);  // the window, as the line had no times
  const HostRow& server = (*hosts)[1];                 // known only from its service line
  EXPECT_EQ(server.host, "10.0.0.9");
  ASSERT_EQ(server.services.size(), 1u);
  EXPECT_TRUE(server.services[0].exposed);
  EXPECT_EQ(server.services[0].protocol, "ssl");
  EXPECT_EQ(server.services[0].first_seen_us, 1699999950000000);

  auto other_member = collector_->QueryHosts("kommune-02");
  ASSERT_TRUE(other_member);
  EXPECT_TRUE(other_member->empty());

  // "Which members run Ivanti EPMM older than 11.10.0.3?"
  auto old = collector_->QuerySoftware({"epmm", "", "11.10.0.3"});
  ASSERT_TRUE(old) << old.error().message;
  ASSERT_EQ(old->size(), 1u);
  EXPECT_EQ((*old)[0].member_id, kMember);
  EXPECT_EQ((*old)[0].version, "11.10.0.2");
  EXPECT_EQ((*old)[0].port, 443);
  auto older = collector_->QuerySoftware({"EPMM", "ivanti", "11.10.0.2"});
  ASSERT_TRUE(older);
  EXPECT_TRUE(older->empty());
  auto wrong_vendor = collector_->QuerySoftware({"EPMM", "Citrix", ""});
  ASSERT_TRUE(wrong_vendor);
  EXPECT_TRUE(wrong_vendor->empty());
  // OpenSSH versions compare under the OpenSSH scheme: 9.2p1 < 9.2p2 < 9.10p1.
  auto ssh = collector_->QuerySoftware({"OpenSSH", "", "9.10p1"});
  ASSERT_TRUE(ssh);
  EXPECT_EQ(ssh->size(), 1u);
  auto ssh_new = collector_->QuerySoftware({"OpenSSH", "", "9.2p1"});
  ASSERT_TRUE(ssh_new);
  EXPECT_TRUE(ssh_new->empty());

  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 1);
  EXPECT_EQ(Count("SELECT line_count FROM envelopes"), 5);
  const CollectorStats stats = collector_->stats();
  EXPECT_EQ(stats.stored, 1u);
  EXPECT_EQ(stats.lines_stored, 5u);
  EXPECT_EQ(stats.lines_unrecognised, 0u);
}

TEST_P(CollectorTest, LaterObservationsUpdateLatestStateAndWidenTimes) {
  EnrollDefault();
  ASSERT_TRUE(collector_->Ingest(Seal(Fields(1), kInventory, key_)).ack);
  const char kUpgrade[] =
      R"({"type":"software","host":"10.0.0.9","port":443,"role":"server","vendor":"Ivanti","product":"EPMM","version":"11.10.0.3","first_seen":1700000100000000,"last_seen":1700000200000000})"
      "\n"
      R"({"type":"host","host":"10.0.0.5","names":["printer-3"],"first_seen":1600000000000000,"last_seen":1600000000000001})"
      "\n";
  ASSERT_TRUE(collector_->Ingest(Seal(Fields(2), kUpgrade, key_)).ack);
  auto sw = collector_->QuerySoftware({"EPMM", "", ""});
  ASSERT_TRUE(sw);
  ASSERT_EQ(sw->size(), 1u);
  EXPECT_EQ((*sw)[0].version, "11.10.0.3");
  EXPECT_EQ((*sw)[0].last_seen_us, 1700000200000000);
  EXPECT_EQ((*sw)[0].first_seen_us, 1699999940000000);
  auto old = collector_->QuerySoftware({"EPMM", "", "11.10.0.3"});
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->empty());
  // An older host observation widens first_seen, adds a name, and keeps the newer MAC and OS.
  auto hosts = collector_->QueryHosts(kMember);
  ASSERT_TRUE(hosts);
  ASSERT_FALSE(hosts->empty());
  EXPECT_EQ((*hosts)[0].first_seen_us, 1600000000000000);
  EXPECT_EQ((*hosts)[0].mac, "00:11:22:33:44:55");
  EXPECT_EQ((*hosts)[0].os_product, "JetDirect");
  EXPECT_EQ((*hosts)[0].names.size(), 3u);
}

TEST_P(CollectorTest, DuplicateIsAckedAgainAndStoredOnce) {
  EnrollDefault();
  const auto envelope = Seal(Fields(7), kInventory, key_);
  ASSERT_TRUE(collector_->Ingest(envelope).ack);
  const int64_t rows = StoredRows();
  for (int i = 0; i < 3; ++i) {
    const IngestOutcome again = collector_->Ingest(envelope);
    EXPECT_TRUE(again.ack);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.sequence, 7u);
  }
  Reopen();  // and after a restart
  EXPECT_TRUE(collector_->Ingest(envelope).duplicate);
  EXPECT_EQ(StoredRows(), rows);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 1);
  EXPECT_EQ(collector_->stats().duplicates, 1u);
}

TEST_P(CollectorTest, ReplayWithDifferentContentIsRejected) {
  EnrollDefault();
  ASSERT_TRUE(collector_->Ingest(Seal(Fields(3), kInventory, key_)).ack);
  const int64_t rows = StoredRows();
  const IngestOutcome replay =
      collector_->Ingest(Seal(Fields(3), "{\"type\":\"host\",\"host\":\"10.6.6.6\"}\n", key_));
  EXPECT_FALSE(replay.ack);
  EXPECT_EQ(replay.reason, "replay_different_content");
  EXPECT_EQ(StoredRows(), rows);
  EXPECT_EQ(collector_->stats().rejected_by_reason.at("replay_different_content"), 1u);
  // The same lines under another payload type are other content too.
  EXPECT_EQ(collector_->Ingest(Seal(Fields(3, PayloadType::kAlerts), kInventory, key_)).reason,
            "replay_different_content");
}

TEST_P(CollectorTest, UnknownSensorAndForeignKeyAreRejected) {
  EnrollDefault();
  const IngestOutcome unknown = collector_->Ingest(
      Seal(Fields(1, PayloadType::kInventory, "kommune-09.sensor-x"), kInventory, key_));
  EXPECT_FALSE(unknown.ack);
  EXPECT_EQ(unknown.reason, "unknown_sensor");
  EXPECT_EQ(unknown.sensor_id, "kommune-09.sensor-x");

  const SigningKey foreign = KeyFromSeed(100);
  const IngestOutcome wrong_key = collector_->Ingest(Seal(Fields(1), kInventory, foreign));
  EXPECT_FALSE(wrong_key.ack);
  EXPECT_EQ(wrong_key.reason, "unknown_key");
  EXPECT_EQ(StoredRows(), 0);
  // The collector keeps serving the rightful sender.
  EXPECT_TRUE(collector_->Ingest(Seal(Fields(1), kInventory, key_)).ack);
  const CollectorStats stats = collector_->stats();
  EXPECT_EQ(stats.rejected, 2u);
  EXPECT_EQ(stats.rejected_by_reason.at("unknown_sensor"), 1u);
  EXPECT_EQ(stats.rejected_by_reason.at("unknown_key"), 1u);
}

TEST_P(CollectorTest, EverySingleByteChangeAndTruncationIsRejected) {
  EnrollDefault();
  const auto good = Seal(Fields(5), kInventory, key_);
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xFF}) {
      auto bad = good;
      bad[i] ^= mask;
      const IngestOutcome out = collector_->Ingest(bad);
      ASSERT_FALSE(out.ack) << "byte " << i << " mask " << int(mask);
      EXPECT_FALSE(out.reason.empty());
    }
  }
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(collector_->Ingest(std::span(good).first(n)).ack) << "length " << n;
  }
  EXPECT_EQ(StoredRows(), 0);
  const IngestOutcome out = collector_->Ingest(good);
  EXPECT_TRUE(out.ack) << out.reason;
  const CollectorStats stats = collector_->stats();
  EXPECT_EQ(stats.rejected, good.size() * 4);
  EXPECT_GT(stats.rejected_by_reason.at("bad_signature"), 0u);
  EXPECT_GT(stats.rejected_by_reason.at("payload_hash_mismatch"), 0u);
  EXPECT_GT(stats.rejected_by_reason.at("bad_magic"), 0u);
  EXPECT_GT(stats.rejected_by_reason.at("malformed_header"), 0u);
}

// A zstd frame of `size` zero bytes, declaring its content size in the frame header or not.
std::vector<uint8_t> ZeroFrame(size_t size, bool declare_size) {
  const std::vector<uint8_t> zeros(size, 0);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, declare_size ? 1 : 0);
  std::vector<uint8_t> out(ZSTD_compressBound(size));
  ZSTD_inBuffer in{zeros.data(), zeros.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  size_t rem = 0;
  do {
    rem = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
  } while (rem != 0 && !ZSTD_isError(rem));
  ZSTD_freeCCtx(cctx);
  out.resize(o.pos);
  return out;
}

TEST_P(CollectorTest, OversizeClaimedAndBombInputsAreRejectedWithTheirReason) {
  EnrollDefault();
  // 4 GiB claimed raw length (offset 12, big-endian).
  auto claimed = Seal(Fields(1), kInventory, key_);
  const uint64_t four_gib = uint64_t{4} << 30;
  for (int i = 0; i < 8; ++i)
    claimed[12 + i] = static_cast<uint8_t>(four_gib >> (56 - 8 * i));
  EXPECT_EQ(collector_->Ingest(claimed).reason, "raw_too_large");

  // A well-signed bomb: 1 KiB claimed, 32 MiB inside.
  const auto bomb = ZeroFrame(size_t{32} << 20, /*declare_size=*/false);
  ASSERT_LT(bomb.size(), size_t{64} << 10);
  auto sealed_bomb = internal::SealCompressed(Fields(2), 1024, bomb, key_);
  ASSERT_TRUE(sealed_bomb) << sealed_bomb.error().message;
  EXPECT_EQ(collector_->Ingest(*sealed_bomb).reason, "decompress_failed");
  // The same bomb declaring its size in the frame header: refused from the header.
  auto declared = internal::SealCompressed(
      Fields(3), 1024, ZeroFrame(size_t{32} << 20, /*declare_size=*/true), key_);
  ASSERT_TRUE(declared) << declared.error().message;
  EXPECT_EQ(collector_->Ingest(*declared).reason, "raw_length_mismatch");

  // Larger than the configured envelope bound.
  config_.max_envelope_bytes = 256;
  Reopen();
  EXPECT_EQ(collector_->Ingest(Seal(Fields(4), kInventory, key_)).reason, "too_large");
  EXPECT_EQ(StoredRows(), 0);
}

TEST_P(CollectorTest, SignedButUnparseableLinesAreRejectedAndOddLinesKept) {
  EnrollDefault();
  const IngestOutcome bad = collector_->Ingest(Seal(Fields(1), "{\"type\":\"host\",}\n", key_));
  EXPECT_FALSE(bad.ack);
  EXPECT_EQ(bad.reason, "bad_payload");
  std::string deep = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}\n";
  EXPECT_EQ(collector_->Ingest(Seal(Fields(2), deep, key_)).reason, "bad_payload");

  // A host line without "host", a service with a port out of range: kept raw, counted.
  const IngestOutcome odd = collector_->Ingest(
      Seal(Fields(3),
           "{\"type\":\"host\",\"mac\":\"aa:bb:cc:dd:ee:ff\"}\n"
           "{\"type\":\"service\",\"host\":\"10.0.0.1\",\"port\":70000,\"proto\":\"tcp\"}\n"
           "{\"type\":\"software\",\"host\":\"10.0.0.1\",\"product\":7}\n",
           key_));
  EXPECT_TRUE(odd.ack) << odd.message;
  EXPECT_EQ(collector_->stats().lines_unrecognised, 3u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM records WHERE type IN ('host', 'service', 'software')"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM hosts"), 0);
}

TEST_P(CollectorTest, GapsHealthAndFlowsAreStored) {
  EnrollDefault();
  ASSERT_TRUE(collector_
                  ->Ingest(Seal(Fields(10, PayloadType::kGap),
                                "{\"type\":\"gap\",\"from_seq\":3,\"to_seq\":5,"
                                "\"dropped_batches\":3,\"reason\":\"spool_full\"}\n"
                                "{\"kind\":\"spool_drop\",\"reason\":\"spool_full\","
                                "\"payload_type\":\"flows\",\"batches\":1,\"bytes\":1234,"
                                "\"first_batch_seq\":1,\"last_batch_seq\":1,"
                                "\"window_start_us\":1,\"window_end_us\":2}\n",
                                key_))
                  .ack);
  ASSERT_TRUE(collector_
                  ->Ingest(Seal(Fields(11, PayloadType::kFlows),
                                "{\"type\":\"flow_aggregate\",\"service\":\"ssh\",\"count\":4}\n"
                                "{\"type\":\"health\",\"version\":\"0.1.0\"}\n",
                                key_))
                  .ack);
  auto gaps = collector_->QueryGaps();
  ASSERT_TRUE(gaps) << gaps.error().message;
  ASSERT_EQ(gaps->size(), 2u);
  EXPECT_EQ((*gaps)[0].kind, "gap");
  EXPECT_EQ((*gaps)[0].from_seq, 3);
  EXPECT_EQ((*gaps)[0].to_seq, 5);
  EXPECT_EQ((*gaps)[0].dropped_batches, 3);
  EXPECT_EQ((*gaps)[0].member_id, kMember);
  EXPECT_EQ((*gaps)[1].kind, "spool_drop");
  EXPECT_EQ((*gaps)[1].reason, "spool_full flows");
  EXPECT_EQ((*gaps)[1].dropped_batches, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM records WHERE type = 'flow_aggregate'"), 1);
  // Health lines have their own tables since schema version 2.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM records WHERE type = 'health'"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM health_latest"), 1);
}

TEST_P(CollectorTest, FailedStatementRollsBackEverything) {
  EnrollDefault();
  const auto envelope = Seal(Fields(1), kInventory, key_);
  for (uint64_t fail_at : {2, 4, 7}) {  // after the envelope row, mid-lines, the last line
    uint64_t counted = 0;
    internal::CollectorTestPeer::SetStatementHook(*collector_,
                                                  [&](uint64_t) { return ++counted < fail_at; });
    const IngestOutcome out = collector_->Ingest(envelope);
    EXPECT_FALSE(out.ack) << "failing statement " << fail_at;
    EXPECT_EQ(out.reason, "store_error");
    EXPECT_EQ(StoredRows(), 0) << "failing statement " << fail_at;
  }
  internal::CollectorTestPeer::SetStatementHook(*collector_, nullptr);
  EXPECT_TRUE(collector_->Ingest(envelope).ack);
  EXPECT_TRUE(collector_->Ingest(envelope).duplicate);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 1);
}

TEST_P(CollectorTest, StoreFailureInABatchOfLinesRollsBackEverything) {
  EnrollDefault();
  std::string lines;  // more lines than one pipelined group (256)
  for (int i = 0; i < 600; ++i) {
    lines += "{\"type\":\"flow_aggregate\",\"n\":" + std::to_string(i) + "}\n";
  }
  lines += "{\"type\":\"host\",\"host\":\"10.0.0.1\"}\n";
  const auto envelope = Seal(Fields(1, PayloadType::kFlows), lines, key_);
  {  // another process breaks the store underneath
    auto db = collector_internal::OpenDb(config_.store_url);
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->ExecScript("DROP TABLE records"));
  }
  const IngestOutcome out = collector_->Ingest(envelope);
  EXPECT_FALSE(out.ack);
  EXPECT_EQ(out.reason, "store_error");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM hosts"), 0);
  Reopen();  // recreates the table
  const IngestOutcome retry = collector_->Ingest(envelope);
  EXPECT_TRUE(retry.ack) << retry.message;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM records"), 600);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM hosts"), 1);
}

TEST_P(CollectorTest, KilledMidTransactionLeavesNothingHalfStored) {
  EnrollDefault();
  const auto envelope = Seal(Fields(1), kInventory, key_);
  for (uint64_t kill_at : {1, 2, 3, 5, 8}) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // A fresh connection in the child; SIGKILL after `kill_at` statements of the ingest.
      auto c = Collector::Open(config_);
      if (!c)
        _exit(3);
      uint64_t counted = 0;
      internal::CollectorTestPeer::SetStatementHook(**c, [&](uint64_t) {
        if (++counted >= kill_at)
          raise(SIGKILL);
        return true;
      });
      (void)(*c)->Ingest(envelope);
      _exit(4);  // the kill did not happen
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "kill at " << kill_at << " status " << status;
    EXPECT_EQ(StoredRows(), 0) << "kill at " << kill_at;
  }
  Reopen();
  const IngestOutcome out = collector_->Ingest(envelope);
  EXPECT_TRUE(out.ack) << out.message;
  EXPECT_FALSE(out.duplicate);
}

TEST_P(CollectorTest, EnrollmentRules) {
  auto first = collector_->Enroll(kMember, kSensor, key_.verify_key());
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->fingerprint, key_.verify_key().Fingerprint());
  EXPECT_EQ(first->key_id, ToHex(key_.key_id()));
  // Again: a no-op.
  auto again = collector_->Enroll(kMember, kSensor, key_.verify_key());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->enrolled_at_us, first->enrolled_at_us);
  // The sensor id belongs to its member.
  EXPECT_FALSE(collector_->Enroll("kommune-02", kSensor, key_.verify_key()));
  EXPECT_FALSE(collector_->Enroll("bad member", "s1", key_.verify_key()));
  // A second key needs --replace, which revokes the first.
  const SigningKey next = KeyFromSeed(50);
  const auto before = Seal(Fields(1), kInventory, key_);
  EXPECT_FALSE(collector_->Enroll(kMember, kSensor, next.verify_key()));
  ASSERT_TRUE(collector_->Enroll(kMember, kSensor, next.verify_key(), /*replace=*/true));
  EXPECT_EQ(collector_->Ingest(before).reason, "unknown_key");
  EXPECT_TRUE(collector_->Ingest(Seal(Fields(2), kInventory, next)).ack);
  // A revoked key stays revoked.
  EXPECT_FALSE(collector_->Enroll(kMember, kSensor, key_.verify_key(), true));

  auto keys = collector_->Keys();
  ASSERT_TRUE(keys) << keys.error().message;
  ASSERT_EQ(keys->size(), 2u);
  int revoked = 0;
  for (const EnrolledKey& k : *keys)
    revoked += k.revoked_at_us.has_value() ? 1 : 0;
  EXPECT_EQ(revoked, 1);
}

TEST_P(CollectorTest, EnrollmentByAnotherProcessIsSeenWithoutRestart) {
  auto other = Collector::Open(config_);
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->Enroll(kMember, kSensor, key_.verify_key()));
  // The reload is rate-limited to once a second; the first one may come at once.
  IngestOutcome out;
  for (int i = 0; i < 30 && !out.ack; ++i) {
    out = collector_->Ingest(Seal(Fields(1), kInventory, key_));
    if (!out.ack)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(out.ack) << out.reason;
}

TEST_P(CollectorTest, KeyRotationSignedWithBothKeys) {
  EnrollDefault();
  const SigningKey next = KeyFromSeed(60);
  // A rotation line signed by a key for another sensor id, or naming another old key: refused.
  auto wrong_sensor = MakeKeyRotationLine("kommune-01.sensor-b", key_.key_id(), next);
  ASSERT_TRUE(wrong_sensor);
  auto wrong_old = MakeKeyRotationLine(kSensor, next.key_id(), next);
  ASSERT_TRUE(wrong_old);
  ASSERT_TRUE(
      collector_->Ingest(Seal(Fields(1), *wrong_sensor + "\n" + *wrong_old + "\n", key_)).ack);
  EXPECT_EQ(collector_->stats().key_rotations_refused, 2u);
  EXPECT_EQ(collector_->Ingest(Seal(Fields(2), kInventory, next)).reason, "unknown_key");

  auto line = MakeKeyRotationLine(kSensor, key_.key_id(), next);
  ASSERT_TRUE(line) << line.error().message;
  ASSERT_TRUE(collector_->Ingest(Seal(Fields(3, PayloadType::kHealth), *line + "\n", key_)).ack);
  EXPECT_EQ(collector_->stats().key_rotations, 1u);
  // Both keys are valid until the first envelope signed with the new one.
  EXPECT_TRUE(collector_->Ingest(Seal(Fields(4), kInventory, key_)).ack);
  auto keys = collector_->Keys();
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ(keys->at(0).replaced_by, ToHex(next.key_id()));
  EXPECT_FALSE(keys->at(0).revoked_at_us);
  EXPECT_TRUE(collector_->Ingest(Seal(Fields(5), kInventory, next)).ack);
  EXPECT_EQ(collector_->Ingest(Seal(Fields(6), kInventory, key_)).reason, "unknown_key");
  keys = collector_->Keys();
  ASSERT_TRUE(keys);
  EXPECT_TRUE(keys->at(0).revoked_at_us);
  EXPECT_FALSE(keys->at(1).revoked_at_us);
  EXPECT_EQ(keys->at(1).member_id, kMember);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM records WHERE type = 'key_rotation'"), 3);
}

TEST(CollectorConfigTest, ParsesKeysAndRejectsUnknownOnes) {
  auto config = ParseCollectorConfig(
      "store_url: postgresql://collector@127.0.0.1:5432/utkikk\n"
      "max_envelope_bytes: 8MiB\nlisten_address: 0.0.0.0\nlisten_port: 9443\n"
      "tls_cert: /etc/c.pem\ntls_key: /etc/k.pem\ntls_ca: /etc/ca.pem\n",
      "collector.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->store_url, "postgresql://collector@127.0.0.1:5432/utkikk");
  EXPECT_EQ(config->max_envelope_bytes, size_t{8} << 20);
  EXPECT_EQ(config->max_raw_bytes, size_t{64} << 20);
  EXPECT_EQ(config->listen_port, 9443);
  EXPECT_EQ(config->tls_ca, "/etc/ca.pem");

  auto unknown = ParseCollectorConfig("listen_port: 1\nstore: x\n", "c.yaml");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message.rfind("c.yaml:2:1:", 0), 0u) << unknown.error().message;
  auto bad_url = ParseCollectorConfig("store_url: mysql://x\n", "c.yaml");
  ASSERT_FALSE(bad_url);
  EXPECT_NE(bad_url.error().message.find("c.yaml:1:"), std::string::npos);
  auto bad_port = ParseCollectorConfig("listen_port: 70000\n", "c.yaml");
  EXPECT_FALSE(bad_port);
  auto empty = ParseCollectorConfig("", "c.yaml");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->store_url, CollectorConfig{}.store_url);
}

TEST(QueryFormatTest, JsonLinesParseAndTablesAlign) {
  SoftwareRow row{"kommune-01",     "10.0.0.9",  443, "server",           "Ivanti",
                  "EPMM",           "11.10.0.2", "",  "Mobile\"Iron\"\n", 1,
                  1700000000000000, kSensor};
  const std::string json = FormatSoftware({row, row}, OutputFormat::kJson);
  size_t lines = 0;
  std::istringstream in(json);
  for (std::string line; std::getline(in, line); ++lines) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j["raw"], "Mobile\"Iron\"\n");
    EXPECT_EQ(j["port"], 443);
  }
  EXPECT_EQ(lines, 2u);
  const std::string table = FormatSoftware({row}, OutputFormat::kTable);
  EXPECT_EQ(table.rfind("MEMBER      HOST      PORT", 0), 0u) << table;
  EXPECT_NE(table.find("2023-11-14T22:13:20Z"), std::string::npos) << table;

  HostRow host;
  host.member_id = "m";
  host.host = "10.0.0.5";
  host.names = {"a", "b"};
  host.services.push_back(ServiceRow{"10.0.0.5", 22, "tcp", "ssh", true, 1, 2});
  const auto hj = nlohmann::json::parse(FormatHosts({host}, OutputFormat::kJson), nullptr, false);
  ASSERT_FALSE(hj.is_discarded());
  EXPECT_EQ(hj["names"].size(), 2u);
  EXPECT_EQ(hj["services"][0]["protocol"], "ssh");
  EXPECT_NE(FormatHosts({host}, OutputFormat::kTable).find("22/tcp(ssh)!"), std::string::npos);
  GapRow gap{"m", "s", 3, "gap", "spool_full", 1, std::nullopt, 2, 0, ""};
  const auto gj = nlohmann::json::parse(FormatGaps({gap}, OutputFormat::kJson), nullptr, false);
  ASSERT_FALSE(gj.is_discarded());
  EXPECT_TRUE(gj["to_seq"].is_null());
  EXPECT_EQ(OutputFormatFromName("xml"), std::nullopt);
}

// The program end to end: enroll a PEM key, ingest files, query.
std::string RunCommand(const std::string& command, int* status) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr)
    return output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe))
    output.append(buf, n);
  *status = pclose(pipe);
  return output;
}

TEST(CollectorCommandTest, EnrollIngestQuery) {
  const std::string dir = testing::TempDir() + "collector_cli";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const SigningKey key = KeyFromSeed(0);
  {
    std::ofstream(dir + "/collector.yaml") << "store_url: sqlite://" << dir << "/c.db\n";
    std::ofstream(dir + "/sensor.pub") << *key.verify_key().ToPem();
    const auto envelope = Seal(Fields(1), kInventory, key);
    std::ofstream(dir + "/1.env", std::ios::binary)
        .write(reinterpret_cast<const char*>(envelope.data()),
               static_cast<std::streamsize>(envelope.size()));
    auto bad = envelope;
    bad[bad.size() - 1] ^= 1;
    std::ofstream(dir + "/bad.env", std::ios::binary)
        .write(reinterpret_cast<const char*>(bad.data()), static_cast<std::streamsize>(bad.size()));
  }
  const std::string bin = std::string(COLLECTOR_BIN) + " ";
  const std::string cfg = " --config " + dir + "/collector.yaml";
  int status = -1;
  std::string out = RunCommand(bin + "enroll" + cfg + " --member kommune-01 --sensor-id " +
                                   kSensor + " --sensor-key " + dir + "/sensor.pub",
                               &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find(key.verify_key().Fingerprint()), std::string::npos) << out;

  out = RunCommand(
      bin + "ingest" + cfg + " " + dir + "/1.env " + dir + "/1.env " + dir + "/bad.env", &status);
  EXPECT_NE(status, 0) << out;  // one file was rejected
  EXPECT_NE(out.find("1.env: stored kommune-01.sensor-a #1"), std::string::npos) << out;
  EXPECT_NE(out.find("1.env: duplicate"), std::string::npos) << out;
  EXPECT_NE(out.find("bad.env: rejected (payload_hash_mismatch)"), std::string::npos) << out;

  out = RunCommand(
      bin + "query software" + cfg + " --product EPMM --version-below 11.10.0.3 --format json",
      &status);
  EXPECT_EQ(status, 0) << out;
  const auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["member"], "kommune-01");
  EXPECT_EQ(j["version"], "11.10.0.2");

  out = RunCommand(bin + "query hosts" + cfg + " --member kommune-01", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("printer-2,printer-2.kommune.local"), std::string::npos) << out;
  out = RunCommand(bin + "keys" + cfg, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find(key.verify_key().Fingerprint()), std::string::npos) << out;
  out = RunCommand(bin + "query gaps" + cfg + " --format json", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_TRUE(out.empty()) << out;
  out = RunCommand(bin + "query nothing" + cfg, &status);
  EXPECT_NE(status, 0);
  out = RunCommand(bin + "keys --config " + dir + "/missing.yaml", &status);
  EXPECT_NE(status, 0);
}

}  // namespace
}  // namespace uplink

namespace uplink {
namespace {

// Summary lines for `count` hosts of one envelope: a host, two services and two software lines
// each, with names and versions that vary as a real inventory's do.
std::string InventoryLines(uint64_t seq, size_t count) {
  static const char* const kProducts[][3] = {
      {"OpenBSD", "OpenSSH", "9.2p1"}, {"Microsoft", "IIS", "10.0"},
      {"Apache", "httpd", "2.4.57"},   {"Ivanti", "EPMM", "11.10.0.2"},
      {"nginx", "nginx", "1.22.1"},    {"Fortinet", "FortiOS", "7.2.5"}};
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t n = seq * 100003 + i;
    const std::string host = "10." + std::to_string((n >> 16) & 255) + "." +
                             std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255);
    const auto* p = kProducts[n % 6];
    out +=
        R"({"type":"host","host":")" + host + R"(","mac":"00:50:56:)" +
        std::to_string(10 + n % 89) + ":" + std::to_string(10 + (n / 89) % 89) + ":" +
        std::to_string(10 + (n / 7921) % 89) + R"(","vendor":"VMware","names":["ws-)" +
        std::to_string(n) +
        R"(.kommune.local"],"os":{"vendor":"Microsoft","product":"Windows 11","version":"10.0.22631"}})" +
        "\n";
    out +=
        R"({"type":"service","host":")" + host +
        R"(","port":443,"proto":"tcp","protocol":"ssl","exposed":false,"first_seen":1700000000000000,"last_seen":1700000060000000})"
        "\n";
    out +=
        R"({"type":"service","host":")" + host +
        R"(","port":22,"proto":"tcp","protocol":"ssh","exposed":false,"first_seen":1700000000000000,"last_seen":1700000060000000})"
        "\n";
    out += R"({"type":"software","host":")" + host + R"(","port":443,"role":"server","vendor":")" +
           p[0] + R"(","product":")" + p[1] + R"(","version":")" + p[2] +
           R"(","cpe23":"","raw":")" + p[1] + "/" + p[2] + R"("})" + "\n";
    out += R"({"type":"software","host":")" + host +
           R"(","port":0,"role":"client","vendor":"Mozilla","product":"Firefox","version":"12)" +
           std::to_string(n % 10) + R"(.0","cpe23":"","raw":"Mozilla/5.0"})" + "\n";
  }
  return out;
}

std::string FlowLines(uint64_t seq, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t n = seq * 7919 + i;
    out += R"({"type":"flow_aggregate","host":"10.1.)" + std::to_string((n >> 8) & 255) + "." +
           std::to_string(n & 255) + R"(","service":"ssl","flows":)" + std::to_string(n % 977) +
           R"(,"bytes_in":)" + std::to_string(n * 31 % 100000) + R"(,"bytes_out":)" +
           std::to_string(n * 17 % 1000000) + R"(,"external_peers":)" + std::to_string(n % 13) +
           "}\n";
  }
  return out;
}

// Grows the line count until the sealed envelope reaches `target` bytes, then seals `n`
// envelopes with sequences first_seq, first_seq + 1, ...
std::vector<std::vector<uint8_t>> SealBatch(const SigningKey& key, PayloadType type,
                                            uint64_t first_seq, size_t n, size_t target,
                                            bool raw_target, std::string (*make)(uint64_t, size_t),
                                            double* ratio) {
  size_t lines = 16;
  for (int round = 0; round < 8; ++round) {
    const std::string probe = make(first_seq, lines);
    const size_t size = raw_target ? probe.size() : Seal(Fields(1, type), probe, key).size();
    if (size >= target)
      break;
    lines = lines * target / std::max<size_t>(size, 1) + 1;
  }
  std::vector<std::vector<uint8_t>> out;
  size_t raw = 0;
  size_t sealed = 0;
  for (uint64_t seq = first_seq; seq < first_seq + n; ++seq) {
    const std::string text = make(seq, lines);
    out.push_back(Seal(Fields(seq, type), text, key));
    raw += text.size();
    sealed += out.back().size();
  }
  *ratio = static_cast<double>(raw) / static_cast<double>(sealed);
  return out;
}

// A timed run, not an assertion: build/tests/uplink_collector_tests
// --gtest_also_run_disabled_tests --gtest_filter='*Throughput*' (under with_postgres.sh for PG).
TEST_P(CollectorTest, DISABLED_Throughput) {
  EnrollDefault();
  const size_t n = 20;
  struct Case {
    const char* name;
    PayloadType type;
    bool raw_target;  // 64 KiB of JSON lines, else 64 KiB sealed
    std::string (*make)(uint64_t, size_t);
  };
  const Case cases[] = {
      {"inventory 64 KiB raw", PayloadType::kInventory, true, InventoryLines},
      {"flows 64 KiB raw", PayloadType::kFlows, true, FlowLines},
      {"inventory 64 KiB sealed", PayloadType::kInventory, false, InventoryLines},
      {"flows 64 KiB sealed", PayloadType::kFlows, false, FlowLines},
  };
  uint64_t first_seq = 1;
  for (const Case& c : cases) {
    double ratio = 0;
    const auto batch =
        SealBatch(key_, c.type, first_seq, n, 64 << 10, c.raw_target, c.make, &ratio);
    first_seq += n;
    SingleKeyLookup lookup(key_.verify_key());
    auto start = std::chrono::steady_clock::now();
    for (const auto& e : batch)
      ASSERT_TRUE(OpenEnvelope(e, lookup, OpenLimits{}));
    const double verify_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    start = std::chrono::steady_clock::now();
    for (const auto& e : batch) {
      const IngestOutcome out = collector_->Ingest(e);
      ASSERT_TRUE(out.ack && !out.duplicate) << out.reason << " " << out.message;
    }
    const double store_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "%s, %s: %zu envelopes of %zu bytes (compression ratio %.1f): verify only "
        "%.0f/s, verify+store %.1f/s (%.1f MB/s raw)\n",
        GetParam().c_str(), c.name, batch.size(), batch.front().size(), ratio,
        static_cast<double>(n) / verify_s, static_cast<double>(n) / store_s,
        ratio * static_cast<double>(batch.front().size()) * static_cast<double>(n) / store_s / 1e6);
  }
}

// ---- schema version 2: flow aggregates, alerts, log senders, health ----

constexpr int64_t kW0 = 1699999940000000;  // Fields()'s window start

const char kFlowLines[] =
    R"({"type":"flow_service","host":"10.0.0.5","port":443,"proto":"tcp","protocol":"ssl","flows":5,"internal_flows":1,"bytes_to_server":1010,"bytes_to_client":10020,"external_peers":3,"peer_addresses":["198.51.100.1","198.51.100.2"],"first_seen":1699999941000000,"last_seen":1699999945000000})"
    "\n"
    R"({"type":"flow_host","host":"10.0.0.7","flows_as_client":3,"flows_as_server":0,"unanswered":1,"bytes_sent":510,"bytes_received":5020,"external_peers":1,"external_peers_capped":true})"
    "\n";

std::string AlertLine(const std::string& rule, const std::string& host, int64_t last_seen) {
  return R"({"type":"alert","rule_id":")" + rule +
         R"(","rule_version":2,"severity":"high","kind":"software","title":"OpenSSH regreSSHion","host":")" +
         host +
         R"(","port":22,"peer":"","key":"k","evidence":"SSH-2.0-OpenSSH_9.2p1","cves":["CVE-2024-6387"],"known_exploited":false,"count":1,"first_seen":1699999941000000,"last_seen":)" +
         std::to_string(last_seen) + "}\n";
}

std::string HealthLine(int64_t packets, const std::string& version = "0.2.0") {
  return R"({"type":"health","sensor_version":")" + version + R"(","uptime_s":60,"packets":)" +
         std::to_string(packets) +
         R"(,"drops":2,"packets_delta":100,"drops_delta":0,"clock":{"synced":true,"maxerror_us":1000,"esterror_us":10},"disk":{"spool":{"free_bytes":1073741824,"total_bytes":2147483648}},"rules":{"files":3}})" +
         "\n";
}

TEST_P(CollectorTest, AffectedListsWhatASoftwareRuleMatchesInTheStore) {
  EnrollDefault();
  const std::string lines =
      R"({"type":"software","host":"10.0.0.21","port":22,"role":"server","vendor":"OpenBSD","product":"OpenSSH","version":"9.2p1","raw":"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2"})"
      "\n"
      R"({"type":"software","host":"10.0.0.22","port":22,"role":"server","vendor":"OpenBSD","product":"OpenSSH","version":"9.8p1","raw":"SSH-2.0-OpenSSH_9.8p1"})"
      "\n"
      R"({"type":"software","host":"10.0.0.23","port":2222,"role":"server","vendor":"OpenBSD","product":"OpenSSH","version":"8.4p1","raw":"SSH-2.0-OpenSSH_8.4p1"})"
      "\n"
      R"({"type":"software","host":"10.0.0.24","port":80,"role":"server","vendor":"Apache","product":"HTTP Server","version":"2.4.49","raw":"Apache/2.4.49"})"
      "\n";
  ASSERT_TRUE(collector_->Ingest(Seal(Fields(1), lines, key_)).ack);
  auto rules = rules::engine::LoadRuleString(R"(
- id: test-regresshion
  title: OpenSSH regreSSHion (test copy)
  severity: high
  software:
    product: openbsd:openssh
    scheme: openssh
    affected:
      - {introduced: "8.5p1", fixed: "9.8p1"}
    cves: [CVE-2024-6387]
- id: test-policy
  title: not a software rule
  severity: low
  policy: {service: telnet}
)", "affected-test.yaml");
  ASSERT_TRUE(rules.has_value()) << rules.error().message;
  auto rows = QueryAffected(*collector_, *rules, "test-regresshion");
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);  // 9.2p1 only: 9.8p1 is fixed, 8.4p1 predates the bug
  EXPECT_EQ((*rows)[0].software.host, "10.0.0.21");
  EXPECT_EQ((*rows)[0].software.member_id, kMember);
  EXPECT_EQ((*rows)[0].software.version, "9.2p1");
  EXPECT_FALSE((*rows)[0].evidence.empty());
  auto policy = QueryAffected(*collector_, *rules, "test-policy");
  ASSERT_FALSE(policy.has_value());
  EXPECT_NE(policy.error().message.find("only software rules"), std::string::npos);
  EXPECT_FALSE(QueryAffected(*collector_, *rules, "no-such-rule").has_value());
}

TEST_P(CollectorTest, FlowAggregatesAreStoredPerWindow) {
  EnrollDefault();
  ASSERT_TRUE(collector_->Ingest(Seal(Fields(1, PayloadType::kFlows), kFlowLines, key_)).ack);
  const IngestOutcome again = collector_->Ingest(Seal(Fields(1, PayloadType::kFlows), kFlowLines, key_));
  EXPECT_TRUE(again.ack && again.duplicate);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM flow_services"), 1);
  EXPECT_EQ(Count("SELECT bytes_to_client FROM flow_services WHERE host = '10.0.0.5' AND "
                  "port = 443 AND member_id = 'kommune-01'"),
            10020);
  EXPECT_EQ(Count("SELECT external_peers FROM flow_services"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM flow_services WHERE peer_addresses = "
                  "'198.51.100.1 198.51.100.2'"),
            1);
  EXPECT_EQ(Count("SELECT unanswered FROM flow_hosts WHERE host = '10.0.0.7'"), 1);
  EXPECT_EQ(Count("SELECT external_peers_capped FROM flow_hosts"), 1);
  // Absent times take the envelope's window.
  EXPECT_EQ(Count("SELECT first_seen FROM flow_hosts"), kW0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM records"), 0);
}

TEST_P(CollectorTest, AlertsAreStoredAndQueriedByMemberAndTime) {
  EnrollDefault();
  const SigningKey other_key = KeyFromSeed(40);
  ASSERT_TRUE(collector_->Enroll("kommune-02", "kommune-02.sensor-a", other_key.verify_key()));
  ASSERT_TRUE(collector_
                  ->Ingest(Seal(Fields(1, PayloadType::kAlerts),
                                AlertLine("UTK-SW-0001", "10.0.0.9", kW0 + 5'000'000) +
                                    AlertLine("UTK-SW-0002", "10.0.0.10", kW0 + 50'000'000),
                                key_))
                  .ack);
  ASSERT_TRUE(
      collector_
          ->Ingest(Seal(Fields(1, PayloadType::kAlerts, "kommune-02.sensor-a"),
                        AlertLine("UTK-SW-0001", "10.2.0.9", kW0 + 30'000'000), other_key))
          .ack);
  auto all = collector_->QueryAlerts({});
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].rule_id, "UTK-SW-0002");  // newest first
  EXPECT_EQ((*all)[1].member_id, "kommune-02");
  const AlertRow& a = (*all)[2];
  EXPECT_EQ(a.member_id, kMember);
  EXPECT_EQ(a.sensor_id, kSensor);
  EXPECT_EQ(a.rule_version, 2);
  EXPECT_EQ(a.severity, "high");
  EXPECT_EQ(a.kind, "software");
  EXPECT_EQ(a.host, "10.0.0.9");
  EXPECT_EQ(a.port, 22);
  EXPECT_EQ(a.evidence, "SSH-2.0-OpenSSH_9.2p1");
  EXPECT_EQ(a.cves, std::vector<std::string>{"CVE-2024-6387"});
  EXPECT_EQ(a.first_seen_us, 1699999941000000);
  EXPECT_EQ(a.last_seen_us, kW0 + 5'000'000);

  auto member = collector_->QueryAlerts({kMember, 0});
  ASSERT_TRUE(member);
  EXPECT_EQ(member->size(), 2u);
  auto recent = collector_->QueryAlerts({"", kW0 + 30'000'000});
  ASSERT_TRUE(recent);
  ASSERT_EQ(recent->size(), 2u);
  auto both = collector_->QueryAlerts({kMember, kW0 + 30'000'000});
  ASSERT_TRUE(both);
  ASSERT_EQ(both->size(), 1u);
  EXPECT_EQ((*both)[0].host, "10.0.0.10");

  const std::string json = FormatAlerts(*both, OutputFormat::kJson);
  const auto parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed["rule_id"], "UTK-SW-0002");
  EXPECT_EQ(parsed["cves"][0], "CVE-2024-6387");
  const std::string table = FormatAlerts(*all, OutputFormat::kTable);
  EXPECT_NE(table.find("10.0.0.9:22"), std::string::npos);
  EXPECT_NE(table.find("CVE-2024-6387"), std::string::npos);
}

TEST_P(CollectorTest, HealthKeepsTheLatestPerSensorAndABoundedHistory) {
  config_.health_history_us = int64_t{3600} * 1'000'000;
  Reopen();
  EnrollDefault();
  auto fields = [](uint64_t seq, int64_t window_end) {
    EnvelopeHeaderFields f = Fields(seq);
    f.window_start_us = window_end - 60'000'000;
    f.window_end_us = window_end;
    return f;
  };
  const int64_t t = kW0;
  ASSERT_TRUE(collector_->Ingest(Seal(fields(1, t), HealthLine(100), key_)).ack);
  ASSERT_TRUE(collector_->Ingest(Seal(fields(3, t + 120'000'000), HealthLine(300, "0.3.0"), key_)).ack);
  // An older batch arriving late does not replace the latest.
  ASSERT_TRUE(collector_->Ingest(Seal(fields(2, t + 60'000'000), HealthLine(200), key_)).ack);
  auto health = collector_->QueryHealth();
  ASSERT_TRUE(health) << health.error().message;
  ASSERT_EQ(health->size(), 1u);
  const HealthRow& h = (*health)[0];
  EXPECT_EQ(h.member_id, kMember);
  EXPECT_EQ(h.sequence, 3u);
  EXPECT_EQ(h.sensor_version, "0.3.0");
  EXPECT_EQ(h.packets, 300);
  EXPECT_EQ(h.drops, 2);
  EXPECT_EQ(h.clock_synced, true);
  EXPECT_EQ(h.spool_free_bytes, int64_t{1} << 30);
  EXPECT_EQ(h.window_end_us, t + 120'000'000);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM health_history"), 3);
  // Two hours later the first three fall out of the one-hour history.
  ASSERT_TRUE(collector_->Ingest(Seal(fields(4, t + 7200'000'000), HealthLine(400), key_)).ack);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM health_history"), 1);
  EXPECT_EQ(Count("SELECT packets_delta FROM health_history"), 100);

  auto json = nlohmann::json::parse(FormatHealth(*collector_->QueryHealth(), OutputFormat::kJson));
  EXPECT_EQ(json["packets"], 400);
  EXPECT_EQ(json["health"]["rules"]["files"], 3);  // free-form members come through
  EXPECT_NE(FormatHealth(*health, OutputFormat::kTable).find("synced"), std::string::npos);
}

TEST_P(CollectorTest, LogSendersKeepTheNewestLine) {
  EnrollDefault();
  auto line = [](int64_t messages, bool quiet) {
    return R"({"type":"log_sender","sender":"10.0.0.1","messages":)" + std::to_string(messages) +
           R"(,"bytes":900,"severities":[0,0,0,1,0,0,9,0],"first_seen":1699999941000000,"last_seen":1699999950000000,"quiet":)" +
           (quiet ? "true" : "false") + "}\n";
  };
  ASSERT_TRUE(collector_->Ingest(Seal(Fields(2, PayloadType::kLogstats), line(20, true), key_)).ack);
  ASSERT_TRUE(collector_->Ingest(Seal(Fields(1, PayloadType::kLogstats), line(10, false), key_)).ack);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM log_senders"), 1);
  EXPECT_EQ(Count("SELECT messages FROM log_senders"), 20);
  EXPECT_EQ(Count("SELECT quiet FROM log_senders"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM log_senders WHERE severities = '[0,0,0,1,0,0,9,0]'"), 1);
}

TEST_P(CollectorTest, IllFormedNewLinesAreKeptAsRecords) {
  EnrollDefault();
  const std::string lines =
      R"({"type":"alert","severity":"high"})" "\n"                              // no rule id
      R"({"type":"flow_service","host":"10.0.0.5","port":70000,"proto":"tcp"})" "\n"
      R"({"type":"flow_host","host":"10.0.0.5","bytes_sent":-1})" "\n"
      R"({"type":"log_sender","sender":"x","severities":[1,2]})" "\n"
      R"({"type":"health","packets":"many"})" "\n";
  const IngestOutcome out = collector_->Ingest(Seal(Fields(1), lines, key_));
  ASSERT_TRUE(out.ack) << out.message;
  EXPECT_EQ(collector_->stats().lines_unrecognised, 5u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM records"), 5);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM alerts") + Count("SELECT COUNT(*) FROM flow_services") +
                Count("SELECT COUNT(*) FROM flow_hosts") + Count("SELECT COUNT(*) FROM log_senders") +
                Count("SELECT COUNT(*) FROM health_latest"),
            0);
}

TEST_P(CollectorTest, SchemaVersionOneIsMigratedAndUnknownVersionsRefused) {
  EnrollDefault();
  ASSERT_TRUE(collector_->Ingest(Seal(Fields(1), kInventory, key_)).ack);
  collector_.reset();
  {
    auto db = collector_internal::OpenDb(config_.store_url);
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->Run("UPDATE collector_meta SET value = '1' WHERE name = 'schema_version'"));
    if (GetParam() == "postgresql") {  // a version-1 store has none of the new tables
      ASSERT_TRUE((*db)->ExecScript("DROP TABLE flow_services, flow_hosts, alerts, log_senders, "
                                    "health_latest, health_history"));
    } else {
      for (const char* t : {"flow_services", "flow_hosts", "alerts", "log_senders",
                            "health_latest", "health_history"})
        ASSERT_TRUE((*db)->ExecScript(std::string("DROP TABLE ") + t));
    }
  }
  Reopen();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM collector_meta WHERE name = 'schema_version' AND "
                  "value = '2'"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM hosts"), 1);  // the old rows stay
  ASSERT_TRUE(collector_->Ingest(Seal(Fields(2), HealthLine(5), key_)).ack);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM health_latest"), 1);
  collector_.reset();
  {
    auto db = collector_internal::OpenDb(config_.store_url);
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->Run("UPDATE collector_meta SET value = '9' WHERE name = 'schema_version'"));
  }
  auto refused = Collector::Open(config_);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("schema version 9, this program reads 2"),
            std::string::npos)
      << refused.error().message;
}

TEST(QueryFormatTest, SinceTakesDatesTimesAndSpans) {
  const int64_t now = 1'763'800'000'000'000;
  EXPECT_EQ(ParseSinceUs("24h", now), now - int64_t{86400} * 1'000'000);
  EXPECT_EQ(ParseSinceUs("30m", now), now - int64_t{1800} * 1'000'000);
  EXPECT_EQ(ParseSinceUs("7d", now), now - int64_t{7 * 86400} * 1'000'000);
  EXPECT_EQ(ParseSinceUs("90s", now), now - int64_t{90} * 1'000'000);
  EXPECT_EQ(ParseSinceUs("2026-11-22", now), int64_t{1795305600} * 1'000'000);
  EXPECT_EQ(ParseSinceUs("2026-11-22T09:50:36Z", now), int64_t{1795341036} * 1'000'000);
  for (const char* bad : {"", "h", "-3h", "24x", "2026-11-22T09:50:36", "2026-13-01", "yesterday"})
    EXPECT_FALSE(ParseSinceUs(bad, now).has_value()) << bad;
}

}  // namespace
}  // namespace uplink
