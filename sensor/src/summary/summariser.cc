#include "sensor/summary/summariser.h"

#include <sys/statvfs.h>
#include <sys/timex.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include "sensor/logs/syslog_message.h"  // AppendJsonString: always valid UTF-8 JSON

namespace sensor {
namespace {

// The collector's `proto` member: "tcp", "udp", ... or the IP protocol number.
std::string ProtoName(uint8_t transport) {
  switch (transport) {
    case 6: return "tcp";
    case 17: return "udp";
    case 132: return "sctp";
    case 1: return "icmp";
    case 58: return "icmp6";
    default: return std::to_string(transport);
  }
}

bool Unspecified(const rules::IpAddress& ip) {
  return ip == rules::IpAddress() || (ip.is_v4() && ip.v4() == 0);
}

// Cuts to at most max bytes without splitting a UTF-8 sequence (invalid bytes are replaced
// later by AppendJsonString).
std::string Bound(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

// Mail addresses, user principals (user@REALM) and URLs are never sent.
bool Personal(std::string_view s) {
  return s.find('@') != std::string_view::npos || s.find("://") != std::string_view::npos;
}

void Str(std::string* out, const char* key, std::string_view value) {
  out->push_back(',');
  out->push_back('"');
  out->append(key);
  out->append("\":");
  AppendJsonString(value, out);
}

void Int(std::string* out, const char* key, int64_t value) {
  out->push_back(',');
  out->push_back('"');
  out->append(key);
  out->append("\":");
  out->append(std::to_string(value));
}

struct OsGuess {
  std::string vendor;
  std::string product;
  std::string version;
  int confidence = 0;
  bool operator==(const OsGuess& o) const {
    return vendor == o.vendor && product == o.product && version == o.version;
  }
};

// A line to send, merged over the batch. `bytes` is the length of its current serialisation.
struct HostLine {
  std::string mac;
  std::vector<std::string> names;
  std::optional<OsGuess> os;
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  size_t bytes = 0;
};
struct ServiceLine {
  std::string host;
  uint16_t port = 0;
  std::string proto;
  std::string protocol;
  bool exposed = false;
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  size_t bytes = 0;
};
struct SoftwareLine {
  std::string host;
  uint16_t port = 0;
  std::string role;
  std::string vendor;
  std::string product;
  std::string version;
  std::string cpe23;
  std::string raw;
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  size_t bytes = 0;
};

// What was sent (the dedupe record).
struct KnownHost {
  std::string mac;
  std::unordered_set<std::string> names;
  std::optional<OsGuess> os;
  int64_t sent_last_seen = 0;
};
struct KnownService {
  std::string protocol;
  bool exposed = false;
  int64_t sent_last_seen = 0;
};
struct KnownSoftware {
  std::string version;
  std::string cpe23;
  std::string raw;
  int64_t sent_last_seen = 0;
};

void AppendHost(const std::string& host, const HostLine& h, std::string* out) {
  out->append("{\"type\":\"host\"");
  Str(out, "host", host);
  if (!h.mac.empty()) Str(out, "mac", h.mac);
  if (!h.names.empty()) {
    out->append(",\"names\":[");
    for (size_t i = 0; i < h.names.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString(h.names[i], out);
    }
    out->push_back(']');
  }
  if (h.os) {
    out->append(",\"os\":{\"vendor\":");
    AppendJsonString(h.os->vendor, out);
    Str(out, "product", h.os->product);
    Str(out, "version", h.os->version);
    out->push_back('}');
  }
  Int(out, "first_seen", h.first_seen);
  Int(out, "last_seen", h.last_seen);
  out->append("}\n");
}

void AppendService(const ServiceLine& s, std::string* out) {
  out->append("{\"type\":\"service\"");
  Str(out, "host", s.host);
  Int(out, "port", s.port);
  Str(out, "proto", s.proto);
  Str(out, "protocol", s.protocol);
  out->append(s.exposed ? ",\"exposed\":true" : ",\"exposed\":false");
  Int(out, "first_seen", s.first_seen);
  Int(out, "last_seen", s.last_seen);
  out->append("}\n");
}

void AppendSoftware(const SoftwareLine& s, std::string* out) {
  out->append("{\"type\":\"software\"");
  Str(out, "host", s.host);
  Int(out, "port", s.port);
  Str(out, "role", s.role);
  Str(out, "vendor", s.vendor);
  Str(out, "product", s.product);
  Str(out, "version", s.version);
  Str(out, "cpe23", s.cpe23);
  Str(out, "raw", s.raw);
  Int(out, "first_seen", s.first_seen);
  Int(out, "last_seen", s.last_seen);
  out->append("}\n");
}

template <class Line, class Fn>
void Resize(Line* line, size_t* total, Fn serialise) {
  std::string text;
  serialise(&text);
  *total = *total - line->bytes + text.size();
  line->bytes = text.size();
}

int64_t WallClockUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Uint(std::string* out, const char* key, uint64_t value) {
  out->push_back(',');
  out->push_back('"');
  out->append(key);
  out->append("\":");
  out->append(std::to_string(value));
}

void StrArray(std::string* out, const char* key, const std::vector<std::string>& values) {
  out->append(",\"");
  out->append(key);
  out->append("\":[");
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(values[i], out);
  }
  out->push_back(']');
}

// Distinct external peers of one aggregate: counted exactly up to `max_tracked`, then "at least".
struct Peers {
  std::unordered_set<std::string> seen;
  std::vector<std::string> listed;  // the first max_listed, in order of appearance
  bool capped = false;

  void Add(const std::string& peer, size_t max_tracked, size_t max_listed) {
    if (seen.count(peer) != 0) return;
    if (seen.size() >= max_tracked) {
      capped = true;
      return;
    }
    seen.insert(peer);
    if (listed.size() < max_listed) listed.push_back(peer);
  }
};

// Per internal service (responder inside, accepted the connection) in a window.
struct FlowService {
  std::string host;
  uint16_t port = 0;
  std::string proto;
  std::string protocol;  // the latest non-empty classification
  uint64_t flows = 0, internal_flows = 0;
  uint64_t bytes_to_server = 0, bytes_to_client = 0;
  Peers peers;
  int64_t first_seen = 0, last_seen = 0;
};

// Per internal host in a window.
struct FlowHost {
  uint64_t flows_as_client = 0, flows_as_server = 0, unanswered = 0;
  uint64_t bytes_sent = 0, bytes_received = 0;
  Peers peers;  // counted only: the destinations of clients are not listed
  int64_t first_seen = 0, last_seen = 0;
};

struct SentLogSender {
  uint64_t messages = 0, bytes = 0;
  int64_t last_seen_us = 0;
  bool quiet = false;
};

// The flow's protocol for the collector: Zeek's service label, else nDPI's application name.
std::string FlowProtocol(const FlowRecord& flow) {
  if (!flow.classification.service.empty()) return flow.classification.service;
  return flow.classification.application;
}

// Members of the health line the summariser writes itself; SetHealthField may not reuse them.
bool ReservedHealthName(std::string_view name) {
  static const char* const kNames[] = {
      "type", "sensor_version", "uptime_s", "packets", "drops", "packets_delta", "drops_delta",
      "flows", "flows_with_gaps", "missed_bytes", "clock", "disk", "facts", "changes", "batches",
      "put_errors", "names_dropped", "raw_dropped", "client_raw_dropped", "known_resets",
      "flows_cut", "alerts", "alerts_cut", "evidence_blanked", "health_fields_refused"};
  return std::any_of(std::begin(kNames), std::end(kNames),
                     [&](const char* n) { return name == n; });
}

bool ValidFieldName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Clock state from adjtimex(2) with modes = 0 (read only): STA_UNSYNC is the kernel's "not
// synchronised" status bit that ntpd/chrony/timesyncd clear while they discipline the clock
// (timedatectl's NTPSynchronized reads the same bit). maxerror/esterror are in µs.
void AppendClock(std::string* out) {
  struct timex tx {};
  const int state = adjtimex(&tx);
  out->append(",\"clock\":{");
  if (state < 0) {
    out->append("\"synced\":null}");
    return;
  }
  out->append((tx.status & STA_UNSYNC) != 0 || state == TIME_ERROR ? "\"synced\":false"
                                                                   : "\"synced\":true");
  Int(out, "maxerror_us", tx.maxerror);
  Int(out, "esterror_us", tx.esterror);
  out->push_back('}');
}

void AppendDisk(const std::vector<std::pair<std::string, std::string>>& paths, std::string* out) {
  if (paths.empty()) return;
  out->append(",\"disk\":{");
  bool first = true;
  for (const auto& [name, path] : paths) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(name, out);
    struct statvfs st {};
    if (statvfs(path.c_str(), &st) != 0) {
      out->append(":null");
      continue;
    }
    out->append(":{\"free_bytes\":");
    out->append(std::to_string(static_cast<uint64_t>(st.f_bavail) * st.f_frsize));
    Uint(out, "total_bytes", static_cast<uint64_t>(st.f_blocks) * st.f_frsize);
    out->push_back('}');
  }
  out->push_back('}');
}

}  // namespace

class Summariser::Impl {
 public:
  Impl(SummariserConfig config, std::unique_ptr<uplink::SpoolWriter> spool, rules::FactSink* next)
      : config_(std::move(config)), spool_(std::move(spool)), next_(next) {
    if (config_.sensor_version.empty()) config_.sensor_version = UTKIKK_VERSION;
  }

  // ---- flow aggregates ----

  void FlowEnd(const FlowRecord& flow, bool local_orig, bool local_resp) {
    ++stats_.flows;
    if (closed_) return;
    if (config_.local_nets.empty()) local_orig = local_resp = true;
    const uint64_t gaps = flow.orig.missed_bytes + flow.resp.missed_bytes;
    if (gaps > 0) {
      ++flows_with_gaps_;
      missed_bytes_ += gaps;
    }
    ++window_flows_;
    if (!local_orig && !local_resp) return;
    if (Unspecified(flow.id.orig_h) || Unspecified(flow.id.resp_h)) return;
    const int64_t first = flow.start_us;
    const int64_t last = std::max(flow.last_us, flow.start_us);
    const bool answered = flow.resp.packets > 0;
    const std::string orig = flow.id.orig_h.ToString();
    const std::string resp = flow.id.resp_h.ToString();
    const size_t max_tracked = config_.max_peers_tracked;
    // The entries this flow needs must all fit, or the flow is cut as a whole.
    size_t needed = 0;
    std::string service_key;
    if (local_resp && ResponderAccepted(flow)) {  // not a closed port that refused a scanner
      service_key = resp + '|' + std::to_string(flow.id.resp_p) + '|' + ProtoName(flow.id.proto);
      needed += flow_services_.count(service_key) == 0 ? 1 : 0;
    }
    if (local_orig) needed += flow_hosts_.count(orig) == 0 ? 1 : 0;
    if (local_resp) needed += flow_hosts_.count(resp) == 0 ? 1 : 0;
    if (local_orig && local_resp && orig == resp && needed == 2) needed = 1;
    if (flow_services_.size() + flow_hosts_.size() + needed > config_.max_flow_entries) {
      ++stats_.flows_cut;
      return;
    }
    auto touch = [&](int64_t* f, int64_t* l) {
      *f = *f == 0 ? first : std::min(*f, first);
      *l = std::max(*l, last);
    };
    if (!service_key.empty()) {
      FlowService& s = flow_services_[service_key];
      if (s.flows == 0) {
        s.host = resp;
        s.port = flow.id.resp_p;
        s.proto = ProtoName(flow.id.proto);
      }
      if (std::string protocol = FlowProtocol(flow); !protocol.empty())
        s.protocol = Bound(protocol, config_.max_string_bytes);
      ++s.flows;
      if (local_orig) {
        ++s.internal_flows;
      } else {
        s.peers.Add(orig, max_tracked, config_.max_peer_addresses);
      }
      s.bytes_to_server += flow.orig.payload_bytes;
      s.bytes_to_client += flow.resp.payload_bytes;
      touch(&s.first_seen, &s.last_seen);
    }
    if (local_orig) {
      FlowHost& h = flow_hosts_[orig];
      ++h.flows_as_client;
      if (!answered) ++h.unanswered;
      h.bytes_sent += flow.orig.payload_bytes;
      h.bytes_received += flow.resp.payload_bytes;
      if (!local_resp) h.peers.Add(resp, max_tracked, 0);
      touch(&h.first_seen, &h.last_seen);
    }
    if (local_resp) {
      FlowHost& h = flow_hosts_[resp];
      ++h.flows_as_server;
      h.bytes_sent += flow.resp.payload_bytes;
      h.bytes_received += flow.orig.payload_bytes;
      if (!local_orig) h.peers.Add(orig, max_tracked, 0);
      touch(&h.first_seen, &h.last_seen);
    }
  }

  // ---- alerts ----

  void AlertRaised(const rules::engine::Alert& a) {
    ++stats_.alerts;
    if (closed_) return;
    if (alert_lines_.size() >= config_.max_alerts_per_window) {
      ++stats_.alerts_cut;
      return;
    }
    const size_t max = config_.max_string_bytes;
    std::string evidence = Bound(a.evidence, max);
    if (!config_.alert_personal_evidence && Personal(a.evidence)) {
      evidence.clear();
      ++stats_.evidence_blanked;
    }
    const bool flow = a.dst != rules::IpAddress();
    std::string line = "{\"type\":\"alert\"";
    Str(&line, "rule_id", Bound(a.rule_id, max));
    Int(&line, "rule_version", a.rule_version);
    Str(&line, "severity", rules::engine::SeverityName(a.severity));
    Str(&line, "kind", rules::engine::RuleKindName(a.kind));
    Str(&line, "title", Bound(a.title, max));
    // The host the alert is about: the server of a flow, or the host of a fact.
    Str(&line, "host", flow ? a.dst.ToString() : a.src.ToString());
    Int(&line, "port", a.port);
    Str(&line, "peer", flow ? a.src.ToString() : "");
    Str(&line, "key", Bound(a.key, max));
    Str(&line, "evidence", evidence);
    std::vector<std::string> cves;
    for (const std::string& c : a.cves) {
      if (cves.size() >= 32) break;
      cves.push_back(Bound(c, 32));
    }
    StrArray(&line, "cves", cves);
    line.append(a.known_exploited ? ",\"known_exploited\":true" : ",\"known_exploited\":false");
    Uint(&line, "count", a.count);
    Int(&line, "first_seen", a.ts_first_us);
    Int(&line, "last_seen", std::max(a.ts_last_us, a.ts_first_us));
    line.append("}\n");
    alert_lines_.push_back(std::move(line));
  }

  // ---- health and log senders ----

  bool HealthField(std::string name, std::string json) {
    std::lock_guard lock(inputs_mu_);
    if (!ValidFieldName(name) || ReservedHealthName(name)) {
      ++stats_.health_fields_refused;
      return false;
    }
    if (json.empty()) {
      health_fields_.erase(name);
      return true;
    }
    if (json.size() > 16384 || json.find('\n') != std::string::npos ||
        !nlohmann::json::accept(json)) {
      ++stats_.health_fields_refused;
      return false;
    }
    health_fields_[std::move(name)] = std::move(json);
    return true;
  }

  void LogSenders(std::vector<LogSenderSummary> senders) {
    std::lock_guard lock(inputs_mu_);
    log_senders_ = std::move(senders);
  }

  void Advance(int64_t now_us) {
    if (closed_ || now_us <= 0) return;
    if (!window_start_) {
      window_start_ = now_us;
      window_end_ = now_us;
      return;
    }
    window_end_ = std::max(window_end_, now_us);
    if (now_us >= *window_start_ + config_.interval_us) {
      if (auto done = CloseBatch(); !done) last_error_ = done.error();
      window_start_ = now_us;
      window_end_ = now_us;
    }
  }

  void Address(const rules::AddressFact& f) {
    rules::HostRef ref{f.ip, f.mac};
    std::string host;
    if (!Begin(ref, f.origin.ts_us, &host)) return;
    TouchHost(host, ref, ts_);
  }

  void Name(const rules::NameFact& f) {
    std::string host;
    if (!Begin(f.host, f.origin.ts_us, &host)) return;
    HostLine* line = TouchHost(host, f.host, ts_);
    if (f.name.empty()) return;
    if (f.name.find('@') != std::string::npos) {
      ++stats_.names_dropped;
      return;
    }
    KnownHost& known = known_hosts_[host];
    std::string name = Bound(f.name, config_.max_string_bytes);
    if (known.names.count(name) != 0) return;
    if (known.names.size() >= config_.max_names_per_host) {
      ++stats_.names_over_bound;
      return;
    }
    known.names.insert(name);
    ++known_entries_;
    if (line == nullptr) line = PendingHost(host);
    if (std::find(line->names.begin(), line->names.end(), name) == line->names.end())
      line->names.push_back(std::move(name));
    Changed(host, line);
  }

  void Os(const rules::OsFact& f) {
    std::string host;
    if (!Begin(f.host, f.origin.ts_us, &host)) return;
    HostLine* line = TouchHost(host, f.host, ts_);
    if (f.product.empty() && f.vendor.empty()) return;
    OsGuess guess{Bound(f.vendor, config_.max_string_bytes),
                  Bound(f.product, config_.max_string_bytes),
                  Bound(f.version, config_.max_string_bytes), f.confidence};
    KnownHost& known = known_hosts_[host];
    if (known.os && (*known.os == guess || f.confidence < known.os->confidence)) return;
    known.os = guess;
    if (line == nullptr) line = PendingHost(host);
    line->os = std::move(guess);
    Changed(host, line);
  }

  void Service(const rules::ServiceFact& f) {
    std::string host;
    if (!Begin(f.host, f.origin.ts_us, &host)) return;
    TouchHost(host, f.host, ts_);
    std::string proto = ProtoName(f.transport);
    std::string key = host + '|' + std::to_string(f.port) + '|' + proto;
    std::string protocol = Bound(f.protocol, config_.max_string_bytes);
    auto [it, fresh] = known_services_.try_emplace(key);
    KnownService& known = it->second;
    bool change = fresh;
    if (fresh) ++known_entries_;
    if (!protocol.empty() && protocol != known.protocol) {
      known.protocol = protocol;
      change = true;
    }
    if (f.exposed && !known.exposed) {
      known.exposed = true;
      change = true;
    }
    if (!change && ts_ - known.sent_last_seen < config_.last_seen_granularity_us) return;
    known.sent_last_seen = std::max(known.sent_last_seen, ts_);
    auto [pit, added] = services_.try_emplace(key);
    ServiceLine& line = pit->second;
    if (added) {
      line.host = host;
      line.port = f.port;
      line.proto = std::move(proto);
      line.first_seen = ts_;
    }
    line.protocol = known.protocol;
    line.exposed = known.exposed;
    line.first_seen = std::min(line.first_seen, ts_);
    line.last_seen = std::max(line.last_seen, ts_);
    Resize(&line, &pending_bytes_, [&](std::string* out) { AppendService(line, out); });
    Changed();
  }

  void Software(const rules::SoftwareFact& f) {
    std::string host;
    if (!Begin(f.host, f.origin.ts_us, &host)) return;
    TouchHost(host, f.host, ts_);
    if (f.kind == "tls_client") {  // JA3/JA4: per-client fingerprints stay on the sensor
      ++stats_.fingerprints_skipped;
      return;
    }
    if (f.product.empty()) {
      ++stats_.software_unnamed;
      return;
    }
    const bool client = f.role != "server";
    std::string raw;
    if (client && !config_.client_banners) {
      if (!f.origin.raw.empty()) ++stats_.client_raw_dropped;
    } else if (Personal(f.origin.raw)) {
      ++stats_.raw_dropped;
    } else {
      raw = Bound(f.origin.raw, config_.max_string_bytes);
    }
    SoftwareLine fresh_line;
    fresh_line.host = host;
    fresh_line.port = client ? 0 : f.port;
    fresh_line.role = client ? "client" : "server";
    fresh_line.vendor = Bound(f.vendor, config_.max_string_bytes);
    fresh_line.product = Bound(f.product, config_.max_string_bytes);
    for (std::string* s : {&fresh_line.vendor, &fresh_line.product}) {
      if (Personal(*s)) {
        ++stats_.raw_dropped;
        return;
      }
    }
    std::string key = host + '|' + std::to_string(fresh_line.port) + '|' + fresh_line.role + '|' +
                      fresh_line.vendor + '|' + fresh_line.product;
    auto [it, fresh] = known_software_.try_emplace(key);
    KnownSoftware& known = it->second;
    bool change = fresh;
    if (fresh) ++known_entries_;
    std::string version = Personal(f.version) ? "" : Bound(f.version, config_.max_string_bytes);
    if (!version.empty() && version != known.version) {
      known.version = std::move(version);
      known.cpe23 = Personal(f.cpe23) ? "" : Bound(f.cpe23, config_.max_string_bytes);
      change = true;
    } else if (known.cpe23.empty() && !f.cpe23.empty() && !Personal(f.cpe23)) {
      known.cpe23 = Bound(f.cpe23, config_.max_string_bytes);
      change = true;
    }
    if (!raw.empty() && known.raw.empty()) {
      known.raw = std::move(raw);
      change = true;
    }
    if (!change && ts_ - known.sent_last_seen < config_.last_seen_granularity_us) return;
    known.sent_last_seen = std::max(known.sent_last_seen, ts_);
    auto [pit, added] = software_.try_emplace(key, std::move(fresh_line));
    SoftwareLine& line = pit->second;
    if (added) line.first_seen = ts_;
    // The collector overwrites version, CPE and raw from the newest line: always the full state.
    line.version = known.version;
    line.cpe23 = known.cpe23;
    line.raw = known.raw;
    line.first_seen = std::min(line.first_seen, ts_);
    line.last_seen = std::max(line.last_seen, ts_);
    Resize(&line, &pending_bytes_, [&](std::string* out) { AppendSoftware(line, out); });
    Changed();
  }

  // After each fact (never while references into the maps are held): applies the bounds.
  void Settle() {
    if (known_entries_ > config_.max_known_entries) ForgetKnown(/*count=*/true);
    // Room for the health line (< 512 bytes) is kept under the bound.
    if (pending_bytes_ + 512 >= config_.max_batch_bytes) {
      if (auto done = CloseBatch(); !done) last_error_ = done.error();
    }
  }

  rules::Result<> Flush() {
    if (!Pending()) return {};
    return CloseBatch();
  }

  bool Pending() const {
    return !hosts_.empty() || !services_.empty() || !software_.empty() ||
           !flow_services_.empty() || !flow_hosts_.empty() || !alert_lines_.empty() ||
           LogSendersChanged();
  }

  rules::Result<> Close() {
    if (closed_) return {};
    auto done = CloseBatch();
    closed_ = true;
    return done;
  }

  void SetCaptureStats(uint64_t packets, uint64_t drops) {
    packets_ = packets;
    drops_ = drops;
    have_capture_ = true;
  }

  SummariserConfig config_;
  std::unique_ptr<uplink::SpoolWriter> spool_;
  rules::FactSink* next_;
  SummariserStats stats_;
  std::optional<rules::Error> last_error_;
  bool closed_ = false;

 private:
  // Window bookkeeping for a fact at packet time ts_us (0: unknown, taken as the latest time
  // seen). False when nothing about this host is to be sent; *host is its text.
  bool Begin(const rules::HostRef& ref, int64_t ts_us, std::string* host) {
    ++stats_.facts;
    if (closed_) return false;
    ts_ = ts_us > 0 ? ts_us : window_end_;
    if (window_start_ && ts_ >= *window_start_ + config_.interval_us) {
      if (!Pending()) {
        window_start_.reset();  // nothing happened in that interval: no batch
      } else if (auto done = CloseBatch(); !done) {
        last_error_ = done.error();
      }
    }
    if (!window_start_) {
      window_start_ = ts_;
      window_end_ = ts_;
    }
    window_end_ = std::max(window_end_, ts_);
    if (Unspecified(ref.ip)) {
      ++stats_.unspecified_hosts;
      return false;
    }
    if (!config_.local_nets.empty() &&
        std::none_of(config_.local_nets.begin(), config_.local_nets.end(),
                     [&](const rules::Cidr& c) { return c.Contains(ref.ip); })) {
      ++stats_.external_hosts;
      return false;
    }
    *host = ref.ip.ToString();
    return true;
  }

  HostLine* PendingHost(const std::string& host) {
    auto [it, added] = hosts_.try_emplace(host);
    if (added) {
      it->second.first_seen = ts_;
      it->second.last_seen = ts_;
    }
    return &it->second;
  }

  // Records the host itself: new, a new MAC, or last_seen moved. Returns its pending line if
  // it has one in this batch (nullptr otherwise).
  HostLine* TouchHost(const std::string& host, const rules::HostRef& ref, int64_t ts) {
    auto [it, fresh] = known_hosts_.try_emplace(host);
    KnownHost& known = it->second;
    bool change = fresh;
    if (fresh) ++known_entries_;
    if (ref.mac) {
      std::string mac = rules::MacToString(*ref.mac);
      if (mac != known.mac) {
        known.mac = std::move(mac);
        change = true;
      }
    }
    if (!change && ts - known.sent_last_seen < config_.last_seen_granularity_us) {
      auto pending = hosts_.find(host);
      if (pending == hosts_.end()) return nullptr;
      HostLine* line = &pending->second;
      if (ts > line->last_seen) {  // free while the line is still open
        line->last_seen = ts;
        Resize(line, &pending_bytes_, [&](std::string* out) { AppendHost(host, *line, out); });
      }
      return line;
    }
    known.sent_last_seen = std::max(known.sent_last_seen, ts);
    HostLine* line = PendingHost(host);
    if (!known.mac.empty()) line->mac = known.mac;
    Changed(host, line);
    return line;
  }

  void Changed(const std::string& host, HostLine* line) {
    line->first_seen = std::min(line->first_seen, ts_);
    line->last_seen = std::max(line->last_seen, ts_);
    Resize(line, &pending_bytes_, [&](std::string* out) { AppendHost(host, *line, out); });
    Changed();
  }

  void Changed() { ++stats_.changes; }

  void ForgetKnown(bool count) {
    known_hosts_.clear();
    known_services_.clear();
    known_software_.clear();
    known_entries_ = 0;
    if (count) ++stats_.known_resets;
  }

  bool LogSendersChanged() const {
    std::lock_guard lock(inputs_mu_);
    for (const LogSenderSummary& l : log_senders_) {
      auto it = log_senders_sent_.find(l.sender);
      if (it == log_senders_sent_.end() || it->second.messages != l.messages ||
          it->second.bytes != l.bytes || it->second.quiet != l.quiet ||
          it->second.last_seen_us != l.last_seen_us) {
        return true;
      }
    }
    return false;
  }

  void AppendHealth(std::string* out) {
    out->append("{\"type\":\"health\"");
    Str(out, "sensor_version", config_.sensor_version);
    Int(out, "uptime_s",
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                         started_)
            .count());
    if (have_capture_) {
      Uint(out, "packets", packets_);
      Uint(out, "drops", drops_);
      // Counters that went back (a restarted capture) count from zero.
      Uint(out, "packets_delta", packets_ >= packets_sent_ ? packets_ - packets_sent_ : packets_);
      Uint(out, "drops_delta", drops_ >= drops_sent_ ? drops_ - drops_sent_ : drops_);
      packets_sent_ = packets_;
      drops_sent_ = drops_;
    }
    Uint(out, "flows", window_flows_);
    Uint(out, "flows_with_gaps", flows_with_gaps_);
    Uint(out, "missed_bytes", missed_bytes_);
    AppendClock(out);
    AppendDisk(config_.disk_paths, out);
    std::lock_guard lock(inputs_mu_);  // health_fields_ and health_fields_refused
    const SummariserStats& s = stats_;
    for (const auto& [key, value] :
         {std::pair{"facts", s.facts}, {"changes", s.changes}, {"batches", s.batches},
          {"put_errors", s.put_errors}, {"names_dropped", s.names_dropped},
          {"raw_dropped", s.raw_dropped}, {"client_raw_dropped", s.client_raw_dropped},
          {"known_resets", s.known_resets}, {"flows_cut", s.flows_cut}, {"alerts", s.alerts},
          {"alerts_cut", s.alerts_cut}, {"evidence_blanked", s.evidence_blanked},
          {"health_fields_refused", s.health_fields_refused}}) {
      Uint(out, key, value);
    }
    for (const auto& [name, json] : health_fields_) {
      out->append(",\"");
      out->append(name);
      out->append("\":");
      out->append(json);
    }
    out->append("}\n");
  }

  // Writes `lines` as batches of `type`, each at most max_batch_bytes (a single longer line goes
  // alone). Every batch is tried; the first error is returned.
  rules::Result<> PutLines(uplink::PayloadType type, const std::vector<std::string>& lines,
                           int64_t start, int64_t end) {
    rules::Result<> result;
    std::string text;
    size_t count = 0;
    auto put = [&]() {
      if (text.empty()) return;
      uplink::Batch batch = uplink::MakeBatch(type, WallClockUs(), start, end, std::move(text));
      const size_t bytes = batch.json_lines.size();
      text.clear();
      if (auto done = spool_->Put(batch); !done) {
        ++stats_.put_errors;
        if (result) result = rules::Fail(done.error(), "summary batch: ");
      } else {
        ++stats_.batches;
        stats_.lines += count;
        stats_.bytes += bytes;
      }
      count = 0;
    };
    for (const std::string& line : lines) {
      if (!text.empty() && text.size() + line.size() > config_.max_batch_bytes) put();
      text += line;
      ++count;
    }
    put();
    return result;
  }

  std::vector<std::string> FlowLines() {
    std::vector<std::string> lines;
    lines.reserve(flow_services_.size() + flow_hosts_.size());
    for (const auto& [key, f] : flow_services_) {
      std::string line = "{\"type\":\"flow_service\"";
      Str(&line, "host", f.host);
      Int(&line, "port", f.port);
      Str(&line, "proto", f.proto);
      Str(&line, "protocol", f.protocol);
      Uint(&line, "flows", f.flows);
      Uint(&line, "internal_flows", f.internal_flows);
      Uint(&line, "bytes_to_server", f.bytes_to_server);
      Uint(&line, "bytes_to_client", f.bytes_to_client);
      Uint(&line, "external_peers", f.peers.seen.size());
      if (f.peers.capped) line.append(",\"external_peers_capped\":true");
      StrArray(&line, "peer_addresses", f.peers.listed);
      Int(&line, "first_seen", f.first_seen);
      Int(&line, "last_seen", f.last_seen);
      line.append("}\n");
      lines.push_back(std::move(line));
    }
    for (const auto& [host, f] : flow_hosts_) {
      std::string line = "{\"type\":\"flow_host\"";
      Str(&line, "host", host);
      Uint(&line, "flows_as_client", f.flows_as_client);
      Uint(&line, "flows_as_server", f.flows_as_server);
      Uint(&line, "unanswered", f.unanswered);
      Uint(&line, "bytes_sent", f.bytes_sent);
      Uint(&line, "bytes_received", f.bytes_received);
      Uint(&line, "external_peers", f.peers.seen.size());
      if (f.peers.capped) line.append(",\"external_peers_capped\":true");
      Int(&line, "first_seen", f.first_seen);
      Int(&line, "last_seen", f.last_seen);
      line.append("}\n");
      lines.push_back(std::move(line));
    }
    flow_services_.clear();
    flow_hosts_.clear();
    return lines;
  }

  std::vector<std::string> LogSenderLines() {
    std::vector<std::string> lines;
    if (log_senders_sent_.size() > kMaxLogSenders) log_senders_sent_.clear();  // resend all
    std::lock_guard lock(inputs_mu_);
    for (const LogSenderSummary& l : log_senders_) {
      SentLogSender now{l.messages, l.bytes, l.last_seen_us, l.quiet};
      auto [it, fresh] = log_senders_sent_.try_emplace(l.sender, now);
      if (!fresh && it->second.messages == now.messages && it->second.bytes == now.bytes &&
          it->second.quiet == now.quiet && it->second.last_seen_us == now.last_seen_us) {
        continue;
      }
      it->second = now;
      std::string line = "{\"type\":\"log_sender\"";
      Str(&line, "sender", Bound(l.sender, config_.max_string_bytes));
      Uint(&line, "messages", l.messages);
      Uint(&line, "bytes", l.bytes);
      line.append(",\"severities\":[");
      for (size_t i = 0; i < l.severities.size(); ++i) {
        if (i > 0) line.push_back(',');
        line.append(std::to_string(l.severities[i]));
      }
      line.push_back(']');
      Int(&line, "first_seen", l.first_seen_us);
      Int(&line, "last_seen", l.last_seen_us);
      line.append(l.quiet ? ",\"quiet\":true" : ",\"quiet\":false");
      line.append("}\n");
      lines.push_back(std::move(line));
    }
    return lines;
  }

  // Closes the window: flows, alerts and logstats batches when they have lines, then the
  // inventory batch with its health line (always).
  rules::Result<> CloseBatch() {
    const int64_t start = window_start_.value_or(window_end_);
    const int64_t end = std::max(start, window_end_);
    rules::Result<> result;
    auto keep_first_error = [&](rules::Result<> done) {
      if (!done && result) result = std::move(done);
    };
    keep_first_error(PutLines(uplink::PayloadType::kFlows, FlowLines(), start, end));
    keep_first_error(PutLines(uplink::PayloadType::kAlerts, alert_lines_, start, end));
    alert_lines_.clear();
    keep_first_error(PutLines(uplink::PayloadType::kLogstats, LogSenderLines(), start, end));

    std::string text;
    text.reserve(pending_bytes_ + 1024);
    size_t lines = 0;
    for (const auto& [host, line] : hosts_) {
      AppendHost(host, line, &text);
      ++lines;
    }
    for (const auto& [key, line] : services_) {
      AppendService(line, &text);
      ++lines;
    }
    for (const auto& [key, line] : software_) {
      AppendSoftware(line, &text);
      ++lines;
    }
    hosts_.clear();
    services_.clear();
    software_.clear();
    pending_bytes_ = 0;
    ++stats_.batches;  // counted first so the health line numbers this batch
    AppendHealth(&text);
    ++lines;
    window_flows_ = flows_with_gaps_ = missed_bytes_ = 0;
    uplink::Batch batch = uplink::MakeBatch(uplink::PayloadType::kInventory, WallClockUs(), start,
                                            end, std::move(text));
    window_start_.reset();
    const size_t bytes = batch.json_lines.size();
    auto put = spool_->Put(batch);
    if (!put) {
      --stats_.batches;
      ++stats_.put_errors;
      // What this batch held is forgotten, so it is sent again when it is seen again.
      ForgetKnown(/*count=*/false);
      keep_first_error(rules::Fail(put.error(), "summary batch: "));
      return result;
    }
    stats_.lines += lines;
    stats_.bytes += bytes;
    return result;
  }

  static constexpr size_t kMaxLogSenders = 100'000;

  std::unordered_map<std::string, KnownHost> known_hosts_;
  std::unordered_map<std::string, KnownService> known_services_;
  std::unordered_map<std::string, KnownSoftware> known_software_;
  size_t known_entries_ = 0;
  std::map<std::string, HostLine> hosts_;  // pending lines of the open batch, by key
  std::map<std::string, ServiceLine> services_;
  std::map<std::string, SoftwareLine> software_;
  size_t pending_bytes_ = 0;
  std::optional<int64_t> window_start_;
  int64_t window_end_ = 0;
  int64_t ts_ = 0;  // packet time of the fact being handled
  uint64_t packets_ = 0;
  uint64_t drops_ = 0;
  uint64_t packets_sent_ = 0;  // as of the last health line
  uint64_t drops_sent_ = 0;
  bool have_capture_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::map<std::string, FlowService> flow_services_;  // by host|port|proto
  std::map<std::string, FlowHost> flow_hosts_;        // by host
  uint64_t window_flows_ = 0, flows_with_gaps_ = 0, missed_bytes_ = 0;
  std::vector<std::string> alert_lines_;  // serialised at arrival
  // Set from other threads (SetHealthField, SetLogSenders): guarded by inputs_mu_.
  mutable std::mutex inputs_mu_;
  std::map<std::string, std::string> health_fields_;
  std::vector<LogSenderSummary> log_senders_;
  std::unordered_map<std::string, SentLogSender> log_senders_sent_;
};

Summariser::Summariser(SummariserConfig config, std::unique_ptr<uplink::SpoolWriter> spool,
                       rules::FactSink* next)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(spool), next)) {}

Summariser::~Summariser() {
  if (auto done = impl_->Close(); !done) impl_->last_error_ = done.error();
}

void Summariser::OnAddress(const rules::AddressFact& fact) {
  impl_->Address(fact);
  impl_->Settle();
  if (impl_->next_ != nullptr) impl_->next_->OnAddress(fact);
}
void Summariser::OnName(const rules::NameFact& fact) {
  impl_->Name(fact);
  impl_->Settle();
  if (impl_->next_ != nullptr) impl_->next_->OnName(fact);
}
void Summariser::OnOs(const rules::OsFact& fact) {
  impl_->Os(fact);
  impl_->Settle();
  if (impl_->next_ != nullptr) impl_->next_->OnOs(fact);
}
void Summariser::OnService(const rules::ServiceFact& fact) {
  impl_->Service(fact);
  impl_->Settle();
  if (impl_->next_ != nullptr) impl_->next_->OnService(fact);
}
void Summariser::OnSoftware(const rules::SoftwareFact& fact) {
  impl_->Software(fact);
  impl_->Settle();
  if (impl_->next_ != nullptr) impl_->next_->OnSoftware(fact);
}

void Summariser::SetCaptureStats(uint64_t packets, uint64_t drops) {
  impl_->SetCaptureStats(packets, drops);
}
void Summariser::OnFlowEnd(const FlowRecord& flow, bool local_orig, bool local_resp) {
  impl_->FlowEnd(flow, local_orig, local_resp);
}
void Summariser::OnAlert(const rules::engine::Alert& alert) { impl_->AlertRaised(alert); }
bool Summariser::SetHealthField(std::string name, std::string json) {
  return impl_->HealthField(std::move(name), std::move(json));
}
void Summariser::SetLogSenders(std::vector<LogSenderSummary> senders) {
  impl_->LogSenders(std::move(senders));
}
void Summariser::Tick(int64_t now_us) { impl_->Advance(now_us); }
rules::Result<> Summariser::Flush() { return impl_->Flush(); }
rules::Result<> Summariser::Close() { return impl_->Close(); }
const SummariserStats& Summariser::stats() const { return impl_->stats_; }
std::optional<rules::Error> Summariser::last_error() const { return impl_->last_error_; }

}  // namespace sensor
