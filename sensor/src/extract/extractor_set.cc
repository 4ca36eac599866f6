// ExtractorSet: per-flow bounded reassembly, protocol recognition from the first bytes, and the
// facts each protocol yields. The parsers themselves are in *_parsers.cc.
#include "sensor/extract/extractor_set.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "extract/parsers.h"
#include "rules/version.h"

namespace sensor {

// Which protocol a flow was recognised as; names are Zeek's service names.
enum class Proto : uint8_t {
  kNone, kSsh, kHttp, kTls, kFtp, kSmtp, kPop3, kImap, kMysql, kDhcp, kDns, kNbns, kUnknown,
  kCount
};

namespace {

constexpr std::array<const char*, static_cast<size_t>(Proto::kCount)> kProtoNames = {
    "", "ssh", "http", "ssl", "ftp", "smtp", "pop3", "imap", "mysql", "dhcp", "dns", "netbios-ns",
    ""};

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
};

struct TcpExtract : ExtractState {
  std::array<Direction, 2> dir;  // 0: originator, 1: responder
};

void DeleteTcpState(ExtractState* s) { delete static_cast<TcpExtract*>(s); }

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
  void OnNonIp(const DecodedPacket& packet);
  void OnFlowEnd(FlowRecord& flow);
  ExtractStats stats_;

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

  ExtractConfig config_;
  const rules::FingerprintDb* db_;
  std::unordered_map<std::string, std::optional<rules::Identification>> identified_;
  std::optional<rules::Identification> identify_scratch_;  // for banners too long to keep
  rules::FactSink& sink_;
  std::vector<rules::Cidr> local_nets_;
  std::unordered_set<uint64_t> services_seen_;
  std::unordered_map<uint64_t, int64_t> arp_seen_;
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
  // Too few bytes to tell yet?
  if (text.size() < 8 && text.find('\n') == std::string_view::npos) return Proto::kNone;
  return Proto::kUnknown;
}

bool ExtractorSet::Impl::Process(FlowRecord& flow, TcpExtract& st, Direction& d, bool from_orig,
                                 int64_t ts) {
  if (d.proto == Proto::kNone) {
    d.proto = Recognise(flow, d, from_orig);
    switch (d.proto) {
      case Proto::kNone: return false;
      case Proto::kUnknown: return true;
      case Proto::kSsh: ++stats_.ssh; break;
      case Proto::kHttp: ++stats_.http; break;
      case Proto::kTls: ++stats_.tls; break;
      case Proto::kMysql: ++stats_.mysql; break;
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
      Software(flow, server, "ssh_banners", extract::CleanText(*software, 255), raw, "ssh", ts,
               70);
      return true;
    }
    case Proto::kHttp: {
      auto head = extract::ParseHttpHead(text);
      if (!head) return false;
      if (head->request) {
        if (!head->host.empty() && !IsIpLiteral(head->host)) {
          Name(flow.id.resp_h, std::nullopt, head->host, "fqdn",
               Origin(flow, ts, "http", head->host));
        }
        if (!head->user_agent.empty()) {
          Software(flow, false, "http_user_agents", head->user_agent, head->user_agent, "http",
                   ts, 40);
        }
      } else {
        if (!head->server.empty()) {
          Software(flow, true, "http_servers", head->server, head->server, "http", ts, 50);
        }
        if (!head->powered_by.empty()) {
          Software(flow, true, "http_servers", head->powered_by, head->powered_by, "http", ts, 50);
        }
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
      Software(flow, true, db_kind, extract::GreetingText(*line, kind),
               extract::CleanText(*line), ProtoName(d.proto), ts, 50);
      return true;
    }
    case Proto::kMysql: {
      auto version = extract::MySqlServerVersion(d.buf);
      if (version) Software(flow, true, "mysql_banners", *version, *version, "mysql", ts, 50);
      return true;
    }
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
    for (int which = 0; which < 2; ++which) {
      rules::SoftwareFact f;
      f.host.ip = flow.id.orig_h;
      f.transport = flow.key.proto;
      f.role = "client";
      f.kind = "tls_client";
      f.product = which == 0 ? "JA4" : "JA3";
      std::string raw = which == 0 ? extract::Ja4(*hello) : extract::Ja3(*hello);
      f.origin = Origin(flow, ts, "tls", raw);
      ++stats_.facts;
      sink_.OnSoftware(f);
    }
    d.tls.Stop();  // the client's later handshake messages are encrypted or uninteresting
    return;
  }
  if (from_orig) return;
  if (type == 11) {  // Certificate (TLS <= 1.2; 1.3 sends it encrypted)
    auto certs = extract::CertificateList(body, 1);
    std::optional<extract::CertificateInfo> info;
    if (!certs.empty()) info = extract::ParseCertificate(certs.front());
    if (!info) {
      ++stats_.malformed;
      d.tls.Stop();
      return;
    }
    ++stats_.certificates;
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
    d.tls.Stop();
  } else if (type == 14) {  // ServerHelloDone: no certificate came
    d.tls.Stop();
  }
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
  rules::SoftwareFact f;
  f.host.ip = ip;
  f.port = port;
  f.transport = flow.key.proto;
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
  if (f.product.empty() && std::string_view(kind) != "x509_subjects") {
    rules::SoftwareDescription desc = rules::ParseSoftware(banner);
    f.product = desc.name;
    f.version = FormatVersion(desc.version);
  }
  f.origin = Origin(flow, ts, source, raw);
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

void ExtractorSet::Impl::Dhcp(const FlowRecord& flow, const DecodedPacket& packet,
                              const extract::DhcpMessage& m) {
  int64_t ts = packet.timestamp_us;
  rules::IpAddress none;
  rules::IpAddress zero = rules::IpAddress::FromV4(0);
  auto set = [&](const rules::IpAddress& a) { return a != none && a != zero; };
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
  for (const auto& a : m.answers) {
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

void ExtractorSet::Impl::OnNonIp(const DecodedPacket& packet) {
  if (!packet.is_arp) return;
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
  uint64_t key = rules::IpAddressHash{}(flow.id.resp_h);
  key = key * 0x100000001b3ull ^ (uint64_t{flow.id.resp_p} << 8 | flow.key.proto);
  key = key * 0x100000001b3ull ^ std::hash<std::string>{}(protocol);
  if (!services_seen_.insert(key).second) return;
  if (services_seen_.size() > config_.max_service_keys) {
    services_seen_.clear();
    services_seen_.insert(key);
  }
  rules::ServiceFact f;
  f.host.ip = flow.id.resp_h;
  f.port = flow.id.resp_p;
  f.transport = flow.key.proto;
  f.protocol = protocol;
  f.application = flow.classification.application;
  f.client = flow.id.orig_h;
  f.exposed = !IsLocal(flow.id.orig_h);
  f.origin = Origin(flow, flow.start_us, "conn", "");
  ++stats_.facts;
  sink_.OnService(f);
}

// ---------------------------------------------------------------------------------------------

ExtractorSet::ExtractorSet(const ExtractConfig& config, const rules::FingerprintDb* fingerprints,
                           rules::FactSink& facts, const std::vector<rules::Cidr>& local_nets)
    : impl_(std::make_unique<Impl>(config, fingerprints, facts, local_nets)) {}

ExtractorSet::~ExtractorSet() = default;

void ExtractorSet::OnPacket(FlowRecord& flow, const DecodedPacket& packet, bool from_orig) {
  // The hot path for flows already done: one load and a branch.
  if (flow.extract && flow.extract->done && flow.orig.packets + flow.resp.packets > 1) {
    return;
  }
  impl_->OnPacket(flow, packet, from_orig);
}

void ExtractorSet::OnNonIp(const DecodedPacket& packet, std::span<const uint8_t> frame) {
  (void)frame;
  impl_->OnNonIp(packet);
}

void ExtractorSet::OnFlowEnd(FlowRecord& flow) { impl_->OnFlowEnd(flow); }

ExtractStats ExtractorSet::stats() const { return impl_->stats_; }

}  // namespace sensor
