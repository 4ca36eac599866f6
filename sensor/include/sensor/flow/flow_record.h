// One bidirectional flow (a Zeek "connection"): small records per concern, one owner (FlowTable).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "rules/ip_address.h"

namespace sensor {

// Normalised so that both directions of a flow map to the same key: the (address, port) pair that
// sorts lower is `lo`. VLAN ids are part of the key (two VLANs may reuse addresses).
struct FlowKey {
  rules::IpAddress lo_addr;
  rules::IpAddress hi_addr;
  uint16_t lo_port = 0;
  uint16_t hi_port = 0;
  uint16_t vlan = 0;
  uint16_t inner_vlan = 0;
  uint8_t proto = 0;
  bool operator==(const FlowKey&) const = default;
};

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const noexcept;
};

// The originator's view: who started the flow. For TCP, the side that sent the first SYN (or,
// when the capture starts mid-flow, Zeek's heuristics); otherwise the first packet's sender.
struct FlowEndpoints {
  rules::IpAddress orig_h;
  uint16_t orig_p = 0;
  rules::IpAddress resp_h;
  uint16_t resp_p = 0;
  uint8_t proto = 0;
};

// Counters of one direction.
struct DirectionStats {
  uint64_t packets = 0;
  uint64_t wire_bytes = 0;     // frame lengths on the wire (what ndpiReader calls bytes)
  uint64_t ip_bytes = 0;       // IP header + payload, as the IP header claims (Zeek ip_bytes)
  uint64_t payload_bytes = 0;  // transport payload (Zeek orig_bytes/resp_bytes; TCP: by sequence)
  uint64_t missed_bytes = 0;   // TCP sequence gaps (Zeek missed_bytes)
};

// Zeek's TCP endpoint states (TCP_INACTIVE ... TCP_RESET), from which conn_state is derived.
enum class TcpEndpointState : uint8_t {
  kInactive,     // nothing sent yet
  kSynSent,      // sent a SYN without ACK
  kSynAckSent,   // sent a SYN+ACK
  kPartial,      // active, but its SYN was never seen (capture started mid-flow)
  kEstablished,  // handshake completed from this side's point of view
  kClosed,       // sent a FIN
  kReset,        // sent a RST
};

// TCP state per direction, enough for Zeek's conn_state and history.
struct TcpDirection {
  TcpEndpointState state = TcpEndpointState::kInactive;
  uint32_t isn = 0;          // first sequence number seen (SYN's, or first packet's)
  uint32_t next_seq = 0;     // highest sequence number + length seen (SYN counts one, FIN none)
  bool seq_valid = false;
  bool syn = false;
  bool fin = false;
  bool rst = false;
  bool saw_data = false;
  uint8_t flags_seen = 0;
};

struct TcpState {
  TcpDirection orig;
  TcpDirection resp;
  bool syn_ack = false;     // the responder answered a SYN
  bool established = false; // three-way handshake completed
};

// What DPI and the dissectors concluded.
struct FlowClassification {
  // Both from the payload only, never guessed from a port or an address ("" = none).
  std::string service;      // Zeek's `service` field: "http", "ssl", "ssh", "dns", ...
  std::string application;  // nDPI's protocol name, e.g. "TLS.Google" or "SSH"
  bool done = false;        // no more packets go to DPI
};

// Opaque DPI state (nDPI's per-flow struct) with the deleter that frees it.
struct DpiState;
using DpiStateDeleter = void (*)(DpiState*);
using DpiStatePtr = std::unique_ptr<DpiState, DpiStateDeleter>;

// Opaque per-flow state of the protocol extractors (sensor/extract/) with the deleter that frees it.
struct ExtractState;
using ExtractStateDeleter = void (*)(ExtractState*);
using ExtractStatePtr = std::unique_ptr<ExtractState, ExtractStateDeleter>;

enum class FlowEndReason : uint8_t {
  kIdle,       // idle timeout
  kClosed,     // TCP closed (FIN/RST) and the linger time passed
  kEvicted,    // removed to keep the table within max_flows
  kShutdown,   // end of input / sensor stopping
  kInterim,    // not ended: a periodic report of a long-lived flow
};

// What the protocol extractors learnt about one flow that rules look at
// (rules::engine::FlowObservation): set by sensor/extract, read at the flow's end by the alerts.
// Allocated on first use, so a flow nobody learnt anything about costs one null pointer.
// Strings are bounded by the extractors.
struct FlowAttributes {
  std::string service;                 // Zeek name of the protocol the payload showed ("smb"),
                                       // when it names it better than DPI ("netbios-ssn")
  std::optional<bool> tls;             // a TLS handshake was seen (implicit or after STARTTLS)
  int smb_version = 0;                 // SMB dialect major version (1, 2, 3); 0 unknown
  std::string snmp_version;            // "1", "2c", "3"
  std::string snmp_community;          // v1/v2c community of a request (never sent anywhere)
  std::string ja3;                     // TLS client fingerprints
  std::string ja4;
  std::string sni;                     // TLS server name
  std::string http_host;               // HTTP Host of the first request
  std::string user_agent;              // HTTP User-Agent of the first request
  std::string cert_sha256;             // the server certificate's SHA-256 (hex)
  // For the protocol logs (ssh.log, http.log, ssl.log; sensor/output/protocol_log.h), the first
  // transaction of the flow as the extractors saw it. Bounded strings.
  std::string ssh_client, ssh_server;  // the whole identification strings ("SSH-2.0-...")
  int ssh_version = 0;                 // 1 or 2
  uint8_t ssh_direction = 0;           // 1 INBOUND, 2 OUTBOUND (one side in local_nets); 0 -
  std::string http_method, http_uri, http_version, http_status_msg, http_server;
  std::string http_referrer, http_powered_by;
  int http_status = 0;
  int64_t http_request_body_len = -1;  // declared (Content-Length) or 0 without a body; -1 unknown
  int64_t http_response_body_len = -1;
  uint16_t tls_version = 0;            // the version the ServerHello chose (0x0303, 0x0304 ...)
  uint16_t tls_cipher = 0;
  uint16_t tls_curve = 0;              // key_share group (1.3) or ECDHE named curve (<= 1.2)
  bool tls_established = false;        // a ServerHello was seen
  std::string tls_subject, tls_issuer; // of the server's leaf certificate (TLS <= 1.2)
};

struct FlowRecord {
  FlowKey key;
  FlowEndpoints id;
  std::string uid;          // Zeek-style "C" + base62, unique per flow, deterministic per run
  int64_t start_us = 0;     // first packet's time
  int64_t last_us = 0;      // last packet's time
  int64_t last_report_us = 0;  // last interim report (long-lived flows)
  DirectionStats orig;
  DirectionStats resp;
  TcpState tcp;
  std::string history;      // Zeek's history string, e.g. "ShADadFf"
  FlowClassification classification;
  DpiStatePtr dpi{nullptr, nullptr};
  uint32_t dpi_packets = 0; // packets handed to DPI so far
  ExtractStatePtr extract{nullptr, nullptr};  // owned by ExtractorSet; freed in OnFlowEnd
  std::unique_ptr<FlowAttributes> attributes;  // null until an extractor learns something
};

// Zeek's conn_state value (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH).
std::string ConnState(const FlowRecord& flow);

// The responder accepted the connection: for TCP it answered a SYN with a SYN-ACK, sent data,
// or sent anything but a RST (a flow the capture joined midway); for UDP and other protocols it
// sent a packet back. A connection refused with a RST (Zeek's REJ) or never answered (S0) was
// not accepted: the port is closed or filtered, not a service.
bool ResponderAccepted(const FlowRecord& flow);

}  // namespace sensor
