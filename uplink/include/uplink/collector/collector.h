// The collector's library: verifies envelopes from enrolled sensors, stores them idempotently
// keyed by (sensor id, sequence) in SQLite or PostgreSQL, and answers the analysts' queries.
// The store's tables are specified in docs/formats.md ("Collector store"); the summary payload
// lines it understands in docs/formats.md ("Summary payloads").
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rules/result.h"
#include "uplink/keys.h"

namespace uplink {

struct CollectorConfig {
  // "sqlite:///absolute/path.db", "sqlite://relative/path.db" or a libpq URI
  // "postgresql://user@host:port/db" (also "postgres://").
  std::string store_url = "sqlite:///var/lib/utkikk-collector/collector.db";
  size_t max_envelope_bytes = size_t{16} << 20;  // whole envelope
  size_t max_raw_bytes = size_t{64} << 20;       // claimed decompressed payload
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 9999;
  std::string tls_cert;  // the collector's server certificate (PEM)
  std::string tls_key;   // its private key (PEM)
  std::string tls_ca;    // the CA that signs sensor client certificates (PEM)
  // health_history keeps this much sensor time per sensor (older rows are deleted on insert);
  // health_latest keeps the newest line of each sensor.
  int64_t health_history_us = int64_t{7} * 24 * 3600 * 1'000'000;
  // Where `utkikk-collector rules publish` installs the signed rule bundle that is offered to
  // every uplink (the layout of uplink/rule_bundle.h: current + v<N>/).
  std::string rules_bundle_dir = "/var/lib/utkikk-collector/rules";
};

// Reads the collector's YAML file (keys as in docs/analysts-guide.md). Unknown keys and bad
// values fail with "file:line:column: message" (ErrorCode::kConfig).
rules::Result<CollectorConfig> LoadCollectorConfig(const std::string& path);
rules::Result<CollectorConfig> ParseCollectorConfig(std::string_view yaml, const std::string& name);

// What became of one envelope.
struct IngestOutcome {
  // True: stored now, or already stored identically (duplicate): the sender may delete its copy.
  bool ack = false;
  bool duplicate = false;
  std::string sensor_id;  // "" when the envelope did not get far enough to say
  uint64_t sequence = 0;
  // "" when acked; else a RejectReason name (uplink/envelope.h), "unknown_sensor",
  // "replay_different_content", "bad_payload" or "store_error".
  std::string reason;
  std::string message;  // one line for the log
};

struct CollectorStats {
  uint64_t received = 0;    // Ingest calls
  uint64_t stored = 0;      // envelopes committed
  uint64_t duplicates = 0;  // identical resends, acked again, stored once
  uint64_t rejected = 0;    // not acked (sum of rejected_by_reason)
  uint64_t lines_stored = 0;
  uint64_t lines_unrecognised = 0;     // lines of a known type missing fields: kept as raw records
  uint64_t key_rotations = 0;          // key_rotation lines that enrolled a new key
  uint64_t key_rotations_refused = 0;  // key_rotation lines that did not verify (kept as records)
  std::map<std::string, uint64_t> rejected_by_reason;
};

// An enrolled sensor key.
struct EnrolledKey {
  std::string member_id;
  std::string sensor_id;
  std::string key_id;       // hex of the 16-byte key id
  std::string fingerprint;  // "SHA256:..." (VerifyKey::Fingerprint)
  int64_t enrolled_at_us = 0;
  std::optional<int64_t> revoked_at_us;
  std::string replaced_by;  // key id (hex) that a key_rotation named as successor, or ""
};

struct SoftwareQuery {
  std::string product;        // required, case-insensitive exact match
  std::string vendor;         // optional, case-insensitive exact match
  std::string version_below;  // optional: only versions that compare lower (rules/version.h)
};

struct SoftwareRow {
  std::string member_id;
  std::string host;
  int port = 0;
  std::string role;
  std::string vendor;
  std::string product;
  std::string version;
  std::string cpe23;
  std::string raw;
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
  std::string sensor_id;
};

struct ServiceRow {
  std::string host;
  int port = 0;
  std::string proto;     // "tcp", "udp", ...
  std::string protocol;  // "ssh", "ssl", ... ("" when unidentified)
  bool exposed = false;
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
};

struct HostRow {
  std::string member_id;
  std::string host;
  std::string mac;
  std::string vendor;
  std::vector<std::string> names;
  std::string os_vendor;
  std::string os_product;
  std::string os_version;
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
  std::vector<ServiceRow> services;
};

struct GapRow {
  std::string member_id;
  std::string sensor_id;
  uint64_t sequence = 0;  // the envelope that reported the gap
  std::string kind;       // "gap", or the spool's "spool_drop"
  std::string reason;
  std::optional<int64_t> from_seq;
  std::optional<int64_t> to_seq;
  std::optional<int64_t> dropped_batches;
  int64_t received_at_us = 0;
  std::string line;  // the JSON line as received
};

struct AlertQuery {
  std::string member_id;  // "" = every member
  int64_t since_us = 0;   // only alerts whose last_seen is at or after this time (0 = all)
};

// One alert line as stored (docs/formats.md, "alert").
struct AlertRow {
  std::string member_id;
  std::string sensor_id;
  std::string rule_id;
  int rule_version = 1;
  std::string severity;  // "info" ... "critical"
  std::string kind;      // "software", "policy", "indicator", ...
  std::string title;
  std::string host;      // the host the alert is about
  int port = 0;
  std::string peer;      // the other side of a flow ("" for facts)
  std::string evidence;
  std::vector<std::string> cves;
  bool known_exploited = false;
  int64_t count = 1;
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
};

// The newest health line of a sensor.
struct HealthRow {
  std::string member_id;
  std::string sensor_id;
  uint64_t sequence = 0;
  int64_t window_end_us = 0;  // sensor time the line covers up to
  int64_t received_at_us = 0;
  std::string sensor_version;
  std::optional<int64_t> packets;  // cumulative capture counters
  std::optional<int64_t> drops;
  std::optional<bool> clock_synced;
  std::optional<int64_t> spool_free_bytes;
  std::string line;  // the JSON line as received (every member, free-form ones too)
};

namespace internal {
struct CollectorTestPeer;
}

// Verifies and stores envelopes; enrolls keys; answers queries. Owns its store connection.
// Thread-compatible: one Collector per process, used from one thread at a time.
class Collector {
 public:
  static rules::Result<std::unique_ptr<Collector>> Open(const CollectorConfig& config);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Verifies the envelope, stores it idempotently in one transaction and decides the ack: ack
  // only after the store committed (or for an identical duplicate). Never throws or crashes on
  // hostile input; a rejection is counted by reason.
  IngestOutcome Ingest(std::span<const uint8_t> envelope);
  CollectorStats stats() const;

  // Enrolls `key` for `sensor_id` of member `member_id` and returns what was stored. A sensor id
  // belongs to one member. A second, different key for an enrolled sensor is refused unless
  // `replace` is set, which revokes the sensor's other keys (operator-driven rotation).
  // Enrolling the same key again is a no-op that returns the stored entry.
  rules::Result<EnrolledKey> Enroll(const std::string& member_id, const std::string& sensor_id,
                                    const VerifyKey& key, bool replace = false);
  rules::Result<std::vector<EnrolledKey>> Keys();

  rules::Result<std::vector<SoftwareRow>> QuerySoftware(const SoftwareQuery& query);
  // All hosts (with their services) of a member, ordered by address text.
  rules::Result<std::vector<HostRow>> QueryHosts(const std::string& member_id);
  rules::Result<std::vector<GapRow>> QueryGaps();
  // Alerts, newest last_seen first.
  rules::Result<std::vector<AlertRow>> QueryAlerts(const AlertQuery& query);
  // The latest health line of every sensor that sent one, by member and sensor.
  rules::Result<std::vector<HealthRow>> QueryHealth();

 private:
  friend struct internal::CollectorTestPeer;
  struct Impl;
  explicit Collector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The network loop of `utkikk-collector run` (Broker over mutual TLS): receives envelopes,
// calls Collector::Ingest and acknowledges. Defined by the transport component
// (uplink/src/transport/collector_daemon.cc), not by uplink_collector. Returns the exit code.
int RunCollectorDaemon(const CollectorConfig& config);

}  // namespace uplink
