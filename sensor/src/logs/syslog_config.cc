// Reading the `syslog:` configuration section (sensor/logs/syslog_config.h).
#include "sensor/logs/syslog_config.h"

#include <utility>

namespace sensor {

namespace {

using rules::MappingReader;
using rules::Result;
using rules::YamlNode;

template <class T>
Result<> Unexpected(const rules::Result<T>& r) {
  return tl::make_unexpected(r.error());
}

// Handlers for the common value kinds.
MappingReader::Handler String(std::string* out, bool allow_empty = false) {
  return [out, allow_empty](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return Unexpected(s);
    if (s->empty() && !allow_empty) return tl::make_unexpected(v.ErrorAt("must not be empty"));
    *out = *s;
    return {};
  };
}

template <class T>
MappingReader::Handler Int(T* out, int64_t min, int64_t max) {
  return [out, min, max](const YamlNode& v) -> Result<> {
    auto n = v.AsInt(min, max);
    if (!n) return Unexpected(n);
    *out = static_cast<T>(*n);
    return {};
  };
}

template <class T>
MappingReader::Handler Size(T* out, uint64_t min, uint64_t max) {
  return [out, min, max](const YamlNode& v) -> Result<> {
    auto n = v.AsSize();
    if (!n) return Unexpected(n);
    if (*n < min || *n > max) {
      return tl::make_unexpected(v.ErrorAt("size must be between " + std::to_string(min) +
                                           " and " + std::to_string(max) + " bytes"));
    }
    *out = static_cast<T>(*n);
    return {};
  };
}

MappingReader::Handler Duration(std::chrono::milliseconds* out, bool allow_zero) {
  return [out, allow_zero](const YamlNode& v) -> Result<> {
    auto d = v.AsDuration();
    if (!d) return Unexpected(d);
    if (d->count() < 0 || (d->count() == 0 && !allow_zero)) {
      return tl::make_unexpected(v.ErrorAt("duration must be positive"));
    }
    *out = *d;
    return {};
  };
}

Result<> ReadListener(const YamlNode& node, SyslogListenerConfig* l) {
  if (!node.is_mapping()) return tl::make_unexpected(node.ErrorAt("a listener is a mapping"));
  bool port_seen = false;
  MappingReader r(node);
  r.Required("transport", [l](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return Unexpected(s);
    if (*s == "udp") l->transport = SyslogTransport::kUdp;
    else if (*s == "tcp") l->transport = SyslogTransport::kTcp;
    else if (*s == "tls") l->transport = SyslogTransport::kTls;
    else return tl::make_unexpected(v.ErrorAt("transport must be udp, tcp or tls"));
    return {};
  });
  r.Optional("address", [l](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return Unexpected(s);
    if (!rules::IpAddress::Parse(*s)) {
      return tl::make_unexpected(v.ErrorAt("address must be an IPv4 or IPv6 address"));
    }
    l->address = *s;
    return {};
  });
  r.Optional("port", [l, &port_seen](const YamlNode& v) -> Result<> {
    auto n = v.AsInt(0, 65535);
    if (!n) return Unexpected(n);
    l->port = static_cast<uint16_t>(*n);
    port_seen = true;
    return {};
  });
  r.Optional("allowed_senders", [l](const YamlNode& v) -> Result<> {
    auto list = v.AsStringList();
    if (!list) return Unexpected(list);
    for (const std::string& text : *list) {
      auto cidr = rules::Cidr::Parse(text);
      if (!cidr) return tl::make_unexpected(v.ErrorAt("not an address or CIDR: '" + text + "'"));
      l->allowed_senders.push_back(*cidr);
    }
    return {};
  });
  r.Optional("cert", String(&l->tls_cert));
  r.Optional("key", String(&l->tls_key));
  r.Optional("ca", String(&l->tls_ca));
  r.Optional("require_client_cert", [l](const YamlNode& v) -> Result<> {
    auto b = v.AsBool();
    if (!b) return Unexpected(b);
    l->require_client_cert = *b;
    return {};
  });
  if (auto done = r.Finish(); !done) return done;
  if (!port_seen) l->port = l->transport == SyslogTransport::kTls ? 6514 : 514;
  if (l->transport == SyslogTransport::kTls) {
    if (l->tls_cert.empty() || l->tls_key.empty()) {
      return tl::make_unexpected(node.ErrorAt("a tls listener needs cert and key"));
    }
    if (l->require_client_cert && l->tls_ca.empty()) {
      return tl::make_unexpected(node.ErrorAt("require_client_cert needs ca"));
    }
  } else if (!l->tls_cert.empty() || !l->tls_key.empty() || !l->tls_ca.empty() ||
             l->require_client_cert) {
    return tl::make_unexpected(node.ErrorAt("cert, key, ca and require_client_cert are for tls"));
  }
  return {};
}

Result<> ReadLimits(const YamlNode& node, SyslogLimits* l) {
  MappingReader r(node);
  r.Optional("max_message_bytes", Size(&l->max_message_bytes, 480, 16 * 1024 * 1024));
  r.Optional("max_connections", Int(&l->max_connections, 1, 1000000));
  r.Optional("max_connections_per_sender", Int(&l->max_connections_per_sender, 1, 1000000));
  r.Optional("idle_timeout", Duration(&l->idle_timeout, false));
  r.Optional("frame_timeout", Duration(&l->frame_timeout, false));
  r.Optional("max_messages_per_second", Int(&l->max_messages_per_second, 0, 100000000));
  r.Optional("burst_messages", Int(&l->burst_messages, 0, 1000000000));
  r.Optional("max_queue_bytes", Size(&l->max_queue_bytes, 1024 * 1024, 1ull << 40));
  return r.Finish();
}

Result<> ReadStore(const YamlNode& node, LogStoreConfig* s) {
  MappingReader r(node);
  r.Required("directory", String(&s->directory));
  r.Optional("max_bytes", Size(&s->max_bytes, 1024 * 1024, ~0ull));
  r.Optional("max_age", Duration(&s->max_age, true));
  r.Optional("segment_bytes", Size(&s->segment_bytes, 64 * 1024, 1ull << 32));
  r.Optional("block_bytes", Size(&s->block_bytes, 4096, 16 * 1024 * 1024));
  r.Optional("flush_interval", Duration(&s->flush_interval, false));
  r.Optional("compression_level", Int(&s->compression_level, 1, 19));
  r.Optional("quiet_min_per_hour", Int(&s->quiet_min_per_hour, 1, 100000000));
  r.Optional("quiet_steady_hours", Int(&s->quiet_steady_hours, 1, 23));
  r.Optional("quiet_after", Duration(&s->quiet_after, false));
  return r.Finish();
}

Result<SyslogdConfig> ReadSyslogdRoot(const YamlNode& root) {
  SyslogdConfig config;
  if (!root.is_mapping()) {
    return tl::make_unexpected(root.ErrorAt("expected a mapping with member_id and syslog"));
  }
  MappingReader r(root);
  r.Required("member_id", String(&config.member_id));
  r.Required("syslog", [&config](const YamlNode& v) { return ReadSyslogConfig(v, &config.syslog); });
  if (auto done = r.Finish(); !done) return tl::make_unexpected(done.error());
  return config;
}

}  // namespace

const char* SyslogTransportName(SyslogTransport transport) {
  switch (transport) {
    case SyslogTransport::kUdp: return "udp";
    case SyslogTransport::kTcp: return "tcp";
    case SyslogTransport::kTls: return "tls";
  }
  return "?";
}

Result<> ReadSyslogConfig(const YamlNode& node, SyslogConfig* out) {
  if (!node.is_mapping()) return tl::make_unexpected(node.ErrorAt("syslog must be a mapping"));
  SyslogConfig c;
  c.enabled = true;
  MappingReader r(node);
  r.Required("listeners", [&c](const YamlNode& v) -> Result<> {
    if (!v.is_sequence() || v.items().empty()) {
      return tl::make_unexpected(v.ErrorAt("listeners must be a non-empty list"));
    }
    for (const YamlNode& item : v.items()) {
      SyslogListenerConfig l;
      if (auto ok = ReadListener(item, &l); !ok) return ok;
      c.listeners.push_back(std::move(l));
    }
    return {};
  });
  r.Optional("limits", [&c](const YamlNode& v) { return ReadLimits(v, &c.limits); });
  r.Required("store", [&c](const YamlNode& v) { return ReadStore(v, &c.store); });
  if (auto done = r.Finish(); !done) return done;
  if (c.limits.max_connections_per_sender > c.limits.max_connections) {
    return tl::make_unexpected(node.ErrorAt("max_connections_per_sender exceeds max_connections"));
  }
  *out = std::move(c);
  return {};
}

Result<SyslogdConfig> ReadSyslogdConfigFile(const std::string& path) {
  auto root = rules::ParseYamlFile(path);
  if (!root) return tl::make_unexpected(root.error());
  return ReadSyslogdRoot(*root);
}

Result<SyslogdConfig> ReadSyslogdConfigString(const std::string& text, const std::string& name) {
  auto root = rules::ParseYamlString(text, name);
  if (!root) return tl::make_unexpected(root.error());
  return ReadSyslogdRoot(*root);
}

}  // namespace sensor
