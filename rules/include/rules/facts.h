// The fact vocabulary: what the sensor learns from traffic and logs, as plain records. Extractors
// (sensor/) produce them, the inventory stores them, the summariser ships them (uplink/), and the
// rules engine evaluates them. Value types; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "rules/ip_address.h"

namespace rules {

using Mac = std::array<uint8_t, 6>;
std::string MacToString(const Mac& mac);  // "aa:bb:cc:dd:ee:ff"

// Where a fact came from and what it rests on. Kept with the fact as evidence.
struct FactOrigin {
  int64_t ts_us = 0;       // packet (or log) time the fact was seen
  std::string source;      // what produced it: "dhcp", "dns", "ssh", "http", "tls", "smb", "arp", ...
  std::string uid;         // conn.log uid of the flow it came from ("" for none)
  std::string raw;         // the raw text the fact was read from (a banner, a header value), bounded
};

// A host is identified by MAC on the local segment and by IP beyond a router.
struct HostRef {
  IpAddress ip;
  std::optional<Mac> mac;  // set when the frame came from the host itself on this segment
};

// An address a MAC had at a time (ARP, DHCP ACK, NDP, DHCP server log).
struct AddressFact {
  Mac mac{};
  IpAddress ip;
  FactOrigin origin;
};

// A name of a host: DHCP option 12/81, DNS A/AAAA/PTR answers, mDNS, NBNS, LLMNR, NTLM, Kerberos,
// TLS SNI/certificate names, LLDP/CDP system names.
struct NameFact {
  HostRef host;
  std::string name;
  std::string kind;  // "hostname", "fqdn", "netbios", "domain", "realm", "sni", "cert", "lldp"
  FactOrigin origin;
};

// A guess at a host's operating system, with its confidence (0-100).
struct OsFact {
  HostRef host;
  std::string vendor;   // "Microsoft", "Canonical", "Debian", "Cisco"
  std::string product;  // "Windows Server 2022", "Ubuntu Linux", "IOS"
  std::string version;  // "10.0.20348", "22.04", "15.2(4)M3"
  std::string family;   // "Windows", "Linux", "IOS", ...
  int confidence = 50;
  FactOrigin origin;
};

// A service: the responder of an established connection (TCP handshake completed, UDP answered),
// with the protocol identified from payload. Exposed when the client was outside local_nets.
struct ServiceFact {
  HostRef host;
  uint16_t port = 0;
  uint8_t transport = 6;   // IP protocol number
  std::string protocol;    // Zeek service name from payload: "ssh", "ssl", "http", "dns", "smb"
  std::string application; // nDPI label, e.g. "TLS.Microsoft"
  IpAddress client;        // the client of this observation
  bool exposed = false;    // the client is outside local_nets
  FactOrigin origin;
};

// Software with a version, normalised by the fingerprint database; `origin.raw` is the banner.
struct SoftwareFact {
  HostRef host;
  uint16_t port = 0;       // the service port for servers, 0 for clients
  uint8_t transport = 6;
  std::string role;        // "server" or "client"
  std::string kind;        // banner kind, as in the fingerprint db: "ssh_banners", "http_servers", ...
  std::string vendor;
  std::string product;
  std::string version;
  std::string cpe23;       // "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*", "" when unknown
  FactOrigin origin;
};

// Receives facts as they are found. Implementations: the inventory, the summariser, test fakes.
// Called from the thread that produced the fact.
class FactSink {
 public:
  virtual ~FactSink() = default;
  virtual void OnAddress(const AddressFact& fact) = 0;
  virtual void OnName(const NameFact& fact) = 0;
  virtual void OnOs(const OsFact& fact) = 0;
  virtual void OnService(const ServiceFact& fact) = 0;
  virtual void OnSoftware(const SoftwareFact& fact) = 0;
};

// Drops every fact: for callers that need a sink but not the facts (fuzz targets, tests).
class NullFactSink : public FactSink {
 public:
  void OnAddress(const AddressFact&) override {}
  void OnName(const NameFact&) override {}
  void OnOs(const OsFact&) override {}
  void OnService(const ServiceFact&) override {}
  void OnSoftware(const SoftwareFact&) override {}
};

}  // namespace rules
