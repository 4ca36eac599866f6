// Configuration of the syslog receiver and the local log store: the `syslog:` section of
// utkikk.yaml (docs/logs.md, "Receiving"). Plain values; whoever reads the config owns them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rules/ip_address.h"
#include "rules/result.h"
#include "rules/yaml.h"

namespace sensor {

enum class SyslogTransport : uint8_t { kUdp = 0, kTcp = 1, kTls = 2 };

// "udp", "tcp", "tls".
const char* SyslogTransportName(SyslogTransport transport);

struct SyslogListenerConfig {
  SyslogTransport transport = SyslogTransport::kUdp;
  std::string address = "0.0.0.0";  // IPv4 or IPv6 literal
  uint16_t port = 514;              // 0 = any free port (tests)
  // Senders allowed on this listener; empty = everyone. Others are counted and dropped.
  std::vector<rules::Cidr> allowed_senders;
  // TLS (RFC 5425) only: PEM files.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;                // verifies client certificates
  bool require_client_cert = false;  // needs tls_ca
};

struct SyslogLimits {
  size_t max_message_bytes = 64 * 1024;  // longer messages are cut (counted)
  size_t max_connections = 1024;         // TCP + TLS, all senders
  size_t max_connections_per_sender = 64;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};  // no bytes at all
  // A connection whose unfinished frame is older than this is closed (slowloris).
  std::chrono::milliseconds frame_timeout{std::chrono::seconds(60)};
  // Per sender address, token bucket over all listeners; 0 = unlimited. Excess is dropped
  // (counted per sender).
  uint64_t max_messages_per_second = 0;
  uint64_t burst_messages = 0;  // bucket size; 0 = one second's worth
  // Received but not yet compressed bytes, all senders. Above it TCP reading pauses (the
  // senders' TCP windows fill) and UDP datagrams are dropped (counted).
  size_t max_queue_bytes = 64 * 1024 * 1024;
};

struct LogStoreConfig {
  std::string directory;                                       // required
  uint64_t max_bytes = 10ull * 1024 * 1024 * 1024;             // all segments together
  std::chrono::milliseconds max_age{std::chrono::hours(24 * 90)};  // 0 = no age bound
  uint64_t segment_bytes = 64 * 1024 * 1024;                   // compressed size of one segment
  size_t block_bytes = 256 * 1024;                             // uncompressed records per block
  // A block is written at the latest this long after its first record, and fdatasync runs at
  // most once per interval: a message is durable at most about 2 x flush_interval after
  // receipt (docs/logs.md, "Store").
  std::chrono::milliseconds flush_interval{200};
  int compression_level = 1;
  // "Went quiet": a sender with >= quiet_min_per_hour messages in each of the quiet_steady_hours
  // full hours before its last message, silent for quiet_after.
  uint64_t quiet_min_per_hour = 10;
  int quiet_steady_hours = 3;
  std::chrono::milliseconds quiet_after{std::chrono::hours(1)};
};

struct SyslogConfig {
  bool enabled = false;  // true when the section is present
  std::vector<SyslogListenerConfig> listeners;
  SyslogLimits limits;
  LogStoreConfig store;
};

// Reads the `syslog:` section (a mapping with `listeners`, `limits`, `store`). Unknown keys are
// rejected; errors say "file:line:column: ...".
rules::Result<> ReadSyslogConfig(const rules::YamlNode& node, SyslogConfig* out);

// utkikk-syslogd's own file: top level `member_id` (string) and `syslog:`.
struct SyslogdConfig {
  std::string member_id;
  SyslogConfig syslog;
};
rules::Result<SyslogdConfig> ReadSyslogdConfigFile(const std::string& path);
rules::Result<SyslogdConfig> ReadSyslogdConfigString(const std::string& text,
                                                     const std::string& name);

}  // namespace sensor
