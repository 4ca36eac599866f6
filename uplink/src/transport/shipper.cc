// The uplink's shipping loop (see shipper.h; on-disk layout in docs/formats.md, "Uplink state
// directory"). Order of effects, chosen so that a SIGKILL at any instant loses nothing and
// stores nothing twice:
//   seal: envelope sequence reserved -> envelope written to outbox/ (atomic) -> published;
//   ack:  spool batch removed (directory fsync'ed) -> outbox file removed.
// A restart sends outbox files again with the same bytes (the collector acks a duplicate) and
// never seals a batch that still has an outbox file.
#include "uplink/transport/shipper.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "file_util.h"
#include "uplink/sequence_counter.h"
#include "uplink/spool.h"

namespace uplink {
namespace {

using rules::ErrorCode;
using rules::Fail;
using rules::Result;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr size_t kMaxCachedRefs = 4096;  // spool listing kept between scans
constexpr const char* kUplinkSuffix = "uplink";
constexpr const char* kEnvSuffix = ".env";

std::string Pad20(uint64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020" PRIu64, n);
  return buf;
}

// Outbox names: "<envelope seq, 20 digits>-<spool file stem>.env" for a spool batch,
// "<envelope seq>-uplink.env" for a gap report the uplink made itself.
struct OutboxName {
  uint64_t sequence = 0;
  uint64_t batch_seq = 0;      // 0 for the uplink's own reports
  std::string spool_file;      // "" for the uplink's own reports
};

std::optional<uint64_t> ParseDigits(std::string_view s) {
  if (s.size() != 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<OutboxName> ParseOutboxName(std::string_view name) {
  if (!name.ends_with(kEnvSuffix) || name.size() < 22) return std::nullopt;
  auto seq = ParseDigits(name.substr(0, 20));
  if (!seq || name[20] != '-' || *seq == 0) return std::nullopt;
  std::string_view stem = name.substr(21, name.size() - 21 - 4);
  OutboxName out;
  out.sequence = *seq;
  if (stem == kUplinkSuffix) return out;
  // Spool stem: 20 digits, "-p", one class digit (docs/formats.md, "Spool").
  if (stem.size() != 23 || stem.substr(20, 2) != "-p" || stem[22] < '0' || stem[22] > '3') {
    return std::nullopt;
  }
  auto batch = ParseDigits(stem.substr(0, 20));
  if (!batch || *batch == 0) return std::nullopt;
  out.batch_seq = *batch;
  out.spool_file = std::string(stem) + ".batch";
  return out;
}

std::string OutboxFileName(const OutboxName& name) {
  const std::string stem =
      name.batch_seq == 0 ? std::string(kUplinkSuffix)
                          : name.spool_file.substr(0, name.spool_file.size() - 6);  // ".batch"
  return Pad20(name.sequence) + "-" + stem + kEnvSuffix;
}

// Reject reasons (the collector's IngestOutcome::reason) after which the same bytes can never be
// accepted. Anything else (store_error, unknown_key, unknown_sensor, a reason this version does
// not know) is retried after the ack timeout.
bool PermanentReject(const std::string& reason) {
  static const std::set<std::string, std::less<>> kPermanent = {
      "too_large",       "raw_too_large",         "bad_magic",         "bad_version",
      "malformed_header", "bad_signature",        "payload_hash_mismatch",
      "decompress_failed", "raw_length_mismatch", "bad_payload"};
  return kPermanent.contains(reason);
}

struct Entry {
  OutboxName name;
  std::string file_name;  // in outbox/
  std::vector<uint8_t> bytes;
  SteadyTime due{};       // next (re)send
  uint32_t sends = 0;
};

}  // namespace

struct Shipper::State {
  State(const ShipperConfig& c, const SigningKey& k, Transport& t, Clock& cl)
      : config(c), key(k), transport(t), clock(cl) {}

  ShipperConfig config;
  const SigningKey& key;
  Transport& transport;
  Clock& clock;
  internal::Fd lock;
  std::unique_ptr<SpoolReader> spool;
  std::unique_ptr<SequenceCounter> counter;
  std::string outbox_dir;
  std::string rejected_dir;

  std::map<uint64_t, Entry> in_flight;       // by envelope sequence
  std::deque<OutboxName> outbox_backlog;     // sealed before a restart, not loaded yet
  std::set<uint64_t> covered;                // batch seqs with an outbox file
  std::deque<BatchRef> refs;                 // cached spool listing
  bool list_again = true;                    // the last listing may not have been complete
  SteadyTime next_scan{};
  size_t peers = 0;
  SteadyTime last_heard{};
  SteadyTime last_heartbeat{};
  SteadyTime last_bundle_request{};
  bool bundle_asked = false;  // on this peering
  uint64_t heartbeat_nonce = 0;
  ShipperStats stats;

  Result<void> LoadOutbox();
  Result<void> Fill(SteadyTime now);
  Result<void> SealBatch(const BatchRef& ref, const Batch& batch, SteadyTime now);
  Result<void> AddSealed(OutboxName name, std::vector<uint8_t> bytes, SteadyTime now);
  Result<void> GapReport(const std::string& line, SteadyTime now);
  Result<void> HandleAck(const TransportMessage& ack, SteadyTime now);
  Result<void> Complete(Entry& entry);
  void SendDue(SteadyTime now);
  void Forget(uint64_t sequence) {
    auto it = in_flight.find(sequence);
    if (it == in_flight.end()) return;
    covered.erase(it->second.name.batch_seq);
    in_flight.erase(it);
  }
};

Result<std::unique_ptr<Shipper>> Shipper::Open(const ShipperConfig& config, const SigningKey& key,
                                               Transport& transport, Clock& clock) {
  if (!ValidSensorId(config.sensor_id)) return Fail(ErrorCode::kConfig, "invalid sensor id");
  if (config.window == 0) return Fail(ErrorCode::kConfig, "window must be at least 1");
  auto state = std::make_unique<State>(config, key, transport, clock);
  state->outbox_dir = config.state_dir + "/outbox";
  state->rejected_dir = config.state_dir + "/rejected";
  for (const std::string& dir : {config.state_dir, state->outbox_dir, state->rejected_dir}) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Fail(ErrorCode::kIo, internal::ErrnoMessage("uplink state mkdir", dir, errno));
    }
  }
  const std::string lock_path = config.state_dir + "/.lock";
  state->lock = internal::Fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!state->lock.valid()) {
    return Fail(ErrorCode::kIo, internal::ErrnoMessage("uplink lock", lock_path, errno));
  }
  if (::flock(state->lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return Fail(ErrorCode::kIo, lock_path + ": another uplink uses this state directory");
  }
  SpoolConfig spool_config;
  spool_config.dir = config.spool_dir;
  auto spool = SpoolReader::Open(spool_config);
  if (!spool) return Fail(spool.error(), "uplink: ");
  state->spool = std::move(*spool);
  auto counter = SequenceCounter::Open(config.state_dir + "/envelope.seq");
  if (!counter) return Fail(counter.error(), "uplink: ");
  state->counter = std::move(*counter);
  if (auto loaded = state->LoadOutbox(); !loaded) return tl::make_unexpected(loaded.error());
  return std::unique_ptr<Shipper>(new Shipper(std::move(state)));
}

Shipper::Shipper(std::unique_ptr<State> state) : state_(std::move(state)) {}
Shipper::~Shipper() = default;

const ShipperStats& Shipper::stats() const { return state_->stats; }

bool Shipper::Idle() const {
  return state_->in_flight.empty() && state_->outbox_backlog.empty() && state_->refs.empty() &&
         !state_->list_again;
}

Result<void> Shipper::State::LoadOutbox() {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(outbox_dir.c_str()), ::closedir);
  if (!dir) return Fail(ErrorCode::kIo, internal::ErrnoMessage("outbox", outbox_dir, errno));
  std::vector<OutboxName> names;
  uint64_t highest = 0;
  while (dirent* e = ::readdir(dir.get())) {
    const std::string name = e->d_name;
    if (name.starts_with(internal::kTempPrefix)) {
      ::unlink((outbox_dir + "/" + name).c_str());  // a crash while writing: never published
      continue;
    }
    auto parsed = ParseOutboxName(name);
    if (!parsed) continue;
    highest = std::max(highest, parsed->sequence);
    names.push_back(*parsed);
  }
  std::sort(names.begin(), names.end(),
            [](const OutboxName& a, const OutboxName& b) { return a.sequence < b.sequence; });
  for (const OutboxName& n : names) {
    if (n.batch_seq != 0) covered.insert(n.batch_seq);
    outbox_backlog.push_back(n);
  }
  counter->AdvancePast(highest);  // even if envelope.seq was lost
  return {};
}

Result<void> Shipper::State::AddSealed(OutboxName name, std::vector<uint8_t> bytes,
                                       SteadyTime now) {
  Entry entry;
  entry.name = std::move(name);
  entry.file_name = OutboxFileName(entry.name);
  if (auto written = internal::WriteFileAtomic(outbox_dir, entry.file_name, bytes, 0600, false);
      !written) {
    return Fail(written.error(), "outbox: ");
  }
  entry.bytes = std::move(bytes);
  entry.due = now;
  if (entry.name.batch_seq != 0) covered.insert(entry.name.batch_seq);
  const uint64_t seq = entry.name.sequence;
  in_flight.emplace(seq, std::move(entry));
  return {};
}

Result<void> Shipper::State::SealBatch(const BatchRef& ref, const Batch& batch, SteadyTime now) {
  auto seq = counter->Next();
  if (!seq) return Fail(seq.error(), "envelope sequence: ");
  EnvelopeHeaderFields fields;
  fields.sensor_id = config.sensor_id;
  fields.sequence = *seq;
  // The summary was created when the sensor closed the batch (its header says when); the time
  // of sealing says nothing about the data. An old batch without that time gets the seal time.
  fields.created_at_us = batch.created_at_us != 0 ? batch.created_at_us : clock.WallMicros();
  fields.window_start_us = batch.window_start_us;
  fields.window_end_us = batch.window_end_us;
  fields.payload_type = batch.payload_type;
  auto sealed = SealEnvelope(fields, batch.json_lines, key, config.seal);
  if (!sealed) {
    if (sealed.error().code != ErrorCode::kInvalidArgument) return tl::make_unexpected(sealed.error());
    // Cannot ever be sealed (e.g. compresses beyond the envelope bound): report and drop it.
    ++stats.rejected_permanent;
    if (auto removed = spool->Remove(ref); !removed) return removed;
    return GapReport("{\"type\":\"gap\",\"reason\":\"unsealable\",\"from_seq\":" +
                         std::to_string(ref.batch_seq) + ",\"to_seq\":" +
                         std::to_string(ref.batch_seq) + ",\"dropped_batches\":1}\n",
                     now);
  }
  ++stats.sealed;
  OutboxName name;
  name.sequence = *seq;
  name.batch_seq = ref.batch_seq;
  name.spool_file = ref.file_name;
  return AddSealed(std::move(name), std::move(*sealed), now);
}

Result<void> Shipper::State::GapReport(const std::string& line, SteadyTime now) {
  auto seq = counter->Next();
  if (!seq) return Fail(seq.error(), "envelope sequence: ");
  EnvelopeHeaderFields fields;
  fields.sensor_id = config.sensor_id;
  fields.sequence = *seq;
  fields.created_at_us = clock.WallMicros();
  fields.window_start_us = fields.created_at_us;
  fields.window_end_us = fields.created_at_us;
  fields.payload_type = PayloadType::kGap;
  auto sealed = SealEnvelope(fields, line, key, config.seal);
  if (!sealed) return Fail(sealed.error(), "gap report: ");
  ++stats.gap_reports;
  OutboxName name;
  name.sequence = *seq;
  return AddSealed(std::move(name), std::move(*sealed), now);
}

Result<void> Shipper::State::Fill(SteadyTime now) {
  while (in_flight.size() < config.window && !outbox_backlog.empty()) {
    OutboxName name = outbox_backlog.front();
    outbox_backlog.pop_front();
    Entry entry;
    entry.name = name;
    entry.file_name = OutboxFileName(name);
    bool too_large = false;
    auto bytes = internal::ReadFileBounded(outbox_dir + "/" + entry.file_name,
                                           config.seal.max_total_bytes, &too_large);
    if (!bytes) {
      if (bytes.error().code == ErrorCode::kNotFound) {
        covered.erase(name.batch_seq);
        continue;
      }
      return Fail(bytes.error(), "outbox: ");
    }
    // An oversize file cannot be ours; send what fits and let the collector judge it.
    entry.bytes = std::move(*bytes);
    entry.due = now;
    ++stats.loaded_from_outbox;
    in_flight.emplace(name.sequence, std::move(entry));
  }
  while (in_flight.size() < config.window) {
    if (refs.empty()) {
      if (!list_again && now < next_scan) break;
      auto listed = spool->List();
      if (!listed) return Fail(listed.error(), "spool: ");
      next_scan = now + config.rescan_interval;
      list_again = false;
      for (const BatchRef& ref : *listed) {
        if (covered.contains(ref.batch_seq)) continue;
        if (refs.size() == kMaxCachedRefs) {
          list_again = true;
          break;
        }
        refs.push_back(ref);
      }
      if (refs.empty()) break;
    }
    BatchRef ref = refs.front();
    refs.pop_front();
    if (covered.contains(ref.batch_seq)) continue;
    const auto& q = spool->stats().quarantined;
    const uint64_t quarantined_before = std::accumulate(q.begin(), q.end(), uint64_t{0});
    auto batch = spool->Read(ref);
    if (!batch) return Fail(batch.error(), "spool: ");
    if (!*batch) {
      const auto& q2 = spool->stats().quarantined;
      if (std::accumulate(q2.begin(), q2.end(), uint64_t{0}) != quarantined_before) {
        ++stats.quarantined;
        auto gap = GapReport("{\"type\":\"gap\",\"reason\":\"spool_quarantined\",\"from_seq\":" +
                                 std::to_string(ref.batch_seq) + ",\"to_seq\":" +
                                 std::to_string(ref.batch_seq) + ",\"dropped_batches\":1}\n",
                             now);
        if (!gap) return gap;
      }
      continue;
    }
    if (auto sealed = SealBatch(ref, **batch, now); !sealed) return sealed;
    if (refs.empty()) list_again = true;  // more may have arrived while we shipped these
  }
  stats.in_flight = in_flight.size();
  stats.max_in_flight = std::max(stats.max_in_flight, stats.in_flight);
  return {};
}

Result<void> Shipper::State::Complete(Entry& entry) {
  if (entry.name.batch_seq != 0) {
    BatchRef ref;
    ref.batch_seq = entry.name.batch_seq;
    ref.file_name = entry.name.spool_file;
    if (auto removed = spool->Remove(ref); !removed) return Fail(removed.error(), "spool: ");
  }
  const std::string path = outbox_dir + "/" + entry.file_name;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Fail(ErrorCode::kIo, internal::ErrnoMessage("outbox remove", path, errno));
  }
  return {};
}

Result<void> Shipper::State::HandleAck(const TransportMessage& ack, SteadyTime now) {
  auto it = in_flight.find(ack.sequence);
  if (it == in_flight.end()) {
    ++stats.stray_acks;
    return {};
  }
  Entry& entry = it->second;
  if (ack.status == AckStatus::kStored || ack.status == AckStatus::kDuplicate) {
    ++stats.acked;
    if (ack.status == AckStatus::kDuplicate) ++stats.duplicates;
    if (auto done = Complete(entry); !done) return done;
    Forget(ack.sequence);
    return {};
  }
  if (ack.reason == "replay_different_content") {
    // The collector holds other bytes under this sequence: seal the batch again, new number.
    ++stats.resealed;
    const std::string path = outbox_dir + "/" + entry.file_name;
    ::unlink(path.c_str());
    Forget(ack.sequence);
    refs.clear();
    list_again = true;
    return {};
  }
  if (!PermanentReject(ack.reason)) {
    ++stats.rejected_transient;
    entry.due = now + config.ack_timeout;
    return {};
  }
  ++stats.rejected_permanent;
  const std::string from = outbox_dir + "/" + entry.file_name;
  const std::string to = rejected_dir + "/" + entry.file_name + "." + ack.reason;
  if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
    return Fail(ErrorCode::kIo, internal::ErrnoMessage("outbox reject", from, errno));
  }
  const OutboxName name = entry.name;
  if (name.batch_seq != 0) {
    BatchRef ref;
    ref.batch_seq = name.batch_seq;
    ref.file_name = name.spool_file;
    if (auto removed = spool->Remove(ref); !removed) return Fail(removed.error(), "spool: ");
  }
  Forget(ack.sequence);
  if (name.batch_seq == 0) return {};  // never report a rejected report again
  return GapReport("{\"type\":\"gap\",\"reason\":\"rejected_" + ack.reason +
                       "\",\"from_seq\":" + std::to_string(name.batch_seq) +
                       ",\"to_seq\":" + std::to_string(name.batch_seq) +
                       ",\"dropped_batches\":1}\n",
                   now);
}

void Shipper::State::SendDue(SteadyTime now) {
  for (auto& [seq, entry] : in_flight) {
    if (entry.due > now) continue;
    TransportMessage message;
    message.kind = MessageKind::kEnvelope;
    message.sensor_id = config.sensor_id;
    message.sequence = seq;
    message.envelope = entry.bytes;
    if (!transport.Publish(message)) return;  // peer gone: the next peering resends
    ++stats.sent;
    if (entry.sends > 0) ++stats.resent;
    ++entry.sends;
    entry.due = now + config.ack_timeout;
  }
}

Result<void> Shipper::RunOnce(std::chrono::milliseconds max_wait) {
  State& s = *state_;
  std::vector<TransportMessage> messages = s.transport.Poll(max_wait, 256);
  SteadyTime now = s.clock.Now();
  for (const TransportMessage& m : messages) {
    if (m.sensor_id != s.config.sensor_id) continue;
    s.last_heard = now;
    if (m.kind == MessageKind::kAck) {
      if (auto handled = s.HandleAck(m, now); !handled) return handled;
    } else if (m.kind == MessageKind::kBundleOffer && s.config.on_bundle_offer) {
      ++s.stats.bundle_offers;
      s.config.on_bundle_offer(m.sequence, m.envelope);
    }
  }
  const size_t peers = s.transport.peer_count();
  if (peers > 0 && s.peers == 0) {
    // A new peering: whatever was in flight on the old one may be lost; send it all again.
    s.last_heard = now;
    s.last_heartbeat = now;
    for (auto& [seq, entry] : s.in_flight) entry.due = now;
    s.bundle_asked = false;
  }
  s.peers = peers;
  if (auto filled = s.Fill(now); !filled) return filled;
  if (peers == 0) return {};
  if (now - s.last_heard >= s.config.silence_timeout) {
    ++s.stats.reconnects;
    s.transport.Reconnect();
    s.peers = 0;
    return {};
  }
  s.SendDue(now);
  if (now - s.last_heartbeat >= s.config.heartbeat_interval) {
    TransportMessage hb;
    hb.kind = MessageKind::kHeartbeat;
    hb.sensor_id = s.config.sensor_id;
    hb.sequence = ++s.heartbeat_nonce;
    if (s.transport.Publish(hb)) ++s.stats.heartbeats;
    s.last_heartbeat = now;
  }
  if (s.config.bundle_version &&
      (!s.bundle_asked || now - s.last_bundle_request >= s.config.bundle_interval)) {
    TransportMessage ask;
    ask.kind = MessageKind::kBundleRequest;
    ask.sensor_id = s.config.sensor_id;
    ask.sequence = s.config.bundle_version();
    if (s.transport.Publish(ask)) {
      ++s.stats.bundle_requests;
      s.bundle_asked = true;
      s.last_bundle_request = now;
    }
  }
  s.stats.in_flight = s.in_flight.size();
  return {};
}

}  // namespace uplink
