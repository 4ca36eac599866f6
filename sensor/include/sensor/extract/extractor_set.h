// Protocol extractors: turn the first bytes of classified flows into inventory facts
// (rules::FactSink): SSH identification strings, HTTP request/response headers, TLS ClientHello
// (SNI, JA3, JA4) and server certificates, FTP/SMTP/POP3/IMAP greetings, the MySQL server
// greeting, DHCP, DNS/mDNS/LLMNR/NBNS answers and ARP; SMB1/2 negotiation and NativeOS,
// NTLMSSP (SMB, DCE-RPC, HTTP), Kerberos, RDP, PostgreSQL, SNMP, NTP, LLDP/CDP, TLS after
// STARTTLS/RDP, and p0f's TCP SYN signatures (ExtractConfig::p0f_database). Protocols are
// recognised from payload (with nDPI's label as a hint), never from the port alone.
// docs/inventory-sources.md lists every source and the fact it yields.
//
//   sensor::ExtractorSet extract(config, &fingerprint_db, inventory, local_nets);
//   FlowRecord& flow = flows.Update(packet, &from_orig);
//   classifier->Inspect(flow, packet, from_orig);
//   extract.OnPacket(flow, packet, from_orig);
//   ...  // in the FlowTable end callback, for every reason except kInterim:
//   extract.OnFlowEnd(flow);
//
// Bounded work: each direction of a flow is looked at for its first max_bytes_per_direction bytes
// (TCP: reassembled in sequence order) and max_packets_per_direction packets, then the per-flow
// state is freed and the flow marked done, after which OnPacket costs one load and a branch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rules/engine/observations.h"
#include "rules/facts.h"
#include "rules/fingerprint.h"
#include "rules/ip_address.h"
#include "sensor/decode/packet.h"
#include "sensor/flow/flow_record.h"

namespace sensor {

class ProtocolLogs;  // sensor/output/protocol_log.h

struct ExtractConfig {
  size_t max_bytes_per_direction = 16384;    // reassembly bound per direction
  uint32_t max_packets_per_direction = 24;   // packets looked at per direction
  size_t max_service_keys = 65536;           // ServiceFact dedupe set; cleared when full
  // The service and p0f dedupe sets are also cleared after this much packet time, so a service
  // or an OS guess seen for days keeps its last_seen moving (the inventory's own granularity).
  int64_t fact_repeat_us = 3'600'000'000;
  size_t max_arp_keys = 16384;               // ARP (mac, ip) dedupe set; cleared when full
  int64_t arp_repeat_us = 600'000'000;       // an ARP pair is reported again after this time
  // p0f's signature file (inventory.p0f_database, Debian's /etc/p0f/p0f.fp); "" = p0f off. A
  // file that cannot be read leaves p0f off with warning() saying why.
  std::string p0f_database;
};

// Named counters (hostile input is counted, never fatal).
struct ExtractStats {
  uint64_t flows_inspected = 0;   // flows that got per-flow state
  uint64_t flows_done = 0;        // flows whose state was freed before their end
  uint64_t states_live = 0;       // per-flow states currently allocated
  uint64_t ssh = 0, http = 0, tls = 0, banners = 0, mysql = 0;  // directions recognised
  uint64_t dhcp = 0, dns = 0, nbns = 0, arp = 0;                 // packets parsed
  uint64_t certificates = 0;      // leaf certificates parsed
  uint64_t malformed = 0;         // messages that did not parse (truncated, bad lengths)
  uint64_t reassembly_gaps = 0;   // out-of-order segments dropped (beyond the small queue)
  uint64_t truncated = 0;         // directions that hit max_bytes before a message completed
  uint64_t facts = 0;             // facts handed to the sink
  uint64_t identify_cache_hits = 0;  // fingerprint lookups answered from the memo
  uint64_t windows = 0, rdp = 0, postgres = 0;   // SMB/DCE-RPC/Kerberos, RDP, PostgreSQL flows
  uint64_t snmp = 0, ntp = 0, neighbors = 0;     // SNMP/NTP datagrams, LLDP/CDP frames
  uint64_t starttls = 0;          // TLS handshakes found after STARTTLS / AUTH TLS
  uint64_t p0f_packets = 0, p0f_matches = 0;     // SYN/SYN+ACK looked at, OS facts from p0f
};

// Owned by the pipeline; one per capture thread; not thread-safe. Holds a reference to the sink
// and a pointer to the fingerprint database (may be null: then software is named by
// rules::ParseSoftware only), both of which must outlive it. Per-flow state lives in
// FlowRecord::extract and is freed by OnFlowEnd (or by the record's deleter).
class ExtractorSet {
 public:
  ExtractorSet(const ExtractConfig& config, const rules::FingerprintDb* fingerprints,
               rules::FactSink& facts, const std::vector<rules::Cidr>& local_nets);
  ~ExtractorSet();
  ExtractorSet(const ExtractorSet&) = delete;
  ExtractorSet& operator=(const ExtractorSet&) = delete;

  // Every decoded IP packet after FlowTable::Update (and the classifier, so that
  // flow.classification may already be set).
  void OnPacket(FlowRecord& flow, const DecodedPacket& packet, bool from_orig);
  // Frames that carried no IP (ARP).
  void OnNonIp(const DecodedPacket& packet, std::span<const uint8_t> frame);
  // A flow ends (any reason but kInterim): emits a ServiceFact when the responder answered
  // (once per (server, port, transport, protocol) per run) and frees the per-flow state. Must be
  // called before the record is reused.
  void OnFlowEnd(FlowRecord& flow);

  ExtractStats stats() const;

  // DNS responses for the rules (indicator lists of domains and addresses): called with every
  // parsed DNS response that has answers, on the packet thread. The query is the first answer's
  // owner name (the parser keeps no question section); answers are the A/AAAA addresses as text
  // and the other owner names (CNAME chains). Unset: nothing is built.
  using DnsObserver = std::function<void(const rules::engine::DnsObservation&)>;
  void SetDnsObserver(DnsObserver observer);
  // The protocol logs (ssh/http/ssl at flow end, dns/dhcp per message); null: none (the
  // attributes only they need are then not filled). Borrowed, must outlive this object.
  void SetProtocolLogs(ProtocolLogs* logs);
  // Why an optional part is off ("" when all is well): the p0f database could not be read.
  const std::string& warning() const;

  class Impl;  // public only for the private helpers in src/extract/

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sensor
