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
//   summariser.SetCaptureStats(packets, drops);
//   summariser.Close();  // the last batch
//
// What counts as a change: a new host, a new MAC or name of a host, a changed OS guess, a new
// service or a change of its protocol or exposure, new software or a changed version, and a
// last_seen that moved by at least last_seen_granularity_us since it was last sent. Everything
// else is deduplicated against an in-memory record of what was sent (bounded by
// max_known_entries; beyond it the record is dropped and rebuilt, which only resends lines the
// collector already holds — its upserts are idempotent).
//
// A batch is closed when the packet time of a fact is interval_us past the batch's first fact,
// when its JSON lines reach max_batch_bytes, and at Flush()/Close(). Each batch ends with one
// `health` line (sensor version, counters).
//
// Data minimisation (docs/privacy.md): only hosts, names, OS guesses, services and software are
// sent — never packet payloads, URLs, user names or mail addresses. Names containing '@' are
// dropped; raw banners containing '@' or "://" are dropped; raw banners of client software
// (HTTP/SIP User-Agents, DHCP vendor classes) are dropped unless client_banners is set; TLS client
// fingerprints (JA3/JA4) are not sent at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/facts.h"
#include "rules/result.h"
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
};

// Owned by the sensor's main (one per sensor). Not thread-safe: facts, Flush and Close come from
// one thread (the packet thread). `next` (may be null) is not owned and must outlive it.
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

  // Capture counters for the next health lines (cheap; call when they are at hand).
  void SetCaptureStats(uint64_t packets, uint64_t drops);

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
