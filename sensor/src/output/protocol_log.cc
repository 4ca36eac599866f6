#include "sensor/output/protocol_log.h"

#include <array>
#include <string_view>
#include <utility>

namespace sensor {
namespace {

using T = ZeekType;

std::vector<ZeekField> WithId(std::vector<ZeekField> rest) {
  std::vector<ZeekField> f = {{"ts", T::kTime},        {"uid", T::kString},
                              {"id.orig_h", T::kAddr}, {"id.orig_p", T::kPort},
                              {"id.resp_h", T::kAddr}, {"id.resp_p", T::kPort}};
  f.insert(f.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.end()));
  return f;
}

void Id(ZeekLog* log, const FlowRecord& flow) {
  log->String(flow.uid);
  log->Addr(flow.id.orig_h);
  log->Port(flow.id.orig_p);
  log->Addr(flow.id.resp_h);
  log->Port(flow.id.resp_p);
}

void StringOrUnset(ZeekLog* log, std::string_view s) {
  if (s.empty()) {
    log->Unset();
  } else {
    log->String(s);
  }
}

// IANA TLS cipher suite names of the suites seen in practice (RFC 8446 B.4, RFC 5289, RFC 7905);
// Zeek writes "unknown-N" for the others.
std::string CipherName(uint16_t c) {
  static constexpr std::pair<uint16_t, const char*> kNames[] = {
      {0x1301, "TLS_AES_128_GCM_SHA256"},
      {0x1302, "TLS_AES_256_GCM_SHA384"},
      {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
      {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
      {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
      {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
      {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
      {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
      {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
      {0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
      {0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
      {0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
      {0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
      {0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
      {0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
      {0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
      {0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"},
      {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
      {0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
      {0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
      {0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
      {0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
  };
  for (const auto& [code, name] : kNames) {
    if (code == c) return name;
  }
  return "unknown-" + std::to_string(c);
}

// TLS Supported Groups (IANA registry; RFC 8422 5.1.1, RFC 7919, RFC 8446 4.2.7,
// draft-kwiatkowski-tls-ecdhe-mlkem) as Zeek's SSL::ec_curves names them, "unknown-N" otherwise.
std::string CurveName(uint16_t g) {
  static constexpr std::pair<uint16_t, const char*> kNames[] = {
      {21, "secp224r1"},       {22, "secp256k1"},         {23, "secp256r1"},
      {24, "secp384r1"},       {25, "secp521r1"},         {26, "brainpoolP256r1"},
      {27, "brainpoolP384r1"}, {28, "brainpoolP512r1"},   {29, "x25519"},
      {30, "x448"},            {256, "ffdhe2048"},        {257, "ffdhe3072"},
      {258, "ffdhe4096"},      {259, "ffdhe6144"},        {260, "ffdhe8192"},
      {4587, "SecP256r1MLKEM768"}, {4588, "X25519MLKEM768"}, {25497, "X25519Kyber768Draft00"},
  };
  for (const auto& [code, name] : kNames) {
    if (code == g) return name;
  }
  return "unknown-" + std::to_string(g);
}

void CountOrUnset(ZeekLog* log, int64_t v) {
  if (v < 0) {
    log->Unset();
  } else {
    log->Count(static_cast<uint64_t>(v));
  }
}

// RFC 1035 3.2.4 classes and 3.2.2 / IANA types as Zeek names them.
std::string_view ClassName(uint16_t c) {
  switch (c) {
    case 1: return "C_INTERNET";
    case 3: return "C_CHAOS";
    case 4: return "C_HESIOD";
    case 254: return "C_NONE";
    case 255: return "C_ANY";
    default: return "";
  }
}
std::string_view TypeName(uint16_t t) {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 32: return "NB";
    case 33: return "SRV";
    case 43: return "DS";
    case 46: return "RRSIG";
    case 48: return "DNSKEY";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 255: return "*";
    default: return "";
  }
}
std::string_view RcodeName(uint8_t r) {
  static constexpr std::array<std::string_view, 11> kNames = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
  return r < kNames.size() ? kNames[r] : std::string_view();
}

bool Set(const rules::IpAddress& a) {
  return a != rules::IpAddress() && a != rules::IpAddress::FromV4(0);
}

}  // namespace

std::string ProtocolLogs::TlsVersionName(uint16_t v) {
  switch (v) {
    case 0x0300: return "SSLv3";
    case 0x0301: return "TLSv10";
    case 0x0302: return "TLSv11";
    case 0x0303: return "TLSv12";
    case 0x0304: return "TLSv13";
    default: return v == 0 ? "" : "unknown-" + std::to_string(v);
  }
}

ProtocolLogs::ProtocolLogs(std::string directory, ZeekLogFormat format)
    : directory_(std::move(directory)), format_(format) {}

ProtocolLogs::~ProtocolLogs() = default;

ZeekLog* ProtocolLogs::Log(std::unique_ptr<ZeekLog>* log, const char* name,
                           std::vector<ZeekField> (*fields)(), int64_t ts_us) {
  if (*log) return log->get();
  if (failed_) return nullptr;
  auto opened = ZeekLog::Open(directory_, name, fields(), format_, ts_us);
  if (!opened) {
    ++stats_.write_errors;
    if (error_.empty()) error_ = opened.error().message;
    failed_ = true;  // do not retry for every record
    return nullptr;
  }
  *log = std::move(*opened);
  return log->get();
}

void ProtocolLogs::End(ZeekLog* log) {
  if (auto ok = log->End(); !ok) {
    ++stats_.write_errors;
    if (error_.empty()) error_ = ok.error().message;
  }
}

void ProtocolLogs::OnFlowEnd(const FlowRecord& flow) {
  const FlowAttributes* a = flow.attributes.get();
  if (a == nullptr) return;
  const int64_t ts = flow.start_us;
  if (a->ssh_version != 0 || !a->ssh_client.empty() || !a->ssh_server.empty()) {
    if (ZeekLog* log = Log(&ssh_, "ssh",
                           [] { return WithId({{"version", T::kCount},
                                   {"auth_success", T::kBool},
                                   {"direction", T::kEnum},
                                   {"client", T::kString},
                                   {"server", T::kString}}); },
                           ts)) {
      log->Begin();
      log->Time(ts);
      Id(log, flow);
      if (a->ssh_version != 0) {
        log->Count(static_cast<uint64_t>(a->ssh_version));
      } else {
        log->Unset();
      }
      log->Unset();  // auth_success: Zeek infers it from encrypted packet sizes; not done here
      if (a->ssh_direction == 0) {
        log->Unset();
      } else {
        log->Enum(a->ssh_direction == 2 ? "OUTBOUND" : "INBOUND");
      }
      StringOrUnset(log, a->ssh_client);
      StringOrUnset(log, a->ssh_server);
      End(log);
      ++stats_.ssh;
    }
  }
  if (!a->http_method.empty() || a->http_status != 0) {
    if (ZeekLog* log = Log(&http_, "http",
                           [] { return WithId({{"trans_depth", T::kCount},
                                   {"method", T::kString},
                                   {"host", T::kString},
                                   {"uri", T::kString},
                                   {"referrer", T::kString},
                                   {"version", T::kString},
                                   {"user_agent", T::kString},
                                   {"request_body_len", T::kCount},
                                   {"response_body_len", T::kCount},
                                   {"status_code", T::kCount},
                                   {"status_msg", T::kString},
                                   {"server", T::kString},
                                   {"x_powered_by", T::kString}}); },
                           ts)) {
      log->Begin();
      log->Time(ts);
      Id(log, flow);
      log->Count(1);
      StringOrUnset(log, a->http_method);
      StringOrUnset(log, a->http_host);
      StringOrUnset(log, a->http_uri);
      StringOrUnset(log, a->http_referrer);
      StringOrUnset(log, a->http_version);
      StringOrUnset(log, a->user_agent);
      CountOrUnset(log, a->http_request_body_len);
      CountOrUnset(log, a->http_response_body_len);
      if (a->http_status != 0) {
        log->Count(static_cast<uint64_t>(a->http_status));
      } else {
        log->Unset();
      }
      StringOrUnset(log, a->http_status_msg);
      StringOrUnset(log, a->http_server);
      StringOrUnset(log, a->http_powered_by);
      End(log);
      ++stats_.http;
    }
  }
  if (a->tls.value_or(false)) {
    if (ZeekLog* log = Log(&ssl_, "ssl",
                           [] { return WithId({{"version", T::kString},
                                   {"cipher", T::kString},
                                   {"curve", T::kString},
                                   {"server_name", T::kString},
                                   {"established", T::kBool},
                                   {"cert_chain_fps", T::kStringVector},
                                   {"subject", T::kString},
                                   {"issuer", T::kString},
                                   {"ja3", T::kString},
                                   {"ja4", T::kString}}); },
                           ts)) {
      log->Begin();
      log->Time(ts);
      Id(log, flow);
      StringOrUnset(log, TlsVersionName(a->tls_version));
      if (a->tls_established) {
        log->String(CipherName(a->tls_cipher));
      } else {
        log->Unset();
      }
      if (a->tls_curve != 0) {
        log->String(CurveName(a->tls_curve));
      } else {
        log->Unset();
      }
      StringOrUnset(log, a->sni);
      log->Bool(a->tls_established);
      if (a->cert_sha256.empty()) {
        log->Unset();
      } else {
        std::array<std::string, 1> fps = {a->cert_sha256};
        log->StringVector(fps);
      }
      StringOrUnset(log, a->tls_subject);
      StringOrUnset(log, a->tls_issuer);
      StringOrUnset(log, a->ja3);
      StringOrUnset(log, a->ja4);
      End(log);
      ++stats_.ssl;
    }
  }
}

void ProtocolLogs::OnDns(const DnsTransaction& d) {
  if (d.flow == nullptr) return;
  ZeekLog* log = Log(&dns_, "dns",
                     [] { return WithId({{"proto", T::kEnum},
                             {"trans_id", T::kCount},
                             {"query", T::kString},
                             {"qclass", T::kCount},
                             {"qclass_name", T::kString},
                             {"qtype", T::kCount},
                             {"qtype_name", T::kString},
                             {"rcode", T::kCount},
                             {"rcode_name", T::kString},
                             {"AA", T::kBool},
                             {"TC", T::kBool},
                             {"RD", T::kBool},
                             {"RA", T::kBool},
                             {"Z", T::kCount},
                             {"answers", T::kStringVector},
                             {"TTLs", T::kIntervalVector},
                             {"rejected", T::kBool}}); },
                     d.ts_us);
  if (log == nullptr) return;
  log->Begin();
  log->Time(d.ts_us);
  Id(log, *d.flow);
  log->Enum(d.flow->key.proto == 6 ? "tcp" : "udp");
  log->Count(d.trans_id);
  StringOrUnset(log, d.query);
  auto count_or_unset = [&](uint16_t v, std::string_view name) {
    if (d.query.empty()) {
      log->Unset();
      log->Unset();
      return;
    }
    log->Count(v);
    StringOrUnset(log, name);
  };
  count_or_unset(d.qclass, ClassName(d.qclass));
  count_or_unset(d.qtype, TypeName(d.qtype));
  log->Count(d.rcode);
  StringOrUnset(log, RcodeName(d.rcode));
  log->Bool(d.aa);
  log->Bool(d.tc);
  log->Bool(d.rd);
  log->Bool(d.ra);
  log->Count(d.z);
  if (d.answers.empty()) {
    log->Unset();
    log->Unset();
  } else {
    log->StringVector(d.answers);
    log->IntervalVector(d.ttls_us);
  }
  log->Bool(d.rcode == 5);  // REFUSED, as Zeek sets `rejected`
  End(log);
  ++stats_.dns;
}

void ProtocolLogs::OnDhcp(const DhcpTransaction& d) {
  ZeekLog* log = Log(&dhcp_, "dhcp",
                     [] { return std::vector<ZeekField>{{"ts", T::kTime},
                      {"uids", T::kStringSet},
                      {"client_addr", T::kAddr},
                      {"server_addr", T::kAddr},
                      {"mac", T::kString},
                      {"host_name", T::kString},
                      {"client_fqdn", T::kString},
                      {"domain", T::kString},
                      {"requested_addr", T::kAddr},
                      {"assigned_addr", T::kAddr},
                      {"lease_time", T::kInterval},
                      {"msg_types", T::kStringVector},
                      {"vendor_class", T::kString}}; },
                     d.ts_us);
  if (log == nullptr) return;
  log->Begin();
  log->Time(d.ts_us);
  if (d.flow != nullptr) {
    std::array<std::string, 1> uids = {d.flow->uid};
    log->StringSet(uids);
  } else {
    log->Unset();
  }
  for (const rules::IpAddress* a : {&d.client_addr, &d.server_addr}) {
    if (Set(*a)) {
      log->Addr(*a);
    } else {
      log->Unset();
    }
  }
  log->String(rules::MacToString(d.mac));
  StringOrUnset(log, d.host_name);
  StringOrUnset(log, d.client_fqdn);
  StringOrUnset(log, d.domain);
  for (const rules::IpAddress* a : {&d.requested_addr, &d.assigned_addr}) {
    if (Set(*a)) {
      log->Addr(*a);
    } else {
      log->Unset();
    }
  }
  if (d.lease_time_us > 0) {
    log->Interval(d.lease_time_us);
  } else {
    log->Unset();
  }
  std::array<std::string, 1> types = {d.msg_type};
  log->StringVector(types);
  StringOrUnset(log, d.vendor_class);
  End(log);
  ++stats_.dhcp;
}

rules::Result<> ProtocolLogs::Flush() {
  for (auto* log : {&ssh_, &http_, &ssl_, &dns_, &dhcp_}) {
    if (*log) {
      if (auto ok = (*log)->Flush(); !ok) return ok;
    }
  }
  return {};
}

rules::Result<> ProtocolLogs::Close(int64_t close_time_us) {
  rules::Result<> result;
  for (auto* log : {&ssh_, &http_, &ssl_, &dns_, &dhcp_}) {
    if (*log) {
      if (auto ok = (*log)->Close(close_time_us); !ok && result) result = ok;
      log->reset();
    }
  }
  if (result && !error_.empty()) return rules::Fail(rules::ErrorCode::kIo, error_);
  return result;
}

}  // namespace sensor
