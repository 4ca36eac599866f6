// Reading the `alerts` table and rendering it for `utkikk alerts` (sensor/alerts/alert_store.h).
#include <sqlite3.h>

#include <algorithm>
#include <string>

#include "inventory/sqlite_db.h"
#include "inventory/text.h"
#include "sensor/alerts/alert_store.h"
#include "sensor/logs/syslog_message.h"

namespace sensor {
namespace {

using inventory_internal::DbError;
using inventory_internal::ColumnText;
using inventory_internal::IsoTime;
using rules::Result;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Table cells are one line of visible text: control bytes and DEL become \xNN.
std::string Cell(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::string HostPort(const StoredAlert& a) {
  // Indicators are about the local client; the rest about the server (or the host of a fact).
  std::string host = a.kind == "indicator" || a.dst.empty() ? a.src : a.dst;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  if (a.port != 0 && a.kind != "indicator") host += ":" + std::to_string(a.port);
  return host;
}

// Display width of UTF-8 text: code points (good enough for Latin scripts).
size_t Width(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

void AppendStrings(const std::vector<std::string>& items, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(items[i], out);
  }
  out->push_back(']');
}

void AppendField(const char* name, std::string_view value, std::string* out) {
  out->push_back(',');
  AppendJsonString(name, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

void AppendNumber(const char* name, uint64_t value, std::string* out) {
  out->push_back(',');
  AppendJsonString(name, out);
  out->push_back(':');
  *out += std::to_string(value);
}

}  // namespace

Result<std::vector<StoredAlert>> ReadAlerts(const std::string& db_path, int64_t since_us) {
  auto db = inventory_internal::OpenDb(db_path, SQLITE_OPEN_READONLY);
  if (!db) return tl::make_unexpected(db.error());
  auto exists = inventory_internal::Prepare(
      db->get(), "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alerts'");
  if (!exists) return rules::Fail(exists.error(), db_path + ": ");
  if (sqlite3_step(exists->get()) != SQLITE_ROW) {
    return tl::make_unexpected(DbError(db->get(), db_path));
  }
  std::vector<StoredAlert> out;
  if (sqlite3_column_int64(exists->get(), 0) == 0) return out;
  auto stmt = inventory_internal::Prepare(
      db->get(),
      "SELECT rule_id, rule_version, kind, severity, title, key, first_seen, last_seen, count, "
      "src, dst, port, proto, uid, evidence, cves, known_exploited, refs, advice_nb, advice_en, "
      "sensor_id FROM alerts WHERE last_seen >= ?1 ORDER BY last_seen DESC, id DESC");
  if (!stmt) return rules::Fail(stmt.error(), db_path + ": ");
  sqlite3_stmt* s = stmt->get();
  sqlite3_bind_int64(s, 1, since_us);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    StoredAlert a;
    a.rule_id = ColumnText(s, 0);
    a.rule_version = sqlite3_column_int(s, 1);
    a.kind = ColumnText(s, 2);
    a.severity = ColumnText(s, 3);
    a.title = ColumnText(s, 4);
    a.key = ColumnText(s, 5);
    a.first_seen_us = sqlite3_column_int64(s, 6);
    a.last_seen_us = sqlite3_column_int64(s, 7);
    a.count = static_cast<uint64_t>(std::max<int64_t>(0, sqlite3_column_int64(s, 8)));
    a.src = ColumnText(s, 9);
    a.dst = ColumnText(s, 10);
    a.port = static_cast<uint16_t>(sqlite3_column_int(s, 11));
    a.proto = ColumnText(s, 12);
    a.uid = ColumnText(s, 13);
    a.evidence = ColumnText(s, 14);
    a.cves = Split(ColumnText(s, 15), ',');
    a.known_exploited = sqlite3_column_int(s, 16) != 0;
    a.references = Split(ColumnText(s, 17), ' ');
    a.advice_nb = ColumnText(s, 18);
    a.advice_en = ColumnText(s, 19);
    a.sensor_id = ColumnText(s, 20);
    out.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) return tl::make_unexpected(DbError(db->get(), db_path));
  return out;
}

std::string FormatAlerts(const std::vector<StoredAlert>& alerts, AlertFormat format) {
  std::string out;
  if (format == AlertFormat::kJson) {
    for (const StoredAlert& a : alerts) {
      out += "{\"first_seen\":";
      AppendJsonString(IsoTime(a.first_seen_us), &out);
      AppendField("last_seen", IsoTime(a.last_seen_us), &out);
      AppendNumber("count", a.count, &out);
      AppendField("rule", a.rule_id, &out);
      AppendNumber("rule_version", static_cast<uint64_t>(a.rule_version), &out);
      AppendField("kind", a.kind, &out);
      AppendField("severity", a.severity, &out);
      AppendField("title", a.title, &out);
      AppendField("key", a.key, &out);
      AppendField("src", a.src, &out);
      AppendField("dst", a.dst, &out);
      AppendNumber("port", a.port, &out);
      AppendField("proto", a.proto, &out);
      AppendField("uid", a.uid, &out);
      AppendField("evidence", a.evidence, &out);
      out += ",\"cves\":";
      AppendStrings(a.cves, &out);
      out += a.known_exploited ? ",\"known_exploited\":true" : ",\"known_exploited\":false";
      out += ",\"references\":";
      AppendStrings(a.references, &out);
      AppendField("advice_nb", a.advice_nb, &out);
      AppendField("advice_en", a.advice_en, &out);
      AppendField("sensor", a.sensor_id, &out);
      out += "}\n";
    }
    return out;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"LAST SEEN", "SEVERITY", "RULE", "HOST", "TITLE", "CVES", "COUNT"});
  for (const StoredAlert& a : alerts) {
    std::string cves;
    for (const auto& c : a.cves) cves += (cves.empty() ? "" : ",") + c;
    if (a.known_exploited) cves += cves.empty() ? "KEV" : " (KEV)";
    rows.push_back({IsoTime(a.last_seen_us), Cell(a.severity), Cell(a.rule_id), Cell(HostPort(a)),
                    Cell(a.title), Cell(cves.empty() ? "-" : cves), std::to_string(a.count)});
  }
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  }
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(widths[i] - Width(row[i]) + 2, ' ');
    }
    out.push_back('\n');
  }
  if (alerts.empty()) out = "no alerts\n";
  return out;
}

}  // namespace sensor
