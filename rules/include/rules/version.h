// Software versions: parsing product banners the way Zeek's software framework does, comparing
// version strings under several real-world schemes, and OSV-style affected ranges.
//
// Everything here is a pure function of its arguments: no state, no allocation beyond the
// returned values, no exceptions, no std::regex. All functions are safe on hostile input (empty,
// very long, only separators, numbers of any length: digit strings are compared as strings, so
// nothing overflows) and run in time linear in the input. Thread-safe: any number of threads may
// call them at once. docs/rules.md, section "Versions", describes the rules precisely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rules {

// The version fields of Zeek's Software::Version. A field is unset when Zeek leaves it unset.
// Numbers larger than uint64 saturate at UINT64_MAX.
struct SoftwareVersion {
  std::optional<uint64_t> major;
  std::optional<uint64_t> minor;
  std::optional<uint64_t> minor2;
  std::optional<uint64_t> minor3;
  std::optional<std::string> addl;

  friend bool operator==(const SoftwareVersion&, const SoftwareVersion&) = default;
};

// Zeek's Software::Description without the host fields: the product name and its version.
struct SoftwareDescription {
  std::string name;
  SoftwareVersion version;
  std::string unparsed_version;  // the input, unchanged
};

// Splits a raw software string ("OpenSSH_6.6.1p1 Ubuntu-2ubuntu2", "Apache/2.4.3 (Fedora)", an
// HTTP User-Agent, "Flash/10,2,153,1", an Android build string) into name and version exactly
// as Zeek's Software::parse does. Never fails: unrecognised input yields the whole (cleaned)
// string as the name and no version fields.
SoftwareDescription ParseSoftware(std::string_view unparsed);

enum class VersionScheme {
  kGeneric,       // dotted numeric with alphanumeric segments and pre-release words
  kOpenSsh,       // "9.8p1", optionally "OpenSSH_9.8p1"
  kDebian,        // dpkg: [epoch:]upstream[-revision]
  kSemver,        // semver 2.0.0 precedence
  kWindowsBuild,  // "10.0.20348.2113"
  kCisco,         // "9.16(4)27", "15.2(4)M3"
};

// "generic", "openssh", "debian", "semver", "windows-build", "cisco".
std::string_view SchemeName(VersionScheme scheme);
// The inverse of SchemeName; std::nullopt for an unknown name.
std::optional<VersionScheme> SchemeFromName(std::string_view name);

// Compares two version strings under a scheme: <0 when a sorts before b, 0 when they are
// equivalent, >0 when a sorts after b. Total on all inputs (garbage sorts somewhere, always the
// same place), never fails.
int CompareVersions(std::string_view a, std::string_view b, VersionScheme scheme);

// A version string together with the scheme it is compared under. A value type: copy freely.
// Not synchronised; const access from several threads is safe.
class Version {
 public:
  Version(std::string_view text, VersionScheme scheme) : text_(text), scheme_(scheme) {}

  const std::string& text() const { return text_; }
  VersionScheme scheme() const { return scheme_; }

  // Compares under this version's scheme (the other's scheme is ignored).
  int Compare(const Version& other) const {
    return CompareVersions(text_, other.text_, scheme_);
  }
  int Compare(std::string_view other) const { return CompareVersions(text_, other, scheme_); }

  friend bool operator==(const Version& a, const Version& b) { return a.Compare(b) == 0; }
  friend bool operator!=(const Version& a, const Version& b) { return a.Compare(b) != 0; }
  friend bool operator<(const Version& a, const Version& b) { return a.Compare(b) < 0; }
  friend bool operator<=(const Version& a, const Version& b) { return a.Compare(b) <= 0; }
  friend bool operator>(const Version& a, const Version& b) { return a.Compare(b) > 0; }
  friend bool operator>=(const Version& a, const Version& b) { return a.Compare(b) >= 0; }

 private:
  std::string text_;
  VersionScheme scheme_;
};

// Picks a scheme from a product name, a CPE "vendor:product" (or a full CPE), an OSV ecosystem
// name or a version string: Debian/Ubuntu package revisions ("2+deb12u3", "2ubuntu2") and the
// ecosystems "Debian"/"Ubuntu" -> kDebian; "openssh" -> kOpenSsh; Cisco -> kCisco; Windows ->
// kWindowsBuild; the ecosystems npm, crates.io, Go and "semver" -> kSemver; else kGeneric.
VersionScheme GuessScheme(std::string_view product_or_cpe_vendor_product);

// One OSV range event pair. Empty strings are absent events; introduced "0" (or empty) means
// "from the beginning". fixed is exclusive, last_affected inclusive.
struct VersionRange {
  std::string introduced;
  std::string fixed;
  std::string last_affected;
};

// True when version lies in any of the ranges (OR-ed), OSV semantics: introduced <= v, and
// v < fixed when fixed is set, and v <= last_affected when last_affected is set. An empty
// version is never affected (an unknown version proves nothing).
bool IsAffected(std::string_view version, const std::vector<VersionRange>& ranges,
                VersionScheme scheme);

// Pulls the comparable version out of a banner's version field: "2.4.57 (Debian)" -> "2.4.57",
// "9.2p1 Debian-2+deb12u3" -> "9.2p1" (kOpenSsh or kGeneric), "OpenSSH_9.8p1" -> "9.8p1",
// "Version 15.2(4)M3, RELEASE SOFTWARE" -> "15.2(4)M3" (kCisco). Under kDebian the Debian
// revision of such a banner is kept: "9.2p1 Debian-2+deb12u3" -> "9.2p1-2+deb12u3" (the epoch is
// not in banners; the caller adds it). std::nullopt when there is no digit to start a version or
// the version is longer than kMaxVersionLength.
inline constexpr size_t kMaxVersionLength = 256;
std::optional<std::string> NormaliseVersion(std::string_view raw, VersionScheme scheme);

}  // namespace rules
