// The collector's protocol loop (docs/formats.md, "Transport: topics and messages").
#include "uplink/transport/collector_server.h"

#include <utility>

namespace uplink {

size_t CollectorServer::RunOnce(std::chrono::milliseconds max_wait, size_t max_batch) {
  std::vector<TransportMessage> messages = transport_.Poll(max_wait, max_batch);
  for (const TransportMessage& message : messages) {
    if (message.kind == MessageKind::kEnvelope) {
      HandleEnvelope(message);
    } else if (message.kind == MessageKind::kHeartbeat) {
      ++stats_.heartbeats;
      TransportMessage reply;
      reply.kind = MessageKind::kHeartbeatReply;
      reply.sensor_id = message.sensor_id;
      reply.sequence = message.sequence;
      if (!transport_.Publish(reply)) ++stats_.ack_publish_failed;
    } else if (message.kind == MessageKind::kBundleRequest) {
      HandleBundleRequest(message);
    }
  }
  return messages.size();
}

namespace {
constexpr size_t kMaxTrackedUplinks = 100'000;
}  // namespace

bool CollectorServer::Offer(const std::string& sensor_id, const OfferedBundle& offer) {
  TransportMessage reply;
  reply.kind = MessageKind::kBundleOffer;
  reply.sensor_id = sensor_id;
  reply.sequence = offer.version;
  reply.envelope = offer.bytes;
  if (!transport_.Publish(reply)) return false;
  ++stats_.bundle_offers;
  return true;
}

void CollectorServer::HandleBundleRequest(const TransportMessage& message) {
  ++stats_.bundle_requests;
  uint64_t known = message.sequence;
  if (bundles_) {
    const OfferedBundle offer = bundles_();
    if (offer.version != 0 && offer.version > message.sequence &&
        Offer(message.sensor_id, offer)) {
      known = offer.version;
    }
  }
  if (bundle_versions_.size() < kMaxTrackedUplinks ||
      bundle_versions_.contains(message.sensor_id)) {
    bundle_versions_[message.sensor_id] = known;
  }
}

size_t CollectorServer::OfferNewerBundle(size_t max_offers) {
  if (!bundles_ || bundle_versions_.empty()) return 0;
  const OfferedBundle offer = bundles_();
  if (offer.version == 0) return 0;
  size_t sent = 0;
  for (auto& [sensor_id, version] : bundle_versions_) {
    if (sent >= max_offers) break;
    if (version >= offer.version) continue;
    if (!Offer(sensor_id, offer)) break;  // no peer: the uplinks ask again when they return
    version = offer.version;
    ++sent;
  }
  return sent;
}

void CollectorServer::HandleEnvelope(const TransportMessage& message) {
  ++stats_.envelopes;
  const IngestOutcome outcome = ingest_(message.envelope);
  TransportMessage ack;
  ack.kind = MessageKind::kAck;
  ack.sensor_id = message.sensor_id;  // where the sender listens
  ack.sequence = message.sequence;
  // The ack names what the message claimed; it must be what the envelope says, or the sender
  // would delete a different envelope than the one stored.
  const bool header_known = !outcome.sensor_id.empty();
  if (header_known &&
      (outcome.sensor_id != message.sensor_id || outcome.sequence != message.sequence)) {
    ++stats_.mismatched;
    ack.status = AckStatus::kRejected;
    ack.reason = "header_mismatch";
  } else if (outcome.ack) {
    ack.status = outcome.duplicate ? AckStatus::kDuplicate : AckStatus::kStored;
    ++(outcome.duplicate ? stats_.duplicates : stats_.acked);
  } else {
    ++stats_.rejected;
    ack.status = AckStatus::kRejected;
    ack.reason = outcome.reason.empty() ? "rejected" : outcome.reason.substr(0, 256);
  }
  if (!transport_.Publish(ack)) ++stats_.ack_publish_failed;
}

}  // namespace uplink
