#include "collector/summary_lines.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace uplink::collector_internal {
namespace {

using Json = nlohmann::json;

// Typed reads that never throw: false when present with the wrong type.
bool ReadString(const Json& obj, const char* key, std::string* out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return true;
  if (!it->is_string())
    return false;
  *out = it->get_ref<const std::string&>();
  return true;
}
bool ReadInt(const Json& obj, const char* key, std::optional<int64_t>* out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return true;
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX))
      return false;
    *out = static_cast<int64_t>(v);
    return true;
  }
  if (!it->is_number_integer())
    return false;
  *out = it->get<int64_t>();
  return true;
}
bool ReadInt(const Json& obj, const char* key, int64_t* out) {
  std::optional<int64_t> v;
  if (!ReadInt(obj, key, &v))
    return false;
  if (v)
    *out = *v;
  return true;
}
bool ReadBool(const Json& obj, const char* key, bool* out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return true;
  if (!it->is_boolean())
    return false;
  *out = it->get<bool>();
  return true;
}
bool ValidTimes(int64_t* first, int64_t* last, int64_t default_first, int64_t default_last) {
  if (*first == 0)
    *first = default_first;
  if (*last == 0)
    *last = default_last;
  if (*last < *first)
    *last = *first;
  return *first >= 0;
}

bool ParseHost(const Json& j, HostLine* h) {
  bool ok = ReadString(j, "host", &h->host) && ReadString(j, "mac", &h->mac) &&
            ReadString(j, "vendor", &h->vendor) && ReadInt(j, "first_seen", &h->first_seen) &&
            ReadInt(j, "last_seen", &h->last_seen);
  if (const auto names = j.find("names"); ok && names != j.end() && !names->is_null()) {
    if (!names->is_array())
      return false;
    for (const auto& n : *names) {
      if (!n.is_string())
        return false;
      if (!n.get_ref<const std::string&>().empty())
        h->names.push_back(n.get<std::string>());
    }
  }
  if (const auto os = j.find("os"); ok && os != j.end() && !os->is_null()) {
    if (!os->is_object())
      return false;
    ok = ReadString(*os, "vendor", &h->os_vendor) && ReadString(*os, "product", &h->os_product) &&
         ReadString(*os, "version", &h->os_version);
  }
  return ok && !h->host.empty();
}

bool ParseService(const Json& j, ServiceLine* s) {
  return ReadString(j, "host", &s->host) && ReadInt(j, "port", &s->port) &&
         ReadString(j, "proto", &s->proto) && ReadString(j, "protocol", &s->protocol) &&
         ReadBool(j, "exposed", &s->exposed) && ReadInt(j, "first_seen", &s->first_seen) &&
         ReadInt(j, "last_seen", &s->last_seen) && !s->host.empty() && !s->proto.empty() &&
         s->port >= 0 && s->port <= 65535;
}

bool ParseSoftware(const Json& j, SoftwareLine* s) {
  return ReadString(j, "host", &s->host) && ReadInt(j, "port", &s->port) &&
         ReadString(j, "role", &s->role) && ReadString(j, "vendor", &s->vendor) &&
         ReadString(j, "product", &s->product) && ReadString(j, "version", &s->version) &&
         ReadString(j, "cpe23", &s->cpe23) && ReadString(j, "raw", &s->raw) &&
         ReadInt(j, "first_seen", &s->first_seen) && ReadInt(j, "last_seen", &s->last_seen) &&
         !s->host.empty() && !s->product.empty() && s->port >= 0 && s->port <= 65535;
}

bool ParseGap(const Json& j, bool spool_drop, GapLine* g) {
  if (spool_drop) {  // the spool's own record (docs/formats.md, "Priority classes")
    g->kind = "spool_drop";
    std::string payload_type;
    const bool ok =
        ReadString(j, "reason", &g->reason) && ReadString(j, "payload_type", &payload_type) &&
        ReadInt(j, "first_batch_seq", &g->from_seq) && ReadInt(j, "last_batch_seq", &g->to_seq) &&
        ReadInt(j, "batches", &g->dropped_batches);
    if (!payload_type.empty())
      g->reason += (g->reason.empty() ? "" : " ") + payload_type;
    return ok;
  }
  g->kind = "gap";
  return ReadString(j, "reason", &g->reason) && ReadInt(j, "from_seq", &g->from_seq) &&
         ReadInt(j, "to_seq", &g->to_seq) && ReadInt(j, "dropped_batches", &g->dropped_batches);
}

bool NonNegative(std::initializer_list<int64_t> values) {
  for (const int64_t v : values) {
    if (v < 0)
      return false;
  }
  return true;
}

bool ReadStrings(const Json& obj, const char* key, size_t max, std::vector<std::string>* out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return true;
  if (!it->is_array() || it->size() > max)
    return false;
  for (const auto& v : *it) {
    if (!v.is_string())
      return false;
    out->push_back(v.get<std::string>());
  }
  return true;
}

bool ParseFlowService(const Json& j, FlowServiceLine* f) {
  return ReadString(j, "host", &f->host) && ReadInt(j, "port", &f->port) &&
         ReadString(j, "proto", &f->proto) && ReadString(j, "protocol", &f->protocol) &&
         ReadInt(j, "flows", &f->flows) && ReadInt(j, "internal_flows", &f->internal_flows) &&
         ReadInt(j, "bytes_to_server", &f->bytes_to_server) &&
         ReadInt(j, "bytes_to_client", &f->bytes_to_client) &&
         ReadInt(j, "external_peers", &f->external_peers) &&
         ReadBool(j, "external_peers_capped", &f->external_peers_capped) &&
         ReadStrings(j, "peer_addresses", kMaxPeerAddresses, &f->peer_addresses) &&
         ReadInt(j, "first_seen", &f->first_seen) && ReadInt(j, "last_seen", &f->last_seen) &&
         !f->host.empty() && !f->proto.empty() && f->port >= 0 && f->port <= 65535 &&
         NonNegative({f->flows, f->internal_flows, f->bytes_to_server, f->bytes_to_client,
                      f->external_peers});
}

bool ParseFlowHost(const Json& j, FlowHostLine* f) {
  return ReadString(j, "host", &f->host) && ReadInt(j, "flows_as_client", &f->flows_as_client) &&
         ReadInt(j, "flows_as_server", &f->flows_as_server) &&
         ReadInt(j, "unanswered", &f->unanswered) && ReadInt(j, "bytes_sent", &f->bytes_sent) &&
         ReadInt(j, "bytes_received", &f->bytes_received) &&
         ReadInt(j, "external_peers", &f->external_peers) &&
         ReadBool(j, "external_peers_capped", &f->external_peers_capped) &&
         ReadInt(j, "first_seen", &f->first_seen) && ReadInt(j, "last_seen", &f->last_seen) &&
         !f->host.empty() &&
         NonNegative({f->flows_as_client, f->flows_as_server, f->unanswered, f->bytes_sent,
                      f->bytes_received, f->external_peers});
}

bool ParseAlert(const Json& j, AlertLine* a) {
  return ReadString(j, "rule_id", &a->rule_id) && ReadInt(j, "rule_version", &a->rule_version) &&
         ReadString(j, "severity", &a->severity) && ReadString(j, "kind", &a->kind) &&
         ReadString(j, "title", &a->title) && ReadString(j, "host", &a->host) &&
         ReadInt(j, "port", &a->port) && ReadString(j, "peer", &a->peer) &&
         ReadString(j, "key", &a->key) && ReadString(j, "evidence", &a->evidence) &&
         ReadStrings(j, "cves", kMaxCves, &a->cves) &&
         ReadBool(j, "known_exploited", &a->known_exploited) && ReadInt(j, "count", &a->count) &&
         ReadInt(j, "first_seen", &a->first_seen) && ReadInt(j, "last_seen", &a->last_seen) &&
         !a->rule_id.empty() && a->port >= 0 && a->port <= 65535 &&
         a->rule_version >= 0 && a->rule_version <= INT32_MAX && a->count >= 0;
}

bool ParseLogSender(const Json& j, LogSenderLine* l) {
  if (const auto sev = j.find("severities"); sev != j.end() && !sev->is_null()) {
    if (!sev->is_array() || sev->size() != 8)
      return false;
    for (const auto& v : *sev) {
      if (!v.is_number_unsigned())
        return false;
    }
    l->severities = sev->dump();
  }
  return ReadString(j, "sender", &l->sender) && ReadInt(j, "messages", &l->messages) &&
         ReadInt(j, "bytes", &l->bytes) && ReadInt(j, "first_seen", &l->first_seen) &&
         ReadInt(j, "last_seen", &l->last_seen) && ReadBool(j, "quiet", &l->quiet) &&
         !l->sender.empty() && NonNegative({l->messages, l->bytes});
}

// Every member is optional (lines of older sensors have fewer); the whole line is kept too.
bool ParseHealth(const Json& j, HealthLine* h) {
  bool ok = ReadString(j, "sensor_version", &h->sensor_version) &&
            ReadInt(j, "packets", &h->packets) && ReadInt(j, "drops", &h->drops) &&
            ReadInt(j, "packets_delta", &h->packets_delta) &&
            ReadInt(j, "drops_delta", &h->drops_delta);
  if (const auto clock = j.find("clock"); ok && clock != j.end() && clock->is_object()) {
    if (const auto synced = clock->find("synced");
        synced != clock->end() && synced->is_boolean()) {
      h->clock_synced = synced->get<bool>();
    }
  }
  if (const auto disk = j.find("disk"); ok && disk != j.end() && disk->is_object()) {
    if (const auto spool = disk->find("spool"); spool != disk->end() && spool->is_object()) {
      ok = ReadInt(*spool, "free_bytes", &h->spool_free_bytes);
    }
  }
  return ok;
}

}  // namespace

int JsonNestingDepth(std::string_view text) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

std::optional<std::vector<ParsedLine>> ParseSummaryLines(std::string_view json_lines,
                                                         int64_t default_first,
                                                         int64_t default_last, std::string* why) {
  std::vector<ParsedLine> lines;
  size_t line_no = 0;
  while (!json_lines.empty()) {
    ++line_no;
    const size_t nl = json_lines.find('\n');
    const std::string_view text = json_lines.substr(0, nl);
    json_lines.remove_prefix(nl == std::string_view::npos ? json_lines.size() : nl + 1);
    if (JsonNestingDepth(text) > kMaxJsonDepth) {
      if (why)
        *why = "line " + std::to_string(line_no) + ": nested too deeply";
      return std::nullopt;
    }
    const Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      if (why)
        *why = "line " + std::to_string(line_no) + ": not a JSON object";
      return std::nullopt;
    }
    ParsedLine line;
    line.text = text;
    ReadString(j, "type", &line.type);
    bool ok = true;
    if (line.type == "host") {
      line.kind = LineKind::kHost;
      ok = ParseHost(j, &line.host) &&
           ValidTimes(&line.host.first_seen, &line.host.last_seen, default_first, default_last);
    } else if (line.type == "service") {
      line.kind = LineKind::kService;
      ok = ParseService(j, &line.service) &&
           ValidTimes(&line.service.first_seen, &line.service.last_seen, default_first,
                      default_last);
    } else if (line.type == "software") {
      line.kind = LineKind::kSoftware;
      ok = ParseSoftware(j, &line.software) &&
           ValidTimes(&line.software.first_seen, &line.software.last_seen, default_first,
                      default_last);
    } else if (line.type == "gap") {
      line.kind = LineKind::kGap;
      ok = ParseGap(j, false, &line.gap);
    } else if (line.type == "key_rotation") {
      line.kind = LineKind::kKeyRotation;
      KeyRotationLine& k = line.rotation;
      ok = ReadString(j, "old_key_id", &k.old_key_id) &&
           ReadString(j, "new_public_key", &k.new_public_key) &&
           ReadString(j, "new_key_signature", &k.new_key_signature);
    } else if (line.type == "flow_service") {
      line.kind = LineKind::kFlowService;
      ok = ParseFlowService(j, &line.flow_service) &&
           ValidTimes(&line.flow_service.first_seen, &line.flow_service.last_seen, default_first,
                      default_last);
    } else if (line.type == "flow_host") {
      line.kind = LineKind::kFlowHost;
      ok = ParseFlowHost(j, &line.flow_host) &&
           ValidTimes(&line.flow_host.first_seen, &line.flow_host.last_seen, default_first,
                      default_last);
    } else if (line.type == "alert") {
      line.kind = LineKind::kAlert;
      ok = ParseAlert(j, &line.alert) &&
           ValidTimes(&line.alert.first_seen, &line.alert.last_seen, default_first, default_last);
    } else if (line.type == "log_sender") {
      line.kind = LineKind::kLogSender;
      ok = ParseLogSender(j, &line.log_sender) &&
           ValidTimes(&line.log_sender.first_seen, &line.log_sender.last_seen, default_first,
                      default_last);
    } else if (line.type == "health") {
      line.kind = LineKind::kHealth;
      ok = ParseHealth(j, &line.health);
    } else if (line.type.empty()) {
      std::string kind;
      if (ReadString(j, "kind", &kind) && kind == "spool_drop") {
        line.kind = LineKind::kGap;
        line.type = "spool_drop";
        ok = ParseGap(j, true, &line.gap);
      }
    }
    if (!ok) {
      line.kind = LineKind::kOther;
      line.recognised = false;
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace uplink::collector_internal
