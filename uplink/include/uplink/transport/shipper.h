// The uplink's shipping loop: takes closed batches from the spool, seals each into an envelope
// once, keeps it in an outbox until the collector acknowledges it, and keeps a bounded window of
// unacknowledged envelopes that it resends after a timeout. On-disk layout and the protocol are
// in docs/formats.md ("Transport: topics and messages", "Uplink state directory").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <functional>
#include <string>
#include <vector>

#include "rules/result.h"
#include "uplink/envelope.h"
#include "uplink/keys.h"
#include "uplink/transport/clock.h"
#include "uplink/transport/transport.h"

namespace uplink {

struct ShipperConfig {
  std::string sensor_id;
  std::string spool_dir;   // the sensor's spool (read and remove only)
  std::string state_dir;   // the uplink's own: envelope.seq, outbox/, rejected/, .lock
  size_t window = 16;      // unacknowledged envelopes at once (also the most held in memory)
  std::chrono::milliseconds ack_timeout{30000};          // resend an envelope after this
  std::chrono::milliseconds heartbeat_interval{10000};   // while connected
  std::chrono::milliseconds silence_timeout{45000};      // no reply this long: reconnect
  std::chrono::milliseconds rescan_interval{1000};       // spool directory listing
  SealOptions seal;
  // Rule bundles (docs/formats.md "Rule bundles"), optional: the version installed now (asked
  // on every new peering and every bundle_interval) and what to do with an offer (verify and
  // install: the shipper itself trusts nothing in it). Null: the uplink never asks.
  std::function<uint64_t()> bundle_version;
  std::function<void(uint64_t version, const std::vector<uint8_t>& bytes)> on_bundle_offer;
  std::chrono::milliseconds bundle_interval{300000};
};

struct ShipperStats {
  uint64_t sealed = 0;             // envelopes sealed from spool batches
  uint64_t loaded_from_outbox = 0; // sealed before a restart, sent again with the same bytes
  uint64_t sent = 0;               // publishes of envelopes (first sends and resends)
  uint64_t resent = 0;             // of which resends (timeout, new peering)
  uint64_t acked = 0;              // stored or duplicate
  uint64_t duplicates = 0;
  uint64_t rejected_transient = 0; // store_error, unknown key/sensor: retried after a timeout
  uint64_t rejected_permanent = 0; // moved to rejected/ and reported as a gap
  uint64_t resealed = 0;           // replay_different_content: sealed again with a new sequence
  uint64_t gap_reports = 0;        // gap envelopes the uplink made itself
  uint64_t quarantined = 0;        // spool files found corrupt
  uint64_t stray_acks = 0;         // acks for nothing in flight (late duplicates, foreign)
  uint64_t heartbeats = 0;
  uint64_t bundle_requests = 0;
  uint64_t bundle_offers = 0;      // offers received (each verified by on_bundle_offer)
  uint64_t reconnects = 0;         // silent partitions noticed
  size_t in_flight = 0;            // now
  size_t max_in_flight = 0;        // high-water mark (<= window)
};

// Owns its spool reader, sequence counter and outbox; borrows the key, transport and clock,
// which must outlive it. Takes a lock on "<state_dir>/.lock" (one uplink per state dir). Not
// thread-safe: one thread calls RunOnce().
class Shipper {
 public:
  static rules::Result<std::unique_ptr<Shipper>> Open(const ShipperConfig& config,
                                                      const SigningKey& key, Transport& transport,
                                                      Clock& clock);
  ~Shipper();

  // Polls the transport for at most `max_wait`, handles acks and heartbeat replies, then sends
  // what is due (new envelopes into free window slots, resends, a heartbeat). An error only for
  // local I/O failures (spool, outbox, counter) that the caller should log and retry later.
  rules::Result<void> RunOnce(std::chrono::milliseconds max_wait);

  // True when the spool and the outbox are empty and nothing is in flight (after a scan).
  bool Idle() const;
  const ShipperStats& stats() const;

 private:
  struct State;
  explicit Shipper(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace uplink
