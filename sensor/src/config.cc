#include "sensor/config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "rules/yaml.h"

namespace sensor {
namespace {

using rules::ErrorCode;
using rules::MappingReader;
using rules::Result;
using rules::YamlNode;

// Handlers for the plain cases: a bool, a text (optionally non-empty).
MappingReader::Handler BoolInto(bool* out) {
  return [out](const YamlNode& v) -> Result<> {
    auto b = v.AsBool();
    if (!b) return tl::make_unexpected(b.error());
    *out = *b;
    return {};
  };
}

MappingReader::Handler TextInto(std::string* out, const char* non_empty_name = nullptr) {
  return [out, non_empty_name](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    if (non_empty_name != nullptr && s->empty()) {
      return tl::make_unexpected(v.ErrorAt(std::string(non_empty_name) + " must not be empty"));
    }
    *out = *s;
    return {};
  };
}

Result<> ReadCapture(const YamlNode& node, CaptureConfig* c) {
  MappingReader r(node);
  r.Optional("interface", [c](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    if (s->empty() || s->size() > 15) {
      return tl::make_unexpected(v.ErrorAt("interface name must be 1 to 15 characters"));
    }
    c->interface = *s;
    return {};
  });
  r.Optional("snaplen", [c](const YamlNode& v) -> Result<> {
    auto n = v.AsInt(64, 262144);
    if (!n) return tl::make_unexpected(n.error());
    c->snaplen = static_cast<int>(*n);
    return {};
  });
  r.Optional("buffer_size", [c](const YamlNode& v) -> Result<> {
    auto n = v.AsSize();
    if (!n) return tl::make_unexpected(n.error());
    if (*n < (1ULL << 20) || *n > (16ULL << 30)) {
      return tl::make_unexpected(v.ErrorAt("buffer_size must be between 1MiB and 16GiB"));
    }
    c->buffer_bytes = *n;
    return {};
  });
  r.Optional("promiscuous", BoolInto(&c->promiscuous));
  r.Optional("filter", [c](const YamlNode& v) -> Result<> {
    if (v.kind() == YamlNode::Kind::kNull) {
      c->bpf_filter.clear();
      return {};
    }
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    c->bpf_filter = *s;
    return {};
  });
  return r.Finish();
}

Result<> ReadTimeout(const YamlNode& v, std::chrono::milliseconds* out) {
  auto d = v.AsDuration();
  if (!d) return tl::make_unexpected(d.error());
  if (*d < std::chrono::seconds(1) || *d > std::chrono::hours(24 * 7)) {
    return tl::make_unexpected(v.ErrorAt("timeout must be between 1s and 7d"));
  }
  *out = *d;
  return {};
}

Result<> ReadFlows(const YamlNode& node, FlowTableConfig* f) {
  MappingReader r(node);
  r.Optional("tcp_idle_timeout",
             [f](const YamlNode& v) { return ReadTimeout(v, &f->tcp_idle_timeout); });
  r.Optional("udp_idle_timeout",
             [f](const YamlNode& v) { return ReadTimeout(v, &f->udp_idle_timeout); });
  r.Optional("icmp_idle_timeout",
             [f](const YamlNode& v) { return ReadTimeout(v, &f->icmp_idle_timeout); });
  r.Optional("other_idle_timeout",
             [f](const YamlNode& v) { return ReadTimeout(v, &f->other_idle_timeout); });
  r.Optional("tcp_close_delay",
             [f](const YamlNode& v) { return ReadTimeout(v, &f->tcp_close_delay); });
  r.Optional("report_interval",
             [f](const YamlNode& v) { return ReadTimeout(v, &f->report_interval); });
  r.Optional("max_flows", [f](const YamlNode& v) -> Result<> {
    auto n = v.AsInt(1000, 64 * 1024 * 1024);
    if (!n) return tl::make_unexpected(n.error());
    f->max_flows = static_cast<size_t>(*n);
    return {};
  });
  return r.Finish();
}

Result<> ReadLogs(const YamlNode& node, LogConfig* l) {
  MappingReader r(node);
  r.Optional("directory", TextInto(&l->directory, "directory"));
  r.Optional("format", [l](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    if (*s == "json") {
      l->format = LogFormat::kJson;
    } else if (*s == "tsv") {
      l->format = LogFormat::kTsv;
    } else {
      return tl::make_unexpected(v.ErrorAt("format must be json or tsv, not '" + *s + "'"));
    }
    return {};
  });
  r.Optional("stats_interval", [l](const YamlNode& v) -> Result<> {
    return ReadTimeout(v, &l->stats_interval);
  });
  r.Optional("weirds_per_interval", [l](const YamlNode& v) -> Result<> {
    auto n = v.AsInt(0, 1000000);
    if (!n) return tl::make_unexpected(n.error());
    l->weirds_per_interval = static_cast<uint32_t>(*n);
    return {};
  });
  r.Optional("protocol_logs", [l](const YamlNode& v) -> Result<> {
    auto b = v.AsBool();
    if (!b) return tl::make_unexpected(b.error());
    l->protocol_logs = *b;
    return {};
  });
  return r.Finish();
}

Result<> ReadInventory(const YamlNode& node, InventorySettings* c) {
  MappingReader r(node);
  r.Optional("enabled", BoolInto(&c->enabled));
  r.Optional("database", TextInto(&c->database, "database"));
  r.Optional("fingerprints", TextInto(&c->fingerprints));
  r.Optional("p0f_database", TextInto(&c->p0f_database));
  return r.Finish();
}

Result<> ReadSummary(const YamlNode& node, SummarySettings* c) {
  MappingReader r(node);
  r.Optional("enabled", BoolInto(&c->enabled));
  r.Optional("spool_directory", TextInto(&c->spool_directory, "spool_directory"));
  r.Optional("interval", [c](const YamlNode& v) { return ReadTimeout(v, &c->interval); });
  r.Optional("max_batch_bytes", [c](const YamlNode& v) -> Result<> {
    auto n = v.AsSize();
    if (!n) return tl::make_unexpected(n.error());
    if (*n < 4096 || *n > (uint64_t{64} << 20)) {
      return tl::make_unexpected(v.ErrorAt("max_batch_bytes must be between 4KiB and 64MiB"));
    }
    c->max_batch_bytes = *n;
    return {};
  });
  r.Optional("client_banners", BoolInto(&c->client_banners));
  r.Optional("peer_addresses", [c](const YamlNode& v) -> Result<> {
    auto n = v.AsSize();
    if (!n) return tl::make_unexpected(n.error());
    if (*n > 64) return tl::make_unexpected(v.ErrorAt("peer_addresses must be between 0 and 64"));
    c->peer_addresses = static_cast<uint32_t>(*n);
    return {};
  });
  r.Optional("alert_personal_evidence", BoolInto(&c->alert_personal_evidence));
  return r.Finish();
}

Result<> ReadId(const YamlNode& v, std::string* out) {
  auto s = v.AsString();
  if (!s) return tl::make_unexpected(s.error());
  if (s->empty() || s->size() > 64) {
    return tl::make_unexpected(v.ErrorAt("an id must be 1 to 64 characters"));
  }
  for (char c : *s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) {
      return tl::make_unexpected(
          v.ErrorAt("an id may hold letters, digits, '-', '_' and '.', not '" + *s + "'"));
    }
  }
  *out = *s;
  return {};
}

}  // namespace

std::vector<rules::Cidr> DefaultLocalNets() {
  std::vector<rules::Cidr> nets;
  for (const char* text : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                           "169.254.0.0/16", "fc00::/7", "fe80::/10"}) {
    nets.push_back(*rules::Cidr::Parse(text));
  }
  return nets;
}

Result<SensorConfig> ParseSensorConfig(std::string_view text, const std::string& name) {
  auto root = rules::ParseYamlString(text, name);
  if (!root) {
    return tl::make_unexpected(rules::Error{ErrorCode::kConfig, root.error().message});
  }
  SensorConfig config;
  config.source = name;
  config.local_nets = DefaultLocalNets();
  MappingReader r(*root);
  r.Required("member_id", [&](const YamlNode& v) { return ReadId(v, &config.member_id); });
  r.Optional("sensor_id", [&](const YamlNode& v) { return ReadId(v, &config.sensor_id); });
  r.Optional("capture", [&](const YamlNode& v) { return ReadCapture(v, &config.capture); });
  r.Optional("flows", [&](const YamlNode& v) { return ReadFlows(v, &config.flows); });
  r.Optional("logs", [&](const YamlNode& v) { return ReadLogs(v, &config.logs); });
  r.Optional("inventory",
             [&](const YamlNode& v) { return ReadInventory(v, &config.inventory); });
  r.Optional("summary", [&](const YamlNode& v) { return ReadSummary(v, &config.summary); });
  r.Optional("syslog", [&](const YamlNode& v) { return ReadSyslogConfig(v, &config.syslog); });
  r.Optional("alerts", [&](const YamlNode& v) { return ReadAlertsSettings(v, &config.alerts); });
  r.Optional("user", TextInto(&config.user));
  r.Optional("local_nets", [&](const YamlNode& v) -> Result<> {
    if (!v.is_sequence()) {
      return tl::make_unexpected(v.ErrorAt("local_nets must be a list of networks (CIDR)"));
    }
    config.local_nets.clear();
    for (const auto& item : v.items()) {
      auto s = item.AsString();
      if (!s) return tl::make_unexpected(s.error());
      auto cidr = rules::Cidr::Parse(*s);
      if (!cidr) {
        return tl::make_unexpected(
            item.ErrorAt("'" + *s + "' is not a network such as 10.0.0.0/8 or 2001:db8::/32"));
      }
      config.local_nets.push_back(*cidr);
    }
    return {};
  });
  if (auto done = r.Finish(); !done) {
    return tl::make_unexpected(done.error());
  }
  if (config.sensor_id.empty()) {
    config.sensor_id = config.member_id + "-sensor";
  }
  return config;
}

Result<SensorConfig> LoadSensorConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return rules::Fail(ErrorCode::kIo, path + ": cannot open: " + std::strerror(errno));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return rules::Fail(ErrorCode::kIo, path + ": cannot read: " + std::strerror(errno));
  }
  return ParseSensorConfig(text, path);
}

}  // namespace sensor
