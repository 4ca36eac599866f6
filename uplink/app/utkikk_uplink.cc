// utkikk-uplink --config FILE [--exit-when-idle]: seals closed spool batches into signed
// envelopes and ships them to the collector over Broker with mutual TLS, deleting each batch
// only after the collector's acknowledgement (uplink/include/uplink/transport/shipper.h).
#include <csignal>

#include <atomic>
#include <chrono>
#include <ctime>
#include <exception>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "uplink/keys.h"
#include "uplink/rule_bundle.h"
#include "uplink/transport/clock.h"
#include "uplink/transport/shipper.h"
#include "uplink/transport/transport.h"
#include "uplink/transport/uplink_config.h"

namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop.store(true); }

int Usage() {
  spdlog::error("usage: utkikk-uplink --config FILE [--exit-when-idle | --install-bundle FILE]");
  return 2;
}

int64_t NowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

// Verifies a rule bundle with the rules public key and installs it for the sensor; says why not.
bool InstallBundle(const uplink::VerifyKey& rules_key, const std::string& dir,
                   const std::vector<uint8_t>& bytes) {
  auto installed = uplink::InstalledBundleVersion(dir);
  if (!installed) {
    spdlog::error("uplink: rule bundles: {}", installed.error().message);
    return false;
  }
  auto opened = uplink::OpenRuleBundle(bytes, rules_key, NowSeconds(), *installed, nullptr);
  if (!opened) {
    spdlog::warn("uplink: {}", opened.error().message);
    return false;
  }
  if (auto ok = uplink::InstallRuleBundle(dir, bytes, *opened); !ok) {
    spdlog::error("uplink: installing rule bundle version {}: {}", opened->version,
                  ok.error().message);
    return false;
  }
  spdlog::info("uplink: rule bundle version {} installed in {} ({} files, expires {})",
               opened->version, dir, opened->files.size(), opened->expires_s);
  return true;
}

int Main(int argc, char** argv) {
  std::string config_path;
  std::string install_file;
  bool exit_when_idle = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--install-bundle" && i + 1 < argc) {
      install_file = argv[++i];
    } else if (arg == "--exit-when-idle") {
      exit_when_idle = true;
    } else {
      return Usage();
    }
  }
  if (config_path.empty()) return Usage();
  auto config = uplink::LoadUplinkConfig(config_path);
  if (!config) {
    spdlog::error("{}", config.error().message);
    return 1;
  }
  std::optional<uplink::VerifyKey> rules_key;
  if (!config->rules_public_key.empty()) {
    auto loaded = uplink::VerifyKey::LoadPemFile(config->rules_public_key);
    if (!loaded) {
      spdlog::error("rules_public_key: {}", loaded.error().message);
      return 1;
    }
    rules_key = *loaded;
  }
  if (!install_file.empty()) {
    // A bundle carried by hand (an offline member): the same checks as one from the collector.
    if (!rules_key) {
      spdlog::error("--install-bundle needs rules_public_key and rules_bundle_dir in {}",
                    config_path);
      return 1;
    }
    std::ifstream in(install_file, std::ios::binary);
    if (!in) {
      spdlog::error("{}: cannot read", install_file);
      return 1;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    return InstallBundle(*rules_key, config->rules_bundle_dir, bytes) ? 0 : 1;
  }
  if (rules_key) {
    const std::string dir = config->rules_bundle_dir;
    const uplink::VerifyKey rk = *rules_key;
    config->shipper.bundle_version = [dir]() -> uint64_t {
      auto v = uplink::InstalledBundleVersion(dir);
      return v ? *v : 0;
    };
    config->shipper.on_bundle_offer = [dir, rk](uint64_t, const std::vector<uint8_t>& bytes) {
      InstallBundle(rk, dir, bytes);
    };
  }
  auto key = uplink::SigningKey::LoadPemFile(config->signing_key);
  if (!key) {
    spdlog::error("{}", key.error().message);
    return 1;
  }
  spdlog::info("uplink: sensor {} key fingerprint {}", config->shipper.sensor_id,
               key->verify_key().Fingerprint());
  uplink::BrokerConnectOptions options;
  options.tls = config->tls;
  options.sensor_id = config->shipper.sensor_id;
  options.address = config->collector_address;
  options.port = config->collector_port;
  options.retry = config->retry;
  auto transport = uplink::ConnectBroker(options);  // refuses to start without cert, key, CA
  if (!transport) {
    spdlog::error("uplink: refusing to start: {}", transport.error().message);
    return 1;
  }
  uplink::SystemClock clock;
  auto shipper = uplink::Shipper::Open(config->shipper, *key, **transport, clock);
  if (!shipper) {
    spdlog::error("{}", shipper.error().message);
    return 1;
  }
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  auto last_report = std::chrono::steady_clock::now();
  while (!g_stop.load()) {
    if (auto ran = (*shipper)->RunOnce(std::chrono::milliseconds(100)); !ran) {
      // Local I/O trouble (disk full, permissions): say so and try again shortly.
      spdlog::error("uplink: {}", ran.error().message);
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    if (exit_when_idle && (*shipper)->Idle()) break;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_report >= std::chrono::minutes(1)) {
      last_report = now;
      const auto& s = (*shipper)->stats();
      spdlog::info("uplink: sealed {} sent {} resent {} acked {} duplicates {} rejected {}/{} "
                   "in flight {} peers {}",
                   s.sealed, s.sent, s.resent, s.acked, s.duplicates, s.rejected_transient,
                   s.rejected_permanent, s.in_flight, (*transport)->peer_count());
    }
  }
  const auto& s = (*shipper)->stats();
  spdlog::info("uplink: stopping; sealed {} acked {} in flight {}", s.sealed, s.acked,
               s.in_flight);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_pattern("%L %n: %v");
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    spdlog::critical("utkikk-uplink: {}", e.what());
    return 1;
  }
}
