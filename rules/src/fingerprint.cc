// The fingerprint database: loading the YAML data files, compiling their patterns with RE2
// (linear time, safe on hostile banners) and matching banners. Format: docs/fingerprints.md.
#include "rules/fingerprint.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <utility>

#include <re2/re2.h>
#include <re2/set.h>

#include "fingerprint_template.h"
#include "rules/yaml.h"

namespace rules {

using fingerprint_internal::Table;
using fingerprint_internal::Tables;
using fingerprint_internal::Template;

namespace {

constexpr size_t kMaxValueBytes = 256;
constexpr size_t kMaxCpeComponent = 64;
constexpr int64_t kPatternMaxMem = 1 << 20;   // per pattern; RE2 falls back to NFA past it
constexpr int64_t kSetMaxMem = 32 << 20;      // the per-kind prefilter DFA

enum FieldId {
  kServiceVendor,
  kServiceProduct,
  kServiceVersion,
  kServiceFamily,
  kOsVendor,
  kOsProduct,
  kOsFamily,
  kOsVersion,
  kHwVendor,
  kHwProduct,
  kHwDevice,
  kFieldCount,
};

constexpr std::array<const char*, kFieldCount> kFieldNames = {
    "service.vendor", "service.product", "service.version", "service.family",
    "os.vendor",      "os.product",      "os.family",       "os.version",
    "hw.vendor",      "hw.product",      "hw.device",
};

std::optional<std::string>* FieldOf(Identification* id, int field) {
  switch (field) {
    case kServiceVendor: return &id->service.vendor;
    case kServiceProduct: return &id->service.product;
    case kServiceVersion: return &id->service.version;
    case kServiceFamily: return &id->service.family;
    case kOsVendor: return &id->os.vendor;
    case kOsProduct: return &id->os.product;
    case kOsFamily: return &id->os.family;
    case kOsVersion: return &id->os.version;
    case kHwVendor: return &id->hw.vendor;
    case kHwProduct: return &id->hw.product;
    case kHwDevice: return &id->hw.device;
    default: return nullptr;
  }
}

// A CPE an entry names: part and templates for vendor, product and (optionally) version. When
// the version template is empty the version is the identification's service.version (part a),
// os.version (part o) or ANY (part h).
struct CpeSpec {
  char part = 'a';
  Template vendor, product, version;
};

struct Entry {
  std::string where;  // "file:line name"
  std::unique_ptr<RE2> re;
  std::vector<std::pair<int, Template>> sets;
  std::vector<CpeSpec> cpes;
  bool keep_going = false;
};

// Turns arbitrary bytes into a clean value: valid UTF-8 (bad bytes become U+FFFD), control
// characters become blanks, blanks at the ends trimmed, at most kMaxValueBytes.
std::string CleanValue(std::string_view in) {
  std::string out;
  out.reserve(std::min(in.size(), kMaxValueBytes));
  size_t i = 0;
  while (i < in.size() && out.size() < kMaxValueBytes) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
      ++i;
      continue;
    }
    size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    if (c >= 0xf5) len = 0;
    bool ok = len != 0 && i + len <= in.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(in[i + k]) & 0xc0) == 0x80;
    }
    if (ok && len == 3) {  // no overlongs, no surrogates
      auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (ok && len == 4) {
      auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  size_t b = out.find_first_not_of(' ');
  if (b == std::string::npos) return {};
  size_t e = out.find_last_not_of(' ');
  return out.substr(b, e - b + 1);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

struct FingerprintDb::Impl {
  struct Kind {
    std::vector<Entry> entries;
    std::unique_ptr<RE2::Set> prefilter;  // nullptr: scan the entries one by one
  };
  std::map<std::string, Kind, std::less<>> kinds;
};

// ---- CPE ---------------------------------------------------------------------------------

std::string EscapeCpe23Component(std::string_view value) {
  std::string out;
  bool blank_run = false;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isspace(c)) {
      if (!out.empty() && !blank_run) out += '_';
      blank_run = true;
      continue;
    }
    blank_run = false;
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.' || c >= 0x80) {
      out += static_cast<char>(std::tolower(c));
    } else if (c < 0x20 || c == 0x7f) {
      continue;
    } else {
      out += '\\';
      out += static_cast<char>(c);
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.empty()) return "*";
  // A lone "-" would read as NA (not applicable): escape it to keep it a literal value.
  if (out == "-") return "\\-";
  return out;
}

std::string FormatCpe23(char part, std::string_view vendor, std::string_view product,
                        std::string_view version) {
  std::string out = "cpe:2.3:";
  out += part;
  out += ':';
  out += EscapeCpe23Component(vendor);
  out += ':';
  out += EscapeCpe23Component(product);
  out += ':';
  out += EscapeCpe23Component(version);
  out += ":*:*:*:*:*:*:*";
  return out;
}

// ---- Identification ------------------------------------------------------------------------

const std::vector<std::string>& IdentificationFieldNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v(kFieldNames.begin(), kFieldNames.end());
    v.emplace_back("cpe23");
    return v;
  }();
  return names;
}

std::vector<std::pair<std::string, std::string>> Identification::Fields() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& name : IdentificationFieldNames()) {
    const std::optional<std::string>* f = Field(name);
    if (f != nullptr && f->has_value()) out.emplace_back(name, **f);
  }
  return out;
}

const std::optional<std::string>* Identification::Field(std::string_view name) const {
  if (name == "cpe23") return &cpe23;
  for (int i = 0; i < kFieldCount; ++i) {
    if (name == kFieldNames[static_cast<size_t>(i)]) {
      return FieldOf(const_cast<Identification*>(this), i);
    }
  }
  return nullptr;
}

// ---- FingerprintDb -------------------------------------------------------------------------

FingerprintDb::FingerprintDb() : impl_(std::make_unique<Impl>()) {}
FingerprintDb::~FingerprintDb() = default;
FingerprintDb::FingerprintDb(FingerprintDb&&) noexcept = default;
FingerprintDb& FingerprintDb::operator=(FingerprintDb&&) noexcept = default;

std::vector<std::string> FingerprintDb::Kinds() const {
  std::vector<std::string> out;
  for (const auto& [name, kind] : impl_->kinds) out.push_back(name);
  return out;
}

size_t FingerprintDb::EntryCount() const {
  size_t n = 0;
  for (const auto& [name, kind] : impl_->kinds) n += kind.entries.size();
  return n;
}

namespace {

// Applies one matching entry: fields not yet known are filled; the CPE is kept when it is of
// a more specific part than the one already chosen (a before o before h).
void ApplyEntry(const Entry& entry, std::string_view text, Identification* id, int* cpe_rank) {
  const RE2& re = *entry.re;
  int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> sub(static_cast<size_t>(n));
  if (!re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED,
                sub.data(), n)) {
    return;
  }
  std::vector<std::string_view> caps;
  caps.reserve(sub.size());
  for (const auto& s : sub) {
    caps.emplace_back(s.data() == nullptr ? std::string_view() : std::string_view(s.data(),
                                                                                   s.size()));
  }
  for (const auto& [field, tmpl] : entry.sets) {
    std::optional<std::string>* slot = FieldOf(id, field);
    if (slot->has_value()) continue;
    if (auto v = tmpl.Render(caps)) {
      std::string clean = CleanValue(*v);
      if (!clean.empty()) *slot = std::move(clean);
    }
  }
  for (const CpeSpec& cpe : entry.cpes) {
    int rank = cpe.part == 'a' ? 3 : cpe.part == 'o' ? 2 : 1;
    if (rank <= *cpe_rank) continue;
    auto vendor = cpe.vendor.Render(caps);
    auto product = cpe.product.Render(caps);
    if (!vendor || !product) continue;
    std::optional<std::string> version;
    if (!cpe.version.empty()) {
      version = cpe.version.Render(caps);
    } else if (cpe.part == 'a') {
      version = id->service.version;
    } else if (cpe.part == 'o') {
      version = id->os.version;
    }
    // A CPE component longer than this is not a real name or version: cut it.
    auto part = [](const std::string& v) { return CleanValue(v).substr(0, kMaxCpeComponent); };
    id->cpe23 = FormatCpe23(cpe.part, part(*vendor), part(*product),
                            version ? part(*version) : std::string());
    *cpe_rank = rank;
  }
  id->matched.push_back(entry.where);
}

}  // namespace

std::optional<Identification> FingerprintDb::Identify(std::string_view kind,
                                                      std::string_view banner) const {
  auto it = impl_->kinds.find(kind);
  if (it == impl_->kinds.end()) return std::nullopt;
  const Impl::Kind& k = it->second;
  std::string_view text = banner.substr(0, std::min(banner.size(), kMaxBannerBytes));

  std::vector<int> candidates;
  bool use_all = true;
  if (k.prefilter) {
    RE2::Set::ErrorInfo info{};
    bool any = k.prefilter->Match(re2::StringPiece(text.data(), text.size()), &candidates, &info);
    if (any || info.kind == RE2::Set::kNoError) {
      use_all = false;
      std::sort(candidates.begin(), candidates.end());
    }
  }
  if (use_all) {
    candidates.clear();
    for (size_t i = 0; i < k.entries.size(); ++i) candidates.push_back(static_cast<int>(i));
  }

  Identification id;
  int cpe_rank = 0;
  for (int index : candidates) {
    const Entry& entry = k.entries[static_cast<size_t>(index)];
    size_t before = id.matched.size();
    ApplyEntry(entry, text, &id, &cpe_rank);
    if (id.matched.size() > before && !entry.keep_going) break;
  }
  if (id.matched.empty()) return std::nullopt;
  return id;
}

// ---- loading -------------------------------------------------------------------------------

namespace {

Result<Tables> LoadTables(const YamlNode& node) {
  Tables tables;
  if (!node.is_mapping()) return tl::make_unexpected(node.ErrorAt("'tables' must be a mapping"));
  for (const auto& [name, body] : node.entries()) {
    if (!body.is_mapping()) {
      return tl::make_unexpected(body.ErrorAt("table '" + name.scalar() + "' must be a mapping"));
    }
    auto table = std::make_shared<Table>();
    for (const auto& [key, value] : body.entries()) {
      auto v = value.AsString();
      if (!v) return tl::make_unexpected(v.error());
      if (!table->emplace(Lower(key.scalar()), *v).second) {
        return tl::make_unexpected(key.ErrorAt("duplicate key '" + key.scalar() +
                                               "' in table '" + name.scalar() +
                                               "' (keys are compared without case)"));
      }
    }
    tables.emplace(name.scalar(), std::move(table));
  }
  return tables;
}

// Splits "a:vendor:product[:version]" at the colons outside "{...}".
std::vector<std::string> SplitCpe(const std::string& text) {
  std::vector<std::string> parts(1);
  int depth = 0;
  for (char c : text) {
    if (c == '{') ++depth;
    if (c == '}' && depth > 0) --depth;
    if (c == ':' && depth == 0) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

Result<CpeSpec> ParseCpe(const YamlNode& node, const RE2& re, const Tables& tables) {
  auto text = node.AsString();
  if (!text) return tl::make_unexpected(text.error());
  std::vector<std::string> parts = SplitCpe(*text);
  if (parts.size() < 3 || parts.size() > 4 || parts[0].size() != 1 ||
      std::string_view("aoh").find(parts[0][0]) == std::string_view::npos) {
    return tl::make_unexpected(node.ErrorAt(
        "cpe must be 'PART:VENDOR:PRODUCT[:VERSION]' with PART one of a, o, h; got '" + *text +
        "'"));
  }
  CpeSpec spec;
  spec.part = parts[0][0];
  int groups = re.NumberOfCapturingGroups();
  const auto& named = re.NamedCapturingGroups();
  auto vendor = Template::Parse(node, parts[1], groups, named, tables);
  if (!vendor) return tl::make_unexpected(vendor.error());
  auto product = Template::Parse(node, parts[2], groups, named, tables);
  if (!product) return tl::make_unexpected(product.error());
  spec.vendor = std::move(*vendor);
  spec.product = std::move(*product);
  if (parts.size() == 4) {
    auto version = Template::Parse(node, parts[3], groups, named, tables);
    if (!version) return tl::make_unexpected(version.error());
    spec.version = std::move(*version);
  }
  return spec;
}

Result<Entry> LoadEntry(const YamlNode& node, const Tables& tables, size_t index) {
  if (!node.is_mapping()) return tl::make_unexpected(node.ErrorAt("an entry must be a mapping"));
  Entry entry;
  std::string name = "entry " + std::to_string(index + 1);
  const YamlNode* pattern_node = node.Find("pattern");
  if (pattern_node == nullptr) {
    return tl::make_unexpected(node.ErrorAt("entry without 'pattern'"));
  }
  auto pattern = pattern_node->AsString();
  if (!pattern) return tl::make_unexpected(pattern.error());
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);  // banners are bytes, not always UTF-8
  options.set_log_errors(false);
  options.set_max_mem(kPatternMaxMem);
  entry.re = std::make_unique<RE2>(*pattern, options);
  if (!entry.re->ok()) {
    return tl::make_unexpected(pattern_node->ErrorAt("bad pattern: " + entry.re->error()));
  }
  const RE2& re = *entry.re;

  MappingReader reader(node);
  reader.Optional("name", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    name = *s;
    return {};
  });
  reader.Required("pattern", [](const YamlNode&) -> Result<> { return {}; });
  reader.Optional("continue", [&](const YamlNode& v) -> Result<> {
    auto b = v.AsBool();
    if (!b) return tl::make_unexpected(b.error());
    entry.keep_going = *b;
    return {};
  });
  reader.Required("set", [&](const YamlNode& v) -> Result<> {
    if (!v.is_mapping()) return tl::make_unexpected(v.ErrorAt("'set' must be a mapping"));
    for (const auto& [key, value] : v.entries()) {
      auto field = std::find(kFieldNames.begin(), kFieldNames.end(), key.scalar());
      if (field == kFieldNames.end()) {
        return tl::make_unexpected(key.ErrorAt("unknown field '" + key.scalar() + "'"));
      }
      // A list of templates: the first one that renders gives the value.
      std::vector<const YamlNode*> alternatives;
      if (value.is_sequence()) {
        for (const YamlNode& item : value.items()) alternatives.push_back(&item);
      } else {
        alternatives.push_back(&value);
      }
      for (const YamlNode* alt : alternatives) {
        auto text = alt->AsString();
        if (!text) return tl::make_unexpected(text.error());
        auto tmpl = Template::Parse(*alt, *text, re.NumberOfCapturingGroups(),
                                    re.NamedCapturingGroups(), tables);
        if (!tmpl) return tl::make_unexpected(tmpl.error());
        entry.sets.emplace_back(static_cast<int>(field - kFieldNames.begin()), std::move(*tmpl));
      }
    }
    return {};
  });
  reader.Optional("cpe", [&](const YamlNode& v) -> Result<> {
    std::vector<const YamlNode*> nodes;
    if (v.is_sequence()) {
      for (const YamlNode& item : v.items()) nodes.push_back(&item);
    } else {
      nodes.push_back(&v);
    }
    for (const YamlNode* n : nodes) {
      auto spec = ParseCpe(*n, re, tables);
      if (!spec) return tl::make_unexpected(spec.error());
      entry.cpes.push_back(std::move(*spec));
    }
    return {};
  });
  // Examples the author wrote for the entry; checked at load so that a pattern and its
  // intent cannot drift apart.
  reader.Optional("examples", [&](const YamlNode& v) -> Result<> {
    auto list = v.AsStringList();
    if (!list) return tl::make_unexpected(list.error());
    for (const std::string& example : *list) {
      if (!RE2::PartialMatch(example, re)) {
        return tl::make_unexpected(
            v.ErrorAt("the pattern does not match its example '" + example + "'"));
      }
    }
    return {};
  });
  if (auto done = reader.Finish(); !done) return tl::make_unexpected(done.error());
  entry.where = node.mark().file + ":" + std::to_string(node.mark().line) + " " + name;
  return entry;
}

Result<FingerprintDb::Impl::Kind> LoadKind(const YamlNode& root) {
  FingerprintDb::Impl::Kind kind;
  if (root.kind() == YamlNode::Kind::kNull) return kind;
  if (!root.is_mapping()) {
    return tl::make_unexpected(root.ErrorAt("a fingerprint file must be a mapping"));
  }
  Tables tables;
  if (const YamlNode* t = root.Find("tables")) {
    auto loaded = LoadTables(*t);
    if (!loaded) return tl::make_unexpected(loaded.error());
    tables = std::move(*loaded);
  }
  MappingReader reader(root);
  reader.Optional("tables", [](const YamlNode&) -> Result<> { return {}; });
  reader.Optional("description", [](const YamlNode&) -> Result<> { return {}; });
  reader.Required("entries", [&](const YamlNode& v) -> Result<> {
    if (!v.is_sequence()) return tl::make_unexpected(v.ErrorAt("'entries' must be a list"));
    for (const YamlNode& item : v.items()) {
      auto entry = LoadEntry(item, tables, kind.entries.size());
      if (!entry) return tl::make_unexpected(entry.error());
      kind.entries.push_back(std::move(*entry));
    }
    return {};
  });
  if (auto done = reader.Finish(); !done) return tl::make_unexpected(done.error());

  if (!kind.entries.empty()) {
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingLatin1);
    options.set_log_errors(false);
    options.set_max_mem(kSetMaxMem);
    auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
    bool ok = true;
    for (const Entry& e : kind.entries) {
      if (set->Add(e.re->pattern(), nullptr) < 0) {
        ok = false;
        break;
      }
    }
    if (ok && set->Compile()) kind.prefilter = std::move(set);
  }
  return kind;
}

}  // namespace

Result<FingerprintDb> LoadFingerprintDbFromString(std::string_view kind, std::string_view yaml,
                                                  const std::string& name) {
  auto root = ParseYamlString(yaml, name);
  if (!root) return tl::make_unexpected(root.error());
  auto loaded = LoadKind(*root);
  if (!loaded) return tl::make_unexpected(loaded.error());
  FingerprintDb db;
  db.impl_->kinds.emplace(std::string(kind), std::move(*loaded));
  return db;
}

Result<FingerprintDb> LoadFingerprintDb(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Fail(ErrorCode::kNotFound, dir + ": not a directory of fingerprint files");
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".yaml" && it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) return Fail(ErrorCode::kIo, dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  FingerprintDb db;
  for (const fs::path& path : files) {
    auto root = ParseYamlFile(path.string());
    if (!root) return tl::make_unexpected(root.error());
    auto loaded = LoadKind(*root);
    if (!loaded) return tl::make_unexpected(loaded.error());
    db.impl_->kinds.emplace(path.stem().string(), std::move(*loaded));
  }
  if (db.impl_->kinds.empty()) {
    return Fail(ErrorCode::kNotFound, dir + ": no fingerprint files (*.yaml)");
  }
  return db;
}

}  // namespace rules
