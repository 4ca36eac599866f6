// Test doubles for the transport tests: a fake clock, an in-memory link between an uplink side
// and a collector side, and a fake collector that stores envelopes by sequence.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "uplink/collector/collector.h"
#include "uplink/envelope.h"
#include "uplink/keys.h"
#include "uplink/spool.h"
#include "uplink/transport/clock.h"
#include "uplink/transport/transport.h"

namespace uplink::testing {

class FakeClock : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() override { return now_; }
  int64_t WallMicros() override { return 1700000000000000 + (now_ - start_).count() / 1000; }
  void Advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  std::chrono::steady_clock::time_point start_{};
  std::chrono::steady_clock::time_point now_{};
};

// Both directions of an in-memory link; the test decides what gets lost.
struct FakeLink {
  bool connected = true;
  bool lose_up = false;    // envelopes and heartbeats vanish (a dying connection)
  bool lose_down = false;  // acks and heartbeat replies vanish
  std::deque<TransportMessage> up;
  std::deque<TransportMessage> down;
  uint64_t reconnects = 0;
  uint64_t envelopes_published = 0;
};

// One side of a FakeLink. Not thread-safe.
class FakeSide : public Transport {
 public:
  FakeSide(FakeLink& link, bool sensor) : link_(link), sensor_(sensor) {}
  rules::Result<void> Publish(const TransportMessage& m) override;
  std::vector<TransportMessage> Poll(std::chrono::milliseconds, size_t max) override;
  size_t peer_count() override { return link_.connected ? 1 : 0; }
  void Reconnect() override { ++link_.reconnects; }
  TransportStats stats() const override { return stats_; }

 private:
  FakeLink& link_;
  bool sensor_;
  TransportStats stats_;
};

// Stores envelopes by sequence like the real collector (duplicate / replay detection), and can
// be told to answer with a fixed rejection.
class FakeCollector {
 public:
  explicit FakeCollector(VerifyKey key) : key_(std::move(key)) {}
  IngestOutcome Ingest(std::span<const uint8_t> bytes);
  std::map<uint64_t, std::vector<uint8_t>> stored;   // by envelope sequence
  std::vector<std::string> stored_lines;             // payloads, in arrival order
  std::string reject_with;                           // "" = behave normally
  uint64_t ingested = 0;

 private:
  VerifyKey key_;
};

// A fresh directory under the test temp dir, named after the running test.
std::string FreshDir(const std::string& leaf);
// Puts `n` inventory batches with distinct payloads ("{"type":"host","host":"10.0.<i>"}").
void PutBatches(const std::string& spool_dir, int first, int n);
// Number of "*.batch" files in a directory.
size_t CountFiles(const std::string& dir, const std::string& suffix);
// A throwaway PKI made with tools/pki in `dir`: collector cert "col", sensor cert for `sensor`.
struct TestPki {
  TlsFiles collector;
  TlsFiles sensor;
  TlsFiles wrong_sensor;  // a client certificate signed by the collector-server CA (wrong CA)
};
TestPki MakeTestPki(const std::string& dir, const std::string& sensor);

}  // namespace uplink::testing
