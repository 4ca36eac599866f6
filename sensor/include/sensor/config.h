// The appliance's configuration, /etc/utkikk/utkikk.yaml, parsed once at start into plain structs
// that carry their defaults. Every key is documented in docs/configuration.md; unknown keys and
// bad values are errors reported as "file:line:column: message".
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "rules/ip_address.h"
#include "rules/result.h"
#include "sensor/capture/packet_source.h"
#include "sensor/alerts/alerting.h"
#include "sensor/flow/flow_table.h"
#include "sensor/logs/syslog_config.h"

namespace sensor {

enum class LogFormat { kJson, kTsv };

// The `logs:` section.
struct LogConfig {
  std::string directory = "/var/log/utkikk";
  LogFormat format = LogFormat::kJson;
  std::chrono::milliseconds stats_interval{std::chrono::minutes(1)};
  uint32_t weirds_per_interval = 10;  // weird.log lines per name and stats interval (sampling)
  // ssh.log, http.log, ssl.log, dns.log, dhcp.log (with the inventory's extractors).
  bool protocol_logs = true;
};

// The `inventory:` section: what the sensor learns about hosts, services and software.
struct InventorySettings {
  bool enabled = true;
  std::string database = "/var/lib/utkikk/inventory.db";
  std::string fingerprints;  // fingerprint database folder; "" = the one shipped with the build
  std::string p0f_database = "/etc/p0f/p0f.fp";  // p0f's TCP signatures (package p0f); "" = off
};

// The `summary:` section: inventory changes in batches for utkikk-uplink (docs/privacy.md).
struct SummarySettings {
  bool enabled = false;
  std::string spool_directory = "/var/spool/utkikk";
  std::chrono::milliseconds interval{std::chrono::minutes(1)};
  uint64_t max_batch_bytes = uint64_t{1} << 20;  // JSON-lines bytes of one batch
  bool client_banners = false;  // also send raw client banners (User-Agents): personal data
  uint32_t peer_addresses = 8;  // external client addresses listed per internal service (0..64)
  bool alert_personal_evidence = false;  // alert evidence with '@' or "://": personal data
};

struct SensorConfig {
  std::string source;      // the file it came from ("" for built-in defaults)
  std::string member_id;   // the municipality, as the CSIRT knows it, e.g. "kommune-0301"
  std::string sensor_id;   // this box; defaults to member_id + "-sensor"
  CaptureConfig capture;
  std::vector<rules::Cidr> local_nets;  // internal networks; default: RFC 1918, RFC 4193, ...
  FlowTableConfig flows;
  LogConfig logs;
  InventorySettings inventory;
  SummarySettings summary;
  SyslogConfig syslog;
  AlertsSettings alerts;  // the `alerts:` section (docs/alerts.md)  // the `syslog:` section, read by utkikk-syslogd (docs/logs.md)
  std::string user = "utkikk";  // unprivileged user to run as after opening the capture
};

// The internal networks assumed when the config names none: RFC 1918, RFC 6598 (CGNAT),
// link-local, RFC 4193 ULA and IPv6 link-local.
std::vector<rules::Cidr> DefaultLocalNets();

rules::Result<SensorConfig> LoadSensorConfig(const std::string& path);
rules::Result<SensorConfig> ParseSensorConfig(std::string_view text, const std::string& name);

}  // namespace sensor
