// Reading the inventory database back (read-only; safe while the sensor writes it) and showing it:
// a table for people, JSON lines and CSV for machines. `utkikk inventory` is a thin main over
// this; docs/inventory.md shows the formats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rules/ip_address.h"
#include "rules/result.h"
#include "sensor/inventory/inventory.h"

namespace sensor {

struct InventoryQuery {
  std::optional<rules::IpAddress> host;  // only the host(s) that had this address
  bool exposed_only = false;             // only exposed services, and hosts that have one
};

// Rows of the database as value types (all times: microseconds since the epoch, packet time).
struct InventoryAddress {
  std::string ip, source;
  int64_t first_seen = 0, last_seen = 0;
};
struct InventoryName {
  std::string name, kind, source;
  int64_t first_seen = 0, last_seen = 0;
};
struct InventoryOs {
  std::string vendor, product, version, family, source, raw;
  int confidence = 0;
  int64_t first_seen = 0, last_seen = 0;
  std::string Label() const;  // "Microsoft Windows Server 2022 10.0.20348"
};
struct InventorySoftware {
  uint16_t port = 0;
  uint8_t transport = 0;
  std::string ip, role, kind, name, vendor, product, version, cpe23, raw, source;
  int64_t first_seen = 0, last_seen = 0;
  // "OpenBSD OpenSSH 9.2p1", or the raw banner when unnamed; "JA3 <hash>" for a TLS client's
  // fingerprint.
  std::string Label() const;
};
struct InventoryService {
  std::string ip;
  uint16_t port = 0;
  uint8_t transport = 0;
  std::string protocol, application;
  bool exposed = false;
  std::optional<int64_t> first_exposed_seen;
  int64_t first_seen = 0, last_seen = 0;
  std::vector<InventorySoftware> software;  // server software seen on this port
};
struct InventoryHost {
  int64_t id = 0;
  std::string key_kind;  // "mac" or "ip"
  std::string key;       // the MAC or the IP
  std::string mac, vendor;
  bool mac_random = false;
  int64_t first_seen = 0, last_seen = 0;
  std::string display;  // the most recently seen address (or the key when it has none)
  std::vector<InventoryAddress> addresses;  // most recent first
  std::vector<InventoryName> names;
  std::vector<InventoryOs> os;              // best first: highest confidence, then most recent
  std::vector<InventoryService> services;   // by port, transport, protocol
  std::vector<InventorySoftware> other_software;  // clients, and servers without a service
  // The host sends syslog to the sensor: its `log_senders` row (the one of its addresses that
  // sent most, when several did).
  std::optional<InventoryLogSender> logs;
};
struct InventoryChange {
  int64_t ts = 0;
  std::string host;  // InventoryHost::display
  std::string what;  // "software" or "os"
  uint16_t port = 0;
  uint8_t transport = 0;
  std::string role, subject, old_value, new_value;
};

// Reads the database at path. Errors: kNotFound when the file does not exist, kStore for a file
// that is not an inventory database (or a newer schema).
rules::Result<std::vector<InventoryHost>> ReadInventory(const std::string& path,
                                                        const InventoryQuery& query);
// Software and OS changes (the `changes` view), oldest first.
rules::Result<std::vector<InventoryChange>> ReadInventoryChanges(const std::string& path,
                                                                 const InventoryQuery& query);

enum class InventoryFormat { kTable, kJson, kCsv };
std::string FormatInventory(const std::vector<InventoryHost>& hosts, InventoryFormat format);
std::string FormatInventoryChanges(const std::vector<InventoryChange>& changes,
                                   InventoryFormat format);

}  // namespace sensor
