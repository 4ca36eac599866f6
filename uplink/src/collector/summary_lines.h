// Parses the JSON lines of a summary payload (docs/formats.md, "Summary payloads") into the
// facts the collector stores. Hostile input: never throws, bounded nesting, unknown or
// incomplete lines are kept as raw records rather than guessed at.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uplink::collector_internal {

inline constexpr int kMaxJsonDepth = 32;

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

struct KeyRotationLine {  // hex strings, checked by the collector
  std::string old_key_id, new_public_key, new_key_signature;
};

enum class LineKind { kHost, kService, kSoftware, kGap, kKeyRotation, kOther };

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
};

// Splits and parses every line. `default_first`/`default_last` fill absent first_seen/last_seen
// (the envelope's window). nullopt when a line is not a JSON object (then *why says which).
std::optional<std::vector<ParsedLine>> ParseSummaryLines(std::string_view json_lines,
                                                         int64_t default_first,
                                                         int64_t default_last, std::string* why);

// Maximum nesting of '[' and '{' outside strings in `text` (a cheap pre-check before parsing).
int JsonNestingDepth(std::string_view text);

}  // namespace uplink::collector_internal
