#include "uplink/collector/query_format.h"

#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace uplink {
namespace {

// Appends `s` as a JSON string literal (RFC 8259: quote, backslash and controls escaped).
void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          *out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// Builds one JSON object, keys in insertion order.
class JsonObject {
 public:
  JsonObject& Str(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(&text_, value);
    return *this;
  }
  JsonObject& Int(std::string_view key, int64_t value) {
    Key(key);
    text_ += std::to_string(value);
    return *this;
  }
  JsonObject& OptInt(std::string_view key, const std::optional<int64_t>& value) {
    Key(key);
    text_ += value ? std::to_string(*value) : "null";
    return *this;
  }
  JsonObject& Bool(std::string_view key, bool value) {
    Key(key);
    text_ += value ? "true" : "false";
    return *this;
  }
  JsonObject& Raw(std::string_view key, std::string_view json) {
    Key(key);
    text_ += json;
    return *this;
  }
  std::string Done() { return text_ + "}"; }

 private:
  void Key(std::string_view key) {
    text_ += text_.size() > 1 ? "," : "";
    AppendJsonString(&text_, key);
    text_ += ":";
  }
  std::string text_ = "{";
};

// Columns padded to their widest cell, two spaces apart, a header line first.
std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c)
    width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t c = 0; c < cells.size(); ++c) {
      l += cells[c];
      if (c + 1 < cells.size())
        l += std::string(width[c] - cells[c].size() + 2, ' ');
    }
    out += l + "\n";
  };
  line(header);
  for (const auto& row : rows)
    line(row);
  return out;
}

std::string Or(const std::string& s, const char* fallback) {
  return s.empty() ? fallback : s;
}

std::string OptText(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : "-";
}

}  // namespace

std::optional<OutputFormat> OutputFormatFromName(std::string_view name) {
  if (name == "table")
    return OutputFormat::kTable;
  if (name == "json")
    return OutputFormat::kJson;
  return std::nullopt;
}

std::string FormatTimeUs(int64_t us) {
  if (us == 0)
    return "";
  const std::time_t t = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatSoftware(const std::vector<SoftwareRow>& rows, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    std::string out;
    for (const SoftwareRow& r : rows) {
      out += JsonObject()
                 .Str("member", r.member_id)
                 .Str("host", r.host)
                 .Int("port", r.port)
                 .Str("role", r.role)
                 .Str("vendor", r.vendor)
                 .Str("product", r.product)
                 .Str("version", r.version)
                 .Str("cpe23", r.cpe23)
                 .Str("raw", r.raw)
                 .Int("first_seen", r.first_seen_us)
                 .Int("last_seen", r.last_seen_us)
                 .Str("sensor_id", r.sensor_id)
                 .Done() +
             "\n";
    }
    return out;
  }
  std::vector<std::vector<std::string>> cells;
  for (const SoftwareRow& r : rows) {
    cells.push_back({r.member_id, r.host, std::to_string(r.port), Or(r.role, "-"),
                     Or(r.vendor, "-"), r.product, Or(r.version, "-"),
                     FormatTimeUs(r.last_seen_us)});
  }
  return Table({"MEMBER", "HOST", "PORT", "ROLE", "VENDOR", "PRODUCT", "VERSION", "LAST SEEN"},
               cells);
}

std::string FormatHosts(const std::vector<HostRow>& rows, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    std::string out;
    for (const HostRow& h : rows) {
      std::string names = "[";
      for (const std::string& n : h.names) {
        if (names.size() > 1)
          names += ",";
        AppendJsonString(&names, n);
      }
      names += "]";
      std::string services = "[";
      for (const ServiceRow& s : h.services) {
        if (services.size() > 1)
          services += ",";
        services += JsonObject()
                        .Int("port", s.port)
                        .Str("proto", s.proto)
                        .Str("protocol", s.protocol)
                        .Bool("exposed", s.exposed)
                        .Int("first_seen", s.first_seen_us)
                        .Int("last_seen", s.last_seen_us)
                        .Done();
      }
      services += "]";
      const std::string os = JsonObject()
                                 .Str("vendor", h.os_vendor)
                                 .Str("product", h.os_product)
                                 .Str("version", h.os_version)
                                 .Done();
      out += JsonObject()
                 .Str("member", h.member_id)
                 .Str("host", h.host)
                 .Str("mac", h.mac)
                 .Str("vendor", h.vendor)
                 .Raw("names", names)
                 .Raw("os", os)
                 .Int("first_seen", h.first_seen_us)
                 .Int("last_seen", h.last_seen_us)
                 .Raw("services", services)
                 .Done() +
             "\n";
    }
    return out;
  }
  std::vector<std::vector<std::string>> cells;
  for (const HostRow& h : rows) {
    std::string names;
    for (const std::string& n : h.names)
      names += (names.empty() ? "" : ",") + n;
    std::string os = h.os_product;
    if (!h.os_version.empty())
      os += " " + h.os_version;
    std::string services;
    for (const ServiceRow& s : h.services) {
      services += (services.empty() ? "" : " ") + std::to_string(s.port) + "/" + s.proto;
      if (!s.protocol.empty())
        services += "(" + s.protocol + ")";
      if (s.exposed)
        services += "!";
    }
    cells.push_back({h.host, Or(h.mac, "-"), Or(h.vendor, "-"), Or(names, "-"), Or(os, "-"),
                     Or(services, "-"), FormatTimeUs(h.last_seen_us)});
  }
  return Table({"HOST", "MAC", "VENDOR", "NAMES", "OS", "SERVICES", "LAST SEEN"}, cells);
}

std::string FormatGaps(const std::vector<GapRow>& rows, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    std::string out;
    for (const GapRow& g : rows) {
      out += JsonObject()
                 .Str("member", g.member_id)
                 .Str("sensor_id", g.sensor_id)
                 .Int("seq", static_cast<int64_t>(g.sequence))
                 .Str("kind", g.kind)
                 .Str("reason", g.reason)
                 .OptInt("from_seq", g.from_seq)
                 .OptInt("to_seq", g.to_seq)
                 .OptInt("dropped_batches", g.dropped_batches)
                 .Int("received_at", g.received_at_us)
                 .Done() +
             "\n";
    }
    return out;
  }
  std::vector<std::vector<std::string>> cells;
  for (const GapRow& g : rows) {
    cells.push_back({g.member_id, g.sensor_id, std::to_string(g.sequence), g.kind,
                     Or(g.reason, "-"), OptText(g.from_seq), OptText(g.to_seq),
                     OptText(g.dropped_batches), FormatTimeUs(g.received_at_us)});
  }
  return Table({"MEMBER", "SENSOR", "SEQ", "KIND", "REASON", "FROM", "TO", "DROPPED", "RECEIVED"},
               cells);
}

std::string FormatKeys(const std::vector<EnrolledKey>& rows, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    std::string out;
    for (const EnrolledKey& k : rows) {
      out += JsonObject()
                 .Str("member", k.member_id)
                 .Str("sensor_id", k.sensor_id)
                 .Str("key_id", k.key_id)
                 .Str("fingerprint", k.fingerprint)
                 .Int("enrolled_at", k.enrolled_at_us)
                 .OptInt("revoked_at", k.revoked_at_us)
                 .Str("replaced_by", k.replaced_by)
                 .Done() +
             "\n";
    }
    return out;
  }
  std::vector<std::vector<std::string>> cells;
  for (const EnrolledKey& k : rows) {
    cells.push_back({k.member_id, k.sensor_id, k.fingerprint, FormatTimeUs(k.enrolled_at_us),
                     k.revoked_at_us ? FormatTimeUs(*k.revoked_at_us) : "-"});
  }
  return Table({"MEMBER", "SENSOR", "FINGERPRINT", "ENROLLED", "REVOKED"}, cells);
}

std::string FormatAlerts(const std::vector<AlertRow>& rows, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    std::string out;
    for (const AlertRow& a : rows) {
      std::string cves = "[";
      for (const std::string& c : a.cves) {
        if (cves.size() > 1)
          cves += ",";
        AppendJsonString(&cves, c);
      }
      cves += "]";
      out += JsonObject()
                 .Str("member", a.member_id)
                 .Str("sensor_id", a.sensor_id)
                 .Str("rule_id", a.rule_id)
                 .Int("rule_version", a.rule_version)
                 .Str("severity", a.severity)
                 .Str("kind", a.kind)
                 .Str("title", a.title)
                 .Str("host", a.host)
                 .Int("port", a.port)
                 .Str("peer", a.peer)
                 .Str("evidence", a.evidence)
                 .Raw("cves", cves)
                 .Bool("known_exploited", a.known_exploited)
                 .Int("count", a.count)
                 .Int("first_seen", a.first_seen_us)
                 .Int("last_seen", a.last_seen_us)
                 .Done() +
             "\n";
    }
    return out;
  }
  std::vector<std::vector<std::string>> cells;
  for (const AlertRow& a : rows) {
    std::string cves;
    for (const std::string& c : a.cves)
      cves += (cves.empty() ? "" : ",") + c;
    if (a.known_exploited && !cves.empty())
      cves += " (KEV)";
    std::string where = a.host;
    if (a.port != 0)
      where += ":" + std::to_string(a.port);
    cells.push_back({FormatTimeUs(a.last_seen_us), a.member_id, a.severity, a.rule_id, where,
                     Or(a.peer, "-"), a.title, Or(cves, "-")});
  }
  return Table({"LAST SEEN", "MEMBER", "SEVERITY", "RULE", "HOST", "PEER", "TITLE", "CVES"},
               cells);
}

std::string FormatHealth(const std::vector<HealthRow>& rows, OutputFormat format) {
  auto clock = [](const std::optional<bool>& synced) -> std::string {
    return synced ? (*synced ? "synced" : "UNSYNCED") : "-";
  };
  if (format == OutputFormat::kJson) {
    std::string out;
    for (const HealthRow& h : rows) {
      JsonObject o;
      o.Str("member", h.member_id)
          .Str("sensor_id", h.sensor_id)
          .Int("seq", static_cast<int64_t>(h.sequence))
          .Int("window_end", h.window_end_us)
          .Int("received_at", h.received_at_us)
          .Str("sensor_version", h.sensor_version)
          .OptInt("packets", h.packets)
          .OptInt("drops", h.drops)
          .Raw("clock_synced", h.clock_synced ? (*h.clock_synced ? "true" : "false") : "null")
          .OptInt("spool_free_bytes", h.spool_free_bytes);
      // The line was parsed as a JSON object when it was stored.
      if (!h.line.empty())
        o.Raw("health", h.line);
      out += o.Done() + "\n";
    }
    return out;
  }
  std::vector<std::vector<std::string>> cells;
  for (const HealthRow& h : rows) {
    cells.push_back({h.member_id, h.sensor_id, Or(h.sensor_version, "-"),
                     FormatTimeUs(h.window_end_us), FormatTimeUs(h.received_at_us),
                     OptText(h.packets), OptText(h.drops), clock(h.clock_synced),
                     h.spool_free_bytes ? std::to_string(*h.spool_free_bytes >> 20) + " MiB" : "-"});
  }
  return Table({"MEMBER", "SENSOR", "VERSION", "LAST WINDOW", "RECEIVED", "PACKETS", "DROPS",
                "CLOCK", "SPOOL FREE"},
               cells);
}

std::optional<int64_t> ParseSinceUs(std::string_view text, int64_t now_us) {
  if (text.empty())
    return std::nullopt;
  // Relative: a count and a unit.
  if (const char unit = text.back(); unit == 's' || unit == 'm' || unit == 'h' || unit == 'd') {
    int64_t n = 0;
    const std::string_view digits = text.substr(0, text.size() - 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec == std::errc() && end == digits.data() + digits.size() && n >= 0 &&
        n <= int64_t{100} * 365 * 86400) {
      const int64_t scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
      return now_us - n * scale * 1'000'000;
    }
    return std::nullopt;
  }
  // Absolute, UTC: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ.
  std::tm tm{};
  const std::string s(text);
  const char* end = nullptr;
  if (s.size() == 10) {
    end = strptime(s.c_str(), "%Y-%m-%d", &tm);
  } else if (s.size() == 20) {
    end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  }
  if (end == nullptr || *end != '\0')
    return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000;
}

}  // namespace uplink
