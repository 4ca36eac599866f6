#include "sensor/summary/summariser.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

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

}  // namespace

class Summariser::Impl {
 public:
  Impl(SummariserConfig config, std::unique_ptr<uplink::SpoolWriter> spool, rules::FactSink* next)
      : config_(std::move(config)), spool_(std::move(spool)), next_(next) {
    if (config_.sensor_version.empty()) config_.sensor_version = UTKIKK_VERSION;
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
    if (hosts_.empty() && services_.empty() && software_.empty()) return {};
    return CloseBatch();
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
      if (hosts_.empty() && services_.empty() && software_.empty()) {
        window_start_.reset();  // nothing changed in that interval: no batch
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

  void AppendHealth(std::string* out) const {
    out->append("{\"type\":\"health\"");
    Str(out, "sensor_version", config_.sensor_version);
    if (have_capture_) {
      Int(out, "packets", static_cast<int64_t>(packets_));
      Int(out, "drops", static_cast<int64_t>(drops_));
    }
    const SummariserStats& s = stats_;
    for (const auto& [key, value] :
         {std::pair{"facts", s.facts}, {"changes", s.changes}, {"batches", s.batches},
          {"put_errors", s.put_errors}, {"names_dropped", s.names_dropped},
          {"raw_dropped", s.raw_dropped}, {"client_raw_dropped", s.client_raw_dropped},
          {"known_resets", s.known_resets}}) {
      Int(out, key, static_cast<int64_t>(value));
    }
    out->append("}\n");
  }

  rules::Result<> CloseBatch() {
    std::string text;
    text.reserve(pending_bytes_ + 512);
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
    const int64_t start = window_start_.value_or(window_end_);
    uplink::Batch batch = uplink::MakeBatch(uplink::PayloadType::kInventory, WallClockUs(), start,
                                            std::max(start, window_end_), std::move(text));
    window_start_.reset();
    const size_t bytes = batch.json_lines.size();
    auto put = spool_->Put(batch);
    if (!put) {
      --stats_.batches;
      ++stats_.put_errors;
      // What this batch held is forgotten, so it is sent again when it is seen again.
      ForgetKnown(/*count=*/false);
      return rules::Fail(put.error(), "summary batch: ");
    }
    stats_.lines += lines;
    stats_.bytes += bytes;
    return {};
  }

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
  bool have_capture_ = false;
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
void Summariser::OnFlowEnd(const FlowRecord&, bool, bool) {}
void Summariser::OnAlert(const rules::engine::Alert&) {}
bool Summariser::SetHealthField(std::string, std::string) { return false; }
void Summariser::SetLogSenders(std::vector<LogSenderSummary>) {}
void Summariser::Tick(int64_t) {}
rules::Result<> Summariser::Flush() { return impl_->Flush(); }
rules::Result<> Summariser::Close() { return impl_->Close(); }
const SummariserStats& Summariser::stats() const { return impl_->stats_; }
std::optional<rules::Error> Summariser::last_error() const { return impl_->last_error_; }

}  // namespace sensor
