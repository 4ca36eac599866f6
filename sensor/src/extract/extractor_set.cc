// ExtractorSet: per-flow bounded reassembly, protocol recognition from the first bytes, and the
// facts each protocol yields. The parsers themselves are in *_parsers.cc.
#include "sensor/extract/extractor_set.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "extract/p0f.h"
#include "extract/parsers.h"
#include "extract/u64_set.h"
#include "sensor/output/protocol_log.h"
#include "rules/version.h"

namespace sensor {

// Which protocol a flow was recognised as; names are Zeek's service names.
enum class Proto : uint8_t {
  kNone, kSsh, kHttp, kTls, kFtp, kSmtp, kPop3, kImap, kMysql, kDhcp, kDns, kNbns,
  kSmb, kDceRpc, kKerberos, kRdp, kPostgres, kSnmp, kNtp,  // win_parsers.cc, net_parsers.cc
  kLdap,        // recognised only (LooksLikeLdap): the service's name
  kSmtpClient,  // the client side of SMTP (its mail user agent)
  kQuic,        // a client's QUIC Initial (quic_initial.cc)
  kFtpClient,   // the client side of FTP (its PORT/EPRT commands)
  kFtpData,     // a data connection announced on an FTP control connection
  kUnknown, kCount
};

namespace {

constexpr std::array<const char*, static_cast<size_t>(Proto::kCount)> kProtoNames = {
    "", "ssh", "http", "ssl", "ftp", "smtp", "pop3", "imap", "mysql", "dhcp", "dns", "netbios-ns",
    "smb", "dce_rpc", "krb", "rdp", "postgresql", "snmp", "ntp", "ldap", "smtp", "quic", "ftp",
    "ftp-data", ""};

const char* ProtoName(Proto p) { return kProtoNames[static_cast<size_t>(p)]; }

}  // namespace

// The part every per-flow state shares: a done flag (checked on the hot path) and the protocol.
// Static sentinels of this type carry the verdict of flows whose state was freed (and of UDP
// flows, which need no state at all); their deleter does nothing.
struct ExtractState {
  bool done = false;
  Proto proto = Proto::kNone;
};

namespace {

using extract::Bytes;

struct Sentinels {
  std::array<ExtractState, static_cast<size_t>(Proto::kCount)> done;
  std::array<ExtractState, static_cast<size_t>(Proto::kCount)> open;
  Sentinels() {
    for (size_t i = 0; i < done.size(); ++i) {
      done[i] = {true, static_cast<Proto>(i)};
      open[i] = {false, static_cast<Proto>(i)};
    }
  }
};
Sentinels& TheSentinels() {
  static Sentinels s;
  return s;
}
void KeepSentinel(ExtractState*) {}

ExtractStatePtr Sentinel(bool done, Proto p) {
  Sentinels& s = TheSentinels();
  return ExtractStatePtr(&(done ? s.done : s.open)[static_cast<size_t>(p)], &KeepSentinel);
}

// One direction of a TCP flow: bytes in sequence order from its first data packet.
struct Direction {
  std::vector<uint8_t> buf;
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> pending;  // out of order, at most 4
  uint32_t base_seq = 0;
  uint32_t packets = 0;
  bool base_set = false;
  bool done = false;
  Proto proto = Proto::kNone;
  extract::TlsHandshakeReader tls;
  // Message-framed protocols (SMB, DCE-RPC, Kerberos, RDP): the next unread message in buf;
  // STARTTLS and RDP: where the TLS handshake starts in buf (tls_at, when tls_inner).
  size_t offset = 0;
  size_t lines_at = 0;  // FTP control: the next line to read in buf
  size_t tls_at = 0;
  bool tls_inner = false;
  uint8_t stage = 0;
};

struct TcpExtract : ExtractState {
  std::array<Direction, 2> dir;  // 0: originator, 1: responder
  std::vector<std::string> smb_dialects;  // the SMB1 Negotiate request's, for the response
};

void DeleteTcpState(ExtractState* s) { delete static_cast<TcpExtract*>(s); }

// An FTP command (RFC 959 5.3.1): three or four letters, then a space or the line's end.
bool LooksLikeFtpCommand(Bytes b) {
  size_t letters = 0;
  while (letters < b.size() && letters < 4 &&
         ((b[letters] | 0x20) >= 'a' && (b[letters] | 0x20) <= 'z')) {
    ++letters;
  }
  return letters >= 3 && letters < b.size() &&
         (b[letters] == ' ' || b[letters] == '\r' || b[letters] == '\n');
}

constexpr size_t kMaxPending = 4;

bool IsIpLiteral(std::string_view host) {
  return !host.empty() && (host.front() == '[' || rules::IpAddress::Parse(host).has_value());
}

std::string FormatVersion(const rules::SoftwareVersion& v) {
  std::string out;
  for (const auto& part : {v.major, v.minor, v.minor2, v.minor3}) {
    if (!part) break;
    if (!out.empty()) out.push_back('.');
    out += std::to_string(*part);
  }
  if (!out.empty() && v.addl && !v.addl->empty() && v.addl->size() <= 4 &&
      std::isalpha(static_cast<unsigned char>(v.addl->front()))) {
    out += *v.addl;  // "6.6.1" + "p1"
  }
  return out;
}

}  // namespace

class ExtractorSet::Impl {
 public:
  Impl(const ExtractConfig& config, const rules::FingerprintDb* db, rules::FactSink& sink,
       const std::vector<rules::Cidr>& local_nets)
      : config_(config), db_(db), sink_(sink), local_nets_(local_nets) {}

  void OnPacket(FlowRecord& flow, const DecodedPacket& packet, bool from_orig);
  void OnNonIp(const DecodedPacket& packet, Bytes frame);
  void OnFlowEnd(FlowRecord& flow);
  ExtractStats stats_;
  ExtractorSet::DnsObserver dns_observer_;  // may be empty
  ProtocolLogs* protocol_logs_ = nullptr;     // may be null

 private:
  bool IsLocal(const rules::IpAddress& a) const {
    for (const auto& net : local_nets_) {
      if (net.Contains(a)) return true;
    }
    return false;
  }
  void OnTcp(FlowRecord& flow, const DecodedPacket& packet, bool from_orig);
  void OnUdp(FlowRecord& flow, const DecodedPacket& packet, bool from_orig);
  void Append(const FlowRecord& flow, Direction& d, const DecodedPacket& packet, bool from_orig);
  Proto Recognise(const FlowRecord& flow, Direction& d, bool from_orig);
  // Returns true when the direction has nothing more to give.
  bool Process(FlowRecord& flow, TcpExtract& st, Direction& d, bool from_orig, int64_t ts);
  void OnTlsMessage(FlowRecord& flow, Direction& d, bool from_orig, uint8_t type, Bytes body,
                    int64_t ts);
  void FinishFlow(FlowRecord& flow, Proto proto);

  // Fact helpers.
  rules::FactOrigin Origin(const FlowRecord& flow, int64_t ts, const char* source,
                           std::string raw) const {
    rules::FactOrigin o;
    o.ts_us = ts;
    o.source = source;
    o.uid = flow.uid;
    o.raw = raw.size() > 4096 ? raw.substr(0, 4096) : std::move(raw);
    return o;
  }
  void Software(const FlowRecord& flow, bool server, const char* kind, std::string_view banner,
                const std::string& raw, const char* source, int64_t ts, int os_confidence);
  void SoftwareAt(const FlowRecord& flow, const rules::IpAddress& ip, uint16_t port, bool server,
                  const char* kind, std::string_view banner, const std::string& raw,
                  const char* source, int64_t ts, int os_confidence);
  void Name(const rules::IpAddress& ip, const std::optional<rules::Mac>& mac, std::string name,
            const char* kind, rules::FactOrigin origin) {
    if (name.empty()) return;
    rules::NameFact f;
    f.host.ip = ip;
    f.host.mac = mac;
    f.name = std::move(name);
    f.kind = kind;
    f.origin = std::move(origin);
    ++stats_.facts;
    sink_.OnName(f);
  }
  void Dhcp(const FlowRecord& flow, const DecodedPacket& packet, const extract::DhcpMessage& m);
  void Dns(const FlowRecord& flow, const DecodedPacket& packet, const extract::DnsMessage& m,
           const char* source);

  // db_->Identify memoised by (kind, banner): the same banners come again and again, and each
  // lookup runs the kind's patterns. Bounded: dropped when full. nullptr when there is no match.
  const rules::Identification* Identify(const char* kind, std::string_view banner);

  // A server certificate parsed and fingerprinted once: servers send the same certificate in
  // every handshake, and the DER walk plus SHA-256 of ~1-2 KiB costs ~80 k instructions.
  // Keyed by the DER bytes themselves (no collisions); bounded, dropped when full.
  struct ParsedCertificate {
    std::optional<extract::CertificateInfo> info;  // nullopt: malformed
    std::string sha256;
  };
  const ParsedCertificate& Certificate(extract::Bytes der);

  ExtractConfig config_;
  const rules::FingerprintDb* db_;
  std::unordered_map<std::string, ParsedCertificate> certificates_;
  std::unordered_map<std::string, std::optional<rules::Identification>> identified_;
  std::optional<rules::Identification> identify_scratch_;  // for banners too long to keep
  rules::FactSink& sink_;
  std::vector<rules::Cidr> local_nets_;
  extract::U64Set services_seen_;
  // When services_seen_ and p0f_seen_ are next cleared (packet time; config_.fact_repeat_us).
  int64_t facts_repeat_at_us_ = std::numeric_limits<int64_t>::min();
  void RepeatFactsAfter(int64_t ts) {
    if (ts < facts_repeat_at_us_) return;
    services_seen_.Clear();
    p0f_seen_.Clear();
    facts_repeat_at_us_ = ts + config_.fact_repeat_us;
  }
  std::unordered_map<uint64_t, int64_t> arp_seen_;

  // FTP data connections announced on control connections and not yet seen, as Zeek's FTP
  // analyzer schedules them (base/protocols/ftp/main.zeek): from `orig` to resp:port, within
  // kFtpDataWait of the announcement. Few at a time; the oldest go first beyond kMaxFtpData.
  struct FtpDataExpected {
    rules::IpAddress orig, resp;
    uint16_t port = 0;
    int64_t until_us = 0;
  };
  static constexpr int64_t kFtpDataWait = 5 * 60 * 1'000'000;  // Zeek's 5 min
  static constexpr size_t kMaxFtpData = 256;
  std::vector<FtpDataExpected> ftp_data_;
  void ExpectFtpData(const rules::IpAddress& orig, const rules::IpAddress& resp, uint16_t port,
                     int64_t ts);
  bool IsExpectedFtpData(const DecodedPacket& packet);
  void FtpControl(FlowRecord& flow, Direction& d, bool from_orig, int64_t ts);

  // ---- Issue 3 sources (SMB/NTLM/DCE-RPC/Kerberos/RDP/PostgreSQL/SNMP/NTP/LLDP/CDP/p0f, STARTTLS);
  // defined at the end of this file.
 public:
  std::unique_ptr<extract::P0fDb> p0f_;  // null: p0f off
  std::string p0f_warning_;

 private:
  Proto RecogniseMore(const FlowRecord& flow, Bytes buf, bool from_orig) const;
  bool ProcessMore(FlowRecord& flow, TcpExtract& st, Direction& d, bool from_orig, int64_t ts);
  bool ProcessSmb(FlowRecord& flow, TcpExtract& st, Direction& d, bool from_orig, int64_t ts);
  bool FeedTlsAt(FlowRecord& flow, Direction& d, bool from_orig, int64_t ts);
  bool StartTls(FlowRecord& flow, Direction& d, bool from_orig, int64_t ts);
  // A decrypted QUIC Initial's CRYPTO data: SNI, JA4 ('q'), the user agent transport parameter.
  // false: the ClientHello continues in a later Initial (not read).
  bool QuicClientHello(FlowRecord& flow, const DecodedPacket& packet,
                       const std::vector<uint8_t>& crypto);
  bool HttpNtlm(FlowRecord& flow, Direction& d, bool from_orig, int64_t ts);
  Proto OnUdpMore(FlowRecord& flow, const DecodedPacket& packet, bool from_orig, Proto known);
  void OnNtlm(const FlowRecord& flow, const extract::NtlmMessage& m, bool from_orig, int64_t ts,
              const char* source);
  void OnKerberos(const FlowRecord& flow, const extract::KerberosMessage& m, int64_t ts);
  void OnNeighbor(const DecodedPacket& packet, Bytes frame);
  void OnSyn(FlowRecord& flow, const DecodedPacket& packet);
  // A SoftwareFact (and the OsFact the database names) for any host, flow or not.
  void Identified(const rules::HostRef& host, uint16_t port, uint8_t transport, bool server,
                  const char* kind, std::string_view banner, rules::FactOrigin origin,
                  int os_confidence);
  void Plain(const rules::HostRef& host, uint16_t port, uint8_t transport, bool server,
             const char* kind, std::string product, std::string version, rules::FactOrigin origin);
  // The per-flow attributes the policy rules read (smb_version, snmp_version, snmp_community).
  // The flow's attributes for the rules (sensor/flow/flow_record.h), made on first use.
  static FlowAttributes& Attributes(FlowRecord& flow) {
    if (!flow.attributes) flow.attributes = std::make_unique<FlowAttributes>();
    return *flow.attributes;
  }
  void NoteFlowAttributes(FlowRecord& flow, int smb_version, const std::string& snmp_version,
                          const std::string& snmp_community);
  std::unordered_map<uint64_t, int64_t> neighbors_seen_;
  extract::U64Set p0f_seen_;
};

// ---------------------------------------------------------------------------------------------
// Packets.

void ExtractorSet::Impl::OnPacket(FlowRecord& flow, const DecodedPacket& packet, bool from_orig) {
  if (ExtractState* s = flow.extract.get(); s != nullptr) {
    if (flow.orig.packets + flow.resp.packets <= 1) {
      if (flow.extract.get_deleter() == &DeleteTcpState) --stats_.states_live;
      flow.extract.reset();  // a recycled record whose end we did not see: start afresh
      flow.extract = ExtractStatePtr(nullptr, nullptr);
    } else if (s->done) {
      return;
    }
  }
  if (flow.key.proto == static_cast<uint8_t>(IpProto::kTcp)) {
    OnTcp(flow, packet, from_orig);
  } else if (flow.key.proto == static_cast<uint8_t>(IpProto::kUdp)) {
    OnUdp(flow, packet, from_orig);
  } else {
    flow.extract = Sentinel(true, Proto::kNone);
  }
}

void ExtractorSet::Impl::FinishFlow(FlowRecord& flow, Proto proto) {
  if (flow.extract && flow.extract.get_deleter() == &DeleteTcpState) {
    --stats_.states_live;
    ++stats_.flows_done;
  }
  flow.extract = Sentinel(true, proto);
}

void ExtractorSet::Impl::OnTcp(FlowRecord& flow, const DecodedPacket& packet, bool from_orig) {
  if ((packet.tcp_flags & kTcpSyn) && p0f_ != nullptr) OnSyn(flow, packet);
  if (!ftp_data_.empty() && flow.orig.packets + flow.resp.packets == 1 &&
      IsExpectedFtpData(packet)) {
    flow.extract = Sentinel(true, Proto::kFtpData);  // file contents: nothing to read
    return;
  }
  if (packet.payload.empty()) {
    return;  // handshake and pure ACKs: nothing to read, nothing allocated
  }
  if (!flow.extract) {
    flow.extract = ExtractStatePtr(new TcpExtract(), &DeleteTcpState);
    ++stats_.flows_inspected;
    ++stats_.states_live;
  }
  auto& st = *static_cast<TcpExtract*>(flow.extract.get());
  Direction& d = st.dir[from_orig ? 0 : 1];
  if (!d.done) {
    ++d.packets;
    Append(flow, d, packet, from_orig);
    if (Process(flow, st, d, from_orig, packet.timestamp_us)) {
      d.done = true;
    } else if (d.packets >= config_.max_packets_per_direction ||
               d.buf.size() >= config_.max_bytes_per_direction) {
      if (d.proto != Proto::kNone && d.proto != Proto::kUnknown) ++stats_.truncated;
      d.done = true;
    }
    if (d.done) {
      d.buf = {};
      d.pending = {};
      d.tls = {};
    }
  }
  if (st.dir[0].done && st.dir[1].done) {
    Proto p = st.dir[0].proto != Proto::kNone && st.dir[0].proto != Proto::kUnknown
                  ? st.dir[0].proto
                  : st.dir[1].proto;
    FinishFlow(flow, p == Proto::kUnknown ? Proto::kNone : p);
  }
}

void ExtractorSet::Impl::Append(const FlowRecord& flow, Direction& d, const DecodedPacket& packet,
                                bool from_orig) {
  Bytes payload = packet.payload;
  if (!d.base_set) {
    // The byte after the SYN when it was seen (a first segment may arrive out of order).
    const TcpDirection& t = from_orig ? flow.tcp.orig : flow.tcp.resp;
    d.base_seq = t.syn ? t.isn + 1 : packet.tcp_seq;
    d.base_set = true;
  }
  uint32_t offset = packet.tcp_seq - d.base_seq;  // modulo 2^32
  size_t limit = config_.max_bytes_per_direction;
  auto add = [&](uint32_t off, Bytes data) {
    if (off > d.buf.size()) return false;
    size_t skip = d.buf.size() - off;
    if (skip < data.size()) {
      size_t n = std::min(data.size() - skip, limit - std::min(limit, d.buf.size()));
      d.buf.insert(d.buf.end(), data.begin() + static_cast<std::ptrdiff_t>(skip),
                   data.begin() + static_cast<std::ptrdiff_t>(skip + n));
    }
    return true;
  };
  if (offset > 0x80000000u) {
    return;  // before the first byte we kept (an old retransmission)
  }
  if (!add(offset, payload)) {
    if (offset < limit && d.pending.size() < kMaxPending) {
      d.pending.emplace_back(offset, std::vector<uint8_t>(payload.begin(), payload.end()));
    } else {
      ++stats_.reassembly_gaps;
    }
    return;
  }
  for (bool progress = true; progress && !d.pending.empty();) {
    progress = false;
    for (size_t i = 0; i < d.pending.size(); ++i) {
      if (add(d.pending[i].first, d.pending[i].second)) {
        d.pending.erase(d.pending.begin() + static_cast<std::ptrdiff_t>(i));
        progress = true;
        break;
      }
    }
  }
}

Proto ExtractorSet::Impl::Recognise(const FlowRecord& flow, Direction& d, bool from_orig) {
  std::string_view text = extract::AsText(d.buf);
  if (text.size() >= 4 && text.substr(0, 4) == "SSH-") return Proto::kSsh;
  if (d.tls.LooksLikeTls(d.buf)) return Proto::kTls;
  if (from_orig ? extract::LooksLikeHttpRequest(text) : extract::LooksLikeHttpResponse(text)) {
    return Proto::kHttp;
  }
  if (from_orig && extract::LooksLikeSmtpClient(text)) return Proto::kSmtpClient;
  if (!from_orig) {
    if (extract::MySqlServerVersion(d.buf)) return Proto::kMysql;
    if (auto line = std::optional(extract::FirstLine(text).value_or(text))) {
      switch (extract::ClassifyGreeting(*line)) {
        case extract::GreetingKind::kPop: return Proto::kPop3;
        case extract::GreetingKind::kImap: return Proto::kImap;
        case extract::GreetingKind::kFtpOrSmtp: {
          // The payload says "220"; nDPI's verdict or the greeting's words say which.
          const std::string& svc = flow.classification.service;
          if (svc == "smtp") return Proto::kSmtp;
          if (svc == "ftp") return Proto::kFtp;
          std::string upper(*line);
          for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          if (upper.find("SMTP") != std::string::npos || upper.find("MAIL") != std::string::npos ||
              upper.find("POSTFIX") != std::string::npos || upper.find("EXIM") != std::string::npos) {
            return Proto::kSmtp;
          }
          if (upper.find("FTP") != std::string::npos) return Proto::kFtp;
          uint16_t port = flow.id.resp_p;
          return port == 25 || port == 587 || port == 465 ? Proto::kSmtp : Proto::kFtp;
        }
        case extract::GreetingKind::kNone: break;
      }
    }
  }
  if (Proto p = RecogniseMore(flow, d.buf, from_orig); p != Proto::kNone) return p;
  // Too few bytes to tell yet?
  if (text.size() < 8 && text.find('\n') == std::string_view::npos) return Proto::kNone;
  return Proto::kUnknown;
}

bool ExtractorSet::Impl::Process(FlowRecord& flow, TcpExtract& st, Direction& d, bool from_orig,
                                 int64_t ts) {
  if (d.proto == Proto::kNone) {
    // The client of an FTP server (which speaks first): its PORT/EPRT commands name data
    // connections.
    d.proto = from_orig && st.dir[1].proto == Proto::kFtp && LooksLikeFtpCommand(d.buf)
                  ? Proto::kFtpClient
                  : Recognise(flow, d, from_orig);
    switch (d.proto) {
      case Proto::kNone: return false;
      case Proto::kUnknown: return true;
      case Proto::kFtpClient: break;
      case Proto::kSsh: ++stats_.ssh; break;
      case Proto::kHttp: ++stats_.http; break;
      case Proto::kTls: ++stats_.tls; break;
      case Proto::kMysql: ++stats_.mysql; break;
      case Proto::kSmb: case Proto::kDceRpc: case Proto::kKerberos: ++stats_.windows; break;
      case Proto::kRdp: ++stats_.rdp; break;
      case Proto::kPostgres: ++stats_.postgres; break;
      default: ++stats_.banners; break;
    }
  }
  std::string_view text = extract::AsText(d.buf);
  bool server = !from_orig;
  switch (d.proto) {
    case Proto::kSsh: {
      auto line = extract::FirstLine(text, 255);
      if (!line) return false;
      auto software = extract::SshSoftware(*line);
      if (!software) {
        ++stats_.malformed;
        return true;
      }
      std::string raw = extract::CleanText(*line, 255);
      if (protocol_logs_ != nullptr) {
        FlowAttributes& a = Attributes(flow);
        (server ? a.ssh_server : a.ssh_client) = raw;
        // "SSH-2.0-" and "SSH-1.99-" (a server that speaks both) are version 2 (RFC 4253 5.1).
        a.ssh_version = raw.rfind("SSH-1.", 0) == 0 && raw.rfind("SSH-1.99", 0) != 0 ? 1 : 2;
        // As Zeek's ssh.log: OUTBOUND from a local client to a remote server, INBOUND the other
        // way, unset when both or neither are local.
        const bool local_orig = IsLocal(flow.id.orig_h), local_resp = IsLocal(flow.id.resp_h);
        a.ssh_direction = local_orig == local_resp ? 0 : local_orig ? 2 : 1;
      }
      Software(flow, server, "ssh_banners", extract::CleanText(*software, 255), raw, "ssh", ts,
               70);
      return true;
    }
    case Proto::kHttp: {
      if (d.stage == 1) return HttpNtlm(flow, d, from_orig, ts);
      auto head = extract::ParseHttpHead(text);
      if (!head) return false;
      if (head->request) {
        FlowAttributes& a = Attributes(flow);
        if (a.http_host.empty()) a.http_host = head->host.substr(0, 255);
        if (a.user_agent.empty()) a.user_agent = head->user_agent.substr(0, 255);
        if (protocol_logs_ != nullptr && a.http_method.empty()) {
          a.http_method = std::move(head->method);
          a.http_uri = std::move(head->uri);
          a.http_version = std::move(head->version);
          a.http_referrer = std::move(head->referrer);
          // RFC 9112 6.3: a request with neither Content-Length nor Transfer-Encoding has none.
          a.http_request_body_len = head->length_unknown        ? -1
                                    : head->content_length >= 0 ? head->content_length
                                                                : 0;
        }
        if (!head->host.empty() && !IsIpLiteral(head->host)) {
          Name(flow.id.resp_h, std::nullopt, head->host, "fqdn",
               Origin(flow, ts, "http", head->host));
        }
        if (!head->user_agent.empty()) {
          Software(flow, false, "http_user_agents", head->user_agent, head->user_agent, "http",
                   ts, 40);
        }
      } else {
        if (protocol_logs_ != nullptr) {
          FlowAttributes& a = Attributes(flow);
          if (a.http_status == 0) {
            a.http_status = head->status_code;
            a.http_status_msg = std::move(head->status_msg);
            a.http_server = head->server.substr(0, 255);
            a.http_powered_by = head->powered_by.substr(0, 255);
            if (a.http_version.empty()) a.http_version = std::move(head->version);
            // RFC 9112 6.3: no body after HEAD, 1xx, 204 and 304; otherwise the declared
            // length, or unknown (chunked or until close: the body is not followed).
            const int code = head->status_code;
            a.http_response_body_len =
                a.http_method == "HEAD" || (code >= 100 && code < 200) || code == 204 ||
                        code == 304
                    ? 0
                    : head->length_unknown ? -1
                                           : head->content_length;
          }
        }
        if (!head->server.empty()) {
          Software(flow, true, "http_servers", head->server, head->server, "http", ts, 50);
        }
        if (!head->powered_by.empty()) {
          Software(flow, true, "http_servers", head->powered_by, head->powered_by, "http", ts, 50);
        }
      }
      if (std::string_view h = text.substr(0, text.find("\r\n\r\n"));
          h.find(" NTLM") != std::string_view::npos || h.find(" Negotiate") != std::string_view::npos) {
        d.stage = 1;  // NTLM over HTTP ([MS-NTHT]): the CHALLENGE comes in a later response
        return HttpNtlm(flow, d, from_orig, ts);
      }
      return true;
    }
    case Proto::kTls: {
      d.tls.Feed(d.buf, [&](uint8_t type, Bytes body) {
        OnTlsMessage(flow, d, from_orig, type, body, ts);
      });
      if (d.tls.malformed()) ++stats_.malformed;
      return d.tls.done();
    }
    case Proto::kFtp:
    case Proto::kSmtp:
    case Proto::kPop3:
    case Proto::kImap: {
      auto line = extract::FirstLine(text);
      if (!line) return false;
      auto kind = extract::ClassifyGreeting(*line);
      const char* db_kind = d.proto == Proto::kFtp    ? "ftp_banners"
                            : d.proto == Proto::kSmtp ? "smtp_banners"
                            : d.proto == Proto::kPop3 ? "pop_banners"
                                                      : "imap_banners";
      if (d.stage == 0) {
        Software(flow, true, db_kind, extract::GreetingText(*line, kind),
                 extract::CleanText(*line), ProtoName(d.proto), ts, 50);
        d.stage = 1;
      }
      if (d.proto == Proto::kFtp && !d.tls_inner) FtpControl(flow, d, from_orig, ts);
      return StartTls(flow, d, from_orig, ts);  // the certificate after STARTTLS / AUTH TLS
    }
    case Proto::kFtpClient:
      FtpControl(flow, d, from_orig, ts);
      return false;  // until the direction's bounds
    case Proto::kSmtpClient: {
      std::string agent;
      switch (extract::MailUserAgent(text, &agent)) {
        case extract::MailScan::kNeedMore: return false;
        case extract::MailScan::kNone: return true;
        case extract::MailScan::kFound:
          Software(flow, false, "smtp_mail_clients", agent, agent, "smtp", ts, 30);
          return true;
      }
      return true;
    }
    case Proto::kMysql: {
      auto version = extract::MySqlServerVersion(d.buf);
      if (version) Software(flow, true, "mysql_banners", *version, *version, "mysql", ts, 50);
      return true;
    }
    case Proto::kSmb:
    case Proto::kDceRpc:
    case Proto::kKerberos:
    case Proto::kRdp:
    case Proto::kPostgres:
      return ProcessMore(flow, st, d, from_orig, ts);
    default:
      (void)st;
      return true;
  }
}

void ExtractorSet::Impl::OnTlsMessage(FlowRecord& flow, Direction& d, bool from_orig,
                                      uint8_t type, Bytes body, int64_t ts) {
  if (from_orig && type == 1) {  // ClientHello
    auto hello = extract::ParseClientHello(body);
    if (!hello) {
      ++stats_.malformed;
      d.tls.Stop();
      return;
    }
    if (!hello->sni.empty() && !IsIpLiteral(hello->sni)) {
      Name(flow.id.resp_h, std::nullopt, hello->sni, "sni", Origin(flow, ts, "tls", hello->sni));
    }
    FlowAttributes& a = Attributes(flow);
    a.tls = true;
    a.sni = hello->sni.substr(0, 255);
    for (int which = 0; which < 2; ++which) {
      rules::SoftwareFact f;
      f.host.ip = flow.id.orig_h;
      f.transport = flow.key.proto;
      f.role = "client";
      f.kind = "tls_client";
      f.product = which == 0 ? "JA4" : "JA3";
      std::string raw = which == 0 ? extract::Ja4(*hello) : extract::Ja3(*hello);
      (which == 0 ? a.ja4 : a.ja3) = raw;
      f.origin = Origin(flow, ts, "tls", raw);
      ++stats_.facts;
      sink_.OnSoftware(f);
    }
    d.tls.Stop();  // the client's later handshake messages are encrypted or uninteresting
    return;
  }
  if (from_orig) return;
  if (type == 2) {  // ServerHello (RFC 8446 4.1.3; RFC 5246 7.4.1.3)
    if (auto hello = extract::ParseServerHello(body)) {
      FlowAttributes& a = Attributes(flow);
      a.tls = true;
      a.tls_established = true;
      a.tls_version = hello->version;
      a.tls_cipher = hello->cipher;
      a.tls_curve = hello->group;
      if (hello->version >= 0x0304) d.tls.Stop();  // the rest of a 1.3 handshake is encrypted
    } else {
      ++stats_.malformed;
      d.tls.Stop();
    }
    return;
  }
  if (type == 11) {  // Certificate (TLS <= 1.2; 1.3 sends it encrypted)
    auto certs = extract::CertificateList(body, 1);
    const ParsedCertificate* parsed = certs.empty() ? nullptr : &Certificate(certs.front());
    if (parsed == nullptr || !parsed->info) {
      ++stats_.malformed;
      d.tls.Stop();
      return;
    }
    const extract::CertificateInfo* info = &*parsed->info;
    ++stats_.certificates;
    FlowAttributes& a = Attributes(flow);
    a.tls = true;
    a.cert_sha256 = parsed->sha256;
    if (protocol_logs_ != nullptr) {
      a.tls_subject = info->subject_rfc2253.substr(0, 1024);
      a.tls_issuer = info->issuer_rfc2253.substr(0, 1024);
    }
    // ssl.log's curve is in the ServerKeyExchange that follows the certificate in the same
    // flight (still within the direction's byte bound); only then is it worth reading on.
    const bool want_curve = protocol_logs_ != nullptr && a.tls_curve == 0 &&
                            a.tls_version < 0x0304 && extract::IsEcdheCipher(a.tls_cipher);
    std::string raw = info->subject;
    // x509 fact: the subject is what the database names; issuer and validity go with it.
    Software(flow, true, "x509_subjects", info->subject_rfc2253, raw, "tls", ts, 40);
    std::unordered_set<std::string> names;
    auto origin_raw = "subject=" + info->subject + "; issuer=" + info->issuer +
                      "; not_before=" + info->not_before + "; not_after=" + info->not_after;
    if (!info->common_name.empty() && info->common_name.find(' ') == std::string::npos) {
      names.insert(info->common_name);
      Name(flow.id.resp_h, std::nullopt, info->common_name, "cert",
           Origin(flow, ts, "tls", origin_raw));
    }
    for (const auto& n : info->dns_names) {
      if (names.insert(n).second) {
        Name(flow.id.resp_h, std::nullopt, n, "cert", Origin(flow, ts, "tls", origin_raw));
      }
    }
    if (!want_curve) d.tls.Stop();
  } else if (type == 12) {  // ServerKeyExchange, read only for ssl.log's curve (above)
    if (protocol_logs_ != nullptr && extract::IsEcdheCipher(Attributes(flow).tls_cipher)) {
      if (auto curve = extract::EcdheServerCurve(body)) Attributes(flow).tls_curve = *curve;
    }
    d.tls.Stop();
  } else if (type == 14) {  // ServerHelloDone: no certificate came
    d.tls.Stop();
  }
}

const ExtractorSet::Impl::ParsedCertificate& ExtractorSet::Impl::Certificate(extract::Bytes der) {
  constexpr size_t kMaxEntries = 1024;
  std::string key(reinterpret_cast<const char*>(der.data()), der.size());
  auto it = certificates_.find(key);
  if (it != certificates_.end()) return it->second;
  if (certificates_.size() >= kMaxEntries) certificates_.clear();
  ParsedCertificate parsed;
  parsed.info = extract::ParseCertificate(der);
  if (parsed.info) parsed.sha256 = extract::Sha256Hex(key);
  return certificates_.emplace(std::move(key), std::move(parsed)).first->second;
}

const rules::Identification* ExtractorSet::Impl::Identify(const char* kind,
                                                          std::string_view banner) {
  if (db_ == nullptr) return nullptr;
  constexpr size_t kMaxBanner = 1024, kMaxEntries = 4096;
  if (banner.size() > kMaxBanner) {
    identify_scratch_ = db_->Identify(kind, banner);
    return identify_scratch_ ? &*identify_scratch_ : nullptr;
  }
  std::string key = kind;
  key.push_back('\0');
  key.append(banner);
  auto it = identified_.find(key);
  if (it != identified_.end()) {
    ++stats_.identify_cache_hits;
  } else {
    if (identified_.size() >= kMaxEntries) identified_.clear();
    it = identified_.emplace(std::move(key), db_->Identify(kind, banner)).first;
  }
  return it->second ? &*it->second : nullptr;
}

void ExtractorSet::Impl::Software(const FlowRecord& flow, bool server, const char* kind,
                                  std::string_view banner, const std::string& raw,
                                  const char* source, int64_t ts, int os_confidence) {
  SoftwareAt(flow, server ? flow.id.resp_h : flow.id.orig_h, server ? flow.id.resp_p : 0, server,
             kind, banner, raw, source, ts, os_confidence);
}

void ExtractorSet::Impl::SoftwareAt(const FlowRecord& flow, const rules::IpAddress& ip,
                                    uint16_t port, bool server, const char* kind,
                                    std::string_view banner, const std::string& raw,
                                    const char* source, int64_t ts, int os_confidence) {
  rules::HostRef host;
  host.ip = ip;
  Identified(host, port, flow.key.proto, server, kind, banner, Origin(flow, ts, source, raw),
             os_confidence);
}

// ---------------------------------------------------------------------------------------------
// UDP: no reassembly and no allocation; the verdict lives in a sentinel.

void ExtractorSet::Impl::OnUdp(FlowRecord& flow, const DecodedPacket& packet, bool from_orig) {
  uint64_t sent = from_orig ? flow.orig.packets : flow.resp.packets;
  Proto known = flow.extract ? flow.extract->proto : Proto::kNone;
  if (sent > config_.max_packets_per_direction) {
    uint64_t other = from_orig ? flow.resp.packets : flow.orig.packets;
    if (other > config_.max_packets_per_direction || known == Proto::kNone) {
      flow.extract = Sentinel(true, known);
    }
    return;
  }
  Bytes payload = packet.payload;
  if (payload.empty()) return;
  auto is_port = [&](uint16_t p) { return packet.src_port == p || packet.dst_port == p; };
  Proto found = Proto::kNone;
  if ((known == Proto::kNone || known == Proto::kDhcp) && payload.size() >= 240) {
    if (auto m = extract::ParseDhcp(payload)) {
      ++stats_.dhcp;
      found = Proto::kDhcp;
      Dhcp(flow, packet, *m);
    }
  }
  if (found == Proto::kNone && (known == Proto::kNone || known == Proto::kNbns) && is_port(137)) {
    if (auto m = extract::ParseDns(payload, true)) {
      ++stats_.nbns;
      found = Proto::kNbns;
      Dns(flow, packet, *m, "nbns");
    }
  }
  if (found == Proto::kNone && (known == Proto::kNone || known == Proto::kDns) &&
      (is_port(53) || is_port(5353) || is_port(5355) || flow.classification.service == "dns")) {
    if (auto m = extract::ParseDns(payload, false)) {
      ++stats_.dns;
      found = Proto::kDns;
      const char* source = is_port(5353) ? "mdns" : is_port(5355) ? "llmnr" : "dns";
      if (m->response) Dns(flow, packet, *m, source);
    }
  }
  if (found == Proto::kNone) found = OnUdpMore(flow, packet, from_orig, known);
  if (found == Proto::kNone && from_orig && (known == Proto::kNone || known == Proto::kQuic) &&
      payload.size() >= 1200 && (payload[0] & 0xf0) == 0xc0) {
    // A client's Initial is padded to 1,200 bytes (RFC 9000 14.1); its ClientHello is readable.
    if (auto crypto = extract::QuicInitialCrypto(payload)) {
      bool complete = QuicClientHello(flow, packet, *crypto);
      flow.extract = Sentinel(complete, Proto::kQuic);
      return;
    }
  }
  if (found == Proto::kNone && (known == Proto::kNone || known == Proto::kHttp)) {
    // SSDP (1900) and SIP (5060) over UDP: one head per datagram.
    auto head = extract::ParseHttpHead(extract::AsText(payload));
    if (head) {
      found = Proto::kHttp;
      int64_t ts = packet.timestamp_us;
      bool sip = is_port(5060);
      const char* source = sip ? "sip" : "ssdp";
      // Both headers name the sender's own product (an SSDP NOTIFY is sent by the device).
      if (!head->user_agent.empty()) {
        SoftwareAt(flow, packet.src, 0, false, sip ? "sip_user_agents" : "ssdp_user_agents",
                   head->user_agent, head->user_agent, source, ts, 40);
      }
      if (!head->server.empty()) {
        SoftwareAt(flow, packet.src, packet.src_port, true, sip ? "sip_servers" : "ssdp_servers",
                   head->server, head->server, source, ts, 40);
      }
    }
  }
  if (found == Proto::kNone) {
    ++stats_.malformed;
    if (known == Proto::kNone) flow.extract = Sentinel(true, Proto::kNone);
    return;
  }
  if (known != found) flow.extract = Sentinel(false, found);
}

bool ExtractorSet::Impl::QuicClientHello(FlowRecord& flow, const DecodedPacket& packet,
                                         const std::vector<uint8_t>& crypto) {
  // One TLS handshake message: type 1 (ClientHello), 3-byte length (RFC 8446 4).
  if (crypto.size() < 4 || crypto[0] != 1) return true;
  size_t length = (size_t{crypto[1]} << 16) | (size_t{crypto[2]} << 8) | crypto[3];
  if (crypto.size() - 4 < length) return false;  // split over several Initials: not read
  auto hello = extract::ParseClientHello(Bytes(crypto).subspan(4, length));
  if (!hello) {
    ++stats_.malformed;
    return true;
  }
  ++stats_.tls;
  int64_t ts = packet.timestamp_us;
  if (!hello->sni.empty() && !IsIpLiteral(hello->sni)) {
    Name(flow.id.resp_h, std::nullopt, hello->sni, "sni", Origin(flow, ts, "quic", hello->sni));
  }
  FlowAttributes& a = Attributes(flow);
  a.sni = hello->sni.substr(0, 255);
  a.ja4 = extract::Ja4(*hello, 'q');
  rules::SoftwareFact f;
  f.host.ip = flow.id.orig_h;
  f.transport = flow.key.proto;
  f.role = "client";
  f.kind = "tls_client";
  f.product = "JA4";
  f.origin = Origin(flow, ts, "quic", a.ja4);
  ++stats_.facts;
  sink_.OnSoftware(f);
  if (!hello->quic_user_agent.empty()) {
    if (a.user_agent.empty()) a.user_agent = hello->quic_user_agent;
    Software(flow, false, "http_user_agents", hello->quic_user_agent, hello->quic_user_agent,
             "quic", ts, 40);
  }
  return true;
}

void ExtractorSet::Impl::Dhcp(const FlowRecord& flow, const DecodedPacket& packet,
                              const extract::DhcpMessage& m) {
  int64_t ts = packet.timestamp_us;
  rules::IpAddress none;
  rules::IpAddress zero = rules::IpAddress::FromV4(0);
  auto set = [&](const rules::IpAddress& a) { return a != none && a != zero; };
  if (protocol_logs_ != nullptr) {
    static constexpr const char* kTypes[] = {"",        "DISCOVER", "OFFER",   "REQUEST", "DECLINE",
                                             "ACK",     "NAK",      "RELEASE", "INFORM"};
    DhcpTransaction t;
    t.ts_us = ts;
    t.flow = &flow;
    // As Zeek's dhcp.log (its dhcp-all-msg-types baseline): the addresses the two ends used,
    // unless 0.0.0.0 or broadcast; else ciaddr and the server identifier (option 54).
    const rules::IpAddress broadcast = rules::IpAddress::FromV4(0xffffffff);
    const rules::IpAddress& client_ip = m.op == 1 ? packet.src : packet.dst;
    const rules::IpAddress& server_ip = m.op == 1 ? packet.dst : packet.src;
    t.client_addr = set(client_ip) && client_ip != broadcast ? client_ip : m.ciaddr;
    if (set(server_ip) && server_ip != broadcast) {
      t.server_addr = server_ip;
    } else if (m.server_id) {
      t.server_addr = *m.server_id;
    }
    t.mac = m.chaddr;
    t.host_name = m.host_name;
    t.client_fqdn = m.fqdn;
    t.domain = m.domain;
    if (m.requested) t.requested_addr = *m.requested;
    if (m.op == 2) t.assigned_addr = m.yiaddr;
    t.lease_time_us = int64_t{m.lease_time_s} * 1'000'000;
    t.msg_type = m.type < 9 ? kTypes[m.type] : "UNKNOWN-" + std::to_string(m.type);
    if (t.msg_type.empty()) t.msg_type = "BOOTP";
    t.vendor_class = m.vendor_class;
    protocol_logs_->OnDhcp(t);
  }
  if (m.op == 1) {
    rules::IpAddress ip = set(m.ciaddr) ? m.ciaddr
                          : m.requested ? *m.requested
                          : set(packet.src) ? packet.src : zero;
    std::optional<rules::Mac> mac = m.chaddr;
    if (!m.host_name.empty()) {
      Name(ip, mac, m.host_name, "hostname", Origin(flow, ts, "dhcp", m.host_name));
    }
    if (!m.fqdn.empty()) Name(ip, mac, m.fqdn, "fqdn", Origin(flow, ts, "dhcp", m.fqdn));
    if (!m.vendor_class.empty() || !m.param_list.empty()) {
      std::string raw = "55=" + m.param_list + ";60=" + m.vendor_class;
      const rules::Identification* id =
          m.vendor_class.empty() ? nullptr : Identify("dhcp_vendor_class", m.vendor_class);
      if (!m.vendor_class.empty()) {
        rules::SoftwareFact f;
        f.host.ip = ip;
        f.host.mac = mac;
        f.transport = 17;
        f.role = "client";
        f.kind = "dhcp_vendor_class";
        if (id != nullptr) {
          f.vendor = id->service.vendor.value_or(id->hw.vendor.value_or(""));
          f.product = id->service.product.value_or(id->hw.product.value_or(""));
          f.version = id->service.version.value_or("");
          f.cpe23 = id->cpe23.value_or("");
        }
        if (f.product.empty()) {
          rules::SoftwareDescription desc = rules::ParseSoftware(m.vendor_class);
          f.product = desc.name;
          f.version = FormatVersion(desc.version);
        }
        f.origin = Origin(flow, ts, "dhcp", raw);
        ++stats_.facts;
        sink_.OnSoftware(f);
      }
      if (id != nullptr && (id->os.product || id->os.family)) {
        rules::OsFact os;
        os.host.ip = ip;
        os.host.mac = mac;
        os.vendor = id->os.vendor.value_or("");
        os.product = id->os.product.value_or("");
        os.version = id->os.version.value_or("");
        os.family = id->os.family.value_or("");
        os.confidence = 60;
        os.origin = Origin(flow, ts, "dhcp", raw);
        ++stats_.facts;
        sink_.OnOs(os);
      }
    }
  } else if (m.type == 5 && set(m.yiaddr)) {  // ACK: the lease
    rules::AddressFact a;
    a.mac = m.chaddr;
    a.ip = m.yiaddr;
    a.origin = Origin(flow, ts, "dhcp", "DHCPACK " + m.yiaddr.ToString());
    ++stats_.facts;
    sink_.OnAddress(a);
  }
}

void ExtractorSet::Impl::Dns(const FlowRecord& flow, const DecodedPacket& packet,
                             const extract::DnsMessage& m, const char* source) {
  int64_t ts = packet.timestamp_us;
  bool netbios = std::string_view(source) == "nbns";
  if (dns_observer_ && !netbios && m.response && !m.answers.empty()) {
    rules::engine::DnsObservation o;
    o.ts_us = ts;
    o.uid = flow.uid;
    o.client = packet.dst;
    o.server = packet.src;
    o.query = m.answers.front().name;
    for (const auto& a : m.answers) {
      if (a.type == 1 || a.type == 28) o.answers.push_back(a.address.ToString());
      if (a.name != o.query &&
          std::find(o.answers.begin(), o.answers.end(), a.name) == o.answers.end()) {
        o.answers.push_back(a.name);
      }
    }
    dns_observer_(o);
  }
  if (protocol_logs_ != nullptr && !netbios) {
    DnsTransaction t;
    t.ts_us = ts;
    t.flow = &flow;
    t.trans_id = m.id;
    t.query = m.query.substr(0, 255);
    t.qclass = m.qclass;
    t.qtype = m.qtype;
    t.rcode = m.rcode;
    t.aa = m.aa;
    t.tc = m.tc;
    t.rd = m.rd;
    t.ra = m.ra;
    t.z = m.z;
    for (const auto& a : m.answers) {
      if (a.additional) continue;
      if (a.type == 1 || a.type == 28) {
        a.address.AppendTo(&t.answers.emplace_back());  // no inet_ntop
      } else {
        t.answers.push_back(a.target);
      }
      t.ttls_us.push_back(int64_t{a.ttl} * 1'000'000);
    }
    protocol_logs_->OnDns(t);
  }
  for (const auto& a : m.answers) {
    if (a.type == 5) continue;  // CNAME: no address to name
    if (a.type == 12) {
      if (auto ip = extract::PtrNameToAddress(a.name)) {
        Name(*ip, std::nullopt, a.target, "fqdn", Origin(flow, ts, source, a.name));
      }
      continue;
    }
    Name(a.address, std::nullopt, a.name, netbios ? "netbios" : "fqdn",
         Origin(flow, ts, source, a.name));
  }
}

// ---------------------------------------------------------------------------------------------
// ARP and flow end.

void ExtractorSet::Impl::OnNonIp(const DecodedPacket& packet, Bytes frame) {
  if (!packet.is_arp) {
    OnNeighbor(packet, frame);  // LLDP, CDP
    return;
  }
  const ArpInfo& arp = packet.arp;
  if (arp.sender_ip == rules::IpAddress::FromV4(0) || arp.sender_ip == rules::IpAddress()) {
    return;  // ARP probe (RFC 5227): no address yet
  }
  ++stats_.arp;
  uint64_t key = 0;
  for (uint8_t b : arp.sender_mac) key = (key << 8) | b;
  key ^= uint64_t{rules::IpAddressHash{}(arp.sender_ip)} * 0x9e3779b97f4a7c15ull;
  auto [it, inserted] = arp_seen_.try_emplace(key, packet.timestamp_us);
  if (!inserted) {
    if (packet.timestamp_us - it->second < config_.arp_repeat_us) return;
    it->second = packet.timestamp_us;
  } else if (arp_seen_.size() > config_.max_arp_keys) {
    arp_seen_.clear();
  }
  rules::AddressFact a;
  a.mac = arp.sender_mac;
  a.ip = arp.sender_ip;
  a.origin.ts_us = packet.timestamp_us;
  a.origin.source = "arp";
  a.origin.raw = arp.operation == 2 ? "reply" : "request";
  ++stats_.facts;
  sink_.OnAddress(a);
}

void ExtractorSet::Impl::OnFlowEnd(FlowRecord& flow) {
  if (protocol_logs_ != nullptr) protocol_logs_->OnFlowEnd(flow);
  Proto proto = Proto::kNone;
  if (flow.extract) {
    ExtractState* s = flow.extract.get();
    if (flow.extract.get_deleter() == &DeleteTcpState) {
      auto* st = static_cast<TcpExtract*>(s);
      for (const Direction& d : st->dir) {
        if (proto == Proto::kNone && d.proto != Proto::kUnknown) proto = d.proto;
      }
      --stats_.states_live;
    } else {
      proto = s->proto;
    }
  }
  flow.extract.reset();
  flow.extract = ExtractStatePtr(nullptr, nullptr);

  bool tcp = flow.key.proto == static_cast<uint8_t>(IpProto::kTcp);
  bool udp = flow.key.proto == static_cast<uint8_t>(IpProto::kUdp);
  if (!tcp && !udp) return;
  std::string protocol = ProtoName(proto);
  if (proto == Proto::kKerberos && tcp) protocol = "krb_tcp";  // Zeek's name, as the classifier's
  if (tcp && !protocol.empty() && proto != Proto::kHttp &&
      protocol != flow.classification.service) {
    // A protocol the parsers confirmed from a TCP flow's payload is its Zeek service, as Zeek's
    // analyzers confirm theirs, also where nDPI's label says otherwise (nDPI 4.2 calls an SMTP
    // session with a long EHLO "MQTT", SMB2 on 445 "NetBIOS") or has none (DCE-RPC on a dynamic
    // port, TLS on an unusual one). Not for kHttp, which also stands for the heads of RTSP, SIP
    // and Gnutella (same syntax). conn.log, the flow aggregates and the alerts read the service
    // after this; nDPI's own label stays in `app`.
    flow.classification.service = protocol;
  }
  if (protocol.empty()) protocol = flow.classification.service;
  bool answered = false;
  if (tcp) {
    answered = flow.tcp.established || flow.history.find('h') != std::string::npos;
    if (!answered) {
      std::string state = ConnState(flow);
      answered = state == "SF" || state == "S1" || state == "S2" || state == "S3" ||
                 state == "RSTO" || state == "RSTR";
    }
  } else {
    answered = flow.orig.packets > 0 && flow.resp.packets > 0 && !protocol.empty();
  }
  if (!answered) return;
  // The responder of an FTP data connection offers no service: its port was one the control
  // connection agreed on for one transfer (Zeek's known-services skips ftp-data as well).
  if (protocol == "ftp-data") return;
  // Once per (service, exposure) per fact_repeat_us: the first client from the internet makes
  // the service exposed even when internal clients came first.
  const bool exposed = !IsLocal(flow.id.orig_h);
  RepeatFactsAfter(flow.start_us);
  uint64_t key = rules::IpAddressHash{}(flow.id.resp_h);
  key = key * 0x100000001b3ull ^ (uint64_t{flow.id.resp_p} << 9 | uint64_t{exposed} << 8 |
                                  flow.key.proto);
  key = key * 0x100000001b3ull ^ std::hash<std::string>{}(protocol);
  if (!services_seen_.Insert(key)) return;
  if (services_seen_.size() > config_.max_service_keys) {
    services_seen_.Clear();
    services_seen_.Insert(key);
  }
  rules::ServiceFact f;
  f.host.ip = flow.id.resp_h;
  f.port = flow.id.resp_p;
  f.transport = flow.key.proto;
  f.protocol = protocol;
  f.application = flow.classification.application;
  f.client = flow.id.orig_h;
  f.exposed = exposed;
  f.origin = Origin(flow, flow.start_us, "conn", "");
  ++stats_.facts;
  sink_.OnService(f);
}

// ---------------------------------------------------------------------------------------------
// SMB, NTLMSSP, DCE-RPC, Kerberos, RDP, PostgreSQL (TCP); SNMP, NTP, Kerberos (UDP); LLDP/CDP;
// STARTTLS; p0f. The parsers are in win_parsers.cc, net_parsers.cc and p0f.cc.

namespace {

uint32_t Be32At(Bytes b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
         b[at + 3];
}

// TLS records (a handshake, an alert) at the start of `b`.
bool Recognisable(Bytes b) {
  extract::TlsHandshakeReader probe;
  return probe.LooksLikeTls(b);
}

// TPKT + X.224 Connection Request/Confirm whose variable part is RDP's (a "Cookie:" or routing
// token, RDP_NEG_REQ/RSP/FAILURE) or empty. Other ISO-TSAP users, S7comm on port 102 above all,
// carry COTP parameters (0xc0-0xc2) there: not RDP.
bool LooksLikeRdpX224(Bytes b) {
  if (b.size() < 11 || b[0] != 3 || b[1] != 0 || (b[5] != 0xe0 && b[5] != 0xd0)) return false;
  size_t li = b[4];
  if (li < 6) return false;
  if (li == 6) return true;
  if (b.size() < 12) return false;
  return b[11] == 'C' || b[11] == 1 || b[11] == 2 || b[11] == 3;
}

// A Kerberos-over-TCP record (RFC 4120 7.2.2): a 4-byte length (its high bit reserved), then
// one DER message whose [APPLICATION n] TLV fills the record exactly: AS-REQ 10 (0x6a) or TGS-REQ
// 12 (0x6c) from the client, AS-REP 11, TGS-REP 13 or KRB-ERROR 30 (0x6b, 0x6d, 0x7e) from the
// server. The length octets may be short (a KRB-ERROR under 128 bytes) or long.
bool LooksLikeKerberosTcp(Bytes b, bool from_orig) {
  if (b.size() < 6 || b[0] != 0) return false;
  const uint32_t len = Be32At(b, 0);  // < 2^24: its first byte is 0
  if (len < 16) return false;
  auto message = extract::ReadTlvHeader(b.subspan(4));
  if (!message || message->size + message->length != len) return false;
  const uint8_t tag = message->tag;
  return from_orig ? (tag == 0x6a || tag == 0x6c) : (tag == 0x6b || tag == 0x6d || tag == 0x7e);
}

// The start of an LDAPMessage (RFC 4511 4.1.1, 4.2-4.14): SEQUENCE { messageID INTEGER (1-4
// bytes, positive), protocolOp } with a request's [APPLICATION n] tag from the client (bind 0x60,
// unbind 0x42, search 0x63, modify 0x66, add 0x68, del 0x4a, modDN 0x6c, compare 0x6e, abandon
// 0x50, extended 0x77) or a response's from the server (0x61, 0x64, 0x65, 0x73, 0x67, 0x69,
// 0x6b, 0x6d, 0x6f, 0x78, 0x79), whose length fits inside the message's. The message may still
// be arriving (a bind with a Kerberos token spans segments). A SASL layer that signs or seals
// wraps only the messages after the bind, which is plain.
bool LooksLikeLdap(Bytes b, bool from_orig) {
  auto message = extract::ReadTlvHeader(b);
  if (!message || message->tag != 0x30 || message->length < 5 || message->length > (1u << 24)) {
    return false;
  }
  Bytes rest = b.subspan(message->size);
  auto id = extract::ReadTlv(&rest);
  if (!id || id->tag != 0x02 || id->value.empty() || id->value.size() > 4 ||
      (id->value[0] & 0x80) != 0) {
    return false;
  }
  auto op = extract::ReadTlvHeader(rest);
  static constexpr uint8_t kRequests[] = {0x60, 0x42, 0x63, 0x66, 0x68, 0x4a,
                                          0x6c, 0x6e, 0x50, 0x77};
  static constexpr uint8_t kResponses[] = {0x61, 0x64, 0x65, 0x73, 0x67, 0x69,
                                           0x6b, 0x6d, 0x6f, 0x78, 0x79};
  const std::span<const uint8_t> ops =
      from_orig ? std::span<const uint8_t>(kRequests) : std::span<const uint8_t>(kResponses);
  if (!op || std::ranges::find(ops, op->tag) == ops.end()) return false;
  const size_t op_at = b.size() - rest.size();  // the operation's offset in the message
  return op_at + op->size + op->length <= message->size + message->length;
}

}  // namespace

Proto ExtractorSet::Impl::RecogniseMore(const FlowRecord& flow, Bytes b, bool from_orig) const {
  (void)flow;
  if (b.size() < 8) return Proto::kNone;
  if (extract::LooksLikeSmb(b)) return Proto::kSmb;
  if (auto n = extract::DceRpcPduLength(b, true); n) return Proto::kDceRpc;
  if (LooksLikeKerberosTcp(b, from_orig)) return Proto::kKerberos;
  if (LooksLikeRdpX224(b) && extract::TpktLength(b).has_value()) return Proto::kRdp;
  if (LooksLikeLdap(b, from_orig)) return Proto::kLdap;
  if (from_orig) {
    // StartupMessage, protocol 3.0: length, 0x00030000, "user" ...
    uint32_t len = Be32At(b, 0), version = Be32At(b, 4);
    if (version == 0x00030000 && len >= 8 && len < 10000) return Proto::kPostgres;
    if (version == 80877103 && len == 8) return Proto::kPostgres;  // SSLRequest
  } else if (extract::LooksLikePostgresServer(b)) {
    return Proto::kPostgres;
  } else if (b[0] == 'S' && Recognisable(b.subspan(1))) {
    return Proto::kPostgres;  // "S": the server accepts the SSLRequest; TLS follows
  }
  return Proto::kNone;
}

bool ExtractorSet::Impl::ProcessMore(FlowRecord& flow, TcpExtract& st, Direction& d,
                                     bool from_orig, int64_t ts) {
  Bytes buf = d.buf;
  switch (d.proto) {
    case Proto::kSmb:
      return ProcessSmb(flow, st, d, from_orig, ts);
    case Proto::kDceRpc: {
      // Bind / alter-context PDUs carry the NTLMSSP messages in their auth trailer.
      for (int n = 0; n < 8; ++n) {
        auto len = extract::DceRpcPduLength(buf.subspan(d.offset), false);
        if (!len) {
          ++stats_.malformed;
          return true;
        }
        if (*len == 0) return false;
        Bytes pdu = buf.subspan(d.offset, *len);
        d.offset += *len;
        if (auto m = extract::FindNtlm(pdu)) {
          OnNtlm(flow, *m, from_orig, ts, "dce_rpc");
          if (m->type == 2 || m->type == 3) return true;
        }
      }
      return true;
    }
    case Proto::kKerberos: {
      if (buf.size() < 4) return false;
      size_t len = Be32At(buf, 0) & 0x7fffffffu;
      if (buf.size() < 4 + len) return buf.size() >= config_.max_bytes_per_direction;
      if (auto m = extract::ParseKerberos(buf.subspan(4, len))) {
        OnKerberos(flow, *m, ts);
      } else {
        ++stats_.malformed;
      }
      return true;
    }
    case Proto::kPostgres: {
      if (from_orig) return true;  // the startup message names a user: nothing for us
      if (d.tls_inner) return FeedTlsAt(flow, d, from_orig, ts);
      if (buf[0] == 'S') {  // TLS after SSLRequest: the server certificate
        d.tls_inner = true;
        d.tls_at = 1;
        return FeedTlsAt(flow, d, from_orig, ts);
      }
      auto version = extract::PostgresServerVersion(buf);
      if (!version) return false;
      if (!version->empty()) {
        rules::HostRef host;
        host.ip = flow.id.resp_h;
        Identified(host, flow.id.resp_p, 6, true, "postgresql_banners",
                   "PostgreSQL " + *version, Origin(flow, ts, "postgresql", *version), 50);
      }
      return true;
    }
    case Proto::kRdp: {
      if (d.tls_inner) return FeedTlsAt(flow, d, from_orig, ts);
      auto len = extract::TpktLength(buf.subspan(d.offset));
      if (!len) {
        // After the X.224 exchange with TLS or CredSSP selected, the TLS handshake follows.
        if (d.stage == 1 && d.tls.LooksLikeTls(buf.subspan(d.offset))) {
          d.tls_inner = true;
          d.tls_at = d.offset;
          return FeedTlsAt(flow, d, from_orig, ts);
        }
        return true;
      }
      if (*len == 0) return false;
      Bytes tpkt = buf.subspan(d.offset, *len);
      d.offset += *len;
      if (d.stage == 0) {
        d.stage = 1;
        auto c = extract::ParseRdpConnection(tpkt);
        if (!c) {
          ++stats_.malformed;
          return true;
        }
        // The request's cookie is a user name: it stays out of the facts (docs/privacy.md).
        if (!c->request && c->protocols) {
          rules::HostRef host;
          host.ip = flow.id.resp_h;
          std::string raw = "selected=" + extract::RdpProtocolName(*c->protocols);
          Plain(host, flow.id.resp_p, 6, true, "rdp", "RDP", "", Origin(flow, ts, "rdp", raw));
          if (*c->protocols == 0) return true;  // standard RDP security: no TLS follows
        } else if (!c->request && c->failure) {
          return true;
        }
        return ProcessMore(flow, st, d, from_orig, ts);  // a TLS ClientHello may follow at once
      }
      if (from_orig) {
        if (auto core = extract::FindRdpClientCore(tpkt)) {
          rules::HostRef host;
          host.ip = flow.id.orig_h;
          std::string raw = "client_build=" + std::to_string(core->build) + "; client_name=" +
                            core->client_name;
          Plain(host, 0, 6, false, "rdp_client", "RDP client", std::to_string(core->build),
                Origin(flow, ts, "rdp", raw));
          if (!core->client_name.empty()) {
            Name(flow.id.orig_h, std::nullopt, core->client_name, "netbios",
                 Origin(flow, ts, "rdp", raw));
          }
        }
      }
      return true;
    }
    default:
      return true;
  }
}

bool ExtractorSet::Impl::ProcessSmb(FlowRecord& flow, TcpExtract& st, Direction& d,
                                    bool from_orig, int64_t ts) {
  Bytes buf = d.buf;
  rules::HostRef server;
  server.ip = flow.id.resp_h;
  for (int n = 0; n < 16; ++n) {
    auto len = extract::NbssMessageLength(buf.subspan(d.offset));
    if (!len) {
      ++stats_.malformed;
      return true;
    }
    if (*len == 0) return false;
    Bytes msg = buf.subspan(d.offset, *len);
    d.offset += *len;
    if (msg[0] != 0) continue;  // session request / response / keepalive
    auto m = extract::ParseSmb(msg.subspan(4));
    if (!m) {
      ++stats_.malformed;
      return true;
    }
    if (m->version == 1 && m->command == 0x72) {
      if (!m->response) {
        st.smb_dialects = m->dialects;
      } else {
        // A server that answers an SMB1 Negotiate in SMB1 has chosen an SMB1 dialect.
        std::string dialect =
            m->dialect_index >= 0 && static_cast<size_t>(m->dialect_index) < st.smb_dialects.size()
                ? st.smb_dialects[static_cast<size_t>(m->dialect_index)]
                : "";
        std::string raw = "dialect=" + dialect + "; offered=";
        for (size_t i = 0; i < st.smb_dialects.size(); ++i) {
          raw += (i ? "," : "") + st.smb_dialects[i];
        }
        Plain(server, flow.id.resp_p, 6, true, "smb", "SMB", "1", Origin(flow, ts, "smb", raw));
        NoteFlowAttributes(flow, 1, "", "");
      }
    } else if (m->version == 2 && m->command == 0 && m->response && m->dialect_revision != 0) {
      std::string name = extract::Smb2DialectName(m->dialect_revision);
      if (!name.empty()) {
        Plain(server, flow.id.resp_p, 6, true, "smb", "SMB", name,
              Origin(flow, ts, "smb", "dialect=" + name));
        NoteFlowAttributes(flow, name[0] - '0', "", "");
      }
    } else if (m->version == 1 && m->command == 0x73) {
      // The response names the server's OS, the request the client's.
      rules::HostRef host;
      host.ip = m->response ? flow.id.resp_h : flow.id.orig_h;
      std::string raw = "NativeOS=" + m->native_os + "; NativeLanMan=" + m->native_lanman;
      if (!m->native_os.empty()) {
        Identified(host, flow.id.resp_p, 6, m->response, "smb_native_os", m->native_os,
                   Origin(flow, ts, "smb", raw), 70);
      }
      if (!m->native_lanman.empty() && m->native_lanman != m->native_os) {
        Identified(host, flow.id.resp_p, 6, m->response, "smb_native_os", m->native_lanman,
                   Origin(flow, ts, "smb", raw), 50);
      }
    }
    if (auto ntlm = extract::FindNtlm(msg)) {
      OnNtlm(flow, *ntlm, from_orig, ts, "smb");
      if (ntlm->type == 3 || (ntlm->type == 2 && m->version == 2)) return true;
    }
    if (m->version == 1 && m->command == 0x73 && m->response && !m->native_os.empty()) return true;
    if (m->version == 2 && m->command > 1) return true;  // past negotiate and session setup
    if (m->version == 1 && m->command != 0x72 && m->command != 0x73) return true;
  }
  return false;
}

void ExtractorSet::Impl::OnNtlm(const FlowRecord& flow, const extract::NtlmMessage& m,
                                bool from_orig, int64_t ts, const char* source) {
  const rules::IpAddress& ip = from_orig ? flow.id.orig_h : flow.id.resp_h;
  static constexpr const char* kTypes[] = {"", "NEGOTIATE", "CHALLENGE", "AUTHENTICATE"};
  std::string raw = std::string("NTLMSSP ") + kTypes[m.type & 3];
  if (!m.version.empty()) raw += " version=" + m.version;
  if (!m.nb_computer.empty()) raw += " nb_computer=" + m.nb_computer;
  if (!m.nb_domain.empty()) raw += " nb_domain=" + m.nb_domain;
  if (!m.dns_computer.empty()) raw += " dns_computer=" + m.dns_computer;
  if (!m.dns_domain.empty()) raw += " dns_domain=" + m.dns_domain;
  if (!m.dns_tree.empty()) raw += " dns_tree=" + m.dns_tree;
  if (!m.workstation.empty()) raw += " workstation=" + m.workstation;
  if (!m.domain.empty()) raw += " domain=" + m.domain;  // the user name stays out (privacy)
  auto origin = Origin(flow, ts, "ntlm", raw);
  (void)source;
  Name(ip, std::nullopt, m.nb_computer, "netbios", origin);
  Name(ip, std::nullopt, m.dns_computer, "fqdn", origin);
  Name(ip, std::nullopt, m.dns_domain.empty() ? m.nb_domain : m.dns_domain, "domain", origin);
  Name(ip, std::nullopt, m.workstation, "netbios", origin);
  Name(ip, std::nullopt, m.domain, "domain", origin);
  if (!m.version.empty()) {
    // The Windows build names the release (rules/fingerprints/windows_builds.yaml).
    const rules::Identification* id = Identify("windows_builds", m.version);
    rules::OsFact os;
    os.host.ip = ip;
    os.vendor = "Microsoft";
    os.family = "Windows";
    os.product = "Windows";
    os.version = m.version;
    os.confidence = 60;
    if (id != nullptr && id->os.product) {
      os.vendor = id->os.vendor.value_or("Microsoft");
      os.family = id->os.family.value_or("Windows");
      os.product = *id->os.product;
      os.version = id->os.version.value_or(m.version);
      os.confidence = 80;
    }
    os.origin = std::move(origin);
    ++stats_.facts;
    sink_.OnOs(os);
  }
}

void ExtractorSet::Impl::OnKerberos(const FlowRecord& flow, const extract::KerberosMessage& m,
                                    int64_t ts) {
  ++stats_.windows;
  std::string raw = "msg_type=" + std::to_string(m.msg_type) + " realm=" + m.realm;
  for (size_t i = 0; i < m.sname.size(); ++i) raw += (i ? "/" : " sname=") + m.sname[i];
  auto origin = Origin(flow, ts, "krb", raw);
  // Both ends are in the realm: the KDC and its client.
  Name(flow.id.resp_h, std::nullopt, m.realm, "realm", origin);
  Name(flow.id.orig_h, std::nullopt, m.realm, "realm", origin);
  // A machine account ("WS01$") names the client; user names are not reported.
  if (m.cname.size() == 1 && m.cname[0].size() > 1 && m.cname[0].back() == '$') {
    Name(flow.id.orig_h, std::nullopt, m.cname[0].substr(0, m.cname[0].size() - 1), "netbios",
         origin);
  }
}

bool ExtractorSet::Impl::FeedTlsAt(FlowRecord& flow, Direction& d, bool from_orig, int64_t ts) {
  d.tls.Feed(Bytes(d.buf).subspan(d.tls_at), [&](uint8_t type, Bytes body) {
    OnTlsMessage(flow, d, from_orig, type, body, ts);
  });
  if (d.tls.malformed()) ++stats_.malformed;
  return d.tls.done();
}

void ExtractorSet::Impl::ExpectFtpData(const rules::IpAddress& orig, const rules::IpAddress& resp,
                                       uint16_t port, int64_t ts) {
  std::erase_if(ftp_data_, [&](const FtpDataExpected& e) { return e.until_us < ts; });
  if (ftp_data_.size() >= kMaxFtpData) ftp_data_.erase(ftp_data_.begin());
  ftp_data_.push_back({orig, resp, port, ts + kFtpDataWait});
}

bool ExtractorSet::Impl::IsExpectedFtpData(const DecodedPacket& packet) {
  // Expired announcements go here too, so that none is left to scan once FTP falls silent.
  const int64_t now = packet.timestamp_us;
  std::erase_if(ftp_data_, [&](const FtpDataExpected& e) { return e.until_us < now; });
  auto it = std::find_if(ftp_data_.begin(), ftp_data_.end(), [&](const FtpDataExpected& e) {
    return e.port == packet.dst_port && e.resp == packet.dst && e.orig == packet.src;
  });
  if (it == ftp_data_.end()) return false;
  ftp_data_.erase(it);  // one connection per announcement
  return true;
}

// Reads the complete lines of an FTP control direction not read yet: the server's 227/229
// passive replies (the client connects to the address given, or to the server for 229) and the
// client's PORT/EPRT commands (the server connects to the address given).
void ExtractorSet::Impl::FtpControl(FlowRecord& flow, Direction& d, bool from_orig, int64_t ts) {
  std::string_view text = extract::AsText(d.buf);
  for (size_t end; (end = text.find('\n', d.lines_at)) != std::string_view::npos;
       d.lines_at = end + 1) {
    std::string_view line = text.substr(d.lines_at, end - d.lines_at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto target = from_orig ? extract::FtpPortCommand(line) : extract::FtpPassiveReply(line);
    if (!target) continue;
    const rules::IpAddress& resp = target->address ? *target->address : flow.id.resp_h;
    ExpectFtpData(from_orig ? flow.id.resp_h : flow.id.orig_h, resp, target->port, ts);
  }
}

bool ExtractorSet::Impl::StartTls(FlowRecord& flow, Direction& d, bool from_orig, int64_t ts) {
  if (from_orig) return true;
  if (d.tls_inner) return FeedTlsAt(flow, d, from_orig, ts);
  // After "220 Ready to start TLS" (SMTP RFC 3207, FTP RFC 4217 "234"), "+OK Begin TLS" (POP3
  // RFC 2595) or "a OK Begin TLS" (IMAP RFC 3501) the server's next bytes are a TLS ServerHello.
  Bytes buf = d.buf;
  for (size_t i = std::max<size_t>(d.offset, 1); i + 6 <= buf.size(); ++i) {
    if (buf[i] == 0x16 && buf[i - 1] == '\n' && d.tls.LooksLikeTls(buf.subspan(i))) {
      ++stats_.starttls;
      d.tls_inner = true;
      d.tls_at = i;
      return FeedTlsAt(flow, d, from_orig, ts);
    }
  }
  d.offset = buf.size() > 6 ? buf.size() - 6 : 0;
  // No STARTTLS within the bounds: done (the greeting was all there was), not "truncated".
  return d.packets >= config_.max_packets_per_direction ||
         buf.size() >= config_.max_bytes_per_direction;
}

bool ExtractorSet::Impl::HttpNtlm(FlowRecord& flow, Direction& d, bool from_orig, int64_t ts) {
  // Complete lines only: a token cut by a segment boundary would decode to a truncated message.
  std::string_view text = extract::AsText(d.buf);
  size_t end = text.rfind("\r\n");
  if (end == std::string_view::npos || end <= d.offset) return false;
  auto m = extract::FindHttpNtlm(text.substr(d.offset, end - d.offset));
  d.offset = end;
  if (!m) return false;
  OnNtlm(flow, *m, from_orig, ts, "http");
  return m->type >= 2;  // the server's CHALLENGE, or the client's AUTHENTICATE: done
}

Proto ExtractorSet::Impl::OnUdpMore(FlowRecord& flow, const DecodedPacket& packet,
                                    bool from_orig, Proto known) {
  auto is_port = [&](uint16_t p) { return packet.src_port == p || packet.dst_port == p; };
  Bytes payload = packet.payload;
  int64_t ts = packet.timestamp_us;
  rules::HostRef sender;
  sender.ip = packet.src;
  if ((known == Proto::kNone || known == Proto::kSnmp) && (is_port(161) || is_port(162))) {
    auto m = extract::ParseSnmp(payload);
    if (!m) return Proto::kNone;
    ++stats_.snmp;
    NoteFlowAttributes(flow, 0, extract::SnmpVersionName(m->version),
                       m->version == 3 ? "" : m->community);
    if (m->pdu == 0xa2 && !m->sys_descr.empty()) {  // GetResponse from the agent
      std::string raw = m->sys_descr;
      if (!m->sys_object_id.empty()) raw += " (sysObjectID " + m->sys_object_id + ")";
      Identified(sender, packet.src_port, 17, true, "snmp_sysdescr", m->sys_descr,
                 Origin(flow, ts, "snmp", raw), 70);
    }
    if (m->pdu == 0xa2 && !m->sys_name.empty()) {
      Name(packet.src, std::nullopt, m->sys_name, "hostname", Origin(flow, ts, "snmp", m->sys_name));
    }
    return Proto::kSnmp;
  }
  if ((known == Proto::kNone || known == Proto::kNtp) && is_port(123)) {
    auto m = extract::ParseNtp(payload);
    if (!m) return Proto::kNone;
    ++stats_.ntp;
    if (m->mode == 6 && !m->version_text.empty()) {
      Identified(sender, packet.src_port, 17, true, "ntp_banners", m->version_text,
                 Origin(flow, ts, "ntp", m->version_text), 50);
    } else if (m->mode == 4 && (from_orig ? flow.orig.packets : flow.resp.packets) == 1) {
      // The first server reply of the flow: protocol version, stratum and reference.
      std::string raw = "NTPv" + std::to_string(m->version) + " stratum=" +
                        std::to_string(m->stratum) + " refid=" + m->reference_id;
      Plain(sender, packet.src_port, 17, true, "ntp", "NTP", std::to_string(m->version),
            Origin(flow, ts, "ntp", raw));
    }
    return Proto::kNtp;
  }
  if ((known == Proto::kNone || known == Proto::kKerberos) && is_port(88)) {
    if (!payload.empty() && payload[0] == 0x7e) return Proto::kKerberos;  // KRB-ERROR
    auto m = extract::ParseKerberos(payload);
    if (!m) return Proto::kNone;
    if (m->msg_type == 10 || m->msg_type == 12) OnKerberos(flow, *m, ts);
    return Proto::kKerberos;
  }
  return Proto::kNone;
}

void ExtractorSet::Impl::OnNeighbor(const DecodedPacket& packet, Bytes frame) {
  // LLDP: ethertype 0x88cc (IEEE 802.1AB); CDP: 01:00:0c:cc:cc:cc with SNAP 0x2000.
  static constexpr MacAddress kCdp = {0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc};
  if (!packet.has_mac || packet.tunnel_depth != 0) return;  // an Ethernet frame (not SLL, raw IP)
  bool cdp = frame.size() >= 14 && std::equal(kCdp.begin(), kCdp.end(), frame.begin());
  bool lldp = frame.size() >= 14 && frame[12] == 0x88 && frame[13] == 0xcc;
  if (!cdp && !lldp) return;
  auto n = extract::ParseLldpOrCdp(frame);
  if (!n) {
    ++stats_.malformed;
    return;
  }
  ++stats_.neighbors;
  // Advertised every 30-60 s: reported again after arp_repeat_us, like ARP pairs.
  rules::Mac src_mac;
  std::copy(frame.begin() + 6, frame.begin() + 12, src_mac.begin());
  uint64_t key = std::hash<std::string>{}(n->system_name + '\0' + n->system_description);
  for (uint8_t b : src_mac) key = key * 131 + b;
  auto [it, inserted] = neighbors_seen_.try_emplace(key, packet.timestamp_us);
  if (!inserted) {
    if (packet.timestamp_us - it->second < config_.arp_repeat_us) return;
    it->second = packet.timestamp_us;
  } else if (neighbors_seen_.size() > config_.max_arp_keys) {
    neighbors_seen_.clear();
  }
  const char* source = lldp ? "lldp" : "cdp";
  rules::HostRef host;
  if (n->management) host.ip = *n->management;
  host.mac = n->chassis_mac ? *n->chassis_mac : src_mac;
  rules::FactOrigin origin;
  origin.ts_us = packet.timestamp_us;
  origin.source = source;
  origin.raw = "name=" + n->system_name + "; description=" + n->system_description;
  if (!n->platform.empty()) origin.raw += "; platform=" + n->platform;
  if (!n->system_name.empty()) {
    rules::NameFact f;
    f.host = host;
    f.name = n->system_name;
    f.kind = "lldp";
    f.origin = origin;
    ++stats_.facts;
    sink_.OnName(f);
  }
  if (!n->system_description.empty()) {
    // The same text an agent's sysDescr carries (LLDP-MIB lldpLocSysDesc is sysDescr).
    Identified(host, 0, 0, true, "snmp_sysdescr", n->system_description, origin, 60);
  }
  if (n->management) {
    rules::AddressFact a;
    a.mac = *host.mac;
    a.ip = *n->management;
    a.origin = origin;
    ++stats_.facts;
    sink_.OnAddress(a);
  }
}

void ExtractorSet::Impl::OnSyn(FlowRecord& flow, const DecodedPacket& packet) {
  bool response = (packet.tcp_flags & kTcpAck) != 0;
  auto o = extract::ObserveSyn(packet);
  if (!o) return;
  ++stats_.p0f_packets;
  auto m = p0f_->Match(*o, response);
  if (!m || m->label->os_class == "!") return;  // no match, or an application (scanner) label
  // Once per (host, label) per fact_repeat_us: the same host opens many connections.
  RepeatFactsAfter(packet.timestamp_us);
  uint64_t key = rules::IpAddressHash{}(packet.src) * 0x9e3779b97f4a7c15ull ^
                 reinterpret_cast<uintptr_t>(m->label) ^ (m->fuzzy ? 1 : 0);
  if (!p0f_seen_.Insert(key)) return;
  if (p0f_seen_.size() > config_.max_service_keys) {
    p0f_seen_.Clear();
    p0f_seen_.Insert(key);
  }
  ++stats_.p0f_matches;
  rules::OsFact os;
  os.host.ip = packet.src;
  if (packet.has_mac && packet.tunnel_depth == 0 && IsLocal(packet.src)) {
    os.host.mac = rules::Mac(packet.src_mac);
  }
  const auto& l = *m->label;
  os.family = l.os_class == "win" ? "Windows" : l.name;
  os.product = l.name;
  os.version = l.flavor;
  // p0f is a weak signal next to banners: 40 exact, 30 generic, 20 fuzzy.
  os.confidence = m->fuzzy ? 20 : l.generic ? 30 : 40;
  os.origin = Origin(flow, packet.timestamp_us, "p0f",
                     o->RawSignature() + " -> " + (l.generic ? "g:" : "s:") + l.os_class + ":" +
                         l.name + ":" + l.flavor + (m->fuzzy ? " (fuzzy)" : ""));
  ++stats_.facts;
  sink_.OnOs(os);
}

void ExtractorSet::Impl::Identified(const rules::HostRef& host, uint16_t port, uint8_t transport,
                                    bool server, const char* kind, std::string_view banner,
                                    rules::FactOrigin origin, int os_confidence) {
  rules::SoftwareFact f;
  f.host = host;
  f.port = server ? port : 0;
  f.transport = transport;
  f.role = server ? "server" : "client";
  f.kind = kind;
  const rules::Identification* id = Identify(kind, banner);
  if (id != nullptr) {
    const auto& s = id->service;
    if (s.product) {
      f.vendor = s.vendor.value_or("");
      f.product = *s.product;
      f.version = s.version.value_or("");
    } else if (id->hw.product || id->hw.vendor) {
      f.vendor = id->hw.vendor.value_or("");
      f.product = id->hw.product.value_or("");
    } else if (id->os.product) {
      f.vendor = id->os.vendor.value_or("");
      f.product = *id->os.product;
      f.version = id->os.version.value_or("");
    }
    f.cpe23 = id->cpe23.value_or("");
  }
  // A certificate subject is no "name/version" banner: unnamed, it stays unnamed.
  if (f.product.empty() && std::string_view(kind) != "x509_subjects") {
    rules::SoftwareDescription desc = rules::ParseSoftware(banner);
    f.product = desc.name;
    f.version = FormatVersion(desc.version);
  }
  f.origin = std::move(origin);
  ++stats_.facts;
  sink_.OnSoftware(f);
  if (id != nullptr && (id->os.product || id->os.family)) {
    rules::OsFact os;
    os.host = f.host;
    os.vendor = id->os.vendor.value_or("");
    os.product = id->os.product.value_or("");
    os.version = id->os.version.value_or("");
    os.family = id->os.family.value_or("");
    os.confidence = os_confidence;
    os.origin = f.origin;
    ++stats_.facts;
    sink_.OnOs(os);
  }
}

void ExtractorSet::Impl::Plain(const rules::HostRef& host, uint16_t port, uint8_t transport,
                               bool server, const char* kind, std::string product,
                               std::string version, rules::FactOrigin origin) {
  rules::SoftwareFact f;
  f.host = host;
  f.port = server ? port : 0;
  f.transport = transport;
  f.role = server ? "server" : "client";
  f.kind = kind;
  f.product = std::move(product);
  f.version = std::move(version);
  f.origin = std::move(origin);
  ++stats_.facts;
  sink_.OnSoftware(f);
}

void ExtractorSet::Impl::NoteFlowAttributes(FlowRecord& flow, int smb_version,
                                            const std::string& snmp_version,
                                            const std::string& snmp_community) {
  FlowAttributes& a = Attributes(flow);
  if (smb_version != 0) {
    a.smb_version = smb_version;
    a.service = "smb";
  }
  if (!snmp_version.empty()) {
    a.snmp_version = snmp_version;
    a.service = "snmp";
  }
  if (!snmp_community.empty() && a.snmp_community.empty()) {
    a.snmp_community = snmp_community.substr(0, 64);
  }
}

// ---------------------------------------------------------------------------------------------

ExtractorSet::ExtractorSet(const ExtractConfig& config, const rules::FingerprintDb* fingerprints,
                           rules::FactSink& facts, const std::vector<rules::Cidr>& local_nets)
    : impl_(std::make_unique<Impl>(config, fingerprints, facts, local_nets)) {
  if (!config.p0f_database.empty()) {
    auto db = extract::LoadP0f(config.p0f_database);
    if (db) {
      impl_->p0f_ = std::move(*db);
    } else {
      impl_->p0f_warning_ = db.error().message + " (p0f OS signatures off)";
    }
  }
}

const std::string& ExtractorSet::warning() const { return impl_->p0f_warning_; }

ExtractorSet::~ExtractorSet() = default;

void ExtractorSet::OnPacket(FlowRecord& flow, const DecodedPacket& packet, bool from_orig) {
  // The hot path for flows already done: one load and a branch.
  if (flow.extract && flow.extract->done && flow.orig.packets + flow.resp.packets > 1) {
    return;
  }
  impl_->OnPacket(flow, packet, from_orig);
}

void ExtractorSet::OnNonIp(const DecodedPacket& packet, std::span<const uint8_t> frame) {
  impl_->OnNonIp(packet, frame);
}

void ExtractorSet::OnFlowEnd(FlowRecord& flow) { impl_->OnFlowEnd(flow); }

void ExtractorSet::SetDnsObserver(DnsObserver observer) {
  impl_->dns_observer_ = std::move(observer);
}

void ExtractorSet::SetProtocolLogs(ProtocolLogs* logs) { impl_->protocol_logs_ = logs; }

ExtractStats ExtractorSet::stats() const { return impl_->stats_; }

}  // namespace sensor
