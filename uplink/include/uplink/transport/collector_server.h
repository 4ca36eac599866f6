// The collector's side of the transport protocol: receives envelopes and heartbeats, hands each
// envelope to an ingest function (Collector::Ingest in the daemon, a fake in tests) and publishes
// the acknowledgement on the sensor's topic (docs/formats.md, "Transport: topics and messages").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "uplink/collector/collector.h"
#include "uplink/transport/transport.h"

namespace uplink {

struct CollectorServerStats {
  uint64_t envelopes = 0;
  uint64_t acked = 0;       // stored
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t mismatched = 0;  // envelope header names another sensor or sequence than the message
  uint64_t heartbeats = 0;
  uint64_t ack_publish_failed = 0;  // the sensor went away before its ack: it will resend
  uint64_t bundle_requests = 0;
  uint64_t bundle_offers = 0;       // a newer rule bundle sent in answer
};

// The rule bundle the collector offers: its version and signed bytes (version 0: none).
struct OfferedBundle {
  uint64_t version = 0;
  std::vector<uint8_t> bytes;
};
using BundleProvider = std::function<OfferedBundle()>;

using IngestFunction = std::function<IngestOutcome(std::span<const uint8_t>)>;

// Borrows the transport (which must outlive it). Not thread-safe: one thread calls RunOnce().
class CollectorServer {
 public:
  CollectorServer(Transport& transport, IngestFunction ingest)
      : transport_(transport), ingest_(std::move(ingest)) {}

  // Handles what arrives within `max_wait` (at most `max_batch` messages). Returns how many.
  size_t RunOnce(std::chrono::milliseconds max_wait, size_t max_batch = 64);
  // Answers bundle requests: an uplink that runs an older version gets the current bundle.
  void SetBundleProvider(BundleProvider provider) { bundles_ = std::move(provider); }
  // Offers the provider's bundle, unasked, to the uplinks whose last bundle_request reported an
  // older version — at most max_offers per call, so a large bundle does not go to every member
  // at once. Returns how many. The daemon calls it every few seconds: a newly published bundle
  // reaches connected uplinks at once instead of at their next request (every 5 minutes). An
  // uplink that refuses it says so with its next request, which is answered as always.
  size_t OfferNewerBundle(size_t max_offers = 16);
  const CollectorServerStats& stats() const { return stats_; }

 private:
  void HandleEnvelope(const TransportMessage& message);
  void HandleBundleRequest(const TransportMessage& message);
  bool Offer(const std::string& sensor_id, const OfferedBundle& offer);
  Transport& transport_;
  IngestFunction ingest_;
  BundleProvider bundles_;
  // The bundle version each uplink reported (or was last offered); bounded, the claims of a
  // peer that passed mutual TLS.
  std::map<std::string, uint64_t> bundle_versions_;
  CollectorServerStats stats_;
};

}  // namespace uplink
