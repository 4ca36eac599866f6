// The collector's YAML configuration (keys documented in docs/analysts-guide.md).
#include <string>

#include "rules/yaml.h"
#include "uplink/collector/collector.h"

namespace uplink {
namespace {

using rules::Result;
using rules::YamlNode;

Result<CollectorConfig> FromNode(const YamlNode& root) {
  CollectorConfig config;
  if (root.kind() == YamlNode::Kind::kNull)
    return config;
  if (!root.is_mapping())
    return tl::make_unexpected(root.ErrorAt("expected a mapping"));
  auto text = [](std::string* out) {
    return [out](const YamlNode& v) -> Result<> {
      auto s = v.AsString();
      if (!s)
        return tl::make_unexpected(s.error());
      *out = *s;
      return {};
    };
  };
  auto size = [](size_t* out) {
    return [out](const YamlNode& v) -> Result<> {
      auto s = v.AsSize();
      if (!s)
        return tl::make_unexpected(s.error());
      if (*s < 1024 || *s > (uint64_t{1} << 32)) {
        return tl::make_unexpected(v.ErrorAt("size must be between 1KiB and 4GiB"));
      }
      *out = static_cast<size_t>(*s);
      return {};
    };
  };
  rules::MappingReader reader(root);
  reader.Optional("store_url", [&](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s)
      return tl::make_unexpected(s.error());
    if (!s->starts_with("sqlite://") && !s->starts_with("postgresql://") &&
        !s->starts_with("postgres://")) {
      return tl::make_unexpected(v.ErrorAt("expected sqlite://PATH or postgresql://..."));
    }
    config.store_url = *s;
    return {};
  });
  reader.Optional("max_envelope_bytes", size(&config.max_envelope_bytes));
  reader.Optional("max_raw_bytes", size(&config.max_raw_bytes));
  reader.Optional("listen_address", text(&config.listen_address));
  reader.Optional("rules_bundle_dir", text(&config.rules_bundle_dir));
  reader.Optional("listen_port", [&](const YamlNode& v) -> Result<> {
    auto p = v.AsInt(0, 65535);
    if (!p)
      return tl::make_unexpected(p.error());
    config.listen_port = static_cast<uint16_t>(*p);
    return {};
  });
  reader.Optional("tls_cert", text(&config.tls_cert));
  reader.Optional("tls_key", text(&config.tls_key));
  reader.Optional("tls_ca", text(&config.tls_ca));
  if (auto done = reader.Finish(); !done)
    return tl::make_unexpected(done.error());
  return config;
}

}  // namespace

Result<CollectorConfig> LoadCollectorConfig(const std::string& path) {
  auto root = rules::ParseYamlFile(path);
  if (!root)
    return tl::make_unexpected(root.error());
  return FromNode(*root);
}

Result<CollectorConfig> ParseCollectorConfig(std::string_view yaml, const std::string& name) {
  auto root = rules::ParseYamlString(yaml, name);
  if (!root)
    return tl::make_unexpected(root.error());
  return FromNode(*root);
}

}  // namespace uplink
