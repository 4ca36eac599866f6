// What the rules engine evaluates beyond the facts of rules/facts.h: a flow (one connection as
// the flow table and the protocol extractors saw it), a DNS answer, and a log event. Plus the
// network model (local networks and named zones from the configuration) that policy rules
// refer to. Value types; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rules/ip_address.h"

namespace rules::engine {

// One connection, with whatever the extractors learnt about it. Empty strings and unset
// optionals are "not known"; a condition on an unknown attribute does not match.
struct FlowObservation {
  int64_t ts_us = 0;        // first packet time
  std::string uid;          // conn.log uid
  IpAddress orig;           // client
  uint16_t orig_port = 0;
  IpAddress resp;           // server
  uint16_t resp_port = 0;
  uint8_t transport = 6;    // IP protocol number: 6 TCP, 17 UDP
  // The responder accepted the connection (a TCP handshake or more than a RST; for UDP a packet
  // back). A refused or unanswered attempt matches no policy on services, TCP ports or exposure.
  bool accepted = true;
  std::string service;      // Zeek's service field, comma-separated: "imap", "imap,ssl", "http"
  std::optional<bool> tls;  // TLS seen (implicit or STARTTLS); unset: from "ssl" in service
  std::optional<bool> cleartext_auth;  // credentials seen in clear (USER/PASS, LOGIN, AUTH PLAIN)
  std::string http_auth;               // HTTP Authorization scheme seen: "basic", "ntlm", ...
  int smb_version = 0;                 // SMB dialect major version (1, 2, 3); 0 unknown
  std::string snmp_version;            // "1", "2c", "3"
  std::string snmp_community;          // the community string of an SNMP v1/v2c request
  std::optional<bool> exposed;         // the client is on the internet; unset: from Networks
  std::string ja3;                     // TLS client fingerprint (hex MD5)
  std::string ja4;
  std::string sni;                     // TLS server name
  std::string http_host;               // HTTP Host header
  std::string user_agent;
  std::string cert_sha256;             // server certificate fingerprint (hex)
  std::string cert_sha1;
};

// A DNS query and its answers as the resolver returned them (addresses and names, as text).
struct DnsObservation {
  int64_t ts_us = 0;
  std::string uid;
  IpAddress client;
  IpAddress server;
  std::string query;
  std::vector<std::string> answers;  // "192.0.2.1", "2001:db8::1", "cname.example."
};

// One parsed log line. `fields` holds what the parser extracted (src_ip, user, ...).
struct LogEvent {
  int64_t ts_us = 0;
  std::string host;
  std::string program;
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;

  // "host", "program", "message" or a field; nullptr when absent.
  const std::string* Field(std::string_view name) const;
};

// The network model from the configuration: which networks are local (everything else is the
// internet) and named zones of CIDRs ("building_automation": [10.50.0.0/16]).
struct Networks {
  std::vector<Cidr> local;
  std::vector<std::pair<std::string, std::vector<Cidr>>> zones;
};

}  // namespace rules::engine
