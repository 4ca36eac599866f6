// libFuzzer target: what the sensor takes from a parsed syslog message (sensor/logs/log_facts.h)
// on hostile bytes — DHCP lease facts, the LogEvent, the RFC 3339 and MAC readers. Checks the
// bounds the rest of the sensor relies on. Build (also via fuzz/CMakeLists.txt):
//   clang++-14 -std=c++20 -fsanitize=fuzzer,address,undefined -I sensor/include -I sensor/src \
//     -I rules/include -I /usr/include fuzz/log_facts_fuzz.cc sensor/src/logs/{json_value,\
//     log_facts,products,scan,syslog_framing,syslog_message,syslog_parser}.cc \
//     rules/src/{ip_address,facts}.cc -o /tmp/log_facts_fuzz
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sensor/logs/log_facts.h"
#include "sensor/logs/syslog_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  static sensor::SyslogParser parser(sensor::SyslogParserConfig{.default_year = 2026,
                                                                .max_message_bytes = 8192});
  sensor::SyslogMessage message;
  parser.Parse(input, &message);
  const int64_t receive = 1'795'000'000'000'000;
  int64_t ts = sensor::LogMessageTimeUs(message, receive);
  if (ts != receive && (ts > receive + sensor::kLogMaxClockSkewUs ||
                        ts < receive - sensor::kLogMaxClockSkewUs)) {
    __builtin_trap();
  }
  sensor::LogFacts facts;
  size_t n = sensor::DhcpLeaseFacts(message, ts, input, &facts);
  if (n != facts.addresses.size() + facts.names.size() || facts.addresses.size() > 1 ||
      facts.names.size() > facts.addresses.size()) {
    __builtin_trap();
  }
  for (const auto& a : facts.addresses) {
    if (a.origin.raw.size() > 512 || a.origin.source != "dhcp-log") __builtin_trap();
  }
  rules::engine::LogEvent event =
      sensor::ToLogEvent(message, ts, *rules::IpAddress::Parse("192.0.2.1"));
  if (event.host.empty()) __builtin_trap();
  int64_t us = 0;
  sensor::ParseRfc3339Us(input, &us);
  rules::Mac mac{};
  sensor::ParseMac(input, &mac);
  return 0;
}
