// The kinds of summary batch the sensor produces, shared by the spool and the envelope.
// The numeric values are on the wire (envelope byte 10, batch file byte 10): never renumber.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace uplink {

enum class PayloadType : uint8_t {
  kInventory = 1,  // inventory deltas: hosts, services, software
  kFlows = 2,      // flow aggregates
  kAlerts = 3,     // rule hits
  kLogstats = 4,   // log statistics
  kHealth = 5,     // sensor health (capture drops, disk, versions)
  kGap = 6,        // what was lost (spool drops, capture gaps)
};

// "inventory", "flows", "alerts", "logstats", "health", "gap"; "unknown" for anything else.
std::string_view PayloadTypeName(PayloadType type);
// The type for a wire byte, or nullopt when the byte names no type.
std::optional<PayloadType> PayloadTypeFromByte(uint8_t value);

// Checks that `text` is JSON lines as Utkikk ships them: valid UTF-8, at least one line, every
// line terminated by '\n', non-empty, starting with '{' and ending with '}', and free of control
// characters other than tab (JSON allows none inside strings and only whitespace outside).
// This is a cheap structural check for hostile input, not a JSON parser. On false, *why (if not
// null) says what and where ("line 3: does not start with '{'").
bool ValidJsonLines(std::string_view text, std::string* why);

}  // namespace uplink
