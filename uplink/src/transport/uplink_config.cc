// The uplink's YAML configuration (keys documented in docs/collector-setup.md).
#include "uplink/transport/uplink_config.h"

#include <string>

#include "rules/yaml.h"

namespace uplink {
namespace {

using rules::Result;
using rules::YamlNode;

Result<UplinkConfig> FromNode(const YamlNode& root) {
  UplinkConfig config;
  if (!root.is_mapping()) return tl::make_unexpected(root.ErrorAt("expected a mapping"));
  auto text = [](std::string* out) {
    return [out](const YamlNode& v) -> Result<> {
      auto s = v.AsString();
      if (!s) return tl::make_unexpected(s.error());
      *out = *s;
      return {};
    };
  };
  auto duration = [](std::chrono::milliseconds* out) {
    return [out](const YamlNode& v) -> Result<> {
      auto d = v.AsDuration();
      if (!d) return tl::make_unexpected(d.error());
      if (d->count() < 1 || *d > std::chrono::hours(24)) {
        return tl::make_unexpected(v.ErrorAt("duration must be between 1ms and 24h"));
      }
      *out = *d;
      return {};
    };
  };
  ShipperConfig& s = config.shipper;
  rules::MappingReader reader(root);
  reader.Required("sensor_id", [&](const YamlNode& v) -> Result<> {
    auto id = v.AsString();
    if (!id) return tl::make_unexpected(id.error());
    if (!ValidSensorId(*id)) {
      return tl::make_unexpected(v.ErrorAt("sensor_id must be 1..64 of [A-Za-z0-9._-]"));
    }
    s.sensor_id = *id;
    return {};
  });
  reader.Required("spool_dir", text(&s.spool_dir));
  reader.Required("state_dir", text(&s.state_dir));
  reader.Required("signing_key", text(&config.signing_key));
  reader.Required("tls_cert", text(&config.tls.cert));
  reader.Required("tls_key", text(&config.tls.key));
  reader.Required("tls_ca", text(&config.tls.ca));
  reader.Optional("collector_address", text(&config.collector_address));
  reader.Optional("rules_public_key", text(&config.rules_public_key));
  reader.Optional("rules_bundle_dir", text(&config.rules_bundle_dir));
  reader.Optional("collector_port", [&](const YamlNode& v) -> Result<> {
    auto p = v.AsInt(1, 65535);
    if (!p) return tl::make_unexpected(p.error());
    config.collector_port = static_cast<uint16_t>(*p);
    return {};
  });
  reader.Optional("window", [&](const YamlNode& v) -> Result<> {
    auto w = v.AsInt(1, 1024);
    if (!w) return tl::make_unexpected(w.error());
    s.window = static_cast<size_t>(*w);
    return {};
  });
  reader.Optional("ack_timeout", duration(&s.ack_timeout));
  reader.Optional("heartbeat_interval", duration(&s.heartbeat_interval));
  reader.Optional("silence_timeout", duration(&s.silence_timeout));
  reader.Optional("rescan_interval", duration(&s.rescan_interval));
  reader.Optional("retry", [&](const YamlNode& v) -> Result<> {
    auto d = v.AsDuration();
    if (!d) return tl::make_unexpected(d.error());
    if (*d < std::chrono::seconds(1) || *d > std::chrono::hours(1)) {
      return tl::make_unexpected(v.ErrorAt("retry must be between 1s and 1h"));
    }
    config.retry = std::chrono::duration_cast<std::chrono::seconds>(*d);
    return {};
  });
  if (auto done = reader.Finish(); !done) return tl::make_unexpected(done.error());
  if (config.rules_public_key.empty() != config.rules_bundle_dir.empty()) {
    return tl::make_unexpected(
        root.ErrorAt("rules_public_key and rules_bundle_dir go together (bundles are verified "
                     "with the key before they are installed)"));
  }
  return config;
}

}  // namespace

Result<UplinkConfig> LoadUplinkConfig(const std::string& path) {
  auto root = rules::ParseYamlFile(path);
  if (!root) return tl::make_unexpected(root.error());
  return FromNode(*root);
}

Result<UplinkConfig> ParseUplinkConfig(std::string_view yaml, const std::string& name) {
  auto root = rules::ParseYamlString(yaml, name);
  if (!root) return tl::make_unexpected(root.error());
  return FromNode(*root);
}

}  // namespace uplink
