// Text helpers of the inventory: bounding hostile strings and formatting packet times.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sensor::inventory_internal {

struct BoundResult {
  bool cut = false;      // input was longer than the bound
  bool escaped = false;  // some bytes were escaped
};

// Copies `in` into *out with every byte that is not part of printable UTF-8 (controls, NUL,
// DEL, invalid or overlong sequences, surrogates) written as \xNN and a backslash as \\, then
// cuts the result to at most max_bytes on a character/escape boundary.
BoundResult BoundString(std::string_view in, size_t max_bytes, std::string* out);

// "2023-11-14T22:13:20Z" (UTC, whole seconds) for microseconds since the epoch.
std::string IsoTime(int64_t us);

// A JSON string literal with quotes; escapes ", \ and control characters.
void AppendJsonString(std::string_view s, std::string* out);
// A CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF.
void AppendCsvField(std::string_view s, std::string* out);

}  // namespace sensor::inventory_internal
