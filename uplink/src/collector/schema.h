// The collector store's schema, one text for SQLite and PostgreSQL (docs/formats.md,
// "Collector store"). Every statement is idempotent, so it runs on every open.
#pragma once

#include <string_view>

namespace uplink::collector_internal {

inline constexpr std::string_view kSchemaVersion = "1";

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
