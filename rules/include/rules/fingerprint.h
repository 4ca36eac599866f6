// The software fingerprint database: turns a string seen on the wire (an SSH identification,
// an HTTP Server header, an FTP greeting, an SNMP sysDescr ...) into vendor, product, version
// and a CPE 2.3 name. The knowledge lives in YAML data files under rules/fingerprints/, one per
// kind of banner, written by the team (format: docs/fingerprints.md). The caller keeps the raw
// banner as evidence; this module only names what it sees.
//
//   auto db = rules::LoadFingerprintDb(UTKIKK_FINGERPRINT_DIR);
//   if (!db) { log(db.error().message); ... }   // "ssh_banners.yaml:12:14: bad pattern: ..."
//   if (auto id = db->Identify("ssh_banners", "OpenSSH_9.2p1 Debian-2+deb12u3")) {
//     id->service.product;  // "OpenSSH"
//     id->cpe23;            // "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*"
//   }
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/result.h"

namespace rules {

// What a banner says about the software, the operating system and the hardware behind it.
// A field is absent (nullopt) when the database does not know it. Value type.
struct Identification {
  struct Service {
    std::optional<std::string> vendor, product, version, family;
  } service;
  struct Os {
    std::optional<std::string> vendor, product, family, version;
  } os;
  struct Hw {
    std::optional<std::string> vendor, product, device;
  } hw;
  // CPE 2.3 formatted string of the most specific thing named: the service when the entry gives
  // a service CPE, else the operating system, else the hardware.
  std::optional<std::string> cpe23;
  // Which entries matched, "file:line name", the deciding one first.
  std::vector<std::string> matched;

  // The fields by their dotted names ("service.vendor", ..., "cpe23"), only those present, in
  // a fixed order. Useful for JSON output and for comparisons in tests.
  std::vector<std::pair<std::string, std::string>> Fields() const;
  // One field by its dotted name; nullptr when absent or unknown name.
  const std::optional<std::string>* Field(std::string_view name) const;
};

// The dotted field names an entry may set and Fields() reports, in order.
const std::vector<std::string>& IdentificationFieldNames();

// The kinds of banner the database knows (the file names without ".yaml").
// ssh_banners, http_servers, ftp_banners, smtp_banners, pop_banners, imap_banners,
// snmp_sysdescr, dhcp_vendor_class, smb_native_os, mysql_banners, x509_subjects, ntp_banners.

// The loaded, compiled database. Immutable after LoadFingerprintDb; Identify is const and safe
// to call from many threads at once. Movable, not copyable (owns compiled RE2 programs).
class FingerprintDb {
 public:
  FingerprintDb();
  ~FingerprintDb();
  FingerprintDb(FingerprintDb&&) noexcept;
  FingerprintDb& operator=(FingerprintDb&&) noexcept;

  // Names the software behind `banner` of the given kind; nullopt when no entry matches or the
  // kind is unknown. Any bytes are accepted (NULs, invalid UTF-8); banners longer than
  // kMaxBannerBytes are looked at only up to that length. Linear time in the banner length.
  std::optional<Identification> Identify(std::string_view kind, std::string_view banner) const;

  // The kinds loaded, sorted.
  std::vector<std::string> Kinds() const;
  // Number of entries over all kinds.
  size_t EntryCount() const;

  static constexpr size_t kMaxBannerBytes = 8192;

  struct Impl;  // public only so that the loader in fingerprint.cc can build it

 private:
  friend Result<FingerprintDb> LoadFingerprintDb(const std::string& dir);
  friend Result<FingerprintDb> LoadFingerprintDbFromString(std::string_view kind,
                                                           std::string_view yaml,
                                                           const std::string& name);
  std::unique_ptr<Impl> impl_;
};

// Loads one kind from YAML text (tests and fuzzing). `name` is used in error messages.
Result<FingerprintDb> LoadFingerprintDbFromString(std::string_view kind, std::string_view yaml,
                                                  const std::string& name);

// Loads every "*.yaml" file in `dir` (the file name minus ".yaml" is the kind). Errors name the
// place as "file:line:column: message"; a bad regular expression names its file and line.
Result<FingerprintDb> LoadFingerprintDb(const std::string& dir);

// CPE 2.3 formatted string binding (NISTIR 7695 section 6.2): part is 'a', 'o' or 'h'; empty
// or missing components become "*" (ANY). Values are lower-cased, blanks become '_' (the NVD
// convention), and every other non-alphanumeric character except '_', '-' and '.' is escaped
// with a backslash; '*' and '?' inside a value are escaped too (they are literal).
std::string FormatCpe23(char part, std::string_view vendor, std::string_view product,
                        std::string_view version);
// The escaping of one component alone ("*" for an empty value).
std::string EscapeCpe23Component(std::string_view value);

}  // namespace rules
