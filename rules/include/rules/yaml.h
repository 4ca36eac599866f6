// A YAML document as a tree of nodes that remember where they stand in the file, so that every
// configuration or rule error can be reported as "file:line:column: message". Reads with libyaml
// (the only place that includes <yaml.h>). Aliases are refused: they add nothing to a config and
// are the way "billion laughs" documents grow. Value types, thread-compatible.
#pragma once

#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/result.h"

namespace rules {

struct YamlMark {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string ToString() const;  // "file:line:column"
};

class YamlNode {
 public:
  enum class Kind { kNull, kScalar, kSequence, kMapping };

  Kind kind() const { return kind_; }
  const YamlMark& mark() const { return mark_; }
  bool is_scalar() const { return kind_ == Kind::kScalar; }
  bool is_sequence() const { return kind_ == Kind::kSequence; }
  bool is_mapping() const { return kind_ == Kind::kMapping; }
  // For a scalar: its text; true when it was quoted in the file ('…' or "…").
  const std::string& scalar() const { return scalar_; }
  bool quoted() const { return quoted_; }
  const std::vector<YamlNode>& items() const { return items_; }
  // For a mapping: key/value pairs in file order (keys are scalars).
  const std::vector<std::pair<YamlNode, YamlNode>>& entries() const { return entries_; }
  // Mapping look-up by key; nullptr when absent.
  const YamlNode* Find(std::string_view key) const;

  // Typed reads of a scalar, each failing with "file:line:column: message".
  Result<std::string> AsString() const;
  Result<bool> AsBool() const;
  Result<int64_t> AsInt(int64_t min, int64_t max) const;
  Result<double> AsDouble() const;
  // "90", "90s", "15m", "2h", "7d", "250ms".
  Result<std::chrono::milliseconds> AsDuration() const;
  // "1048576", "64KiB", "64MiB", "2GiB", "10GB".
  Result<uint64_t> AsSize() const;
  Result<std::vector<std::string>> AsStringList() const;

  // An error at this node: Error{kConfig, "file:line:column: " + message}.
  Error ErrorAt(const std::string& message) const;

 private:
  friend class YamlBuilder;
  Kind kind_ = Kind::kNull;
  YamlMark mark_;
  std::string scalar_;
  bool quoted_ = false;
  std::vector<YamlNode> items_;
  std::vector<std::pair<YamlNode, YamlNode>> entries_;
};

// Parses the first document of a file or a string. An empty document is a null node.
Result<YamlNode> ParseYamlFile(const std::string& path);
Result<YamlNode> ParseYamlString(std::string_view text, const std::string& name);
// All documents in a stream ("---" separated).
Result<std::vector<YamlNode>> ParseYamlDocuments(std::string_view text, const std::string& name);

// Walks a mapping once, handing each known key to its handler, and rejects unknown and
// duplicate keys:
//   MappingReader r(node);
//   r.Optional("snaplen", [&](const YamlNode& v) -> Result<> { ... });
//   if (auto done = r.Finish(); !done) return done;
class MappingReader {
 public:
  using Handler = std::function<Result<>(const YamlNode&)>;
  explicit MappingReader(const YamlNode& node) : node_(node) {}
  void Optional(std::string key, Handler handler);
  void Required(std::string key, Handler handler);
  // Runs the handlers in file order; the first error wins.
  Result<> Finish();

 private:
  struct Slot {
    Handler handler;
    bool required = false;
    bool seen = false;
  };
  const YamlNode& node_;
  std::map<std::string, Slot, std::less<>> slots_;
};

}  // namespace rules
