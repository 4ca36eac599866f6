// The collector store's schema, one text for SQLite and PostgreSQL (docs/formats.md,
// "Collector store"). Every statement is idempotent, so it runs on every open.
//
// Versions: 1 = inventory, gaps, records; 2 = adds flow_services, flow_hosts, alerts,
// log_senders, health_latest, health_history. 1 -> 2 needs nothing but the new tables (which the
// script creates), so Collector::Open migrates by updating collector_meta; lines a version-1
// store kept as raw `records` stay there.
#pragma once

#include <string_view>

namespace uplink::collector_internal {

inline constexpr std::string_view kSchemaVersion = "2";
// Versions Collector::Open upgrades to kSchemaVersion by running kSchema.
inline constexpr std::string_view kMigratableSchemaVersions[] = {"1"};

inline constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS collector_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sensor_keys (
  sensor_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  public_key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  enrolled_at BIGINT NOT NULL,
  revoked_at BIGINT,
  replaced_by TEXT,
  PRIMARY KEY (sensor_id, key_id)
);
CREATE TABLE IF NOT EXISTS envelopes (
  sensor_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  member_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  payload_type TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  window_start BIGINT NOT NULL,
  window_end BIGINT NOT NULL,
  raw_length BIGINT NOT NULL,
  compressed_length BIGINT NOT NULL,
  payload_sha256 TEXT NOT NULL,
  line_count BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (sensor_id, seq)
);
CREATE TABLE IF NOT EXISTS hosts (
  member_id TEXT NOT NULL,
  host TEXT NOT NULL,
  mac TEXT NOT NULL,
  vendor TEXT NOT NULL,
  os_vendor TEXT NOT NULL,
  os_product TEXT NOT NULL,
  os_version TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  sensor_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (member_id, host)
);
CREATE TABLE IF NOT EXISTS host_names (
  member_id TEXT NOT NULL,
  host TEXT NOT NULL,
  name TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (member_id, host, name)
);
CREATE TABLE IF NOT EXISTS services (
  member_id TEXT NOT NULL,
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  proto TEXT NOT NULL,
  protocol TEXT NOT NULL,
  exposed INTEGER NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  sensor_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (member_id, host, port, proto)
);
CREATE TABLE IF NOT EXISTS software (
  member_id TEXT NOT NULL,
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  role TEXT NOT NULL,
  vendor TEXT NOT NULL,
  product TEXT NOT NULL,
  version TEXT NOT NULL,
  cpe23 TEXT NOT NULL,
  raw TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  sensor_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (member_id, host, port, role, vendor, product)
);
CREATE INDEX IF NOT EXISTS software_product ON software (product);
CREATE INDEX IF NOT EXISTS software_product_lower ON software (LOWER(product));
CREATE TABLE IF NOT EXISTS gaps (
  sensor_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  line_no INTEGER NOT NULL,
  member_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  reason TEXT NOT NULL,
  from_seq BIGINT,
  to_seq BIGINT,
  dropped_batches BIGINT,
  received_at BIGINT NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (sensor_id, seq, line_no)
);
CREATE TABLE IF NOT EXISTS flow_services (
  sensor_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  line_no INTEGER NOT NULL,
  member_id TEXT NOT NULL,
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  proto TEXT NOT NULL,
  protocol TEXT NOT NULL,
  flows BIGINT NOT NULL,
  internal_flows BIGINT NOT NULL,
  bytes_to_server BIGINT NOT NULL,
  bytes_to_client BIGINT NOT NULL,
  external_peers BIGINT NOT NULL,
  external_peers_capped INTEGER NOT NULL,
  peer_addresses TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (sensor_id, seq, line_no)
);
CREATE INDEX IF NOT EXISTS flow_services_host ON flow_services (member_id, host, port);
CREATE TABLE IF NOT EXISTS flow_hosts (
  sensor_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  line_no INTEGER NOT NULL,
  member_id TEXT NOT NULL,
  host TEXT NOT NULL,
  flows_as_client BIGINT NOT NULL,
  flows_as_server BIGINT NOT NULL,
  unanswered BIGINT NOT NULL,
  bytes_sent BIGINT NOT NULL,
  bytes_received BIGINT NOT NULL,
  external_peers BIGINT NOT NULL,
  external_peers_capped INTEGER NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (sensor_id, seq, line_no)
);
CREATE INDEX IF NOT EXISTS flow_hosts_host ON flow_hosts (member_id, host);
CREATE TABLE IF NOT EXISTS alerts (
  sensor_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  line_no INTEGER NOT NULL,
  member_id TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  rule_version INTEGER NOT NULL,
  severity TEXT NOT NULL,
  kind TEXT NOT NULL,
  title TEXT NOT NULL,
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  peer TEXT NOT NULL,
  alert_key TEXT NOT NULL,
  evidence TEXT NOT NULL,
  cves TEXT NOT NULL,
  known_exploited INTEGER NOT NULL,
  count BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (sensor_id, seq, line_no)
);
CREATE INDEX IF NOT EXISTS alerts_member_seen ON alerts (member_id, last_seen);
CREATE INDEX IF NOT EXISTS alerts_seen ON alerts (last_seen);
CREATE TABLE IF NOT EXISTS log_senders (
  sensor_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  member_id TEXT NOT NULL,
  messages BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  severities TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  quiet INTEGER NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (sensor_id, sender)
);
CREATE TABLE IF NOT EXISTS health_latest (
  sensor_id TEXT PRIMARY KEY,
  member_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  window_start BIGINT NOT NULL,
  window_end BIGINT NOT NULL,
  sensor_version TEXT NOT NULL,
  packets BIGINT,
  drops BIGINT,
  clock_synced INTEGER,
  spool_free_bytes BIGINT,
  received_at BIGINT NOT NULL,
  line TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS health_history (
  sensor_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  line_no INTEGER NOT NULL,
  member_id TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  window_end BIGINT NOT NULL,
  packets_delta BIGINT,
  drops_delta BIGINT,
  clock_synced INTEGER,
  line TEXT NOT NULL,
  PRIMARY KEY (sensor_id, seq, line_no)
);
CREATE INDEX IF NOT EXISTS health_history_end ON health_history (sensor_id, window_end);
CREATE TABLE IF NOT EXISTS records (
  sensor_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  line_no INTEGER NOT NULL,
  member_id TEXT NOT NULL,
  type TEXT NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (sensor_id, seq, line_no)
);
)sql";

}  // namespace uplink::collector_internal
