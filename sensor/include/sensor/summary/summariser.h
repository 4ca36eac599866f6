// The summariser: turns the stream of facts into inventory *changes* and writes them, in closed
// batches of JSON lines (docs/formats.md, "Summary payloads"), into the spool that utkikk-uplink
// ships to the collector. It sits as a tee in front of the inventory:
//
//   extractors -> Summariser -> Inventory
//
//   auto spool = uplink::SpoolWriter::Open({.dir = "/var/spool/utkikk"});
//   sensor::Summariser summariser(config, std::move(*spool), inventory.get());
//   extractors = std::make_unique<ExtractorSet>(..., summariser, ...);
//   ...
//   pipeline observer: summariser.OnFlowEnd(flow, local_orig, local_resp);  // flow aggregates
//   alerting->SetObserver([&](const Alert& a, const AlertConn& c) { summariser.OnAlert(a, c); });
//   summariser.SetCaptureStats(packets, drops);   // when at hand
//   summariser.Tick(now_us);                      // pipeline time / wall time while live
//   summariser.Close();  // the last batch
//
// What counts as a change: a new host, a new MAC or name of a host, a changed OS guess, a new
// service or a change of its protocol or exposure, new software or a changed version, and a
// last_seen that moved by at least last_seen_granularity_us since it was last sent. Everything
// else is deduplicated against an in-memory record of what was sent (bounded by
// max_known_entries; beyond it the record is dropped and rebuilt, which only resends lines the
// collector already holds — its upserts are idempotent).
//
// A window is closed when Tick() or the packet time of a fact is interval_us past the window's
// start, when the inventory lines reach max_batch_bytes, and at Flush()/Close(). Closing a window
// writes up to four batches (docs/formats.md, "Summary payloads"): `flows` (flow_service and
// flow_host lines), `alerts` (alert lines), `logstats` (log_sender lines) — each only when it has
// lines — and the `inventory` batch (host, service, software lines), which always ends with one
// `health` line. Tick() closes a window even when nothing happened in it, so a live sensor sends
// a heartbeat with its statistics every interval; facts alone close a window only when it holds
// something.
//
// Data minimisation (docs/privacy.md): only hosts, names, OS guesses, services and software are
// sent — never packet payloads, URLs, user names or mail addresses. Names containing '@' are
// dropped; raw banners containing '@' or "://" are dropped; raw banners of client software
// (HTTP/SIP User-Agents, DHCP vendor classes) are dropped unless client_banners is set; TLS client
// fingerprints (JA3/JA4) are not sent at all. Flow aggregates list external peer addresses of
// internal services only (up to max_peer_addresses), never the destinations of internal clients;
// alert evidence with '@' or "://" is blanked unless alert_personal_evidence is set.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rules/engine/alert.h"
#include "rules/facts.h"
#include "rules/result.h"
#include "sensor/flow/flow_record.h"
#include "uplink/spool.h"

namespace sensor {

struct SummariserConfig {
  std::string sensor_version;                       // in every health line; "" = this build's
  int64_t interval_us = 60'000'000;                 // packet time a batch covers at most
  size_t max_batch_bytes = size_t{1} << 20;         // JSON-lines bytes before a batch closes
  int64_t last_seen_granularity_us = 3'600'000'000; // resend last_seen after it moved this much
  size_t max_known_entries = 500'000;               // dedupe record bound (hosts+names+...)
  size_t max_names_per_host = 64;                   // further names of a host are not sent
  size_t max_string_bytes = 255;                    // longer strings are cut (UTF-8 boundary)
  bool client_banners = false;                      // send raw banners of client software
  // The member's own networks: facts about hosts outside them (internet servers the members'
  // users visit, with their SNI names) are not sent. Empty: every host is sent.
  std::vector<rules::Cidr> local_nets;
  // Flow aggregates: entries (services + hosts) per window; flows beyond are counted, not kept.
  size_t max_flow_entries = 20'000;
  size_t max_peers_tracked = 256;   // distinct external peers counted per entry (then "at least")
  size_t max_peer_addresses = 8;    // external peer addresses listed per internal service
  size_t max_alerts_per_window = 1000;  // further alerts are counted in health, not sent
  bool alert_personal_evidence = false; // send alert evidence containing '@' or "://"
  // Directories whose free space goes into the health line: (name, path), e.g.
  // {"spool", spool dir}, {"logs", log dir}.
  std::vector<std::pair<std::string, std::string>> disk_paths;
};

// What the log receiver knows about one sender (a device that sends syslog), cumulative since
// the receiver started. The summariser sends a `log_sender` line when it changed since the last
// batch.
struct LogSenderSummary {
  std::string sender;  // the sender's address (or its configured name)
  uint64_t messages = 0, bytes = 0;
  std::array<uint64_t, 8> severities{};  // messages by syslog severity 0 (emerg) .. 7 (debug)
  int64_t first_seen_us = 0, last_seen_us = 0;
  bool quiet = false;  // the sender has been silent longer than expected
};

// Named counters; a snapshot.
struct SummariserStats {
  uint64_t facts = 0;                // facts received (all are forwarded)
  uint64_t changes = 0;              // updates of lines to send (new or changed state)
  uint64_t batches = 0;              // batches written to the spool
  uint64_t lines = 0;                // JSON lines in those batches (health lines included)
  uint64_t bytes = 0;                // JSON-lines bytes in those batches
  uint64_t put_errors = 0;           // batches the spool refused (see last_error())
  uint64_t names_dropped = 0;        // names with '@' (mail addresses, user principals)
  uint64_t raw_dropped = 0;          // raw banners with '@' or "://"
  uint64_t client_raw_dropped = 0;   // raw banners of clients (client_banners off)
  uint64_t fingerprints_skipped = 0; // TLS client fingerprints (JA3/JA4), never sent
  uint64_t software_unnamed = 0;     // software facts without a product, not sent
  uint64_t names_over_bound = 0;     // names beyond max_names_per_host
  uint64_t unspecified_hosts = 0;    // facts about 0.0.0.0 / ::, not sent
  uint64_t external_hosts = 0;       // facts about hosts outside local_nets, not sent
  uint64_t known_resets = 0;         // times the dedupe record hit max_known_entries
  uint64_t flows = 0;                // ended flows seen by OnFlowEnd
  uint64_t flows_cut = 0;            // ... not aggregated: max_flow_entries reached
  uint64_t alerts = 0;               // alerts seen by OnAlert
  uint64_t alerts_cut = 0;           // ... not sent: max_alerts_per_window reached
  uint64_t evidence_blanked = 0;     // alert evidence with '@' or "://" left out
  uint64_t health_fields_refused = 0;  // SetHealthField with a bad name or invalid JSON
};

// Owned by the sensor's main (one per sensor). Facts, flows, alerts, Tick, Flush and Close come
// from one thread (the packet thread); SetHealthField and SetLogSenders may be called from any
// thread. `next` (may be null) is not owned and must outlive it.
class Summariser : public rules::FactSink {
 public:
  Summariser(SummariserConfig config, std::unique_ptr<uplink::SpoolWriter> spool,
             rules::FactSink* next);
  ~Summariser() override;  // Close(), errors counted
  Summariser(const Summariser&) = delete;
  Summariser& operator=(const Summariser&) = delete;

  void OnAddress(const rules::AddressFact& fact) override;
  void OnName(const rules::NameFact& fact) override;
  void OnOs(const rules::OsFact& fact) override;
  void OnService(const rules::ServiceFact& fact) override;
  void OnSoftware(const rules::SoftwareFact& fact) override;

  // An ended flow (not interim reports); local_* as for conn.log. Aggregated per window: per
  // internal service (responder in local_nets, answered) and per internal host. With empty
  // local_nets every address counts as internal.
  void OnFlowEnd(const FlowRecord& flow, bool local_orig, bool local_resp);
  // An alert the sensor emitted (after suppression): an `alert` line in the window's batch.
  void OnAlert(const rules::engine::Alert& alert);

  // Capture counters (cumulative since the capture started) for the next health lines (cheap;
  // call when they are at hand). The health line carries them and the change since the last one.
  void SetCaptureStats(uint64_t packets, uint64_t drops);
  // A free-form member of the following health lines: `name` ([a-z0-9_], not one of the
  // summariser's own members) = `json` (one valid JSON value). An empty json removes it. False
  // (and counted) when refused.
  bool SetHealthField(std::string name, std::string json);
  // The log receiver's senders; each one that changed since the last batch becomes a
  // `log_sender` line at the next window close.
  void SetLogSenders(std::vector<LogSenderSummary> senders);
  // Time passes (pipeline packet time, or wall time while a live capture is quiet): closes the
  // window when it is interval_us old, even when it holds nothing (the heartbeat).
  void Tick(int64_t now_us);

  // Closes the current batch now if it holds any change.
  rules::Result<> Flush();
  // Closes the last batch (with its health line, even when it holds no change); later facts are
  // only forwarded. A second Close does nothing.
  rules::Result<> Close();

  const SummariserStats& stats() const;
  std::optional<rules::Error> last_error() const;

  class Impl;  // public only for helpers in src/summary/

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sensor
