// Parses one syslog message (transport framing already removed) into a SyslogMessage: RFC 5424,
// RFC 3164 with the deviations real devices send, and product bodies (Cisco ASA/IOS, FortiGate,
// Palo Alto, pfSense filterlog, Snare/NXLog Windows events, DHCP and DNS servers, sshd, sudo,
// ...). Never fails: input it cannot read is returned with format "raw" and the bytes as the
// message. Work is linear in the input and bounded by max_message_bytes.
// One parser per receiving thread; not thread-safe (it keeps counters).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sensor/logs/syslog_message.h"

namespace sensor {

struct SyslogParserConfig {
  // Year assumed for RFC 3164 timestamps that carry none; 0 = the current UTC year.
  int default_year = 0;
  // Longer input is cut to this many bytes before parsing (counted in stats.truncated).
  size_t max_message_bytes = 64 * 1024;
};

struct SyslogParserStats {
  uint64_t messages = 0;
  uint64_t rfc5424 = 0;
  uint64_t rfc3164 = 0;
  uint64_t raw = 0;          // nothing recognisable: kept whole as the message
  uint64_t product = 0;      // a product parser recognised the body
  uint64_t truncated = 0;    // input longer than max_message_bytes
  uint64_t bad_pri = 0;      // "<...>" present but not a valid PRI
  uint64_t bad_sd = 0;       // RFC 5424 with malformed STRUCTURED-DATA (kept in the message)
};

class SyslogParser {
 public:
  explicit SyslogParser(const SyslogParserConfig& config = {});
  // Fills *out (cleared first). Always succeeds; out->format says what was recognised.
  void Parse(std::string_view raw, SyslogMessage* out);
  const SyslogParserStats& stats() const { return stats_; }

 private:
  SyslogParserConfig config_;
  int year_;
  SyslogParserStats stats_;
};

}  // namespace sensor
