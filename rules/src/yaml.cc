#include "rules/yaml.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include <yaml.h>

namespace rules {

class YamlBuilder {
 public:
  YamlBuilder(std::string_view text, std::string name) : name_(std::move(name)) {
    ok_ = yaml_parser_initialize(&parser_) == 1;
    if (ok_) {
      yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                   text.size());
    }
  }
  ~YamlBuilder() {
    if (ok_) {
      yaml_parser_delete(&parser_);
    }
  }
  YamlBuilder(const YamlBuilder&) = delete;
  YamlBuilder& operator=(const YamlBuilder&) = delete;

  Result<std::vector<YamlNode>> Documents() {
    if (!ok_) {
      return Fail(ErrorCode::kInternal, name_ + ": cannot initialise the YAML parser");
    }
    std::vector<YamlNode> docs;
    Event ev;
    if (auto r = NextEvent(&ev); !r) return tl::make_unexpected(r.error());
    if (ev.e.type != YAML_STREAM_START_EVENT) {
      return Fail(ErrorCode::kParse, name_ + ": not a YAML stream");
    }
    while (true) {
      Event doc;
      if (auto r = NextEvent(&doc); !r) return tl::make_unexpected(r.error());
      if (doc.e.type == YAML_STREAM_END_EVENT) {
        break;
      }
      if (doc.e.type != YAML_DOCUMENT_START_EVENT) {
        return Fail(ErrorCode::kParse, MarkOf(doc.e.start_mark).ToString() + ": expected a document");
      }
      Event first;
      if (auto r = NextEvent(&first); !r) return tl::make_unexpected(r.error());
      YamlNode root;
      if (first.e.type != YAML_DOCUMENT_END_EVENT) {
        auto node = Build(first, 0);
        if (!node) return tl::make_unexpected(node.error());
        root = std::move(*node);
        Event end;
        if (auto r = NextEvent(&end); !r) return tl::make_unexpected(r.error());
      } else {
        root.mark_ = MarkOf(first.e.start_mark);
      }
      docs.push_back(std::move(root));
    }
    return docs;
  }

 private:
  struct Event {
    yaml_event_t e{};
    bool live = false;
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    ~Event() {
      if (live) {
        yaml_event_delete(&e);
      }
    }
  };

  static constexpr int kMaxDepth = 64;

  YamlMark MarkOf(const yaml_mark_t& m) const {
    return YamlMark{name_, static_cast<int>(m.line) + 1, static_cast<int>(m.column) + 1};
  }

  Result<> NextEvent(Event* ev) {
    if (yaml_parser_parse(&parser_, &ev->e) != 1) {
      YamlMark mark = MarkOf(parser_.problem_mark);
      std::string problem = parser_.problem ? parser_.problem : "malformed YAML";
      if (parser_.context) {
        problem = std::string(parser_.context) + ": " + problem;
      }
      return Fail(ErrorCode::kParse, mark.ToString() + ": " + problem);
    }
    ev->live = true;
    return {};
  }

  Result<YamlNode> Build(Event& ev, int depth) {
    if (depth > kMaxDepth) {
      return Fail(ErrorCode::kParse, MarkOf(ev.e.start_mark).ToString() + ": nesting too deep");
    }
    YamlNode node;
    node.mark_ = MarkOf(ev.e.start_mark);
    switch (ev.e.type) {
      case YAML_ALIAS_EVENT:
        return Fail(ErrorCode::kParse, node.mark_.ToString() + ": aliases (*name) are not allowed");
      case YAML_SCALAR_EVENT: {
        node.kind_ = YamlNode::Kind::kScalar;
        node.scalar_.assign(reinterpret_cast<const char*>(ev.e.data.scalar.value),
                            ev.e.data.scalar.length);
        node.quoted_ = ev.e.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                       ev.e.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        if (!node.quoted_ && ev.e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
            (node.scalar_.empty() || node.scalar_ == "~" || node.scalar_ == "null")) {
          node.kind_ = YamlNode::Kind::kNull;
          node.scalar_.clear();
        }
        return node;
      }
      case YAML_SEQUENCE_START_EVENT: {
        node.kind_ = YamlNode::Kind::kSequence;
        while (true) {
          Event child;
          if (auto r = NextEvent(&child); !r) return tl::make_unexpected(r.error());
          if (child.e.type == YAML_SEQUENCE_END_EVENT) {
            break;
          }
          auto item = Build(child, depth + 1);
          if (!item) return item;
          node.items_.push_back(std::move(*item));
        }
        return node;
      }
      case YAML_MAPPING_START_EVENT: {
        node.kind_ = YamlNode::Kind::kMapping;
        while (true) {
          Event key_ev;
          if (auto r = NextEvent(&key_ev); !r) return tl::make_unexpected(r.error());
          if (key_ev.e.type == YAML_MAPPING_END_EVENT) {
            break;
          }
          auto key = Build(key_ev, depth + 1);
          if (!key) return key;
          if (!key->is_scalar()) {
            return Fail(ErrorCode::kParse, key->mark_.ToString() + ": a key must be a plain word");
          }
          for (const auto& [k, v] : node.entries_) {
            if (k.scalar_ == key->scalar_) {
              return Fail(ErrorCode::kParse, key->mark_.ToString() + ": duplicate key '" +
                                                 key->scalar_ + "' (first at line " +
                                                 std::to_string(k.mark_.line) + ")");
            }
          }
          Event value_ev;
          if (auto r = NextEvent(&value_ev); !r) return tl::make_unexpected(r.error());
          auto value = Build(value_ev, depth + 1);
          if (!value) return value;
          node.entries_.emplace_back(std::move(*key), std::move(*value));
        }
        return node;
      }
      default:
        return Fail(ErrorCode::kParse, node.mark_.ToString() + ": unexpected YAML event");
    }
  }

  std::string name_;
  yaml_parser_t parser_{};
  bool ok_ = false;
};

std::string YamlMark::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const YamlNode* YamlNode::Find(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k.scalar_ == key) {
      return &v;
    }
  }
  return nullptr;
}

Error YamlNode::ErrorAt(const std::string& message) const {
  return Error{ErrorCode::kConfig, mark_.ToString() + ": " + message};
}

Result<std::string> YamlNode::AsString() const {
  if (kind_ != Kind::kScalar) {
    return tl::make_unexpected(ErrorAt("expected a text value"));
  }
  return scalar_;
}

Result<bool> YamlNode::AsBool() const {
  if (kind_ == Kind::kScalar && !quoted_) {
    if (scalar_ == "true" || scalar_ == "yes" || scalar_ == "on") return true;
    if (scalar_ == "false" || scalar_ == "no" || scalar_ == "off") return false;
  }
  return tl::make_unexpected(ErrorAt("expected true or false, not '" + scalar_ + "'"));
}

Result<int64_t> YamlNode::AsInt(int64_t min, int64_t max) const {
  if (kind_ != Kind::kScalar || scalar_.empty()) {
    return tl::make_unexpected(ErrorAt("expected a whole number"));
  }
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(scalar_.c_str(), &end, 10);
  if (errno != 0 || end == scalar_.c_str() || *end != '\0') {
    return tl::make_unexpected(ErrorAt("expected a whole number, not '" + scalar_ + "'"));
  }
  if (v < min || v > max) {
    return tl::make_unexpected(ErrorAt("value " + scalar_ + " is out of range [" +
                                       std::to_string(min) + ", " + std::to_string(max) + "]"));
  }
  return static_cast<int64_t>(v);
}

Result<double> YamlNode::AsDouble() const {
  if (kind_ != Kind::kScalar || scalar_.empty()) {
    return tl::make_unexpected(ErrorAt("expected a number"));
  }
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(scalar_.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v)) {
    return tl::make_unexpected(ErrorAt("expected a number, not '" + scalar_ + "'"));
  }
  return v;
}

namespace {

// Splits "15m" into 15 and "m"; false when there is no leading number.
bool SplitNumberUnit(const std::string& s, uint64_t* number, std::string* unit) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n > (UINT64_MAX - 9) / 10) {
      return false;
    }
    n = n * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  if (i == 0) {
    return false;
  }
  size_t j = i;
  while (j < s.size() && s[j] == ' ') {
    ++j;
  }
  *number = n;
  *unit = s.substr(j);
  return true;
}

}  // namespace

Result<std::chrono::milliseconds> YamlNode::AsDuration() const {
  uint64_t n = 0;
  std::string unit;
  if (kind_ != Kind::kScalar || !SplitNumberUnit(scalar_, &n, &unit)) {
    return tl::make_unexpected(
        ErrorAt("expected a duration such as 90s, 15m, 2h or 7d, not '" + scalar_ + "'"));
  }
  uint64_t ms_per = 0;
  if (unit.empty() || unit == "s") ms_per = 1000;
  else if (unit == "ms") ms_per = 1;
  else if (unit == "m" || unit == "min") ms_per = 60'000;
  else if (unit == "h") ms_per = 3'600'000;
  else if (unit == "d") ms_per = 86'400'000;
  else {
    return tl::make_unexpected(ErrorAt("unknown duration unit '" + unit + "' (ms, s, m, h, d)"));
  }
  if (n > (uint64_t{1} << 50) / ms_per) {
    return tl::make_unexpected(ErrorAt("duration '" + scalar_ + "' is too long"));
  }
  return std::chrono::milliseconds(static_cast<int64_t>(n * ms_per));
}

Result<uint64_t> YamlNode::AsSize() const {
  uint64_t n = 0;
  std::string unit;
  if (kind_ != Kind::kScalar || !SplitNumberUnit(scalar_, &n, &unit)) {
    return tl::make_unexpected(
        ErrorAt("expected a size such as 512MiB or 2GiB, not '" + scalar_ + "'"));
  }
  uint64_t mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KiB" || unit == "K") mult = 1ULL << 10;
  else if (unit == "MiB" || unit == "M") mult = 1ULL << 20;
  else if (unit == "GiB" || unit == "G") mult = 1ULL << 30;
  else if (unit == "TiB" || unit == "T") mult = 1ULL << 40;
  else if (unit == "KB") mult = 1000ULL;
  else if (unit == "MB") mult = 1000ULL * 1000;
  else if (unit == "GB") mult = 1000ULL * 1000 * 1000;
  else if (unit == "TB") mult = 1000ULL * 1000 * 1000 * 1000;
  else {
    return tl::make_unexpected(
        ErrorAt("unknown size unit '" + unit + "' (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"));
  }
  if (n > UINT64_MAX / mult) {
    return tl::make_unexpected(ErrorAt("size '" + scalar_ + "' is too large"));
  }
  return n * mult;
}

Result<std::vector<std::string>> YamlNode::AsStringList() const {
  if (kind_ == Kind::kNull) {
    return std::vector<std::string>{};
  }
  if (kind_ != Kind::kSequence) {
    return tl::make_unexpected(ErrorAt("expected a list"));
  }
  std::vector<std::string> out;
  for (const auto& item : items_) {
    auto s = item.AsString();
    if (!s) return tl::make_unexpected(s.error());
    out.push_back(std::move(*s));
  }
  return out;
}

Result<std::vector<YamlNode>> ParseYamlDocuments(std::string_view text, const std::string& name) {
  YamlBuilder builder(text, name);
  return builder.Documents();
}

Result<YamlNode> ParseYamlString(std::string_view text, const std::string& name) {
  auto docs = ParseYamlDocuments(text, name);
  if (!docs) return tl::make_unexpected(docs.error());
  if (docs->empty()) {
    YamlNode empty;
    return empty;
  }
  return std::move(docs->front());
}

Result<YamlNode> ParseYamlFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(ErrorCode::kIo, path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return Fail(ErrorCode::kIo, path + ": cannot read: " + std::strerror(errno));
  }
  return ParseYamlString(buf.str(), path);
}

void MappingReader::Optional(std::string key, Handler handler) {
  slots_[std::move(key)] = Slot{std::move(handler), false, false};
}

void MappingReader::Required(std::string key, Handler handler) {
  slots_[std::move(key)] = Slot{std::move(handler), true, false};
}

Result<> MappingReader::Finish() {
  if (node_.kind() == YamlNode::Kind::kNull) {
    for (const auto& [name, slot] : slots_) {
      if (slot.required) {
        return tl::make_unexpected(node_.ErrorAt("missing required key '" + name + "'"));
      }
    }
    return {};
  }
  if (!node_.is_mapping()) {
    return tl::make_unexpected(node_.ErrorAt("expected a mapping of keys to values"));
  }
  for (const auto& [key, value] : node_.entries()) {
    auto it = slots_.find(key.scalar());
    if (it == slots_.end()) {
      std::string known;
      for (const auto& [name, slot] : slots_) {
        known += known.empty() ? name : ", " + name;
      }
      return tl::make_unexpected(
          key.ErrorAt("unknown key '" + key.scalar() + "' (known here: " + known + ")"));
    }
    it->second.seen = true;
    if (auto r = it->second.handler(value); !r) {
      return r;
    }
  }
  for (const auto& [name, slot] : slots_) {
    if (slot.required && !slot.seen) {
      return tl::make_unexpected(node_.ErrorAt("missing required key '" + name + "'"));
    }
  }
  return {};
}

}  // namespace rules
