// The uplink's transport: typed messages between an uplink and the collector, and a Broker 1.4
// implementation over mutually authenticated TLS. Topics and the message encoding are specified
// in docs/formats.md ("Transport: topics and messages").
//
// Broker is a transport, not a queue (issue 4): it loses messages in flight when a connection
// dies and buffers publishes without bound while no peer is connected. Callers therefore
// acknowledge every envelope themselves (Shipper, CollectorServer) and publish only while
// peer_count() > 0.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/result.h"

namespace uplink {

inline constexpr uint64_t kTransportProtocolVersion = 1;
// Topic prefixes; a sensor id follows, then "/" and the message family (docs/formats.md).
inline constexpr std::string_view kSensorTopicPrefix = "utkikk/v1/sensor/";
inline constexpr std::string_view kCollectorTopicPrefix = "utkikk/v1/collector/";

enum class MessageKind : uint8_t {
  kEnvelope = 1,        // uplink -> collector: one sealed envelope
  kAck = 2,             // collector -> uplink: what became of one envelope
  kHeartbeat = 3,       // uplink -> collector: "are you there?"
  kHeartbeatReply = 4,  // collector -> uplink: "yes"
  kBundleRequest = 5,   // uplink -> collector: "I run rule bundle version <sequence>"
  kBundleOffer = 6,     // collector -> uplink: rule bundle version <sequence>, bytes in `envelope`
};
// Upward kinds (uplink -> collector) travel on SensorTopic, the others on CollectorTopic.
bool IsUpward(MessageKind kind);
std::string_view MessageKindName(MessageKind kind);

enum class AckStatus : uint8_t {
  kStored = 0,     // committed now: delete your copy
  kDuplicate = 1,  // already stored identically: delete your copy
  kRejected = 2,   // not stored; `reason` says why
};
std::string_view AckStatusName(AckStatus status);

struct TransportMessage {
  MessageKind kind = MessageKind::kEnvelope;
  std::string sensor_id;
  uint64_t sequence = 0;  // envelope sequence (envelope, ack) or heartbeat nonce
  AckStatus status = AckStatus::kStored;  // ack only
  std::string reason;                     // ack only: "" or the collector's reject reason
  std::vector<uint8_t> envelope;          // envelope, or the signed bundle of a bundle offer
};

// "utkikk/v1/sensor/<id>/up": envelopes and heartbeats of one sensor.
std::string SensorTopic(std::string_view sensor_id);
// "utkikk/v1/collector/<id>/down": acks and heartbeat replies for one sensor.
std::string CollectorTopic(std::string_view sensor_id);
// True for 1..64 bytes of [A-Za-z0-9._-] (the envelope's sensor id rule).
bool ValidSensorId(std::string_view sensor_id);

struct TransportStats {
  uint64_t published = 0;
  uint64_t received = 0;
  uint64_t malformed = 0;     // messages that did not decode (wrong shape, topic, sizes)
  uint64_t peer_added = 0;    // status events
  uint64_t peer_lost = 0;
  uint64_t errors = 0;        // Broker error events (unavailable peer, TLS failure ...)
};

// One side of the conversation. Not thread-safe: one thread uses an object.
class Transport {
 public:
  virtual ~Transport() = default;
  // Publishes one message on its topic. kPeerUnavailable while no peer is connected (Broker
  // would buffer it without bound), kInvalidArgument for an invalid sensor id.
  virtual rules::Result<void> Publish(const TransportMessage& message) = 0;
  // Waits at most `max_wait` for the first message, then returns up to `max` messages.
  virtual std::vector<TransportMessage> Poll(std::chrono::milliseconds max_wait, size_t max) = 0;
  // Peers currently connected.
  virtual size_t peer_count() = 0;
  // Drops the peering and peers again (a silent partition); a no-op for a listener.
  virtual void Reconnect() = 0;
  virtual TransportStats stats() const = 0;
};
using TransportPtr = std::unique_ptr<Transport>;

// The TLS material of one side, all PEM files. Mandatory: without all three Broker would fall
// back to unauthenticated anonymous TLS.
struct TlsFiles {
  std::string cert;        // own certificate (chain)
  std::string key;         // its private key
  std::string ca;          // the CA that signs the other side's certificates
  std::string passphrase;  // for an encrypted key; "" for none
};
// Refuses a missing item, unreadable or unparsable files, or a key that does not match the
// certificate (kConfig), so a daemon fails at start instead of inside Broker's I/O thread.
rules::Result<void> CheckTlsFiles(const TlsFiles& tls);

struct BrokerListenOptions {
  TlsFiles tls;
  std::string address = "127.0.0.1";
  uint16_t port = 0;         // 0: the system picks one (bound_port() tells)
  size_t queue_size = 64;    // subscriber queue (Broker flow control beyond it)
};

struct BrokerConnectOptions {
  TlsFiles tls;
  std::string sensor_id;     // subscribes to CollectorTopic(sensor_id)
  std::string address = "127.0.0.1";
  uint16_t port = 9999;
  std::chrono::seconds retry{5};  // Broker's reconnect interval
  size_t queue_size = 64;
};

// A listening collector-side transport: receives on every sensor topic, publishes acks.
class BrokerListener : public Transport {
 public:
  virtual uint16_t bound_port() const = 0;
};

// Listens with TLS (mutual authentication). Errors (kConfig, kIo) instead of CAF exceptions.
rules::Result<std::unique_ptr<BrokerListener>> ListenBroker(const BrokerListenOptions& options);
// Peers (peer_nosync, with retries) with TLS; returns at once, peer_count() says when it is up.
rules::Result<TransportPtr> ConnectBroker(const BrokerConnectOptions& options);

// For tests only: a Broker endpoint with TLS but without any certificate (Broker's anonymous
// fallback) that tries to peer and publish; must be refused by ListenBroker's side.
rules::Result<TransportPtr> ConnectBrokerAnonymousForTest(const std::string& sensor_id,
                                                          const std::string& address,
                                                          uint16_t port);

}  // namespace uplink
