// utkikk identify: names the software behind banners read from stdin, one per line, with the
// fingerprint database (rules/fingerprint.h). Writes one JSON object per input line with the
// keys service.vendor ... cpe23, each only when known.
#include <cstdio>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "rules/fingerprint.h"

namespace utkikk_cli {
namespace {

constexpr const char* kIdentifyUsage =
    "usage: utkikk identify --kind KIND [--db DIR] [--explain]   (one banner per line)\n"
    "       utkikk identify --jsonl [--kind KIND] [--db DIR] [--explain]\n"
    "         (lines {\"db\": KIND, \"banner\": TEXT}; --kind is the default for lines without db)\n"
    "KIND: ssh_banners http_servers ftp_banners smtp_banners pop_banners imap_banners\n"
    "      snmp_sysdescr dhcp_vendor_class smb_native_os mysql_banners x509_subjects ntp_banners\n";

#ifndef UTKIKK_FINGERPRINT_DIR
#define UTKIKK_FINGERPRINT_DIR "/usr/share/utkikk/fingerprints"
#endif

int BadArgs(const std::string& message) {
  std::fprintf(stderr, "utkikk identify: %s (see utkikk identify --help)\n", message.c_str());
  return 2;
}

bool KnownKind(const rules::FingerprintDb& db, const std::string& kind) {
  for (const std::string& k : db.Kinds()) {
    if (k == kind) return true;
  }
  return false;
}

std::string Describe(const std::optional<rules::Identification>& id, bool explain) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (id) {
    for (const auto& [key, value] : id->Fields()) out[key] = value;
    if (explain) out["matched"] = id->matched;
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int RunIdentify(const Args& args) {
  std::string kind;
  std::string dir = UTKIKK_FINGERPRINT_DIR;
  bool jsonl = false;
  bool explain = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kIdentifyUsage, stdout);
      return 0;
    } else if (a == "--jsonl") {
      jsonl = true;
    } else if (a == "--explain") {
      explain = true;
    } else if (a == "--kind" || a == "--db") {
      if (i + 1 >= args.size()) return BadArgs(a + " needs a value");
      (a == "--kind" ? kind : dir) = args[++i];
    } else {
      return BadArgs("unknown argument '" + a + "'");
    }
  }
  if (!jsonl && kind.empty()) return BadArgs("--kind KIND is required (or --jsonl)");

  auto db = rules::LoadFingerprintDb(dir);
  if (!db) {
    std::fprintf(stderr, "utkikk identify: %s\n", db.error().message.c_str());
    return 1;
  }
  if (!kind.empty() && !KnownKind(*db, kind)) return BadArgs("unknown kind '" + kind + "'");

  std::ios::sync_with_stdio(false);
  std::string line;
  size_t line_no = 0;
  size_t bad_lines = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string line_kind = kind;
    std::string banner;
    if (jsonl) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      const bool ok = j.is_object() && j.contains("banner") && j["banner"].is_string() &&
                      (!j.contains("db") || j["db"].is_string());
      if (ok && j.contains("db")) line_kind = j["db"].get<std::string>();
      if (!ok || line_kind.empty()) {
        std::fprintf(stderr, "utkikk identify: stdin:%zu: expected {\"db\": KIND, \"banner\": "
                     "TEXT}\n", line_no);
        ++bad_lines;
        std::cout << "{}\n";
        continue;
      }
      banner = j["banner"].get<std::string>();
    } else {
      banner = line;
    }
    std::cout << Describe(db->Identify(line_kind, banner), explain) << '\n';
  }
  std::cout.flush();
  return bad_lines == 0 ? 0 : 1;
}

}  // namespace utkikk_cli
