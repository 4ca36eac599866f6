// Private to rules_fingerprint: the value templates of the data files ("{1}", "{ver|dots}",
// "Debian {2|map:debian_release}") and their rendering against one regex match.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/result.h"
#include "rules/yaml.h"

namespace rules::fingerprint_internal {

// A lookup table of a data file: lower-cased key -> value. Shared, immutable after loading.
using Table = std::map<std::string, std::string, std::less<>>;
using Tables = std::map<std::string, std::shared_ptr<const Table>, std::less<>>;

// One piece of a template: literal text, or a capture group passed through filters.
struct Filter {
  enum class Op { kMap, kMapOrKeep, kLower, kUpper, kDots, kTrim };
  Op op = Op::kTrim;
  std::shared_ptr<const Table> table;  // kMap, kMapOrKeep
};
struct Piece {
  std::string literal;  // when group < 0
  int group = -1;       // capture group number (named groups are resolved at load)
  std::vector<int> more_groups;  // "{1+3}": further groups, joined to the first with a blank
  std::vector<Filter> filters;
};

// A parsed template. Rendering yields nullopt when a referenced group did not take part in
// the match, is empty, or a kMap look-up fails: the field then stays unknown.
// Value type, thread-compatible.
class Template {
 public:
  // Parses `text`; `groups` is the number of capture groups of the pattern and `named` its
  // named groups. Errors refer to `node` (file:line:column).
  static Result<Template> Parse(const YamlNode& node, const std::string& text, int groups,
                                const std::map<std::string, int>& named, const Tables& tables);
  // `captures[i]` is group i (0 = whole match); data() == nullptr when it did not match.
  std::optional<std::string> Render(const std::vector<std::string_view>& captures) const;
  bool empty() const { return pieces_.empty(); }

 private:
  std::vector<Piece> pieces_;
};

}  // namespace rules::fingerprint_internal
