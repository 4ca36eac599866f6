// A small JSON reader (RFC 8259) for the log tools: `utkikk logs parse --jsonl` input objects
// and test corpora. Not for the hot path. A JsonValue owns its children; not thread-safe to
// mutate while shared. Depth and size are bounded by the input; nesting deeper than 64 fails.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sensor {

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;  // kString: the decoded string; kNumber: the number as written
  std::vector<JsonValue> items;
  std::map<std::string, JsonValue, std::less<>> members;

  bool is_string() const { return type == Type::kString; }
  bool is_object() const { return type == Type::kObject; }
  // Member lookup; nullptr when absent or not an object.
  const JsonValue* Get(std::string_view key) const;
};

// Parses one JSON document (surrounding whitespace allowed); nullopt when malformed.
std::optional<JsonValue> ParseJson(std::string_view text);

// Decodes standard base64 (padding optional, whitespace ignored); nullopt when malformed.
std::optional<std::string> DecodeBase64(std::string_view text);

}  // namespace sensor
