#include "sensor/logs/log_facts.h"

#include <cstdlib>
#include <string>

#include "logs/scan.h"

namespace sensor {

using std::string_view;

namespace {

constexpr size_t kMaxRawBytes = 512;  // origin.raw is evidence, not a copy of the log

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible Low-Level
// Date Algorithms", days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Field(const SyslogMessage& m, string_view key, string_view* value) {
  const std::string* v = m.Field(key);
  if (v == nullptr) return false;
  *value = *v;
  return true;
}

string_view FieldOr(const SyslogMessage& m, string_view key) {
  const std::string* v = m.Field(key);
  return v == nullptr ? string_view() : string_view(*v);
}

bool EqualsLower(string_view a, string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != lower[i]) return false;
  }
  return true;
}

bool StartsWith(string_view s, string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// A lease the server reports as granted (not offered, requested or released).
bool IsLeaseGrant(const SyslogMessage& m) {
  string_view format = m.format;
  string_view action = FieldOr(m, "action");
  if (format == "isc-dhcpd" || format == "dnsmasq") return action == "DHCPACK";
  if (format == "kea") {
    string_view code = FieldOr(m, "event_id");
    // Kea messages (Kea ARM, "Kea Messages Manual"): DHCP4_LEASE_ALLOC / DHCP6_LEASE_ALLOC
    // "lease ... has been allocated"; the forensic log "Address: ... has been assigned|renewed".
    return action == "assigned" || action == "renewed" || code == "DHCP4_LEASE_ALLOC" ||
           code == "DHCP6_LEASE_ALLOC" || code == "DHCP4_LEASE_REUSE";
  }
  if (format == "windows-dhcp" || format == "nxlog") {
    // Windows DHCP Server audit log IDs: 10 new lease, 11 renewal (Microsoft Learn).
    string_view id = FieldOr(m, "event_id");
    return (id == "10" || id == "11") && m.Field("ip") != nullptr && m.Field("mac") != nullptr;
  }
  return false;
}

}  // namespace

bool ParseRfc3339Us(string_view s, int64_t* us) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  size_t p = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!scan::Digits(s, &p, 4, &year) || p >= s.size() || s[p++] != '-' ||
      !scan::Digits(s, &p, 2, &month) || p >= s.size() || s[p++] != '-' ||
      !scan::Digits(s, &p, 2, &day) || p >= s.size() || (s[p] != 'T' && s[p] != 't' && s[p] != ' ')) {
    return false;
  }
  ++p;
  if (!scan::Digits(s, &p, 2, &hour) || p >= s.size() || s[p++] != ':' ||
      !scan::Digits(s, &p, 2, &minute) || p >= s.size() || s[p++] != ':' ||
      !scan::Digits(s, &p, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  int64_t frac_us = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int64_t scale = 100000;
    size_t digits = 0;
    while (p < s.size() && scan::IsDigit(s[p])) {
      if (scale > 0) frac_us += (s[p] - '0') * scale;
      scale /= 10;
      ++p;
      ++digits;
    }
    if (digits == 0) return false;
  }
  if (p >= s.size()) return false;
  int64_t offset_s = 0;
  if (s[p] == 'Z' || s[p] == 'z') {
    ++p;
  } else if (s[p] == '+' || s[p] == '-') {
    int sign = s[p] == '-' ? -1 : 1;
    ++p;
    int oh = 0, om = 0;
    if (!scan::Digits(s, &p, 2, &oh) || p >= s.size() || s[p++] != ':' ||
        !scan::Digits(s, &p, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return false;
  }
  if (p != s.size()) return false;
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  *us = secs * 1'000'000 + frac_us;
  return true;
}

int64_t LogMessageTimeUs(const SyslogMessage& message, int64_t receive_us) {
  int64_t ts = 0;
  if (message.timestamp.empty() || !ParseRfc3339Us(message.timestamp, &ts)) return receive_us;
  int64_t skew = ts > receive_us ? ts - receive_us : receive_us - ts;
  return skew <= kLogMaxClockSkewUs ? ts : receive_us;
}

bool ParseMac(string_view text, rules::Mac* mac) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  size_t step = 0;
  if (text.size() == 17 && (text[2] == ':' || text[2] == '-')) {
    step = 3;
    for (size_t i = 2; i < 17; i += 3) {
      if (text[i] != text[2]) return false;
    }
  } else if (text.size() == 12) {
    step = 2;
  } else {
    return false;
  }
  for (size_t i = 0; i < 6; ++i) {
    int hi = hex(text[i * step]);
    int lo = hex(text[i * step + 1]);
    if (hi < 0 || lo < 0) return false;
    (*mac)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

size_t DhcpLeaseFacts(const SyslogMessage& message, int64_t ts_us, string_view raw,
                      LogFacts* out) {
  if (!IsLeaseGrant(message)) return 0;
  string_view ip_text, mac_text;
  if (!Field(message, "ip", &ip_text) || !Field(message, "mac", &mac_text)) return 0;
  auto ip = rules::IpAddress::Parse(ip_text);
  rules::Mac mac{};
  if (!ip || !ParseMac(mac_text, &mac)) return 0;
  rules::FactOrigin origin;
  origin.ts_us = ts_us;
  origin.source = "dhcp-log";
  // Cut on a UTF-8 boundary: never inside a multi-byte sequence.
  size_t cut = raw.size();
  if (cut > kMaxRawBytes) {
    cut = kMaxRawBytes;
    while (cut > 0 && (static_cast<unsigned char>(raw[cut]) & 0xC0) == 0x80) --cut;
  }
  origin.raw.assign(raw.substr(0, cut));
  rules::AddressFact address;
  address.mac = mac;
  address.ip = *ip;
  address.origin = origin;
  out->addresses.push_back(std::move(address));
  size_t n = 1;
  // The NXLog key=value/JSON form's "Hostname" is the machine NXLog runs on, not the client.
  string_view name = message.format == "nxlog" ? string_view() : FieldOr(message, "host_name");
  if (!name.empty() && name != "-" && name != "*") {
    rules::NameFact fact;
    fact.host.ip = *ip;
    fact.host.mac = mac;
    fact.name.assign(name);
    fact.kind = "hostname";
    fact.origin = std::move(origin);
    out->names.push_back(std::move(fact));
    ++n;
  }
  return n;
}

string_view LogEventName(const SyslogMessage& m) {
  string_view format = m.format;
  string_view action = FieldOr(m, "action");
  string_view id = FieldOr(m, "event_id");
  if (format == "sshd") {
    // OpenSSH auth.c / auth2.c and pam_unix wording; a connection dropped while authenticating
    // ("... by authenticating user root ADDR port N [preauth]") counts as a failure, as
    // CrowdSec's sshd parser counts it.
    string_view s = m.message;
    if (action == "failed" || action == "invalid_user" ||
        s.find("authentication failure") != string_view::npos ||
        s.find(" authenticating user ") != string_view::npos ||
        s.find(" not allowed because ") != string_view::npos) {
      return "auth_failure";
    }
    if (action == "accepted") return "auth_success";
    return {};
  }
  if (format == "snare" || format == "nxlog") {
    // Windows Security log: 4624 logon, 4625 failed logon, 4771 Kerberos pre-auth failed
    // (Microsoft Learn, "Audit logon events").
    if (id == "4625" || id == "4771") return "auth_failure";
    if (id == "4624") return "auth_success";
  }
  if (format == "cisco-asa") {
    // Cisco Secure Firewall ASA syslog messages guide: 113004/113012 AAA authentication
    // successful, 113005/113015 rejected, 113039 AnyConnect parent session started, 716001
    // WebVPN session started.
    if (id == "113005" || id == "113015") return "auth_failure";
    if (id == "113004" || id == "113012") return "auth_success";
    if (id == "113039" || id == "716001") return "vpn_login";
  }
  if (format == "fortigate") {
    if (action == "ssl-login-fail") return "auth_failure";
    if (action == "tunnel-up") return "vpn_login";
  }
  if (format == "cisco-asa" || format == "cisco-ios" || format == "fortigate" ||
      format == "paloalto" || format == "pfsense" || format == "iptables") {
    if (EqualsLower(action, "deny") || EqualsLower(action, "drop") ||
        EqualsLower(action, "block") || EqualsLower(action, "reject") ||
        StartsWith(action, "reset-") || EqualsLower(action, "denied")) {
      return "firewall_deny";
    }
    return {};
  }
  if (IsLeaseGrant(m)) return "dhcp_lease";
  return {};
}

rules::engine::LogEvent ToLogEvent(const SyslogMessage& message, int64_t ts_us,
                                   const rules::IpAddress& sender) {
  rules::engine::LogEvent event;
  event.ts_us = ts_us;
  event.host = message.hostname.empty() ? sender.ToString() : message.hostname;
  event.program = message.app_name;
  event.message = message.message;
  event.fields.reserve(message.fields.size() + 4);
  for (const auto& [key, value] : message.fields) event.fields.emplace_back(key, value);
  if (string_view name = LogEventName(message); !name.empty()) {
    event.fields.emplace_back("event", name);
  }
  event.fields.emplace_back("format", message.format);
  event.fields.emplace_back("sender", sender.ToString());
  if (message.pri) event.fields.emplace_back("severity", std::to_string(*message.pri % 8));
  return event;
}

}  // namespace sensor
