// Broker 1.4 behind the Transport interface: TLS configuration, topics, the message encoding
// (docs/formats.md, "Transport: topics and messages") and peer tracking from status events.
// Broker and CAF throw during setup; every entry point catches and returns a Result.
#include <deque>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <broker/broker.hh>

#include "uplink/transport/transport.h"

namespace uplink {
namespace {

using rules::ErrorCode;
using rules::Fail;
using rules::Result;

broker::data Encode(const TransportMessage& m) {
  broker::vector v;
  v.emplace_back(broker::count{kTransportProtocolVersion});
  v.emplace_back(std::string(MessageKindName(m.kind)));
  v.emplace_back(m.sensor_id);
  v.emplace_back(broker::count{m.sequence});
  if (m.kind == MessageKind::kEnvelope || m.kind == MessageKind::kBundleOffer) {
    v.emplace_back(std::string(reinterpret_cast<const char*>(m.envelope.data()), m.envelope.size()));
  } else if (m.kind == MessageKind::kAck) {
    v.emplace_back(std::string(AckStatusName(m.status)));
    v.emplace_back(m.reason);
  }
  return broker::data{std::move(v)};
}

std::optional<MessageKind> KindFromName(const std::string& name) {
  for (MessageKind k : {MessageKind::kEnvelope, MessageKind::kAck, MessageKind::kHeartbeat,
                        MessageKind::kHeartbeatReply, MessageKind::kBundleRequest,
                        MessageKind::kBundleOffer}) {
    if (name == MessageKindName(k)) return k;
  }
  return std::nullopt;
}

std::optional<AckStatus> StatusFromName(const std::string& name) {
  for (AckStatus s : {AckStatus::kStored, AckStatus::kDuplicate, AckStatus::kRejected}) {
    if (name == AckStatusName(s)) return s;
  }
  return std::nullopt;
}

// Hostile input: every shape, type and topic is checked; nullopt for anything else.
std::optional<TransportMessage> Decode(const broker::data_message& msg) {
  const std::string& topic = broker::get_topic(msg).string();
  const auto* v = broker::get_if<broker::vector>(broker::get_data(msg));
  if (v == nullptr || v->size() < 4) return std::nullopt;
  const auto* version = broker::get_if<broker::count>((*v)[0]);
  const auto* kind_name = broker::get_if<std::string>((*v)[1]);
  const auto* sensor = broker::get_if<std::string>((*v)[2]);
  const auto* seq = broker::get_if<broker::count>((*v)[3]);
  if (!version || !kind_name || !sensor || !seq) return std::nullopt;
  if (*version != kTransportProtocolVersion || !ValidSensorId(*sensor)) return std::nullopt;
  auto kind = KindFromName(*kind_name);
  if (!kind) return std::nullopt;
  TransportMessage out;
  out.kind = *kind;
  out.sensor_id = *sensor;
  out.sequence = *seq;
  if (topic != (IsUpward(*kind) ? SensorTopic(*sensor) : CollectorTopic(*sensor))) {
    return std::nullopt;
  }
  switch (*kind) {
    case MessageKind::kEnvelope:
    case MessageKind::kBundleOffer: {
      if (v->size() != 5) return std::nullopt;
      const auto* bytes = broker::get_if<std::string>((*v)[4]);
      if (!bytes) return std::nullopt;
      out.envelope.assign(bytes->begin(), bytes->end());
      break;
    }
    case MessageKind::kAck: {
      if (v->size() != 6) return std::nullopt;
      const auto* status = broker::get_if<std::string>((*v)[4]);
      const auto* reason = broker::get_if<std::string>((*v)[5]);
      if (!status || !reason || reason->size() > 256) return std::nullopt;
      auto s = StatusFromName(*status);
      if (!s) return std::nullopt;
      out.status = *s;
      out.reason = *reason;
      break;
    }
    case MessageKind::kHeartbeat:
    case MessageKind::kHeartbeatReply:
    case MessageKind::kBundleRequest:
      if (v->size() != 4) return std::nullopt;
      break;
  }
  return out;
}

broker::configuration MakeConfiguration(const TlsFiles* tls) {
  broker::broker_options options;
  options.forward = false;            // never relay one sensor's messages to another
  options.ignore_broker_conf = true;  // no configuration from the working directory
  options.disable_ssl = false;
  broker::configuration cfg{options};
  if (tls != nullptr) {
    cfg.openssl_certificate = tls->cert;
    cfg.openssl_key = tls->key;
    cfg.openssl_cafile = tls->ca;
    cfg.openssl_passphrase = tls->passphrase;
  }
  return cfg;
}

// Owns the Broker endpoint and its subscribers (declared after it, so destroyed first).
// Not thread-safe.
class BrokerSide : public BrokerListener {
 public:
  BrokerSide(bool listener, std::string sensor_id) : listener_(listener),
      sensor_id_(std::move(sensor_id)) {}

  Result<void> Start(broker::configuration cfg, std::vector<broker::topic> topics,
                     size_t queue_size) {
    endpoint_ = std::make_unique<broker::endpoint>(std::move(cfg));
    status_.emplace(endpoint_->make_status_subscriber(true));
    subscriber_.emplace(endpoint_->make_subscriber(std::move(topics), queue_size));
    return {};
  }

  Result<void> Listen(const std::string& address, uint16_t port) {
    bound_port_ = endpoint_->listen(address, port);
    if (bound_port_ == 0) {
      return Fail(ErrorCode::kIo, "broker: cannot listen on " + address + ":" +
                                      std::to_string(port));
    }
    return {};
  }

  void Peer(const std::string& address, uint16_t port, std::chrono::seconds retry) {
    peer_address_ = address;
    peer_port_ = port;
    retry_ = retry;
    endpoint_->peer_nosync(address, port, broker::timeout::seconds(retry.count()));
  }

  Result<void> Publish(const TransportMessage& message) override {
    if (!ValidSensorId(message.sensor_id)) {
      return Fail(ErrorCode::kInvalidArgument, "publish: invalid sensor id");
    }
    DrainStatus();
    if (peers_ == 0) return Fail(ErrorCode::kPeerUnavailable, "publish: no peer connected");
    const bool upward = IsUpward(message.kind);
    try {
      endpoint_->publish(broker::topic(upward ? SensorTopic(message.sensor_id)
                                              : CollectorTopic(message.sensor_id)),
                         Encode(message));
    } catch (const std::exception& e) {
      return Fail(ErrorCode::kIo, std::string("publish: ") + e.what());
    }
    ++stats_.published;
    return {};
  }

  std::vector<TransportMessage> Poll(std::chrono::milliseconds max_wait, size_t max) override {
    DrainStatus();
    // get(0) never consumes; poll() takes everything queued (at most the queue size).
    if (pending_.empty()) {
      if (subscriber_->available() == 0) {
        auto one = subscriber_->get(max_wait);
        if (one) pending_.push_back(std::move(*one));
      }
      for (auto& msg : subscriber_->poll()) pending_.push_back(std::move(msg));
    }
    DrainStatus();
    std::vector<TransportMessage> out;
    while (!pending_.empty() && out.size() < max) {
      broker::data_message msg = std::move(pending_.front());
      pending_.pop_front();
      auto decoded = Decode(msg);
      const bool expected =
          decoded && (listener_ ? IsUpward(decoded->kind)
                                : (decoded->sensor_id == sensor_id_ && !IsUpward(decoded->kind)));
      if (!expected) {
        ++stats_.malformed;
        continue;
      }
      ++stats_.received;
      out.push_back(std::move(*decoded));
    }
    return out;
  }

  size_t peer_count() override {
    DrainStatus();
    return peers_;
  }

  void Reconnect() override {
    if (listener_ || peer_address_.empty()) return;
    try {
      endpoint_->unpeer_nosync(peer_address_, peer_port_);
      endpoint_->peer_nosync(peer_address_, peer_port_,
                             broker::timeout::seconds(retry_.count()));
    } catch (const std::exception&) {
      ++stats_.errors;
    }
    peers_ = 0;
  }

  TransportStats stats() const override { return stats_; }
  uint16_t bound_port() const override { return bound_port_; }

 private:
  // Reads status events; recounts the peered peers when one arrives.
  void DrainStatus() {
    bool changed = false;
    for (auto& event : status_->poll()) {
      if (auto* s = caf::get_if<broker::status>(&event)) {
        if (s->code() == broker::sc::peer_added) ++stats_.peer_added;
        if (s->code() == broker::sc::peer_lost || s->code() == broker::sc::peer_removed) {
          ++stats_.peer_lost;
        }
        changed = true;
      } else if (caf::get_if<broker::error>(&event) != nullptr) {
        ++stats_.errors;
        changed = true;
      }
    }
    // A status event can arrive before the peering is complete, so while no peer is counted
    // the list is asked again now and then.
    const auto now = std::chrono::steady_clock::now();
    if (!changed && !(peers_ == 0 && now - last_recount_ >= std::chrono::milliseconds(100))) {
      return;
    }
    last_recount_ = now;
    size_t n = 0;
    for (const auto& p : endpoint_->peers()) {
      if (p.status == broker::peer_status::peered) ++n;
    }
    peers_ = n;
  }

  bool listener_;
  std::string sensor_id_;
  std::unique_ptr<broker::endpoint> endpoint_;
  std::optional<broker::status_subscriber> status_;
  std::optional<broker::subscriber> subscriber_;
  std::deque<broker::data_message> pending_;  // taken from the subscriber, not yet returned
  uint16_t bound_port_ = 0;
  std::string peer_address_;
  uint16_t peer_port_ = 0;
  std::chrono::seconds retry_{5};
  size_t peers_ = 0;
  std::chrono::steady_clock::time_point last_recount_{};
  TransportStats stats_;
};

Result<TransportPtr> Connect(const std::string& sensor_id, const std::string& address,
                             uint16_t port, std::chrono::seconds retry, size_t queue_size,
                             const TlsFiles* tls) {
  if (!ValidSensorId(sensor_id)) return Fail(ErrorCode::kConfig, "invalid sensor id");
  try {
    auto side = std::make_unique<BrokerSide>(false, sensor_id);
    auto started = side->Start(MakeConfiguration(tls),
                               {broker::topic(CollectorTopic(sensor_id))}, queue_size);
    if (!started) return tl::make_unexpected(started.error());
    side->Peer(address, port, retry);
    return TransportPtr(std::move(side));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kIo, std::string("broker: ") + e.what());
  }
}

}  // namespace

std::string_view MessageKindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kEnvelope: return "envelope";
    case MessageKind::kAck: return "ack";
    case MessageKind::kHeartbeat: return "heartbeat";
    case MessageKind::kHeartbeatReply: return "heartbeat_reply";
    case MessageKind::kBundleRequest: return "bundle_request";
    case MessageKind::kBundleOffer: return "bundle_offer";
  }
  return "unknown";
}

bool IsUpward(MessageKind kind) {
  return kind == MessageKind::kEnvelope || kind == MessageKind::kHeartbeat ||
         kind == MessageKind::kBundleRequest;
}

std::string_view AckStatusName(AckStatus status) {
  switch (status) {
    case AckStatus::kStored: return "stored";
    case AckStatus::kDuplicate: return "duplicate";
    case AckStatus::kRejected: return "rejected";
  }
  return "unknown";
}

bool ValidSensorId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string SensorTopic(std::string_view sensor_id) {
  return std::string(kSensorTopicPrefix) + std::string(sensor_id) + "/up";
}

std::string CollectorTopic(std::string_view sensor_id) {
  return std::string(kCollectorTopicPrefix) + std::string(sensor_id) + "/down";
}

Result<std::unique_ptr<BrokerListener>> ListenBroker(const BrokerListenOptions& options) {
  if (auto ok = CheckTlsFiles(options.tls); !ok) return tl::make_unexpected(ok.error());
  try {
    auto side = std::make_unique<BrokerSide>(true, "");
    auto started = side->Start(MakeConfiguration(&options.tls),
                               {broker::topic(std::string(kSensorTopicPrefix))},
                               options.queue_size);
    if (!started) return tl::make_unexpected(started.error());
    auto listening = side->Listen(options.address, options.port);
    if (!listening) return tl::make_unexpected(listening.error());
    return std::unique_ptr<BrokerListener>(std::move(side));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kIo, std::string("broker: ") + e.what());
  }
}

Result<TransportPtr> ConnectBroker(const BrokerConnectOptions& options) {
  if (auto ok = CheckTlsFiles(options.tls); !ok) return tl::make_unexpected(ok.error());
  return Connect(options.sensor_id, options.address, options.port, options.retry,
                 options.queue_size, &options.tls);
}

Result<TransportPtr> ConnectBrokerAnonymousForTest(const std::string& sensor_id,
                                                   const std::string& address, uint16_t port) {
  return Connect(sensor_id, address, port, std::chrono::seconds(1), 16, nullptr);
}

}  // namespace uplink
