// libFuzzer target: the syslog parser, JSON rendering and the TCP framing decoder on hostile
// bytes. Build (not wired into CMake):
//   clang++-14 -std=c++20 -fsanitize=fuzzer,address,undefined -I sensor/include -I sensor/src \
//     -I rules/include fuzz/syslog_fuzz.cc sensor/src/logs/*.cc -o /tmp/syslog_fuzz
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sensor/logs/json_value.h"
#include "sensor/logs/syslog_framing.h"
#include "sensor/logs/syslog_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  static sensor::SyslogParser parser(sensor::SyslogParserConfig{.default_year = 2024,
                                                                .max_message_bytes = 8192});
  sensor::SyslogMessage message;
  std::string json;
  parser.Parse(input, &message);
  sensor::AppendJson(message, &json);
  if (json.empty() || json.front() != '{' || json.back() != '}') __builtin_trap();
  // The rendered JSON must read back (valid JSON, whatever the bytes were).
  if (!sensor::ParseJson(json)) __builtin_trap();

  // The framer: the first byte picks the chunk size, so splits land everywhere.
  size_t chunk = size > 0 ? 1 + data[0] % 64 : 1;
  sensor::SyslogFramer framer(256);
  size_t total = 0;
  auto on_message = [&](std::string_view frame) {
    if (frame.size() > 256) __builtin_trap();
    total += frame.size();
    parser.Parse(frame, &message);
  };
  for (size_t i = 0; i < size; i += chunk) framer.Feed(input.substr(i, chunk), on_message);
  framer.Finish(on_message);
  if (total > size) __builtin_trap();
  sensor::ParseJson(input);
  sensor::DecodeBase64(input);
  return 0;
}
