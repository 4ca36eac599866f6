// utkikk inventory: what the sensor's inventory database knows — hosts, MAC and vendor, names,
// OS, services with their software and versions, first/last seen, exposed services flagged —
// as a table for people, JSON lines or CSV for machines; --changes lists software/OS changes.
#include <cstdio>
#include <string>

#include "commands.h"
#include "sensor/inventory/inventory.h"
#include "sensor/inventory/report.h"

namespace utkikk_cli {
namespace {

constexpr const char* kInventoryUsage =
    "usage: utkikk inventory [--db PATH] [--format table|json|csv] [--exposed] [--host IP] "
    "[--changes]\n";

int BadArgument(const std::string& message) {
  std::fprintf(stderr, "utkikk inventory: %s\n%s", message.c_str(), kInventoryUsage);
  return 2;
}

}  // namespace

int RunInventory(const Args& args) {
  std::string db = sensor::kDefaultInventoryPath;
  std::string format = "table";
  std::string host;
  bool exposed = false;
  bool changes = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--db" || a == "--format" || a == "--host") {
      if (i + 1 >= args.size()) return BadArgument(a + " needs a value");
      (a == "--db" ? db : a == "--format" ? format : host) = args[++i];
    } else if (a == "--exposed") {
      exposed = true;
    } else if (a == "--changes") {
      changes = true;
    } else if (a == "--help" || a == "-h") {
      std::fputs(kInventoryUsage, stdout);
      return 0;
    } else {
      return BadArgument("bad argument '" + a + "'");
    }
  }
  sensor::InventoryFormat fmt;
  if (format == "table") {
    fmt = sensor::InventoryFormat::kTable;
  } else if (format == "json") {
    fmt = sensor::InventoryFormat::kJson;
  } else if (format == "csv") {
    fmt = sensor::InventoryFormat::kCsv;
  } else {
    return BadArgument("--format must be table, json or csv, not '" + format + "'");
  }
  sensor::InventoryQuery query;
  query.exposed_only = exposed;
  if (!host.empty()) {
    query.host = rules::IpAddress::Parse(host);
    if (!query.host) return BadArgument("--host: '" + host + "' is not an IP address");
  }
  std::string text;
  if (changes) {
    auto rows = sensor::ReadInventoryChanges(db, query);
    if (!rows) {
      std::fprintf(stderr, "utkikk inventory: %s\n", rows.error().message.c_str());
      return 1;
    }
    text = sensor::FormatInventoryChanges(*rows, fmt);
  } else {
    auto hosts = sensor::ReadInventory(db, query);
    if (!hosts) {
      std::fprintf(stderr, "utkikk inventory: %s\n", hosts.error().message.c_str());
      return 1;
    }
    text = sensor::FormatInventory(*hosts, fmt);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace utkikk_cli
