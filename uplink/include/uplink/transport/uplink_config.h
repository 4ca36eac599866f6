// The uplink's YAML configuration (keys documented in docs/collector-setup.md).
#pragma once

#include <string>
#include <string_view>

#include "rules/result.h"
#include "uplink/transport/shipper.h"
#include "uplink/transport/transport.h"

namespace uplink {

struct UplinkConfig {
  ShipperConfig shipper;            // sensor_id, spool_dir, state_dir, window, timeouts
  std::string signing_key;          // Ed25519 private key (PEM, mode 0600)
  TlsFiles tls;                     // client certificate, key, and the collector-server CA
  std::string collector_address = "127.0.0.1";
  uint16_t collector_port = 9999;
  std::chrono::seconds retry{5};
  // Rule bundles from the collector (optional, both or neither): the CSIRT's rules public key
  // (PEM) every offered bundle is verified with, and the directory it is installed into for the
  // sensor (the sensor's alerts.bundle_dir).
  std::string rules_public_key;
  std::string rules_bundle_dir;
};

// Unknown keys and bad values fail with "file:line:column: message" (kConfig). Required:
// sensor_id, spool_dir, state_dir, signing_key, tls_cert, tls_key, tls_ca.
rules::Result<UplinkConfig> LoadUplinkConfig(const std::string& path);
rules::Result<UplinkConfig> ParseUplinkConfig(std::string_view yaml, const std::string& name);

}  // namespace uplink
