#include "sensor/inventory/report.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "inventory/sqlite_db.h"
#include "inventory/text.h"
#include "sensor/output/zeek_log.h"

namespace sensor {

using inventory_internal::AppendCsvField;
using inventory_internal::AppendJsonString;
using inventory_internal::ColumnInt;
using inventory_internal::ColumnText;
using inventory_internal::IsoTime;
using rules::ErrorCode;
using rules::Fail;
using rules::Result;

namespace {

std::string JoinWords(std::initializer_list<const std::string*> words) {
  std::string out;
  for (const std::string* w : words) {
    if (w->empty()) continue;
    if (!out.empty()) out.push_back(' ');
    out += *w;
  }
  return out;
}

// Sort key of an address text: numeric for addresses, the text otherwise.
std::pair<std::array<uint8_t, 16>, std::string> AddressOrder(const std::string& text) {
  auto ip = rules::IpAddress::Parse(text);
  return {ip ? ip->bytes() : std::array<uint8_t, 16>{0xff}, text};
}

// Runs sql and calls row(stmt) per row.
template <class Row>
Result<> ForEachRow(sqlite3* db, const std::string& path, const char* sql, Row row) {
  auto stmt = inventory_internal::Prepare(db, sql);
  if (!stmt) return Fail(stmt.error(), path + ": ");
  while (true) {
    auto more = inventory_internal::Step(db, stmt->get(), "reading");
    if (!more) return Fail(more.error(), path + ": ");
    if (!*more) return {};
    row(stmt->get());
  }
}

Result<inventory_internal::SqlitePtr> OpenReadOnly(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Fail(ErrorCode::kNotFound,
                path + ": no inventory database there (the sensor creates it on its first run)");
  }
  auto db = inventory_internal::OpenDb(path, SQLITE_OPEN_READONLY);
  if (!db) return tl::make_unexpected(db.error());
  if (auto ok = inventory_internal::EnsureSchema(db->get(), path, false); !ok) {
    return tl::make_unexpected(ok.error());
  }
  return db;
}

std::string Proto(uint8_t transport) { return std::string(ZeekProtoName(transport)); }

}  // namespace

std::string InventoryOs::Label() const {
  static const std::string kNone;
  // "Debian" + "Debian GNU/Linux" reads better as "Debian GNU/Linux".
  bool repeats = !vendor.empty() && product.rfind(vendor, 0) == 0;
  return JoinWords({repeats ? &kNone : &vendor, &product, &version});
}

std::string InventorySoftware::Label() const {
  // A TLS client's fingerprint names its method and shows its value: "JA4 t13d1516h2_8daaf...".
  if (kind == "tls_client" && vendor.empty() && version.empty() && !raw.empty()) {
    return product.empty() ? raw : product + " " + raw;
  }
  std::string label = JoinWords({&vendor, &product, &version});
  return label.empty() ? raw : label;
}

Result<std::vector<InventoryHost>> ReadInventory(const std::string& path,
                                                 const InventoryQuery& query) {
  auto db_or = OpenReadOnly(path);
  if (!db_or) return tl::make_unexpected(db_or.error());
  sqlite3* db = db_or->get();
  std::map<int64_t, InventoryHost> hosts;
  auto ok = ForEachRow(db, path,
                       "SELECT id, key_kind, key, coalesce(mac, ''), coalesce(vendor, ''), "
                       "mac_random, first_seen, last_seen FROM hosts",
                       [&](sqlite3_stmt* s) {
                         InventoryHost& h = hosts[ColumnInt(s, 0)];
                         h.id = ColumnInt(s, 0);
                         h.key_kind = ColumnText(s, 1);
                         h.key = ColumnText(s, 2);
                         h.mac = ColumnText(s, 3);
                         h.vendor = ColumnText(s, 4);
                         h.mac_random = ColumnInt(s, 5) != 0;
                         h.first_seen = ColumnInt(s, 6);
                         h.last_seen = ColumnInt(s, 7);
                       });
  auto host_of = [&](sqlite3_stmt* s) -> InventoryHost* {
    auto it = hosts.find(ColumnInt(s, 0));
    return it != hosts.end() ? &it->second : nullptr;
  };
  if (ok) {
    ok = ForEachRow(db, path,
                    "SELECT host_id, ip, source, first_seen, last_seen FROM host_addresses",
                    [&](sqlite3_stmt* s) {
                      if (InventoryHost* h = host_of(s)) {
                        h->addresses.push_back({ColumnText(s, 1), ColumnText(s, 2),
                                                ColumnInt(s, 3), ColumnInt(s, 4)});
                      }
                    });
  }
  if (ok) {
    ok = ForEachRow(db, path,
                    "SELECT host_id, name, kind, source, first_seen, last_seen FROM host_names "
                    "ORDER BY name, kind, source",
                    [&](sqlite3_stmt* s) {
                      if (InventoryHost* h = host_of(s)) {
                        h->names.push_back({ColumnText(s, 1), ColumnText(s, 2), ColumnText(s, 3),
                                            ColumnInt(s, 4), ColumnInt(s, 5)});
                      }
                    });
  }
  if (ok) {
    ok = ForEachRow(db, path,
                    "SELECT host_id, vendor, product, version, family, source, raw, confidence, "
                    "first_seen, last_seen FROM host_os "
                    "ORDER BY confidence DESC, last_seen DESC, id DESC",
                    [&](sqlite3_stmt* s) {
                      if (InventoryHost* h = host_of(s)) {
                        InventoryOs o;
                        o.vendor = ColumnText(s, 1);
                        o.product = ColumnText(s, 2);
                        o.version = ColumnText(s, 3);
                        o.family = ColumnText(s, 4);
                        o.source = ColumnText(s, 5);
                        o.raw = ColumnText(s, 6);
                        o.confidence = static_cast<int>(ColumnInt(s, 7));
                        o.first_seen = ColumnInt(s, 8);
                        o.last_seen = ColumnInt(s, 9);
                        h->os.push_back(std::move(o));
                      }
                    });
  }
  if (ok) {
    ok = ForEachRow(db, path,
                    "SELECT host_id, ip, port, transport, protocol, application, exposed, "
                    "first_exposed_seen, first_seen, last_seen FROM services "
                    "ORDER BY port, transport, protocol, ip",
                    [&](sqlite3_stmt* s) {
                      if (InventoryHost* h = host_of(s)) {
                        InventoryService v;
                        v.ip = ColumnText(s, 1);
                        v.port = static_cast<uint16_t>(ColumnInt(s, 2));
                        v.transport = static_cast<uint8_t>(ColumnInt(s, 3));
                        v.protocol = ColumnText(s, 4);
                        v.application = ColumnText(s, 5);
                        v.exposed = ColumnInt(s, 6) != 0;
                        if (!inventory_internal::ColumnIsNull(s, 7)) {
                          v.first_exposed_seen = ColumnInt(s, 7);
                        }
                        v.first_seen = ColumnInt(s, 8);
                        v.last_seen = ColumnInt(s, 9);
                        h->services.push_back(std::move(v));
                      }
                    });
  }
  if (ok) {
    ok = ForEachRow(
        db, path,
        "SELECT host_id, ip, port, transport, role, kind, name, vendor, product, version, cpe23, "
        "raw, source, first_seen, last_seen FROM software ORDER BY port, transport, role, name, "
        "first_seen, id",
        [&](sqlite3_stmt* s) {
          InventoryHost* h = host_of(s);
          if (h == nullptr) return;
          InventorySoftware w;
          w.ip = ColumnText(s, 1);
          w.port = static_cast<uint16_t>(ColumnInt(s, 2));
          w.transport = static_cast<uint8_t>(ColumnInt(s, 3));
          w.role = ColumnText(s, 4);
          w.kind = ColumnText(s, 5);
          w.name = ColumnText(s, 6);
          w.vendor = ColumnText(s, 7);
          w.product = ColumnText(s, 8);
          w.version = ColumnText(s, 9);
          w.cpe23 = ColumnText(s, 10);
          w.raw = ColumnText(s, 11);
          w.source = ColumnText(s, 12);
          w.first_seen = ColumnInt(s, 13);
          w.last_seen = ColumnInt(s, 14);
          if (w.role != "client" && w.port != 0) {
            for (auto& v : h->services) {
              if (v.port == w.port && v.transport == w.transport) {
                v.software.push_back(w);
                return;
              }
            }
          }
          h->other_software.push_back(std::move(w));
        });
  }
  // log_senders (docs/logs.md): absent in databases written before the sensor received logs.
  std::map<std::string, InventoryLogSender> log_senders;
  if (ok) {
    bool has_table = false;
    ok = ForEachRow(db, path,
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log_senders'",
                    [&](sqlite3_stmt*) { has_table = true; });
    if (ok && has_table) {
      ok = ForEachRow(db, path,
                      "SELECT sender, messages, bytes, sev0, sev1, sev2, sev3, sev4, sev5, sev6, "
                      "sev7, no_severity, dropped, first_seen, last_seen, quiet FROM log_senders",
                      [&](sqlite3_stmt* s) {
                        InventoryLogSender l;
                        l.sender = ColumnText(s, 0);
                        l.messages = static_cast<uint64_t>(ColumnInt(s, 1));
                        l.bytes = static_cast<uint64_t>(ColumnInt(s, 2));
                        for (int k = 0; k < 8; ++k) {
                          l.severities[k] = static_cast<uint64_t>(ColumnInt(s, 3 + k));
                        }
                        l.no_severity = static_cast<uint64_t>(ColumnInt(s, 11));
                        l.dropped = static_cast<uint64_t>(ColumnInt(s, 12));
                        l.first_seen_us = ColumnInt(s, 13);
                        l.last_seen_us = ColumnInt(s, 14);
                        l.quiet = ColumnInt(s, 15) != 0;
                        log_senders[l.sender] = l;
                      });
    }
  }
  if (!ok) return tl::make_unexpected(ok.error());
  for (auto& [id, h] : hosts) {
    auto take = [&](const std::string& ip) {
      auto it = log_senders.find(ip);
      if (it != log_senders.end() && (!h.logs || h.logs->messages < it->second.messages)) {
        h.logs = it->second;
      }
    };
    take(h.key);
    for (const auto& a : h.addresses) take(a.ip);
  }

  std::vector<InventoryHost> out;
  std::string wanted = query.host ? query.host->ToString() : std::string();
  for (auto& [id, h] : hosts) {
    std::sort(h.addresses.begin(), h.addresses.end(), [](const auto& a, const auto& b) {
      return std::tie(b.last_seen, a.ip) < std::tie(a.last_seen, b.ip);
    });
    h.display = h.addresses.empty() ? h.key : h.addresses.front().ip;
    if (query.host) {
      bool match = h.key == wanted || std::any_of(h.addresses.begin(), h.addresses.end(),
                                                  [&](const auto& a) { return a.ip == wanted; });
      if (!match) continue;
    }
    if (query.exposed_only) {
      std::erase_if(h.services, [](const InventoryService& v) { return !v.exposed; });
      if (h.services.empty()) continue;
    }
    out.push_back(std::move(h));
  }
  std::sort(out.begin(), out.end(), [](const InventoryHost& a, const InventoryHost& b) {
    return std::make_pair(AddressOrder(a.display), a.key) <
           std::make_pair(AddressOrder(b.display), b.key);
  });
  return out;
}

Result<std::vector<InventoryChange>> ReadInventoryChanges(const std::string& path,
                                                          const InventoryQuery& query) {
  auto hosts = ReadInventory(path, InventoryQuery{query.host, false});
  if (!hosts) return tl::make_unexpected(hosts.error());
  std::map<int64_t, std::string> display;
  for (const auto& h : *hosts) display[h.id] = h.display;
  auto db = OpenReadOnly(path);
  if (!db) return tl::make_unexpected(db.error());
  std::vector<InventoryChange> out;
  auto ok = ForEachRow(db->get(), path,
                       "SELECT ts, host_id, what, port, transport, role, subject, old_value, "
                       "new_value FROM changes ORDER BY ts, what, subject",
                       [&](sqlite3_stmt* s) {
                         auto it = display.find(ColumnInt(s, 1));
                         if (it == display.end()) return;  // filtered out by --host
                         InventoryChange c;
                         c.ts = ColumnInt(s, 0);
                         c.host = it->second;
                         c.what = ColumnText(s, 2);
                         c.port = static_cast<uint16_t>(ColumnInt(s, 3));
                         c.transport = static_cast<uint8_t>(ColumnInt(s, 4));
                         c.role = ColumnText(s, 5);
                         c.subject = ColumnText(s, 6);
                         c.old_value = ColumnText(s, 7);
                         c.new_value = ColumnText(s, 8);
                         out.push_back(std::move(c));
                       });
  if (!ok) return tl::make_unexpected(ok.error());
  return out;
}

namespace {

std::string PortText(uint16_t port, uint8_t transport) {
  return std::to_string(port) + "/" + Proto(transport);
}

// The current software per product name, with earlier versions: "OpenBSD OpenSSH 9.6p1 (was
// 9.2p1)".
std::string SoftwareSummary(const std::vector<InventorySoftware>& software) {
  std::string out;
  for (size_t i = 0; i < software.size(); ++i) {
    const auto& w = software[i];
    bool newest = true;
    std::string earlier;
    for (const auto& o : software) {
      if (&o == &w || o.name != w.name || o.role != w.role) continue;
      if (std::tie(o.last_seen, o.first_seen) > std::tie(w.last_seen, w.first_seen)) {
        newest = false;
      } else if (o.version != w.version && !o.version.empty()) {
        earlier += (earlier.empty() ? "" : ", ") + o.version;
      }
    }
    if (!newest) continue;
    if (!out.empty()) out += ", ";
    out += w.Label();
    if (!earlier.empty()) out += " (was " + earlier + ")";
  }
  return out;
}

void TableHost(const InventoryHost& h, std::string* out) {
  *out += fmt::format("{}", h.display);
  if (!h.mac.empty()) {
    *out += "  " + h.mac;
    if (h.mac_random) {
      *out += " (randomised MAC)";
    } else if (!h.vendor.empty()) {
      *out += " (" + h.vendor + ")";
    }
  }
  *out += fmt::format("  first {}  last {}\n", IsoTime(h.first_seen), IsoTime(h.last_seen));
  if (h.addresses.size() > 1) {
    *out += "  addresses:";
    for (const auto& a : h.addresses) {
      *out += fmt::format(" {} ({}, {} .. {})", a.ip, a.source, IsoTime(a.first_seen),
                          IsoTime(a.last_seen));
    }
    *out += "\n";
  }
  if (!h.names.empty()) {
    *out += "  names:";
    for (size_t i = 0; i < h.names.size(); ++i) {
      const auto& n = h.names[i];
      *out += fmt::format("{} {} ({} from {})", i == 0 ? "" : ",", n.name, n.kind, n.source);
    }
    *out += "\n";
  }
  if (!h.os.empty()) {
    const auto& o = h.os.front();
    *out += fmt::format("  os: {} ({} {}%)", o.Label(), o.source, o.confidence);
    if (h.os.size() > 1) {
      *out += "; also:";
      for (size_t i = 1; i < h.os.size(); ++i) {
        *out += fmt::format("{} {} ({} {}%)", i == 1 ? "" : ",", h.os[i].Label(), h.os[i].source,
                            h.os[i].confidence);
      }
    }
    *out += "\n";
  }
  if (h.logs) {
    *out += fmt::format("  sends logs: {} messages, {} bytes from {}, first {}  last {}{}\n",
                        h.logs->messages, h.logs->bytes, h.logs->sender,
                        IsoTime(h.logs->first_seen_us), IsoTime(h.logs->last_seen_us),
                        h.logs->quiet ? "  WENT QUIET" : "");
  }
  for (const auto& v : h.services) {
    std::string sw = SoftwareSummary(v.software);
    *out += fmt::format("  {:<11} {:<8} {:<9} {:<40} first {}  last {}\n",
                        PortText(v.port, v.transport), v.protocol.empty() ? "-" : v.protocol,
                        v.exposed ? "EXPOSED" : "internal", sw.empty() ? "-" : sw,
                        IsoTime(v.first_seen), IsoTime(v.last_seen));
  }
  for (const auto& w : h.other_software) {
    *out += fmt::format("  {:<11} {:<8} {:<9} {:<40} first {}  last {}\n",
                        w.port == 0 ? std::string("-") : PortText(w.port, w.transport), w.role,
                        "software", w.Label(), IsoTime(w.first_seen), IsoTime(w.last_seen));
  }
}

void JsonField(std::string* out, const char* name, std::string_view value, bool first = false) {
  if (!first) out->push_back(',');
  AppendJsonString(name, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

void JsonNumber(std::string* out, const char* name, int64_t value) {
  out->push_back(',');
  AppendJsonString(name, out);
  *out += fmt::format(":{}", value);
}

void JsonBool(std::string* out, const char* name, bool value) {
  out->push_back(',');
  AppendJsonString(name, out);
  *out += value ? ":true" : ":false";
}

void JsonSeen(std::string* out, int64_t first, int64_t last) {
  JsonField(out, "first_seen", IsoTime(first));
  JsonField(out, "last_seen", IsoTime(last));
}

void JsonSoftware(const InventorySoftware& w, std::string* out) {
  out->push_back('{');
  JsonField(out, "role", w.role, true);
  JsonNumber(out, "port", w.port);
  JsonField(out, "transport", Proto(w.transport));
  JsonField(out, "kind", w.kind);
  JsonField(out, "name", w.name);
  JsonField(out, "vendor", w.vendor);
  JsonField(out, "product", w.product);
  JsonField(out, "version", w.version);
  JsonField(out, "cpe23", w.cpe23);
  JsonField(out, "raw", w.raw);
  JsonField(out, "source", w.source);
  JsonSeen(out, w.first_seen, w.last_seen);
  out->push_back('}');
}

template <class T, class F>
void JsonArray(std::string* out, const char* name, const std::vector<T>& items, F each) {
  out->push_back(',');
  AppendJsonString(name, out);
  out->append(":[");
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out->push_back(',');
    each(items[i]);
  }
  out->push_back(']');
}

void JsonHost(const InventoryHost& h, std::string* out) {
  out->push_back('{');
  JsonField(out, "host", h.display, true);
  JsonField(out, "key_kind", h.key_kind);
  JsonField(out, "mac", h.mac);
  JsonField(out, "vendor", h.vendor);
  JsonBool(out, "mac_random", h.mac_random);
  JsonSeen(out, h.first_seen, h.last_seen);
  JsonArray(out, "addresses", h.addresses, [&](const InventoryAddress& a) {
    out->push_back('{');
    JsonField(out, "ip", a.ip, true);
    JsonField(out, "source", a.source);
    JsonSeen(out, a.first_seen, a.last_seen);
    out->push_back('}');
  });
  JsonArray(out, "names", h.names, [&](const InventoryName& n) {
    out->push_back('{');
    JsonField(out, "name", n.name, true);
    JsonField(out, "kind", n.kind);
    JsonField(out, "source", n.source);
    JsonSeen(out, n.first_seen, n.last_seen);
    out->push_back('}');
  });
  JsonArray(out, "os", h.os, [&](const InventoryOs& o) {
    out->push_back('{');
    JsonField(out, "vendor", o.vendor, true);
    JsonField(out, "product", o.product);
    JsonField(out, "version", o.version);
    JsonField(out, "family", o.family);
    JsonField(out, "source", o.source);
    JsonNumber(out, "confidence", o.confidence);
    JsonField(out, "raw", o.raw);
    JsonSeen(out, o.first_seen, o.last_seen);
    out->push_back('}');
  });
  JsonArray(out, "services", h.services, [&](const InventoryService& v) {
    out->push_back('{');
    JsonField(out, "ip", v.ip, true);
    JsonNumber(out, "port", v.port);
    JsonField(out, "transport", Proto(v.transport));
    JsonField(out, "protocol", v.protocol);
    JsonField(out, "application", v.application);
    JsonBool(out, "exposed", v.exposed);
    if (v.first_exposed_seen) JsonField(out, "first_exposed_seen", IsoTime(*v.first_exposed_seen));
    JsonSeen(out, v.first_seen, v.last_seen);
    JsonArray(out, "software", v.software,
              [&](const InventorySoftware& w) { JsonSoftware(w, out); });
    out->push_back('}');
  });
  JsonArray(out, "other_software", h.other_software,
            [&](const InventorySoftware& w) { JsonSoftware(w, out); });
  if (h.logs) {
    out->append(",\"logs\":{");
    JsonField(out, "sender", h.logs->sender, true);
    JsonNumber(out, "messages", static_cast<int64_t>(h.logs->messages));
    JsonNumber(out, "bytes", static_cast<int64_t>(h.logs->bytes));
    out->append(",\"severities\":[");
    for (int k = 0; k < 8; ++k) {
      if (k > 0) out->push_back(',');
      *out += std::to_string(h.logs->severities[k]);
    }
    out->push_back(']');
    JsonNumber(out, "dropped", static_cast<int64_t>(h.logs->dropped));
    JsonSeen(out, h.logs->first_seen_us, h.logs->last_seen_us);
    JsonBool(out, "quiet", h.logs->quiet);
    out->push_back('}');
  }
  out->append("}\n");
}

void CsvRow(std::initializer_list<std::string> fields, std::string* out) {
  bool first = true;
  for (const auto& f : fields) {
    if (!first) out->push_back(',');
    first = false;
    AppendCsvField(f, out);
  }
  out->push_back('\n');
}

void CsvHost(const InventoryHost& h, std::string* out) {
  std::string addresses, names, os;
  for (const auto& a : h.addresses) addresses += (addresses.empty() ? "" : " ") + a.ip;
  for (const auto& n : h.names) names += (names.empty() ? "" : "; ") + n.name + " (" + n.source + ")";
  if (!h.os.empty()) os = h.os.front().Label();
  std::string other;
  for (const auto& w : h.other_software) {
    other += (other.empty() ? "" : "; ") + w.role + ": " + w.Label();
  }
  std::string random = h.mac_random ? "true" : "false";
  if (h.services.empty() || !other.empty()) {
    CsvRow({h.display, h.mac, h.vendor, random, addresses, names, os, "", "", "", "", "", other,
            IsoTime(h.first_seen), IsoTime(h.last_seen)},
           out);
  }
  for (const auto& v : h.services) {
    std::string sw;
    for (const auto& w : v.software) sw += (sw.empty() ? "" : "; ") + w.Label();
    CsvRow({h.display, h.mac, h.vendor, random, addresses, names, os, std::to_string(v.port),
            Proto(v.transport), v.protocol, v.application, v.exposed ? "exposed" : "internal", sw,
            IsoTime(v.first_seen), IsoTime(v.last_seen)},
           out);
  }
}

}  // namespace

std::string FormatInventory(const std::vector<InventoryHost>& hosts, InventoryFormat format) {
  std::string out;
  switch (format) {
    case InventoryFormat::kTable: {
      size_t services = 0, exposed = 0;
      for (const auto& h : hosts) {
        services += h.services.size();
        for (const auto& v : h.services) exposed += v.exposed;
      }
      out += fmt::format("{} hosts, {} services ({} EXPOSED to addresses outside local_nets)\n",
                         hosts.size(), services, exposed);
      for (const auto& h : hosts) {
        out += "\n";
        TableHost(h, &out);
      }
      break;
    }
    case InventoryFormat::kJson:
      for (const auto& h : hosts) JsonHost(h, &out);
      break;
    case InventoryFormat::kCsv:
      CsvRow({"host", "mac", "vendor", "mac_random", "addresses", "names", "os", "port",
              "transport", "protocol", "application", "exposure", "software", "first_seen",
              "last_seen"},
             &out);
      for (const auto& h : hosts) CsvHost(h, &out);
      break;
  }
  return out;
}

std::string FormatInventoryChanges(const std::vector<InventoryChange>& changes,
                                   InventoryFormat format) {
  std::string out;
  auto where = [](const InventoryChange& c) {
    return c.what == "os" ? std::string("-") : c.port == 0 ? c.role : PortText(c.port, c.transport);
  };
  switch (format) {
    case InventoryFormat::kTable:
      out += fmt::format("{:<20} {:<20} {:<8} {:<11} {:<20} {}\n", "TIME", "HOST", "WHAT", "WHERE",
                         "SUBJECT", "CHANGE");
      for (const auto& c : changes) {
        out += fmt::format("{:<20} {:<20} {:<8} {:<11} {:<20} {} -> {}\n", IsoTime(c.ts), c.host,
                           c.what, where(c), c.subject, c.old_value, c.new_value);
      }
      break;
    case InventoryFormat::kJson:
      for (const auto& c : changes) {
        out.push_back('{');
        JsonField(&out, "ts", IsoTime(c.ts), true);
        JsonField(&out, "host", c.host);
        JsonField(&out, "what", c.what);
        JsonNumber(&out, "port", c.port);
        JsonField(&out, "transport", c.what == "os" ? "" : Proto(c.transport));
        JsonField(&out, "role", c.role);
        JsonField(&out, "subject", c.subject);
        JsonField(&out, "old", c.old_value);
        JsonField(&out, "new", c.new_value);
        out.append("}\n");
      }
      break;
    case InventoryFormat::kCsv:
      CsvRow({"ts", "host", "what", "where", "subject", "old", "new"}, &out);
      for (const auto& c : changes) {
        CsvRow({IsoTime(c.ts), c.host, c.what, where(c), c.subject, c.old_value, c.new_value},
               &out);
      }
      break;
  }
  return out;
}

}  // namespace sensor
