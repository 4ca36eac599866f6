// RunCollectorDaemon: `utkikk-collector run`. Opens the store, listens with Broker over mutual
// TLS and serves the protocol until SIGINT or SIGTERM.
#include <csignal>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>

#include <spdlog/spdlog.h>

#include "uplink/collector/collector.h"
#include "uplink/rule_bundle.h"
#include "uplink/transport/collector_server.h"
#include "uplink/transport/transport.h"

namespace uplink {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void OnStopSignal(int) { g_stop.store(true); }

}  // namespace

int RunCollectorDaemon(const CollectorConfig& config) {
  TlsFiles tls{config.tls_cert, config.tls_key, config.tls_ca, ""};
  if (auto ok = CheckTlsFiles(tls); !ok) {
    spdlog::error("collector: refusing to start: {}", ok.error().message);
    return 1;
  }
  auto collector = Collector::Open(config);
  if (!collector) {
    spdlog::error("collector: {}", collector.error().message);
    return 1;
  }
  BrokerListenOptions options;
  options.tls = tls;
  options.address = config.listen_address;
  options.port = config.listen_port;
  auto listener = ListenBroker(options);
  if (!listener) {
    spdlog::error("collector: {}", listener.error().message);
    return 1;
  }
  // Scripts and tests read the port (listen_port 0 lets the system pick one).
  spdlog::info("collector: listening on {}:{}", config.listen_address, (*listener)->bound_port());
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);

  Collector& store = **collector;
  CollectorServer server(**listener, [&store](std::span<const uint8_t> envelope) {
    IngestOutcome outcome = store.Ingest(envelope);
    if (!outcome.ack) {
      spdlog::warn("collector: rejected {} #{} ({}): {}", outcome.sensor_id, outcome.sequence,
                   outcome.reason, outcome.message);
    }
    return outcome;
  });
  // The published rule bundle (utkikk-collector rules publish), read again when `current` names
  // another version. The collector offers the bytes as published; every uplink verifies them.
  OfferedBundle offered;
  server.SetBundleProvider([&config, &offered]() {
    auto version = InstalledBundleVersion(config.rules_bundle_dir);
    if (!version || *version == 0) return OfferedBundle{};
    if (*version != offered.version) {
      std::ifstream in(config.rules_bundle_dir + "/v" + std::to_string(*version) + "/bundle.utb",
                       std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
      if (!in.eof() && !in) return OfferedBundle{};
      offered = OfferedBundle{*version, std::move(bytes)};
      spdlog::info("collector: offering rule bundle version {}", *version);
    }
    return offered;
  });
  auto last_report = std::chrono::steady_clock::now();
  auto last_offer = last_report;
  while (!g_stop.load()) {
    server.RunOnce(std::chrono::milliseconds(200));
    const auto now = std::chrono::steady_clock::now();
    if (now - last_offer >= std::chrono::seconds(5)) {
      last_offer = now;  // a newly published bundle goes to connected uplinks, 16 per 5 s
      if (size_t n = server.OfferNewerBundle(); n > 0) {
        spdlog::info("collector: offered the rule bundle to {} uplinks", n);
      }
    }
    if (now - last_report >= std::chrono::minutes(1)) {
      last_report = now;
      const auto& s = server.stats();
      spdlog::info("collector: envelopes {} stored {} duplicates {} rejected {} peers {}",
                   s.envelopes, s.acked, s.duplicates, s.rejected, (*listener)->peer_count());
    }
  }
  const auto& s = server.stats();
  spdlog::info("collector: stopping; envelopes {} stored {} duplicates {} rejected {}",
               s.envelopes, s.acked, s.duplicates, s.rejected);
  return 0;
}

}  // namespace uplink
