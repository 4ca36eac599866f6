#include "uplink/payload_type.h"

#include <string>

namespace uplink {

std::string_view PayloadTypeName(PayloadType type) {
  switch (type) {
    case PayloadType::kInventory:
      return "inventory";
    case PayloadType::kFlows:
      return "flows";
    case PayloadType::kAlerts:
      return "alerts";
    case PayloadType::kLogstats:
      return "logstats";
    case PayloadType::kHealth:
      return "health";
    case PayloadType::kGap:
      return "gap";
  }
  return "unknown";
}

std::optional<PayloadType> PayloadTypeFromByte(uint8_t value) {
  if (value >= 1 && value <= 6) {
    return static_cast<PayloadType>(value);
  }
  return std::nullopt;
}

namespace {

// Length of the UTF-8 sequence starting at s[i] (RFC 3629 table 3-7: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 when it is not valid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  const size_t left = s.size() - i;
  auto cont = [&](size_t k, uint8_t lo, uint8_t hi) {
    return k < s.size() && byte(k) >= lo && byte(k) <= hi;
  };
  if (b0 < 0x80) {
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    return left >= 2 && cont(i + 1, 0x80, 0xBF) ? 2 : 0;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const uint8_t hi = b0 == 0xED ? 0x9F : 0xBF;
    return left >= 3 && cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80;
    const uint8_t hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return left >= 4 && cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF) && cont(i + 3, 0x80, 0xBF)
               ? 4
               : 0;
  }
  return 0;
}

bool Reject(std::string* why, size_t line, const std::string& what) {
  if (why != nullptr) {
    *why = "line " + std::to_string(line) + ": " + what;
  }
  return false;
}

}  // namespace

bool ValidJsonLines(std::string_view text, std::string* why) {
  if (text.empty()) {
    return Reject(why, 1, "no lines");
  }
  if (text.back() != '\n') {
    return Reject(why, 1, "the last line is not terminated by '\\n'");
  }
  size_t line = 1;
  size_t line_start = 0;
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t c = static_cast<uint8_t>(text[i]);
    if (c == '\n') {
      if (i == line_start) {
        return Reject(why, line, "empty line");
      }
      if (text[line_start] != '{') {
        return Reject(why, line, "does not start with '{'");
      }
      if (text[i - 1] != '}') {
        return Reject(why, line, "does not end with '}'");
      }
      ++line;
      line_start = ++i;
      continue;
    }
    if (c < 0x20 && c != '\t') {
      static constexpr char kHex[] = "0123456789abcdef";
      return Reject(why, line, std::string("control character 0x") + kHex[c >> 4] + kHex[c & 15]);
    }
    const size_t n = Utf8SequenceLength(text, i);
    if (n == 0) {
      return Reject(why, line, "invalid UTF-8 at byte " + std::to_string(i));
    }
    i += n;
  }
  return true;
}

}  // namespace uplink
