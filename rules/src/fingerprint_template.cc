#include "fingerprint_template.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace rules::fingerprint_internal {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<Template> Template::Parse(const YamlNode& node, const std::string& text, int groups,
                                 const std::map<std::string, int>& named,
                                 const Tables& tables) {
  Template t;
  std::string literal;
  size_t i = 0;
  auto flush = [&] {
    if (!literal.empty()) {
      t.pieces_.push_back(Piece{std::move(literal), -1, {}});
      literal.clear();
    }
  };
  while (i < text.size()) {
    char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {  // "{{" is a literal '{'
      literal += '{';
      i += 2;
      continue;
    }
    if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal += '}';
      i += 2;
      continue;
    }
    if (c != '{') {
      literal += c;
      ++i;
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string::npos) {
      return tl::make_unexpected(node.ErrorAt("template '" + text + "': unclosed '{'"));
    }
    std::string inner = text.substr(i + 1, close - i - 1);
    i = close + 1;
    flush();
    Piece piece;
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
      size_t bar = inner.find('|', start);
      parts.push_back(inner.substr(start, bar == std::string::npos ? std::string::npos
                                                                     : bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    std::vector<std::string> refs;
    for (size_t from = 0;;) {
      size_t plus = parts[0].find('+', from);
      refs.push_back(parts[0].substr(from, plus == std::string::npos ? plus : plus - from));
      if (plus == std::string::npos) break;
      from = plus + 1;
    }
    for (const std::string& ref : refs) {
      int group = -1;
      if (!ref.empty() && std::all_of(ref.begin(), ref.end(),
                                      [](char d) { return d >= '0' && d <= '9'; })) {
        if (ref.size() > 3 || std::stoi(ref) > groups) {
          return tl::make_unexpected(node.ErrorAt("template '" + text + "': group " + ref +
                                                  " does not exist in the pattern (it has " +
                                                  std::to_string(groups) + ")"));
        }
        group = std::stoi(ref);
      } else {
        auto it = named.find(ref);
        if (it == named.end()) {
          return tl::make_unexpected(node.ErrorAt("template '" + text + "': no group named '" +
                                                  ref + "' in the pattern"));
        }
        group = it->second;
      }
      if (piece.group < 0) {
        piece.group = group;
      } else {
        piece.more_groups.push_back(group);
      }
    }
    for (size_t k = 1; k < parts.size(); ++k) {
      const std::string& f = parts[k];
      Filter filter;
      if (f == "lower") {
        filter.op = Filter::Op::kLower;
      } else if (f == "upper") {
        filter.op = Filter::Op::kUpper;
      } else if (f == "dots") {
        filter.op = Filter::Op::kDots;
      } else if (f == "trim") {
        filter.op = Filter::Op::kTrim;
      } else if (f.rfind("map:", 0) == 0 || f.rfind("map?:", 0) == 0) {
        bool keep = f[3] == '?';
        std::string name = f.substr(keep ? 5 : 4);
        auto it = tables.find(name);
        if (it == tables.end()) {
          return tl::make_unexpected(
              node.ErrorAt("template '" + text + "': no table named '" + name + "'"));
        }
        filter.op = keep ? Filter::Op::kMapOrKeep : Filter::Op::kMap;
        filter.table = it->second;
      } else {
        return tl::make_unexpected(node.ErrorAt(
            "template '" + text + "': unknown filter '" + f +
            "' (known: lower, upper, dots, trim, map:TABLE, map?:TABLE)"));
      }
      piece.filters.push_back(std::move(filter));
    }
    t.pieces_.push_back(std::move(piece));
  }
  flush();
  return t;
}

std::optional<std::string> Template::Render(const std::vector<std::string_view>& captures) const {
  std::string out;
  for (const Piece& p : pieces_) {
    if (p.group < 0) {
      out += p.literal;
      continue;
    }
    std::string value;
    for (size_t g = 0; g <= p.more_groups.size(); ++g) {
      auto index = static_cast<size_t>(g == 0 ? p.group : p.more_groups[g - 1]);
      if (index >= captures.size()) return std::nullopt;
      std::string_view cap = captures[index];
      if (cap.data() == nullptr || TrimView(cap).empty()) return std::nullopt;
      if (g > 0) value += ' ';
      value += TrimView(cap);
    }
    for (const Filter& f : p.filters) {
      switch (f.op) {
        case Filter::Op::kLower:
          value = Lower(value);
          break;
        case Filter::Op::kUpper:
          for (char& c : value) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          break;
        case Filter::Op::kDots:
          for (char& c : value) {
            if (c == '_') c = '.';
          }
          break;
        case Filter::Op::kTrim:
          value = std::string(TrimView(value));
          break;
        case Filter::Op::kMap:
        case Filter::Op::kMapOrKeep: {
          auto it = f.table->find(Lower(value));
          if (it != f.table->end()) {
            value = it->second;
          } else if (f.op == Filter::Op::kMap) {
            return std::nullopt;
          }
          break;
        }
      }
    }
    if (value.empty()) return std::nullopt;
    out += value;
  }
  return out;
}

}  // namespace rules::fingerprint_internal
