#include "uplink/collector/collector.h"

#include <charconv>
#include <chrono>
#include <map>
#include <set>
#include <string_view>

#include "rules/version.h"
#include "uplink/collector/key_rotation.h"
#include "uplink/envelope.h"

#include "collector/collector_internal.h"
#include "collector/db.h"
#include "collector/schema.h"
#include "collector/summary_lines.h"

namespace uplink {

using collector_internal::Db;
using collector_internal::LineKind;
using collector_internal::ParsedLine;
using collector_internal::SqlRow;
using collector_internal::SqlValue;
using rules::ErrorCode;
using rules::Fail;
using rules::Result;

namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Text(const SqlRow& row, size_t i) {
  return i < row.size() && row[i] ? *row[i] : std::string();
}
std::optional<int64_t> OptInt(const SqlRow& row, size_t i) {
  if (i >= row.size() || !row[i])
    return std::nullopt;
  int64_t v = 0;
  const std::string& s = *row[i];
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size())
    return std::nullopt;
  return v;
}
int64_t Int(const SqlRow& row, size_t i) {
  return OptInt(row, i).value_or(0);
}

std::optional<std::vector<uint8_t>> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0)
    return std::nullopt;
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const auto [end, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, out[i], 16);
    if (ec != std::errc() || end != hex.data() + 2 * i + 2)
      return std::nullopt;
  }
  return out;
}

// Member and sensor ids: what the envelope allows for sensor ids (uplink/envelope.h).
bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxSensorIdLength)
    return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct KeyEntry {
  VerifyKey key;
  std::string member_id;
  std::string replaced_by;  // hex key id of the announced successor, or ""
};
using KeyCache = std::map<std::string, std::vector<KeyEntry>, std::less<>>;

// KeyLookup over the cache of enrolled, unrevoked keys; remembers whether the sensor was known.
// Borrows the cache; used for one OpenEnvelope call on one thread.
class CacheKeyLookup : public KeyLookup {
 public:
  explicit CacheKeyLookup(const KeyCache& cache) : cache_(cache) {}
  const VerifyKey* Find(std::string_view sensor_id, const KeyId& key_id) const override {
    asked_ = true;
    sensor_id_ = std::string(sensor_id);
    const auto it = cache_.find(sensor_id);
    sensor_known_ = it != cache_.end();
    if (!sensor_known_)
      return nullptr;
    for (const KeyEntry& entry : it->second) {
      if (entry.key.key_id() == key_id) {
        member_id_ = entry.member_id;
        return &entry.key;
      }
    }
    return nullptr;
  }
  bool asked() const { return asked_; }
  bool sensor_known() const { return sensor_known_; }
  const std::string& sensor_id() const { return sensor_id_; }
  const std::string& member_id() const { return member_id_; }

 private:
  const KeyCache& cache_;
  mutable bool asked_ = false;
  mutable bool sensor_known_ = false;
  mutable std::string sensor_id_;
  mutable std::string member_id_;
};

// "Newer" for the upserts below: the incoming observation is at least as recent as the stored.
constexpr const char* kUpsertHost = R"sql(
INSERT INTO hosts (member_id, host, mac, vendor, os_vendor, os_product, os_version, first_seen,
                   last_seen, sensor_id, seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (member_id, host) DO UPDATE SET
  mac = CASE WHEN excluded.mac <> '' AND (excluded.last_seen >= hosts.last_seen OR hosts.mac = '')
        THEN excluded.mac ELSE hosts.mac END,
  vendor = CASE WHEN excluded.vendor <> '' AND
                     (excluded.last_seen >= hosts.last_seen OR hosts.vendor = '')
           THEN excluded.vendor ELSE hosts.vendor END,
  os_vendor = CASE WHEN excluded.os_product <> '' AND
                        (excluded.last_seen >= hosts.last_seen OR hosts.os_product = '')
              THEN excluded.os_vendor ELSE hosts.os_vendor END,
  os_product = CASE WHEN excluded.os_product <> '' AND
                         (excluded.last_seen >= hosts.last_seen OR hosts.os_product = '')
               THEN excluded.os_product ELSE hosts.os_product END,
  os_version = CASE WHEN excluded.os_product <> '' AND
                         (excluded.last_seen >= hosts.last_seen OR hosts.os_product = '')
               THEN excluded.os_version ELSE hosts.os_version END,
  first_seen = CASE WHEN excluded.first_seen < hosts.first_seen
               THEN excluded.first_seen ELSE hosts.first_seen END,
  last_seen = CASE WHEN excluded.last_seen > hosts.last_seen
              THEN excluded.last_seen ELSE hosts.last_seen END,
  sensor_id = CASE WHEN excluded.last_seen >= hosts.last_seen
              THEN excluded.sensor_id ELSE hosts.sensor_id END,
  seq = CASE WHEN excluded.last_seen >= hosts.last_seen THEN excluded.seq ELSE hosts.seq END
)sql";

constexpr const char* kUpsertHostName = R"sql(
INSERT INTO host_names (member_id, host, name, first_seen, last_seen)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (member_id, host, name) DO UPDATE SET
  first_seen = CASE WHEN excluded.first_seen < host_names.first_seen
               THEN excluded.first_seen ELSE host_names.first_seen END,
  last_seen = CASE WHEN excluded.last_seen > host_names.last_seen
              THEN excluded.last_seen ELSE host_names.last_seen END
)sql";

constexpr const char* kUpsertService = R"sql(
INSERT INTO services (member_id, host, port, proto, protocol, exposed, first_seen, last_seen,
                      sensor_id, seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (member_id, host, port, proto) DO UPDATE SET
  protocol = CASE WHEN excluded.protocol <> '' AND
                       (excluded.last_seen >= services.last_seen OR services.protocol = '')
             THEN excluded.protocol ELSE services.protocol END,
  exposed = CASE WHEN excluded.exposed > services.exposed
            THEN excluded.exposed ELSE services.exposed END,
  first_seen = CASE WHEN excluded.first_seen < services.first_seen
               THEN excluded.first_seen ELSE services.first_seen END,
  last_seen = CASE WHEN excluded.last_seen > services.last_seen
              THEN excluded.last_seen ELSE services.last_seen END,
  sensor_id = CASE WHEN excluded.last_seen >= services.last_seen
              THEN excluded.sensor_id ELSE services.sensor_id END,
  seq = CASE WHEN excluded.last_seen >= services.last_seen THEN excluded.seq ELSE services.seq END
)sql";

constexpr const char* kUpsertSoftware = R"sql(
INSERT INTO software (member_id, host, port, role, vendor, product, version, cpe23, raw,
                      first_seen, last_seen, sensor_id, seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (member_id, host, port, role, vendor, product) DO UPDATE SET
  version = CASE WHEN excluded.last_seen >= software.last_seen
            THEN excluded.version ELSE software.version END,
  cpe23 = CASE WHEN excluded.last_seen >= software.last_seen
          THEN excluded.cpe23 ELSE software.cpe23 END,
  raw = CASE WHEN excluded.last_seen >= software.last_seen
        THEN excluded.raw ELSE software.raw END,
  first_seen = CASE WHEN excluded.first_seen < software.first_seen
               THEN excluded.first_seen ELSE software.first_seen END,
  last_seen = CASE WHEN excluded.last_seen > software.last_seen
              THEN excluded.last_seen ELSE software.last_seen END,
  sensor_id = CASE WHEN excluded.last_seen >= software.last_seen
              THEN excluded.sensor_id ELSE software.sensor_id END,
  seq = CASE WHEN excluded.last_seen >= software.last_seen THEN excluded.seq ELSE software.seq END
)sql";

constexpr const char* kInsertEnvelope = R"sql(
INSERT INTO envelopes (sensor_id, seq, member_id, key_id, payload_type, created_at, window_start,
                       window_end, raw_length, compressed_length, payload_sha256, line_count,
                       received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
)sql";

constexpr const char* kInsertGap = R"sql(
INSERT INTO gaps (sensor_id, seq, line_no, member_id, kind, reason, from_seq, to_seq,
                  dropped_batches, received_at, line)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
)sql";

constexpr const char* kInsertRecord = R"sql(
INSERT INTO records (sensor_id, seq, line_no, member_id, type, line)
VALUES ($1, $2, $3, $4, $5, $6)
)sql";

constexpr const char* kInsertFlowService = R"sql(
INSERT INTO flow_services (sensor_id, seq, line_no, member_id, host, port, proto, protocol, flows,
                           internal_flows, bytes_to_server, bytes_to_client, external_peers,
                           external_peers_capped, peer_addresses, first_seen, last_seen)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
)sql";

constexpr const char* kInsertFlowHost = R"sql(
INSERT INTO flow_hosts (sensor_id, seq, line_no, member_id, host, flows_as_client,
                        flows_as_server, unanswered, bytes_sent, bytes_received, external_peers,
                        external_peers_capped, first_seen, last_seen)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
)sql";

constexpr const char* kInsertAlert = R"sql(
INSERT INTO alerts (sensor_id, seq, line_no, member_id, rule_id, rule_version, severity, kind,
                    title, host, port, peer, alert_key, evidence, cves, known_exploited, count,
                    first_seen, last_seen, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20)
)sql";

// The newest line of a sender wins (sequence numbers grow per sensor).
constexpr const char* kUpsertLogSender = R"sql(
INSERT INTO log_senders (sensor_id, sender, member_id, messages, bytes, severities, first_seen,
                         last_seen, quiet, seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (sensor_id, sender) DO UPDATE SET
  member_id = excluded.member_id, messages = excluded.messages, bytes = excluded.bytes,
  severities = excluded.severities, first_seen = excluded.first_seen,
  last_seen = excluded.last_seen, quiet = excluded.quiet, seq = excluded.seq
WHERE excluded.seq >= log_senders.seq
)sql";

constexpr const char* kUpsertHealthLatest = R"sql(
INSERT INTO health_latest (sensor_id, member_id, seq, window_start, window_end, sensor_version,
                           packets, drops, clock_synced, spool_free_bytes, received_at, line)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (sensor_id) DO UPDATE SET
  member_id = excluded.member_id, seq = excluded.seq, window_start = excluded.window_start,
  window_end = excluded.window_end, sensor_version = excluded.sensor_version,
  packets = excluded.packets, drops = excluded.drops, clock_synced = excluded.clock_synced,
  spool_free_bytes = excluded.spool_free_bytes, received_at = excluded.received_at,
  line = excluded.line
WHERE excluded.seq >= health_latest.seq
)sql";

constexpr const char* kInsertHealthHistory = R"sql(
INSERT INTO health_history (sensor_id, seq, line_no, member_id, window_start, window_end,
                            packets_delta, drops_delta, clock_synced, line)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
)sql";

// The bound of health_history: rows older than the newest window_end minus the retention.
constexpr const char* kTrimHealthHistory = R"sql(
DELETE FROM health_history WHERE sensor_id = $1 AND window_end < $2
)sql";

SqlValue Opt(const std::optional<int64_t>& v) {
  return v ? SqlValue(*v) : SqlValue(nullptr);
}
SqlValue OptBool(const std::optional<bool>& v) {
  return v ? SqlValue(int64_t{*v ? 1 : 0}) : SqlValue(nullptr);
}

// Space-separated (addresses and CVE ids contain no spaces; anything else is left out).
std::string JoinWords(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (w.empty() || w.find_first_of(" \t\n") != std::string::npos)
      continue;
    if (!out.empty())
      out.push_back(' ');
    out += w;
  }
  return out;
}
std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = std::min(text.find(' ', pos), text.size());
    if (end > pos)
      out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace

struct Collector::Impl {
  CollectorConfig config;
  std::unique_ptr<Db> db;
  CollectorStats stats;
  KeyCache keys;
  std::chrono::steady_clock::time_point last_reload{};

  Result<> ReloadKeys() {
    auto rows = db->Run(
        "SELECT sensor_id, member_id, public_key, replaced_by FROM sensor_keys "
        "WHERE revoked_at IS NULL");
    if (!rows)
      return Fail(rows.error(), "loading enrolled keys: ");
    KeyCache fresh;
    for (const SqlRow& row : *rows) {
      const auto raw = FromHex(Text(row, 2));
      if (!raw)
        continue;
      auto key = VerifyKey::FromRaw(*raw);
      if (!key)
        continue;
      fresh[Text(row, 0)].push_back(KeyEntry{*key, Text(row, 1), Text(row, 3)});
    }
    keys = std::move(fresh);
    last_reload = std::chrono::steady_clock::now();
    return {};
  }

  // Unknown keys trigger a reload (enrollment by another process), at most once a second so
  // that a flood of unknown senders cannot turn into a flood of queries.
  bool MayReload() const {
    return std::chrono::steady_clock::now() - last_reload >= std::chrono::seconds(1);
  }

  enum class StoreResult { kStored, kDuplicate, kConflict };
  // Effects of the transaction in progress, applied to stats/cache only after the commit.
  struct Pending {
    uint64_t rotations = 0;
    uint64_t rotations_refused = 0;
    bool keys_changed = false;
  };
  Pending pending;
  Result<bool> ApplyKeyRotation(const OpenedEnvelope& env, const std::string& member_id,
                                const collector_internal::KeyRotationLine& rotation, int64_t now);
  Result<StoreResult> Store(const OpenedEnvelope& env, const std::string& member_id,
                            const std::vector<ParsedLine>& lines);
  Result<StoreResult> StoreInTransaction(const OpenedEnvelope& env, const std::string& member_id,
                                         const std::vector<ParsedLine>& lines);
};

Collector::Collector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Collector::~Collector() = default;

Result<std::unique_ptr<Collector>> Collector::Open(const CollectorConfig& config) {
  auto db = collector_internal::OpenDb(config.store_url);
  if (!db)
    return Fail(db.error(), "collector store: ");
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->db = std::move(*db);
  if (auto r = impl->db->ExecScript(std::string(collector_internal::kSchema)); !r) {
    return Fail(r.error(), "collector store schema: ");
  }
  auto version = impl->db->Run("SELECT value FROM collector_meta WHERE name = 'schema_version'");
  if (!version)
    return Fail(version.error(), "collector store: ");
  if (version->empty()) {
    auto r = impl->db->Run("INSERT INTO collector_meta (name, value) VALUES ('schema_version', $1)",
                           {std::string(collector_internal::kSchemaVersion)});
    if (!r)
      return Fail(r.error(), "collector store: ");
  } else if (const std::string found = Text(version->front(), 0);
             found != collector_internal::kSchemaVersion) {
    bool migratable = false;
    for (const std::string_view v : collector_internal::kMigratableSchemaVersions)
      migratable = migratable || found == v;
    if (!migratable) {
      return Fail(ErrorCode::kStore,
                  "collector store has schema version " + found + ", this program reads " +
                      std::string(collector_internal::kSchemaVersion) + " (and migrates 1)");
    }
    // The schema script above created the new tables; the old rows stay as they are.
    auto r = impl->db->Run("UPDATE collector_meta SET value = $1 WHERE name = 'schema_version'",
                           {std::string(collector_internal::kSchemaVersion)});
    if (!r)
      return Fail(r.error(), "collector store: migrating schema " + found + ": ");
  }
  if (auto r = impl->ReloadKeys(); !r)
    return Fail(r.error(), "collector store: ");
  return std::unique_ptr<Collector>(new Collector(std::move(impl)));
}

CollectorStats Collector::stats() const {
  return impl_->stats;
}

IngestOutcome Collector::Ingest(std::span<const uint8_t> envelope) {
  CollectorStats& stats = impl_->stats;
  ++stats.received;
  IngestOutcome out;
  auto reject = [&](std::string reason, std::string message) {
    out.ack = false;
    out.reason = std::move(reason);
    out.message = std::move(message);
    ++stats.rejected;
    ++stats.rejected_by_reason[out.reason];
    return out;
  };

  const OpenLimits limits{impl_->config.max_envelope_bytes, impl_->config.max_raw_bytes};
  RejectReason reason = RejectReason::kNone;
  auto lookup = std::make_unique<CacheKeyLookup>(impl_->keys);
  auto opened = OpenEnvelope(envelope, *lookup, limits, &reason);
  if (!opened && reason == RejectReason::kUnknownKey && impl_->MayReload() && impl_->ReloadKeys()) {
    lookup = std::make_unique<CacheKeyLookup>(impl_->keys);
    opened = OpenEnvelope(envelope, *lookup, limits, &reason);
  }
  if (lookup->asked())
    out.sensor_id = lookup->sensor_id();
  if (!opened) {
    std::string name =
        reason == RejectReason::kNone ? "open_failed" : std::string(RejectReasonName(reason));
    if (reason == RejectReason::kUnknownKey && !lookup->sensor_known())
      name = "unknown_sensor";
    return reject(name, opened.error().message);
  }
  const OpenedEnvelope& env = *opened;
  out.sensor_id = env.fields.sensor_id;
  out.sequence = env.fields.sequence;
  if (env.fields.sequence > static_cast<uint64_t>(INT64_MAX)) {
    return reject("malformed_header", "sequence above 2^63-1 cannot be stored");
  }

  std::string why;
  auto lines = collector_internal::ParseSummaryLines(env.json_lines, env.fields.window_start_us,
                                                     env.fields.window_end_us, &why);
  if (!lines)
    return reject("bad_payload", "payload: " + why);

  auto stored = impl_->Store(env, lookup->member_id(), *lines);
  if (!stored)
    return reject("store_error", stored.error().message);
  switch (*stored) {
    case Impl::StoreResult::kDuplicate:
      ++stats.duplicates;
      out.ack = true;
      out.duplicate = true;
      out.message = "duplicate, stored before";
      return out;
    case Impl::StoreResult::kConflict:
      return reject("replay_different_content", "sequence " + std::to_string(env.fields.sequence) +
                                                    " of sensor " + env.fields.sensor_id +
                                                    " was stored before with other content");
    case Impl::StoreResult::kStored:
      break;
  }
  ++stats.stored;
  stats.key_rotations += impl_->pending.rotations;
  stats.key_rotations_refused += impl_->pending.rotations_refused;
  if (impl_->pending.keys_changed)
    (void)impl_->ReloadKeys();
  for (const ParsedLine& line : *lines) {
    ++stats.lines_stored;
    if (!line.recognised)
      ++stats.lines_unrecognised;
  }
  out.ack = true;
  return out;
}

Result<Collector::Impl::StoreResult> Collector::Impl::Store(const OpenedEnvelope& env,
                                                            const std::string& member_id,
                                                            const std::vector<ParsedLine>& lines) {
  pending = Pending{};
  db->DiscardQueue();
  if (auto r = db->Begin(); !r) {
    (void)db->Rollback();
    return Fail(r.error(), "");
  }
  auto result = StoreInTransaction(env, member_id, lines);
  if (!result || *result != StoreResult::kStored) {
    (void)db->Rollback();
    return result;
  }
  if (auto r = db->Commit(); !r) {
    (void)db->Rollback();
    return Fail(r.error(), "commit: ");
  }
  return result;
}

Result<Collector::Impl::StoreResult> Collector::Impl::StoreInTransaction(
    const OpenedEnvelope& env, const std::string& member_id, const std::vector<ParsedLine>& lines) {
  const std::string& sensor = env.fields.sensor_id;
  const auto seq = static_cast<int64_t>(env.fields.sequence);
  const std::string payload_hash = ToHex(env.payload_sha256);
  const std::string payload_type(PayloadTypeName(env.fields.payload_type));

  auto existing = db->Run(
      "SELECT payload_sha256, payload_type FROM envelopes WHERE sensor_id = $1 AND seq = $2",
      {sensor, seq});
  if (!existing)
    return Fail(existing.error(), "");
  if (!existing->empty()) {
    const SqlRow& row = existing->front();
    return Text(row, 0) == payload_hash && Text(row, 1) == payload_type ? StoreResult::kDuplicate
                                                                        : StoreResult::kConflict;
  }
  const int64_t now = NowUs();
  auto ins =
      db->Run(kInsertEnvelope,
              {sensor, seq, member_id, ToHex(env.key_id), payload_type, env.fields.created_at_us,
               env.fields.window_start_us, env.fields.window_end_us,
               static_cast<int64_t>(env.raw_length), static_cast<int64_t>(env.compressed_length),
               payload_hash, static_cast<int64_t>(lines.size()), now});
  if (!ins)
    return Fail(ins.error(), "");

  // The first envelope signed with a key that a rotation announced retires the old key.
  const std::string key_id = ToHex(env.key_id);
  if (const auto it = keys.find(sensor); it != keys.end()) {
    for (const KeyEntry& entry : it->second) {
      if (entry.replaced_by != key_id)
        continue;
      auto r = db->Run(
          "UPDATE sensor_keys SET revoked_at = $3 WHERE sensor_id = $1 AND replaced_by = $2 "
          "AND revoked_at IS NULL",
          {sensor, key_id, now});
      if (!r)
        return Fail(r.error(), "retiring the rotated key: ");
      pending.keys_changed = true;
      break;
    }
  }

  int64_t line_no = 0;
  for (const ParsedLine& line : lines) {
    ++line_no;
    switch (line.kind) {
      case LineKind::kHost: {
        const auto& h = line.host;
        db->Queue(kUpsertHost, {member_id, h.host, h.mac, h.vendor, h.os_vendor, h.os_product,
                                h.os_version, h.first_seen, h.last_seen, sensor, seq});
        for (const std::string& name : h.names) {
          db->Queue(kUpsertHostName, {member_id, h.host, name, h.first_seen, h.last_seen});
        }
        break;
      }
      case LineKind::kService: {
        const auto& s = line.service;
        db->Queue(kUpsertService,
                  {member_id, s.host, s.port, s.proto, s.protocol, int64_t{s.exposed ? 1 : 0},
                   s.first_seen, s.last_seen, sensor, seq});
        break;
      }
      case LineKind::kSoftware: {
        const auto& s = line.software;
        db->Queue(kUpsertSoftware,
                  {member_id, s.host, s.port, s.role, s.vendor, s.product, s.version, s.cpe23,
                   s.raw, s.first_seen, s.last_seen, sensor, seq});
        break;
      }
      case LineKind::kGap: {
        const auto& g = line.gap;
        db->Queue(kInsertGap, {sensor, seq, line_no, member_id, g.kind, g.reason, Opt(g.from_seq),
                               Opt(g.to_seq), Opt(g.dropped_batches), now, std::string(line.text)});
        break;
      }
      case LineKind::kKeyRotation: {
        if (auto flushed = db->Flush(); !flushed)  // reads follow: nothing may stay queued
          return Fail(flushed.error(), "storing lines: ");
        auto applied = ApplyKeyRotation(env, member_id, line.rotation, now);
        if (!applied)
          return Fail(applied.error(), "key rotation: ");
        ++(*applied ? pending.rotations : pending.rotations_refused);
        pending.keys_changed = pending.keys_changed || *applied;
        db->Queue(kInsertRecord,
                  {sensor, seq, line_no, member_id, line.type, std::string(line.text)});
        break;
      }
      case LineKind::kFlowService: {
        const auto& f = line.flow_service;
        db->Queue(kInsertFlowService,
                  {sensor, seq, line_no, member_id, f.host, f.port, f.proto, f.protocol, f.flows,
                   f.internal_flows, f.bytes_to_server, f.bytes_to_client, f.external_peers,
                   int64_t{f.external_peers_capped ? 1 : 0}, JoinWords(f.peer_addresses),
                   f.first_seen, f.last_seen});
        break;
      }
      case LineKind::kFlowHost: {
        const auto& f = line.flow_host;
        db->Queue(kInsertFlowHost,
                  {sensor, seq, line_no, member_id, f.host, f.flows_as_client, f.flows_as_server,
                   f.unanswered, f.bytes_sent, f.bytes_received, f.external_peers,
                   int64_t{f.external_peers_capped ? 1 : 0}, f.first_seen, f.last_seen});
        break;
      }
      case LineKind::kAlert: {
        const auto& a = line.alert;
        db->Queue(kInsertAlert,
                  {sensor, seq, line_no, member_id, a.rule_id, a.rule_version, a.severity, a.kind,
                   a.title, a.host, a.port, a.peer, a.key, a.evidence, JoinWords(a.cves),
                   int64_t{a.known_exploited ? 1 : 0}, a.count, a.first_seen, a.last_seen, now});
        break;
      }
      case LineKind::kLogSender: {
        const auto& l = line.log_sender;
        db->Queue(kUpsertLogSender, {sensor, l.sender, member_id, l.messages, l.bytes,
                                     l.severities, l.first_seen, l.last_seen,
                                     int64_t{l.quiet ? 1 : 0}, seq});
        break;
      }
      case LineKind::kHealth: {
        const auto& h = line.health;
        const std::string text(line.text);
        db->Queue(kUpsertHealthLatest,
                  {sensor, member_id, seq, env.fields.window_start_us, env.fields.window_end_us,
                   h.sensor_version, Opt(h.packets), Opt(h.drops), OptBool(h.clock_synced),
                   Opt(h.spool_free_bytes), now, text});
        db->Queue(kInsertHealthHistory,
                  {sensor, seq, line_no, member_id, env.fields.window_start_us,
                   env.fields.window_end_us, Opt(h.packets_delta), Opt(h.drops_delta),
                   OptBool(h.clock_synced), text});
        db->Queue(kTrimHealthHistory,
                  {sensor, env.fields.window_end_us - config.health_history_us});
        break;
      }
      case LineKind::kOther:
        db->Queue(kInsertRecord,
                  {sensor, seq, line_no, member_id, line.type.empty() ? payload_type : line.type,
                   std::string(line.text)});
        break;
    }
  }
  if (auto r = db->Flush(); !r)
    return Fail(r.error(), "storing lines: ");
  return StoreResult::kStored;
}

// Enrolls the key a verified key_rotation line announces. false: the line does not verify (wrong
// old key id, bad key or signature); true: enrolled now, or already known (idempotent).
Result<bool> Collector::Impl::ApplyKeyRotation(const OpenedEnvelope& env,
                                               const std::string& member_id,
                                               const collector_internal::KeyRotationLine& rotation,
                                               int64_t now) {
  if (rotation.old_key_id != ToHex(env.key_id))
    return false;
  const auto raw = FromHex(rotation.new_public_key);
  const auto signature = FromHex(rotation.new_key_signature);
  if (!raw || !signature || signature->size() != kEd25519SignatureSize)
    return false;
  auto new_key = VerifyKey::FromRaw(*raw);
  if (!new_key)
    return false;
  if (!new_key->Verify(KeyRotationMessage(env.fields.sensor_id, env.key_id, *new_key),
                       *signature)) {
    return false;
  }
  const std::string new_id = ToHex(new_key->key_id());
  if (new_id == rotation.old_key_id)
    return false;
  auto existing = db->Run("SELECT key_id FROM sensor_keys WHERE sensor_id = $1 AND key_id = $2",
                          {env.fields.sensor_id, new_id});
  if (!existing)
    return Fail(existing.error(), "");
  if (!existing->empty())
    return true;  // a resend, or enrolled by the operator already
  auto ins = db->Run(
      "INSERT INTO sensor_keys (sensor_id, key_id, member_id, public_key, fingerprint, "
      "enrolled_at) VALUES ($1, $2, $3, $4, $5, $6)",
      {env.fields.sensor_id, new_id, member_id, ToHex(new_key->raw()), new_key->Fingerprint(),
       now});
  if (!ins)
    return Fail(ins.error(), "");
  auto upd = db->Run("UPDATE sensor_keys SET replaced_by = $3 WHERE sensor_id = $1 AND key_id = $2",
                     {env.fields.sensor_id, rotation.old_key_id, new_id});
  if (!upd)
    return Fail(upd.error(), "");
  return true;
}

Result<EnrolledKey> Collector::Enroll(const std::string& member_id, const std::string& sensor_id,
                                      const VerifyKey& key, bool replace) {
  if (!ValidId(member_id)) {
    return Fail(ErrorCode::kInvalidArgument,
                "member id '" + member_id + "': 1..64 characters of [A-Za-z0-9._-]");
  }
  if (!ValidId(sensor_id)) {
    return Fail(ErrorCode::kInvalidArgument,
                "sensor id '" + sensor_id + "': 1..64 characters of [A-Za-z0-9._-]");
  }
  Db& d = *impl_->db;
  const std::string key_id = ToHex(key.key_id());
  EnrolledKey entry{member_id, sensor_id, key_id, key.Fingerprint(), NowUs(), std::nullopt, ""};
  auto run = [&]() -> Result<bool> {  // true: inserted, false: already there
    auto rows = d.Run(
        "SELECT member_id, key_id, revoked_at, enrolled_at FROM sensor_keys WHERE sensor_id = $1",
        {sensor_id});
    if (!rows)
      return Fail(rows.error(), "");
    bool other_active = false;
    for (const SqlRow& row : *rows) {
      if (Text(row, 0) != member_id) {
        return Fail(ErrorCode::kRejected, "sensor " + sensor_id + " is enrolled for member " +
                                              Text(row, 0) + ", not " + member_id);
      }
      const bool revoked = OptInt(row, 2).has_value();
      if (Text(row, 1) == key_id) {
        if (revoked) {
          return Fail(ErrorCode::kRejected, "key " + entry.fingerprint + " of sensor " + sensor_id +
                                                " was revoked; it stays revoked");
        }
        entry.enrolled_at_us = Int(row, 3);
        return false;
      }
      if (!revoked)
        other_active = true;
    }
    if (other_active && !replace) {
      return Fail(ErrorCode::kRejected,
                  "sensor " + sensor_id + " already has an enrolled key; --replace revokes it");
    }
    if (other_active) {
      auto r = d.Run(
          "UPDATE sensor_keys SET revoked_at = $2 WHERE sensor_id = $1 AND revoked_at IS NULL",
          {sensor_id, entry.enrolled_at_us});
      if (!r)
        return Fail(r.error(), "");
    }
    auto r = d.Run(
        "INSERT INTO sensor_keys (sensor_id, key_id, member_id, public_key, fingerprint, "
        "enrolled_at) VALUES ($1, $2, $3, $4, $5, $6)",
        {sensor_id, key_id, member_id, ToHex(key.raw()), entry.fingerprint, entry.enrolled_at_us});
    if (!r)
      return Fail(r.error(), "");
    return true;
  };
  if (auto r = d.Begin(); !r)
    return Fail(r.error(), "enroll: ");
  auto inserted = run();
  if (!inserted) {
    (void)d.Rollback();
    return Fail(inserted.error(), "enroll: ");
  }
  if (auto r = d.Commit(); !r) {
    (void)d.Rollback();
    return Fail(r.error(), "enroll: ");
  }
  if (auto r = impl_->ReloadKeys(); !r)
    return Fail(r.error(), "enroll: ");
  return entry;
}

Result<std::vector<EnrolledKey>> Collector::Keys() {
  auto rows = impl_->db->Run(
      "SELECT member_id, sensor_id, key_id, fingerprint, enrolled_at, revoked_at, replaced_by "
      "FROM sensor_keys ORDER BY member_id, sensor_id, enrolled_at, key_id");
  if (!rows)
    return Fail(rows.error(), "keys: ");
  std::vector<EnrolledKey> keys;
  for (const SqlRow& row : *rows) {
    keys.push_back(EnrolledKey{Text(row, 0), Text(row, 1), Text(row, 2), Text(row, 3), Int(row, 4),
                               OptInt(row, 5), Text(row, 6)});
  }
  return keys;
}

Result<std::vector<SoftwareRow>> Collector::QuerySoftware(const SoftwareQuery& query) {
  if (query.product.empty())
    return Fail(ErrorCode::kInvalidArgument, "query software: no product");
  std::string sql =
      "SELECT member_id, host, port, role, vendor, product, version, cpe23, raw, first_seen, "
      "last_seen, sensor_id FROM software WHERE LOWER(product) = $1";
  if (!query.vendor.empty())
    sql += " AND LOWER(vendor) = $2";
  sql += " ORDER BY member_id, host, port, role, vendor";
  auto rows = query.vendor.empty()
                  ? impl_->db->Run(sql, {Lower(query.product)})
                  : impl_->db->Run(sql, {Lower(query.product), Lower(query.vendor)});
  if (!rows)
    return Fail(rows.error(), "query software: ");
  std::vector<SoftwareRow> result;
  for (const SqlRow& row : *rows) {
    SoftwareRow s{Text(row, 0), Text(row, 1), static_cast<int>(Int(row, 2)),
                  Text(row, 3), Text(row, 4), Text(row, 5),
                  Text(row, 6), Text(row, 7), Text(row, 8),
                  Int(row, 9),  Int(row, 10), Text(row, 11)};
    if (!query.version_below.empty()) {
      if (s.version.empty())
        continue;  // an unknown version proves nothing
      const rules::VersionScheme scheme =
          rules::GuessScheme(!s.cpe23.empty() ? s.cpe23 : s.vendor + ":" + s.product);
      if (rules::CompareVersions(s.version, query.version_below, scheme) >= 0)
        continue;
    }
    result.push_back(std::move(s));
  }
  return result;
}

Result<std::vector<HostRow>> Collector::QueryHosts(const std::string& member_id) {
  Db& d = *impl_->db;
  auto hosts = d.Run(
      "SELECT host, mac, vendor, os_vendor, os_product, os_version, first_seen, last_seen "
      "FROM hosts WHERE member_id = $1",
      {member_id});
  if (!hosts)
    return Fail(hosts.error(), "query hosts: ");
  std::map<std::string, HostRow> by_host;
  for (const SqlRow& row : *hosts) {
    HostRow h;
    h.member_id = member_id;
    h.host = Text(row, 0);
    h.mac = Text(row, 1);
    h.vendor = Text(row, 2);
    h.os_vendor = Text(row, 3);
    h.os_product = Text(row, 4);
    h.os_version = Text(row, 5);
    h.first_seen_us = Int(row, 6);
    h.last_seen_us = Int(row, 7);
    by_host.emplace(h.host, std::move(h));
  }
  auto names = d.Run(
      "SELECT host, name FROM host_names WHERE member_id = $1 ORDER BY host, first_seen, name",
      {member_id});
  if (!names)
    return Fail(names.error(), "query hosts: ");
  for (const SqlRow& row : *names) {
    auto it = by_host.find(Text(row, 0));
    if (it != by_host.end())
      it->second.names.push_back(Text(row, 1));
  }
  auto services = d.Run(
      "SELECT host, port, proto, protocol, exposed, first_seen, last_seen FROM services "
      "WHERE member_id = $1 ORDER BY host, port, proto",
      {member_id});
  if (!services)
    return Fail(services.error(), "query hosts: ");
  for (const SqlRow& row : *services) {
    ServiceRow s{Text(row, 0),     static_cast<int>(Int(row, 1)),
                 Text(row, 2),     Text(row, 3),
                 Int(row, 4) != 0, Int(row, 5),
                 Int(row, 6)};
    HostRow& h = by_host[s.host];
    if (h.host.empty()) {  // a service of a host that no host line described
      h.member_id = member_id;
      h.host = s.host;
      h.first_seen_us = s.first_seen_us;
      h.last_seen_us = s.last_seen_us;
    }
    h.services.push_back(std::move(s));
  }
  std::vector<HostRow> result;
  result.reserve(by_host.size());
  for (auto& [host, row] : by_host)
    result.push_back(std::move(row));
  return result;
}

Result<std::vector<GapRow>> Collector::QueryGaps() {
  auto rows = impl_->db->Run(
      "SELECT member_id, sensor_id, seq, kind, reason, from_seq, to_seq, dropped_batches, "
      "received_at, line FROM gaps ORDER BY member_id, sensor_id, seq, line_no");
  if (!rows)
    return Fail(rows.error(), "query gaps: ");
  std::vector<GapRow> result;
  for (const SqlRow& row : *rows) {
    result.push_back(GapRow{Text(row, 0), Text(row, 1), static_cast<uint64_t>(Int(row, 2)),
                            Text(row, 3), Text(row, 4), OptInt(row, 5), OptInt(row, 6),
                            OptInt(row, 7), Int(row, 8), Text(row, 9)});
  }
  return result;
}

Result<std::vector<AlertRow>> Collector::QueryAlerts(const AlertQuery& query) {
  std::string sql =
      "SELECT member_id, sensor_id, rule_id, rule_version, severity, kind, title, host, port, "
      "peer, evidence, cves, known_exploited, count, first_seen, last_seen FROM alerts "
      "WHERE last_seen >= $1";
  if (!query.member_id.empty())
    sql += " AND member_id = $2";
  sql += " ORDER BY last_seen DESC, member_id, sensor_id, seq, line_no";
  auto rows = query.member_id.empty() ? impl_->db->Run(sql, {query.since_us})
                                      : impl_->db->Run(sql, {query.since_us, query.member_id});
  if (!rows)
    return Fail(rows.error(), "query alerts: ");
  std::vector<AlertRow> result;
  result.reserve(rows->size());
  for (const SqlRow& row : *rows) {
    AlertRow a;
    a.member_id = Text(row, 0);
    a.sensor_id = Text(row, 1);
    a.rule_id = Text(row, 2);
    a.rule_version = static_cast<int>(Int(row, 3));
    a.severity = Text(row, 4);
    a.kind = Text(row, 5);
    a.title = Text(row, 6);
    a.host = Text(row, 7);
    a.port = static_cast<int>(Int(row, 8));
    a.peer = Text(row, 9);
    a.evidence = Text(row, 10);
    a.cves = SplitWords(Text(row, 11));
    a.known_exploited = Int(row, 12) != 0;
    a.count = Int(row, 13);
    a.first_seen_us = Int(row, 14);
    a.last_seen_us = Int(row, 15);
    result.push_back(std::move(a));
  }
  return result;
}

Result<std::vector<HealthRow>> Collector::QueryHealth() {
  auto rows = impl_->db->Run(
      "SELECT member_id, sensor_id, seq, window_end, received_at, sensor_version, packets, drops, "
      "clock_synced, spool_free_bytes, line FROM health_latest ORDER BY member_id, sensor_id");
  if (!rows)
    return Fail(rows.error(), "query health: ");
  std::vector<HealthRow> result;
  result.reserve(rows->size());
  for (const SqlRow& row : *rows) {
    HealthRow h;
    h.member_id = Text(row, 0);
    h.sensor_id = Text(row, 1);
    h.sequence = static_cast<uint64_t>(Int(row, 2));
    h.window_end_us = Int(row, 3);
    h.received_at_us = Int(row, 4);
    h.sensor_version = Text(row, 5);
    h.packets = OptInt(row, 6);
    h.drops = OptInt(row, 7);
    if (const auto synced = OptInt(row, 8))
      h.clock_synced = *synced != 0;
    h.spool_free_bytes = OptInt(row, 9);
    h.line = Text(row, 10);
    result.push_back(std::move(h));
  }
  return result;
}

namespace internal {
void CollectorTestPeer::SetStatementHook(Collector& collector,
                                         collector_internal::StatementHook hook) {
  collector.impl_->db->set_statement_hook(std::move(hook));
}
}  // namespace internal

}  // namespace uplink
