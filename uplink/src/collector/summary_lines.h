// Parses the JSON lines of a summary payload (docs/formats.md, "Summary payloads") into the
// facts the collector stores. Hostile input: never throws, bounded nesting, unknown or
// incomplete lines are kept as raw records rather than guessed at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uplink::collector_internal {

inline constexpr int kMaxJsonDepth = 32;
inline constexpr size_t kMaxPeerAddresses = 64;  // peer_addresses of a flow_service line
inline constexpr size_t kMaxCves = 64;           // cves of an alert line

struct HostLine {
  std::string host, mac, vendor;
  std::vector<std::string> names;
  std::string os_vendor, os_product, os_version;
  int64_t first_seen = 0, last_seen = 0;
};
struct ServiceLine {
  std::string host;
  int64_t port = 0;
  std::string proto, protocol;
  bool exposed = false;
  int64_t first_seen = 0, last_seen = 0;
};
struct SoftwareLine {
  std::string host;
  int64_t port = 0;
  std::string role, vendor, product, version, cpe23, raw;
  int64_t first_seen = 0, last_seen = 0;
};
struct GapLine {
  std::string kind;  // "gap" or the spool's "spool_drop"
  std::string reason;
  std::optional<int64_t> from_seq, to_seq, dropped_batches;
};

struct FlowServiceLine {
  std::string host;
  int64_t port = 0;
  std::string proto, protocol;
  int64_t flows = 0, internal_flows = 0, bytes_to_server = 0, bytes_to_client = 0;
  int64_t external_peers = 0;
  bool external_peers_capped = false;
  std::vector<std::string> peer_addresses;
  int64_t first_seen = 0, last_seen = 0;
};
struct FlowHostLine {
  std::string host;
  int64_t flows_as_client = 0, flows_as_server = 0, unanswered = 0;
  int64_t bytes_sent = 0, bytes_received = 0, external_peers = 0;
  bool external_peers_capped = false;
  int64_t first_seen = 0, last_seen = 0;
};
struct AlertLine {
  std::string rule_id;
  int64_t rule_version = 1;
  std::string severity, kind, title, host;
  int64_t port = 0;
  std::string peer, key, evidence;
  std::vector<std::string> cves;
  bool known_exploited = false;
  int64_t count = 1;
  int64_t first_seen = 0, last_seen = 0;
};
struct LogSenderLine {
  std::string sender;
  int64_t messages = 0, bytes = 0;
  std::string severities = "[]";  // the array as JSON text
  int64_t first_seen = 0, last_seen = 0;
  bool quiet = false;
};
struct HealthLine {
  std::string sensor_version;
  std::optional<int64_t> packets, drops, packets_delta, drops_delta, spool_free_bytes;
  std::optional<bool> clock_synced;
};

struct KeyRotationLine {  // hex strings, checked by the collector
  std::string old_key_id, new_public_key, new_key_signature;
};

enum class LineKind {
  kHost,
  kService,
  kSoftware,
  kGap,
  kKeyRotation,
  kFlowService,
  kFlowHost,
  kAlert,
  kLogSender,
  kHealth,
  kOther
};

struct ParsedLine {
  LineKind kind = LineKind::kOther;
  std::string type;        // the "type" value ("" when absent), or "spool_drop"
  bool recognised = true;  // false: a known type with missing or ill-typed fields
  std::string_view text;   // the line without its '\n' (points into the payload)
  HostLine host;
  ServiceLine service;
  SoftwareLine software;
  GapLine gap;
  KeyRotationLine rotation;
  FlowServiceLine flow_service;
  FlowHostLine flow_host;
  AlertLine alert;
  LogSenderLine log_sender;
  HealthLine health;
};

// Splits and parses every line. `default_first`/`default_last` fill absent first_seen/last_seen
// (the envelope's window). nullopt when a line is not a JSON object (then *why says which).
std::optional<std::vector<ParsedLine>> ParseSummaryLines(std::string_view json_lines,
                                                         int64_t default_first,
                                                         int64_t default_last, std::string* why);

// Maximum nesting of '[' and '{' outside strings in `text` (a cheap pre-check before parsing).
int JsonNestingDepth(std::string_view text);

}  // namespace uplink::collector_internal
