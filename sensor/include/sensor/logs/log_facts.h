// What a parsed syslog message adds to the picture (docs/logs.md, "Facts from logs"):
//   - DHCP server lease logs (ISC dhcpd, dnsmasq, Kea, Windows DHCP via NXLog) become the same
//     rules::AddressFact (MAC -> IP) and rules::NameFact (the client's host name) that a DHCP ACK
//     on the wire gives, with origin.source "dhcp-log" and the message as origin.raw;
//   - every message becomes a rules::engine::LogEvent for the `log` rules, with the product
//     parser's fields and a normalised "event" field (auth_failure, auth_success, firewall_deny,
//     vpn_login) where the product is known.
// Pure functions over values; thread-compatible.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "rules/engine/observations.h"
#include "rules/facts.h"
#include "rules/ip_address.h"
#include "sensor/logs/syslog_message.h"

namespace sensor {

// A message's own time is used when it is within this much of the receive time; device clocks
// that are off by more (or RFC 3164 stamps whose year was guessed wrong) yield the receive time.
inline constexpr int64_t kLogMaxClockSkewUs = 24LL * 3600 * 1'000'000;

// Microseconds since the epoch of an RFC 3339 timestamp ("2026-11-22T14:47:05.123Z",
// "...+01:00"); false for anything else.
bool ParseRfc3339Us(std::string_view text, int64_t* us);

// The message's timestamp when it parses and lies within kLogMaxClockSkewUs of receive_us;
// receive_us otherwise.
int64_t LogMessageTimeUs(const SyslogMessage& message, int64_t receive_us);

// "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF" or "aabbccddeeff" (Windows DHCP); false otherwise.
bool ParseMac(std::string_view text, rules::Mac* mac);

struct LogFacts {
  std::vector<rules::AddressFact> addresses;
  std::vector<rules::NameFact> names;
};

// The lease a DHCP server reports as granted (ISC dhcpd DHCPACK, dnsmasq DHCPACK, Kea "has been
// assigned/renewed" and DHCP4_LEASE_ALLOC, Windows DHCP events 10 and 11) with both a MAC and an
// IP: appends one AddressFact, plus a NameFact (kind "hostname") when the log names the client.
// Offers, requests, releases and client-side (dhclient) lines add nothing. Returns the number of
// facts appended. `raw` (the message as received) becomes origin.raw, cut to 512 bytes.
size_t DhcpLeaseFacts(const SyslogMessage& message, int64_t ts_us, std::string_view raw,
                      LogFacts* out);

// The normalised event of a message, "" when none applies: "auth_failure" / "auth_success"
// (sshd, Windows 4625/4771 and 4624, Cisco ASA AAA 113005/113015 and 113004/113012, FortiGate
// ssl-login-fail), "firewall_deny" (a firewall's deny/drop/block/reject action), "vpn_login"
// (Cisco ASA 113039/716001, FortiGate tunnel-up), "dhcp_lease" (a lease DhcpLeaseFacts reads).
std::string_view LogEventName(const SyslogMessage& message);

// The LogEvent of a message: host = HOSTNAME (the sender's address when absent), program =
// APP-NAME, message = MSG, fields = the product fields plus "event" (when LogEventName has one),
// "format", "sender" and "severity" (0..7, when there is a PRI).
rules::engine::LogEvent ToLogEvent(const SyslogMessage& message, int64_t ts_us,
                                   const rules::IpAddress& sender);

}  // namespace sensor
