// One parsed syslog message and its JSON rendering (docs/logs.md, "Syslog parsing").
// A SyslogMessage is a plain value: whoever parses into it owns it; not thread-safe to share
// while it is being written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sensor {

// One SD-ELEMENT of RFC 5424: its SD-ID and params in wire order (values unescaped).
struct SdElement {
  std::string id;
  std::vector<std::pair<std::string, std::string>> params;
};

struct SyslogMessage {
  std::optional<int> pri;           // 0..191; facility = pri / 8, severity = pri % 8
  std::string timestamp;            // RFC 3339; empty = absent
  std::string hostname;             // empty = absent
  std::string app_name;             // RFC 5424 APP-NAME or RFC 3164 tag without [pid]
  std::string procid;
  std::string msgid;
  std::vector<SdElement> structured_data;
  std::string message;              // MSG (RFC 5424 BOM stripped, RFC 3164 leading SP stripped)
  // "rfc5424", "rfc3164", "raw" or a product name (docs/logs.md); points at a static string.
  std::string_view format = "raw";
  // What the product parser extracted: src_ip, dst_port, user, mac, ... (docs/logs.md).
  // Keys point at static strings; a key appears at most once.
  std::vector<std::pair<std::string_view, std::string>> fields;

  void Clear();
  // Adds or replaces a field; empty values are not stored.
  void SetField(std::string_view key, std::string_view value);
  const std::string* Field(std::string_view key) const;
};

// Renders the message as one JSON object (no trailing newline), keys in a fixed order; absent
// values are omitted. Bytes that are not valid UTF-8 become U+FFFD; control characters are
// escaped (\n, \t, \u0000 ...), so the output is always valid UTF-8 JSON.
void AppendJson(const SyslogMessage& message, std::string* out);

// Appends `text` as a JSON string literal (quotes included), with the replacement rules above.
void AppendJsonString(std::string_view text, std::string* out);

}  // namespace sensor
