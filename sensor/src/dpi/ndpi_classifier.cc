// Classifier over nDPI 4.2 (Debian libndpi 4.2).
//
// Cost and correctness choices, measured over the 56 captures in /work/shared/testdata/ndpi/pcap
// (12,686 packets; labels compared with ndpiReader-style full dissection, instructions counted
// with callgrind on alexa-app.pcapng, 3,103 packets / 160 flows, Inspect() inclusive):
//  * TCP packets without payload after the first payload packet, and UDP packets without
//    payload, are not handed to nDPI. The handshake before the first payload IS handed over:
//    without it nDPI 4.2 misses FTP_DATA, HTTP_Proxy and some TLS.AmazonAWS flows (its TCP
//    tracking wants SYN/SYN-ACK/ACK). Same labels as feeding everything.
//  * A verdict with a sub-protocol ("TLS.Google", "DNS.WhatsApp", decided by SNI, query name or
//    Host header on the client side) frees the state at once. A bare verdict ("TLS", "DNS") gets
//    up to max_extra_packets more while ndpi_extra_dissection_possible(): a certificate or a DNS
//    answer may still name the application (tls-rdn-extract.pcap: "TLS" -> "TLS.Microsoft",
//    iphone.pcap: "DNS" -> "DNS.Apple").
//  * nDPI's give-up guesses from the ports or its address lists (confidence MATCH_BY_PORT or
//    MATCH_BY_IP) are dropped (Conclude): the labels are those of ndpiReader's flows whose
//    confidence is DPI (the agreement test holds the sensor to that).
//  Result: 4,520 packets to nDPI instead of 6,046 (full dissection); labels equal to full
//  dissection except 3 flows named TLS.AmazonAWS (address) instead of TLS.Amazon (certificate).
//  Inspect() cost on alexa-app: 8.35 M instructions (~2,700 per captured packet) against
//  13.55 M (~4,400) for full dissection and 8.32 M when stopping at the first verdict.
#include "sensor/dpi/classifier.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include <ndpi_api.h>

#include "capture/c_handles.h"

namespace sensor {

using NdpiModulePtr = CPtr<ndpi_detection_module_struct, ndpi_exit_detection_module>;
using NdpiFlowPtr = CPtr<ndpi_flow_struct, ndpi_free_flow>;  // from ndpi_flow_malloc()

// One flow's nDPI state. Owned by FlowRecord::dpi (DpiStatePtr with DeleteDpiState); it never
// points at the module, so it may outlive the classifier. The shared counter lets the deleter
// keep the classifier's states_live right whoever frees the state.
struct DpiState {
  NdpiFlowPtr flow;
  std::shared_ptr<uint64_t> live;
  ndpi_protocol detected = NDPI_PROTOCOL_NULL;  // the verdict so far (during extra dissection)
  uint32_t extra_packets = 0;                    // packets fed after the first verdict
  bool payload_seen = false;                     // a packet with payload went to nDPI
};

namespace {

void DeleteDpiState(DpiState* state) {
  if (state == nullptr) {
    return;
  }
  if (state->live) {
    --*state->live;
  }
  delete state;
}

constexpr uint8_t kTcp = static_cast<uint8_t>(IpProto::kTcp);
constexpr uint8_t kUdp = static_cast<uint8_t>(IpProto::kUdp);

// Zeek's `service` names (the analyzer names Zeek writes into conn.log) for nDPI 4.2 protocol
// ids. Keyed by the master protocol when there is one (TLS.Google -> TLS -> "ssl"). Protocols
// Zeek has no analyzer for map to "". Implicit-TLS mail ports are "ssl", as Zeek labels them.
std::string ZeekService(uint16_t id, uint8_t proto, uint16_t orig_port, uint16_t resp_port) {
  switch (id) {
    case NDPI_PROTOCOL_HTTP:
    case NDPI_PROTOCOL_HTTP_CONNECT:
    case NDPI_PROTOCOL_HTTP_PROXY:
    case NDPI_PROTOCOL_IPP:  // IPP is HTTP on port 631
      return "http";
    case NDPI_PROTOCOL_TLS:
    case NDPI_PROTOCOL_MAIL_SMTPS:
    case NDPI_PROTOCOL_MAIL_IMAPS:
    case NDPI_PROTOCOL_MAIL_POPS:
      return "ssl";
    case NDPI_PROTOCOL_DTLS:
      return "dtls";
    case NDPI_PROTOCOL_QUIC:
      return "quic";
    case NDPI_PROTOCOL_SSH:
      return "ssh";
    case NDPI_PROTOCOL_DNS:
    case NDPI_PROTOCOL_MDNS:   // Zeek's DNS analyzer also parses mDNS (5353)
    case NDPI_PROTOCOL_LLMNR:  // and LLMNR (5355)
      return "dns";
    case NDPI_PROTOCOL_DHCP:
      return "dhcp";
    case NDPI_PROTOCOL_NTP:
      return "ntp";
    case NDPI_PROTOCOL_MAIL_SMTP:
      return "smtp";
    case NDPI_PROTOCOL_MAIL_IMAP:
      return "imap";
    case NDPI_PROTOCOL_MAIL_POP:
      return "pop3";
    case NDPI_PROTOCOL_FTP_CONTROL:
      return "ftp";
    case NDPI_PROTOCOL_FTP_DATA:
      return "ftp-data";
    case NDPI_PROTOCOL_SNMP:
      return "snmp";
    case NDPI_PROTOCOL_SMBV1:
    case NDPI_PROTOCOL_SMBV23:
      return "smb";
    case NDPI_PROTOCOL_KERBEROS:
      return proto == kTcp ? "krb_tcp" : "krb";
    case NDPI_PROTOCOL_SYSLOG:
      return "syslog";
    case NDPI_PROTOCOL_RDP:
      return "rdp";
    case NDPI_PROTOCOL_MYSQL:
      return "mysql";
    case NDPI_PROTOCOL_POSTGRES:
      return "postgresql";
    case NDPI_PROTOCOL_LDAP:
      return "ldap";
    case NDPI_PROTOCOL_SIP:
      return "sip";
    case NDPI_PROTOCOL_IRC:
      return "irc";
    case NDPI_PROTOCOL_DCERPC:
      return "dce_rpc";
    case NDPI_PROTOCOL_RADIUS:
      return "radius";
    case NDPI_PROTOCOL_SOCKS:
      return "socks";
    case NDPI_PROTOCOL_MQTT:
      return "mqtt";
    case NDPI_PROTOCOL_MODBUS:
      return "modbus";
    case NDPI_PROTOCOL_NETBIOS:
      // nDPI has one id for the three NetBIOS services (RFC 1002: 137 ns, 138 dgm, 139 ssn).
      if (proto == kTcp) {
        return "netbios-ssn";
      }
      return (orig_port == 137 || resp_port == 137) ? "netbios-ns" : "netbios-dgm";
    default:
      return "";
  }
}

// Owned by the caller through ClassifierPtr; not thread-safe (one per capture thread).
class NdpiClassifier final : public Classifier {
 public:
  NdpiClassifier(const ClassifierConfig& config, NdpiModulePtr module)
      : config_(config), module_(std::move(module)), live_(std::make_shared<uint64_t>(0)) {}

  void Inspect(FlowRecord& flow, const DecodedPacket& packet, bool /*from_orig*/) override {
    if (flow.classification.done) {
      return;
    }
    if (!Worth(packet, flow.dpi.get())) {
      return;
    }
    if (!flow.dpi) {
      NdpiFlowPtr ndpi_flow(static_cast<ndpi_flow_struct*>(ndpi_flow_malloc(SIZEOF_FLOW_STRUCT)));
      if (!ndpi_flow) {
        return;  // out of memory: try again with the next packet
      }
      std::memset(ndpi_flow.get(), 0, SIZEOF_FLOW_STRUCT);
      flow.dpi = DpiStatePtr(new DpiState{std::move(ndpi_flow), live_}, &DeleteDpiState);
      ++*live_;
    }
    const size_t length = std::min<size_t>(packet.ip_packet.size(), 0xffff);
    const uint64_t time_ms = packet.timestamp_us < 0 ? 0 : packet.timestamp_us / 1000;
    const ndpi_protocol result = ndpi_detection_process_packet(
        module_.get(), flow.dpi->flow.get(), packet.ip_packet.data(),
        static_cast<unsigned short>(length), time_ms);
    ++flow.dpi_packets;
    ++stats_.packets_inspected;
    if (!packet.payload.empty()) {
      flow.dpi->payload_seen = true;
    }

    DpiState& state = *flow.dpi;
    if (state.detected.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
      ++state.extra_packets;
    }
    if (result.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
      state.detected = result;
      // A verdict with a sub-protocol ("TLS.Google") is final enough; a bare one ("TLS", "DNS")
      // may still gain one from the server's side, so feed a few more packets while nDPI can.
      // A sub-protocol nDPI took from the server's address list ("TLS.AmazonAWS") counts as bare:
      // the certificate may still name it better ("TLS.Amazon"), as ndpiReader reports.
      const bool from_address =
          result.app_protocol == state.flow->guessed_host_protocol_id;
      const bool bare = result.master_protocol == NDPI_PROTOCOL_UNKNOWN ||
                        result.master_protocol == result.app_protocol || from_address;
      if (!bare || state.extra_packets >= config_.max_extra_packets ||
          !ndpi_extra_dissection_possible(module_.get(), state.flow.get())) {
        ++stats_.flows_classified;
        Conclude(flow, result);
        return;
      }
    }
    if (flow.dpi_packets >= config_.max_packets_per_flow) {
      GiveUp(flow);
    }
  }

  void Finish(FlowRecord& flow) override {
    if (!flow.classification.done && flow.dpi) {
      GiveUp(flow);
    }
    flow.dpi.reset();
  }

  ClassifierStats stats() const override {
    ClassifierStats stats = stats_;
    stats.states_live = *live_;
    return stats;
  }

 private:
  // Packets nDPI can learn from: TCP/UDP with payload (see the top of the file), and the first
  // fragment or unfragmented packets of other protocols (classified by IP protocol number).
  bool Worth(const DecodedPacket& packet, const DpiState* state) const {
    if (packet.ip_version == 0 || packet.ip_packet.empty()) {
      return false;
    }
    if (packet.fragment && !packet.first_fragment) {
      return false;
    }
    if (!config_.skip_payloadless || !packet.payload.empty()) {
      return true;
    }
    if (packet.ip_proto == kUdp) {
      return false;
    }
    if (packet.ip_proto == kTcp) {
      // The handshake before the first payload matters to nDPI 4.2 (its TCP tracking); pure
      // ACKs after it do not.
      return state == nullptr || !state->payload_seen;
    }
    return true;
  }

  void GiveUp(FlowRecord& flow) {
    if (flow.dpi->detected.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
      ++stats_.flows_classified;  // extra dissection ran out: keep the verdict
      Conclude(flow, flow.dpi->detected);
      return;
    }
    uint8_t guessed = 0;
    const ndpi_protocol result =
        ndpi_detection_giveup(module_.get(), flow.dpi->flow.get(), 1, &guessed);
    ++stats_.flows_given_up;
    Conclude(flow, result);
  }

  // Fills the classification from nDPI's verdict and frees the flow's state. Only a verdict
  // from the payload counts (confidence DPI, or DPI from nDPI's caches of what other flows'
  // payload showed): nDPI's give-up guesses from the ports (a bare handshake to port 80 is
  // "HTTP", bytes no dissector knew on 443 "TLS") or from its address lists ("TLS.Google" by
  // address) name nothing here. Zeek's service is a protocol an analyzer confirmed, and the
  // inventory's services are identified from their payload, not their port.
  void Conclude(FlowRecord& flow, const ndpi_protocol& result) {
    FlowClassification& out = flow.classification;
    const ndpi_confidence_t confidence = flow.dpi->flow->confidence;
    const bool from_payload =
        confidence == NDPI_CONFIDENCE_DPI || confidence == NDPI_CONFIDENCE_DPI_CACHE;
    const bool named = result.app_protocol != NDPI_PROTOCOL_UNKNOWN ||
                       result.master_protocol != NDPI_PROTOCOL_UNKNOWN;
    if (named && !from_payload) {
      ++stats_.guesses_dropped;
    } else if (named) {
      std::array<char, 64> name{};
      ndpi_protocol2name(module_.get(), result, name.data(), name.size());
      out.application = name.data();
      const uint16_t main_id = result.master_protocol != NDPI_PROTOCOL_UNKNOWN
                                   ? result.master_protocol
                                   : result.app_protocol;
      out.service = ZeekService(main_id, flow.key.proto, flow.id.orig_p, flow.id.resp_p);
    }
    out.done = true;
    flow.dpi.reset();
  }

  ClassifierConfig config_;
  NdpiModulePtr module_;
  std::shared_ptr<uint64_t> live_;  // shared with every DpiState handed out
  ClassifierStats stats_;
};

}  // namespace

rules::Result<ClassifierPtr> MakeNdpiClassifier(const ClassifierConfig& config) {
  if (config.max_packets_per_flow == 0) {
    return rules::Fail(rules::ErrorCode::kConfig, "dpi: max_packets_per_flow must be positive");
  }
  // ndpi_dont_load_tor_hosts: the Tor exit list is not used by us and costs start-up time.
  NdpiModulePtr module(ndpi_init_detection_module(ndpi_dont_load_tor_hosts));
  if (!module) {
    return rules::Fail(rules::ErrorCode::kInternal, "dpi: nDPI module initialisation failed");
  }
  NDPI_PROTOCOL_BITMASK all;
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(module.get(), &all);
  ndpi_finalize_initialization(module.get());
  return ClassifierPtr(std::make_unique<NdpiClassifier>(config, std::move(module)));
}

}  // namespace sensor
